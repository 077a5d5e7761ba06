"""Write and read back a 50 MB single-line log: both must stay linear (goal: each <= 1 s).

    python bench/log_lines.py [MEGABYTES]

Writes the line through ``LogWriter`` in 256 KB pieces (as the node reader hands them over),
then times ``tail_lines`` (what ``Job.tail()`` does), ``follow`` to the end and ``cap_line``.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from skyexec_nb.engine.jobs import logfile


def main(megabytes: int = 50) -> None:
    size = megabytes * 1024 * 1024
    piece = b"x" * (256 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.log"
        start = time.perf_counter()
        with logfile.LogWriter(path) as log:
            for _ in range(size // len(piece)):
                log.write_bytes(piece)
            log.write_bytes(b"\n")
        write = time.perf_counter() - start

        start = time.perf_counter()
        lines = logfile.tail_lines(path, 20)
        tail = time.perf_counter() - start
        assert len(lines) == 1 and len(lines[0]) == size, "tail lost part of the line"

        start = time.perf_counter()
        followed = list(logfile.follow(path, lambda: True, poll=0.01))
        follow = time.perf_counter() - start
        assert len(followed) == 1 and len(followed[0]) == size, "follow lost part of the line"

        start = time.perf_counter()
        shown = logfile.cap_line(lines[0])
        cap = time.perf_counter() - start

    print(f"{megabytes} MB single line: write {write:.3f} s, tail() {tail:.3f} s, "
          f"follow() {follow:.3f} s, cap_line {cap * 1000:.1f} ms ({len(shown):,} chars shown)")
    print(f"goal: write and tail() each <= 1 s: {'met' if max(write, tail) <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
