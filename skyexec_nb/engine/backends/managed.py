"""The managed-jobs backend ("jobs"): SkyPilot's jobs controller runs and recovers the job.

In the supervisor, ``run(ctx)`` submits ``sky.jobs.launch(task, name=job name)`` (PROVISIONING
while that request runs; ``sky.api_cancel`` cancels it), records the managed job id
(``extra['managed_job_id']``; the registry's ``app_id`` ends with it), copies
``sky.jobs.tail_logs(job_id=..., follow=True, preload_content=False)`` into the job's log and polls
``sky.jobs.queue(refresh=False, job_ids=[id], version=2)`` every ``$SKYEXEC_NB_SKY_POLL`` seconds.
``cancel()`` uses ``sky.jobs.cancel(job_ids=[id])``.

SkyPilot's managed-job states map to ours by name, except:

* STARTING (the controller is provisioning the job's cluster) -> PROVISIONING: no job runs yet;
* SUBMITTED (a deprecated alias of PENDING) -> PENDING; WINDING_DOWN (batches done, merging) -> RUNNING.

RECOVERING, CANCELLING and every FAILED_* state keep their names. ``extra['recovery_count']``
follows SkyPilot's count (each recovery is also noted in the log), ``extra['launched']`` where the
controller put the job's cluster (cloud, region; for the cost estimate), ``extra['managed_status']``
holds SkyPilot's raw state and a failure's ``failure_reason`` becomes the job's ``error``.
The job recovery policy travels in the task's ``resources.job_recovery`` (set by the executor).
Secret values travel in the task's ``secrets`` section, never ``envs`` (``SkyRun.task``), so the
jobs controller and SkyPilot's dashboard show them redacted.
"""
from __future__ import annotations

from typing import Any

from skyexec_nb.engine.backends.skypilot import SkyBackend, SkyRun, to_status, with_job_id
from skyexec_nb.engine.skyapi.sdk import pump_lines
from skyexec_nb.engine.jobs.status import JobStatus

OVERRIDES = {
    "STARTING": JobStatus.PROVISIONING,
    "SUBMITTED": JobStatus.PENDING,
    "WINDING_DOWN": JobStatus.RUNNING,
}


def pick_record(result: Any, job_id: int) -> dict[str, Any] | None:
    """The queue record of ``job_id`` from a ``sky.jobs.queue`` result (v1 list or v2 tuple).

    A pipeline has one record per task: the first that is not terminal stands for the job,
    else the last one.
    """
    records = result[0] if isinstance(result, tuple) else result
    mine = [r for r in records or [] if r.get("job_id") == job_id]
    if not mine:
        return None
    live = [r for r in mine if not to_status(r.get("status"), OVERRIDES).is_terminal]
    return live[0] if live else mine[-1]


def launched_of_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """Where the controller launched the job's cluster (queue fields ``cloud``, ``region``, ``zone``,
    ``accelerators``), or None before it is known (SkyPilot shows ``'-'`` then)."""
    cloud = record.get("cloud")
    if not cloud or str(cloud) in ("-", "None"):
        return None
    found = {"cloud": str(cloud).lower(), "region": record.get("region"), "zone": record.get("zone"),
             "accelerators": record.get("accelerators") or None}
    return {k: (None if v == "-" else v) for k, v in found.items()}


class ManagedJobsBackend(SkyBackend):
    """Runs a job as a SkyPilot managed job (see the module docstring)."""

    name = "jobs"
    launch_call = "sky.jobs.launch"

    def _run(self, run: SkyRun) -> None:
        ctx, sky = run.ctx, run.sky
        run.note(f"submitting managed job {ctx.name!r} to SkyPilot's jobs controller")
        job_ids, _ = run.submit("launch", sky.jobs.launch(run.task(), name=ctx.name))
        job_id = job_ids[0] if isinstance(job_ids, (list, tuple)) else job_ids
        if job_id is None:
            raise RuntimeError("SkyPilot's jobs controller returned no managed job id")
        ctx.update(managed_job_id=job_id, recovery_count=0, app_id=with_job_id(ctx.app_id, job_id))
        run.note(f"managed job {job_id}")
        pump = pump_lines(sky.jobs.tail_logs(job_id=job_id, follow=True, preload_content=False),
                          ctx.log.write, name=f"sky-jobs-logs-{ctx.job_id}")
        seen: dict[str, Any] = {"recovery_count": 0, "missing": 0}
        run.watch(lambda: self._probe(run, job_id, seen), lambda: self._cancel(run, job_id), pump)

    @staticmethod
    def _probe(run: SkyRun, job_id: int, seen: dict[str, Any]) -> tuple[JobStatus, dict[str, Any]]:
        record = pick_record(run.get(run.sky.jobs.queue(refresh=False, job_ids=[job_id], version=2)), job_id)
        if record is None:  # just submitted: the controller may not list it yet
            seen["missing"] += 1
            if seen["missing"] > 30:
                return JobStatus.FAILED, {"error": f"managed job {job_id} is not in SkyPilot's jobs queue"}
            return run.ctx.status, {}
        raw = str(getattr(record.get("status"), "value", record.get("status")))
        status = to_status(raw, OVERRIDES)
        fields: dict[str, Any] = {"managed_status": raw}
        launched = launched_of_record(record)
        if launched and launched != seen.get("launched"):
            seen["launched"] = fields["launched"] = launched
        count = int(record.get("recovery_count") or 0)
        if count != seen["recovery_count"]:
            run.note(f"SkyPilot recovered the job (recovery count {count})")
            seen["recovery_count"] = fields["recovery_count"] = count
        if status.is_failure:
            fields["error"] = " ".join(str(record.get("failure_reason") or f"managed job ended {raw}").split())
        return status, fields

    @staticmethod
    def _cancel(run: SkyRun, job_id: int) -> None:
        run.note(f"cancelling managed job {job_id} (sky.jobs.cancel)")
        request_id = run.sky.jobs.cancel(job_ids=[job_id])
        run.requests["cancel"] = str(request_id)
        run.ctx.update(sky_requests=dict(run.requests))
        run.get(request_id)
        run.ctx.set_status(JobStatus.CANCELLING)

    def limit_action(self, ctx: Any) -> tuple[str, bool]:
        """A limit cancels the managed job; the jobs controller removes its cluster itself."""
        return "cancelling the managed job (SkyPilot's jobs controller removes its cluster)", False

    def down(self, job: Any) -> str:
        """Nothing to tear down: the jobs controller removes the job's cluster when the job ends."""
        return (f"Job {job.id} is a managed job: SkyPilot's jobs controller tears its cluster down "
                "when it ends (cancel() stops it)")


BACKEND = ManagedJobsBackend()
