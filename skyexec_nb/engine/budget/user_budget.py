"""The notebook user's daily budget (engine setting ``budget = {"per_day": 200}``).

Spent today is the estimated cost, within today's local-time day, of every job with a price
(a job running over midnight counts its share in each day), plus the time its cluster stayed up
after it (see :mod:`.spend`). A launch whose expected cost exceeds what is left, or that has no
bound while a budget is set, needs a confirmation (:class:`BudgetConfirmationNeeded`).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional

from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.model.spend_limits import format_money

CONFIRM = "Confirm with --yes (or click Launch again)."


def per_day() -> Optional[float]:
    """Today's budget in USD from the engine settings, or None when no budget is set."""
    value = (get_settings().budget or {}).get("per_day")
    return None if value is None else float(value)


@dataclasses.dataclass(frozen=True)
class BudgetStatus:
    """Today's spend against the daily budget (estimates).

    Attributes:
        per_day: the budget (USD), None when none is set.
        spent_today: estimated USD spent today (local time).
        left: ``per_day - spent_today`` (negative when over), None without a budget.
        text: one line, e.g. ``today: $12.40 spent of $200.00, $187.60 left (estimates)``.
    """

    per_day: Optional[float]
    spent_today: float
    left: Optional[float]
    text: str


class BudgetConfirmationNeeded(RuntimeError):
    """A launch may cost more than today's budget has left (or is unbounded): one line saying by how
    much; launch again with ``yes=True`` (``--yes``) to go ahead.

    Attributes: ``expected`` (USD or None when unbounded), ``left``, ``per_day``, ``over`` (USD or None).
    """

    def __init__(self, message: str, *, expected: Optional[float], left: float, per_day: float) -> None:
        self.expected, self.left, self.per_day = expected, left, per_day
        self.over = None if expected is None else expected - max(left, 0.0)
        super().__init__(message)


def status_text(per_day: Optional[float], spent: float) -> str:
    """The one line of :class:`BudgetStatus`."""
    if per_day is None:
        return f"today: {format_money(spent)} spent (estimates; no daily budget set)"
    left = per_day - spent
    if left < 0:
        return f"today: {format_money(spent)} spent of {format_money(per_day)}, {format_money(-left)} over (estimates)"
    return f"today: {format_money(spent)} spent of {format_money(per_day)}, {format_money(left)} left (estimates)"


def budget_status(now: Optional[float] = None, *, price: bool = True) -> BudgetStatus:
    """Today's spend and what is left of the daily budget (blocking: may price cloud jobs that
    recorded no price at launch; ``price=False`` counts recorded prices only).

    Args:
        now: the time "today" is taken at (default now).
    """
    from skyexec_nb.engine.budget.spend import Pricer, day_of, day_start, job_rows
    from skyexec_nb.engine.jobs.registry import get_registry

    now = time.time() if now is None else now
    today = day_of(now)
    jobs = job_rows(get_registry().rows(), now=now, since=day_start(now), pricer=Pricer(price))
    spent = sum(j["days"].get(today, 0.0) for j in jobs)
    budget = per_day()
    left = None if budget is None else budget - spent
    return BudgetStatus(budget, spent, left, status_text(budget, spent))


def check_budget(expected: Optional[float], *, yes: bool, what: str, hourly: Optional[float] = None,
                 now: Optional[float] = None) -> Optional[str]:
    """Check a launch against today's budget.

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
    budget = per_day()
    if budget is None:
        return None
    if expected is None and hourly is None:
        return f"The daily budget cannot check this launch: no price ({what})"
    left = budget_status(now).left
    assert left is not None
    shown_left = f"today's budget has {format_money(max(left, 0.0))} left of {format_money(budget)}"
    if expected is None:
        message = (f"This launch has no time or cost limit, so its cost is unbounded ({what}); {shown_left}; "
                   f"set --timeout, --max-cost or --expect to bound it. {CONFIRM}")
    elif expected > left:
        message = (f"This launch may cost up to {format_money(expected)} ({what}); {shown_left}: "
                   f"{format_money(expected - max(left, 0.0))} over. {CONFIRM}")
    else:
        return None
    if not yes:
        raise BudgetConfirmationNeeded(message, expected=expected, left=left, per_day=budget)
    if expected is None:
        return (f"Launched with no bound on its cost past today's budget ({format_money(max(left, 0.0))} left), "
                "as confirmed")
    return (f"Launched {format_money(expected - max(left, 0.0))} over today's budget "
            f"({format_money(expected)} expected, {format_money(max(left, 0.0))} left), as confirmed")
