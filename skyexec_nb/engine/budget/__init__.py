"""Spend control (issue 19): prices at launch, limits resolved at launch, the user's budget (per day, week, month),
``costs()`` as data, and idle clusters.

Modules, lowest first: ``prices`` (hourly price of a launch, in the price worker), ``spend``
(``costs()``: per job, sweep, day), ``user_budget`` (``BudgetStatus``, the confirmation),
``launching`` (``resolve_limits``, ``prepare_launch``), ``idle`` (idle clusters, stop/down).
Sits above ``pricing`` and below ``remote``: it may import skyapi, jobs, metrics, backends and
pricing; the job core never imports it (limits reach the core as ``jobs.spend.Limits``).
"""
