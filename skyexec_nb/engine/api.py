"""The engine's public surface: ``launch``, ``jobs``, ``get_job``, ``find_job`` return the public
:class:`Job` (the job core's handle plus ``result()`` of remote Python jobs); ``sweep``, ``remote``
and ``prices`` are re-exported from the packages that own them, and spend control (issue 19):
``costs``, ``budget_status``, ``idle_clusters``, ``stop_cluster``, ``down_cluster``, ``down_idle``.

This is the top of the engine: it may import every engine package; nothing in the engine imports it.
"""
from __future__ import annotations

from typing import Any, Sequence

from skyexec_nb.engine.budget.idle import (ClusterActionError, IdleCluster, autostop_warning, down_cluster,
                                           down_idle, idle_clusters, stop_cluster)
from skyexec_nb.engine.budget.launching import BudgetWarning, prepare_launch
from skyexec_nb.engine.budget.prices import PriceUnavailable, hourly_price
from skyexec_nb.engine.budget.spend import costs
from skyexec_nb.engine.budget.user_budget import BudgetConfirmationNeeded, BudgetStatus, budget_status
from skyexec_nb.engine.jobs import launcher as _core
from skyexec_nb.engine.jobs.backend_table import check_backend_name
from skyexec_nb.engine.jobs.limit_change import LimitChangeRefused, parse_change
from skyexec_nb.engine.jobs.plan import Plan
from skyexec_nb.engine.pricing.lookup import prices
from skyexec_nb.engine.pricing.rows import row_price_config
from skyexec_nb.model.errors import FieldError
from skyexec_nb.engine.remote.python_jobs import Job, remote, resolve_backend
from skyexec_nb.engine.remote.sweep import Sweep, sweep

__all__ = ["BudgetConfirmationNeeded", "BudgetStatus", "BudgetWarning", "ClusterActionError", "IdleCluster", "Job",
           "LimitChangeRefused", "Plan", "PriceUnavailable", "Sweep", "autostop_warning", "budget_status", "costs", "down_cluster",
           "down_idle", "find_job", "get_job", "hourly_price", "idle_clusters", "jobs", "launch", "prices", "remote",
           "set_limits", "stop_cluster", "sweep"]


def launch(executor: Any, command: str | Sequence[str], *, timeout: Any = None, max_cost: Any = None,
           expected_duration: Any = None, yes: bool = False, **options: Any) -> Job | Plan:
    """Launch ``command`` on ``executor``'s resources; returns at once (see ``jobs.launcher.launch``).

    Args:
        timeout: a time limit (``"2h"``, ``"1h30m"``, seconds): the job is cancelled (and a cluster
            launched for it torn down) when it passes.
        max_cost: a cost limit in dollars (``50``, ``"$50"``), estimated from the catalog price ×
            nodes × elapsed: 80 % warns, 100 % cancels. Needs a catalog price (refused without).
        expected_duration: how long the job should take, for the budget check (default: ``timeout``).
        yes: go ahead even if the launch may exceed the budget (see ``settings.budget``).
        **options: ``name``, ``backend``, ``env``, ``dryrun`` (see ``jobs.launcher.launch``).

    Raises:
        FieldError: a bad value, or ``max_cost`` with no catalog price (one line; nothing recorded).
        BudgetConfirmationNeeded: the launch may cost more than the budget has left, or has no
            bound while a budget is set (one line saying by how much); nothing recorded.
    """
    backend = resolve_backend(options.get("backend"))
    check_backend_name(backend)
    prepared = prepare_launch(executor, backend, timeout=timeout, max_cost=max_cost,
                              expected_duration=expected_duration, yes=yes,
                              dryrun=options.get("dryrun") is True)
    if prepared.limits is not None:
        options["limits"] = prepared.limits
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


def set_limits(job: Any, *, timeout: Any = None, max_cost: Any = None) -> str:
    """Change a running job's time or cost limit; its supervisor takes the change within a second.

    Args:
        job: a Job, or what ``find_job`` takes (an id, a name, -1).
        timeout: a duration (``"3h"``), ``"off"`` to remove the time limit; None: as it is.
        max_cost: dollars, ``"off"`` to remove the cost limit; None: as it is. A job launched
            without a price is priced now from the catalog (as a launch with ``max_cost`` would be).

    Returns:
        One line saying what changed: ``job 12 (train): time limit 2h -> 3h``.

    Raises:
        FieldError: a bad value, or a cost limit with no catalog price (one line; nothing changed).
        LimitChangeRefused: the job has ended. LookupError: no such job.
    """
    job = job if hasattr(job, "set_limits") else find_job(job)
    changes = parse_change(timeout, max_cost)  # a bad value says so before any price look-up
    hourly, note = None, ""
    if changes.get("max_cost") is not None and job.limits.hourly is None:
        try:
            hourly, note = hourly_price(row_price_config(job.row()), job.backend)
        except PriceUnavailable as exc:
            raise FieldError("max_cost", f"a limit on a job whose hourly price is known (no catalog price: {exc})",
                             max_cost) from None
    return job.set_limits(timeout=timeout, max_cost=max_cost, hourly=hourly, price_note=note)
