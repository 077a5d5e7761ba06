"""What remote Python costs on the local backend, against a plain shell job.

1. Launch-to-result of a remote Python cell (``launch_python`` + ``result``) against the same
   body run as a shell job (``python -c BODY``; launch to terminal status), median/p95 of N runs.
2. Push and pull of 1 MB and 100 MB payloads (a ``bytes`` object and a float64 numpy array):
   serialization into the bundle (push), the job round trip, and reading the result (pull).

Measures only; asserts nothing. Usage: ``python bench/remote.py [--runs N]``.
Runs in a temporary SKYEXEC_NB_HOME (payload limit raised to 512 MB for the 100 MB case).
"""
from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time

BODY = "x = sum(range(100000))\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def show(label: str, values: list[float]) -> None:
    print(f"  {label:<44} median {statistics.median(values) * 1000:8.1f} ms   "
          f"p95 {pct(values, 0.95) * 1000:8.1f} ms   (n={len(values)})")


def overhead(runs: int) -> None:
    from skyexec_nb.engine.jobs.launcher import launch
    from skyexec_nb.engine.remote.python_jobs import launch_python, result
    from skyexec_nb.model.executor import SkyExecutor

    ex = SkyExecutor()
    shell, python = [], []
    for _ in range(runs):
        t = time.perf_counter()
        launch(ex, f"{shlex.quote(sys.executable)} -c {shlex.quote(BODY)}", name="shell", backend="local").wait(60)
        shell.append(time.perf_counter() - t)
        t = time.perf_counter()
        result(launch_python(ex, BODY, pull=["x"], name="python", backend="local"), 60)
        python.append(time.perf_counter() - t)
    print("1. launch to result (local backend)")
    show("shell job (python -c BODY), to terminal", shell)
    show("remote Python cell, to result()", python)
    print(f"  overhead of the Python cell: {(statistics.median(python) - statistics.median(shell)) * 1000:+.1f} ms "
          "(median)")


def payloads(runs: int) -> None:
    import numpy as np

    from skyexec_nb.engine.remote.python_jobs import launch_bundle, make_bundle, result
    from skyexec_nb.model.executor import SkyExecutor

    ex = SkyExecutor()
    print("2. push / pull (local backend)")
    for mb in (1, 100):
        for kind, make in (("bytes", lambda n: os.urandom(n)),
                           ("numpy", lambda n: np.random.default_rng(0).random(n // 8))):
            value = make(mb * 1024 * 1024)
            push, trip, pull = [], [], []
            for _ in range(max(1, runs // (10 if mb == 100 else 1))):
                t0 = time.perf_counter()
                bundle = make_bundle("y = x\n", {"x": value}, ["y"])
                t1 = time.perf_counter()
                job = launch_bundle(ex, bundle, name="payload", backend="local")
                job.wait(300)
                t2 = time.perf_counter()
                result(job, 60)
                t3 = time.perf_counter()
                push.append(t1 - t0)
                trip.append(t2 - t1)
                pull.append(t3 - t2)
            show(f"{mb:>3} MB {kind}: push (serialize into bundle)", push)
            show(f"{mb:>3} MB {kind}: job (load, run, write result)", trip)
            show(f"{mb:>3} MB {kind}: pull (read result)", pull)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["SKYEXEC_NB_HOME"] = home
        from skyexec_nb.engine.jobs.settings import get_settings

        get_settings().max_payload_mb = 512
        overhead(args.runs)
        payloads(args.runs)
        from skyexec_nb.engine.jobs import launcher

        launcher.shutdown_for_tests()


if __name__ == "__main__":
    main()
