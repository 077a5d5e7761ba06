"""Estimated cost so far of a cloud job (CSS ``skx-cost``): elapsed × $/hr × nodes.

The $/hr is first the cheapest catalog row matching the job's config (spot prices when
``use_spot``); once the backend records what it launched (``extra['launched']``: cloud, region,
instance type), that instance's catalog price replaces it. Prices are asked of a ``PriceService``
(answered on its thread, never waited for here). The launch panel calls :meth:`CostLine.update` on
each tick, so the estimate ticks with the elapsed time and shows the final estimate once the job
ends. No price: ``cost unknown: <reason>``.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable, Optional

import ipywidgets as widgets

from skyexec_nb.engine.pricing.rows import PriceRow, PriceUnknown, cheapest, estimate_cost, launched_config
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


def cost_text(row: PriceRow, elapsed: Optional[float], ended: bool, launched: bool = False) -> str:
    """``cost so far ≈ $X (m:ss × $Y/hr, N node(s) of TYPE on CLOUD)``; ``final cost`` once ended."""
    cost = estimate_cost(row.hourly, elapsed) or 0.0
    node = row.node_spot if row.use_spot else row.node_on_demand
    per_node = f" = {money(node)}/hr × {row.num_nodes} nodes" if node is not None and row.num_nodes > 1 else ""
    what = f"{row.instance_type} on {row.cloud} {row.region}{' (spot)' if row.use_spot else ''}"
    label = "final cost" if ended else "cost so far"
    source = "catalog price of the launched instance" if launched else "cheapest catalog match"
    return (f"{label} ≈ {money(cost)} ({format_duration(elapsed)} × {money(row.hourly or 0.0)}/hr{per_node}; "
            f"{what}; estimate from the {source})")


class CostLine(widgets.HTML):
    """The estimated cost of a cloud job, refreshed by :meth:`update`.

    Args:
        job: the job (its ``config`` is priced, then what the backend launched).
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
        self.text = ""
        self._clock = clock
        self._lock = threading.Lock()
        self._configs: dict[str, dict[str, Any]] = {"catalog": self.config}  # "launched" once recorded
        self._answers: dict[str, tuple[Optional[PriceRow], str]] = {}
        self._asked: dict[str, float] = {}
        self._shown: tuple[Optional[float], bool] = (None, False)
        if not self.service:
            self._answers["catalog"] = (None, "price look-up turned off" if service is False
                                        else "pricing is not available in this installation")
        self._ask("catalog")
        self._render()

    @property
    def row(self) -> Optional[PriceRow]:
        """The price used: the launched instance's when known, else the cheapest catalog match."""
        return self._pick()[0]

    @property
    def launched(self) -> bool:
        """True when the estimate prices the instance the backend launched."""
        return self._pick()[1]

    @property
    def reason(self) -> str:
        """Why there is no price ('' when there is one or no answer came yet)."""
        return "" if self.row is not None else next((r for _, r in self._answers.values() if r), "")

    @property
    def answered(self) -> bool:
        """True once a price (or the reason there is none) is known."""
        return self.row is not None or bool(self.reason)

    def _pick(self) -> tuple[Optional[PriceRow], bool]:
        for kind in ("launched", "catalog"):
            row = self._answers.get(kind, (None, ""))[0]
            if row is not None:
                return row, kind == "launched"
        return None, False

    def _waiting(self) -> list[str]:
        """The look-ups whose answer could still change the estimate (none once the launched price is in)."""
        if self._answers.get("launched", (None, ""))[0] is not None:
            return []
        return [kind for kind in self._configs if kind not in self._answers]

    def _ask(self, kind: str) -> None:
        if kind in self._answers:
            return
        self._asked[kind] = self._clock()
        try:
            self.service.request(self._configs[kind], lambda answer: self._answer(kind, answer))
        except Exception as exc:  # never break the panel over a price
            self._answer(kind, PriceUnknown(str(exc) or type(exc).__name__))

    def _answer(self, kind: str, answer: Any) -> None:
        """Service callback (its thread): keep the price, redraw with the last elapsed time."""
        with self._lock:
            self._answers[kind] = best_row(answer)
        self._render()

    def update(self, elapsed: Optional[float], ended: bool, extra: Optional[dict[str, Any]] = None) -> None:
        """Show the estimate after ``elapsed`` seconds (final when ``ended``).

        ``extra`` is the job row's ``extra``: once it records what was launched, that is priced.
        A look-up without an answer after ``RETRY_AFTER`` seconds is asked again.
        """
        with self._lock:
            self._shown = (elapsed, ended)
        if "launched" not in self._configs and self.service:
            found = launched_config(self.config, (extra or {}).get("launched"))
            if found is not None:
                self._configs["launched"] = found
                self._ask("launched")
        now = self._clock()
        for kind in self._waiting():
            if now - self._asked.get(kind, now) >= RETRY_AFTER:
                self._ask(kind)
        self._render()

    def _render(self) -> None:
        with self._lock:
            elapsed, ended = self._shown
            row, launched = self._pick()
            if row is not None:
                text = cost_text(row, elapsed, ended, launched)
            elif self.reason:
                text = f"cost unknown: {self.reason}"
            else:
                text = "cost: looking up the hourly price…"
            if text != self.text:
                self.text = text
                self.value = f'<span class="skx-cost-text" style="color:#495057">{html.escape(text)}</span>'
