"""Script-free text/plain and text/html of each view: what a saved notebook, its HTML export and a
notebook reopened without a kernel show (see :mod:`skyexec_nb.views.record` for how it is kept true).

Everything here is read fresh from the job (one registry row, the log's last lines), so a record
computed right after ``job.wait()`` already says the final state. No widgets, no IPython.
"""
from __future__ import annotations

import html
import time
from typing import Any, Iterable

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.views.limit_notes import record_lines as limit_record_lines, warning_html
from skyexec_nb.views.status_badge import badge_html, format_duration, format_time
from skyexec_nb.views.sweep_values import shown_values

#: Log lines a record keeps.
RECORD_LOG_LINES = 12
#: Longest log line kept in a record (characters).
RECORD_LINE_CHARS = 300
_GREY = "color:#6c757d"


def reattach_hint(job_id: Any = None) -> str:
    """The magics that bring a live view back."""
    return f"%skyjobs or %skylogs {job_id}" if job_id is not None else "%skyjobs"


def stale_text(job_id: Any = None) -> str:
    """One line: the live view is not connected, and how to re-attach."""
    return (f"Live view not connected (kernel restarted or notebook reopened): run {reattach_hint(job_id)} "
            "to re-attach.")


# -- facts of a job -------------------------------------------------------------------------------
def _accelerators_text(acc: Any) -> str:
    if isinstance(acc, dict):
        return ", ".join(f"{name}:{count}" for name, count in acc.items())
    if isinstance(acc, (list, tuple, set)):
        return " or ".join(_accelerators_text(a) for a in acc)
    return str(acc)


def resources_text(config: dict[str, Any] | None) -> str:
    """What was asked for, in one line: ``A100:8 × 2 nodes, spot, aws/us-east-1`` ('' if nothing)."""
    config = config or {}
    res = dict(config.get("resources") or {})
    parts: list[str] = []
    what = _accelerators_text(res["accelerators"]) if res.get("accelerators") else ""
    if not what:
        bits = [f"{res['cpus']} CPUs" if res.get("cpus") else "", f"{res['memory']} GB" if res.get("memory") else "",
                str(res.get("instance_type") or "")]
        what = " ".join(b for b in bits if b)
    nodes = int(config.get("num_nodes") or 1)
    if what or nodes > 1:
        parts.append(f"{what or 'node'} × {nodes} node{'s' if nodes != 1 else ''}" if nodes > 1 else what)
    if res.get("any_of"):
        parts.append(f"{len(res['any_of'])} candidates")
    if res.get("use_spot") is True:
        parts.append("spot")
    where = res.get("infra") or "/".join(str(res[k]) for k in ("cloud", "region", "zone") if res.get(k))
    if where:
        parts.append(str(where))
    return ", ".join(p for p in parts if p)


def exit_codes_text(codes: dict[Any, Any] | None) -> str:
    """``rank 0: 0, rank 1: 3`` ('' when none recorded)."""
    if not codes:
        return ""
    return ", ".join(f"rank {rank}: {code}" for rank, code in sorted(codes.items(), key=lambda kv: int(kv[0])))


def pulled_text(extra: dict[str, Any] | None, types: dict[str, str] | None = None) -> str:
    """What a remote Python job sends back: ``--pull loss (float), model (dict)`` ('' if nothing)."""
    info = (extra or {}).get("remote") or {}
    names = list(info.get("pull") or [])
    if info.get("kind") == "function":
        names = names or ["return value"]
    if not names:
        return ""
    types = types or {}
    shown = [f"{n} ({types[n]})" if n in types else n for n in names]
    return ("returns " if info.get("kind") == "function" else "--pull ") + ", ".join(shown)


def job_facts(job: Any, log_lines: int = RECORD_LOG_LINES) -> dict[str, Any]:
    """The job's row read now (status as JobStatus) plus its last log lines; never raises."""
    facts: dict[str, Any] = {}
    try:
        row = job.row() if callable(getattr(job, "row", None)) else {
            k: getattr(job, k, None) for k in ("status", "created", "started", "ended", "error", "exit_codes", "extra")}
        facts.update(row)
        facts["status"] = JobStatus(str(facts.get("status")))
    except Exception as exc:  # the registry cannot be read: the record says so
        facts["read_error"] = f"Could not read the job status: {' '.join(str(exc).split())}"
    try:
        facts["log"] = [line.rstrip("\n") for line in job.tail(log_lines)] if log_lines else []
    except Exception:
        facts["log"] = []
    return facts


def _elapsed(facts: dict[str, Any]) -> float | None:
    start = facts.get("started") or facts.get("created")
    return None if start is None else max(0.0, (facts.get("ended") or time.time()) - start)


def header_lines(job: Any, facts: dict[str, Any], cost: str = "", pulled_types: dict[str, str] | None = None
                 ) -> list[tuple[str, str]]:
    """``(label, text)`` lines of what happened: resources, times, exit codes, error, cost, pulled."""
    status = facts.get("status")
    lines = [("Resources", resources_text(getattr(job, "config", None)))]
    lines.append(("Started", format_time(facts.get("started")) if facts.get("started") else ""))
    lines.append(("Ended", format_time(facts.get("ended")) if facts.get("ended") else ""))
    lines.append(("Duration", format_duration(_elapsed(facts)) if facts.get("started") or facts.get("created") else ""))
    lines.append(("Exit codes", exit_codes_text(facts.get("exit_codes"))))
    error = facts.get("read_error") or facts.get("error") or ""
    if not error and isinstance(status, JobStatus) and status.is_failure:
        error = f"Job ended {status.value}; see the log."
    lines.append(("Error", str(error)))
    lines.extend(limit_record_lines(facts))  # Limits, Limit warning, Stopped by (see views/limit_notes.py)
    lines.append(("Cost", cost))
    lines.append(("Returns", pulled_text(facts.get("extra"), pulled_types)))
    return [(k, v) for k, v in lines if v]


def _clip(line: str) -> str:
    return line if len(line) <= RECORD_LINE_CHARS else line[:RECORD_LINE_CHARS] + " …"


def launch_record(job: Any, facts: dict[str, Any] | None = None, *, cost: str = "",
                  pulled_types: dict[str, str] | None = None) -> tuple[str, str]:
    """``(text/plain, text/html)`` of a job's launch panel: state, what happened, last log lines."""
    facts = job_facts(job) if facts is None else facts
    status = facts.get("status")
    state = status.value if isinstance(status, JobStatus) else "UNKNOWN"
    title = f"Job {job.id} {job.name} · {job.backend}" + (f" · cluster {job.cluster}" if getattr(job, "cluster", "")
                                                         else "")
    lines = header_lines(job, facts, cost, pulled_types)
    log = [_clip(x) for x in facts.get("log") or []]
    text = "\n".join([f"{title} · {state}", *(f"  {k}: {v}" for k, v in lines),
                      *([f"  Last {len(log)} log lines:"] + [f"    {x}" for x in log] if log else []),
                      f"  ({stale_text(job.id)})"])
    rows = "".join(f'<tr><th style="text-align:left;padding-right:1em;{_GREY}">{html.escape(k)}</th>'
                   f'<td style="text-align:left">{_value_html(k, v)}</td></tr>' for k, v in lines)
    log_html = (f'<pre class="skx-record-log" style="margin:4px 0 0;max-height:16em;overflow:auto;'
                f'white-space:pre-wrap">{html.escape(chr(10).join(log))}</pre>' if log else "")
    body = (f'<div class="skx-record-title"><b>Job {html.escape(str(job.id))}</b> {html.escape(job.name)} · '
            f'{html.escape(job.backend)} {badge_html(state)}</div>'
            f'<table class="skx-record-facts" style="margin:2px 0">{rows}</table>{log_html}')
    return text, body


def _value_html(label: str, value: str) -> str:
    escaped = html.escape(value)
    if label == "Limit warning":
        return warning_html(value, "skx-limit-warning", tag="span")
    return f'<span style="color:#dc3545;font-weight:600">{escaped}</span>' if label == "Error" else escaped


def wrap_html(body: str, uid: str, job_id: Any = None) -> str:
    """A record's whole HTML: its class (``skx-record skx-record-<uid>``), the stale line, the body."""
    return (f'<div class="skx-record skx-record-{html.escape(uid)}" style="border-left:3px solid #adb5bd;'
            f'padding:2px 8px">'
            f'<div class="skx-record-stale" style="{_GREY};font-style:italic">{html.escape(stale_text(job_id))}</div>'
            f"{body}</div>")


# -- other views ----------------------------------------------------------------------------------
def jobs_record(rows: Iterable[dict[str, Any]], limit: int = 100) -> tuple[str, str]:
    """``(text, html)`` of the jobs table: id, name, backend, status, started, duration."""
    rows = list(rows)
    shown = rows[:limit]
    cells = []
    for r in shown:
        status = r.get("status")
        state = status.value if isinstance(status, JobStatus) else str(status)
        cells.append((str(r.get("id")), str(r.get("name")), str(r.get("backend")), state,
                      format_time(r.get("started")), format_duration(_elapsed(r)), str(r.get("cluster") or "")))
    head = ("ID", "Name", "Backend", "Status", "Started", "Duration", "Cluster")
    text = "\n".join([f"{len(rows)} jobs" if rows else "No jobs yet.",
                      *("  " + " | ".join(c) for c in cells)])
    body = "".join(f"<tr>{''.join(_td(i, v) for i, v in enumerate(c))}</tr>" for c in cells)
    table = (f'<table class="skx-record-jobs"><tr>{"".join(f"<th style=text-align:left>{h}</th>" for h in head)}</tr>'
             f"{body}</table>" if cells else "<i>No jobs yet.</i>")
    return text, table


def _td(index: int, value: str) -> str:
    return f'<td style="text-align:left">{badge_html(value) if index == 3 else html.escape(value)}</td>'


def sweep_record(sweep: Any, states: list[JobStatus | None]) -> tuple[str, str]:
    """``(text, html)`` of a sweep: counts per state, then one line per job with its values."""
    jobs, values = list(sweep.jobs), shown_values(sweep)
    counts: dict[str, int] = {}
    for s in states:
        key = s.value if s is not None else "UNKNOWN"
        counts[key] = counts.get(key, 0) + 1
    count_text = ", ".join(f"{k} {n}" for k, n in counts.items())
    lines = []
    for job, vals, state in zip(jobs, values, states):
        lines.append((str(job.id), " ".join(f"{k}={v}" for k, v in vals.items()), state.value if state else "UNKNOWN"))
    text = "\n".join([f"Sweep {sweep.id} · {len(jobs)} jobs · {count_text}",
                      *(f"  job {i}: {v} · {s}" for i, v, s in lines)])
    counts_html = " ".join(f'<span style="color:{STATUS_COLOURS.get(_state(k), "#6c757d")};font-weight:600">'
                           f"&#9632;</span> {html.escape(k)} {n}" for k, n in counts.items())
    rows = "".join(f"<tr><td>job {html.escape(i)}</td><td>{html.escape(v)}</td><td>{badge_html(s)}</td></tr>"
                   for i, v, s in lines)
    body = (f"<div><b>Sweep {html.escape(str(sweep.id))}</b> · {len(jobs)} jobs · {counts_html}</div>"
            f'<table class="skx-record-sweep">{rows}</table>')
    return text, body


def _state(name: str) -> JobStatus | None:
    try:
        return JobStatus(name)
    except ValueError:
        return None


def picker_record(fields: dict[str, Any], backend: str, name: str, command: str) -> tuple[str, str]:
    """``(text, html)`` of the picker's form: backend, job name, command and every field set."""
    items = [("backend", backend), ("job name", name or "(from the command)"), *((k, repr(v)) for k, v in fields.items())]
    text = "\n".join(["Resource picker", *(f"  {k}: {v}" for k, v in items), "  command:",
                      *(f"    {line}" for line in (command or "(none)").splitlines())])
    rows = "".join(f'<tr><th style="text-align:left;padding-right:1em;{_GREY}">{html.escape(k)}</th>'
                   f'<td style="text-align:left"><code>{html.escape(str(v))}</code></td></tr>' for k, v in items)
    body = (f'<div><b>Resource picker</b></div><table class="skx-record-fields">{rows}</table>'
            f'<pre class="skx-record-command" style="margin:2px 0">{html.escape(command or "(no command)")}</pre>')
    return text, body


def pulled_types(job: Any, extra: dict[str, Any] | None) -> dict[str, str] | None:
    """``{name: type}`` of what a finished local remote-Python job sent back (None when unknown).

    Reads the job's result file (local backend only: a cloud job's result is fetched by
    ``job.result()``, not by a view); a function's return value is listed as ``return value``.
    """
    info = (extra or {}).get("remote") or {}
    if not info or getattr(job, "backend", None) != "local":
        return None
    from pathlib import Path

    from skyexec_nb.engine.remote.payload import read_payload
    from skyexec_nb.engine.remote.runner import RESULT_FILE

    try:
        meta, values = read_payload(Path(info["bundle"]) / "out" / RESULT_FILE)
    except Exception:  # no result (failed early, cancelled) or unreadable: names only
        return None
    if not meta.get("ok"):
        return None
    found = {("return value" if k == "__skx_return__" else k): type(v).__name__ for k, v in values.items()}
    return {k: v for k, v in found.items() if not k.startswith("__")}
