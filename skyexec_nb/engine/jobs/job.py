"""``Job``: the handle of one launched job, the same verbs whatever backend runs it.

Everything that changes (status, times, exit codes, error, extra) is read fresh from the
registry, so a handle made in a new process (a restarted kernel) is as good as the original.
Reads also run the registry's liveness check (at most once a second per process, see
``monitor.refresh``): a dead supervisor shows as FAILED in every process, not only the launcher.
"""
from __future__ import annotations

import getpass
import html
import itertools
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from skyexec_nb.engine.jobs import logfile, secrets
from skyexec_nb.engine.jobs.procs import kill_job_processes, pid_alive
from skyexec_nb.engine.jobs.registry import Registry, get_registry
from skyexec_nb.engine.jobs.limit_change import change_limits, describe, what_changed
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.spend import Limits, row_limits
from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus


class Job:
    """A launched job (see ``docs/architecture.md`` for the contract).

    Args:
        job_id: The registry id.
        registry: The registry holding the row (default: the current state dir's).

    Raises:
        LookupError: no such job.
    """

    def __init__(self, job_id: int, registry: Registry | None = None, *, row: dict[str, Any] | None = None) -> None:
        self._registry = registry or get_registry()
        if row is None:  # ``row``: the fields just written (a batch launch), so no read is needed
            _refresh(self._registry)
            row = self._registry.get(int(job_id))
        if row is None:
            raise LookupError(f"No job {job_id} in {self._registry.path}")
        self.id: int = row["id"]
        self.name: str = row["name"]
        self.backend: str = row["backend"]
        self.app_id: str = row["app_id"]
        self.cluster: str = row["cluster"]
        self.created: float = row["created"]
        self.log_path = Path(row["log_path"])
        self.job_dir = Path(row["job_dir"])
        self.config: dict[str, Any] = row["config"] or {}
        self.launch_options: dict[str, Any] = row["launch_options"] or {}
        self.endpoints_error: str | None = None  # why the last ``endpoints()`` found none, one line

    # -- fresh state -------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """The job's whole registry row, read now."""
        _refresh(self._registry)
        row = self._registry.get(self.id)
        if row is None:
            raise LookupError(f"Job {self.id} is no longer in {self._registry.path}")
        return row

    @property
    def status(self) -> JobStatus:
        """The current status (read from the registry)."""
        return self.row()["status"]

    @property
    def started(self) -> float | None:
        """Epoch seconds the job started (setup or run), or None."""
        return self.row()["started"]

    @property
    def ended(self) -> float | None:
        """Epoch seconds the job reached a terminal state, or None."""
        return self.row()["ended"]

    @property
    def exit_codes(self) -> dict[int, int]:
        """{rank: exit code}; negative for a signal (e.g. -9)."""
        return self.row()["exit_codes"]

    @property
    def error(self) -> str | None:
        """One-line reason of a failure, or None."""
        return self.row()["error"]

    @property
    def extra(self) -> dict[str, Any]:
        """Backend/view facts (sky request id, endpoints, cost, ...)."""
        return self.row()["extra"]

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (or was created) until it ended (or now)."""
        row = self.row()
        start = row["started"] or row["created"]
        return max(0.0, (row["ended"] or time.time()) - start)

    @property
    def executor(self) -> Any:
        """A SkyExecutor rebuilt from the task config."""
        from skyexec_nb.model.executor import SkyExecutor

        return SkyExecutor.from_config(self.config)

    def done(self) -> bool:
        """True once the job is in a terminal state."""
        return self.status.is_terminal

    def endpoints(self, *, timeout: float = 0.2) -> dict[int, str]:
        """``{port: url}`` of the ports the job serves that can be reached now.

        Local backend: the open ports of ``resources.ports`` probed on 127.0.0.1 (``timeout``
        seconds per port), as jupyter-server-proxy paths when that extension is installed.
        Cloud backends: the URLs the backend recorded (``extra['endpoints']``), else SkyPilot's
        ``sky.endpoints(cluster)`` (blocks on the API server). When SkyPilot cannot answer,
        returns ``{}`` and ``endpoints_error`` says why in one line (None otherwise).
        """
        from skyexec_nb.engine.skyapi.endpoints import EndpointsUnavailable, job_endpoints

        self.endpoints_error = None
        extra = self.extra if self.backend != "local" else None
        try:
            return job_endpoints(self.backend, self.config, self.cluster, extra=extra, timeout=timeout)
        except EndpointsUnavailable as exc:
            self.endpoints_error = str(exc)
            return {}

    # -- logs ----------------------------------------------------------------------------------
    def logs(self) -> str:
        """The full log so far (a one-line notice when the job had a log and it was deleted)."""
        text = logfile.read_text(self.log_path)
        return text or (logfile.missing_notice(self.log_path) + "\n" if self._log_lost() else "")

    def tail(self, n: int | None = None) -> list[str]:
        """The last ``n`` lines (default ``settings.log_tail_lines``), read from the file's end."""
        lines = logfile.tail_lines(self.log_path, get_settings().log_tail_lines if n is None else n)
        return lines or ([logfile.missing_notice(self.log_path)] if n != 0 and self._log_lost() else [])

    def _log_lost(self) -> bool:
        """True when the log file is missing although the job's supervisor had created it."""
        if self.log_path.exists():
            return False
        row = self.row()
        return bool(row["supervisor_pid"] or row["started"])  # not yet started: no log yet

    def follow(self, poll: float = 0.05, from_start: bool = True, last: int | None = None) -> Iterator[str]:
        """Yield log lines as they arrive, until the job is terminal and the log is drained.

        Args:
            poll: Seconds between looks at the file when nothing is new.
            from_start: Begin with the whole log so far (else only lines written from now on).
            last: Begin with the last ``last`` lines so far, then every new line (no gap between).
        """
        lost = [logfile.missing_notice(self.log_path)] if self._log_lost() else []
        if last is None:
            return itertools.chain(lost, logfile.follow(self.log_path, self.done, poll=poll, from_start=from_start))
        size = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        head = logfile.tail_lines(self.log_path, last, end=size) or lost
        return itertools.chain(head, logfile.follow(self.log_path, self.done, poll=poll, offset=size))

    # -- control -------------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the job is terminal; returns its status.

        Raises:
            TimeoutError: still not terminal after ``timeout`` seconds.
        """
        finished = threading.Event()
        unsubscribe = self.on_change(lambda job: job.done() and finished.set())
        try:
            if not self.done() and not finished.wait(timeout):
                if not self.done():
                    raise TimeoutError(f"Job {self.id} still {self.status} after {timeout}s")
        finally:
            unsubscribe()
        return self.status

    def cancel(self) -> bool:
        """Ask the job to stop; returns False if it had already ended.

        Records ``cancel_requested`` (``{"at": epoch seconds, "by": user}``) in the row, then
        signals the supervisor (SIGTERM; it logs ``skyexec_nb: cancelled by <user> at <time>``
        and the backend ends the job CANCELLED). A job with no supervisor yet (a queued sweep
        job, or one not started) has started nothing: the row is marked CANCELLED and any
        supervisor that comes later leaves it. With a dead supervisor, the job's leftover
        processes are ended and the job is marked CANCELLED.
        """
        row = self.row()
        if row["status"].is_terminal:
            return False
        request = {"at": time.time(), "by": _user()}
        pid = row["supervisor_pid"]
        if pid and pid_alive(pid, row["extra"].get("supervisor_start")):
            # Recorded first: should the supervisor die before it ends the job, the job was
            # still cancelled by the user (the monitor then ends it CANCELLED, not FAILED).
            self._registry.update(self.id, cancel_requested=request)
            try:
                os.kill(pid, signal.SIGTERM)  # wakes its row watcher at once
            except ProcessLookupError:
                pass  # died meanwhile: the liveness check ends it CANCELLED
            return True
        applied = self._registry.set_status(self.id, JobStatus.CANCELLED, cancel_requested=request)
        secrets.remove(self.job_dir)  # it never ran: its secret values are not needed
        if pid:
            kill_job_processes(row["node_pgids"], row["extra"].get("job_token"),
                               grace=get_settings().cancel_grace)
        return applied

    @property
    def limits(self) -> Limits:
        """The job's spend limits as they stand now (``Limits()`` when it has none)."""
        return row_limits(self.row())

    def set_limits(self, *, timeout: Any = None, max_cost: Any = None, hourly: float | None = None,
                   price_note: str = "") -> str:
        """Change the job's limits while it runs; its supervisor takes them within a second.

        Args:
            timeout: a duration (``"3h"``, ``"90m"``, seconds), ``"off"`` to remove it; None: as is.
            max_cost: dollars, ``"off"`` to remove it; None: as is. Needs the job's hourly price:
                recorded at launch, else ``hourly`` (``skyexec_nb.set_limits`` looks it up).
            hourly, price_note: USD/hr of all its nodes and what was priced, when none was recorded.

        Returns:
            One line: ``job 12 (train): time limit 2h -> 3h`` (or that nothing changed).

        Raises:
            FieldError: a value out of range, a cost limit without a price (one line, nothing written).
            LimitChangeRefused: the job has ended.
        """
        old, new = change_limits(self._registry, self.id, timeout=timeout, max_cost=max_cost,
                                 hourly=hourly, price_note=price_note)
        changed = what_changed(old, new)
        return f"job {self.id} ({self.name}): {changed or 'limits unchanged: ' + describe(new)}"

    def down(self) -> str:
        """Tear down the job's cluster (backend-specific); returns a one-line message."""
        from skyexec_nb.engine.jobs.backend_table import get_backend

        return get_backend(self.backend).down(self)

    def on_change(self, callback: Callable[[Job], None]) -> Callable[[], None]:
        """Call ``callback(job)`` (from the monitor thread) on each change; returns unsubscribe."""
        from skyexec_nb.engine.jobs.monitor import get_monitor

        return get_monitor().subscribe(self.id, lambda: callback(self))

    # -- display -------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and (other.id, other._registry.path) == (self.id, self._registry.path)

    def __hash__(self) -> int:
        return hash((self.id, str(self._registry.path)))

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name!r} {self.backend} {self.status.value} {self.elapsed:.1f}s>"

    def _repr_html_(self) -> str:
        status = self.status
        badge = (f'<span style="background:{STATUS_COLOURS.get(status, "#6c757d")};color:white;'
                 f'padding:1px 6px;border-radius:4px">{status.value}</span>')
        return (f"<b>Job {self.id}</b> {html.escape(self.name)} ({html.escape(self.backend)}, "
                f"cluster {html.escape(self.cluster or '')}) {badge} {self.elapsed:.1f}s")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        from skyexec_nb.model.view_registry import mimebundle

        return mimebundle(self, repr(self), self._repr_html_())


def _refresh(registry: Registry) -> None:
    from skyexec_nb.engine.jobs.monitor import refresh

    refresh(registry)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER
        return f"uid {os.getuid()}"
