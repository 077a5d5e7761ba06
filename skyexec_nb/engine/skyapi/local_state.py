"""What ``sky check`` last found, read from SkyPilot's own state file without importing ``sky``.

SkyPilot 0.14 caches the clouds ``sky check`` enabled in ``$SKY_RUNTIME_DIR/.sky/state.db``
(default ``~/.sky/state.db``), table ``config``, one row per workspace and capability:
``key = 'enabled_clouds_<workspace>_<capability>[_<user id>]'``, ``value`` a JSON list of cloud
names as SkyPilot spells them (``["AWS", "Kubernetes"]``); see ``sky/global_user_state.py``
(``_get_enabled_clouds_key``, ``set_enabled_clouds``). The file is opened read-only and never
created; anything unexpected (no file, another schema, a corrupt file) reads as "no cloud".
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

from skyexec_nb.model.validation import CLOUD_ALIASES, CLOUDS

KEY_PREFIX = "enabled_clouds_"
_KEY_RE = re.compile(r"^enabled_clouds_(?P<workspace>.+)_(?P<capability>compute|storage)(?:_[^_]+)?$")


def state_db_path() -> Path:
    """SkyPilot's state file: ``$SKY_RUNTIME_DIR/.sky/state.db`` (``~`` when unset)."""
    return Path(os.path.expanduser(os.environ.get("SKY_RUNTIME_DIR") or "~")) / ".sky" / "state.db"


def enabled_clouds(workspace: str | None = None, capability: str = "compute") -> list[str]:
    """Clouds enabled for ``capability`` by the last ``sky check`` (lower-case, sorted).

    Args:
        workspace: only this SkyPilot workspace (default: every workspace).
        capability: "compute" (launching) or "storage".

    Returns:
        Cloud registry names such as ``["aws", "kubernetes"]``; ``[]`` when SkyPilot has no
        state file, ``sky check`` never ran, or the file cannot be read.
    """
    path = state_db_path()
    if not path.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = conn.execute("SELECT key, value FROM config WHERE key LIKE ?",
                                (KEY_PREFIX + "%",)).fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return []
    found: set[str] = set()
    for key, value in rows:
        match = _KEY_RE.match(str(key))
        if match is None or match["capability"] != capability:
            continue
        if workspace is not None and match["workspace"] != workspace:
            continue
        found.update(_cloud_names(value))
    return sorted(found)


def _cloud_names(value: object) -> list[str]:
    """Known cloud names of one row's JSON list (clouds SkyPilot dropped are skipped)."""
    try:
        names = json.loads(value) if isinstance(value, str) else []
    except ValueError:
        return []
    out = []
    for name in names if isinstance(names, list) else []:
        name = CLOUD_ALIASES.get(str(name).lower(), str(name).lower())
        if name in CLOUDS:
            out.append(name)
    return out


def auto_backend() -> str:
    """``"skypilot"`` when ``sky check`` enabled a cloud for compute, else ``"local"``."""
    return "skypilot" if enabled_clouds() else "local"
