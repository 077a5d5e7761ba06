"""``costs()``: what the jobs launched from here cost, per job, sweep or day, as estimates.

A job's cost is its hourly price × the time it was billed:

- its price: the one recorded at launch (``launch_options["limits"]["hourly"]``, see
  :mod:`.launching`), else, for a cloud job, the catalog price of what it launched
  (``extra["launched"]``) or of its resources, looked up now; local jobs without a rehearsal price
  have none;
- its run time: ``started`` to ``ended`` (or now);
- the time its cluster stayed up after it (skypilot backend, once the cluster came up): none with
  autodown; with ``idle_minutes_to_autostop=N``, N minutes; with neither, until a teardown or stop
  recorded from here (``extra["cluster_down_at"]``, or a finished ``down()``) or now. Another of our
  jobs starting on the cluster ends that idle time (its own time counts for it), and so does a
  recorded teardown or stop;
- a cluster shared (skypilot backend, one named cluster): while k of our jobs run on it at once,
  each is billed 1/k of that time, so the cluster's time is counted once, not k times.

Every figure is an estimate (catalog price × time; SkyPilot's bill may differ): rows say so.
A job's own cost limit (``engine.jobs.limit_watch``) still counts its whole run time: a limit errs
on the side of stopping.
"""
from __future__ import annotations

import datetime
import time
from collections import defaultdict
from typing import Any, Iterable, Optional

from skyexec_nb.engine.budget.prices import CLOUD_BACKENDS, PriceUnavailable, hourly_price
from skyexec_nb.engine.jobs.spend import row_limits
from skyexec_nb.engine.pricing.rows import row_price_config

ESTIMATE_NOTE = "estimate: catalog price x time; SkyPilot's bill may differ"
BY = ("job", "sweep", "day")
LOCAL_NO_PRICE = "runs on this machine: no cloud cost (no rehearsal price recorded)"
_SKIPPED_BACKENDS = frozenset({"attached"})  # watched, not launched from here


class Pricer:
    """Hourly prices of registry rows: recorded at launch, else looked up once per configuration.

    After a look-up that could not answer in time (a catalog being fetched, a slow worker), the
    other rows get the same reason at once rather than another wait.
    """

    def __init__(self, price: bool = True, timeout: float = 60.0) -> None:
        self.price, self.timeout = price, timeout
        self._memo: dict[str, tuple[Optional[float], str]] = {}
        self._gave_up = ""

    def __call__(self, row: dict[str, Any]) -> tuple[Optional[float], str]:
        """``(USD/hr or None, what was priced or why there is no price)``."""
        limits = row_limits(row)
        if limits.hourly is not None:
            return limits.hourly, limits.price_note
        if row.get("backend") not in CLOUD_BACKENDS:
            return None, LOCAL_NO_PRICE
        config = row_price_config(row)
        if not self.price:
            return None, "no price recorded at launch"
        key = repr(sorted((config.get("resources") or {}).items())) + f"/{config.get('num_nodes')}"
        if key not in self._memo:
            if self._gave_up:
                return None, self._gave_up
            try:
                self._memo[key] = hourly_price(config, str(row.get("backend")), timeout=self.timeout)
            except PriceUnavailable as exc:
                self._memo[key] = (None, str(exc))
                if exc.transient:
                    self._gave_up = str(exc)
        return self._memo[key]


def day_of(t: float) -> str:
    """The local date of epoch ``t``: ``'2026-12-03'``."""
    return datetime.date.fromtimestamp(t).isoformat()


def day_start(t: float) -> float:
    """Epoch of the local midnight that begins the day of ``t``."""
    return datetime.datetime.combine(datetime.date.fromtimestamp(t), datetime.time()).timestamp()


def split_by_day(start: float, end: float) -> Iterable[tuple[str, float]]:
    """``(local date, seconds)`` of ``[start, end)`` cut at local midnights."""
    while end > start:
        day = datetime.date.fromtimestamp(start)
        midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()).timestamp()
        cut = min(end, midnight)
        yield day.isoformat(), cut - start
        start = cut


def _down_times(row: dict[str, Any]) -> list[float]:
    """When a teardown or stop of the row's cluster was recorded (from here, or by a limit)."""
    extra = row.get("extra") or {}
    found = []
    if isinstance(extra.get("cluster_down_at"), (int, float)):
        found.append(float(extra["cluster_down_at"]))
    down = extra.get("down")
    if isinstance(down, dict) and down.get("state") == "done" and isinstance(down.get("at"), (int, float)):
        found.append(float(down["at"]))
    return found


def _cluster_came_up(row: dict[str, Any]) -> bool:
    extra = row.get("extra") or {}
    return extra.get("sky_job_id") is not None or bool(extra.get("launched"))


def idle_end(row: dict[str, Any], others: list[dict[str, Any]], now: float) -> float:
    """When the cluster a skypilot job ran on stopped billing for it after it ended (== ended: no idle time)."""
    ended = row.get("ended")
    if ended is None:
        return now
    options = row.get("launch_options") or {}
    if row.get("backend") != "skypilot" or options.get("autodown") or not _cluster_came_up(row):
        return ended
    ends = [now]
    idle = options.get("idle_minutes")
    if isinstance(idle, (int, float)) and not isinstance(idle, bool):
        ends.append(ended + 60.0 * idle)
    for other in others:
        ends += [t for t in _down_times(other) if t >= ended]
        if other["id"] != row["id"]:
            begun = other.get("started") or other.get("created")
            if begun is not None and begun >= ended:
                ends.append(begun)
            elif other.get("started") is not None and (other.get("ended") is None or other["ended"] > ended):
                return ended  # another of our jobs still runs on it: the cluster is not idle
    return max(ended, min(ends))


def split_shared(spans: dict[int, tuple[float, float]]) -> dict[int, list[tuple[float, float, int]]]:
    """Run spans of jobs on one cluster, cut where the number running changes: for each job, its
    pieces ``(start, end, k)`` with ``k`` of these jobs running during the piece (1: alone)."""
    events = sorted({t for span in spans.values() for t in span})
    starts: dict[float, list[int]] = defaultdict(list)
    ends: dict[float, list[int]] = defaultdict(list)
    for job, (a, b) in spans.items():
        if b > a:
            starts[a].append(job)
            ends[b].append(job)
    out: dict[int, list[tuple[float, float, int]]] = {job: [] for job in spans}
    running: set[int] = set()
    for a, b in zip(events, events[1:]):
        running.difference_update(ends.get(a, ()))
        running.update(starts.get(a, ()))
        for job in running:
            pieces = out[job]
            if pieces and pieces[-1][1] == a and pieces[-1][2] == len(running):
                pieces[-1] = (pieces[-1][0], b, len(running))  # the same share goes on
            else:
                pieces.append((a, b, len(running)))
    return out


def _run_span(row: dict[str, Any], now: float) -> Optional[tuple[float, float]]:
    started, ended = row.get("started"), row.get("ended")
    if started is None or started >= now:
        return None
    return started, max(started, min(ended, now) if ended is not None else now)


def _shares(rows: list[dict[str, Any]], now: float) -> dict[int, list[tuple[float, float, int]]]:
    """The run pieces of skypilot jobs that ran at once on one named cluster (see ``split_shared``)."""
    by_cluster: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
    for row in rows:
        span = _run_span(row, now)
        if row.get("backend") == "skypilot" and row.get("cluster") and span is not None:
            by_cluster[str(row["cluster"])][row["id"]] = span
    out: dict[int, list[tuple[float, float, int]]] = {}
    for spans in by_cluster.values():
        if len(spans) > 1:
            out.update(split_shared(spans))
    return out


def _touches(row: dict[str, Any], since: float, now: float) -> bool:
    """True when a job may have been billed after ``since`` (or was launched after it)."""
    if (row.get("created") or 0) >= since or row.get("ended") is None:
        return True
    return row["ended"] >= since or row.get("backend") == "skypilot"  # its cluster may have stayed up


def _clip(start: float, end: float, since: Optional[float]) -> tuple[float, float]:
    start = start if since is None else max(start, since)
    return start, max(start, end)


def job_rows(rows: list[dict[str, Any]], *, now: Optional[float] = None, since: Optional[float] = None,
             pricer: Optional[Pricer] = None) -> list[dict[str, Any]]:
    """One cost row per job (see :func:`costs`), with ``days``: {local date: USD} of its cost."""
    now = time.time() if now is None else now
    pricer = pricer or Pricer()
    by_cluster: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_cluster[str(row.get("cluster"))].append(row)
    shared = _shares(rows, now)
    out = []
    for row in rows:
        if row.get("backend") in _SKIPPED_BACKENDS:
            continue
        started, ended = row.get("started"), row.get("ended")
        if since is not None and not _touches(row, since, now):
            continue
        run = idle = shared_s = 0.0
        spans: list[tuple[float, float, int]] = []  # (start, end, jobs sharing the cluster meanwhile)
        span = _run_span(row, now)
        if span is not None:
            for a, b, k in shared.get(row["id"]) or [(*span, 1)]:
                a, b = _clip(a, b, since)
                spans.append((a, b, k))
                run += b - a
                shared_s += (b - a) if k > 1 else 0.0
            if ended is not None and ended < now:
                c, d = _clip(ended, idle_end(row, by_cluster[str(row.get("cluster"))], now), since)
                spans.append((c, d, 1))
                idle = d - c
        if since is not None and run + idle <= 0 and (row.get("created") or 0) < since:
            continue
        hourly, what = pricer(row)
        days: dict[str, float] = defaultdict(float)
        if hourly is not None:
            for a, b, k in spans:
                for day, seconds in split_by_day(a, b):
                    days[day] += hourly * seconds / 3600.0 / k
        note = ESTIMATE_NOTE if hourly is not None else f"no price: {what}"
        if shared_s > 0:
            note += f"; cluster shared with other jobs for {shared_s / 60:.0f} min (that time split between them)"
        if idle > 0:
            note += f"; cluster up {idle / 60:.0f} min after the job"
        out.append({
            "id": row["id"], "name": row.get("name"), "sweep": ((row.get("extra") or {}).get("sweep") or {}).get("id"),
            "backend": row.get("backend"), "cluster": row.get("cluster"), "status": str(row.get("status")),
            "started": started, "ended": ended, "run_s": run, "idle_s": idle, "cluster_s": run + idle,
            "shared_s": shared_s,
            "hourly": hourly, "cost": sum(days.values()) if hourly is not None else None,
            "estimate": True, "price": what if hourly is not None else None, "note": note, "days": dict(days),
        })
    return out


def _sum(items: list[dict[str, Any]], key: str) -> Optional[float]:
    values = [i[key] for i in items if i[key] is not None]
    return sum(values) if values else None


def sweep_rows(jobs: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Job rows summed per sweep (``sweep`` None: jobs outside any sweep)."""
    groups: dict[Optional[str], list[dict[str, Any]]] = defaultdict(list)
    for job in jobs:
        groups[job["sweep"]].append(job)
    out = []
    for sweep, items in groups.items():
        unpriced = sum(1 for i in items if i["cost"] is None)
        note = ESTIMATE_NOTE + (f"; {unpriced} job(s) without a price not counted" if unpriced else "")
        ends = [i["ended"] for i in items]
        out.append({"sweep": sweep, "name": names.get(sweep or "", None), "jobs": len(items),
                    "priced": len(items) - unpriced, "started": min(filter(None, (i["started"] for i in items)),
                                                                    default=None),
                    "ended": None if None in ends else max(ends, default=None),
                    "run_s": sum(i["run_s"] for i in items), "idle_s": sum(i["idle_s"] for i in items),
                    "cluster_s": sum(i["cluster_s"] for i in items), "cost": _sum(items, "cost"),
                    "estimate": True, "note": note})
    return out


def day_rows(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Job rows' costs summed per local day, oldest first."""
    cost: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for job in jobs:
        for day, amount in job["days"].items():
            cost[day] += amount
            count[day] += 1
    unpriced = sum(1 for j in jobs if j["cost"] is None)
    note = ESTIMATE_NOTE + (f"; {unpriced} job(s) without a price not counted" if unpriced else "")
    return [{"day": day, "jobs": count[day], "cost": cost[day], "estimate": True, "note": note}
            for day in sorted(cost)]


def costs(by: str = "job", *, since: Optional[float] = None, as_frame: bool = False, now: Optional[float] = None,
          price: bool = True) -> Any:
    """What the jobs launched from here cost, as estimates from the catalog (blocking: may price).

    Args:
        by: ``"job"`` (one row per job: id, name, sweep, backend, cluster, status, started, ended,
            run_s, idle_s (cluster up after the job), cluster_s (run_s + idle_s), shared_s (run time
            while other jobs of ours ran on the same cluster: its cost is split), hourly, cost,
            estimate, price (what was priced), note), ``"sweep"`` or ``"day"`` (sums; a job running
            over midnight counts in both days).
        since: count only time after this epoch (and only jobs with time after it).
        as_frame: a pandas DataFrame instead of a list of dicts.
        now: the time costs are computed at (default now).
        price: look up the catalog price of cloud jobs that recorded none at launch.

    Raises:
        ValueError: ``by`` is not one of job, sweep, day (one line); ImportError: ``as_frame``
            without pandas.
    """
    if by not in BY:
        raise ValueError(f"Invalid by: one of {', '.join(BY)}. Found: {by!r}")
    from skyexec_nb.engine.jobs.registry import get_registry

    rows = get_registry().rows()
    jobs = job_rows(rows, now=now, since=since, pricer=Pricer(price))
    if by == "job":
        out = [{k: v for k, v in j.items() if k != "days"} for j in jobs]
    elif by == "sweep":
        sweeps = [(r.get("extra") or {}).get("sweep") for r in rows]
        names = {str(s.get("id")): s.get("name") for s in sweeps if isinstance(s, dict)}
        out = sweep_rows(jobs, names)
    else:
        out = day_rows(jobs)
    if not as_frame:
        return out
    try:
        import pandas
    except ImportError:
        raise ImportError("costs(as_frame=True) needs pandas: pip install pandas") from None
    return pandas.DataFrame(out)
