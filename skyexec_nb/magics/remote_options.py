"""``%%skylaunch`` options for remote Python and sweeps: parse, validate, run against the engine.

Pure helpers the magic calls (it only parses and dispatches)::

    @remote_args                      # --python --push --pull --sweep --max-parallel --yes
    def skylaunch(self, line, cell):
        args = parse_line(self.skylaunch, line, cell=True)
        opts = remote_options(args)   # UsageError (one line) on bad input
        if opts.active:
            job_or_sweep = run_remote(executor, cell, opts, self.shell.user_ns, name=args.name,
                                      backend=args.backend, dryrun=..., background_pull=not args.wait)

Every user error is a one-line ``UsageError``; nothing is launched or recorded then.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Callable, MutableMapping, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, argument_group

from skyexec_nb.model.limits import MAX_PARALLEL

F = TypeVar("F", bound=Callable[..., Any])

_ARGUMENTS = [
    argument_group("Remote Python and sweeps"),
    argument("--python", action="store_true",
             help="the cell is Python, run on the node(s) with the task's Python"),
    argument("--push", default=None, metavar="A,B",
             help="notebook variables sent with the job (cloudpickle) and defined before the cell runs"),
    argument("--pull", default=None, metavar="X,Y",
             help="variables brought back into the notebook when the job succeeds"),
    argument("--sweep", action="append", default=[], metavar="K=V1,V2",
             help="launch one job per combination of values (env vars; with --python also variables); "
                  "repeatable"),
    argument("--max-parallel", type=int, default=None, metavar="N",
             help="with --sweep: at most N jobs running at once (the rest wait PENDING)"),
    argument("--yes", action="store_true",
             help="with --sweep: confirm more than 1,000 jobs; also: launch although it may exceed the budget"),
]


def remote_args(func: F) -> F:
    """Decorator adding the remote/sweep options to a ``magic_arguments`` magic."""
    for deco in reversed(_ARGUMENTS):
        func = deco(func)
    return func


@dataclass
class RemoteOptions:
    """The parsed remote/sweep options of one ``%%skylaunch``."""

    python: bool = False
    push: list[str] = field(default_factory=list)
    pull: list[str] = field(default_factory=list)
    grid: dict[str, list[str]] = field(default_factory=dict)
    max_parallel: int | None = None
    yes: bool = False

    @property
    def active(self) -> bool:
        """True when the cell must go through :func:`run_remote` (``--python`` or ``--sweep``)."""
        return self.python or bool(self.grid)


def parse_names(option: str, text: str | None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]`` (Python variable names; None -> [])."""
    from skyexec_nb.engine.remote.payload import PayloadError, check_names

    if text is None:
        return []
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise UsageError(f"Invalid {option}: comma-separated variable names. Found: {text!r}")
    try:
        return check_names(names, option)
    except PayloadError as exc:
        raise UsageError(str(exc)) from None


def parse_sweep(specs: list[str]) -> dict[str, list[str]]:
    """``["LR=1e-3,3e-4", "BS=32,64"]`` -> ``{"LR": ["1e-3", "3e-4"], "BS": ["32", "64"]}``."""
    from skyexec_nb.engine.remote.sweep import check_grid

    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        values = [v.strip() for v in text.split(",")]
        if not sep or not key.strip() or not all(values):
            raise UsageError(f"Invalid --sweep: NAME=V1,V2,... with no empty value. Found: {spec!r}")
        if key.strip() in grid:
            raise UsageError(f"Invalid --sweep: each NAME once. Found: {key.strip()!r} twice")
        grid[key.strip()] = values
    if grid:
        try:
            check_grid(grid)
        except ValueError as exc:
            raise UsageError(str(exc).replace("Invalid grid", "Invalid --sweep")) from None
    return grid


def remote_options(args: argparse.Namespace) -> RemoteOptions:
    """The validated options of ``args`` (from a parser decorated with :func:`remote_args`)."""
    opts = RemoteOptions(python=bool(args.python), push=parse_names("--push", args.push),
                         pull=parse_names("--pull", args.pull), grid=parse_sweep(args.sweep),
                         max_parallel=args.max_parallel, yes=bool(args.yes))
    if (opts.push or opts.pull) and not opts.python:
        raise UsageError("--push and --pull need --python: a shell cell has no Python variables")
    if opts.max_parallel is not None and not opts.grid:
        raise UsageError("--max-parallel needs --sweep")
    if opts.max_parallel is not None and not 1 <= opts.max_parallel <= MAX_PARALLEL:
        raise UsageError(f"Invalid --max-parallel: an integer in 1..{MAX_PARALLEL}. Found: {opts.max_parallel!r}")
    return opts


def pushed_values(opts: RemoteOptions, user_ns: MutableMapping[str, Any]) -> dict[str, Any]:
    """The ``--push`` variables taken from the notebook (UsageError for one not defined)."""
    missing = [n for n in opts.push if n not in user_ns]
    if missing:
        raise UsageError(f"--push {missing[0]}: no variable named {missing[0]!r} is defined in the notebook")
    return {name: user_ns[name] for name in opts.push}


def pull_into(names: list[str], user_ns: MutableMapping[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The callback that sets the pulled ``names`` in the notebook's namespace."""
    return lambda values: user_ns.update({n: values[n] for n in names if n in values})


def run_remote(executor: Any, cell: str, opts: RemoteOptions, user_ns: MutableMapping[str, Any], *,
               name: str | None = None, backend: str | None = None, env: dict[str, str] | None = None,
               dryrun: bool = False, background_pull: bool = True, limits: dict[str, Any] | None = None) -> Any:
    """Launch the cell as remote Python and/or a sweep; returns a Job, a Sweep, or a Plan (dryrun).

    With ``background_pull`` a Python cell's ``--pull`` variables are set in ``user_ns`` when its
    job succeeds (off the kernel's thread; a failure is the job's ``error``); without it the
    caller pulls (``--wait``). A sweep's pulled values come from ``sweep.results()``. With
    ``dryrun`` and ``--sweep`` the Plan is the first job's. Raises UsageError (one line) for every
    refusal; nothing is launched then. ``limits``: spend keywords of the sweep (``timeout``, ``max_cost``,
    ``max_cost_each``) or of the one job (``timeout``, ``max_cost``, ``expected_duration``, ``yes``).
    """
    from skyexec_nb.engine.remote import python_jobs as remote
    from skyexec_nb.engine.remote import sweep

    push = pushed_values(opts, user_ns)
    try:
        if opts.grid and not dryrun:
            return sweep.sweep(executor, cell, opts.grid, max_parallel=opts.max_parallel, python=opts.python,
                               push=push, pull=opts.pull, yes=opts.yes, backend=backend, name=name, env=env,
                               literal_values=True, **(limits or {}))
        if opts.grid:  # dry run: the first combination's plan
            sweep.check_size(len(sweep.combinations(opts.grid)), opts.yes)
            first = sweep.combinations(opts.grid)[0]
            env = {**(env or {}), **first}
            name = sweep.job_name(name or "sweep", first)
            push = {**push, **{k: sweep.literal(v) for k, v in first.items()}} if opts.python else push
        if not opts.python:
            from skyexec_nb.engine.api import launch

            return launch(executor, cell, name=name, backend=backend, env=env, dryrun=dryrun)
        on_values = pull_into(opts.pull, user_ns) if opts.pull and background_pull else None
        return remote.launch_python(executor, cell, push=push, pull=opts.pull, name=name or "python",
                                    backend=backend, env=env, dryrun=dryrun, on_values=on_values, **(limits or {}))
    except ValueError as exc:  # PayloadError, FieldError, grid errors: nothing was launched
        from skyexec_nb.magics.spend_options import option_message, refusal_text

        if refusal_text(exc) is not None:  # no price for a cost limit: the magic prints it
            raise
        raise UsageError(option_message(exc)) from None
