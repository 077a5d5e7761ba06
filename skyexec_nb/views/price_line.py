"""The picker's price line (CSS ``skx-price``): a hook onto ``engine.pricing_service.PriceService``.

The request returns at once; the answer arrives later on the service's thread and is written to
the HTML widget from there. Without the pricing module the line says "price unknown: <reason>".
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

def shared_service() -> Any:
    """The process-wide PriceService (see ``engine.pricing_service.shared_price_service``)."""
    from skyexec_nb.engine.pricing.service import shared_price_service

    return shared_price_service()


def describe(answer: Any) -> str:
    """One line from a service answer: the cheapest row, else ``price unknown: <reason>``."""
    items = answer if isinstance(answer, list) else [answer]
    rows = [r for r in items if getattr(r, "hourly", None) is not None]
    if rows:
        best = min(rows, key=lambda r: r.hourly)
        spot = " spot" if best.use_spot else ""
        return (f"≈ ${best.hourly:.2f}/hr{spot}: {best.instance_type} × {best.num_nodes} on {best.cloud} "
                f"{best.region} (cheapest of {len(rows)} offer{'s' * (len(rows) > 1)})")
    reasons = [getattr(r, "reason", None) for r in items if getattr(r, "reason", None)]
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
        if service is False:
            self._show("price unknown: price look-up turned off")
        elif self.service is None:
            self._show("price unknown: pricing is not available in this installation")

    def request(self, executor: Any) -> None:
        """Ask for the price of ``executor``'s current fields (answer shown when it comes)."""
        if not self.service:
            return
        self._show("price: looking up…")
        try:
            self.service.request(executor, lambda answer: self._show(describe(answer)))
        except Exception as exc:  # never break the form over a price
            self._show(f"price unknown: {exc}")

    def _show(self, text: str) -> None:
        self.text = text
        self.value = f'<span class="skx-price-text">{html.escape(text)}</span>'
