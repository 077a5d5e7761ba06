"""Loading, %config, and the line magics (%skyexec %skyjobs %skylogs %skystatus %skycancel %skydown)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

LINE_MAGICS = ("skyexec", "skyjobs", "skylogs", "skystatus", "skycancel", "skydown")

LOAD_PROBE = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
shell.run_line_magic("load_ext", "skyexec_nb")
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"new": new, "sky": sorted(m for m in sys.modules if m == "sky" or m.startswith("sky.")),
                  "ipywidgets": "ipywidgets" in sys.modules,
                  "magics": sorted(shell.magics_manager.magics["line"]) + ["%%" + m for m in
                            shell.magics_manager.magics["cell"]]}))
"""


def _launch(ip: InteractiveShell, body: str, line: str = "") -> Any:
    ip.run_cell_magic("skylaunch", f"--out _j {line}", body)
    return ip.user_ns["_j"]


#: Heavy packages whose import would make %load_ext slow (sky alone takes seconds).
HEAVY = {"sky", "ipywidgets", "numpy", "pandas", "requests", "sqlalchemy", "cloudpickle", "ipykernel"}


def test_load_imports_no_sky_nor_anything_heavy(isolated_home: Path) -> None:
    out = subprocess.run([sys.executable, "-c", LOAD_PROBE], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    probe = json.loads(out.strip().splitlines()[-1])
    assert probe["sky"] == [] and probe["ipywidgets"] is False
    assert not HEAVY & set(probe["new"]), probe["new"]
    assert "%%skylaunch" in probe["magics"] and set(LINE_MAGICS) <= set(probe["magics"])


def test_unload_and_reload(ip: InteractiveShell) -> None:
    ip.run_line_magic("unload_ext", "skyexec_nb")
    assert ip.find_cell_magic("skylaunch") is None and ip.find_line_magic("skystatus") is None
    assert not [c for c in ip.configurables if type(c).__name__ == "SkyLaunchMagics"]
    ip.run_line_magic("load_ext", "skyexec_nb")
    ip.run_line_magic("reload_ext", "skyexec_nb")
    assert ip.find_cell_magic("skylaunch") is not None
    assert len([c for c in ip.configurables if type(c).__name__ == "SkyLaunchMagics"]) == 1


@pytest.mark.parametrize(("assignment", "setting", "value"), [
    ("default_backend = 'jobs'", "default_backend", "jobs"),
    ("log_tail_lines = 7", "log_tail_lines", 7),
    ("poll_interval = 0.5", "poll_interval", 0.5),
    ("poll_interval = 0.2", "poll_interval", 0.2),  # equal to the default: still pushed
])
def test_config_changes_the_engine_settings(ip: InteractiveShell, assignment: str, setting: str,
                                            value: Any) -> None:
    ip.run_line_magic("config", f"SkyLaunchMagics.{assignment}")
    assert getattr(get_settings(), setting) == value
    assert getattr(ip.magics_manager.registry["SkyLaunchMagics"], setting) == value


def test_config_state_dir(ip: InteractiveShell, tmp_path: Path) -> None:
    ip.user_ns["where"] = str(tmp_path / "state")
    ip.run_line_magic("config", "SkyLaunchMagics.state_dir = where")
    assert get_settings().state_dir == str(tmp_path / "state")


@pytest.mark.parametrize("assignment", ["default_backend = 'mars'", "default_backend = ''", "log_tail_lines = 0",
                                        "log_tail_lines = None", "poll_interval = 0.0", "poll_interval = -1.0",
                                        "state_dir = ''", "default_executor = {'gpus': 'A100:x'}",
                                        "default_executor = {'colour': 'red'}"])
def test_config_refuses_bad_values(ip: InteractiveShell, assignment: str, caplog: pytest.LogCaptureFixture) -> None:
    before = (get_settings().configured_backend, get_settings().log_tail_lines, get_settings().poll_interval)
    ip.run_line_magic("config", f"SkyLaunchMagics.{assignment}")
    assert "Invalid" in caplog.text
    assert (get_settings().configured_backend, get_settings().log_tail_lines, get_settings().poll_interval) == before
    magics = ip.magics_manager.registry["SkyLaunchMagics"]
    assert (magics.default_backend, magics.log_tail_lines, magics.poll_interval) == before
    assert ip.magics_manager.registry["SkyLaunchMagics"].default_executor == {}


def test_config_pins_local_even_while_auto_resolves_to_local(ip: InteractiveShell) -> None:
    assert get_settings().configured_backend == "auto" and get_settings().default_backend == "local"
    ip.run_line_magic("config", "SkyLaunchMagics.default_backend = 'local'")
    assert get_settings().configured_backend == "local"  # a cloud enabled later will not change it
    ip.run_line_magic("config", "SkyLaunchMagics.default_backend = 'auto'")
    assert get_settings().configured_backend == "auto"


def test_config_lists_the_settings(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    ip.run_line_magic("config", "SkyLaunchMagics")
    out = capsys.readouterr().out
    for name in ("default_backend", "state_dir", "log_tail_lines", "poll_interval", "default_executor"):
        assert f"SkyLaunchMagics.{name}" in out


def test_ipython_config_applies_at_load(make_shell: Callable[..., InteractiveShell]) -> None:
    config = Config()
    config.SkyLaunchMagics.log_tail_lines = 11
    config.SkyLaunchMagics.default_backend = "skypilot"
    config.SkyLaunchMagics.default_executor = {"cpus": "4+", "env_vars": {"A": "1"}}
    ip = make_shell(config)
    assert (get_settings().log_tail_lines, get_settings().default_backend) == (11, "skypilot")
    ip.run_cell_magic("skylaunch", "--dryrun --backend local --out plan", "echo\n")
    assert ip.user_ns["plan"].config["resources"] == {"cpus": "4+"}
    assert ip.user_ns["plan"].config["envs"] == {"A": "1"}
    ip.user_ns["ex"] = SkyExecutor(memory="8+")
    ip.run_cell_magic("skylaunch", "--dryrun --backend local --out plan --executor ex", "echo\n")
    assert ip.user_ns["plan"].config["resources"] == {"memory": "8+"}


def test_default_backend_is_used_without_backend(ip: InteractiveShell) -> None:
    ip.run_line_magic("config", "SkyLaunchMagics.default_backend = 'jobs'")
    ip.run_cell_magic("skylaunch", "--dryrun --out plan", "echo\n")
    assert ip.user_ns["plan"].backend == "jobs"


def test_dryrun_with_skypilot_shows_the_optimizer_plan(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture, recorded: Callable) -> None:
    import threading

    from skyexec_nb.engine.pricing import planning
    from skyexec_nb.engine.pricing import service as pricing_service
    from skyexec_nb.process_wide import ProcessWide

    seen: dict[str, Any] = {}

    class FakeService:  # the plan comes from the price worker, answered on another thread
        def plan(self, config: Any, callback: Callable[[Any], None]) -> None:
            def answer() -> None:
                seen.update(config=config, main=threading.current_thread() is threading.main_thread())
                callback(planning.PlanResult(ok=True, message="Chosen: aws m6i.2xlarge $0.38/hr", table="TABLE"))

            threading.Thread(target=answer).start()

    monkeypatch.setattr(pricing_service, "_shared", ProcessWide(lambda: FakeService()))
    ip.run_cell_magic("skylaunch", "--dryrun --backend skypilot --cpus 8 --name p", "echo\n")
    out = capsys.readouterr().out
    assert "nothing launched" in out and "TABLE\nChosen: aws m6i.2xlarge" in out
    assert seen["config"]["resources"] == {"cpus": "8"} and seen["main"] is False
    assert recorded() == []


def test_skyexec_creates_and_shows_the_picker(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    from skyexec_nb.views import picker

    shown: list[Any] = []
    monkeypatch.setattr(picker, "ResourcePicker", lambda executor: shown.append(executor) or executor)
    ip.run_line_magic("config", "SkyLaunchMagics.default_executor = {'cloud': 'aws'}")
    ip.run_line_magic("skyexec", "gpu_box")
    created = ip.user_ns["gpu_box"]
    assert isinstance(created, SkyExecutor) and created.cloud == "aws" and shown == [created]
    ip.run_line_magic("skyexec", "gpu_box")  # existing: the same object, not a new one
    assert shown == [created, created] and ip.user_ns["gpu_box"] is created
    ip.run_line_magic("skyexec", "")
    assert isinstance(ip.user_ns["executor"], SkyExecutor)


def test_skyexec_real_picker(ip: InteractiveShell) -> None:
    ip.run_line_magic("skyexec", "box")
    assert isinstance(ip.user_ns["box"], SkyExecutor)


def test_skyjobs_shows_the_table(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    from skyexec_nb.views import jobs_table

    shown: list[Any] = []
    monkeypatch.setattr(jobs_table, "JobsTable", lambda: shown.append("table") or "table")
    ip.run_line_magic("skyjobs", "")
    assert shown == ["table"]


def test_skylogs(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    job = _launch(ip, "for i in 1 2 3 4 5; do echo line$i; done\n", "--wait --name five")
    capsys.readouterr()
    ip.run_line_magic("skylogs", "five --tail 2")
    assert [ln.split(") ", 1)[1] for ln in capsys.readouterr().out.splitlines()] == ["line4", "line5"]
    ip.run_line_magic("config", "SkyLaunchMagics.log_tail_lines = 3")
    ip.run_line_magic("skylogs", str(job.id))
    assert len(capsys.readouterr().out.splitlines()) == 3
    ip.run_line_magic("skylogs", "-1 --tail 100")
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_skylogs_follow_prints_until_the_end(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    job = _launch(ip, "echo early; sleep 0.5; echo late\n", "--name slow")
    ip.run_line_magic("skylogs", "slow --follow")
    assert job.done()
    out = capsys.readouterr().out
    assert out.count("early") == 1 and out.count("late") == 1


def test_skystatus(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    ip.run_line_magic("skystatus", "")
    assert "No jobs recorded yet." in capsys.readouterr().out
    ok = _launch(ip, "echo ok\n", "--wait --name good")
    bad = _launch(ip, "exit 3\n", "--wait --name bad --ports 18765")
    capsys.readouterr()
    ip.run_line_magic("skystatus", "")
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "NAME", "BACKEND", "CLUSTER", "STATUS", "ELAPSED", "CREATED"]
    assert table[1].split()[:5] == [str(ok.id), "good", "local", ok.cluster, "SUCCEEDED"]
    assert table[2].split()[:5] == [str(bad.id), "bad", "local", bad.cluster, "FAILED"]
    ip.run_line_magic("skystatus", "bad")
    details = capsys.readouterr().out
    assert f"Job {bad.id} 'bad': FAILED" in details and "exit codes rank 0: 3" in details
    assert str(bad.log_path) in details


def test_skycancel(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    job = _launch(ip, "sleep 30\n", "--name sleeper")
    ip.run_line_magic("skycancel", "sleeper")
    assert job.wait(120) is JobStatus.CANCELLED
    assert f"Cancelled job {job.id} (sleeper)." in capsys.readouterr().out
    ip.run_line_magic("skycancel", str(job.id))
    assert "already ended: CANCELLED" in capsys.readouterr().out


def test_skydown(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    ip.run_line_magic("skydown", "nowhere")
    assert "No recorded job ran on cluster 'nowhere'" in capsys.readouterr().out
    job = _launch(ip, "echo hi\n", "--wait --cluster devbox")
    capsys.readouterr()
    ip.run_line_magic("skydown", "devbox")
    assert capsys.readouterr().out.strip() == f"Job {job.id} ran locally: no cluster to tear down."


@pytest.mark.parametrize(("magic", "line", "message"), [
    ("skylogs", "", "the following arguments are required: JOB"),
    ("skylogs", "42", "Invalid JOB: a job id, a job name"),
    ("skylogs", "nosuch", "Invalid JOB"),
    ("skylogs", "-1", "Invalid JOB"),
    ("skylogs", "1 --tail 0", "Invalid --tail"),
    ("skylogs", "1 --tail x", "--tail: invalid int value"),
    ("skylogs", "1 --bogus", "Unknown option '--bogus'"),
    ("skystatus", "nosuch", "Invalid JOB"),
    ("skystatus", "a b", "Unknown argument 'b'"),
    ("skycancel", "", "the following arguments are required: JOB"),
    ("skycancel", "7", "Invalid JOB"),
    ("skydown", "", "the following arguments are required: CLUSTER"),
    ("skyexec", "1x", "Invalid NAME"),
    ("skyexec", "not_executor", "Invalid NAME: a SkyExecutor variable"),
    ("skyjobs", "--bogus", "Unknown option '--bogus'"),
])
def test_line_magic_errors(ip: InteractiveShell, magic: str, line: str, message: str) -> None:
    ip.user_ns["not_executor"] = 3
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(magic, line)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("magic", LINE_MAGICS)
def test_line_magics_have_help(ip: InteractiveShell, magic: str) -> None:
    doc = ip.find_line_magic(magic).__doc__
    assert doc.lstrip().startswith("::") and f"%{magic}" in doc


def test_skystatus_lists_the_endpoints_of_a_serving_job(ip: InteractiveShell, capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import sys
    import time
    import urllib.request

    from skyexec_nb.engine.skyapi import endpoints

    monkeypatch.setattr(endpoints, "server_proxy_installed", lambda: False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ip.run_cell_magic("skylaunch", f"--ports {port} --name web --out web",
                      f"{sys.executable} -m http.server {port} --bind 127.0.0.1\n")
    job = ip.user_ns["web"]
    try:
        deadline = time.monotonic() + 30
        while not job.endpoints() and time.monotonic() < deadline:
            time.sleep(0.1)
        capsys.readouterr()
        ip.run_line_magic("skystatus", "web")
        out = capsys.readouterr().out
        assert f"endpoint   {port}: http://127.0.0.1:{port}" in out
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status == 200
    finally:
        job.cancel()
        job.wait(120)
    capsys.readouterr()
    ip.run_line_magic("skystatus", "web")
    assert "endpoint " not in capsys.readouterr().out  # the job ended: no link any more
