"""Upper bounds of every number the executor, the engine and the magics take.

A number beyond these is a typo or a unit mix-up, never a real request: refusing it at once (one
line naming the bound) beats a MemoryError in a supervisor or a cloud quota error an hour later.
The bounds are generous for SkyPilot today (a 4096-node cluster of 64-GPU machines).
"""
from __future__ import annotations

import re
from typing import Any

MAX_NODES = 4096
MAX_GPUS_PER_NODE = 64
MAX_CPUS = 4096
MAX_MEMORY_GB = 65536
MAX_DISK_GB = 65536
MAX_IDLE_MINUTES = 525600
"""A year of minutes."""
MAX_NPROC_PER_NODE = 1024
MAX_PORT = 65535
MAX_RESTARTS = 10000
"""``job_recovery.max_restarts_on_errors``."""
MAX_PARALLEL = 10000
"""A sweep's ``max_parallel``."""
MAX_JOB_ID = 2**63 - 1
"""SQLite's largest INTEGER: a larger id cannot name a job."""
MAX_NAME_LENGTH = 200
"""A job name (sweeps build names of up to 120 characters)."""

_GB_PER_UNIT = {"k": 2.0**-20, "m": 2.0**-10, "g": 1.0, "t": 2.0**10, "p": 2.0**20}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp][bi]?)?\+?$", re.IGNORECASE)


def is_int(value: Any) -> bool:
    """True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool (NaN and infinities included)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def within(value: Any, low: float, high: float, *, low_open: bool = False) -> bool:
    """True for a number in ``[low, high]`` (``(low, high]`` when ``low_open``).

    NaN and infinities are never within; a huge int is compared exactly (no float overflow).
    """
    if not is_number(value):
        return False
    above = value > low if low_open else value >= low
    return bool(above and value <= high)


def size_in_gb(text: str) -> float | None:
    """``"32"``, ``"32+"``, ``"1TB"``, ``"512Gi"`` -> GB (binary units), or None if not a size."""
    match = _SIZE_RE.match(text.strip())
    if match is None:
        return None
    unit = (match.group(2) or "g")[0].lower()
    return float(match.group(1)) * _GB_PER_UNIT[unit]


def check_max_parallel(value: Any) -> int | None:
    """A sweep's ``max_parallel``: None (unbounded) or an integer in ``1..MAX_PARALLEL``.

    Raises:
        FieldError: anything else (one line naming the range).
    """
    from skyexec_nb.model.errors import FieldError

    if value is None or (is_int(value) and 1 <= value <= MAX_PARALLEL):
        return value
    raise FieldError("max_parallel", f"an integer in 1..{MAX_PARALLEL} (or None: unbounded)", value)
