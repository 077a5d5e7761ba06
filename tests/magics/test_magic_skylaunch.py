"""``%%skylaunch`` through a real InteractiveShell: options, dry runs, launches, errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.plan import Plan
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

BODY = "echo hi\n"
#: Quotes, $, backticks, semicolons, braces, a backslash and a trailing blank line.
TRICKY = (
    "printf '%s\\n' \"a  b\" '$HOME' \"`echo tick`\"; echo \"{braces} $((1+2))\" ; "
    "echo 'single \"double\" $x `y` ; z' \\\n  continued\n"
    "echo {x} $x ${x} $$ | tr -d 0-9\n\n"
)

#: option line -> (field, value): each sets exactly that SkyExecutor field.
FIELD_CASES: list[tuple[str, str, Any]] = [
    ("--gpus A100:8", "gpus", "A100:8"),
    ("--gpus A100:8,H100:8", "gpus", ["A100:8", "H100:8"]),
    ("--gpus-per-node 8", "gpus_per_node", 8),
    ("--cloud aws", "cloud", "aws"),
    ("--cloud aws,gcp", "cloud", ["aws", "gcp"]),
    ("--region us-east-1", "region", "us-east-1"),
    ("--zone us-east-1a", "zone", "us-east-1a"),
    ("--infra aws/us-east-1", "infra", "aws/us-east-1"),
    ("--cpus 8+", "cpus", "8+"),
    ("--memory 32+", "memory", "32+"),
    ("--instance-type p4d.24xlarge", "instance_type", "p4d.24xlarge"),
    ("--nodes 2", "num_nodes", 2),
    ("--spot", "use_spot", True),
    ("--no-spot", "use_spot", False),
    ("--disk-size 512", "disk_size", 512),
    ("--disk-size 1TB", "disk_size", "1TB"),
    ("--disk-tier high", "disk_tier", "high"),
    ("--ports 8888,6006", "ports", [8888, 6006]),
    ("--network-tier best", "network_tier", "best"),
    ("--mount /data=.", "file_mounts", {"/data": "."}),
    ("--mount /a=. --mount ~/b=.", "file_mounts", {"/a": ".", "~/b": "."}),
    ("--cluster dev-1", "cluster_name", "dev-1"),
    ("--setup 'pip install \"x<2\"; echo $HOME'", "setup", 'pip install "x<2"; echo $HOME'),
    ("--image python:3.11", "container_image", "python:3.11"),
    ("--autodown", "autodown", True),
    ("--idle-minutes 30", "idle_minutes_to_autostop", 30),
    ("--retry-until-up", "retry_until_up", True),
    ("--torchrun-nproc 4", "torchrun_nproc_per_node", 4),
    ("--job-recovery FAILOVER", "job_recovery", "FAILOVER"),
    ("--env A=1 -e B=x=y", "env_vars", {"A": "1", "B": "x=y"}),
]


def _skylaunch(ip: InteractiveShell, line: str, body: str = BODY) -> Any:
    return ip.run_cell_magic("skylaunch", line, body)


@pytest.fixture
def launch_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Every engine ``launch(executor, command, **kw)`` call the magic makes (the real one runs)."""
    from skyexec_nb.engine import api as launcher

    calls: list[tuple[Any, dict[str, Any]]] = []
    real = launcher.launch

    def spy(executor: Any, command: Any, **kwargs: Any) -> Any:
        calls.append((executor, {"command": command, **kwargs}))
        return real(executor, command, **kwargs)

    monkeypatch.setattr(launcher, "launch", spy)
    return calls


@pytest.mark.parametrize(("line", "field", "value"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_each_option_sets_its_field(ip: InteractiveShell, recorded: Callable, launch_calls: list, line: str,
                                    field: str, value: Any, capsys: pytest.CaptureFixture) -> None:
    _skylaunch(ip, f"--dryrun --name t --out plan {line}")
    (executor, kwargs), = launch_calls
    assert executor.fields_set() == {field: value}
    assert kwargs == {"command": BODY, "name": "t", "backend": None, "dryrun": True}
    plan = ip.user_ns["plan"]
    assert isinstance(plan, Plan)
    assert plan.config == SkyExecutor(**{field: value}).to_config("t", cmd=BODY)
    # --yaml prints the same task
    _skylaunch(ip, f"--yaml --name t {line}")
    shown = capsys.readouterr().out.split("\n", 0)[0]
    assert yaml.safe_load(shown[shown.index("name: t"):]) == plan.config
    assert recorded() == []


def test_backend_and_name_reach_the_launch(ip: InteractiveShell) -> None:
    _skylaunch(ip, "--dryrun --backend local --name my.job_1 -o plan")
    plan = ip.user_ns["plan"]
    assert (plan.backend, plan.name, plan.config["name"]) == ("local", "my.job_1", "my.job_1")


def test_executor_option_overrides_a_copy(ip: InteractiveShell, recorded: Callable) -> None:
    base = SkyExecutor(cloud="aws", gpus="A100:1", cpus="4+", env_vars={"A": "1"})
    ip.user_ns["ex"] = base
    _skylaunch(ip, "--executor ex --gpus H100:8 --nodes 2 --env B=2 --dryrun --out plan")
    used = SkyExecutor.from_config(ip.user_ns["plan"].config)
    assert (used.cloud, used.gpus, used.cpus, used.num_nodes) == ("aws", "H100:8", "4+", 2)
    assert used.env_vars == {"A": "1", "B": "2"}
    assert ip.user_ns["ex"] is base
    assert (base.gpus, base.num_nodes, base.env_vars) == ("A100:1", 1, {"A": "1"})
    assert recorded() == []


@pytest.mark.parametrize("value", ["missing", "not_an_executor"])
def test_executor_option_needs_an_executor(ip: InteractiveShell, recorded: Callable, value: str) -> None:
    ip.user_ns["not_an_executor"] = {"cloud": "aws"}
    with pytest.raises(UsageError, match=rf"^Invalid --executor: .*Found: '{value}'"):
        _skylaunch(ip, f"--executor {value}")
    assert recorded() == []


def test_dryrun_shows_the_plan_and_launches_nothing(ip: InteractiveShell, recorded: Callable,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert _skylaunch(ip, "--dryrun --cpus 8+ --env API_KEY=s3cr3t") is None
    out = capsys.readouterr().out
    assert "nothing launched" in out and "cpus: 8+" in out
    assert "s3cr3t" not in out and "********" in out
    assert recorded() == []


def test_yaml_masks_secrets_on_screen_only(ip: InteractiveShell, recorded: Callable,
                                           capsys: pytest.CaptureFixture) -> None:
    _skylaunch(ip, "--yaml --env API_KEY=s3cr3t --env PLAIN=visible", 'echo "$API_KEY"\n')
    out = capsys.readouterr().out
    assert "s3cr3t" not in out and "API_KEY: '********'" in out and "PLAIN: visible" in out
    assert recorded() == []
    job = _skylaunch(ip, "--wait --env API_KEY=s3cr3t --name secret", 'echo "got $API_KEY"\n')
    assert job.config["envs"]["API_KEY"] == "********"  # the registry keeps no secret (issue 12)
    assert job.logs().rstrip("\n").endswith("got s3cr3t")


def test_wait_returns_the_finished_job_and_streams_its_log(ip: InteractiveShell, recorded: Callable,
                                                           capsys: pytest.CaptureFixture) -> None:
    job = _skylaunch(ip, "--wait --name greet", "echo hello; echo world\n")
    assert isinstance(job, Job) and job.status is JobStatus.SUCCEEDED
    out = capsys.readouterr().out
    assert out.index("hello") < out.index("world")
    assert recorded() == [job]


def test_wait_returns_a_failed_job(ip: InteractiveShell) -> None:
    job = _skylaunch(ip, "--wait", "exit 3\n")
    assert job.status is JobStatus.FAILED and job.exit_codes == {0: 3}


def test_body_reaches_the_job_byte_for_byte(run_cell: Callable, ip: InteractiveShell, tmp_path: Path) -> None:
    import subprocess

    ip.user_ns["x"] = "PYTHON_VALUE"
    run_cell("%%skylaunch --wait --out j --name tricky\n" + TRICKY)
    job = ip.user_ns["j"]
    assert job.config["run"] == TRICKY
    assert (job.job_dir / "run.sh").read_text() == TRICKY
    expected = subprocess.run(["bash", "-c", TRICKY], capture_output=True, text=True, cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin"}).stdout
    logged = [line.split(") ", 1)[1] for line in job.logs().splitlines()]
    assert logged == expected.splitlines()
    assert "PYTHON_VALUE" not in job.logs()


def test_body_is_verbatim_through_run_cell_magic(ip: InteractiveShell) -> None:
    ip.user_ns["x"] = "PYTHON_VALUE"
    _skylaunch(ip, "--dryrun --out plan", TRICKY)
    assert ip.user_ns["plan"].config["run"] == TRICKY


@pytest.mark.parametrize("via", ["run_cell", "run_cell_magic"])
@pytest.mark.parametrize("form", ["$jobname", "{jobname}", "{jobname}-{n}"])
def test_option_line_expands_python_variables(ip: InteractiveShell, via: str, form: str) -> None:
    ip.user_ns.update(jobname="exp", n=3, outvar="plan")
    line = f"--dryrun --name {form} --out $outvar --env TAG={{jobname}}"
    if via == "run_cell":
        ip.run_cell(f"%%skylaunch {line}\n{BODY}").raise_error()
    else:
        _skylaunch(ip, line)
    plan = ip.user_ns["plan"]
    assert plan.name == form.replace("$jobname", "exp").replace("{jobname}", "exp").replace("{n}", "3")
    assert plan.config["envs"] == {"TAG": "exp"}
    assert plan.config["run"] == BODY


def test_without_wait_returns_at_once_and_displays_the_job(ip: InteractiveShell, capsys: pytest.CaptureFixture,
                                                          recorded: Callable) -> None:
    result = ip.run_cell("%%skylaunch --out j --name bg\nsleep 0.3; echo late\n")
    result.raise_error()
    job = ip.user_ns["j"]
    assert result.result is None and not job.done()
    assert "<Job 1 'bg' local" in capsys.readouterr().out
    assert job.wait(120) is JobStatus.SUCCEEDED and "late" in job.logs()
    assert recorded() == [job]


def test_ctrl_c_during_wait_cancels_the_job(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted_follow(self: Job, *args: Any, **kwargs: Any):
        yield "first line"
        raise KeyboardInterrupt

    monkeypatch.setattr(Job, "follow", interrupted_follow)
    with pytest.raises(KeyboardInterrupt):
        _skylaunch(ip, "--wait --out j", "sleep 30\n")
    job = ip.user_ns["j"]
    assert job.wait(120) is JobStatus.CANCELLED


BAD_LINES: list[tuple[str, str]] = [
    ("--bogus", "Unknown option '--bogus'"),
    ("stray", "Unknown argument 'stray'"),
    ("--gp A100", "Unknown option '--gp'"),
    ('--setup "unclosed', "No closing quotation"),
    ("--gpus", "--gpus: expected one argument"),
    ("--gpus A100:x", "Invalid --gpus: an accelerator"),
    ("--gpus A100:8 --gpus-per-node 4", "a GPU count that agrees"),
    ("--gpus-per-node two", "--gpus-per-node: an integer"),
    ("--cloud mars", "Invalid --cloud"),
    ("--infra aws --cloud gcp", "either infra or cloud/region/zone, not both"),
    ("--cpus 0", "Invalid --cpus"),
    ("--memory lots", "Invalid --memory"),
    ("--nodes 0", "Invalid --nodes: an integer in 1..4096"),
    ("--nodes x", "--nodes: an integer"),
    ("--disk-size -5", "Invalid --disk-size"),
    ("--disk-tier fast", "Invalid --disk-tier: one of low"),
    ("--ports 99999", "Invalid --ports"),
    ("--network-tier gold", "Invalid --network-tier"),
    ("--mount nowhere", "Invalid --mount: REMOTE=LOCAL"),
    ("--mount /data=./does-not-exist", "Invalid --mount: an existing local source"),
    ("--cluster 1bad", "Invalid --cluster"),
    ("--image ''", "Invalid --image"),
    ("--idle-minutes -1", "Invalid --idle-minutes: an integer in 0..525600"),
    ("--torchrun-nproc 0", "Invalid --torchrun-nproc"),
    ("--job-recovery sometimes", "Invalid --job-recovery"),
    ("--env NOVALUE", "Invalid --env: NOVALUE set in the kernel's environment"),
    ("--env 1BAD", "Invalid --env: KEY=VALUE"),
    ("--env 1X=2", "Invalid --env: KEY=VALUE"),
    ("--env-file missing.env", "Invalid --env-file: a readable"),
    ("--backend mars", "--backend: invalid choice"),
    ("--name 'has space'", "Invalid --name"),
    ("--name a___b", "Invalid --name"),
    ("--out 1x", "Invalid --out: a Python variable name"),
    ("--out class", "Invalid --out: a Python variable name"),
    ("--executor nothing", "Invalid --executor"),
]


@pytest.mark.parametrize("mode", ["", "--wait", "--dryrun", "--yaml"])
@pytest.mark.parametrize(("line", "message"), BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_bad_options_are_one_line_usage_errors(ip: InteractiveShell, recorded: Callable, line: str,
                                               message: str, mode: str) -> None:
    with pytest.raises(UsageError) as info:
        _skylaunch(ip, f"{mode} {line}")
    text = str(info.value)
    assert message in text and "\n" not in text
    assert recorded() == [] and "j" not in ip.user_ns


def test_bad_option_through_run_cell_is_shown_without_traceback(ip: InteractiveShell,
                                                                capsys: pytest.CaptureFixture,
                                                                recorded: Callable) -> None:
    result = ip.run_cell("%%skylaunch --nodes 0\necho hi\n")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert "UsageError: Invalid --nodes" in err and "Traceback" not in err
    assert recorded() == []


def test_help_is_real(ip: InteractiveShell) -> None:
    doc = ip.find_cell_magic("skylaunch").__doc__
    for flag in ("--gpus", "--no-spot", "--mount", "--env-file", "--executor", "--dryrun", "--yaml",
                 "--wait", "--out", "--backend", "[field num_nodes]"):
        assert flag in doc


def test_wait_output_is_bounded_but_the_log_on_disk_is_complete(ip, capsys) -> None:
    ip.run_line_magic("config", "SkyLaunchMagics.log_tail_lines = 50")
    job = ip.run_cell_magic("skylaunch", "--wait --name many", "seq 1 5000\n")
    out = capsys.readouterr().out.splitlines()
    shown = [line for line in out if line.startswith("(many, pid=")]
    assert [line.split()[-1] for line in shown[:50]] == [str(i) for i in range(1, 51)]
    assert [line.split()[-1] for line in shown[50:]] == [str(i) for i in range(4981, 5001)]  # the last 20
    assert any(f"the full log is {job.log_path}" in line for line in out)
    assert any("4930 lines not shown" in line for line in out)
    assert len(job.logs().splitlines()) == 5000  # nothing lost on disk
