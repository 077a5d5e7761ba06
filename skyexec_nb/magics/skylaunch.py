"""``SkyLaunchMagics``: ``%%skylaunch`` and the job line magics; settings reachable by ``%config``.

The magics only parse (``options.py``) and dispatch to the engine; views are shown by
``display()`` alone. Nothing here imports sky or ipywidgets at import time.
"""
from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display
from traitlets import Dict, Float, Integer, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from skyexec_nb.magics import job_refs
from skyexec_nb.magics.options import (
    task_file,
    OPTION_OF_FIELD,
    check_identifier,
    cluster_args,
    executor_from_args,
    job_ref_arg,
    launch_args,
    metrics_choice,
    parse_line,
    record_metrics,
    resource_args,
    task_args,
)
from skyexec_nb.model.config import dump_yaml
from skyexec_nb.magics.remote_options import RemoteOptions, remote_args, remote_options, run_remote
from skyexec_nb.magics.spend_options import (OPTION_OF_LIMIT, SpendOptions, autostop_line, refusal_text,
                                             spend_args, spend_options)

if TYPE_CHECKING:  # pragma: no cover
    from skyexec_nb.model.executor import SkyExecutor

#: Magics traits mirrored into ``engine.settings.get_settings()``.
ENGINE_SETTINGS = ("default_backend", "state_dir", "log_tail_lines", "poll_interval", "budget")
#: Errors the engine raises about launch arguments, mapped to the magic's option names.
_LAUNCH_OPTIONS = {**OPTION_OF_FIELD, "name": "--name", "backend": "--backend", "command": "cell body",
                   "workdir": "--workdir", **OPTION_OF_LIMIT}


def _settings() -> Any:
    from skyexec_nb.engine.jobs.settings import get_settings

    return get_settings()


def _usage(exc: Exception, options: dict[str, str] = _LAUNCH_OPTIONS) -> UsageError:
    """A one-line UsageError from a FieldError/ValueError, naming the magic's option."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    field = getattr(exc, "field", None)
    if field in options:
        message = message.replace(f"Invalid {field}", f"Invalid {options[field]}", 1)
    return UsageError(message)


def _optimizer_text(config: dict[str, Any]) -> str:
    """SkyPilot's optimizer plan as text, from the price worker process (the kernel never
    imports sky for it); the cell waits for it, as a dry run is asked for to be read."""
    from skyexec_nb.engine.pricing.service import shared_price_service

    answered = threading.Event()
    box: dict[str, Any] = {}
    shared_price_service().plan(config, lambda result: (box.update(result=result), answered.set()))
    answered.wait()
    return box["result"].text


@magics_class
class SkyLaunchMagics(Magics, Configurable):
    """Launch notebook cells as jobs on the cloud (or locally) and follow them."""

    # Static defaults are None so that any configured value (even 0 or '') is a change, and so
    # validated; the values start as the engine's settings (see __init__).
    default_backend = Unicode(None, allow_none=True,
                              help="Backend of %%skylaunch without --backend (local, skypilot, jobs).").tag(config=True)
    state_dir = Unicode(None, allow_none=True, help="Directory of the job registry and job logs.").tag(config=True)
    log_tail_lines = Integer(None, allow_none=True,
                             help="Lines of log shown by views and %skylogs without --tail.").tag(config=True)
    poll_interval = Float(None, allow_none=True, help="Seconds between polls of job state.").tag(config=True)
    default_executor = Dict(
        help="SkyExecutor fields used by %%skylaunch (without --executor) and by %skyexec NAME when it "
        "creates NAME, e.g. {'cloud': 'aws', 'gpus': 'A100:1'}."
    ).tag(config=True)
    budget = Dict(None, allow_none=True,
                  help="Your spending budget in dollars, e.g. {'per_day': 200} or {'per_day': 200, 'per_month': "
                  "3000} (also 'per_week'): a launch that may cost more than what is left asks for a confirmation "
                  "(--yes). {} for none.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        for name in ENGINE_SETTINGS:  # start from the engine's values; a refused config rolls back to them
            getattr(self, name)
        super().__init__(shell=shell, **kwargs)

    # ------------------------------------------------------------------ settings

    @default("default_backend")
    def _default_backend(self) -> str:
        # The configured value ("auto" included), not its resolution: otherwise setting "local"
        # while "auto" resolves to local would be no change, and traitlets would never push it.
        return _settings().configured_backend

    @default("state_dir")
    def _default_state_dir(self) -> str:
        return _settings().state_dir

    @default("log_tail_lines")
    def _default_log_tail_lines(self) -> int:
        return _settings().log_tail_lines

    @default("poll_interval")
    def _default_poll_interval(self) -> float:
        return _settings().poll_interval

    @default("budget")
    def _default_budget(self) -> dict[str, Any]:
        return dict(_settings().budget or {})

    @validate(*ENGINE_SETTINGS)
    def _push_setting(self, proposal: Any) -> Any:
        """Validate by assigning to the engine settings (their one-line TraitError propagates)."""
        name = proposal["trait"].name
        settings = _settings()
        try:
            setattr(settings, name, proposal["value"])
        except TraitError as exc:
            raise TraitError(str(exc) if str(exc).startswith("Invalid") else f"Invalid {name}: {exc}") from None
        value = settings.configured_backend if name == "default_backend" else getattr(settings, name)
        return dict(value or {}) if name == "budget" else value

    @validate("default_executor")
    def _check_default_executor(self, proposal: Any) -> dict[str, Any]:
        from skyexec_nb.model.executor import SkyExecutor

        value = dict(proposal["value"])
        try:
            SkyExecutor(**value)
        except (ValueError, TypeError) as exc:  # FieldError is a TraitError already
            raise TraitError(f"Invalid default_executor: {exc}") from None
        return value

    def _new_executor(self) -> SkyExecutor:
        from skyexec_nb.model.executor import SkyExecutor

        return SkyExecutor(**self.default_executor)

    def _user_executor(self, name: str) -> SkyExecutor:
        from skyexec_nb.model.executor import SkyExecutor

        value = self.shell.user_ns.get(name)
        if not isinstance(value, SkyExecutor):
            found = "nothing" if name not in self.shell.user_ns else type(value).__name__
            raise UsageError(f"Invalid --executor: the name of a SkyExecutor in the notebook. Found: {name!r} "
                             f"({found})")
        return value

    # ------------------------------------------------------------------ %%skylaunch

    @line_cell_magic
    @magic_arguments(name="%skylaunch")  # the help's usage line then reads %%skylaunch
    @resource_args
    @cluster_args
    @task_args
    @launch_args
    @remote_args
    @spend_args
    def skylaunch(self, line: str, cell: str | None = None) -> Any:
        """Run the cell (a bash script, exactly as written) as a job.

        ``%skylaunch --task task.yaml [options]`` (one %) runs the YAML's own ``run``.

        With --python the cell is Python run on the node(s) (--push/--pull carry variables);
        with --sweep one job per combination of values.
        Options set SkyExecutor fields (``--executor NAME`` starts from a copy of NAME).
        ``$var``/``{var}`` are expanded in this option line only, never in the cell.
        Without --wait the cell returns at once and shows the live launch panel.
        --timeout and --max-cost limit the job (with --sweep, --max-cost is the sweep's total); a
        launch that may cost more than today's budget has left asks for --yes (one printed line).
        """
        if cell is None and "--task" not in line:
            raise UsageError("%skylaunch (one %) needs --task YAML; to run a command, write it as the "
                             "body of a %%skylaunch cell")
        cell = "" if cell is None else cell
        args = parse_line(self.skylaunch, line, cell=True)
        check_identifier("--out", args.out)
        remote = remote_options(args)
        spend = spend_options(args, sweep=bool(remote.grid))
        if args.task and args.executor:
            raise UsageError("Invalid --task: either --task YAML or --executor NAME, not both")
        task = task_file(args.task) if args.task else None
        base = (task.executor if task else self._user_executor(args.executor) if args.executor
                else self._new_executor())
        executor = executor_from_args(args, base)
        if task is not None:  # a cell of only comments or blanks keeps the YAML's run
            body = [ln for ln in cell.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            cell = cell if body else (task.run or "")
            args.name = args.name or task.name
        metrics = metrics_choice(args)
        try:
            executor.validate_all()
        except ValueError as exc:
            raise _usage(exc) from None
        if args.yaml or args.dryrun:
            plan = self._dryrun(executor, cell, args, remote)
            if args.out:
                self.shell.user_ns[args.out] = plan
            return None
        try:
            launched = self._launch(executor, cell, args, remote, background_pull=not args.wait, spend=spend)
        except (RuntimeError, ValueError) as exc:  # over today's budget, no price: one line, nothing launched
            line = refusal_text(exc)
            if line is None:
                raise
            print(line)
            return None
        warning = autostop_line(launched)
        if warning:
            print(warning, file=sys.stderr)
        record_metrics(launched, metrics)
        if args.out:
            self.shell.user_ns[args.out] = launched
        if not args.wait:
            display(launched)
            return None
        job_refs.wait_streaming(launched, limit=self.log_tail_lines)
        if remote.pull and not remote.grid:
            job_refs.pull_now(launched, remote.pull, self.shell.user_ns)
        return launched

    def _launch(self, executor: SkyExecutor, cell: str, args: argparse.Namespace, remote: RemoteOptions,
                dryrun: bool = False, background_pull: bool = False, spend: SpendOptions | None = None) -> Any:
        """Dispatch to the engine: a Job (a Sweep with --sweep; a Plan when ``dryrun``).

        With ``background_pull`` a Python cell's ``--pull`` variables arrive when its job succeeds.
        ``spend`` (not for dry runs) carries the limits; a budget or price refusal propagates.
        """
        from skyexec_nb.engine.api import launch

        spend = spend or SpendOptions()
        try:
            if remote.active:
                limits = spend.sweep_kwargs() if remote.grid else spend.launch_kwargs(yes=remote.yes)
                return run_remote(executor, cell, remote, self.shell.user_ns, name=args.name,
                                  backend=args.backend, dryrun=dryrun, background_pull=background_pull,
                                  **({"limits": limits} if limits else {}))
            return launch(executor, cell, name=args.name, backend=args.backend, dryrun=dryrun,
                          **spend.launch_kwargs(yes=remote.yes))
        except ValueError as exc:  # FieldError / a backend's precheck: nothing was recorded
            if refusal_text(exc) is not None:  # no price for a cost limit: the caller prints it
                raise
            raise _usage(exc) from None

    def _dryrun(self, executor: SkyExecutor, cell: str, args: argparse.Namespace, remote: RemoteOptions) -> Any:
        """--yaml: print the task YAML (secrets masked); --dryrun: show the plan. Nothing recorded."""
        from skyexec_nb.model.masking import mask_config

        plan = self._launch(executor, cell, args, remote, dryrun=True)
        if args.yaml:
            print(dump_yaml(mask_config(plan.config)), end="")
            return plan
        display(plan)
        if plan.backend in ("skypilot", "jobs"):
            print(_optimizer_text(plan.config))
        return plan

    # ------------------------------------------------------------------ line magics

    @line_magic
    @magic_arguments()
    @argument("name", nargs="?", default="executor", metavar="NAME",
              help="variable holding the SkyExecutor (created from default_executor if absent)")
    def skyexec(self, line: str) -> None:
        """Show the resource picker bound to the SkyExecutor NAME (default ``executor``)."""
        from skyexec_nb.model.executor import SkyExecutor

        name = check_identifier("NAME", parse_line(self.skyexec, line).name)
        executor = self.shell.user_ns.get(name)
        if executor is None:
            executor = self.shell.user_ns[name] = self._new_executor()
        elif not isinstance(executor, SkyExecutor):
            raise UsageError(f"Invalid NAME: a SkyExecutor variable or a new name. Found: {name!r} "
                             f"({type(executor).__name__})")
        from skyexec_nb.views.picker import ResourcePicker

        display(ResourcePicker(executor))

    @line_magic
    @magic_arguments()
    @argument("--all", action="store_true", dest="all_work",
              help="also everything the SkyPilot API server knows: every user's clusters, their jobs and "
                   "managed jobs, wherever they were launched (loaded in the background)")
    def skyjobs(self, line: str) -> None:
        """Show the live table of recorded jobs (with --all, then the SkyPilot API server's work)."""
        args = parse_line(self.skyjobs, line)
        from skyexec_nb.views.jobs_table import JobsTable

        display(JobsTable())
        if args.all_work:
            from skyexec_nb.views.external_table import ExternalTable

            display(ExternalTable())

    @line_magic
    @magic_arguments()
    @argument("job", metavar="JOB", help="job id, job name (newest with that name) or -1 (last job); or work "
              "launched elsewhere: " + job_refs.EXTERNAL_FORMS.replace("%", "%%"))  # argparse formats help with %
    @argument("-f", "--follow", action="store_true", help="keep printing new lines until the job ends")
    @argument("--tail", type=int, default=None, metavar="N",
              help="only the last N lines (default: SkyLaunchMagics.log_tail_lines)")
    def skylogs(self, line: str) -> None:
        """Print a job's log (its last lines; with --follow, then new lines until it ends).

        CLUSTER:JOB_ID or jobs:ID watches work launched elsewhere: recorded as an attached job, its
        log followed from SkyPilot into a log file here; shown as a live panel (printed with --follow).
        """
        args = parse_line(self.skylogs, line)
        tail = self.log_tail_lines if args.tail is None else args.tail
        if not 1 <= tail <= 1_000_000:
            raise UsageError(f"Invalid --tail: a number of lines in 1..1000000. Found: {tail!r}")
        external = job_refs.is_external_ref(args.job)
        job = job_refs.attach_external(args.job) if external else job_refs.resolve_job(args.job)
        if external and not args.follow:
            display(job)
            return
        if not args.follow:
            job_refs.print_lines(job.tail(tail))
            return
        try:  # the tail, then every new line: one reader, so no line falls between the two
            job_refs.print_lines(job.follow(last=tail))
        except KeyboardInterrupt:  # stop following; the job goes on
            print(f"Stopped following job {job.id}; it is {job.status}.")

    @line_magic
    @magic_arguments()
    @argument("job", nargs="?", default=None, metavar="JOB",
              help=f"{job_refs.JOB_FORMS}, or a CLUSTER the SkyPilot API server knows; omit for all jobs")
    def skystatus(self, line: str) -> None:
        """Print one job's details, a cluster's (resources, endpoints, autostop), or a table of all jobs."""
        ref = parse_line(self.skystatus, line).job
        if ref is None:
            from skyexec_nb.engine.api import jobs

            print(job_refs.jobs_table(jobs()))
            return
        try:
            job = job_refs.resolve_job(ref)
        except UsageError as not_job:
            if ref.strip().lstrip("-").isdigit() or not ref.strip():
                raise
            try:  # not a recorded job: a cluster the SkyPilot API server knows?
                print(job_refs.cluster_details(ref.strip()))
            except UsageError as not_cluster:
                raise UsageError(f"{not_job} Nor a cluster: {not_cluster}") from None
            return
        print(job_refs.job_details(job))

    @line_magic
    @magic_arguments()
    @job_ref_arg
    def skycancel(self, line: str) -> None:
        """Cancel a job (no question asked)."""
        job = job_refs.resolve_job(parse_line(self.skycancel, line).job)
        if job.status.is_terminal:
            print(f"Job {job.id} ({job.name}) already ended: {job.status}; nothing to cancel.")
            return
        job.cancel()
        print(f"Cancelled job {job.id} ({job.name}).")

    @line_magic
    @magic_arguments()
    @job_ref_arg
    @argument("--timeout", default=None, metavar="DURATION", help="new time limit, e.g. 3h; off removes it")
    @argument("--max-cost", dest="max_cost", default=None, metavar="DOLLARS",
              help="new cost limit in dollars; off removes it")
    def skylimit(self, line: str) -> None:
        """Show or change a running job's time and cost limits (its supervisor takes them within a second)."""
        from skyexec_nb.magics import skylimit

        args = parse_line(self.skylimit, line)
        skylimit.run(args.job, args.timeout, args.max_cost)

    @line_magic
    @magic_arguments()
    @argument("cluster", nargs="?", default=None, metavar="CLUSTER", help="cluster name (see %%skystatus)")
    @argument("--idle", action="store_true",
              help="every cluster launched from here that is up with no job running (one line each)")
    @argument("--stop", action="store_true", help="with --idle: stop the clusters (disks kept) instead")
    def skydown(self, line: str) -> None:
        """Tear a cluster down through the backend of its newest job (no question asked).

        ``%skydown --idle`` tears down (``--idle --stop``: stops) every idle cluster launched from here.
        """
        from skyexec_nb.magics import skydown

        args = parse_line(self.skydown, line)
        skydown.run(args.cluster, args.idle, args.stop)
