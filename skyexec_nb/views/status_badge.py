"""The status badge (CSS ``skx-status`` plus ``skx-status-<state>``) and small formatting helpers."""
from __future__ import annotations

import html
import time

import ipywidgets as widgets

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus

_DARK_TEXT = {JobStatus.CANCELLING, JobStatus.PENDING, JobStatus.SETTING_UP}


def badge_html(status: JobStatus | str | None) -> str:
    """An inline coloured pill showing ``status`` (unknown states are grey)."""
    try:
        state = JobStatus(str(status))
    except ValueError:
        state = None
    colour = STATUS_COLOURS.get(state, "#6c757d") if state else "#6c757d"
    fg = "#212529" if state in _DARK_TEXT else "#fff"
    label = html.escape(str(status) if status is not None else "UNKNOWN")
    return (
        f'<span class="skx-status-pill" style="background:{colour};color:{fg};border-radius:4px;'
        f'padding:1px 6px;font-size:0.85em;font-weight:600;white-space:nowrap">{label}</span>'
    )


def format_duration(seconds: float | None) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour); an em dash for None."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_time(epoch: float | None) -> str:
    """Local ``YYYY-mm-dd HH:MM:SS``; an em dash for None."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "—"


class StatusBadge(widgets.HTML):
    """A coloured badge of a job state; ``status`` is its text (e.g. ``"RUNNING"``)."""

    def __init__(self, status: JobStatus | str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_class("skx-status")
        self.status = ""
        self.set_status(status)

    def set_status(self, status: JobStatus | str | None) -> None:
        """Show ``status`` (no message when unchanged); the state class follows it."""
        text = str(status) if status is not None else "UNKNOWN"
        if text == self.status:
            return
        if self.status:
            self.remove_class(f"skx-status-{self.status.lower()}")
        self.status = text
        self.add_class(f"skx-status-{text.lower()}")
        self.value = badge_html(status)
