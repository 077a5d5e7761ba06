"""Every field validates on assignment: allowed forms, normal forms, one-line errors."""
from __future__ import annotations

import pytest
from traitlets import TraitError

from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.model.validation import FIELD_PARSERS

VALID = [
    ("cloud", "AWS", "aws"), ("cloud", "k8s", "kubernetes"), ("cloud", ["aws", "none", "gcp"], ["aws", "none", "gcp"]),
    ("cloud", ["aws"], "aws"), ("cloud", ["none", None], None), ("cloud", "none", None), ("cloud", ("aws", "gcp"), ["aws", "gcp"]),
    ("region", " us-east-1 ", "us-east-1"), ("zone", ["us-east-1a", "none"], ["us-east-1a", "none"]),
    ("gpus", "A100", "A100"), ("gpus", "A100:2", "A100:2"), ("gpus", "A100: 2", "A100:2"), ("gpus", "T4:0.5", "T4:0.5"),
    ("gpus", ["H100:8", "A100-80GB:8"], ["H100:8", "A100-80GB:8"]), ("gpus", "tpu-v4-8", "tpu-v4-8"),
    ("gpus_per_node", 8, 8), ("cpus", 8, 8), ("cpus", 8.5, 8.5), ("cpus", "8", "8"), ("cpus", "8+", "8+"),
    ("cpus", ["4+", "none"], ["4+", "none"]), ("memory", 32, 32), ("memory", "32+", "32+"), ("memory", "32GB+", "32GB+"),
    ("instance_type", "p4d.24xlarge", "p4d.24xlarge"), ("num_nodes", 4, 4), ("use_spot", True, True),
    ("use_spot", [True, "none", False], [True, "none", False]), ("disk_size", 512, 512), ("disk_size", "1TB", "1TB"),
    ("disk_tier", "BEST", "best"), ("disk_tier", ["high", "none"], ["high", "none"]),
    ("ports", 8888, [8888]), ("ports", "8888, 6006, 8000-8010", [8888, 6006, "8000-8010"]),
    ("ports", ("8888", 8888, 22), [8888, 22]), ("ports", [], None), ("ports", "", None),
    ("file_mounts", {"/data": "s3://bucket/data"}, {"/data": "s3://bucket/data"}), ("file_mounts", {}, None),
    ("file_mounts", {"/ckpt": {"name": "ckpt", "mode": "MOUNT"}}, {"/ckpt": {"name": "ckpt", "mode": "MOUNT"}}),
    ("cluster_name", "my-cluster_1", "my-cluster_1"), ("setup", "pip install x\n", "pip install x\n"), ("setup", "", None),
    ("autodown", True, True), ("idle_minutes_to_autostop", 0, 0), ("idle_minutes_to_autostop", 30, 30),
    ("torchrun_nproc_per_node", 2, 2), ("container_image", "docker:nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io/nvidia/pytorch:24.01-py3"),
    ("cluster_config_overrides", {"kubernetes": {"provision_timeout": 900}}, {"kubernetes": {"provision_timeout": 900}}),
    ("infra", "aws/us-east-1", "aws/us-east-1"), ("infra", "k8s/my-ctx", "k8s/my-ctx"), ("infra", "*/us-east-1", "*/us-east-1"),
    ("network_tier", "Best", "best"), ("retry_until_up", True, True), ("env_vars", {"A": "1", "B": 2}, {"A": "1", "B": "2"}),
    ("env_vars", None, {}), ("env_vars", {"HF_TOKEN": None}, {"HF_TOKEN": None}),  # None: set at launch
    ("job_recovery", "failover", "FAILOVER"), ("secrets", {"K": "v", "R": None}, {"K": "v", "R": None}),
    ("secrets", {}, None), ("storage_mounts", {"/d": {"source": "s3://b"}}, {"/d": {"source": "s3://b"}}),
    ("retries", 3, 3),
    ("job_recovery", {"strategy": "eager_next_region", "max_restarts_on_errors": 3, "recover_on_exit_codes": [33, 34]},
     {"strategy": "EAGER_NEXT_REGION", "max_restarts_on_errors": 3, "recover_on_exit_codes": [33, 34]}),
    ("job_recovery", {"max_restarts_on_errors": 0}, {"max_restarts_on_errors": 0}),
    # the upper bounds themselves (model/limits.py)
    ("num_nodes", 4096, 4096), ("gpus", "H100:64", "H100:64"), ("gpus_per_node", 64, 64), ("cpus", "4096+", "4096+"),
    ("memory", "64TB", "64TB"), ("memory", 65536, 65536), ("disk_size", "64TB", "64TB"), ("disk_size", 65536, 65536),
    ("idle_minutes_to_autostop", 525600, 525600), ("torchrun_nproc_per_node", 1024, 1024),
]

INVALID = [
    ("cloud", "nocloud"), ("cloud", 3), ("cloud", ["aws", "azzure"]), ("region", ""), ("region", "us east"), ("zone", 1),
    ("gpus", "A100:x"), ("gpus", "A100:0"), ("gpus", "A100:-1"), ("gpus", ":8"), ("gpus", 8), ("gpus", "A100:nan"),
    ("gpus_per_node", 0), ("gpus_per_node", -1), ("gpus_per_node", "8"), ("gpus_per_node", True), ("gpus_per_node", 1.5),
    ("cpus", "eight"), ("cpus", 0), ("cpus", -2), ("cpus", "8++"), ("cpus", True), ("cpus", "8GB"), ("memory", "32XB"),
    ("memory", -1), ("memory", "0"), ("instance_type", 5), ("num_nodes", 0), ("num_nodes", None), ("num_nodes", "2"),
    ("use_spot", "maybe"), ("use_spot", 1), ("use_spot", [True, "yes"]), ("disk_size", -10), ("disk_size", 0),
    ("disk_size", "big"), ("disk_size", 1.5), ("disk_tier", "fastest"), ("ports", 0), ("ports", 70000), ("ports", "http"),
    ("ports", "9000-8000"), ("ports", [22, "8000-70000"]), ("ports", 1.5), ("file_mounts", ["/data"]),
    ("file_mounts", {"/data": 3}), ("file_mounts", {"": "/tmp"}), ("cluster_name", "1abc"), ("cluster_name", "a b"),
    ("setup", 3), ("autodown", "yes"), ("autodown", None), ("idle_minutes_to_autostop", -1),
    ("torchrun_nproc_per_node", 0), ("container_image", ""), ("container_image", "docker:"),
    ("cluster_config_overrides", ["x"]), ("infra", "nocloud/us-east-1"), ("infra", ""), ("network_tier", "premium"),
    ("retry_until_up", "true"), ("env_vars", {"1BAD": "x"}), ("env_vars", {"A-B": "x"}),
    ("env_vars", {"A": True}), ("env_vars", ["A=1"]), ("job_recovery", "retry_forever"),
    ("job_recovery", {"strategy": "FAILOVER", "bogus": 1}), ("job_recovery", {"max_restarts_on_errors": -1}),
    ("job_recovery", {"recover_on_exit_codes": [300]}), ("job_recovery", {"recover_on_exit_codes": [1, 1]}),
    # absurd numbers and non-finite floats: refused at once, the bound stated
    ("num_nodes", 4097), ("num_nodes", 10**12), ("gpus", "A100:65"), ("gpus", "A100:inf"), ("gpus_per_node", 65),
    ("cpus", float("inf")), ("cpus", float("nan")), ("cpus", 4097), ("cpus", "5000+"), ("memory", float("nan")),
    ("memory", float("inf")), ("memory", "65537GB"), ("memory", "1PB"), ("disk_size", 65537), ("disk_size", "65TB"),
    ("disk_size", 10**30), ("idle_minutes_to_autostop", 525601), ("torchrun_nproc_per_node", 1025),
    ("job_recovery", {"max_restarts_on_errors": 10001}), ("env_vars", {"A": float("nan")}), ("ports", "9" * 5000),
]


@pytest.mark.parametrize(("field", "value", "expected"), VALID)
def test_valid_values_are_normalised(field, value, expected):
    ex = SkyExecutor()
    setattr(ex, field, value)
    assert getattr(ex, field) == expected
    assert SkyExecutor(**{field: value}).__getattribute__(field) == expected


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_invalid_values_raise_one_line_field_error_and_keep_previous(field, value):
    ex = SkyExecutor()
    before = getattr(ex, field)
    with pytest.raises(FieldError) as info:
        setattr(ex, field, value)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, TraitError)
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"Invalid {field}:")
    assert "Found:" in message and err.field == field
    assert getattr(ex, field) == before
    with pytest.raises(FieldError):
        SkyExecutor(**{field: value})


def test_error_message_names_the_bad_value_and_what_is_allowed():
    with pytest.raises(FieldError, match=r"Invalid ports: ports 1-65535 .*Found: 70000"):
        SkyExecutor(ports=[22, 70000])
    with pytest.raises(FieldError, match=r"Invalid disk_tier: one of low, medium, high, ultra, best\. Found: 'fast'"):
        SkyExecutor(disk_tier="fast")


def test_every_field_has_help_and_a_parser():
    ex = SkyExecutor()
    traits = ex.traits()
    assert set(traits) == set(FIELD_PARSERS)
    assert all(traits[name].help for name in traits)


def test_defaults_and_class_constants():
    ex = SkyExecutor()
    assert (ex.num_nodes, ex.autodown, ex.retry_until_up, ex.env_vars) == (1, False, False, {})
    assert ex.gpus is None and ex.ports is None and ex.job_recovery is None
    assert ex.env_vars is not SkyExecutor().env_vars  # no shared mutable default
    assert (SkyExecutor.HEAD_NODE_IP_VAR, SkyExecutor.HET_GROUP_HOST_VAR, SkyExecutor.NODE_RANK_VAR,
            SkyExecutor.NPROC_PER_NODE_VAR, SkyExecutor.NUM_NODES_VAR) == (
        "head_node_ip", "het_group_host", "SKYPILOT_NODE_RANK", "SKYPILOT_NUM_GPUS_PER_NODE", "num_nodes")


def test_keyword_construction_and_unknown_field():
    ex = SkyExecutor(gpus="A100:8", use_spot=True)
    assert (ex.gpus, ex.use_spot) == ("A100:8", True)
    with pytest.raises(TypeError, match="'gpu'"):
        SkyExecutor(gpu="A100")


def test_gpu_count_in_both_places_must_agree():
    assert SkyExecutor(gpus="A100:8", gpus_per_node=8).gpus_per_node == 8
    with pytest.raises(FieldError, match="Invalid gpus_per_node: ") as info:
        SkyExecutor(gpus="A100:2", gpus_per_node=4)
    assert info.value.field == "gpus_per_node"
    ex = SkyExecutor(gpus="A100:2")
    with pytest.raises(FieldError, match="Invalid gpus_per_node: "):
        ex.gpus_per_node = 4
    assert ex.gpus_per_node is None
    ex = SkyExecutor(gpus_per_node=4)
    with pytest.raises(FieldError, match="Invalid gpus: "):
        ex.gpus = ["H100", "A100:2"]
    assert ex.gpus is None


@pytest.mark.parametrize("location", ["cloud", "region", "zone"])
def test_infra_excludes_cloud_region_zone(location):
    value = {"cloud": "aws", "region": "us-east-1", "zone": "us-east-1a"}[location]
    with pytest.raises(FieldError, match="either infra or cloud/region/zone"):
        SkyExecutor(infra="aws", **{location: value})
    ex = SkyExecutor(infra="aws")
    with pytest.raises(ValueError, match=f"Invalid {location}"):
        setattr(ex, location, value)
    assert getattr(ex, location) is None
    ex = SkyExecutor(**{location: value})
    with pytest.raises(ValueError, match="Invalid infra"):
        ex.infra = "gcp"
    assert ex.infra is None


def test_assigned_containers_are_copies():
    mounts = {"/data": "s3://b"}
    envs = {"A": "1"}
    ex = SkyExecutor(file_mounts=mounts, env_vars=envs)
    mounts["/x"] = "s3://c"
    envs["B"] = "2"
    assert ex.file_mounts == {"/data": "s3://b"} and ex.env_vars == {"A": "1"}


_CONFLICTS = """
import json
from skyexec_nb.model.executor import SkyExecutor
out = []
for kw in ({"cloud": "gcp", "infra": "aws"}, {"infra": "aws", "cloud": "gcp"},
           {"infra": "aws", "zone": "us-east-1a", "region": "us-east-1"},
           {"gpus": "A100:2", "gpus_per_node": 4}, {"gpus_per_node": 4, "gpus": "A100:2"}):
    try:
        SkyExecutor(**kw)
    except ValueError as exc:
        out.append([exc.field, str(exc)])
print(json.dumps(out))
"""


def test_conflicting_fields_name_the_later_field_whatever_the_order_or_hash_seed():
    """Cross-field checks run in declaration order: the same field is named in every process."""
    import json
    import os
    import subprocess
    import sys

    seen = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", _CONFLICTS], env=env, capture_output=True,
                             text=True, check=True).stdout
        seen.add(out)
        fields = [field for field, _ in json.loads(out)]
        assert fields == ["infra", "infra", "infra", "gpus_per_node", "gpus_per_node"], (seed, out)
    assert len(seen) == 1  # identical messages too
    (message,) = {m for f, m in json.loads(seen.pop()) if f == "infra" and "cloud=" in m}
    assert message == ("Invalid infra: either infra or cloud/region/zone, not both "
                       "(infra='aws', cloud='gcp')")
