"""The skypilot backend's pull path against the SDK stand-in (``sky.download_logs``).

The stand-in scripts job states and logs; it runs no command. So the head node is played here:
the real runner runs the job's bundle with a node HOME and SkyPilot's ``SKYPILOT_TASK_ID``,
writing ``skx_result.pkl`` into ``~/sky_logs/<job id>-<name>/`` as on a cluster, and that
directory is copied where the stand-in's ``download_logs`` puts the job's logs (as SkyPilot's
rsync of the log directory would).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skyexec_nb.engine.remote.python_jobs import ResultError, launch_python, result, run_command
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

# Each test starts processes that import sky (seconds each): part of the slow selection.
pytestmark = pytest.mark.slow

TIMEOUT = 60


def play_head_node(job, tmp_path: Path) -> None:
    """Run the job's bundle as SkyPilot's head node would, then stage its log dir for download."""
    bundle = Path(job.extra["remote"]["bundle"])
    sky_id = job.extra["sky_job_id"]
    node_home = tmp_path / "node_home"
    log_dir = node_home / "sky_logs" / f"{sky_id}-{job.name}"
    log_dir.mkdir(parents=True)
    env = {**os.environ, "HOME": str(node_home), "SKYPILOT_NODE_RANK": "0",
           "SKYPILOT_TASK_ID": f"sky-2026-01-02-03-04-05-123456_{job.cluster}_{sky_id}"}
    done = subprocess.run([sys.executable, str(bundle / "runner.py"), str(bundle), "--out", "sky_logs"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert (log_dir / "skx_result.pkl").exists(), done.stderr
    downloaded = Path(os.environ["SKY_STANDIN_DIR"]) / "downloaded" / job.cluster / str(sky_id)
    shutil.copytree(log_dir, downloaded, dirs_exist_ok=True)


def test_task_ships_bundle_and_errors_are_one_line(standin):
    job = launch_python(SkyExecutor(cpus="1+"), "y = 1\n", pull=["y"], backend="skypilot")
    config = job.config
    bundle = job.extra["remote"]["bundle"]
    target = next(t for t, src in config["file_mounts"].items() if src == bundle)
    assert target.startswith("~/.skyexec_nb_bundles/")
    assert config["run"] == run_command(Path(bundle), "skypilot")
    assert "--out sky_logs" in config["run"] and "python3 -u" in config["run"]
    assert "pip install" in config["setup"] and "cloudpickle" in config["setup"]
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    with pytest.raises(ResultError, match=rf"Job {job.id} left no result"):  # nothing was written
        result(job, TIMEOUT)
    shutil.rmtree(Path(os.environ["SKY_STANDIN_DIR"]) / "clusters")  # the cluster is gone
    with pytest.raises(ResultError, match=r"cannot download its results: ClusterDoesNotExist") as info:
        result(job, TIMEOUT)
    assert "\n" not in str(info.value)


def test_pulled_values_come_back_through_download_logs(standin, tmp_path):
    job = launch_python(SkyExecutor(cpus="1+"), "y = x + 1\n", push={"x": 41}, pull=["y"], backend="skypilot")
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    play_head_node(job, tmp_path)
    assert result(job, TIMEOUT) == {"y": 42}
