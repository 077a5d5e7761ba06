"""Work the stand-in's API server knows but this notebook did not launch: other users' clusters,
their jobs and managed jobs, in every state (``seed_team``), or a large world (``seed_many``).

Records are written straight into the stand-in's world (``$SKY_STANDIN_DIR``), exactly as
``launch``/``jobs.launch`` would leave them, with an owner (``user_name``/``user_hash``), optional
``protected`` (the team server refuses this user's cancel/down: ``PermissionDeniedError``),
resources, autostop, ports and an hourly cost (for ``cost_report``).
"""
from __future__ import annotations

import time
from typing import Any, Iterable

from sky_standin import _world as w

ALICE = ("alice", "a11ce000")
BOB = ("bob", "b0b00000")
ME = w.CURRENT_USER

CLUSTER_JOB_STATES = ("INIT", "PENDING", "SETTING_UP", "RUNNING", "SUCCEEDED", "FAILED", "FAILED_SETUP",
                      "FAILED_DRIVER", "CANCELLED")
MANAGED_STATES = ("PENDING", "SUBMITTED", "STARTING", "RUNNING", "WINDING_DOWN", "RECOVERING", "CANCELLING",
                  "SUCCEEDED", "CANCELLED", "FAILED", "FAILED_SETUP", "FAILED_PRECHECKS", "FAILED_NO_RESOURCE",
                  "FAILED_CONTROLLER")


def static(state: str, lines: Iterable[str] = ()) -> list[list]:
    """A timeline that is in ``state`` (with these log lines) from the start."""
    return [[0, state, list(lines)]]


def running(lines: int = 3, end_step: float | None = None, final: str = "SUCCEEDED", tag: str = "remote") -> list[list]:
    """RUNNING at once, one more log line per step, ending ``final`` at ``end_step`` (never if None)."""
    timeline: list[list] = [[0, "RUNNING", [f"(task, pid=3001) {tag} line 1"]]]
    timeline += [[i, "RUNNING", [f"(task, pid=3001) {tag} line {i + 1}"]] for i in range(1, lines)]
    if end_step is not None:
        timeline.append([end_step, final, [f"✓ Job finished (status: {final})."]])
    return timeline


def job(job_id: int, name: str, timeline: list[list], *, user: tuple[str, str] = ALICE, age: float = 3600.0,
        resources: str = "1x[A100:8]", cancel_states: list | None = None) -> dict[str, Any]:
    """A job record of a cluster's queue (``start`` is ``age`` seconds ago; 0 = now)."""
    now = time.time()
    started = now - age
    terminal = timeline[-1][1] in w.TERMINAL and len(timeline) == 1
    return {"job_id": job_id, "name": name, "start": started, "timeline": timeline, "cancel_at": None,
            "cancel_states": cancel_states or [[0, "CANCELLED"]], "user_name": user[0], "user_hash": user[1],
            "resources": resources, "start_at": started, "end_at": now - age / 2 if terminal else None}


def add_cluster(name: str, jobs: Iterable[dict] = (), *, user: tuple[str, str] = ALICE, status: str = "UP",
                autostop: int = -1, autodown: bool = False, ports: list[int] | None = None, hourly_cost: float = 32.77,
                protected: bool = False, nodes: int = 1, resources: str = "1x AWS(p4d.24xlarge, {'A100': 8})",
                age: float = 7200.0) -> dict[str, Any]:
    """Write a cluster (UP, INIT or STOPPED) with these jobs; returns its record."""
    created = time.time() - age
    record = {"name": name, "created": created, "up_at": created if status != "INIT" else time.time() + 1e6,
              "down_at": None, "launch_cancelled": False, "launch_request": None, "autodown": autodown,
              "ports": ports or [], "jobs": {str(j["job_id"]): j for j in jobs}, "user_name": user[0],
              "user_hash": user[1], "stopped": status == "STOPPED", "autostop": autostop, "hourly_cost": hourly_cost,
              "protected": protected, "nodes": nodes, "resources": resources, "accelerators": "A100:8",
              "cloud": "AWS", "region": "us-east-1", "last_use": f"sky launch -c {name} train.yaml"}
    w.save("clusters", name, record)
    return record


def add_managed(name: str, timeline: list[list], *, user: tuple[str, str] = ALICE, age: float = 1800.0,
                protected: bool = False, job_id: int | None = None, recovery_count: int = 0) -> int:
    """Write a managed job launched elsewhere; returns its managed job id."""
    job_id = job_id if job_id is not None else w.next_id("managed")
    started = time.time() - age
    record = {"job_id": job_id, "name": name, "start": started, "launch_request": None,
              "timeline": [entry[:3] + [recovery_count] for entry in timeline], "cancel_at": None,
              "cancel_states": [[0, "CANCELLING"], [1, "CANCELLED"]], "user_name": user[0], "user_hash": user[1],
              "protected": protected, "start_at": started, "job_duration": age, "resources": "1x[A100:8]"}
    w.save("managed", job_id, record)
    return job_id


def seed_team() -> dict[str, Any]:
    """A team's API server: three users, clusters UP/INIT/STOPPED, jobs and managed jobs in every state.

    Returns names and ids the tests use: ``live_cluster``/``live_job`` (alice's job that runs ~12
    steps, then succeeds), ``protected_cluster``/``protected_job`` (bob's, running for good, whose
    cancel the server refuses), ``live_managed`` (alice's managed job, ends after ~12 steps),
    ``protected_managed`` (bob's, running for good, refused).
    """
    add_cluster("team-a", [job(i + 1, f"exp-{state.lower()}", static(state, [f"{state} log"]), age=600.0 * (i + 1))
                           for i, state in enumerate(CLUSTER_JOB_STATES)]
                + [job(len(CLUSTER_JOB_STATES) + 1, "train-live", running(4, end_step=12), age=0.0)],
                user=ALICE, autostop=30, ports=[8888])
    add_cluster("team-b", [job(1, "bob-forever", running(2, end_step=None, tag="bob"), user=BOB, age=0.0)],
                user=BOB, protected=True, autodown=True, nodes=2)
    add_cluster("team-init", user=BOB, status="INIT")
    add_cluster("team-stopped", user=ALICE, status="STOPPED")
    add_cluster("mine-1", [job(1, "my-eval", static("SUCCEEDED", ["done"]), user=ME)], user=ME)
    managed = {state: add_managed(f"m-{state.lower()}", static(state, [f"managed {state}"]),
                                  user=(ALICE, BOB)[i % 2], age=300.0 * (i + 1))
               for i, state in enumerate(MANAGED_STATES)}
    live_managed = add_managed("m-live", running(3, end_step=12, tag="managed"), user=ALICE, age=0.0)
    protected_managed = add_managed("m-bob-forever", running(2, tag="bob managed"), user=BOB, age=0.0, protected=True)
    return {"live_cluster": "team-a", "live_job": len(CLUSTER_JOB_STATES) + 1, "protected_cluster": "team-b",
            "protected_job": 1, "live_managed": live_managed, "protected_managed": protected_managed,
            "managed": managed, "clusters": ["team-a", "team-b", "team-init", "team-stopped", "mine-1"]}


def seed_many(clusters: int = 500, jobs_per_cluster: int = 20, managed: int = 2000) -> None:
    """A large world for ``bench/attach.py``: ``clusters`` UP clusters of ``jobs_per_cluster`` jobs
    each (states cycling), and ``managed`` managed jobs, owned by 20 users."""
    users = [(f"user{i:02d}", f"hash{i:04d}") for i in range(20)]
    for c in range(clusters):
        owner = users[c % len(users)]
        add_cluster(f"c{c:04d}", [job(j + 1, f"job-{c}-{j}", static(CLUSTER_JOB_STATES[j % len(CLUSTER_JOB_STATES)]),
                                      user=owner, age=60.0 * (j + 1)) for j in range(jobs_per_cluster)],
                    user=owner, age=3600.0 + c)
    for m in range(managed):
        add_managed(f"managed-{m}", static(MANAGED_STATES[m % len(MANAGED_STATES)]), user=users[m % len(users)],
                    age=30.0 + m, job_id=m + 1)
    with w.locked():
        (w.root() / "managed.counter").write_text(str(managed))


def use_standin(monkeypatch: Any, tmp_path: Any, step: float = 0.2) -> None:
    """Point skyexec_nb and the supervisors it starts at the stand-in (as ``tests/engine``'s ``standin``
    fixture does), for test folders without that fixture."""
    import os
    from pathlib import Path

    tests_dir = str(Path(__file__).resolve().parents[1])
    monkeypatch.syspath_prepend(tests_dir)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("SKYEXEC_NB_SKY_SDK", "sky_standin")
    monkeypatch.setenv("SKY_STANDIN_DIR", str(Path(tmp_path) / "standin"))
    monkeypatch.setenv("SKY_STANDIN_STEP", str(step))
    monkeypatch.setenv("SKY_STANDIN_SCENARIO", "ok")
    monkeypatch.setenv("SKYEXEC_NB_SKY_POLL", "0.1")


def finish(cluster: str | None, job_id: int, final: str = "SUCCEEDED") -> None:
    """End a seeded job now (a cluster's job, or a managed job when ``cluster`` is None)."""
    with w.locked():
        record = w.load("clusters", cluster) if cluster else w.load("managed", job_id)
        job = record["jobs"][str(job_id)] if cluster else record
        at = (time.time() - job["start"]) / w.step()
        job["timeline"].append([at, final, [f"✓ Job finished (status: {final})."]] + ([] if cluster else [0]))
        w.save("clusters", cluster, record) if cluster else w.save("managed", job_id, record)
