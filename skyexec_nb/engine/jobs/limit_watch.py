"""Enforcing a job's spend limits from its supervisor, so they hold with the kernel gone.

The supervisor's row watcher calls :meth:`LimitWatch.tick` every half second with the job's row.
The clock starts when the supervisor begins running the job (after a sweep slot, before any
provisioning: :meth:`LimitWatch.begin` stamps ``started``). A limit that passes:

* writes one line to the job's log (``skyexec_nb: time limit 2h reached (ran 2h): cancelling the
  job and tearing down cluster skx-12``) and ``extra["limit"] = {"kind", "text", "at"}``;
* cancels the job (``ctx.cancelled``); it ends CANCELLED with the text as its ``error``;
* asks the backend to tear down a cluster launched for the job (``ctx.teardown``; the backend's
  ``limit_action`` says whether there is one).

80 % of a cost limit writes a line and ``extra["limit_warning"]`` once (just before the stop line
when one tick saw both: a warning is never skipped). A sweep group's limit
counts every member (:func:`~.spend.group_cost`); the member that sees it crossed also ends its
group's queued members CANCELLED without running, and the other running members stop at their
own next tick. ``extra["spend"]`` gets the cost so far every :data:`SPEND_EVERY` seconds and at
the end. A supervisor killed with ``-9`` enforces nothing: the liveness check fails its job.
Limits changed while the job runs (:mod:`.limit_change`) are read from the row at the next tick.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from skyexec_nb.engine.jobs.backend_api import RunContext, one_line
from skyexec_nb.engine.jobs.backend_table import get_backend
from skyexec_nb.engine.jobs.logfile import LogWriter
from skyexec_nb.engine.jobs.limit_change import what_changed
from skyexec_nb.engine.jobs.spend import Limits, cancel_queued, group_cost, group_warned, job_cost, row_limits
from skyexec_nb.model.spend_limits import format_duration_short, format_money

PREFIX = "skyexec_nb: "
WARN_AT = 0.8
SPEND_EVERY = 10.0
ESTIMATE = "estimated from the catalog"


class LimitWatch:
    """One job's limits, checked by its supervisor (see the module docstring).

    Args:
        ctx: The job's run context.
        backend: The job's backend name (its ``limit_action`` words the stop and says whether to tear down).
    """

    def __init__(self, ctx: RunContext, backend: str) -> None:
        self.ctx = ctx
        self.backend = backend
        self.lock = threading.Lock()  # the watcher's tick and begin() may meet
        recorded = ctx.launch_options.get("limits")
        self.limits = Limits.from_options(recorded)
        self.active = bool(recorded)  # a limit, or a price to keep the cost of
        self.running = False
        self.fired = False
        self.warned: set[str] = set()
        self.spend_at = 0.0

    def begin(self) -> bool:
        """Start the clock (the job is about to run); False when a limit stops it before it runs."""
        if not self.active:
            self.running = True  # a time limit set later (``limit_change``) counts from ``started``
            return True
        registry, job_id = self.ctx.registry, self.ctx.job_id
        row = registry.get(job_id)
        if row is not None and row["started"] is None:
            registry.update(job_id, started=time.time())  # provisioning is billed: count from here
            row = registry.get(job_id)
        self.running = True
        if row is None or row["status"].is_terminal:
            return False
        return not self.tick(row)

    def tick(self, row: dict[str, Any], now: float | None = None) -> bool:
        """Check the limits against ``row`` (the job's current row); True when one stopped the job.

        Limits changed in the row since the last tick (``limit_change``) are taken, with a log line.
        """
        current = row_limits(row)
        if not self.active and not current.any:
            return False
        with self.lock:
            if current != self.limits:
                self._adopt(current, row, now)
            return self.fired or self._check(row, now)

    def _adopt(self, new: Limits, row: dict[str, Any], now: float | None) -> None:
        old, self.limits = self.limits, new
        changed = what_changed(old, new)
        if changed:
            self.ctx.log.write_line(f"{PREFIX}limits changed: {changed}")
        if new.max_cost != old.max_cost and "cost" in self.warned:
            cost = job_cost(row, now)
            if new.max_cost is None or cost is None or cost < WARN_AT * new.max_cost:
                self.warned.discard("cost")  # warn again at 80 % of the new limit
                if ((row.get("extra") or {}).get("limit_warning") or {}).get("kind") == "cost":
                    self.ctx.update(limit_warning=None)

    def _check(self, row: dict[str, Any], now: float | None) -> bool:
        now = time.time() if now is None else now
        limits = self.limits
        outside = (row.get("extra") or {}).get("limit")
        if isinstance(outside, dict) and outside.get("text"):  # recorded by another process
            self._stop(str(outside.get("kind") or "limit"), str(outside["text"]), whole=True)
            return True
        started = row.get("started")
        if self.running and started is not None and limits.timeout is not None and now - started >= limits.timeout:
            self._stop("timeout", f"time limit {format_duration_short(limits.timeout)} reached "
                                  f"(ran {format_duration_short(now - started)})")
            return True
        cost = job_cost(row, now)
        if cost is not None and limits.max_cost is not None:
            if cost >= WARN_AT * limits.max_cost and "cost" not in self.warned:  # also when 100 % came first
                self._warn("cost", f"80% of the {format_money(limits.max_cost)} cost limit used "
                                   f"({format_money(cost)} so far, {ESTIMATE})")
            if cost >= limits.max_cost:
                self._stop("cost", f"cost limit {format_money(limits.max_cost)} reached "
                                   f"({format_money(cost)} so far, {ESTIMATE})")
                return True
        if limits.group is not None and limits.group_max_cost is not None and self._group(now):
            return True
        if self.running and cost is not None and now - self.spend_at >= SPEND_EVERY:
            self.spend_at = now
            self.ctx.update(spend={"cost": round(cost, 6), "at": now})
        return False

    def finish(self) -> None:
        """Record the final cost (``extra["spend"]``) once the job has ended."""
        if not self.active and self.limits.hourly is None:
            return
        row = self.ctx.registry.get(self.ctx.job_id)
        cost = job_cost(row) if row is not None and row["started"] is not None else None
        if cost is not None:
            self.ctx.update(spend={"cost": round(cost, 6), "at": time.time()})

    def _group(self, now: float) -> bool:
        limits = self.limits
        cost, members = group_cost(self.ctx.registry, limits.group, now)
        limit = limits.group_max_cost
        spent = f"{format_money(cost)} so far for {members} job{'s' if members != 1 else ''}, {ESTIMATE}"
        if cost >= WARN_AT * limit and "sweep_cost" not in self.warned:  # once per group
            self.warned.add("sweep_cost")
            if not group_warned(self.ctx.registry, limits.group):
                self._warn("sweep_cost", f"80% of the {format_money(limit)} sweep cost limit used ({spent})")
        if cost >= limit:
            text = f"sweep cost limit {format_money(limit)} reached ({spent})"
            self._stop("sweep_cost", text)
            self._stop_queued(text)
            return True
        return False

    def _warn(self, kind: str, text: str) -> None:
        self.warned.add(kind)
        self.ctx.log.write_line(PREFIX + text)
        self.ctx.update(limit_warning={"kind": kind, "text": text, "at": time.time()})

    def _action(self) -> tuple[str, bool]:
        """What the backend does about a limit: (words, tear down the cluster after the job?)."""
        try:
            return get_backend(self.backend).limit_action(self.ctx)
        except Exception as exc:  # noqa: BLE001 - the job is cancelled whatever the backend says
            self.ctx.log.write_line(f"{PREFIX}cannot tell whether to tear down: {one_line(exc)}")
            return "cancelling the job", False

    def _stop(self, kind: str, text: str, whole: bool = False) -> None:
        """Record why, write the line, ask the backend to tear down, cancel the job."""
        self.fired = True
        action, teardown = self._action()
        if not whole:  # else the text another process recorded already says what happens
            text = f"{text}: {action}"
            self.ctx.update(limit={"kind": kind, "text": text, "at": time.time()})
        self.ctx.stop_reason, self.ctx.teardown = text, teardown
        self.ctx.log.write_line(PREFIX + text)
        self.ctx.cancelled.set()

    def _stop_queued(self, text: str) -> None:
        """End the group's members no supervisor has taken yet, without running them."""
        stopped = f"{text}: cancelled before it ran"
        limit = {"kind": "sweep_cost", "text": stopped, "at": time.time()}
        for ended in cancel_queued(self.ctx.registry, self.limits.group, stopped, limit):
            if ended["log_path"]:
                with LogWriter(ended["log_path"]) as log:
                    log.write_line(PREFIX + stopped)
