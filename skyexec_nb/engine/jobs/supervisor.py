"""``python -m skyexec_nb.engine.jobs.supervisor JOB_ID``: the detached process that runs a job.

Started by a monitor in its own session (stdout/stderr to ``job_dir/supervisor.log``,
``SKYEXEC_NB_HOME`` in its environment). It claims the job atomically (``supervisor_pid`` and
its start time are set only where no supervisor is recorded: two supervisors never run one job),
builds a :class:`~skyexec_nb.engine.jobs.backend_api.RunContext` and calls the backend's
``run(ctx)``. A job of a bounded sweep group (``max_parallel``) is followed by the group's next
waiting job, claimed the same way and run in the same process (a fresh context each), until none
is left: a sweep keeps about ``max_parallel`` supervisors alive whatever its size, and goes on
without the kernel that launched it.

Cancel: ``Job.cancel()`` records ``cancel_requested`` in the row, then sends SIGTERM, which only
wakes the row watcher: the job whose row asks for it is cancelled (a SIGTERM meant for the job
this process just finished is ignored). A SIGTERM from anyone else cancels the current job and
takes no more. A row turning terminal from outside cancels too. An exception ends the job FAILED
with a one-line error (traceback in the job log).

Spend limits (time, cost, a sweep group's cost) are checked by the same watcher every tick
(:mod:`.limit_watch`): they hold with the kernel gone, not with this process killed (``kill -9``:
the liveness check then fails the job, and no limit fires).
"""
from __future__ import annotations

import datetime
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from skyexec_nb.engine.jobs.backend_api import RunContext, one_line
from skyexec_nb.engine.jobs.backend_table import get_backend
from skyexec_nb.engine.jobs import secrets
from skyexec_nb.engine.jobs.limit_watch import LimitWatch
from skyexec_nb.engine.jobs.logfile import LogWriter
from skyexec_nb.engine.jobs.procs import stamp
from skyexec_nb.engine.jobs.registry import Registry, get_registry
from skyexec_nb.engine.jobs.slots import claim, claim_next, slot_group, wait_for_slot
from skyexec_nb.engine.jobs.status import JobStatus

_WATCH_INTERVAL = 0.5


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


def cancel_line(request: object) -> str:
    """``skyexec_nb: cancelled by <user> at <ISO time>`` for a ``cancel_requested`` record."""
    if isinstance(request, dict):
        who, when = request.get("by") or "unknown user", request.get("at")
    else:  # an older record: the time only
        who, when = "unknown user", request
    try:
        at = datetime.datetime.fromtimestamp(float(when)).astimezone().isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        at = "an unknown time"
    return f"skyexec_nb: cancelled by {who} at {at}"


class Supervisor:
    """Runs the jobs this process claims, one after another."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.db = str(registry.path)
        self.stamp = stamp()
        self.term = threading.Event()  # set by SIGTERM: look at the row now
        self.stop_after = False  # an outside SIGTERM: take no further job
        self.previous_cancelled = False  # the job just finished was cancelled by the user

    def on_term(self, *_: object) -> None:
        self.term.set()

    def claim_first(self, job_id: int, group: tuple[str, int] | None) -> int | None:
        """Claim ``job_id``; a group member already taken falls back to the group's next waiting job."""
        if claim(self.db, job_id, self.stamp):
            return job_id
        return claim_next(self.db, group[0], self.stamp) if group else None

    def run(self, job_id: int) -> None:
        """Claim ``job_id`` (or its group's next), run it, then the group's next, until none is left."""
        row = self.registry.get(job_id)
        group = slot_group(row["config"] or {})
        current = self.claim_first(job_id, group)
        while current is not None:
            self.run_one(current)
            if self.stop_after or group is None:
                return
            current = claim_next(self.db, group[0], self.stamp)

    def run_one(self, job_id: int) -> None:
        """Run one claimed job to a terminal state."""
        row = self.registry.get(job_id)
        _redirect_output(Path(row["job_dir"]))
        ctx = build_context(self.registry, row, threading.Event())
        limits = LimitWatch(ctx, row["backend"])
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(ctx, stop, limits), daemon=True, name="row-watch")
        watcher.start()
        try:
            backend = get_backend(row["backend"])
            backend.prepare()  # e.g. import the SDK: local work, not billed, before the clock starts
            # a sweep's max_parallel: PENDING until a slot frees; then the limits' clock starts
            if wait_for_slot(ctx) and limits.begin():
                backend.run(ctx)
        except BaseException as exc:  # noqa: BLE001 - every failure must end the job
            ctx.log.write(traceback.format_exc())
            ctx.set_status(JobStatus.FAILED, error=one_line(exc))
        finally:
            stop.set()  # the watcher ends on its own (no join: it may be asleep for a while)
            secrets.remove(ctx.job_dir)  # a backend that never ran (cancelled while waiting) left it
            final = self.registry.get(job_id)
            if not final["status"].is_terminal:
                if ctx.cancelled.is_set():
                    ctx.set_status(JobStatus.CANCELLED)
                else:
                    ctx.set_status(JobStatus.FAILED, error="backend ended without a final status")
            limits.finish()
            ctx.log.close()
        self.previous_cancelled = bool((final.get("extra") or {}).get("cancel_requested"))

    def _watch(self, ctx: RunContext, stop: threading.Event, limits: LimitWatch) -> None:
        """Set ``ctx.cancelled`` when the row asks for it, turns terminal, a limit passes, or on an
        outside SIGTERM."""
        while not stop.is_set():
            woken = self.term.wait(_WATCH_INTERVAL)
            if stop.is_set():
                return
            row = self.registry.get(ctx.job_id)
            if row is None or row["status"].is_terminal:
                ctx.cancelled.set()
                return
            request = (row.get("extra") or {}).get("cancel_requested")
            if request:
                self.term.clear()
                ctx.log.write_line(cancel_line(request))
                ctx.cancelled.set()
                return
            if limits.tick(row):  # logged, recorded and cancelled there
                return
            if woken:
                self.term.clear()
                if self.previous_cancelled:  # meant for the job this process just finished
                    self.previous_cancelled = False
                    continue
                self.stop_after = True
                ctx.log.write_line(cancel_line({"by": "a SIGTERM to the supervisor", "at": time.time()}))
                ctx.cancelled.set()
                return


def _redirect_output(job_dir: Path) -> None:
    """Send this process's stdout/stderr to the job's ``supervisor.log`` (each job its own)."""
    job_dir.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(job_dir / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)


def run_job(job_id: int) -> int:
    """Run job ``job_id`` (and, for a bounded group, the group's waiting jobs); the exit code."""
    registry = get_registry()
    supervisor = Supervisor(registry)
    signal.signal(signal.SIGTERM, supervisor.on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if registry.get(job_id) is None:
        print(f"supervisor: no job {job_id} in {registry.path}", file=sys.stderr)
        return 2
    supervisor.run(job_id)
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
