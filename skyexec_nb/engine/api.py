"""The engine's public surface: ``launch``, ``jobs``, ``get_job``, ``find_job`` return the public
:class:`Job` (the job core's handle plus ``result()`` of remote Python jobs); ``sweep``, ``remote``
and ``prices`` are re-exported from the packages that own them.

This is the top of the engine: it may import every engine package; nothing in the engine imports it.
"""
from __future__ import annotations

from typing import Any, Sequence

from skyexec_nb.engine.jobs import launcher as _core
from skyexec_nb.engine.jobs.plan import Plan
from skyexec_nb.engine.pricing.lookup import prices
from skyexec_nb.engine.remote.python_jobs import Job, remote
from skyexec_nb.engine.remote.sweep import Sweep, sweep

__all__ = ["Job", "Plan", "Sweep", "find_job", "get_job", "jobs", "launch", "prices", "remote", "sweep"]


def launch(executor: Any, command: str | Sequence[str], **options: Any) -> Job | Plan:
    """Launch ``command`` on ``executor``'s resources; returns at once (see ``jobs.launcher.launch``)."""
    return _core.launch(executor, command, job_class=Job, **options)


def jobs() -> list[Job]:
    """Every recorded job, newest last."""
    return _core.jobs(job_class=Job)


def get_job(job_id: int) -> Job:
    """The job with id ``job_id`` (LookupError when there is none)."""
    return _core.get_job(job_id, job_class=Job)


def find_job(ref: int | str) -> Job:
    """A job by id, ``-1`` for the newest, or the newest with a name (LookupError otherwise)."""
    return _core.find_job(ref, job_class=Job)
