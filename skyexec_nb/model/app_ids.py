"""NeMo-Run's app ids: ``experiment___cluster___task___jobid``."""
from __future__ import annotations

from skyexec_nb.model.errors import AppIdError


def parse_app(app_id: str) -> tuple[str, str, int]:
    """``experiment___cluster___task___jobid`` -> ``(cluster, task, job_id)``.

    Raises:
        AppIdError: (a ValueError) the id is not of that form; the message names it.
    """
    parts = app_id.rsplit("___", 3) if isinstance(app_id, str) else []
    if len(parts) != 4 or not all(parts[1:]) or not parts[3].isdigit():
        raise AppIdError(f"Invalid app id {app_id!r}: expected experiment___cluster___task___jobid "
                         "with an integer job id")
    return parts[1], parts[2], int(parts[3])
