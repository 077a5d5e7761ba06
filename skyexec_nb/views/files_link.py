"""Link a local file through the Jupyter server's ``/files/`` route when the server can serve it.

When it cannot (the default state dir ``~/.skyexec_nb`` is usually outside the server's root),
the log pane's Download and Open fetch the file through the kernel instead (see
:mod:`skyexec_nb.views.log_pane`).
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from urllib.parse import quote


def _server_roots() -> list[tuple[Path, str]]:
    """(root_dir, base_url) of the Jupyter servers running on this machine (empty if unknown)."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return []
    roots = []
    try:
        for info in list_running_servers():
            root = info.get("root_dir") or info.get("notebook_dir")
            if root:
                roots.append((Path(root).expanduser().resolve(), info.get("base_url") or "/"))
    except Exception:  # unreadable runtime files: no link, the path is still shown
        return []
    return roots


def files_url(path: str | os.PathLike, roots: list[tuple[Path, str]] | None = None) -> str | None:
    """The ``/files/`` URL of ``path`` when it lies under a running server's root, else None.

    With several servers, the one whose root contains the kernel's working directory (the
    notebook's server) wins; among those, the deepest root.
    """
    target = Path(path).expanduser().resolve()
    cwd = Path.cwd().resolve()
    candidates = [
        (root, base) for root, base in (roots if roots is not None else _server_roots()) if target.is_relative_to(root)
    ]
    if not candidates:
        return None
    candidates.sort(key=lambda rb: (cwd.is_relative_to(rb[0]), len(rb[0].parts)), reverse=True)
    root, base = candidates[0]
    rel = target.relative_to(root).as_posix()
    return f"{base.rstrip('/')}/files/{quote(rel)}"


def log_link_html(path: str | os.PathLike, roots: list[tuple[Path, str]] | None = None) -> str:
    """``Full log: <path>``, the path a link when the server can serve it."""
    shown = html.escape(os.fspath(path))
    url = files_url(path, roots)
    if url is None:
        return (f'Full log: <code class="skx-log-path">{shown}</code> (outside the Jupyter root: the log pane\'s '
                f'<b>Download</b> and <b>Open</b> fetch it through the kernel)')
    return f'Full log: <a class="skx-log-link" href="{html.escape(url)}" target="_blank" rel="noopener">{shown}</a>'
