"""Estimated cost so far of a cloud job (CSS ``skx-cost``): elapsed × $/hr × nodes.

The $/hr is the cheapest catalog row matching the job's config (spot prices when ``use_spot``),
asked once of a ``PriceService`` (answered on its thread, never waited for here). The launch
panel calls :meth:`CostLine.update` on each tick, so the estimate ticks with the elapsed time and
shows the final estimate once the job ends. No price: ``cost unknown: <reason>``.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable, Optional

import ipywidgets as widgets

from skyexec_nb.engine.pricing import PriceRow, cheapest, estimate_cost
from skyexec_nb.views.price_line import shared_service
from skyexec_nb.views.status_badge import format_duration

#: Backends whose jobs run on paid cloud capacity (the local backend shows no cost line).
COST_BACKENDS = frozenset({"skypilot", "jobs"})
RETRY_AFTER = 15.0  # seconds without an answer before asking again (a burst may replace a request)


def money(amount: float) -> str:
    """``$12.34``; four decimals under a dollar (``$0.0042``)."""
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def best_row(answer: Any) -> tuple[Optional[PriceRow], str]:
    """The cheapest row of a price answer with its applicable price, else ``(None, reason)``."""
    items = answer if isinstance(answer, list) else [answer]
    row = cheapest(items)
    if row is not None:
        return row, ""
    reasons = [str(getattr(r, "reason", "")) for r in items if getattr(r, "reason", "")]
    return None, reasons[0] if reasons else "no price in the catalog for these resources"


def cost_text(row: PriceRow, elapsed: Optional[float], ended: bool) -> str:
    """``cost so far ≈ $X (m:ss × $Y/hr, N node(s) of TYPE on CLOUD)``; ``final cost`` once ended."""
    cost = estimate_cost(row.hourly, elapsed) or 0.0
    node = row.node_spot if row.use_spot else row.node_on_demand
    per_node = f" = {money(node)}/hr × {row.num_nodes} nodes" if node is not None and row.num_nodes > 1 else ""
    what = f"{row.instance_type} on {row.cloud} {row.region}{' (spot)' if row.use_spot else ''}"
    label = "final cost" if ended else "cost so far"
    return (f"{label} ≈ {money(cost)} ({format_duration(elapsed)} × {money(row.hourly or 0.0)}/hr{per_node}; "
            f"{what}; estimate from the catalog price)")


class CostLine(widgets.HTML):
    """The estimated cost of a cloud job, refreshed by :meth:`update`.

    Args:
        job: the job (its ``config`` is priced).
        service: a PriceService (``request(config, callback)``); default the shared one; ``False``
            turns the look-up off.
        clock: monotonic clock, for the retry timer (tests may pass a fake one).
    """

    def __init__(self, job: Any, service: Any = None, *, clock: Callable[[], float] = time.monotonic,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("skx-cost")
        self.config: dict[str, Any] = dict(getattr(job, "config", None) or {})
        self.service = shared_service() if service is None else service
        self.row: Optional[PriceRow] = None
        self.reason = ""
        self.text = ""
        self._clock = clock
        self._lock = threading.Lock()
        self._asked: Optional[float] = None
        self._shown: tuple[Optional[float], bool] = (None, False)
        if not self.service:
            self.reason = ("price look-up turned off" if service is False
                           else "pricing is not available in this installation")
        self._ask()
        self._render()

    @property
    def answered(self) -> bool:
        """True once a price (or the reason there is none) is known."""
        return self.row is not None or bool(self.reason)

    def _ask(self) -> None:
        if self.answered:
            return
        self._asked = self._clock()
        try:
            self.service.request(self.config, self._answer)
        except Exception as exc:  # never break the panel over a price
            self._answer_reason(str(exc) or type(exc).__name__)

    def _answer(self, answer: Any) -> None:
        """Service callback (its thread): keep the price, redraw with the last elapsed time."""
        row, reason = best_row(answer)
        with self._lock:
            self.row, self.reason = row, reason
        self._render()

    def _answer_reason(self, reason: str) -> None:
        with self._lock:
            self.reason = reason
        self._render()

    def update(self, elapsed: Optional[float], ended: bool) -> None:
        """Show the estimate after ``elapsed`` seconds (final when ``ended``); ask again if no answer came."""
        with self._lock:
            self._shown = (elapsed, ended)
        if not self.answered and self._asked is not None and self._clock() - self._asked >= RETRY_AFTER:
            self._ask()
        self._render()

    def _render(self) -> None:
        with self._lock:
            elapsed, ended = self._shown
            if self.row is not None:
                text = cost_text(self.row, elapsed, ended)
            elif self.reason:
                text = f"cost unknown: {self.reason}"
            else:
                text = "cost: looking up the hourly price…"
            if text != self.text:
                self.text = text
                self.value = f'<span class="skx-cost-text" style="color:#495057">{html.escape(text)}</span>'
