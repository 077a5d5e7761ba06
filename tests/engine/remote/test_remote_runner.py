"""The node-side runner as a standalone script: file format, exit codes, where results go."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skyexec_nb.engine.remote import runner as remote_runner
from skyexec_nb.engine.remote.runner import RESULT_FILE, ValueWriteError, read_values, write_values


def bundle(tmp_path: Path, body: str, pull=(), push=None) -> Path:
    path = tmp_path / "bundle"
    path.mkdir()
    (path / "body.py").write_text(body)
    (path / "spec.json").write_text(json.dumps({"pull": list(pull)}))
    shutil.copyfile(remote_runner.__file__, path / "runner.py")
    if push:
        write_values(str(path / "push.pkl"), push)
    return path


def run(path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path / "runner.py"), str(path), *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=30)


def test_runner_imports_nothing_of_skyexec_nb():
    tree = ast.parse(Path(remote_runner.__file__).read_text())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(m and m.startswith("skyexec_nb") for m in modules)


def test_write_and_read_values_round_trip(tmp_path):
    path = str(tmp_path / "v.pkl")
    sizes = write_values(path, {"a": [1, 2], "f": lambda x: x + 1}, {"ok": True})
    meta, values = read_values(path)
    assert meta["ok"] and values["a"] == [1, 2] and values["f"](1) == 2 and set(sizes) == {"a", "f"}


def test_large_numpy_array_round_trips_and_counts_toward_the_limit(tmp_path):
    import numpy as np

    from skyexec_nb.engine.remote.runner import TooLarge

    array = np.arange(2 * 1024 * 1024, dtype=np.float64)  # 16 MB, written as an out-of-band buffer
    path = str(tmp_path / "v.pkl")
    sizes = write_values(path, {"a": array}, limit=32 * 1024 * 1024)
    assert sizes["a"] > array.nbytes and (read_values(path)[1]["a"] == array).all()
    with pytest.raises(ValueWriteError) as info:
        write_values(path, {"a": array}, limit=8 * 1024 * 1024)
    assert info.value.name == "a" and isinstance(info.value.exc, TooLarge)


def test_write_values_names_the_failing_variable_and_leaves_no_file(tmp_path):
    import threading

    with pytest.raises(ValueWriteError) as info:
        write_values(str(tmp_path / "v.pkl"), {"ok": 1, "lock": threading.Lock()})
    assert info.value.name == "lock" and not list(tmp_path.iterdir())


def test_success_writes_pulled_values(tmp_path):
    path = bundle(tmp_path, "y = x * 2\n", pull=["y"], push={"x": 21})
    done = run(path, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    meta, values = read_values(str(tmp_path / "out" / RESULT_FILE))
    assert meta["ok"] and values == {"y": 42}


def test_exception_exits_1_with_traceback_on_stderr(tmp_path):
    path = bundle(tmp_path, "1 / 0\n")
    done = run(path, "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert 'File "<cell>", line 1' in done.stderr and "ZeroDivisionError" in done.stderr
    assert "runner.py" not in done.stderr  # the runner's own frame is dropped
    meta, values = read_values(str(tmp_path / "out" / RESULT_FILE))
    assert meta["kind"] == "exception" and isinstance(values["__exception__"], ZeroDivisionError)


def test_missing_pull_exits_3(tmp_path):
    path = bundle(tmp_path, "a = 1\n", pull=["a", "b"])
    done = run(path, "--out", str(tmp_path / "out"))
    assert done.returncode == 3 and "--pull b: the cell never set 'b'" in done.stderr


def test_unserializable_pull_exits_3(tmp_path):
    path = bundle(tmp_path, "import threading\nlock = threading.Lock()\n", pull=["lock"])
    done = run(path, "--out", str(tmp_path / "out"))
    assert done.returncode == 3 and "--pull lock: cannot be serialized" in done.stderr


def test_worker_rank_writes_nothing(tmp_path):
    path = bundle(tmp_path, "y = 1\n", pull=["y"])
    done = run(path, "--out", str(tmp_path / "out"), SKYPILOT_NODE_RANK="1")
    assert done.returncode == 0 and not (tmp_path / "out" / RESULT_FILE).exists()


def test_sky_logs_output_goes_to_the_skypilot_job_log_dir(tmp_path):
    home = tmp_path / "node_home"
    log_dir = home / "sky_logs" / "7-my-task"
    log_dir.mkdir(parents=True)
    path = bundle(tmp_path, "y = 5\n", pull=["y"])
    done = run(path, "--out", "sky_logs", HOME=str(home),
               SKYPILOT_TASK_ID="sky-2026-01-02-03-04-05-123456_my_cluster_7")
    assert done.returncode == 0, done.stderr
    assert read_values(str(log_dir / RESULT_FILE))[1] == {"y": 5}
