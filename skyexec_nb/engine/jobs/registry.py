"""The durable job registry: one SQLite (WAL) table at ``state_dir/jobs.db``.

Columns of ``jobs`` (JSON columns are decoded by :meth:`Registry.get`):

============== ======= ==========================================================
id             INTEGER user-facing job id (autoincrement)
name           TEXT    job name
backend        TEXT    "local", "skypilot", "jobs"
cluster        TEXT    cluster name
app_id         TEXT    ``skyexec_nb___<cluster>___<name>___<id>``
status         TEXT    a :class:`JobStatus` value; a terminal status is final
created        REAL    epoch seconds; ``started`` / ``ended`` likewise (or NULL)
exit_codes     JSON    {rank: code}, negative for signals
error          TEXT    one line, or NULL
log_path       TEXT    the job's log file
job_dir        TEXT    the job's directory
supervisor_pid INTEGER pid of the job's supervisor process
node_pgids     JSON    [pgid, ...] of node process groups (local backend)
config         JSON    the SkyPilot task dict
launch_options JSON    cluster_name, autodown, idle_minutes, retry_until_up, extras
extra          JSON    free dict for backends/views (sky request id, endpoints, cost, ...)
updated        REAL    epoch seconds of the last write (the monitor watches it)
============== ======= ==========================================================

Safe from many threads (a connection per thread) and processes (WAL, busy timeout). A job id
names one job forever: ids never reuse an existing job directory, whatever happened to the file
(missing, emptied or corrupt: see :mod:`skyexec_nb.engine.jobs.registry_file`).
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from skyexec_nb.engine.jobs.registry_file import (  # noqa: F401  (RegistryWarning: re-exported)
    RegistryError,
    RegistryFile,
    RegistryWarning,
    is_suspect,
    registry_error,
)
from skyexec_nb.engine.jobs.status import TERMINAL, JobStatus
from skyexec_nb.model.limits import MAX_JOB_ID

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, backend TEXT NOT NULL, cluster TEXT, app_id TEXT,
    status TEXT NOT NULL, created REAL NOT NULL, started REAL, ended REAL,
    exit_codes TEXT, error TEXT, log_path TEXT, job_dir TEXT,
    supervisor_pid INTEGER, node_pgids TEXT, config TEXT, launch_options TEXT,
    extra TEXT, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_name ON jobs(name);
CREATE INDEX IF NOT EXISTS jobs_limits_group ON jobs(json_extract(launch_options, '$.limits.group'));
"""
JSON_COLUMNS = frozenset({"exit_codes", "node_pgids", "config", "launch_options", "extra"})
COLUMNS = (
    "id", "name", "backend", "cluster", "app_id", "status", "created", "started", "ended",
    "exit_codes", "error", "log_path", "job_dir", "supervisor_pid", "node_pgids", "config",
    "launch_options", "extra", "updated",
)
_WRITABLE = frozenset(COLUMNS) - {"id", "extra"}
_TERMINAL_VALUES = tuple(s.value for s in TERMINAL)
_STARTED_ON = frozenset({JobStatus.SETTING_UP, JobStatus.RUNNING})
_CLAIM_TRIES = 20
_ID_DIGITS = len(str(MAX_JOB_ID)) - 1  # a directory name with more digits is no job id
_T = TypeVar("_T")


def _encode(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS and value is not None:
        return json.dumps(value, default=str)
    if isinstance(value, JobStatus):
        return value.value
    return value


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for column in JSON_COLUMNS:
        out[column] = json.loads(out[column]) if out[column] else None
    out["status"] = JobStatus(out["status"])
    out["exit_codes"] = {int(k): v for k, v in (out["exit_codes"] or {}).items()}
    out["extra"] = out["extra"] or {}
    out["node_pgids"] = out["node_pgids"] or []
    return out


class Registry:
    """Read and write job rows; every write is one transaction that stamps ``updated``.

    Args:
        path: The database file (``state_dir/jobs.db``); job directories live beside it, in ``jobs/``.
        busy_timeout: Seconds a write waits for another process's transaction.

    Raises:
        RegistryError: (every method) the file cannot be used: one line naming it and what to do.
    """

    def __init__(self, path: Path | str, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.jobs_dir = self.path.parent / "jobs"
        self._file = RegistryFile(self.path, _SCHEMA, busy_timeout)
        self._local = threading.local()
        self._run(lambda conn: None, "open")  # creates (or recovers) the file and its schema

    @property
    def notice(self) -> str | None:
        """The one line telling the user the registry was found corrupt and replaced, if it was."""
        return self._file.notice

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection to the current file (reopened when the file was replaced)."""
        handle = getattr(self._local, "handle", None)
        problem = "changed" if handle is None else self._file.check(handle)
        if problem is not None:
            self._local.handle = None  # released by recover(), whatever happens next
            opened = self._file.open() if handle is None else self._file.recover(handle, problem == "corrupt")
            self._local.handle = handle = opened
        return handle.conn

    def _run(self, op: Callable[[sqlite3.Connection], _T], action: str) -> _T:
        """``op(conn)``, retried once on a freshly recovered file when SQLite finds it corrupt."""
        for attempt in (1, 2):
            try:
                if attempt == 2:  # this connection's file may have gone bad: check it, reopen
                    handle, self._local.handle = getattr(self._local, "handle", None), None
                    self._local.handle = self._file.recover(handle, True)
                return op(self._connect())
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # a bug, not the file
            except sqlite3.DatabaseError as exc:
                if attempt == 1 and is_suspect(exc):
                    continue
                raise registry_error(exc, self.path, action) from None
            except OSError as exc:
                raise registry_error(exc, self.path, action) from None
        raise AssertionError("unreachable")

    def insert(self, derive: Callable[[int], dict[str, Any]] | None = None, *, claim_dir: bool = False,
               **fields: Any) -> int:
        """Write a new row (``created``/``updated`` stamped) and return its id.

        ``derive(id) -> fields`` adds fields that need the id (app_id, paths) in the same transaction.
        With ``claim_dir`` the job's directory ``jobs/<id>`` is created in the same transaction, and
        an id whose directory exists (a lost or replaced registry's job) is never given out: the
        ids continue after the highest existing one.
        """
        now = time.time()
        fields.setdefault("created", now)
        fields["updated"] = now
        fields.setdefault("extra", {})
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown registry columns: {sorted(unknown)}")
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        values = [_encode(k, v) for k, v in fields.items()]

        def op(conn: sqlite3.Connection) -> int:
            claimed: Path | None = None
            with _Transaction(conn):
                try:
                    if claim_dir:
                        self._skip_taken_ids(conn)
                    job_id = int(conn.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", values).lastrowid)
                    if claim_dir:
                        claimed = self._claim_dir(job_id)
                    if derive is not None:
                        self._apply(conn, job_id, derive(job_id))
                except BaseException:
                    if claimed is not None:
                        shutil.rmtree(claimed, ignore_errors=True)
                    raise
            return job_id

        for _ in range(_CLAIM_TRIES):
            try:
                return self._run(op, "write")
            except _Taken:  # made by someone outside this registry since the check: skip it
                continue
        raise RegistryError(f"Cannot claim a new job directory under {self.jobs_dir}: every id tried "
                            f"was taken — check what keeps creating directories there")

    def _skip_taken_ids(self, conn: sqlite3.Connection) -> None:
        """Move the id sequence past every numeric job directory when the next id's exists."""
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone()
        seq = row[0] if row is not None else 0
        if not os.path.lexists(self.jobs_dir / str(seq + 1)):
            return
        with os.scandir(self.jobs_dir) as entries:
            taken = [int(e.name) for e in entries if e.name.isdigit() and len(e.name) <= _ID_DIGITS]
        highest = max([seq, *taken])
        if row is None:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)", (highest,))
        else:
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'jobs'", (highest,))

    def _claim_dir(self, job_id: int) -> Path:
        job_dir = self.jobs_dir / str(job_id)
        try:
            os.mkdir(job_dir)  # atomic: exactly one job ever gets it
        except FileExistsError:
            raise _Taken(job_dir) from None
        except FileNotFoundError:  # the first job of a state dir (or jobs/ removed): make it, once
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            return self._claim_dir(job_id)
        return job_dir

    def get(self, job_id: int) -> dict[str, Any] | None:
        """The decoded row of ``job_id`` or None (also for an id no registry can hold)."""
        job_id = int(job_id)
        if not 0 < job_id <= MAX_JOB_ID:
            return None
        row = self._run(lambda conn: conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone(), "read")
        return _decode(row) if row is not None else None

    def rows(self, where: str = "", params: tuple = (), order: str = "id") -> list[dict[str, Any]]:
        """Decoded rows matching an SQL ``where`` clause (trusted, internal use), ordered by id."""
        sql = "SELECT * FROM jobs" + (f" WHERE {where}" if where else "") + f" ORDER BY {order}"
        return [_decode(r) for r in self._run(lambda conn: conn.execute(sql, params).fetchall(), "read")]

    def active(self) -> list[dict[str, Any]]:
        """Rows of every non-terminal job."""
        marks = ", ".join("?" for _ in _TERMINAL_VALUES)
        return self.rows(f"status NOT IN ({marks})", _TERMINAL_VALUES)

    def versions(self, ids: list[int]) -> dict[int, tuple[str, float]]:
        """{id: (status, updated)} of the given jobs: a cheap change probe for the monitor."""
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        sql = f"SELECT id, status, updated FROM jobs WHERE id IN ({marks})"
        rows = self._run(lambda conn: conn.execute(sql, tuple(ids)).fetchall(), "read")
        return {r["id"]: (r["status"], r["updated"]) for r in rows}

    def find(self, name: str) -> dict[str, Any] | None:
        """The newest job named ``name``, or None."""
        found = self.rows("name = ?", (name,), order="id DESC LIMIT 1")
        return found[0] if found else None

    def last(self) -> dict[str, Any] | None:
        """The newest job, or None."""
        found = self.rows(order="id DESC LIMIT 1")
        return found[0] if found else None

    def update(self, job_id: int, **fields: Any) -> None:
        """Set columns; keys that are not columns (and ``extra=``) merge into ``extra``."""

        def op(conn: sqlite3.Connection) -> None:
            with _Transaction(conn):
                self._apply(conn, job_id, fields)

        self._run(op, "write")

    def set_status(self, job_id: int, status: JobStatus | str, **fields: Any) -> bool:
        """Move a job to ``status`` (plus ``fields``) unless it is already terminal.

        Stamps ``started`` on the first SETTING_UP/RUNNING and ``ended`` on a terminal status.
        Returns True if applied, False if the row was terminal (a terminal status is final) or absent.
        """
        status = JobStatus(status)

        def op(conn: sqlite3.Connection) -> bool:
            with _Transaction(conn):
                row = conn.execute("SELECT status, started, ended FROM jobs WHERE id = ?",
                                   (int(job_id),)).fetchone()
                if row is None or row["status"] in _TERMINAL_VALUES:
                    return False
                now = time.time()
                changes = {"status": status, **fields}
                if status in _STARTED_ON and row["started"] is None:
                    changes.setdefault("started", now)
                if status in TERMINAL and row["ended"] is None:
                    changes.setdefault("ended", now)
                self._apply(conn, job_id, changes)
                return True

        return self._run(op, "write")

    @staticmethod
    def _apply(conn: sqlite3.Connection, job_id: int, fields: dict[str, Any]) -> None:
        columns = {k: v for k, v in fields.items() if k in _WRITABLE}
        extra = {k: v for k, v in fields.items() if k not in _WRITABLE and k != "extra"}
        extra.update(fields.get("extra") or {})
        if extra:
            current = conn.execute("SELECT extra FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
            merged = json.loads(current["extra"] or "{}") if current is not None else {}
            merged.update(extra)
            columns["extra"] = merged
        columns["updated"] = time.time()
        assignments = ", ".join(f"{k} = ?" for k in columns)
        conn.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ?",
            [*(_encode(k, v) for k, v in columns.items()), int(job_id)],
        )

    def close(self) -> None:
        """Close this thread's connection."""
        handle = getattr(self._local, "handle", None)
        if handle is not None:
            self._local.handle = None
            self._file.release(handle)


class _Taken(Exception):
    """A job directory exists already: its id belongs to another job."""


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error); inside another transaction a
    savepoint, so a failed inner write is undone whole while the outer one goes on."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = not conn.in_transaction

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE" if self.outer else "SAVEPOINT registry_write")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT" if self.outer else "RELEASE registry_write")
                return
            except BaseException:
                self._undo()
                raise
        self._undo()

    def _undo(self) -> None:
        try:
            if self.outer:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            else:
                self.conn.execute("ROLLBACK TO registry_write")
                self.conn.execute("RELEASE registry_write")
        except sqlite3.Error:
            pass  # the error that got here is the one to report


_registries: dict[Path, Registry] = {}
_lock = threading.Lock()


def get_registry() -> Registry:
    """The Registry of the current settings' state dir (one object per path per process)."""
    from skyexec_nb.engine.jobs.settings import get_settings

    path = get_settings().state_path / "jobs.db"
    with _lock:
        registry = _registries.get(path)
        if registry is None:
            registry = _registries[path] = Registry(path)
        return registry
