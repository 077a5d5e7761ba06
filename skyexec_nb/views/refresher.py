"""One daemon ticker thread that refreshes every live view.

Every ``interval`` seconds (0.1 s) the ticker calls ``view.tick()`` of each registered view.
A view sends at most one update per tick, so whatever a job prints, each view costs the
kernel at most ~10 comm messages per second. ``tick()`` returns False when the view has
nothing more to follow (job terminal and log drained); the ticker then drops it. Closed
views call :meth:`Refresher.unregister`. The thread starts on the first registration and
exits when no view is left, so an idle kernel has no ticker.

Sending widget updates from this thread is safe: ipykernel's comm layer sends through the
IOPub thread, and no ``with out:`` context (bound to a cell's message) is ever used here.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Protocol

from skyexec_nb.process_wide import ProcessWide


class Tickable(Protocol):
    """What the ticker needs of a view."""

    def tick(self) -> bool:
        """Refresh the view; return False when it needs no more ticks."""


class Refresher:
    """A registry of live views and the single thread that ticks them."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._views: list[Tickable] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def register(self, view: Tickable) -> None:
        """Tick ``view`` from now on (idempotent); starts the thread if needed."""
        with self._lock:
            if view not in self._views:
                self._views.append(view)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="skyexec-nb-refresher", daemon=True)
                self._thread.start()

    def unregister(self, view: Tickable) -> None:
        """Stop ticking ``view`` (no error if it was not registered)."""
        with self._lock:
            if view in self._views:
                self._views.remove(view)

    def is_registered(self, view: Tickable) -> bool:
        """True while ``view`` is ticked."""
        with self._lock:
            return view in self._views

    @property
    def views(self) -> list[Tickable]:
        """A snapshot of the registered views."""
        with self._lock:
            return list(self._views)

    def tick_all(self) -> None:
        """One round: tick every view, drop those done or failing (errors are printed, not lost)."""
        for view in self.views:
            try:
                keep = view.tick()
            except Exception:  # a broken view must not stop the others
                print(f"skyexec_nb: view {type(view).__name__} stopped refreshing:", file=sys.stderr)
                traceback.print_exc()
                keep = False
            if not keep:
                self.unregister(view)

    def _run(self) -> None:
        while True:
            started = time.monotonic()
            self.tick_all()
            with self._lock:
                if not self._views:
                    self._thread = None
                    return
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))


_refresher: ProcessWide[Refresher] = ProcessWide(Refresher)


def get_refresher() -> Refresher:
    """The process-wide ticker."""
    return _refresher.get()
