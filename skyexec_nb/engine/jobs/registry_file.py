"""The registry's file (``state_dir/jobs.db``): open it, notice when it changed under us, recover it.

* missing, or emptied to 0 bytes: a new one is made silently (job ids still never reuse a job
  directory: see :meth:`skyexec_nb.engine.jobs.registry.Registry.insert`);
* corrupt (not a database, malformed): moved aside to ``jobs.db.corrupt-<time>`` (with its
  ``-wal``/``-shm``), a new one is made, and the user is told in one line (a
  :class:`RegistryWarning`, also kept as :attr:`RegistryFile.notice`);
* unusable (read-only, locked past the busy timeout, disk full, a path that cannot be a
  directory): a one-line :class:`RegistryError` naming the file and what to do.

Every open and recovery holds ``jobs.db.lock`` (``flock``), so processes never race to recover.
An old connection whose ``-wal``/``-shm`` names now belong to a newer file is never closed
(SQLite would delete them by name on close); it is kept open until the process exits.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import sqlite3
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from skyexec_nb.model.errors import SkyExecError

_SIDE_FILES = ("-wal", "-shm")
_HEADER = b"SQLite format 3\x00"
_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_SQLITE_IOERR = 10
_ADVICE = {
    "permission": "check its permissions and its directory's, or set SKYEXEC_NB_HOME to a writable directory",
    "busy": "another process holds it locked; retry, or end the process holding it",
    "full": "free space on its file system, or set SKYEXEC_NB_HOME to another disk",
    "path": "a part of the path is a file, not a directory; set SKYEXEC_NB_HOME to a directory",
    "other": "check the file and its disk, or set SKYEXEC_NB_HOME to another directory",
}
_KIND_OF_CODE = {3: "permission", 8: "permission", 14: "permission", 23: "permission", 5: "busy",
                 6: "busy", 13: "full"}
_KIND_OF_ERRNO = {errno.EACCES: "permission", errno.EPERM: "permission", errno.EROFS: "permission",
                  errno.ENOSPC: "full", errno.EDQUOT: "full", errno.ENOTDIR: "path", errno.EEXIST: "path"}


class RegistryError(SkyExecError):
    """The job registry cannot be used; one line naming the file and what to do."""

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: the one line."""
        return [f"{type(self).__name__}: {self}"]


class RegistryWarning(UserWarning):
    """The job registry was found corrupt and replaced (the old one is kept aside)."""


def is_corrupt(exc: BaseException) -> bool:
    """True for SQLite's "file is not a database" / "database disk image is malformed"."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES
    return any(text in str(exc) for text in ("not a database", "malformed"))


def is_suspect(exc: BaseException) -> bool:
    """True when a connection's file may have gone bad under it (corrupt, or a disk I/O error):
    worth one retry on a freshly opened (or recovered) file."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    return is_corrupt(exc) or code == _SQLITE_IOERR


def registry_error(exc: BaseException, path: Path, action: str) -> RegistryError:
    """A one-line :class:`RegistryError` for an sqlite3 or OS error met using ``path``."""
    if isinstance(exc, sqlite3.Error):
        kind = _KIND_OF_CODE.get((getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF, "other")
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    else:
        kind = _KIND_OF_ERRNO.get(getattr(exc, "errno", None), "other")
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
    error = RegistryError(f"Cannot {action} the job registry {path}: {reason} — {_ADVICE[kind]}")
    error.cause = exc
    return error


def _ident(path: Path | str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


@dataclass
class Handle:
    """One thread's connection and the files it was opened on."""

    conn: sqlite3.Connection
    ident: tuple[int, int]
    side: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    mtime_ns: int = 0
    opened: float = field(default_factory=time.time)


_kept_open: list[sqlite3.Connection] = []
_head_fds: dict[tuple[int, int], int] = {}


def _read_head(path: Path) -> bytes | None:
    """The first bytes of ``path`` (None when it does not exist), read through a descriptor that
    is never closed: closing any descriptor of a file drops every POSIX lock this process holds
    on it, SQLite's included, and another process could then delete our ``-wal`` on its close."""
    ident = _ident(path)
    if ident is None:
        return None
    fd = _head_fds.get(ident)
    if fd is None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        st = os.fstat(fd)
        fd = _head_fds.setdefault((st.st_dev, st.st_ino), fd)  # a race lost: keep both open
    return os.pread(fd, len(_HEADER), 0)


class RegistryFile:
    """Opens healthy connections to ``path`` and recovers the file when it is lost or corrupt."""

    def __init__(self, path: Path, schema: str, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.schema = schema
        self.busy_timeout = busy_timeout
        self.notice: str | None = None
        self._told: set[str] = set()  # moved-aside files this process has told about
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise registry_error(exc, path, "create the directory of") from None

    # -- opening -------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise registry_error(exc, self.path, "open") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def open(self) -> Handle:
        """A new connection to a healthy file (made or recovered as needed)."""
        with self._locked():
            return self._open_locked()

    def _open_locked(self) -> Handle:
        self._drop_stale()
        if not self._has_header():  # a live -wal could hide it from SQLite until a checkpoint
            self._move_aside("file is not a database")
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            self._move_aside((str(exc).strip().splitlines() or ["corrupt"])[0])
            return self._connect()

    def _connect(self) -> Handle:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(self.schema)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens -wal/-shm
        except BaseException:
            conn.close()
            raise
        st = os.stat(self.path)
        side = {suffix: _ident(f"{self.path}{suffix}") for suffix in _SIDE_FILES}
        return Handle(conn, (st.st_dev, st.st_ino), side, st.st_mtime_ns)

    def _drop_stale(self) -> None:
        """A missing or 0-byte file: its ``-wal``/``-shm`` belong to what was lost; remove them."""
        try:
            empty = os.stat(self.path).st_size == 0
        except FileNotFoundError:
            empty = None
        if empty is False:
            return
        for name in [self.path] * bool(empty) + [Path(f"{self.path}{s}") for s in _SIDE_FILES]:
            try:
                name.unlink()
            except FileNotFoundError:
                pass

    def _move_aside(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        for suffix in ("", *_SIDE_FILES):
            try:
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            except FileNotFoundError:
                pass
        self._told.add(aside.name)
        self._tell(f"The job registry {self.path} was unreadable ({reason}): moved it aside to "
                   f"{aside.name} and started a new one; new job ids continue after the existing "
                   f"job directories.")

    def _tell(self, notice: str) -> None:
        self.notice = notice
        warnings.warn(notice, RegistryWarning, stacklevel=2)

    # -- staying healthy -------------------------------------------------------------------------
    def check(self, handle: Handle) -> str | None:
        """Why ``handle`` must be replaced ("changed" or "corrupt"), or None while it is current."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "changed"
        if (st.st_dev, st.st_ino) != handle.ident or st.st_size == 0:
            return "changed"
        if st.st_mtime_ns != handle.mtime_ns:  # written outside SQLite? check the header
            if not self._has_header():
                return "corrupt"
            handle.mtime_ns = st.st_mtime_ns
        return None

    def _has_header(self) -> bool:
        """False when the file exists, is not empty and does not start as an SQLite database."""
        head = _read_head(self.path)
        return head is None or head in (b"", _HEADER)

    def recover(self, handle: Handle | None, corrupt: bool) -> Handle:
        """Replace ``handle``: move a (still) corrupt file aside first, then open the current file."""
        with self._locked():
            reason = self._corruption() if corrupt else None
            if reason is not None:
                self._move_aside(reason)
            self._drop_stale()  # before closing: a close may checkpoint into the file at ``path``
            if handle is not None:
                self.release(handle, locked=True)
                if reason is None:
                    self._notice_from_others(handle.opened)
            return self._open_locked()

    def _corruption(self) -> str | None:
        """Why the file at ``path`` is corrupt now, or None (healthy, empty or gone)."""
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return None
        if not self._has_header():
            return "file is not a database"
        probe = sqlite3.connect(self.path, timeout=self.busy_timeout)
        try:
            rows = probe.execute("PRAGMA quick_check").fetchall()
            return None if rows == [("ok",)] else f"integrity check: {rows[0][0]}"
        except sqlite3.DatabaseError as exc:
            return str(exc).strip().splitlines()[0] if is_corrupt(exc) else None
        finally:
            probe.close()

    def _notice_from_others(self, since: float) -> None:
        """Tell this process too when another process moved a corrupt file aside since ``since``."""
        for aside in self.path.parent.glob(f"{self.path.name}.corrupt-*"):
            if aside.name.endswith(_SIDE_FILES) or aside.name in self._told:
                continue
            if aside.stat().st_ctime >= since - 2.0:  # file times are coarser than time.time()
                self._told.add(aside.name)
                self._tell(f"The job registry {self.path} was found unreadable by another process "
                           f"and moved aside to {aside.name}; a new one was started.")
                return

    def release(self, handle: Handle, locked: bool = False) -> None:
        """Close ``handle``'s connection, unless its ``-wal``/``-shm`` names now belong to a newer
        file: SQLite would delete those on close, so the connection is kept open for good."""
        if not locked:
            with self._locked():
                return self.release(handle, locked=True)
        names = {suffix: _ident(f"{self.path}{suffix}") for suffix in _SIDE_FILES}
        if all(now is None or now == handle.side.get(suffix) for suffix, now in names.items()):
            try:
                handle.conn.close()
            except sqlite3.Error:
                pass
            return
        _kept_open.append(handle.conn)
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(handle.conn))  # not even closed at exit
