"""Parsers of the executor fields made of several items: ports, file mounts, mappings,
environment variables and managed-job recovery.

Same contract as :mod:`skyexec_nb.model.validation` (which re-exports them):
``parse(value, field) -> value`` or a one-line :class:`~skyexec_nb.model.errors.FieldError`.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.limits import MAX_PORT, MAX_RESTARTS, is_int, is_number

JOB_RECOVERY_STRATEGIES: tuple[str, ...] = ("FAILOVER", "EAGER_NEXT_REGION")
JOB_RECOVERY_KEYS: tuple[str, ...] = ("strategy", "max_restarts_on_errors", "recover_on_exit_codes")

_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _parse_port(item: Any, field: str) -> int | str:
    allowed = f"ports 1-{MAX_PORT} or ranges 'LOW-HIGH' (a list, or a comma-separated string)"
    if is_int(item) and 1 <= item <= MAX_PORT:
        return item
    text = item.strip() if isinstance(item, str) and len(item) < 100 else ""
    if text.isdigit() and 1 <= int(text) <= MAX_PORT:
        return int(text)
    low, dash, high = text.partition("-")
    if dash and low.strip().isdigit() and high.strip().isdigit():
        a, b = int(low), int(high)
        if 1 <= a <= b <= MAX_PORT:
            return f"{a}-{b}"
    raise FieldError(field, allowed, item)


def parse_ports(value: Any, field: str = "ports") -> list[int | str] | None:
    """Ports opened on every candidate: ``8888``, ``"8888, 8000-8010"`` or a list/tuple."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    elif is_int(value):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise FieldError(field, "a port, a 'LOW-HIGH' range, or a list of them", value)
    ports: list[int | str] = []
    for item in value:
        port = _parse_port(item, field)
        if port not in ports:
            ports.append(port)
    return ports or None


def _str_keyed_dict(value: Any, field: str, allowed: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
        raise FieldError(field, allowed, value)
    return copy.deepcopy(dict(value))


def parse_file_mounts(value: Any, field: str = "file_mounts") -> dict[str, Any] | None:
    """``{remote_path: local path | cloud URI | storage dict}``."""
    allowed = "a dict {remote path: local path, cloud URI or SkyPilot storage dict}"
    mounts = _str_keyed_dict(value, field, allowed)
    for src in mounts.values():
        if not ((isinstance(src, str) and src.strip()) or isinstance(src, dict)):
            raise FieldError(field, allowed, value)
    return mounts or None


def parse_mapping(value: Any, field: str) -> dict[str, Any] | None:
    """A dict with string keys (cluster_config_overrides); empty means unset."""
    return _str_keyed_dict(value, field, "a dict with string keys") or None


def is_env_name(name: Any) -> bool:
    """True for a valid environment variable name (letters, digits, '_'; not starting with a digit)."""
    return isinstance(name, str) and _ENV_RE.fullmatch(name) is not None


def parse_env_vars(value: Any, field: str = "env_vars", unset_ok: bool = False) -> dict[str, Any]:
    """``{NAME: value}``: names as in the shell, values strings (numbers are converted).

    With ``unset_ok`` a value may be None: SkyPilot's "set at launch" (``HF_TOKEN:`` in a task
    YAML), which a launch must fill (``--env HF_TOKEN``) before anything runs.
    """
    if value is None:
        return {}
    envs = _str_keyed_dict(value, field, "a dict {NAME: string value}")
    for name, val in envs.items():
        if not is_env_name(name):
            raise FieldError(field, "names of letters, digits and _, not starting with a digit", name)
        if val is None and unset_ok:
            continue
        if not (isinstance(val, str) or (is_number(val) and val == val and abs(val) != float("inf"))):
            raise FieldError(field, f"a string (or finite number) value for {name}", val)
        envs[name] = str(val)
    return envs


def parse_task_env_vars(value: Any, field: str = "env_vars") -> dict[str, Any]:
    """An executor's envs: values may be None ("set at launch")."""
    return parse_env_vars(value, field, unset_ok=True)


def parse_secrets(value: Any, field: str = "secrets") -> dict[str, Any] | None:
    """SkyPilot's inline ``secrets:`` ``{NAME: value or None (set at launch)}``; empty means unset."""
    return parse_env_vars(value, field, unset_ok=True) or None


def parse_storage_mounts(value: Any, field: str = "storage_mounts") -> dict[str, dict[str, Any]] | None:
    """NeMo-Run's ``storage_mounts``: ``{remote path: SkyPilot storage dict}`` (a file mount whose
    source is a bucket spec: ``{source: s3://..., mode: MOUNT}`` or ``{name: ..., store: gcs}``)."""
    allowed = "a dict {remote path: SkyPilot storage dict (source/name, store, mode)}"
    mounts = _str_keyed_dict(value, field, allowed)
    for spec in mounts.values():
        if not isinstance(spec, dict) or not ({"source", "name"} & set(spec)):
            raise FieldError(field, allowed, value)
    return mounts or None


def _exit_codes(value: Any) -> bool:
    codes = value if isinstance(value, list) else [value]
    return len(set(map(repr, codes))) == len(codes) and all(is_int(c) and 0 <= c <= 255 for c in codes)


def parse_job_recovery(value: Any, field: str = "job_recovery") -> str | dict[str, Any]:
    """A strategy name or ``{strategy, max_restarts_on_errors, recover_on_exit_codes}``."""
    allowed = (f"a strategy ({', '.join(JOB_RECOVERY_STRATEGIES)}) or a dict with keys "
               f"{', '.join(JOB_RECOVERY_KEYS)} (max_restarts_on_errors 0..{MAX_RESTARTS})")
    known = {s.lower(): s for s in JOB_RECOVERY_STRATEGIES}
    if isinstance(value, str):
        if value.strip().lower() not in known:
            raise FieldError(field, allowed, value)
        return known[value.strip().lower()]
    spec = _str_keyed_dict(value, field, allowed)
    strategy = spec.get("strategy")
    restarts = spec.get("max_restarts_on_errors", 0)
    ok = (set(spec) <= set(JOB_RECOVERY_KEYS) and is_int(restarts) and 0 <= restarts <= MAX_RESTARTS
          and (strategy is None or (isinstance(strategy, str) and strategy.strip().lower() in known))
          and ("recover_on_exit_codes" not in spec or _exit_codes(spec["recover_on_exit_codes"])))
    if not ok:
        raise FieldError(field, allowed, value)
    if strategy is not None:
        spec["strategy"] = known[strategy.strip().lower()]
    return spec
