"""Benchmark: a big sweep stays bounded in processes and kernel memory. Prints figures; asserts nothing.

    python bench/sweep_scale.py [--jobs 1000 --parallel 8] [--case2 150:2]

For each case (default: 1,000 jobs of ``sleep 0.1`` with max_parallel=8, then 150 jobs with
max_parallel=2) on the local backend in a throw-away SKYEXEC_NB_HOME: the time for ``sweep()`` to
return, this process's RSS growth (peak, sampled), the peak number of supervisor processes and of
all processes of the sweep alive at once (sampled from /proc every 20 ms: a process counts as the
sweep's when its command line is a supervisor of this state dir, or its environment carries the
state dir's job marker SKYEXEC_NB_JOB_ID with the sweep's SKYEXEC_NB_SWEEP), and the total time
until every job SUCCEEDED.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _sweep_processes(home: str) -> tuple[int, int]:
    """(supervisors, all processes of the sweep) alive now."""
    from local_helpers import proc_entries

    supervisors = others = 0
    mark = f"SKYEXEC_NB_HOME={home}".encode()
    for _pid, cmd, env in proc_entries():
        mine = mark in env
        if mine and b"skyexec_nb.engine.jobs.supervisor" in cmd:
            supervisors += 1
        elif mine and any(e.startswith(b"SKYEXEC_NB_JOB_TOKEN=") for e in env):
            others += 1
    return supervisors, supervisors + others


_SAMPLER = """
import json, os, sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from sweep_scale import _sweep_processes
home, kernel, peaks = {home!r}, {kernel}, {{"sup": 0, "all": 0, "rss": 0}}
while not os.path.exists(home + "/.bench-stop"):
    sup, every = _sweep_processes(home)
    try:
        with open(f"/proc/{{kernel}}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    except OSError:
        rss = 0
    peaks = {{"sup": max(peaks["sup"], sup), "all": max(peaks["all"], every), "rss": max(peaks["rss"], rss)}}
    time.sleep(0.02)
print(json.dumps(peaks))
"""


def run_case(n: int, parallel: int) -> None:
    """One sweep, sampled from a separate process (so the sampling costs the kernel nothing)."""
    import json
    import subprocess

    from skyexec_nb.engine.jobs.registry import get_registry
    from skyexec_nb.engine.jobs.settings import get_settings
    from skyexec_nb.engine.remote.sweep import sweep
    from skyexec_nb.model.executor import SkyExecutor

    home = get_settings().state_dir
    stop_file = os.path.join(home, ".bench-stop")
    if os.path.exists(stop_file):
        os.remove(stop_file)
    root = os.path.dirname(os.path.abspath(__file__))
    tests = os.path.join(os.path.dirname(root), "tests")  # local_helpers.proc_entries
    sampler = subprocess.Popen([sys.executable, "-c", _SAMPLER.format(root=root, tests=tests, home=home,
                                                                     kernel=os.getpid())],
                               stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    rss0 = _rss_kb()
    t0 = time.perf_counter()
    s = sweep(SkyExecutor(), "sleep 0.1", grid={"I": list(range(n))}, max_parallel=parallel,
              backend="local", yes=True)
    returned = time.perf_counter() - t0
    rss_after_sweep = _rss_kb()
    ids = [j.id for j in s.jobs]
    registry = get_registry()
    while True:
        states = [v[0] for v in registry.versions(ids).values()]
        if all(x in ("SUCCEEDED", "FAILED", "CANCELLED", "FAILED_SETUP") for x in states):
            break
        time.sleep(0.2)
    total = time.perf_counter() - t0
    open(stop_file, "w").close()
    peaks = json.loads(sampler.communicate(timeout=60)[0])
    print(f"N={n} max_parallel={parallel}: sweep() returned in {returned:.2f} s; "
          f"kernel RSS growth {(rss_after_sweep - rss0) / 1024:.1f} MB at return, "
          f"peak {(max(peaks['rss'], rss_after_sweep) - rss0) / 1024:.1f} MB; "
          f"peak supervisor processes {peaks['sup']}; peak processes of the sweep "
          f"(supervisors + job processes) {peaks['all']}; all done in {total:.1f} s: {s.counts()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--case2", default="150:2", help="N:P of a second case ('' for none)")
    args = parser.parse_args()
    os.environ.setdefault("SKYEXEC_NB_HOME", tempfile.mkdtemp(prefix="skx-sweep-bench-"))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from skyexec_nb.engine.remote.sweep import sweep  # noqa: F401 - imports before measuring
    from skyexec_nb.engine.jobs import launcher  # noqa: F401

    run_case(args.jobs, args.parallel)
    if args.case2:
        n, p = (int(x) for x in args.case2.split(":"))
        run_case(n, p)
    from skyexec_nb.engine.jobs.launcher import shutdown_for_tests

    shutdown_for_tests()


if __name__ == "__main__":
    main()
