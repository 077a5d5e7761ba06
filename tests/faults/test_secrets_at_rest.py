"""Secrets at rest: a secret value reaches the job, and no file but its short-lived 0600 one.

Real supervisors and node processes (local backend), the real registry (SQLite WAL) and, for
the SkyPilot backends, the SDK stand-in recording the ``sky.Task`` it is handed.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from local_helpers import wait_for
from skyexec_nb.engine.jobs import secrets
from skyexec_nb.engine.jobs.launcher import jobs, launch
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.model.masking import MASK

SECRET = "sekrit-123"
TOKENS = ["tok-a1-Zq9x", "tok-b2-Wp7y"]  # distinctive: two-letter values would match by chance
TIMEOUT = 60  # seconds: a job is a supervisor start plus a bash process, slow on a loaded box
TESTS_DIR = Path(__file__).resolve().parents[1]


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def state_files() -> list[Path]:
    """Every regular file under SKYEXEC_NB_HOME (registry, WAL, shm, every job's files)."""
    root = Path(os.environ["SKYEXEC_NB_HOME"])
    found = []
    for folder, _dirs, names in os.walk(root):  # symlinks (file mounts) are not followed
        found += [Path(folder) / n for n in names if not (Path(folder) / n).is_symlink()]
    return found


def leaks(*values: str) -> list[str]:
    """``file: value`` for each file under SKYEXEC_NB_HOME holding one of ``values``' bytes."""
    files = state_files()
    assert any(f.name == "jobs.db" for f in files), files  # the registry is among what is searched
    return [f"{f}: {v}" for f in files for v in values if v.encode() in f.read_bytes()]


PRINT_HASH = 'printf %s "${VAR}" | sha256sum; echo "len=${#VAR}"'


def test_local_job_gets_its_secret_and_no_file_keeps_it():
    job = launch(SkyExecutor(env_vars={"MODE": "fast"}), PRINT_HASH.replace("VAR", "API_KEY"), name="sec",
                 env={"API_KEY": SECRET})
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED, job.logs()
    log = job.logs()
    assert sha(SECRET) in log and "len=10" in log  # the process saw the real value
    row = job.row()
    assert row["config"]["envs"] == {"MODE": "fast", "API_KEY": MASK}
    assert row["launch_options"]["secret_names"] == ["API_KEY"]
    assert job.executor.env_vars["API_KEY"] == MASK  # what %skystatus / the YAML preview rebuild
    assert not secrets.path_in(job.job_dir).exists()
    wal = Path(os.environ["SKYEXEC_NB_HOME"]) / "jobs.db-wal"
    assert wal.exists()  # the WAL is searched too (the registry is in WAL mode)
    assert leaks(SECRET) == []


def test_sweep_over_a_token_keeps_values_out_of_names_rows_and_files(tmp_path):
    go = tmp_path / "go"
    command = f'while [ ! -e {go} ]; do sleep 0.05; done\n' + PRINT_HASH.replace("VAR", "TOKEN")
    result = sweep(SkyExecutor(), command, {"TOKEN": TOKENS, "LR": [0.1]}, max_parallel=1, name="tok")
    try:
        first, second = result.jobs
        wait_for(lambda: first.status is JobStatus.RUNNING, timeout=TIMEOUT)
        waiting = secrets.path_in(second.job_dir)  # the second job waits for the slot: its file is there
        info = waiting.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.getuid()
        assert not secrets.path_in(first.job_dir).exists()  # taken (then removed) by the running job
    finally:
        go.touch()
    assert result.wait(TIMEOUT) == {"SUCCEEDED": 2}
    for job, token in zip(result.jobs, TOKENS):
        row = job.row()
        assert sha(token) in job.logs()
        shown = row["extra"]["sweep"]["values"]
        assert shown["LR"] == "0.1" and shown["TOKEN"].startswith(MASK)
        assert job.name.startswith("tok_TOKEN-") and job.name.endswith("_LR-0.1")
        assert row["config"]["envs"]["TOKEN"] == MASK
    assert result.jobs[0].name != result.jobs[1].name  # told apart by a tag, not by the value
    from skyexec_nb.magics.job_refs import jobs_table

    table = jobs_table(jobs())
    shown_anywhere = table + repr(result) + "".join(str(j.row()) for j in result.jobs)
    assert not any(token in shown_anywhere for token in TOKENS)
    assert leaks(*TOKENS) == []


def test_a_job_cancelled_before_it_ran_leaves_no_secrets_file(tmp_path):
    go = tmp_path / "go"
    result = sweep(SkyExecutor(), f"while [ ! -e {go} ]; do sleep 0.05; done", {"API_KEY": TOKENS},
                   max_parallel=1)
    try:
        first, second = result.jobs
        wait_for(lambda: first.status is JobStatus.RUNNING, timeout=TIMEOUT)
        assert secrets.path_in(second.job_dir).exists()
        second.cancel()
        wait_for(lambda: second.done() and not secrets.path_in(second.job_dir).exists(), timeout=TIMEOUT)
    finally:
        go.touch()
    assert first.wait(TIMEOUT) is JobStatus.SUCCEEDED
    assert second.status is JobStatus.CANCELLED
    assert leaks(*TOKENS) == []


def test_a_lost_secrets_file_fails_the_job_rather_than_running_with_the_mask(monkeypatch):
    split, values = secrets.split({"envs": {"HF_TOKEN": SECRET, "MODE": "x"}})
    assert values == {"HF_TOKEN": SECRET} and split["envs"] == {"HF_TOKEN": MASK, "MODE": "x"}
    with pytest.raises(RuntimeError, match="HF_TOKEN is no longer available"):
        secrets.fill_envs(split["envs"], {})
    assert secrets.fill_envs(split["envs"], values) == {"HF_TOKEN": SECRET, "MODE": "x"}


def test_secrets_file_is_created_exclusively_with_mode_0600(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    (tmp_path / secrets.FILENAME).symlink_to(target)  # planted: must not be written through
    old = os.umask(0)
    try:
        path = secrets.write(tmp_path, {"API_KEY": SECRET})
    finally:
        os.umask(old)
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert target.read_text() == "untouched"
    assert secrets.take(tmp_path) == {"API_KEY": SECRET} and not path.exists()
    assert secrets.write(tmp_path, {}) is None and not path.exists()


def test_error_messages_never_echo_a_secret():
    with pytest.raises(FieldError) as bad_value:
        launch(SkyExecutor(), "true", env={"API_KEY": [SECRET]})
    with pytest.raises(FieldError) as bad_name:
        launch(SkyExecutor(), "true", env={"API_KEY": SECRET, "1BAD": "x"})
    with pytest.raises(FieldError) as bad_dict:
        SkyExecutor(env_vars={"DB_PASSWORD": SECRET, 3: "x"})
    from IPython.core.error import UsageError

    from skyexec_nb.magics.options import parse_env

    with pytest.raises(UsageError) as bad_option:
        parse_env("--env", f"API_KEY {SECRET}")
    messages = [str(e.value) for e in (bad_value, bad_name, bad_dict, bad_option)]
    assert all(SECRET not in m for m in messages), messages
    assert "API_KEY" in messages[0] and MASK in messages[0] and "1BAD" in messages[1]
    assert jobs() == []  # nothing recorded


def test_sky_task_puts_secrets_in_the_secrets_section_of_a_real_task():
    import sky

    stored, values = secrets.split({"name": "t", "run": "echo", "envs": {"API_KEY": SECRET, "MODE": "x"}})
    task = sky.Task.from_yaml_config(secrets.sky_task_config(stored, values))
    assert task.envs == {"MODE": "x"}
    assert task.secrets["API_KEY"].get_secret_value() == SECRET
    with pytest.raises(RuntimeError, match="API_KEY"):
        secrets.sky_task_config(stored, {})


# -- the SkyPilot backends, against the SDK stand-in --------------------------------------------

@pytest.fixture
def recording_standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """As ``tests/engine/conftest.py``'s ``standin``, with the recording stand-in (scenario ok)."""
    monkeypatch.syspath_prepend(str(TESTS_DIR))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("SKYEXEC_NB_SKY_SDK", "sky_standin.recording")
    monkeypatch.setenv("SKY_STANDIN_DIR", str(tmp_path / "standin"))
    monkeypatch.setenv("SKY_STANDIN_STEP", "0.2")
    monkeypatch.setenv("SKY_STANDIN_SCENARIO", "ok")
    monkeypatch.setenv("SKYEXEC_NB_SKY_POLL", "0.1")
    from sky_standin import recording

    return recording


@pytest.mark.slow  # each supervisor imports sky (seconds)
@pytest.mark.parametrize("backend", ["skypilot", "jobs"])
def test_sky_backends_send_secrets_as_task_secrets_not_envs(recording_standin, backend):
    job = launch(SkyExecutor(cpus="1+", env_vars={"MODE": "fast"}), "echo hi", backend=backend,
                 env={"API_KEY": SECRET})
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED, job.logs()
    [task] = recording_standin.recorded()
    assert task["call"] == ("launch" if backend == "skypilot" else "jobs.launch")
    assert "API_KEY" not in task["envs"] and task["envs"]["MODE"] == "fast"
    assert task["secrets"] == {"API_KEY": {"sha256": sha(SECRET), "secret_str": True}}
    assert job.row()["config"]["envs"]["API_KEY"] == MASK
    assert not secrets.path_in(job.job_dir).exists()
    assert leaks(SECRET) == []


def test_a_supervisor_killed_before_its_backend_read_the_secrets_leaves_no_file():
    """The dead-supervisor path (any process's reaper) removes what the backend never took."""
    from skyexec_nb.engine.jobs.liveness import fail_dead
    from skyexec_nb.engine.jobs.registry import get_registry

    registry = get_registry()
    job_id = registry.insert(lambda i: {"job_dir": str(registry.path.parent / "jobs" / str(i))},
                             claim_dir=True, name="t", backend="local", status=JobStatus.RUNNING,
                             config={}, launch_options={}, exit_codes={}, node_pgids=[],
                             supervisor_pid=2 ** 22 + 1)
    row = registry.get(job_id)
    assert secrets.write(row["job_dir"], {"API_KEY": "sekrit-123"}) is not None
    assert fail_dead(registry, row)
    assert not secrets.path_in(row["job_dir"]).exists()
    assert registry.get(job_id)["status"] is JobStatus.FAILED


def test_python_bundles_holding_pushed_values_are_private():
    """A remote Python job's pushed values (a swept TOKEN too) sit in a directory only the user reads."""
    from skyexec_nb.engine.remote.payload import bundle_root, make_bundle

    bundle = make_bundle("x = TOKEN\n", push={"TOKEN": "sekrit-123"}, pull=["x"])
    assert stat.S_IMODE(bundle_root().stat().st_mode) == 0o700
    assert bundle.parent == bundle_root()


def test_sweep_panel_and_its_record_never_show_a_secret_value():
    """Swept secret values stay off the screen: the panel's cells and its saved record show tags."""
    from skyexec_nb.views.sweep_panel import SweepPanel

    s = sweep(SkyExecutor(), "true", {"API_TOKEN": ["sekrit-a1", "sekrit-b2"], "LR": [1, 2]}, backend="local")
    s.wait(120)  # generous: a loaded 2-core CI machine
    panel = SweepPanel(s)
    shown = " ".join(str(getattr(w, "value", "")) + str(getattr(w, "tooltip", "")) + str(getattr(w, "description", ""))
                     for w in _walk(panel))
    bundle = panel._repr_mimebundle_() if hasattr(panel, "_repr_mimebundle_") else {}
    record = " ".join(str(v) for v in (bundle or {}).values())
    assert "sekrit" not in shown and "sekrit" not in record
    assert all("sekrit" not in v for values in s.shown_values for v in values.values())


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)
