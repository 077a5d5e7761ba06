"""The listing in its worker process (``engine/skyapi/listing_worker.py``, ``listing_process.py``):
the SDK calls and the decoding happen outside the kernel; the kernel merges JSON lines.

Against the SDK stand-in holding a team's work (``sky_standin/external.py``). A listing is caught
mid-way with the stand-in's ``set_hold`` (every ``get`` of the held request waits), so stopping and
killing happen at a known point. Every test checks that no worker process is left.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time

import pytest

from local_helpers import groups_gone, proc_entries, wait_for
from skyexec_nb.engine.jobs.procs import pid_alive
from skyexec_nb.engine.skyapi import listing_process
from skyexec_nb.engine.skyapi.external import Listing, list_all
from skyexec_nb.engine.skyapi.external_rows import Batch, ExternalRow
from skyexec_nb.engine.skyapi.listing_process import WORKER_MODULE, child_env, decode, encode

TIMEOUT = 180  # the worker's `import sky` takes seconds; much more on a loaded 2-core machine


def workers_of(standin_dir: str) -> list[int]:
    """Pids of live listing workers started for this test (their environment names its stand-in dir)."""
    mark = f"SKY_STANDIN_DIR={standin_dir}".encode()
    return [pid for pid, cmd, env in proc_entries()
            if WORKER_MODULE.encode() in cmd and mark in env and pid_alive(pid)]


@pytest.fixture
def team(standin):
    from sky_standin import external

    yield external.seed_team()
    for name in ("queue", "jobs.queue"):
        external.w.set_hold(name, False)


@pytest.fixture
def no_worker_left(standin):
    """After the test: no listing worker of this test is alive (a generous wait: a loaded machine)."""
    yield
    where = os.environ["SKY_STANDIN_DIR"]
    try:
        wait_for(lambda: not workers_of(where), timeout=30)
    finally:
        for pid in workers_of(where):
            os.kill(pid, signal.SIGKILL)


def _by_ref(rows: tuple[ExternalRow, ...]) -> dict[str, ExternalRow]:
    return {f"{r.kind}:{r.ref}": r for r in rows}


def _caught_mid_listing() -> Listing:
    """A listing through the worker whose clusters arrived and whose cluster queues are held."""
    from sky_standin import _world

    _world.set_hold("queue", True)
    listing = Listing().start()
    wait_for(lambda: any(r.kind == "cluster" for r in listing.snapshot().rows), timeout=TIMEOUT)
    assert listing.worker is not None and listing.worker.pid is not None and not listing.done
    return listing


def test_the_listing_arrives_through_the_worker_as_the_in_thread_listing(team, no_worker_left, monkeypatch):
    import sky_standin

    monkeypatch.setenv("SKY_STANDIN_STEP", "30")  # the live jobs' states hold between the two listings
    before = time.monotonic()
    listing = Listing().start()
    assert listing.wait(TIMEOUT)
    through_worker = listing.snapshot()
    in_thread = list_all(timeout=TIMEOUT, sky=sky_standin)
    assert (through_worker.state, through_worker.error, through_worker.user) == ("complete", None, "standin")
    assert through_worker.notes == in_thread.notes == ()
    worker, here = _by_ref(through_worker.rows), _by_ref(in_thread.rows)
    assert set(worker) == set(here) and len(worker) == 33
    for key, row in worker.items():  # every field, row for row (costs grow with the clock: compared apart)
        other = here[key]
        assert dataclasses.replace(row, cost=None, duration=None) == dataclasses.replace(other, cost=None,
                                                                                         duration=None), key
        assert (row.cost is None) == (other.cost is None) and row.cost == pytest.approx(other.cost, rel=0.01)
    # the worker's clock (system-wide): the API answered, then the clusters arrived, after the start
    assert before < through_worker.answered <= through_worker.listed < time.monotonic()
    timings = listing.worker_timings
    assert timings["started"] <= timings["imported"] <= timings["answered"] <= timings["listed"] <= timings["done"]
    assert groups_gone([listing.worker.pid])


def test_big_answers_come_in_chunks_and_merge_completely(standin, no_worker_left):
    from sky_standin import external

    external.seed_many(clusters=12, jobs_per_cluster=3, managed=40)
    changes: list[int] = []
    listing = Listing(chunk=7, on_change=lambda: changes.append(1)).start()
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "complete" and snap.notes == ()
    kinds = [r.kind for r in snap.rows]
    assert (kinds.count("cluster"), kinds.count("job"), kinds.count("managed")) == (12, 36, 40)
    assert all(r.cost is not None for r in snap.rows if r.kind == "cluster")  # the costs, chunked too
    # one merge per line: the user, 2 lines of clusters, 6 of managed jobs, 12 queues, 2 of costs; the end
    assert len(changes) == 1 + 2 + 6 + 12 + 2 + 1


def test_chunks_extend_their_key_and_a_new_answer_replaces_every_chunk():
    rows = tuple(ExternalRow(kind="managed", ref=f"jobs:{i}", name=f"m{i}", cluster=None, job_id=i, user="u",
                             user_hash="h", status="RUNNING", resources="-", started=float(i),
                             details={"cloud": "AWS", "recovery_count": 0}) for i in range(1, 21))
    lines = list(encode(Batch(rows=rows, replaces="managed", note="a note"), at=12.5, chunk=7))
    assert len(lines) == 3 and all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    import json

    pieces = [decode(json.loads(line)) for line in lines]
    assert [(b.extends, b.note, at) for b, at in pieces] == [(False, "a note", 12.5), (True, None, 12.5),
                                                             (True, None, 12.5)]
    assert sum((b.rows for b, _ in pieces), ()) == rows
    listing = Listing(sky=object())  # merged by hand: no listing runs
    for batch, at in pieces:
        listing._merge(batch, at)
    assert [r.ref for r in listing.snapshot().rows] == [r.ref for r in rows]
    listing._merge(Batch(rows=rows[:2], replaces="managed"))  # a newer answer: the earlier chunks go
    assert [r.ref for r in listing.snapshot().rows] == ["jobs:1", "jobs:2"]


def test_stop_kills_the_worker_and_keeps_what_arrived(team, no_worker_left):
    listing = _caught_mid_listing()
    pid = listing.worker.pid
    listing.stop()
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "stopped" and snap.error is None
    assert {r.ref for r in snap.rows if r.kind == "cluster"} == set(team["clusters"])
    assert groups_gone([pid]) and not workers_of(os.environ["SKY_STANDIN_DIR"])


def test_a_worker_killed_mid_listing_ends_failed_in_one_line(team, no_worker_left):
    listing = _caught_mid_listing()
    os.kill(listing.worker.pid, signal.SIGKILL)
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "failed" and "\n" not in snap.error
    assert snap.error.startswith("Listing SkyPilot's work failed: the listing worker was killed by SIGKILL"), snap.error
    assert any(r.kind == "cluster" for r in snap.rows)  # what arrived stays
    assert groups_gone([listing.worker.pid])


def test_a_worker_writing_garbage_ends_failed_in_one_line_and_is_killed(standin, no_worker_left, monkeypatch,
                                                                         tmp_path):
    fake = tmp_path / "fake_listing_worker.py"
    fake.write_text("import sys, time\n"
                    "print('{\"t\": \"batch\", \"at\": 1.0, \"rows\": [], \"user\": \"someone\"}', flush=True)\n"
                    "print('Traceback (most recent call last): oops', flush=True)\n"
                    "time.sleep(600)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]]))
    monkeypatch.setattr(listing_process, "WORKER_MODULE", "fake_listing_worker")
    listing = Listing().start()
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "failed" and snap.user == "someone" and "\n" not in snap.error
    assert snap.error == ("Listing SkyPilot's work failed: the listing worker wrote an unreadable line: "
                          "'Traceback (most recent call last): oops'")
    assert groups_gone([listing.worker.pid])  # it would have slept 10 minutes


def test_a_worker_that_cannot_import_the_sdk_is_one_line(standin, no_worker_left, monkeypatch):
    monkeypatch.setenv("SKYEXEC_NB_SKY_SDK", "no_such_sdk_module")
    snap = list_all(timeout=TIMEOUT)
    assert snap.state == "failed" and "\n" not in snap.error
    assert snap.error == ("Listing SkyPilot's work failed: ModuleNotFoundError: No module named "
                          "'no_such_sdk_module'")


def test_server_down_is_one_line_through_the_worker(team, no_worker_left):
    from sky_standin import _world

    _world.set_api_down(True)
    listing = Listing().start()
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "failed" and snap.rows == () and listing.worker.pid is not None
    assert snap.error.startswith("SkyPilot API server is unreachable: ApiServerConnectionError")
    assert "\n" not in snap.error


def test_a_cluster_stopped_mid_listing_is_a_note_and_the_server_going_down_keeps_the_rows(team, no_worker_left):
    from sky_standin import _world

    listing = _caught_mid_listing()
    record = _world.load("clusters", "team-b")
    record["stopped"] = True  # stopped after the server listed it UP
    _world.save("clusters", "team-b", record)
    _world.set_hold("queue", False)
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "complete" and snap.error is None
    assert snap.notes == ("jobs of cluster team-b: ClusterNotUpError: Cluster 'team-b' is stopped.",)
    assert any(r.ref == "team-a:1" for r in snap.rows)

    listing = _caught_mid_listing()
    _world.set_api_down(True)
    _world.set_hold("queue", False)
    assert listing.wait(TIMEOUT)
    snap = listing.snapshot()
    assert snap.state == "complete" and any(r.kind == "cluster" for r in snap.rows)
    assert snap.notes and all("ApiServerConnectionError" in note for note in snap.notes)


def test_the_worker_finds_an_sdk_module_importable_only_through_sys_path(team, no_worker_left, monkeypatch):
    tests_dir = str(sys.modules["sky_standin"].__file__).rsplit("/sky_standin/", 1)[0]
    monkeypatch.delenv("PYTHONPATH")
    assert child_env()["PYTHONPATH"] == tests_dir
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert child_env()["PYTHONPATH"] == os.pathsep.join([tests_dir, "/elsewhere"])
    monkeypatch.delenv("PYTHONPATH")
    snap = list_all(timeout=TIMEOUT)
    assert snap.state == "complete" and len(snap.rows) == 33
