"""The saved record of a :class:`~skyexec_nb.views.metric_chart.MetricChart`: static SVG charts
(:mod:`~skyexec_nb.views.chart_svg`), and for a sweep the colour legend and the members' final and
best values sorted by the best; plus the text/plain lines. Drawn from each series' bounded summary."""
from __future__ import annotations

import html
from typing import Any

from skyexec_nb.views.chart_data import final_and_best, lower_is_better
from skyexec_nb.views.chart_svg import charts_html, colour, legend_html

#: Members listed in a sweep's record table at most.
TABLE_ROWS = 50


def _shown(chart: Any) -> list[str]:
    return [m for m in chart.shown if m in chart._names] or chart._names[:4]


def record_html(chart: Any) -> str:
    """The record's HTML ('' while no metric was found)."""
    if not chart._names:
        return ""
    shown = _shown(chart)
    if chart.mode == "sweep":
        return _sweep_record(chart, shown[0])
    src = chart.sources[0]
    panels = [(m, [(m, colour(i), src.series[m].points())]) for i, m in enumerate(shown) if m in src.series]
    return _section(charts_html(panels, chart.x_used), chart.note)


def _sweep_record(chart: Any, metric: str) -> str:
    key = chart.color_key
    groups: dict[str, int] = {}
    for src in chart.sources:
        groups.setdefault(str(src.values.get(key)), len(groups))
    series = [(src.label, colour(groups[str(src.values.get(key))]), src.series[metric].points())
              for src in chart.sources if metric in src.series]
    legend = legend_html([(v, colour(i)) for v, i in groups.items()], f"colour: {key}" if key else "")
    rows = chart.summary(metric)
    cols = list(rows[0]) if rows else []
    best_col = f"best {metric}"
    sign = 1 if lower_is_better(metric) else -1
    ordered = sorted(rows, key=lambda r: (r[best_col] is None, (r[best_col] or 0) * sign))
    cell = 'style="text-align:left;padding:0 8px 0 0"'
    head = "".join(f"<th {cell}>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(_text(r[c]))}</td>" for c in cols) + "</tr>"
                   for r in ordered[:TABLE_ROWS])
    more = f"<i>… {len(rows) - TABLE_ROWS} more jobs</i>" if len(rows) > TABLE_ROWS else ""
    table = f'<table class="skx-record-metrics-table" style="font-size:12px"><tr>{head}</tr>{body}</table>{more}'
    return _section(charts_html([(metric, series)], chart.x_used) + legend + table, f"{chart.note} · sorted by {best_col}")


def record_text(chart: Any) -> str:
    """``Metrics (x: step):`` then one line per shown metric (per member of a sweep)."""
    if not chart._names:
        return ""
    lines = [f"  Metrics (x: {chart.x_used}):"]
    for metric in _shown(chart):
        for src in chart.sources:
            if metric in src.series:
                last, best = final_and_best(src.series[metric].points(), metric)
                who = f" [{src.label}]" if chart.mode == "sweep" else ""
                lines.append(f"    {metric}{who}: last {_text(last)}, best {_text(best)} "
                             f"({len(src.series[metric]):,} points)")
    return "\n".join(lines)


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _section(inner: str, note: str) -> str:
    return (f'<div class="skx-record-metrics" style="margin-top:4px">{inner}'
            f'<div style="opacity:.7;font-size:11px">{html.escape(note)}</div></div>')
