"""Endpoint links in the launch panel: a real local HTTP job, probe budget, cloud URLs, server proxy."""
from __future__ import annotations

import html
import socket
import sys
import types
import urllib.request

import pytest

from skyexec_nb.engine.skyapi import endpoints
from skyexec_nb.views import endpoint_links
from skyexec_nb.views.endpoint_links import EndpointLinks
from skyexec_nb.views.launch_panel import LaunchPanel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "server_proxy_installed", lambda: False)


def test_local_http_job_link_appears_answers_and_closes(local_job, wait, no_proxy):
    port = free_port()
    job = local_job(f"{sys.executable} -m http.server {port} --bind 127.0.0.1", name="web", ports=[port])
    panel = LaunchPanel(job)
    url = f"http://127.0.0.1:{port}"
    assert "skx-endpoints" in panel.endpoints._dom_classes and panel.endpoints in panel.children
    wait(lambda: f'href="{url}"' in panel.endpoints.value)
    shown = panel.endpoints.value
    assert 'target="_blank"' in shown and 'class="skx-endpoint"' in shown and panel.endpoints.layout.display is None
    assert panel.endpoints.open_links == {port: url}
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200

    panel.cancel_button.click()
    wait(lambda: panel.badge.status == "CANCELLED")
    wait(lambda: "closed" in panel.endpoints.value)
    assert "<a " not in panel.endpoints.value and f"<s>{port}</s>" in panel.endpoints.value
    assert panel.endpoints.open_links == {}


def test_a_port_not_open_yet_is_listed_as_waiting(no_proxy):
    port = free_port()  # nothing listens there
    links = EndpointLinks(types.SimpleNamespace(backend="local", config={"resources": {"ports": [str(port)]}}))
    assert links.layout.display == "none"  # nothing known before the first update
    links.update({}, ended=False)
    assert f"{port} (not open yet)" in links.value and "<a " not in links.value and links.open_links == {}


def test_local_ports_are_probed_at_most_once_per_interval(monkeypatch: pytest.MonkeyPatch):
    probes: list = []
    monkeypatch.setattr(endpoint_links, "known_endpoints",
                        lambda *a, **k: probes.append(k["timeout"]) or {8000: endpoints.Endpoint(8000, "u", True)})
    now = [100.0]
    job = types.SimpleNamespace(backend="local", config={"resources": {"ports": ["8000"]}})
    links = EndpointLinks(job, clock=lambda: now[0])
    for _ in range(10):  # ten ticks within the same second
        links.update({}, ended=False)
    assert len(probes) == 1 and probes[0] <= 0.1  # a short connect time-out: the tick never waits long
    now[0] += 1.0
    links.update({}, ended=False)
    assert len(probes) == 2
    links.update({}, ended=True)  # ended: nothing is probed any more
    links.update({}, ended=True)
    assert len(probes) == 2 and "closed" in links.value


def test_cloud_job_shows_the_urls_its_backend_recorded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("skyexec_nb.engine.skyapi.sdk.sdk", lambda: pytest.fail("the view asked the API server"))
    job = types.SimpleNamespace(backend="skypilot", config={"resources": {"ports": ["8888", "6006"]}})
    links = EndpointLinks(job)
    links.update({"extra": {}}, ended=False)
    assert "8888 (not open yet)" in links.value and "6006 (not open yet)" in links.value
    links.update({"extra": {"endpoints": {"8888": "1.2.3.4:8888"}}}, ended=False)
    assert 'href="http://1.2.3.4:8888"' in links.value and 'target="_blank"' in links.value
    assert "6006 (not open yet)" in links.value
    links.update({"extra": {"endpoints": {"8888": "1.2.3.4:8888"}}}, ended=True)
    assert "<a " not in links.value and "<s>8888</s>" in links.value


def test_server_proxy_path_when_the_extension_is_installed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(endpoints, "server_proxy_installed", lambda: True)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        links = EndpointLinks(types.SimpleNamespace(backend="local", config={"resources": {"ports": [str(port)]}}))
        links.update({}, ended=False)
    assert f'href="/user/alice/proxy/{port}/"' in links.value
    assert f"http://127.0.0.1:{port}" in html.unescape(links.value)  # the direct URL stays in the tooltip


def test_a_job_without_ports_shows_no_endpoints_line(local_job, wait):
    panel = LaunchPanel(local_job("echo hi", name="plain"))
    wait(lambda: panel.badge.status == "SUCCEEDED")
    assert panel.endpoints.value == "" and panel.endpoints.layout.display == "none"
