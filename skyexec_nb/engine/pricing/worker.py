"""``WorkerProcess``: the price worker (``python -m skyexec_nb.engine.pricing.catalog``) spoken to
with JSON lines, one request at a time; started with this process's environment at start time
(so ``SKY_RUNTIME_DIR``, which fixes SkyPilot's catalog dir, and ``SKYEXEC_NB_CATALOG_URL`` apply).

``shared_worker()`` is the one worker of this process that the picker's prices and plans and the
launch-time price (``engine.budget.prices``) share: one ``import sky`` process per kernel, and the
launch's price is asked of the worker the picker already warmed. When the catalog it would read
(``SKY_RUNTIME_DIR``, else HOME) or the catalog URL changed since it started, its next request
starts a fresh one."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Mapping, Optional

from skyexec_nb.engine.pricing.rows import env_catalog_dir
from skyexec_nb.process_wide import ProcessWide

_WORKER_MODULE = "skyexec_nb.engine.pricing.catalog"


def _catalog_env() -> tuple[str, str]:
    """What decides which catalog a fresh worker reads and where it fetches from."""
    return str(env_catalog_dir()), os.environ.get("SKYEXEC_NB_CATALOG_URL", "")


class WorkerProcess:
    """A long-lived price worker process spoken to with JSON lines (one request at a time)."""

    def __init__(self, *, env: Optional[Mapping[str, str]] = None) -> None:
        self._env = dict(env) if env is not None else None
        self._proc: Optional[subprocess.Popen] = None
        self._buf = b""
        self._next_id = 0
        self._stderr: Any = None
        self.import_s: Optional[float] = None
        self.started_env: tuple[str, ...] = ()  # _catalog_env() when it started
        self.ready = threading.Event()
        self._lock = threading.RLock()  # one request at a time (prices and plans share the worker)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float) -> None:
        """Start the worker and wait (in the calling background thread) until sky is imported."""
        with self._lock:
            if self.running and (self._env is not None or self.started_env == _catalog_env()):
                return
            self.stop()
            self.started_env = _catalog_env()
            self._stderr = tempfile.TemporaryFile()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", _WORKER_MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, env=self._env if self._env is not None else os.environ.copy(),
                close_fds=True, start_new_session=True)
            hello = self._read(time.monotonic() + timeout)
            self.import_s = hello.get("import_s")
            self.ready.set()

    def call(self, op: str, payload: Mapping[str, Any], timeout: float) -> Any:
        """Send one request; return its result. Raises TimeoutError, EOFError or RuntimeError."""
        with self._lock:
            deadline = time.monotonic() + timeout
            self.start(timeout)
            assert self._proc is not None and self._proc.stdin is not None
            self._next_id += 1
            self._proc.stdin.write((json.dumps({"id": self._next_id, "op": op, **payload}) + "\n").encode())
            self._proc.stdin.flush()
            reply = self._read(deadline)
        if "error" in reply:
            raise (ValueError if reply.get("value_error") else RuntimeError)(reply["error"])
        return reply["result"]

    def _read(self, deadline: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            poller = select.poll()  # not select.select: it fails for descriptors past 1024 (a busy process)
            poller.register(fd, select.POLLIN)
            if poller.poll(remaining * 1000):
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError(self.last_error() or "price worker exited")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def last_error(self) -> str:
        """The last line the worker wrote to stderr (why it died), or ''."""
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1].strip() if lines else ""

    def stop(self) -> None:
        proc, self._proc, self._buf = self._proc, None, b""
        self.ready.clear()
        if proc is not None:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


_shared: "ProcessWide[WorkerProcess]" = ProcessWide(WorkerProcess)


def shared_worker() -> WorkerProcess:
    """This process's price worker (made on first use, started on its first request)."""
    return _shared.get()
