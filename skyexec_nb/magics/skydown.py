"""``%skydown``: tear down one cluster, or stop / tear down every idle cluster launched from here.

``%skydown CLUSTER`` goes through the backend of the newest job that ran on CLUSTER (as before);
``%skydown --idle`` tears down, ``%skydown --idle --stop`` stops, every cluster launched from this
notebook's registry that is UP with no job running (``engine.budget.idle``), one line each.
"""
from __future__ import annotations

from typing import Any, Callable

from IPython.core.error import UsageError

from skyexec_nb.magics import job_refs

NOTHING_IDLE = "Nothing idle: no cluster launched from here is up without a job."


def check_args(cluster: str | None, idle: bool, stop: bool) -> None:
    """One-line UsageError for a combination the magic does not take."""
    if stop and not idle:
        raise UsageError("--stop needs --idle (%skydown --idle --stop stops every idle cluster; "
                         "%skydown CLUSTER tears one down)")
    if cluster and idle:
        raise UsageError("Invalid %skydown: either CLUSTER or --idle (every idle cluster), not both")
    if not cluster and not idle:
        raise UsageError("%skydown: the following arguments are required: CLUSTER (or --idle: every idle "
                         "cluster launched from here)")


def down_one(cluster: str) -> str:
    """Tear ``cluster`` down through the backend of its newest recorded job; the line to print."""
    on_cluster = job_refs.jobs_on_cluster(cluster)
    if not on_cluster:
        return f"No recorded job ran on cluster {cluster!r}; nothing torn down."
    job = on_cluster[-1]
    message = job.down()
    return message or f"Tore down cluster {cluster!r} (backend {job.backend}, job {job.id})."


def down_idle_lines(stop: bool, down_idle: Callable[..., list[str]] | None = None) -> list[str]:
    """Stop (``stop``) or tear down every idle cluster launched from here: one line each.

    Raises:
        UsageError: one line when SkyPilot could not be asked (nothing was stopped then).
    """
    if down_idle is None:
        from skyexec_nb.engine.api import down_idle
        from skyexec_nb.engine.budget.idle import our_clusters

        if not our_clusters():  # no SkyPilot job launched from here: nothing to ask SkyPilot (nor import it)
            return [NOTHING_IDLE]
    try:
        lines = [" ".join(str(line).split()) for line in down_idle(stop=stop)]
    except Exception as exc:  # the API server unreachable, not logged in: say so in one line
        raise UsageError(f"Could not list the idle clusters: {' '.join(str(exc).split()) or type(exc).__name__}"
                         ) from None
    return lines or [NOTHING_IDLE]


def run(cluster: str | None, idle: bool, stop: bool) -> None:
    """What ``%skydown`` does with its parsed arguments: print one line per cluster."""
    check_args(cluster, idle, stop)
    lines: list[Any] = down_idle_lines(stop) if idle else [down_one(cluster or "")]
    for line in lines:
        print(line)
