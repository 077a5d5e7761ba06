"""ResourcePicker driven from Python: form <-> executor, validation at the field, YAML, launch."""
from __future__ import annotations

import html
import re
import subprocess
import sys
import textwrap

import pytest

from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.views.picker import ResourcePicker


@pytest.fixture
def picker(executor):
    p = ResourcePicker(executor, command="echo hi", price_service=False)
    yield p
    p.close()


def error_text(picker: ResourcePicker, field: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", picker.errors[field].value))


def test_form_shows_the_executor():
    ex = SkyExecutor(gpus="A100:8", num_nodes=2, ports="8888, 6006", cloud="aws", use_spot=True, setup="pip i x")
    p = ResourcePicker(ex, price_service=False)
    assert p.inputs["gpus"].value == "A100:8"
    assert p.inputs["num_nodes"].value == "2"
    assert p.inputs["ports"].value == "8888, 6006"
    assert p.inputs["cloud"].value == "aws"
    assert p.inputs["use_spot"].value is True
    assert p.inputs["setup"].value == "pip i x"
    assert "skx-picker" in p._dom_classes and "skx-advanced" in p.advanced._dom_classes


def test_form_edits_change_the_executor(picker, executor):
    picker.inputs["num_nodes"].value = "4"
    picker.inputs["ports"].value = "8888, 6006, 8000-8010"
    picker.inputs["cloud"].value = "gcp"
    picker.inputs["use_spot"].value = True
    picker.inputs["gpus"].value = "H100:8"
    picker.inputs["disk_tier"].value = "best"
    picker.inputs["cpus"].value = "8+"
    picker.inputs["region"].value = "us-east1, us-west1"
    assert executor.num_nodes == 4
    assert executor.ports == [8888, 6006, "8000-8010"]
    assert (executor.cloud, executor.use_spot, executor.gpus) == ("gcp", True, "H100:8")
    assert (executor.disk_tier, executor.cpus, executor.region) == ("best", "8+", ["us-east1", "us-west1"])
    picker.inputs["ports"].value = ""
    assert executor.ports is None


def test_executor_changes_update_the_form_and_clear_errors(picker, executor):
    picker.inputs["num_nodes"].value = "zero"
    assert picker.errors["num_nodes"].value
    executor.num_nodes = 3
    assert picker.inputs["num_nodes"].value == "3"
    assert picker.errors["num_nodes"].value == ""
    executor.cloud = ["aws", "gcp"]  # alternatives set in code show in the dropdown too
    assert picker.inputs["cloud"].value == ["aws", "gcp"]
    executor.gpus = "L4:1"
    assert picker.inputs["gpus"].value == "L4:1"


def test_invalid_value_shows_the_model_message_keeps_last_valid_and_disables_launch(picker, executor):
    picker.inputs["num_nodes"].value = "2"
    assert not picker.launch_button.disabled
    picker.inputs["num_nodes"].value = "two"
    assert executor.num_nodes == 2
    message = error_text(picker, "num_nodes")  # the model's words (its allowed range may change)
    assert message.startswith("Invalid num_nodes: an integer") and message.endswith("Found: 'two'")
    assert "skx-field-error" in picker.errors["num_nodes"]._dom_classes
    assert picker.launch_button.disabled
    assert picker.invalid_fields == {"num_nodes": message}
    picker.inputs["ports"].value = "99999"
    assert error_text(picker, "ports").startswith("Invalid ports:")
    picker.inputs["num_nodes"].value = "5"
    assert picker.launch_button.disabled  # ports still invalid
    picker.inputs["ports"].value = "8888"
    assert not picker.launch_button.disabled and executor.num_nodes == 5 and executor.ports == [8888]


def test_cross_field_error_names_the_field_being_edited(picker, executor):
    picker.inputs["gpus"].value = "A100:8"
    picker.inputs["gpus_per_node"].value = "4"
    assert executor.gpus_per_node is None
    assert "gpus_per_node" in error_text(picker, "gpus_per_node")
    assert picker.launch_button.disabled


def test_launch_needs_a_command(picker):
    picker.command.value = "  "
    assert picker.launch_button.disabled
    picker.command.value = "python train.py"
    assert not picker.launch_button.disabled


def test_yaml_preview_is_live_and_masks_secrets(picker, executor):
    executor.env_vars = {"HF_TOKEN": "hf_real", "MODE": "fast"}
    picker.inputs["gpus"].value = "A100:2"
    text = picker.yaml.text
    assert "accelerators: A100:2" in text and "run: echo hi" in text
    assert "hf_real" not in text and "HF_TOKEN: '********'" in text and "MODE: fast" in text
    assert "hf_real" not in picker.yaml.preview.value and "skx-yaml" in picker.yaml.preview._dom_classes
    picker.command.value = "python train.py"
    assert "run: python train.py" in picker.yaml.text
    picker.name.value = "train-1"
    assert picker.yaml.text.startswith("name: train-1")
    picker.yaml.copy_toggle.value = True
    assert "readonly" in picker.yaml.copy_box.value and "hf_real" not in picker.yaml.copy_box.value


def test_save_as_yaml_writes_real_values_and_reports_the_path(picker, executor, tmp_path):
    executor.env_vars = {"API_KEY": "k-123"}
    picker.yaml.path.value = str(tmp_path / "out" / "task.yaml")
    picker.yaml.save_button.click()
    saved = (tmp_path / "out" / "task.yaml").read_text()
    assert "k-123" in saved and "run: echo hi" in saved
    assert SkyExecutor.from_yaml(saved).env_vars == {"API_KEY": "k-123"}
    assert str(tmp_path / "out" / "task.yaml") in picker.yaml.message.value
    picker.yaml.path.value = str(tmp_path / "task.yaml" / "x")  # parent is... a missing dir under a file? make it fail:
    (tmp_path / "task.yaml").write_text("")
    picker.yaml.save_button.click()
    assert "Could not save" in picker.yaml.message.value


def test_env_rows_mask_secrets_but_the_job_gets_real_values(executor):
    executor.env_vars = {"WANDB_API_KEY": "real-secret", "EPOCHS": "3"}
    p = ResourcePicker(executor, price_service=False)
    rows = {r.key.value: r for r in p.env_vars.rows}
    assert rows["WANDB_API_KEY"].value.value == "" and "hidden" in rows["WANDB_API_KEY"].value.placeholder
    assert rows["EPOCHS"].value.value == "3"
    rows["EPOCHS"].value.value = "5"
    assert executor.env_vars == {"WANDB_API_KEY": "real-secret", "EPOCHS": "5"}
    rows["WANDB_API_KEY"].value.value = "new-secret"  # typing replaces it, then it is hidden again
    assert executor.env_vars["WANDB_API_KEY"] == "new-secret"
    assert rows["WANDB_API_KEY"].value.value == ""
    new = p.env_vars.add_row()
    new.value.value = "abc"
    new.key.value = "MY_PASSWORD"
    assert executor.env_vars["MY_PASSWORD"] == "abc" and new.value.value == ""
    new.remove_button.click()
    assert "MY_PASSWORD" not in executor.env_vars
    bad = p.env_vars.add_row()
    bad.key.value = "1BAD"
    bad.value.value = "x"
    assert "Invalid env_vars" in p.env_vars.error_label.value and p.launch_button.disabled
    assert "1BAD" not in executor.env_vars
    bad.remove_button.click()
    assert p.env_vars.error_label.value == ""
    assert "real-secret" not in p.yaml.text and "new-secret" not in repr(executor) + executor._repr_html_()
    p.close()


def test_file_mounts_rows(executor, tmp_path):
    p = ResourcePicker(executor, price_service=False)
    row = p.file_mounts.add_row()
    row.key.value = "/data"
    row.value.value = str(tmp_path)
    assert executor.file_mounts == {"/data": str(tmp_path)}
    executor.file_mounts = {"/ckpt": "s3://bucket/ckpt"}
    assert [(r.key.value, r.value.value) for r in p.file_mounts.rows] == [("/ckpt", "s3://bucket/ckpt")]
    p.close()


class StubPrices:
    def __init__(self) -> None:
        self.requests: list = []

    def request(self, executor, callback) -> None:
        self.requests.append(callback)


def test_price_line_uses_the_service_and_says_when_unknown(executor):
    from skyexec_nb.engine.pricing.rows import PriceRow, PriceUnknown

    service = StubPrices()
    p = ResourcePicker(executor, backend="skypilot", price_service=service)
    assert service.requests and "looking up" in p.price.text
    p.inputs["gpus"].value = "A100:8"
    service.requests[-1]([PriceRow.make(candidate=0, cloud="aws", region="us-east-1", instance_type="p4d.24xlarge",
                                        accelerators="A100:8", num_nodes=1, use_spot=False,
                                        node_on_demand=32.77, node_spot=None)])
    assert p.price.text.startswith("≈ $32.77/hr") and "p4d.24xlarge" in p.price.text
    service.requests[-1](PriceUnknown("no catalog on this machine"))
    assert p.price.text == "price unknown: no catalog on this machine"
    assert "skx-price" in p.price._dom_classes
    p.close()


def test_launch_button_launches_and_shows_the_panel(picker, executor, wait):
    picker.command.value = "echo from-picker"
    picker.name.value = "picked"
    picker.launch_button.click()
    job = picker.job
    assert job is not None and job.name == "picked" and job.backend == "local"
    panel = picker.panels.children[0]
    assert "skx-launch" in panel._dom_classes
    wait(lambda: "from-picker" in panel.log_pane.value)
    wait(lambda: panel.badge.status == "SUCCEEDED")


def test_launch_error_is_shown_in_words(picker):
    picker.name.value = "bad name!"
    picker.launch_button.click()
    assert picker.job is None
    assert "Launch failed: Invalid name" in html.unescape(picker.launch_message.value)
    assert "var(--jp-error-color1" in picker.launch_message.value  # the theme's error colour


def test_picker_path_never_imports_sky():
    code = textwrap.dedent("""
        import sys, time
        t = time.perf_counter()
        import socket
        def no_network(*args, **kwargs):
            raise AssertionError("the picker tried the network")
        socket.socket.connect = socket.create_connection = no_network
        from skyexec_nb.model.executor import SkyExecutor
        from skyexec_nb.views.picker import ResourcePicker
        p = ResourcePicker(SkyExecutor(gpus="A100:8", env_vars={"HF_TOKEN": "x"}), command="echo", price_service=False)
        p.inputs["num_nodes"].value = "2"
        p.yaml.refresh()
        assert "accelerators: A100:8" in p.yaml.text
        print(sorted(m for m in sys.modules if m == "sky" or m.startswith("sky.")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_gpu_choices_come_with_per_node_counts_and_memory(picker, executor):
    options = picker.inputs["gpus"].options
    assert "A100:8" in options and "H100:8" in options
    picker.inputs["gpus"].value = "H100:8"
    assert executor.gpus == "H100:8"
    assert "H100: 80 GB per GPU" in picker.gpu_info.value and "skx-gpu-hint" in picker.gpu_info._dom_classes
    picker.inputs["gpus"].value = "NOT-A-GPU"
    assert picker.gpu_info.value == ""


def test_gpu_names_come_from_the_catalog_on_this_machine_else_the_shipped_list(executor, isolated_home):
    shipped = ResourcePicker(executor, price_service=False)
    assert "A100:8" in shipped.inputs["gpus"].options and "GB300-NEW" not in shipped.inputs["gpus"].options
    shipped.close()
    catalog = isolated_home / ".sky" / "catalogs" / "v8" / "common" / "accelerators.csv"
    catalog.parent.mkdir(parents=True)
    catalog.write_text("AcceleratorName,Clouds\nGB300-NEW,['AWS']\nA100,['AWS']\n")
    with_catalog = ResourcePicker(executor, price_service=False)
    options = with_catalog.inputs["gpus"].options
    assert "GB300-NEW" in options and "A100:8" in options  # catalog names join the shipped ones
    with_catalog.inputs["gpus"].value = "GB300-NEW:4"
    assert executor.gpus == "GB300-NEW:4"
    with_catalog.close()


def test_job_recovery_in_its_yaml_form_and_a_wrong_form_in_words(picker, executor):
    field = picker.inputs["job_recovery"]
    assert "skx-field-job-recovery" in field._dom_classes
    field.value = "{strategy: EAGER_NEXT_REGION, max_restarts_on_errors: 3}"
    assert executor.job_recovery == {"strategy": "EAGER_NEXT_REGION", "max_restarts_on_errors": 3}
    assert "job_recovery:" in picker.yaml.text and "max_restarts_on_errors: 3" in picker.yaml.text
    field.value = "{strategy: SOMETIMES}"
    assert error_text(picker, "job_recovery").startswith("Invalid job_recovery: a strategy (FAILOVER")
    assert executor.job_recovery == {"strategy": "EAGER_NEXT_REGION", "max_restarts_on_errors": 3}  # kept
    assert picker.launch_button.disabled
    executor.job_recovery = "FAILOVER"
    assert field.value == "FAILOVER" and error_text(picker, "job_recovery") == ""
    executor.job_recovery = {"strategy": "FAILOVER", "max_restarts_on_errors": 2}
    assert field.value == "{strategy: FAILOVER, max_restarts_on_errors: 2}"


def test_the_jobs_backend_is_in_the_backend_dropdown(picker):
    assert "jobs" in picker.backend.options
    picker.backend.value = "jobs"
    assert picker.launch_button.tooltip == "Run the command on the jobs backend"
