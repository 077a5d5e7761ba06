"""Everything a SkyPilot API server knows, wherever it was launched: listed in the background.

A :class:`Listing` runs :func:`stream` in a short-lived worker process
(``python -m skyexec_nb.engine.skyapi.listing_worker``, see :mod:`.listing_process`), so the SDK
calls, the decoding of the server's answers and ``import sky`` never hold the kernel's GIL; a
daemon thread of the kernel reads the worker's lines and merges them. Given an SDK module
(``sky=``), it runs :func:`stream` in that daemon thread instead. The listing asks, in order:

1. ``sky.api_info()`` — is the server there, and who is logged in? A failure ends the listing
   with one line (:func:`server_problem`: unreachable, or not logged in: ``sky api login``);
2. ``sky.status(all_users=True)`` — every cluster (user, status, resources, autostop);
3. at once, in a small pool of threads: ``sky.jobs.queue(all_users=True, version=2)`` (managed
   jobs), ``sky.queue(cluster, all_users=True)`` of each UP cluster (its jobs), and
   ``sky.cost_report()`` (each cluster's cost so far).

Each answer is merged into the rows as it arrives (:meth:`Listing.snapshot` gives what is known
now; ``on_change`` is called from the listing's thread). A cluster whose queue cannot be read
(stopped meanwhile, not reachable) is a one-line note, not a failure. :meth:`Listing.stop` kills
the worker's process group; a worker that dies or writes garbage ends the listing "failed" with
one line. :func:`stream` is the same listing as a generator of :class:`Batch` es, for callers that
want the pieces themselves (the worker is one).

Rows carry SkyPilot's own state names (this package sits below the job core); references are
``CLUSTER`` (a cluster), ``CLUSTER:JOB_ID`` (a job on a cluster) and ``jobs:ID`` (a managed job).
"""
from __future__ import annotations

import dataclasses
import gc
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable, Iterator

from skyexec_nb.engine.skyapi.external_rows import (  # noqa: F401  (re-exported: the listing's vocabulary)
    MANAGED_PREFIX,
    QUEUE_READABLE,
    REF_FORMS,
    TERMINAL_STATES,
    Batch,
    ExternalRow,
    ServerProblem,
    Snapshot,
    _get,
    _number,
    check_server,
    cluster_row,
    job_row,
    managed_rows,
    parse_ref,
    ref_text,
    server_problem,
    server_url,
)
from skyexec_nb.engine.skyapi.listing_process import CHUNK_ROWS, ListingWorker
from skyexec_nb.model.sky_module import one_line_error, sdk

# -- the listing ----------------------------------------------------------------------------------

_frozen = False


def freeze_imports() -> None:
    """Once per process: exempt the objects that exist now (the kernel's modules: IPython, widgets,
    SkyPilot's ~300k objects once imported) from the cyclic collector's full passes (``gc.freeze``).

    A full pass over them holds the GIL for 100-300 ms, and the listing's many allocations trigger
    one: the kernel's main thread would stall that long. Objects made later are collected as usual
    (call it before making objects that must be collectable, e.g. a view's widgets).
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def stream(sky: Any | None = None, *, workers: int = 8, stop: threading.Event | None = None) -> Iterator[Batch]:
    """The listing as it arrives (see the module docstring); blocking: run it off the kernel's thread.

    Raises:
        ServerProblem: the API server could not be asked at all (one line).
    """
    sky = sky or sdk()
    freeze_imports()
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
    """The listing of :func:`stream`, merged into rows as it arrives, off the caller's thread.

    Args:
        on_change: called (from the listing's thread) after each merged piece and at the end.
        workers: threads asking for cluster queues at once.
        sky: the SDK module: :func:`stream` then runs in this process's daemon thread. Default
            (None): in a worker process (:mod:`.listing_process`) with the SDK of :func:`sdk`
            (on Windows, in the daemon thread too).
        chunk: most rows per line the worker writes.
    """

    def __init__(self, *, on_change: Callable[[], None] | None = None, workers: int = 8, sky: Any = None,
                 chunk: int = CHUNK_ROWS) -> None:
        self.on_change, self.workers, self._sky, self.chunk = on_change, workers, sky, chunk
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._rows: dict[str, ExternalRow] = {}
        self._owned: dict[str, list[str]] = {}  # a batch key -> the rows it brought
        self._state, self._error, self._user = "connecting", None, None
        self._notes: list[str] = []
        self._version = 0
        self._answered: float | None = None
        self._listed: float | None = None
        self._thread: threading.Thread | None = None
        in_thread = sky is not None or os.name == "nt"  # (Windows: no process groups to kill)
        self.worker: ListingWorker | None = None if in_thread else ListingWorker(workers=workers, chunk=chunk)

    def start(self) -> Listing:
        """Start listing in the background (returns at once)."""
        freeze_imports()  # this process's objects of now: no full collection passes over them
        self._thread = threading.Thread(target=self._run, name="skyexec-external-listing", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop asking (answers already merged stay); the worker process is killed at once."""
        self._stop.set()
        if self.worker is not None:
            self.worker.kill()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the listing ended (complete, failed or stopped); True if it did."""
        return self._done.wait(timeout)

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def worker_timings(self) -> dict[str, float]:
        """The worker's ``time.monotonic()`` of its steps (started, imported, answered, listed, done)
        and ``encoding_s``, once it ended (empty on the in-thread path)."""
        return dict(self.worker.timings) if self.worker is not None else {}

    def snapshot(self) -> Snapshot:
        """What is known now (rows in arrival order: clusters, then jobs and managed jobs)."""
        with self._lock:
            return Snapshot(rows=tuple(self._rows.values()), state=self._state, error=self._error,
                            notes=tuple(self._notes), user=self._user, version=self._version,
                            answered=self._answered, listed=self._listed)

    def _run(self) -> None:
        try:
            if self.worker is not None:
                self._run_worker(self.worker)
                return
            for batch in stream(self._sky, workers=self.workers, stop=self._stop):
                self._merge(batch)
                if self._stop.is_set():
                    break
            self._finish("stopped" if self._stop.is_set() else "complete")
        except ServerProblem as exc:
            self._finish("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - never a traceback in the notebook
            self._finish("failed", f"Listing SkyPilot's work failed: {one_line_error(exc)}")

    def _run_worker(self, worker: ListingWorker) -> None:
        try:
            worker.start()
        except OSError as exc:
            self._finish("failed", f"Listing SkyPilot's work failed: the listing worker did not start: "
                                   f"{one_line_error(exc)}")
            return
        state, error = worker.follow(self._merge)
        self._finish("stopped" if self._stop.is_set() and state != "complete" else state, error)

    def _merge(self, batch: Batch, at: float | None = None) -> None:
        """Merge one piece; ``at``: when it arrived (the worker's clock; default now)."""
        with self._lock:
            if batch.user is not None:
                self._user, self._answered, self._state = batch.user or None, at or time.monotonic(), "loading"
            if batch.replaces == "costs":  # fill in cost and duration of known clusters
                for row in batch.rows:
                    held = self._rows.get(f"cluster:{row.ref}")
                    if held is not None:
                        self._rows[f"cluster:{row.ref}"] = dataclasses.replace(held, cost=row.cost,
                                                                               duration=row.duration)
            elif batch.replaces is not None:
                if batch.replaces == "clusters" and not batch.extends:
                    self._listed = at or time.monotonic()
                owned = self._owned.setdefault(batch.replaces, [])
                if not batch.extends:
                    for key in owned:
                        self._rows.pop(key, None)
                    owned.clear()
                for row in batch.rows:
                    key = f"{row.kind}:{row.ref}"
                    self._rows[key] = row
                    owned.append(key)
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


def cancel_job(ref: str, sky: Any = None) -> str:
    """Cancel job ``ref`` through SkyPilot (blocks: run it off the kernel's thread); a one-line message.

    Raises:
        FieldError: not a reference. Exception: SkyPilot's own (e.g. ``PermissionDeniedError`` for
        another user's job on a team server).
    """
    kind, cluster, job_id = parse_ref(ref)
    sky = sky or sdk()
    if kind == "managed":
        sky.get(sky.jobs.cancel(job_ids=[job_id]))
    else:
        sky.get(sky.cancel(cluster, job_ids=[job_id]))
    return f"Asked SkyPilot to cancel {ref}"


def down_cluster(name: str, sky: Any = None) -> str:
    """Tear cluster ``name`` down (``sky.down``; blocks for minutes on a cloud); a one-line message."""
    sky = sky or sdk()
    sky.get(sky.down(name))
    return f"Cluster {name} torn down"


def cluster_facts(name: str, sky: Any = None) -> dict[str, Any]:
    """One cluster as SkyPilot knows it (blocks: a few short requests).

    Returns:
        ``{"row": ExternalRow, "endpoints": {port: url}, "endpoints_error": str | None,
        "jobs": {state: count} | None, "jobs_error": str | None}``.

    Raises:
        LookupError: no such cluster (one line). ServerProblem: the API server could not be asked.
    """
    sky = sky or sdk()
    _, me = check_server(sky)
    try:
        records = sky.get(sky.status([name], all_users=True)) or []
    except Exception as exc:  # noqa: BLE001
        raise ServerProblem(server_problem(exc, server_url(sky))) from None
    found = [r for r in records if str(_get(r, "name")) == name]
    if not found:
        raise LookupError(f"No cluster {name!r} on the SkyPilot API server (see %skyjobs --all)")
    row = cluster_row(found[0], me)
    try:  # its cost so far, where SkyPilot reports it
        report = [r for r in sky.get(sky.cost_report()) or [] if str(_get(r, "name")) == name]
        if report:
            row = dataclasses.replace(row, cost=_number(_get(report[0], "total_cost")),
                                      duration=_number(_get(report[0], "duration")))
    except Exception:  # noqa: BLE001 - a fact less
        pass
    facts: dict[str, Any] = {"row": row, "endpoints": {}, "endpoints_error": None, "jobs": None, "jobs_error": None}
    if facts["row"].status not in QUEUE_READABLE:
        facts["endpoints_error"] = facts["jobs_error"] = f"the cluster is {facts['row'].status}"
        return facts
    try:
        found_urls = sky.get(sky.endpoints(name)) or {}
        facts["endpoints"] = {int(p): u if "://" in str(u) else f"http://{u}" for p, u in found_urls.items()}
    except Exception as exc:  # noqa: BLE001 - no ports opened, or not ready
        facts["endpoints_error"] = one_line_error(exc)
    try:
        counts: dict[str, int] = {}
        for record in sky.get(sky.queue(name, all_users=True)) or []:
            state = str(getattr(_get(record, "status"), "value", _get(record, "status")))
            counts[state] = counts.get(state, 0) + 1
        facts["jobs"] = counts
    except Exception as exc:  # noqa: BLE001
        facts["jobs_error"] = one_line_error(exc)
    return facts


def list_all(timeout: float | None = None, sky: Any = None) -> Snapshot:
    """Everything the API server knows, waited for (``timeout`` seconds at most, then what arrived,
    ``"stopped"``): for scripts. ``sky``: as for :class:`Listing`."""
    listing = Listing(sky=sky).start()
    if not listing.wait(timeout):
        listing.stop()
        listing.wait(30)
    return listing.snapshot()
