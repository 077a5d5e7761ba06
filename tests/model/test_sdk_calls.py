"""The executor's seed SDK methods (model/sdk_calls.py) against the SDK stand-in.

The real-server check (status of a missing cluster) is in tests/engine/test_sky_server.py.
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from skyexec_nb import SkyExecutor
from skyexec_nb.model.errors import AppIdError

TESTS_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def sky(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The stand-in as the SDK (``SKYEXEC_NB_SKY_SDK=sky_standin``); returns the module."""
    monkeypatch.syspath_prepend(str(TESTS_DIR))
    monkeypatch.setenv("SKYEXEC_NB_SKY_SDK", "sky_standin")
    monkeypatch.setenv("SKY_STANDIN_DIR", str(tmp_path / "standin"))
    monkeypatch.setenv("SKY_STANDIN_STEP", "0.05")
    monkeypatch.setenv("SKY_STANDIN_SCENARIO", "ok")
    import sky_standin

    return sky_standin


def _launch(sky, executor: SkyExecutor, cmd: str = "echo hi", **kwargs):
    return executor.launch(executor.to_task("t", cmd=cmd), **kwargs)


def test_launch_returns_job_id_and_handle_and_writes_task_yaml(sky, tmp_path, capsys):
    executor = SkyExecutor(cpus="1+", cluster_name="seed", autodown=True)
    executor.job_dir = str(tmp_path / "job")
    job_id, handle = _launch(sky, executor, num_nodes=2)
    assert job_id == 1 and handle.get_cluster_name() == "seed"
    assert "Running on cluster: seed" in capsys.readouterr().out
    assert "num_nodes: 2" in (tmp_path / "job" / "skypilot_task.yml").read_text()
    assert sky.get(sky.status(["seed"]))[0]["to_down"] is True


def test_launch_error_is_skypilots(sky, monkeypatch):
    monkeypatch.setenv("SKY_STANDIN_SCENARIO", "no_cloud")
    with pytest.raises(sky.exceptions.NoCloudAccessError):
        _launch(sky, SkyExecutor(cluster_name="nc"))


def test_status_cancel_logs_cleanup(sky, tmp_path, monkeypatch):
    executor = SkyExecutor(cluster_name="seed2")
    _launch(sky, executor)
    app_id = "exp___seed2___t___1"
    cluster_status, job = SkyExecutor.status(app_id)
    assert cluster_status == sky.ClusterStatus.UP and job["job_id"] == 1
    out = io.StringIO()
    from skyexec_nb.model import sdk_calls

    sdk_calls.logs(app_id, None, follow=True, out=out)
    assert "standin line 3" in out.getvalue()
    assert SkyExecutor.status("exp___seed2___t___9") == (sky.ClusterStatus.UP, None)
    assert SkyExecutor.status("exp___nope___t___1") == (None, None)
    paths = executor.cleanup(f"skypilot://skyexec_nb/{app_id}")
    assert "standin line 1" in (Path(paths["1"]) / "run.log").read_text()
    assert executor.cleanup("exp___gone___t___1") == {}
    with pytest.raises(AppIdError):
        SkyExecutor.status("not-an-app-id")

    monkeypatch.setenv("SKY_STANDIN_SCENARIO", "long")
    _launch(sky, executor)
    time.sleep(0.5)
    assert SkyExecutor.cancel("exp___seed2___t___2") is True
    time.sleep(0.2)
    assert SkyExecutor.status("exp___seed2___t___2")[1]["status"] == sky.JobStatus.CANCELLED
    assert SkyExecutor.cancel("exp___seed2___t___7") is False


def test_logs_prefers_the_local_copy_once_finished(sky, tmp_path):
    _launch(sky, SkyExecutor(cluster_name="seed3"))
    (tmp_path / "run.log").write_text("kept locally\n")
    time.sleep(0.6)  # the scripted job has finished
    out = io.StringIO()
    from skyexec_nb.model import sdk_calls

    sdk_calls.logs("exp___seed3___t___1", str(tmp_path), out=out)
    assert out.getvalue() == "kept locally\n"
