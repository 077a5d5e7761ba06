"""A faithful stand-in of the SkyPilot 0.14.1 client SDK functions that skyexec_nb uses.

Same signatures as ``sky.<name>`` (``tests/engine/test_skypilot_standin.py`` compares them),
request ids returned at once, ``get``/``stream_and_get``/``api_status``/``api_cancel`` semantics,
scripted job states and log streams, and the real ``sky.exceptions`` classes, enums and record
types. State is shared across processes through ``$SKY_STANDIN_DIR`` (see ``_world.py``); the
script is picked by ``$SKY_STANDIN_SCENARIO`` (ok, fail, setup_fail, long, slow, preempt,
no_cloud, no_resource). Point skyexec_nb at it with ``SKYEXEC_NB_SKY_SDK=sky_standin``.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sky import ClusterStatus, JobStatus, Task, exceptions  # noqa: F401  (real types, re-exported)
from sky.schemas.api.responses import ClusterJobRecord, StatusResponse
from sky.server.requests.payloads import RequestPayload
from sky.utils import common

from sky_standin import _world as w

__all__ = ["launch", "status", "queue", "job_status", "cancel", "down", "stop", "endpoints", "tail_logs",
           "download_logs", "get", "stream_and_get", "api_status", "api_cancel"]


@dataclass
class LaunchedResources:
    """The parts of ``handle.launched_resources`` (a ``sky.Resources``) that callers read."""

    cloud: str = "AWS"
    region: str = "us-east-1"
    zone: Optional[str] = "us-east-1a"
    instance_type: str = "p4d.24xlarge"
    accelerators: Optional[Dict[str, int]] = None
    use_spot: bool = False


@dataclass
class Handle:
    """What ``sky.launch`` returns as the cluster's handle (the parts callers read)."""

    cluster_name: str
    launched_nodes: int = 1
    launched_resources: Optional[LaunchedResources] = None

    def get_cluster_name(self) -> str:
        return self.cluster_name


def _result(name: str):
    def register(fn):
        w.RESULTS[name] = fn
        return fn
    return register


def _cluster(name: str, *, up: bool = True) -> dict:
    """The live record of cluster ``name``; raise as SkyPilot does when it is absent or not UP."""
    record = w.load("clusters", name)
    if record is None or (record["down_at"] is not None and time.time() >= record["down_at"]):
        raise exceptions.ClusterDoesNotExist(f"Cluster {name!r} does not exist.")
    if up and record.get("stopped"):
        raise exceptions.ClusterNotUpError(f"Cluster {name!r} is stopped.", cluster_status=ClusterStatus.STOPPED)
    if up and (record["launch_cancelled"] or time.time() < record["up_at"]):
        raise exceptions.ClusterNotUpError(f"Cluster {name!r} is not up.", cluster_status=ClusterStatus.INIT)
    return record


def _job(cluster: str, job_id: Optional[int]) -> Optional[dict]:
    jobs = _cluster(cluster)["jobs"]
    key = str(job_id if job_id is not None else max(map(int, jobs), default=0))
    return jobs.get(key)


# --- request-returning functions ----------------------------------------------------------------
def launch(task, cluster_name=None, retry_until_up=False, idle_minutes_to_autostop=None, wait_for=None,
           dryrun=False, down=False, backend=None, optimize_target=common.OptimizeTarget.COST,
           no_setup=False, clone_disk_from=None, fast=False, resize=False, _need_confirmation=False,
           _is_launched_by_jobs_controller=False, _is_launched_by_sky_serve_controller=False,
           _disable_controller_check=False, _file_mounts_blob_id=None, _extra_launch_context=None,
           _include_credentials=False):
    cluster_name = cluster_name or f"sky-standin-{w.next_id('cluster')}"
    log = [f"Running on cluster: {cluster_name}"]
    scenario = w.scenario()
    if scenario in w.LAUNCH_ERRORS:
        return w.new_request("launch", cluster=cluster_name, steps=1, error=w.LAUNCH_ERRORS[scenario], log=log)
    if dryrun:
        return w.new_request("launch", cluster=cluster_name, steps=0.5, log=log + ["Dryrun finished."], dryrun=True)
    steps = 10_000 if scenario == "slow" else 2
    rid = w.new_request("launch", cluster=cluster_name, steps=steps,
                        log=log + ["Launching on the stand-in cloud.", f"✓ Cluster launched: {cluster_name}."])
    up_at = w.find_request(rid)["ready_at"]
    with w.locked():
        record = w.load("clusters", cluster_name)
        if record is None or record["down_at"] is not None:
            record = {"name": cluster_name, "created": time.time(), "up_at": up_at, "down_at": None,
                      "launch_cancelled": False, "launch_request": rid, "autodown": down,
                      "ports": sorted({p for r in task.resources for p in (r.ports or [])}), "jobs": {}}
        record.pop("stopped", None)  # launching on a stopped cluster starts it again
        if idle_minutes_to_autostop is not None:
            record["autostop"] = idle_minutes_to_autostop
        job_id = max(map(int, record["jobs"]), default=0) + 1
        record["jobs"][str(job_id)] = {"job_id": job_id, "name": task.name or "sky-cmd", "start": up_at,
                                       "timeline": w.cluster_timeline(scenario), "cancel_at": None,
                                       "cancel_states": [[0, "CANCELLED"]]}
        w.save("clusters", cluster_name, record)
    w.save("launches", rid, {"job_id": job_id, "num_nodes": task.num_nodes,
                             "use_spot": any(r.use_spot for r in task.resources)})
    return rid


@_result("launch")
def _launch_result(req: dict):
    if req["args"].get("dryrun"):
        return None, None
    launched = w.load("launches", req["request_id"])
    resources = LaunchedResources(accelerators={"A100": 8}, use_spot=launched.get("use_spot", False))
    return launched["job_id"], Handle(req["cluster"], launched.get("num_nodes", 1), resources)


def status(cluster_names=None, refresh=common.StatusRefreshMode.NONE, all_users=False, *,
           _include_credentials=False, _summary_response=False):
    return w.new_request("status", names=cluster_names, all_users=all_users)


def _owner(record: dict) -> tuple:
    """(user name, user hash) of a cluster or job record (the stand-in's own user by default)."""
    return record.get("user_name", w.CURRENT_USER[0]), record.get("user_hash", w.CURRENT_USER[1])


@_result("status")
def _status_result(req: dict) -> List[StatusResponse]:
    out = []
    names = req["args"]["names"]
    paths = ([w.root() / "clusters" / f"{n}.json" for n in names] if names is not None
             else sorted((w.root() / "clusters").glob("*.json")))
    for path in paths:
        record = json.loads(path.read_text()) if path.exists() else None
        if record is None or (record["down_at"] is not None and time.time() >= record["down_at"]):
            continue
        user, user_hash = _owner(record)
        if not req["args"].get("all_users") and user_hash != w.CURRENT_USER[1]:
            continue
        up = not record["launch_cancelled"] and time.time() >= record["up_at"]
        state = ClusterStatus.STOPPED if record.get("stopped") else ClusterStatus.UP if up else ClusterStatus.INIT
        out.append(StatusResponse(
            name=record["name"], status=state, handle=Handle(record["name"]), launched_at=int(record["created"]),
            autostop=record.get("autostop", -1), to_down=record["autodown"], cluster_hash=f"h-{record['name']}",
            cluster_ever_up=up, user_hash=user_hash, user_name=user, workspace=record.get("workspace", "default"),
            is_managed=False, nodes=record.get("nodes", 1), cloud=record.get("cloud", "AWS"),
            region=record.get("region", "us-east-1"), resources_str=record.get("resources", "1x AWS(p4d.24xlarge)"),
            resources_str_full=record.get("resources", "1x AWS(p4d.24xlarge)"),
            accelerators=record.get("accelerators"), last_use=record.get("last_use", "sky launch")))
    return out


def queue(cluster_name, skip_finished=False, all_users=False):
    return w.new_request("queue", cluster=cluster_name, skip_finished=skip_finished, all_users=all_users)


@_result("queue")
def _queue_result(req: dict) -> List[ClusterJobRecord]:
    records = []
    for job in _cluster(req["cluster"])["jobs"].values():
        state = w.job_state(job)[0]
        if req["args"]["skip_finished"] and state in w.TERMINAL:
            continue
        user, user_hash = _owner(job)
        if not req["args"].get("all_users") and user_hash != w.CURRENT_USER[1]:
            continue
        records.append(ClusterJobRecord(
            job_id=job["job_id"], job_name=job["name"], username=user, user_hash=user_hash,
            submitted_at=job["start"], resources=job.get("resources", "1x[standin]"), status=JobStatus(state),
            start_at=job.get("start_at"), end_at=job.get("end_at"), log_path=f"~/sky_logs/{job['job_id']}"))
    return records


def job_status(cluster_name, job_ids=None):
    return w.new_request("job_status", cluster=cluster_name, job_ids=job_ids)


@_result("job_status")
def _job_status_result(req: dict) -> Dict[Optional[int], Optional[JobStatus]]:
    ids = req["args"]["job_ids"] or [None]
    out = {}
    for job_id in ids:
        job = _job(req["cluster"], job_id)
        out[job["job_id"] if job else job_id] = JobStatus(w.job_state(job)[0]) if job else None
    return out


def cancel(cluster_name, all=False, all_users=False, job_ids=None, _try_cancel_if_cluster_is_init=False):  # noqa: A002
    refused = w.refusal(w.load("clusters", cluster_name), f"cancel jobs on cluster {cluster_name!r}")
    if refused is not None:  # RBAC: another user's cluster, and this user may not act on it
        return w.new_request("cancel", cluster=cluster_name, steps=1, error=refused, job_ids=job_ids, all=all)
    rid = w.new_request("cancel", cluster=cluster_name, steps=1, job_ids=job_ids, all=all)
    with w.locked():
        record = w.load("clusters", cluster_name)
        if record is not None:
            for key, job in record["jobs"].items():
                if (all or int(key) in (job_ids or [])) and job["cancel_at"] is None:
                    job["cancel_at"] = w.find_request(rid)["ready_at"]
            w.save("clusters", cluster_name, record)
    return rid


@_result("cancel")
def _cancel_result(req: dict) -> None:
    _cluster(req["cluster"])


def down(cluster_name, purge=False, graceful=False, graceful_timeout=None):
    refused = w.refusal(w.load("clusters", cluster_name), f"tear down cluster {cluster_name!r}")
    if refused is not None:
        return w.new_request("down", cluster=cluster_name, steps=1, error=refused)
    rid = w.new_request("down", cluster=cluster_name, steps=2)
    with w.locked():
        record = w.load("clusters", cluster_name)
        if record is not None and record["down_at"] is None:
            record["down_at"] = w.find_request(rid)["ready_at"]
            w.save("clusters", cluster_name, record)
    return rid


def stop(cluster_name, purge=False, graceful=False, graceful_timeout=None):
    refused = w.refusal(w.load("clusters", cluster_name), f"stop cluster {cluster_name!r}")
    if refused is not None:
        return w.new_request("stop", cluster=cluster_name, steps=1, error=refused)
    rid = w.new_request("stop", cluster=cluster_name, steps=2)
    with w.locked():
        record = w.load("clusters", cluster_name)
        if record is not None and record["down_at"] is None:
            record["stopped"] = True
            w.save("clusters", cluster_name, record)
    return rid


@_result("stop")
def _stop_result(req: dict) -> None:
    _cluster(req["cluster"], up=False)


@_result("down")
def _down_result(req: dict) -> None:
    record = w.load("clusters", req["cluster"])
    if record is None or record["down_at"] < req["created"]:
        raise exceptions.ClusterDoesNotExist(f"Cluster {req['cluster']!r} does not exist.")


def endpoints(cluster, port=None):
    return w.new_request("endpoints", cluster=cluster, port=port)


@_result("endpoints")
def _endpoints_result(req: dict) -> Dict[int, str]:
    ports = [int(p) for spec in _cluster(req["cluster"])["ports"] for p in str(spec).split("-")[:1]]
    return {p: f"127.0.0.1:{p}" for p in ports if req["args"]["port"] in (None, p, str(p))}


# --- direct calls ---------------------------------------------------------------------------------
def tail_logs(cluster_name, job_id, follow, tail=0, output_stream=None, *, preload_content=True):
    if _job(cluster_name, job_id) is None:
        raise ValueError(f"Job {job_id} not found on cluster {cluster_name!r}.")

    def state():
        return w.job_state(_job(cluster_name, job_id))

    lines = w.follow(state, follow)
    return w.print_or_iterate(lines, output_stream, preload_content,
                              lambda: int(exceptions.JobExitCode.from_job_status(JobStatus(state()[0]))))


def download_logs(cluster_name, job_ids):
    out = {}
    for key, job in _cluster(cluster_name)["jobs"].items():
        if job_ids is None or key in [str(j) for j in job_ids]:
            folder = w.root() / "downloaded" / cluster_name / key
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "run.log").write_text("".join(f"{line}\n" for line in w.job_state(job)[1]))
            out[key] = str(folder)
    return out


def get(request_id):
    req = w.wait_request(request_id)
    if req["cancelled"]:
        raise exceptions.RequestCancelled(
            f"Current {req['name']!r} request ({req['request_id']}) is cancelled by another process.")
    if req["error"]:
        w.raise_error(*req["error"])
    return w.RESULTS[req["name"]](req) if req["name"] in w.RESULTS else None


def stream_and_get(request_id=None, log_path=None, tail=None, follow=True, output_stream=None,
                   relay_rich_status=False):
    req = w.find_request(request_id)
    for line in req["log"]:
        print(line, flush=True, file=output_stream or sys.stdout)
    return get(request_id) if follow else None


def api_status(request_ids=None, all_status=False, limit=None, fields=None, cluster_name=None):
    reqs = [w.find_request(r) for r in request_ids] if request_ids else w.all_of("requests")
    out = [RequestPayload(request_id=r["request_id"], name=r["name"], entrypoint="sky_standin",
                          request_body="{}", status=w.request_status(r), created_at=r["created"],
                          user_id="standin", return_value="null", error="null", pid=None,
                          schedule_type="long", cluster_name=r["cluster"]) for r in reqs]
    if not request_ids and not all_status:
        out = [p for p in out if p.status in ("PENDING", "WAITING", "RUNNING")]
    return out[:limit] if limit else out


def api_cancel(request_ids=None, all_users=False, silent=False):
    if request_ids is None:
        ids = [r["request_id"] for r in w.all_of("requests")]
    else:
        ids = request_ids if isinstance(request_ids, list) else [request_ids]
    cancelled = []
    with w.locked():
        for rid in ids:
            req = w.find_request(rid)
            if w.request_status(req) != "RUNNING":
                continue
            req["cancelled"] = True
            w.save("requests", req["request_id"], req)
            cancelled.append(req["request_id"])
            record = w.load("clusters", req["cluster"]) if req["name"] == "launch" else None
            if record is not None and record["launch_request"] == req["request_id"]:
                record["launch_cancelled"] = True
                w.save("clusters", req["cluster"], record)
    return w.new_request("api_cancel", cancelled=cancelled)


w.RESULTS["api_cancel"] = lambda req: req["args"]["cancelled"]


def api_info():
    """The server's health and who is logged in (``sky.api_info``; a direct call, no request id)."""
    from sky import models
    from sky.schemas.api.responses import APIHealthResponse
    from sky.server.common import ApiServerStatus

    if (w.root() / "api_down").exists():
        raise exceptions.ApiServerConnectionError(w.API_SERVER_URL)
    if w.auth_required():  # what ``response.raise_for_status()`` raises on the server's 401
        import requests

        response = requests.Response()
        response.status_code, response.url, response.reason = 401, f"{w.API_SERVER_URL}/api/health", "Unauthorized"
        response.raise_for_status()
    return APIHealthResponse(status=ApiServerStatus.HEALTHY, api_version="20", version="0.14.1",
                             user=models.User(id=w.CURRENT_USER[1], name=w.CURRENT_USER[0]))


def cost_report(days=None):
    return w.new_request("cost_report", days=days)


@_result("cost_report")
def _cost_report_result(req: dict) -> List[Dict[str, Any]]:
    """Each cluster's cost so far: its ``hourly_cost`` times the hours since it was created."""
    out = []
    for record in w.all_of("clusters"):
        duration = max(0, int(time.time() - record["created"]))
        out.append({"name": record["name"], "launched_at": int(record["created"]), "duration": duration,
                    "num_nodes": record.get("nodes", 1), "cluster_hash": f"h-{record['name']}",
                    "total_cost": record.get("hourly_cost", 0.0) * duration / 3600})
    return out

from sky_standin import jobs  # noqa: E402,F401  (sky.jobs)
