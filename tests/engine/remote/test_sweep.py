"""Sweeps on the local backend: grids, names, env and Python values, results, refusals."""
from __future__ import annotations

import re

import pytest

from skyexec_nb.engine.remote import python_jobs as remote_mod
from skyexec_nb.engine.jobs.launcher import jobs
from skyexec_nb.engine.remote.payload import PayloadError
from skyexec_nb.engine.remote.sweep import Sweep, check_grid, combinations, job_name, literal, sweep
from skyexec_nb.model.executor import SkyExecutor

TIMEOUT = 30


@pytest.fixture
def ex() -> SkyExecutor:
    return SkyExecutor()


def test_combinations_are_the_cartesian_product():
    combos = combinations(check_grid({"LR": [1e-3, 3e-4], "BS": (32, 64)}))
    assert combos == [{"LR": 1e-3, "BS": 32}, {"LR": 1e-3, "BS": 64}, {"LR": 3e-4, "BS": 32},
                      {"LR": 3e-4, "BS": 64}]


@pytest.mark.parametrize("grid, message", [
    ({}, "Invalid grid: a non-empty dict"),
    (None, "Invalid grid: a non-empty dict"),
    ({"LR": []}, "Invalid grid: at least one value for LR"),
    ({"LR": "1e-3"}, "Invalid grid: a list of values for LR"),
    ({"1LR": [1]}, "Invalid grid: names of letters"),
])
def test_empty_or_malformed_grid_is_one_line(ex, grid, message):
    with pytest.raises(ValueError) as info:
        sweep(ex, "true", grid=grid)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert jobs() == []


def test_more_than_1000_jobs_need_yes(ex):
    grid = {"A": list(range(40)), "B": list(range(30))}
    with pytest.raises(ValueError, match=r"^The sweep has 1,200 jobs \(more than 1,000\): pass yes=True"):
        sweep(ex, "true", grid=grid, python=True)
    assert jobs() == [] and not list(remote_mod.bundle_root().glob("*"))


def test_push_without_python_is_refused(ex):
    with pytest.raises(ValueError, match="need python=True"):
        sweep(ex, "true", grid={"A": [1]}, push={"x": 1})


def test_refused_payload_launches_nothing(ex):
    import threading

    with pytest.raises(PayloadError, match="--push lock: cannot be serialized"):
        sweep(ex, "print(A)", grid={"A": [1, 2]}, python=True, push={"lock": threading.Lock()})
    assert jobs() == [] and not list(remote_mod.bundle_root().glob("*"))


def test_names_are_made_of_values_and_valid_for_skypilot():
    names = [job_name("sweep", v) for v in
             [{"LR": 1e-3, "BS": 32}, {"LR": -0.5}, {"OPT": "adam w/ x"}, {"P": "a__b"}]]
    assert names[0] == "sweep_LR-0.001_BS-32"
    sky_task_name = re.compile(r"[a-zA-Z0-9]+(?:[._-]{1,2}[a-zA-Z0-9]+)*")  # sky/task.py _VALID_NAME_REGEX
    assert all(sky_task_name.fullmatch(n) and "___" not in n for n in names)


def test_literal_values():
    assert literal("1e-3") == 1e-3 and literal("32") == 32 and literal("adam") == "adam"
    assert literal("[1, 2]") == [1, 2]


def test_shell_sweep_gets_values_as_env_and_counts(ex):
    s = sweep(ex, 'echo "LR=$LR BS=$BS"', grid={"LR": ["1e-3", "3e-4"], "BS": [32, 64]}, name="train")
    assert isinstance(s, Sweep) and len(s.jobs) == 4
    assert s.wait(TIMEOUT) == {"SUCCEEDED": 4}
    assert [j.name for j in s.jobs][0] == "train_LR-1e-3_BS-32"
    assert "LR=3e-4 BS=64" in s.jobs[3].logs()
    info = s.jobs[1].extra["sweep"]
    assert info["id"] == s.id and info["index"] == 1 and info["size"] == 4
    assert info["values"] == {"LR": "1e-3", "BS": "64"}
    again = Sweep.load(s.id)
    assert [j.id for j in again.jobs] == [j.id for j in s.jobs] and again.values[1] == info["values"]


def test_python_sweep_values_are_variables_and_results_come_back(ex):
    s = sweep(ex, "import os\ny = LR * BS + base\nenv = os.environ['BS']\n",
              grid={"LR": [0.5, 2], "BS": [10, 20]}, python=True, push={"base": 1}, pull=["y", "env"])
    assert s.results(TIMEOUT) == [{"y": 6.0, "env": "10"}, {"y": 11.0, "env": "20"},
                                  {"y": 21, "env": "10"}, {"y": 41, "env": "20"}]


def test_literal_values_keep_text_for_env_and_eval_for_python(ex):
    s = sweep(ex, "import os\nv = (LR, os.environ['LR'])\n", grid={"LR": ["1e-3"]}, python=True,
              pull=["v"], literal_values=True)
    assert s.results(TIMEOUT) == [{"v": (1e-3, "1e-3")}]
