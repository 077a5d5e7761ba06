"""Hide secret values (API keys, tokens, passwords) before anything is displayed or logged."""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping

MASK = "********"
_SECRET_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


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
