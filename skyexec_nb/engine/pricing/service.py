"""``PriceService``: prices computed away from the caller's thread, debounced and cached.

The caller's thread only records the request (no ``sky`` import, no waiting). One background
thread waits for the fields to settle (debounce), then answers from the cache or computes:

- ``mode="subprocess"`` (default on POSIX): the look-up runs in a long-lived worker process
  (``python -m skyexec_nb.engine.pricing.catalog``), so ``import sky`` and pandas never hold this
  process's GIL; a look-up that takes longer than ``timeout`` kills the worker (next request
  starts a fresh one).
- ``mode="thread"``: the look-up runs in the background thread itself (imports ``sky`` in this
  process; stalls the main thread while it imports, see bench/price.py).

Callbacks run in the background thread and receive a list (``PriceRow`` items, plus a
``PriceUnknown`` per candidate with no price) or a single ``PriceUnknown`` when nothing is known
(no catalog, time-out, worker crash, bad field). Only the latest request of a burst is answered.
"""
from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Mapping, Optional, Union

from skyexec_nb.engine.pricing import rows as pricing
from skyexec_nb.engine.pricing.rows import PriceUnknown
from skyexec_nb.process_wide import ProcessWide

logger = logging.getLogger(__name__)

Answer = Union[pricing.PriceResult, PriceUnknown]
Callback = Callable[[Answer], None]
_WORKER_MODULE = "skyexec_nb.engine.pricing.catalog"


class WorkerProcess:
    """A long-lived price worker process spoken to with JSON lines (one request at a time)."""

    def __init__(self, *, env: Optional[Mapping[str, str]] = None) -> None:
        self._env = dict(env) if env is not None else None
        self._proc: Optional[subprocess.Popen] = None
        self._buf = b""
        self._next_id = 0
        self._stderr: Any = None
        self.import_s: Optional[float] = None
        self.ready = threading.Event()
        self._lock = threading.RLock()  # one request at a time (prices and plans share the worker)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float) -> None:
        """Start the worker and wait (in the calling background thread) until sky is imported."""
        with self._lock:
            if self.running:
                return
            self.stop()
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
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
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


class PriceService:
    """Debounced, cached price look-ups on one background thread.

    Args:
        debounce: seconds without a new request before computing the latest one.
        mode: ``"subprocess"`` (default; ``"thread"`` on Windows) or ``"thread"``.
        timeout: seconds a look-up (including the worker's ``import sky``) may take.
        compute: replaces the look-up (``config -> result``), for tests.
        prewarm: start the worker (and its ``import sky``) now rather than on the first request.
    """

    def __init__(self, *, debounce: float = 0.3, mode: Optional[str] = None, timeout: float = 60.0,
                 compute: Optional[Callable[[dict], Answer]] = None, prewarm: bool = False) -> None:
        self.debounce = debounce
        self.mode = mode or ("thread" if os.name == "nt" else "subprocess")
        if self.mode not in ("subprocess", "thread"):
            raise ValueError(f"Invalid mode: 'subprocess' or 'thread'. Found: {self.mode!r}")
        self.timeout = timeout
        self.computations = 0  # look-ups actually run (not answered from the cache)
        self._compute = compute
        self._worker = WorkerProcess() if self.mode == "subprocess" else None
        self._cache: dict[str, Answer] = {}
        self._cond = threading.Condition()
        self._pending: Optional[tuple[str, dict, Callback]] = None
        self._last_request = 0.0
        self._warm = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        if prewarm:
            self.warm()

    # ---------------------------------------------------------------- caller's thread (no waits)

    def request(self, executor_or_config: Any, callback: Callback) -> None:
        """Ask for the prices of ``executor_or_config``; ``callback(answer)`` runs later, off-thread.

        Replaces any request not yet started (only the latest of a burst is answered).
        """
        try:
            config = pricing.task_config(executor_or_config)
            pricing.candidates(config), pricing.num_nodes_of(config)  # bad fields: say so, no look-up
            key = pricing.price_key(config)
        except (TypeError, ValueError) as exc:
            config, key = {}, f"!{exc}"
        with self._cond:
            self._pending = (key, config, callback)
            self._last_request = time.monotonic()
            self._ensure_thread()
            self._cond.notify_all()

    def plan(self, executor_or_config: Any, callback: Callable[[Any], None]) -> None:
        """SkyPilot's optimizer plan, computed off-thread; ``callback(PlanResult)`` (never raises).

        Runs in the worker process in subprocess mode, else in a short-lived thread here.
        """
        threading.Thread(target=self._plan, args=(executor_or_config, callback),
                         name="skyexec-plan", daemon=True).start()

    def _plan(self, executor_or_config: Any, callback: Callable[[Any], None]) -> None:
        from skyexec_nb.engine.pricing.planning import PlanResult, optimizer_plan

        try:
            if self._worker is None:
                result = optimizer_plan(executor_or_config)
            else:
                config = pricing.task_config(executor_or_config)
                result = PlanResult.from_dict(self._worker.call("plan", {"config": config}, self.timeout))
        except TimeoutError:
            assert self._worker is not None
            self._worker.stop()
            result = PlanResult(ok=False, message=f"No plan: SkyPilot took longer than {self.timeout:g} s")
        except Exception as exc:
            from skyexec_nb.engine.skyapi.sdk import one_line_error

            result = PlanResult(ok=False, message=f"No plan: {one_line_error(exc)}")
        try:
            callback(result)
        except Exception:
            logger.exception("plan callback failed")

    def cached(self, executor_or_config: Any) -> Optional[Answer]:
        """The cached answer for these fields, or None (never computes)."""
        return self._cache.get(pricing.price_key(pricing.task_config(executor_or_config)))

    def warm(self) -> None:
        """Start the worker in the background so the first price comes sooner."""
        with self._cond:
            self._warm = True
            self._ensure_thread()
            self._cond.notify_all()

    def clear_cache(self) -> None:
        with self._cond:
            self._cache.clear()

    def close(self) -> None:
        """Stop the background thread and the worker process."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self._worker is not None:
            self._worker.stop()

    def __enter__(self) -> "PriceService":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------------- background thread

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="skyexec-prices", daemon=True)
            self._thread.start()

    def _next(self) -> Optional[tuple[str, dict, Callback]]:
        with self._cond:
            while self._pending is None and not self._warm and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            if self._pending is None:  # warm-up only
                self._warm = False
                return ("", {}, _noop)
            if self._pending[0] not in self._cache:
                while not self._closed:
                    remaining = self._last_request + self.debounce - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            job, self._pending = self._pending, None
            return job

    def _run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            key, config, callback = job
            if not key:
                self._start_worker()
                continue
            answer = self._cache.get(key)
            if answer is None:
                answer = self._lookup(key, config)
                if not (isinstance(answer, PriceUnknown) and answer.transient):
                    with self._cond:
                        self._cache[key] = answer
            try:
                callback(answer)
            except Exception:  # a failing callback must not stop the service
                logger.exception("price callback failed")

    def _start_worker(self) -> None:
        if self._worker is not None and self._compute is None:
            try:
                self._worker.start(self.timeout)
            except (TimeoutError, EOFError, OSError) as exc:
                logger.warning("price worker did not start: %s", exc)
                self._worker.stop()

    def _lookup(self, key: str, config: dict) -> Answer:
        self.computations += 1
        if key.startswith("!"):
            return PriceUnknown(key[1:])
        try:
            if self._compute is not None:
                return self._compute(config)
            if self._worker is None:
                from skyexec_nb.engine.pricing.lookup import price_results

                return pricing.summarize(price_results(config))
            root = pricing.env_catalog_dir()  # what the worker process will see
            if not pricing.catalog_clouds(root):  # say so at once, without starting the worker
                return PriceUnknown(pricing.no_catalog_reason(root))
            items = self._worker.call("prices", {"config": config}, self.timeout)
            return pricing.summarize(pricing.decode_result(items))
        except TimeoutError:
            if self._worker is not None:
                self._worker.stop()
            return PriceUnknown(f"price look-up took longer than {self.timeout:g} s", transient=True)
        except EOFError as exc:
            assert self._worker is not None
            self._worker.stop()
            return PriceUnknown(f"price worker exited: {exc}", transient=True)
        except ValueError as exc:
            return PriceUnknown(str(exc))
        except Exception as exc:
            from skyexec_nb.engine.skyapi.sdk import one_line_error

            return PriceUnknown(one_line_error(exc), transient=True)


def _noop(_: Any) -> None:
    return None


_shared: ProcessWide[PriceService] = ProcessWide(PriceService)


def shared_price_service() -> PriceService:
    """The process-wide PriceService (created on first use): one worker for every view and magic."""
    return _shared.get()
