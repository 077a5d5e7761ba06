"""Keep a view's saved output true: a live widget output plus a script-free record output, updated
in place (IPython display ids) as the job changes.

Why two outputs: ``nbconvert --to html`` renders a widget output whose model is in the saved
widget state as a widget placeholder only (no text fallback; empty offline), and JupyterLab shows
"Error displaying widget: model not found" without the state. The record (text/plain + text/html,
CSS class ``skx-record``) is therefore its own output: true in the .ipynb, the HTML export, an
untrusted or kernel-less reopen. While the live widget is on the page, the widget's
:class:`StaleNote` hides the record by CSS (``:has``), so a live notebook shows the view once.
When the widget's comm dies (kernel restart), ipywidgets marks every view
``jupyter-widgets-disconnected``; the note's CSS then shows "Live view not connected … re-attach"
and dims the buttons (no JavaScript).

Updates: a view calls :meth:`RecordedView.record_changed` when its state changed (the ticker
thread); the record is re-sent at most every ``RECORD_EVERY`` seconds, at once when ``force``.
nbclient keeps only messages sent while a cell runs, so a ``post_run_cell`` hook (main thread,
parented to the finished cell) re-syncs every displayed view's widget state and record: after a
last cell that waits for the job, the executed notebook holds the final state.
"""
from __future__ import annotations

import html
import threading
import time
import weakref
from typing import Any

import ipywidgets as widgets

#: Seconds between two record updates of one view (status changes and the final state go at once).
RECORD_EVERY = 2.0


def _display(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)


class StaleNote(widgets.HTML):
    """Hidden while connected; "Live view not connected … run ``hint``" once the comm is dead.

    Carries the CSS that hides the view's record while the live widget is shown, and that dims
    the view's buttons (they cannot reach a dead kernel) once disconnected.
    """

    def __init__(self, root_class: str) -> None:
        super().__init__()
        self.add_class("skx-stale")
        self.root_class = root_class

    def set_text(self, text: str, uid: str) -> None:
        """The message shown when disconnected; ``uid`` is the view's model id (its record's class)."""
        uid = html.escape(uid or "none")
        root = self.root_class
        css = (f".skx-record-{uid}, .jp-OutputArea-child:has(.skx-record-{uid}) {{display:none !important}}"
               ".skx-stale .skx-stale-msg {display:none}"
               ".skx-stale.jupyter-widgets-disconnected .skx-stale-msg {display:block}"
               f".{root}:has(.skx-stale.jupyter-widgets-disconnected) button {{opacity:.45;pointer-events:none}}"
               f".{root} .jupyter-widgets-disconnected::before, .{root}.jupyter-widgets-disconnected::before"
               " {display:none !important}")  # one message, not a broken-link icon per widget
        value = (f"<style>{css}</style><div class='skx-stale-msg' style='color:#842029;background:#f8d7da;"
                 f"border-radius:4px;padding:2px 8px;font-weight:600'>{html.escape(text)}</div>")
        if self.value != value:
            self.value = value


class RecordedView:
    """Mixin of a view widget with a record output (see the module docstring).

    Subclasses implement :meth:`record_parts` (``(text, html_body, job_id)``) and may implement
    :meth:`sync_state` (re-read the engine into the widget's traits, on the calling thread).
    """

    _record_lock: threading.RLock
    record_parent: "RecordedView | None" = None

    def _init_record(self) -> None:
        self._record_lock = threading.RLock()
        self._record_handles: list[Any] = []
        self._record_sent: dict[str, str] | None = None
        self._record_in_cell: dict[str, str] | None = None
        self._record_last = 0.0
        self._record_dirty = False

    # -- to implement ----------------------------------------------------------------------------
    def record_parts(self) -> tuple[str, str, Any]:
        """``(text/plain, html body, job id or None)`` of the view now."""
        raise NotImplementedError

    def sync_state(self) -> None:
        """Bring the widget's traits up to date now (default: nothing)."""

    # -- bundles ---------------------------------------------------------------------------------
    def record_bundle(self) -> dict[str, str]:
        """The record output's bundle: text/plain and text/html (no scripts)."""
        from skyexec_nb.views.static_repr import wrap_html

        text, body, job_id = self.record_parts()
        return {"text/plain": text, "text/html": wrap_html(body, self.model_id or "none", job_id)}

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view plus text fallbacks (used when shown without a display id)."""
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle.update(self.record_bundle())
        return bundle

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live widget, then its record under a display id kept for updates."""
        widget_bundle = dict(super()._repr_mimebundle_() or {})  # type: ignore[misc]
        view = widget_bundle.get("application/vnd.jupyter.widget-view+json")
        if view is None:  # no widget front end: the record alone
            _display(self.record_bundle(), raw=True)
            return
        _display({"application/vnd.jupyter.widget-view+json": view,
                  "text/plain": f"{type(self).__name__} (live view; its saved record follows)"}, raw=True)
        bundle = self.record_bundle()
        handle = _display(bundle, raw=True, display_id=True)
        with self._record_lock:
            self._record_handles.append(handle)
            self._record_sent = bundle
            if get_keeper().cell_running:
                self._record_in_cell = bundle
        get_keeper().add(self)

    # -- updates ---------------------------------------------------------------------------------
    def record_changed(self, force: bool = False) -> None:
        """The view's state changed: update the record now if ``force`` or due, else soon."""
        parent = self.record_parent
        if parent is not None:
            parent.record_changed(force)
        if not self._record_handles:
            return
        with self._record_lock:
            self._record_dirty = True
            if force or time.monotonic() - self._record_last >= RECORD_EVERY:
                self.flush_record()

    def record_due(self) -> None:
        """Send a pending update whose time has come (the owner's tick calls this)."""
        if self._record_dirty and time.monotonic() - self._record_last >= RECORD_EVERY:
            with self._record_lock:
                self.flush_record()

    def flush_record(self, in_cell: bool | None = None) -> bool:
        """Re-send the record if it changed (or if it was never sent while a cell ran); True if sent."""
        with self._record_lock:
            self._record_dirty = False
            self._record_last = time.monotonic()
            if not self._record_handles:
                return False
            bundle = self.record_bundle()
            in_cell = get_keeper().cell_running if in_cell is None else in_cell
            if bundle == self._record_sent and (not in_cell or bundle == self._record_in_cell):
                return False
            for handle in self._record_handles:
                handle.update(bundle, raw=True)
            self._record_sent = bundle
            if in_cell:
                self._record_in_cell = bundle
            return True


def resend_widget_state(root: widgets.Widget) -> int:
    """Send the whole state of ``root`` and its descendants again (anywidget front ends excepted:
    their code is large and their own messages carry their content). Returns the widgets sent."""
    count, stack, seen = 0, [root], set()
    while stack:
        widget = stack.pop()
        if id(widget) in seen or getattr(widget, "comm", None) is None:
            continue
        seen.add(id(widget))
        stack.extend(getattr(widget, "children", ()) or ())
        if not widget.has_trait("_esm"):
            widget.send_state()
            count += 1
    return count


class RecordKeeper:
    """Every displayed :class:`RecordedView` of this kernel, and the ``post_run_cell`` re-sync."""

    def __init__(self) -> None:
        self._views: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()
        self._shell: Any = None
        self.cell_running = False

    def add(self, view: RecordedView) -> None:
        """Keep ``view``'s record true after each cell."""
        with self._lock:
            self._views.add(view)
        self._hook()

    def _hook(self) -> None:
        if self._shell is not None:
            return
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None:
            return
        self._shell = shell
        self.cell_running = True  # we are inside the cell that displayed the first view
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)

    def _pre_run_cell(self, *_: Any) -> None:
        self.cell_running = True

    def post_run_cell(self, *_: Any) -> None:
        """Main thread, still parented to the cell that ran: sync widget state and records."""
        with self._lock:
            views = list(self._views)
        for view in views:
            try:
                live = getattr(view, "comm", None) is not None
                if live:
                    view.sync_state()
                if view.flush_record(in_cell=True) and live:
                    resend_widget_state(view)  # what changed between cells reaches the saved state too
            except Exception:  # a broken view must not break the user's cell
                pass
        self.cell_running = False

    def unhook(self) -> None:
        """Stop listening to cell events (tests)."""
        if self._shell is not None:
            for name, fn in (("pre_run_cell", self._pre_run_cell), ("post_run_cell", self.post_run_cell)):
                try:
                    self._shell.events.unregister(name, fn)
                except ValueError:
                    pass
            self._shell = None


_keeper: RecordKeeper | None = None
_keeper_lock = threading.Lock()


def get_keeper() -> RecordKeeper:
    """The process-wide keeper."""
    global _keeper
    with _keeper_lock:
        if _keeper is None:
            _keeper = RecordKeeper()
        return _keeper
