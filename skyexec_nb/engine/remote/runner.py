"""The program a remote Python job runs on every node (standard library + cloudpickle only).

This file is shipped verbatim in each job's bundle (``file_mounts``) and run as a script, so it
works on nodes where skyexec_nb is not installed; the kernel side imports it as
``skyexec_nb.engine.remote.runner`` for the file format (:func:`write_values`,
:func:`read_values`). Usage on a node::

    python3 -u runner.py BUNDLE_DIR --out DIR|sky_logs

``BUNDLE_DIR`` holds ``body.py`` (the cell, byte for byte), ``spec.json`` (``{"pull": [...]}``)
and optionally ``push.pkl`` (pushed variables) and ``values.pkl`` (this job's own, for sweeps). The body runs in a fresh ``__main__``
namespace holding the pushed variables. On the head node (``SKYPILOT_NODE_RANK`` 0) the runner
writes ``skx_result.pkl`` into the output directory: a meta record (ok, error, traceback, ...)
followed by the pulled variables. With ``--out sky_logs`` the directory is the SkyPilot job's log
directory (``~/sky_logs/<job id>-<name>`` or ``~/sky_logs/<run timestamp>``), which
``sky.download_logs`` brings back. Exit codes: 0 ok, 1 the body raised (traceback on stderr), 2
the runner could not start, 3 a ``--pull`` variable is missing or cannot be serialized.
"""
from __future__ import annotations

import builtins
import glob
import json
import linecache
import os
import pickle
import sys
import traceback
from typing import Any, BinaryIO, Iterable, Mapping

try:
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - plain data still travels without it
    _pickler = pickle  # type: ignore[assignment]

RESULT_FILE = "skx_result.pkl"
CELL_NAME = "<cell>"
FORMAT = 1
EXIT_BODY, EXIT_RUNNER, EXIT_PULL = 1, 2, 3


class TooLarge(Exception):
    """Raised by :class:`_Capped` when a write would pass its byte budget."""


class _Capped:
    """A write-only file wrapper that counts bytes and raises :class:`TooLarge` past ``limit``."""

    def __init__(self, fh: BinaryIO, limit: int | None) -> None:
        self.fh, self.limit, self.count = fh, limit, 0

    def write(self, data: Any) -> int:
        with memoryview(data) as view:  # pickle hands large buffers over as PickleBuffer
            self.count += view.nbytes
        if self.limit is not None and self.count > self.limit:
            raise TooLarge(self.count)
        return self.fh.write(data)


class ValueWriteError(Exception):
    """Writing the variable ``name`` failed with ``exc`` (``TooLarge`` when over the limit)."""

    def __init__(self, name: str, exc: BaseException) -> None:
        super().__init__(name, exc)
        self.name, self.exc = name, exc


def write_values(path: str, values: Mapping[str, Any], meta: Mapping[str, Any] | None = None,
                 limit: int | None = None) -> dict[str, int]:
    """Write ``meta`` and then each ``(name, value)`` as separate pickle records to ``path``.

    Each value is pickled on its own (cloudpickle when available) so that a failure names its
    variable; ``limit`` caps the file's size in bytes and stops writing as soon as it is passed.
    The file appears atomically (written aside, then renamed). Returns {name: bytes}.

    Raises:
        ValueWriteError: naming the variable that could not be pickled or passed the limit.
    """
    sizes: dict[str, int] = {}
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as raw:
            out = _Capped(raw, limit)
            pickle.dump({"format": FORMAT, **(meta or {})}, out, protocol=pickle.HIGHEST_PROTOCOL)
            for name, value in values.items():
                before = out.count
                try:
                    pickle.dump(name, out, protocol=pickle.HIGHEST_PROTOCOL)
                    _pickler.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:
                    raise ValueWriteError(name, exc) from exc
                sizes[name] = out.count - before
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return sizes


def read_values(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a file written by :func:`write_values`: returns ``(meta, {name: value})``."""
    values: dict[str, Any] = {}
    with open(path, "rb") as fh:
        meta = pickle.load(fh)
        while True:
            try:
                name = pickle.load(fh)
            except EOFError:
                break
            values[name] = pickle.load(fh)
    return meta, values


def sky_log_dir() -> str:
    """The SkyPilot job's log directory on this node (created if need be)."""
    task_id = os.environ.get("SKYPILOT_TASK_ID", "")
    stamp, _, rest = task_id.partition("_")
    job_id = rest.rsplit("_", 1)[-1].split("-")[0] if rest else ""
    logs = os.path.expanduser("~/sky_logs")
    candidates = sorted(glob.glob(os.path.join(logs, f"{job_id}-*"))) if job_id else []
    if not candidates and stamp and os.path.isdir(os.path.join(logs, stamp)):
        candidates = [os.path.join(logs, stamp)]
    target = candidates[0] if candidates else os.path.join(logs, stamp or "skyexec_nb")
    os.makedirs(target, exist_ok=True)
    return target


def _format_exc(exc: BaseException, skip: int = 1) -> str:
    tb = exc.__traceback__
    for _ in range(skip):  # drop the runner's own frame(s)
        tb = tb.tb_next if tb is not None else None
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run(bundle: str, out_dir: str | None, rank: int) -> int:
    """Run the bundle's body; on rank 0 write the result file into ``out_dir``. Returns the exit code."""
    with open(os.path.join(bundle, "spec.json"), encoding="utf-8") as fh:
        spec = json.load(fh)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    for payload in ("push.pkl", "values.pkl"):  # shared variables, then this job's own
        path = os.path.join(bundle, payload)
        if not os.path.exists(path):
            continue
        try:
            namespace.update(read_values(path)[1])
        except ModuleNotFoundError as exc:
            print(f"skyexec_nb: cannot load the pushed variables: {exc}. To fix: install it on the "
                  "node (setup: pip install cloudpickle ...)", file=sys.stderr)
            return EXIT_RUNNER
    with open(os.path.join(bundle, "body.py"), "rb") as fh:
        source = fh.read()
    code = compile(source, CELL_NAME, "exec", dont_inherit=True)
    text = source.decode("utf-8", "replace")  # for traceback lines, as IPython does for cells
    linecache.cache[CELL_NAME] = (len(text), None, text.splitlines(True), CELL_NAME)
    meta: dict[str, Any] = {"ok": True, "rank": rank}
    code_out, failure = 0, None
    try:
        exec(code, namespace)  # noqa: S102 - the user's own cell, on the user's own node
    except BaseException as exc:  # noqa: BLE001 - report everything, including SystemExit
        text = _format_exc(exc)
        sys.stderr.write(text)
        meta.update(ok=False, kind="exception", ename=type(exc).__name__, evalue=str(exc),
                    traceback=text, error=f"{type(exc).__name__}: {exc}")
        code_out, failure = EXIT_BODY, exc
    if rank != 0 or out_dir is None:
        return code_out
    pulled: dict[str, Any] = {}
    if meta["ok"]:
        missing = [n for n in spec.get("pull", []) if n not in namespace]
        if missing:
            meta.update(ok=False, kind="missing", missing=missing,
                        error=f"--pull {', '.join(missing)}: the cell never set {', '.join(map(repr, missing))}")
            code_out = EXIT_PULL
        else:
            pulled = {n: namespace[n] for n in spec.get("pull", [])}
    else:
        pulled = {"__exception__": failure}
    target = os.path.join(out_dir, RESULT_FILE)
    try:
        write_values(target, pulled, meta)
    except ValueWriteError as err:
        if err.name != "__exception__":
            meta.update(ok=False, kind="unserializable", error=f"--pull {err.name}: cannot be "
                        f"serialized ({type(err.exc).__name__}: {err.exc})")
            code_out = EXIT_PULL
        write_values(target, {}, meta)  # an unpicklable exception still leaves its traceback
    if meta.get("kind") in ("missing", "unserializable"):
        print(f"skyexec_nb: {meta['error']}", file=sys.stderr)
    return code_out


def main(argv: Iterable[str] | None = None) -> int:
    """Entry point: ``runner.py BUNDLE_DIR [--out DIR|sky_logs]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: runner.py BUNDLE_DIR [--out DIR|sky_logs]", file=sys.stderr)
        return EXIT_RUNNER
    bundle, out_dir = args[0], None
    if "--out" in args[1:]:
        out_dir = args[args.index("--out") + 1]
    rank = int(os.environ.get("SKYPILOT_NODE_RANK", "0") or 0)
    if out_dir == "sky_logs" and rank == 0:
        out_dir = sky_log_dir()
    elif out_dir is not None:
        out_dir = os.path.expanduser(out_dir)
        os.makedirs(out_dir, exist_ok=True)
    return run(os.path.expanduser(bundle), out_dir, rank)


if __name__ == "__main__":
    sys.exit(main())
