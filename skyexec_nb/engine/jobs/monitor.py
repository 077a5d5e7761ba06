"""One daemon thread per process that watches every job (a job is not a thread).

It spawns pending supervisors (so ``launch()`` returns at once), polls the registry every
``poll_interval`` for jobs that have listeners, fires their callbacks on a change
(``cb()``, from this thread; exceptions are logged, never fatal), reaps the supervisors
this process started, and fails non-terminal jobs whose supervisor died (killing their nodes).
"""
from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

from skyexec_nb.engine.jobs.logfile import tail_lines
from skyexec_nb.engine.jobs.procs import kill_groups, pid_alive
from skyexec_nb.engine.jobs.registry import Registry, get_registry
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.process_wide import ProcessWide

log = logging.getLogger(__name__)
Callback = Callable[[], None]
_DEAD_CHECK_EVERY = 1.0
#: A row with no supervisor this many seconds after launch failed to start (launcher killed).
NEVER_STARTED_AFTER = 60.0


class Monitor:
    """The process-wide watcher; use :func:`get_monitor`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spawn_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: list[tuple[Registry, int]] = []
        self._listeners: dict[int, list[Callback]] = defaultdict(list)
        self._seen: dict[int, tuple[str, float] | None] = {}
        self.children: dict[int, subprocess.Popen] = {}  # job id -> supervisor started here
        self._thread: threading.Thread | None = None
        self._last_dead_check = 0.0

    # -- API -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread if it is not running (and, once, the at-exit flush of pending spawns)."""
        with self._lock:
            if self._thread is None:
                atexit.register(self.flush)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="skyexec-monitor", daemon=True)
                self._thread.start()

    def spawn(self, job_id: int, registry: Registry | None = None) -> None:
        """Queue the start of job ``job_id``'s supervisor (done by the thread, soon)."""
        with self._lock:
            self._pending.append((registry or get_registry(), job_id))
        self.start()
        self._wake.set()

    def subscribe(self, job_id: int, callback: Callback) -> Callable[[], None]:
        """Call ``callback()`` whenever job ``job_id``'s row changes; returns an unsubscribe."""
        versions = get_registry().versions([job_id])
        with self._lock:
            if job_id not in self._seen:
                self._seen[job_id] = versions.get(job_id)
            self._listeners[job_id].append(callback)
        self.start()

        def unsubscribe() -> None:
            with self._lock:
                callbacks = self._listeners.get(job_id, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._listeners.pop(job_id, None)
                    self._seen.pop(job_id, None)

        return unsubscribe

    def flush(self) -> None:
        """Start every pending supervisor now (at exit, so a launch is never lost)."""
        if not self._stop.is_set():
            self._spawn_pending()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (pending spawns are dropped)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._pending.clear()
            self._listeners.clear()
            self._seen.clear()

    @property
    def thread(self) -> threading.Thread | None:
        """The monitor thread (None before the first use)."""
        return self._thread

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            for step in (self._spawn_pending, self._reap_children, self._poll_listeners, self._check_dead):
                try:
                    step()
                except Exception:  # noqa: BLE001 - the monitor must survive anything
                    log.exception("skyexec_nb monitor: %s failed", step.__name__)
            self._wake.wait(get_settings().poll_interval)
            self._wake.clear()

    def _spawn_pending(self) -> None:
        with self._spawn_lock:  # held throughout, so the at-exit flush waits for a spawn under way
            with self._lock:
                pending, self._pending = self._pending, []
            for registry, job_id in pending:
                self._spawn_one(registry, job_id)

    def _spawn_one(self, registry: Registry, job_id: int) -> None:
        row = registry.get(job_id)
        if row is None or row["status"].is_terminal:
            return
        try:
            proc = start_supervisor(registry, row)
        except OSError as exc:
            registry.set_status(job_id, JobStatus.FAILED, error=f"cannot start supervisor: {exc}")
            return
        self.children[job_id] = proc  # the supervisor records its own pid once it handles SIGTERM

    def _reap_children(self) -> None:
        for job_id, proc in list(self.children.items()):
            if proc.poll() is None:
                continue
            del self.children[job_id]
            registry = get_registry()
            row = registry.get(job_id)
            if row is not None and not row["status"].is_terminal:
                fail_dead(registry, row, f"exit code {proc.returncode}")

    def _poll_listeners(self) -> None:
        with self._lock:
            ids = list(self._listeners)
        if not ids:
            return
        registry = get_registry()
        for job_id, version in registry.versions(ids).items():
            with self._lock:
                if self._seen.get(job_id, version) == version or job_id not in self._listeners:
                    continue
                self._seen[job_id] = version
                callbacks = list(self._listeners[job_id])
            for callback in callbacks:
                try:
                    callback()
                except Exception:  # noqa: BLE001 - a view's bug must not stop the monitor
                    log.exception("skyexec_nb: on_change callback of job %s failed", job_id)

    def _check_dead(self) -> None:
        now = time.monotonic()
        if now - self._last_dead_check < _DEAD_CHECK_EVERY:
            return
        self._last_dead_check = now
        reap_dead_supervisors(get_registry(), set(self.children))


def start_supervisor(registry: Registry, row: dict) -> subprocess.Popen:
    """Start ``python -m skyexec_nb.engine.jobs.supervisor ID`` detached (own session)."""
    job_dir = Path(row["job_dir"])
    job_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SKYEXEC_NB_HOME=str(registry.path.parent))
    with open(job_dir / "supervisor.log", "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "skyexec_nb.engine.jobs.supervisor", str(row["id"])],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=job_dir, env=env, start_new_session=True, close_fds=True,
        )


def reap_dead_supervisors(registry: Registry, alive_children: set[int] = frozenset()) -> list[int]:
    """Fail non-terminal jobs whose supervisor is gone and kill their node groups; returns ids."""
    failed = []
    for row in registry.active():
        pid = row["supervisor_pid"]
        if not pid:
            if time.time() - row["created"] > NEVER_STARTED_AFTER:
                if registry.set_status(row["id"], JobStatus.FAILED, error="supervisor never started"):
                    failed.append(row["id"])
            continue
        if row["id"] in alive_children or pid_alive(pid):
            continue
        if fail_dead(registry, row):
            failed.append(row["id"])
    return failed


def fail_dead(registry: Registry, row: dict, detail: str = "") -> bool:
    """End a job whose supervisor is gone and kill its nodes: CANCELLED if the user had asked
    to cancel it, else FAILED (reason: the last line of supervisor.log)."""
    if (row.get("extra") or {}).get("cancel_requested"):  # it died on the user's cancel
        applied = registry.set_status(row["id"], JobStatus.CANCELLED)
    else:
        last = tail_lines(Path(row["job_dir"]) / "supervisor.log", 1)
        detail = (last[0].strip()[:200] if last and last[0].strip() else "") or detail
        applied = registry.set_status(row["id"], JobStatus.FAILED,
                                      error="supervisor died" + (f": {detail}" if detail else ""))
    if not applied:
        return False
    kill_groups(row["node_pgids"], grace=0.5)
    return True


_monitor: ProcessWide[Monitor] = ProcessWide(Monitor)


def get_monitor() -> Monitor:
    """The process-wide Monitor (its thread starts on first use)."""
    return _monitor.get()


def shutdown() -> dict[int, subprocess.Popen]:
    """Stop the monitor; returns {job id: supervisor} started by this process that may still run."""
    monitor = _monitor.take()
    if monitor is None:
        return {}
    monitor.stop()
    return dict(monitor.children)
