"""SkyPilot helpers that import ``sky`` only lazily: the SDK module lookup (``sdk``, or the stand-in
named by ``SKYEXEC_NB_SKY_SDK``), the enabled clouds read from SkyPilot's local state
(``local_state``), and endpoint URLs (``endpoints``).

May import the model only; every other engine package may use it.
"""
