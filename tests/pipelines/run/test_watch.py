"""The progress of a llamafactory-cli child, read from the trainer_log.jsonl LLaMA-Factory writes.

The records below are lines of a real `domaintune train --task telecom --gpu cpu --model tiny` run (packing: 2 rows
of about 10 samples per step), trimmed to the keys LogCallback writes.
"""

import io
import json

from rich.console import Console

from pipelines.run.watch import JsonlFollower, StepState, Watch, seconds_of

RECORDS = [
    {"current_steps": 5, "total_steps": 40, "loss": 11.92441177368164, "lr": 0.0001, "epoch": 0.625, "elapsed_time": "0:00:47", "remaining_time": "0:05:35", "vram_allocated": 0.0, "vram_reserved": -0.0},
    {"current_steps": 10, "total_steps": 40, "loss": 11.925404357910157, "lr": 9.53153893518325e-05, "epoch": 1.25, "elapsed_time": "0:01:29", "remaining_time": "0:04:29", "vram_allocated": 0.0, "vram_reserved": -0.0},
    {"current_steps": 10, "total_steps": 40, "eval_loss": 11.919941902160645, "epoch": 1.25, "elapsed_time": "0:01:32", "remaining_time": "0:04:36", "vram_allocated": 0.0, "vram_reserved": -0.0},
    {"current_steps": 40, "total_steps": 40, "loss": 11.918214416503906, "lr": 1.9026509541272275e-07, "epoch": 5.0, "elapsed_time": "0:05:15", "remaining_time": "0:00:00", "vram_allocated": 0.0, "vram_reserved": -0.0},
    # LLaMA-Factory logs the end of training once more, without a loss.
    {"current_steps": 40, "total_steps": 40, "epoch": 5.0, "elapsed_time": "0:05:18", "remaining_time": "0:00:00", "vram_allocated": 0.0, "vram_reserved": -0.0},
]


def lines(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_the_follower_reads_only_complete_new_lines(tmp_path):
    log = tmp_path / "trainer_log.jsonl"
    log.write_text(lines(RECORDS[:1]))  # an earlier attempt's log, there before the child started
    follower = JsonlFollower(log)
    assert follower.records() == []
    with open(log, "a") as f:
        f.write(lines(RECORDS[1:2]) + "not json\n" + json.dumps(RECORDS[2])[:20])  # a line still being written
    assert follower.records() == [RECORDS[1]]
    with open(log, "a") as f:
        f.write(json.dumps(RECORDS[2])[20:] + "\n")
    assert follower.records() == [RECORDS[2]]
    # overwrite_output_dir: LLaMA-Factory deletes the old log and starts a new one, which is read from its start.
    log.unlink()
    assert follower.records() == []
    log.write_text(lines(RECORDS[:1]))
    assert follower.records() == [RECORDS[0]]


def test_a_step_shows_loss_lr_speed_eta_and_the_validation_loss():
    state = StepState(per_step=(2, "rows"))
    state.update(RECORDS[0])
    # Until a second record, the first one's own average: 5 steps x 2 rows in 47 s.
    assert state.figures() == ["epoch 0.62", "loss 11.9244", "lr 1.00e-04", f"{10 / 47:.2f} rows/s", "ETA 0:05:35"]
    state.update(RECORDS[1])
    state.update(RECORDS[2])
    # Then from the first record on: 5 more steps x 2 rows in 42 s; the GPU memory of a CPU run (0) is not shown.
    assert state.counted() == "step 10/40"
    assert state.figures() == ["epoch 1.25", "loss 11.9254", "lr 9.53e-05", f"{10 / 42:.2f} rows/s", "ETA 0:04:36", "val loss 11.9199 (epoch 1.25)"]


def test_tokens_per_second_and_gpu_memory_when_llamafactory_logs_them():
    state = StepState()
    state.update({**RECORDS[0], "throughput": 1234.5, "vram_allocated": 3.25, "vram_reserved": 4.5})
    assert "1,234 tok/s" in state.figures() and "GPU peak 3.2 GB (4.5 reserved)" in state.figures()
    state = StepState()  # a prediction: batches and time only, and no batch size to turn steps into samples
    state.update({"current_steps": 5, "total_steps": 12, "elapsed_time": "0:00:10", "remaining_time": "0:00:14"})
    assert state.figures() == ["0.50 steps/s", "ETA 0:00:14"]


def test_elapsed_times_as_llamafactory_writes_them():
    assert [seconds_of(t) for t in ("0:00:47", "2:03:04", "1 day, 2:03:04", "", None, "soon")] == [47, 7384, 93784, None, None, None]


def test_off_a_terminal_one_line_per_logged_step(tmp_path):
    log = tmp_path / "trainer_log.jsonl"
    out = io.StringIO()
    with Watch("train", log, tmp_path / "train.log", (2, "rows"), console=Console(file=out, width=80)) as watch:
        log.write_text(lines(RECORDS))
        watch.line("a line of the child's output\n")
        watch.finished(0)
    shown = out.getvalue().splitlines()
    assert shown[0] == f"train: started, full log in {tmp_path / 'train.log'}"
    assert shown[1:-1] == [
        f"train: step 5/40  epoch 0.62  loss 11.9244  lr 1.00e-04  {10 / 47:.2f} rows/s  ETA 0:05:35",
        f"train: step 10/40  epoch 1.25  loss 11.9254  lr 9.53e-05  {10 / 42:.2f} rows/s  ETA 0:04:29",
        "train: step 10/40  val loss 11.9199 (epoch 1.25)",
        f"train: step 40/40  epoch 5.00  loss 11.9182  lr 1.90e-07  {70 / 268:.2f} rows/s",
    ]
    assert shown[-1].startswith("train: done in ") and shown[-1].endswith(
        f"step 40/40, epoch 5.00, loss 11.9182, lr 1.90e-07, {70 / 271:.2f} rows/s, val loss 11.9199 (epoch 1.25)"
    )
