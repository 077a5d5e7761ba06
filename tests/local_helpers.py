"""Helpers for the engine's local-backend tests: wait on conditions, check process groups."""
from __future__ import annotations

import os
import time
from typing import Callable

from skyexec_nb.engine.jobs.procs import group_alive


def wait_for(cond: Callable[[], object], timeout: float = 60.0, interval: float = 0.02) -> object:
    """Poll ``cond`` until truthy; fail the test after ``timeout`` seconds (generous: a loaded 2-core
    CI machine starts a supervisor in seconds; a passing wait returns as soon as ``cond`` holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {cond}")


def groups_gone(pgids: list[int]) -> bool:
    """True when no process of any of these groups is left."""
    return not any(group_alive(p) for p in pgids)


def env_for_child(home: str) -> dict[str, str]:
    """The environment for a second Python process sharing this test's state dir."""
    return dict(os.environ, SKYEXEC_NB_HOME=home)
