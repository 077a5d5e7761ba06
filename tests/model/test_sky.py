"""The pure-Python config against real SkyPilot objects (offline: no Resources.validate())."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from skyexec_nb.model import validation
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor
from tests.model.test_config import RICH, ROUND_TRIP


def _canon(value: Any) -> Any:
    """A comparable form of a to_yaml_config dict: sets of ports, candidates in sorted order."""
    if isinstance(value, dict):
        out = {}
        for k, val in value.items():
            if k == "_user_specified_yaml":
                continue
            if k == "ports":
                out[k] = sorted(map(str, val))
            elif k in ("any_of", "resources") and isinstance(val, list):
                out[k] = sorted((_canon(x) for x in val), key=repr)
            else:
                out[k] = _canon(val)
        return out
    if isinstance(value, (list, tuple)):
        return [_canon(x) for x in value]
    return value


def _resources_yaml(resources) -> list:
    """Resources as comparable dicts (``_requires_fuse`` is set by a task's MOUNT storage)."""
    dicts = [{k: x for k, x in _canon(r.to_yaml_config()).items() if k != "_requires_fuse"} for r in resources]
    return sorted(dicts, key=repr)


@pytest.mark.parametrize("fields", [{}, RICH, *ROUND_TRIP[2:]])
def test_to_task_equals_task_from_yaml_config_of_to_config(sky, fields, tmp_path):
    ex = SkyExecutor(**fields)
    config = ex.to_config("job", cmd=["python", "-c", "print('hi there')"], env_vars={"EXTRA": "1"})
    expected = sky.Task.from_yaml_config(copy.deepcopy(config))
    task = ex.to_task("job", cmd=["python", "-c", "print('hi there')"], env_vars={"EXTRA": "1"})
    assert isinstance(task, sky.Task)
    assert _canon(task.to_yaml_config()) == _canon(expected.to_yaml_config())
    assert (task.name, task.run, task.num_nodes) == ("job", config["run"], ex.num_nodes)
    assert task.envs == {**ex.env_vars, "EXTRA": "1"}
    assert _resources_yaml(task.resources) == _resources_yaml(ex.to_resources())


def test_to_resources_matches_hand_built_sky_resources(sky):
    ex = SkyExecutor(cloud=["aws", "gcp"], gpus=["A100:8", "H100"], gpus_per_node=8, use_spot=[True, "none"],
                     ports=(8888, "6006", "8000-8010"), container_image="img:1", disk_tier="high",
                     cluster_config_overrides={"kubernetes": {"provision_timeout": 600}})
    common = dict(ports=["8888", "6006", "8000-8010"], image_id="docker:img:1", disk_tier="high",
                  _cluster_config_overrides={"kubernetes": {"provision_timeout": 600}})
    # NeMo-Run's meaning: the gpus list is a set valid on every candidate (2 clouds x 2 GPUs).
    expected = {
        sky.Resources(infra="aws", accelerators={"A100": 8}, use_spot=True, **copy.deepcopy(common)),
        sky.Resources(infra="aws", accelerators={"H100": 8}, use_spot=True, **copy.deepcopy(common)),
        sky.Resources(infra="gcp", accelerators={"A100": 8}, **copy.deepcopy(common)),
        sky.Resources(infra="gcp", accelerators={"H100": 8}, **copy.deepcopy(common)),
    }
    assert _resources_yaml(ex.to_resources()) == _resources_yaml(expected)


def test_ports_list_opens_all_ports_on_every_candidate(sky):
    ex = SkyExecutor(cloud=["aws", "gcp", "azure"], ports=["8888", 6006, "8000-8010"])
    resources = ex.to_resources()
    assert len(resources) == 3
    for r in resources:
        assert set(r.ports) == {"8888", "6006", "8000-8010"}
    tuple_ports = SkyExecutor(ports=(8888, 6006)).to_resources()
    assert [set(r.ports) for r in tuple_ports] == [{"8888", "6006"}]


def test_none_inside_a_list_is_accepted_by_skypilot(sky):
    ex = SkyExecutor(cloud=["aws", "none"], region=["us-east-1", "none"], use_spot=["none", True])
    infra = sorted(str(r.infra.to_str()) for r in ex.to_resources())
    assert infra == ["None", "aws/us-east-1"]


def test_name_count_gpus_works(sky):
    (r,) = SkyExecutor(gpus="A100:2").to_resources()
    assert r.accelerators == {"A100": 2}
    (r,) = SkyExecutor(gpus="L4", gpus_per_node=4).to_resources()
    assert r.accelerators == {"L4": 4}


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "kubernetes", "lambda"])
def test_container_image_is_a_docker_image_on_every_cloud(sky, cloud):
    (r,) = SkyExecutor(cloud=cloud, container_image="nvcr.io/nvidia/pytorch:24.01-py3").to_resources()
    assert r.extract_docker_image() == "nvcr.io/nvidia/pytorch:24.01-py3"


def test_to_resources_and_to_task_do_not_modify_the_executor_or_arguments(sky, tmp_path):
    (tmp_path / "d").mkdir()
    mounts = {"/data": str(tmp_path / "d")}
    envs = {"A": "1"}
    ex = SkyExecutor(gpus=["A100", "H100"], file_mounts=mounts, env_vars=envs)
    before = ex.fields_set()
    ex.to_resources()
    task = ex.to_task("t", cmd="echo", env_vars={"B": "2"})
    task.update_envs({"C": "3"})
    task.set_file_mounts({"/other": "s3://b"})
    assert ex.fields_set() == before and ex.gpus_per_node is None
    assert mounts == {"/data": str(tmp_path / "d")} and envs == {"A": "1"}


def test_cloud_tuple_equals_skypilot_registry(sky):
    from sky.utils import registry

    assert set(validation.CLOUDS) == set(registry.CLOUD_REGISTRY.keys())
    assert validation.CLOUD_ALIASES == dict(registry.CLOUD_REGISTRY._aliases)  # noqa: SLF001


def test_tiers_and_recovery_strategies_equal_skypilots(sky):
    from sky.utils import registry, resources_utils

    assert set(validation.DISK_TIERS) | {"none"} == set(resources_utils.DiskTier.supported_tiers())
    assert set(validation.NETWORK_TIERS) == set(resources_utils.NetworkTier.supported_tiers())
    import sky.jobs.recovery_strategy  # noqa: F401  (registers the strategies)

    strategies = {s.upper() for s in registry.JOBS_RECOVERY_STRATEGY_REGISTRY.keys()}
    assert set(validation.JOB_RECOVERY_STRATEGIES) == strategies


def test_to_resources_checks_cloud_names_with_skypilots_registry(sky, monkeypatch):
    monkeypatch.setattr(validation, "CLOUDS", (*validation.CLOUDS, "retiredcloud"))
    ex = SkyExecutor(cloud=["aws", "retiredcloud"])
    with pytest.raises(FieldError, match=r"Invalid cloud: a cloud of SkyPilot's registry .*Found: 'retiredcloud'"):
        ex.to_resources()
    with pytest.raises(FieldError, match="Invalid cloud"):
        ex.to_task("t")
    with pytest.raises(FieldError, match="Invalid infra"):
        SkyExecutor(infra="retiredcloud/us-east-1").to_resources()


def test_skypilot_rejections_become_one_line_field_errors(sky):
    ex = SkyExecutor(cluster_config_overrides={"kubernetes": {"provision_timeout": "soon"}})
    for call, field in ((lambda: ex.to_task("t"), "task"), (ex.to_resources, "resources")):
        with pytest.raises(FieldError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"Invalid {field}: SkyPilot rejected it")
        assert "provision_timeout" in message
