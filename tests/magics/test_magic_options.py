"""The pure option layer: value parsers and executor_from_args (no shell, no launch)."""
from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError

from skyexec_nb.magics import options as o
from skyexec_nb.magics.skylaunch import SkyLaunchMagics
from skyexec_nb.model.executor import SkyExecutor


def parse(line: str):
    return o.parse_line(SkyLaunchMagics.skylaunch, line, cell=True)


def test_parse_env_keeps_equals_and_empty_values() -> None:
    assert o.parse_env("--env", "A=b=c") == ("A", "b=c")
    assert o.parse_env("--env", "A=") == ("A", "")


@pytest.mark.parametrize("text", ["A", "=x", "1A=x", "A B=x", ""])
def test_parse_env_refuses(text: str) -> None:
    with pytest.raises(UsageError, match=r"^Invalid --env: KEY=VALUE"):
        o.parse_env("--env", text)


def test_parse_mount() -> None:
    assert o.parse_mount("/data=./data") == ("/data", "./data")
    assert o.parse_mount("~/ckpt=s3://bucket/x=y") == ("~/ckpt", "s3://bucket/x=y")
    for bad in ("/data", "=./x", "/data="):
        with pytest.raises(UsageError, match=r"^Invalid --mount: REMOTE=LOCAL"):
            o.parse_mount(bad)


def test_alternatives() -> None:
    assert o.alternatives()("A100:8") == "A100:8"
    assert o.alternatives()("A100:8, H100:8") == ["A100:8", "H100:8"]


def test_read_env_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# comment\n\nA=1\nexport B='two words'\nC=\"x=y\"\n  D = 4\n")
    with pytest.raises(UsageError, match=r"line 6"):
        o.read_env_file(str(path))
    path.write_text("# comment\n\nA=1\nexport B='two words'\nC=\"x=y\"\nE=\n")
    assert o.read_env_file(str(path)) == {"A": "1", "B": "two words", "C": "x=y", "E": ""}


def test_split_line_is_posix_and_refuses_bad_quotes() -> None:
    assert o.split_line("--setup 'pip install x' --name \"a\"") == ["--setup", "pip install x", "--name", "a"]
    with pytest.raises(UsageError, match="No closing quotation"):
        o.split_line('--setup "pip')


def test_every_field_option_has_a_distinct_flag_and_field() -> None:
    flags = [opt.flag for opt in o.FIELD_OPTIONS]
    fields = [opt.field for opt in o.FIELD_OPTIONS]
    assert len(set(flags)) == len(flags) and len(set(fields)) == len(fields)
    # every executor field but the structured ones has an option
    assert set(SkyExecutor.class_trait_names()) - set(fields) >= {"file_mounts", "env_vars"}
    left = set(SkyExecutor.class_trait_names()) - set(fields) - {"file_mounts", "env_vars"}
    assert left == {"cluster_config_overrides", "storage_mounts", "secrets"}  # dicts: --secret K[=V] sets one


def test_executor_from_args_maps_and_keeps_base(tmp_path: Path) -> None:
    base = SkyExecutor(cloud="aws", gpus="A100:1", env_vars={"A": "1"}, file_mounts={"/a": str(tmp_path)})
    args = parse(f"--gpus H100:8 --nodes 2 --spot --env B=2 --mount /b={tmp_path} --no-autodown")
    new = o.executor_from_args(args, base)
    assert (new.cloud, new.gpus, new.num_nodes, new.use_spot) == ("aws", "H100:8", 2, True)
    assert new.env_vars == {"A": "1", "B": "2"}
    assert new.file_mounts == {"/a": str(tmp_path), "/b": str(tmp_path)}
    assert (base.gpus, base.num_nodes, base.use_spot, base.env_vars) == ("A100:1", 1, None, {"A": "1"})
    assert base.file_mounts == {"/a": str(tmp_path)}


def test_env_precedence(tmp_path: Path) -> None:
    env_file = tmp_path / "e.env"
    env_file.write_text("A=file\nB=file\n")
    args = parse(f"--env-file {env_file} --env B=flag")
    assert o.executor_from_args(args, SkyExecutor(env_vars={"A": "base", "C": "base"})).env_vars == {
        "A": "file", "B": "flag", "C": "base"}


def test_no_options_gives_an_equal_copy() -> None:
    base = SkyExecutor(cpus="4+")
    new = o.executor_from_args(parse(""), base)
    assert new == base and new is not base


def test_field_error_names_the_option() -> None:
    with pytest.raises(UsageError, match=r"^Invalid --disk-tier: one of low"):
        o.executor_from_args(parse("--disk-tier fast"))


def test_integer_options_refuse_endless_digits_in_one_line() -> None:
    with pytest.raises(UsageError, match=r"--nodes: an integer of at most 18 digits") as info:
        parse("--nodes " + "9" * 5000)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_absurd_numbers_name_the_option_and_the_bound() -> None:
    with pytest.raises(UsageError, match=r"^Invalid --nodes: an integer in 1\.\.4096\. Found: 1000000000000$"):
        o.executor_from_args(parse("--nodes 1000000000000"))
    with pytest.raises(UsageError, match=r"^Invalid --disk-size: .*65536"):
        o.executor_from_args(parse("--disk-size " + "9" * 40))


@pytest.mark.parametrize("name", [n for n in dir(SkyLaunchMagics)
                                  if n.startswith("sky") and callable(getattr(SkyLaunchMagics, n))])
def test_every_magics_help_reads_as_written(name: str) -> None:
    # `%skylogs?` shows the docstring magic_arguments built with argparse, which %-formats help
    # text: a bare "%skyjobs" there once printed a dict of argparse internals.
    doc = getattr(SkyLaunchMagics, name).__doc__ or ""
    assert "option_strings" not in doc and "%(" not in doc
    if name == "skylogs":
        assert "see %skyjobs --all" in " ".join(doc.split())
