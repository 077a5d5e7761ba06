"""The jobs table's "Idle clusters" section (CSS ``skx-idle``): clusters launched from here that are UP
with no job running, billed for nothing.

One row per cluster (``skx-idle-row``, ``skx-idle-<name>``): name (``skx-idle-name``, the jobs that
ran on it as tooltip), idle for (``skx-idle-for``), cost so far (``skx-idle-cost``: the engine's
estimate, carried forward at its hourly price), autostop (``skx-idle-autostop``), and the buttons
Stop (``skx-idle-stop``) and Tear down (``skx-idle-down``), each asking once more in place
(:class:`~skyexec_nb.views.actions.ConfirmStep`) and run off the kernel's thread; the outcome is
one line (``skx-idle-message``). The list comes from ``engine.api.idle_clusters()`` (SkyPilot
requests: asked off the kernel's thread by :class:`~skyexec_nb.views.background_fetch.BackgroundFetch`,
only while the registry holds SkyPilot jobs); ``skx-idle-status`` says when it could not be asked.
The section is hidden while nothing is idle.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable, Sequence

import ipywidgets as widgets

from skyexec_nb.model.spend_limits import format_duration_short, format_money
from skyexec_nb.views.actions import ConfirmStep, run_action
from skyexec_nb.views.background_fetch import BackgroundFetch
from skyexec_nb.views.limit_notes import warning_html
from skyexec_nb.views.theme import ERROR, MUTED

#: Backends whose jobs leave clusters up after them.
CLUSTER_JOB_BACKENDS = frozenset({"skypilot"})
COLUMNS = ("Cluster", "Idle for", "Cost so far", "Autostop", "")
_WIDTHS = "minmax(6em,2fr) max-content max-content minmax(6em,1.5fr) max-content"


def idle_for_text(idle_since: float | None, now: float) -> str:
    """``1h12m`` (whole minutes; ``<1m`` under a minute; ``?`` when unknown)."""
    if idle_since is None:
        return "?"
    seconds = max(0.0, now - idle_since)
    return "<1m" if seconds < 60 else format_duration_short(seconds // 60 * 60)


def autostop_text(autostop: int | None, autodown: bool) -> str:
    """``none: billed until stopped``, ``after 30 min idle, then stop`` (or ``then tear down``)."""
    if autostop is None or autostop < 0:
        return "none: billed until stopped or torn down"
    return f"after {autostop} min idle, then {'tear down' if autodown else 'stop'}"


def cost_text(cluster: Any, fetched_at: float, now: float) -> str:
    """The engine's cost so far, plus its hourly price × the time since it was asked (``?`` unpriced)."""
    cost, hourly = getattr(cluster, "cost_so_far", None), getattr(cluster, "hourly", None)
    if cost is None:
        return "?" if hourly is None else f"{format_money(hourly)}/hr"
    if hourly is not None:
        cost += hourly * max(0.0, now - fetched_at) / 3600.0
    return f"{format_money(cost)} (estimate)"


def cluster_texts(cluster: Any, fetched_at: float, now: float) -> dict[str, str]:
    """What a row shows, as text (the live row and the table's record use this)."""
    jobs = ", ".join(str(i) for i in getattr(cluster, "job_ids", ()) or ())
    return {"name": str(cluster.name), "jobs": f"jobs {jobs}" if jobs else "",
            "idle": idle_for_text(getattr(cluster, "idle_since", None), now),
            "cost": cost_text(cluster, fetched_at, now),
            "autostop": autostop_text(getattr(cluster, "autostop", None), bool(getattr(cluster, "autodown", False)))}


def record_lines(texts: Sequence[dict[str, str]]) -> list[str]:
    """Text lines of the section for the table's record ([] when nothing is idle)."""
    if not texts:
        return []
    return [f"Idle clusters ({len(texts)}):"] + [
        f"  {t['name']} · idle for {t['idle']} · {t['cost']} · autostop {t['autostop']}" for t in texts]


def record_html(texts: Sequence[dict[str, str]]) -> str:
    """The section as a plain HTML table for the record ('' when nothing is idle)."""
    if not texts:
        return ""
    th = f'style="text-align:left;padding:1px 8px 1px 0;color:{MUTED}"'
    rows = "".join("<tr>" + "".join(f'<td style="text-align:left;padding:1px 8px 1px 0">{html.escape(t[k])}</td>'
                                    for k in ("name", "idle", "cost", "autostop")) + "</tr>" for t in texts)
    head = "".join(f"<th {th}>{c}</th>" for c in COLUMNS[:4])
    return (f'<div class="skx-record-idle" style="margin-top:6px"><b>Idle clusters</b>'
            f"<table><tr>{head}</tr>{rows}</table></div>")


def _cell(css: str) -> widgets.HTML:
    out = widgets.HTML(layout=widgets.Layout(width="auto", min_width="0"))
    out.add_class(css)
    return out


class IdleRow:
    """One idle cluster's cells and buttons (not a widget: its cells go into the section's grid)."""

    def __init__(self, name: str, act: Callable[[str, str], None]) -> None:
        self.name = name
        self.name_cell, self.idle_cell = _cell("skx-idle-name"), _cell("skx-idle-for")
        self.cost_cell, self.autostop_cell = _cell("skx-idle-cost"), _cell("skx-idle-autostop")
        self.stop_button = widgets.Button(description="Stop", icon="pause", layout=widgets.Layout(width="auto"),
                                          tooltip="Stop the cluster (disks kept, billed for storage only)")
        self.stop_button.add_class("skx-idle-stop")
        self.down_button = widgets.Button(description="Tear down", icon="trash", layout=widgets.Layout(width="auto"),
                                          tooltip="Remove the cluster (nothing billed after)")
        self.down_button.add_class("skx-idle-down")
        self.confirm_stop = ConfirmStep(self.stop_button, "Confirm stop?", lambda: act(name, "stop"),
                                        needed=lambda: True)
        self.confirm_down = ConfirmStep(self.down_button, "Yes, tear down", lambda: act(name, "down"),
                                        needed=lambda: True)
        self.buttons = widgets.HBox([self.stop_button, self.confirm_stop.no, self.down_button, self.confirm_down.no])
        for widget in (self.name_cell, self.idle_cell, self.cost_cell, self.autostop_cell, self.buttons):
            widget.add_class("skx-idle-row")
            widget.add_class(f"skx-idle-{name}")
        self.texts: dict[str, str] = {}

    @property
    def cells(self) -> list[widgets.Widget]:
        return [self.name_cell, self.idle_cell, self.cost_cell, self.autostop_cell, self.buttons]

    def update(self, texts: dict[str, str], busy: bool) -> None:
        """Show ``texts`` (a cell is re-sent only when its text changed); buttons off while ``busy``."""
        if texts != self.texts:
            self.texts = texts
            tip = html.escape(texts["jobs"], quote=True)
            self.name_cell.value = f'<code title="{tip}">{html.escape(texts["name"])}</code>'
            self.idle_cell.value = html.escape(texts["idle"])
            self.cost_cell.value = html.escape(texts["cost"])
            autostop = texts["autostop"]
            self.autostop_cell.value = (warning_html(autostop, tag="span") if autostop.startswith("none") else
                                        f'<span style="color:{MUTED}">{html.escape(autostop)}</span>')
        for step in (self.confirm_stop, self.confirm_down):
            step.button.disabled = busy
            if busy:
                step.reset()

    def close(self) -> None:
        for step in (self.confirm_stop, self.confirm_down):
            step.reset()
        for widget in [*self.cells, self.stop_button, self.down_button, self.confirm_stop.no, self.confirm_down.no]:
            widget.close()


def _idle_clusters() -> list[Any]:
    from skyexec_nb.engine.api import idle_clusters

    return list(idle_clusters())


def _verb(kind: str) -> Callable[[str], Any]:
    from skyexec_nb.engine.api import down_cluster, stop_cluster

    return stop_cluster if kind == "stop" else down_cluster


class IdleClusters(widgets.VBox):
    """The idle clusters launched from here, with Stop and Tear down.

    Args:
        every: seconds between two asks of SkyPilot while the section is ticked.
        fetch: the blocking list call (default ``engine.api.idle_clusters``).
        verb: ``verb(kind)`` -> the blocking action of ``kind`` "stop" or "down" (default the engine's).
    """

    def __init__(self, *, every: float = 30.0, fetch: Callable[[], list[Any]] | None = None,
                 verb: Callable[[str], Callable[[str], Any]] | None = None) -> None:
        self._lock = threading.RLock()
        self.fetch = BackgroundFetch(fetch or _idle_clusters, every, "idle-clusters")
        self._verb = verb or _verb
        self.clusters: list[Any] = []
        self.fetched_at = 0.0
        self.rows: dict[str, IdleRow] = {}
        self.busy: set[str] = set()
        self.texts: list[dict[str, str]] = []
        self.title = _cell("skx-idle-title")
        self.title.value = "<b>Idle clusters</b> (launched from here, up with no job running: billed for nothing)"
        self.status = _cell("skx-idle-status")
        self.message = _cell("skx-idle-message")
        self.header = [_cell("skx-th") for _ in COLUMNS]
        for cell, title in zip(self.header, COLUMNS):
            cell.value = f"<b>{title}</b>"
        self.grid = widgets.GridBox(self.header, layout=widgets.Layout(grid_template_columns=_WIDTHS,
                                                                        grid_gap="3px 6px", align_items="center",
                                                                        width="100%"))
        self.grid.add_class("skx-grid-table")
        super().__init__([self.title, self.grid, self.status, self.message],
                         layout=widgets.Layout(width="auto", min_width="0", display="none"))
        self.add_class("skx-idle")

    def tick(self, rows: Sequence[dict[str, Any]] = ()) -> None:
        """Ask SkyPilot again when due (only with SkyPilot jobs in ``rows``); show what came; age the rows."""
        if any(r.get("backend") in CLUSTER_JOB_BACKENDS for r in rows) or self.clusters:
            answer = self.fetch.poll()
            if answer is not None:
                with self._lock:
                    if answer.error:
                        self.status.value = (f'<span style="color:{ERROR}">Could not list idle clusters: '
                                             f"{html.escape(answer.error)}</span>")
                    else:
                        self.status.value = ""
                        self.clusters, self.fetched_at = list(answer.value or []), answer.at
        self._render()

    def _render(self) -> None:
        with self._lock:
            now = time.time()
            texts = [cluster_texts(c, self.fetched_at, now) for c in self.clusters]
            names = [t["name"] for t in texts]
            for gone in set(self.rows) - set(names):
                self.rows.pop(gone).close()
            for t in texts:
                if t["name"] not in self.rows:
                    self.rows[t["name"]] = IdleRow(t["name"], self.act)
                self.rows[t["name"]].update(t, t["name"] in self.busy)
            cells = [*self.header, *(c for n in names for c in self.rows[n].cells)]
            if list(self.grid.children) != cells:
                self.grid.children = cells
            self.texts = texts
            shown = bool(texts) or bool(self.message.value) or bool(self.status.value)
            self.layout.display = None if shown else "none"
            self.grid.layout.display = None if texts else "none"

    def act(self, name: str, kind: str) -> None:
        """Stop (``kind`` "stop") or tear down ("down") cluster ``name`` off the kernel's thread; one line."""
        with self._lock:
            if name in self.busy:
                return
            self.busy.add(name)
            self.message.value = html.escape(f"{'Stopping' if kind == 'stop' else 'Tearing down'} {name}…")
        self._render()
        outcome: list[str] = []

        def action() -> None:
            outcome.append(str(self._verb(kind)(name) or ""))

        def done(error: str) -> None:
            with self._lock:
                self.busy.discard(name)
                line = error or " ".join((outcome[0] if outcome else "").split()) or f"{name}: done."
                colour = ERROR if error else MUTED
                self.message.value = f'<span style="color:{colour}">{html.escape(line)}</span>'
            self.fetch.ask_soon()
            self._render()

        run_action("Stop" if kind == "stop" else "Tear down", action, done)

    def close(self) -> None:
        self.fetch.close()
        for row in self.rows.values():
            row.close()
        for widget in [*self.header, self.title, self.status, self.message, self.grid]:
            widget.close()
        super().close()
