"""Bounded by design: a sweep keeps about max_parallel supervisors alive whatever its size, goes on
without the kernel that launched it, and an absurd grid is refused before anything is built."""
from __future__ import annotations

import threading

import pytest

from leftovers import processes_of, python
from skyexec_nb.engine.jobs.launcher import jobs
from skyexec_nb.engine.remote.sweep import MAX_SWEEP, Sweep, sweep
from skyexec_nb.model.executor import SkyExecutor


@pytest.mark.slow
def test_150_jobs_with_max_parallel_2_keep_about_2_supervisors(no_leftovers):
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], len(processes_of(no_leftovers, supervisors_only=True)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        s = sweep(SkyExecutor(), "true", grid={"I": list(range(150))}, max_parallel=2)
        assert s.wait(600) == {"SUCCEEDED": 150}
    finally:
        stop.set()
        sampler.join()
    assert 1 <= peak[0] <= 3, peak[0]  # P, plus one that may be between start and exit


@pytest.mark.slow
def test_sweep_completes_after_its_kernel_is_killed(no_leftovers):
    out = python("""
        import os, signal, time
        from skyexec_nb.engine.remote.sweep import sweep
        from skyexec_nb.model.executor import SkyExecutor
        s = sweep(SkyExecutor(), "sleep 0.2", grid={"I": list(range(30))}, max_parallel=2)
        deadline = time.monotonic() + 90
        while s.counts().get("SUCCEEDED", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        print(s.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # midway: 3 done, the rest queued or running
    """, no_leftovers)
    assert out.returncode == -9, out.stderr
    s = Sweep.load(out.stdout.split()[0])
    assert s.wait(300) == {"SUCCEEDED": 30}


def test_a_huge_grid_is_refused_at_once_in_one_line(no_leftovers):
    messages = []
    for grid in ({"A": range(200), "B": range(200), "C": range(200)}, {"A": range(10**12)}):
        with pytest.raises(ValueError) as info:
            sweep(SkyExecutor(), "true", grid=grid, yes=True)
        messages.append(str(info.value))
    assert all("\n" not in m and f"at most {MAX_SWEEP:,} in one sweep" in m for m in messages), messages
    assert messages[0].startswith("The sweep has 8,000,000 jobs")
    assert messages[1].startswith("The sweep has 1,000,000,000,000 jobs")
    assert jobs() == []
