"""The launch panel of one job: header with status badge and ticking elapsed time, actions, log tail.

Also: links to what the job serves (:mod:`~skyexec_nb.views.endpoint_links`, ``skx-endpoints``),
the estimated cost so far of a cloud job (:mod:`~skyexec_nb.views.cost_line`, ``skx-cost``) and,
for managed jobs, SkyPilot's recovery count in the header (``skx-recoveries``); a job launched with
spend limits has a Limits line (``skx-limits``: time left, cost so far against the limit, the 80 %
warning in amber ``skx-limit-warning``; see :mod:`~skyexec_nb.views.limit_notes`), and while a
daily budget is set, today's spend and what is left (``skx-budget``, :mod:`~.budget_line`).

Kept live by the shared ticker (:mod:`skyexec_nb.views.refresher`): the log pane follows the
file every tick (at most ~10 messages/s), the header re-reads the job when the engine reports a
change or every half second. Updates come from the ticker thread; no ``with out:`` anywhere.
The panel holds no launch logic: its buttons call ``job.cancel()`` / ``job.down()`` only; on a
cloud backend each asks once more in place ("Confirm cancel?" / "Yes, tear down" + "No"). While a
time limit runs, "+1h" (``skx-more-time-button``) gives the job one more hour (``job.set_limits``).
The facts line (``skx-facts``) says what was launched and what happened: resources, start/end
times, per-rank exit codes, what ``--pull`` brings back. Its saved record (text/plain + text/html,
see :mod:`skyexec_nb.views.record`) is updated in place, so a saved notebook tells the final state.
"""
from __future__ import annotations

import html
import threading
import time
import weakref
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.spend import row_limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.spend_limits import MAX_TIMEOUT_S
from skyexec_nb.views.actions import ConfirmStep, run_action
from skyexec_nb.views.cost_line import COST_BACKENDS, CostLine
from skyexec_nb.views.endpoint_links import EndpointLinks
from skyexec_nb.views.files_link import log_link_html
from skyexec_nb.views.budget_line import BudgetLine
from skyexec_nb.views.limit_notes import limits_html
from skyexec_nb.views.log_pane import LogPane, LogTail
from skyexec_nb.views.metric_chart import MetricChart
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.refresher import Refresher, get_refresher
from skyexec_nb.views.static_repr import header_lines, job_facts, launch_record, pulled_types, stale_text
from skyexec_nb.views.status_badge import StatusBadge, format_duration

#: Backends whose jobs run on a cluster that "Tear down" can remove.
CLUSTER_BACKENDS = frozenset({"skypilot", "jobs", "attached"})
MORE_TIME_S = 3600.0  # what one click on "+1h" adds to a running job's time limit
DOUBLE_CLICK_S = 1.0  # clicks on "+1h" closer than this are one click
STATUS_EVERY = 0.5  # seconds between header re-reads when the engine reported nothing


def error_html(text: str) -> str:
    """A red line of words (empty string for no error)."""
    if not text:
        return ""
    return f'<span class="skx-error-text" style="color:#dc3545;font-weight:600">{html.escape(text)}</span>'


def _button(description: str, css: str, tooltip: str, icon: str = "") -> widgets.Button:
    button = widgets.Button(description=description, tooltip=tooltip, icon=icon, layout=widgets.Layout(width="auto"))
    button.add_class(css)
    return button


def snapshot(job: Any) -> dict[str, Any]:
    """The job's changing facts read once (one registry read when the job offers ``row()``)."""
    row = getattr(job, "row", None)
    if callable(row):
        return dict(row())
    return {k: getattr(job, k, None) for k in ("status", "created", "started", "ended", "error", "exit_codes", "extra")}


def recovery_count(backend: Any, facts: dict[str, Any]) -> int | None:
    """SkyPilot's recovery count of a managed job (``extra['recovery_count']``); None when not one."""
    count = int((facts.get("extra") or {}).get("recovery_count") or 0)
    return count if backend == "jobs" or count else None


def elapsed_of(facts: dict[str, Any]) -> float | None:
    """Seconds from start (or creation) to end (or now), from a :func:`snapshot`."""
    start = facts.get("started") or facts.get("created")
    return None if start is None else max(0.0, (facts.get("ended") or time.time()) - start)


def failure_text(facts: dict[str, Any]) -> str:
    """What went wrong, in words: the engine's error, else the failed state and exit codes."""
    if facts.get("error"):
        return str(facts["error"])
    status = facts.get("status")
    if isinstance(status, JobStatus) and status.is_failure:
        codes = facts.get("exit_codes") or {}
        detail = f" (exit codes: {', '.join(f'rank {r}: {c}' for r, c in sorted(codes.items()))})" if codes else ""
        return f"Job ended {status.value}{detail}; see the log below."
    return ""


def facts_html(job: Any, facts: dict[str, Any], pulled: dict[str, str] | None = None) -> str:
    """The facts line: resources, started/ended, exit codes, what comes back ('' when nothing)."""
    shown = {"Resources", "Started", "Ended", "Exit codes", "Returns"}
    items = [(k, v) for k, v in header_lines(job, facts, pulled_types=pulled) if k in shown]
    return " · ".join(f'<span class="skx-fact"><span style="color:#6c757d">{html.escape(k.lower())}</span> '
                      f"{html.escape(v)}</span>" for k, v in items)


class LaunchPanel(RecordedView, widgets.VBox):
    """Live view of a :class:`~skyexec_nb.engine.jobs.job.Job` (CSS ``skx-launch``).

    Args:
        job: the job to follow.
        refresher: the ticker (default: the process-wide one).
        tail_lines: lines kept in the log pane (default ``settings.log_tail_lines``).
        price_service: prices the cost line of a cloud job (see :class:`CostLine`); default the shared one.
    """

    def __init__(self, job: Any, *, refresher: Refresher | None = None, tail_lines: int | None = None,
                 price_service: Any = None) -> None:
        self.job = job
        self._refresher = refresher or get_refresher()
        self._lock = threading.RLock()
        self._busy: set[str] = set()
        self._torn_down = False
        self._status: JobStatus | None = None
        self._facts: dict[str, Any] = {"created": getattr(job, "created", None)}
        self._dirty = True
        self._last_status_read = 0.0
        self._quiet_ticks = 0
        self._pulled: dict[str, str] | None = None
        self._init_record()

        self.title = widgets.HTML()
        self.title.add_class("skx-launch-title")
        self.badge = StatusBadge()
        self.elapsed_label = widgets.HTML()
        self.elapsed_label.add_class("skx-elapsed")
        self.recoveries = widgets.HTML()
        self.recoveries.add_class("skx-recoveries")
        self.cancel_button = _button("Cancel", "skx-cancel-button", "Stop the job", "stop")
        self.down_button = _button("Tear down", "skx-down-button", "Remove the job's cluster", "trash")
        self.refresh_button = _button("Refresh", "skx-refresh-button", "Re-read status and log", "refresh")
        self.log_button = _button("Open full log", "skx-open-log-button", "Show where the full log is", "file-text")
        self.more_time_button = _button("+1h", "skx-more-time-button",
                                        "One more hour before the time limit stops the job", "clock-o")
        self.more_time_button.layout.display = "none"  # shown while a time limit runs
        self._more_time_at = -DOUBLE_CLICK_S
        self.log_link = widgets.HTML()
        self.log_link.add_class("skx-log-location")
        self.error_line = widgets.HTML()
        self.error_line.add_class("skx-error")
        self.facts = widgets.HTML()
        self.facts.add_class("skx-facts")
        self.limits = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.limits.add_class("skx-limits")
        self.budget_line = BudgetLine(every=30.0)  # today's spend and what is left, while a budget is set
        self.stale = StaleNote("skx-launch")
        self._action_error = ""
        self._read_error = ""
        self.log_pane = LogPane(LogTail(getattr(job, "log_path", None), tail_lines or get_settings().log_tail_lines))
        self.endpoints = EndpointLinks(job)
        self.cost = CostLine(job, price_service) if getattr(job, "backend", None) in COST_BACKENDS else None
        self.chart = MetricChart.for_job(job)  # training curves read from the log (hidden until one is found)

        if getattr(job, "backend", None) not in CLUSTER_BACKENDS:
            self.down_button.layout.display = "none"
        cloud = getattr(job, "backend", None) in CLUSTER_BACKENDS
        self.confirm_cancel = ConfirmStep(self.cancel_button, "Confirm cancel?", lambda: self._act("cancel", job.cancel),
                                          needed=lambda: cloud)
        self.confirm_down = ConfirmStep(self.down_button, "Yes, tear down", lambda: self._act("down", self._down),
                                        needed=lambda: True)
        self.refresh_button.on_click(lambda _: self.refresh())
        self.log_button.on_click(lambda _: self.show_log_location())
        self.more_time_button.on_click(lambda _: self.more_time())

        header = widgets.HBox([self.title, self.badge, self.elapsed_label, self.recoveries],
                              layout=widgets.Layout(align_items="center"))
        buttons = widgets.HBox([self.cancel_button, self.confirm_cancel.no, self.down_button, self.confirm_down.no,
                                self.more_time_button, self.refresh_button, self.log_button])
        facts_lines = [self.facts, self.limits, self.budget_line, self.endpoints, *([self.cost] if self.cost is not None else [])]
        super().__init__([self.stale, header, buttons, *facts_lines, self.log_link, self.error_line, self.chart,
                          self.log_pane])
        self.add_class("skx-launch")
        self.stale.set_text(stale_text(job.id), self.model_id)
        self._subscribe()
        self.refresh()

    # -- engine side -------------------------------------------------------------------------
    def _subscribe(self) -> None:
        """Ask the job to mark the header dirty on change (a weak ref: no leak via the job)."""
        on_change: Callable | None = getattr(self.job, "on_change", None)
        self._unsubscribe: Callable | None = None
        if on_change is None:
            return
        ref = weakref.ref(self)

        def mark(_job: Any = None) -> None:
            panel = ref()
            if panel is not None:
                panel._dirty = True

        self._unsubscribe = on_change(mark)

    def more_time(self, seconds: float = MORE_TIME_S) -> None:
        """Give the job ``seconds`` more before its time limit (one SQLite write: the supervisor takes
        it within a second); a refusal (the job just ended) goes to the red line. A second click
        within ``DOUBLE_CLICK_S`` is the same click (a double click gives one hour, not two)."""
        now = time.monotonic()
        if now - self._more_time_at < DOUBLE_CLICK_S:
            return
        self._more_time_at = now
        try:
            timeout = row_limits(self._facts).timeout
            if timeout is not None:
                self.job.set_limits(timeout=min(timeout + seconds, MAX_TIMEOUT_S))
            self._action_error = ""
        except Exception as exc:  # shown to the user, never lost
            self._action_error = f"More time failed: {' '.join(str(exc).split())}"
        self.refresh()
        self.record_changed(force=True)

    def _down(self) -> None:
        self.job.down()
        self._torn_down = True

    def _act(self, name: str, action: Callable[[], Any]) -> None:
        """Run a blocking job action off the kernel's thread; its error goes to the red line."""
        button = self.cancel_button if name == "cancel" else self.down_button
        with self._lock:
            if name in self._busy:
                return
            self._busy.add(name)
            button.description = {"cancel": "Cancelling…", "down": "Tearing down…"}.get(name, name)
            self._update_header()

        def done(error: str) -> None:
            with self._lock:
                self._busy.discard(name)
                self._action_error = error
                button.description = {"cancel": "Cancel", "down": "Tear down"}.get(name, name)
            self.refresh()
            self.record_changed(force=True)

        run_action({"cancel": "Cancel", "down": "Tear down"}.get(name, name), action, done)

    # -- view side ---------------------------------------------------------------------------
    @property
    def status(self) -> JobStatus | None:
        """The last state shown."""
        return self._status

    def refresh(self) -> None:
        """Re-read the job and the log now, and follow again if the job is live."""
        with self._lock:
            self._dirty = True
            self._quiet_ticks = 0
            self.tick()
        if not self._closed_or_done():
            self._refresher.register(self)

    def sync_state(self) -> None:
        """Re-read the job into the widget's traits now (the record keeper calls this after each cell)."""
        with self._lock:
            self._dirty = True
            self.tick()

    def record_parts(self) -> tuple[str, str, Any]:
        """The saved record: state, what happened, cost, the last log lines (read fresh)."""
        facts = job_facts(self.job)
        cost = getattr(self.cost, "text", "") if self.cost is not None else ""
        text, body = launch_record(self.job, facts, cost=cost, pulled_types=self._pulled_types(facts))
        text, body = "\n".join(filter(None, [text, self.chart.record_text()])), body + self.chart.record_html()
        return text, body, self.job.id

    def _pulled_types(self, facts: dict[str, Any]) -> dict[str, str] | None:
        """Types of what a finished remote Python job sent back (read once; None when unknown)."""
        status = facts.get("status")
        if self._pulled is None and isinstance(status, JobStatus) and status.is_terminal:
            self._pulled = pulled_types(self.job, facts.get("extra"))
        return self._pulled

    def _closed_or_done(self) -> bool:
        return self.comm is None or (self._status is not None and self._status.is_terminal and self._quiet_ticks >= 2)

    def tick(self) -> bool:
        """One refresh (the ticker calls this every 0.1 s); False when there is nothing left to follow."""
        with self._lock:
            if self.comm is None:  # closed
                return False
            now = time.monotonic()
            before = self._status
            if self._dirty or now - self._last_status_read >= STATUS_EVERY:
                self._dirty = False
                self._last_status_read = now
                self._read_status()
            self._update_header()
            terminal = self._status is not None and self._status.is_terminal
            self._update_facts_lines(terminal)
            changed = self.log_pane.update(final=terminal)
            changed = self.chart.update(final=terminal) or changed
            self._quiet_ticks = self._quiet_ticks + 1 if terminal and not changed else 0
            finished = terminal and self._quiet_ticks >= 2
        if self._status != before or finished:
            self.record_changed(force=True)
        elif changed:
            self.record_changed()
        else:
            self.record_due()
        return not finished

    def _read_status(self) -> None:
        try:
            facts = snapshot(self.job)
            facts["status"] = JobStatus(str(facts["status"]))
        except Exception as exc:  # registry unreadable: say so, keep the last state
            self._read_error = f"Could not read the job status: {' '.join(str(exc).split())}"
        else:
            self._facts, self._status, self._read_error = facts, facts["status"], ""
        self.badge.set_status(self._status)
        self.error_line.value = error_html(self._action_error or self._read_error or failure_text(self._facts))
        terminal = self._status is not None and self._status.is_terminal
        pulled = self._pulled_types(self._facts) if terminal else None
        text = facts_html(self.job, self._facts, pulled)
        if self.facts.value != text:
            self.facts.value = text

    def _update_header(self) -> None:
        job = self.job
        parts = [f"<b>{html.escape(str(job.name))}</b>", html.escape(str(job.backend))]
        cluster = getattr(job, "cluster", None)
        if cluster:
            parts.append(f"cluster <code>{html.escape(str(cluster))}</code>")
        self.title.value = " · ".join(parts)
        self.elapsed_label.value = html.escape(format_duration(elapsed_of(self._facts)))
        count = recovery_count(getattr(job, "backend", None), self._facts)
        self.recoveries.value = "" if count is None else (
            f'<span style="color:{"#fd7e14" if count else "#6c757d"}" title="SkyPilot recovered the managed job '
            f'after preemption or failure">recoveries: {count}</span>')
        terminal = self._status is not None and self._status.is_terminal
        self.cancel_button.disabled = terminal or self._status == JobStatus.CANCELLING or "cancel" in self._busy
        self.down_button.disabled = not cluster or self._torn_down or "down" in self._busy
        for step in (self.confirm_cancel, self.confirm_down):
            if step.button.disabled:
                step.reset()
        self.log_button.disabled = not getattr(job, "log_path", None)
        timeout = row_limits(self._facts).timeout
        can_extend = (not terminal and timeout is not None and timeout < MAX_TIMEOUT_S
                      and hasattr(job, "set_limits"))
        display = "" if can_extend else "none"
        if self.more_time_button.layout.display != display:
            self.more_time_button.layout.display = display

    def _update_facts_lines(self, terminal: bool) -> None:
        """Endpoint links (probed at most ~1/s), the limits and the cost estimate, from the last snapshot."""
        self.endpoints.update(self._facts, terminal)
        limits = limits_html(self._facts)
        if self.limits.value != limits:
            self.limits.value = limits
        self.budget_line.tick()
        if self.cost is not None:
            self.cost.update(elapsed_of(self._facts), terminal, self._facts.get("extra"))

    def show_log_location(self) -> None:
        """Show the full log's path, as a ``/files/`` link when the Jupyter server can serve it."""
        path = getattr(self.job, "log_path", None)
        if path:
            self.log_link.value = log_link_html(path)

    def close(self) -> None:
        """Stop following and close every child widget."""
        if getattr(self, "_closed", False):  # close() again from __del__: nothing left to do
            return
        self._closed = True
        self._refresher.unregister(self)
        self.confirm_cancel.reset()
        self.confirm_down.reset()
        if callable(getattr(self, "_unsubscribe", None)):
            self._unsubscribe()
        for child in self._all_children():
            child.close()
        super().close()

    def _all_children(self) -> list[widgets.Widget]:
        found, stack = [], list(self.children)
        while stack:
            child = stack.pop()
            found.append(child)
            stack.extend(getattr(child, "children", ()))
        return found
