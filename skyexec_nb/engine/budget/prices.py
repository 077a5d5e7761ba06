"""The hourly price of a launch, asked for once at launch (or when a cost is computed), blocking.

``hourly_price(executor, backend)`` prices the executor's resources from SkyPilot's catalog:
the cheapest matching instance (SkyPilot's optimizer picks the cheapest), × ``num_nodes``, spot or
on-demand as asked. The look-up runs in the process's price worker
(:func:`~skyexec_nb.engine.pricing.worker.shared_worker`, ``python -m
skyexec_nb.engine.pricing.catalog``, the one the picker's prices use too), so this process never
imports ``sky``; it is started with the environment of that moment (a changed ``SKY_RUNTIME_DIR``,
which moves SkyPilot's catalog, starts a fresh one). A missing catalog is
fetched by the worker, waited for within the bounded ``timeout``.

On the local backend a price is a *rehearsal*: when the executor names a cloud, an instance type
or GPUs, what it would cost there; otherwise there is nothing to price.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from skyexec_nb.engine.pricing import rows as pricing
from skyexec_nb.engine.pricing.rows import FETCHING, PriceRow, PriceUnknown
from skyexec_nb.engine.pricing.worker import shared_worker

#: Backends whose jobs run on paid cloud capacity.
CLOUD_BACKENDS = frozenset({"skypilot", "jobs"})
LOCAL_REASON = ("the local backend runs on this machine: give cloud and instance_type or gpus to price it "
                "(a rehearsal of what it would cost there)")
FETCHING_REASON = "no SkyPilot catalog on this machine yet (fetching…)"
CACHE_TTL = 600.0  # seconds an answer is reused for the same fields
#: How the worker fetches a missing (or, on SkyPilot's schedule, stale) catalog.
FETCH_OPTIONS = {"read_timeout": 10.0, "total_timeout": 120.0, "backoff": 60.0}


class PriceUnavailable(ValueError):
    """No hourly price for these resources; the message is one line saying why."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        self.reason = " ".join(str(reason).split())
        self.transient = transient  # a time-out or a fetch still running: worth asking again
        super().__init__(self.reason)


_CACHE: dict[tuple[str, str], tuple[Any, float]] = {}
_CACHE_LOCK = threading.Lock()


def close() -> None:
    """Stop this process's price worker (the next price starts a fresh one) and forget answers."""
    shared_worker().stop()
    with _CACHE_LOCK:
        _CACHE.clear()


def is_rehearsal(config: dict[str, Any]) -> bool:
    """True when a config names something a catalog can price (a cloud, instance type or GPUs)."""
    return any(c.cloud or c.instance_type or c.accelerator for c in pricing.candidates(config))


def hourly_price(executor_or_config: Any, backend: str, *, timeout: float = 60.0) -> tuple[float, str]:
    """``(USD per hour for all nodes, price note)`` of an executor's (or task config's) resources.

    Args:
        executor_or_config: a SkyExecutor, or a task config dict (e.g. ``launched_config`` of a row).
        backend: the backend it runs on; on ``local`` the price is a rehearsal (see the module).
        timeout: most seconds to wait for the worker (its first ``import sky``, a catalog fetch).

    Returns:
        The cheapest matching catalog row's hourly price × nodes, and a note saying what was
        priced, e.g. ``aws p3.2xlarge (V100:1) x 2 in us-east-1, on-demand (catalog of 2026-11-30)``.

    Raises:
        PriceUnavailable: one line: no catalog (yet), not in the catalog, nothing to price locally...
    """
    try:
        config = pricing.task_config(executor_or_config)
        pricing.candidates(config)
        pricing.num_nodes_of(config)
    except (TypeError, ValueError) as exc:
        raise PriceUnavailable(str(exc)) from None
    rehearsal = backend not in CLOUD_BACKENDS
    if rehearsal and not is_rehearsal(config):
        raise PriceUnavailable(LOCAL_REASON)
    row = _cheapest(config, timeout)
    note = describe(row)
    hourly = float(row.hourly)  # type: ignore[arg-type]  (cheapest() keeps rows with a price only)
    return hourly, (f"rehearsal: what this would cost on {note}" if rehearsal else note)


def describe(row: PriceRow) -> str:
    """``aws p3.2xlarge (V100:1) x 2 in us-east-1, on-demand (catalog of 2026-11-30)``."""
    acc = f" ({row.accelerators})" if row.accelerators else ""
    kind = "spot" if row.use_spot else "on-demand"
    date = f" (catalog of {row.catalog_date})" if row.catalog_date else " (catalog)"
    return f"{row.cloud} {row.instance_type}{acc} x {row.num_nodes} in {row.region}, {kind}{date}"


def cached_price(executor_or_config: Any, backend: str) -> tuple[float, str] | None:
    """What :func:`hourly_price` would answer from its cache now, else None (never asks the worker)."""
    try:
        config = pricing.task_config(executor_or_config)
        key = (str(pricing.env_catalog_dir()), pricing.price_key(config))
    except (TypeError, ValueError):
        return None
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None or isinstance(hit[0], PriceUnavailable) or time.monotonic() - hit[1] >= CACHE_TTL:
        return None
    note = describe(hit[0])
    return float(hit[0].hourly), (note if backend in CLOUD_BACKENDS else f"rehearsal: what this would cost on {note}")


def _cheapest(config: dict[str, Any], timeout: float) -> PriceRow:
    key = (str(pricing.env_catalog_dir()), pricing.price_key(config))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and time.monotonic() - hit[1] < CACHE_TTL:
        if isinstance(hit[0], PriceUnavailable):
            raise hit[0]
        return hit[0]
    try:
        row = _lookup(config, timeout)
    except PriceUnavailable as exc:
        if not exc.transient:
            with _CACHE_LOCK:
                _CACHE[key] = (exc, time.monotonic())
        raise
    with _CACHE_LOCK:
        _CACHE[key] = (row, time.monotonic())
    return row


def _lookup(config: dict[str, Any], timeout: float) -> PriceRow:
    """Ask the worker; while the only answer is "a catalog is being fetched", wait for the fetch."""
    root = pricing.env_catalog_dir()
    deadline = time.monotonic() + timeout
    worker = shared_worker()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PriceUnavailable(FETCHING_REASON, transient=True)
        try:
            items = pricing.decode_result(worker.call("prices", {"config": config, "fetch": FETCH_OPTIONS},
                                                      remaining))
        except TimeoutError:
            worker.stop()
            raise PriceUnavailable(f"the price look-up took longer than {timeout:g} s", transient=True) from None
        except EOFError as exc:
            worker.stop()
            raise PriceUnavailable(f"the price worker exited: {exc}", transient=True) from None
        except ValueError as exc:
            raise PriceUnavailable(str(exc)) from None
        except RuntimeError as exc:
            raise PriceUnavailable(str(exc), transient=True) from None
        row = pricing.cheapest(items)
        if row is not None:
            return row
        unknown = [u for u in items if isinstance(u, PriceUnknown)]
        if not any(u.kind == FETCHING for u in unknown):
            answer = pricing.summarize(items)
            reason = answer.reason if isinstance(answer, PriceUnknown) else "no price in the catalog"
            if reason.startswith("no catalog on this machine"):
                reason = pricing.no_catalog_reason(root).replace("no catalog", "no SkyPilot catalog", 1)
            raise PriceUnavailable(reason, transient=any(u.kind for u in unknown))
        try:  # a catalog is being fetched: wait for it (bounded), then ask again
            worker.call("fetch_status", {"wait": max(0.0, min(remaining - 1.0, 30.0))}, remaining)
        except (TimeoutError, EOFError, RuntimeError, ValueError):
            worker.stop()
            raise PriceUnavailable(FETCHING_REASON, transient=True) from None
