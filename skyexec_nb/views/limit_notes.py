"""A job's spend limits in words: the launch panel's "Limits" line (CSS ``skx-limits``) and its record.

Read from the job's registry row: ``launch_options["limits"]`` (what was asked, see
:class:`~skyexec_nb.engine.jobs.spend.Limits`), ``extra["spend"]`` (cost so far, written by the
supervisor), ``extra["limit_warning"]`` (80 % of a cost limit used: shown in an amber box, CSS
``skx-limit-warning``, kept after a stop as what came first) and ``extra["limit"]`` (the limit
that stopped the job). The job's ``error`` already holds that limit's text (the panel's red line
shows it), so it is not repeated here. Pure text and HTML: no widgets, so the saved record (:mod:`~skyexec_nb.views.static_repr`)
says the same.

Examples: ``time limit 2h (1h12m left); cost limit $50.00 ($12.40 so far at $10.33/hr, estimated)``,
``time limit 2h (reached: the job was stopped)``.
"""
from __future__ import annotations

import html
import time
from typing import Any, Mapping

from skyexec_nb.engine.jobs.spend import Limits, elapsed, job_cost, row_limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.spend_limits import format_duration_short, format_money
from skyexec_nb.views.cost_line import money

MUTED = "var(--jp-ui-font-color2, #6c757d)"
#: A warning reads in both themes: theme text on an amber-tinted box with an amber bar.
WARN_BOX = ("border-left:3px solid var(--jp-warn-color1, #f57c00);background:rgba(245,124,0,.15);"
            "color:var(--jp-ui-font-color1, #212529);padding:1px 8px;border-radius:2px")


def warning_html(text: str, css: str = "", tag: str = "div") -> str:
    """``text`` as an amber warning (``&#9888;`` first), CSS class ``css`` ('' for no text)."""
    if not text:
        return ""
    return f'<{tag} class="{css}" style="{WARN_BOX}">&#9888; {html.escape(text)}</{tag}>'


_STOPPED = {"timeout": "the job was stopped", "cost": "the job was stopped",
            "sweep_cost": "every job of the sweep was stopped"}


def _extra_entry(row: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    entry = (row.get("extra") or {}).get(key)
    return entry if isinstance(entry, dict) else None


def cost_so_far(row: Mapping[str, Any], now: float | None = None) -> float | None:
    """Estimated dollars so far: hourly x time run (live), else the supervisor's ``extra["spend"]``."""
    cost = job_cost(dict(row), now)
    if cost is None:
        spend = _extra_entry(row, "spend")
        value = spend.get("cost") if spend else None
        cost = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return cost


def _status(row: Mapping[str, Any]) -> JobStatus | None:
    try:
        return JobStatus(str(row.get("status")))
    except ValueError:
        return None


def limits_text(row: Mapping[str, Any] | None, now: float | None = None) -> str:
    """The limits of job ``row`` and where it stands against them ('' when it has none)."""
    if not row:
        return ""
    limits: Limits = row_limits(row)
    if not limits.any:
        return ""
    status = _status(row)
    ended = status is not None and status.is_terminal
    started = row.get("started") is not None
    stopped = _extra_entry(row, "limit") or {}
    kind = stopped.get("kind")
    parts: list[str] = []
    if limits.timeout is not None:
        ran = elapsed(row, now)
        if kind == "timeout":
            note = f"reached: {_STOPPED['timeout']}"
        elif not started:
            note = "counts from the start"
        elif ended:
            note = f"ran {format_duration_short(ran)}"
        else:
            note = f"{format_duration_short(max(0.0, limits.timeout - ran))} left"
        parts.append(f"time limit {format_duration_short(limits.timeout)} ({note})")
    cost = cost_so_far(row, now) if started else None  # a job waiting for its start costs nothing yet
    rate = f" at {format_money(limits.hourly)}/hr" if limits.hourly is not None else ""
    spent = ("" if cost is None else
             f"{money(cost)} {'in all' if ended else 'so far'}{rate}, estimated")
    if limits.max_cost is not None:
        note = f"reached: {_STOPPED['cost']}" if kind == "cost" else spent
        parts.append(f"cost limit {format_money(limits.max_cost)}" + (f" ({note})" if note else ""))
    if limits.group_max_cost is not None:
        note = f"reached: {_STOPPED['sweep_cost']}" if kind == "sweep_cost" else "all its jobs together"
        parts.append(f"sweep cost limit {format_money(limits.group_max_cost)} ({note})")
        if limits.max_cost is None and spent:
            parts.append(f"this job: {spent}")
    return "; ".join(parts)


def warning_text(row: Mapping[str, Any] | None) -> str:
    """The supervisor's 80 % warning (``extra["limit_warning"]``; '' when none)."""
    if not row:
        return ""
    warning = _extra_entry(row, "limit_warning")
    return " ".join(str(warning.get("text") or "").split()) if warning else ""


def stop_text(row: Mapping[str, Any] | None) -> str:
    """Why a limit stopped the job, when the job's error line does not already say it ('' otherwise)."""
    stopped = _extra_entry(row or {}, "limit")
    text = " ".join(str((stopped or {}).get("text") or "").split())
    if not text or text in str((row or {}).get("error") or ""):
        return ""
    return f"stopped: {text}"


def record_lines(row: Mapping[str, Any] | None, now: float | None = None) -> list[tuple[str, str]]:
    """``(label, text)`` lines of a record: Limits, Limit warning, Stopped by (only those that apply)."""
    stop = stop_text(row)
    lines = [("Limits", limits_text(row, now)), ("Limit warning", warning_text(row)),
             ("Stopped by", stop.removeprefix("stopped: "))]
    return [(k, v) for k, v in lines if v]


def limits_html(row: Mapping[str, Any] | None, now: float | None = None) -> str:
    """The panel's Limits line: the limits (grey label), then the warning in amber ('' when none)."""
    now = time.time() if now is None else now
    text, warning, stop = limits_text(row, now), warning_text(row), stop_text(row)
    if not (text or warning or stop):
        return ""
    parts = []
    if text or stop:
        shown = "; ".join(filter(None, [text, stop]))
        parts.append(f'<span class="skx-limits-text"><span style="color:{MUTED}">Limits:</span> '
                     f"{html.escape(shown)}</span>")
    parts.append(warning_html(warning, "skx-limit-warning"))
    return "".join(parts)
