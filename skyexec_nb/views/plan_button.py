"""The picker's "Plan" button (CSS ``skx-plan-button``) and its output (``skx-plan``).

With a cloud backend, a click asks ``PriceService.plan`` for SkyPilot's optimizer plan (computed in
the price worker process; the answer arrives on another thread and is written from there), or
shows what ``sky check`` reported when no cloud is enabled. With the local backend it says the job
runs on this machine. Nothing is launched.
"""
from __future__ import annotations

import html
import threading
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.views.price_line import shared_service

LOCAL_MESSAGE = "The local backend runs on this machine: there is no cloud plan to show. Nothing was launched."


def plan_html(result: Any) -> str:
    """A plan result (``PlanResult``): the optimizer's table, then its one-line message."""
    table = str(getattr(result, "table", "") or "")
    message = str(getattr(result, "message", "") or result)
    colour = "#212529" if getattr(result, "ok", isinstance(result, str)) else "#b35c00"  # a str: a notice
    pre = (f'<pre class="skx-plan-table" style="font-size:0.85em;max-height:24em;overflow:auto">'
           f"{html.escape(table)}</pre>") if table else ""
    return f'{pre}<div class="skx-plan-message" style="color:{colour};font-weight:600">{html.escape(message)}</div>'


class PlanView:
    """The Plan button and its output (two widgets the picker lays out).

    Args:
        executor: the SkyExecutor planned (its current fields, at click time).
        backend: returns the backend chosen now (``"local"``, ``"skypilot"``, ``"jobs"``).
        service: a PriceService (``plan(executor, callback)``); default (or ``False``): the shared one.
    """

    def __init__(self, executor: Any, backend: Callable[[], str], service: Any = None) -> None:
        self.executor, self._backend, self._service = executor, backend, service or None
        self.button = widgets.Button(description="Plan", icon="list", tooltip="Show SkyPilot's optimizer plan "
                                     "(candidates, chosen resources, $/hr); launches nothing",
                                     layout=widgets.Layout(width="auto"))
        self.button.add_class("skx-plan-button")
        self.button.on_click(lambda _: self.plan())
        self.output = widgets.HTML()
        self.output.add_class("skx-plan")
        self.text = ""
        self._lock = threading.Lock()
        self._seq = 0

    def plan(self) -> None:
        """Show the plan of the executor's current fields (the answer comes later, off-thread)."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        if self._backend() == "local":
            self._show(seq, LOCAL_MESSAGE)
            return
        service = self._service or shared_service()
        if service is None:
            self._show(seq, "No plan: pricing is not available in this installation.")
            return
        self._show(seq, "Planning with SkyPilot's optimizer… (nothing is launched)")
        try:
            service.plan(self.executor, lambda result: self._show(seq, result))
        except Exception as exc:  # shown, never lost
            self._show(seq, f"No plan: {exc}")

    def _show(self, seq: int, result: Any) -> None:
        with self._lock:
            if seq != self._seq:  # an older click's answer: a newer one is on its way
                return
            self.text = getattr(result, "text", None) or str(result)
            self.output.value = plan_html(result)

    def close(self) -> None:
        self.button.close()
        self.output.close()
