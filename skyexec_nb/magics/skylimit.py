"""``%skylimit JOB [--timeout DURATION|off] [--max-cost DOLLARS|off]``: change a running job's limits.

With no option it prints the job's limits. The change goes through ``skyexec_nb.set_limits``: the
job's supervisor takes it within a second and writes a line to the job's log; a cost limit on a job
launched without a price prices it now from the catalog. Bad values are the model's one-line error
with the option's name; a job that has ended is one printed line. Nothing changes on an error.
"""
from __future__ import annotations

from IPython.core.error import UsageError

from skyexec_nb.magics import job_refs
from skyexec_nb.magics.spend_options import option_message


def run(ref: str, timeout: str | None, max_cost: str | None) -> None:
    """Print the job's limits (no option) or change them and print what changed."""
    from skyexec_nb.engine.api import set_limits
    from skyexec_nb.engine.jobs.limit_change import LimitChangeRefused, describe
    from skyexec_nb.model.errors import FieldError

    job = job_refs.resolve_job(ref)
    if timeout is None and max_cost is None:
        print(f"job {job.id} ({job.name}): {describe(job.limits)}"
              " (change with --timeout DURATION or --max-cost DOLLARS; 'off' removes one)")
        return
    try:
        print(set_limits(job, timeout=timeout, max_cost=max_cost))
    except LimitChangeRefused as exc:
        print(f"Nothing changed: {exc}")
    except FieldError as exc:
        raise UsageError(option_message(exc)) from None
