"""Benchmark of the launch engine (local backend). Prints figures; asserts nothing.

    python bench/launch.py [--jobs 50]

Measures: time for ``launch()`` to return (median, p95 over N launches); time from a line
printed by a node to ``follow()`` yielding it (p50/p95); this process's thread count and CPU
(the monitor thread's work) while N jobs run with an ``on_change`` listener each.
Uses a throw-away state dir unless SKYEXEC_NB_HOME is set.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_launch(n: int) -> list:
    from skyexec_nb.engine.jobs.launcher import launch
    from skyexec_nb.model.executor import SkyExecutor

    ex = SkyExecutor()
    launch(ex, "true", name="warmup").wait(60)  # imports, schema, first supervisor
    times, jobs = [], []
    for i in range(n):
        t0 = time.perf_counter()
        jobs.append(launch(ex, "sleep 4", name=f"b{i}"))
        times.append(time.perf_counter() - t0)
    print(f"launch() return time over {n}: median {statistics.median(times) * 1e3:.2f} ms, "
          f"p95 {_pct(times, 0.95) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms")
    return jobs


def bench_monitor(jobs: list) -> None:
    changes = []
    unsubscribes = [job.on_change(lambda j: changes.append(j.id)) for job in jobs]
    time.sleep(0.5)
    threads_before = threading.active_count()
    names = sorted({t.name for t in threading.enumerate()})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(2.0)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    running = sum(1 for j in jobs if j.status.value == "RUNNING")
    print(f"while {len(jobs)} jobs run ({running} RUNNING at the end): threads in this process "
          f"{threads_before} ({', '.join(names)}); CPU {100 * cpu / wall:.1f}% of one core over {wall:.1f}s")
    for job in jobs:
        job.wait(120)
    print(f"  all ended: {sorted({j.status.value for j in jobs})}; on_change calls: {len(changes)}")
    for unsubscribe in unsubscribes:
        unsubscribe()


def bench_follow(lines: int = 300) -> None:
    from skyexec_nb.engine.jobs.launcher import launch
    from skyexec_nb.model.executor import SkyExecutor

    script = (f"{sys.executable} -c \"import time\nfor i in range({lines}):\n"
              f"    print(repr(time.time()), flush=True); time.sleep(0.01)\"")
    job = launch(SkyExecutor(), script, name="latency")
    delays = []
    for line in job.follow(poll=0.05):
        now = time.time()
        try:
            delays.append(now - float(line.rsplit(" ", 1)[1]))
        except (IndexError, ValueError):
            continue
    print(f"print -> follow() latency over {len(delays)} lines (poll 0.05 s): p50 {_pct(delays, 0.5) * 1e3:.1f} ms, "
          f"p95 {_pct(delays, 0.95) * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    if "SKYEXEC_NB_HOME" not in os.environ:
        os.environ["SKYEXEC_NB_HOME"] = tempfile.mkdtemp(prefix="skyexec_bench_")
    print(f"state dir {os.environ['SKYEXEC_NB_HOME']}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    jobs = bench_launch(args.jobs)
    bench_monitor(jobs)
    bench_follow()


if __name__ == "__main__":
    main()
