"""Values a task leaves to be set at launch: ``envs`` and ``secrets`` entries with no value.

SkyPilot refuses to run a task whose env has no value (``HF_TOKEN:`` in a YAML means "give it with
``sky launch --env HF_TOKEN``"); a secret with no value is a managed reference SkyPilot resolves,
which only SkyPilot can do. A launch fills both from its ``env`` (``%%skylaunch --env HF_TOKEN``
takes the kernel's value); what is still missing is a one-line error before anything is recorded.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from skyexec_nb.model.errors import FieldError

#: Backends that resolve a secret with no value themselves (SkyPilot's managed secrets).
RESOLVES_SECRETS = frozenset({"skypilot", "jobs"})


def fill_required(config: dict[str, Any], env: Mapping[str, str] | None, backend: str) -> dict[str, Any]:
    """``config`` with its unset envs and secrets filled from ``env``.

    A secret given in ``env`` moves to ``secrets`` (it is not also a plain env).

    Raises:
        FieldError: an env (or, on the local backend, a secret) is still without a value.
    """
    envs = config.get("envs") or {}
    env = {**{k: x for k, x in envs.items() if x is not None}, **(env or {})}
    secrets = config.get("secrets") if isinstance(config.get("secrets"), dict) else {}
    if not any(x is None for x in (*envs.values(), *secrets.values())):
        return config
    config = copy.deepcopy(config)
    envs, secrets = config.get("envs") or {}, config.get("secrets") if isinstance(config.get("secrets"), dict) else {}
    for name in [k for k, x in secrets.items() if x is None and k in env]:
        secrets[name] = env[name]
        if envs.get(name) == env[name]:
            del envs[name]
    missing = [k for k, x in envs.items() if x is None]
    if backend not in RESOLVES_SECRETS:
        missing += [k for k, x in secrets.items() if x is None]
    if missing:
        names = ", ".join(missing)
        raise FieldError("env", f"a value at launch for {names} (the task leaves it unset): "
                                f"env={{'{missing[0]}': ...}} or %%skylaunch --env {missing[0]} "
                                "(the kernel's value)", found=False)
    if "envs" in config and not envs:
        del config["envs"]
    return config
