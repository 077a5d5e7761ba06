"""Idle clusters: clusters launched from here that are UP with none of our jobs running on them.

:func:`idle_clusters` asks SkyPilot (``sky.status``, ``sky.queue``) about the clusters our
skypilot-backend jobs ran on; :func:`stop_cluster`, :func:`down_cluster` and :func:`down_idle`
stop or tear them down (``sky.stop`` / ``sky.down``, waited for) and record when
(``extra["cluster_down_at"]`` on our rows of that cluster: :func:`~.spend.costs` counts the idle
time up to it). Every function here blocks on SkyPilot requests: call them off the kernel's
thread in a view. Each wait is bounded; errors are one line (:class:`ClusterActionError`).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping, Optional

from skyexec_nb.engine.budget.spend import Pricer
from skyexec_nb.engine.skyapi.sdk import NoAnswer, call_within, one_line_error, sdk

#: Seconds to wait for ``sky.status`` / ``sky.queue``.
QUERY_TIMEOUT = 60.0
#: Seconds to wait for ``sky.stop`` / ``sky.down`` (a real cloud takes minutes).
TEARDOWN_TIMEOUT = 900.0
AUTOSTOP_WARNING = ("Cluster {name} has no autostop: it stays up and billed after the job; "
                    "set idle_minutes_to_autostop or autodown")
_BUSY = frozenset({"INIT", "PENDING", "SETTING_UP", "RUNNING", "CANCELLING", "RECOVERING"})


class ClusterActionError(RuntimeError):
    """SkyPilot refused or did not answer a cluster request, or the cluster cannot be acted on (one line)."""


@dataclasses.dataclass(frozen=True)
class IdleCluster:
    """A cluster launched from here, UP, with no job of ours (nor a running one in its queue).

    ``idle_since``: the latest end of our jobs on it; ``hourly``: its price (USD/hr, all nodes);
    ``cost_so_far``: the idle time's estimated cost; ``autostop``: minutes (None: no autostop).
    """

    name: str
    job_ids: tuple[int, ...]
    idle_since: float
    hourly: Optional[float]
    cost_so_far: Optional[float]
    autostop: Optional[int]
    autodown: bool
    price_note: str = ""


def _get(record: Any, key: str, default: Any = None) -> Any:
    value = record.get(key, default) if isinstance(record, Mapping) else getattr(record, key, default)
    return default if value is None else value


def _state(value: Any) -> str:
    return str(getattr(value, "value", value) or "").rsplit(".", 1)[-1]


def our_clusters() -> dict[str, list[dict[str, Any]]]:
    """{cluster name: our registry rows on it} for skypilot-backend jobs, rows oldest first."""
    from skyexec_nb.engine.jobs.registry import get_registry

    found: dict[str, list[dict[str, Any]]] = {}
    for row in get_registry().rows("backend = ?", ("skypilot",)):
        if row.get("cluster"):
            found.setdefault(row["cluster"], []).append(row)
    return found


def _busy_in_queue(sky: Any, name: str) -> bool:
    """True when SkyPilot's queue of ``name`` has a job not finished (False when it cannot be read)."""
    try:
        records = call_within(lambda: sky.get(sky.queue(name, skip_finished=True, all_users=True)), QUERY_TIMEOUT)
    except Exception:  # noqa: BLE001 - the queue is a second opinion; our rows decided already
        return False
    return any(_state(_get(r, "status")) in _BUSY for r in records or [])


def idle_clusters(sky: Any = None, *, now: Optional[float] = None) -> list[IdleCluster]:
    """Our clusters that ``sky.status`` says are UP with none of our jobs unfinished on them and no
    running job in their queue, most idle first (blocking: run it off the kernel's thread).

    Raises:
        ClusterActionError: SkyPilot cannot be asked (one line).
    """
    clusters = {name: rows for name, rows in our_clusters().items()
                if all(r["status"].is_terminal for r in rows) and any(r.get("ended") for r in rows)}
    if not clusters:
        return []
    sky = sky or sdk()
    try:
        records = call_within(lambda: sky.get(sky.status(sorted(clusters))), QUERY_TIMEOUT)
    except NoAnswer as exc:
        raise ClusterActionError(f"SkyPilot gave no cluster status: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - SkyPilot's own errors, one line
        raise ClusterActionError(f"Cannot list clusters: {one_line_error(exc)}") from None
    now = time.time() if now is None else now
    pricer = Pricer()
    out = []
    for record in records or []:
        name = _get(record, "name")
        rows = clusters.get(name)
        if rows is None or _state(_get(record, "status")) != "UP" or _busy_in_queue(sky, name):
            continue
        since = max(r["ended"] for r in rows if r.get("ended"))
        hourly, note = pricer(max(rows, key=lambda r: r.get("ended") or 0))
        autostop = _get(record, "autostop", -1)
        out.append(IdleCluster(
            name=name, job_ids=tuple(r["id"] for r in rows), idle_since=since, hourly=hourly,
            cost_so_far=None if hourly is None else hourly * max(0.0, now - since) / 3600.0,
            autostop=int(autostop) if isinstance(autostop, (int, float)) and autostop >= 0 else None,
            autodown=bool(_get(record, "to_down", False)), price_note=note))
    return sorted(out, key=lambda c: c.idle_since)


def _teardown(name: str, how: str, sky: Any) -> str:
    """``sky.stop`` (how="stop") or ``sky.down`` the cluster, waited for; record when on our rows."""
    rows = our_clusters().get(name)
    if not rows:
        raise ClusterActionError(f"Unknown cluster {name!r}: no job launched from here ran on it")
    busy = [r for r in rows if not r["status"].is_terminal]
    if busy:
        raise ClusterActionError(f"Cluster {name} has job {busy[-1]['id']} {busy[-1]['status'].value}: "
                                 f"cancel it first (job.cancel())")
    sky = sky or sdk()
    verb, done = ("stop", "stopped") if how == "stop" else ("tear down", "torn down")
    call = sky.stop if how == "stop" else sky.down
    try:
        call_within(lambda: sky.get(call(name)), TEARDOWN_TIMEOUT, name=f"skyexec-{how}-{name}")
        message = f"Cluster {name} {done} (sky.{how})"
    except NoAnswer:
        raise ClusterActionError(f"SkyPilot did not {verb} cluster {name} within {TEARDOWN_TIMEOUT:.0f} s "
                                 f"(it may still be going on: see `sky status {name}`)") from None
    except Exception as exc:  # noqa: BLE001 - SkyPilot's refusal, one line
        if type(exc).__name__ != "ClusterDoesNotExist":
            raise ClusterActionError(f"Cannot {verb} cluster {name}: {one_line_error(exc)}") from None
        message = f"Cluster {name} does not exist any more (nothing to {verb})"
    _record(rows, how, message)
    return message


def _record(rows: list[dict[str, Any]], how: str, message: str) -> None:
    """``extra["cluster_down_at"]`` on our rows of the cluster that ran since its last recorded
    teardown, and a line in the latest job's log."""
    from skyexec_nb.engine.jobs.logfile import LogWriter
    from skyexec_nb.engine.jobs.registry import get_registry

    registry, now = get_registry(), time.time()
    for row in rows:
        down_at = (row.get("extra") or {}).get("cluster_down_at")
        if not isinstance(down_at, (int, float)) or down_at < (row.get("ended") or 0):
            registry.update(row["id"], cluster_down_at=now, cluster_down={"how": how, "at": now})
    latest = rows[-1]
    if latest.get("log_path"):
        try:
            with LogWriter(latest["log_path"]) as log:
                log.write_line(f"[skyexec_nb] {message}")
        except OSError:
            pass  # the registry holds the fact; the log line is a courtesy


def stop_cluster(name: str, sky: Any = None) -> str:
    """Stop cluster ``name`` (``sky.stop``; its disks stay, compute billing ends); one line back.

    Raises:
        ClusterActionError: not a cluster of ours, a job of ours still on it, or SkyPilot refused (one line).
    """
    return _teardown(name, "stop", sky)


def down_cluster(name: str, sky: Any = None) -> str:
    """Tear cluster ``name`` down (``sky.down``); one line back. Raises as :func:`stop_cluster`."""
    return _teardown(name, "down", sky)


def down_idle(stop: bool = False, sky: Any = None) -> list[str]:
    """Stop (``stop=True``) or tear down every idle cluster launched from here: one line each.

    Raises:
        ClusterActionError: the clusters cannot be listed (one line).
    """
    lines = []
    for cluster in idle_clusters(sky):  # asks SkyPilot (imports sky) only when a cluster of ours may be idle
        try:
            lines.append(_teardown(cluster.name, "stop" if stop else "down", sky))
        except ClusterActionError as exc:
            lines.append(str(exc))
    return lines


def autostop_warning(executor_or_options: Any, backend: str) -> Optional[str]:
    """The warning for a skypilot launch whose cluster has neither autostop nor autodown, else None.

    ``executor_or_options``: a SkyExecutor, a Job (or registry row), or launch options
    (``autodown``, ``idle_minutes`` or ``idle_minutes_to_autostop``, ``cluster_name``).
    """
    if backend != "skypilot":
        return None
    source = executor_or_options
    options = _get(source, "launch_options")
    if isinstance(options, Mapping):  # a Job or a registry row: its recorded options, its cluster
        cluster = _get(source, "cluster")
        source = options
    else:
        cluster = None
    autodown = bool(_get(source, "autodown", False))
    idle = _get(source, "idle_minutes", _get(source, "idle_minutes_to_autostop"))
    if autodown or idle is not None:
        return None
    name = cluster or _get(source, "cluster_name") or _get(source, "cluster") or "skx-<id>"
    return AUTOSTOP_WARNING.format(name=name)
