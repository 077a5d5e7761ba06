"""The launch panel of one job: header with status badge and ticking elapsed time, actions, log tail.

Also: links to what the job serves (:mod:`~skyexec_nb.views.endpoint_links`, ``skx-endpoints``),
the estimated cost so far of a cloud job (:mod:`~skyexec_nb.views.cost_line`, ``skx-cost``) and,
for managed jobs, SkyPilot's recovery count in the header (``skx-recoveries``).

Kept live by the shared ticker (:mod:`skyexec_nb.views.refresher`): the log pane follows the
file every tick (at most ~10 messages/s), the header re-reads the job when the engine reports a
change or every half second. Updates come from the ticker thread; no ``with out:`` anywhere.
The panel holds no launch logic: its buttons call ``job.cancel()`` / ``job.down()`` only.
"""
from __future__ import annotations

import html
import threading
import time
import weakref
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.views.actions import run_action
from skyexec_nb.views.cost_line import COST_BACKENDS, CostLine
from skyexec_nb.views.endpoint_links import EndpointLinks
from skyexec_nb.views.files_link import log_link_html
from skyexec_nb.views.log_pane import LogPane, LogTail
from skyexec_nb.views.refresher import Refresher, get_refresher
from skyexec_nb.views.status_badge import StatusBadge, format_duration

#: Backends whose jobs run on a cluster that "Tear down" can remove.
CLUSTER_BACKENDS = frozenset({"skypilot", "jobs"})
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


class LaunchPanel(widgets.VBox):
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
        self.log_link = widgets.HTML()
        self.log_link.add_class("skx-log-location")
        self.error_line = widgets.HTML()
        self.error_line.add_class("skx-error")
        self._action_error = ""
        self._read_error = ""
        self.log_pane = LogPane(LogTail(getattr(job, "log_path", None), tail_lines or get_settings().log_tail_lines))
        self.endpoints = EndpointLinks(job)
        self.cost = CostLine(job, price_service) if getattr(job, "backend", None) in COST_BACKENDS else None

        if getattr(job, "backend", None) not in CLUSTER_BACKENDS:
            self.down_button.layout.display = "none"
        self.cancel_button.on_click(lambda _: self._act("cancel", job.cancel))
        self.down_button.on_click(lambda _: self._act("down", self._down))
        self.refresh_button.on_click(lambda _: self.refresh())
        self.log_button.on_click(lambda _: self.show_log_location())

        header = widgets.HBox([self.title, self.badge, self.elapsed_label, self.recoveries],
                              layout=widgets.Layout(align_items="center"))
        buttons = widgets.HBox([self.cancel_button, self.down_button, self.refresh_button, self.log_button])
        facts_lines = [self.endpoints, *([self.cost] if self.cost is not None else [])]
        super().__init__([header, buttons, *facts_lines, self.log_link, self.error_line, self.log_pane])
        self.add_class("skx-launch")
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

    def _down(self) -> None:
        self.job.down()
        self._torn_down = True

    def _act(self, name: str, action: Callable[[], Any]) -> None:
        """Run a blocking job action off the kernel's thread; its error goes to the red line."""
        with self._lock:
            if name in self._busy:
                return
            self._busy.add(name)
            self._update_header()

        def done(error: str) -> None:
            with self._lock:
                self._busy.discard(name)
                self._action_error = error
            self.refresh()

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

    def _closed_or_done(self) -> bool:
        return self.comm is None or (self._status is not None and self._status.is_terminal and self._quiet_ticks >= 2)

    def tick(self) -> bool:
        """One refresh (the ticker calls this every 0.1 s); False when there is nothing left to follow."""
        with self._lock:
            if self.comm is None:  # closed
                return False
            now = time.monotonic()
            if self._dirty or now - self._last_status_read >= STATUS_EVERY:
                self._dirty = False
                self._last_status_read = now
                self._read_status()
            self._update_header()
            terminal = self._status is not None and self._status.is_terminal
            self._update_facts_lines(terminal)
            changed = self.log_pane.update()
            self._quiet_ticks = self._quiet_ticks + 1 if terminal and not changed else 0
            return not (terminal and self._quiet_ticks >= 2)

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
        self.log_button.disabled = not getattr(job, "log_path", None)

    def _update_facts_lines(self, terminal: bool) -> None:
        """Endpoint links (probed at most ~1/s) and the cost estimate, from the last snapshot."""
        self.endpoints.update(self._facts, terminal)
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
