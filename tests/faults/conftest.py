"""Fixtures of the fault-injection suite: ``no_leftovers`` (every test ends with none of its
processes alive; see ``leftovers.py``)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from leftovers import no_leftovers  # noqa: E402,F401  (a fixture, found by pytest here)
