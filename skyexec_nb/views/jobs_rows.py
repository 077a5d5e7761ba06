"""The rows of the jobs table: one job (:class:`JobRow`) or one sweep's group (:class:`SweepRow`).

A row is not a widget: its cells go into the table's grid, one per column. Job rows carry
``skx-jobs-row`` and ``skx-job-<id>`` (a sweep's members also ``skx-jobs-member``); group rows
carry ``skx-jobs-group`` and ``skx-sweep-<id>``, with the status column showing the members'
counts per state and the actions Expand (``skx-jobs-expand``), Cancel all
(``skx-jobs-cancel-all``) and Sweep panel (``skx-jobs-sweep-button``). A member row is named by its
values (``LR=1e-3 BS=32``; the group row holds the base name, the full job name is the tooltip), so
it stays one line in the narrow Name column. Rows call the table's handlers only; assignments of
unchanged text send nothing.
"""
from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.views.launch_panel import CLUSTER_BACKENDS, elapsed_of, recovery_count
from skyexec_nb.views.status_badge import StatusBadge, format_duration, format_time
from skyexec_nb.views.sweep_panel import counts_html, values_text

RECOVERIES_AT = 3  # where the Recoveries column goes when shown (after Status)


def with_recoveries(items: tuple, extra: Any, shown: bool) -> list:
    """``items`` (one per column) with ``extra`` inserted at the Recoveries position when ``shown``."""
    return [*items[:RECOVERIES_AT], extra, *items[RECOVERIES_AT:]] if shown else list(items)


def cell(css: str) -> widgets.HTML:
    """An HTML cell with CSS class ``css``."""
    out = widgets.HTML()
    out.add_class(css)
    return out


def button(text: str, css: str, tip: str, on_click: Callable[[], Any]) -> widgets.Button:
    """A compact button with CSS class ``css`` calling ``on_click()``."""
    out = widgets.Button(description=text, tooltip=tip, layout=widgets.Layout(width="auto"))
    out.add_class(css)
    out.on_click(lambda _: on_click())
    return out


def sweep_info(row: dict[str, Any]) -> dict[str, Any] | None:
    """A registry row's ``extra["sweep"]`` (``{id, index, size, values, max_parallel}``), None if not in a sweep."""
    info = (row.get("extra") or {}).get("sweep")
    return info if isinstance(info, dict) and info.get("id") is not None else None


class _Row:
    """Shared parts: the column cells, the Recoveries cell and the row's CSS classes."""

    def __init__(self, classes: tuple[str, ...], actions: list[widgets.Button], verbs: list[widgets.Button]) -> None:
        self.name, self.backend, self.started = cell("skx-jobs-name"), cell("skx-jobs-backend"), cell("skx-jobs-started")
        self.duration, self.cluster = cell("skx-jobs-duration"), cell("skx-jobs-cluster")
        self.recoveries = cell("skx-jobs-recoveries")
        self.recovery_count: int | None = None
        self.actions = widgets.HBox(actions)
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
        return [self.name, self.backend, self.status_cell, self.started, self.duration, self.cluster, self.actions]

    def grid_cells(self, recoveries: bool) -> list[widgets.Widget]:
        """The row's cells in the table's current columns (with the Recoveries cell when shown)."""
        return with_recoveries(tuple(self.cells), self.recoveries, recoveries)

    def _show_recoveries(self, count: int | None) -> None:
        self.recovery_count = count
        self.recoveries.value = "" if count is None else str(count)

    def close(self) -> None:
        for w in [*self.cells, self.recoveries, *self.actions.children]:
            w.close()


class JobRow(_Row):
    """One job's row; ``member`` indents it under its sweep's group row."""

    def __init__(self, table: Any, job_id: int, member: bool = False) -> None:
        self.job_id, self.table, self.member = job_id, table, member
        self.badge = StatusBadge()
        self.show_button = button("Show", "skx-show-button", "Show this job's panel below", lambda: table.show(job_id))
        self.cancel_button = button("Cancel", "skx-cancel-button", "Stop the job", lambda: table.cancel(job_id))
        self.down_button = button("Tear down", "skx-down-button", "Remove the job's cluster", lambda: table.down(job_id))
        classes = ("skx-jobs-row", f"skx-job-{job_id}") + (("skx-jobs-member",) if member else ())
        super().__init__(classes, [self.show_button, self.cancel_button, self.down_button],
                         [self.cancel_button, self.down_button])

    @property
    def status_cell(self) -> widgets.Widget:
        return self.badge

    def update(self, row: dict[str, Any]) -> None:
        """Show a registry row."""
        status = JobStatus(str(row["status"]))
        label = member_label(row) if self.member else html.escape(str(row["name"]))
        self.name.value = f"{label} <small>#{row['id']}</small>"
        self.backend.value = html.escape(str(row["backend"]))
        self.badge.set_status(status)
        self.started.value = format_time(row.get("started") or row.get("created"))
        self.duration.value = format_duration(elapsed_of(row))
        self.cluster.value = html.escape(str(row.get("cluster") or "—"))
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
        self.expand_button = button("Expand", "skx-jobs-expand", "Show this sweep's jobs", lambda: table.toggle(sweep_id))
        self.expand_button.icon = "caret-right"
        self.cancel_button = button("Cancel all", "skx-jobs-cancel-all", "Cancel every job of the sweep",
                                    lambda: table.cancel_sweep(sweep_id))
        self.sweep_button = button("Sweep", "skx-jobs-sweep-button", "Show the sweep panel below",
                                   lambda: table.show_sweep(sweep_id))
        super().__init__(("skx-jobs-group", f"skx-sweep-{sweep_id}"),
                         [self.expand_button, self.cancel_button, self.sweep_button], [self.cancel_button])

    @property
    def status_cell(self) -> widgets.Widget:
        return self.status

    def set_expanded(self, expanded: bool) -> None:
        """Flip the expand button's look (the table lays out the member rows)."""
        self.expanded = expanded
        self.expand_button.description = "Collapse" if expanded else "Expand"
        self.expand_button.icon = "caret-down" if expanded else "caret-right"

    def update(self, members: list[dict[str, Any]]) -> None:
        """Show the sweep's registry rows (any order, at least one)."""
        statuses = [JobStatus(str(r["status"])) for r in members]
        self.counts = {s.value: statuses.count(s) for s in JobStatus if s in statuses}
        info = sweep_info(members[0]) or {}
        size = max(int(info.get("size") or 0), len(members))
        nowrap = '<span style="white-space:nowrap">'  # wrap between the parts, never inside "6 jobs"
        self.name.value = (f"<b>{html.escape(_base_name(members[0], info))}</b> <small>{nowrap}sweep "
                           f"{html.escape(str(self.sweep_id))}</span> · {nowrap}{size} jobs</span></small>")
        self.backend.value = html.escape(", ".join(sorted({str(r["backend"]) for r in members})))
        self.status.value = counts_html(self.counts)
        starts = [r.get("started") or r.get("created") for r in members]
        start = min((s for s in starts if s), default=None)
        done = all(s.is_terminal for s in statuses)
        end = max((r.get("ended") or 0 for r in members), default=0) if done else None
        self.started.value = format_time(start)
        self.duration.value = format_duration(elapsed_of({"started": start, "ended": end or None}))
        clusters = {r.get("cluster") for r in members if r.get("cluster")}
        self.cluster.value = html.escape(next(iter(clusters)) if len(clusters) == 1 else
                                         f"{len(clusters)} clusters" if clusters else "—")
        found = [c for c in (recovery_count(r["backend"], r) for r in members) if c is not None]
        self._show_recoveries(sum(found) if found else None)
        self.cancel_button.disabled = done or self.busy


def member_label(row: dict[str, Any]) -> str:
    """A sweep member's name cell: an arrow and its values, the full job name as tooltip."""
    values = (sweep_info(row) or {}).get("values") or {}
    label = values_text(values) if values else str(row["name"])
    return (f'<span title="{html.escape(str(row["name"]))}">&nbsp;&nbsp;&#8627; '
            f'{html.escape(label)}</span>')


def _base_name(row: dict[str, Any], info: dict[str, Any]) -> str:
    """The sweep's base name: a member's name without its ``_<NAME>-<value>...`` suffix."""
    name = str(row["name"])
    first = next(iter(info.get("values") or {}), None)
    return name.rsplit(f"_{first}-", 1)[0] if first and f"_{first}-" in name else name
