"""The listing's worker process, seen from the kernel: started, read line by line, killed.

:class:`ListingWorker` starts ``python -m skyexec_nb.engine.skyapi.listing_worker`` in its own
process group but this session (so, on Linux, in the kernel's scheduling autogroup, where the
worker's lower priority lets the kernel's threads go first), with this process's environment
(see :func:`child_env`), and turns each JSON line it
writes back into a :class:`~skyexec_nb.engine.skyapi.external_rows.Batch`. So the SDK calls, the
decoding of the API server's answers and the building of rows hold the worker's GIL, never the
kernel's: the kernel decodes only lines of at most ``CHUNK_ROWS`` rows.

The lines (one JSON object each; :func:`encode` writes them, :func:`decode` reads them):

* ``{"t": "batch", "at": T, "rows": [ROW, ...], "replaces": ..., "note": ..., "user": ...,
  "extends": bool}`` - one piece of the listing; a big answer is several lines, the later ones
  with ``extends`` (more rows of the same key). ``T`` is the worker's ``time.monotonic()`` when
  the piece arrived (CLOCK_MONOTONIC is system-wide on Linux: comparable with the kernel's).
* ``{"t": "end", "timings": {...}}`` - complete; ``{"t": "failed", "error": LINE, "timings": {...}}``
  - the API server could not be asked, or the listing broke (one line).

A worker that dies, or writes anything else, ends the listing ``failed`` with one line (the
tail of its stderr). :meth:`ListingWorker.kill` and :meth:`ListingWorker.close` kill the whole
process group: no process is left behind.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from skyexec_nb.engine.skyapi.external_rows import Batch, ExternalRow
from skyexec_nb.model.sky_module import SDK_ENV, one_line_error, strip_ansi

WORKER_MODULE = "skyexec_nb.engine.skyapi.listing_worker"
#: Most rows in one line: the kernel never decodes a huge line at once (~250 kB, a few ms).
CHUNK_ROWS = 500
_ROW_FIELDS = tuple(f for f in ExternalRow.__dataclass_fields__)
#: The worker gets its own process group (killed whole), not its own session: it stays in the
#: kernel's scheduling autogroup (Linux), where its lower priority (nice) lets the kernel go first.
_OWN_GROUP: dict[str, Any] = ({"process_group": 0} if sys.version_info >= (3, 11)
                              else {"preexec_fn": os.setpgrp})
FAILED = "Listing SkyPilot's work failed"


# -- the lines --------------------------------------------------------------------------------------

def encode(batch: Batch, at: float, chunk: int = CHUNK_ROWS) -> Iterator[str]:
    """``batch`` as lines (with their newline): its rows in pieces of at most ``chunk``."""
    rows = batch.rows
    chunk = max(1, chunk)
    for start in range(0, max(1, len(rows)), chunk):
        piece = rows[start:start + chunk]
        message = {"t": "batch", "at": at, "replaces": batch.replaces, "user": batch.user,
                   "note": batch.note if start == 0 else None, "extends": batch.extends or start > 0,
                   "rows": [{f: getattr(r, f) for f in _ROW_FIELDS} for r in piece]}
        yield json.dumps(message, default=str, separators=(",", ":")) + "\n"


def decode(message: dict[str, Any]) -> tuple[Batch, float | None]:
    """A ``"batch"`` line's :class:`Batch` and the worker's time of it."""
    rows = tuple(ExternalRow(**row) for row in message.get("rows") or ())
    return (Batch(rows=rows, replaces=message.get("replaces"), note=message.get("note"), user=message.get("user"),
                  extends=bool(message.get("extends"))), message.get("at"))


# -- the process -----------------------------------------------------------------------------------

def child_env() -> dict[str, str]:
    """This process's environment, plus on ``PYTHONPATH`` the folder of the SDK module named by
    ``$SKYEXEC_NB_SKY_SDK`` when it is importable here only through ``sys.path`` (the tests'
    stand-in lives in ``tests/``)."""
    env = dict(os.environ)
    name = (env.get(SDK_ENV) or "").split(".")[0]
    if not name:
        return env
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not (spec.submodule_search_locations or spec.origin):
        return env
    where = (Path(next(iter(spec.submodule_search_locations))).parent if spec.submodule_search_locations
             else Path(str(spec.origin)).parent)
    installed = {str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(where.resolve()) not in installed and str(where) not in paths:
        env["PYTHONPATH"] = os.pathsep.join([str(where), *paths])
    return env


class ListingWorker:
    """One listing in a short-lived worker process (see the module docstring).

    Args:
        workers: threads the worker asks cluster queues with.
        chunk: most rows per line.
    """

    def __init__(self, *, workers: int = 8, chunk: int = CHUNK_ROWS) -> None:
        self.workers, self.chunk = workers, chunk
        self.timings: dict[str, float] = {}  # the worker's own time.monotonic() of each step
        self.killed = False
        self._proc: subprocess.Popen | None = None
        self._stderr: Any = None
        self._lock = threading.Lock()
        self._reaped = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the worker (its own process group, this session). Raises OSError if it cannot be started."""
        with self._lock:
            if self.killed:
                return
            self._stderr = tempfile.TemporaryFile()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, "--workers", str(self.workers), "--chunk", str(self.chunk)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, env=child_env(),
                close_fds=True, **_OWN_GROUP)

    def kill(self) -> None:
        """Kill the worker's process group now (from any thread); :meth:`follow` then ends "stopped"."""
        with self._lock:
            self.killed = True
            self._kill_group()

    def _kill_group(self) -> None:
        if self._proc is not None and not self._reaped and self._proc.returncode is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def follow(self, on_batch: Callable[[Batch, float | None], None]) -> tuple[str, str | None]:
        """Read the worker's lines (blocking: the listing's thread), handing each piece to ``on_batch``.

        Returns:
            ``("complete", None)``, ``("failed", one line)`` or ``("stopped", None)`` after :meth:`kill`.
        """
        if self._proc is None:
            return ("stopped", None) if self.killed else ("failed", f"{FAILED}: the listing worker was not started")
        assert self._proc.stdout is not None
        outcome: tuple[str, str | None] | None = None
        unreadable = None
        try:
            for raw in self._proc.stdout:
                if not raw.endswith(b"\n"):  # cut short: the worker died writing it (its exit says why)
                    break
                try:
                    message = json.loads(raw)
                    kind = message["t"]
                    if kind == "batch":
                        on_batch(*decode(message))
                except (ValueError, TypeError, KeyError) as exc:  # not a line of ours, or rows that cannot be built
                    unreadable = _short(raw.decode(errors="replace"), 80) or one_line_error(exc)
                    break
                if kind in ("end", "failed"):
                    self.timings = dict(message.get("timings") or {})
                    outcome = ("complete", None) if kind == "end" else ("failed", _short(str(message.get("error"))))
                    break
        finally:
            code = self.close(wait=1.0 if outcome is not None else 0.0 if unreadable else 5.0)
        try:
            if outcome is not None:
                return outcome
            if self.killed:
                return "stopped", None
            if unreadable is not None:
                return "failed", f"{FAILED}: the listing worker wrote an unreadable line: {unreadable!r}"
            how = f"was killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited ({code})"
            tail = self.stderr_tail()
            why = f"{FAILED}: the listing worker {how} before the listing was complete"
            return "failed", why + (f": {tail}" if tail else "")
        finally:
            if self._stderr is not None:
                self._stderr.close()

    def close(self, wait: float = 1.0) -> int | None:
        """Let the worker exit (``wait`` s at most: it exits once it wrote its last line), then kill
        what is left of its process group and reap it; its exit code."""
        proc = self._proc
        if proc is None:
            return None
        deadline = time.monotonic() + wait
        while not self.killed and time.monotonic() < deadline:
            if not hasattr(os, "waitid"):  # (macOS) reaped here: what is left of its group stays
                try:
                    proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                break
            try:  # exited? (not reaped: its pid, hence its group, stays ours until the kill below)
                if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                    break
            except ChildProcessError:
                break
            time.sleep(0.02)
        with self._lock:
            self._kill_group()
            code = proc.wait()
            self._reaped = True
        if proc.stdout is not None:
            proc.stdout.close()
        return code

    def stderr_tail(self) -> str:
        """The last line the worker wrote to stderr (why it died), or ''."""
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - 8192))  # the tail only
            lines = [ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return _short(strip_ansi(lines[-1])) if lines else ""


def _short(text: str, most: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"
