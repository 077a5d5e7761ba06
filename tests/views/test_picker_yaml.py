"""The picker opens a SkyPilot task YAML: its fields replace the form's, what no field represents is
shown read-only as "Kept from the YAML" (and in the preview), values left to be set at launch are
asked for (secrets masked) and go to the job only; a workdir field syncs a local directory."""
from __future__ import annotations

import html
import re
import textwrap

import ipywidgets as widgets
import pytest

from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.views.picker import ResourcePicker

TASK = textwrap.dedent("""\
    name: serve llm
    resources:
      accelerators: {A100: 1}
      disk_size: 100
      labels: {team: ml}
      ordered:
        - {cloud: aws, region: us-east-1}
        - {cloud: gcp}
    envs:
      HF_TOKEN:
      MODEL: llama
    secrets:
      WANDB_API_KEY:
    service:
      readiness_probe: /health
      replicas: 2
    run: |
      echo "model=$MODEL token-length=${#HF_TOKEN} wandb-length=${#WANDB_API_KEY}"
    """)


def shown(widget) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", widget.value)).split())


@pytest.fixture
def task_file(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text(TASK)
    return path


@pytest.fixture
def picker():
    p = ResourcePicker(SkyExecutor(), command="echo hi", backend="local", price_service=False)
    yield p
    p.close()


def open_by_click(picker: ResourcePicker, path) -> None:
    picker.opener.path.value = str(path)
    picker.opener.button.click()


def test_bad_path_or_bad_yaml_is_one_line_at_the_field_and_the_form_is_kept(picker, tmp_path):
    picker.inputs["num_nodes"].value = "3"
    picker.inputs["ports"].value = "80800"  # invalid text stays as typed too
    before = (picker.executor.fields_set(), picker.command.value)
    open_by_click(picker, tmp_path / "missing.yaml")
    message = shown(picker.opener.message)
    assert message.startswith("Invalid task: a readable SkyPilot task YAML file") and "missing.yaml" in message
    assert "\n" not in picker.opener.error
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources: {cloud: aws\nrun: [")
    assert picker.open_yaml(bad) is False
    assert shown(picker.opener.message).startswith("Invalid task: valid YAML")
    not_task = tmp_path / "list.yaml"
    not_task.write_text("- a\n- b\n")
    assert picker.open_yaml(not_task) is False and "Invalid" in shown(picker.opener.message)
    assert (picker.executor.fields_set(), picker.command.value) == before
    assert picker.inputs["num_nodes"].value == "3" and picker.inputs["ports"].value == "80800"
    assert picker.opener.path.value == str(not_task)  # the path typed is kept to fix it


def test_opening_replaces_the_fields_and_takes_the_run_script_and_name(picker, task_file):
    picker.inputs["num_nodes"].value = "4"
    picker.inputs["ports"].value = "80800"  # refused text: replaced by the YAML's (none)
    picker.inputs["cloud"].value = "gcp"
    open_by_click(picker, task_file)
    assert "Opened" in shown(picker.opener.message) and picker.opener.error == ""
    ex = picker.executor
    assert (ex.gpus, ex.disk_size, ex.num_nodes, ex.cloud, ex.ports) == ("A100", 100, 1, None, None)
    assert picker.inputs["gpus"].value == "A100" and picker.inputs["disk_size"].value == "100"
    assert picker.inputs["num_nodes"].value == "1" and picker.inputs["ports"].value == ""
    assert picker.errors["ports"].value == "" and not picker.invalid_fields
    assert picker.command.value.startswith('echo "model=$MODEL')
    assert picker.name.value == "serve-llm" and picker.task_name == "serve-llm"
    assert [r.key.value for r in picker.env_vars.rows] == ["HF_TOKEN", "MODEL"]
    assert picker.env_vars.rows[0].value.placeholder == "(no value: set at launch)"
    # A field the form edits is an executor field: editing it changes the YAML written back.
    picker.inputs["disk_size"].value = "200"
    assert "disk_size: 200" in picker.yaml.text


def test_kept_parts_are_shown_read_only_and_in_the_preview(picker, task_file):
    kept_label = picker._kept_cells[0]
    assert kept_label.layout.display == "none" and picker.kept.value == ""  # nothing kept yet
    picker.open_yaml(task_file)
    assert kept_label.layout.display is None and "Kept from the YAML" in kept_label.value
    text = shown(picker.kept)
    assert "service: {readiness_probe: /health, replicas: 2}" in text
    assert "resources.labels: {team: ml}" in text
    assert "resources.ordered: [{cloud: aws, region: us-east-1}, {cloud: gcp}]" in text
    assert "Read-only" in text
    assert not any(isinstance(w, (widgets.Text, widgets.Textarea)) for w in getattr(picker.kept, "children", ()))
    preview = picker.yaml.text
    for part in ("service:", "readiness_probe: /health", "labels:", "team: ml", "ordered:"):
        assert part in preview
    # Written back, the kept parts come back unchanged.
    again = SkyExecutor.from_yaml(preview)
    assert again.kept == picker.executor.kept


def test_values_set_at_launch_are_asked_for_masked_and_disable_launch_until_given(picker, task_file):
    picker.open_yaml(task_file)
    boxes = picker.required.inputs
    assert list(boxes) == ["HF_TOKEN", "WANDB_API_KEY"]
    assert all(isinstance(b, widgets.Password) for b in boxes.values())  # a secret; a secret-looking env
    assert picker._required_cells[0].layout.display is None
    assert picker.launch_button.disabled
    assert shown(picker.launch_reason) == "Launch is disabled: set HF_TOKEN, WANDB_API_KEY first (required at launch)."
    boxes["HF_TOKEN"].value = "hf_abc123"
    assert picker.launch_button.disabled and "set WANDB_API_KEY first" in shown(picker.launch_reason)
    boxes["WANDB_API_KEY"].value = "wandb-secret-9"
    assert not picker.launch_button.disabled and shown(picker.launch_reason) == ""
    # Never in the executor, the preview or the record.
    assert picker.executor.env_vars["HF_TOKEN"] is None and picker.executor.secrets == {"WANDB_API_KEY": None}
    picker.record_changed(force=True)
    text, body, _ = picker.record_parts()
    for where in (picker.yaml.text, text, body, repr(picker.executor)):
        assert "hf_abc123" not in where and "wandb-secret-9" not in where


def test_plain_env_without_value_is_a_text_box(picker, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("envs:\n  EPOCHS:\nrun: echo $EPOCHS\n")
    picker.open_yaml(path)
    assert type(picker.required.inputs["EPOCHS"]) is widgets.Text
    # Giving the env a value in the env rows makes it no longer required.
    row = picker.env_vars.rows[0]
    row.value.value = "3"
    assert picker.executor.env_vars == {"EPOCHS": "3"}
    assert picker.required.inputs == {} and picker._required_cells[0].layout.display == "none"
    assert not picker.launch_button.disabled


def test_launch_gives_the_values_to_the_job_only(picker, task_file, wait):
    picker.open_yaml(task_file)
    picker.required.inputs["HF_TOKEN"].value = "hf_abc123"
    picker.required.inputs["WANDB_API_KEY"].value = "wandb-secret-9"
    picker.launch_button.click()
    job = picker.job
    assert job is not None, html.unescape(picker.launch_message.value)
    assert job.name == "serve-llm" and job.backend == "local"
    panel = picker.panels.children[0]
    wait(lambda: panel.badge.status in ("SUCCEEDED", "FAILED"))
    assert panel.badge.status == "SUCCEEDED"
    wait(lambda: "token-length=9 wandb-length=14" in panel.log_pane.value)
    assert "model=llama" in panel.log_pane.value
    assert "hf_abc123" not in picker.yaml.text and picker.executor.env_vars["HF_TOKEN"] is None


def test_workdir_field_checks_the_directory_and_is_the_tasks_workdir(picker, tmp_path):
    box = picker.workdir.text
    box.value = str(tmp_path / "nope")
    assert "Invalid workdir: an existing local directory" in shown(picker.workdir.label)
    assert picker.executor._workdir is None and picker.launch_button.disabled
    assert "fix Workdir first" in shown(picker.launch_reason)
    code = tmp_path / "code"
    code.mkdir()
    box.value = str(code)
    assert picker.workdir.error == "" and picker.executor.workdir == str(code)
    assert f"workdir: {code}" in picker.yaml.text and not picker.launch_button.disabled
    box.value = ""
    assert picker.executor._workdir is None and "workdir:" not in picker.yaml.text


def test_workdir_from_the_yaml_is_shown(picker, tmp_path):
    code = tmp_path / "src"
    code.mkdir()
    path = tmp_path / "t.yaml"
    path.write_text(f"workdir: {code}\nrun: ls\n")
    picker.open_yaml(path)
    assert picker.workdir.text.value == str(code) and picker.executor.workdir == str(code)


def test_launch_runs_in_the_workdir(picker, tmp_path, wait):
    code = tmp_path / "code"
    code.mkdir()
    (code / "marker.txt").write_text("shipped-code\n")
    picker.workdir.text.value = str(code)
    picker.command.value = "cat marker.txt"
    picker.launch_button.click()
    panel = picker.panels.children[0]
    wait(lambda: panel.badge.status in ("SUCCEEDED", "FAILED"))
    wait(lambda: "shipped-code" in panel.log_pane.value)


def test_a_secret_typed_for_a_launch_is_not_kept_in_the_widget_state(tmp_path) -> None:
    """After the launch took it, the masked input is empty: a saved widget state holds no secret."""
    from skyexec_nb.engine.jobs.status import JobStatus
    from skyexec_nb.model.executor import SkyExecutor
    from skyexec_nb.views.picker import ResourcePicker

    picker = ResourcePicker(SkyExecutor.from_config({"envs": {"HF_TOKEN": None}}))
    picker.backend.value = "local"
    picker.command.value = 'echo "len=${#HF_TOKEN}"'
    box = picker.required.inputs["HF_TOKEN"]
    box.value = "hf_secret_value"
    picker.launch_button.click()
    assert picker.job is not None and box.value == ""
    assert "hf_secret_value" not in str(picker.get_state())
    assert picker.job.wait(120) is JobStatus.SUCCEEDED  # generous: a loaded 2-core CI machine
    assert "len=15" in picker.job.logs()
