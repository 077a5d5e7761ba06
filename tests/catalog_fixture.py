"""A small hand-made SkyPilot catalog (schema v8) for offline price and plan tests.

Layout and columns are those of SkyPilot 0.14.1's own catalog: ``aws/vms.csv``, ``lambda/vms.csv``
(no AvailabilityZone column: an empty one silently drops Lambda), ``common/accelerators.csv`` and
``common/metadata.csv`` under ``<runtime_dir>/.sky/catalogs/v8``, where the runtime dir is
``$SKY_RUNTIME_DIR`` (default HOME), fixed at the first ``import sky``. No ``.meta/*.md5`` files
are written, so SkyPilot treats the CSVs as user-provided and never re-fetches them.

``CatalogHost`` serves the same files over HTTP, standing in for SkyPilot's catalog host (the price
worker then fetches them as SkyPilot would, with md5 files: refreshed on SkyPilot's schedule).
"""
from __future__ import annotations

import csv
from pathlib import Path

CATALOG_VERSION = "v8"

_AWS_HEADER = [
    "InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB", "GpuInfo",
    "Price", "SpotPrice", "Region", "AvailabilityZone", "Arch", "LocalDiskType", "NVMeSupported",
    "LocalDiskSize", "LocalDiskCount", "MaximumEfaInterfaces",
]
_LAMBDA_HEADER = [c for c in _AWS_HEADER if c != "AvailabilityZone"]


def _gpu_info(name: str, count: int, mib: int) -> str:
    return (f"{{'Gpus': [{{'Name': '{name}', 'Manufacturer': 'NVIDIA', 'Count': {count}, "
            f"'MemoryInfo': {{'SizeInMiB': {mib}}}}}], 'TotalGpuMemoryInMiB': {mib * count}}}")


# (instance, gpu, count, vcpus, mem GiB, gpu MiB, price, spot, region, az)
AWS_ROWS: list[tuple] = [
    ("p4d.24xlarge", "A100", 8, 96, 1152, 40960, 32.7726, 13.1, "us-east-1", "use1-az1"),
    ("p4d.24xlarge", "A100", 8, 96, 1152, 40960, 32.7726, 13.5, "us-east-1", "use1-az2"),
    ("p4d.24xlarge", "A100", 8, 96, 1152, 40960, 32.7726, 12.5, "us-west-2", "usw2-az1"),
    ("p4d.24xlarge", "A100", 8, 96, 1152, 40960, 35.3926, 14.0, "eu-west-1", "euw1-az1"),
    ("p4de.24xlarge", "A100-80GB", 8, 96, 1152, 81920, 40.9657, 16.0, "us-east-1", "use1-az1"),
    ("p3.2xlarge", "V100", 1, 8, 61, 16384, 3.06, 0.918, "us-east-1", "use1-az1"),
    ("p3.16xlarge", "V100", 8, 64, 488, 16384, 24.48, 7.344, "us-east-1", "use1-az1"),
    ("p5.48xlarge", "H100", 8, 192, 2048, 81920, 98.32, 40.0, "us-east-1", "use1-az1"),
    ("m6i.2xlarge", None, None, 8, 32, None, 0.384, 0.15, "us-east-1", "use1-az1"),
    ("m6i.2xlarge", None, None, 8, 32, None, 0.384, 0.16, "us-west-2", "usw2-az1"),
]
# (instance, gpu, count, vcpus, mem GiB, gpu MiB, price, region) -- Lambda has no spot.
LAMBDA_ROWS: list[tuple] = [
    ("gpu_8x_a100", "A100", 8, 124, 1800, 40960, 14.32, "us-east-1"),
    ("gpu_8x_a100", "A100", 8, 124, 1800, 40960, 14.32, "us-west-1"),
    ("gpu_1x_a100", "A100", 1, 30, 200, 40960, 1.29, "us-east-1"),
    ("gpu_8x_h100_sxm5", "H100", 8, 208, 1800, 81920, 23.92, "us-east-1"),
]


def catalog_dir(runtime_dir: Path) -> Path:
    """Where SkyPilot reads its catalog when ``SKY_RUNTIME_DIR=runtime_dir``."""
    return Path(runtime_dir) / ".sky" / "catalogs" / CATALOG_VERSION


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_catalog(runtime_dir: Path, *, clouds: tuple[str, ...] = ("aws", "lambda")) -> Path:
    """Write the small catalog under ``runtime_dir``; return the versioned catalog dir."""
    root = catalog_dir(runtime_dir)
    if "aws" in clouds:
        rows = []
        for it, gpu, n, vcpu, mem, mib, price, spot, region, az in AWS_ROWS:
            info = _gpu_info(gpu, n, mib) if gpu else ""
            rows.append([it, gpu or "", n or "", vcpu, mem, info, price, spot, region, az,
                         "x86_64", "", "", "", "", ""])
        _write(root / "aws" / "vms.csv", _AWS_HEADER, rows)
    if "lambda" in clouds:
        rows = [[it, gpu, n, vcpu, mem, _gpu_info(gpu, n, mib), price, "", region,
                 "x86_64", "", "", "", "", ""]
                for it, gpu, n, vcpu, mem, mib, price, region in LAMBDA_ROWS]
        _write(root / "lambda" / "vms.csv", _LAMBDA_HEADER, rows)
    names = {"A100": ["AWS", "Lambda"], "A100-80GB": ["AWS"], "V100": ["AWS"], "H100": ["AWS", "Lambda"]}
    _write(root / "common" / "accelerators.csv", ["AcceleratorName", "Clouds"],
           [[k, repr(v)] for k, v in names.items()])
    _write(root / "common" / "metadata.csv", ["GPU", "Manufacturer", "MemoryGB"],
           [["A100", "NVIDIA", 40], ["A100-80GB", "NVIDIA", 80], ["V100", "NVIDIA", 16],
            ["H100", "NVIDIA", 80]])
    return root


def catalog_files(clouds: tuple[str, ...] = ("aws", "lambda")) -> dict[str, bytes]:
    """The small catalog's files as SkyPilot's catalog host serves them: ``{'aws/vms.csv': b'...'}``."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = write_catalog(Path(tmp), clouds=clouds)
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


class CatalogHost:
    """A stand-in for SkyPilot's catalog host: ``http.server`` on 127.0.0.1 (port 0) in a thread.

    Serves ``files`` (``{'aws/vms.csv': bytes}``) under ``<url>/v8/``; point the price worker at it
    with ``SKYEXEC_NB_CATALOG_URL=host.url``. ``hits`` counts requests per file; ``status`` (when
    set) answers every request with that HTTP error; clearing ``open`` holds every answer until it
    is set again (a slow host: past the client's time-out, or long enough to watch "fetching").
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        import collections
        import http.server
        import threading

        host = self
        self.files = dict(files)
        self.hits: collections.Counter = collections.Counter()
        self.status: int | None = None
        self.open = threading.Event()
        self.open.set()
        self.closed = False

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                name = self.path.split(f"/{CATALOG_VERSION}/", 1)[-1]
                host.hits[name] += 1
                host.open.wait(60)  # bounded: close() opens it
                if host.closed:
                    return
                body = host.files.get(name)
                if host.status is not None or body is None:
                    self.send_error(host.status or 404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/catalogs"
        self._thread = threading.Thread(target=self.server.serve_forever, name="catalog-host", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving (the port then refuses connections: a host that is down)."""
        if self.closed:
            return
        self.closed = True
        self.open.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "CatalogHost":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_fresh(code: str, timeout: float = 120) -> object:
    """Run ``code`` in a fresh python (this process's env) and return the JSON of its last stdout line.

    SkyPilot fixes its catalog path at the first ``import sky`` of a process, so look-ups against
    a per-test catalog run in a new interpreter; ``code`` must print one JSON line last.
    """
    import json
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
