"""The log pane: a live, append-only view of a job's log (anywidget; front end in ``log_pane_front.js``).

Traffic: :meth:`LogPane.update` (called by the owner's tick, ~10/s) polls the :class:`LogTail`
and sends only the lines that are new, as one custom message (``{"t": "a", ...}``), at most one
per :data:`MIN_INTERVAL`. A message carries at most :data:`BATCH_CHARS` characters of text: under
a flood it says how many lines it skipped (the full log stays on disk) and sends the newest lines,
so traffic is proportional to new output and bounded. The front end appends to its DOM (never
replaces it, so a selection survives updates), keeps at most ``tail_lines`` lines and follows the
bottom unless the reader scrolled up (a ``column-reverse`` scroll box: its scroll origin is the
bottom, and the browser's scroll anchoring holds a scrolled-up view; tests/e2e/test_browser_log_scroll.py).
The tail itself is not synced state: a newly attached front
end says ``hello`` and gets the current tail (``reset``). A short ``snapshot`` (synced, rare)
is what a notebook saved with its widget state shows without a kernel.

Lines keep their ANSI colours (rendered by the front end as DOM nodes, never as HTML), progress
bars (``\\r``) stay one updating line, and SkyPilot's multi-node prefixes become ``[rank]`` with a
rank selector (``text_for(rank)`` gives the same filter for static text).

Copy, download and open (the choice, and why): *Copy* puts the lines shown (of the selected rank)
on the clipboard (the whole log when the pane holds all of it). *Download* asks the kernel, which
streams the full file in chunks (binary buffers) that the browser saves as a Blob: it works
whatever the state dir and wherever the server's root is. *Open* opens the file through the
Jupyter server's ``/files/`` route when the log lies under the server's root, else shows the same
kernel-streamed Blob in a new browser tab (falling back to a download when a popup is blocked).
"""
from __future__ import annotations

import html
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from skyexec_nb.views.files_link import files_url
from skyexec_nb.views.log_tail import Entry, LogTail

__all__ = ["LogPane", "LogTail"]

MIN_INTERVAL = 0.095  # seconds between two append messages (~10 per second at most)
BATCH_CHARS = 5_000  # characters of log text in one message at most (~50 KB/s under a flood)
SNAPSHOT_LINES = 50  # lines kept in the synced snapshot (saved widget state)
SNAPSHOT_EVERY = 10.0  # seconds between two snapshot syncs while the log grows
CHUNK_BYTES = 1 << 20  # bytes per message when the kernel streams the full log


def _pack(entries: list[Entry]) -> dict[str, Any]:
    """``{"l": texts}`` plus ``"r": ranks`` when any line has a rank."""
    out: dict[str, Any] = {"l": [t for _, t in entries]}
    if any(r is not None for r, _ in entries):
        out["r"] = [r for r, _ in entries]
    return out


def _within_budget(entries: list[Entry], budget: int) -> list[Entry]:
    """The newest entries whose text fits ``budget`` characters (at least one, cut to fit)."""
    chosen: list[Entry] = []
    for rank, text in reversed(entries):
        if len(text) > budget:
            if not chosen:
                chosen.append((rank, text[:budget] + " …[cut]"))
            break
        budget -= len(text) + 1
        chosen.append((rank, text))
    chosen.reverse()
    return chosen


def skip_note(lines: int, unread_bytes: int = 0) -> str:
    """The marker shown where lines were not sent: how many, and where the rest is."""
    what = f"{lines:,} line{'s' if lines != 1 else ''}" if lines else ""
    if unread_bytes:
        what += f"{' and ' if what else ''}{unread_bytes / 2**20:.1f} MiB"
    return f"… {what} skipped here — the full log is on disk (Download)"


class LogPane(anywidget.AnyWidget):
    """A live view of a :class:`LogTail` (CSS ``skx-log-pane``; the scroll box is ``skx-log``).

    Args:
        tail: the tail to follow (its ``max_lines`` bounds the front end's DOM too).
        max_height: CSS height of the scroll box.
    """

    _esm = Path(__file__).with_name("log_pane_front.js")
    _css = Path(__file__).with_name("log_pane_front.css")

    tail_lines = traitlets.Int(2000).tag(sync=True)
    max_height = traitlets.Unicode("360px").tag(sync=True)
    ranks = traitlets.List(traitlets.Int()).tag(sync=True)
    has_file = traitlets.Bool(False).tag(sync=True)
    file_name = traitlets.Unicode("job.log").tag(sync=True)
    files_url = traitlets.Unicode("").tag(sync=True)
    snapshot = traitlets.Dict().tag(sync=True)

    def __init__(self, tail: LogTail, *, max_height: str = "360px", **kwargs: Any) -> None:
        super().__init__(tail_lines=tail.max_lines, max_height=max_height, has_file=bool(tail.path),
                         file_name=os.path.basename(tail.path or "") or "job.log", **kwargs)
        self.layout.width = "100%"
        self.add_class("skx-log-pane")
        self.tail = tail
        self._lock = threading.RLock()
        self._sent_total = 0  # tail.total as of the last message
        self._sent_pending: Entry | None = None
        self._sent_resets = 0
        self._sent_skipped_bytes = 0
        self._last_send = 0.0
        self._snapshot_version = -1
        self._last_snapshot = 0.0
        self.sent_messages = 0  # append/reset messages sent (for benchmarks and tests)
        self.on_msg(self._on_front_end_message)

    # -- the kernel side of the stream -------------------------------------------------------
    def update(self, final: bool = False) -> bool:
        """Poll the file and send what is new (one message at most); True if sent or still due.

        ``final`` (the job ended): once nothing is left to send, sync the snapshot one last time.
        """
        with self._lock:
            self.tail.poll()
            if self.tail.resets != self._sent_resets:
                self._send_reset(None)
                return True
            new_count = self.tail.total - self._sent_total
            pending = self.tail.pending_entry
            unread = self.tail.skipped_bytes - self._sent_skipped_bytes
            if not new_count and pending == self._sent_pending and not unread:
                self._maybe_snapshot(final)
                return False
            now = time.monotonic()
            if now - self._last_send < MIN_INTERVAL:
                return True  # due at the next tick
            entries, lost = self.tail.since(self._sent_total)
            budget = BATCH_CHARS - (min(len(pending[1]), BATCH_CHARS // 4) if pending else 0)
            shown = _within_budget(entries, budget)
            skipped = lost + len(entries) - len(shown)
            message = {"t": "a", **_pack(shown), "p": self._pending_out(pending)}
            if skipped or unread:
                message["s"] = skip_note(skipped, unread)
            self._sent_total, self._sent_pending = self.tail.total, pending
            self._sent_skipped_bytes = self.tail.skipped_bytes
            self._last_send = now
            self._emit(message)
            self._sync_ranks()
            if now - self._last_snapshot >= SNAPSHOT_EVERY:
                self._maybe_snapshot(True)
            return True

    @staticmethod
    def _pending_out(pending: Entry | None) -> list | None:
        if pending is None:
            return None
        rank, text = pending
        return [rank, text if len(text) <= BATCH_CHARS // 4 else "…" + text[-(BATCH_CHARS // 4):]]

    def _emit(self, message: dict[str, Any], buffers: list | None = None) -> None:
        self.sent_messages += 1
        self.send(message, buffers)

    def _sync_ranks(self) -> None:
        if len(self.tail.ranks) != len(self.ranks):
            self.ranks = sorted(self.tail.ranks)

    def _send_reset(self, view: str | None) -> None:
        """The whole current tail, to one new front end (``view``) or to all (file replaced)."""
        pending = self.tail.pending_entry
        message = {"t": "reset", "to": view, **_pack(list(self.tail.entries)), "p": self._pending_out(pending),
                   "c": self.tail.complete}
        if not self.tail.complete:
            message["s"] = skip_note(max(0, self.tail.total - len(self.tail.entries)), self.tail.skipped_bytes)
        self._sent_total, self._sent_pending = self.tail.total, pending
        self._sent_resets, self._sent_skipped_bytes = self.tail.resets, self.tail.skipped_bytes
        self._last_send = time.monotonic()
        self._emit(message)
        self._sync_ranks()

    def _maybe_snapshot(self, due: bool) -> None:
        """Sync the last lines as widget state (what a saved notebook shows) when due and stale."""
        if not due or self._snapshot_version == self.tail.version:
            return
        self._snapshot_version, self._last_snapshot = self.tail.version, time.monotonic()
        rows = list(self.tail.entries)[-SNAPSHOT_LINES:]
        if self.tail.pending_entry is not None:
            rows.append(self.tail.pending_entry)
        self.snapshot = {**_pack(rows), "complete": self.tail.complete and len(rows) >= len(self.tail.entries)}

    # -- requests from the front end ---------------------------------------------------------
    def _on_front_end_message(self, _widget: Any, content: dict[str, Any], _buffers: list) -> None:
        kind = content.get("t") if isinstance(content, dict) else None
        if kind == "hello":
            with self._lock:
                self.tail.poll()
                self._send_reset(str(content.get("view") or ""))
            self._locate()
        elif kind == "fetch":
            self.stream_file(str(content.get("id") or uuid.uuid4().hex))

    def _locate(self) -> None:
        """Set ``files_url`` when the Jupyter server can serve the log (checked when a view attaches)."""
        if self.tail.path and not self.files_url:
            try:
                self.files_url = files_url(self.tail.path) or ""
            except (OSError, ValueError):
                self.files_url = ""

    def stream_file(self, request: str) -> None:
        """Send the full log file to the front end in chunks (``{"t": "file", ...}`` + one buffer each)."""
        path, sent, seq = self.tail.path, 0, 0
        try:
            with open(path or "", "rb") as f:
                size = os.fstat(f.fileno()).st_size
                while True:
                    chunk = f.read(min(CHUNK_BYTES, max(0, size - sent)))
                    sent += len(chunk)
                    last = not chunk or sent >= size
                    self.send({"t": "file", "id": request, "seq": seq, "last": last, "size": size}, [chunk])
                    seq += 1
                    if last:
                        return
        except OSError as exc:
            self.send({"t": "file", "id": request, "seq": seq, "last": True, "error": f"Could not read the log: {exc}"})

    # -- static text -------------------------------------------------------------------------
    def text_for(self, rank: int | None = None) -> str:
        """The tail as plain text (only node ``rank``'s lines when given)."""
        with self._lock:
            return self.tail.text_for(rank)

    @property
    def value(self) -> str:
        """The tail as escaped ``<pre class="skx-log-text">`` (static HTML, no colours)."""
        return f'<pre class="skx-log-text" style="margin:0;white-space:pre-wrap">{html.escape(self.text_for())}</pre>'
