"""%%skylaunch dispatches --python/--sweep (magics/remote_options.py) to the engine."""
from __future__ import annotations

import html
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from skyexec_nb.engine.remote import python_jobs as remote
from skyexec_nb.engine.remote.payload import bundle_root
from skyexec_nb.engine.jobs.status import JobStatus

TIMEOUT = 30
#: A Python cell with quotes, $, braces, backticks, semicolons, a backslash and a blank line.
TRICKY_PY = ("text = \"$HOME {x} `tick`; 'q' \\\\n\"  # {x} $x\n"
             "braces = {'a': 1}; n = len(text)\n\n")


def wait_for(condition: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)
    return value


@pytest.fixture
def pull_modes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each launch_python call of the magic: whether a background pull was attached."""
    modes: list[bool] = []
    real = remote.launch_python

    def spy(*args: Any, **kwargs: Any) -> Any:
        modes.append(kwargs.get("on_values") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(remote, "launch_python", spy)
    return modes


def test_python_cell_with_wait_pulls_before_returning(ip: InteractiveShell, pull_modes: list[bool]) -> None:
    ip.user_ns["a"] = 20
    job = ip.run_cell_magic("skylaunch", "--python --push a --pull b --wait", "b = a + 1\nprint('b is', b)\n")
    assert job.status is JobStatus.SUCCEEDED and ip.user_ns["b"] == 21
    assert "b is 21" in job.logs()
    assert pull_modes == [False]  # pulled once, in the cell: no later overwrite from a thread


def test_python_cell_without_wait_pulls_when_the_job_succeeds(ip: InteractiveShell, pull_modes: list[bool],
                                                              capsys: pytest.CaptureFixture) -> None:
    import pandas as pd

    ip.run_cell("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\n"
                "def scale(s, k):\n    return s * k\n").raise_error()
    result = ip.run_cell("%%skylaunch --python --push df,scale --pull total,frame --out j\n"
                         "total = int(scale(df.a, 2).sum())\nframe = df.assign(b=df.a * 10)\n")
    result.raise_error()
    job = ip.user_ns["j"]
    assert result.result is None and pull_modes == [True]
    assert f"<Job {job.id} 'python' local" in capsys.readouterr().out  # the launch panel's text form
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    wait_for(lambda: "frame" in ip.user_ns and ip.user_ns.get("total") == 12)
    pd.testing.assert_frame_equal(ip.user_ns["frame"], pd.DataFrame({"a": [1, 2, 3], "b": [10, 20, 30]}))


def test_python_body_reaches_the_node_byte_for_byte(ip: InteractiveShell) -> None:
    ip.user_ns["x"] = "PYTHON_VALUE"
    ip.run_cell("%%skylaunch --python --pull text,braces --wait --out j\n" + TRICKY_PY).raise_error()
    job = ip.user_ns["j"]
    assert (Path(job.extra["remote"]["bundle"]) / "body.py").read_bytes() == TRICKY_PY.encode()
    namespace: dict[str, Any] = {}
    exec(TRICKY_PY, namespace)  # noqa: S102 - what the body means, run here
    assert ip.user_ns["text"] == namespace["text"] and "PYTHON_VALUE" not in ip.user_ns["text"]
    assert ip.user_ns["braces"] == {"a": 1}


def test_remote_exception_fails_the_job_and_shows_in_the_launch_panel(ip: InteractiveShell) -> None:
    from skyexec_nb.views.launch_panel import LaunchPanel

    ip.run_cell("%%skylaunch --python --out j\nx = 1\nraise ValueError(f'bad value {x + 41}')\n").raise_error()
    job = ip.user_ns["j"]
    assert job.wait(TIMEOUT) is JobStatus.FAILED
    wait_for(lambda: job.error == "ValueError: bad value 42")
    panel = LaunchPanel(job)
    try:
        wait_for(lambda: "ValueError: bad value 42" in panel.error_line.value)
        shown = lambda: html.unescape(panel.log_pane.value)  # noqa: E731
        wait_for(lambda: 'File "<cell>", line 2' in shown() and "ValueError: bad value 42" in shown())
    finally:
        panel.close()
    with pytest.raises(remote.RemoteError, match=r"(?s)^ValueError: bad value 42 .*\n.*File \"<cell>\", line 2"):
        job.result()


def test_sweep_with_wait_returns_the_finished_sweep(ip: InteractiveShell, recorded: Callable) -> None:
    sweep = ip.run_cell_magic("skylaunch", "--sweep X=1,2 --wait --name sw --out s", 'echo "x=$X"\n')
    assert ip.user_ns["s"] is sweep and sweep.counts() == {"SUCCEEDED": 2}
    assert sorted(line.split(") ", 1)[1] for job in sweep for line in job.logs().splitlines()) == ["x=1", "x=2"]
    assert len(recorded()) == 2


def test_sweep_dryrun_records_nothing(ip: InteractiveShell, recorded: Callable) -> None:
    ip.run_cell_magic("skylaunch", "--sweep X=1,2 --dryrun --out plan", 'echo "x=$X"\n')
    assert ip.user_ns["plan"].config["envs"]["X"] == "1" and recorded() == []


@pytest.mark.parametrize(("line", "message"), [
    ("--pull b", "--push and --pull need --python"),
    ("--python --push nothing_here", "--push nothing_here: no variable named 'nothing_here' is defined"),
    ("--python --push 1x", "Invalid --push: Python variable names. Found: '1x'"),
    ("--python --push lock", "--push lock: cannot be serialized"),
    ("--python --push blob", "--push blob: too large, the payload passes max_payload_mb=1; "),
    ("--python --pull never", "--pull never: the cell never sets 'never'"),
    ("--python --backend jobs --pull x", "--pull x: managed jobs (--backend jobs) cannot send variables back"),
    ("--sweep X", "Invalid --sweep: NAME=V1,V2,..."),
    ("--sweep X=", "Invalid --sweep: NAME=V1,V2,..."),
    ("--sweep ''", "Invalid --sweep: NAME=V1,V2,..."),
    ("--sweep X=1,,2", "Invalid --sweep: NAME=V1,V2,..."),
    ("--sweep", "argument --sweep: expected one argument"),
    ("--sweep X=1 --sweep X=2", "Invalid --sweep: each NAME once"),
    (f"--sweep X={','.join(map(str, range(1001)))}", "The sweep has 1,001 jobs (more than 1,000)"),
    ("--python --sweep X=1,2 --pull y", "--pull y: the cell never sets 'y'"),
    ("--max-parallel 2", "--max-parallel needs --sweep"),
    ("--sweep X=1 --max-parallel 0", "Invalid --max-parallel: an integer in 1..10000. Found: 0"),
])
@pytest.mark.parametrize("mode", ["--wait", "", "--dryrun"])
def test_remote_option_errors(ip: InteractiveShell, recorded: Callable, line: str, message: str,
                              mode: str) -> None:
    from skyexec_nb.engine.jobs.settings import get_settings

    get_settings().max_payload_mb = 1
    ip.user_ns.update(lock=threading.Lock(), blob=b"x" * (2 * 1024 * 1024))
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("skylaunch", f"{mode} --out j {line}", "x = 1\n")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert recorded() == [] and "j" not in ip.user_ns
    assert not bundle_root().exists() or not list(bundle_root().iterdir())
