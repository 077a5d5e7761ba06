"""The SDK stand-in stays faithful to SkyPilot 0.14.1; helpers of the sky backends; lazy imports."""
from __future__ import annotations

import inspect
import subprocess
import sys
import time

import pytest

from skyexec_nb.engine.backends.managed import OVERRIDES, pick_record
from skyexec_nb.engine.backends.skypilot import has_ports, to_status, with_job_id
from skyexec_nb.engine.skyapi.sdk import one_line_error, sdk, strip_ansi
from skyexec_nb.engine.jobs.status import JobStatus

SDK_FUNCTIONS = ["launch", "status", "queue", "job_status", "cancel", "down", "stop", "endpoints", "tail_logs",
                 "download_logs", "get", "stream_and_get", "api_status", "api_cancel"]
JOBS_FUNCTIONS = ["launch", "queue", "cancel", "tail_logs"]


def _shape(fn) -> list[tuple]:
    """Parameter names, kinds and defaults (annotations aside)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("module, names", [("", SDK_FUNCTIONS), ("jobs", JOBS_FUNCTIONS)])
def test_signatures_match_skypilot(standin, module, names):
    import sky
    import sky_standin

    real = getattr(sky, module) if module else sky
    fake = getattr(sky_standin, module) if module else sky_standin
    assert sky.__version__ == "0.14.1"
    for name in names:
        assert _shape(getattr(fake, name)) == _shape(getattr(real, name)), name
    assert sorted(fake.__all__) == sorted(names)


def test_requests_return_ids_at_once_and_get_waits(standin):
    import sky
    import sky_standin as s

    standin("slow")
    started = time.monotonic()
    request_id = s.launch(sky.Task(run="echo hi"), cluster_name="c1")
    assert isinstance(request_id, str) and time.monotonic() - started < 1
    assert [p.status for p in s.api_status([request_id[:8]])] == ["RUNNING"]
    with pytest.raises(sky.exceptions.ClusterNotUpError):
        s.get(s.queue("c1"))
    assert s.get(s.api_cancel(request_id)) == [request_id]
    assert s.api_status([request_id])[0].status == "CANCELLED"
    with pytest.raises(sky.exceptions.RequestCancelled):
        s.get(request_id)
    assert s.get(s.status(["c1"]))[0]["status"] == sky.ClusterStatus.INIT


def test_state_sequence_and_log_stream(standin):
    import sky
    import sky_standin as s

    job_id, handle = s.stream_and_get(s.launch(sky.Task(run="echo hi"), cluster_name="c2"))
    assert (job_id, handle.get_cluster_name()) == (1, "c2")
    seen = []
    lines = s.tail_logs("c2", 1, follow=True, preload_content=False)
    for line in lines:
        seen.append(s.get(s.job_status("c2", [1]))[1])
        if line is None:
            break
    assert seen[-1] == sky.JobStatus.SUCCEEDED
    assert s.tail_logs("c2", 1, follow=False) == 0
    records = s.get(s.queue("c2"))
    assert records[0]["status"] == sky.JobStatus.SUCCEEDED and records[0].job_id == 1
    with pytest.raises(ValueError, match="output_stream cannot be specified"):
        s.tail_logs("c2", 1, follow=False, output_stream=sys.stdout, preload_content=False)
    assert s.get(s.down("c2")) is None
    with pytest.raises(sky.exceptions.ClusterDoesNotExist):
        s.get(s.queue("c2"))


def test_no_cloud_raises_the_real_exception(standin):
    import sky
    import sky_standin as s

    standin("no_cloud")
    with pytest.raises(sky.exceptions.NoCloudAccessError, match="Cloud access is not set up"):
        s.get(s.launch(sky.Task(run="true"), cluster_name="c3"))


def test_managed_recovery_episode(standin):
    import sky
    import sky_standin as s

    standin("preempt")
    job_ids, _ = s.get(s.jobs.launch(sky.Task(run="true"), name="m"))
    states = []
    while not states or not states[-1][0].is_terminal():
        records, total, _, _ = s.get(s.jobs.queue(refresh=False, job_ids=job_ids, version=2))
        states.append((records[0]["status"], records[0]["recovery_count"]))
        time.sleep(0.05)
    names = [st.value for st, _ in states]
    assert "RECOVERING" in names and names[-1] == "SUCCEEDED"
    assert states[-1][1] == 1 and dict((st.value, rc) for st, rc in states)["RECOVERING"] == 0


def test_sdk_resolution_and_messages(monkeypatch, standin):
    import sky_standin

    assert sdk() is sky_standin
    monkeypatch.delenv("SKYEXEC_NB_SKY_SDK")
    assert sdk().__name__ == "sky"
    assert strip_ansi("\x1b[31mred\x1b[0m \x1b[1mbold\x1b[0m") == "red bold"
    exc = RuntimeError("\x1b[33mline one\n  line two\x1b[0m")
    assert one_line_error(exc) == "RuntimeError: line one line two"
    assert one_line_error(KeyboardInterrupt()) == "KeyboardInterrupt"


def test_state_mapping_and_helpers():
    assert to_status("SETTING_UP") == JobStatus.SETTING_UP
    assert to_status(JobStatus.FAILED_DRIVER) == JobStatus.FAILED_DRIVER
    assert to_status("STARTING", OVERRIDES) == JobStatus.PROVISIONING
    assert to_status("WINDING_DOWN", OVERRIDES) == JobStatus.RUNNING
    assert to_status("RECOVERING", OVERRIDES) == JobStatus.RECOVERING
    assert to_status("FAILED_SOMETHING_NEW") == JobStatus.FAILED
    assert with_job_id("skyexec_nb___c___train___7", 3) == "skyexec_nb___c___train___3"
    assert has_ports({"resources": {"any_of": [{"cpus": 2}, {"ports": ["8888"]}]}})
    assert not has_ports({"resources": {"cpus": 2}})
    records = [{"job_id": 1, "status": "SUCCEEDED"}, {"job_id": 2, "status": "SUCCEEDED"},
               {"job_id": 2, "status": "RUNNING"}]
    assert pick_record((records, 3, {}, 3), 2)["status"] == "RUNNING"
    assert pick_record(records, 1)["status"] == "SUCCEEDED" and pick_record(records, 9) is None


def test_backends_do_not_import_sky():
    code = ("import sys, skyexec_nb.engine.backends.skypilot, skyexec_nb.engine.backends.managed, "
            "skyexec_nb.engine.skyapi.sdk, skyexec_nb.model.sdk_calls; "
            "assert 'sky' not in sys.modules, 'sky imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
