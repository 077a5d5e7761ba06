"""Run a job action (cancel, tear down) off the kernel's thread; report errors in words."""
from __future__ import annotations

import threading
from typing import Any, Callable


def run_action(label: str, action: Callable[[], Any], done: Callable[[str], None]) -> threading.Thread:
    """Start ``action()`` in a daemon thread, then call ``done(error_text)`` ('' on success).

    A blocking ``job.down()`` (minutes on SkyPilot) must never block the kernel, so buttons use this.
    """

    def run() -> None:
        error = ""
        try:
            action()
        except Exception as exc:  # shown to the user, never lost
            error = f"{label} failed: {exc}"
        done(error)

    thread = threading.Thread(target=run, name=f"skyexec-nb-{label.lower().replace(' ', '-')}", daemon=True)
    thread.start()
    return thread
