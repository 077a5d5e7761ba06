"""A sweep's grid values as views may show them: secret-named values masked (by the engine's
``Sweep.shown_values``; plain text for a sweep-like object without it)."""
from __future__ import annotations

from typing import Any


def shown_values(sweep: Any) -> list[dict[str, str]]:
    """Each job's values as text, secret-named ones shown as ``******** <tag>``."""
    shown = getattr(sweep, "shown_values", None)
    return list(shown) if shown is not None else [{k: str(x) for k, x in v.items()} for v in sweep.values]
