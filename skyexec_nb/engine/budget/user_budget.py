"""The notebook user's budget (engine setting ``budget``): per day, per week and/or per month.

``{"per_day": 200}``, ``{"per_month": 3000}`` or both (and ``per_week``): each period is local time
(the day from midnight, the week from Monday, the month from the 1st). Spent in a period is the
estimated cost, within it, of every job with a price (a job running over midnight counts its share
in each day), plus the time its cluster stayed up after it (see :mod:`.spend`). A launch whose
expected cost exceeds what is left of any budget, or that has no bound while a budget is set, needs
a confirmation (:class:`BudgetConfirmationNeeded`), which names the tightest one.
"""
from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Callable, Optional

from skyexec_nb.engine.jobs.settings import BUDGET_PERIODS, get_settings
from skyexec_nb.model.spend_limits import format_money

CONFIRM = "Confirm with --yes (or click Launch again)."


def _day(t: float) -> datetime.date:
    return datetime.date.fromtimestamp(t)


#: period key -> (what it is called, its first local date for a time in it)
PERIODS: dict[str, tuple[str, Callable[[float], datetime.date]]] = {
    "per_day": ("today", _day),
    "per_week": ("this week", lambda t: _day(t) - datetime.timedelta(days=_day(t).weekday())),
    "per_month": ("this month", lambda t: _day(t).replace(day=1)),
}
assert tuple(PERIODS) == BUDGET_PERIODS


def budgets() -> dict[str, float]:
    """The budgets set in the engine settings, ``{"per_day": 200.0, ...}`` ({} when none)."""
    value = get_settings().budget or {}
    return {key: float(value[key]) for key in BUDGET_PERIODS if value.get(key) is not None}


def per_day() -> Optional[float]:
    """Today's budget in USD from the engine settings, or None when none is set."""
    return budgets().get("per_day")


def period_start(key: str, now: float) -> float:
    """Epoch of the local midnight that begins period ``key`` (``per_day``...) around ``now``."""
    return datetime.datetime.combine(PERIODS[key][1](now), datetime.time()).timestamp()


@dataclasses.dataclass(frozen=True)
class PeriodSpend:
    """One budget period's spend: ``label`` ("today", "this week", "this month"), ``budget`` (USD,
    None when that period has none), ``spent`` (estimated USD), ``left`` (None without a budget)."""

    key: str
    label: str
    budget: Optional[float]
    spent: float

    @property
    def left(self) -> Optional[float]:
        return None if self.budget is None else self.budget - self.spent

    def text(self) -> str:
        spent = format_money(self.spent)
        if self.budget is None:
            return f"{self.label}: {spent} spent"
        left = self.budget - self.spent
        if left < 0:
            return f"{self.label}: {spent} spent of {format_money(self.budget)}, {format_money(-left)} over"
        return f"{self.label}: {spent} spent of {format_money(self.budget)}, {format_money(left)} left"


@dataclasses.dataclass(frozen=True)
class BudgetStatus:
    """Spend against the user's budgets (estimates).

    Attributes:
        per_day: the daily budget (USD), None when none is set.
        spent_today: estimated USD spent today (local time).
        left: what is left of the tightest budget set (negative when over), None without a budget.
        text: one line, e.g. ``today: $12.40 spent of $200.00, $187.60 left (estimates)``, one part
            per budget set (``...; this month: $412.00 spent of $3,000.00, $2,588.00 left``).
        periods: each budget set, as :class:`PeriodSpend` (empty without a budget).
    """

    per_day: Optional[float]
    spent_today: float
    left: Optional[float]
    text: str
    periods: tuple[PeriodSpend, ...] = ()

    @property
    def tightest(self) -> Optional[PeriodSpend]:
        """The budget with the least left (None without a budget)."""
        return min(self.periods, key=lambda p: p.left, default=None)  # type: ignore[arg-type,return-value]


class BudgetConfirmationNeeded(RuntimeError):
    """A launch may cost more than a budget has left (or is unbounded): one line saying by how
    much; launch again with ``yes=True`` (``--yes``) to go ahead.

    Attributes: ``expected`` (USD or None when unbounded), ``left``, ``budget`` (USD) and ``period``
    (``"today"``, ``"this week"``, ``"this month"``) of the budget with the least left, ``over``
    (USD or None).
    """

    def __init__(self, message: str, *, expected: Optional[float], left: float, budget: float,
                 period: str = "today") -> None:
        self.expected, self.left, self.budget, self.period = expected, left, budget, period
        self.over = None if expected is None else expected - max(left, 0.0)
        super().__init__(message)


def status_text(per_day: Optional[float], spent: float) -> str:
    """The one line of a :class:`BudgetStatus` with only a daily budget (or none)."""
    if per_day is None:
        return f"today: {format_money(spent)} spent (estimates; no daily budget set)"
    return PeriodSpend("per_day", "today", per_day, spent).text() + " (estimates)"


def budget_status(now: Optional[float] = None, *, price: bool = True) -> BudgetStatus:
    """Spend today (and this week / month, for those with a budget) against the budgets set
    (blocking: may price cloud jobs that recorded no price at launch; ``price=False`` counts
    recorded prices only).

    Args:
        now: the time the periods are taken at (default now).
    """
    from skyexec_nb.engine.budget.spend import Pricer, day_of, job_rows
    from skyexec_nb.engine.jobs.registry import get_registry

    now = time.time() if now is None else now
    set_ = budgets()
    keys = ["per_day", *[k for k in set_ if k != "per_day"]]
    since = min(period_start(k, now) for k in keys)
    jobs = job_rows(get_registry().rows(), now=now, since=since, pricer=Pricer(price))
    spent: dict[str, float] = {}
    for key in keys:
        first = day_of(period_start(key, now))
        spent[key] = sum(amount for j in jobs for day, amount in j["days"].items() if day >= first)
    periods = tuple(PeriodSpend(k, PERIODS[k][0], set_[k], spent[k]) for k in BUDGET_PERIODS if k in set_)
    if not periods:
        text = status_text(None, spent["per_day"])
    else:
        text = "; ".join(p.text() for p in periods) + " (estimates)"
    tightest = min((p.left for p in periods if p.left is not None), default=None)
    return BudgetStatus(set_.get("per_day"), spent["per_day"], tightest, text, periods)


def check_budget(expected: Optional[float], *, yes: bool, what: str, hourly: Optional[float] = None,
                 now: Optional[float] = None) -> Optional[str]:
    """Check a launch against the budgets set (the one with the least left decides).

    Args:
        expected: what the launch may cost (USD); None: unbounded when ``hourly`` is known, else
            unpriced (it cannot be checked).
        yes: the user confirmed: go ahead (the returned line says what was confirmed).
        what: what was priced, said in the message.

    Returns:
        None when within budget (or no budget is set); else a warning line (confirmed, or unpriced).

    Raises:
        BudgetConfirmationNeeded: over what is left, or unbounded, and not ``yes``.
    """
    if not budgets():
        return None
    if expected is None and hourly is None:
        return f"The budget cannot check this launch: no price ({what})"
    tight = budget_status(now).tightest
    assert tight is not None and tight.budget is not None and tight.left is not None
    left, whose = tight.left, _whose(tight.label)
    shown_left = f"{whose} budget has {format_money(max(left, 0.0))} left of {format_money(tight.budget)}"
    if expected is None:
        message = (f"This launch has no time or cost limit, so its cost is unbounded ({what}); {shown_left}; "
                   f"set --timeout, --max-cost or --expect to bound it. {CONFIRM}")
    elif expected > left:
        message = (f"This launch may cost up to {format_money(expected)} ({what}); {shown_left}: "
                   f"{format_money(expected - max(left, 0.0))} over. {CONFIRM}")
    else:
        return None
    if not yes:
        raise BudgetConfirmationNeeded(message, expected=expected, left=left, budget=tight.budget,
                                       period=tight.label)
    if expected is None:
        return (f"Launched with no bound on its cost past {whose} budget ({format_money(max(left, 0.0))} left), "
                "as confirmed")
    return (f"Launched {format_money(expected - max(left, 0.0))} over {whose} budget "
            f"({format_money(expected)} expected, {format_money(max(left, 0.0))} left), as confirmed")


def _whose(label: str) -> str:
    """``today`` -> ``today's``; ``this month`` -> ``this month's``."""
    return f"{label}'s"
