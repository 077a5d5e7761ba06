"""Serialization of the variables a remote Python job takes with it (``--push``, function args).

Each variable is pickled on its own with cloudpickle (notebook-defined functions and classes
travel by value) into one file of the job's bundle, with the size limit of
``get_settings().max_payload_mb`` enforced while writing, so nothing is launched or recorded when a
variable is refused. The file format lives in :mod:`skyexec_nb.engine.remote_runner` (shipped to
the node, which reads it back).
"""
from __future__ import annotations

import keyword
from pathlib import Path
from typing import Any, Iterable, Mapping

from skyexec_nb.engine.backends.base import one_line
from skyexec_nb.engine.remote_runner import TooLarge, ValueWriteError, read_values, write_values
from skyexec_nb.model.errors import SkyExecError

MB = 1024 * 1024
_INSTEAD = "save it to a file and ship it with file_mounts (or a bucket), then load it in the job"


class PayloadError(SkyExecError, ValueError):
    """A variable cannot travel with the job (not serializable, too large, or not defined)."""


def check_names(names: Iterable[str], option: str = "--push") -> list[str]:
    """Validate variable names (identifiers, no duplicates); returns them as a list.

    Raises:
        PayloadError: one line naming the bad name.
    """
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise PayloadError(f"Invalid {option}: Python variable names. Found: {name!r}")
        if name not in out:
            out.append(name)
    return out


def pick(namespace: Mapping[str, Any], names: Iterable[str], option: str = "--push") -> dict[str, Any]:
    """The ``names`` taken from ``namespace`` (the user's), refusing one that is not defined."""
    values: dict[str, Any] = {}
    for name in check_names(names, option):
        if name not in namespace:
            raise PayloadError(f"{option} {name}: no variable named {name!r} is defined in the notebook")
        values[name] = namespace[name]
    return values


def limit_bytes(limit_mb: float | None = None) -> int:
    """The payload limit in bytes (``max_payload_mb`` from the settings when not given)."""
    if limit_mb is None:
        from skyexec_nb.engine.settings import get_settings

        limit_mb = get_settings().max_payload_mb
    return int(limit_mb * MB)


def write_payload(path: Path | str, values: Mapping[str, Any], *, limit_mb: float | None = None,
                  option: str = "--push", labels: Mapping[str, str] | None = None) -> dict[str, int]:
    """Serialize ``values`` into ``path`` (nothing left on failure); returns {name: bytes}.

    Args:
        path: The payload file.
        values: {name: value}.
        limit_mb: Size limit (default ``settings.max_payload_mb``).
        option: How errors name a variable: ``"<option> <name>"``...
        labels: ...unless ``labels[name]`` gives its description.

    Raises:
        PayloadError: one line naming the variable that cannot be serialized or that takes the
            payload over the limit, and what to do instead (file_mounts or a bucket).
    """
    limit = limit_bytes(limit_mb)
    try:
        return write_values(str(path), values, limit=limit)
    except ValueWriteError as err:
        what = (labels or {}).get(err.name) or f"{option} {err.name}"
        if isinstance(err.exc, TooLarge):
            raise PayloadError(f"{what}: too large, the payload passes max_payload_mb={limit / MB:g}; "
                               f"{_INSTEAD}") from None
        raise PayloadError(f"{what}: cannot be serialized ({one_line(err.exc, 160)}); {_INSTEAD}") from None


def read_payload(path: Path | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(meta, values)`` of a file written by :func:`write_payload` or by the remote runner."""
    return read_values(str(path))
