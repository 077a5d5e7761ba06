"""Live training curves read from job logs (anywidget; front end in ``metric_chart_front.js``).

One widget, two uses: :meth:`MetricChart.for_job` (the launch panel: one small chart per shown
metric) and :meth:`MetricChart.for_sweep` (the sweep panel: one curve per member on the same
axes, coloured by a grid key, plus a sortable table of each member's final and best value).
The choice of library: none — a ~300-line SVG front end and :mod:`~skyexec_nb.views.chart_svg`
for the record need no network, no browser at run time and nothing to install, and work wherever
anywidget does (JupyterLab, Notebook 7, VS Code).

Traffic: :meth:`MetricChart.update` (the owner's tick) reads only the new log bytes (a shared
:class:`~skyexec_nb.engine.metrics.reader.MetricReader` per log), at most every
:data:`MIN_INTERVAL` seconds, and sends only the new points of the shown metrics, thinned to at
most :data:`POINTS_PER_MESSAGE` per message (min/max per bucket), so a flood of points costs a
bounded number of bytes. A newly attached front end, or a change of metric/x/colour, gets a
``reset`` drawn from each series' bounded :class:`~skyexec_nb.views.chart_data.Decimator`; the
front end keeps at most ``front_max`` points per curve (halving them by min/max when over).
``job.metrics()`` keeps the full series.
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import anywidget
import traitlets

from skyexec_nb.engine.metrics.parse import X_KEYS
from skyexec_nb.engine.metrics.reader import (
    META_KEYS,
    MetricReader,
    infer_x,
    reader_for,
    x_candidates,
)
from skyexec_nb.engine.metrics.series import chosen
from skyexec_nb.views.chart_data import (
    Decimator,
    Point,
    final_and_best,
    flat,
    lower_is_better,
    short,
    thin,
)
from skyexec_nb.views.sweep_values import shown_values

MIN_INTERVAL = 0.25  # seconds between two point messages (4 per second at most)
POINTS_PER_MESSAGE = 240  # points (x, y pairs) in one append message at most, all curves together
RESET_POINTS = 6000  # points in one reset message at most, all curves together
TICK_BYTES = 8 * 1024 * 1024  # log bytes read per source per update (a huge log is caught up over ticks)
DEFAULT_SHOWN = 4  # metrics drawn at first on a job's panel
TABLE_EVERY = 1.0  # seconds between two updates of the sweep table


@dataclass
class Source:
    """One job whose log feeds the chart."""

    sid: str
    job: Any
    label: str
    values: dict[str, Any] = field(default_factory=dict)
    reader: MetricReader | None = None
    consumed: int = 0
    rows_ref: int = 0
    resets: int = 0
    series: dict[str, Decimator] = field(default_factory=dict)
    pending: dict[str, list[Point]] = field(default_factory=dict)

    def clear(self) -> None:
        self.consumed, self.series, self.pending = 0, {}, {}


class MetricChart(anywidget.AnyWidget):
    """Curves of the metrics in one or more job logs (CSS ``skx-metric-chart``).

    Args:
        sources: ``[(job, label, grid values)]``.
        mode: ``"job"`` (small multiples) or ``"sweep"`` (one metric, a curve per job, a table).
        metrics: Metrics to consider (default: every metric found).
        x: The x key (default: inferred, see :func:`~skyexec_nb.engine.metrics.reader.infer_x`).
    """

    _esm = Path(__file__).with_name("metric_chart_front.js")
    _css = Path(__file__).with_name("metric_chart_front.css")

    mode = traitlets.Unicode("job").tag(sync=True)
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    shown = traitlets.List(traitlets.Unicode()).tag(sync=True)
    x_key = traitlets.Unicode("").tag(sync=True)
    x_options = traitlets.List(traitlets.Unicode()).tag(sync=True)
    series = traitlets.List(traitlets.Dict()).tag(sync=True)
    color_key = traitlets.Unicode("").tag(sync=True)
    color_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    table = traitlets.Dict().tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    front_max = traitlets.Int(4000).tag(sync=True)

    def __init__(self, sources: Iterable[tuple[Any, str, dict[str, Any]]], *, mode: str = "job",
                 metrics: list[str] | None = None, x: str | None = None) -> None:
        srcs = [Source(str(i), job, label, dict(values)) for i, (job, label, values) in enumerate(sources)]
        keys = list(srcs[0].values) if srcs else []
        super().__init__(mode=mode, x_key=x or "", color_keys=keys, color_key=keys[0] if keys else "",
                         series=[{"id": s.sid, "label": s.label, "values": {k: str(v) for k, v in s.values.items()}}
                                 for s in srcs])
        self.add_class("skx-metric-chart")
        self.layout.display = "none"  # shown once a metric is found
        self.sources = srcs
        self.chosen_metrics = list(metrics) if metrics else None
        self.x_used = x or "line"
        self._x_fixed = bool(x)
        self._user_shown = False
        self._names: list[str] = []
        self._lock = threading.RLock()
        self._last = 0.0
        self._last_table = 0.0
        self._table_dirty = False
        self._syncing = False
        self._reset_later = False
        self.points_total = 0
        self.skipped = 0  # non-finite values left out of the chart
        self.sent_messages = 0
        self.sent_bytes = 0  # approximate JSON size of what was sent (benchmarks)
        self.observe(self._front_choice, names=["shown", "x_key", "color_key"])
        self.on_msg(self._on_front_end_message)

    # -- constructors ----------------------------------------------------------------------------
    @classmethod
    def for_job(cls, job: Any) -> MetricChart:
        """The chart of one job's log (``--metrics``/``--x`` as recorded at launch)."""
        picked = chosen(job)
        return cls([(job, str(getattr(job, "name", "job")), {})], mode="job", metrics=picked["keys"], x=picked["x"])

    @classmethod
    def for_sweep(cls, sweep: Any) -> MetricChart:
        """One curve per sweep member, coloured by a grid key, and the table of final/best values."""
        jobs, values = list(sweep.jobs), shown_values(sweep)
        picked = chosen(jobs[0]) if jobs else {"keys": None, "x": None}
        label = lambda v: " ".join(f"{k}={val}" for k, val in v.items())  # noqa: E731
        return cls([(job, label(vals), vals) for job, vals in zip(jobs, values)], mode="sweep",
                   metrics=picked["keys"], x=picked["x"])

    # -- reading ---------------------------------------------------------------------------------
    def update(self, final: bool = False) -> bool:
        """Read new log lines and send the new points (at most every :data:`MIN_INTERVAL` s, at once
        when ``final``); True when something was sent or is still due."""
        now = time.monotonic()
        with self._lock:
            if not final and now - self._last < MIN_INTERVAL:
                return any(any(s.pending.values()) for s in self.sources)
            self._last = now
            grew = self._read(final)
            sent = self._send_pending()
            if self._table_dirty and (final or now - self._last_table >= TABLE_EVERY):
                self._update_table()
            return grew or sent

    def _read(self, final: bool) -> bool:
        grew = False
        for src in self.sources:
            if src.reader is None:
                path = getattr(src.job, "log_path", None)
                if not path:
                    continue
                src.reader = reader_for(path)
            while src.reader.poll(max_bytes=TICK_BYTES, final=final) and final:
                pass
        if not self._x_fixed and self.points_total < 500:
            self._maybe_change_x()  # decided on the first rows, before they are drawn
        for src in self.sources:
            if src.reader is not None:
                grew = self._consume(src) or grew
        return grew

    def _consume(self, src: Source) -> bool:
        reader = src.reader
        with reader.lock:
            rows = reader.rows
            if reader.resets != src.resets or id(rows) != src.rows_ref:
                src.resets, src.rows_ref = reader.resets, id(rows)
                if src.consumed:
                    src.clear()
                    self._reset_later = True
            new = rows[src.consumed:]
            src.consumed = len(rows)
        if not new:
            return False
        self._add_rows(src, new)
        return True

    def _add_rows(self, src: Source, rows: list[dict[str, float]]) -> None:
        x, wanted, shown = self.x_used, self.chosen_metrics, set(self.shown)
        names_before = len(self._names)
        for row in rows:
            if row.get("rank", 0.0) != 0.0:
                continue
            xv = row.get(x)
            if xv is None or not math.isfinite(xv):
                continue
            for key, value in row.items():
                if key in META_KEYS or key in X_KEYS or key == x or (wanted and key not in wanted):
                    continue
                if not math.isfinite(value):
                    self.skipped += 1
                    continue
                dec = src.series.get(key)
                if dec is None:
                    dec = src.series[key] = Decimator()
                    if key not in self._names:
                        self._names.append(key)
                dec.add(xv, value)
                self.points_total += 1
                if key in shown:
                    src.pending.setdefault(key, []).append((xv, value))
        self._table_dirty = True
        if len(self._names) != names_before:
            self._names_changed()

    def _names_changed(self) -> None:
        names = list(self._names)
        if self.chosen_metrics:
            names = [n for n in self.chosen_metrics if n in names] + [n for n in names if n not in self.chosen_metrics]
        self._syncing = True
        try:
            self.metrics = names
            if not self._user_shown:
                if self.mode == "sweep":
                    shown = [next((n for n in names if "loss" in n.lower()), names[0])] if names else []
                else:
                    shown = names[:DEFAULT_SHOWN]
                if shown != self.shown:
                    added = [n for n in shown if n not in self.shown]
                    self.shown = shown
                    if added:
                        self._send_reset()
            self.x_options = self._x_options()
        finally:
            self._syncing = False
        if names and self.layout.display == "none":
            self.layout.display = None

    def _x_options(self) -> list[str]:
        for src in self.sources:
            if src.reader is not None and src.reader.rows:
                with src.reader.lock:
                    return x_candidates(src.reader.rows)
        return ["line"]

    def _maybe_change_x(self) -> None:
        for src in self.sources:
            if src.reader is not None and src.reader.rows:
                with src.reader.lock:
                    inferred = infer_x(src.reader.rows)
                if inferred != self.x_used:
                    if self.points_total or any(s.consumed for s in self.sources):
                        self._rebuild(inferred)
                    else:
                        self.x_used = inferred
                return

    def _rebuild(self, x: str) -> None:
        """Re-read every source's rows (in memory, not the log) with ``x`` as the x axis."""
        self.x_used = x
        self.points_total, self.skipped = 0, 0
        self._names = []
        for src in self.sources:
            src.clear()
            self._consume(src)
        for src in self.sources:
            src.pending = {}
        self._names_changed()
        self._send_reset()

    # -- sending ---------------------------------------------------------------------------------
    def _send_pending(self) -> bool:
        if self._reset_later:
            self._reset_later = False
            self._send_reset()
            return True
        pending = [(src, key, pts) for src in self.sources for key, pts in src.pending.items() if pts]
        if not pending:
            return False
        budget = max(4, POINTS_PER_MESSAGE // len(pending))
        data: dict[str, dict[str, list]] = {}
        for src, key, pts in pending:
            data.setdefault(src.sid, {})[key] = flat(thin(pts, budget))
            src.pending[key] = []
        self._emit({"t": "a", "x": self.x_used, "d": data})
        return True

    def _send_reset(self) -> None:
        shown = [m for m in self.shown if m in self._names]
        curves = [(src, key) for src in self.sources for key in shown if key in src.series]
        budget = max(40, RESET_POINTS // max(1, len(curves)))
        data: dict[str, dict[str, list]] = {}
        for src, key in curves:
            data.setdefault(src.sid, {})[key] = flat(thin(src.series[key].points(), budget))
        for src in self.sources:
            src.pending = {}
        self._emit({"t": "reset", "x": self.x_used, "d": data})
        self._set_note()

    def _emit(self, message: dict[str, Any]) -> None:
        self.sent_messages += 1
        self.sent_bytes += _size(message)
        if self.comm is not None:
            self.send(message)
        if message["t"] == "a":
            self._set_note()

    def _set_note(self) -> None:
        left = f" · {self.skipped:,} NaN/inf values not drawn" if self.skipped else ""
        note = f"{self.points_total:,} points · x: {self.x_used}{left}"
        if note != self.note:
            self._syncing = True
            try:
                self.note = note
            finally:
                self._syncing = False

    # -- choices from the front end --------------------------------------------------------------
    def _front_choice(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        with self._lock:
            if change["name"] == "shown":
                self._user_shown = True
                self._table_dirty = True
                self._send_reset()
                self._update_table()
            elif change["name"] == "x_key":
                if change["new"]:
                    self._x_fixed = True
                    self._rebuild(change["new"])
                    self._update_table()
            else:
                self._update_table()

    def _on_front_end_message(self, _widget: Any, content: dict[str, Any], _buffers: list) -> None:
        if isinstance(content, dict) and content.get("t") == "hello":
            with self._lock:
                self._send_reset()

    # -- the sweep table -------------------------------------------------------------------------
    def summary(self, metric: str | None = None) -> list[dict[str, Any]]:
        """One row per source: its grid values, job id, and the final and best value of ``metric``
        (default: the first shown metric); None where the job has printed no such value yet."""
        metric = metric or (self.shown[0] if self.shown else (self._names[0] if self._names else ""))
        rows = []
        for src in self.sources:
            dec = src.series.get(metric)
            last, best = final_and_best(dec.points(), metric) if dec is not None else (None, None)
            rows.append({**src.values, "job": getattr(src.job, "id", src.sid), "points": len(dec) if dec else 0,
                         f"final {metric}": last, f"best {metric}": best})
        return rows

    def _update_table(self) -> None:
        self._table_dirty = False
        self._last_table = time.monotonic()
        if self.mode != "sweep":
            return
        rows = self.summary()
        columns = list(rows[0]) if rows else []
        table = {"columns": columns, "rows": [[_cell(r[c]) for c in columns] for r in rows],
                 "lower": bool(self.shown and lower_is_better(self.shown[0]))}
        if table != self.table:
            self._syncing = True
            try:
                self.table = table
            finally:
                self._syncing = False

    # -- the record ------------------------------------------------------------------------------
    def has_points(self) -> bool:
        """True once some metric has a point."""
        return bool(self._names)

    def record_html(self) -> str:
        """Static charts (inline SVG) and, for a sweep, the legend and the table ('' with no metric)."""
        from skyexec_nb.views.metric_record import record_html

        with self._lock:
            return record_html(self)

    def record_text(self) -> str:
        """One line per shown metric (and member): last and best value ('' with no metric)."""
        from skyexec_nb.views.metric_record import record_text

        with self._lock:
            return record_text(self)

    def close(self) -> None:
        """Forget the sources and close the widget."""
        self.sources = []
        super().close()


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return short(value) if math.isfinite(value) else None
    return value if isinstance(value, (int, str)) or value is None else str(value)


def _size(message: dict[str, Any]) -> int:
    """Bytes of ``message`` as JSON (what the comm sends, envelope aside)."""
    return len(json.dumps(message, separators=(",", ":")))
