"""Training metrics read from a job's plain log (no SDK): the line parser (``parse``), the
incremental per-log reader with its x-axis inference (``reader``), and rows as plain data or a
pandas DataFrame (``rows``).

May import the model, ``engine.skyapi`` and the job core (``engine.jobs``); knows nothing of
backends, pricing, remote Python or sweeps (``Job.metrics()`` lives on the public Job in
``engine.remote.python_jobs``, ``Sweep.metrics()`` in ``engine.remote.sweep``).
"""
