"""The sweep panel: one small status cell per job, counts per state, Cancel all (CSS ``skx-sweep``).

Each cell (CSS ``skx-sweep-cell`` plus ``skx-sweep-cell-<state>``) is coloured by its job's
state (``STATUS_COLOURS``) and shows the job's values on hover; clicking it opens that job's
:class:`~skyexec_nb.views.launch_panel.LaunchPanel` below the grid (clicking again closes it) and
outlines the cell (``skx-sweep-cell-selected``). A caption (``skx-sweep-axes``) says what the
grid's rows and columns are. Each count (``skx-sweep-count``) stays on one line.
Kept live by the shared ticker: one registry read per tick for the whole sweep, a widget update
only for cells whose state changed. No launch logic: the button calls ``sweep.cancel()`` (disabled
from the click on). Its saved record (counts, one line per job) is updated in place.
"""
from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.views.actions import run_action
from skyexec_nb.views.launch_panel import LaunchPanel, error_html
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.static_repr import sweep_record
from skyexec_nb.views.refresher import Refresher, get_refresher

CELL = "22px"
MAX_COLUMNS = 20
SELECTED_BORDER = "2px solid #212529"


def values_text(values: dict[str, Any]) -> str:
    """``LR=0.001 BS=32``."""
    return " ".join(f"{k}={v}" for k, v in values.items())


def columns_for(values: list[dict[str, Any]]) -> int:
    """Grid columns: the last name's number of values (rows = the other names), capped."""
    if not values:
        return 1
    last = list(values[0])[-1:] or [None]
    distinct = len({str(v.get(last[0])) for v in values}) if last[0] is not None else len(values)
    n = distinct if 1 < distinct <= MAX_COLUMNS and len(values[0]) > 1 else min(len(values), MAX_COLUMNS)
    return max(1, n)


def axes_text(values: list[dict[str, Any]]) -> str:
    """What the grid's rows and columns are (see :func:`columns_for`), and how to use a cell."""
    hint = "hover a cell for its values, click it for its job's panel"
    names = list(values[0]) if values else []
    columns = columns_for(values)
    if len(names) > 1:
        last = names[-1]
        distinct = list(dict.fromkeys(str(v.get(last)) for v in values))
        if columns == len(distinct):
            rows = names[:-1]
            row_text = (f"{rows[0]} = {', '.join(dict.fromkeys(str(v.get(rows[0])) for v in values))}"
                        if len(rows) == 1 else " × ".join(rows))
            return f"rows: {row_text} · columns: {last} = {', '.join(distinct)} · {hint}"
    return f"one cell per job, in grid order ({columns} per row) · {hint}"


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


class SweepPanel(RecordedView, widgets.VBox):
    """Live view of a :class:`~skyexec_nb.engine.remote.sweep.Sweep`.

    Args:
        sweep: The sweep (``.jobs``, ``.values``, ``.cancel()``).
        refresher: The ticker (default: the process-wide one).
    """

    def __init__(self, sweep: Any, *, refresher: Refresher | None = None) -> None:
        self.sweep = sweep
        self._init_record()
        self._cancelling = False
        self._refresher = refresher or get_refresher()
        self._lock = threading.RLock()
        self._states: list[JobStatus | None] = [None] * len(sweep.jobs)
        self.selected: int | None = None
        self.detail: LaunchPanel | None = None

        self.title = widgets.HTML(f"<b>Sweep {html.escape(str(sweep.id))}</b> · {len(sweep.jobs)} jobs"
                                  + (f" · max_parallel {sweep.max_parallel}" if sweep.max_parallel else ""))
        self.cells = [self._cell(i) for i in range(len(sweep.jobs))]
        self.grid = widgets.GridBox(self.cells, layout=widgets.Layout(
            grid_template_columns=f"repeat({columns_for(sweep.values)}, {CELL})", grid_gap="2px"))
        self.grid.add_class("skx-sweep-grid")
        self.axes = widgets.HTML(f'<small style="color:#6c757d">{html.escape(axes_text(sweep.values))}</small>')
        self.axes.add_class("skx-sweep-axes")
        self.counts = widgets.HTML()
        self.counts.add_class("skx-sweep-counts")
        self.cancel_button = widgets.Button(description="Cancel all", icon="stop", tooltip="Cancel every job",
                                            layout=widgets.Layout(width="auto"))
        self.cancel_button.add_class("skx-sweep-cancel")
        self.cancel_button.on_click(lambda _: self.cancel_all())
        self.error_line = widgets.HTML()
        self.detail_box = widgets.VBox()
        header = widgets.HBox([self.title, self.cancel_button], layout=widgets.Layout(align_items="center"))
        self.stale = StaleNote("skx-sweep")
        super().__init__([self.stale, header, self.counts, self.grid, self.axes, self.error_line, self.detail_box])
        self.add_class("skx-sweep")
        self.stale.set_text("Live view not connected (kernel restarted or notebook reopened): run %skyjobs to "
                            "re-attach.", self.model_id)
        self.refresh()

    def _cell(self, index: int) -> widgets.Button:
        cell = widgets.Button(description="", layout=widgets.Layout(width=CELL, height=CELL, padding="0",
                                                                    margin="0"))
        cell.add_class("skx-sweep-cell")
        cell.on_click(lambda _: self.select(index))
        return cell

    # -- state -----------------------------------------------------------------------------------
    def _read_states(self) -> list[JobStatus | None]:
        jobs = self.sweep.jobs
        registry = getattr(jobs[0], "_registry", None) if jobs else None
        if registry is not None and hasattr(registry, "versions"):
            found = registry.versions([job.id for job in jobs])
            return [JobStatus(found[job.id][0]) if job.id in found else None for job in jobs]
        return [job.status for job in jobs]

    def tick(self) -> bool:
        """Re-read the states; update changed cells and the counts. False once all are final."""
        with self._lock:
            if self.comm is None:
                return False
            states = self._read_states()
            changed = states != self._states
            for index, state in enumerate(states):
                if state != self._states[index]:
                    self._paint(index, self._states[index], state)
            self._states = states
            counts = {s.value: states.count(s) for s in JobStatus if s in states}
            text = counts_html(counts)
            if self.counts.value != text:
                self.counts.value = text
            done = all(s is not None and s.is_terminal for s in states)
            self.cancel_button.disabled = done or self._cancelling
        if changed:
            self.record_changed(force=True)
        return not done

    def record_parts(self) -> tuple[str, str, Any]:
        """Counts per state and one line per job, as last read."""
        text, body = sweep_record(self.sweep, self._states)
        return text, body, None

    def sync_state(self) -> None:
        """Re-read the states now (the record keeper calls this after each cell)."""
        self.tick()

    def _paint(self, index: int, old: JobStatus | None, new: JobStatus | None) -> None:
        cell = self.cells[index]
        if old is not None:
            cell.remove_class(f"skx-sweep-cell-{old.value.lower()}")
        if new is not None:
            cell.add_class(f"skx-sweep-cell-{new.value.lower()}")
        cell.style.button_color = STATUS_COLOURS.get(new, "#6c757d") if new else "#dee2e6"
        job = self.sweep.jobs[index]
        cell.tooltip = f"{values_text(self.sweep.values[index])} · job {job.id} · {new.value if new else '?'}"

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
        """Show job ``index``'s launch panel below the grid (again: hide it)."""
        with self._lock:
            old, self.detail = self.detail, None
            if old is not None:
                self.cells[self.selected].remove_class("skx-sweep-cell-selected")
                self.cells[self.selected].layout.border = ""
                old.close()
            if index == self.selected:
                self.selected = None
                self.detail_box.children = ()
                return
            self.selected = index
            self.cells[index].add_class("skx-sweep-cell-selected")
            self.cells[index].layout.border = SELECTED_BORDER
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
        for child in [*self.cells, self.grid, self.axes, self.counts, self.cancel_button, self.error_line, self.title,
                      self.detail_box]:
            child.close()
        super().close()
