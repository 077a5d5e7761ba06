"""%%skylaunch dispatches --python/--sweep (magics/remote_options.py) to the engine."""
from __future__ import annotations

from typing import Callable

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from skyexec_nb.engine.status import JobStatus


def test_python_cell_with_wait_pulls_before_returning(ip: InteractiveShell) -> None:
    ip.user_ns["a"] = 20
    job = ip.run_cell_magic("skylaunch", "--python --push a --pull b --wait", "b = a + 1\nprint('b is', b)\n")
    assert job.status is JobStatus.SUCCEEDED and ip.user_ns["b"] == 21
    assert "b is 21" in job.logs()


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
    ("--python --push nothing_here", "no variable named 'nothing_here'"),
    ("--sweep X", "Invalid --sweep"),
    ("--max-parallel 2", "--max-parallel needs --sweep"),
])
def test_remote_option_errors(ip: InteractiveShell, recorded: Callable, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("skylaunch", f"--wait {line}", "echo\n")
    assert recorded() == []
