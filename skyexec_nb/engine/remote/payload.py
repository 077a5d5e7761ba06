"""What a remote Python job takes with it: its variables (``--push``, function args) and bundle.

Each variable is pickled on its own with cloudpickle (notebook-defined functions and classes
travel by value) into one file of the job's bundle, with the size limit of
``get_settings().max_payload_mb`` enforced while writing, so nothing is launched or recorded when a
variable is refused. The file format lives in :mod:`skyexec_nb.engine.remote.runner` (shipped to
the node, which reads it back).

A job's *bundle* is a directory ``<state_dir>/bundles/<key>/`` (see :func:`make_bundle`). Bundles
are pruned by :func:`prune_bundles`, which every remote launch calls first: once a job is
terminal its inputs (``push.pkl``, ``values.pkl``; up to ``max_payload_mb`` each) are deleted, and
the whole bundle (with a local job's result) :data:`KEEP_DAYS` days after the job ended. A
bundle no job row refers to (a launch that died half-way) goes after a day.
"""
from __future__ import annotations

import ast
import json
import keyword
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from skyexec_nb.engine.remote import runner as remote_runner

from skyexec_nb.engine.jobs.backend_api import one_line
from skyexec_nb.engine.remote.runner import TooLarge, ValueWriteError, read_values, write_values
from skyexec_nb.model.errors import SkyExecError

MB = 1024 * 1024
#: Days a terminal job's bundle (and a local job's pulled values) are kept.
KEEP_DAYS = 7.0
_ORPHAN_SECONDS = 86400.0
_INPUTS = ("push.pkl", "values.pkl")
#: Names whose use can set variables the parser cannot see (``--pull`` is then not checked).
_DYNAMIC = frozenset({"exec", "eval", "globals", "locals", "vars", "setattr", "__dict__", "__import__"})
_INSTEAD = "save it to a file and ship it with file_mounts (or a bucket), then load it in the job"


class PayloadError(SkyExecError, ValueError):
    """A variable cannot travel with the job (not serializable, too large, or not defined)."""


def check_names(names: Iterable[str], option: str = "--push") -> list[str]:
    """Validate variable names (identifiers, no duplicates); returns them as a list.

    Raises:
        PayloadError: one line naming the bad name.
    """
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise PayloadError(f"Invalid {option}: Python variable names. Found: {name!r}")
        if name not in out:
            out.append(name)
    return out


def pick(namespace: Mapping[str, Any], names: Iterable[str], option: str = "--push") -> dict[str, Any]:
    """The ``names`` taken from ``namespace`` (the user's), refusing one that is not defined."""
    values: dict[str, Any] = {}
    for name in check_names(names, option):
        if name not in namespace:
            raise PayloadError(f"{option} {name}: no variable named {name!r} is defined in the notebook")
        values[name] = namespace[name]
    return values


def limit_bytes(limit_mb: float | None = None) -> int:
    """The payload limit in bytes (``max_payload_mb`` from the settings when not given)."""
    if limit_mb is None:
        from skyexec_nb.engine.jobs.settings import get_settings

        limit_mb = get_settings().max_payload_mb
    return int(limit_mb * MB)


def write_payload(path: Path | str, values: Mapping[str, Any], *, limit_mb: float | None = None,
                  option: str = "--push", labels: Mapping[str, str] | None = None) -> dict[str, int]:
    """Serialize ``values`` into ``path`` (nothing left on failure); returns {name: bytes}.

    Args:
        path: The payload file.
        values: {name: value}.
        limit_mb: Size limit (default ``settings.max_payload_mb``).
        option: How errors name a variable: ``"<option> <name>"``...
        labels: ...unless ``labels[name]`` gives its description.

    Raises:
        PayloadError: one line naming the variable that cannot be serialized or that takes the
            payload over the limit, and what to do instead (file_mounts or a bucket).
    """
    limit = limit_bytes(limit_mb)
    try:
        return write_values(str(path), values, limit=limit)
    except ValueWriteError as err:
        what = (labels or {}).get(err.name) or f"{option} {err.name}"
        if isinstance(err.exc, TooLarge):
            raise PayloadError(f"{what}: too large, the payload passes max_payload_mb={limit / MB:g}; "
                               f"{_INSTEAD}") from None
        raise PayloadError(f"{what}: cannot be serialized ({one_line(err.exc, 160)}); {_INSTEAD}") from None


def read_payload(path: Path | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(meta, values)`` of a file written by :func:`write_payload` or by the remote runner."""
    return read_values(str(path))


# -- --pull names the cell sets ------------------------------------------------------------------
def bound_names(source: str | bytes) -> set[str] | None:
    """Every name the code may bind anywhere, or None when that cannot be known statically.

    None for a syntax error (the node reports it), ``import *`` or a dynamic binder such as
    ``exec`` or ``globals()``. Names bound only inside functions count too (an over-estimate,
    so a name is never refused wrongly).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in _DYNAMIC:
                return None
            if not isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in _DYNAMIC:
            return None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def check_pull(body: str | bytes, pull: Iterable[str], given: Iterable[str] = ()) -> list[str]:
    """The ``--pull`` names, refusing one the cell never sets and that is not ``given`` (pushed).

    Raises:
        PayloadError: a bad name, or one line naming the variable the cell never sets.
    """
    names = check_names(pull, "--pull")
    bound = bound_names(body)
    if bound is not None:
        for name in names:
            if name not in bound and name not in set(given):
                raise PayloadError(f"--pull {name}: the cell never sets {name!r} (no assignment, def, class "
                                   "or import of it); set it in the cell or leave it out of --pull")
    return names


# -- bundles -------------------------------------------------------------------------------------
def bundle_root() -> Path:
    """``<state_dir>/bundles``, readable by the user only (pushed values may be secrets)."""
    from skyexec_nb.engine.jobs.settings import get_settings

    root = get_settings().state_path / "bundles"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_mode & 0o077:
        root.chmod(0o700)
    return root


def make_bundle(body: str | bytes, push: Mapping[str, Any] | None = None, pull: Sequence[str] = (),
                *, kind: str = "cell", shared_push: Path | None = None, limit_mb: float | None = None,
                labels: Mapping[str, str] | None = None) -> Path:
    """Write a job's bundle; returns its directory (removed again if a variable is refused).

    The bundle holds ``body.py`` (the body byte for byte), ``spec.json`` (names to pull, kind),
    ``runner.py`` (a copy of :mod:`~skyexec_nb.engine.remote.runner`), ``push.pkl`` / ``values.pkl``
    (variables) and ``out/`` (where a local job's runner writes its result).

    Args:
        body: The Python source, kept byte for byte (str is written as UTF-8).
        push: Variables to define before the body runs (merged after ``shared_push``).
        pull: Names the head node sends back.
        kind: "cell" (result is a dict) or "function" (result is ``__skx_return__``).
        shared_push: An already written payload file to hard-link (sweeps share one).
        limit_mb: Payload limit (default ``settings.max_payload_mb``).
        labels: How errors name a push variable (default ``--push <name>``).

    Raises:
        PayloadError: a variable cannot be serialized or the payload is over the limit.
    """
    path = bundle_root() / uuid.uuid4().hex[:16]
    (path / "out").mkdir(parents=True)
    try:
        (path / "body.py").write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
        (path / "spec.json").write_text(json.dumps({"pull": list(pull), "kind": kind}))
        shutil.copyfile(remote_runner.__file__, path / "runner.py")
        if shared_push is not None:
            _link(shared_push, path / "push.pkl")
        if push:
            write_payload(path / ("values.pkl" if shared_push else "push.pkl"), push,
                          limit_mb=limit_mb, labels=labels)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def prune_bundles(keep_days: float = KEEP_DAYS, now: float | None = None) -> int:
    """Free the disk held by bundles of ended jobs; returns how many bundles were removed.

    A terminal job's inputs (``push.pkl``, ``values.pkl``) are deleted at once (its nodes have
    read them); its whole bundle ``keep_days`` after it ended (``job.result()`` of a local job
    then raises ResultError). A bundle no job refers to is removed once a day old. Jobs still
    running are never touched.
    """
    from skyexec_nb.engine.jobs.registry import get_registry

    root = bundle_root()
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    rows = get_registry().rows("json_extract(extra, '$.remote.bundle') IS NOT NULL")
    owners = {Path(row["extra"]["remote"]["bundle"]).name: row for row in rows}
    removed = 0
    for path in root.iterdir():
        row = owners.get(path.name)
        if row is None:
            old = now - path.stat().st_mtime > _ORPHAN_SECONDS
        elif row["status"].is_terminal:
            old = now - (row.get("ended") or row.get("updated") or now) > keep_days * 86400
            for name in _INPUTS:
                (path / name).unlink(missing_ok=True)
        else:
            continue
        if old:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
