"""The log pane: an incremental, bounded tail of a log file, and its HTML view.

:class:`LogTail` (no widgets) reads only the bytes appended since its last poll and keeps the
last ``max_lines`` lines in a deque, so memory stays bounded however long the job runs.
:class:`LogPane` renders the tail as escaped ``<pre>`` in an ``HTML`` widget (CSS class
``skx-log``) and is updated by the owner's tick: one comm message per tick at most.
"""
from __future__ import annotations

import html
import os
from collections import deque

import ipywidgets as widgets

from skyexec_nb.model.sky_module import strip_ansi

#: Longest line kept (characters); longer lines are cut with a marker.
MAX_LINE_CHARS = 10_000


def _clean(line: str) -> str:
    """Drop ANSI escapes and carriage-return overwrites (progress bars keep their last state)."""
    line = strip_ansi(line)
    if "\r" in line:
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS] + " …[line cut]"
    return line


class LogTail:
    """The last ``max_lines`` lines of a growing file, read incrementally.

    Args:
        path: the log file (it may not exist yet).
        max_lines: lines kept.
        max_catch_up: most bytes read in one poll; when more is unread (a pane opened on a
            big log, or a flood), the reader skips to the last ``max_catch_up`` bytes.
    """

    def __init__(self, path: str | os.PathLike | None, max_lines: int = 2000, max_catch_up: int | None = None) -> None:
        self.path = os.fspath(path) if path else None
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.max_catch_up = max_catch_up or max(1 << 20, max_lines * 1024)
        self.offset = 0  # bytes of the file consumed
        self.version = 0  # bumped whenever ``lines`` changes
        self.skipped_bytes = 0
        self._partial = b""

    def poll(self) -> bool:
        """Read what was appended since the last poll; True when the tail changed."""
        if not self.path:
            return False
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:  # truncated or replaced: start again
                    self.offset, self._partial = 0, b""
                    self.lines.clear()
                    self.version += 1
                unread = size - self.offset
                if unread <= 0:
                    return False
                if unread > self.max_catch_up:
                    self.skipped_bytes += unread - self.max_catch_up
                    self.offset = size - self.max_catch_up
                    self._partial = b""
                    self.lines.clear()
                    self.version += 1
                    f.seek(self.offset)
                    f.readline()  # resynchronise on a line boundary
                    self.offset = f.tell()
                else:
                    f.seek(self.offset)
                data = f.read(size - self.offset)
        except FileNotFoundError:
            return False
        self.offset += len(data)
        return self._feed(data)

    def _feed(self, data: bytes) -> bool:
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE_CHARS * 4:  # a huge line without newline: show it cut
            complete.append(self._partial)
            self._partial = b""
        if not complete:
            return False
        keep = complete[-self.lines.maxlen:] if self.lines.maxlen else complete
        self.lines.extend(_clean(b.decode("utf-8", "replace")) for b in keep)
        self.version += 1
        return True

    @property
    def pending(self) -> str:
        """The last line written without its newline yet."""
        return _clean(self._partial.decode("utf-8", "replace"))

    @property
    def text(self) -> str:
        """The tail as text (complete lines, then the pending partial line if any)."""
        body = "\n".join(self.lines)
        pending = self.pending
        return f"{body}\n{pending}" if pending and body else (body or pending)


class LogPane(widgets.HTML):
    """An HTML view of a :class:`LogTail` that sticks to the bottom while the user does not scroll up.

    The widget's own DOM node is the scroll container: ``overflow: auto`` with a ``max_height``,
    and ``display: flex; flex-flow: column-reverse``. In a column-reverse flex box the scroll
    origin is the bottom edge (``scrollTop`` 0 at the bottom, negative above), so the browser
    keeps the view pinned to the newest line as content grows. Once the user scrolls up, the
    view is held by the browser's scroll anchoring (CSS ``overflow-anchor: auto``, the default):
    a constant offset from the bottom alone would drift by the height of every new batch, and
    anchoring grows the offset by exactly that much, even though each update replaces the
    ``<pre>`` (innerHTML). Proven in Chromium by tests/e2e/test_browser_log_scroll.py (with
    ``overflow-anchor: none`` the reader's view drifts). A browser without scroll anchoring
    would still follow at the bottom but let a scrolled-up view drift. No JavaScript needed.
    """

    def __init__(self, tail: LogTail, *, max_height: str = "360px", **kwargs) -> None:
        layout = widgets.Layout(
            overflow="auto", max_height=max_height, display="flex", flex_flow="column-reverse", width="100%"
        )
        super().__init__(value=self._render(""), layout=layout, **kwargs)
        self.add_class("skx-log")
        self.tail = tail
        self._shown_version = -1
        self._shown_pending = ""

    @staticmethod
    def _render(text: str) -> str:
        return f'<pre class="skx-log-text" style="margin:0;white-space:pre-wrap">{html.escape(text)}</pre>'

    def update(self) -> bool:
        """Poll the file and push the tail if it changed (one message); True if sent."""
        self.tail.poll()
        pending = self.tail.pending
        if self.tail.version == self._shown_version and pending == self._shown_pending:
            return False
        self._shown_version, self._shown_pending = self.tail.version, pending
        self.value = self._render(self.tail.text)
        return True
