"""The background listing of what a SkyPilot API server knows (``engine/skyapi/external.py``).

Against the SDK stand-in holding a team's work (three users, clusters UP/INIT/STOPPED, jobs and
managed jobs in every state), and against a real local API server for the empty and unreachable cases.
Without ``sky=`` the listing runs in its worker process (more in ``test_listing_worker.py``); tests
that replace a stand-in function in this process pass ``sky=`` (the listing then runs in a thread).
"""
from __future__ import annotations

import inspect
import threading

import pytest

from local_helpers import wait_for
from skyexec_nb.engine.skyapi.external import Listing, cancel_job, cluster_facts, list_all, parse_ref, stream
from skyexec_nb.engine.skyapi.external_rows import ServerProblem, server_problem
from skyexec_nb.model.errors import FieldError


@pytest.fixture
def team(standin):
    from sky_standin import external

    return external.seed_team()


def test_new_standin_functions_have_skypilots_signatures(standin):
    import sky
    import sky_standin

    for name in ("api_info", "cost_report"):
        assert inspect.signature(getattr(sky_standin, name)).parameters.keys() == \
            inspect.signature(getattr(sky, name)).parameters.keys(), name


def test_lists_every_users_clusters_jobs_and_managed_jobs(team, monkeypatch):
    from sky_standin import external

    monkeypatch.setenv("SKY_STANDIN_STEP", "30")  # the live jobs run on while the worker imports sky
    snap = list_all(timeout=120)
    assert (snap.state, snap.error, snap.user) == ("complete", None, "standin")
    rows = {r.ref: r for r in snap.rows}
    clusters = {r.ref: r for r in snap.rows if r.kind == "cluster"}
    assert set(clusters) == set(team["clusters"])
    assert {clusters[c].status for c in clusters} == {"UP", "INIT", "STOPPED"}
    assert {r.user for r in snap.rows} == {"alice", "bob", "standin"}
    # every state of a cluster job and of a managed job, as SkyPilot names them
    assert {r.status for r in snap.rows if r.kind == "job" and r.cluster == "team-a"} == set(external.CLUSTER_JOB_STATES)
    assert {r.status for r in snap.rows if r.kind == "managed"} == set(external.MANAGED_STATES)
    live = rows[f"team-a:{team['live_job']}"]
    assert (live.name, live.user, live.status, live.mine, live.resources) == ("train-live", "alice", "RUNNING",
                                                                               False, "1x[A100:8]")
    assert rows["mine-1:1"].mine and rows["mine-1"].mine and not rows["team-b"].mine
    # what SkyPilot reports: autostop, cost so far, duration
    assert clusters["team-a"].details["autostop"] == 30 and clusters["team-b"].details["to_down"]
    assert clusters["team-a"].cost == pytest.approx(32.77 * 2, rel=0.05)
    assert clusters["team-a"].duration_at() == pytest.approx(7200, rel=0.05)
    assert rows[f"jobs:{team['managed']['FAILED']}"].terminal and not rows[f"jobs:{team['live_managed']}"].terminal
    assert "Job failed" in rows[f"jobs:{team['managed']['FAILED']}"].details["failure_reason"]


def test_listing_arrives_in_pieces_and_never_blocks_the_caller(team):
    seen: list[int] = []
    listing = Listing(on_change=lambda: seen.append(len(listing.snapshot().rows)), workers=2)
    assert listing.snapshot().state == "connecting"
    listing.start()  # returns at once; the answers come in the listing's thread
    assert listing.wait(120)
    assert len(seen) >= 4 and seen[0] < seen[-1]  # clusters first, then each queue as it came
    assert listing.snapshot().rows[0].kind == "cluster"
    pieces = list(stream())
    assert pieces[0].user == "standin" and pieces[1].replaces == "clusters"


def test_a_cluster_that_cannot_be_read_is_a_note_not_a_failure(team):
    import sky_standin

    record = sky_standin._world.load("clusters", "team-b")
    record["stopped"] = False
    sky_standin._world.save("clusters", "team-b", record)
    original = sky_standin.queue

    def queue(cluster_name, skip_finished=False, all_users=False):
        if cluster_name == "team-b":
            raise sky_standin.exceptions.ClusterNotUpError("Cluster 'team-b' is not up.")
        return original(cluster_name, skip_finished, all_users)

    sky_standin.queue = queue
    try:
        snap = list_all(timeout=120, sky=sky_standin)  # in this process: the replaced queue applies
    finally:
        sky_standin.queue = original
    assert snap.state == "complete" and snap.error is None
    assert snap.notes == ("jobs of cluster team-b: ClusterNotUpError: Cluster 'team-b' is not up.",)
    assert any(r.ref == "team-a:1" for r in snap.rows)


def test_unreachable_server_is_one_line(team):
    import sky_standin

    sky_standin._world.set_api_down(True)
    snap = list_all(timeout=60)
    assert snap.state == "failed" and snap.rows == ()
    assert snap.error.startswith("SkyPilot API server is unreachable: ApiServerConnectionError")
    assert "\n" not in snap.error


def test_not_logged_in_says_sky_api_login(team):
    import sky_standin

    sky_standin._world.set_auth_required(True)
    snap = list_all(timeout=60)
    assert snap.state == "failed"
    assert snap.error.startswith("Not logged in to the SkyPilot API server: run `sky api login`")
    assert "401" in snap.error and "\n" not in snap.error


def test_server_going_down_mid_listing_keeps_what_arrived(team):
    import sky_standin

    gate = threading.Event()
    original = sky_standin.jobs.queue

    def slow_queue(*args, **kwargs):
        gate.wait(30)
        sky_standin._world.set_api_down(True)
        return original(*args, **kwargs)

    sky_standin.jobs.queue = slow_queue
    try:
        listing = Listing(workers=1, sky=sky_standin).start()
        wait_for(lambda: listing.snapshot().rows, timeout=120)
        gate.set()
        assert listing.wait(120)
    finally:
        sky_standin.jobs.queue = original
    snap = listing.snapshot()
    assert snap.state == "complete" and any(r.kind == "cluster" for r in snap.rows)
    assert any(n.startswith("managed jobs: ApiServerConnectionError") for n in snap.notes)


def test_cluster_facts_and_bad_names(team):
    facts = cluster_facts("team-a")
    assert facts["row"].details["autostop"] == 30 and facts["endpoints"] == {8888: "http://127.0.0.1:8888"}
    assert facts["jobs"]["RUNNING"] == 2 and facts["jobs"]["SUCCEEDED"] == 1
    stopped = cluster_facts("team-stopped")
    assert stopped["jobs"] is None and stopped["jobs_error"] == "the cluster is STOPPED"
    with pytest.raises(LookupError, match="No cluster 'nope' on the SkyPilot API server"):
        cluster_facts("nope")


def test_refs_and_a_refused_cancel(team):
    assert parse_ref("team-a:3") == ("job", "team-a", 3) and parse_ref("jobs:12") == ("managed", None, 12)
    for bad in ("team-a", "team-a:x", ":3", "a b:1", 7):
        with pytest.raises(FieldError, match="Invalid job: CLUSTER:JOB_ID"):
            parse_ref(bad)
    import sky_standin

    with pytest.raises(sky_standin.exceptions.PermissionDeniedError, match="owned by 'bob'"):
        cancel_job(f"jobs:{team['protected_managed']}")
    assert cancel_job(f"jobs:{team['live_managed']}") == f"Asked SkyPilot to cancel jobs:{team['live_managed']}"


def test_server_problem_lines():
    import requests

    refused = requests.exceptions.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=9): refused")
    assert server_problem(refused, "http://127.0.0.1:9").startswith(
        "SkyPilot API server at http://127.0.0.1:9 is unreachable: ConnectionError")
    response = requests.Response()
    response.status_code = 401
    assert "sky api login -e http://x" in server_problem(requests.HTTPError("401", response=response), "http://x")
    assert isinstance(ServerProblem("x"), RuntimeError)


# -- the real local API server (slow: started once per session) ----------------------------------------

@pytest.mark.server
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_real_server_with_nothing_lists_nothing(real_sky):
    snap = list_all(timeout=300, sky=real_sky)
    assert (snap.state, snap.error, snap.rows) == ("complete", None, ())


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_real_server_with_nothing_lists_nothing_through_the_worker_process(real_sky):
    listing = Listing().start()  # no sky=: the worker process imports sky and asks the same server
    assert listing.wait(300)
    snap = listing.snapshot()
    assert (snap.state, snap.error, snap.rows) == ("complete", None, ()), snap.error
    assert listing.worker.pid is not None and snap.answered <= snap.listed
    assert listing.worker_timings["imported"] <= listing.worker_timings["done"]


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_real_client_with_no_server_is_one_line_and_starts_none(real_sky, monkeypatch, tmp_path):
    import socket

    from sky.server import common

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SKYPILOT_API_SERVER_ENDPOINT", f"http://127.0.0.1:{port}")
    common.get_server_url.cache_clear()
    common.is_api_server_local.cache_clear()
    try:
        snap = list_all(timeout=300, sky=real_sky)
    finally:
        monkeypatch.delenv("SKYPILOT_API_SERVER_ENDPOINT")
        common.get_server_url.cache_clear()
        common.is_api_server_local.cache_clear()
    assert snap.state == "failed" and "\n" not in snap.error
    assert snap.error.startswith(f"SkyPilot API server at http://127.0.0.1:{port} is unreachable"), snap.error
    with socket.socket() as s:  # nothing was started on that port behind our back
        assert s.connect_ex(("127.0.0.1", port)) != 0
