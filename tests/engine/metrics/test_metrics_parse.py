"""Metrics read from real trainers' log output (written from each format's documentation), plain
prints, JSON lines, the explicit marker, and bad input that must never raise."""
from __future__ import annotations

import math

import pytest

from skyexec_nb.engine.metrics.parse import LineParser
from skyexec_nb.engine.metrics.reader import MetricReader, infer_x, select


def rows_of(text: str | bytes) -> list[dict[str, float]]:
    reader = MetricReader(None)
    reader.feed(text.encode() if isinstance(text, str) else text, final=True)
    return reader.rows


def test_pytorch_lightning_progress_bar_postfix_gives_loss_by_fractional_epoch() -> None:
    # Lightning's TQDMProgressBar: "Epoch N: pct|bar| n/total [elapsed<left, rate, v_num=.., metrics]";
    # redraws of one epoch are separated by \r, the epoch's last state ends with a newline.
    log = ("Epoch 0:  50%|█████     | 50/100 [00:02<00:02, 24.10it/s, v_num=3, train_loss=0.693]\r"
           "Epoch 0: 100%|██████████| 100/100 [00:04<00:00, 24.32it/s, v_num=3, train_loss=0.412, val_loss=0.398]\n"
           "Epoch 1: 100%|██████████| 100/100 [00:04<00:00, 24.50it/s, v_num=3, train_loss=0.301, val_loss=0.322]\n")
    rows = rows_of(log)
    assert [r["epoch"] for r in rows] == [0.5, 1.0, 2.0]
    assert [r["train_loss"] for r in rows] == [0.693, 0.412, 0.301]
    assert rows[2]["val_loss"] == 0.322
    assert all("v_num" not in r for r in rows)  # the logger's version is not a metric
    assert infer_x(rows) == "epoch"


def test_lightning_test_results_table() -> None:
    log = ("┏━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n"
           "┃        Test metric        ┃       DataLoader 0        ┃\n"
           "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n"
           "│         test_acc          │    0.9122999906539917     │\n"
           "│         test_loss         │    0.2876543402671814     │\n"
           "└───────────────────────────┴───────────────────────────┘\n")
    rows = rows_of(log)
    assert [(list(r)[0], round(list(r.values())[0], 4)) for r in rows] == [("test_acc", 0.9123), ("test_loss", 0.2877)]


def test_hugging_face_trainer_log_dicts() -> None:
    # transformers.Trainer prints its log history as Python dicts (single quotes).
    log = ("{'loss': 0.6931, 'grad_norm': 3.1415, 'learning_rate': 4.8e-05, 'epoch': 0.16}\n"
           "{'loss': 0.5123, 'grad_norm': 2.718, 'learning_rate': 4.6e-05, 'epoch': 0.32}\n"
           "{'eval_loss': 0.4821, 'eval_accuracy': 0.8125, 'eval_runtime': 1.234, "
           "'eval_samples_per_second': 162.1, 'eval_steps_per_second': 20.3, 'epoch': 1.0}\n"
           "{'train_runtime': 61.2, 'train_samples_per_second': 49.0, 'train_steps_per_second': 6.1, "
           "'train_loss': 0.55, 'epoch': 1.0}\n")
    rows = rows_of(log)
    assert [r.get("loss") for r in rows[:2]] == [0.6931, 0.5123]
    assert rows[0]["learning_rate"] == 4.8e-05 and rows[2]["eval_accuracy"] == 0.8125
    assert infer_x(rows) == "epoch"
    picked, x, names = select(rows, ["loss"])
    assert x == "epoch" and [r["loss"] for r in picked] == [0.6931, 0.5123] and names == ["loss"]


def test_keras_fit_output_tf2_and_keras3() -> None:
    log = ("Epoch 1/3\n"
           "  32/1875 [..............................] - ETA: 3:03 - loss: 2.3012 - accuracy: 0.1250\x08\x08\r"
           "1875/1875 [==============================] - 5s 2ms/step - loss: 0.2950 - accuracy: 0.9140"
           " - val_loss: 0.1461 - val_accuracy: 0.9565\n"
           "Epoch 2/3\n"
           "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.9568 - loss: 0.1431 - val_accuracy: 0.9690"
           " - val_loss: 0.1007\n"
           "Epoch 3/3\n"
           "1875/1875 - 3s - 1ms/step - accuracy: 0.9678 - loss: 0.1054\n")
    rows = rows_of(log)
    assert [round(r["epoch"], 4) for r in rows] == [round(32 / 1875, 4), 1.0, 2.0, 3.0]
    assert [r["loss"] for r in rows] == [2.3012, 0.295, 0.1431, 0.1054]
    assert all("ETA" not in r for r in rows)  # "ETA: 3:03" is a duration, not a number
    assert rows[1]["val_accuracy"] == 0.9565


def test_tqdm_bar_with_postfix_gives_step() -> None:
    log = (" 10%|█         | 10/100 [00:01<00:09,  9.80it/s, loss=0.912, acc=0.5]\r"
           " 20%|██        | 20/100 [00:02<00:08,  9.90it/s, loss=0.734, acc=0.61]\r"
           "100%|██████████| 100/100 [00:10<00:00,  9.95it/s, loss=0.231, acc=0.93]\n")
    rows = rows_of(log)
    assert [(r["step"], r["loss"]) for r in rows] == [(10, 0.912), (20, 0.734), (100, 0.231)]
    assert infer_x(rows) == "step"


def test_plain_prints_key_value_and_step_words() -> None:
    log = ("loading data from /data/train (12,000 files)\n"
           "step 120 loss=0.231 lr=3e-4\n"
           "Step 130: loss=0.2102, lr=3.0e-04, grad_norm=1.5\n"
           "iter 140 | loss: 0.2011 | ppl: 7.47\n"
           "saved checkpoint to ckpt-140.pt at 12:00:07\n")
    rows = rows_of(log)
    assert [(r["step"] if "step" in r else r["iter"], r["loss"]) for r in rows] == [(120, 0.231), (130, 0.2102),
                                                                                    (140, 0.2011)]
    assert rows[0]["lr"] == 3e-4 and rows[2]["ppl"] == 7.47
    assert [r["line"] for r in rows] == [2, 3, 4]


def test_json_lines_and_nested_objects() -> None:
    log = ('{"step": 1, "loss": 0.5, "eval": {"acc": 0.7}, "tag": "warmup", "done": false}\n'
           '{"step":2,"loss":0.25}\n'
           '{"not": "metrics"}\n')
    rows = rows_of(log)
    assert rows[0] == {"step": 1.0, "loss": 0.5, "eval/acc": 0.7, "line": 1.0}
    assert rows[1]["loss"] == 0.25 and len(rows) == 2


def test_marker_lines_take_over_once_present() -> None:
    log = ("epoch=1 noise=3\n"
           'SKYEXEC_METRIC {"step": 1, "loss": 0.5}\n'
           "unrelated=7\n"
           'prefix text SKYEXEC_METRIC {"step": 2, "loss": 0.4, "acc": 0.8}\n')
    rows = rows_of(log)
    assert [(r["step"], r["loss"]) for r in rows] == [(1, 0.5), (2, 0.4)]
    assert "noise" not in rows[0] and "unrelated" not in rows[1]


def test_skypilot_prefixes_are_not_metrics_and_give_the_rank() -> None:
    log = ("(train, pid=4242) step 1 loss=0.9\n"
           "(head, rank=0, pid=11) step 2 loss=0.8\n"
           "(worker1, rank=1, pid=12, ip=127.0.0.1) step 2 loss=0.85\n"
           "(train, pid=4242) skyexec_nb: cancelled by alice at 12:00:00 step=3\n")
    rows = rows_of(log)
    assert all("pid" not in r and "ip" not in r for r in rows)
    assert [r.get("rank") for r in rows] == [None, 0.0, 1.0]
    head, _, _ = select(rows)
    assert [r["loss"] for r in head] == [0.9, 0.8]  # rank 0 (and single-node lines) by default
    assert len(select(rows, rank="all")[0]) == 3


@pytest.mark.parametrize("line", [
    "loss=abc acc=", "acc=0.9.1", "ETA: 3:03", "12:00:00 started", "version: 1.2.3", "=== : ===", "{'a': }",
    "{not json", '{"a": 1e999}', "x" * 100_000 + "=1", "\x00\xff=1", "loss=1e99999", "step 9" * 1000,
    "SKYEXEC_METRIC not json", "SKYEXEC_METRIC [1, 2]", "│ │ │", "Epoch 1/0", "Epoch 0: | 5/0 [ loss=1]",
])
def test_bad_input_never_raises(line: str) -> None:
    parser = LineParser()
    rows, _ = parser.parse(line)
    for row in rows:
        assert all(isinstance(v, float) for v in row.values())
    assert rows_of(line + "\n") is not None


def test_non_finite_values_are_kept_as_floats() -> None:
    rows = rows_of("step 1 loss=nan\nstep 2 loss=inf\nstep 3 loss=-inf\nstep 4 loss=0.5\n"
                   '{"step": 5, "loss": NaN}\n')
    values = [r["loss"] for r in rows]
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf and values[3] == 0.5
    assert math.isnan(values[4])


def test_a_metric_seen_once_and_no_x_fall_back_to_the_line_number() -> None:
    rows = rows_of("hello\nfinal accuracy: 0.93\n")
    picked, x, names = select(rows)
    assert x == "line" and names == ["accuracy"] and picked == [{"accuracy": 0.93, "line": 2.0}]


def test_incremental_reading_parses_each_byte_once_and_follows_truncation(tmp_path) -> None:
    path = tmp_path / "run.log"
    path.write_bytes(b"step 1 loss=0.5\nstep 2 lo")
    reader = MetricReader(path)
    assert reader.poll() == 1 and reader.offset == path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"ss=0.4\n")
    assert reader.poll() == 1 and [r["loss"] for r in reader.rows] == [0.5, 0.4]
    assert reader.poll() == 0  # nothing new: nothing read again
    path.write_bytes(b"step 9 loss=0.1\n")  # truncated and rewritten (a new run)
    assert reader.poll() == 1 and [r["loss"] for r in reader.rows] == [0.1] and reader.resets == 1
    with open(path, "ab") as f:
        f.write(b"step 10 loss=0.05")  # no newline yet: waits, unless the writer is done
    assert reader.poll() == 0 and reader.poll(final=True) == 1


def test_a_flood_of_100k_metric_lines_is_kept_in_full(tmp_path) -> None:
    path = tmp_path / "run.log"
    path.write_text("".join(f"step {i} loss={1 / (i + 1):.6f}\n" for i in range(100_000)))
    reader = MetricReader(path)
    while reader.poll(max_bytes=256 * 1024):
        pass
    assert len(reader.rows) == 100_000 and reader.rows[-1]["step"] == 99_999
    assert reader.lines == 100_000
