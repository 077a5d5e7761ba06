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


# -- work launched elsewhere (a SkyPilot API server's clusters and jobs) ------------------------------

EXTERNAL_FORMS = "CLUSTER:JOB_ID (a job on a cluster) or jobs:ID (a managed job), see %skyjobs --all"
#: Seconds a magic waits for the SkyPilot API server before saying it did not answer.
SERVER_WAIT = 60.0


def is_external_ref(ref: str) -> bool:
    """True for ``CLUSTER:JOB_ID`` / ``jobs:ID`` (work the API server knows), not a recorded job's id or name."""
    from skyexec_nb.engine.skyapi.external_rows import parse_ref

    try:
        parse_ref(ref)
    except ValueError:
        return False
    return True


def _in_thread(work: Any, timeout: float) -> Any:
    """``work()`` in a daemon thread, waited for at most ``timeout`` s (Ctrl-C stops the wait)."""
    from skyexec_nb.engine.skyapi.sdk import NoAnswer, call_within

    try:
        return call_within(work, timeout, "skyexec-magic-wait")
    except NoAnswer:
        raise UsageError(f"The SkyPilot API server did not answer within {timeout:.0f}s; try again "
                         "(sky api info says whether it is there)") from None


def attach_external(ref: str, timeout: float = SERVER_WAIT) -> Job:
    """The Job following ``ref`` (recorded before, or asked of SkyPilot now and recorded as attached).

    Raises:
        UsageError: one line: not such a reference, no such cluster or job, the API server not
            reachable or not logged in. Nothing is recorded then.
    """
    from skyexec_nb.engine.api import get_job
    from skyexec_nb.engine.backends.attached import attach, find_attached, lookup
    from skyexec_nb.engine.skyapi.external_rows import ServerProblem, parse_ref, ref_text

    try:
        ref = ref_text(*parse_ref(ref))
    except ValueError:
        raise UsageError(f"Invalid JOB: {EXTERNAL_FORMS}. Found: {ref!r}") from None
    known = find_attached(ref)
    if known is not None:  # followed before (this kernel or an earlier one): no need to ask
        return get_job(known)
    try:
        row = lookup(ref, timeout=timeout)
    except (LookupError, ServerProblem, TimeoutError) as exc:
        raise UsageError(" ".join(str(exc).split())) from None
    return get_job(attach(ref, row).id)


def cluster_details(name: str, timeout: float = SERVER_WAIT) -> str:
    """A cluster's facts as SkyPilot reports them: owner, status, resources, autostop, endpoints, jobs.

    Raises:
        UsageError: one line: no such cluster, or the API server could not be asked.
    """
    from skyexec_nb.engine.skyapi.external import cluster_facts
    from skyexec_nb.engine.skyapi.external_rows import ServerProblem

    try:
        facts = _in_thread(lambda: cluster_facts(name), timeout)
    except (LookupError, ServerProblem) as exc:
        raise UsageError(" ".join(str(exc).split())) from None
    row = facts["row"]
    d = row.details
    autostop = d.get("autostop")
    autostop_text = ("off" if autostop in (None, -1) else
                     f"after {autostop} idle minutes, then {'tear down' if d.get('to_down') else 'stop'}")
    lines = [f"Cluster {row.name}: {row.status}",
             f"  owner      {row.user}{' (you)' if row.mine else ''}",
             f"  resources  {d.get('resources_full') or row.resources}",
             f"  nodes      {d.get('nodes') or '-'}",
             f"  where      {'/'.join(str(v) for v in (d.get('cloud'), d.get('region')) if v) or '-'}",
             f"  launched   {_when(row.started)}",
             f"  autostop   {autostop_text}"]
    if row.cost is not None:
        lines.append(f"  cost       ${row.cost:,.2f}")
    if facts["endpoints"]:
        lines += [f"  endpoint   {port}: {url}" for port, url in sorted(facts["endpoints"].items())]
    else:
        lines.append(f"  endpoints  none ({facts['endpoints_error'] or 'no ports opened'})")
    if facts["jobs"] is not None:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(facts["jobs"].items())) or "none"
        lines.append(f"  jobs       {counts} (%skylogs {row.name}:JOB_ID to watch one)")
    else:
        lines.append(f"  jobs       unknown ({facts['jobs_error']})")
    if d.get("last_use"):
        lines.append(f"  last use   {d['last_use']}")
    return "\n".join(lines)
