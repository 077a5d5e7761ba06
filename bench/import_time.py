"""Fresh-process cost of ``import skyexec_nb`` + ``to_config(...)`` against ``import sky``.

Runs each snippet in a new Python process (default 5 times), reports the median wall time of
the whole process and the median peak RSS, and prints how many times cheaper skyexec_nb is.
Measures only; it asserts nothing. Usage: ``python bench/import_time.py [--runs N]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

SNIPPETS = {
    "skyexec_nb + to_config": (
        "import skyexec_nb\n"
        "ex = skyexec_nb.SkyExecutor(gpus='A100:8', cloud=['aws', 'gcp'], use_spot=True)\n"
        "ex.to_config('bench', cmd=['python', 'train.py'])\n"
    ),
    "import sky": "import sky\n",
}
_REPORT = "\nimport resource, sys\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def run_once(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of one fresh process running ``code``, and its peak RSS in MB."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code + _REPORT], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    return wall, int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per snippet (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:  # keep `import sky` away from the real ~/.sky
        env = {**os.environ, "HOME": home, "SKY_RUNTIME_DIR": home}
        results = {}
        for label, code in SNIPPETS.items():
            runs = [run_once(code, env) for _ in range(args.runs)]
            results[label] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
    print(f"{'':26} {'wall (s)':>9} {'peak RSS (MB)':>14}   medians of {args.runs} fresh processes")
    for label, (wall, rss) in results.items():
        print(f"{label:26} {wall:9.3f} {rss:14.1f}")
    (ours_t, ours_m), (sky_t, sky_m) = results.values()
    print(f"{'ratio (sky / skyexec_nb)':26} {sky_t / ours_t:8.1f}x {sky_m / ours_m:13.1f}x")


if __name__ == "__main__":
    main()
