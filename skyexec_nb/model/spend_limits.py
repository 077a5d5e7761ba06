"""Parsing the spend limits a user gives a launch: a time limit and a cost limit.

``parse_duration("1h30m") -> 5400.0``, ``parse_money("$50") -> 50.0``; anything else (negative, NaN,
a bool, beyond the bound, junk) is a one-line :class:`FieldError` naming the field and what is allowed.
The engine records and enforces them (``engine/jobs/spend.py``); this module only reads values.
"""
from __future__ import annotations

import math
import re
from typing import Any

from skyexec_nb.model.errors import FieldError

MAX_TIMEOUT_S = 30 * 86400.0
"""30 days: a longer time limit is a unit mix-up."""
MAX_COST_USD = 1_000_000.0
"""A cost limit beyond a million dollars is a typo."""
MIN_TIMEOUT_S = 1.0

DURATION_ALLOWED = "a duration like 90m, 2h or 1h30m (1 s to 30 days)"
MONEY_ALLOWED = "dollars, more than 0 and at most 1,000,000"

_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = r"(\d+(?:\.\d+)?|\.\d+)\s*([dhms])"
_DURATION_RE = re.compile(rf"^(?:{_PART}\s*)+$", re.IGNORECASE)
_PART_RE = re.compile(_PART, re.IGNORECASE)
_PLAIN_RE = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)$")
_MONEY_RE = re.compile(r"^\$?\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:usd)?$", re.IGNORECASE)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_duration(value: object, field: str = "timeout") -> float | None:
    """Seconds of a duration, or None for no limit.

    None, "" and "none" mean no limit; 3600, 3600.0 and "3600" are seconds; "45s", "90m", "2h",
    "1h30m", "1d" and "2.5h" use units (d, h, m, s; several add up).

    Raises:
        FieldError: below 1 s, beyond 30 days, negative, NaN, a bool or text that is no duration.
    """
    if value is None:
        return None
    if _is_number(value):
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        text = value.strip()
        if text == "" or text.lower() == "none":
            return None
        if _PLAIN_RE.match(text):
            seconds = float(text)
        elif _DURATION_RE.match(text):
            seconds = sum(float(n) * _UNIT_S[u.lower()] for n, u in _PART_RE.findall(text))
        else:
            raise FieldError(field, DURATION_ALLOWED, value)
    else:
        raise FieldError(field, DURATION_ALLOWED, value)
    if not math.isfinite(seconds) or not MIN_TIMEOUT_S <= seconds <= MAX_TIMEOUT_S:
        raise FieldError(field, DURATION_ALLOWED, value)
    return seconds


def parse_money(value: object, field: str = "max_cost") -> float | None:
    """Dollars of a cost limit, or None for no limit.

    None and "" mean no limit; 50, 50.0, "50", "$50" and "50.5" are dollars.

    Raises:
        FieldError: zero or less, beyond 1,000,000, NaN, a bool or text that is no amount.
    """
    if value is None:
        return None
    if _is_number(value):
        dollars = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", value.strip())  # "1,000" is a thousand
        if text == "":
            return None
        match = _MONEY_RE.match(text)
        if match is None:
            raise FieldError(field, MONEY_ALLOWED, value)
        dollars = float(match.group(1))
    else:
        raise FieldError(field, MONEY_ALLOWED, value)
    if not math.isfinite(dollars) or not 0 < dollars <= MAX_COST_USD:
        raise FieldError(field, MONEY_ALLOWED, value)
    return dollars


def format_duration_short(seconds: float) -> str:
    """``7200 -> "2h"``, ``5400 -> "1h30m"``, ``90 -> "1m30s"``, ``2 -> "2s"``, ``90000 -> "1d1h"``.

    Whole seconds (rounded); units that are zero are left out.
    """
    total = max(0, int(round(float(seconds)))) if math.isfinite(float(seconds)) else 0
    if total == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_money(dollars: float) -> str:
    """``40.0234 -> "$40.02"``, ``1234.5 -> "$1,234.50"``."""
    return f"${dollars:,.2f}"
