"""The "attached" backend: watch a SkyPilot job this notebook did not launch.

Kernel side, :func:`attach` records the job (backend ``attached``; ``extra['attached']`` is its
reference ``CLUSTER:JOB_ID`` or ``jobs:ID``, ``extra['owner']`` who launched it) and starts its
supervisor like any job's; a second ``attach`` of the same reference returns the recorded job
(after a kernel restart too). :func:`lookup` first asks SkyPilot whether the job exists (one line
when it does not); the external table skips it, its row being SkyPilot's answer already.

In the supervisor, ``run(ctx)`` copies ``sky.tail_logs(cluster, id, follow=True)`` (or
``sky.jobs.tail_logs(job_id=id, ...)``) into the job's ``run.log`` and polls ``sky.job_status`` (or
``sky.jobs.queue``) every ``$SKYEXEC_NB_SKY_POLL`` seconds, mapping SkyPilot's states to ours as
the skypilot and jobs backends do. Differences, because the job is not ours:

* the API server going away does not end the job: one line in the log and the ``error`` column,
  polls every few seconds until it answers, then the log stream resumes where it broke (the lines
  already kept are skipped, none is written twice) and the error is cleared;
* a refused cancel (another user's job, ``PermissionDeniedError``) is one line in the log and the
  ``error`` column; the job goes on being followed, and can be cancelled again;
* a cluster torn down elsewhere ends the job FAILED saying so;
* a SIGTERM to the supervisor that is no cancel request (``kill``) stops following: the job ends
  FAILED here ("stopped following"), SkyPilot's job is left alone, and watching it again starts anew.
"""
from __future__ import annotations

import re
import signal
import threading
import time
from typing import Any

from skyexec_nb.engine.backends.managed import OVERRIDES as MANAGED_OVERRIDES
from skyexec_nb.engine.backends.skypilot import TAG, launched_of, poll_interval, start_down, to_status
from skyexec_nb.engine.jobs.backend_api import BaseBackend, RunContext
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.skyapi.external import (  # noqa: F401  (REF_FORMS, parse_ref: re-exported)
    MANAGED_PREFIX,
    REF_FORMS,
    ExternalRow,
    ServerProblem,
    check_server,
    job_row,
    managed_rows,
    parse_ref,
    ref_text,
    server_problem,
)
from skyexec_nb.engine.skyapi.sdk import NoAnswer, call_within, one_line_error, sdk

#: Transport errors that mean "the API server is not there" (the job itself goes on).
_GONE = ("ApiServerConnectionError", "ApiServerAuthenticationError", "ConnectionError", "Timeout",
         "ChunkedEncodingError", "ReadTimeout", "ConnectTimeout")
MAX_ERRORS = 10  # consecutive unexplained poll failures before the job is declared FAILED
RETRY_MAX = 10.0  # seconds between polls while the API server is away


def lookup(ref: str, *, timeout: float = 60.0, sky: Any = None) -> ExternalRow:
    """What SkyPilot says of job ``ref`` now (blocks up to ``timeout`` s: call it from a cell or a thread).

    Raises:
        FieldError: ``ref`` is not a reference. LookupError: no such cluster or job (one line).
        ServerProblem: the API server could not be asked (one line). TimeoutError: no answer in time.
    """
    kind, cluster, job_id = parse_ref(ref)
    try:
        return call_within(lambda: _ask(sky or sdk(), kind, cluster, job_id), timeout, "skyexec-attach-lookup")
    except NoAnswer:
        raise TimeoutError(f"The SkyPilot API server did not answer about {ref} within {timeout:.0f}s") from None


def _ask(sky: Any, kind: str, cluster: str | None, job_id: int) -> ExternalRow:
    _, me = check_server(sky)
    try:
        if kind == "managed":
            rows = managed_rows(sky.get(sky.jobs.queue(refresh=False, all_users=True, job_ids=[job_id], version=2)),
                                me)
            found = [r for r in rows if r.job_id == job_id]
            if not found:
                raise LookupError(f"No managed job {job_id} on the SkyPilot API server (see %skyjobs --all)")
            return found[0]
        records = sky.get(sky.queue(cluster, all_users=True))
    except sky.exceptions.ClusterDoesNotExist:
        raise LookupError(f"No cluster {cluster!r} on the SkyPilot API server (see %skyjobs --all)") from None
    except sky.exceptions.ClusterNotUpError as exc:
        raise LookupError(f"Cluster {cluster!r} is not up: its jobs cannot be read ({one_line_error(exc)})") from None
    except LookupError:
        raise
    except Exception as exc:  # noqa: BLE001
        if type(exc).__name__ in _GONE or isinstance(exc, OSError):
            raise ServerProblem(server_problem(exc)) from None
        raise
    for record in records or []:
        if int(record["job_id"]) == job_id:
            return job_row(str(cluster), record, me)
    ids = sorted(int(r["job_id"]) for r in records or [])
    known = f"its jobs: {ids[0]}-{ids[-1]}" if ids else "it has no jobs"
    raise LookupError(f"No job {job_id} on cluster {cluster!r} ({known})")


def find_attached(ref: str, registry: Any = None) -> int | None:
    """The id of the job recorded for ``ref`` (still followed, or ended as SkyPilot said), or None."""
    from skyexec_nb.engine.jobs.registry import get_registry

    registry = registry or get_registry()
    rows = registry.rows("backend = 'attached' AND json_extract(extra, '$.attached') = ?", (ref,), order="id DESC")
    for row in rows:
        if not row["status"].is_terminal or row["extra"].get("remote_final"):
            return row["id"]
    return None


def attach(ref: str, row: ExternalRow | None = None) -> Any:
    """Record job ``ref`` as attached and start following it; returns its Job (at once).

    ``row`` is what SkyPilot said of it (name, owner, state; from :func:`lookup` or the listing).
    An attachment of ``ref`` already recorded is returned instead (nothing new recorded).
    """
    from skyexec_nb.engine.jobs.job import Job
    from skyexec_nb.engine.jobs.monitor import get_monitor
    from skyexec_nb.engine.jobs.registry import get_registry
    from skyexec_nb.engine.jobs.settings import get_settings

    kind, cluster, job_id = parse_ref(ref)
    ref = ref_text(kind, cluster, job_id)
    registry = get_registry()
    known = find_attached(ref, registry)
    if known is not None:
        return Job(known, registry)
    state = get_settings().state_path
    status = _status_of(kind, row.status) if row is not None else JobStatus.INIT
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", row.name if row is not None and row.name not in ("", "-") else "")
    name = name.strip("-")[:60] or ref.replace(":", "-")

    def derive(new_id: int) -> dict[str, Any]:
        job_dir = state / "jobs" / str(new_id)
        return {"app_id": f"attached___{cluster or MANAGED_PREFIX}___{name}___{job_id}",
                "job_dir": str(job_dir), "log_path": str(job_dir / "run.log")}

    extra: dict[str, Any] = {"attached": ref, ("managed_job_id" if kind == "managed" else "sky_job_id"): job_id}
    if row is not None:
        extra.update(owner=row.user, owner_hash=row.user_hash, sky_resources=row.resources, sky_status=row.status)
    new_id = registry.insert(derive, claim_dir=True, name=name, backend="attached", cluster=cluster,
                             status=JobStatus.INIT if status.is_terminal else status, config={},
                             launch_options={"attached": {"kind": kind, "cluster": cluster, "job_id": job_id},
                                             "cluster_name": cluster},
                             exit_codes={}, node_pgids=[], extra=extra,
                             started=row.started if row is not None else None)
    get_monitor().spawn(new_id, registry)
    return Job(new_id, registry)


def _status_of(kind: str, state: Any) -> JobStatus:
    return to_status(state, MANAGED_OVERRIDES if kind == "managed" else None)


def _gone(exc: BaseException) -> bool:
    return type(exc).__name__ in _GONE or (isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError))


class _Skip:
    """Writes to the log, dropping the first ``skip`` lines (already kept before a reconnect)."""

    def __init__(self, ctx: RunContext, skip: int, counter: list[int]) -> None:
        self.ctx, self.skip, self.counter = ctx, skip, counter

    def write(self, text: str) -> None:
        while self.skip and text:
            head, newline, text = text.partition("\n")
            if not newline:
                return  # a partial line of one already kept
            self.skip -= 1
        if text:
            self.ctx.log.write(text)
            self.counter[0] += text.count("\n")


class Follow:
    """One attached job followed to its end, in the supervisor (see the module docstring)."""

    def __init__(self, ctx: RunContext) -> None:
        spec = ctx.launch_options["attached"]
        self.ctx, self.sky, self.poll = ctx, sdk(), poll_interval()
        self.kind, self.cluster, self.job_id = spec["kind"], spec.get("cluster"), int(spec["job_id"])
        self.ref = ref_text(self.kind, self.cluster, self.job_id)
        self.lines = [0]  # log lines kept so far (the stream's, not ours)
        self.pump: threading.Thread | None = None
        self.stream_broke = False
        self.lost: str | None = None  # why the API server is away, while it is
        self.cancels_seen: Any = None
        self.last_request_at = 0.0
        self.endpoints_done = False
        self.stop_asked = threading.Event()  # a SIGTERM that was no cancel request: stop following

    def note(self, message: str) -> None:
        self.ctx.log.write_line(f"{TAG} {message}")

    def start_pump(self) -> None:
        """(Re)start copying SkyPilot's log stream, skipping the lines already kept."""
        if self.kind == "managed":
            stream = self.sky.jobs.tail_logs(job_id=self.job_id, follow=True, preload_content=False)
        else:
            stream = self.sky.tail_logs(self.cluster, self.job_id, follow=True, preload_content=False)
        sink, self.stream_broke = _Skip(self.ctx, self.lines[0], self.lines), False

        def copy() -> None:
            try:
                for chunk in stream:
                    if chunk:
                        sink.write(chunk)
            except Exception:  # noqa: BLE001 - the poller notices the server is gone and resumes
                self.stream_broke = True

        self.pump = threading.Thread(target=copy, name=f"sky-attached-logs-{self.ctx.job_id}", daemon=True)
        self.pump.start()

    def probe(self) -> tuple[JobStatus, dict[str, Any]]:
        sky = self.sky
        if self.kind == "managed":
            rows = managed_rows(sky.get(sky.jobs.queue(refresh=False, all_users=True, job_ids=[self.job_id],
                                                       version=2)), None)
            if not rows:
                raise LookupError(f"managed job {self.job_id} is no longer in SkyPilot's jobs queue")
            row = rows[0]
            fields: dict[str, Any] = {"sky_status": row.status, "recovery_count": row.details["recovery_count"]}
            status = _status_of("managed", row.status)
            if status.is_failure:
                fields["error"] = " ".join(str(row.details.get("failure_reason") or f"ended {row.status}").split())
            return status, fields
        found = sky.get(sky.job_status(self.cluster, [self.job_id]))
        state = found.get(self.job_id, found.get(str(self.job_id)))
        if state is None:
            raise LookupError(f"job {self.job_id} is no longer on cluster {self.cluster}")
        status = _status_of("job", state)
        fields = {"sky_status": str(getattr(state, "value", state))}
        if status.is_failure:
            fields["error"] = f"SkyPilot job {self.job_id} ended {status.value}"
        return status, fields

    def cancel_wanted(self, row: dict[str, Any]) -> bool:
        """A new cancel request (the row's ``cancel_requested``, or SIGTERM to the supervisor)."""
        request = (row.get("extra") or {}).get("cancel_requested")
        if self.ctx.cancelled.is_set():
            self.ctx.cancelled.clear()
            return True
        return bool(request) and request != self.cancels_seen

    def cancel(self) -> None:
        """Ask SkyPilot to cancel; a refusal is one line and the job goes on being followed."""
        row = self.ctx.registry.get(self.ctx.job_id) or {}
        self.cancels_seen = (row.get("extra") or {}).get("cancel_requested")
        self.last_request_at = time.time()
        owner = (row.get("extra") or {}).get("owner")
        self.note(f"cancelling {self.ref}" + (f" (launched by {owner})" if owner else ""))
        try:
            if self.kind == "managed":
                self.sky.get(self.sky.jobs.cancel(job_ids=[self.job_id]))
            else:
                self.sky.get(self.sky.cancel(self.cluster, job_ids=[self.job_id]))
        except Exception as exc:  # noqa: BLE001 - refused (another user's job), or the server is away
            message = f"Cancel of {self.ref} refused: {one_line_error(exc)}"
            self.note(message)
            self.ctx.update(error=message, cancel_requested=None)
            self.cancels_seen = None
            return
        self.ctx.update(error=None)
        self.ctx.set_status(JobStatus.CANCELLING)

    def endpoints(self) -> None:
        """Once a cluster job runs: ``sky.endpoints(cluster)`` recorded if the cluster opens ports."""
        self.endpoints_done = True
        try:
            found = self.sky.get(self.sky.endpoints(self.cluster)) or {}
        except Exception:  # noqa: BLE001 - no ports, or not ready: links are a convenience
            return
        if found:
            self.ctx.update(endpoints={str(p): u if "://" in u else f"http://{u}" for p, u in found.items()})

    def _on_term(self, previous: Any) -> Any:
        def handler(signum: int, frame: Any) -> None:
            self.stop_asked.set()
            if callable(previous):
                previous(signum, frame)
        return handler

    def stop_wanted(self) -> bool:
        """A SIGTERM that came with no cancel request (e.g. ``kill``): stop following; SkyPilot's job
        is left alone (a refused cancel must not keep a follower forever)."""
        if not self.stop_asked.is_set() or time.time() - self.last_request_at < 10.0:
            self.stop_asked.clear()  # (the signal of a cancel request just handled)
            return False
        return True

    def run(self) -> None:
        ctx = self.ctx
        try:
            signal.signal(signal.SIGTERM, self._on_term(signal.getsignal(signal.SIGTERM)))
        except ValueError:  # not the main thread (tests): SIGTERM keeps its meaning
            pass
        self.note(f"watching {self.ref} through SkyPilot's API server (launched elsewhere)")
        if self.kind == "job":
            self._record_resources()
        self.start_pump()
        last, errors = ctx.status, 0
        while True:
            row = ctx.registry.get(ctx.job_id)
            if row is None or row["status"].is_terminal:
                return  # ended from outside: nothing more to follow
            if self.lost is None and self.cancel_wanted(row):
                self.cancel()
            elif self.stop_wanted():
                return self._end(JobStatus.FAILED, {"error": f"stopped following {self.ref} (SIGTERM to its "
                                                             "supervisor); SkyPilot's job was left alone"},
                                 remote=False)
            try:
                status, fields = self.probe()
            except Exception as exc:  # noqa: BLE001
                if self.kind == "job" and isinstance(exc, self.sky.exceptions.ClusterDoesNotExist):
                    return self._end(JobStatus.FAILED, {"error": f"cluster {self.cluster} no longer exists "
                                                                 f"(torn down); the log so far is kept"})
                if _gone(exc):
                    self._away(exc)
                    ctx.cancelled.wait(min(RETRY_MAX, max(self.poll, 1.0) * 5))
                    continue
                errors += 1
                if errors == 1:
                    self.note(f"state poll failed: {one_line_error(exc)}")
                if errors >= MAX_ERRORS:
                    return self._end(JobStatus.FAILED, {"error": one_line_error(exc)})
                ctx.cancelled.wait(self.poll)
                continue
            errors = 0
            if self.lost is not None:
                self._back()
            if self.pump is not None and not self.pump.is_alive() and self.stream_broke and not status.is_terminal:
                self.start_pump()
            if status.is_terminal:
                return self._end(status, fields)
            if status != last:
                ctx.set_status(status, **fields)
                last = status
            elif fields:
                ctx.update(**fields)
            if status == JobStatus.RUNNING and self.kind == "job" and not self.endpoints_done:
                self.endpoints()
            ctx.cancelled.wait(self.poll)

    def _record_resources(self) -> None:
        try:
            records = self.sky.get(self.sky.status([self.cluster], all_users=True)) or []
        except Exception:  # noqa: BLE001 - facts only; the poll reports real trouble
            return
        for record in records:
            launched = launched_of(record["handle"]) if record.get("handle") is not None else None
            if launched:
                self.ctx.update(launched=launched)

    def _away(self, exc: BaseException) -> None:
        if self.lost is None:
            self.lost = server_problem(exc)
            message = (f"lost the SkyPilot API server ({self.lost}); the log so far is kept; "
                       f"following again when it answers")
            self.note(message)
            self.ctx.update(error=f"Watching paused: {self.lost}")

    def _back(self) -> None:
        self.lost = None
        self.note("the SkyPilot API server answers again; following the log from where it broke")
        self.ctx.update(error=None)

    def _end(self, status: JobStatus, fields: dict[str, Any], remote: bool = True) -> None:
        if remote and self.pump is not None and not self.stream_broke:  # SkyPilot's stream trails the state
            self.pump.join(timeout=10.0)
        self.note(f"job ended: {status.value}" + (f" ({fields['error']})" if fields.get("error") else ""))
        self.ctx.set_status(status, remote_final=remote, **fields)


class AttachedBackend(BaseBackend):
    """Follows a job launched elsewhere (see the module docstring)."""

    name = "attached"
    initial_status = JobStatus.INIT

    def precheck(self, config: dict[str, Any], launch_options: dict[str, Any]) -> None:
        raise ValueError("Invalid backend: 'attached' only watches work launched elsewhere "
                         "(%skylogs CLUSTER:JOB_ID or jobs:ID); launch with local, skypilot or jobs")

    def run(self, ctx: RunContext) -> None:
        Follow(ctx).run()

    def down(self, job: Any) -> str:
        """Tear down the job's cluster (a cluster job) in a detached helper; managed jobs have none."""
        if not job.cluster:
            return (f"Job {job.id} is a managed job: SkyPilot's jobs controller tears its cluster down "
                    "when it ends (cancel() stops it)")
        return start_down(job)


BACKEND = AttachedBackend()
