"""An incremental, bounded tail of a growing log file (no widgets).

:class:`LogTail` reads only the bytes appended since its last poll and keeps the last
``max_lines`` lines as ``(rank, text)`` entries (see :mod:`~skyexec_nb.views.log_lines`), so
memory stays bounded however long the job runs. ``total`` counts every complete line read, which
lets a reader ask "what is new since line N" (:meth:`since`) and know how many it missed.
"""
from __future__ import annotations

import os
from collections import deque

from skyexec_nb.views.log_lines import MAX_LINE_CHARS, clean_line, plain, rank_prefix_length

Entry = tuple[int | None, str]


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
        self.max_lines = max_lines
        self.entries: deque[Entry] = deque(maxlen=max_lines)
        self.max_catch_up = max_catch_up or max(1 << 20, max_lines * 1024)
        self.offset = 0  # bytes of the file consumed
        self.version = 0  # bumped whenever the tail changes
        self.total = 0  # complete lines read since the start (or the last reset), kept or not
        self.resets = 0  # times the file was truncated or replaced (the tail started again)
        self.skipped_bytes = 0  # bytes never read (catch-up jumps)
        self.ranks: set[int] = set()  # node ranks seen
        self._partial = b""

    def poll(self) -> bool:
        """Read what was appended since the last poll; True when the tail changed."""
        if not self.path:
            return False
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:  # truncated or replaced: start again
                    self.offset, self._partial, self.total, self.skipped_bytes = 0, b"", 0, 0
                    self.entries.clear()
                    self.resets += 1
                    self.version += 1
                unread = size - self.offset
                if unread <= 0:
                    return False
                if unread > self.max_catch_up:
                    self.skipped_bytes += unread - self.max_catch_up
                    self.offset = size - self.max_catch_up
                    self._partial = b""
                    f.seek(self.offset)
                    self.offset += len(f.readline())  # resynchronise on a line boundary
                    self.version += 1
                else:
                    f.seek(self.offset)
                data = f.read(size - self.offset)
        except FileNotFoundError:
            return False
        self.offset += len(data)
        return self._feed(data)

    def _feed(self, data: bytes) -> bool:
        data = self._partial + data
        *complete, partial = data.split(b"\n")
        if len(partial) > MAX_LINE_CHARS and b"\r" in partial.rstrip(b"\r"):  # a long-redrawn progress bar
            head = partial.rstrip(b"\r")  # keep its rank prefix and last state only
            partial = partial[:rank_prefix_length(partial[:200].decode("ascii", "replace"))] + partial[head.rfind(b"\r"):]
        if len(partial) > MAX_LINE_CHARS * 4:  # a huge line without newline: show it cut
            complete.append(partial)
            partial = b""
        changed = bool(complete) or partial != self._partial
        self._partial = partial
        if complete:
            self.total += len(complete)
            for raw in complete[-self.max_lines:]:
                entry = clean_line(raw.decode("utf-8", "replace"))
                self.entries.append(entry)
                if entry[0] is not None:
                    self.ranks.add(entry[0])
        if changed:
            self.version += 1
        return changed

    def since(self, seen: int) -> tuple[list[Entry], int]:
        """``(entries after line number seen, how many of those are no longer kept)``."""
        new = max(0, self.total - seen)
        kept = min(new, len(self.entries))
        return [self.entries[i] for i in range(len(self.entries) - kept, len(self.entries))], new - kept

    @property
    def pending_entry(self) -> Entry | None:
        """The last line written without its newline yet (``None`` when there is none)."""
        if not self._partial:
            return None
        rank, text = clean_line(self._partial.decode("utf-8", "replace"))
        return (rank, text) if text or rank is not None else None

    @property
    def complete(self) -> bool:
        """True while the tail still holds every line of the file."""
        return self.skipped_bytes == 0 and self.total <= len(self.entries)

    @property
    def lines(self) -> deque[str]:
        """The kept lines as plain text (short rank prefixes, no colour codes)."""
        return deque((plain(*e) for e in self.entries), maxlen=self.max_lines)

    @property
    def pending(self) -> str:
        """The pending line as plain text ("" when there is none)."""
        entry = self.pending_entry
        return "" if entry is None else plain(*entry)

    def text_for(self, rank: int | None = None) -> str:
        """The tail as plain text, only node ``rank``'s lines when given (then without prefixes)."""
        rows = list(self.entries)
        if self.pending_entry is not None:
            rows.append(self.pending_entry)
        if rank is None:
            return "\n".join(plain(*e) for e in rows)
        return "\n".join(plain(None, t) for r, t in rows if r == rank)

    @property
    def text(self) -> str:
        """The tail as text (complete lines, then the pending partial line if any)."""
        return self.text_for(None)
