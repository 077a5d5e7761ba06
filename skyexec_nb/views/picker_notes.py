"""The picker's notes in words: why Launch is disabled, what is out of date, where a price applies."""
from __future__ import annotations

from skyexec_nb.views.picker_fields import ALL_FIELDS

LOCAL_PRICE_TEXT = "Runs here, on this machine (local backend): no cloud price applies."
#: What the user reads for each field name (the form's labels).
LABELS = {spec.name: spec.label for spec in ALL_FIELDS} | {"env_vars": "Environment variables",
                                                           "file_mounts": "File mounts"}


def field_names(invalid: dict[str, str]) -> str:
    """``Ports, Nodes``: the labels of the invalid fields."""
    return ", ".join(LABELS.get(n, n) for n in invalid)


def launch_reason(invalid: dict[str, str], command: str) -> str:
    """Why Launch is disabled ('' when it is not)."""
    if invalid:
        return (f"Launch is disabled: fix {field_names(invalid)} first "
                f"(see the red message{'s' * (len(invalid) > 1)}).")
    if not command.strip():
        return "Launch is disabled: type a command first."
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
