"""One row of the external table (CSS ``skx-external-row``): a cluster, a job on a cluster or a
managed job that the SkyPilot API server knows, with its actions.

Cells are one HTML widget (fixed-width spans, ``skx-external-cells``), so a row costs a handful of
widgets whatever the number of columns. Buttons: Watch (``skx-watch-button``; jobs), Cancel
(``skx-cancel-button``; jobs not ended) and Tear down (``skx-down-button``; clusters), the last two
asking once more in place (:class:`~skyexec_nb.views.actions.ConfirmStep`, made on the first click). A row launched by this
notebook says so (``this notebook: job N``) instead of ``launched elsewhere`` (``skx-elsewhere``).
"""
from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as widgets

from skyexec_nb.engine.skyapi.external_rows import ExternalRow
from skyexec_nb.views.actions import ConfirmStep
from skyexec_nb.views.jobs_rows import short_time
from skyexec_nb.views.status_badge import badge_html, format_duration, format_time

#: (title, width) of the cells, in order.
CELLS = (("Name", "12em"), ("Kind", "4.5em"), ("User", "7em"), ("Status", "8.5em"), ("Resources", "10em"),
         ("Started", "6.5em"), ("Duration", "4.5em"), ("Cost", "4.5em"))
KIND_TEXT = {"cluster": "cluster", "job": "job", "managed": "managed"}


def row_texts(row: ExternalRow, origin: str = "", now: float | None = None) -> dict[str, str]:
    """What a row shows, as text (the cells and the table's record use this)."""
    duration = row.duration_at(now)
    details = row.details
    name = row.name if row.kind != "job" else f"{row.cluster} · {row.name}"
    if row.kind == "cluster" and details.get("autostop", -1) not in (-1, None):
        extra = f" (autostop {details['autostop']} min{', down' if details.get('to_down') else ''})"
    else:
        extra = ""
    return {"ref": row.ref, "name": name, "kind": KIND_TEXT.get(row.kind, row.kind),
            "user": row.user + (" (you)" if row.mine else ""), "status": row.status,
            "resources": row.resources + extra, "started": short_time(row.started, now),
            "started_full": format_time(row.started), "duration": format_duration(duration) if duration else "—",
            "cost": f"${row.cost:,.2f}" if row.cost is not None else "—",
            "origin": origin or "launched elsewhere"}


def header_html() -> str:
    """The column titles, aligned with the rows' cells."""
    spans = "".join(f'<span style="{_cell_style(w)};font-weight:600">{t}</span>' for t, w in CELLS)
    return f'<div style="display:flex;gap:6px">{spans}</div>'


def _cell_style(width: str) -> str:
    return (f"display:inline-block;width:{width};min-width:{width};overflow:hidden;text-overflow:ellipsis;"
            "white-space:nowrap")


def cells_html(texts: dict[str, str]) -> str:
    """The row's cells as one HTML value."""
    origin_style = "display:block;color:var(--jp-ui-font-color2,#6c757d);font-size:0.8em;line-height:1.1"
    name = (f'<code title="{html.escape(texts["ref"])}">{html.escape(texts["name"])}</code>'
            f'<span class="skx-elsewhere" style="{origin_style}">{html.escape(texts["origin"])}</span>')
    values = [name, html.escape(texts["kind"]), html.escape(texts["user"]), badge_html(texts["status"]),
              html.escape(texts["resources"]),
              f'<span title="{html.escape(texts["started_full"])}">{html.escape(texts["started"])}</span>',
              html.escape(texts["duration"]), html.escape(texts["cost"])]
    spans = "".join(f'<span style="{_cell_style(w)}" title="{html.escape(_plain(v))}">{v}</span>'
                    if i in (0, 4) else f'<span style="{_cell_style(w)}">{v}</span>'
                    for i, ((_, w), v) in enumerate(zip(CELLS, values)))
    return f'<div style="display:flex;gap:6px;align-items:center">{spans}</div>'


def _plain(value: str) -> str:
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", value)).strip()


def _button(text: str, css: str, tip: str, icon: str) -> widgets.Button:
    out = widgets.Button(description=text, tooltip=tip, icon=icon, layout=widgets.Layout(width="auto", flex="0 0 auto"))
    out.add_class(css)
    return out


class ExternalRowView(widgets.HBox):
    """The widgets of one :class:`ExternalRow` (see the module docstring).

    Args:
        row: what SkyPilot said of it.
        on_watch / on_cancel / on_down: the table's handlers, called with the row's current value.
    """

    def __init__(self, row: ExternalRow, *, on_watch: Callable[[ExternalRow], Any],
                 on_cancel: Callable[[ExternalRow], Any], on_down: Callable[[ExternalRow], Any]) -> None:
        self.row = row
        self.origin = ""
        self.cells = widgets.HTML(layout=widgets.Layout(flex="0 0 auto"))
        self.cells.add_class("skx-external-cells")
        buttons: list[widgets.Widget] = []
        self.watch_button = self.cancel_button = self.down_button = None
        self.confirm_cancel = self.confirm_down = None
        if row.kind == "cluster":
            self.down_button = _button("Tear down", "skx-down-button", "Tear this cluster down (sky.down)", "trash")
            self._asks(self.down_button, "Yes, tear down", "confirm_down", lambda: on_down(self.row))
            buttons.append(self.down_button)
        else:
            self.watch_button = _button("Watch", "skx-watch-button", "Follow its log and state in a live panel", "eye")
            self.watch_button.on_click(lambda _: on_watch(self.row))
            self.cancel_button = _button("Cancel", "skx-cancel-button", "Ask SkyPilot to cancel it", "stop")
            self._asks(self.cancel_button, "Confirm cancel?", "confirm_cancel", lambda: on_cancel(self.row))
            buttons += [self.watch_button, self.cancel_button]
        super().__init__([self.cells, *buttons], layout=widgets.Layout(align_items="center"))
        self.add_class("skx-external-row")
        self.add_class(f"skx-ext-{row.kind}")
        self.update(row, "")

    def _asks(self, button: widgets.Button, question: str, attribute: str, run: Callable[[], Any]) -> None:
        """On the first click, make ``button`` a :class:`ConfirmStep` (its "No" button joins the row
        then: a row costs fewer widgets while nobody clicks) and ask."""

        def first_click(_: Any) -> None:
            if getattr(self, attribute) is not None:
                return
            button._click_handlers.callbacks.remove(first_click)
            step = ConfirmStep(button, question, run, needed=lambda: True)
            setattr(self, attribute, step)
            children = list(self.children)
            self.children = children[: children.index(button) + 1] + [step.no] + children[children.index(button) + 1:]
            step.click()

        button.on_click(first_click)

    def update(self, row: ExternalRow, origin: str, now: float | None = None) -> None:
        """Show ``row`` (a newer answer for the same reference); sends nothing when unchanged."""
        self.row, self.origin = row, origin
        value = cells_html(row_texts(row, origin, now))
        if self.cells.value != value:
            self.cells.value = value
        if self.cancel_button is not None:
            self.cancel_button.disabled = row.terminal
            if row.terminal and self.confirm_cancel is not None:
                self.confirm_cancel.reset()

    def close(self) -> None:
        for step in (self.confirm_cancel, self.confirm_down):
            if step is not None:
                step.reset()
                step.no.close()
        for child in self.children:
            child.close()
        super().close()
