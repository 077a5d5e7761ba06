"""Fixtures of the view tests: a recording comm stand-in, waits on conditions, local jobs."""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import comm
import pytest


class RecordingComm:
    """Stands in for the kernel's comm: records every message a widget sends, with its time."""

    kernel = "stand-in"  # ipywidgets sends only when the comm has a kernel

    def __init__(self, log: list, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        self.log = log

    def on_msg(self, callback: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.log.append((time.monotonic(), self, data))

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every comm message sent by widgets created in the test: ``(monotonic time, comm, data)``."""
    log: list = []
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(log, **kwargs))
    return log


def wait_for(condition: Callable[[], Any], timeout: float = 90.0, interval: float = 0.02) -> Any:
    """Poll ``condition`` until truthy (returns its value); fail after ``timeout`` seconds.

    The default bound is generous on purpose: on a loaded 2-core CI machine a job's supervisor
    takes seconds to start; a passing wait returns as soon as the condition holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture
def wait() -> Callable[..., Any]:
    """``wait(condition, timeout=90)``: poll until truthy, no fixed sleeps."""
    return wait_for


@pytest.fixture
def executor():
    from skyexec_nb.model.executor import SkyExecutor

    return SkyExecutor()


@pytest.fixture
def local_job():
    """``local_job(command, name=...)`` launches on the local backend and returns the Job."""
    from skyexec_nb.engine.jobs import launcher
    from skyexec_nb.model.executor import SkyExecutor

    def launch(command: str, name: str = "t", **fields: Any):
        return launcher.launch(SkyExecutor(**fields), command, backend="local", name=name)

    return launch
