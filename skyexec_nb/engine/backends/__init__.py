"""Backends: what runs a job, inside its supervisor process (``local``, ``skypilot``, ``jobs``).

Each module defines a module-level ``BACKEND`` satisfying the interface in
:mod:`skyexec_nb.engine.jobs.backend_api`; :mod:`skyexec_nb.engine.jobs.backend_table` holds the
name -> module table the job core uses to find a backend (imported only when a job needs it, so ``sky`` stays unloaded). Backends
may import the model, ``engine.skyapi`` (SkyPilot helpers) and ``engine.jobs`` (the core); nothing
in the job core imports a backend module by name in code.
"""
