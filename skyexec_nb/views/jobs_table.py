"""The jobs table (CSS ``skx-jobs``): every job of the registry, newest first, updated live.

Columns: name, backend, status (badge), started, duration, cluster, and per-row actions
(Show panel ``skx-show-button``, Cancel ``skx-cancel-button``, Tear down ``skx-down-button``).
A "Recoveries" column (``skx-jobs-recoveries``, after the status) appears when a listed job is a
managed job (backend ``jobs``) or was recovered: SkyPilot's recovery count.
Rows carry ``skx-jobs-row`` and ``skx-job-<id>``; the panel of the selected job appears below
(``skx-jobs-detail``). The registry is re-read at most once per ``interval`` seconds (one query
for all rows) by the shared ticker; a cell sends a message only when its text changes.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as widgets

from skyexec_nb.engine.registry import get_registry
from skyexec_nb.engine.status import JobStatus
from skyexec_nb.views.actions import run_action
from skyexec_nb.views.launch_panel import CLUSTER_BACKENDS, LaunchPanel, elapsed_of, recovery_count
from skyexec_nb.views.refresher import Refresher, get_refresher
from skyexec_nb.views.status_badge import StatusBadge, format_duration, format_time

COLUMNS = ("Name", "Backend", "Status", "Started", "Duration", "Cluster", "")
_WIDTHS = ("minmax(8em,2fr)", "6em", "11em", "11em", "6em", "minmax(6em,1fr)", "auto")
RECOVERIES_AT = 3  # where the Recoveries column goes when shown (after Status)


def _with_recoveries(items: tuple, extra: Any, shown: bool) -> list:
    """``items`` (one per column) with ``extra`` inserted at the Recoveries position when ``shown``."""
    return [*items[:RECOVERIES_AT], extra, *items[RECOVERIES_AT:]] if shown else list(items)


def _cell(css: str) -> widgets.HTML:
    cell = widgets.HTML()
    cell.add_class(css)
    return cell


class JobRow:
    """The widgets of one job's row (not a widget itself: its cells go into the table's grid)."""

    def __init__(self, table: "JobsTable", job_id: int) -> None:
        self.job_id, self.table = job_id, table
        self.name, self.backend, self.started = _cell("skx-jobs-name"), _cell("skx-jobs-backend"), _cell("skx-jobs-started")
        self.duration, self.cluster = _cell("skx-jobs-duration"), _cell("skx-jobs-cluster")
        self.recoveries = _cell("skx-jobs-recoveries")
        self.recovery_count: int | None = None
        self.badge = StatusBadge()
        self.show_button = self._button("Show", "skx-show-button", "Show this job's panel below", table.show)
        self.cancel_button = self._button("Cancel", "skx-cancel-button", "Stop the job", table.cancel)
        self.down_button = self._button("Tear down", "skx-down-button", "Remove the job's cluster", table.down)
        self.actions = widgets.HBox([self.show_button, self.cancel_button, self.down_button])
        self.busy = False
        for w in [*self.cells, self.recoveries]:
            w.add_class("skx-jobs-row")
            w.add_class(f"skx-job-{job_id}")

    def _button(self, text: str, css: str, tip: str, handler: Any) -> widgets.Button:
        button = widgets.Button(description=text, tooltip=tip, layout=widgets.Layout(width="auto"))
        button.add_class(css)
        button.on_click(lambda _: handler(self.job_id))
        return button

    @property
    def cells(self) -> list[widgets.Widget]:
        """The row's grid cells, in column order."""
        return [self.name, self.backend, self.badge, self.started, self.duration, self.cluster, self.actions]

    def grid_cells(self, recoveries: bool) -> list[widgets.Widget]:
        """The row's cells in the table's current columns (with the Recoveries cell when shown)."""
        return _with_recoveries(tuple(self.cells), self.recoveries, recoveries)

    def update(self, row: dict[str, Any]) -> None:
        """Show a registry row (assignments of unchanged text send nothing)."""
        status = JobStatus(str(row["status"]))
        self.name.value = f"{html.escape(str(row['name']))} <small>#{row['id']}</small>"
        self.backend.value = html.escape(str(row["backend"]))
        self.badge.set_status(status)
        self.started.value = format_time(row.get("started") or row.get("created"))
        self.duration.value = format_duration(elapsed_of(row))
        self.cluster.value = html.escape(str(row.get("cluster") or "—"))
        self.recovery_count = recovery_count(row["backend"], row)
        self.recoveries.value = "" if self.recovery_count is None else str(self.recovery_count)
        self.cancel_button.disabled = status.is_terminal or status == JobStatus.CANCELLING or self.busy
        self.down_button.disabled = row["backend"] not in CLUSTER_BACKENDS or not row.get("cluster") or self.busy

    def close(self) -> None:
        for w in [*self.cells, self.recoveries, *self.actions.children]:
            w.close()


class JobsTable(widgets.VBox):
    """All jobs, newest first, with actions.

    Args:
        max_rows: newest jobs shown (older ones are counted, not shown).
        interval: seconds between registry reads.
        refresher: the ticker (default the process-wide one).
    """

    def __init__(self, *, max_rows: int = 100, interval: float = 1.0, refresher: Refresher | None = None) -> None:
        self.max_rows, self.interval = max_rows, interval
        self._refresher = refresher or get_refresher()
        self._lock = threading.RLock()
        self.rows: dict[int, JobRow] = {}
        self._order: list[int] = []
        self._recoveries_shown = False
        self._last_read = 0.0
        self.reads = 0  # registry reads so far (tests check the ~1/s budget)
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_template_columns=" ".join(_WIDTHS), grid_gap="2px 8px",
                                                          align_items="center"))
        self.header = [_cell("skx-jobs-header") for _ in COLUMNS]
        for cell, title in zip(self.header, COLUMNS):
            cell.value = f"<b>{title}</b>"
        self.recoveries_header = _cell("skx-jobs-header")
        self.recoveries_header.value = '<b title="SkyPilot recovered the managed job this many times">Recoveries</b>'
        self.summary = _cell("skx-jobs-summary")
        self.message = _cell("skx-error")
        self.detail = widgets.VBox()
        self.detail.add_class("skx-jobs-detail")
        super().__init__([self.grid, self.summary, self.message, self.detail])
        self.add_class("skx-jobs")
        self.refresh()
        self._refresher.register(self)

    def refresh(self) -> None:
        """Re-read the registry now."""
        with self._lock:
            self._last_read = time.monotonic()
            self.reads += 1
            rows = get_registry().rows(order="id DESC")
            shown = rows[: self.max_rows]
            ids = [r["id"] for r in shown]
            for gone in set(self.rows) - set(ids):
                self.rows.pop(gone).close()
            for row in shown:
                if row["id"] not in self.rows:
                    self.rows[row["id"]] = JobRow(self, row["id"])
                self.rows[row["id"]].update(row)
            recoveries = any(self.rows[i].recovery_count is not None for i in ids)
            if ids != self._order or recoveries != self._recoveries_shown:
                self._order, self._recoveries_shown = ids, recoveries
                self.grid.layout.grid_template_columns = " ".join(_with_recoveries(_WIDTHS, "6em", recoveries))
                header = _with_recoveries(tuple(self.header), self.recoveries_header, recoveries)
                self.grid.children = [*header, *(c for i in ids for c in self.rows[i].grid_cells(recoveries))]
            hidden = len(rows) - len(shown)
            self.summary.value = (f"{len(rows)} jobs" + (f" ({hidden} older not shown)" if hidden else "")
                                  if rows else "No jobs yet.")

    def tick(self) -> bool:
        """Ticker hook: re-read the registry once per ``interval``; False once closed."""
        if self.comm is None:
            return False
        if time.monotonic() - self._last_read >= self.interval:
            self.refresh()
        return True

    # -- actions (the table calls the engine's verbs only) ----------------------------------------
    def show(self, job_id: int) -> LaunchPanel | None:
        """Show job ``job_id``'s launch panel below the table (again: hide it)."""
        from skyexec_nb.engine.launcher import get_job

        current = self.detail.children[0] if self.detail.children else None
        if current is not None:
            current.close()
            self.detail.children = ()
            if current.job.id == job_id:
                return None
        panel = LaunchPanel(get_job(job_id), refresher=self._refresher)
        self.detail.children = (panel,)
        return panel

    def cancel(self, job_id: int) -> None:
        """Cancel job ``job_id`` (off the kernel's thread)."""
        self._act(job_id, "Cancel", lambda job: job.cancel())

    def down(self, job_id: int) -> None:
        """Tear down job ``job_id``'s cluster (off the kernel's thread)."""
        self._act(job_id, "Tear down", lambda job: job.down())

    def _act(self, job_id: int, label: str, verb: Any) -> None:
        from skyexec_nb.engine.launcher import get_job

        row = self.rows.get(job_id)
        if row is None or row.busy:
            return
        row.busy = True
        row.cancel_button.disabled = row.down_button.disabled = True

        def done(error: str) -> None:
            row.busy = False
            self.message.value = f'<span style="color:#dc3545">{html.escape(error)}</span>' if error else ""
            self.refresh()

        run_action(label, lambda: verb(get_job(job_id)), done)

    def close(self) -> None:
        """Stop updating and close every widget of the table."""
        if getattr(self, "_closed", False):  # close() again from __del__: nothing left to do
            return
        self._closed = True
        self._refresher.unregister(self)
        for row in self.rows.values():
            row.close()
        for child in [*self.header, self.recoveries_header, *self.detail.children, self.grid, self.summary,
                      self.message, self.detail]:
            child.close()
        super().close()
