"""The picker's notes in words: why Launch is disabled, what is out of date, where a price applies."""
from __future__ import annotations

import html
from typing import Any, Sequence

from skyexec_nb.views.picker_fields import ALL_FIELDS

LOCAL_PRICE_TEXT = "Runs here, on this machine (local backend): no cloud price applies."
#: What the user reads for each field name (the form's labels).
LABELS = {spec.name: spec.label for spec in ALL_FIELDS} | {"env_vars": "Environment variables",
                                                           "file_mounts": "File mounts", "workdir": "Workdir"}


def field_names(invalid: dict[str, str]) -> str:
    """``Ports, Nodes``: the labels of the invalid fields."""
    return ", ".join(LABELS.get(n, n) for n in invalid)


def launch_reason(invalid: dict[str, str], command: str, missing: Sequence[str] = ()) -> str:
    """Why Launch is disabled ('' when it is not); ``missing``: values still to set at launch."""
    if invalid:
        return (f"Launch is disabled: fix {field_names(invalid)} first "
                f"(see the red message{'s' * (len(invalid) > 1)}).")
    if not command.strip():
        return "Launch is disabled: type a command first."
    if missing:
        return f"Launch is disabled: set {', '.join(missing)} first (required at launch)."
    return ""


def yaml_stale(invalid: dict[str, str]) -> str:
    """The preview's "out of date" note ('' while every field is valid)."""
    return f"Out of date: shows the last valid values. Fix {field_names(invalid)} to update it." if invalid else ""


def price_note(backend: str, invalid: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """``(text, CSS classes)`` of the note under the price: the local backend bills nothing; a
    cloud price is out of date while a field is invalid; else nothing."""
    if backend == "local":
        return LOCAL_PRICE_TEXT, ("skx-price-local",)
    if invalid:
        return (f"Out of date: the price is for the last valid values. Fix {field_names(invalid)} to update it.",
                ("skx-price-stale", "skx-stale-marker"))
    return "", ()


def show_price_note(price: Any, note: Any, backend: str, invalid: dict[str, str]) -> None:
    """Write :func:`price_note` into the ``note`` widget; hide ``price`` for the local backend, dim it when stale."""
    local = backend == "local"
    for css in ("skx-price-local", "skx-price-stale", "skx-stale-marker"):
        note.remove_class(css)
    text, css = price_note(backend, invalid)
    for c in css:
        note.add_class(c)
    box = "skx-stale-marker-box" if invalid and not local else "skx-muted"
    note.value = f'<div class="{box}">{html.escape(text)}</div>' if text else ""
    price.layout.display = "none" if local else None
    if invalid and not local:
        price.add_class("skx-is-stale")
    else:
        price.remove_class("skx-is-stale")
