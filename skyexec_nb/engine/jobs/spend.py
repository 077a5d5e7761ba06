"""Spend limits recorded with a job at launch, and the job's estimated cost so far.

A job's limits live in its row as ``launch_options["limits"]`` (:meth:`Limits.to_options`): a time
limit, a cost limit for the job and one for its sweep group, and the hourly price they are
measured with (the catalog price of all the job's nodes, spot or on-demand as launched). The
job's supervisor enforces them (``limit_watch``), so they hold with the kernel gone.

Cost is an estimate: ``hourly`` x the time from ``started`` (stamped when the supervisor begins
running the job, before provisioning: provisioning is billed too) to ``ended`` (or now).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from skyexec_nb.engine.jobs.status import TERMINAL
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.spend_limits import parse_duration, parse_money

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.engine.jobs.registry import Registry

MAX_HOURLY_USD = 1_000_000.0
"""An hourly price beyond this is a unit mix-up (the largest clusters cost thousands an hour)."""
_FLOAT_FIELDS = ("timeout", "max_cost", "hourly", "group_max_cost")


@dataclasses.dataclass(frozen=True)
class Limits:
    """A job's spend limits and the price they are measured with.

    Attributes:
        timeout: Seconds, counted from when the supervisor starts running the job (after a sweep slot).
        max_cost: USD for this job.
        hourly: USD/hr of the job's resources, all nodes (catalog price x num_nodes, spot or on-demand).
        price_note: What was priced, e.g. ``"aws p3.2xlarge x 2 in us-east-1, on-demand (catalog of ...)"``.
        group: The sweep group key ``group_max_cost`` applies to (every member carries the same key).
        group_max_cost: USD for all the group's members together.
    """

    timeout: float | None = None
    max_cost: float | None = None
    hourly: float | None = None
    price_note: str = ""
    group: str | None = None
    group_max_cost: float | None = None

    def to_options(self) -> dict[str, Any]:
        """JSON-able dict for ``launch_options["limits"]``; None fields (and an empty note) omitted."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or value == "":
                continue
            out[f.name] = float(value) if f.name in _FLOAT_FIELDS else value
        return out

    @classmethod
    def from_options(cls, options: Mapping | None) -> Limits:
        """The Limits of a ``launch_options["limits"]`` dict (or of a whole ``launch_options``).

        Unknown keys and values of the wrong type are ignored (a row written by another version).
        """
        if not isinstance(options, Mapping):
            return cls()
        if "limits" in options and isinstance(options.get("limits"), Mapping):
            options = options["limits"]
        values: dict[str, Any] = {}
        for name in _FLOAT_FIELDS:
            value = options.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                values[name] = float(value)
        if isinstance(options.get("price_note"), str):
            values["price_note"] = options["price_note"]
        if isinstance(options.get("group"), str) and options["group"]:
            values["group"] = options["group"]
        return cls(**values)

    @property
    def any(self) -> bool:
        """True when there is a limit to enforce (a time limit, a job or a group cost limit)."""
        return self.timeout is not None or self.max_cost is not None or self.group_max_cost is not None

    @property
    def cost_limited(self) -> bool:
        """True when a cost limit (job or group) is set."""
        return self.max_cost is not None or self.group_max_cost is not None


def row_limits(row: Mapping | None) -> Limits:
    """The Limits recorded in a job row (empty when none)."""
    if not row:
        return Limits()
    return Limits.from_options((row.get("launch_options") or {}).get("limits"))


def elapsed(row: Mapping, now: float | None = None) -> float:
    """Seconds the job has been running (from ``started`` to ``ended`` or now); 0 before it starts."""
    started = row.get("started")
    if started is None:
        return 0.0
    end = row.get("ended")
    end = end if end is not None else (time.time() if now is None else now)
    return max(0.0, float(end) - float(started))


def job_cost(row: dict, now: float | None = None) -> float | None:
    """Estimated USD so far: ``hourly x (ended or now - started) / 3600``; None without an hourly price.

    A job that has not started yet costs 0.0 (a sweep member waiting for its slot runs nothing).
    """
    hourly = row_limits(row).hourly
    if hourly is None:
        return None
    return hourly * elapsed(row, now) / 3600.0


def _refuse_hourly(value: Any) -> None:
    raise FieldError("hourly", "USD per hour of all the job's nodes, 0 or more and at most 1,000,000", value)


def check_limits(limits: object) -> Limits | None:
    """``limits`` checked for a launch: None, or a :class:`Limits` whose values are in range.

    Raises:
        FieldError: (one line) not a Limits; a time limit or cost out of range (``parse_duration``,
            ``parse_money``); a cost limit on a job whose hourly price is unknown.
    """
    if limits is None:
        return None
    if not isinstance(limits, Limits):
        raise FieldError("limits", "a Limits(timeout=..., max_cost=..., hourly=...) or None", limits)
    if limits.timeout is not None:
        parse_duration(limits.timeout)
    for name in ("max_cost", "group_max_cost"):
        value = getattr(limits, name)
        if value is not None:
            parse_money(value, name)
    hourly = limits.hourly
    if hourly is not None and (isinstance(hourly, bool) or not isinstance(hourly, (int, float))
                               or not math.isfinite(hourly) or not 0 <= hourly <= MAX_HOURLY_USD):
        _refuse_hourly(hourly)
    if not isinstance(limits.price_note, str):
        raise FieldError("price_note", "a line of text saying what was priced", limits.price_note)
    if limits.group is not None and (not isinstance(limits.group, str) or not limits.group.strip()):
        raise FieldError("group", "a sweep group name (non-empty text) or None", limits.group)
    if hourly is None:
        for name in ("max_cost", "group_max_cost"):
            if getattr(limits, name) is not None:
                note = limits.price_note or "no price was given"
                raise FieldError(name, f"a limit on a job whose hourly price is known (no catalog price: {note})",
                                 getattr(limits, name))
    return limits


_TERMINAL_VALUES = tuple(s.value for s in TERMINAL)
_GROUP = "json_extract(launch_options, '$.limits.group')"
_HOURLY = "json_extract(launch_options, '$.limits.hourly')"


def group_cost(registry: Registry, group: str, now: float | None = None) -> tuple[float, int]:
    """(estimated USD so far, members that started) of sweep group ``group``: the sum of
    :func:`job_cost` over the registry rows whose ``limits.group`` is ``group`` (one SQL query)."""
    now = time.time() if now is None else now
    query = (f"SELECT COALESCE(SUM({_HOURLY} * MAX(0.0, COALESCE(ended, ?) - started)), 0.0) / 3600.0, COUNT(*)"
             f" FROM jobs WHERE {_GROUP} = ? AND started IS NOT NULL AND {_HOURLY} IS NOT NULL")
    cost, count = registry._run(lambda conn: conn.execute(query, (now, group)).fetchone(), "read")
    return float(cost or 0.0), int(count or 0)


def group_warned(registry: Registry, group: str) -> bool:
    """True when a member of ``group`` already carries the group's 80 % warning."""
    query = (f"SELECT 1 FROM jobs WHERE {_GROUP} = ?"
             " AND json_extract(extra, '$.limit_warning.kind') = 'sweep_cost' LIMIT 1")
    return registry._run(lambda conn: conn.execute(query, (group,)).fetchone(), "read") is not None


def cancel_queued(registry: Registry, group: str, error: str, limit: dict[str, Any]) -> list[dict[str, Any]]:
    """End CANCELLED, without running, every member of ``group`` that no supervisor has taken
    (one transaction: a supervisor claiming one at the same moment finds it terminal).

    Returns the ``{"id", "log_path"}`` of each job ended.
    """
    import json

    from skyexec_nb.engine.jobs.registry import _Transaction

    marks = ", ".join("?" for _ in _TERMINAL_VALUES)
    query = ("UPDATE jobs SET status = 'CANCELLED', ended = ?, error = ?, updated = ?,"
             " extra = json_set(COALESCE(NULLIF(extra, ''), '{}'), '$.limit', json(?))"
             f" WHERE {_GROUP} = ? AND supervisor_pid IS NULL AND status NOT IN ({marks})"
             " RETURNING id, log_path")

    def op(conn: Any) -> list[dict[str, Any]]:
        now = time.time()
        with _Transaction(conn):
            rows = conn.execute(query, (now, error, now, json.dumps(limit), group, *_TERMINAL_VALUES)).fetchall()
        return [{"id": r[0], "log_path": r[1]} for r in rows]

    return registry._run(op, "write")
