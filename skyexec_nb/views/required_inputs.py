"""The values a task leaves to be set at launch, asked for in the picker (one input per name).

An env (``env_vars``) or a secret (``secrets``) whose value is None is a required input, as
``sky launch --env HF_TOKEN`` asks for it. Each gets one box (CSS ``skx-required-<NAME>``, class
``skx-required-input``): a secret, or an env whose name looks secret, is a masked ipywidgets
``Password``. The values typed here go to the launch only (as its ``env``): they are never written
into the executor, its record or its YAML preview. The engine keeps them in the job's 0600
secrets file.

CSS classes: ``skx-required`` the box, ``skx-required-row``, ``skx-required-input``, ``skx-required-note``.
"""
from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.model.masking import is_secret_name


def required_names(executor: Any) -> list[tuple[str, bool]]:
    """``[(name, secret), ...]`` of the executor's envs and secrets that have no value (envs first)."""
    envs = getattr(executor, "env_vars", None) or {}
    secrets = getattr(executor, "secrets", None)
    secrets = secrets if isinstance(secrets, dict) else {}
    found = [(name, False) for name, value in envs.items() if value is None and name not in secrets]
    return found + [(name, True) for name, value in secrets.items() if value is None]


class RequiredInputs(widgets.VBox):
    """One input per value the task leaves to be set at launch (hidden when there is none).

    Args:
        executor: the SkyExecutor whose ``env_vars``/``secrets`` are followed.
        on_change: called with no argument when a value is typed or the set of names changes.
    """

    def __init__(self, executor: Any, on_change: Callable[[], None] = lambda: None) -> None:
        self.executor, self.on_change = executor, on_change
        self.inputs: dict[str, widgets.Text] = {}
        self.note = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.note.add_class("skx-required-note")
        self.note.add_class("skx-muted")
        self.rows = widgets.VBox(layout=widgets.Layout(width="auto", min_width="0"))
        super().__init__([self.rows, self.note], layout=widgets.Layout(width="auto", min_width="0"))
        self.add_class("skx-required")
        self.refresh()
        executor.observe(self._names_changed, ["env_vars", "secrets"])

    def refresh(self) -> None:
        """Rebuild the inputs for the names now required (a value already typed is kept)."""
        names = required_names(self.executor)
        typed = {name: box.value for name, box in self.inputs.items()}
        if [(n, isinstance(self.inputs.get(n), widgets.Password)) for n, _ in names] == \
                [(n, isinstance(b, widgets.Password)) for n, b in self.inputs.items()]:
            return
        for box in self.inputs.values():
            box.unobserve(self._typed, "value")
        old_rows = self.rows.children
        self.inputs = {}
        rows = []
        for name, secret in names:
            masked = secret or is_secret_name(name)
            kind = widgets.Password if masked else widgets.Text
            box = kind(value=typed.get(name, ""), placeholder=f"{'secret' if secret else 'env'} {name} (required)",
                       layout=widgets.Layout(width="auto", flex="1 1 10em", min_width="0", max_width="24em"))
            box.add_class("skx-required-input")
            box.add_class(f"skx-required-{name}")
            box.observe(self._typed, "value")
            self.inputs[name] = box
            label = widgets.HTML(f"<code>{html.escape(name)}</code>", layout=widgets.Layout(width="auto", min_width="8em"))
            row = widgets.HBox([label, box], layout=widgets.Layout(width="auto", max_width="32em"))
            row.add_class("skx-required-row")
            rows.append(row)
        self.rows.children = tuple(rows)
        for row in old_rows:
            row.close()
        self.note.value = ("These values go to the job only (never saved in the form, its "
                           "record or the YAML)." if names else "")
        self.on_change()

    @property
    def missing(self) -> list[str]:
        """The required names still without a value, in order."""
        return [name for name, box in self.inputs.items() if not box.value]

    def values(self) -> dict[str, str]:
        """``{name: value}`` typed (given to the launch as its ``env``)."""
        return {name: box.value for name, box in self.inputs.items() if box.value}

    def forget_secrets(self) -> None:
        """Empty the masked inputs (after a launch took them): a widget's value is synced state, and
        a notebook saved with its widget state must not carry a secret."""
        for box in self.inputs.values():
            if isinstance(box, widgets.Password):
                box.value = ""

    def _typed(self, _change: Any) -> None:
        self.on_change()

    def _names_changed(self, _change: Any) -> None:
        self.refresh()

    def unbind(self) -> None:
        """Stop following the executor."""
        self.executor.unobserve(self._names_changed, ["env_vars", "secrets"])
