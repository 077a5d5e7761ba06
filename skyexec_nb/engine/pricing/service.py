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

Catalogs (``fetch=True``): the look-up starts background fetches, in the worker, of the catalogs
its candidates need that SkyPilot would fetch now (missing, or stale on SkyPilot's schedule) and
answers at once from what is on disk. An answer that says a catalog is being fetched (an item of
``kind == FETCHING``: "fetching prices… (SkyPilot's catalog for aws)", or a refresh note next to
the old catalog's rows) is not cached: the service polls the worker every ``poll`` s and calls the
same callback again once the fetch ended. With no catalog on disk at all, the callback first gets
"fetching prices…" at once, before the worker has even started. A failed fetch answers
"could not fetch SkyPilot's catalog for aws (offline?)"; the worker tries again, with back-off,
only when prices are asked for again (a retry keeps showing that line until it succeeds).
Answers are cached for ``cache_ttl`` s, so a stale catalog is noticed in a long-lived kernel.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Optional, Union

from skyexec_nb.engine.pricing import rows as pricing
from skyexec_nb.engine.pricing.rows import FETCH_FAILED, FETCHING, PriceUnknown
from skyexec_nb.engine.pricing.worker import WorkerProcess, shared_worker
from skyexec_nb.process_wide import ProcessWide

logger = logging.getLogger(__name__)

Answer = Union[pricing.PriceResult, PriceUnknown]
Callback = Callable[[Answer], None]
_WATCH = "?watch"  # internal job: see whether watched catalog fetches ended
FIRST_FETCH = "fetching prices… (SkyPilot's catalogs)"


class PriceService:
    """Debounced, cached price look-ups on one background thread.

    Args:
        debounce: seconds without a new request before computing the latest one.
        mode: ``"subprocess"`` (default; ``"thread"`` on Windows) or ``"thread"``.
        timeout: seconds a look-up (including the worker's ``import sky``) may take.
        compute: replaces the look-up (``config -> result``), for tests.
        prewarm: start the worker (and its ``import sky``) now rather than on the first request.
        fetch: fetch missing and stale catalogs (False: use only what is on disk).
        fetch_timeout: connect/read time-out of a catalog download, in seconds.
        fetch_total: most seconds one catalog file may take to download.
        fetch_backoff: seconds before a failed fetch is tried again (doubling, at most an hour).
        cache_ttl: seconds an answer is reused for the same fields.
        poll: seconds between checks of a running catalog fetch.
        worker: the worker process to ask (default: one of its own; the process-wide service asks
            ``shared_worker()``).
    """

    def __init__(self, *, debounce: float = 0.3, mode: Optional[str] = None, timeout: float = 60.0,
                 compute: Optional[Callable[[dict], Answer]] = None, prewarm: bool = False,
                 fetch: bool = True, fetch_timeout: float = 10.0, fetch_total: float = 120.0,
                 fetch_backoff: float = 60.0, cache_ttl: float = 600.0, poll: float = 0.5,
                 worker: Optional[WorkerProcess] = None) -> None:
        self.debounce = debounce
        self.mode = mode or ("thread" if os.name == "nt" else "subprocess")
        if self.mode not in ("subprocess", "thread"):
            raise ValueError(f"Invalid mode: 'subprocess' or 'thread'. Found: {self.mode!r}")
        self.timeout = timeout
        self.computations = 0  # look-ups actually run (not answered from the cache)
        self._compute = compute
        self._worker = (worker or WorkerProcess()) if self.mode == "subprocess" else None
        self.fetch, self.fetch_timeout, self.fetch_total, self.fetch_backoff = fetch, fetch_timeout, fetch_total, fetch_backoff
        self.cache_ttl, self.poll = cache_ttl, poll
        self._cache: dict[str, tuple[Answer, float]] = {}
        self._watches: dict[str, tuple[dict, list[Callback], float]] = {}  # key -> (config, callbacks, deadline)
        self._fetch_failed_once = False
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
                result = PlanResult.from_dict(self._worker.call("plan", {"config": config, "fetch": self._fetch_options()},
                                                                 self.timeout))
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
        return self._fresh(pricing.price_key(pricing.task_config(executor_or_config)))

    def _fresh(self, key: str) -> Optional[Answer]:
        with self._cond:
            hit = self._cache.get(key)
        return hit[0] if hit is not None and time.monotonic() - hit[1] < self.cache_ttl else None

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
                if not self._watches:
                    self._cond.wait()
                elif not self._cond.wait(self.poll):
                    return (_WATCH, {}, _noop)
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
            if key == _WATCH:
                self._check_watches()
                continue
            if not key:
                self._start_worker()
                continue
            answer = self._fresh(key)
            if answer is None:
                if self._first_fetch_expected(key):
                    _call(callback, PriceUnknown(FIRST_FETCH, kind=FETCHING))
                answer = self._lookup(key, config)
                self._keep(key, config, [callback], answer)
            _call(callback, answer)

    # ------------------------------------------------------------------------- catalog fetches

    def _fetch_options(self) -> Optional[dict[str, float]]:
        if not self.fetch:
            return None
        return {"read_timeout": self.fetch_timeout, "total_timeout": self.fetch_total, "backoff": self.fetch_backoff}

    def _first_fetch_expected(self, key: str) -> bool:
        """No catalog on disk at all: a first-time user; "fetching prices…" can be said at once."""
        if not self.fetch or self._compute is not None or key.startswith("!") or self._fetch_failed_once:
            return False
        return not pricing.catalog_clouds(pricing.env_catalog_dir() if self._worker else pricing.catalog_dir())

    def _keep(self, key: str, config: dict, callbacks: list[Callback], answer: Answer,
              deadline: Optional[float] = None) -> None:
        """Cache a final answer; watch one that says a catalog is being fetched."""
        kinds = {getattr(item, "kind", "") for item in (answer if isinstance(answer, list) else [answer])}
        with self._cond:
            if FETCH_FAILED in kinds or any(str(getattr(a, "reason", "")).startswith("could not fetch")
                                            for a in (answer if isinstance(answer, list) else [answer])):
                if not self._fetch_failed_once:
                    logger.warning("price unknown: %s", getattr(answer, "reason", answer))
                self._fetch_failed_once = True
            if FETCHING in kinds:
                old = self._watches.get(key)
                watchers = (old[1] if old else []) + [cb for cb in callbacks if cb is not _noop]
                if deadline is None:
                    deadline = time.monotonic() + 2 * self.fetch_total + self.timeout
                self._watches[key] = (config, watchers[-8:], deadline)
                self._cond.notify_all()
            elif not (isinstance(answer, PriceUnknown) and answer.transient):
                self._cache[key] = (answer, time.monotonic())

    def _fetch_running(self) -> list[str]:
        """The clouds whose catalogs are being fetched now ([] when unknown: the look-up will tell)."""
        try:
            if self._compute is not None:
                return []
            if self._worker is None:
                from skyexec_nb.engine.pricing.catalog import shared_fetcher

                return shared_fetcher().fetching()
            if not self._worker.running:
                return []
            return list(self._worker.call("fetch_status", {"wait": 0}, self.timeout)["fetching"])
        except Exception as exc:
            logger.debug("fetch status unknown: %s", exc)
            return []

    def _check_watches(self) -> None:
        """When no fetch runs any more, look the watched fields up again and call back."""
        running = self._fetch_running()
        now = time.monotonic()
        with self._cond:
            due = {k: w for k, w in self._watches.items() if not running or now > w[2]}
            for key in due:
                del self._watches[key]
        for key, (config, callbacks, deadline) in due.items():
            answer = self._lookup(key, config)
            if now <= deadline:
                self._keep(key, config, callbacks, answer, deadline)
            for callback in callbacks:
                _call(callback, answer)

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
                from skyexec_nb.engine.pricing.catalog import price_config

                return pricing.summarize(price_config(config, self._fetch_options()))
            root = pricing.env_catalog_dir()  # what the worker process will see
            if not self.fetch and not pricing.catalog_clouds(root):  # say so at once, without a worker
                return PriceUnknown(pricing.no_catalog_reason(root))
            items = self._worker.call("prices", {"config": config, "fetch": self._fetch_options()}, self.timeout)
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


def _call(callback: Callback, answer: Answer) -> None:
    try:
        callback(answer)
    except Exception:  # a failing callback must not stop the service
        logger.exception("price callback failed")


_shared: ProcessWide[PriceService] = ProcessWide(lambda: PriceService(worker=shared_worker()))


def shared_price_service() -> PriceService:
    """The process-wide PriceService (created on first use): every view and magic asks it, and it
    asks the process's one price worker (``shared_worker()``, which launch-time prices ask too)."""
    return _shared.get()
