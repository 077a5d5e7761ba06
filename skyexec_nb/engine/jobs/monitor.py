"""One daemon thread per process that watches every job (a job is not a thread).

It spawns pending supervisors (so ``launch()`` returns at once), polls the registry every
``poll_interval`` for jobs that have listeners, fires their callbacks on a change
(``cb()``, from this thread; exceptions are logged, never fatal), reaps the supervisors
this process started, and about once a second runs :func:`liveness.check` over every job of
the registry, whoever launched it: dead supervisors end FAILED, launches whose launcher died
are adopted. Reads in a process without a monitor run that check too (:func:`refresh`).

Bounded sweep groups: this process starts at most ``max_parallel`` supervisors of a group at a
time; the group's other jobs wait PENDING (queued) and are taken by those supervisors.
"""
from __future__ import annotations

import atexit
import json
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterator

from skyexec_nb.engine.jobs import liveness
from skyexec_nb.engine.jobs.liveness import NEVER_STARTED_AFTER, fail_dead  # noqa: F401 - re-exported
from skyexec_nb.engine.jobs.procs import JOB_TOKEN_ENV, stamp
from skyexec_nb.engine.jobs.registry import Registry, get_registry
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.slots import slot_group
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.process_wide import ProcessWide

log = logging.getLogger(__name__)
Callback = Callable[[], None]
_DEAD_CHECK_EVERY = 1.0
#: Reads (``jobs()``, ``Job.status``) run the liveness check at most this often per process.
REFRESH_EVERY = 1.0
_QUEUEABLE = frozenset({JobStatus.INIT, JobStatus.PROVISIONING, JobStatus.PENDING})


class Monitor:
    """The process-wide watcher; use :func:`get_monitor`."""

    current: Monitor | None = None  # the running one, if any (its children count as alive)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spawn_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: list[tuple[Registry, int]] = []
        self._listeners: dict[int, list[Callback]] = defaultdict(list)
        self._seen: dict[int, tuple[str, float] | None] = {}
        self.children: dict[int, subprocess.Popen] = {}  # job id -> supervisor started here
        self._child_group: dict[int, str] = {}  # job id -> its bounded group, for children
        self._thread: threading.Thread | None = None
        self._last_dead_check = 0.0
        self._holds = 0  # while > 0, queued spawns wait (rows written in an open transaction)

    # -- API -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread if it is not running (and, once, the at-exit flush of pending spawns)."""
        with self._lock:
            if self._thread is None:
                atexit.register(self.flush)
            Monitor.current = self
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="skyexec-monitor", daemon=True)
                self._thread.start()

    def spawn(self, job_id: int, registry: Registry | None = None) -> None:
        """Record this process as the job's launcher, then queue the start of its supervisor
        (done by the thread, soon). Should this process die first, another adopts the job."""
        registry = registry or get_registry()
        launcher = json.dumps(launcher_stamp())
        registry._run(lambda conn: conn.execute(
            "UPDATE jobs SET extra = json_set(COALESCE(NULLIF(extra, ''), '{}'), '$.launcher', json(?))"
            " WHERE id = ?", (launcher, int(job_id))), "write")
        self.spawn_many([job_id], registry)

    def spawn_many(self, job_ids: list[int], registry: Registry) -> None:
        """Queue the start of these jobs' supervisors (rows that already carry ``launcher``)."""
        with self._lock:
            self._pending += [(registry, job_id) for job_id in job_ids]
            if self._holds:
                return  # started (and woken) when the hold ends
        self.start()
        self._wake.set()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Queue spawns without starting them until the block ends (e.g. a sweep writing its rows
        in one transaction, invisible to the thread's connection until it commits)."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
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
        if Monitor.current is self:
            Monitor.current = None
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
                if self._holds:
                    return
                pending, self._pending = self._pending, []
            for registry, job_id in pending:
                self._spawn_one(registry, job_id)

    def _spawn_one(self, registry: Registry, job_id: int) -> None:
        row = registry.get(job_id)
        if row is None or row["status"].is_terminal or row["supervisor_pid"]:
            return
        group = slot_group(row["config"] or {})
        if group is not None:
            running = sum(1 for i, g in self._child_group.items()
                          if g == group[0] and i in self.children and self.children[i].poll() is None)
            if running >= group[1]:  # queued: one of the group's supervisors will take it
                if row["status"] in _QUEUEABLE and row["status"] is not JobStatus.PENDING:
                    registry.set_status(job_id, JobStatus.PENDING)
                return
        try:
            proc = start_supervisor(registry, row)
        except OSError as exc:
            registry.set_status(job_id, JobStatus.FAILED, error=f"cannot start supervisor: {exc}")
            return
        self.children[job_id] = proc  # the supervisor claims the job itself (atomically)
        if group is not None:
            self._child_group[job_id] = group[0]

    def _reap_children(self) -> None:
        for job_id, proc in list(self.children.items()):
            if proc.poll() is None:
                continue
            del self.children[job_id]
            self._child_group.pop(job_id, None)
            registry = get_registry()
            row = registry.get(job_id)
            if row is not None and not row["status"].is_terminal and row["supervisor_pid"] in (None, proc.pid):
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
        _last_refresh[get_registry().path] = now
        reap_dead_supervisors(get_registry(), set(self.children), adopt=self.adopt)

    def adopt(self, registry: Registry, job_ids: list[int]) -> None:
        """Start supervisors for jobs whose launcher is gone (see :func:`liveness.check`)."""
        self.spawn_many(job_ids, registry)


_launcher: list = []


def launcher_stamp() -> list:
    """This process's ``[pid, start time]`` (computed once per process)."""
    if not _launcher or _launcher[0][0] != os.getpid():
        _launcher[:] = [stamp()]
    return _launcher[0]


def start_supervisor(registry: Registry, row: dict) -> subprocess.Popen:
    """Start ``python -m skyexec_nb.engine.jobs.supervisor ID`` detached (own session)."""
    job_dir = Path(row["job_dir"])
    job_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SKYEXEC_NB_HOME=str(registry.path.parent))
    env.pop(JOB_TOKEN_ENV, None)  # launched from inside a job: a job of its own, not of that one
    with open(job_dir / "supervisor.log", "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "skyexec_nb.engine.jobs.supervisor", str(row["id"])],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=job_dir, env=env, start_new_session=True, close_fds=True,
        )


def reap_dead_supervisors(registry: Registry, alive_children: set[int] = frozenset(),
                          adopt: liveness.Adopt | None = None) -> list[int]:
    """Fail non-terminal jobs whose supervisor is gone (and end their processes); adopt launches
    whose launcher is gone when ``adopt`` is given. Returns the ids failed."""
    return liveness.check(registry, alive_children, adopt)


_last_refresh: dict[Path, float] = {}
_refresh_lock = threading.Lock()


def refresh(registry: Registry | None = None) -> None:
    """The liveness check from a read (``jobs()``, ``Job.status``): at most once per
    :data:`REFRESH_EVERY` seconds per process and registry; adoption starts the monitor."""
    registry = registry or get_registry()
    now = time.monotonic()
    if now - _last_refresh.get(registry.path, -REFRESH_EVERY) < REFRESH_EVERY:
        return
    if not _refresh_lock.acquire(blocking=False):
        return
    try:
        _last_refresh[registry.path] = now
        monitor = Monitor.current
        children = set(monitor.children) if monitor is not None else set()
        liveness.check(registry, children, adopt=lambda reg, ids: get_monitor().adopt(reg, ids))
    except Exception:  # noqa: BLE001 - a read must not fail on the check
        log.exception("skyexec_nb: liveness check failed")
    finally:
        _refresh_lock.release()


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
