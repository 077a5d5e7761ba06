"""Everything a SkyPilot API server knows, wherever it was launched: listed in the background.

A :class:`Listing` runs in its own daemon thread (the kernel is never blocked) and asks, in order:

1. ``sky.api_info()`` — is the server there, and who is logged in? A failure ends the listing
   with one line (:func:`server_problem`: unreachable, or not logged in: ``sky api login``);
2. ``sky.status(all_users=True)`` — every cluster (user, status, resources, autostop);
3. at once, in a small pool of threads: ``sky.jobs.queue(all_users=True, version=2)`` (managed
   jobs), ``sky.queue(cluster, all_users=True)`` of each UP cluster (its jobs), and
   ``sky.cost_report()`` (each cluster's cost so far).

Each answer is merged into the rows as it arrives (:meth:`Listing.snapshot` gives what is known
now; ``on_change`` is called from the listing's threads). A cluster whose queue cannot be read
(stopped meanwhile, not reachable) is a one-line note, not a failure. :func:`stream` is the same
listing as a generator of :class:`Batch` es, for callers that want the pieces themselves.

Rows carry SkyPilot's own state names (this package sits below the job core); references are
``CLUSTER`` (a cluster), ``CLUSTER:JOB_ID`` (a job on a cluster) and ``jobs:ID`` (a managed job).
"""
from __future__ import annotations

import dataclasses
import importlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable, Iterator

from skyexec_nb.model.sky_module import one_line_error, sdk

#: SkyPilot states after which a job changes no more (cluster jobs and managed jobs).
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "FAILED_SETUP", "FAILED_PRECHECKS", "FAILED_NO_RESOURCE",
                             "FAILED_CONTROLLER", "FAILED_DRIVER", "CANCELLED"})
#: Cluster states whose job queue can be read.
QUEUE_READABLE = frozenset({"UP", "AUTOSTOPPING"})
MANAGED_PREFIX = "jobs"
_CONTROLLER_PREFIXES = ("sky-jobs-controller-", "sky-serve-controller-")


def _get(record: Any, key: str, default: Any = None) -> Any:
    """A field of a SkyPilot record (pydantic response or dict)."""
    if isinstance(record, dict):
        return record.get(key, default)
    value = getattr(record, key, default)
    return default if value is None else value


def _state(value: Any) -> str:
    return str(getattr(value, "value", value) or "UNKNOWN")


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "", "-") else None
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class ExternalRow:
    """One cluster, job on a cluster, or managed job, as SkyPilot reports it.

    ``ref`` names it for ``%skylogs`` / ``%skystatus`` (``CLUSTER``, ``CLUSTER:ID``, ``jobs:ID``);
    ``status`` is SkyPilot's state name; times are epoch seconds; ``duration`` is SkyPilot's own
    figure when it reports one (managed jobs, the cost report), else None (see :meth:`duration_at`);
    ``cost`` (USD) only where SkyPilot reports it (clusters, from ``sky.cost_report``).
    """

    kind: str  # "cluster", "job" or "managed"
    ref: str
    name: str
    cluster: str | None
    job_id: int | None
    user: str
    user_hash: str
    status: str
    resources: str
    started: float | None
    ended: float | None = None
    duration: float | None = None
    cost: float | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    mine: bool = False

    @property
    def terminal(self) -> bool:
        """True once a job can change no more (clusters never are)."""
        return self.kind != "cluster" and self.status in TERMINAL_STATES

    @property
    def active(self) -> bool:
        """A running cluster or a job not yet ended."""
        return self.status in ("UP", "INIT", "AUTOSTOPPING") if self.kind == "cluster" else not self.terminal

    def duration_at(self, now: float | None = None) -> float | None:
        """Seconds run: SkyPilot's figure, else start to end (or to ``now`` while active)."""
        if self.duration is not None:
            return self.duration
        if self.started is None:
            return None
        if self.ended is not None:
            return max(0.0, self.ended - self.started)
        return max(0.0, (time.time() if now is None else now) - self.started) if self.active else None


@dataclasses.dataclass(frozen=True)
class Batch:
    """One piece of the listing as it arrives: rows to merge (replacing ``replaces``), or a note."""

    rows: tuple[ExternalRow, ...] = ()
    replaces: str | None = None  # a key whose earlier rows these replace ("clusters", "managed", "queue:NAME")
    note: str | None = None
    user: str | None = None  # api_info's user (first batch)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What a :class:`Listing` knows now."""

    rows: tuple[ExternalRow, ...]
    state: str  # "connecting", "loading", "complete", "failed", "stopped"
    error: str | None  # one line when the server could not be asked at all
    notes: tuple[str, ...]  # one line per part that could not be read
    user: str | None
    version: int
    answered: float | None  # time.monotonic() when the API server first answered


class ServerProblem(RuntimeError):
    """The API server could not be asked (unreachable, not logged in): one line for the user."""


def server_url(sky: Any) -> str | None:
    """The API server SkyPilot's client talks to (its ``sky api login`` / endpoint config), if known."""
    try:
        return importlib.import_module(f"{sky.__name__}.server.common").get_server_url()
    except Exception:  # noqa: BLE001 - a convenience for messages (the stand-in has none)
        return None


def server_problem(exc: BaseException, url: str | None = None) -> str:
    """One line saying why the API server could not be asked, and what to do."""
    at = f" at {url}" if url else ""
    text = one_line_error(exc)
    text = text if len(text) <= 240 else text[:239] + "…"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if type(exc).__name__ == "ApiServerAuthenticationError" or status in (401, 403):
        return (f"Not logged in to the SkyPilot API server{at}: run `sky api login"
                f"{' -e ' + url if url else ''}` ({text})")
    if type(exc).__name__ in ("ApiServerConnectionError", "ConnectionError", "Timeout") or isinstance(exc, OSError):
        return f"SkyPilot API server{at} is unreachable: {text}"
    return f"SkyPilot API server{at} could not answer: {text}"


def check_server(sky: Any | None = None) -> tuple[str | None, str | None]:
    """``sky.api_info()``: (user name, user hash) of who is logged in (None when the server has no users).

    Raises:
        ServerProblem: one line (:func:`server_problem`).
    """
    sky = sky or sdk()
    try:
        info = sky.api_info()
    except Exception as exc:  # noqa: BLE001 - every transport/auth error is one line
        raise ServerProblem(server_problem(exc, server_url(sky))) from None
    status = _state(_get(info, "status")).lower()
    if status not in ("healthy", "apiserverstatus.healthy"):
        at = f" at {server_url(sky)}" if server_url(sky) else ""
        raise ServerProblem(f"SkyPilot API server{at} is not healthy ({status})")
    user = _get(info, "user")
    return (_get(user, "name"), _get(user, "id")) if user is not None else (None, None)


# -- records -> rows ------------------------------------------------------------------------------

def cluster_row(record: Any, me: str | None) -> ExternalRow:
    """The row of one ``sky.status`` record."""
    name = str(_get(record, "name"))
    nodes = _get(record, "nodes")
    resources = _get(record, "resources_str") or " ".join(filter(None, [f"{nodes}x" if nodes else "",
                                                                        _get(record, "cloud")]))
    user_hash = str(_get(record, "user_hash", ""))
    details = {"autostop": _get(record, "autostop", -1), "to_down": bool(_get(record, "to_down", False)),
               "nodes": nodes, "workspace": _get(record, "workspace"), "cloud": _get(record, "cloud"),
               "region": _get(record, "region"), "accelerators": _get(record, "accelerators"),
               "last_use": _get(record, "last_use"), "resources_full": _get(record, "resources_str_full"),
               "controller": bool(_get(record, "is_managed", False)) or name.startswith(_CONTROLLER_PREFIXES)}
    return ExternalRow(kind="cluster", ref=name, name=name, cluster=name, job_id=None,
                       user=str(_get(record, "user_name", "") or user_hash or "?"), user_hash=user_hash,
                       status=_state(_get(record, "status")), resources=str(resources or "-"),
                       started=_number(_get(record, "launched_at")), details=details,
                       mine=bool(me) and user_hash == me)


def job_row(cluster: str, record: Any, me: str | None) -> ExternalRow:
    """The row of one ``sky.queue(cluster)`` record."""
    job_id = int(_get(record, "job_id"))
    user_hash = str(_get(record, "user_hash", ""))
    return ExternalRow(kind="job", ref=f"{cluster}:{job_id}", name=str(_get(record, "job_name", "") or "-"),
                       cluster=cluster, job_id=job_id, user=str(_get(record, "username", "") or user_hash or "?"),
                       user_hash=user_hash, status=_state(_get(record, "status")),
                       resources=str(_get(record, "resources", "") or "-"),
                       started=_number(_get(record, "start_at")) or _number(_get(record, "submitted_at")),
                       ended=_number(_get(record, "end_at")), mine=bool(me) and user_hash == me,
                       details={"submitted": _number(_get(record, "submitted_at"))})


def managed_rows(records: Any, me: str | None) -> list[ExternalRow]:
    """Rows of a ``sky.jobs.queue`` result (v1 list or v2 tuple): one per managed job (a pipeline's
    first task not ended stands for it, else its last)."""
    records = records[0] if isinstance(records, tuple) else records
    chosen: dict[int, Any] = {}
    for record in records or []:
        job_id = _get(record, "job_id")
        if job_id is None:
            continue
        held = chosen.get(int(job_id))
        if held is None or _state(_get(held, "status")) in TERMINAL_STATES:
            chosen[int(job_id)] = record
    rows = []
    for job_id, record in chosen.items():
        user_hash = str(_get(record, "user_hash", ""))
        details = {"recovery_count": int(_get(record, "recovery_count", 0) or 0),
                   "failure_reason": _get(record, "failure_reason"), "cloud": _get(record, "cloud"),
                   "region": _get(record, "region"), "workspace": _get(record, "workspace"),
                   "cluster_name": _get(record, "current_cluster_name")}
        rows.append(ExternalRow(kind="managed", ref=f"{MANAGED_PREFIX}:{job_id}",
                                name=str(_get(record, "job_name", "") or _get(record, "task_name", "") or "-"),
                                cluster=None, job_id=job_id, user=str(_get(record, "user_name", "") or user_hash or "?"),
                                user_hash=user_hash, status=_state(_get(record, "status")),
                                resources=str(_get(record, "resources", "") or _get(record, "cluster_resources", "")
                                              or "-"),
                                started=_number(_get(record, "start_at")) or _number(_get(record, "submitted_at")),
                                ended=_number(_get(record, "end_at")), duration=_number(_get(record, "job_duration")),
                                details=details, mine=bool(me) and user_hash == me))
    return rows


# -- the listing ----------------------------------------------------------------------------------

def stream(sky: Any | None = None, *, workers: int = 8, stop: threading.Event | None = None) -> Iterator[Batch]:
    """The listing as it arrives (see the module docstring); blocking: run it off the kernel's thread.

    Raises:
        ServerProblem: the API server could not be asked at all (one line).
    """
    sky = sky or sdk()
    stop = stop or threading.Event()
    user, me = check_server(sky)
    yield Batch(user=user or "")
    try:
        clusters = [cluster_row(r, me) for r in sky.get(sky.status(all_users=True)) or []]
    except Exception as exc:  # noqa: BLE001
        raise ServerProblem(server_problem(exc, server_url(sky))) from None
    yield Batch(rows=tuple(clusters), replaces="clusters")

    def queue_of(row: ExternalRow) -> Batch:
        if stop.is_set():
            return Batch()
        try:
            records = sky.get(sky.queue(row.name, all_users=True))
        except Exception as exc:  # noqa: BLE001 - one cluster unreadable is a note
            return Batch(replaces=f"queue:{row.name}", note=f"jobs of cluster {row.name}: {one_line_error(exc)}")
        return Batch(rows=tuple(job_row(row.name, r, me) for r in records or []), replaces=f"queue:{row.name}")

    def managed() -> Batch:
        try:
            return Batch(rows=tuple(managed_rows(sky.get(sky.jobs.queue(refresh=False, all_users=True, version=2)),
                                                 me)), replaces="managed")
        except Exception as exc:  # noqa: BLE001
            return Batch(replaces="managed", note=f"managed jobs: {one_line_error(exc)}")

    def costs() -> Batch:
        try:
            report = sky.get(sky.cost_report())
        except Exception as exc:  # noqa: BLE001
            return Batch(note=f"costs: {one_line_error(exc)}")
        found = {str(_get(r, "name")): r for r in report or []}
        priced = [dataclasses.replace(row, cost=_number(_get(found[row.name], "total_cost")),
                                      duration=_number(_get(found[row.name], "duration")))
                  for row in clusters if row.name in found]
        return Batch(rows=tuple(priced), replaces="costs")

    readable = [r for r in clusters if r.status in QUEUE_READABLE and not r.details.get("controller")]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="skyexec-external") as pool:
        futures = [pool.submit(managed), *(pool.submit(queue_of, row) for row in readable)]
        if hasattr(sky, "cost_report"):
            futures.append(pool.submit(costs))
        for future in as_completed(futures):
            if stop.is_set():
                for other in futures:
                    other.cancel()
                return
            yield future.result()


class Listing:
    """The listing of :func:`stream` in a daemon thread, merged into rows as it arrives.

    Args:
        on_change: called (from the listing's thread) after each merged piece and at the end.
        workers: threads asking for cluster queues at once.
        sky: the SDK module (default :func:`sdk`).
    """

    def __init__(self, *, on_change: Callable[[], None] | None = None, workers: int = 8, sky: Any = None) -> None:
        self.on_change, self.workers, self._sky = on_change, workers, sky
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._rows: dict[str, ExternalRow] = {}
        self._owner: dict[str, str] = {}  # row ref -> the batch key that brought it
        self._state, self._error, self._user = "connecting", None, None
        self._notes: list[str] = []
        self._version = 0
        self._answered: float | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Listing:
        """Start listing in the background (returns at once)."""
        self._thread = threading.Thread(target=self._run, name="skyexec-external-listing", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop asking (answers already merged stay)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the listing ended (complete, failed or stopped); True if it did."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def snapshot(self) -> Snapshot:
        """What is known now (rows in arrival order: clusters, then jobs and managed jobs)."""
        with self._lock:
            return Snapshot(rows=tuple(self._rows.values()), state=self._state, error=self._error,
                            notes=tuple(self._notes), user=self._user, version=self._version,
                            answered=self._answered)

    def _run(self) -> None:
        try:
            for batch in stream(self._sky, workers=self.workers, stop=self._stop):
                self._merge(batch)
                if self._stop.is_set():
                    break
            self._finish("stopped" if self._stop.is_set() else "complete")
        except ServerProblem as exc:
            self._finish("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - never a traceback in the notebook
            self._finish("failed", f"Listing SkyPilot's work failed: {one_line_error(exc)}")

    def _merge(self, batch: Batch) -> None:
        with self._lock:
            if batch.user is not None:
                self._user, self._answered, self._state = batch.user or None, time.monotonic(), "loading"
            if batch.replaces == "costs":  # fill in cost and duration of known clusters
                for row in batch.rows:
                    held = self._rows.get(f"cluster:{row.ref}")
                    if held is not None:
                        self._rows[f"cluster:{row.ref}"] = dataclasses.replace(held, cost=row.cost,
                                                                               duration=row.duration)
            elif batch.replaces is not None:
                for key in [k for k, owner in self._owner.items() if owner == batch.replaces]:
                    self._rows.pop(key, None)
                    del self._owner[key]
                for row in batch.rows:
                    key = f"{row.kind}:{row.ref}"
                    self._rows[key], self._owner[key] = row, batch.replaces
            if batch.note:
                self._notes.append(batch.note)
            self._version += 1
        self._changed()

    def _finish(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self._state, self._error = state, error
            self._version += 1
        self._done.set()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # noqa: BLE001 - a view's trouble must not stop the listing
                pass


def list_all(timeout: float | None = None, sky: Any = None) -> Snapshot:
    """Everything the API server knows, waited for (``timeout`` seconds at most): for scripts."""
    listing = Listing(sky=sky).start()
    listing.wait(timeout)
    return listing.snapshot()
