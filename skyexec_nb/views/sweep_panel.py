"""The sweep panel (CSS ``skx-sweep``): the sweep's name, counts per state, Cancel all, and a table
of its jobs laid out by the grid's values.

Two grid keys: a matrix, the first key's values as row headers (``skx-sweep-rowhead``), the
second's as column headers (``skx-sweep-colhead``), the corner naming both (``skx-sweep-corner``).
One key or more than two: one row per job, one column per key (headers ``skx-sweep-keyhead``,
values ``skx-sweep-value``). Each job's cell (``skx-sweep-cell`` plus ``skx-sweep-cell-<state>``,
a coloured left edge from ``STATUS_COLOURS``) reads its state, duration and exit code; clicking
it opens that job's :class:`~skyexec_nb.views.launch_panel.LaunchPanel` below (clicking again
closes it) and outlines the cell (``skx-sweep-cell-selected``). Each count (``skx-sweep-count``)
stays on one line. Kept live by the shared ticker: one cheap registry probe per tick for the
whole sweep, the rows re-read when it changed (or each second while a job runs, for durations),
a widget update only for cells whose text changed. No launch logic: the button calls
``sweep.cancel()`` (disabled from the click on). Its saved record (the same table) is updated in place.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as widgets

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.views.actions import run_action
from skyexec_nb.views.launch_panel import LaunchPanel, elapsed_of, error_html, snapshot
from skyexec_nb.views.metric_chart import MetricChart
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.refresher import Refresher, get_refresher
from skyexec_nb.views.status_badge import format_duration
from skyexec_nb.views.sweep_values import shown_values
from skyexec_nb.views.table_records import matrix_axes, sweep_table_record
from skyexec_nb.views.theme import theme_style

ROWS_EVERY = 1.0  # seconds between full re-reads while a job runs (durations tick)


def values_text(values: dict[str, Any]) -> str:
    """``LR=0.001 BS=32``."""
    return " ".join(f"{k}={v}" for k, v in values.items())


def sweep_name(row: dict[str, Any]) -> str:
    """A sweep's name from one member's registry row: ``extra['sweep']['name']``, else the member's
    name without its ``_<NAME>-<value>...`` suffix (sweeps recorded before names were kept)."""
    info = (row.get("extra") or {}).get("sweep") or {}
    if info.get("name"):
        return str(info["name"])
    name = str(row.get("name") or "sweep")
    first = next(iter(info.get("values") or {}), None)
    return name.rsplit(f"_{first}-", 1)[0] if first and f"_{first}-" in name else name


def cell_text(state: JobStatus | None, facts: dict[str, Any] | None) -> str:
    """A job's cell: its state, then duration and exit code (``SUCCEEDED\n0:03 · exit 0``)."""
    if state is None:
        return "…"
    facts = facts or {}
    started = facts.get("started") or facts.get("created")
    duration = format_duration(elapsed_of(facts)) if started else "not started"
    codes = facts.get("exit_codes") or {}
    shown = ", ".join(dict.fromkeys(str(c) for _, c in sorted(codes.items(), key=lambda kv: int(kv[0]))))
    return f"{state.value}\n{duration}" + (f" · exit {shown}" if shown else "")


def counts_html(counts: dict[str, int]) -> str:
    """Coloured ``STATE n`` items, each kept on one line (the square never parts from its label)."""
    parts = []
    for state, n in counts.items():
        colour = STATUS_COLOURS.get(JobStatus(state), "#6c757d")
        parts.append(f'<span class="skx-sweep-count" style="display:inline-block;white-space:nowrap;'
                     f'margin-right:10px">'
                     f'<span style="color:{colour};font-weight:600">&#9632;</span> '
                     f'{html.escape(state)} {n}</span>')
    return "".join(parts)


def _head(text: str, css: str) -> widgets.HTML:
    out = widgets.HTML(f"<b>{html.escape(text)}</b>", layout=widgets.Layout(width="auto", min_width="0"))
    out.add_class(css)
    out.add_class("skx-th")
    return out



class SweepPanel(RecordedView, widgets.VBox):
    """Live view of a :class:`~skyexec_nb.engine.remote.sweep.Sweep`.

    Args:
        sweep: The sweep (``.jobs``, ``.values``, ``.cancel()``; ``.name`` optional).
        refresher: The ticker (default: the process-wide one).

    Attributes:
        cells: each job's cell, in grid order. ``row_headers`` / ``column_headers``: the matrix's
        header cells (empty lists for a one-row-per-job table); ``key_headers``: the key columns' headers.
    """

    def __init__(self, sweep: Any, *, refresher: Refresher | None = None) -> None:
        self.sweep = sweep
        self._init_record()
        self._cancelling = False
        self._refresher = refresher or get_refresher()
        self._lock = threading.RLock()
        self._states: list[JobStatus | None] = [None] * len(sweep.jobs)
        self._facts: list[dict[str, Any] | None] = [None] * len(sweep.jobs)
        self._versions: Any = None
        self._rows_read = 0.0
        self.selected: int | None = None
        self.detail: LaunchPanel | None = None
        self.name = str(getattr(sweep, "name", "") or "")

        self.title = widgets.HTML(layout=widgets.Layout(width="auto", min_width="0", flex="1 1 auto"))
        self.title.add_class("skx-sweep-title")
        self.cells = [self._cell(i) for i in range(len(sweep.jobs))]
        self.row_headers: list[widgets.HTML] = []
        self.column_headers: list[widgets.HTML] = []
        self.key_headers: list[widgets.HTML] = []
        self._other: list[widgets.Widget] = []
        self.grid = self._layout_table()
        self.grid.add_class("skx-sweep-grid")
        self.grid.add_class("skx-grid-table")
        self.counts = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.counts.add_class("skx-sweep-counts")
        self.cancel_button = widgets.Button(description="Cancel all", icon="stop", tooltip="Cancel every job",
                                            layout=widgets.Layout(width="auto", flex="0 0 auto"))
        self.cancel_button.add_class("skx-sweep-cancel")
        self.cancel_button.on_click(lambda _: self.cancel_all())
        self.hint = widgets.HTML('<span class="skx-muted">Click a job\'s cell for its log and details.</span>',
                                 layout=widgets.Layout(width="auto"))
        self.hint.add_class("skx-sweep-hint")
        self.error_line = widgets.HTML()
        self.detail_box = widgets.VBox(layout=widgets.Layout(width="auto", min_width="0"))
        self.chart = MetricChart.for_sweep(sweep)  # members' curves + final/best table (hidden until a metric)
        header = widgets.HBox([self.title, self.cancel_button], layout=widgets.Layout(align_items="center", width="auto"))
        header.add_class("skx-wrap-row")
        self.stale = StaleNote("skx-sweep")
        super().__init__([theme_style(), self.stale, header, self.counts, self.grid, self.hint, self.error_line,
                          self.chart, self.detail_box], layout=widgets.Layout(width="100%", max_width="100%", overflow="hidden"))
        self.add_class("skx-sweep")
        self.stale.set_text("Live view not connected (kernel restarted or notebook reopened): run %skyjobs to "
                            "re-attach.", self.model_id)
        self.refresh()

    def _layout_table(self) -> widgets.GridBox:
        """The matrix (two keys) or one row per job with a column per key (see the module docstring)."""
        values = shown_values(self.sweep)
        axes = matrix_axes(values)
        if axes is not None:
            first, second = list(values[0])
            rows, cols = axes
            corner = widgets.HTML(f'<span class="skx-muted">{html.escape(second)} →<br>{html.escape(first)} ↓</span>',
                                  layout=widgets.Layout(width="auto", min_width="0"))
            corner.add_class("skx-sweep-corner")
            corner.add_class("skx-th")
            self.column_headers = [_head(c, "skx-sweep-colhead") for c in cols]
            self.row_headers = [_head(r, "skx-sweep-rowhead") for r in rows]
            where = {(str(v.get(first)), str(v.get(second))): i for i, v in enumerate(values)}
            children: list[widgets.Widget] = [corner, *self.column_headers]
            for r, head in zip(rows, self.row_headers):
                children.append(head)
                children += [self.cells[where[(r, c)]] for c in cols]
            self._other = [corner]
            template = f"minmax(3em, max-content) repeat({len(cols)}, minmax(0, 1fr))"
        else:
            keys = list(values[0]) if values else []
            self.key_headers = [_head(k, "skx-sweep-keyhead") for k in keys]
            number, job = _head("#", "skx-sweep-indexhead"), _head("Job", "skx-sweep-jobhead")
            children = [number, *self.key_headers, job]
            self._other = [number, job]
            for i, vals in enumerate(values):
                index = widgets.HTML(f'<span class="skx-muted">{i + 1}</span>', layout=widgets.Layout(width="auto"))
                shown = []
                for k in keys:
                    w = widgets.HTML(html.escape(str(vals.get(k))), layout=widgets.Layout(width="auto", min_width="0"))
                    w.add_class("skx-sweep-value")
                    shown.append(w)
                self._other += [index, *shown]
                children += [index, *shown, self.cells[i]]
            template = f"max-content repeat({len(keys)}, minmax(2em, max-content)) minmax(8em, 22em)"
        return widgets.GridBox(children, layout=widgets.Layout(grid_template_columns=template, grid_gap="3px 6px",
                                                               align_items="center", width="100%"))

    def _cell(self, index: int) -> widgets.Button:
        cell = widgets.Button(description="…", layout=widgets.Layout(width="auto", min_width="0"))
        cell.add_class("skx-sweep-cell")
        cell.on_click(lambda _: self.select(index))
        return cell

    # -- state -----------------------------------------------------------------------------------
    def _read(self) -> tuple[list[JobStatus | None], list[dict[str, Any] | None]]:
        """States and rows of every job: a cheap probe each tick, the rows when it changed or each
        ``ROWS_EVERY`` seconds while a job is live (its duration ticks)."""
        jobs = self.sweep.jobs
        registry = getattr(jobs[0], "_registry", None) if jobs else None
        if registry is None or not hasattr(registry, "versions"):
            facts = [snapshot(job) for job in jobs]
            return [JobStatus(str(f.get("status"))) for f in facts], facts
        ids = [job.id for job in jobs]
        versions = registry.versions(ids)
        live = any(s is None or not s.is_terminal for s in self._states)
        if versions != self._versions or (live and time.monotonic() - self._rows_read >= ROWS_EVERY):
            self._versions, self._rows_read = versions, time.monotonic()
            marks = ", ".join("?" for _ in ids)
            found = {r["id"]: r for r in registry.rows(f"id IN ({marks})", tuple(ids))}
            facts = [found.get(i) for i in ids]
        else:
            facts = self._facts
        return [JobStatus(str(f["status"])) if f else None for f in facts], facts

    def tick(self) -> bool:
        """Re-read the jobs; update changed cells and the counts. False once all are final."""
        with self._lock:
            if self.comm is None:
                return False
            states, facts = self._read()
            changed = states != self._states
            if facts is not self._facts:
                for index, (state, fact) in enumerate(zip(states, facts)):
                    self._paint(index, self._states[index], state, fact)
                if not self.name and facts and facts[0]:
                    self.name = sweep_name(facts[0])
            self._states, self._facts = states, facts
            counts = {s.value: states.count(s) for s in JobStatus if s in states}
            text = counts_html(counts)
            if self.counts.value != text:
                self.counts.value = text
            self._show_title()
            done = all(s is not None and s.is_terminal for s in states)
            charted = self.chart.update(final=done)
            self.cancel_button.disabled = done or self._cancelling
        if changed:
            self.record_changed(force=True)
        elif charted:
            self.record_changed()
        return not done or charted  # once all ended, until the chart has sent its last points

    def _show_title(self) -> None:
        sweep = self.sweep
        parts = [f"sweep {sweep.id}", f"{len(sweep.jobs)} jobs"]
        if getattr(sweep, "max_parallel", None):
            parts.append(f"max_parallel {sweep.max_parallel}")
        value = (f'<b style="font-size:1.1em">{html.escape(self.name or "Sweep")}</b> '
                 f'<span class="skx-muted">{html.escape(" · ".join(parts))}</span>')
        if self.title.value != value:
            self.title.value = value

    def record_parts(self) -> tuple[str, str, Any]:
        """The title, counts and the same table as the live view, as last read."""
        texts = [cell_text(s, f) for s, f in zip(self._states, self._facts)]
        text, body = sweep_table_record(self.name, self.sweep, self._states, texts)
        text, body = "\n".join(filter(None, [text, self.chart.record_text()])), body + self.chart.record_html()
        return text, body, None

    def sync_state(self) -> None:
        """Re-read the states now (the record keeper calls this after each cell)."""
        self.tick()

    def _paint(self, index: int, old: JobStatus | None, new: JobStatus | None, facts: dict[str, Any] | None) -> None:
        cell = self.cells[index]
        if old != new:
            if old is not None:
                cell.remove_class(f"skx-sweep-cell-{old.value.lower()}")
            if new is not None:
                cell.add_class(f"skx-sweep-cell-{new.value.lower()}")
        text = cell_text(new, facts)
        if cell.description != text:
            cell.description = text
        job = self.sweep.jobs[index]
        tip = f"{values_text(shown_values(self.sweep)[index])} · job {job.id} · {new.value if new else '?'}"
        if cell.tooltip != tip:
            cell.tooltip = tip

    def refresh(self) -> None:
        """Re-read now, and keep following while some job is live."""
        if self.tick():
            self._refresher.register(self)

    @property
    def states(self) -> list[JobStatus | None]:
        """The states shown, in grid order."""
        return list(self._states)

    # -- actions ---------------------------------------------------------------------------------
    def select(self, index: int) -> None:
        """Show job ``index``'s launch panel below the table (again: hide it)."""
        with self._lock:
            old, self.detail = self.detail, None
            if old is not None:
                self.cells[self.selected].remove_class("skx-sweep-cell-selected")
                old.close()
            if index == self.selected:
                self.selected = None
                self.detail_box.children = ()
                return
            self.selected = index
            self.cells[index].add_class("skx-sweep-cell-selected")
            self.detail = LaunchPanel(self.sweep.jobs[index], refresher=self._refresher)
            self.detail_box.children = (self.detail,)

    def cancel_all(self) -> None:
        """Cancel every job off the kernel's thread (once: clicks meanwhile do nothing); errors in red."""
        with self._lock:
            if self._cancelling:
                return
            self._cancelling = True
            self.cancel_button.disabled = True
            self.cancel_button.description = "Cancelling…"

        def done(error: str) -> None:
            with self._lock:
                self._cancelling = False
                self.cancel_button.description = "Cancel all"
            self.error_line.value = error_html(error)
            self.refresh()

        run_action("Cancel all", self.sweep.cancel, done)

    def close(self) -> None:
        """Stop following and close the children."""
        self._refresher.unregister(self)
        if self.detail is not None:
            self.detail.close()
        for child in [*self.cells, *self.row_headers, *self.column_headers, *self.key_headers, *self._other,
                      self.grid, self.hint, self.counts, self.cancel_button, self.error_line, self.title,
                      self.detail_box, self.chart]:
            child.close()
        super().close()
