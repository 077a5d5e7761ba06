"""``Job.endpoints()``: a real local HTTP job, and cloud jobs answered from what the backend recorded."""
from __future__ import annotations

import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from skyexec_nb.engine.skyapi import endpoints
from skyexec_nb.engine.jobs import launcher
from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

from local_helpers import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(port: int) -> str:
    return f"{sys.executable} -m http.server {port} --bind 127.0.0.1"


@pytest.fixture(autouse=True)
def no_server_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "server_proxy_installed", lambda: False)


def cloud_job(tmp_path: Path, backend: str = "skypilot", **fields) -> Job:
    """A cloud job's row as its backend leaves it (no supervisor, no SkyPilot)."""
    job_id = get_registry().insert(name="web", backend=backend, status=JobStatus.RUNNING, cluster="c1",
                                   config={"resources": {"ports": ["8888"]}}, log_path=str(tmp_path / "log"),
                                   job_dir=str(tmp_path), **fields)
    return Job(job_id)


def test_local_job_serving_http(tmp_path: Path) -> None:
    port = free_port()
    job = launcher.launch(SkyExecutor(ports=[port]), serve_command(port), backend="local", name="web")
    try:
        assert job.endpoints() in ({}, {port: f"http://127.0.0.1:{port}"})  # {} until the server listens
        found = wait_for(job.endpoints)
        assert found == {port: f"http://127.0.0.1:{port}"} and job.endpoints_error is None
        with urllib.request.urlopen(found[port], timeout=5) as response:
            assert response.status == 200
    finally:
        job.cancel()
    assert job.wait(timeout=120) == JobStatus.CANCELLED
    assert wait_for(lambda: job.endpoints() == {}, timeout=5)


def test_a_job_without_ports_has_no_endpoints(tmp_path: Path) -> None:
    job = launcher.launch(SkyExecutor(), "true", backend="local", name="noports")
    assert job.endpoints() == {} and job.endpoints_error is None
    job.wait(timeout=120)


def test_cloud_job_uses_the_recorded_endpoints_without_asking_sky(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("skyexec_nb.engine.skyapi.sdk.sdk", lambda: pytest.fail("the API server was asked"))
    job = cloud_job(tmp_path, extra={"endpoints": {"8888": "1.2.3.4:8888"}})
    assert job.endpoints() == {8888: "http://1.2.3.4:8888"} and job.endpoints_error is None


def test_cloud_job_when_sky_cannot_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class DownServer:
        def endpoints(self, cluster: str, port: object = None) -> str:
            return "req"

        def get(self, request_id: str) -> object:
            raise ConnectionError("API server at http://127.0.0.1:46580 is down")

    monkeypatch.setattr("skyexec_nb.engine.skyapi.sdk.sdk", DownServer)
    job = cloud_job(tmp_path, backend="jobs")
    assert job.endpoints() == {}
    assert job.endpoints_error is not None and "\n" not in job.endpoints_error
    assert "c1" in job.endpoints_error and "is down" in job.endpoints_error
