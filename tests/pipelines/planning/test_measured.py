"""The estimator against every measured run in recipes/measured.yaml, and appending a measured session."""

import dataclasses
import shutil

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.planning.measured import (
    MEASURED_FILE,
    TOLERANCE,
    append_session,
    load_measured,
    markdown_rows,
)

RUNS = load_measured()


def test_the_table_holds_the_eight_h200_runs_of_issue_10():
    h200 = [run for run in RUNS if run.machine.startswith("NVIDIA H200") and run.date == "2026-11-26"]
    assert len(h200) >= 8
    assert {(run.task, run.run) for run in h200} >= {("telecom", "variant 16 x 1"), ("behavior", "ours (old planner)")}


@pytest.mark.parametrize("run", RUNS, ids=lambda run: f"{run.machine}-{run.task}-{run.run}")
def test_estimate_is_within_15_percent_of_measured_peak_allocated(run):
    assert abs(run.deviation()) <= TOLERANCE, (run.settings(), run.estimate().format_breakdown())


def test_deviation_is_measured_over_estimated_allocated():
    run = next(run for run in RUNS if run.task == "telecom" and run.run == "variant 16 x 1")
    est = run.estimate()
    assert (run.batch, run.seq_len, est.batch, est.seq_len) == (16, 152, 16, 152)
    assert run.deviation() == pytest.approx(15.75 / (est.peak_gb - est.overhead) - 1)


def test_paged_optimizer_states_are_left_out_of_the_allocated_comparison():
    # bitsandbytes pages them through CUDA unified memory, which torch.cuda.max_memory_allocated never sees.
    run = next(run for run in RUNS if run.task == "telecom" and run.run == "variant 16 x 1")
    paged = dataclasses.replace(run, optim="paged_adamw_8bit")
    est = paged.estimate()
    assert est.optim == "paged_adamw_8bit"
    assert paged.estimated_allocated_gb() == pytest.approx(est.peak_gb - est.overhead - est.optimizer)
    assert paged.settings().endswith(", paged 8-bit AdamW, sdpa")
    assert run.estimated_allocated_gb() == pytest.approx(run.estimate().peak_gb - run.estimate().overhead)


SESSION = {
    "machine": "NVIDIA H100 80GB HBM3 (1 GPU)",
    "date": "2026-11-27",
    "versions": {"torch": "2.11.0+cu130"},
    "command": "python -m bench.recipes --gpu 4090 --record",
    "runs": [
        {"task": "telecom", "model": "Qwen/Qwen2.5-1.5B-Instruct", "run": "ours", "method": "lora", "bits": 16,
         "lora_rank": 32, "batch": 2, "accumulation": 1, "gradient_checkpointing": False, "packing": True,
         "attention": "sdpa", "seq_len": 1032, "seq_len_from": "seen", "tokens_per_s": 5000.0, "peak_allocated_gb": 16.0},
    ],
}


def test_append_session_keeps_the_file_and_adds_rows(tmp_path):
    path = tmp_path / "measured.yaml"
    shutil.copyfile(MEASURED_FILE, path)
    before = path.read_text(encoding="utf-8")
    append_session(SESSION, path)
    assert path.read_text(encoding="utf-8").startswith(before)
    runs = load_measured(path)
    assert len(runs) == len(RUNS) + 1
    assert (runs[-1].machine, runs[-1].seq_len, runs[-1].packing) == ("NVIDIA H100 80GB HBM3 (1 GPU)", 1032, True)
    assert any(line.startswith("| NVIDIA H100 80GB HBM3 (1 GPU), 2026-11-27 | telecom |") for line in markdown_rows(runs))


def test_a_session_missing_a_field_is_refused_before_writing(tmp_path):
    path = tmp_path / "measured.yaml"
    shutil.copyfile(MEASURED_FILE, path)
    bad = {**SESSION, "runs": [{k: v for k, v in SESSION["runs"][0].items() if k != "seq_len"}]}
    with pytest.raises(DomaintuneError, match="seq_len"):
        append_session(bad, path)
    assert path.read_bytes() == MEASURED_FILE.read_bytes()
