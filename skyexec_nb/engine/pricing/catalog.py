"""Price look-ups in SkyPilot's catalog (imports ``sky``), and the price worker process.

Written for SkyPilot 0.14 (pin-sensitive: ``Cloud.get_feasible_launchable_resources``,
``Cloud.regions_with_offering``, ``Cloud.instance_type_to_hourly_cost``,
``Cloud.accelerators_to_hourly_cost``, ``sky.catalog.common.requests``).

A look-up never downloads: only clouds whose ``vms.csv`` is on disk are asked, and SkyPilot's own
fetcher is off meanwhile (``no_download``). With ``fetch`` options, a look-up first starts
background fetches (``fetch.CatalogFetcher``) of the catalogs its candidates need that SkyPilot
would fetch now (missing, or stale on SkyPilot's schedule) and answers at once from what is on disk,
saying which catalogs are being fetched (``PriceUnknown.kind == FETCHING``) or could not be.
Run as ``python -m skyexec_nb.engine.pricing.catalog`` it is the price worker: JSON requests on
stdin, one JSON line per answer on stdout (see ``main``).
"""
from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from typing import Any, Mapping, Optional

from skyexec_nb.engine.pricing import fetch
from skyexec_nb.engine.pricing import rows as pricing
from skyexec_nb.engine.pricing.rows import FETCH_FAILED, FETCHING, Candidate, PriceRow, PriceUnknown
from skyexec_nb.engine.pricing.no_download import no_catalog_download
from skyexec_nb.engine.skyapi.sdk import one_line_error

_LOCK = threading.Lock()  # one look-up at a time: the catalog patch below is process-wide
_FETCHER: Optional[fetch.CatalogFetcher] = None


def _price(fn: Any, *args: Any) -> Optional[float]:
    try:
        value = float(fn(*args))
    except (ValueError, KeyError, AssertionError):
        return None
    return None if math.isnan(value) else value


def _node_price(cloud: Any, res: Any, spot: bool, region: str) -> Optional[float]:
    """Instance + attached accelerators, $/hr per node, in one region (None: not offered)."""
    inst = _price(cloud.instance_type_to_hourly_cost, res.instance_type, spot, region, None)
    if inst is None:
        return None
    if not res.accelerators:
        return inst
    acc = _price(cloud.accelerators_to_hourly_cost, res.accelerators, spot, region, None)
    return None if acc is None else inst + acc


def _cloud_rows(cand: Candidate, cloud_name: str, num_nodes: int) -> tuple[list[PriceRow], str]:
    """Cheapest instance per region of ``cand`` in one cloud; or ([], reason)."""
    import sky
    from sky.utils import registry

    date = fetch.catalog_date(cloud_name)
    cloud = registry.CLOUD_REGISTRY.from_str(cloud_name)
    infra = "/".join(p for p in (cloud_name, cand.region, cand.zone) if p)
    request = sky.Resources(
        infra=infra, instance_type=cand.instance_type, cpus=cand.cpus, memory=cand.memory,
        accelerators=dict([cand.accelerator]) if cand.accelerator else None, use_spot=cand.use_spot)
    feasible = cloud.get_feasible_launchable_resources(request, num_nodes)
    if not feasible.resources_list:
        hint = f" (did you mean {', '.join(sorted(feasible.fuzzy_candidate_list)[:4])}?)" \
            if feasible.fuzzy_candidate_list else ""
        return [], f"{cand.what()} is not in the {cloud_name} catalog{hint}"
    best: dict[str, PriceRow] = {}
    for res in feasible.resources_list:
        regions = cloud.regions_with_offering(res.instance_type, res.accelerators, cand.use_spot,
                                              cand.region, cand.zone, res)
        for region in regions:
            od = _node_price(cloud, res, False, region.name)
            spot = _node_price(cloud, res, True, region.name)
            applicable = spot if cand.use_spot else od
            if applicable is None:
                continue
            row = PriceRow.make(candidate=cand.index, cloud=cloud_name, region=region.name,
                                instance_type=res.instance_type,
                                accelerators=cand.accelerators or _acc_str(res.accelerators),
                                num_nodes=num_nodes, use_spot=cand.use_spot,
                                node_on_demand=od, node_spot=spot, catalog_date=date)
            old = best.get(region.name)
            if old is None or row.hourly < old.hourly:  # type: ignore[operator]
                best[region.name] = row
    if not best:
        kind = "spot " if cand.use_spot else ""
        return [], f"no {kind}price for {cand.what()} in the {cloud_name} catalog"
    return list(best.values()), ""


def _acc_str(acc: Optional[Mapping[str, Any]]) -> Optional[str]:
    if not acc:
        return None
    return ",".join(f"{k}:{v:g}" if isinstance(v, float) else f"{k}:{v}" for k, v in acc.items())


def price_candidate(cand: Candidate, num_nodes: int, available: list[str],
                    fetches: Optional["_Fetches"] = None) -> pricing.PriceResult:
    """Rows for one candidate over the clouds it allows, or ``[PriceUnknown]``."""
    if cand.cloud is not None and cand.cloud not in pricing.PRICED_CLOUDS:
        return [PriceUnknown(f"{cand.cloud} has no price catalog (prices come from live clusters)", cand.index)]
    if cand.cloud is not None and cand.cloud not in available:
        note = fetches.unknown([cand.cloud], cand.index) if fetches else None
        return [note or PriceUnknown(f"no {cand.cloud} catalog on this machine", cand.index)]
    clouds = [cand.cloud] if cand.cloud else available
    rows: list[PriceRow] = []
    reasons: list[str] = []
    for name in clouds:
        try:
            found, reason = _cloud_rows(cand, name, num_nodes)
        except Exception as exc:  # a cloud's catalog that cannot be read: say so, try the others
            found, reason = [], f"the {name} catalog cannot be read ({one_line_error(exc)})"
        rows += found
        if reason:
            reasons.append(reason)
    if not rows:
        if cand.cloud is None and len(reasons) > 1 and all("is not in the" in r for r in reasons):
            return [PriceUnknown(f"{cand.what()} is not in the catalog on this machine "
                                 f"(clouds: {', '.join(clouds)})", cand.index)]
        return [PriceUnknown("; ".join(reasons) or "no matching instance", cand.index)]
    rows.sort(key=lambda r: (r.hourly, r.cloud, r.region))
    return list(rows)


def shared_fetcher() -> fetch.CatalogFetcher:
    """This process's catalog fetcher (first use applies ``$SKYEXEC_NB_CATALOG_URL``)."""
    global _FETCHER
    if _FETCHER is None:
        fetch.apply_url_override()
        _FETCHER = fetch.CatalogFetcher()
    return _FETCHER


def enabled_clouds() -> list[str]:
    """The priced clouds ``sky check`` last enabled (its cache; never runs a check)."""
    try:
        from sky import global_user_state, skypilot_config
        from sky.clouds import cloud as sky_cloud

        workspace = skypilot_config.get_active_workspace()
        clouds = global_user_state.get_cached_enabled_clouds(sky_cloud.CloudCapability.COMPUTE, workspace)
    except Exception:  # no state yet, unreadable state: none known
        return []
    return [c for c in (str(x).lower() for x in clouds) if c in pricing.PRICED_CLOUDS]


def wanted_clouds(cands: list[Candidate], on_disk: list[str]) -> list[str]:
    """The clouds whose catalogs the candidates need: each one's cloud; for a candidate without
    one, the clouds ``sky check`` enabled, else those on disk, else ``fetch.FIRST_FETCH_CLOUDS``."""
    wanted = [c.cloud for c in cands if c.cloud in pricing.PRICED_CLOUDS]
    if any(c.cloud is None for c in cands):
        wanted += enabled_clouds() or on_disk or list(fetch.FIRST_FETCH_CLOUDS)
    return list(dict.fromkeys(wanted))  # type: ignore[arg-type]


class _Fetches:
    """What the fetcher says of the wanted clouds, as one-line ``PriceUnknown`` notes."""

    def __init__(self, fetcher: fetch.CatalogFetcher, wanted: list[str]) -> None:
        self.fetcher, self.wanted = fetcher, wanted
        self.fetching = set(fetcher.fetching())

    def unknown(self, clouds: list[str], candidate: Optional[int] = None) -> Optional[PriceUnknown]:
        """Why ``clouds`` (none of them on disk) give no price: being fetched, or could not be."""
        if fetch.COMMON in self.fetching or self.fetching.intersection(clouds):
            names = [c for c in clouds if c in self.fetching] or clouds
            # A retry of a cloud that failed before: keep saying why, quietly, until it succeeds.
            # The accelerator list failing first while the cloud's own fetch still runs is not yet
            # the answer (the cloud's outcome is): say "fetching".
            failed = self._failed(clouds) if any(self.fetcher.error(c) for c in clouds) else ""
            if failed:
                return PriceUnknown(failed, candidate, kind=FETCHING)
            return PriceUnknown(f"fetching prices… (SkyPilot's catalog{'s' * (len(names) > 1)} for "
                                f"{', '.join(names)})", candidate, kind=FETCHING)
        failed = self._failed(clouds)
        return PriceUnknown(failed, candidate, kind=FETCH_FAILED) if failed else None

    def _failed(self, clouds: list[str]) -> str:
        by_reason: dict[str, list[str]] = {}
        for cloud in [*clouds, fetch.COMMON]:
            if self.fetcher.error(cloud):
                by_reason.setdefault(self.fetcher.error(cloud), []).append(cloud)
        lines = []
        for reason, names in by_reason.items():
            if fetch.COMMON in names and len(names) > 1:  # the accelerator list: the cloud says enough
                names.remove(fetch.COMMON)
            what = (f"SkyPilot's catalog{'s' * (len(names) > 1)} for {', '.join(names)}"
                    if names != [fetch.COMMON] else "SkyPilot's accelerator list")
            lines.append(f"could not fetch {what} ({reason})")
        return "; ".join(lines)

    def notes(self, available: list[str]) -> list[PriceUnknown]:
        """Status items for an answer that has rows: catalogs being fetched or refreshed."""
        return [PriceUnknown(f"{'refreshing' if c in available else 'fetching'} SkyPilot's catalog for {c}",
                             kind=FETCHING) for c in self.wanted if c in self.fetching]


def price_config(config: Mapping[str, Any], fetch_options: Optional[Mapping[str, float]] = None
                 ) -> pricing.PriceResult:
    """Prices of every candidate of a task config, in this process (imports ``sky``).

    Args:
        fetch_options: ``read_timeout``, ``total_timeout``, ``backoff`` (seconds): first start
            background fetches of the catalogs the candidates need; None: never fetch.

    Raises:
        ValueError: a field has the wrong form.
    """
    cands = pricing.candidates(config)
    num_nodes = pricing.num_nodes_of(config)
    fetches = None
    if fetch_options is not None:
        fetcher = shared_fetcher()
        wanted = wanted_clouds(cands, pricing.catalog_clouds())
        fetcher.start(wanted, **fetch_options)
        fetches = _Fetches(fetcher, wanted)
    available = pricing.catalog_clouds()
    if not available or (fetches and fetch.COMMON in fetches.fetching):
        note = fetches.unknown(fetches.wanted) if fetches else None
        return [note or PriceUnknown(pricing.no_catalog_reason())]
    out: pricing.PriceResult = []
    with _LOCK, no_catalog_download():
        if _FETCHER is not None:
            fetch.forget_loaded(_FETCHER.take_refreshed())
        for cand in cands:
            out += price_candidate(cand, num_nodes, available, fetches)
    if fetches and any(isinstance(r, PriceRow) for r in out):
        out += fetches.notes(available)
    return out


# ----------------------------------------------------------------------------- worker process

def _serve_one(req: Mapping[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    try:
        if op == "prices":
            return {"result": pricing.encode_result(price_config(req["config"], req.get("fetch")))}
        if op == "fetch_status":
            return {"result": {"fetching": shared_fetcher().wait(float(req.get("wait") or 0.0))}}
        if op == "plan":
            from skyexec_nb.engine.pricing.planning import optimizer_plan

            if req.get("fetch"):  # the optimizer reads the enabled clouds' catalogs: fetch what SkyPilot would
                shared_fetcher().start(req.get("enabled_clouds") or enabled_clouds() or pricing.catalog_clouds()
                                       or fetch.FIRST_FETCH_CLOUDS, **req["fetch"])
            plan = optimizer_plan(req["config"], enabled_clouds=req.get("enabled_clouds")).as_dict()
            if not plan["ok"] and _FETCHER is not None and _FETCHER.fetching():
                plan["message"] += " (SkyPilot's catalogs are being fetched: try Plan again in a moment.)"
            return {"result": plan}
        if op == "ping":
            return {"result": "pong"}
        return {"error": f"unknown op {op!r}"}
    except ValueError as exc:
        return {"error": one_line_error(exc), "value_error": True}
    except Exception as exc:  # one line back to the caller, never a traceback
        return {"error": one_line_error(exc)}


def main() -> None:
    """Serve requests ``{"id", "op": "prices"|"plan"|"fetch_status"|"ping", ...}``, one JSON line each.

    Imports ``sky`` first (so a started worker is a warm worker) and announces
    ``{"ready": true, "import_s": ...}``. Anything else written to stdout goes to stderr.
    """
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    t0 = time.perf_counter()
    import sky  # noqa: F401  (warm up: seconds)

    shared_fetcher()  # applies $SKYEXEC_NB_CATALOG_URL

    out.write(json.dumps({"ready": True, "import_s": round(time.perf_counter() - t0, 3)}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except json.JSONDecodeError as exc:
            out.write(json.dumps({"id": None, "error": f"bad request: {exc}"}) + "\n")
            continue
        t = time.perf_counter()
        reply = _serve_one(req)
        reply.update(id=req.get("id"), seconds=round(time.perf_counter() - t, 3))
        out.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
