"""Links to what a job serves (CSS ``skx-endpoints``), kept current by the launch panel's tick.

Each link (``skx-endpoint``, ``target=_blank``) appears as soon as its port accepts connections;
ports not open yet are listed as waiting (``skx-endpoint-waiting``). Once the job ends the links
are removed and the ports are marked closed (``skx-endpoints-closed``). Local ports are probed at
most every ``probe_every`` seconds with a short connect time-out, so a tick never waits long;
cloud jobs show the URLs their backend recorded (``extra['endpoints']``): the view never waits on
SkyPilot's API server. Finding the endpoints is the engine's job (``engine.endpoints``).
"""
from __future__ import annotations

import html
import time
from typing import Any, Callable, Mapping

import ipywidgets as widgets

from skyexec_nb.engine.skyapi.endpoints import Endpoint, known_endpoints, ports_of

PROBE_EVERY = 1.0  # seconds between probes of a live local job's ports
PROBE_TIMEOUT = 0.05  # connect time-out per port, seconds


def links_html(found: Mapping[int, Endpoint], *, ended: bool = False) -> str:
    """The endpoints line: open ports as links, the others as waiting; all closed once ``ended``."""
    if not found:
        return ""
    if ended:
        ports = ", ".join(f"<s>{p}</s>" for p in sorted(found))
        return (f'<div class="skx-endpoints-closed" style="color:#6c757d">Endpoints closed (job ended): '
                f"{ports}</div>")
    parts = []
    for port, ep in sorted(found.items()):
        if ep.open:
            href = html.escape(ep.link, quote=True)
            parts.append(f'<a class="skx-endpoint" href="{href}" target="_blank" rel="noopener noreferrer" '
                         f'title="{html.escape(ep.url, quote=True)}">{port} ↗ {html.escape(ep.link)}</a>')
        else:
            parts.append(f'<span class="skx-endpoint-waiting" style="color:#6c757d">{port} (not open yet)</span>')
    return f'<div class="skx-endpoints-live">Endpoints: {" · ".join(parts)}</div>'


class EndpointLinks(widgets.HTML):
    """The endpoint links of one job; hidden when the job opens no port.

    Args:
        job: the job (``backend`` and ``config`` are read once).
        probe_every: seconds between probes of local ports while the job is live.
        clock: monotonic clock (tests may pass a fake one).
    """

    def __init__(self, job: Any, *, probe_every: float = PROBE_EVERY,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("skx-endpoints")
        self.backend = str(getattr(job, "backend", "") or "")
        self.config: dict[str, Any] = dict(getattr(job, "config", None) or {})
        self.probe_every = probe_every
        self._clock = clock
        self._last_probe: float | None = None
        self.found: dict[int, Endpoint] = {}
        self.ended = False
        self.layout.display = "none"  # until a port is known

    @property
    def open_links(self) -> dict[int, str]:
        """``{port: link}`` shown as clickable now ({} once the job ended)."""
        return {} if self.ended else {p: e.link for p, e in self.found.items() if e.open}

    def update(self, facts: Mapping[str, Any], ended: bool) -> None:
        """Refresh from a job snapshot (see ``launch_panel.snapshot``); probes at most every ``probe_every`` s."""
        if self.ended:
            return
        now = self._clock()
        local = self.backend == "local"
        if ended or not local or self._last_probe is None or now - self._last_probe >= self.probe_every:
            self._last_probe = now
            if ended and local:  # nothing serves any more: list the ports, probe nothing
                self.found = {p: Endpoint(p, "", False) for p in ports_of(self.config)}
            else:
                self.found = known_endpoints(self.backend, self.config, facts.get("extra"), timeout=PROBE_TIMEOUT)
            self.ended = ended
            self.layout.display = None if self.found else "none"
            self.value = links_html(self.found, ended=ended)
