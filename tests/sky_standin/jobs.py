"""Stand-in of ``sky.jobs`` (SkyPilot 0.14.1 managed jobs): launch, queue, cancel, tail_logs.

The ``preempt`` scenario scripts a RECOVERING episode (recovery_count 0 -> 1); cancelling goes
through CANCELLING to CANCELLED.
"""
from __future__ import annotations

from typing import Any, List

from sky.jobs import ManagedJobStatus  # noqa: F401  (re-exported, as sky.jobs does)
from sky.jobs.client.sdk import AUTO_JOB_GROUP
from sky.schemas.api.responses import ManagedJobRecord

from sky_standin import _world as w

__all__ = ["launch", "queue", "cancel", "tail_logs"]


def launch(task, name=None, pool=None, num_jobs=None, job_group=AUTO_JOB_GROUP, _need_confirmation=False):
    scenario = w.scenario()
    log = ["Managed job submitted to the jobs controller (stand-in)."]
    if scenario in w.LAUNCH_ERRORS:
        return w.new_request("jobs.launch", steps=1, error=w.LAUNCH_ERRORS[scenario], log=log)
    job_id = w.next_id("managed")
    rid = w.new_request("jobs.launch", steps=10_000 if scenario == "slow" else 1, log=log, job_id=job_id)
    w.save("managed", job_id, {"job_id": job_id, "name": name or task.name or "sky-cmd",
                               "start": w.find_request(rid)["ready_at"], "launch_request": rid,
                               "timeline": w.managed_timeline(scenario), "cancel_at": None,
                               "cancel_states": [[0, "CANCELLING"], [1, "CANCELLED"]]})
    return rid


def _live(job_id: int) -> dict | None:
    """The managed job ``job_id`` if it exists (its launch request finished and was not cancelled)."""
    job = w.load("managed", job_id)
    if job is None:
        return None
    if job.get("launch_request") is None:  # seeded: launched elsewhere, known to the controller
        return job
    req = w.find_request(job["launch_request"])
    return job if w.request_status(req) == "SUCCEEDED" else None


w.RESULTS["jobs.launch"] = lambda req: ([req["args"]["job_id"]], None)


def queue(refresh, skip_finished=False, all_users=False, job_ids=None, version=1):
    if version not in (1, 2):
        raise ValueError(f"Invalid queue version: {version}. Must be 1 or 2.")
    return w.new_request("jobs.queue", skip_finished=skip_finished, job_ids=job_ids, version=version,
                         all_users=all_users)


def _queue_result(req: dict) -> Any:
    records: List[ManagedJobRecord] = []
    ids = req["args"]["job_ids"]
    for job in w.all_of("managed"):
        if (ids is not None and job["job_id"] not in ids) or _live(job["job_id"]) is None:
            continue
        state, _, recovery = w.job_state(job)
        if req["args"]["skip_finished"] and state in w.TERMINAL:
            continue
        user, user_hash = job.get("user_name", w.CURRENT_USER[0]), job.get("user_hash", w.CURRENT_USER[1])
        if not req["args"].get("all_users") and user_hash != w.CURRENT_USER[1]:
            continue
        records.append(ManagedJobRecord(
            job_id=job["job_id"], task_id=0, job_name=job["name"], task_name=job["name"],
            status=ManagedJobStatus(state), recovery_count=recovery, submitted_at=job["start"],
            user_name=user, user_hash=user_hash, start_at=job.get("start_at"), end_at=job.get("end_at"),
            job_duration=job.get("job_duration"), resources=job.get("resources"),
            **(dict(cloud="AWS", region="us-west-2", zone="us-west-2a", accelerators={"A100": 8})
               if state in ("RUNNING", "SUCCEEDED") else dict(cloud="-", region="-", zone="-")),
            failure_reason="Job failed: user code exited with 1." if state == "FAILED" else None))
    if req["args"]["version"] == 2:
        counts: dict = {}
        for r in records:
            counts[r.status.value] = counts.get(r.status.value, 0) + 1
        return records, len(records), counts, len(records)
    return records


w.RESULTS["jobs.queue"] = _queue_result


def cancel(name=None, job_ids=None, all=False, all_users=False, pool=None, graceful=False,  # noqa: A002
           graceful_timeout=None, task=None):
    for job_id in job_ids or []:
        refused = w.refusal(w.load("managed", job_id), f"cancel managed job {job_id}")
        if refused is not None:  # RBAC: another user's job
            return w.new_request("jobs.cancel", steps=1, error=refused, job_ids=job_ids, target=name)
    rid = w.new_request("jobs.cancel", steps=1, job_ids=job_ids, target=name)
    with w.locked():
        for job in w.all_of("managed"):
            if all or job["job_id"] in (job_ids or []) or (name is not None and job["name"] == name):
                if job["cancel_at"] is None and w.job_state(job)[0] not in w.TERMINAL:
                    job["cancel_at"] = w.find_request(rid)["ready_at"]
                    w.save("managed", job["job_id"], job)
    return rid


def tail_logs(name=None, job_id=None, follow=True, controller=False, refresh=False, tail=None,
              tail_offset=None, output_stream=None, task=None, *, preload_content=True):
    if tail is not None and tail <= 0:
        raise ValueError(f"tail must be None or a positive integer, got {tail}.")
    if job_id is None:
        matches = [j["job_id"] for j in w.all_of("managed") if name in (None, j["name"])]
        job_id = max(matches, default=None)
    if job_id is None or w.load("managed", job_id) is None:
        raise ValueError(f"No managed job {job_id or name!r} found.")

    def state():
        job = w.load("managed", job_id)
        if job.get("launch_request") is None:  # seeded: launched elsewhere
            return w.job_state(job)
        launch_status = w.request_status(w.find_request(job["launch_request"]))
        if launch_status != "SUCCEEDED":  # not yet (or never) known to the controller
            return ("CANCELLED" if launch_status == "CANCELLED" else "PENDING"), [], 0
        return w.job_state(job)

    lines = w.follow(state, follow)
    return w.print_or_iterate(lines, output_stream, preload_content,
                              lambda: 0 if state()[0] == "SUCCEEDED" else 100)

