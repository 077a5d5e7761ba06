"""Limits resolved at launch: parsed, priced when needed, checked against the user's budget.

:func:`resolve_limits` turns what a user typed (``timeout="2h"``, ``max_cost="$50"``) into the
job core's :class:`~skyexec_nb.engine.jobs.spend.Limits`, pricing the resources only when a cost
limit needs it (or the budget does). :func:`prepare_launch` is what every launch path calls
(``api.launch``, sweeps, remote Python): limits plus the budget check, before anything is recorded.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any

from skyexec_nb.engine.budget.prices import CLOUD_BACKENDS, PriceUnavailable, hourly_price, is_rehearsal
from skyexec_nb.engine.budget.user_budget import budgets, check_budget
from skyexec_nb.engine.jobs.spend import Limits
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.spend_limits import format_duration_short, format_money, parse_duration, parse_money

NO_PRICE_ALLOWED = "a limit on a job whose hourly price is known (no catalog price: {reason})"


class BudgetWarning(UserWarning):
    """A launch went ahead past the budget (confirmed), or the budget could not check it (no price)."""


def resolve_limits(executor: Any, backend: str, *, timeout: Any = None, max_cost: Any = None,
                   group: str | None = None, group_max_cost: Any = None, need_price: bool = False,
                   price_timeout: float = 60.0) -> Limits:
    """The Limits of a launch; prices the resources only when a cost limit (or ``need_price``) asks.

    Args:
        timeout: a duration (``"2h"``, ``5400``) or None.
        max_cost, group_max_cost: dollars (``50``, ``"$50"``) or None; ``group_max_cost`` is a
            sweep's total over its members (grouped by ``group``).
        need_price: price even without a cost limit (a budget is set); no price is then no error.

    Raises:
        FieldError: a bad value, or a cost limit on resources with no catalog price (one line;
            nothing recorded).
    """
    seconds = parse_duration(timeout, "timeout")
    job_max = parse_money(max_cost, "max_cost")
    total_max = parse_money(group_max_cost, "max_cost")
    hourly, note = None, ""
    if job_max is not None or total_max is not None or need_price:
        try:
            hourly, note = hourly_price(executor, backend, timeout=price_timeout)
        except PriceUnavailable as exc:
            if job_max is not None or total_max is not None:
                field, value = ("max_cost", max_cost) if job_max is not None else ("max_cost", group_max_cost)
                raise FieldError(field, NO_PRICE_ALLOWED.format(reason=exc), value) from None
            note = str(exc)
    return Limits(timeout=seconds, max_cost=job_max, hourly=hourly, price_note=note,
                  group=group, group_max_cost=total_max)


def expected_cost(limits: Limits, expected_duration: float | None = None, count: int = 1) -> float | None:
    """What a launch may cost: hourly × (``expected_duration`` or the time limit) × ``count`` jobs,
    at most its cost limit (``max_cost`` × ``count``, or the group's); None when unbounded or unpriced."""
    bounds = []
    duration = expected_duration if expected_duration is not None else limits.timeout
    if limits.hourly is not None and duration is not None:
        bounds.append(limits.hourly * duration / 3600.0 * count)
    if limits.max_cost is not None:
        bounds.append(limits.max_cost * count)
    if limits.group_max_cost is not None:
        bounds.append(limits.group_max_cost)
    return min(bounds) if bounds else None


def _what(limits: Limits, expected_duration: float | None, count: int) -> str:
    """``$3.06/hr for 2h: aws p3.2xlarge ... (catalog of ...)``, said in the confirmation."""
    if limits.hourly is None:
        return limits.price_note
    duration = expected_duration if expected_duration is not None else limits.timeout
    jobs = f"{count} jobs × " if count > 1 else ""
    span = f" for {format_duration_short(duration)}" if duration is not None else ""
    caps = [f"cost limit {format_money(v)}" for v in (limits.max_cost, limits.group_max_cost) if v is not None]
    return (f"{jobs}{format_money(limits.hourly)}/hr{span}{' with ' + ', '.join(caps) if caps else ''}: "
            f"{limits.price_note}")


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What a launch path passes on: the Limits, and the budget's warning line (or None)."""

    limits: Limits | None
    warning: str | None = None


def prepare_launch(executor: Any, backend: str, *, timeout: Any = None, max_cost: Any = None,
                   expected_duration: Any = None, yes: Any = False, count: int = 1, group: str | None = None,
                   group_max_cost: Any = None, dryrun: bool = False, price_timeout: float = 60.0) -> Prepared:
    """Limits for a launch of ``count`` jobs, checked against the budget; nothing recorded.

    Prices only when a cost limit is set, or a budget is set and the job runs on a cloud backend
    (or names cloud resources: a rehearsal on the local backend).

    Raises:
        FieldError: a bad value (timeout, max_cost, expected_duration, yes), or a cost limit with no
            price (one line).
        BudgetConfirmationNeeded: the launch may cost more than the budget has left, or has no
            bound while a budget is set, and ``yes`` is not True.
    """
    if not isinstance(yes, bool):
        raise FieldError("yes", "True or False", yes)
    if not callable(getattr(executor, "to_config", None)):
        raise FieldError("executor", "a SkyExecutor", executor)
    duration = parse_duration(expected_duration, "expected_duration")
    costs = parse_money(max_cost, "max_cost"), parse_money(group_max_cost, "max_cost")  # dry runs refuse typos too
    budget_set = bool(budgets())
    if not dryrun and (budget_set or costs != (None, None)):
        executor.to_config("price")  # a bad field is its own one-line FieldError, not "no price"
    wants_budget = budget_set and not dryrun and _priceable(executor, backend)
    limits = resolve_limits(executor, backend, timeout=timeout, max_cost=None if dryrun else max_cost,
                            group=group, group_max_cost=None if dryrun else group_max_cost,
                            need_price=wants_budget, price_timeout=price_timeout)
    if dryrun:
        return Prepared(None)
    warning = None
    if wants_budget:
        expected = expected_cost(limits, duration, count)
        warning = check_budget(expected, yes=yes, what=_what(limits, duration, count), hourly=limits.hourly)
        if warning:
            warnings.warn(BudgetWarning(warning), stacklevel=3)
    has = limits.any or limits.hourly is not None
    return Prepared(limits if has else None, warning)


def _priceable(executor: Any, backend: str) -> bool:
    """True for a cloud backend, or a local launch naming cloud resources (a rehearsal)."""
    if backend in CLOUD_BACKENDS:
        return True
    try:
        return is_rehearsal(executor.to_config("price"))
    except (TypeError, ValueError):
        return False
