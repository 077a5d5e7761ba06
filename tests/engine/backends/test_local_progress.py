"""A progress bar redrawn with carriage returns reaches the log as it moves (single-node jobs)."""
from __future__ import annotations


from local_helpers import wait_for
from skyexec_nb.engine.api import launch
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

BAR = r"""
for i in 1 2 3; do printf '\r%s%%' "$((i * 10))"; sleep 0.3; done
while [ ! -e "$SKYEXEC_NB_MOUNTS/../go" ]; do sleep 0.05; done
printf '\rdone\n'; echo after
"""


def test_progress_reaches_the_log_before_the_line_ends() -> None:
    job = launch(SkyExecutor(), BAR, backend="local", name="bar")
    # the bar's states are in the log while the line is still open (the job waits for "go")
    wait_for(lambda: "30%" in job.logs(), timeout=120)  # generous: a loaded 2-core CI machine
    assert "\n" not in job.logs().split("(bar, pid=", 1)[1]
    (job.job_dir / "go").touch()
    assert job.wait(120) is JobStatus.SUCCEEDED
    log = job.logs()
    assert log.count("(bar, pid=") == 2  # one prefix for the bar's line, one for "after"
    bar_line = next(line for line in log.split("\n") if "10%" in line)
    assert bar_line.endswith("\rdone") and "\r20%\r30%" in bar_line


def test_multi_node_lines_stay_whole() -> None:
    job = launch(SkyExecutor(num_nodes=2), "printf 'a\\rb'; sleep 0.2; printf 'c\\n'", backend="local", name="two")
    assert job.wait(120) is JobStatus.SUCCEEDED
    lines = [line for line in job.logs().split("\n") if "rank=" in line]
    assert len(lines) == 2 and all(line.endswith("a\rbc") for line in lines), lines
