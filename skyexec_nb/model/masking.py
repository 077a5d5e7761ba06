"""Hide secret values (API keys, tokens, passwords) before anything is displayed, logged or stored.

A value is secret when its environment variable's name looks secret (:func:`is_secret_name`) or
when it sits in a SkyPilot task's ``secrets:`` section. :func:`split_secrets` takes a task config
apart into what may be stored (secret values replaced by :data:`MASK`) and the secret values
themselves (which the engine keeps only in a 0600 file in the job's directory).
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import os
import re
from typing import Any, Mapping

MASK = "********"
_SECRET_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_UPPER_NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\s*[=:]\s*|\s+)")
_PLACEHOLDERS = frozenset({"KEY", "KEYS", "NAME", "VALUE"})  # "KEY=VALUE" in a message names no variable
_TAG_KEY = os.urandom(16)  # never stored: tags cannot be traced back to values outside this process


def is_secret_name(name: str) -> bool:
    """True when a variable name looks like it holds a secret (KEY, TOKEN, SECRET, PASSWORD)."""
    return bool(_SECRET_RE.search(str(name)))


def mask_env(env: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``env`` whose secret-named values are replaced by ``'********'``."""
    return {k: (MASK if is_secret_name(k) and val is not None else val) for k, val in (env or {}).items()}


def mask_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a SkyPilot task config with ``envs`` and ``secrets`` values masked."""
    masked = copy.deepcopy(dict(config))
    if isinstance(masked.get("envs"), Mapping):
        masked["envs"] = mask_env(masked["envs"])
    if isinstance(masked.get("secrets"), Mapping):
        masked["secrets"] = {k: (MASK if val is not None else None) for k, val in masked["secrets"].items()}
    return masked


def split_secrets(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(stored, values)``: the config as it may be stored, and the secret values taken out.

    ``values`` maps each secret name to its value: secret-named ``envs`` entries and every
    ``secrets:`` entry with a value (a null ``secrets:`` entry is a reference SkyPilot resolves
    itself, not a value). ``stored`` is :func:`mask_config` of ``config``: the same keys, each
    secret value replaced by :data:`MASK`.
    """
    values: dict[str, str] = {}
    for section, pick in (("envs", is_secret_name), ("secrets", lambda _name: True)):
        entries = config.get(section)
        if isinstance(entries, Mapping):
            values.update({str(k): str(v) for k, v in entries.items() if v is not None and pick(k)})
    return mask_config(config), values


def secret_tag(value: Any, length: int = 6) -> str:
    """A short tag telling secret values apart (e.g. in sweep job names) without revealing them.

    A keyed hash whose key lives only in this process: the same value gets the same tag within
    one session, and the tag says nothing about the value.
    """
    digest = hmac.new(_TAG_KEY, str(value).encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    return digest[:length]


def mask_shown(value: Any, context: str = "") -> Any:
    """``value`` as an error message may echo it, secrets masked.

    Mappings get their secret-named values masked (recursively), ``NAME=value`` text with a
    secret name becomes ``NAME=********``, and any value is masked outright when ``context``
    (e.g. an error's "a string value for API_KEY") names a secret variable in capitals.
    """
    words = _UPPER_NAME.findall(context)
    if any(word.isupper() and word not in _PLACEHOLDERS and is_secret_name(word) for word in words):
        return MASK if value is not None else None
    if isinstance(value, Mapping):
        return {k: (MASK if is_secret_name(k) and v is not None else mask_shown(v)) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(mask_shown(v) for v in value)
    if isinstance(value, str):
        found = _ASSIGNMENT.match(value)
        if found and is_secret_name(found.group(1)):
            return value[: found.end()] + MASK
    return value
