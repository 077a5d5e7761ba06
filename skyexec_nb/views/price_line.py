"""The picker's price line (CSS ``skx-price``): a hook onto ``engine.pricing.service.PriceService``.

The request returns at once; the answer arrives later on the service's thread and is written to
the HTML widget from there (a second answer follows when a catalog was being fetched). Prices
come with the date of their catalog ("catalog from 2026-12-02"); while SkyPilot's catalog is
fetched the line says "fetching prices…". Without the pricing module it says "price unknown: <reason>".
"""
from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

def shared_service() -> Any:
    """The process-wide PriceService (see ``engine.pricing_service.shared_price_service``)."""
    from skyexec_nb.engine.pricing.service import shared_price_service

    return shared_price_service()


def describe(answer: Any) -> str:
    """One line from a service answer: the cheapest row and its catalog's date, else
    ``fetching prices… (…)`` or ``price unknown: <reason>``."""
    items = answer if isinstance(answer, list) else [answer]
    rows = [r for r in items if getattr(r, "hourly", None) is not None]
    notes = [r.reason for r in items if getattr(r, "kind", "") == "fetching" and getattr(r, "candidate", 0) is None
             and getattr(r, "reason", "")]
    if rows:
        best = min(rows, key=lambda r: r.hourly)
        spot = " spot" if best.use_spot else ""
        date = getattr(best, "catalog_date", None)
        extra = (f"; catalog from {date}" if date else "") + "".join(f"; {n}…" for n in notes)
        return (f"≈ ${best.hourly:.2f}/hr{spot}: {best.instance_type} × {best.num_nodes} on {best.cloud} "
                f"{best.region} (cheapest of {len(rows)} offer{'s' * (len(rows) > 1)}{extra})")
    reasons = [getattr(r, "reason", None) for r in items if getattr(r, "reason", None)]
    if reasons and reasons[0].startswith("fetching prices"):
        return reasons[0]
    return f"price unknown: {reasons[0] if reasons else 'no price in the catalog for these resources'}"


class PriceLine(widgets.HTML):
    """Shows the estimated hourly price of the executor's resources.

    Args:
        service: a PriceService (``request(config, callback)``); default the shared one; ``False``
            turns prices off.
    """

    def __init__(self, service: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("skx-price")
        self.service = shared_service() if service is None else service
        self.text = ""
        self._seq = 0  # the latest request: answers to older ones (a fetch ending late) are dropped
        self._lock = threading.Lock()
        if service is False:
            self._show("price unknown: price look-up turned off")
        elif self.service is None:
            self._show("price unknown: pricing is not available in this installation")

    def request(self, executor: Any) -> None:
        """Ask for the price of ``executor``'s current fields (answer shown when it comes)."""
        if not self.service:
            return
        with self._lock:
            self._seq += 1
            seq = self._seq
        self._show("price: looking up…", seq)
        try:
            self.service.request(executor, lambda answer: self._show(describe(answer), seq))
        except Exception as exc:  # never break the form over a price
            self._show(f"price unknown: {exc}", seq)

    @property
    def fetching(self) -> bool:
        """True while the line says SkyPilot's catalog is being fetched."""
        return self.text.startswith("fetching prices")

    def _show(self, text: str, seq: int = 0) -> None:
        with self._lock:
            if seq and seq != self._seq:
                return
            self.text = text
            self.value = f'<span class="skx-price-text">{html.escape(text)}</span>'
