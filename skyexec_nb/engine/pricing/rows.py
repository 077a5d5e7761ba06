"""Hourly prices of an executor's resources, from SkyPilot's catalog, before anything is launched.

Pure Python: this module never imports ``sky``. The look-ups themselves live in
``pricing_catalog`` (imported only when a price is computed); ``PriceService`` (in
``pricing_service``) computes them away from the caller's thread.

A *candidate* is one alternative of the resources: each ``any_of``/``ordered`` entry, and each
name of a multi-name ``accelerators`` dict. For each candidate, a ``PriceRow`` gives the cheapest
matching instance per cloud and region, its on-demand and spot prices, per node and × num_nodes.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Union

from skyexec_nb.model.errors import SkyExecError

# sky.skylet.constants.CATALOG_SCHEMA_VERSION in SkyPilot 0.14 (pin-sensitive).
CATALOG_SCHEMA_VERSION = "v8"

# Clouds whose prices come from a CSV catalog (SkyPilot 0.14). Kubernetes, SSH, Slurm and vSphere
# are priced by asking live clusters, which this offline path never does.
PRICED_CLOUDS: tuple[str, ...] = (
    "aws", "gcp", "azure", "lambda", "oci", "ibm", "scp", "runpod", "vast", "cudo", "fluidstack",
    "paperspace", "do", "nebius", "hyperbolic", "seeweb", "shadeform", "primeintellect",
    "mithril", "verda", "yotta",
)
_CLOUD_ALIASES = {"k8s": "kubernetes", "lambdalabs": "lambda"}

PriceResult = list  # list[PriceRow | PriceUnknown]; one PriceUnknown per candidate with no price

FETCHING = "fetching"  # PriceUnknown.kind: SkyPilot's catalog is being fetched (a new answer follows)
FETCH_FAILED = "fetch_failed"  # PriceUnknown.kind: it could not be fetched (retried later, with back-off)


class PriceUnknown(SkyExecError):
    """No price could be found; ``reason`` says why in one line.

    Raised by ``prices()`` when nothing could be priced, and returned as an item (one per
    unpriced candidate) by ``price_results()`` and ``PriceService`` callbacks.
    """

    def __init__(self, reason: str, candidate: Optional[int] = None, *, transient: bool = False,
                 kind: str = ""):
        self.reason = " ".join(str(reason).split())
        self.candidate = candidate
        #: ``FETCHING`` (a catalog is being fetched: a new answer follows), ``FETCH_FAILED`` or ''.
        self.kind = kind
        # a time-out, a crashed worker or a catalog fetch: not cached, worth retrying
        self.transient = transient or bool(kind)
        super().__init__(f"Price unknown: {self.reason}")

    @property
    def fetching(self) -> bool:
        return self.kind == FETCHING

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"price_unknown": True, "reason": self.reason, "candidate": self.candidate}
        if self.kind:
            d["kind"] = self.kind
        return d

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, PriceUnknown) and other.reason == self.reason
                and other.candidate == self.candidate)

    def __hash__(self) -> int:
        return hash((self.reason, self.candidate))


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One alternative of the requested resources (what SkyPilot would try to launch)."""

    index: int
    cloud: Optional[str] = None
    region: Optional[str] = None
    zone: Optional[str] = None
    instance_type: Optional[str] = None
    accelerator: Optional[tuple[str, Union[int, float]]] = None
    cpus: Optional[str] = None
    memory: Optional[str] = None
    use_spot: bool = False

    @property
    def accelerators(self) -> Optional[str]:
        """``'A100:8'`` or None."""
        if self.accelerator is None:
            return None
        name, count = self.accelerator
        return f"{name}:{count:g}" if isinstance(count, float) else f"{name}:{count}"

    def what(self) -> str:
        """What is asked for, e.g. ``'A100:8'``, ``'p3.2xlarge'`` or ``'cpus=8+'``."""
        return self.accelerators or self.instance_type or (f"cpus={self.cpus}" if self.cpus else "default instance")

    def describe(self) -> str:
        """A short human label, e.g. ``'A100:8 on aws (spot)'``."""
        what = self.what()
        where = "/".join(p for p in (self.cloud, self.region, self.zone) if p)
        return what + (f" on {where}" if where else "") + (" (spot)" if self.use_spot else "")


@dataclasses.dataclass(frozen=True)
class PriceRow:
    """The cheapest matching instance of one candidate in one cloud region.

    ``hourly_*`` are per cluster (per node × num_nodes); ``node_*`` per node. A price is None
    where the catalog has none (e.g. no spot offering). ``hourly`` is the one that applies.
    """

    candidate: int
    cloud: str
    region: str
    instance_type: str
    accelerators: Optional[str]
    num_nodes: int
    use_spot: bool
    node_on_demand: Optional[float]
    node_spot: Optional[float]
    hourly_on_demand: Optional[float]
    hourly_spot: Optional[float]
    catalog_date: Optional[str] = None  # ``'2026-12-02'``: when the cloud's catalog was fetched

    @classmethod
    def make(cls, *, candidate: int, cloud: str, region: str, instance_type: str,
             accelerators: Optional[str], num_nodes: int, use_spot: bool,
             node_on_demand: Optional[float], node_spot: Optional[float],
             catalog_date: Optional[str] = None) -> "PriceRow":
        """Build a row from per-node prices (cluster prices are derived)."""
        def times(p: Optional[float]) -> Optional[float]:
            return None if p is None else round(p * num_nodes, 6)
        return cls(candidate, cloud, region, instance_type, accelerators, num_nodes, use_spot,
                   node_on_demand, node_spot, times(node_on_demand), times(node_spot), catalog_date)

    @property
    def hourly(self) -> Optional[float]:
        """The cluster's $/hr for the requested pricing (spot if ``use_spot``)."""
        return self.hourly_spot if self.use_spot else self.hourly_on_demand

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hourly"] = self.hourly
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PriceRow":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# ---------------------------------------------------------------------------- config → candidates

def task_config(executor_or_config: Any) -> dict[str, Any]:
    """The task config dict of a SkyExecutor (``to_config``) or a config dict (returned as is)."""
    if hasattr(executor_or_config, "to_config"):
        return executor_or_config.to_config("price")
    if isinstance(executor_or_config, Mapping):
        return dict(executor_or_config)
    raise TypeError(f"prices() takes a SkyExecutor or a task config dict. Found: {type(executor_or_config).__name__}")


def num_nodes_of(config: Mapping[str, Any]) -> int:
    n = config.get("num_nodes")
    n = 1 if n is None else n
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"Invalid num_nodes: a positive integer. Found: {n!r}")
    return n


def price_key(config: Mapping[str, Any]) -> str:
    """A hashable key of the fields that decide the price (resources + num_nodes)."""
    return json.dumps({"resources": config.get("resources") or {}, "num_nodes": config.get("num_nodes") or 1},
                      sort_keys=True, default=str)


def _count(value: Any) -> Union[int, float]:
    c = float(value if value is not None else 1)
    return int(c) if c.is_integer() else c


def _accelerator_options(acc: Any) -> list[Optional[tuple[str, Union[int, float]]]]:
    if acc is None or acc == "" or acc == {}:
        return [None]
    if isinstance(acc, str):
        name, _, count = acc.partition(":")
        return [(name.strip(), _count(count.strip() or 1))]
    if isinstance(acc, Mapping):
        return [(str(k), _count(v)) for k, v in acc.items()]
    if isinstance(acc, (list, tuple, set, frozenset)):
        return [opt for a in acc for opt in _accelerator_options(a)]
    raise ValueError(f"Invalid accelerators: 'NAME:COUNT', a {{name: count}} dict or a list. Found: {acc!r}")


def _location(res: Mapping[str, Any]) -> tuple[Optional[str], Optional[str], Optional[str]]:
    cloud, region, zone = res.get("cloud"), res.get("region"), res.get("zone")
    infra = res.get("infra")
    if infra:
        parts = str(infra).split("/")
        cloud = parts[0]
        region = parts[1] if len(parts) > 1 else region
        zone = parts[2] if len(parts) > 2 else zone
    if cloud in (None, "", "*"):
        cloud = None
    else:
        cloud = _CLOUD_ALIASES.get(str(cloud).lower(), str(cloud).lower())
    return cloud, (None if region in ("", "*") else region), (zone or None)


def candidates(config: Mapping[str, Any]) -> list[Candidate]:
    """Expand a task config's resources into candidates, in a stable order.

    Raises:
        ValueError: ``accelerators`` or ``num_nodes`` is of the wrong form.
    """
    res = dict(config.get("resources") or {})
    base = {k: v for k, v in res.items() if k not in ("any_of", "ordered")}
    alternatives = res.get("any_of") or res.get("ordered") or [{}]
    out: list[Candidate] = []
    for alt in alternatives:
        merged = {**base, **(alt or {})}
        cloud, region, zone = _location(merged)
        for acc in _accelerator_options(merged.get("accelerators")):
            out.append(Candidate(
                index=len(out), cloud=cloud, region=region, zone=zone,
                instance_type=merged.get("instance_type") or None, accelerator=acc,
                cpus=None if merged.get("cpus") is None else str(merged["cpus"]),
                memory=None if merged.get("memory") is None else str(merged["memory"]),
                use_spot=bool(merged.get("use_spot") or False)))
    return out


def launched_config(config: Mapping[str, Any], launched: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    """A task config pricing the instance a backend launched (``extra['launched']``), or None.

    ``launched`` holds ``cloud``, ``region`` and, when known, ``instance_type``, ``accelerators``,
    ``use_spot`` and ``num_nodes`` (the skypilot backend records them from the cluster handle, the
    jobs backend from the managed-job queue). Without a cloud there is nothing more precise to price.
    """
    if not isinstance(launched, Mapping) or not launched.get("cloud") or str(launched["cloud"]) in ("-", "None"):
        return None
    region = launched.get("region")
    base = dict(config.get("resources") or {})
    resources: dict[str, Any] = {"infra": str(launched["cloud"]).lower() + (f"/{region}" if region and region != "-" else "")}
    if launched.get("instance_type"):
        resources["instance_type"] = launched["instance_type"]
    accelerators = launched.get("accelerators")
    if accelerators:
        resources["accelerators"] = dict(accelerators) if isinstance(accelerators, Mapping) else accelerators
    elif not launched.get("instance_type") and base.get("accelerators"):
        resources["accelerators"] = base["accelerators"]
    spot = launched.get("use_spot")
    resources["use_spot"] = bool(base.get("use_spot")) if spot is None else bool(spot)
    nodes = launched.get("num_nodes") or config.get("num_nodes") or 1
    return {"num_nodes": nodes, "resources": resources}


def row_price_config(row: Mapping[str, Any]) -> dict[str, Any]:
    """The task config to price a registry row by: the instance its backend launched
    (``launched_config``), else the resources it asked for."""
    config = dict(row.get("config") or {})
    return launched_config(config, (row.get("extra") or {}).get("launched")) or config


# ------------------------------------------------------------------------------------- catalog

def catalog_dir() -> Path:
    """Where SkyPilot reads its catalog: ``$SKY_RUNTIME_DIR/.sky/catalogs/v8`` (default ``~``).

    Once ``sky`` is imported in this process its own path wins (it is fixed at that import).
    """
    import sys

    common = sys.modules.get("sky.catalog.common")
    if common is not None:
        return Path(common.get_catalog_path(""))
    return env_catalog_dir()


def env_catalog_dir() -> Path:
    """The catalog path a fresh process (e.g. the price worker) sees, from the environment."""
    runtime = os.path.expanduser(os.environ.get("SKY_RUNTIME_DIR", "~"))
    return Path(runtime) / ".sky" / "catalogs" / CATALOG_SCHEMA_VERSION


def catalog_clouds(root: Optional[Path] = None) -> list[str]:
    """The priced clouds whose ``vms.csv`` is on this machine (looks only; never downloads)."""
    root = root or catalog_dir()
    return [c for c in PRICED_CLOUDS if (root / c / "vms.csv").is_file()]


def no_catalog_reason(root: Optional[Path] = None) -> str:
    root = root or catalog_dir()
    return (f"no catalog on this machine (looked in {root}; SkyPilot downloads catalogs when online, "
            "e.g. on the first `sky gpus list`)")


def summarize(results: PriceResult) -> Union[PriceResult, PriceUnknown]:
    """``results`` as is when it has a row; else one ``PriceUnknown`` saying why (for one-line UIs)."""
    if any(isinstance(r, PriceRow) for r in results):
        return results
    unknown = [r for r in results if isinstance(r, PriceUnknown)]
    if len(unknown) == 1:
        return unknown[0]
    for kind in (FETCHING, FETCH_FAILED):  # one catalog line rather than one per candidate
        same = [u for u in unknown if u.kind == kind]
        if same:
            return PriceUnknown(same[0].reason, kind=kind)
    if not unknown:
        return PriceUnknown("no candidate resources to price")
    return PriceUnknown("; ".join(f"candidate {u.candidate}: {u.reason}" for u in unknown))


def cheapest(results: PriceResult) -> Optional[PriceRow]:
    """The row with the lowest applicable hourly price, or None."""
    rows = [r for r in results if isinstance(r, PriceRow) and r.hourly is not None]
    return min(rows, key=lambda r: r.hourly, default=None)  # type: ignore[arg-type,return-value]


def estimate_cost(hourly: Optional[float], elapsed_s: Optional[float]) -> Optional[float]:
    """Cost so far in $ of a cluster priced ``hourly`` $/hr (already × nodes) after ``elapsed_s``."""
    if hourly is None or elapsed_s is None:
        return None
    return round(hourly * max(elapsed_s, 0.0) / 3600.0, 4)


def encode_result(results: PriceResult) -> list[dict[str, Any]]:
    """JSON-able form of a result list (used across the worker process pipe)."""
    return [r.as_dict() for r in results]


def decode_result(items: list[Mapping[str, Any]]) -> PriceResult:
    return [PriceUnknown(d["reason"], d.get("candidate"), kind=d.get("kind") or "") if d.get("price_unknown")
            else PriceRow.from_dict(d) for d in items]


def iter_rows(results: PriceResult) -> Iterator[PriceRow]:
    return (r for r in results if isinstance(r, PriceRow))
