"""``%%skylaunch`` spend options: a time limit, a cost limit, the expected duration; their refusals.

Pure helpers the magic calls (it only parses and dispatches)::

    @spend_args                        # --timeout --max-cost --max-cost-each --expect
    def skylaunch(self, line, cell):
        spend = spend_options(args, sweep=bool(remote.grid))   # UsageError (one line) on bad input
        api.launch(executor, cell, **spend.launch_kwargs(yes=args.yes))

Values are read with :mod:`skyexec_nb.model.spend_limits` (``2h``, ``1h30m``, ``$50``); a bad one
is the model's one-line error with the option's name (``Invalid --timeout: a duration like 90m,
2h or 1h30m (1 s to 30 days). Found: '-1h'``). Nothing is launched or recorded then.
The engine's refusals that are not bad input (over today's budget, no price to check a cost
limit against) are one printed line: :func:`refusal_text` tells them apart.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, argument_group

F = TypeVar("F", bound=Callable[..., Any])

#: Engine field name -> the option that sets it (to name the option in the engine's errors).
OPTION_OF_LIMIT: dict[str, str] = {"timeout": "--timeout", "max_cost": "--max-cost",
                                   "max_cost_each": "--max-cost-each", "expected_duration": "--expect",
                                   "group_max_cost": "--max-cost"}

_ARGUMENTS = [
    argument_group("Spend limits (enforced by the job's supervisor, also with the kernel gone)"),
    argument("--timeout", default=None, metavar="DURATION",
             help="time limit of the job, e.g. 90m, 2h or 1h30m: then it is cancelled and a cluster "
                  "launched for it torn down"),
    argument("--max-cost", dest="max_cost", default=None, metavar="DOLLARS",
             help="cost limit in dollars, estimated from the catalog price x nodes x time (warning at 80%%, "
                  "cancel at 100%%); with --sweep, the total of all its jobs"),
    argument("--max-cost-each", dest="max_cost_each", default=None, metavar="DOLLARS",
             help="with --sweep: cost limit of each job"),
    argument("--expect", default=None, metavar="DURATION",
             help="how long the job should take, for the budget check (default: --timeout)"),
]


def spend_args(func: F) -> F:
    """Decorator adding the spend options to a ``magic_arguments`` magic."""
    for deco in reversed(_ARGUMENTS):
        func = deco(func)
    return func


@dataclass(frozen=True)
class SpendOptions:
    """The parsed spend options of one ``%%skylaunch`` (seconds and dollars; None = not given)."""

    timeout: float | None = None
    max_cost: float | None = None
    max_cost_each: float | None = None
    expected: float | None = None

    @property
    def any(self) -> bool:
        """True when a limit or an expected duration was given."""
        return any(v is not None for v in (self.timeout, self.max_cost, self.max_cost_each, self.expected))

    def launch_kwargs(self, yes: bool = False) -> dict[str, Any]:
        """Keywords of ``api.launch`` for these options (only those given, and ``yes`` when set)."""
        given = {"timeout": self.timeout, "max_cost": self.max_cost, "expected_duration": self.expected}
        return {**{k: v for k, v in given.items() if v is not None}, **({"yes": True} if yes else {})}

    def sweep_kwargs(self) -> dict[str, Any]:
        """Keywords of ``api.sweep``: ``max_cost`` is the sweep's total, ``max_cost_each`` per job
        (its ``yes`` comes with the sweep's own options)."""
        given = {"timeout": self.timeout, "max_cost": self.max_cost, "max_cost_each": self.max_cost_each,
                 "expected_duration": self.expected}
        return {k: v for k, v in given.items() if v is not None}


def _parsed(parse: Callable[[object, str], float | None], option: str, text: str | None) -> float | None:
    from skyexec_nb.model.errors import FieldError

    try:
        return parse(text, option)
    except FieldError as exc:
        raise UsageError(str(exc)) from None


def spend_options(args: argparse.Namespace, *, sweep: bool = False) -> SpendOptions:
    """The validated spend options of ``args`` (UsageError, one line, naming the option)."""
    from skyexec_nb.model.spend_limits import parse_duration, parse_money

    opts = SpendOptions(timeout=_parsed(parse_duration, "--timeout", args.timeout),
                        max_cost=_parsed(parse_money, "--max-cost", args.max_cost),
                        max_cost_each=_parsed(parse_money, "--max-cost-each", args.max_cost_each),
                        expected=_parsed(parse_duration, "--expect", args.expect))
    if opts.max_cost_each is not None and not sweep:
        raise UsageError("--max-cost-each needs --sweep (the cost limit of one job is --max-cost)")
    return opts


def refusal_text(exc: BaseException) -> str | None:
    """The one line to print when ``exc`` is a refusal that is not a typo: a launch over today's
    budget (``BudgetConfirmationNeeded``: its own words, ending "Confirm with --yes …"), or a cost
    limit with no price to measure it by (``PriceUnavailable``, or the engine's ``max_cost`` refusal
    "no catalog price: …"); None for any other error (the magic's UsageError then)."""
    from skyexec_nb.engine.budget.launching import NO_PRICE_ALLOWED
    from skyexec_nb.engine.budget.prices import PriceUnavailable
    from skyexec_nb.engine.budget.user_budget import BudgetConfirmationNeeded
    from skyexec_nb.model.errors import FieldError

    if isinstance(exc, BudgetConfirmationNeeded):
        return " ".join(str(exc).split())
    if isinstance(exc, PriceUnavailable):
        return f"Nothing launched: no price to measure the cost limit by: {' '.join(str(exc).split())}"
    if isinstance(exc, FieldError) and exc.allowed.startswith(NO_PRICE_ALLOWED.split("{")[0]):
        return f"Nothing launched: {option_message(exc)}"
    return None


def option_message(exc: BaseException) -> str:
    """The engine's one-line error with a limit's field named as its option (``Invalid --max-cost: …``)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    field = getattr(exc, "field", None)
    if field in OPTION_OF_LIMIT:
        message = message.replace(f"Invalid {field}", f"Invalid {OPTION_OF_LIMIT[field]}", 1)
    return message


def autostop_line(launched: Any) -> str | None:
    """The engine's warning for a SkyPilot launch whose cluster has no autostop (None otherwise);
    for a sweep, its first job's (every job of a sweep has the same options)."""
    jobs = getattr(launched, "jobs", None)
    first = jobs[0] if jobs else launched
    backend = getattr(first, "backend", None)
    if backend is None:
        return None
    from skyexec_nb.engine.api import autostop_warning

    return autostop_warning(first, backend)
