"""Helpers for the engine's local-backend tests: wait on conditions, check process groups."""
from __future__ import annotations

import os
import time
from typing import Callable, Iterator

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


def proc_entries() -> Iterator[tuple[int, bytes, list[bytes]]]:
    """``(pid, command line, environment entries)`` of each process /proc lets this user read
    (another user's, or one gone meanwhile, is skipped). Also used by bench/sweep_scale.py."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        yield int(name), cmd, env
