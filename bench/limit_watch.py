"""What a spend-limit check costs a supervisor's watcher (one tick every 0.5 s).

A registry holds N jobs (default 10,000: a big sweep's rows plus history); one sweep group of them
carries limits with an hourly price. Printed: the median time of one ``LimitWatch`` tick for a job
with a time and cost limit (one registry read, no group), and of ``group_cost`` (one SQL query
summing the group's members, what a group limit adds to each tick), for a group of 10 and of 1,000
members.

Measures only; asserts nothing. Usage: ``python bench/limit_watch.py [--jobs 10000] [--runs 50]``.
Runs in a temporary directory; starts no process.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    os.environ["SKYEXEC_NB_HOME"] = tempfile.mkdtemp(prefix="bench-limits-")
    from skyexec_nb.engine.jobs.backend_api import RunContext
    from skyexec_nb.engine.jobs.limit_watch import LimitWatch
    from skyexec_nb.engine.jobs.logfile import LogWriter
    from skyexec_nb.engine.jobs.registry import get_registry
    from skyexec_nb.engine.jobs.slots import one_transaction
    from skyexec_nb.engine.jobs.spend import Limits, group_cost

    registry = get_registry()
    now = time.time()
    with one_transaction(registry):
        for i in range(args.jobs):
            group = "big" if i < 1000 else "small" if i < 1010 else None
            limits = Limits(timeout=3600, max_cost=1000, hourly=3.0, group=group,
                            group_max_cost=10_000 if group else None).to_options()
            registry.insert(name=f"j{i}", backend="local", status="RUNNING", created=now, started=now - 60,
                            launch_options={"limits": limits}, config={}, extra={})
    row = registry.get(1500)
    ctx = RunContext(job_id=row["id"], name=row["name"], cluster="c", app_id="a", config={},
                     launch_options=row["launch_options"], job_dir=Path(tempfile.mkdtemp()),
                     log=LogWriter(os.path.join(tempfile.mkdtemp(), "run.log")), registry=registry,
                     cancelled=threading.Event())
    watch = LimitWatch(ctx, "local")
    watch.running, watch.spend_at = True, time.time() + 3600  # no spend writes in the loop

    def median_ms(fn) -> float:
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    print(f"registry rows: {args.jobs}")
    print(f"tick of a job with a time and cost limit (incl. reading its row): "
          f"{median_ms(lambda: watch.tick(registry.get(1500))):.2f} ms")
    print(f"group_cost, group of 10:    {median_ms(lambda: group_cost(registry, 'small')):.2f} ms")
    print(f"group_cost, group of 1,000: {median_ms(lambda: group_cost(registry, 'big')):.2f} ms")


if __name__ == "__main__":
    main()
