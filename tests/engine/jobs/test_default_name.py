"""Default job names tell jobs apart: the command's meaningful word plus a short random tag."""
from __future__ import annotations

import re

import pytest

from skyexec_nb.engine.jobs.launcher import default_name


@pytest.mark.parametrize("command, word", [
    ("python train.py --epochs 3", "train"),
    ("python -m pkg.finetune --lr 1e-4", "finetune"),
    ("torchrun --nproc_per_node 8 sft.py", "sft"),
    ("accelerate launch --num_processes 2 dpo.py", "dpo"),
    ("for i in 1 2 3; do python eval.py --seed $i; done", "eval"),
    ("cd /data && CUDA_VISIBLE_DEVICES=0 ./prep_data.sh", "prep_data"),
    ("pip install -r req.txt\npython serve.py", "serve"),
    ("echo start\nsleep 600", "echo"),  # nothing better: the first program
    (["python", "bench.py", "--n", "3"], "bench"),
    ("python -c 'print(1)'", "python"),
])
def test_the_word_names_what_runs(command, word):
    assert re.fullmatch(rf"{re.escape(word)}-[0-9a-f]{{4}}", default_name(command))


def test_tags_tell_two_runs_apart_and_can_be_fixed():
    assert len({default_name("python train.py") for _ in range(20)}) > 15
    assert default_name("python train.py", tag="ab12") == "train-ab12" and default_name("python train.py", tag="") == "train"


def test_without_a_word_the_notebook_names_the_job(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/LR sweep.ipynb")
    assert default_name("for x in a; do :; done", tag="") == "LR-sweep"
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert default_name("", tag="") == "job"
