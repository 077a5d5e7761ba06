"""Remote/sweep options of %%skylaunch: parsing, refusals, and runs on the local backend.

The options are exercised through a small cell magic built from the same helpers the
%%skylaunch wiring uses (``remote_args`` + ``parse_line`` + ``remote_options`` + ``run_remote``).
"""
from __future__ import annotations

import time

import pytest
from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.remote.sweep import Sweep
from skyexec_nb.magics.options import parse_line
from skyexec_nb.magics.remote_options import parse_names, parse_sweep, remote_args, remote_options, run_remote
from skyexec_nb.model.executor import SkyExecutor

TIMEOUT = 30


@magic_arguments()
@argument("-n", "--name", default=None)
@argument("--dryrun", action="store_true")
@remote_args
def _parser(line, cell):  # pragma: no cover - only its .parser is used
    """Test stand-in of %%skylaunch."""


@pytest.fixture
def skyremote(ip):
    """``%%skyremote OPTIONS``: parse like %%skylaunch, then run_remote on the local backend."""

    def magic(line: str, cell: str):
        args = parse_line(_parser, line, cell=True)
        opts = remote_options(args)
        return run_remote(SkyExecutor(), cell, opts, ip.user_ns, name=args.name, backend="local",
                          dryrun=args.dryrun)

    ip.register_magic_function(magic, "cell", "skyremote")
    return ip


def run(ip, source: str):
    result = ip.run_cell(source)
    result.raise_error()
    return result.result


def wait_for(cond, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


def test_parse_sweep_and_names():
    assert parse_sweep(["LR=1e-3, 3e-4", "BS=32,64"]) == {"LR": ["1e-3", "3e-4"], "BS": ["32", "64"]}
    assert parse_names("--push", "a, b,a") == ["a", "b"] and parse_names("--pull", None) == []


@pytest.mark.parametrize("spec, message", [
    ("LR", "Invalid --sweep: NAME=V1,V2,... with no empty value. Found: 'LR'"),
    ("LR=", "Invalid --sweep: NAME=V1,V2,... with no empty value. Found: 'LR='"),
    ("LR=1,,2", "Invalid --sweep: NAME=V1,V2,... with no empty value. Found: 'LR=1,,2'"),
    ("=1,2", "Invalid --sweep: NAME=V1,V2,... with no empty value. Found: '=1,2'"),
    ("1LR=1", "Invalid --sweep: names of letters, digits and _"),
])
def test_malformed_sweep_is_one_line(spec, message):
    with pytest.raises(UsageError) as info:
        parse_sweep([spec])
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("line, message", [
    ("--push a", "--push and --pull need --python"),
    ("--sweep A=1 --max-parallel 2 --max-parallel 0", "Invalid --max-parallel: an integer in 1..10000. Found: 0"),
    ("--python --max-parallel 2", "--max-parallel needs --sweep"),
    ("--python --pull 'a,,b'", "Invalid --pull: comma-separated variable names"),
    ("--python --push class", "Invalid --push: Python variable names. Found: 'class'"),
    ("--sweep A=1 --sweep A=2", "Invalid --sweep: each NAME once"),
])
def test_option_refusals(skyremote, recorded, line, message):
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        run(skyremote, f"%%skyremote {line}\nx = 1\n")
    assert recorded() == []


def test_undefined_push_variable_is_refused(skyremote, recorded):
    with pytest.raises(UsageError, match=r"^--push nope: no variable named 'nope' is defined in the notebook$"):
        run(skyremote, "%%skyremote --python --push nope\nprint(nope)\n")
    assert recorded() == []


def test_too_big_sweep_needs_yes(skyremote, recorded):
    with pytest.raises(UsageError, match=r"^The sweep has 1,100 jobs \(more than 1,000\)"):
        run(skyremote, f"%%skyremote --sweep A={','.join(map(str, range(110)))} --sweep B={','.join('abcdefghij')}\n"
                       "true\n")
    assert recorded() == []


def test_python_cell_push_and_pull_into_the_notebook(skyremote):
    run(skyremote, "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\n"
                   "def scale(s, k):\n    return s * k\n")
    job = run(skyremote, "%%skyremote --python --push df,scale --pull total\ntotal = int(scale(df.a, 2).sum())\n")
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    wait_for(lambda: skyremote.user_ns.get("total") == 12)


def test_pull_never_set_at_run_time_is_reported_after_the_job(skyremote):
    job = run(skyremote, "%%skyremote --python --pull missing\nif 1 > 2:\n    missing = 1\n")
    assert job.wait(TIMEOUT) is JobStatus.FAILED
    wait_for(lambda: "the cell never set 'missing'" in (job.error or ""))
    assert "missing" not in skyremote.user_ns


def test_remote_exception_fails_the_job_with_its_line(skyremote):
    job = run(skyremote, "%%skyremote --python --pull y\ny = {}['k']\n")
    assert job.wait(TIMEOUT) is JobStatus.FAILED
    wait_for(lambda: job.error == "KeyError: 'k'")
    assert 'File "<cell>", line 1' in job.logs()


def test_python_sweep_with_max_parallel(skyremote):
    skyremote.user_ns["base"] = 100
    s = run(skyremote, "%%skyremote --python --push base --pull y --sweep LR=1e-3,2e-3 --sweep BS=1,2 "
                       "--max-parallel 2 -n train\ny = base + LR * BS\n")
    assert isinstance(s, Sweep) and s.max_parallel == 2 and len(s.jobs) == 4
    assert s.jobs[0].name == "train_LR-1e-3_BS-1"
    assert [r["y"] for r in s.results(TIMEOUT)] == [100.001, 100.002, 100.002, 100.004]


def test_shell_sweep_and_dryrun(skyremote, recorded):
    plan = run(skyremote, "%%skyremote --sweep A=1,2 --dryrun\necho $A\n")
    assert plan.config["envs"]["A"] == "1" and recorded() == []
    s = run(skyremote, "%%skyremote --sweep A=1,2\necho A is $A\n")
    assert s.wait(TIMEOUT) == {"SUCCEEDED": 2} and "A is 2" in s.jobs[1].logs()
