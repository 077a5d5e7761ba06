"""The picker's spend limits: "Time limit" and "Max cost ($)" fields, and "Launch anyway".

CSS classes: ``skx-field-timeout`` and ``skx-field-max-cost`` (text inputs, in the picker's grid),
``skx-field-error`` under each (the one-line error of :mod:`skyexec_nb.model.spend_limits`, e.g.
``Invalid timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: '-2h'``), and
``skx-launch-anyway`` on the Launch button while it reads "Launch anyway".

:class:`LimitFields` parses what is typed (nothing is launched here); the picker passes
:meth:`LimitFields.launch_kwargs` to ``engine.api.launch``. :class:`BudgetConfirm` is the state
after the API refused a launch over the budget (``BudgetConfirmationNeeded``): the reason
shows under the button, Launch reads "Launch anyway", and the next click calls the API with
``yes=True``; any change to the form turns it back.
"""
from __future__ import annotations

import html
import threading
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.spend_limits import format_duration_short, format_money, parse_duration, parse_money
from skyexec_nb.views.limit_notes import warning_html
from skyexec_nb.views.picker_fields import error_html, error_label
from skyexec_nb.views.theme import ERROR

#: Field name -> (label the user reads, CSS suffix, placeholder).
LIMIT_FIELDS = {"timeout": ("Time limit", "timeout", "e.g. 2h or 1h30m (empty: no limit)"),
                "max_cost": ("Max cost ($)", "max-cost", "e.g. 50, dollars (empty: no limit)")}
ANYWAY = "Launch anyway"


class LimitFields:
    """The two limit inputs (``fields["timeout"]``, ``fields["max_cost"]``) and their errors (``error_labels``);
    the picker's ``limits``.

    Args:
        on_change: called with no argument after each edit (the picker re-checks Launch).
    """

    def __init__(self, on_change: Callable[[], None], warm: Callable[[], Any] | None = None) -> None:
        self.on_change, self.warm = on_change, warm
        self.fields: dict[str, widgets.Text] = {}
        self.error_labels: dict[str, widgets.HTML] = {}
        self.values: dict[str, float | None] = {"timeout": None, "max_cost": None}
        self.errors: dict[str, str] = {}
        for name, (_, css, placeholder) in LIMIT_FIELDS.items():
            box = widgets.Text(placeholder=placeholder, layout=widgets.Layout(width="auto", max_width="16em"))
            box.add_class(f"skx-field-{css}")
            box.observe(lambda change, name=name: self._edited(name, change["new"]), "value")
            self.fields[name], self.error_labels[name] = box, error_label()

    def rows(self) -> list[tuple[str, widgets.Widget]]:
        """``(label, field)`` rows for the picker's grid (the input with its error under it)."""
        return [(label, widgets.VBox([self.fields[name], self.error_labels[name]],
                                     layout=widgets.Layout(width="auto", max_width="48em", min_width="0")))
                for name, (label, _, _) in LIMIT_FIELDS.items()]

    def _edited(self, name: str, text: str) -> None:
        parse = parse_duration if name == "timeout" else parse_money
        try:
            self.values[name] = parse(text, name)
        except FieldError as exc:
            self.values[name] = None
            self.errors[name] = str(exc)
        else:
            self.errors.pop(name, None)
        self.error_labels[name].value = error_html(self.errors.get(name, ""))
        if name == "max_cost" and self.values[name] is not None and self.warm is not None:
            self.warm()  # the launch will need the price: ask for it now, off the kernel's thread
        self.on_change()

    @property
    def invalid(self) -> dict[str, str]:
        """``{label: message}`` of each limit field whose text is not a limit (keys as the user reads them)."""
        return {LIMIT_FIELDS[name][0]: message for name, message in self.errors.items()}

    def launch_kwargs(self) -> dict[str, float]:
        """``timeout`` (seconds) and ``max_cost`` (dollars) for ``api.launch``, only those set."""
        return {name: value for name, value in self.values.items() if value is not None}

    def record_fields(self) -> dict[str, str]:
        """What the saved record lists: ``{"time limit": "2h", "max cost": "$50.00"}`` (only those set)."""
        out = {}
        if self.values["timeout"] is not None:
            out["time limit"] = format_duration_short(self.values["timeout"])
        if self.values["max_cost"] is not None:
            out["max cost"] = format_money(self.values["max_cost"])
        return out

    def close(self) -> None:
        for widget in [*self.fields.values(), *self.error_labels.values()]:
            widget.close()


_warming = threading.Lock()


def warm_price(executor: Any, backend: str) -> threading.Thread | None:
    """Look up the price a cost limit will need, in a daemon thread (the engine caches the answer),
    so that clicking Launch does not wait for the price worker's first ``import sky``. One at a
    time; a failure is left for the launch to say."""
    if not _warming.acquire(blocking=False):
        return None

    def run() -> None:
        try:
            from skyexec_nb.engine.budget.prices import hourly_price

            hourly_price(executor, backend)
        except Exception:  # noqa: BLE001 - the launch reports it in one line
            pass
        finally:
            _warming.release()

    thread = threading.Thread(target=run, name="skyexec-nb-price-warm", daemon=True)
    thread.start()
    return thread


def is_budget_refusal(exc: BaseException) -> bool:
    """True for the API's ``BudgetConfirmationNeeded`` (a launch over what the budget has left)."""
    try:
        from skyexec_nb.engine.budget.user_budget import BudgetConfirmationNeeded
    except ImportError:  # pragma: no cover - an engine without budgets never asks
        return False
    return isinstance(exc, BudgetConfirmationNeeded)


class BudgetConfirm:
    """"Launch anyway": armed by a budget refusal, disarmed by any change to the form.

    Args:
        button: the picker's Launch button.
        message: the picker's launch message line (the refusal goes there, in amber).
    """

    def __init__(self, button: widgets.Button, message: widgets.HTML) -> None:
        self.button, self.message = button, message
        self.armed = False

    def arm(self, reason: str) -> None:
        """Show the refusal's one line and turn Launch into "Launch anyway"."""
        self.armed = True
        self.message.value = warning_html(" ".join(reason.split()), "skx-budget-refusal")
        self.show()

    def show(self) -> None:
        """Label the button as the state says (the picker calls this whenever it re-checks Launch)."""
        if self.armed:
            self.button.description, self.button.button_style = ANYWAY, "warning"
            self.button.add_class("skx-launch-anyway")
            self.button.tooltip = "Launch although it may cost more than the budget has left"
        else:
            self.button.button_style = "primary"
            self.button.remove_class("skx-launch-anyway")

    def reset(self) -> None:
        """Back to a plain Launch (the form changed: the next launch is checked again)."""
        if self.armed:
            self.armed = False
            self.message.value = ""
        self.show()

    def launched(self, job: Any) -> str:
        """Disarm after a launch; the message line's HTML: "Launched job N (name).", then a warning
        when the job's SkyPilot cluster has no autostop."""
        self.reset()
        return f"Launched job {html.escape(str(job.id))} ({html.escape(str(job.name))})." + autostop_note(job)


def autostop_note(job: Any) -> str:
    """The API's warning for a SkyPilot job whose cluster has no autostop, as amber HTML ('' when none)."""
    from skyexec_nb.engine.api import autostop_warning

    try:
        text = autostop_warning(job, getattr(job, "backend", None))
    except Exception:  # a warning must never break the launch that succeeded
        text = None
    return warning_html(text or "", "skx-autostop-warning")


def launch_or_explain(picker: Any) -> Any:
    """``engine.api.launch`` with the picker's form (``yes=True`` when "Launch anyway" was clicked).

    Returns the job, or None after showing why not: a budget refusal arms "Launch anyway"; any
    other refusal (FieldError, a backend's precheck, no price for a cost limit) is the red
    "Launch failed: …" line.
    """
    from skyexec_nb.engine import api

    confirm: BudgetConfirm = picker.budget_confirm
    try:
        return api.launch(picker.executor, picker.command.value, backend=picker.backend.value, name=picker.job_name(),
                          env=picker.required.values() or None, **picker.limits.launch_kwargs(),
                          **({"yes": True} if confirm.armed else {}))
    except Exception as exc:  # the user reads why
        if is_budget_refusal(exc):
            confirm.arm(str(exc))
            return None
        confirm.reset()
        picker.launch_message.value = (f'<span style="color:{ERROR};font-weight:600">Launch failed: '
                                       f"{html.escape(str(exc))}</span>")
        return None
