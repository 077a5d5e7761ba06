"""Process helpers shared by the kernel side and the supervisor (POSIX signals, no psutil)."""
from __future__ import annotations

import os
import signal
import time
from typing import Iterable


def pid_alive(pid: int | None) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return True


def group_alive(pgid: int) -> bool:
    """True if process group ``pgid`` still has a member (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_groups(pgids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to every process group, ignoring groups that are gone."""
    for pgid in pgids:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_groups(pgids: Iterable[int], grace: float = 5.0) -> None:
    """SIGTERM every group, then SIGKILL what is left after ``grace`` seconds (blocking)."""
    pgids = [p for p in pgids if p and p > 1]
    signal_groups(pgids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_alive(p) for p in pgids):
        time.sleep(0.02)
    signal_groups(pgids, signal.SIGKILL)
