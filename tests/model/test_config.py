"""to_config / to_yaml / from_config / from_yaml, without SkyPilot."""
from __future__ import annotations

import copy
import shlex

import pytest
import yaml

from skyexec_nb.model.config import REMOTE_RUN_DIR
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor

RICH = dict(
    cloud=["aws", "gcp", "none"], region=["us-east-1", "none", "none"], gpus=["A100:8", "H100:8", "none"],
    cpus=["8+", "none", 16], memory="64+", use_spot=[True, False, "none"], disk_size=512,
    disk_tier=["high", "none", "best"], instance_type=["p4d.24xlarge", "none", "none"], num_nodes=2,
    ports="8888, 8000-8010", file_mounts={"/data": "s3://bucket/data", "/ckpt": {"name": "ck", "mode": "MOUNT"}},
    setup="pip install -r requirements.txt\n", autodown=True, idle_minutes_to_autostop=15,
    container_image="nvcr.io/nvidia/pytorch:24.01-py3", cluster_config_overrides={"kubernetes": {"provision_timeout": 600}},
    network_tier="best", env_vars={"WANDB_API_KEY": "k", "MODE": "fast"},
    job_recovery={"strategy": "FAILOVER", "max_restarts_on_errors": 2},
)


def test_to_config_shape_example():
    ex = SkyExecutor(gpus="A100:8", use_spot=True, cloud="aws", ports=[8888], env_vars={"A": "1"})
    assert ex.to_config("train", cmd=["python", "train.py"], env_vars={"B": 2}) == {
        "name": "train", "run": "python train.py", "envs": {"A": "1", "B": "2"}, "num_nodes": 1,
        "resources": {"cloud": "aws", "accelerators": "A100:8", "use_spot": True, "ports": ["8888"]},
    }


def test_list_fields_zip_into_any_of_and_none_unsets_a_candidate():
    res = SkyExecutor(**RICH).to_config("t")["resources"]
    assert res["any_of"] == [
        {"cloud": "aws", "region": "us-east-1", "accelerators": "A100:8", "cpus": "8+",
         "instance_type": "p4d.24xlarge", "use_spot": True, "disk_tier": "high"},
        {"cloud": "gcp", "accelerators": "H100:8", "use_spot": False},
        {"cpus": 16, "disk_tier": "best"},
    ]
    assert res["memory"] == "64+" and res["disk_size"] == 512
    assert res["ports"] == ["8888", "8000-8010"]  # common: opened on every candidate
    assert res["image_id"] == "docker:nvcr.io/nvidia/pytorch:24.01-py3"
    assert res["network_tier"] == "best"
    assert res["job_recovery"] == {"strategy": "FAILOVER", "max_restarts_on_errors": 2}
    assert "none" not in yaml.safe_dump(res)


def test_single_candidate_has_no_any_of():
    res = SkyExecutor(cloud="gcp", gpus="H100", gpus_per_node=4).to_config("t")["resources"]
    assert res == {"cloud": "gcp", "accelerators": {"H100": 4}}


def test_gpus_list_is_a_set_crossed_with_every_candidate():
    """NeMo-Run 0.11.1 puts a gpus list into accelerators as {name: gpus_per_node}, which SkyPilot
    crosses with every any_of candidate: gpus=[A100, H100] x cloud=[aws, gcp] is 4 candidates."""
    res = SkyExecutor(cloud=["aws", "gcp"], gpus=["A100", "H100"], gpus_per_node=8).to_config("t")["resources"]
    assert res == {"accelerators": {"A100": 8, "H100": 8}, "any_of": [{"cloud": "aws"}, {"cloud": "gcp"}]}
    assert SkyExecutor(gpus=["A100:8", "H100:4"]).to_config("t")["resources"] == {
        "accelerators": {"A100": 8, "H100": 4}}
    assert SkyExecutor(gpus=["A100", "L4"]).to_config("t")["resources"] == {"accelerators": {"A100": 1, "L4": 1}}


def test_list_fields_of_different_lengths_are_refused():
    ex = SkyExecutor(cloud=["aws", "gcp"], gpus=["A100", "H100", "none"])
    with pytest.raises(FieldError, match="Invalid alternatives: list fields of one length"):
        ex.to_config("t")


@pytest.mark.parametrize(("idle", "down", "expected"), [
    (None, False, None), (10, False, {"idle_minutes": 10}), (0, False, {"idle_minutes": 0}),
    (10, True, {"idle_minutes": 10, "down": True}), (None, True, {"down": True}),
])
def test_autostop_forms(idle, down, expected):
    res = SkyExecutor(idle_minutes_to_autostop=idle, autodown=down).to_config("t").get("resources", {})
    assert res.get("autostop") == expected
    assert SkyExecutor.from_config(SkyExecutor(idle_minutes_to_autostop=idle, autodown=down).to_config("t")) == \
        SkyExecutor(idle_minutes_to_autostop=idle, autodown=down)


def test_cmd_string_is_kept_byte_for_byte_and_list_is_shell_quoted():
    script = "#!/bin/bash\nset -e\necho \"$HOME\" 'x'  \n\n"
    ex = SkyExecutor()
    assert ex.to_config("t", cmd=script)["run"] == script
    args = ["python", "train.py", "--name", "my run", "--glob", "*.txt", "--q", "it's"]
    run = ex.to_config("t", cmd=args)["run"]
    assert run == shlex.join(args) and shlex.split(run) == args
    assert "run" not in ex.to_config("t")
    assert yaml.safe_load(ex.to_yaml("t", cmd=script))["run"] == script
    with pytest.raises(FieldError, match="Invalid cmd"):
        ex.to_config("t", cmd=[["nested"]])


def test_env_vars_argument_overrides_and_is_validated():
    ex = SkyExecutor(env_vars={"A": "1", "B": "x"})
    assert ex.to_config("t", env_vars={"B": "y"})["envs"] == {"A": "1", "B": "y"}
    with pytest.raises(FieldError, match="Invalid env_vars"):
        ex.to_config("t", env_vars={"bad-name": "1"})
    with pytest.raises(FieldError, match="Invalid name"):
        ex.to_config("")


def test_to_config_never_shares_or_modifies_state():
    ex = SkyExecutor(**RICH)
    before = ex.fields_set()
    envs = {"X": "1"}
    config = ex.to_config("t", env_vars=envs)
    assert envs == {"X": "1"}
    config["envs"]["NEW"] = "1"
    config["file_mounts"]["/ckpt"]["mode"] = "COPY"
    config["resources"]["any_of"][0]["cloud"] = "azure"
    config["resources"]["job_recovery"]["strategy"] = "X"
    config["config"]["kubernetes"]["provision_timeout"] = 1
    assert ex.fields_set() == before


def test_local_file_mount_sources_must_exist(tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    ex = SkyExecutor(file_mounts={"/data": str(src), "/bucket": "gs://b/x", "/r2": "r2://b"})
    assert ex.to_config("t")["file_mounts"]["/data"] == str(src)
    ex.file_mounts = {"/data": str(tmp_path / "missing")}  # assignment itself does not touch the disk
    with pytest.raises(FieldError, match=r"Invalid file_mounts: an existing local source for '/data'.*missing"):
        ex.to_config("t")
    ex.file_mounts = {"/ck": {"source": str(tmp_path / "nope"), "mode": "COPY"}}
    with pytest.raises(FieldError, match="Invalid file_mounts"):
        ex.validate_all()


def test_validate_all_catches_in_place_mutation():
    ex = SkyExecutor(env_vars={"A": "1"})
    ex.env_vars["bad-name"] = "x"
    with pytest.raises(FieldError, match="Invalid env_vars"):
        ex.validate_all()


def test_assigned_executor_mounts_its_job_dir_and_workdir(tmp_path):
    ex = SkyExecutor()
    ex.assign("exp", str(tmp_path / "exp"), "task", "task_dir")
    config = ex.to_config("t")
    assert config["file_mounts"] == {REMOTE_RUN_DIR: str(tmp_path / "exp" / "task_dir")}
    assert "workdir" not in config  # job workdir used only once it exists
    (tmp_path / "exp" / "task_dir" / "workdir").mkdir()
    assert ex.to_config("t")["workdir"] == ex.workdir
    assert SkyExecutor.from_config(ex.to_config("t")) == ex


def test_explicit_workdir_must_exist(tmp_path):
    ex = SkyExecutor()
    ex.workdir = str(tmp_path)
    assert ex.to_config("t")["workdir"] == str(tmp_path)
    ex.workdir = str(tmp_path / "missing")
    with pytest.raises(FieldError, match="Invalid workdir"):
        ex.to_config("t")
    with pytest.raises(FieldError, match="Invalid workdir"):
        ex.workdir = ""
    (tmp_path / "with space").mkdir()
    ex.workdir = str(tmp_path / "with space")
    assert SkyExecutor.from_config(ex.to_config("t")).workdir == str(tmp_path / "with space")


ROUND_TRIP = [
    {}, RICH, dict(gpus="A100:8"), dict(gpus="A100", gpus_per_node=8), dict(gpus=["A100", "H100"], gpus_per_node=8),
    dict(gpus=["A100:4", "H100:8"]), dict(infra="aws/us-east-1", ports=22), dict(infra="k8s/ctx", use_spot=False),
    dict(cloud=["aws", "none"], gpus=["A100", "none"]), dict(job_recovery="EAGER_NEXT_REGION", disk_size="1TB"),
    dict(idle_minutes_to_autostop=0, autodown=True), dict(cpus=8.5, memory=32, setup="echo hi"),
]


@pytest.mark.parametrize("fields", ROUND_TRIP)
def test_round_trip_through_config_and_yaml(fields, tmp_path):
    ex = SkyExecutor(**fields)
    assert SkyExecutor.from_config(ex.to_config("t", cmd="echo")) == ex
    text = ex.to_yaml("t", cmd=["echo", "a b"])
    assert yaml.safe_load(text) == ex.to_config("t", cmd=["echo", "a b"])
    back = SkyExecutor.from_yaml(text)
    assert back == ex and back.fields_set() == ex.fields_set()


def test_from_yaml_reads_handwritten_skypilot_yaml():
    ex = SkyExecutor.from_yaml("""
resources:
  cloud: AWS
  accelerators: {A100: 8, H100: 8}
  ports: 8888
  autostop: 2h
  image_id: {docker: 'ubuntu:22.04'}
""")
    assert ex.cloud == "aws" and ex.gpus == ["A100", "H100"] and ex.gpus_per_node == 8 and ex.ports == [8888]
    assert ex.idle_minutes_to_autostop == 120
    assert ex.kept == {"resources": {"image_id": {"docker": "ubuntu:22.04"}}}  # SkyPilot's own form, kept
    ex = SkyExecutor.from_config({"resources": {"accelerators": "A100:4", "any_of": [{"cloud": "aws"}, {"cloud": "gcp"}]}})
    assert (ex.gpus, ex.cloud, ex.kept) == ("A100:4", ["aws", "gcp"], {})


@pytest.mark.parametrize("resources", [
    {"accelerators": ["H100:8", "A100:8"]},  # a list: SkyPilot tries them in this order
    {"accelerators": {"A100": 8}, "ordered": [{"cloud": "gcp", "region": "us-central1"}, {"cloud": "aws"}]},
    {"any_of": [{"cloud": "aws", "accelerators": "A100:8"}, {"cloud": "gcp", "accelerators": "H100:8"}]},
    {"labels": {"team": "a"}, "max_hourly_cost": 3.0},
    {"image_id": "ami-0123456789abcdef0"},
    {"any_of": [{"ports": 22}, {"ports": 23}]},
])
def test_what_no_field_says_is_kept_and_written_back_unchanged(resources):
    ex = SkyExecutor.from_config({"resources": copy.deepcopy(resources)})
    written = ex.to_config("t")["resources"]
    assert {k: written[k] for k in resources} == resources
    assert SkyExecutor.from_config(ex.to_config("t")) == ex


@pytest.mark.parametrize("config", [
    {"service": {"readiness_probe": "/"}}, {"pool": {"workers": 2}}, {"event_callback": "echo"},
    {"workdir": {"url": "https://github.com/x/y.git", "ref": "main"}}, {"secrets": ["secrets:team.key"]},
])
def test_task_keys_no_field_says_are_kept(config):
    ex = SkyExecutor.from_config(copy.deepcopy(config))
    assert ex.kept == config
    assert {k: ex.to_config("t")[k] for k in config} == config


@pytest.mark.parametrize(("config", "field"), [
    ({"num_nodes": 0}, "num_nodes"), ({"setup": 3}, "setup"), ("not a mapping", "config"),
])
def test_from_config_refuses_what_skypilot_refuses(config, field):
    with pytest.raises(FieldError, match=f"Invalid {field}"):
        SkyExecutor.from_config(config)


def test_from_config_does_not_modify_its_argument():
    config = SkyExecutor(**RICH).to_config("t")
    before = copy.deepcopy(config)
    SkyExecutor.from_config(config)
    assert config == before


def test_from_yaml_refuses_non_mapping():
    with pytest.raises(FieldError, match="Invalid yaml"):
        SkyExecutor.from_yaml("- a\n- b\n")
