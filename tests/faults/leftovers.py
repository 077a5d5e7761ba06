"""Helpers of the fault tests: find (and, at the end, end) every process of a test's state dir."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from skyexec_nb.engine.jobs.procs import JOB_TOKEN_ENV
from skyexec_nb.engine.jobs.settings import get_settings


def processes_of(home: str, supervisors_only: bool = False) -> list[int]:
    """Pids of live processes started for state dir ``home``: supervisors (their environment has
    ``SKYEXEC_NB_HOME=home``) and job processes (also a job token), this process excepted."""
    needle = f"SKYEXEC_NB_HOME={home}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle not in env or state == b"Z":
            continue
        is_supervisor = b"skyexec_nb.engine.jobs.supervisor" in cmd
        is_job = any(e.startswith(JOB_TOKEN_ENV.encode() + b"=") for e in env)
        if is_supervisor or (is_job and not supervisors_only):
            found.append(int(name))
    return found


@pytest.fixture
def no_leftovers():
    """After the test: assert no process of this test's state dir is left (then end any, so
    nothing leaks into other tests even when the assertion fails)."""
    home = get_settings().state_dir
    yield home
    deadline = time.monotonic() + 30  # generous: a loaded 2-core machine ends processes slowly
    left = processes_of(home)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_of(home)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"processes left behind: {left}"


def python(code: str, home: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python sharing state dir ``home``."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "SKYEXEC_NB_HOME": home})
