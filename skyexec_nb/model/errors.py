"""Typed, one-line errors of the executor model."""
from __future__ import annotations

from typing import Any

from traitlets import TraitError

from skyexec_nb.model.masking import mask_shown


class SkyExecError(Exception):
    """Base class of every error skyexec_nb raises on purpose."""


class FieldError(SkyExecError, ValueError, TraitError):
    """A field of the executor got a value it does not accept.

    Derives from ValueError (for callers) and TraitError (so traitlets validation,
    links and widgets treat it as a rejected assignment). The message is one line:
    ``Invalid <field>: <what is allowed>. Found: <value!r>``.
    """

    def __init__(self, field: str, allowed: str, value: Any = None, *, found: bool = True) -> None:
        self.field = field
        self.allowed = allowed
        self.value = value
        msg = f"Invalid {field}: {allowed}"
        if found:
            msg += f". Found: {mask_shown(value, f'{field} {allowed}')!r}"  # never echo a secret
        super().__init__(msg)


class AppIdError(SkyExecError, ValueError):
    """An app id is not of the form ``experiment___cluster___task___jobid``."""
