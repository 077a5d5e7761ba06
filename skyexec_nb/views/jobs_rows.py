"""The rows of the jobs table: one job (:class:`JobRow`) or one sweep's group (:class:`SweepRow`).

A row is not a widget: its cells go into the table's grid, one per column (:data:`COLUMNS`). Job
rows carry ``skx-jobs-row`` and ``skx-job-<id>`` (a sweep's members also ``skx-jobs-member``);
group rows carry ``skx-jobs-group`` and ``skx-sweep-<id>``, with the status column showing the
members' counts per state and the actions Expand (``skx-jobs-expand``), Cancel all
(``skx-jobs-cancel-all``) and Sweep panel (``skx-jobs-sweep-button``). Cells: ``skx-jobs-name``,
``skx-jobs-resources`` (what was asked for, then backend and cluster), ``skx-jobs-started``,
``skx-jobs-duration``, ``skx-jobs-exit``, ``skx-jobs-cost``. A member row is named by its values
(``LR=1e-3 BS=32``; the group row holds the sweep's name, the full job name is the tooltip).
What a row shows is computed once as text (:func:`job_texts`), so the table's saved record shows
the same columns. Rows call the table's handlers only; assignments of unchanged text send nothing.
"""
from __future__ import annotations

import html
import re
import time
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.views.launch_panel import CLUSTER_BACKENDS, elapsed_of, recovery_count
from skyexec_nb.views.static_repr import exit_codes_text, resources_text
from skyexec_nb.views.status_badge import StatusBadge, format_duration, format_time
from skyexec_nb.views.sweep_panel import counts_html, sweep_name, values_text

#: Column titles (the last one holds the row's buttons).
COLUMNS = ("Name", "Status", "Resources", "Started", "Duration", "Exit", "Cost", "")
RECOVERIES_AT = 2  # where the Recoveries column goes when shown (after Status)


def with_recoveries(items: tuple, extra: Any, shown: bool) -> list:
    """``items`` (one per column) with ``extra`` inserted at the Recoveries position when ``shown``."""
    return [*items[:RECOVERIES_AT], extra, *items[RECOVERIES_AT:]] if shown else list(items)


def cell(css: str) -> widgets.HTML:
    """An HTML cell with CSS class ``css``."""
    out = widgets.HTML(layout=widgets.Layout(width="auto", min_width="0"))
    out.add_class(css)
    return out


def button(text: str, css: str, tip: str, on_click: Callable[[], Any], icon: str = "") -> widgets.Button:
    """A compact button with CSS class ``css`` calling ``on_click()`` (icon-only when ``text`` is '')."""
    out = widgets.Button(description=text, tooltip=tip, icon=icon,
                         layout=widgets.Layout(width="auto", padding="0 6px" if not text else None))
    out.add_class(css)
    out.on_click(lambda _: on_click())
    return out


def sweep_info(row: dict[str, Any]) -> dict[str, Any] | None:
    """A registry row's ``extra["sweep"]`` (``{id, index, size, values, max_parallel, name}``), None if not in a sweep."""
    info = (row.get("extra") or {}).get("sweep")
    return info if isinstance(info, dict) and info.get("id") is not None else None


def short_time(epoch: float | None, now: float | None = None) -> str:
    """``14:03:22`` today, ``05-12 14:03`` on another day; an em dash for None."""
    if not epoch:
        return "—"
    now = time.time() if now is None else now
    same_day = time.localtime(epoch)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if same_day else "%m-%d %H:%M", time.localtime(epoch))


def exit_short(codes: dict[Any, Any] | None) -> str:
    """The exit codes in a few characters: ``0``, ``0, 3`` (distinct codes); '' when none recorded."""
    if not codes:
        return ""
    return ", ".join(dict.fromkeys(str(c) for _, c in sorted(codes.items(), key=lambda kv: int(kv[0]))))


def job_texts(row: dict[str, Any], cost: tuple[str, str, Any] = ("—", "", None)) -> dict[str, Any]:
    """What a job's row shows, as text: the table's cells and its record use this."""
    cloud = row.get("backend") in CLUSTER_BACKENDS
    status = JobStatus(str(row["status"]))
    started = row.get("started") or row.get("created")
    return {
        "id": row["id"], "name": str(row["name"]), "backend": str(row["backend"]), "status": status.value,
        "resources": re.sub(r"^node × ", "", resources_text(row.get("config"))) or "default resources",
        "where": str(row["backend"]) + (f" · {row['cluster']}" if cloud and row.get("cluster") else ""),
        "started": short_time(started), "started_full": format_time(started),
        "duration": format_duration(elapsed_of(row)),
        "exit": exit_short(row.get("exit_codes")) or "—", "exit_full": exit_codes_text(row.get("exit_codes")),
        "cost": cost[0], "cost_full": cost[1], "cost_amount": cost[2],
    }


def _muted(text: str) -> str:
    return f'<span class="skx-muted" style="color:var(--jp-ui-font-color2, #6c757d)">{html.escape(text)}</span>'


def _titled(text: str, title: str) -> str:
    return f'<span title="{html.escape(title)}">{html.escape(text)}</span>' if title else html.escape(text)


class _Row:
    """Shared parts: the column cells, the Recoveries cell and the row's CSS classes."""

    def __init__(self, classes: tuple[str, ...], actions: list[widgets.Button], verbs: list[widgets.Button]) -> None:
        self.name, self.resources, self.started = cell("skx-jobs-name"), cell("skx-jobs-resources"), cell("skx-jobs-started")
        self.duration, self.exit, self.cost = cell("skx-jobs-duration"), cell("skx-jobs-exit"), cell("skx-jobs-cost")
        self.recoveries = cell("skx-jobs-recoveries")
        self.recovery_count: int | None = None
        self.texts: dict[str, Any] = {}
        self.actions = widgets.HBox(actions, layout=widgets.Layout(width="auto", flex_flow="row nowrap"))
        self.verbs = verbs  # the buttons disabled while one of them runs
        self.busy = False
        for w in [*self.cells, self.recoveries]:  # subclasses set their status cell before this
            for css in classes:
                w.add_class(css)

    @property
    def status_cell(self) -> widgets.Widget:
        raise NotImplementedError

    @property
    def cells(self) -> list[widgets.Widget]:
        """The row's grid cells, in column order."""
        return [self.name, self.status_cell, self.resources, self.started, self.duration, self.exit, self.cost,
                self.actions]

    def grid_cells(self, recoveries: bool) -> list[widgets.Widget]:
        """The row's cells in the table's current columns (with the Recoveries cell when shown)."""
        return with_recoveries(tuple(self.cells), self.recoveries, recoveries)

    def _show_recoveries(self, count: int | None) -> None:
        self.recovery_count = count
        self.recoveries.value = "" if count is None else str(count)

    def _show_common(self, t: dict[str, Any]) -> None:
        self.texts = t
        self.resources.value = f"{html.escape(t['resources'])}<br>{_muted(t['where'])}"
        self.started.value = _titled(t["started"], t["started_full"])
        self.duration.value = html.escape(t["duration"])
        self.exit.value = _titled(t["exit"], t["exit_full"])
        self.cost.value = _titled(t["cost"], t["cost_full"])

    def close(self) -> None:
        for w in [*self.cells, self.recoveries, *self.actions.children]:
            w.close()


class JobRow(_Row):
    """One job's row; ``member`` indents it under its sweep's group row."""

    def __init__(self, table: Any, job_id: int, member: bool = False) -> None:
        self.job_id, self.table, self.member = job_id, table, member
        self.badge = StatusBadge()
        self.show_button = button("", "skx-show-button", "Show this job's panel (log, details) below the table",
                                  lambda: table.show(job_id), icon="eye")
        self.cancel_button = button("", "skx-cancel-button", "Cancel: stop the job", lambda: table.cancel(job_id),
                                    icon="stop")
        self.down_button = button("", "skx-down-button", "Tear down: remove the job's cluster",
                                  lambda: table.down(job_id), icon="trash")
        classes = ("skx-jobs-row", f"skx-job-{job_id}") + (("skx-jobs-member",) if member else ())
        super().__init__(classes, [self.show_button, self.cancel_button, self.down_button],
                         [self.cancel_button, self.down_button])

    @property
    def status_cell(self) -> widgets.Widget:
        return self.badge

    def update(self, row: dict[str, Any], cost: tuple[str, str, Any] = ("—", "", None)) -> None:
        """Show a registry row (and its cost, see :class:`~skyexec_nb.views.jobs_costs.JobCosts`)."""
        t = job_texts(row, cost)
        status = JobStatus(t["status"])
        label = member_label(row) if self.member else html.escape(t["name"])
        self.name.value = f"{label} {_muted('#' + str(row['id']))}"
        self.badge.set_status(status)
        self._show_common(t)
        self._show_recoveries(recovery_count(row["backend"], row))
        self.cancel_button.disabled = status.is_terminal or status == JobStatus.CANCELLING or self.busy
        self.down_button.disabled = row["backend"] not in CLUSTER_BACKENDS or not row.get("cluster") or self.busy


class SweepRow(_Row):
    """One sweep's group row: counts per state over its members, Expand, Cancel all, Sweep panel."""

    def __init__(self, table: Any, sweep_id: str) -> None:
        self.sweep_id, self.table = sweep_id, table
        self.expanded = False
        self.counts: dict[str, int] = {}
        self.status = cell("skx-jobs-counts")
        self.expand_button = button("", "skx-jobs-expand", "Expand: show this sweep's jobs", lambda: table.toggle(sweep_id),
                                    icon="caret-right")
        self.cancel_button = button("", "skx-jobs-cancel-all", "Cancel all: stop every job of the sweep",
                                    lambda: table.cancel_sweep(sweep_id), icon="stop")
        self.sweep_button = button("", "skx-jobs-sweep-button", "Show the sweep panel (its grid) below the table",
                                   lambda: table.show_sweep(sweep_id), icon="th")
        super().__init__(("skx-jobs-group", f"skx-sweep-{sweep_id}"),
                         [self.expand_button, self.cancel_button, self.sweep_button], [self.cancel_button])

    @property
    def status_cell(self) -> widgets.Widget:
        return self.status

    def set_expanded(self, expanded: bool) -> None:
        """Flip the expand button's look (the table lays out the member rows)."""
        self.expanded = expanded
        self.expand_button.tooltip = ("Collapse: hide this sweep's jobs" if expanded
                                      else "Expand: show this sweep's jobs")
        self.expand_button.icon = "caret-down" if expanded else "caret-right"

    def update(self, members: list[dict[str, Any]], costs: list[tuple[str, str, Any]] | None = None) -> None:
        """Show the sweep's registry rows (any order, at least one) and their costs."""
        statuses = [JobStatus(str(r["status"])) for r in members]
        self.counts = {s.value: statuses.count(s) for s in JobStatus if s in statuses}
        info = sweep_info(members[0]) or {}
        size = max(int(info.get("size") or 0), len(members))
        nowrap = '<span style="white-space:nowrap">'  # wrap between the parts, never inside "6 jobs"
        name = sweep_name(members[0])
        self.name.value = (f'<b>{html.escape(name)}</b> <small title="sweep id {html.escape(str(self.sweep_id))}">'
                           f"{nowrap}sweep</span> · {nowrap}{size} jobs</span></small>")
        self.status.value = counts_html(self.counts)
        starts = [r.get("started") or r.get("created") for r in members]
        start = min((s for s in starts if s), default=None)
        done = all(s.is_terminal for s in statuses)
        end = max((r.get("ended") or 0 for r in members), default=0) if done else None
        texts = [job_texts(r) for r in members]
        clusters = sorted({str(r["cluster"]) for r in members if r.get("cluster") and r["backend"] in CLUSTER_BACKENDS})
        backends = ", ".join(sorted({t["backend"] for t in texts}))
        resources = sorted({t["resources"] for t in texts})
        codes = {str(c) for r in members for c in (r.get("exit_codes") or {}).values()}
        amounts = [c[2] for c in costs or [] if c[2] is not None]
        cloud = [c for c in costs or [] if c[0] != "—"]
        cost = ("—", "runs on this machine: no cloud cost", None) if not cloud else (
            (f"${sum(amounts):,.2f}" if sum(amounts) >= 1 else f"${sum(amounts):.4f}") if amounts else "…",
            f"sum over {len(amounts)} of {len(cloud)} cloud jobs priced", sum(amounts) if amounts else None)
        t = {
            "id": self.sweep_id, "name": name, "backend": backends, "status": ", ".join(f"{k} {n}" for k, n in self.counts.items()),
            "resources": resources[0] if len(resources) == 1 else f"{len(resources)} kinds",
            "where": backends + (f" · {clusters[0]}" if len(clusters) == 1 else f" · {len(clusters)} clusters" if clusters else ""),
            "started": short_time(start), "started_full": format_time(start),
            "duration": format_duration(elapsed_of({"started": start, "ended": end or None})),
            "exit": ", ".join(sorted(codes, key=lambda c: (len(c), c))) or "—",
            "exit_full": "distinct exit codes of the sweep's jobs", "cost": cost[0], "cost_full": cost[1],
            "cost_amount": cost[2], "size": size,
        }
        self._show_common(t)
        found = [c for c in (recovery_count(r["backend"], r) for r in members) if c is not None]
        self._show_recoveries(sum(found) if found else None)
        self.cancel_button.disabled = done or self.busy


def member_label(row: dict[str, Any]) -> str:
    """A sweep member's name cell: an arrow and its values, the full job name as tooltip."""
    values = (sweep_info(row) or {}).get("values") or {}
    label = values_text(values) if values else str(row["name"])
    return (f'<span title="{html.escape(str(row["name"]))}">&nbsp;&nbsp;&#8627; '
            f'{html.escape(label)}</span>')
