"""The job core: a job's registry row, its handle (``Job``), its supervisor process, the monitor
thread, logs, process control, settings, group concurrency limits (``slots``) and the backend
interface (``backend_api``: ``RunContext``, ``BaseBackend``; ``backend_table``: the name -> module table).

May import the model and ``engine.skyapi``. Knows nothing of pricing, remote Python or sweeps; a
backend is found by name through ``backend_table`` and imported only when a job runs on it.
"""
