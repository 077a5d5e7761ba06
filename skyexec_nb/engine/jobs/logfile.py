"""Job log files: an appending writer, and readers (whole, tail from the end, follow).

Everything is linear in the log's size whatever its line lengths (a 50 MB line is one line).
A log deleted, replaced or truncated under a running job is said so, in one line starting
``skyexec_nb:``: the writer notices its file is gone and goes on in a new file at the same path
(its first line says so), and :func:`follow` tells its reader what happened instead of going
silent.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

_BLOCK = 64 * 1024
_MAX_BLOCK = 8 * 1024 * 1024
#: Seconds between the writer's checks that its path still names its file (a replaced file);
#: a deleted file is noticed before every write (``fstat``: its link count drops to 0).
CHECK_EVERY = 1.0
#: Characters of a line shown by :func:`cap_line` (views must not choke on a 50 MB line).
DISPLAY_CHARS = 10_000
NOTICE = "skyexec_nb:"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def deleted_notice(path: Path | str) -> str:
    """The line a follower gets when the log file it reads is deleted under it."""
    return (f"{NOTICE} the log file {path} was deleted while the job ran; "
            "output from then on goes to a new file at that path")


def truncated_notice(path: Path | str) -> str:
    """The line a follower gets when the log file it reads shrinks below what it has read."""
    return f"{NOTICE} the log file {path} was truncated; following from its new end"


def replaced_notice(path: Path | str) -> str:
    """The line a follower gets when another file takes the log file's place."""
    return f"{NOTICE} the log file {path} was replaced by another file; following that file from its start"


def missing_notice(path: Path | str) -> str:
    """What a reader gets instead of '' for the log of a job that had one and lost it."""
    return f"{NOTICE} the log file {path} was deleted; the job's output before that is not kept"


def reopened_notice() -> str:
    """The first line the writer puts in the new file after its log file was deleted."""
    return f"{NOTICE} the earlier log file of this job was deleted (noticed at {_now()}); output from then on follows"


def cap_line(line: str, limit: int = DISPLAY_CHARS) -> str:
    """``line`` cut to ``limit`` characters for display, saying how much was left out."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]} … [{len(line) - limit:,} more characters; full line in the log file]"


class LogWriter:
    """Appends to a log file; every write is flushed at once (readers in other processes see it).

    Before every write it checks that its file was not deleted (one ``fstat``), and at most
    every :data:`CHECK_EVERY` seconds that its path still names its file; if the file was
    deleted or replaced, it appends to a file at that path (created if needed, with
    :func:`reopened_notice` as first line), so output keeps being kept.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = self._open()
        self._checked = time.monotonic()

    def _open(self):  # noqa: ANN202 - an unbuffered binary file
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        self._id = _file_id(os.fstat(handle.fileno()))
        return handle

    def _ensure_file(self) -> None:
        """Reopen at the path when the file was deleted or replaced (lock held)."""
        try:
            same = _file_id(os.stat(self.path)) == self._id
        except FileNotFoundError:
            same = False
        except OSError:
            return
        if same:
            return
        try:
            handle = self._open()
        except OSError:
            return  # e.g. the job dir is gone and cannot be made again: keep the old handle
        self._file.close()
        self._file = handle
        if os.fstat(handle.fileno()).st_size == 0:  # another writer may have said it already
            self._write_all((reopened_notice() + "\n").encode())

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # an unbuffered write may be partial
            written = self._file.write(view)
            view = view[written:]

    def write_bytes(self, data: bytes) -> None:
        """Append raw bytes (complete lines, ideally)."""
        if not data:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= CHECK_EVERY or os.fstat(self._file.fileno()).st_nlink == 0:
                self._checked = now
                self._ensure_file()
            self._write_all(data)

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


def _file_id(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _decode(data: bytes | bytearray) -> str:
    return data.decode("utf-8", errors="replace")


def read_text(path: Path | str) -> str:
    """The whole log ('' if it does not exist yet)."""
    try:
        return _decode(Path(path).read_bytes())
    except FileNotFoundError:
        return ""


def tail_lines(path: Path | str, n: int, end: int | None = None, cap: int | None = None) -> list[str]:
    """The last ``n`` lines (without newlines) before byte ``end`` (default: the file's end),
    reading blocks from the end of the file (linear in what is read, whatever the line lengths).

    ``cap``: cut each line to that many characters for display (see :func:`cap_line`).
    """
    if n <= 0:
        return []
    try:
        f = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return []
    with f:
        size = f.seek(0, os.SEEK_END)
        end = size if end is None else min(end, size)
        pos, blocks, newlines, block_size = end, [], 0, _BLOCK
        while pos > 0 and newlines <= n:
            step = min(block_size, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            blocks.append(block)
            newlines += block.count(b"\n")
            block_size = min(block_size * 2, _MAX_BLOCK)  # long lines: fewer, bigger reads
    data = b"".join(reversed(blocks))
    if not data:
        return []
    stop = len(data) - 1 if data.endswith(b"\n") else len(data)
    out: list[str] = []
    while len(out) < n and stop >= 0:  # the last n lines, found from the end (no split of it all)
        start = data.rfind(b"\n", 0, stop) + 1
        if start == 0 and pos > 0:
            break  # the first line read is incomplete (only when more than n lines were read)
        out.append(_decode(data[start:stop]))
        stop = start - 1
    out.reverse()
    return out if cap is None else [cap_line(line, cap) for line in out]


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

    A last line without a newline is yielded once the writer is done. When the file is idle,
    its path is checked: a file deleted (:func:`deleted_notice`; a new file at the path is then
    followed from its start), replaced (:func:`replaced_notice`) or truncated below what was
    read (:func:`truncated_notice`; following resumes at its new end) gives one notice line.
    """
    path = Path(path)
    if offset is None:
        offset = 0 if from_start else (path.stat().st_size if path.exists() else 0)
    partial = bytearray()
    handle = None
    try:
        finished = False
        while True:
            if handle is None:
                try:
                    handle = open(path, "rb")  # noqa: SIM115 - closed in finally
                except FileNotFoundError:
                    pass
                else:
                    handle.seek(offset)
            data = handle.read(_BLOCK * 4) if handle is not None else b""
            if data:
                offset += len(data)
                cut = data.rfind(b"\n")
                if cut < 0:
                    partial += data
                    continue
                head, partial = bytes(partial) + data[:cut], bytearray(data[cut + 1:])
                for line in head.split(b"\n"):
                    yield _decode(line)
                continue
            if handle is not None:
                notice, reopen_at = _changed(path, handle, offset)
                if notice is not None:
                    if partial:
                        yield _decode(partial)
                        partial = bytearray()
                    yield notice
                    handle.close()
                    handle, offset = None, reopen_at
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


def _changed(path: Path, handle, offset: int) -> tuple[str | None, int]:  # noqa: ANN001
    """(notice, offset to go on from) when ``path`` no longer is the file ``handle`` reads."""
    mine = os.fstat(handle.fileno())
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return deleted_notice(path), 0
    if _file_id(now) != _file_id(mine):
        if mine.st_nlink == 0:  # deleted, and a new file already took its place
            return deleted_notice(path), 0
        return replaced_notice(path), 0
    if now.st_size < offset:
        return truncated_notice(path), now.st_size
    return None, offset
