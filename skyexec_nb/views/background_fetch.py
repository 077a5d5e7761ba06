"""Ask something slow (SkyPilot, a price look-up) off the kernel's thread, at most every N seconds.

A view's ``tick()`` (the shared ticker's thread) calls :meth:`BackgroundFetch.poll`: it starts
``fetch()`` in a daemon thread when due and none is running, and hands back a new answer once, when
one arrived. The kernel's main thread never waits for it; an answer arriving after ``close()`` is
dropped.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Answer:
    """One fetch's outcome: ``value`` or the one-line ``error``, and when it was asked (``time.time()``)."""

    value: Any = None
    error: str = ""
    at: float = 0.0


class BackgroundFetch:
    """``fetch()`` in a daemon thread, again every ``every`` seconds while polled.

    Args:
        fetch: the blocking call.
        every: seconds from one answer to the next ask.
        name: the thread's name (``skyexec-nb-<name>``).
    """

    def __init__(self, fetch: Callable[[], Any], every: float, name: str) -> None:
        self.fetch, self.every, self.name = fetch, every, name
        self._lock = threading.Lock()
        self._running = False
        self._closed = False
        self._answered_at: float | None = None  # time.monotonic() of the last answer
        self._new: Answer | None = None
        self.asked = 0  # fetches started so far

    def ask_soon(self) -> None:
        """Make the next :meth:`poll` ask at once (after an action changed what the answer would be)."""
        with self._lock:
            self._answered_at = None

    def poll(self) -> Answer | None:
        """Start a fetch when due; return the answer that arrived since the last poll (else None)."""
        with self._lock:
            new, self._new = self._new, None
            due = self._answered_at is None or time.monotonic() - self._answered_at >= self.every
            start = due and not self._running and not self._closed
            if start:
                self._running = True
                self.asked += 1
        if start:
            threading.Thread(target=self._run, name=f"skyexec-nb-{self.name}", daemon=True).start()
        return new

    @property
    def busy(self) -> bool:
        """True while a fetch runs."""
        with self._lock:
            return self._running

    def _run(self) -> None:
        at = time.time()
        try:
            answer = Answer(value=self.fetch(), at=at)
        except Exception as exc:  # shown in one line by the view, never lost
            answer = Answer(error=" ".join(str(exc).split()) or type(exc).__name__, at=at)
        with self._lock:
            self._running = False
            self._answered_at = time.monotonic()
            if not self._closed:
                self._new = answer

    def close(self) -> None:
        """Drop any answer still to come."""
        with self._lock:
            self._closed = True
            self._new = None
