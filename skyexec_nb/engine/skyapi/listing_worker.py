"""``python -m skyexec_nb.engine.skyapi.listing_worker [--workers N] [--chunk ROWS]``: one listing of
what the SkyPilot API server knows, written to stdout as JSON lines (see :mod:`.listing_process`).

Started by :class:`~skyexec_nb.engine.skyapi.external.Listing` so that ``import sky``, the SDK calls
and the decoding of the server's answers hold this process's GIL, not the kernel's. Anything else
printed here (SkyPilot's hints and logs) goes to stderr; the protocol has stdout to itself. The
worker exits when the listing ended, or within a second of its parent's death. It runs at a lower
priority (``NICE``): on a busy machine the kernel's main thread gets a core first.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any, TextIO

from skyexec_nb.engine.skyapi.external import stream
from skyexec_nb.engine.skyapi.external_rows import ServerProblem
from skyexec_nb.engine.skyapi.listing_process import CHUNK_ROWS, FAILED, encode
from skyexec_nb.model.sky_module import one_line_error, sdk

#: Niceness of the worker: background work; on a busy machine the kernel's threads get the CPU first.
NICE = 10


def _protocol_out() -> TextIO:
    """stdout for the protocol only: fd 1 then points at stderr, for whatever else prints."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _exit_with_parent(poll: float = 0.5) -> None:
    """End this process soon after its parent (the kernel) is gone: nothing is left behind."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(3)

    threading.Thread(target=watch, name="skyexec-listing-parent", daemon=True).start()


def run(out: TextIO, *, workers: int, chunk: int) -> None:
    """The listing, line by line, then ``end`` (or ``failed`` with one line)."""
    timings: dict[str, float] = {"started": time.monotonic()}

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    try:
        sky = sdk()
        timings["imported"] = time.monotonic()
        for batch in stream(sky, workers=workers):
            now = time.monotonic()
            if batch.user is not None:
                timings["answered"] = now
            elif batch.replaces == "clusters":
                timings["listed"] = now
            lines = list(encode(batch, now, chunk))
            timings["encoding_s"] = timings.get("encoding_s", 0.0) + time.monotonic() - now
            for line in lines:
                out.write(line)
            out.flush()
        timings["done"] = time.monotonic()
        send({"t": "end", "timings": timings})
    except ServerProblem as exc:
        send({"t": "failed", "error": str(exc), "timings": timings})
    except Exception as exc:  # noqa: BLE001 - one line for the notebook, never a traceback
        send({"t": "failed", "error": f"{FAILED}: {one_line_error(exc)}", "timings": timings})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=CHUNK_ROWS)
    parser.add_argument("--nice", type=int, default=NICE)
    args = parser.parse_args(argv)
    if args.nice:
        try:  # before any thread starts (Linux: each thread has its own niceness, inherited)
            os.nice(args.nice)
        except OSError:
            pass
    out = _protocol_out()
    _exit_with_parent()
    try:
        run(out, workers=args.workers, chunk=args.chunk)
        out.close()
    except BrokenPipeError:  # the kernel stopped reading: nobody to tell
        pass
    sys.stderr.flush()
    os._exit(0)  # at once: no waiting on SkyPilot's threads or its exit handlers


if __name__ == "__main__":
    main()
