"""Editable key/value rows bound to a dict trait (``env_vars``, ``file_mounts``), masking secrets.

Each row is a key Text, a value Text and a remove button; "Add" appends an empty row. Values
commit on Enter or when the field loses focus (``continuous_update=False``). A value whose key
looks secret (:func:`is_secret_name`) is never shown once committed: the value box is emptied and
its placeholder says the value is hidden; the real value stays in Python and goes to the job.
Typing a new value replaces it; leaving the box empty keeps it. A value of None (a task YAML's
``HF_TOKEN:``, set at launch) stays None until a value is typed; its placeholder says so.
"""
from __future__ import annotations

import html
from typing import Callable

import ipywidgets as widgets
from traitlets import HasTraits

from skyexec_nb.model.masking import is_secret_name
from skyexec_nb.views.picker_fields import assign_showing_error, error_html

HIDDEN_PLACEHOLDER = "******** (hidden; type to replace)"
SET_AT_LAUNCH = "(no value: set at launch)"


class KVRow(widgets.HBox):
    """One key/value pair; ``real_value`` is the value sent to the job, whatever is displayed."""

    def __init__(self, key: str, value: str | None, on_change: Callable[[], None], on_remove: Callable[["KVRow"], None],
                 key_placeholder: str = "NAME", value_placeholder: str = "value", mask_secrets: bool = True) -> None:
        self.mask_secrets = mask_secrets
        self.key = widgets.Text(value=key, placeholder=key_placeholder, continuous_update=False,
                                layout=widgets.Layout(width="auto", flex="2 1 6em", min_width="0"))
        self.value = widgets.Text(placeholder=value_placeholder, continuous_update=False,
                                  layout=widgets.Layout(width="auto", flex="3 1 8em", min_width="0"))
        self.key.add_class("skx-kv-key")
        self.value.add_class("skx-kv-value")
        self.remove_button = widgets.Button(description="", icon="times", tooltip="Remove", layout=widgets.Layout(width="2.5em"))
        self.remove_button.add_class("skx-kv-remove")
        self._value_placeholder = value_placeholder
        self._on_change = on_change
        self.real_value = value
        self._mask_or_show()
        self.key.observe(self._key_changed, "value")
        self.value.observe(self._value_changed, "value")
        self.remove_button.on_click(lambda _: on_remove(self))
        super().__init__([self.key, self.value, self.remove_button], layout=widgets.Layout(width="100%", max_width="32em"))
        self.add_class("skx-kv-row")

    @property
    def hidden(self) -> bool:
        """True when the value is a secret kept out of the form."""
        return self.mask_secrets and bool(self.real_value) and is_secret_name(self.key.value)

    def _mask_or_show(self) -> None:
        if self.hidden:
            self.value.placeholder = HIDDEN_PLACEHOLDER
            self.value.value = ""
        else:
            self.value.placeholder = SET_AT_LAUNCH if self.real_value is None else self._value_placeholder
            self.value.value = self.real_value or ""

    def _value_changed(self, change: dict) -> None:
        if change["new"] or not (self.hidden or self.real_value is None):  # empty text keeps a hidden secret or an unset value
            self.real_value = change["new"]
        if self.hidden and change["new"]:
            self._mask_or_show()
        self._on_change()

    def _key_changed(self, _change: dict) -> None:
        self._mask_or_show()  # a key turning secret hides its value; one turning plain shows it
        self._on_change()


class KeyValueRows(widgets.VBox):
    """Rows editing the dict trait ``name`` of ``model`` (CSS ``skx-kv`` and ``skx-kv-<name>``).

    Rows with an empty key are ignored. The model validates the whole dict on assignment; its
    message goes to ``error`` (CSS ``skx-field-error``) and the model keeps its last valid dict.
    """

    def __init__(self, model: HasTraits, name: str, label: str, on_validity: Callable[[], None] = lambda: None,
                 key_placeholder: str = "NAME", value_placeholder: str = "value", mask_secrets: bool = True,
                 show_title: bool = True) -> None:
        self.model, self.name = model, name
        self.mask_secrets = mask_secrets
        self.on_validity = on_validity
        self._placeholders = (key_placeholder, value_placeholder)
        self.rows_box = widgets.VBox()
        self.add_button = widgets.Button(description="Add", icon="plus",
                                         layout=widgets.Layout(width="auto", align_self="flex-start"))
        self.add_button.add_class("skx-kv-add")
        self.add_button.on_click(lambda _: self.add_row())
        self.error_label = widgets.HTML()
        self.error_label.add_class("skx-field-error")
        self.error = ""
        self._writing = False
        title = [widgets.HTML(f"<b>{html.escape(label)}</b>")] if show_title else []
        super().__init__([*title, self.rows_box, self.add_button, self.error_label])
        self.add_class("skx-kv")
        self.add_class(f"skx-kv-{name.replace('_', '-')}")
        self._rebuild(getattr(model, name))
        model.observe(self._from_model, name)

    @property
    def rows(self) -> list[KVRow]:
        """The rows shown."""
        return list(self.rows_box.children)

    def add_row(self, key: str = "", value: str | None = "") -> KVRow:
        """Append a row (an empty one from the "Add" button)."""
        row = KVRow(key, value, self._commit, self._remove, *self._placeholders, mask_secrets=self.mask_secrets)
        self.rows_box.children = (*self.rows_box.children, row)
        return row

    def as_dict(self) -> dict[str, str | None]:
        """The real (unmasked) pairs of the rows with a key (None: no value, set at launch)."""
        return {r.key.value.strip(): r.real_value for r in self.rows if r.key.value.strip()}

    def _remove(self, row: KVRow) -> None:
        self.rows_box.children = tuple(r for r in self.rows_box.children if r is not row)
        row.close()
        self._commit()

    def _commit(self) -> None:
        assign_showing_error(self, self._write_model)

    def _write_model(self) -> None:
        current = getattr(self.model, self.name) or {}
        new = self.as_dict()
        if new != current and (new or current):
            setattr(self.model, self.name, new)

    def _from_model(self, change: dict) -> None:
        if not self._writing:
            self._rebuild(change["new"])
            self._set_error("")

    def _rebuild(self, mapping: dict | None) -> None:
        for row in self.rows:
            row.close()
        self.rows_box.children = ()
        for key, value in (mapping or {}).items():
            self.add_row(str(key), None if value is None else str(value))

    def _set_error(self, message: str) -> None:
        if message != self.error:
            self.error = message
            self.error_label.value = error_html(message)
            self.on_validity()

    def reset(self) -> None:
        """Show the model's dict again and clear the error."""
        self._rebuild(getattr(self.model, self.name))
        self._set_error("")

    def unbind(self) -> None:
        """Stop following the model."""
        self.model.unobserve(self._from_model, self.name)
