"""Prices computed in this process: ``prices(executor)`` and ``price_results`` (imports ``sky`` on
first use; the picker uses :mod:`~skyexec_nb.engine.pricing.service`, which computes in a worker)."""
from __future__ import annotations

from typing import Any

from skyexec_nb.engine.pricing import catalog as pricing_catalog
from skyexec_nb.engine.pricing.rows import (PriceResult, PriceRow, PriceUnknown, candidates, catalog_clouds,
                                            no_catalog_reason, num_nodes_of, task_config)


def price_results(executor_or_config: Any) -> PriceResult:
    """Rows for every candidate, and a ``PriceUnknown`` item for each candidate with no price.

    Computes in this process (imports ``sky`` on first use, seconds). Returns a single-item list
    ``[PriceUnknown]`` when no catalog is on this machine, without importing ``sky``.
    """
    config = task_config(executor_or_config)
    candidates(config), num_nodes_of(config)  # ValueError on a bad field, before anything else
    if not catalog_clouds():
        return [PriceUnknown(no_catalog_reason())]
    return pricing_catalog.price_config(config)


def prices(executor_or_config: Any) -> list[PriceRow]:
    """The price table of an executor (or task config) as plain rows, cheapest first per candidate.

    Args:
        executor_or_config: a ``SkyExecutor`` or the task config dict from ``to_config``.

    Returns:
        One ``PriceRow`` per candidate, cloud and region (cheapest matching instance there).

    Raises:
        PriceUnknown: nothing could be priced (no catalog on this machine, GPU not in it, ...).
        ValueError: a field has the wrong form.
    """
    results = price_results(executor_or_config)
    rows = [r for r in results if isinstance(r, PriceRow)]
    if not rows:
        unknown = [r for r in results if isinstance(r, PriceUnknown)]
        raise unknown[0] if unknown else PriceUnknown("no candidate resources to price")
    return rows


