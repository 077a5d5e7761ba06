"""Benchmark: the price a launch with ``--max-cost`` (or under a budget) waits for, with and without
the picker having priced something first, and how many price worker processes a kernel runs.

The picker's prices and the launch-time price share one worker process (``shared_worker()``), so
a launch after the picker showed a price asks a worker that has already imported sky. Each case
runs in a fresh interpreter with the small test catalog (HOME and SKY_RUNTIME_DIR isolated):

- ``launch alone``: the kernel's first price is the launch's (starts the worker: ``import sky``);
- ``after the picker``: the picker priced other fields first; then the launch's price (new fields,
  not cached) is timed.

Prints figures; no asserts.   python bench/launch_price.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = r"""
import json, sys, threading, time
import psutil
from skyexec_nb.engine.budget.prices import hourly_price
from skyexec_nb.engine.pricing.service import shared_price_service
from skyexec_nb.model.executor import SkyExecutor

out = {}
if sys.argv[1] == "picker":
    done = threading.Event(); t0 = time.perf_counter()
    shared_price_service().request(SkyExecutor(gpus="A100:8"), lambda answer: done.set())
    done.wait(300)
    out["picker_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
hourly, note = hourly_price(SkyExecutor(cloud="aws", gpus="V100:1", num_nodes=2), "skypilot", timeout=300)
out["launch_price_s"] = time.perf_counter() - t0
out["hourly"] = hourly
out["workers"] = sum("skyexec_nb.engine.pricing.catalog" in " ".join(p.cmdline())
                     for p in psutil.Process().children(recursive=True))
print(json.dumps(out))
"""


def run(case: str) -> dict:
    from catalog_fixture import write_catalog

    with tempfile.TemporaryDirectory(prefix="skx-bench-launch-price-") as tmp:
        write_catalog(Path(tmp))
        env = {**os.environ, "HOME": tmp, "SKY_RUNTIME_DIR": tmp, "SKYEXEC_NB_HOME": f"{tmp}/.skyexec_nb",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run([sys.executable, "-c", CHILD, case], env=env, capture_output=True, text=True,
                              timeout=600, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {runs} runs per case")
    for case, label in (("alone", "launch alone"), ("picker", "after the picker")):
        results = [run(case) for _ in range(runs)]
        times = [r["launch_price_s"] for r in results]
        extra = ""
        if case == "picker":
            extra = f"; the picker's own first price {statistics.median(r['picker_s'] for r in results):.2f} s"
        print(f"{label:>18}: launch-time price {statistics.median(times):.3f} s median "
              f"(min {min(times):.3f}, max {max(times):.3f}); price worker processes {max(r['workers'] for r in results)}"
              f"{extra}")


if __name__ == "__main__":
    main()
