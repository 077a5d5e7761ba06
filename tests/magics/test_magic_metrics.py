"""``%%skylaunch --metrics NAMES --x KEY``: recorded with the job (the panel and job.metrics() use
it), for every job of a sweep too; a bad name is a one-line UsageError and nothing is launched."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

CELL = 'for i in 1 2 3; do echo "iter $i step=$((i * 10)) loss=0.$((9 - i)) acc=0.$i gpu_mem=3"; done'


def test_metrics_and_x_are_recorded_and_used_by_job_metrics(run_cell, ip):
    run_cell(f"%%skylaunch --backend local --metrics loss,acc --x step --out job\n{CELL}")
    job = ip.user_ns["job"]
    assert job.extra["metrics"] == {"keys": ["loss", "acc"], "x": "step"}
    job.wait(60)
    assert job.metrics() == [{"step": 10.0, "loss": 0.8, "acc": 0.1, "line": 1.0},
                             {"step": 20.0, "loss": 0.7, "acc": 0.2, "line": 2.0},
                             {"step": 30.0, "loss": 0.6, "acc": 0.3, "line": 3.0}]
    assert [r["iter"] for r in job.metrics("gpu_mem", x="iter")] == [1.0, 2.0, 3.0]  # arguments win


def test_a_sweep_records_the_choice_for_every_job(run_cell, ip):
    run_cell(f"%%skylaunch --backend local --sweep LR=1,2 --metrics loss --out sw\n{CELL}")
    sweep = ip.user_ns["sw"]
    assert [job.extra["metrics"] for job in sweep.jobs] == [{"keys": ["loss"], "x": None}] * 2
    sweep.wait(60)
    rows = sweep.metrics()
    assert [(r["LR"], r["step"], r["loss"]) for r in rows][:2] == [("1", 10.0, 0.8), ("1", 20.0, 0.7)]
    assert {r["job"] for r in rows} == {job.id for job in sweep.jobs} and "acc" not in rows[0]


@pytest.mark.parametrize("options, message", [
    ("--metrics 'loss;rm -rf'", "Invalid --metrics: comma-separated metric names"),
    ("--metrics ,", "Invalid --metrics"),
    ("--x '1 2'", "Invalid --x: one key the job prints"),
])
def test_bad_names_are_refused_before_launch(run_cell, recorded, options, message):
    with pytest.raises(UsageError, match=message):
        run_cell(f"%%skylaunch --backend local {options}\necho hi")
    assert recorded() == []
