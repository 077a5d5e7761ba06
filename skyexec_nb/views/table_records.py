"""Script-free records (text/plain + text/html) of the jobs table and the sweep panel: the same
columns, counts and headers as the live views (see :mod:`skyexec_nb.views.record`).

Colours are JupyterLab CSS variables with fallbacks, so a saved notebook reads in both themes and
in an HTML export. No widgets, no IPython.
"""
from __future__ import annotations

import html
from typing import Any

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.views.status_badge import badge_html
from skyexec_nb.views.sweep_values import shown_values

_MUTED = "color:var(--jp-ui-font-color2, #6c757d)"
_TH = f'style="text-align:left;padding:1px 8px 1px 0;{_MUTED}"'
_TD = 'style="text-align:left;padding:1px 8px 1px 0;vertical-align:top"'
#: The jobs table's columns in a record: (title, key of :func:`~skyexec_nb.views.jobs_rows.job_texts`).
JOB_COLUMNS = (("ID", "id"), ("Name", "name"), ("Status", "status"), ("Resources", "resources"),
               ("Backend", "where"), ("Started", "started_full"), ("Duration", "duration"), ("Exit", "exit"),
               ("Cost", "cost"))


def counts_text(counts: dict[str, int]) -> str:
    """``SUCCEEDED 5, FAILED 1``."""
    return ", ".join(f"{k} {n}" for k, n in counts.items())


def _counts_html(counts: dict[str, int]) -> str:
    return " ".join(f'<span style="white-space:nowrap"><span style="color:{_colour(k)};font-weight:600">&#9632;</span> '
                    f"{html.escape(k)} {n}</span>" for k, n in counts.items())


def _colour(state: str) -> str:
    try:
        return STATUS_COLOURS.get(JobStatus(state), "#6c757d")
    except ValueError:
        return "#6c757d"


def jobs_table_record(rows: list[dict[str, Any]], counts: dict[str, int], total: int, note: str = "") -> tuple[str, str]:
    """``(text, html)`` of the jobs table: counts per state, then one line per shown row.

    Args:
        rows: the shown rows' texts (``job_texts``; a sweep's group row has ``size``; members ``member``).
        counts: jobs per state over every job.
        total: jobs in the registry.
        note: what the filter hides, if anything.
    """
    head = f"{total} jobs" + (f" · {counts_text(counts)}" if counts else "") + (f" · {note}" if note else "")
    if not rows:
        return (head if total else "No jobs yet."), (f"<div>{html.escape(head)}</div><i>No jobs shown.</i>" if total
                                                     else "<i>No jobs yet.</i>")
    lines = []
    for r in rows:
        label = ("  ↳ " if r.get("member") else "") + (f"{r['name']} (sweep, {r['size']} jobs)" if "size" in r
                                                        else str(r["name"]))
        lines.append("  " + " | ".join([str(r["id"]), label, *(str(r[k]) for _, k in JOB_COLUMNS[2:])]))
    cells = []
    for r in rows:
        tds = []
        for title, key in JOB_COLUMNS:
            value = str(r.get(key, ""))
            if key == "status":
                shown = badge_html(value) if "size" not in r else _counts_html(r.get("counts") or {})
            elif key == "name":
                shown = ("&nbsp;&nbsp;&#8627; " if r.get("member") else "") + html.escape(value) + (
                    f' <span style="{_MUTED}">sweep · {r["size"]} jobs</span>' if "size" in r else "")
            else:
                shown = html.escape(value)
            tds.append(f"<td {_TD}>{shown}</td>")
        cells.append(f"<tr>{''.join(tds)}</tr>")
    header = "".join(f"<th {_TH}>{t}</th>" for t, _ in JOB_COLUMNS)
    body = (f'<div style="margin-bottom:2px">{_counts_html(counts)}</div>'
            f'<table class="skx-record-jobs"><tr>{header}</tr>{"".join(cells)}</table>'
            f'<div style="{_MUTED}">{html.escape(head)}</div>')
    return "\n".join([head, *lines]), body


def matrix_axes(values: list[dict[str, Any]]) -> tuple[list[str], list[str]] | None:
    """``(row values, column values)`` as text when the grid has exactly two keys and every pair
    occurs once (a matrix); None otherwise (the table then lists one row per job)."""
    if not values or len(values[0]) != 2:
        return None
    first, second = list(values[0])
    rows = list(dict.fromkeys(str(v.get(first)) for v in values))
    cols = list(dict.fromkeys(str(v.get(second)) for v in values))
    pairs = {(str(v.get(first)), str(v.get(second))) for v in values}
    return (rows, cols) if len(pairs) == len(values) == len(rows) * len(cols) else None


def sweep_table_record(name: str, sweep: Any, states: list[JobStatus | None], cells: list[str]) -> tuple[str, str]:
    """``(text, html)`` of a sweep: its name, counts, and the table of the live panel (a matrix with
    the grid's values as headers for two keys, else one row per job and a column per key)."""
    jobs, values = list(sweep.jobs), shown_values(sweep)
    counts: dict[str, int] = {}
    for s in states:
        key = s.value if s is not None else "UNKNOWN"
        counts[key] = counts.get(key, 0) + 1
    title = f"{name or 'Sweep'} · sweep {sweep.id} · {len(jobs)} jobs"
    flat = [c.replace("\n", " · ") for c in cells]
    lines = [f"  job {job.id}: {' '.join(f'{k}={v}' for k, v in vals.items())} · {c}"
             for job, vals, c in zip(jobs, values, flat)]
    text = "\n".join([f"{title} · {counts_text(counts)}", *lines])
    axes = matrix_axes(values)
    if axes is not None:
        first, second = list(values[0])
        where = {(str(v.get(first)), str(v.get(second))): i for i, v in enumerate(values)}
        rows_html = "".join(
            f"<tr><th {_TH}>{html.escape(r)}</th>"
            + "".join(f"<td {_TD}>{_cell_html(states[where[(r, c)]], flat[where[(r, c)]])}</td>" for c in axes[1])
            + "</tr>" for r in axes[0])
        head = (f"<tr><th {_TH}>{html.escape(first)} ↓ · {html.escape(second)} →</th>"
                + "".join(f"<th {_TH}>{html.escape(c)}</th>" for c in axes[1]) + "</tr>")
    else:
        keys = list(values[0]) if values else []
        head = f"<tr><th {_TH}>#</th>" + "".join(f"<th {_TH}>{html.escape(k)}</th>" for k in keys) + f"<th {_TH}>Job</th></tr>"
        rows_html = "".join(
            f"<tr><td {_TD}>{i + 1}</td>" + "".join(f"<td {_TD}>{html.escape(str(vals.get(k)))}</td>" for k in keys)
            + f"<td {_TD}>{_cell_html(states[i], flat[i])}</td></tr>" for i, vals in enumerate(values))
    body = (f"<div><b>{html.escape(name or 'Sweep')}</b> <span style=\"{_MUTED}\">sweep {html.escape(str(sweep.id))} · "
            f"{len(jobs)} jobs</span></div><div>{_counts_html(counts)}</div>"
            f'<table class="skx-record-sweep">{head}{rows_html}</table>')
    return text, body


def _cell_html(state: JobStatus | None, text: str) -> str:
    rest = text.split(" · ", 1)[1] if " · " in text else ""
    return (badge_html(state.value if state else None)
            + (f' <span style="{_MUTED}">{html.escape(rest)}</span>' if rest else ""))
