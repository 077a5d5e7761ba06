"""``%%skylaunch --task task.yaml``, ``--workdir DIR`` and ``--env NAME`` (the kernel's value)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from skyexec_nb.engine.api import jobs
from skyexec_nb.engine.jobs.status import JobStatus

TASK = """\
name: my train
envs:
  GREETING:
  WHO: world
resources:
  accelerators: {A100: 8, H100: 8}
  labels: {team: nlp}
service:
  readiness_probe: /
run: |
  echo "$GREETING $WHO from yaml"
"""


@pytest.fixture
def task_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(TASK)
    return path


def test_yaml_opens_with_options_overriding_and_everything_else_kept(ip: InteractiveShell, task_yaml: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    ip.run_line_magic("skylaunch", f"--task {task_yaml} --yaml --nodes 2 --env GREETING=hi")
    written = yaml.safe_load(capsys.readouterr().out)
    assert written["name"] == "my-train" and written["num_nodes"] == 2
    assert written["envs"] == {"GREETING": "hi", "WHO": "world"}
    assert written["resources"]["accelerators"] == {"A100": 8, "H100": 8}  # a set stays a set
    assert written["resources"]["labels"] == {"team": "nlp"} and written["service"] == {"readiness_probe": "/"}
    assert written["run"] == 'echo "$GREETING $WHO from yaml"\n'


def test_a_cell_body_replaces_run_and_a_required_env_comes_from_the_kernel(
        ip: InteractiveShell, task_yaml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREETING", "hello")
    ip.run_cell_magic("skylaunch", f"--task {task_yaml} --backend local --nodes 1 --env GREETING -o job",
                      'echo "$GREETING $WHO from the cell"\n')
    job = ip.user_ns["job"]
    assert job.wait(120) is JobStatus.SUCCEEDED  # generous: a loaded 2-core CI machine
    assert "hello world from the cell" in job.logs()


def test_without_the_required_env_nothing_is_launched(ip: InteractiveShell, task_yaml: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GREETING", raising=False)
    with pytest.raises(UsageError, match="a value at launch for GREETING") as info:
        ip.run_cell_magic("skylaunch", f"--task {task_yaml} --backend local", "# the YAML's run\n")
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="Invalid --env: GREETING set in the kernel's environment"):
        ip.run_line_magic("skylaunch", f"--task {task_yaml} --backend local --env GREETING")
    assert jobs() == []


@pytest.mark.parametrize(("line", "message"), [
    ("--task /no/such.yaml", "Invalid --task: a readable SkyPilot task YAML file"),
    ("--task {bad}", "Invalid --task: valid YAML"),
    ("--task {task} --executor ex", "either --task YAML or --executor NAME"),
])
def test_bad_task_files_are_one_line(ip: InteractiveShell, task_yaml: Path, tmp_path: Path, line: str,
                                     message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: [unclosed\n")
    with pytest.raises(UsageError, match=message) as info:
        ip.run_cell_magic("skylaunch", line.format(bad=bad, task=task_yaml), "echo")
    assert "\n" not in str(info.value)
    assert jobs() == []


def test_workdir_ships_a_local_directory(ip: InteractiveShell, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('training from the workdir')\n")
    ip.run_cell_magic("skylaunch", f"--workdir {code} --backend local -o job", "python3 train.py\n")
    job = ip.user_ns["job"]
    assert job.config["workdir"] == str(code)
    assert job.wait(120) is JobStatus.SUCCEEDED
    assert "training from the workdir" in job.logs()
    with pytest.raises(UsageError, match="Invalid --workdir: an existing local directory"):
        ip.run_cell_magic("skylaunch", f"--workdir {tmp_path / 'missing'} --backend local", "true\n")


def test_the_line_form_needs_a_task(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="needs --task YAML"):
        ip.run_line_magic("skylaunch", "--backend local")
    assert jobs() == []


def test_secret_option_sets_a_task_secret_masked_on_screen(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "sekrit-123")
    ip.run_cell_magic("skylaunch", "--secret WANDB_API_KEY --secret OTHER=x --retries 2 --yaml", "echo\n")
    out = capsys.readouterr().out
    written = yaml.safe_load(out)
    assert set(written["secrets"]) == {"WANDB_API_KEY", "OTHER"} and "sekrit-123" not in out
    assert written["resources"]["job_recovery"] == {"max_restarts_on_errors": 2}
