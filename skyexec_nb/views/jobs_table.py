"""The jobs table (CSS ``skx-jobs``): every job of the registry, updated live, read at a glance.

Columns (:data:`COLUMNS`): name, status (badge), resources (what was asked for, then backend and
cluster), started, duration, exit code(s), cost (cloud jobs: elapsed × catalog $/hr, see
:mod:`~skyexec_nb.views.jobs_costs`; "—" for the local backend) and per-row actions (Show panel
``skx-show-button``, Cancel ``skx-cancel-button``, Tear down ``skx-down-button``).
A "Recoveries" column (``skx-jobs-recoveries``, after the status) appears when a listed job is a
managed job (backend ``jobs``) or was recovered: SkyPilot's recovery count.
Above the table: counts per state over every job (``skx-jobs-state-counts``), a state filter
(``skx-jobs-filter-state``: all, active, or one state), a name filter (``skx-jobs-filter-name``,
case-insensitive substring of the job's or its sweep's name) and the order (``skx-jobs-sort``:
newest first, a click for oldest first).
Rows carry ``skx-jobs-row`` and ``skx-job-<id>``; the panel of the selected job appears below
(``skx-jobs-detail``). The jobs of a sweep (``extra["sweep"]``) share one group row
(``skx-jobs-group``: counts per state, Expand ``skx-jobs-expand``, Cancel all, Sweep panel) placed
at its newest job; expanded, its (matching) jobs follow it in grid order (see :mod:`~skyexec_nb.views.jobs_rows`).
The registry is re-read at most once per ``interval`` seconds (one query for all rows) by the
shared ticker; a cell sends a message only when its text changes. Above the table, today's spend against
the budget when one is set (``skx-budget``, :mod:`~skyexec_nb.views.budget_line`); below it, the idle
clusters launched from here with Stop / Tear down (``skx-idle``, :mod:`~skyexec_nb.views.idle_clusters`). Its saved record (the same
columns and counts, see :mod:`skyexec_nb.views.table_records`) is updated in place.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.remote.sweep import Sweep
from skyexec_nb.views.actions import run_action
from skyexec_nb.views.budget_line import BudgetLine
from skyexec_nb.views.idle_clusters import IdleClusters, record_html as idle_html, record_lines as idle_lines
from skyexec_nb.views.jobs_costs import JobCosts
from skyexec_nb.views.jobs_rows import COLUMNS, JobRow, SweepRow, cell, sweep_info, with_recoveries
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.refresher import Refresher, get_refresher
from skyexec_nb.views.sweep_panel import SweepPanel, counts_html, sweep_name
from skyexec_nb.views.table_records import jobs_table_record
from skyexec_nb.views.theme import ERROR, theme_style

__all__ = ["COLUMNS", "JobRow", "JobsTable", "SweepRow", "group_rows", "STATE_FILTERS"]

#: Name and Resources share the free width; the others are as wide as their content needs
#: ("CANCELLING", "05-12 14:03", "1:02:03", three icon buttons), so the table fits ~600 px.
_WIDTHS = ("minmax(5em,2fr)", "minmax(min-content,1fr)", "minmax(6em,1.6fr)", "max-content", "max-content",
           "max-content", "max-content", "max-content")
ALL, ACTIVE = "all", "active"
#: The state filter's choices: (label, value).
STATE_FILTERS = (("All states", ALL), ("Active (not ended)", ACTIVE), *((s.value, s.value) for s in JobStatus))
Row = JobRow | SweepRow


def group_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | str], dict[str, list[dict[str, Any]]]]:
    """Split registry rows (newest first) into top entries and sweeps.

    Returns:
        The top entries in order: a plain job's row, or a sweep's id where its newest job is;
        and each sweep's rows in grid order.
    """
    entries: list[dict[str, Any] | str] = []
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        info = sweep_info(row)
        if info is None:
            entries.append(row)
            continue
        sweep_id = str(info["id"])
        if sweep_id not in members:
            members[sweep_id] = []
            entries.append(sweep_id)
        members[sweep_id].append(row)
    for group in members.values():
        group.sort(key=lambda r: (int(sweep_info(r).get("index") or 0), r["id"]))
    return entries, members


def matches(row: dict[str, Any], state: str, name: str) -> bool:
    """True when registry ``row`` passes the state filter and the name filter (lower-case substring)."""
    status = JobStatus(str(row["status"]))
    if state == ACTIVE and status.is_terminal or state not in (ALL, ACTIVE) and status.value != state:
        return False
    if not name:
        return True
    names = [str(row["name"])] + ([sweep_name(row)] if sweep_info(row) else [])
    return any(name in n.lower() for n in names)


class JobsTable(RecordedView, widgets.VBox):
    """All jobs (newest first by default), a sweep's jobs grouped under one row, with actions.

    Args:
        max_rows: top rows shown (a sweep counts as one; the others are counted, not shown).
        interval: seconds between registry reads.
        refresher: the ticker (default the process-wide one).
        price_service: a PriceService for the Cost column (default the shared one, made only when a
            cloud job is listed); ``False`` turns look-ups off.

    Attributes:
        rows: the shown job rows by job id (plain jobs and members of expanded sweeps).
        groups: the shown sweep group rows by sweep id.
        top_rows: the top rows in display order (members excluded).
        state_filter, name_filter, sort_button: the controls above the table.
    """

    def __init__(self, *, max_rows: int = 100, interval: float = 1.0, refresher: Refresher | None = None,
                 price_service: Any = None) -> None:
        self.max_rows, self.interval = max_rows, interval
        self._init_record()
        self._refresher = refresher or get_refresher()
        self._lock = threading.RLock()
        self.costs = JobCosts(price_service)
        self.rows: dict[int, JobRow] = {}
        self.groups: dict[str, SweepRow] = {}
        self.top_rows: list[Row] = []
        self.newest_first = True
        self.state_counts: dict[str, int] = {}
        self._order: list[Row] = []
        self._read: list[dict[str, Any]] = []
        self._shown_texts: list[dict[str, Any]] = []
        self._filter_note = ""
        self._recoveries_shown = False
        self._detail_key: tuple[str, Any] | None = None
        self._last_read = 0.0
        self.reads = 0  # registry reads so far (tests check the ~1/s budget)
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_template_columns=" ".join(_WIDTHS), grid_gap="3px 6px",
                                                          align_items="center", width="100%"))
        self.grid.add_class("skx-grid-table")
        self.header = [cell("skx-jobs-header") for _ in COLUMNS]
        for header, title in zip(self.header, COLUMNS):
            header.value = f"<b>{title}</b>"
            header.add_class("skx-th")
        self.recoveries_header = cell("skx-jobs-header")
        self.recoveries_header.value = '<b title="SkyPilot recovered the managed job this many times">Recoveries</b>'
        self.recoveries_header.add_class("skx-th")
        self.state_filter = widgets.Dropdown(options=STATE_FILTERS, value=ALL, layout=widgets.Layout(width="auto"))
        self.state_filter.add_class("skx-jobs-filter-state")
        self.name_filter = widgets.Text(placeholder="filter by name", layout=widgets.Layout(width="12em", min_width="0"))
        self.name_filter.add_class("skx-jobs-filter-name")
        self.sort_button = widgets.Button(layout=widgets.Layout(width="auto"))
        self.sort_button.add_class("skx-jobs-sort")
        self.sort_button.on_click(lambda _: self.set_order(not self.newest_first))
        self._show_order()
        self.state_filter.observe(lambda _: self._refilter(), "value")
        self.name_filter.observe(lambda _: self._refilter(), "value")
        self.state_counts_line = cell("skx-jobs-state-counts")
        self.all_toggle = widgets.ToggleButton(description="All SkyPilot work", layout=widgets.Layout(width="auto"),
                                               tooltip="Also list what the SkyPilot API server knows: clusters, "
                                                       "their jobs and managed jobs launched anywhere")
        self.all_toggle.add_class("skx-jobs-all")
        self.all_toggle.observe(lambda change: self._show_external(change["new"]), "value")
        self.external = widgets.VBox(layout=widgets.Layout(width="auto", min_width="0"))
        self.external.add_class("skx-jobs-external")
        toolbar = widgets.HBox([self.state_filter, self.name_filter, self.sort_button, self.all_toggle,
                                self.state_counts_line],
                               layout=widgets.Layout(width="auto"))
        toolbar.add_class("skx-toolbar")
        self.summary = cell("skx-jobs-summary")
        self.summary.add_class("skx-muted")
        self.message = cell("skx-error")
        self.detail = widgets.VBox(layout=widgets.Layout(width="auto", min_width="0"))
        self.detail.add_class("skx-jobs-detail")
        self.stale = StaleNote("skx-jobs")
        self.budget_line, self.idle = BudgetLine(), IdleClusters()
        super().__init__([theme_style(), self.stale, toolbar, self.budget_line, self.grid, self.summary, self.message,
                          self.idle, self.detail, self.external],
                         layout=widgets.Layout(width="100%", max_width="100%", overflow="hidden"))
        self.add_class("skx-jobs")
        self.stale.set_text("Live view not connected (kernel restarted or notebook reopened): run %skyjobs to "
                            "re-attach.", self.model_id)
        self.refresh()
        self._refresher.register(self)

    def refresh(self) -> None:
        """Re-read the registry now."""
        with self._lock:
            self._last_read = time.monotonic()
            self.reads += 1
            self._render(get_registry().rows(order="id DESC"))
        self.record_changed()

    def record_parts(self) -> tuple[str, str, Any]:
        """The table as last shown: counts per state, then the same columns as the live view."""
        text, body = jobs_table_record(self._shown_texts, self.state_counts, len(self._read), self._filter_note)
        budget = [self.budget_line.text] if self.budget_line.text else []
        text = "\n".join([*budget, text, *idle_lines(self.idle.texts)])
        return text, "".join(f"<div>{html.escape(b)}</div>" for b in budget) + body + idle_html(self.idle.texts), None

    def sync_state(self) -> None:
        """Re-read the registry now (the record keeper calls this after each cell)."""
        self.refresh()

    # -- filter and order ---------------------------------------------------------------------------
    def set_order(self, newest_first: bool) -> None:
        """Newest first (the default) or oldest first."""
        with self._lock:
            self.newest_first = newest_first
            self._show_order()
            self._render(self._read)
        self.record_changed()

    def _show_order(self) -> None:
        self.sort_button.description = "Newest first" if self.newest_first else "Oldest first"
        self.sort_button.icon = "arrow-down" if self.newest_first else "arrow-up"
        self.sort_button.tooltip = ("Shown newest first: click for oldest first" if self.newest_first
                                    else "Shown oldest first: click for newest first")

    def _refilter(self) -> None:
        with self._lock:
            self._render(self._read)
        self.record_changed()

    def _render(self, rows: list[dict[str, Any]]) -> None:
        """Update the rows from registry ``rows`` (newest first); re-lay the grid only when its rows changed."""
        self._read = rows
        statuses = [JobStatus(str(r["status"])) for r in rows]
        self.state_counts = {s.value: statuses.count(s) for s in JobStatus if s in statuses}
        counts = counts_html(self.state_counts)
        if self.state_counts_line.value != counts:
            self.state_counts_line.value = counts
        state, name = self.state_filter.value, self.name_filter.value.strip().lower()
        entries, members = group_rows(rows)
        kept = {sid: [r for r in group if matches(r, state, name)] for sid, group in members.items()}
        entries = [e for e in entries if (kept[e] if isinstance(e, str) else matches(e, state, name))]
        if not self.newest_first:
            entries.reverse()
        shown = entries[: self.max_rows]
        top: list[Row] = []
        order: list[Row] = []
        texts: list[dict[str, Any]] = []
        for entry in shown:
            if isinstance(entry, str):
                group = self._group_row(entry, members[entry])
                top.append(group)
                order.append(group)
                texts.append({**group.texts, "counts": dict(group.counts)})
                if group.expanded:
                    for r in kept[entry]:
                        order.append(self._job_row(r, True))
                        texts.append({**order[-1].texts, "member": True})
            else:
                top.append(self._job_row(entry, False))
                order.append(top[-1])
                texts.append(top[-1].texts)
        for gone in set(self.rows) - {r.job_id for r in order if isinstance(r, JobRow)}:
            self.rows.pop(gone).close()
        for gone in set(self.groups) - {r.sweep_id for r in top if isinstance(r, SweepRow)}:
            self.groups.pop(gone).close()
        recoveries = any(r.recovery_count is not None for r in order)
        if order != self._order or recoveries != self._recoveries_shown:
            self._order, self._recoveries_shown = order, recoveries
            self.grid.layout.grid_template_columns = " ".join(with_recoveries(_WIDTHS, "max-content", recoveries))
            header = with_recoveries(tuple(self.header), self.recoveries_header, recoveries)
            self.grid.children = [*header, *(c for r in order for c in r.grid_cells(recoveries))]
        self.top_rows = top
        self._shown_texts = texts
        jobs_shown = sum(len(kept[e]) if isinstance(e, str) else 1 for e in shown)
        filtered = sum(len(kept[e]) if isinstance(e, str) else 1 for e in entries)
        notes = []
        if filtered < len(rows):
            notes.append(f"{filtered} match the filter")
        if jobs_shown < filtered:
            notes.append(f"{filtered - jobs_shown} {'older' if self.newest_first else 'newer'} not shown")
        self._filter_note = ", ".join(notes)
        summary = (f"{len(rows)} jobs" + (f" ({self._filter_note})" if notes else "")) if rows else "No jobs yet."
        if rows and not entries:
            summary = f"No job matches the filter ({len(rows)} jobs in all)."
        if self.summary.value != summary:
            self.summary.value = summary

    def _job_row(self, row: dict[str, Any], member: bool) -> JobRow:
        """Job ``row``'s row (made on first sight, or again once it joins a sweep), updated."""
        if row["id"] in self.rows and self.rows[row["id"]].member != member:
            self.rows.pop(row["id"]).close()
        if row["id"] not in self.rows:
            self.rows[row["id"]] = JobRow(self, row["id"], member=member)
        self.rows[row["id"]].update(row, self.costs.cost(row))
        return self.rows[row["id"]]

    def _group_row(self, sweep_id: str, members: list[dict[str, Any]]) -> SweepRow:
        """Sweep ``sweep_id``'s group row (made on first sight), updated from its jobs' rows."""
        if sweep_id not in self.groups:
            self.groups[sweep_id] = SweepRow(self, sweep_id)
        self.groups[sweep_id].update(members, [self.costs.cost(r) for r in members])
        return self.groups[sweep_id]

    def tick(self) -> bool:
        """Ticker hook: re-read the registry once per ``interval``; False once closed."""
        if self.comm is None:
            return False
        if time.monotonic() - self._last_read >= self.interval:
            self.refresh()
        self.budget_line.tick()
        self.idle.tick(self._read)  # both ask off this thread
        return True

    # -- actions (the table calls the engine's verbs only) ----------------------------------------
    def show(self, job_id: int) -> LaunchPanel | None:
        """Show job ``job_id``'s launch panel below the table (again: hide it)."""
        from skyexec_nb.engine.api import get_job

        return self._toggle_detail(("job", job_id), lambda: LaunchPanel(get_job(job_id), refresher=self._refresher))

    def show_sweep(self, sweep_id: str) -> SweepPanel | None:
        """Show sweep ``sweep_id``'s panel below the table (again: hide it)."""
        try:
            return self._toggle_detail(("sweep", sweep_id),
                                       lambda: SweepPanel(Sweep.load(sweep_id), refresher=self._refresher))
        except LookupError as exc:
            self.message.value = _error(str(exc))
            return None

    def _toggle_detail(self, key: tuple[str, Any], make: Callable[[], widgets.Widget]) -> Any:
        current = self.detail.children[0] if self.detail.children else None
        if current is not None:
            current.close()
            self.detail.children = ()
            if self._detail_key == key:
                self._detail_key = None
                return None
        self._detail_key = None
        panel = make()
        self._detail_key, self.detail.children = key, (panel,)
        return panel

    def toggle(self, sweep_id: str) -> None:
        """Expand sweep ``sweep_id``'s group row to show its jobs (again: collapse it)."""
        with self._lock:
            group = self.groups.get(sweep_id)
            if group is not None:
                group.set_expanded(not group.expanded)
                self._render(self._read)

    def cancel(self, job_id: int) -> None:
        """Cancel job ``job_id`` (off the kernel's thread)."""
        self._act(job_id, "Cancel", lambda job: job.cancel())

    def down(self, job_id: int) -> None:
        """Tear down job ``job_id``'s cluster (off the kernel's thread)."""
        self._act(job_id, "Tear down", lambda job: job.down())

    def cancel_sweep(self, sweep_id: str) -> None:
        """Cancel every job of sweep ``sweep_id`` not yet ended (off the kernel's thread)."""
        self._run(self.groups.get(sweep_id), "Cancel all", lambda: Sweep.load(sweep_id).cancel())

    def _act(self, job_id: int, label: str, verb: Callable[[Any], Any]) -> None:
        from skyexec_nb.engine.api import get_job

        self._run(self.rows.get(job_id), label, lambda: verb(get_job(job_id)))

    def _run(self, row: Row | None, label: str, action: Callable[[], Any]) -> None:
        """Run ``action`` for ``row`` off the kernel's thread, its verbs disabled meanwhile."""
        if row is None or row.busy:
            return
        row.busy = True
        for verb in row.verbs:
            verb.disabled = True

        def done(error: str) -> None:
            row.busy = False
            self.message.value = _error(error)
            self.refresh()

        run_action(label, action, done)

    def _show_external(self, on: bool) -> None:
        """The "All SkyPilot work" toggle: the external table (``%skyjobs --all``) below, or none."""
        for child in self.external.children:
            child.close()
        if on:
            from skyexec_nb.views.external_table import ExternalTable

            self.external.children = (ExternalTable(),)
        else:
            self.external.children = ()

    def close(self) -> None:
        """Stop updating and close every widget of the table."""
        if getattr(self, "_closed", False):  # close() again from __del__: nothing left to do
            return
        self._closed = True
        self._show_external(False)
        self._refresher.unregister(self)
        for row in [*self.rows.values(), *self.groups.values()]:
            row.close()
        for child in [*self.header, self.recoveries_header, *self.detail.children, self.grid, self.summary,
                      self.message, self.detail, self.state_filter, self.name_filter, self.sort_button,
                      self.all_toggle, self.external, self.state_counts_line, self.budget_line, self.idle]:
            child.close()
        super().close()


def _error(text: str) -> str:
    """The table's red error line ('' for none)."""
    return f'<span style="color:{ERROR}">{html.escape(text)}</span>' if text else ""
