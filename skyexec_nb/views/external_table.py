"""The external table (CSS ``skx-external``): everything the SkyPilot API server knows, wherever it
was launched (``%skyjobs --all``).

A :class:`~skyexec_nb.engine.skyapi.external.Listing` fills it in the background; the shared
ticker (:mod:`skyexec_nb.views.refresher`) shows what has arrived at most every ``interval``
seconds, so neither the listing nor the rendering runs on the kernel's main thread. The status
line (``skx-external-status``) says what is loading, the counts when complete, or in one line why
the API server could not be asked. Rows (:mod:`~skyexec_nb.views.external_row`): active work first,
newest first; ``max_rows`` at a time (``skx-external-more`` shows more), narrowed by the filter
(``skx-external-filter``: words matched against name, user, status, cluster, kind).
Watch opens a live launch panel below (``skx-external-detail``) through the ``attached`` backend,
which records the job so the notebook finds it again after a restart. Cancel and Tear down run
off the kernel's thread; their outcome, or SkyPilot's refusal, is one line (``skx-external-message``).
Its saved record (the rows shown, as a plain table) is updated in place.
"""
from __future__ import annotations

import heapq
import html
import operator
import threading
import time
from collections import Counter
from typing import Any

import ipywidgets as widgets

from skyexec_nb.engine.jobs.registry import get_registry  # imported here, not in the ticker thread (GIL)
from skyexec_nb.engine.skyapi.external import Listing, Snapshot, cancel_job, down_cluster, freeze_imports
from skyexec_nb.engine.skyapi.external_rows import ExternalRow
from skyexec_nb.views.actions import run_action
from skyexec_nb.views.external_row import (ExternalRowView, SharedParts, close_tree, close_widgets, header_html,
                                           row_texts)
from skyexec_nb.views.record import RecordedView, StaleNote
from skyexec_nb.views.refresher import Refresher, get_refresher
from skyexec_nb.views.status_badge import badge_html

STALE = "Live view not connected (kernel restarted or notebook reopened): run %skyjobs --all to re-attach."


_KIND = operator.attrgetter("kind")


def sort_key(row: ExternalRow) -> tuple:
    """Active work first, then newest first; clusters before their jobs at equal times."""
    return (not row.active, -(row.started or 0.0), row.kind != "cluster", row.ref)


def matches(row: ExternalRow, words: list[str]) -> bool:
    """Every word appears in the row's name, user, status, cluster or kind."""
    hay = " ".join([row.name, row.user, row.status, row.cluster or "", row.kind, row.ref]).lower()
    return all(word in hay for word in words)


def own_jobs() -> dict[str, int]:
    """References of work this notebook's registry knows, to its job id (launched here or attached)."""
    found: dict[str, int] = {}
    for row in get_registry().rows("backend IN ('skypilot', 'jobs', 'attached')"):
        extra = row.get("extra") or {}
        if extra.get("attached"):
            found.setdefault(str(extra["attached"]), row["id"])
        elif extra.get("managed_job_id") is not None:
            found[f"jobs:{extra['managed_job_id']}"] = row["id"]
        elif extra.get("sky_job_id") is not None and row.get("cluster"):
            found[f"{row['cluster']}:{extra['sky_job_id']}"] = row["id"]
    return found


def _named(action: Any, arg: str) -> Any:
    """``action(arg)``; SkyPilot's error re-raised with its class name in the message (one line)."""
    from skyexec_nb.model.sky_module import one_line_error

    try:
        return action(arg)
    except Exception as exc:
        raise RuntimeError(one_line_error(exc)) from None


class ExternalTable(RecordedView, widgets.VBox):
    """Clusters, their jobs and managed jobs of every user, marked "launched elsewhere".

    Args:
        listing: the listing to show (default: a new one, started at once).
        max_rows: rows shown at a time ("Show more" adds as many).
        interval: seconds between two renderings while answers arrive.
        refresher: the ticker (default the process-wide one).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> ExternalTable:
        freeze_imports()  # before this table exists: once closed, it is collected as usual
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *, listing: Listing | None = None, max_rows: int = 25, interval: float = 0.2,
                 refresher: Refresher | None = None) -> None:
        self.max_rows, self.page, self.interval = max_rows, max_rows, interval
        self._init_record()
        self._refresher = refresher or get_refresher()
        self._lock = threading.RLock()
        self.rows: dict[str, ExternalRowView] = {}  # the views shown, by row (ref + kind)
        self._spare: list[ExternalRowView] = []  # views not shown now, to show other rows
        self._parts = SharedParts()  # the rows' layouts and styles
        self.shown: list[ExternalRow] = []
        # the last ranking: ids of the rows ranked, the rows shown, (filter words, page)
        self._ranked: tuple[set[int], list[ExternalRow], tuple] = (set(), [], ())
        self._snapshot: Snapshot | None = None
        self._version = -1
        self._rendered_at = 0.0
        self._own: dict[str, int] = {}
        self._message = ""
        self.first_rows_at: float | None = None  # time.monotonic() when rows were first shown
        self.complete_at: float | None = None  # ... and when the complete listing was shown
        self.status_line = widgets.HTML()
        self.status_line.add_class("skx-external-status")
        self.filter = widgets.Text(placeholder="filter: name, user, state, cluster", continuous_update=True,
                                   layout=widgets.Layout(width="22em"))
        self.filter.add_class("skx-external-filter")
        self.filter.observe(lambda _: self._rerender(), "value")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", layout=widgets.Layout(width="auto"),
                                             tooltip="Ask the SkyPilot API server again")
        self.refresh_button.add_class("skx-external-refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.header = widgets.HTML(header_html(), layout=widgets.Layout(flex="0 0 auto"))
        self.body = widgets.VBox()
        self.body.add_class("skx-external-rows")
        self.more_button = widgets.Button(description="Show more", layout=widgets.Layout(width="auto", display="none"))
        self.more_button.add_class("skx-external-more")
        self.more_button.on_click(lambda _: self.show_more())
        self.message = widgets.HTML()
        self.message.add_class("skx-external-message")
        self.detail = widgets.VBox()
        self.detail.add_class("skx-external-detail")
        self.stale = StaleNote("skx-external")
        toolbar = widgets.HBox([self.refresh_button, self.filter, self.status_line],
                               layout=widgets.Layout(align_items="center"))
        super().__init__([self.stale, toolbar, self.header, self.body, self.more_button, self.message, self.detail])
        self.add_class("skx-external")
        self.stale.set_text(STALE, self.model_id)
        self.listing = listing or Listing(on_change=self._listing_changed)
        if listing is not None:
            listing.on_change = self._listing_changed
        if not self.listing.started:
            self.listing.start()
        self._refresher.register(self)
        self._render()

    # -- engine side -----------------------------------------------------------------------------
    def _listing_changed(self) -> None:
        """From the listing's thread: nothing but a flag; the ticker renders."""

    def refresh(self) -> None:
        """Ask the API server again (the rows shown stay until the new answers arrive)."""
        with self._lock:
            self.listing.stop()
            self.listing = Listing(on_change=self._listing_changed).start()
            self._version = -1
        self._refresher.register(self)

    # -- rendering -------------------------------------------------------------------------------
    def tick(self) -> bool:
        """Render what arrived (at most every ``interval`` s); False once closed."""
        if self.comm is None:
            return False
        now = time.monotonic()
        snapshot = self.listing.snapshot()
        first = self.first_rows_at is None and bool(snapshot.rows)  # the first rows go out at once
        if snapshot.version != self._version and (first or now - self._rendered_at >= self.interval):
            self._render(snapshot)
        elif now - self._rendered_at >= 5.0:  # durations of active work move on
            self._render(snapshot)
        else:
            self.record_due()
        return True

    def _rerender(self) -> None:
        with self._lock:
            self.page = self.max_rows
        self._render()

    def show_more(self) -> None:
        """Show ``max_rows`` more rows."""
        with self._lock:
            self.page += self.max_rows
        self._render()

    def _render(self, snapshot: Snapshot | None = None) -> None:
        with self._lock:
            snapshot = snapshot or self.listing.snapshot()
            if snapshot.version != self._version:
                self._own = own_jobs() if snapshot.rows else {}
            before = self._snapshot  # alive until ranked: the ids of its rows stay theirs
            self._snapshot, self._version, self._rendered_at = snapshot, snapshot.version, time.monotonic()
            words = self.filter.value.lower().split()
            rows = [r for r in snapshot.rows if matches(r, words)] if words else snapshot.rows
            shown = self._top(rows, words)
            del before
            views = self._views_for(shown)
            if list(self.body.children) != views:
                self.body.children = views
            self.shown = shown
            more = len(rows) - len(shown)
            self.more_button.description = f"Show more ({more} not shown)"
            self.more_button.layout.display = "" if more > 0 else "none"
            self._set(self.status_line, self._status_html(snapshot, len(rows)))
            if shown and self.first_rows_at is None:
                self.first_rows_at = time.monotonic()
            if snapshot.state in ("complete", "failed") and self.complete_at is None:
                self.complete_at = time.monotonic()
        self.record_changed(force=snapshot.state in ("complete", "failed"))

    def _top(self, rows: tuple[ExternalRow, ...] | list[ExternalRow], words: list[str]) -> list[ExternalRow]:
        """The first ``page`` rows in :func:`sort_key` order. Ranked again from the rows shown before
        and the rows that arrived since (a few hundred, not 12,000 Python calls per rendering), unless
        a row shown before is gone (replaced) or the filter or page changed: then all of them.
        (Never a full sort: it holds the GIL ~50 ms for 12,000 rows, in C comparisons.)"""
        present = set(map(id, rows))
        seen, top, how = self._ranked
        if how == (tuple(words), self.page) and all(id(r) in present for r in top):
            candidates = top + [r for r in rows if id(r) not in seen]
        else:
            candidates = rows
        shown = heapq.nsmallest(self.page, candidates, key=sort_key)
        self._ranked = (present, shown, (tuple(words), self.page))
        return shown

    def _views_for(self, shown: list[ExternalRow]) -> list[ExternalRowView]:
        """A view per row shown: the row's own view if it has one, else a spare one (of the same
        kind first) shows it; a new view only when none is spare. Views are closed only with the
        table (or when more are spare than a page needs), so rows that move cost no widgets."""
        now = time.time()
        keys = [row.ref + row.kind for row in shown]
        for gone in set(self.rows) - set(keys):
            self._spare.append(self.rows.pop(gone))
        views = []
        for key, row in zip(keys, shown, strict=True):
            origin = f"this notebook: job {self._own[row.ref]}" if row.ref in self._own else ""
            view = self.rows.get(key)
            if view is None and self._spare:
                same = [i for i, v in enumerate(self._spare) if v.row.kind == row.kind]
                view = self._spare.pop(same[-1] if same else -1)
            if view is None:
                view = ExternalRowView(row, on_watch=self.watch, on_cancel=self.cancel, on_down=self.down,
                                       parts=self._parts)
            self.rows[key] = view
            view.update(row, origin, now)
            views.append(view)
        while len(self._spare) > max(self.page, self.max_rows):
            self._spare.pop().close()
        return views

    @staticmethod
    def _set(widget: widgets.HTML, value: str) -> None:
        if widget.value != value:
            widget.value = value

    @staticmethod
    def counts(rows: tuple[ExternalRow, ...]) -> dict[str, int]:
        """Rows per kind: clusters, jobs, managed."""
        return {"cluster": 0, "job": 0, "managed": 0, **Counter(map(_KIND, rows))}

    def summary_text(self, snapshot: Snapshot, matching: int | None = None) -> str:
        """One line: what is known (and whether more is coming), or why nothing could be."""
        if snapshot.error:
            return snapshot.error
        if snapshot.state == "connecting":
            return "Asking the SkyPilot API server…"
        n = self.counts(snapshot.rows)
        text = (f"{n['cluster']} clusters, {n['job']} jobs on clusters, {n['managed']} managed jobs"
                + (f" (logged in as {snapshot.user})" if snapshot.user else ""))
        if matching is not None and matching < len(snapshot.rows):
            text += f"; {matching} match the filter"
        if snapshot.notes:
            text += f"; {len(snapshot.notes)} part{'s' if len(snapshot.notes) != 1 else ''} unreadable"
        return text + (" — loading…" if snapshot.state == "loading" else "")

    def _status_html(self, snapshot: Snapshot, matching: int) -> str:
        text = html.escape(self.summary_text(snapshot, matching))
        notes = html.escape("\n".join(snapshot.notes[:20]))
        style = "color:#dc3545;font-weight:600" if snapshot.error else "color:var(--jp-ui-font-color2,#6c757d)"
        return f'<span style="{style}" title="{notes}">{text}</span>'

    # -- actions ---------------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        self._message = text
        colour = "#dc3545" if error else "var(--jp-ui-font-color2,#6c757d)"
        self._set(self.message, f'<span style="color:{colour};font-weight:{600 if error else 400}">'
                                f"{html.escape(text)}</span>" if text else "")

    def watch(self, row: ExternalRow) -> Any:
        """Record ``row``'s job as attached and show its live launch panel below; returns the Job."""
        from skyexec_nb.engine.backends.attached import attach
        from skyexec_nb.views.launch_panel import LaunchPanel

        try:
            job = attach(row.ref, row)
        except Exception as exc:  # a registry that cannot be written: one line, nothing lost
            self._say(f"Watch {row.ref} failed: {' '.join(str(exc).split())}", error=True)
            return None
        for old in self.detail.children:
            old.close()
            close_tree(old)
        self.detail.children = [LaunchPanel(job)]
        self._say(f"Watching {row.ref} as job {job.id} (%skylogs {job.id} finds it again)")
        self._own[row.ref] = job.id
        self._render()
        return job

    def cancel(self, row: ExternalRow) -> threading.Thread:
        """Ask SkyPilot to cancel ``row``'s job, off the kernel's thread; the outcome is one line."""
        self._say(f"Cancelling {row.ref}…")
        return run_action(f"Cancel {row.ref}", lambda: _named(cancel_job, row.ref), lambda error: self._done(
            error, f"Asked SkyPilot to cancel {row.ref}"))

    def down(self, row: ExternalRow) -> threading.Thread:
        """Tear ``row``'s cluster down, off the kernel's thread; the outcome is one line."""
        self._say(f"Tearing down cluster {row.name}…")
        return run_action(f"Tear down {row.name}", lambda: _named(down_cluster, row.name), lambda error: self._done(
            error, f"Cluster {row.name} torn down"))

    def _done(self, error: str, success: str) -> None:
        if error:
            error = " ".join(error.split())
        self._say(error or success, error=bool(error))
        if not error:
            self.refresh()

    # -- record ----------------------------------------------------------------------------------
    def record_parts(self) -> tuple[str, str, Any]:
        """The rows shown, as a plain table, under the status line."""
        snapshot = self._snapshot or self.listing.snapshot()
        summary = self.summary_text(snapshot)
        texts = [row_texts(r, f"this notebook: job {self._own[r.ref]}" if r.ref in self._own else "")
                 for r in self.shown]
        columns = ("ref", "kind", "user", "status", "resources", "started", "duration", "cost", "origin")
        lines = [summary, *("  " + " | ".join(t[c] for c in columns) for t in texts)]
        if self._message:
            lines.append(self._message)
        cells = "".join("<tr>" + "".join(f"<td>{badge_html(t[c]) if c == 'status' else html.escape(t[c])}</td>"
                                          for c in columns) + "</tr>" for t in texts)
        head = "".join(f"<th style='text-align:left'>{c.title()}</th>" for c in columns)
        body = (f"<div>{html.escape(summary)}</div>"
                + (f"<table class='skx-record-external'><tr>{head}</tr>{cells}</table>" if texts else ""))
        return "\n".join(lines), body, None

    def sync_state(self) -> None:
        """Show what has arrived now (the record keeper calls this after each cell)."""
        self._render()

    def close(self) -> None:
        """Stop listing and close every child widget."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if not hasattr(self, "listing"):  # __init__ did not get that far (from __del__)
            super().close()
            return
        self.listing.stop()
        self._refresher.unregister(self)
        for view in [*self.rows.values(), *self._spare]:
            view.close()
        self.rows.clear()
        self._spare.clear()
        self._parts.close()
        for child in self.detail.children:
            child.close()  # the live panel's own clean-up first (it stops following the job)
            close_tree(child)
        # every widget of the table: one left open (in ipywidgets' registry) keeps the table alive
        close_widgets(*self.children[1].children, *self.children, self.layout)
        super().close()
