"""Job log files: an appending writer, and readers (whole, tail from the end, follow)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

_BLOCK = 64 * 1024


class LogWriter:
    """Appends to a log file; every write is flushed at once (readers in other processes see it)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def write_bytes(self, data: bytes) -> None:
        """Append raw bytes (complete lines, ideally)."""
        if not data:
            return
        with self._lock:
            view = memoryview(data)
            while view:  # an unbuffered write may be partial
                written = self._file.write(view)
                view = view[written:]

    def write(self, text: str) -> None:
        """Append text as UTF-8."""
        self.write_bytes(text.encode("utf-8", errors="replace"))

    def write_line(self, line: str) -> None:
        """Append one line (a newline is added)."""
        self.write(line.rstrip("\n") + "\n")

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def read_text(path: Path | str) -> str:
    """The whole log ('' if it does not exist yet)."""
    try:
        return _decode(Path(path).read_bytes())
    except FileNotFoundError:
        return ""


def tail_lines(path: Path | str, n: int, end: int | None = None) -> list[str]:
    """The last ``n`` lines (without newlines) before byte ``end`` (default: the file's end),
    reading blocks from the end of the file."""
    if n <= 0:
        return []
    try:
        f = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return []
    with f:
        size = f.seek(0, os.SEEK_END)
        end = size if end is None else min(end, size)
        pos, data = end, b""
        while pos > 0 and data.count(b"\n") <= n:
            step = min(_BLOCK, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [_decode(line) for line in lines[-n:]]


def follow(
    path: Path | str,
    done: Callable[[], bool],
    poll: float = 0.05,
    from_start: bool = True,
    offset: int | None = None,
) -> Iterator[str]:
    """Yield complete lines as they are appended, until ``done()`` and the file is drained.

    Args:
        path: The log file (it may not exist yet).
        done: True once nothing more will be written (checked only when the file is idle).
        poll: Seconds to sleep when there is nothing new.
        from_start: Start at the beginning of the file (else at its current end).
        offset: Start at this byte offset (overrides ``from_start``).

    A last line without a newline is yielded once the writer is done.
    """
    path = Path(path)
    if offset is None:
        offset = 0 if from_start else (path.stat().st_size if path.exists() else 0)
    partial = b""
    handle = None
    try:
        finished = False
        while True:
            if handle is None and path.exists():
                handle = open(path, "rb")  # noqa: SIM115 - closed in finally
                handle.seek(offset)
            data = handle.read(_BLOCK * 4) if handle is not None else b""
            if data:
                lines = (partial + data).split(b"\n")
                partial = lines.pop()
                for line in lines:
                    yield _decode(line)
                continue
            if finished:
                if partial:
                    yield _decode(partial)
                return
            if done():
                finished = True  # one more pass drains what was written before done()
                continue
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()
