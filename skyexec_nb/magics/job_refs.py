"""JOB and CLUSTER references of the line magics, and the plain-text summaries they print."""
from __future__ import annotations

import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Iterable, MutableMapping

from IPython.core.error import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.engine.api import Job

JOB_FORMS = "a job id, a job name (newest with that name) or -1 (last job)"


def resolve_job(ref: str) -> Job:
    """The job ``ref`` names (id, name or ``-1``); a UsageError when there is none."""
    from skyexec_nb.engine.api import find_job

    try:
        return find_job(ref)
    except (LookupError, ValueError):
        raise UsageError(f"Invalid JOB: {JOB_FORMS}; no such job. Found: {ref!r}") from None


def jobs_on_cluster(cluster: str) -> list[Job]:
    """Recorded jobs whose cluster is ``cluster``, newest last."""
    from skyexec_nb.engine.api import jobs

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


def _endpoint_lines(job: Job) -> list[str]:
    """``port: url`` lines from ``job.endpoints()``, or the one-line reason there are none."""
    found = job.endpoints()
    if not found and job.endpoints_error:
        return [f"  endpoints  unavailable: {job.endpoints_error}"]
    return [f"  endpoint   {port}: {url}" for port, url in sorted(found.items())]


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
    lines.extend(_endpoint_lines(job))
    lost = not job.log_path.exists() and bool(job.row()["supervisor_pid"] or job.started)
    lines.append(f"  log        {job.log_path}" + ("  (deleted: its output is not kept)" if lost else ""))
    return "\n".join(lines)


def print_lines(lines: Iterable[str]) -> None:
    """Print log lines as they come (they carry no newline), each capped for display.

    A line longer than ``logfile.DISPLAY_CHARS`` is cut, saying how much more the log file
    holds (a 50 MB line would stall the notebook). The engine's notices (a log deleted or
    truncated while followed, see ``logfile``) are lines like any other. No flush per line:
    ipykernel's stdout sends what was written every 0.2 s, so a fast job costs a few stream
    messages a second, not one per line.
    """
    from skyexec_nb.engine.jobs.logfile import cap_line

    for line in lines:
        print(cap_line(line))
    sys.stdout.flush()


def print_bounded(lines: Iterable[str], limit: int, job: Any) -> None:
    """Print at most ``limit`` lines as they come; past that, one notice, then the last lines.

    The cell's output stays bounded however much the job prints; the full log stays on disk.
    """
    from skyexec_nb.engine.jobs.logfile import cap_line

    shown = 0
    rest: deque[str] = deque(maxlen=_LAST_LINES)
    skipped = 0
    for line in lines:
        if shown < limit:
            print(cap_line(line))
            shown += 1
            continue
        if not skipped:
            print(f"[skyexec_nb] more than {limit} lines: the rest is not shown here; the full log is "
                  f"{job.log_path} (%skylogs {job.id})", flush=True)
        skipped += 1
        rest.append(line)
    if skipped > len(rest):
        print(f"[skyexec_nb] ... {skipped - len(rest)} lines not shown; the last {len(rest)}:")
    print_lines(rest)


_LAST_LINES = 20


def wait_streaming(handle: Any, limit: int | None = None) -> Any:
    """Block until a Job (its log streamed as it comes, at most ``limit`` lines) or a Sweep ends;
    Ctrl-C cancels it.

    Raises:
        KeyboardInterrupt: after cancelling, so a "run all" stops here too.
    """
    try:
        follow = getattr(handle, "follow", None)
        if follow is not None:
            if limit is None:
                print_lines(follow())
            else:
                print_bounded(follow(), limit, handle)
        handle.wait()
    except KeyboardInterrupt:
        handle.cancel()
        print(f"Interrupted: cancelled {type(handle).__name__.lower()} {handle.id}.", file=sys.stderr, flush=True)
        raise
    return handle


def pull_now(job: Job, names: list[str], user_ns: MutableMapping[str, Any]) -> None:
    """After ``--wait``: set the ``--pull`` variables of a finished Python job before the cell returns."""
    from skyexec_nb.engine.remote.python_jobs import RemoteError, ResultError, result
    from skyexec_nb.engine.jobs.status import JobStatus

    if job.status is not JobStatus.SUCCEEDED:
        return
    try:
        values = result(job, 0)
    except (RemoteError, ResultError) as exc:
        print(f"Nothing pulled: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return
    user_ns.update({name: values[name] for name in names if name in values})
