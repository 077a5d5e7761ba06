"""The metrics of one log, read incrementally, and which key is the x axis.

:class:`MetricReader` keeps a byte offset into the log and reads only what was appended since
its last :meth:`~MetricReader.poll` (a truncated or replaced log is read again from its start),
so following a job never re-parses the whole log. Rows are kept in full (``job.metrics()`` gives
the whole series); views downsample what they draw. :func:`reader_for` shares one reader per log
file in this process, so repeated ``job.metrics()`` calls and a live chart read each byte once.

Each row is ``{key: float}`` plus ``line`` (its 1-based line number in the log) and, on a
multi-node job, ``rank``. When the log has marker lines (``SKYEXEC_METRIC {...}``), only they
count.
"""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Any, Iterable

from skyexec_nb.engine.metrics.parse import EPOCH_KEYS, STEP_KEYS, TIME_KEYS, X_KEYS, LineParser

#: Columns that are never metrics.
META_KEYS = frozenset({"line", "rank"})
#: Most bytes one poll reads by default (a view catching up on a huge log does it over several ticks).
POLL_BYTES = 64 * 1024 * 1024


class MetricReader:
    """The metric rows of a growing log file.

    Args:
        path: The log file (it may not exist yet).
    """

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = os.fspath(path) if path else None
        self.lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.lines = 0  # complete lines read
        self.parser = LineParser()
        self.plain: list[dict[str, float]] = []  # rows of ordinary lines
        self.marked: list[dict[str, float]] = []  # rows of marker lines
        self.resets = getattr(self, "resets", -1) + 1  # the log was truncated or replaced this many times
        self._partial = b""
        self._file_id: tuple[int, int] | None = None

    @property
    def rows(self) -> list[dict[str, float]]:
        """Every row so far (the marker rows when the log has any). Do not modify."""
        return self.marked if self.marked else self.plain

    def poll(self, max_bytes: int | None = None, final: bool = False) -> int:
        """Read what was appended (at most ``max_bytes``); returns the number of new rows.

        ``final``: the writer is done, so a last line without a newline counts too.
        """
        if not self.path:
            return 0
        with self.lock:
            try:
                with open(self.path, "rb") as f:
                    st = os.fstat(f.fileno())
                    file_id = (st.st_dev, st.st_ino)
                    if st.st_size < self.offset or (self._file_id is not None and file_id != self._file_id):
                        self._reset()
                    self._file_id = file_id
                    if st.st_size <= self.offset and not (final and self._partial):
                        return 0
                    f.seek(self.offset)
                    data = f.read(min(st.st_size - self.offset, max_bytes or POLL_BYTES))
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                return 0
            self.offset += len(data)
            return self.feed(data, final=final and self.offset >= st.st_size)

    def feed(self, data: bytes, final: bool = False) -> int:
        """Parse appended bytes (complete lines; the rest waits for its newline); returns new rows.

        ``final``: nothing more will be written, so a last line without its newline counts too.
        """
        with self.lock:
            data = self._partial + data
            if final:
                self._partial = b""
                if not data:
                    return 0
                head = data[:-1] if data.endswith(b"\n") else data
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    self._partial = data
                    return 0
                head, self._partial = data[:cut], data[cut + 1:]
            before = len(self.plain) + len(self.marked)
            self._parse_lines(neutralise_prefixes(head.decode("utf-8", errors="replace")))
            return len(self.plain) + len(self.marked) - before

    def _parse_lines(self, text: str) -> None:
        """Parse ``text``: complete lines joined by newlines (``count("\\n") + 1`` lines)."""
        parse, plain, marked = self.parser.parse, self.plain, self.marked
        newlines, last = 0, 0
        for start, end in candidate_lines(text):
            newlines += text.count("\n", last, start)
            last = start
            rows, is_marker = parse(text[start:end])
            number = float(self.lines + newlines + 1)
            for row in rows:
                row["line"] = number
                (marked if is_marker else plain).append(row)
        self.lines += text.count("\n") + 1


#: Text a metric line has; any line without them is skipped without being looked at.
NEEDLES = ("=", ": ", '":', "poch", "\u2502", "\u2503")
#: SkyPilot's line prefixes hold ``pid=``/``rank=``/``ip=`` on every line: hidden before the scan.
_PREFIX_WORDS = ((", pid=", ", pid\x00"), ("rank=", "rank\x00"), (", ip=", ", ip\x00"))


def neutralise_prefixes(text: str) -> str:
    """``text`` with the ``=`` of SkyPilot's prefix words hidden (see :func:`parse.strip_prefix`)."""
    for word, hidden in _PREFIX_WORDS:
        if word in text:
            text = text.replace(word, hidden)
    return text


def candidate_lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each line of ``text`` that may hold a metric, in order.

    Found with ``str.find`` on the whole text (C speed): only these lines reach the parser, so a
    log costs little more than a scan of its bytes.
    """
    spans: dict[int, int] = {}
    find, rfind, size = text.find, text.rfind, len(text)
    for needle in NEEDLES:
        pos = find(needle)
        while pos >= 0:
            start = rfind("\n", 0, pos) + 1
            end = find("\n", pos)
            if end < 0:
                end = size
            spans[start] = end
            pos = find(needle, end)
    return sorted(spans.items())


_readers: dict[str, MetricReader] = {}
_readers_lock = threading.Lock()
MAX_SHARED = 256


def reader_for(path: str | os.PathLike) -> MetricReader:
    """The process's shared reader of ``path`` (made on first use; at most :data:`MAX_SHARED` kept)."""
    key = os.path.abspath(os.fspath(path))
    with _readers_lock:
        reader = _readers.get(key)
        if reader is None:
            if len(_readers) >= MAX_SHARED:
                _readers.pop(next(iter(_readers)))
            reader = _readers[key] = MetricReader(key)
        return reader


def forget_reader(path: str | os.PathLike) -> None:
    """Drop the shared reader of ``path`` (tests, deleted jobs)."""
    with _readers_lock:
        _readers.pop(os.path.abspath(os.fspath(path)), None)


# -- which columns ---------------------------------------------------------------------------------
def metric_keys(rows: Iterable[dict[str, float]], x: str | None = None) -> list[str]:
    """Metric names in order of first appearance (x candidates, ``line``, ``rank`` and ``x`` excluded)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key not in seen:
                seen[key] = None
    return [k for k in seen if k not in META_KEYS and k not in X_KEYS and k != x]


def x_candidates(rows: list[dict[str, float]]) -> list[str]:
    """Keys that can be the x axis, most natural first: step keys, epoch, time keys, then ``line``."""
    present: set[str] = set()
    for row in rows[-2000:]:
        present.update(row)
    return [k for k in (*STEP_KEYS, *EPOCH_KEYS, *TIME_KEYS) if k in present] + ["line"]


def infer_x(rows: list[dict[str, float]]) -> str:
    """The x axis: the first of step, global_step, iteration, ..., epoch, time, ... found in at
    least half the rows (of the last 2,000), else ``line`` (the row's line number in the log)."""
    recent = rows[-2000:]
    if not recent:
        return "line"
    for key in (*STEP_KEYS, *EPOCH_KEYS, *TIME_KEYS):
        count = sum(1 for row in recent if key in row)
        if count * 2 >= len(recent):
            return key
    return "line"


def finite(value: Any) -> bool:
    """True for a finite number."""
    return isinstance(value, float) and math.isfinite(value)


def select(rows: list[dict[str, float]], metrics: Iterable[str] | None = None, x: str | None = None,
           rank: int | str | None = 0) -> tuple[list[dict[str, float]], str, list[str]]:
    """``(rows, x, metrics)``: rows with ``x`` and at least one of ``metrics``, of node ``rank``.

    ``rank``: 0 keeps the head node's rows (and those of a single-node job), ``"all"``/None every row.
    Each row keeps ``x``, the chosen metrics it has, ``line`` and ``rank`` (when present), in that order.
    """
    if rank not in (None, "all"):
        rows = [r for r in rows if r.get("rank", 0.0) == rank]
    x = x or infer_x(rows)
    names = list(metrics) if metrics else metric_keys(rows, x)
    wanted = set(names)
    out = []
    for row in rows:
        if x not in row or wanted.isdisjoint(row):
            continue
        kept = {x: row[x], **{k: row[k] for k in names if k in row}}  # x first, then the metrics
        kept.update((k, row[k]) for k in ("line", "rank") if k in row)
        out.append(kept)
    return out, x, names


def as_frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """A pandas DataFrame of ``rows`` (``columns`` first); ImportError when pandas is missing."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows)
    first = [c for c in columns if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def path_of(job: Any) -> Path | None:
    """A job's log path, or None."""
    path = getattr(job, "log_path", None)
    return Path(path) if path else None
