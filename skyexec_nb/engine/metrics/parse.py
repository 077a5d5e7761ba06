"""Metrics from log lines: what the job already prints, read as numbers (pure; no I/O).

A line gives a *row* (``{key: float}``) when it holds at least one metric. Recognised, in order:

* **Marker** (exact control): ``SKYEXEC_METRIC {"step": 1, "loss": 0.5}`` anywhere in a line
  (a JSON object after the word). Once a log has a marker line, only marker lines count
  (see :class:`~skyexec_nb.engine.metrics.reader.MetricReader`).
* **JSON lines** ``{"step": 120, "loss": 0.231}`` and **Python dict lines** as the Hugging Face
  Trainer prints them, ``{'loss': 0.69, 'learning_rate': 4.5e-05, 'epoch': 0.1}``; nested objects
  give ``outer/inner`` keys.
* **key=value and key: value pairs** with numbers: ``step 120 loss=0.231 lr=3e-4``,
  ``loss: 0.2950 - accuracy: 0.9140`` (Keras), tqdm / PyTorch Lightning postfixes
  ``[00:10<00:12, 44.1it/s, v_num=0, train_loss=0.231]``; ``step 120`` / ``iter 5`` / ``epoch 2``
  (a word and an integer) give the x keys.
* **Progress**: a Lightning bar ``Epoch 2:  45%|...| 450/1000`` gives ``epoch = 2.45``; a Keras
  ``Epoch 3/10`` line sets the epoch of the lines after it, and its ``450/1000 [====`` progress
  gives ``epoch = 2.45`` (so an epoch's last line says ``epoch = 3``); a bare tqdm ``n/total``
  gives ``step = n``. Redraws separated by ``\\r`` are one row each.
* Lightning's end-of-run table rows (``│ test_loss │ 0.2345 │``).

SkyPilot's line prefixes (``(task, pid=42) ``, ``(worker1, rank=1, pid=7, ip=...) ``) are not
metrics; their rank is given to the row. ``skyexec_nb:`` notices are skipped. Values are floats;
NaN and ±inf are kept (``nan``, ``inf`` in the text). Words that look like metrics but are not
numbers (``loss=abc``, ``ETA: 3:03``, ``12:00:00``) are ignored: nothing here ever raises on input.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

MARKER = "SKYEXEC_METRIC"
#: Keys that are never metrics (process ids, ranks, Lightning's logger version).
NOT_METRICS = frozenset({"pid", "rank", "ip", "port", "v_num", "node", "node_rank", "local_rank", "world_size"})
#: Keys that count as the x axis (in this order of preference), then ``epoch``, then time keys.
STEP_KEYS = ("step", "global_step", "iteration", "iter", "it", "batch", "steps")
EPOCH_KEYS = ("epoch",)
TIME_KEYS = ("time", "elapsed", "elapsed_time", "wall_time", "timestamp", "seconds")
X_KEYS = frozenset(STEP_KEYS + EPOCH_KEYS + TIME_KEYS)

_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)"
PAIR = re.compile(r"(?<![\w.\-/])([A-Za-z_][\w.\-/]*)['\"]?\s*[=:]\s*(" + _NUM + r")(?=[\s,;\]})|%'\"]|$)")
#: ``key=value`` pairs, or (groups 3-4) a step word and its integer (``step 120``, ``Iter 5``).
PAIR_OR_WORD = re.compile(PAIR.pattern + r"|(?<![\w.])(step|global_step|iteration|iter|epoch|batch|Step|Iteration|Iter|Epoch|Batch)"
                          r"\s+(\d+)(?![\w.])")
KERAS_EPOCH = re.compile(r"^\s*Epoch\s+(\d+)\s*/\s*\d+\s*$")
LIGHTNING_EPOCH = re.compile(r"Epoch\s+(\d+)\s*:")
TQDM_PROGRESS = re.compile(r"\|\s*(\d+)/(\d+)\s*\[")
KERAS_PROGRESS = re.compile(r"^\s*(\d+)/(\d+)\s*(?:\[|\u2501|-|\s\d)")
_DIGITS = re.compile(r"\d+")
TABLE_ROW = re.compile(r"^[\s\u2502\u2503|]*([A-Za-z_][\w./-]*)[\s\u2502\u2503|]+(" + _NUM + r")[\s\u2502\u2503|]*$")


def strip_prefix(line: str) -> tuple[str, int | None]:
    """``line`` without SkyPilot's ``(name, [rank=N, ]pid=P[, ip=...]) `` prefix, and the rank."""
    if not line.startswith("("):
        return line, None
    end = line.find(") ", 1, 160)
    if end < 0 or "pid" not in line[:end]:  # ``pid=`` (or ``pid\x00``: see reader.neutralise_prefixes)
        return line, None
    head = line[:end]
    at = head.find("rank")
    rank = None
    if at >= 0:
        digits = _DIGITS.match(head, at + 5)
        rank = int(digits.group()) if digits else None
    return line[end + 2:], rank


def to_float(text: str) -> float | None:
    """``text`` as a float (NaN/inf included), None when it is not a number."""
    try:
        return float(text)
    except (TypeError, ValueError, OverflowError):
        return None


def _flatten(obj: Any, prefix: str, out: dict[str, float]) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            try:
                out[name] = float(value)
            except OverflowError:  # an int too large for a float
                out[name] = math.inf if value > 0 else -math.inf
        elif isinstance(value, str):
            number = to_float(value) if value.strip().lower() in ("nan", "inf", "-inf", "infinity") else None
            if number is not None:
                out[name] = number
        elif isinstance(value, dict) and len(prefix) < 200:
            _flatten(value, name + "/", out)


def json_metrics(text: str) -> dict[str, float] | None:
    """The numbers of a JSON object (None when ``text`` is not one)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    out: dict[str, float] = {}
    _flatten(obj, "", out)
    return out


def pairs(text: str) -> dict[str, float]:
    """``key=value`` / ``key: value`` numbers in ``text`` (non-metric keys left out)."""
    out: dict[str, float] = {}
    for key, value in PAIR.findall(text):
        if key in NOT_METRICS:
            continue
        number = to_float(value)
        if number is not None:
            out[key] = number
    return out


class LineParser:
    """Turns log lines into rows; keeps the little state lines share (Keras' current epoch).

    :meth:`parse` returns ``(rows, marker)``: the rows of one line (a ``\\r``-redrawn progress
    bar gives one per redraw) and whether the line was a marker line.
    """

    def __init__(self) -> None:
        self.keras_epoch: int | None = None

    def parse(self, line: str) -> tuple[list[dict[str, float]], bool]:
        """Rows found in one log line (without its newline)."""
        if not line:
            return [], False
        text, rank = strip_prefix(line)
        if text.startswith("skyexec_nb:"):
            return [], False
        at = text.find(MARKER)
        if at >= 0:
            found = json_metrics(text[at + len(MARKER):].strip())
            return ([_ranked(found, rank)] if found else []), True
        rows = []
        segments = text.split("\r") if "\r" in text else (text,)
        for segment in segments:
            row = self._segment(segment)
            if row:
                rows.append(_ranked(row, rank))
        return rows, False

    def _segment(self, text: str) -> dict[str, float] | None:
        has_eq, has_colon = "=" in text, ":" in text
        stripped = text.lstrip()
        if stripped.startswith("{"):
            found = json_metrics(stripped.rstrip())
            if found is None and has_colon:
                found = pairs(stripped)
            return found or None
        if not has_eq and not has_colon:
            if "\u2502" in text or "\u2503" in text:
                match = TABLE_ROW.match(text)
                if match and match.group(1) not in NOT_METRICS:
                    number = to_float(match.group(2))
                    return {match.group(1): number} if number is not None else None
            if "poch" in text:
                match = KERAS_EPOCH.match(text)
                if match:
                    self.keras_epoch = int(match.group(1))
            return None
        row: dict[str, float] = {}
        words = None
        for key, value, word, integer in PAIR_OR_WORD.findall(text):
            if word:
                words = words or {}
                words.setdefault(word.lower(), float(integer))
            elif key not in NOT_METRICS:
                try:
                    row[key] = float(value)
                except (ValueError, OverflowError):
                    pass
        if not row:
            return None
        if words:
            for key, value in words.items():
                row.setdefault(key, value)
        if "|" in text or (self.keras_epoch is not None and "/" in text):
            self._progress(text, row)
        return row

    def _progress(self, text: str, row: dict[str, float]) -> None:
        """Epoch/step from a progress bar: Lightning's ``Epoch N: ...| n/total [``, Keras'
        ``n/total [====`` under an ``Epoch N/M`` line, tqdm's ``| n/total [``."""
        bar = TQDM_PROGRESS.search(text)
        if bar is not None:
            n, total = int(bar.group(1)), int(bar.group(2))
            lightning = LIGHTNING_EPOCH.search(text, 0, 200) if "poch" in text else None
            if lightning is not None and total:
                row["epoch"] = int(lightning.group(1)) + n / total  # Lightning counts epochs from 0
            elif "step" not in row:
                row["step"] = float(n)
            return
        keras = KERAS_PROGRESS.match(text) if self.keras_epoch is not None else None
        if keras is not None and "epoch" not in row:
            n, total = int(keras.group(1)), int(keras.group(2))
            row["epoch"] = self.keras_epoch - 1 + n / total if total else float(self.keras_epoch)


def _ranked(row: dict[str, float], rank: int | None) -> dict[str, float]:
    if rank is not None:
        row["rank"] = float(rank)
    return row
