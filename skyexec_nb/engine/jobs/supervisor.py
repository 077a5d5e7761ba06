"""``python -m skyexec_nb.engine.jobs.supervisor JOB_ID``: the detached process that runs one job.

Started by the monitor in its own session (stdout/stderr to ``job_dir/supervisor.log``,
``SKYEXEC_NB_HOME`` in its environment). It loads the job's row, builds a
:class:`~skyexec_nb.engine.jobs.backend_api.RunContext` and calls the backend's ``run(ctx)``.
SIGTERM (``Job.cancel()``) sets ``ctx.cancelled``; so does the row turning terminal from
outside. An exception ends the job FAILED with a one-line error (traceback in the job log).
The job outlives the kernel that launched it; a new kernel re-attaches through the registry.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from skyexec_nb.engine.jobs.backend_api import get_backend
from skyexec_nb.engine.jobs.backend_api import RunContext, one_line
from skyexec_nb.engine.jobs.logfile import LogWriter
from skyexec_nb.engine.jobs.registry import Registry, get_registry
from skyexec_nb.engine.jobs.slots import wait_for_slot
from skyexec_nb.engine.jobs.status import JobStatus

_WATCH_INTERVAL = 0.5


def _watch_row(ctx: RunContext, stop: threading.Event) -> None:
    """Set ``ctx.cancelled`` if the row turns terminal from outside (e.g. a kernel without our pid)."""
    registry = ctx.registry
    while not stop.wait(_WATCH_INTERVAL):
        row = registry.get(ctx.job_id)
        if row is None or row["status"].is_terminal:
            ctx.cancelled.set()
            return


def build_context(registry: Registry, row: dict, cancelled: threading.Event | None = None) -> RunContext:
    """The RunContext of a job row (its log file opened for appending)."""
    job_dir = Path(row["job_dir"])
    return RunContext(
        job_id=row["id"],
        name=row["name"],
        cluster=row["cluster"],
        app_id=row["app_id"],
        config=row["config"] or {},
        launch_options=row["launch_options"] or {},
        job_dir=job_dir,
        log=LogWriter(row["log_path"]),
        registry=registry,
        cancelled=cancelled or threading.Event(),
    )


def run_job(job_id: int) -> int:
    """Run job ``job_id`` to a terminal state; returns the process exit code."""
    cancelled = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancelled.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    registry = get_registry()
    row = registry.get(job_id)
    if row is None:
        print(f"supervisor: no job {job_id} in {registry.path}", file=sys.stderr)
        return 2
    if row["status"].is_terminal:
        return 0
    registry.update(job_id, supervisor_pid=os.getpid())
    ctx = build_context(registry, row, cancelled)
    stop = threading.Event()
    threading.Thread(target=_watch_row, args=(ctx, stop), daemon=True, name="row-watch").start()
    try:
        if wait_for_slot(ctx):  # a sweep's max_parallel: PENDING until a slot frees
            get_backend(row["backend"]).run(ctx)
    except BaseException as exc:  # noqa: BLE001 - every failure must end the job
        ctx.log.write(traceback.format_exc())
        ctx.set_status(JobStatus.FAILED, error=one_line(exc))
    finally:
        stop.set()
        if not registry.get(job_id)["status"].is_terminal:
            if ctx.cancelled.is_set():
                ctx.set_status(JobStatus.CANCELLED)
            else:
                ctx.set_status(JobStatus.FAILED, error="backend ended without a final status")
        ctx.log.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m skyexec_nb.engine.jobs.supervisor JOB_ID``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m skyexec_nb.engine.jobs.supervisor JOB_ID", file=sys.stderr)
        return 2
    return run_job(int(args[0]))


if __name__ == "__main__":
    sys.exit(main())
