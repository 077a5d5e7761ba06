"""The jobs table's budget line (CSS ``skx-budget``): the spend against the user's budgets.

Shown only while a budget is set (``%config SkyLaunchMagics.budget = {"per_day": 200}``, also
``per_week`` / ``per_month``): the
engine's :class:`~skyexec_nb.engine.budget.user_budget.BudgetStatus` text, e.g. ``Budget · today:
$12.40 spent of $200.00, $187.60 left (estimates)``, an amber warning once over (CSS ``skx-budget-over``).
``budget_status()`` may price jobs (blocking), so it is asked off the kernel's thread
(:class:`~skyexec_nb.views.background_fetch.BackgroundFetch`) every ``every`` seconds.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from skyexec_nb.views.background_fetch import BackgroundFetch
from skyexec_nb.views.limit_notes import warning_html
from skyexec_nb.views.theme import MUTED


def budget_set() -> bool:
    """True when the engine setting ``budget`` has an amount (per day, week or month)."""
    from skyexec_nb.engine.budget.user_budget import budgets

    return bool(budgets())


def _status() -> object:
    from skyexec_nb.engine.api import budget_status

    return budget_status()


class BudgetLine(widgets.HTML):
    """Today's spend and what is left; refreshed by :meth:`tick` (the jobs table's tick).

    Attributes:
        text: the line as shown ('' while no budget is set or no answer came yet).
    """

    def __init__(self, every: float = 10.0) -> None:
        super().__init__(layout=widgets.Layout(width="auto"))
        self.add_class("skx-budget")
        self.text = ""
        self.fetch = BackgroundFetch(_status, every, "budget")
        self._was_set = False
        self.tick()

    def tick(self) -> None:
        """Ask again when due (off this thread); show the answer that came."""
        if not budget_set():
            self._was_set = False
            self._show("", over=False)
            return
        if not self._was_set:  # just set (or changed from nothing): ask now, not in `every` seconds
            self._was_set = True
            self.fetch.ask_soon()
        answer = self.fetch.poll()
        if answer is None:
            if not self.text:
                self._show("Budget · adding up the spend…", over=False)
            return
        if answer.error:
            self._show(f"Budget · could not add up the spend: {answer.error}", over=False)
            return
        status = answer.value
        left = getattr(status, "left", None)
        self._show(f"Budget · {getattr(status, 'text', '')}", over=left is not None and left < 0)

    def _show(self, text: str, over: bool) -> None:
        if text == self.text:
            return
        self.text = text
        (self.add_class if over else self.remove_class)("skx-budget-over")
        self.value = (warning_html(text, tag="span") if over else
                      f'<span style="color:{MUTED}">{html.escape(text)}</span>' if text else "")

    def close(self) -> None:
        self.fetch.close()
        super().close()
