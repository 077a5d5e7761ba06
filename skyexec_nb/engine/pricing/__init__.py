"""Prices and plans from SkyPilot's catalogs: price rows and candidates (``rows``), look-ups in
SkyPilot's catalog (``catalog``, imports ``sky``), fetching and refreshing catalogs as SkyPilot does
(``fetch``), the optimizer plan (``planning``), the price worker process (``worker``) and its client
(``service``), and in-process look-ups (``lookup``).

May import the model, ``engine.skyapi`` and ``engine.jobs`` (settings); nothing below imports it.
"""
