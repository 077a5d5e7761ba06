"""NeMo-Run's executor API, copy/fields_set, display and the SDK delegations."""
from __future__ import annotations


import pytest

from skyexec_nb.model import view_registry
from skyexec_nb.model.errors import AppIdError, FieldError
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.model.macros import ExecutorMacros


def test_nnodes_and_nproc_per_node():
    assert SkyExecutor(num_nodes=3).nnodes() == 3
    assert SkyExecutor().nproc_per_node() == 1
    assert SkyExecutor(gpus="A100").nproc_per_node() == 1
    assert SkyExecutor(gpus="A100:8").nproc_per_node() == 8
    assert SkyExecutor(gpus=["A100:4", "H100:4"]).nproc_per_node() == 4
    assert SkyExecutor(gpus=["A100:4", "H100:8"]).nproc_per_node() == 1
    assert SkyExecutor(gpus="A100", gpus_per_node=2).nproc_per_node() == 2
    assert SkyExecutor(gpus="A100:8", torchrun_nproc_per_node=2).nproc_per_node() == 2


def test_macro_values():
    assert SkyExecutor().macro_values() == ExecutorMacros(
        head_node_ip_var="head_node_ip", nproc_per_node_var="SKYPILOT_NUM_GPUS_PER_NODE",
        num_nodes_var="num_nodes", node_rank_var="SKYPILOT_NODE_RANK", het_group_host_var="het_group_host")


def test_parse_app():
    assert SkyExecutor.parse_app("exp___my-cluster___train___12") == ("my-cluster", "train", 12)
    assert SkyExecutor.parse_app("exp___with___c___t___3") == ("c", "t", 3)


@pytest.mark.parametrize("app_id", ["", "exp___cluster___task", "exp______task___1", "exp___c___t___x", "a___b___c___"])
def test_parse_app_malformed_raises_value_error_naming_the_id(app_id):
    with pytest.raises(AppIdError) as info:
        SkyExecutor.parse_app(app_id)
    assert isinstance(info.value, ValueError) and repr(app_id) in str(info.value)


def test_assign_workdir_and_package_configs(tmp_path):
    ex = SkyExecutor()
    assert ex.workdir is None
    with pytest.raises(RuntimeError, match="assign"):
        ex.package_configs(("a.yaml", "x: 1"))
    ex.assign("exp-1", str(tmp_path), "task-1", "task_dir")
    assert (ex.experiment_id, ex.experiment_dir, ex.job_name) == ("exp-1", str(tmp_path), "task-1")
    assert ex.job_dir == str(tmp_path / "task_dir") and ex.workdir == str(tmp_path / "task_dir" / "workdir")
    paths = ex.package_configs(("a.yaml", "x: 1\n"), ("sub/b.json", "{}"))
    assert paths == ["/skyexec_nb/configs/a.yaml", "/skyexec_nb/configs/sub/b.json"]
    assert (tmp_path / "task_dir" / "configs" / "sub" / "b.json").read_text() == "{}"


def test_copy_is_validated_and_leaves_the_original():
    ex = SkyExecutor(gpus="A100:8", cloud="aws", env_vars={"A": "1"})
    other = ex.copy(cloud="gcp", use_spot=True)
    assert (other.cloud, other.use_spot, other.gpus) == ("gcp", True, "A100:8")
    assert (ex.cloud, ex.use_spot) == ("aws", None)
    other.env_vars["B"] = "2"
    assert ex.env_vars == {"A": "1"}
    with pytest.raises(FieldError, match="Invalid gpus_per_node: "):
        ex.copy(gpus_per_node=4)
    assert ex.copy(cloud=None, infra="aws/us-east-1").infra == "aws/us-east-1"
    assert ex.copy() == ex and ex.copy() is not ex


def test_fields_set_and_equality():
    assert SkyExecutor().fields_set() == {}
    ex = SkyExecutor(num_nodes=2, gpus="L4", autodown=True)
    assert ex.fields_set() == {"gpus": "L4", "num_nodes": 2, "autodown": True}
    assert list(ex.fields_set()) == ["gpus", "num_nodes", "autodown"]
    assert ex == SkyExecutor(gpus="L4", autodown=True, num_nodes=2) and ex != SkyExecutor(gpus="L4")
    assert len({ex, SkyExecutor()}) == 2  # still hashable


def test_repr_and_html_mask_secrets():
    ex = SkyExecutor(gpus="A100:8", env_vars={"HF_TOKEN": "hf_secret", "aws_secret_access_key": "s3cr3t", "MODE": "a<b"})
    text = repr(ex)
    assert text.startswith("SkyExecutor(gpus='A100:8'") and "hf_secret" not in text and "s3cr3t" not in text
    assert "'MODE': 'a<b'" in text and "********" in text
    page = ex._repr_html_()
    assert "<table" in page and "gpus" in page and "hf_secret" not in page and "a&lt;b" in page
    assert "num_nodes" not in page  # only the fields that are set
    assert "all defaults" in SkyExecutor()._repr_html_()


def test_mimebundle_falls_back_without_a_view(monkeypatch):
    monkeypatch.setattr(view_registry, "_factories", {})
    bundle = SkyExecutor(gpus="T4")._repr_mimebundle_()
    assert bundle["text/plain"] == "SkyExecutor(gpus='T4')" and "<table" in bundle["text/html"]


def test_edit_uses_the_view_registry(monkeypatch):
    monkeypatch.setattr(view_registry, "_factories", {})
    with pytest.raises(RuntimeError, match="No editor view"):
        SkyExecutor().edit()

    class FakeWidget:
        def __init__(self, ex):
            self.ex = ex

        def _repr_mimebundle_(self, **kw):
            return {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}

    view_registry.register_view("SkyExecutor", FakeWidget)
    view_registry.register_view("SkyExecutor:edit", FakeWidget)
    ex = SkyExecutor()
    assert ex.edit().ex is ex
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_sdk_methods_delegate_to_sdk_calls(monkeypatch):
    calls = []
    from skyexec_nb.model import sdk_calls

    for name in ("launch", "status", "cancel", "logs", "cleanup"):
        monkeypatch.setattr(sdk_calls, name, lambda *a, _n=name: calls.append((_n, a)) or _n)
    ex = SkyExecutor()
    assert ex.launch("task", cluster_name="c", num_nodes=2, dryrun=True) == "launch"
    assert SkyExecutor.status("a___c___t___1") == "status"
    assert SkyExecutor.cancel("a___c___t___1") == "cancel"
    assert SkyExecutor.logs("a___c___t___1", "/tmp/x") == "logs"
    assert ex.cleanup("skypilot://x/a___c___t___1") == "cleanup"
    assert calls == [("launch", (ex, "task", "c", 2, True)), ("status", ("a___c___t___1",)),
                     ("cancel", ("a___c___t___1",)), ("logs", ("a___c___t___1", "/tmp/x")),
                     ("cleanup", (ex, "skypilot://x/a___c___t___1"))]


def test_traits_are_observable_for_forms():
    ex = SkyExecutor()
    seen = []
    ex.observe(lambda change: seen.append((change["name"], change["new"])), names=["ports"])
    ex.ports = "22, 8888"
    assert seen == [("ports", [22, 8888])]
