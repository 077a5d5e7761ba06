"""Envs and secrets a task leaves to be set at launch are required inputs (SkyPilot's meaning)."""
from __future__ import annotations

import pytest

from skyexec_nb.engine.api import jobs, launch
from skyexec_nb.engine.jobs.launch_inputs import fill_required
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor


def test_launch_without_a_required_env_is_one_line_and_records_nothing() -> None:
    ex = SkyExecutor.from_config({"envs": {"HF_TOKEN": None, "MODEL": "m"}})
    with pytest.raises(FieldError) as info:
        launch(ex, "echo $MODEL", backend="local")
    message = str(info.value)
    assert message.startswith("Invalid env: a value at launch for HF_TOKEN") and "\n" not in message
    assert "--env HF_TOKEN" in message
    assert jobs() == []


def test_the_launch_env_fills_it_and_the_job_sees_it() -> None:
    ex = SkyExecutor.from_config({"envs": {"GREETING": None}})
    job = launch(ex, 'echo "got $GREETING"', backend="local", env={"GREETING": "hello"})
    assert job.wait(120) is JobStatus.SUCCEEDED  # generous: a loaded 2-core CI machine
    assert "got hello" in job.logs()


def test_a_secret_without_value_is_required_on_the_local_backend_only() -> None:
    config = {"name": "t", "secrets": {"API_KEY": None}, "envs": {"A": "1"}}
    with pytest.raises(FieldError, match="a value at launch for API_KEY"):
        fill_required(config, {}, "local")
    assert fill_required(config, {}, "skypilot") == config  # SkyPilot resolves managed references
    filled = fill_required({**config, "envs": {"A": "1", "API_KEY": "v"}}, {"API_KEY": "v"}, "local")
    assert filled["secrets"] == {"API_KEY": "v"} and filled["envs"] == {"A": "1"}
    assert config["secrets"] == {"API_KEY": None}  # the argument is untouched
