"""Bad input at every entry point: one line naming what is wrong and what is allowed; nothing recorded.

The public API (``skyexec_nb.launch``, ``get_job``, ``find_job``, ``sweep``, ``remote``), the
``SkyExecutor`` fields, the ``%%skylaunch`` options and the ``%config`` settings, each fed wrong
types, empty commands, absurd numbers and non-finite floats.
"""
from __future__ import annotations

import atexit
import logging
from typing import Any, Callable, Iterator

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import skyexec_nb as sx
from skyexec_nb.engine import api
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.model.errors import FieldError

NAN, INF = float("nan"), float("inf")


def _fn(x: int = 1) -> int:
    return x


def _ex(**fields: Any) -> sx.SkyExecutor:
    return sx.SkyExecutor(**fields)


#: (field named in the message, a bad call). Every call must raise before anything is recorded.
BAD_CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("executor", lambda: sx.launch("x", "echo hi", backend="local")),
    ("executor", lambda: sx.launch(None, "echo hi", backend="local")),
    ("command", lambda: sx.launch(_ex(), 42, backend="local")),
    ("command", lambda: sx.launch(_ex(), "  \n\t ", backend="local")),
    ("command", lambda: sx.launch(_ex(), "", backend="local")),
    ("command", lambda: sx.launch(_ex(), [], backend="local")),
    ("command", lambda: sx.launch(_ex(), [" ", "x"], backend="local")),
    ("command", lambda: sx.launch(_ex(), ["echo", object()], backend="local")),
    ("command", lambda: sx.launch(_ex(), ["echo", NAN], backend="local")),
    ("env", lambda: sx.launch(_ex(), "echo", env={"A": object()}, backend="local")),
    ("env", lambda: sx.launch(_ex(), "echo", env=["A"], backend="local")),
    ("env", lambda: sx.launch(_ex(), "echo", env="A=1", backend="local")),
    ("env", lambda: sx.launch(_ex(), "echo", env={"A": INF}, backend="local")),
    ("env", lambda: sx.launch(_ex(), "echo", env={"1A": "x"}, backend="local")),
    ("name", lambda: sx.launch(_ex(), "echo", name=3, backend="local")),
    ("name", lambda: sx.launch(_ex(), "echo", name="a b", backend="local")),
    ("name", lambda: sx.launch(_ex(), "echo", name="x" * 300, backend="local")),
    ("backend", lambda: sx.launch(_ex(), "echo", backend=3)),
    ("backend", lambda: sx.launch(_ex(), "echo", backend="mars")),
    ("dryrun", lambda: sx.launch(_ex(), "echo", backend="local", dryrun="yes")),
    ("num_nodes", lambda: _ex(num_nodes="two")),
    ("num_nodes", lambda: _ex(num_nodes=10**12)),
    ("num_nodes", lambda: _ex(num_nodes=4097)),
    ("num_nodes", lambda: _ex(num_nodes=2.0)),
    ("gpus", lambda: _ex(gpus=3.5j)),
    ("gpus", lambda: _ex(gpus="A100:65")),
    ("gpus", lambda: _ex(gpus="A100:inf")),
    ("gpus_per_node", lambda: _ex(gpus_per_node=65)),
    ("cpus", lambda: _ex(cpus=NAN)),
    ("cpus", lambda: _ex(cpus=INF)),
    ("cpus", lambda: _ex(cpus=10**6)),
    ("cpus", lambda: _ex(cpus="5000+")),
    ("memory", lambda: _ex(memory=-INF)),
    ("memory", lambda: _ex(memory="1PB")),
    ("memory", lambda: _ex(memory=70000)),
    ("disk_size", lambda: _ex(disk_size=10**7)),
    ("disk_size", lambda: _ex(disk_size="100TB")),
    ("idle_minutes_to_autostop", lambda: _ex(idle_minutes_to_autostop=10**9)),
    ("torchrun_nproc_per_node", lambda: _ex(torchrun_nproc_per_node=10**5)),
    ("ports", lambda: _ex(ports=70000)),
    ("ports", lambda: _ex(ports="1" * 5000)),
    ("job_recovery", lambda: _ex(job_recovery={"max_restarts_on_errors": 10**9})),
    ("job_id", lambda: api.get_job("x")),
    ("job_id", lambda: api.get_job(None)),
    ("job_id", lambda: api.get_job(1.5)),
    ("job_id", lambda: api.get_job(True)),
    ("job", lambda: api.find_job(object())),
    ("job", lambda: api.find_job(2.5)),
    ("max_parallel", lambda: sx.sweep(_ex(), "echo $A", {"A": [1, 2]}, max_parallel=0, backend="local")),
    ("max_parallel", lambda: sx.sweep(_ex(), "echo $A", {"A": [1, 2]}, max_parallel=10**9, backend="local")),
    ("max_parallel", lambda: sx.sweep(_ex(), "echo $A", {"A": [1, 2]}, max_parallel=NAN, backend="local")),
    ("max_parallel", lambda: sx.sweep(_ex(), "echo $A", {"A": [1, 2]}, max_parallel=True, backend="local")),
    ("grid", lambda: sx.sweep(_ex(), "echo $A", ["A"], backend="local")),
    ("grid", lambda: sx.sweep(_ex(), "echo $A", {}, backend="local")),
    ("executor", lambda: sx.sweep("x", "echo $A", {"A": [1]}, backend="local")),
    ("command", lambda: sx.sweep(_ex(), " ", {"A": [1]}, backend="local")),
    ("max_parallel", lambda: sx.remote(_ex(), max_parallel=10**9, backend="local")(_fn)),
    ("max_parallel", lambda: sx.remote(_ex(), max_parallel=-1, backend="local")(_fn)),
    ("yes", lambda: sx.sweep(_ex(), "echo $A", {"A": [1]}, yes="no", backend="local")),
    ("executor", lambda: sx.remote("x")),
    ("option", lambda: sx.remote(_ex(), retries=3)),
    ("function", lambda: sx.remote(_ex(), backend="local")(42)),
]


def _one_line(message: str) -> None:
    assert message.strip() and "\n" not in message and "Traceback" not in message, message


@pytest.mark.parametrize(("field", "call"), BAD_CALLS, ids=[f"{i}-{f}" for i, (f, _) in enumerate(BAD_CALLS)])
def test_bad_call_is_one_line_naming_the_field_and_records_nothing(field: str, call: Callable[[], Any]) -> None:
    with pytest.raises(ValueError) as info:  # FieldError is a ValueError
        call()
    message = str(info.value)
    _one_line(message)
    assert message.startswith(f"Invalid {field}:"), message
    assert api.jobs() == []


@pytest.mark.parametrize("ref", [10**30, str(10**30), -5, "no-such-job", 0])
def test_lookups_of_absent_or_impossible_ids_are_one_line(ref: Any) -> None:
    find = api.find_job if isinstance(ref, str) else api.get_job
    with pytest.raises(LookupError) as info:
        find(ref)
    _one_line(str(info.value))


def test_bounds_are_stated_in_the_errors() -> None:
    expectations = {"num_nodes": ("1..4096", {"num_nodes": 5000}),
                    "gpus": ("64", {"gpus": "H100:128"}),
                    "cpus": ("4096", {"cpus": 5000}),
                    "memory": ("65536", {"memory": 10**6}),
                    "disk_size": ("65536", {"disk_size": 10**6}),
                    "idle_minutes_to_autostop": ("525600", {"idle_minutes_to_autostop": 10**6}),
                    "torchrun_nproc_per_node": ("1024", {"torchrun_nproc_per_node": 2000})}
    for field, (bound, fields) in expectations.items():
        with pytest.raises(FieldError, match=rf"^Invalid {field}: .*{bound}"):
            _ex(**fields)
    with pytest.raises(FieldError, match=r"^Invalid max_parallel: an integer in 1\.\.10000"):
        sx.sweep(_ex(), "echo", {"A": [1]}, max_parallel=20000, backend="local")


def test_bounds_themselves_are_accepted() -> None:
    ex = _ex(num_nodes=4096, gpus="H100:64", cpus=4096, memory="64TB", disk_size=65536,
             idle_minutes_to_autostop=525600, torchrun_nproc_per_node=1024, ports=[1, 65535])
    assert ex.num_nodes == 4096 and ex.memory == "64TB"


# --- magics -----------------------------------------------------------------------------------


@pytest.fixture
def ip(isolated_home, tmp_path, monkeypatch) -> Iterator[InteractiveShell]:
    """A real IPython shell with the extension loaded (the pattern of tests/magics/conftest.py)."""
    monkeypatch.chdir(tmp_path)

    def clear() -> None:
        if InteractiveShell.initialized():
            atexit.unregister(InteractiveShell.instance().atexit_operations)
        InteractiveShell.clear_instance()

    clear()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "skyexec_nb")
    yield shell
    clear()


MAGIC_LINES = [
    ("--nodes", "--backend local --nodes 1000000000000"),
    ("--nodes", "--backend local --nodes 0"),
    ("--nodes", "--backend local --nodes two"),
    ("--nodes", "--backend local --nodes 99999999999999999999999999"),
    ("--gpus", "--backend local --gpus A100:1000"),
    ("--gpus-per-node", "--backend local --gpus A100 --gpus-per-node 100"),
    ("--cpus", "--backend local --cpus inf"),
    ("--cpus", "--backend local --cpus nan"),
    ("--memory", "--backend local --memory 1000000"),
    ("--disk-size", "--backend local --disk-size 100TB"),
    ("--disk-size", "--backend local --disk-size " + "9" * 30),
    ("--idle-minutes", "--backend local --idle-minutes 99999999"),
    ("--torchrun-nproc", "--backend local --torchrun-nproc 5000"),
    ("--ports", "--backend local --ports 70000"),
    ("--env", "--backend local --env 1A=x"),
]


@pytest.mark.parametrize(("option", "line"), MAGIC_LINES)
def test_skylaunch_refuses_absurd_options_in_one_line(ip: InteractiveShell, option: str, line: str) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("skylaunch", line, "echo hi\n")
    message = str(info.value)
    _one_line(message)
    assert option in message, message
    assert api.jobs() == []


@pytest.mark.parametrize(("body", "refusal"), [
    ("", r"cell body is empty"),  # IPython's own refusal
    ("   \n\t\n", r"^Invalid cell body: a non-empty bash script"),
])
def test_skylaunch_refuses_an_empty_cell(ip: InteractiveShell, body: str, refusal: str) -> None:
    with pytest.raises(UsageError, match=refusal) as info:
        ip.run_cell_magic("skylaunch", "--backend local", body)
    _one_line(str(info.value))
    assert api.jobs() == []


@pytest.mark.parametrize(("assignment", "setting"), [
    ("poll_interval = float('nan')", "poll_interval"),
    ("poll_interval = float('inf')", "poll_interval"),
    ("poll_interval = 0.001", "poll_interval"),
    ("poll_interval = 1e9", "poll_interval"),
    ("log_tail_lines = 10**7", "log_tail_lines"),
    ("log_tail_lines = -3", "log_tail_lines"),
])
def test_config_refuses_non_finite_and_out_of_range(ip: InteractiveShell, caplog: pytest.LogCaptureFixture,
                                                    assignment: str, setting: str) -> None:
    before = getattr(get_settings(), setting)
    with caplog.at_level(logging.WARNING):
        ip.run_line_magic("config", f"SkyLaunchMagics.{assignment}")
    refusals = [r.getMessage() for r in caplog.records if f"Invalid {setting}" in r.getMessage()]
    assert refusals, caplog.text
    assert any(f"Invalid {setting}: " in line and " in [" in line for m in refusals for line in m.splitlines())
    assert getattr(get_settings(), setting) == before


@pytest.mark.parametrize(("setting", "value"), [
    ("poll_interval", NAN), ("poll_interval", INF), ("poll_interval", 0.0), ("poll_interval", 61.0),
    ("cancel_grace", NAN), ("cancel_grace", -1.0), ("cancel_grace", 3601.0), ("cancel_grace", "5"),
    ("log_tail_lines", 0), ("log_tail_lines", 10**9), ("max_payload_mb", 0), ("max_payload_mb", 10**6),
    ("max_payload_mb", NAN),
])
def test_settings_refuse_non_finite_and_out_of_range(setting: str, value: Any) -> None:
    from traitlets import TraitError

    settings = get_settings()
    before = getattr(settings, setting)
    with pytest.raises(TraitError) as info:
        setattr(settings, setting, value)
    message = str(info.value)
    _one_line(message)
    assert message.startswith(f"Invalid {setting}: ") and " in [" in message
    assert getattr(settings, setting) == before
