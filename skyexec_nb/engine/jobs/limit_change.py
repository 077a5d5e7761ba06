"""Changing a running job's limits: more time for a job that needs it, a cost limit added later.

``change_limits`` rewrites ``launch_options["limits"]`` of a job that has not ended, in one
transaction. The job's supervisor reads its row every half second (``limit_watch``), takes the new
limits at its next tick, and writes one line to the job's log saying what changed. A limit set
below what the job has already used stops it at that tick, as any limit does.

A value ``None`` leaves that limit as it is; ``"off"`` removes it; anything else is parsed as at
launch (``parse_duration``, ``parse_money``). A cost limit needs the job's hourly price: the one
recorded at launch, else ``hourly`` given by the caller (the API looks it up in the catalog).
"""
from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from skyexec_nb.engine.jobs.spend import Limits, check_limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.spend_limits import format_duration_short, format_money, parse_duration, parse_money

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.engine.jobs.registry import Registry

OFF = ("off", "none")  # the words that remove a limit
NOT_OURS = frozenset({"attached"})  # backends of work launched elsewhere: we do not own it


class LimitChangeRefused(ValueError):
    """The job's limits cannot change (it has ended, is not recorded, or was launched elsewhere); one line."""


def _is_off(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in OFF


def parse_change(timeout: Any = None, max_cost: Any = None) -> dict[str, Any]:
    """The fields to change: ``{"timeout": seconds or None (removed), "max_cost": ...}``, only
    those given. Raises FieldError (one line) for a value out of range."""
    changes: dict[str, Any] = {}
    for name, value, parse in (("timeout", timeout, parse_duration), ("max_cost", max_cost, parse_money)):
        if value is None:
            continue
        if _is_off(value):
            changes[name] = None
            continue
        parsed = parse(value, name)
        if parsed is None:  # '' or blanks: say what is allowed rather than remove the limit
            raise FieldError(name, f"a value like {'3h or 90m' if name == 'timeout' else '80'}, or 'off' to "
                             "remove it", value)
        changes[name] = parsed
    return changes


def describe(limits: Limits) -> str:
    """``time limit 3h, cost limit $80.00`` ('no limits' when it has none)."""
    parts = []
    if limits.timeout is not None:
        parts.append(f"time limit {format_duration_short(limits.timeout)}")
    if limits.max_cost is not None:
        parts.append(f"cost limit {format_money(limits.max_cost)}")
    if limits.group_max_cost is not None:
        parts.append(f"sweep cost limit {format_money(limits.group_max_cost)}")
    return ", ".join(parts) or "no limits"


def what_changed(old: Limits, new: Limits) -> str:
    """``time limit 2h -> 3h; cost limit none -> $80.00`` ('' when nothing changed)."""
    out = []
    if old.timeout != new.timeout:
        show = (lambda s: "none" if s is None else format_duration_short(s))
        out.append(f"time limit {show(old.timeout)} -> {show(new.timeout)}")
    if old.max_cost != new.max_cost:
        show = (lambda d: "none" if d is None else format_money(d))
        out.append(f"cost limit {show(old.max_cost)} -> {show(new.max_cost)}")
    return "; ".join(out)


def change_limits(registry: Registry, job_id: int, *, timeout: Any = None, max_cost: Any = None,
                  hourly: float | None = None, price_note: str = "") -> tuple[Limits, Limits]:
    """Set a job's limits while it runs; returns ``(old, new)``. Nothing is written on an error.

    Raises:
        FieldError: a value out of range, or a cost limit with no hourly price (one line).
        LimitChangeRefused: the job has ended or is not recorded (one line).
    """
    from skyexec_nb.engine.jobs.registry import _Transaction

    changes = parse_change(timeout, max_cost)

    def op(conn: Any) -> tuple[Limits, Limits]:
        with _Transaction(conn):
            found = conn.execute("SELECT status, backend, launch_options FROM jobs WHERE id = ?",
                                 (int(job_id),)).fetchone()
            if found is None:
                raise LimitChangeRefused(f"No job {job_id} in the registry")
            if found["backend"] in NOT_OURS:
                raise LimitChangeRefused(f"Job {job_id} was launched elsewhere (watched here): limits apply only "
                                         "to jobs launched from here")
            status = JobStatus(found["status"])
            if status.is_terminal:
                raise LimitChangeRefused(f"Job {job_id} has ended ({status.value}): its limits no longer apply")
            options = json.loads(found["launch_options"] or "{}") or {}
            old = Limits.from_options(options.get("limits"))
            new = dataclasses.replace(old, **changes)
            if new.hourly is None and hourly is not None:
                new = dataclasses.replace(new, hourly=float(hourly), price_note=price_note)
            if new.max_cost is not None and new.hourly is None:
                raise FieldError("max_cost", "a limit on a job whose hourly price is known (no price was recorded "
                                 "at launch, and none was given)", changes.get("max_cost"))
            check_limits(new)
            options["limits"] = new.to_options()
            registry._apply(conn, job_id, {"launch_options": options})
            return old, new

    return registry._run(op, "write")
