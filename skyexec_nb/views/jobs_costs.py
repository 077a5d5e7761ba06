"""The jobs table's Cost column: elapsed × catalog $/hr of each cloud job (never for the local backend).

Prices are asked of a ``PriceService`` one configuration at a time (the service answers only the
latest of a burst, so asking them all at once would lose answers); each distinct configuration is
asked once and remembered. An unanswered look-up is asked again after ``RETRY_AFTER`` seconds.
Once the backend records what it launched (``extra['launched']``), that instance is priced.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from skyexec_nb.engine.jobs.spend import job_cost, row_limits
from skyexec_nb.engine.pricing.rows import PriceRow, estimate_cost, price_key, row_price_config, task_config
from skyexec_nb.views.cost_line import COST_BACKENDS, RETRY_AFTER, best_row, cost_text, money
from skyexec_nb.views.launch_panel import elapsed_of
from skyexec_nb.views.price_line import shared_service

LOCAL_COST_TIP = "runs on this machine: no cloud cost"


class JobCosts:
    """Cost texts of registry rows, looked up in the background.

    Args:
        service: a PriceService; default the shared one (made only when a cloud job is shown);
            ``False`` turns look-ups off.
        clock: monotonic clock for the retry timer.
    """

    def __init__(self, service: Any = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._service = service
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[Optional[PriceRow], str]] = {}
        self._wanted: dict[str, dict[str, Any]] = {}
        self._asking: tuple[str, float] | None = None

    def cost(self, row: dict[str, Any]) -> tuple[str, str, Optional[float]]:
        """``(cell text, tooltip, dollars or None)`` of registry ``row``."""
        if row.get("backend") not in COST_BACKENDS:
            rehearsal = job_cost(row) if row.get("started") is not None else None
            if rehearsal is None:
                return "—", LOCAL_COST_TIP, None
            note = row_limits(row).price_note or "the catalog price of its resources"
            return (money(rehearsal), f"rehearsal priced from {note}: nothing is billed for a run on this machine, "
                    "but limits and the daily budget count it", rehearsal)
        config = row_price_config(row)
        try:
            key = price_key(task_config(config))
        except (TypeError, ValueError) as exc:
            return "?", f"cost unknown: {exc}", None
        with self._lock:
            answer = self._answers.get(key)
        if answer is None:
            self._want(key, config)
            with self._lock:
                answer = self._answers.get(key)  # a service may answer at once
            if answer is None:
                return "…", "looking up the hourly price", None
        price, reason = answer
        if price is None:
            return "?", f"cost unknown: {reason}", None
        elapsed = elapsed_of(row)
        amount = estimate_cost(price.hourly, elapsed) or 0.0
        status = row.get("status")
        ended = bool(getattr(status, "is_terminal", False))
        return money(amount), cost_text(price, elapsed, ended, "launched" in (row.get("extra") or {})), amount

    def _want(self, key: str, config: dict[str, Any]) -> None:
        with self._lock:
            self._wanted.setdefault(key, config)
        self._ask_next()

    def _ask_next(self) -> None:
        with self._lock:
            if self._asking is not None and self._clock() - self._asking[1] < RETRY_AFTER:
                return
            pending = [k for k in self._wanted if k not in self._answers]
            if not pending:
                self._asking = None
                return
            key = pending[0]
            self._asking = (key, self._clock())
            config = self._wanted[key]
        service = self._service
        if service is None:
            service = self._service = shared_service()
        if not service:
            self._answer(key, None, "price look-up turned off" if service is False else "pricing is not available")
            return
        try:
            service.request(config, lambda answer: self._answer(key, *best_row(answer)))
        except Exception as exc:  # never break the table over a price
            self._answer(key, None, str(exc) or type(exc).__name__)

    def _answer(self, key: str, price: Optional[PriceRow], reason: str) -> None:
        with self._lock:
            self._answers[key] = (price, reason)
            if self._asking is not None and self._asking[0] == key:
                self._asking = None
        self._ask_next()
