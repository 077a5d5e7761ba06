"""JOB and CLUSTER references of the line magics, and the plain-text summaries they print."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable

from IPython.core.error import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.engine.job import Job

JOB_FORMS = "a job id, a job name (newest with that name) or -1 (last job)"


def resolve_job(ref: str) -> Job:
    """The job ``ref`` names (id, name or ``-1``); a UsageError when there is none."""
    from skyexec_nb.engine.launcher import find_job

    try:
        return find_job(ref)
    except (LookupError, ValueError):
        raise UsageError(f"Invalid JOB: {JOB_FORMS}; no such job. Found: {ref!r}") from None


def jobs_on_cluster(cluster: str) -> list[Job]:
    """Recorded jobs whose cluster is ``cluster``, newest last."""
    from skyexec_nb.engine.launcher import jobs

    return [job for job in jobs() if job.cluster == cluster]


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def jobs_table(jobs: Iterable[Job]) -> str:
    """A compact fixed-width table: id, name, backend, cluster, status, elapsed, created."""
    header = ("ID", "NAME", "BACKEND", "CLUSTER", "STATUS", "ELAPSED", "CREATED")
    rows = [header] + [
        (str(job.id), job.name or "-", job.backend or "-", job.cluster or "-", str(job.status),
         _duration(job.elapsed), _when(job.created))
        for job in jobs
    ]
    if len(rows) == 1:
        return "No jobs recorded yet."
    widths = [max(len(row[col]) for row in rows) for col in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _endpoints(job: Job) -> Any:
    endpoints = getattr(job, "endpoints", None)
    return endpoints() if callable(endpoints) else endpoints


def job_details(job: Job) -> str:
    """One job's facts, a line each: status, times, exit codes, error, endpoints, log file."""
    lines = [
        f"Job {job.id} {job.name!r}: {job.status}",
        f"  backend    {job.backend}",
        f"  cluster    {job.cluster or '-'}",
        f"  app id     {job.app_id or '-'}",
        f"  created    {_when(job.created)}",
        f"  started    {_when(job.started)}",
        f"  ended      {_when(job.ended)}",
        f"  elapsed    {_duration(job.elapsed)}",
    ]
    if job.exit_codes:
        codes = ", ".join(f"rank {rank}: {code}" for rank, code in sorted(job.exit_codes.items()))
        lines.append(f"  exit codes {codes}")
    if job.error:
        lines.append(f"  error      {job.error}")
    endpoints = _endpoints(job)
    if endpoints:
        items = endpoints.items() if isinstance(endpoints, dict) else enumerate(endpoints)
        lines.extend(f"  endpoint   {port}: {url}" for port, url in items)
    lines.append(f"  log        {job.log_path}")
    return "\n".join(lines)
