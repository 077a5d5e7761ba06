"""The data behind a metric chart, bounded whatever the job prints (no widgets).

:class:`Decimator` keeps a drawable summary of one growing series in O(1) per point: points are
grouped into buckets of ``width`` consecutive points, each keeping its lowest and highest point
(so spikes survive); when there are ``2 * size`` buckets, neighbours merge and ``width`` doubles.
A series of any length is drawn from at most ``~4 * size`` points, and the chart's record (a
static SVG) is made from the same summary. :func:`thin` bounds one batch of new points the same
way (min/max per bucket) before it is sent to the front end.
"""
from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

Point = tuple[float, float]
#: Name fragments of metrics where lower is better ("best" is then the minimum).
LOWER_IS_BETTER = re.compile(r"loss|err|perplex|ppl|mse|mae|rmse|wer|cer|nll|bpd|dist|time|runtime|latency|lr\b",
                             re.IGNORECASE)


def lower_is_better(name: str) -> bool:
    """True for a loss-like metric name (``val_loss``, ``error``, ``perplexity``); else higher is better."""
    return bool(LOWER_IS_BETTER.search(name))


def short(value: float) -> float:
    """``value`` to 6 significant digits (what the chart needs; fewer bytes on the wire)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.6g}")


class Decimator:
    """A bounded, drawable summary of a series (see the module docstring).

    Args:
        size: Buckets kept after a merge (the summary holds at most ``4 * size`` points).
    """

    __slots__ = ("size", "width", "buckets", "count", "last", "first")

    def __init__(self, size: int = 400) -> None:
        self.size = max(2, size)
        self.width = 1
        self.buckets: list[list] = []  # [n, (i, x, y) lowest, (i, x, y) highest]
        self.count = 0
        self.last: Point | None = None
        self.first: Point | None = None

    def add(self, x: float, y: float) -> None:
        """Add a point (callers pass finite numbers only)."""
        point = (self.count, x, y)
        self.count += 1
        self.last = (x, y)
        if self.first is None:
            self.first = (x, y)
        buckets = self.buckets
        if buckets and buckets[-1][0] < self.width:
            bucket = buckets[-1]
            bucket[0] += 1
            if y < bucket[1][2]:
                bucket[1] = point
            if y > bucket[2][2]:
                bucket[2] = point
            return
        buckets.append([1, point, point])
        if len(buckets) >= 2 * self.size:
            self._merge()

    def _merge(self) -> None:
        merged = []
        buckets = self.buckets
        for i in range(0, len(buckets) - 1, 2):
            a, b = buckets[i], buckets[i + 1]
            merged.append([a[0] + b[0], a[1] if a[1][2] <= b[1][2] else b[1], a[2] if a[2][2] >= b[2][2] else b[2]])
        if len(buckets) % 2:
            merged.append(buckets[-1])
        self.buckets = merged
        self.width *= 2

    def points(self) -> list[Point]:
        """The summary, in arrival order (first and last points included)."""
        out: list[Point] = []
        seen_last = -1
        for _, low, high in self.buckets:
            for i, x, y in ((low, high) if low[0] <= high[0] else (high, low)):
                if i != seen_last:
                    out.append((x, y))
                    seen_last = i
        if self.count and self.last is not None and (not out or out[-1] != self.last):
            out.append(self.last)
        return out

    def __len__(self) -> int:
        return self.count


def thin(points: Sequence[Point], budget: int) -> list[Point]:
    """At most ``budget`` points of ``points`` (min and max of equal buckets, last point kept)."""
    if len(points) <= budget:
        return list(points)
    buckets = max(1, budget // 2)
    step = len(points) / buckets
    out: list[Point] = []
    for b in range(buckets):
        chunk = points[int(b * step):int((b + 1) * step)]
        if not chunk:
            continue
        low = min(range(len(chunk)), key=lambda i: chunk[i][1])
        high = max(range(len(chunk)), key=lambda i: chunk[i][1])
        for i in sorted({low, high}):
            out.append(chunk[i])
    if out[-1] != points[-1]:
        out[-1] = points[-1]
    return out


def flat(points: Iterable[Point]) -> list[list[float]]:
    """``[[x...], [y...]]`` with 6 significant digits (the wire format)."""
    xs, ys = [], []
    for x, y in points:
        xs.append(short(x))
        ys.append(short(y))
    return [xs, ys]


def final_and_best(points: Iterable[Point], name: str) -> tuple[float | None, float | None]:
    """The last value of a series and its best (min for loss-like names, else max); None when empty."""
    last = best = None
    lower = lower_is_better(name)
    for _, y in points:
        last = y
        if best is None or (y < best if lower else y > best):
            best = y
    return last, best
