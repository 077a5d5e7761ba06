"""Secret masking and the accelerator list."""
from __future__ import annotations

import pytest

from skyexec_nb.model import accelerators, masking


@pytest.mark.parametrize(("name", "secret"), [
    ("HF_TOKEN", True), ("wandb_api_key", True), ("AWS_SECRET_ACCESS_KEY", True), ("DB_PASSWORD", True),
    ("MY_Secret", True), ("MODE", False), ("PATH", False), ("NUM_NODES", False),
])
def test_is_secret_name(name, secret):
    assert masking.is_secret_name(name) is secret


def test_mask_env_and_config_copy():
    env = {"HF_TOKEN": "x", "MODE": "fast"}
    assert masking.mask_env(env) == {"HF_TOKEN": "********", "MODE": "fast"}
    assert env["HF_TOKEN"] == "x"
    config = {"name": "t", "envs": dict(env), "secrets": {"API": "v", "REF": None}}
    masked = masking.mask_config(config)
    assert masked["envs"]["HF_TOKEN"] == "********" and masked["secrets"] == {"API": "********", "REF": None}
    assert config["envs"]["HF_TOKEN"] == "x"


def test_shipped_accelerators():
    names = accelerators.accelerator_names()
    for expected in ("A100", "A100-80GB", "H100", "L4", "T4", "MI300X", "tpu-v4-8"):
        assert expected in names
    info = accelerators.accelerator_info("h100")
    assert info.vendor == "NVIDIA" and info.memory_gb == 80 and 8 in info.counts
    assert accelerators.accelerator_info("nope") is None


def test_catalog_on_disk_is_merged(isolated_home):
    assert accelerators.catalog_files() == []
    common = isolated_home / ".sky" / "catalogs" / "v8" / "common"
    common.mkdir(parents=True)
    (common / "accelerators.csv").write_text('AcceleratorName,Clouds\nA100,"[\'AWS\']"\nZZ-Custom9,"[\'Lambda\']"\n')
    assert accelerators.catalog_files() == [str(common / "accelerators.csv")]
    names = accelerators.accelerator_names()
    assert "ZZ-Custom9" in names and names.count("A100") == 1
