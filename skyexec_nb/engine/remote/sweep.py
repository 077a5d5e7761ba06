"""Sweeps: the Cartesian product of a grid of values, one job per combination.

Each job gets its values as environment variables (and, with ``python=True``, as Python
variables), a name made of its values, and its sweep's group in its task envs
(``SKYEXEC_NB_SWEEP``, ``SKYEXEC_NB_MAX_PARALLEL``: see :mod:`~skyexec_nb.engine.jobs.slots`). The
registry row's ``extra["sweep"]`` holds ``{"id", "index", "size", "values", "max_parallel"}``
(views group a sweep's rows by ``id``).
"""
from __future__ import annotations

import ast
import itertools
import math
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, Sized

from skyexec_nb.engine.jobs.slots import SWEEP_ENV, group_env
from skyexec_nb.engine.remote.batches import build_all, shared_payload
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.validation import is_env_name

MAX_JOBS = 1000
#: No sweep has more jobs than this, confirmed or not.
MAX_SWEEP = 100_000


def check_grid(grid: Any) -> dict[str, list[Any]]:
    """``grid`` as ``{NAME: [values]}``; raises ValueError (one line) when empty, malformed or
    larger than :data:`MAX_SWEEP` jobs (checked before anything is built: an axis is read only
    up to that many values)."""
    allowed = "a non-empty dict {NAME: non-empty list of values}"
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"Invalid grid: {allowed}. Found: {grid!r}")
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if not is_env_name(key):
            raise ValueError(f"Invalid grid: names of letters, digits and _ (not starting with a digit). "
                             f"Found: {key!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"Invalid grid: a list of values for {key}. Found: {values!r}")
        size = len(values) if isinstance(values, Sized) else None
        if size is not None and size > MAX_SWEEP:
            _too_big(size)
        values = list(itertools.islice(values, MAX_SWEEP + 1))
        if len(values) > MAX_SWEEP:
            _too_big(len(values), more=size is None)
        if not values:
            raise ValueError(f"Invalid grid: at least one value for {key}. Found: []")
        out[key] = values
    return out


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    """The number of jobs of a grid: the product of its lengths (nothing built)."""
    return math.prod(len(values) for values in grid.values())


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last name varying fastest."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def _too_big(n: int, more: bool = False) -> None:
    raise ValueError(f"The sweep has {n:,}{' or more' if more else ''} jobs: at most {MAX_SWEEP:,} in one "
                     "sweep (split the grid into several sweeps)")


def check_size(n: int, yes: bool) -> None:
    """Refuse more than :data:`MAX_SWEEP` jobs, and more than :data:`MAX_JOBS` unless confirmed."""
    if not isinstance(yes, bool):
        raise FieldError("yes", "True or False", yes)
    if n > MAX_SWEEP:
        _too_big(n)
    if n > MAX_JOBS and not yes:
        raise ValueError(f"The sweep has {n:,} jobs (more than {MAX_JOBS:,}): pass yes=True (--yes) "
                         "to launch them all")


def literal(text: Any) -> Any:
    """``ast.literal_eval(text)`` for text that is a Python literal (``"1e-3"`` -> 0.001), else ``text``."""
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def job_name(base: str, values: Mapping[str, Any]) -> str:
    """``<base>_<NAME>-<value>_...`` with only characters SkyPilot accepts in task names.

    A secret-named variable (``API_KEY``) shows a tag instead of its value (``API_KEY-3fa1c2``,
    see :func:`~skyexec_nb.model.masking.secret_tag`): names end up in the registry and tables.
    """
    from skyexec_nb.model.masking import is_secret_name, secret_tag

    parts = [base] + [f"{k}-{secret_tag(v) if is_secret_name(k) else v}" for k, v in values.items()]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts))
    name = re.sub(r"([._-])[._-]+", r"\1", name).strip("._-")
    return name[:120].rstrip("._-") or "sweep"


class Sweep:
    """The jobs of one sweep, with verbs over all of them.

    Attributes:
        id: The sweep id (``SKYEXEC_NB_SWEEP`` in each job's envs).
        jobs: The Jobs, in grid order.
        values: Each job's values (same order).
        max_parallel: At most this many run at once (None: unbounded).
    """

    def __init__(self, sweep_id: str, jobs: list[Any], values: list[dict[str, Any]],
                 max_parallel: int | None = None) -> None:
        self.id, self.jobs, self.values, self.max_parallel = sweep_id, jobs, values, max_parallel

    @classmethod
    def load(cls, sweep_id: str) -> Sweep:
        """The sweep ``sweep_id`` rebuilt from the registry (e.g. after a kernel restart)."""
        from skyexec_nb.engine.remote.python_jobs import Job
        from skyexec_nb.engine.jobs.registry import get_registry

        registry = get_registry()
        rows = registry.rows(f"json_extract(config, '$.envs.{SWEEP_ENV}') = ?", (sweep_id,))
        if not rows:
            raise LookupError(f"No sweep {sweep_id!r}")
        info = [row["extra"].get("sweep") or {} for row in rows]
        return cls(sweep_id, [Job(row["id"], registry) for row in rows],
                   [i.get("values", {}) for i in info], info[0].get("max_parallel"))

    @property
    def shown_values(self) -> list[dict[str, str]]:
        """Each job's values as text for the screen: a secret-named one (``API_KEY``, ``TOKEN``...)
        shows as ``******** <tag>``, never its value (the tag tells values apart)."""
        from skyexec_nb.model.masking import MASK, is_secret_name, secret_tag

        return [{k: f"{MASK} {secret_tag(x)}" if is_secret_name(k) else str(x) for k, x in values.items()}
                for values in self.values]

    def counts(self) -> dict[str, int]:
        """{status: number of jobs}, only statuses that occur, in JobStatus order."""
        found = [job.status for job in self.jobs]
        return {s.value: found.count(s) for s in JobStatus if s in found}

    def done(self) -> bool:
        """True once every job is terminal."""
        return all(job.done() for job in self.jobs)

    def wait(self, timeout: float | None = None) -> dict[str, int]:
        """Block until every job is terminal; returns :meth:`counts`.

        Raises:
            TimeoutError: some job is still running after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            job.wait(left)
        return self.counts()

    def cancel(self) -> int:
        """Cancel every job not yet ended (waiting ones first); returns how many were asked."""
        return sum(bool(job.cancel()) for job in reversed(self.jobs) if not job.done())

    def results(self, timeout: float | None = None) -> list[Any]:
        """Each job's result (see :func:`skyexec_nb.engine.remote.python_jobs.result`), in grid order."""
        from skyexec_nb.engine.remote.python_jobs import result

        deadline = None if timeout is None else time.monotonic() + timeout
        out = []
        for job in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            out.append(result(job, left))
        return out

    def metrics(self, metrics: str | Iterable[str] | None = None, *, x: str | None = None,
                rank: int | str | None = 0, as_frame: bool = False) -> Any:
        """Every job's metric rows (see ``Job.metrics``), with its grid values and ``job`` (id) as columns."""
        from skyexec_nb.engine.metrics.series import sweep_metrics

        return sweep_metrics(self.jobs, self.values, metrics, x=x, rank=rank, as_frame=as_frame)

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self):
        return iter(self.jobs)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
        return f"<Sweep {self.id} {len(self.jobs)} jobs: {counts}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        from skyexec_nb.model.view_registry import mimebundle

        return mimebundle(self, repr(self))


def _launch_together(n: int, launch_one: Callable[[int], Any], max_parallel: int | None,
                     bundles: list[Path]) -> list[Any]:
    """Launch jobs ``0..n-1`` with every registry write in one transaction; supervisors start
    once it commits, for the first ``max_parallel`` jobs only (the rest wait PENDING and are
    taken by those supervisors, see :mod:`~skyexec_nb.engine.jobs.slots`). On a refusal nothing
    is recorded and the job directories and bundles made are removed."""
    from skyexec_nb.engine.jobs.monitor import get_monitor
    from skyexec_nb.engine.jobs.registry import get_registry
    from skyexec_nb.engine.jobs.slots import one_transaction

    registry = get_registry()
    jobs: list[Any] = []
    try:
        with get_monitor().held(), one_transaction(registry):
            for i in range(n):
                job = launch_one(i)
                jobs.append(job)
                if max_parallel and i >= max_parallel:
                    registry.set_status(job.id, JobStatus.PENDING)
    except BaseException:
        for path in [*(job.job_dir for job in jobs), *bundles]:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return jobs


def sweep(executor: Any, command: str | Sequence[str], grid: Mapping[str, Sequence[Any]], *,
          max_parallel: int | None = None, python: bool = False, push: Mapping[str, Any] | None = None,
          pull: Iterable[str] = (), yes: bool = False, backend: str | None = None,
          name: str | None = None, env: Mapping[str, str] | None = None,
          literal_values: bool = False, timeout: Any = None, max_cost: Any = None,
          max_cost_each: Any = None, expected_duration: Any = None) -> Sweep:
    """Launch one job per combination of ``grid``'s values; returns the :class:`Sweep` at once.

    Args:
        executor: The SkyExecutor every job runs on.
        command: A bash script (or argv), or with ``python=True`` a Python cell body.
        grid: {NAME: [values]}: each job gets NAME as an environment variable (``str(value)``)
            and, with ``python=True``, as a Python variable (the value itself).
        max_parallel: At most this many jobs running at once (the rest wait PENDING).
        python: ``command`` is Python, run as a remote cell.
        push: Variables defined in every job (``python=True`` only).
        pull: Names each job sends back (``python=True``; see :meth:`Sweep.results`).
        yes: Confirm a sweep of more than 1,000 jobs.
        backend, env: As for ``launch``.
        name: Base of the job names (default "sweep").
        literal_values: The grid's values are text as typed (``--sweep LR=1e-3``): environment
            variables and names keep the text, Python variables get ``ast.literal_eval`` of it
            (the text itself when it is not a Python literal).
        timeout: Each job's time limit (``"2h"``), counted from when it starts running.
        max_cost: The sweep's cost limit in dollars, over all its jobs (the supervisors sum their
            group's estimated costs; reaching it cancels every job not yet ended).
        max_cost_each: Each job's own cost limit in dollars.
        expected_duration: How long each job should take, for the budget check (default ``timeout``);
            ``yes`` also confirms a sweep that may exceed the budget.

    Raises:
        ValueError: empty/malformed grid, too many jobs without ``yes``, push/pull without
            python, a pull name the command never sets, or a refused variable (``PayloadError``);
            nothing is launched or recorded.
    """
    from skyexec_nb.engine.remote.payload import check_names, check_pull
    from skyexec_nb.engine.remote.python_jobs import check_backend_pulls, launch_bundle, make_bundle, prune_quietly

    checked = check_grid(grid)
    check_size(grid_size(checked), yes)
    combos = combinations(checked)
    if not python and (push or pull):
        raise ValueError("push and pull need python=True (--python): a shell command has no variables")
    group = uuid.uuid4().hex[:12]
    genv = group_env(group, max_parallel)
    base = name or "sweep"
    limits = _sweep_limits(executor, backend, len(combos), group, timeout=timeout, max_cost=max_cost,
                           max_cost_each=max_cost_each, expected_duration=expected_duration, yes=yes)

    def extra(i: int, values: Mapping[str, Any]) -> dict[str, Any]:
        from skyexec_nb.model.masking import MASK, is_secret_name, secret_tag

        shown = {k: str(v) for k, v in values.items()}
        for k in filter(is_secret_name, shown):  # "******** 3fa1c2": as in the job's name, never the value
            shown[k] = f"{MASK} {secret_tag(values[k])}"
        return {"sweep": {"id": group, "index": i, "size": len(combos), "values": shown,
                          "max_parallel": max_parallel, "name": base}}

    def job_env(values: Mapping[str, Any]) -> dict[str, str]:
        return {**(env or {}), **{k: str(v) for k, v in values.items()}, **genv}

    if python:
        check_names(combos[0], "--sweep")
        pull = check_pull(command, pull, [*(push or {}), *combos[0]])
        check_backend_pulls(backend, pull)
        prune_quietly()
        shared = shared_payload(push) if push else None
        try:
            bundles = build_all(combos, lambda values: make_bundle(
                command, {k: literal(v) if literal_values else v for k, v in values.items()}, pull,
                shared_push=shared,
                labels={k: f"--sweep {k}" for k in values}))
        finally:
            if shared is not None:
                shutil.rmtree(shared.parent, ignore_errors=True)
        launch_one = lambda i: launch_bundle(  # noqa: E731
            executor, bundles[i], name=job_name(base, combos[i]), backend=backend, env=job_env(combos[i]),
            extra=extra(i, combos[i]), limits=limits)
    if backend is None:  # resolved once ("auto" looks at SkyPilot's state), not per job
        from skyexec_nb.engine.jobs.settings import get_settings

        backend = get_settings().default_backend
    if python:
        jobs = _launch_together(len(combos), launch_one, max_parallel, bundles)
    else:  # one task built once, every row in one transaction, supervisors for the first max_parallel
        from skyexec_nb.engine.jobs.launcher import launch_many
        from skyexec_nb.engine.remote.python_jobs import Job

        jobs = launch_many(executor, command, [(job_name(base, values), job_env(values), extra(i, values))
                                               for i, values in enumerate(combos)],
                           backend=backend, start=max_parallel, job_class=Job, limits=limits)
    return Sweep(group, jobs, combos, max_parallel)


def _sweep_limits(executor: Any, backend: str | None, count: int, group: str, *, timeout: Any, max_cost: Any,
                  max_cost_each: Any, expected_duration: Any, yes: bool) -> Any:
    """The limits every job of the sweep carries (priced once), checked against the budget for
    all ``count`` jobs; ``max_cost`` is the group's total (grouped by the sweep id, as the slots are)."""
    from skyexec_nb.engine.budget.launching import prepare_launch
    from skyexec_nb.engine.remote.python_jobs import resolve_backend
    from skyexec_nb.model.spend_limits import parse_money

    total, each = parse_money(max_cost, "max_cost"), parse_money(max_cost_each, "max_cost_each")
    return prepare_launch(executor, resolve_backend(backend), timeout=timeout, max_cost=each,
                          expected_duration=expected_duration, yes=yes, count=count, group=group,
                          group_max_cost=total).limits
