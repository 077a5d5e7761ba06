"""Fixtures for the SkyPilot backends: the SDK stand-in, and one real local API server per session."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], None]:
    """Point skyexec_nb (and the supervisors it starts) at ``tests/sky_standin``.

    Returns a function selecting the stand-in's scenario (ok, fail, setup_fail, long, slow,
    preempt, no_cloud, no_resource) for the next submissions.
    """
    monkeypatch.syspath_prepend(str(TESTS_DIR))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("SKYEXEC_NB_SKY_SDK", "sky_standin")
    monkeypatch.setenv("SKY_STANDIN_DIR", str(tmp_path / "standin"))
    monkeypatch.setenv("SKY_STANDIN_STEP", "0.2")
    monkeypatch.setenv("SKY_STANDIN_SCENARIO", "ok")
    monkeypatch.setenv("SKYEXEC_NB_SKY_POLL", "0.1")
    return lambda name: monkeypatch.setenv("SKY_STANDIN_SCENARIO", name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def sky_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real local SkyPilot API server on a free port, with its own HOME, for the whole session.

    Yields the environment a client needs (``SKYPILOT_API_SERVER_LOCAL_PORT``); tests use it
    through the ``real_sky`` fixture. Stopped with ``sky api stop`` under the same HOME and port.
    """
    home = tmp_path_factory.mktemp("sky_server_home")
    port = str(_free_port())
    env = dict(os.environ, HOME=str(home), SKY_RUNTIME_DIR=str(home), SKYPILOT_API_SERVER_LOCAL_PORT=port)
    env.pop("SKYEXEC_NB_SKY_SDK", None)
    sky_cli = shutil.which("sky") or str(Path(sys.executable).with_name("sky"))
    url = f"http://127.0.0.1:{port}"
    started = subprocess.run([sky_cli, "api", "start"], env=env, capture_output=True, text=True, timeout=240)
    deadline = time.monotonic() + 120
    while not _healthy(url) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not _healthy(url):
        pytest.fail(f"SkyPilot API server did not start: {started.stdout[-2000:]} {started.stderr[-2000:]}")
    try:
        yield {"SKYPILOT_API_SERVER_LOCAL_PORT": port, "url": url}
    finally:
        subprocess.run([sky_cli, "api", "stop"], env=env, capture_output=True, timeout=120)


@pytest.fixture
def real_sky(sky_server: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """The real ``sky`` module, this process and its children talking to the session's server."""
    monkeypatch.setenv("SKYPILOT_API_SERVER_LOCAL_PORT", sky_server["SKYPILOT_API_SERVER_LOCAL_PORT"])
    monkeypatch.delenv("SKYEXEC_NB_SKY_SDK", raising=False)
    import sky
    from sky.server import common

    common.get_server_url.cache_clear()  # the server URL is cached on first use
    common.is_api_server_local.cache_clear()
    return sky
