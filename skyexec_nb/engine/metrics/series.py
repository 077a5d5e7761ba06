"""``job.metrics()`` and ``sweep.metrics()``: a job's metric rows as plain data (or a DataFrame).

The choice of metrics and x axis, in order: the call's arguments, what the launch recorded
(``%%skylaunch --metrics loss,acc --x step`` stores ``extra["metrics"] = {"keys": [...], "x": ...}``),
else inferred (see :func:`~skyexec_nb.engine.metrics.reader.infer_x`).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from skyexec_nb.engine.metrics.reader import MetricReader, as_frame, reader_for, select


def read_all(job: Any) -> MetricReader | None:
    """The job's shared reader, brought up to the end of its log now (None without a log)."""
    path = getattr(job, "log_path", None)
    if not path:
        return None
    reader = reader_for(path)
    final = _done(job)
    while reader.poll(final=final):
        pass
    return reader


def _done(job: Any) -> bool:
    try:
        return bool(job.done())
    except Exception:  # an unreadable registry: treat the log as still growing
        return False


def chosen(job: Any) -> dict[str, Any]:
    """What the launch recorded: ``{"keys": [names] or None, "x": name or None}``."""
    try:
        info = (getattr(job, "extra", None) or {}).get("metrics") or {}
    except Exception:
        info = {}
    keys = info.get("keys") if isinstance(info, Mapping) else None
    x = info.get("x") if isinstance(info, Mapping) else None
    return {"keys": [str(k) for k in keys] if isinstance(keys, (list, tuple)) and keys else None,
            "x": str(x) if x else None}


def _names(metrics: str | Iterable[str] | None) -> list[str] | None:
    if metrics is None:
        return None
    if isinstance(metrics, str):
        metrics = metrics.split(",")
    names = [str(m).strip() for m in metrics if str(m).strip()]
    return names or None


def job_rows(job: Any, metrics: str | Iterable[str] | None = None, x: str | None = None,
             rank: int | str | None = 0) -> tuple[list[dict[str, Any]], str, list[str]]:
    """``(rows, x, metric names)`` of ``job`` (see :func:`job_metrics`)."""
    reader = read_all(job)
    if reader is None:
        return [], x or "line", _names(metrics) or []
    picked = chosen(job)
    with reader.lock:
        rows = list(reader.rows)
    return select(rows, _names(metrics) or picked["keys"], x or picked["x"], rank)


def job_metrics(job: Any, metrics: str | Iterable[str] | None = None, *, x: str | None = None,
                rank: int | str | None = 0, as_frame: bool = False) -> Any:
    """The metric series ``job`` printed so far (see ``Job.metrics``)."""
    rows, x, names = job_rows(job, metrics, x, rank)
    rows = [dict(row) for row in rows]
    return to_frame(rows, [x, *names]) if as_frame else rows


def sweep_metrics(jobs: Sequence[Any], values: Sequence[Mapping[str, Any]],
                  metrics: str | Iterable[str] | None = None, *, x: str | None = None,
                  rank: int | str | None = 0, as_frame: bool = False) -> Any:
    """Every member's rows with its grid values and ``job`` (the job id) as columns."""
    out: list[dict[str, Any]] = []
    columns: list[str] = []
    for job, vals in zip(jobs, values):
        rows, chosen_x, names = job_rows(job, metrics, x, rank)
        columns = columns or [*vals, "job", chosen_x, *names]
        out.extend({**vals, "job": job.id, **row} for row in rows)
    return to_frame(out, columns) if as_frame else out


def to_frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """A pandas DataFrame (ImportError in one line when pandas is not installed)."""
    try:
        return as_frame(rows, columns)
    except ImportError:
        raise ImportError("metrics(as_frame=True) needs pandas: pip install pandas "
                          "(or call metrics() for a list of rows)") from None
