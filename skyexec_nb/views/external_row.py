"""One row of the external table (CSS ``skx-external-row``): a cluster, a job on a cluster or a
managed job that the SkyPilot API server knows, with its actions.

Cells are one HTML widget (fixed-width spans, ``skx-external-cells``), so a row costs a handful of
widgets whatever the number of columns. Buttons: Watch (``skx-watch-button``; jobs), Cancel
(``skx-cancel-button``; jobs not ended) and Tear down (``skx-down-button``; clusters), the last two
asking once more in place (:class:`~skyexec_nb.views.actions.ConfirmStep`, made on the first click). A row launched by this
notebook says so (``this notebook: job N``) instead of ``launched elsewhere`` (``skx-elsewhere``).
A view shows another row when told (:meth:`ExternalRowView.update`), of any kind, and the rows of a
table share their layouts and styles (:class:`SharedParts`): rows that change cost updates, not widgets.
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


class SharedParts:
    """The layouts and styles of a table's rows (each a widget of its own): made once per table and
    shared by every row, so a row costs its HBox, cells and buttons only. Closed with the table."""

    def __init__(self) -> None:
        from ipywidgets.widgets.widget_string import HTMLStyle

        self.row = widgets.Layout(align_items="center")
        self.cells = widgets.Layout(flex="0 0 auto")
        self.button = widgets.Layout(width="auto", flex="0 0 auto")
        self.cells_style = HTMLStyle()
        self.button_style = widgets.ButtonStyle()

    def close(self) -> None:
        for part in (self.row, self.cells, self.button, self.cells_style, self.button_style):
            part.close()


class ExternalRowView(widgets.HBox):
    """The widgets of one :class:`ExternalRow` (see the module docstring); a view can show another
    row later (:meth:`update`), of any kind: the external table reuses its views as the rows shown
    change, rather than closing and creating widgets.

    Args:
        row: what SkyPilot said of it.
        on_watch / on_cancel / on_down: the table's handlers, called with the row the view shows when
            clicked.

    ``watch_button``/``cancel_button``/``down_button`` (and ``confirm_cancel``/``confirm_down``) are
    those of the row shown now (None when its kind has no such action); the widgets of another kind
    stay made, out of the row, for the next time the view shows that kind.
    """

    def __init__(self, row: ExternalRow, *, on_watch: Callable[[ExternalRow], Any],
                 on_cancel: Callable[[ExternalRow], Any], on_down: Callable[[ExternalRow], Any],
                 parts: SharedParts | None = None) -> None:
        self.row = row
        self.origin = ""
        self._on_watch, self._on_cancel, self._on_down = on_watch, on_cancel, on_down
        self._own_parts = parts is None
        self.parts = parts = parts or SharedParts()
        self._made: dict[str, Any] = {}  # "watch", "cancel", "down", "confirm_cancel", "confirm_down"
        self._kind = row.kind
        self.cells = widgets.HTML(cells_html(row_texts(row)), layout=parts.cells, style=parts.cells_style,
                                  _dom_classes=("skx-external-cells",))
        super().__init__([self.cells, *(self._button_of(name) for name in _BUTTONS.get(row.kind, ()))],
                         layout=parts.row, _dom_classes=("skx-external-row", f"skx-ext-{row.kind}"))
        self.update(row, "")

    def _button(self, text: str, css: str, tip: str, icon: str) -> widgets.Button:
        return widgets.Button(description=text, tooltip=tip, icon=icon, _dom_classes=(css,),
                              layout=self.parts.button, style=self.parts.button_style)

    # -- the buttons of the kind shown ----------------------------------------------------------------
    def _shown(self, name: str) -> Any:
        return self._made.get(name) if name in _ACTIONS.get(self._kind, ()) else None

    watch_button = property(lambda self: self._shown("watch"))
    cancel_button = property(lambda self: self._shown("cancel"))
    down_button = property(lambda self: self._shown("down"))
    confirm_cancel = property(lambda self: self._shown("confirm_cancel"))
    confirm_down = property(lambda self: self._shown("confirm_down"))

    def _button_of(self, name: str) -> widgets.Button:
        """The ``name`` button, made on first need (with its handler acting on the row shown)."""
        if name not in self._made:
            if name == "watch":
                button = self._button("Watch", "skx-watch-button", "Follow its log and state in a live panel", "eye")
                button.on_click(lambda _: self._on_watch(self.row))
            elif name == "cancel":
                button = self._button("Cancel", "skx-cancel-button", "Ask SkyPilot to cancel it", "stop")
                self._asks(button, "Confirm cancel?", "confirm_cancel", lambda: self._on_cancel(self.row))
            else:
                button = self._button("Tear down", "skx-down-button", "Tear this cluster down (sky.down)", "trash")
                self._asks(button, "Yes, tear down", "confirm_down", lambda: self._on_down(self.row))
            self._made[name] = button
        return self._made[name]

    def _asks(self, button: widgets.Button, question: str, attribute: str, run: Callable[[], Any]) -> None:
        """On the first click, make ``button`` a :class:`ConfirmStep` (its "No" button joins the row
        then: a row costs fewer widgets while nobody clicks) and ask."""

        def first_click(_: Any) -> None:
            if attribute in self._made:
                return
            button._click_handlers.callbacks.remove(first_click)
            self._made[attribute] = ConfirmStep(button, question, run, needed=lambda: True)
            self._arrange()
            self._made[attribute].click()

        button.on_click(first_click)

    def _arrange(self) -> None:
        """The cells, then the buttons of the kind shown (each with its "No" once it asked)."""
        children: list[widgets.Widget] = [self.cells]
        for name in _BUTTONS.get(self._kind, ()):
            children.append(self._button_of(name))
            step = self._made.get(f"confirm_{name}")
            if step is not None:
                children.append(step.no)
        if list(self.children) != children:
            self.children = children

    def _reset_steps(self) -> None:
        for name in ("confirm_cancel", "confirm_down"):
            if name in self._made:
                self._made[name].reset()

    def update(self, row: ExternalRow, origin: str, now: float | None = None) -> None:
        """Show ``row`` (a newer answer for the same reference, or another row); sends only what changed.
        A question asked of the row shown before (Confirm cancel?, Yes, tear down) is withdrawn."""
        if (row.kind, row.ref) != (self.row.kind, self.row.ref):
            self._reset_steps()
        self.row, self.origin = row, origin
        if row.kind != self._kind:
            self._dom_classes = tuple(c for c in self._dom_classes if c != f"skx-ext-{self._kind}") + (
                f"skx-ext-{row.kind}",)
            self._kind = row.kind
            self._arrange()
        value = cells_html(row_texts(row, origin, now))
        if self.cells.value != value:
            self.cells.value = value
        cancel = self.cancel_button
        if cancel is not None:
            cancel.disabled = row.terminal
            if row.terminal and self.confirm_cancel is not None:
                self.confirm_cancel.reset()

    def close(self) -> None:
        self._reset_steps()
        for name, made in self._made.items():
            if name.startswith("confirm_"):
                close_widgets(made.no)  # its own layout (shown, hidden), style
            else:
                made.close()
        self.cells.close()
        if self._own_parts:
            self.parts.close()
        super().close()


def close_tree(widget: widgets.Widget) -> None:
    """Close ``widget`` and everything shown in it: its children (boxes), layouts and styles."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    close_widgets(widget)


def close_widgets(*items: widgets.Widget) -> None:
    """Close each widget with its layout and style (each is a widget of its own, kept in ipywidgets'
    registry until closed)."""
    for item in items:
        for part in (getattr(item, "layout", None), getattr(item, "style", None), item):
            if isinstance(part, widgets.Widget):
                part.close()


#: The buttons of each kind, in order; the actions (buttons and their questions) shown per kind.
_BUTTONS = {"cluster": ("down",), "job": ("watch", "cancel"), "managed": ("watch", "cancel")}
_ACTIONS = {kind: (*names, *(f"confirm_{n}" for n in names if n != "watch")) for kind, names in _BUTTONS.items()}
