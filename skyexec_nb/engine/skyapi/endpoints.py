"""Links to what a job serves: local ports probed on 127.0.0.1, or SkyPilot's cluster endpoints.

Pure functions (no threads, no state). ``job_endpoints`` is what ``Job.endpoints()`` calls.
Nothing here imports ``sky`` at import time; ``sky_endpoints`` goes through ``sky_sdk.sdk()``.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import socket
from typing import Any, Iterable, Mapping, Optional, Union

from skyexec_nb.model.errors import FieldError, SkyExecError

PortSpec = Union[int, str, Iterable[Union[int, str]], None]
LOCAL_HOST = "127.0.0.1"


class EndpointsUnavailable(SkyExecError, RuntimeError):
    """SkyPilot could not say where a cluster's ports are (one-line reason)."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One port of a job: its URL, whether it accepts connections, and its server-proxy path."""

    port: int
    url: str
    open: bool
    proxy_path: Optional[str] = None  # '/proxy/PORT/' relative to the notebook server, if installed

    @property
    def link(self) -> str:
        """The link a notebook should show: the proxy path when there is one, else the URL."""
        return self.proxy_path or self.url

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _port(value: Any, spec: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise FieldError("ports", "a port 1-65535, a range 'A-B', or a list of those", spec) from None
    if not 1 <= port <= 65535:
        raise FieldError("ports", "a port 1-65535, a range 'A-B', or a list of those", spec)
    return port


def expand_ports(spec: PortSpec) -> list[int]:
    """``8000``, ``'8000-8010'``, ``'8000,8080'`` or a list of those → sorted unique ports.

    Raises:
        FieldError: (a ValueError) naming ``ports`` when a part is not a port or a range.
    """
    if spec is None or spec == "":
        return []
    items: Iterable[Any] = [spec] if isinstance(spec, (int, str)) else spec
    ports: set[int] = set()
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            if sep:
                a, b = _port(lo, spec), _port(hi, spec)
                if a > b or b - a > 1000:
                    raise FieldError("ports", "a range 'A-B' with A <= B, at most 1000 ports", spec)
                ports.update(range(a, b + 1))
            else:
                ports.add(_port(part, spec))
    return sorted(ports)


def ports_of(config: Mapping[str, Any]) -> list[int]:
    """The ports a task config opens (``resources.ports``, or those of its ``any_of`` entries)."""
    res = config.get("resources") or {}
    specs = [res.get("ports")] + [alt.get("ports") for alt in (res.get("any_of") or res.get("ordered") or [])]
    return sorted({p for s in specs if s is not None for p in expand_ports(s)})


def port_open(port: int, host: str = LOCAL_HOST, timeout: float = 0.2) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def server_proxy_installed() -> bool:
    """Whether the jupyter-server-proxy extension is importable here."""
    return importlib.util.find_spec("jupyter_server_proxy") is not None


def local_endpoints(ports: PortSpec, *, proxy_base: Optional[str] = None, proxy: Optional[bool] = None,
                    host: str = LOCAL_HOST, timeout: float = 0.2) -> dict[int, Endpoint]:
    """Probe each port of a local job.

    Args:
        ports: a port spec (see ``expand_ports``).
        proxy_base: the notebook server's base URL (e.g. ``'/user/alice/'``); default
            ``$JUPYTERHUB_SERVICE_PREFIX`` (set by JupyterHub), else ``''``.
        proxy: add the jupyter-server-proxy path; default: when the extension is installed.
        host: where the job listens. timeout: connect time-out per port, seconds.

    Returns:
        ``{port: Endpoint}`` with ``open`` True when the port accepts connections now.
    """
    use_proxy = server_proxy_installed() if proxy is None else proxy
    base = (os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "") if proxy_base is None else proxy_base).rstrip("/")
    return {p: Endpoint(port=p, url=f"http://{host}:{p}", open=port_open(p, host, timeout),
                        proxy_path=f"{base}/proxy/{p}/" if use_proxy else None)
            for p in expand_ports(ports)}


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"http://{url}"


def sky_endpoints(cluster: str, port: Optional[int] = None) -> dict[int, str]:
    """``{port: url}`` of a SkyPilot cluster: ``sky.get(sky.endpoints(cluster, port))``.

    Blocks on the API server (call it off the kernel's main thread).

    Raises:
        EndpointsUnavailable: the cluster is not up, exposes no ports, or the API server is down.
    """
    from skyexec_nb.engine.skyapi.sdk import one_line_error, sdk

    sky = sdk()
    try:
        result = sky.get(sky.endpoints(cluster, port))
    except Exception as exc:
        raise EndpointsUnavailable(f"No endpoints for cluster {cluster!r}: {one_line_error(exc)}") from None
    return {int(k): _with_scheme(str(v)) for k, v in (result or {}).items()}


def recorded_endpoints(extra: Optional[Mapping[str, Any]]) -> dict[int, str]:
    """The ``{port: url}`` a cloud backend recorded in a job row's ``extra['endpoints']`` ({} if none)."""
    found = (extra or {}).get("endpoints") or {}
    return {int(k): _with_scheme(str(v)) for k, v in found.items()} if isinstance(found, Mapping) else {}


def known_endpoints(backend: str, config: Mapping[str, Any], extra: Optional[Mapping[str, Any]] = None, *,
                    proxy_base: Optional[str] = None, timeout: float = 0.05) -> dict[int, Endpoint]:
    """Every port a job opens, found without waiting on SkyPilot (for views that refresh often).

    Local backend: each port probed on 127.0.0.1 (``timeout`` seconds at most per port). Cloud
    backends: the URLs the backend recorded in ``extra['endpoints']`` (``open`` True); a port
    not recorded yet has ``open`` False and an empty URL.
    """
    ports = ports_of(config)
    if backend == "local":
        return local_endpoints(ports, proxy_base=proxy_base, timeout=timeout) if ports else {}
    recorded = recorded_endpoints(extra)
    return {p: Endpoint(port=p, url=recorded.get(p, ""), open=p in recorded)
            for p in sorted(set(ports) | set(recorded))}


def job_endpoints(backend: str, config: Mapping[str, Any], cluster: Optional[str] = None, *,
                  proxy_base: Optional[str] = None, extra: Optional[Mapping[str, Any]] = None,
                  timeout: float = 0.2) -> dict[int, str]:
    """What ``Job.endpoints()`` returns: ``{port: url}`` of the ports that can be reached now.

    Local backend: the open ports among the config's ``resources.ports`` (the server-proxy path
    when jupyter-server-proxy is installed, else ``http://127.0.0.1:PORT``). Cloud backends
    (``skypilot``, ``jobs``): the URLs recorded in ``extra['endpoints']`` when there are some
    (no wait on the API server), else ``sky_endpoints(cluster)`` ({} when the config opens no port).

    Raises:
        EndpointsUnavailable: (cloud backends) SkyPilot could not answer.
    """
    if backend != "local" and recorded_endpoints(extra):
        return recorded_endpoints(extra)
    ports = ports_of(config)
    if not ports:
        return {}
    if backend == "local":
        return {p: e.link for p, e in local_endpoints(ports, proxy_base=proxy_base, timeout=timeout).items()
                if e.open}
    if not cluster:
        raise EndpointsUnavailable("No endpoints: the job has no cluster yet")
    return sky_endpoints(cluster)
