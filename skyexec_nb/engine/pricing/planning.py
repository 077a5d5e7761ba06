"""SkyPilot's optimizer plan for a task config (``--dryrun`` / "Plan"), without launching anything.

Runs ``sky.optimizer.Optimizer.optimize`` in this process (imports ``sky``: call it off the
kernel's main thread, or through ``PriceService.plan`` which runs it in the price worker).
The enabled clouds come from the ``sky check`` cache (``~/.sky/state.db``) and are never
refreshed here; when none is enabled the result says what ``sky check`` last reported.

Pin-sensitive internals, written for SkyPilot 0.14: ``sky.check.get_cached_enabled_clouds_or_refresh``
and ``sky.check.check_capability`` (patched during the call so no credential check runs),
``sky.utils.annotations.is_on_api_server``, ``sky.global_user_state.get_cached_enabled_clouds`` /
``get_cached_check_results``, the ``sky`` logger (the plan table is captured from its log).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import re
import threading
from typing import Any, Iterator, Mapping, Optional, Sequence

from skyexec_nb.engine.pricing import rows as pricing
from skyexec_nb.engine.skyapi.sdk import one_line_error, strip_ansi

_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class PlanResult:
    """What the optimizer chose, or why there is no plan (``ok`` False; ``message`` one line)."""

    ok: bool
    message: str
    table: str = ""  # the optimizer's own text: candidates considered and the chosen one
    chosen: Optional[dict[str, Any]] = None  # cloud, region, instance_type, accelerators, use_spot
    hourly: Optional[float] = None  # $/hr of the chosen resources × num_nodes
    num_nodes: int = 1
    enabled_clouds: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """What a panel shows: the table (if any) followed by the one-line message."""
        return f"{self.table}\n{self.message}" if self.table else self.message

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["enabled_clouds"] = list(self.enabled_clouds)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PlanResult":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["enabled_clouds"] = tuple(kw.get("enabled_clouds") or ())
        return cls(**kw)


def optimizer_plan(executor_or_config: Any, *, enabled_clouds: Optional[Sequence[str]] = None) -> PlanResult:
    """SkyPilot's optimizer plan for a SkyExecutor or task config. Never raises, never launches.

    Args:
        executor_or_config: a ``SkyExecutor`` or the task config dict from ``to_config``.
        enabled_clouds: clouds to plan over (names); default: the ``sky check`` cache.

    Returns:
        ``PlanResult``: ``ok`` with the table, chosen resources and $/hr; or ``ok=False`` and a
        one-line ``message`` (no cloud enabled, nothing feasible, no catalog, bad field).
    """
    try:
        return _plan(pricing.task_config(executor_or_config), enabled_clouds)
    except Exception as exc:
        return PlanResult(ok=False, message=f"No plan: {one_line_error(exc)}")


def _no_cloud_message(check_results: Mapping[str, Any]) -> str:
    reported = []
    for cloud, contexts in sorted(check_results.items()):
        for info in (contexts or {}).values():
            reason = " ".join(str(info.get("reason") or "").split())
            reported.append(f"{cloud}: {'enabled' if info.get('enabled') else reason or 'disabled'}")
            break
    said = ("`sky check` reported: " + "; ".join(reported)[:300]) if reported else \
        "`sky check` has no cached result on this machine"
    return f"No cloud is enabled, so SkyPilot cannot plan ({said}). Run `sky check`. Nothing was launched."


@contextlib.contextmanager
def _captured_sky_log() -> Iterator[io.StringIO]:
    from sky import sky_logging

    root = logging.getLogger("sky")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(message)s"))
    default = sky_logging._default_handler  # pin: 0.14 module attribute
    if default is not None:
        root.removeHandler(default)
    root.addHandler(handler)
    try:
        yield buf
    finally:
        root.removeHandler(handler)
        if default is not None:
            root.addHandler(default)


@contextlib.contextmanager
def _offline_optimizer(clouds: list) -> Iterator[None]:
    from sky import check
    from sky.utils import annotations

    saved = (check.get_cached_enabled_clouds_or_refresh, check.check_capability, annotations.is_on_api_server)
    check.get_cached_enabled_clouds_or_refresh = lambda *a, **k: list(clouds)
    check.check_capability = lambda *a, **k: {}
    annotations.is_on_api_server = False
    try:
        yield
    finally:
        check.get_cached_enabled_clouds_or_refresh, check.check_capability, annotations.is_on_api_server = saved


def _plan(config: dict[str, Any], enabled_clouds: Optional[Sequence[str]]) -> PlanResult:
    num_nodes = pricing.num_nodes_of(config)
    if not pricing.catalog_clouds():
        return PlanResult(ok=False, message=f"No plan: {pricing.no_catalog_reason()}.", num_nodes=num_nodes)
    import sky
    from sky import global_user_state, skypilot_config
    from sky.clouds import cloud as sky_cloud
    from sky.optimizer import Optimizer
    from sky.utils import registry

    from skyexec_nb.engine.pricing.no_download import no_catalog_download

    if enabled_clouds is None:
        workspace = skypilot_config.get_active_workspace()
        clouds = global_user_state.get_cached_enabled_clouds(sky_cloud.CloudCapability.COMPUTE, workspace)
        if not clouds:
            message = _no_cloud_message(global_user_state.get_cached_check_results(workspace))
            return PlanResult(ok=False, message=message, num_nodes=num_nodes)
    else:
        clouds = [registry.CLOUD_REGISTRY.from_str(c) for c in enabled_clouds]
    names = tuple(str(c).lower() for c in clouds)

    task = sky.Task(name=config.get("name") or "plan", num_nodes=num_nodes)
    task.set_resources(sky.Resources.from_yaml_config(copy.deepcopy(config.get("resources") or {})))
    dag = sky.Dag()
    dag.add(task)
    with _LOCK, _offline_optimizer(clouds), no_catalog_download(), _captured_sky_log() as log:
        try:
            Optimizer.optimize(dag, quiet=False)
        except Exception as exc:  # ResourcesUnavailableError, NoCloudAccessError, ...
            table = strip_ansi(log.getvalue()).strip()
            reason = re.sub(r"(\s+None)+$", "", one_line_error(exc))  # 0.14 appends 'None None'
            return PlanResult(ok=False, message=f"No plan: {reason}", table=table,
                              num_nodes=num_nodes, enabled_clouds=names)
    best = task.best_resources
    hourly = round(best.get_cost(3600) * num_nodes, 6)
    chosen = {"cloud": str(best.cloud).lower(), "region": best.region, "zone": best.zone,
              "instance_type": best.instance_type,
              "accelerators": best.get_accelerators_str() if best.accelerators else None,
              "use_spot": bool(best.use_spot)}
    where = "/".join(p for p in (chosen["cloud"], chosen["region"]) if p)
    message = (f"Chosen: {chosen['instance_type']} on {where}"
               f"{' (spot)' if chosen['use_spot'] else ''} × {num_nodes} node(s), ${hourly:.2f}/hr. "
               "Nothing was launched.")
    return PlanResult(ok=True, message=message, table=strip_ansi(log.getvalue()).rstrip(), chosen=chosen,
                      hourly=hourly, num_nodes=num_nodes, enabled_clouds=names)
