"""Accelerator names for pickers and hints, without importing SkyPilot or using the network.

A shipped list (``skyexec_nb/data/accelerators.csv``: name, vendor, GPU memory, usual per-node
counts) is merged with SkyPilot's catalog (``common/accelerators.csv``) when that file is
already on disk under ``$SKY_RUNTIME_DIR/.sky/catalogs`` or ``~/.sky/catalogs``.
"""
from __future__ import annotations

import csv
import glob
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Accelerator:
    """One shipped accelerator: memory per device (GB) and usual per-node counts."""

    name: str
    vendor: str
    memory_gb: float
    counts: tuple[int, ...]


@lru_cache(maxsize=1)
def shipped() -> tuple[Accelerator, ...]:
    """The shipped accelerator list, in file order."""
    text = resources.files("skyexec_nb").joinpath("data/accelerators.csv").read_text(encoding="utf-8")
    return tuple(
        Accelerator(row["name"], row["vendor"], float(row["memory_gb"]),
                    tuple(int(c) for c in row["counts"].split()))
        for row in csv.DictReader(text.splitlines())
    )


def accelerator_info(name: str) -> Accelerator | None:
    """The shipped entry of ``name`` (case-insensitive), or None."""
    return next((a for a in shipped() if a.name.lower() == name.lower()), None)


def _schema_version(path: str) -> int:
    version = path.split(os.sep)[-3][1:]  # .../catalogs/v8/common/accelerators.csv
    return int(version) if version.isdigit() else 0


def catalog_files() -> list[str]:
    """SkyPilot catalog ``common/accelerators.csv`` files already on disk (newest schema first)."""
    roots = {os.environ.get("SKY_RUNTIME_DIR") or os.path.expanduser("~"), os.path.expanduser("~")}
    pattern = os.path.join(".sky", "catalogs", "v*", "common", "accelerators.csv")
    found = [p for root in sorted(roots) for p in glob.glob(os.path.join(root, pattern))]
    return sorted(found, key=_schema_version, reverse=True)


def _catalog_names(path: str) -> set[str]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return {row["AcceleratorName"].strip() for row in csv.DictReader(f) if row.get("AcceleratorName")}
    except (OSError, KeyError, csv.Error):
        return set()


def accelerator_names() -> list[str]:
    """Shipped names plus the on-disk SkyPilot catalog's names, sorted case-insensitively."""
    names = {a.name for a in shipped()}
    files = catalog_files()
    if files:
        names |= _catalog_names(files[0])
    return sorted(names, key=str.lower)
