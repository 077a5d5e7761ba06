"""Many remote Python jobs at once (sweeps, ``RemoteFunction.map``): shared push values written
once, bundles built all-or-nothing, launches that clean up what they did not launch."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from skyexec_nb.engine.remote.payload import bundle_root, write_payload


def shared_payload(values: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> Path:
    """Write variables shared by many jobs once; returns the file (its directory is temporary)."""
    folder = bundle_root() / f"shared-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        write_payload(folder / "push.pkl", values, labels=labels)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder / "push.pkl"


def build_all(items: Sequence[Any], make: Callable[[Any], Path]) -> list[Path]:
    """``make(item)`` for each item; on a refusal, remove the bundles already made."""
    bundles: list[Path] = []
    try:
        for item in items:
            bundles.append(make(item))
    except BaseException:
        for bundle in bundles:
            shutil.rmtree(bundle, ignore_errors=True)
        raise
    return bundles


def launch_all(bundles: list[Path], launch_one: Callable[[int, Path], Any]) -> list[Any]:
    """``launch_one(i, bundle)`` for each bundle; on a refusal, remove the bundles not launched."""
    jobs = []
    try:
        for i, bundle in enumerate(bundles):
            jobs.append(launch_one(i, bundle))
    except BaseException:
        for bundle in bundles[len(jobs):]:
            shutil.rmtree(bundle, ignore_errors=True)
        raise
    return jobs
