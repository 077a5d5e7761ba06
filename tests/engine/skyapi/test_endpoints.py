"""Endpoints: port specs, a real local HTTP server probed open then closed, SkyPilot's endpoints."""
from __future__ import annotations

import http.server
import socket
import threading
import types
import urllib.request

import pytest

from skyexec_nb.engine.skyapi import endpoints
from skyexec_nb.engine.skyapi.endpoints import EndpointsUnavailable, expand_ports, local_endpoints
from skyexec_nb.model.errors import FieldError


def test_expand_ports() -> None:
    assert expand_ports("8000-8003") == [8000, 8001, 8002, 8003]
    assert expand_ports([8080, "6006", "8000-8001"]) == [6006, 8000, 8001, 8080]
    assert expand_ports("8888,6006") == [6006, 8888]
    assert expand_ports(None) == []
    for bad in ("http", "70000", "9-1", [0]):
        with pytest.raises(FieldError, match="Invalid ports"):
            expand_ports(bad)


def test_ports_of_config() -> None:
    assert endpoints.ports_of({"resources": {"ports": ["8000-8001"], "any_of": [{"ports": 6006}]}}) == [6006, 8000, 8001]
    assert endpoints.ports_of({}) == []


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_local_http_server_open_then_closed(http_server: http.server.HTTPServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "server_proxy_installed", lambda: False)
    port = http_server.server_address[1]
    eps = local_endpoints(port, proxy=False)
    ep = eps[port]
    assert ep.open and ep.url == f"http://127.0.0.1:{port}" and ep.proxy_path is None and ep.link == ep.url
    with urllib.request.urlopen(ep.url, timeout=5) as resp:
        assert resp.status == 200
    assert endpoints.job_endpoints("local", {"resources": {"ports": port}}) == {port: f"http://127.0.0.1:{port}"}
    http_server.shutdown()
    http_server.server_close()
    assert local_endpoints(port, proxy=False)[port].open is False
    assert endpoints.job_endpoints("local", {"resources": {"ports": port}}) == {}


def test_proxy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ep = local_endpoints([port], proxy_base="/user/alice/", proxy=True)[port]
    assert ep.proxy_path == f"/user/alice/proxy/{port}/" and ep.link == ep.proxy_path and not ep.open
    monkeypatch.setattr(endpoints.importlib.util, "find_spec", lambda name: object())
    assert local_endpoints(port)[port].proxy_path == f"/proxy/{port}/"
    monkeypatch.setattr(endpoints.importlib.util, "find_spec", lambda name: None)
    assert local_endpoints(port)[port].proxy_path is None


def _fake_sdk(monkeypatch: pytest.MonkeyPatch, result: object = None, error: Exception | None = None) -> list:
    calls: list = []

    def endpoints_(cluster: str, port: object = None) -> str:
        calls.append((cluster, port))
        return "req-1"

    def get(request_id: str) -> object:
        assert request_id == "req-1"
        if error is not None:
            raise error
        return result

    fake = types.SimpleNamespace(endpoints=endpoints_, get=get)
    monkeypatch.setattr("skyexec_nb.engine.skyapi.sdk.sdk", lambda: fake)
    return calls


def test_sky_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_sdk(monkeypatch, {"8888": "1.2.3.4:8888", 6006: "https://x.example/"})
    assert endpoints.sky_endpoints("c1") == {8888: "http://1.2.3.4:8888", 6006: "https://x.example/"}
    assert calls == [("c1", None)]
    assert endpoints.job_endpoints("skypilot", {"resources": {"ports": 8888}}, "c1")[8888] == "http://1.2.3.4:8888"
    assert endpoints.job_endpoints("skypilot", {"resources": {}}, "c1") == {}


def test_sky_endpoints_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_sdk(monkeypatch, error=RuntimeError("\x1b[31mCluster c1 has no ports\nto expose\x1b[0m"))
    with pytest.raises(EndpointsUnavailable) as err:
        endpoints.sky_endpoints("c1")
    assert str(err.value) == "No endpoints for cluster 'c1': RuntimeError: Cluster c1 has no ports to expose"
    with pytest.raises(EndpointsUnavailable, match="no cluster yet"):
        endpoints.job_endpoints("skypilot", {"resources": {"ports": 1}}, None)
