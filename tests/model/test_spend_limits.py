"""Time and cost limits as a user types them: parsed, or refused with one line naming the field."""
from __future__ import annotations

import pytest

from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.spend_limits import (
    MAX_COST_USD,
    MAX_TIMEOUT_S,
    format_duration_short,
    format_money,
    parse_duration,
    parse_money,
)


@pytest.mark.parametrize("value, seconds", [
    (3600, 3600.0), (3600.0, 3600.0), ("3600", 3600.0), ("45s", 45.0), ("90m", 5400.0), ("2h", 7200.0),
    ("1h30m", 5400.0), ("1d", 86400.0), ("2.5h", 9000.0), (" 2H ", 7200.0), ("1h 30m", 5400.0), (1, 1.0),
    ("30d", MAX_TIMEOUT_S),
])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [None, "", "none", "None", "  "])
def test_no_time_limit(value):
    assert parse_duration(value) is None


@pytest.mark.parametrize("value", [
    -1, 0, 0.5, "0.5s", "-2h", float("nan"), float("inf"), True, False, "2 hours", "abc", "1h-3m", "h",
    "31d", MAX_TIMEOUT_S + 1, [60], {"h": 1}, "1e3",
])
def test_bad_durations_are_one_line_field_errors(value):
    with pytest.raises(FieldError) as err:
        parse_duration(value, "timeout")
    text = str(err.value)
    assert text.startswith("Invalid timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: ")
    assert "\n" not in text and repr(value)[:10] in text


@pytest.mark.parametrize("value, dollars", [
    (50, 50.0), (50.0, 50.0), ("50", 50.0), ("$50", 50.0), ("50.5", 50.5), ("$ 12.25", 12.25),
    ("1,000", 1000.0), (0.01, 0.01), (MAX_COST_USD, MAX_COST_USD),
])
def test_money(value, dollars):
    assert parse_money(value) == dollars


@pytest.mark.parametrize("value", [None, ""])
def test_no_cost_limit(value):
    assert parse_money(value) is None


@pytest.mark.parametrize("value", [
    0, -5, "-5", "$-5", float("nan"), float("inf"), True, "fifty", "50 EUR", "2e9", MAX_COST_USD * 1.01, [50],
])
def test_bad_money_is_a_one_line_field_error(value):
    with pytest.raises(FieldError) as err:
        parse_money(value, "max_cost")
    text = str(err.value)
    assert text.startswith("Invalid max_cost: dollars, more than 0 and at most 1,000,000. Found: ")
    assert "\n" not in text


def test_the_field_name_is_the_callers():
    with pytest.raises(FieldError, match=r"^Invalid --timeout: "):
        parse_duration("soon", "--timeout")
    with pytest.raises(FieldError, match=r"^Invalid group_max_cost: "):
        parse_money(-1, "group_max_cost")


@pytest.mark.parametrize("seconds, text", [
    (7200, "2h"), (5400, "1h30m"), (90, "1m30s"), (2, "2s"), (2.4, "2s"), (90000, "1d1h"), (0, "0s"),
])
def test_short_durations(seconds, text):
    assert format_duration_short(seconds) == text


def test_money_format():
    assert format_money(40.0234) == "$40.02" and format_money(1234.5) == "$1,234.50"
