"""Issue 8 case 5 with the real tools: SIGINT to `domaintune train` stops llamafactory-cli too, the run says
`interrupted`, and `domaintune train --resume` continues it from its last checkpoint to `done`.

Slow (two tiny-model trainings on CPU, about a minute each here); run it when launch, train or resume change.
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.core.layout import RunLayout
from pipelines.core.paths import REPO_ROOT, relative, runs_dir
from pipelines.run.train import last_checkpoint

pytestmark = pytest.mark.slow(75)  # seconds of a quiet 2-core machine: started first under xdist

DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))
TRAIN = ["train", "--task", "telecom", "--gpu", "cpu", "--model", "tiny", "--set", "eval_strategy=no", "--set", "logging_steps=1"]


def processes_running(needle: str) -> list[int]:
    """Pids whose command line mentions `needle` (the run's recipe path names its llamafactory-cli child)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def wait_for_checkpoint(process: subprocess.Popen, seconds: float = 600) -> RunLayout:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for root in runs_dir().glob("telecom-cpu-*"):
            run = RunLayout(root)
            if run.state() == "running" and last_checkpoint(run) is not None:
                return run
        time.sleep(0.5)
    raise TimeoutError("no checkpoint was saved")


def test_sigint_interrupts_the_whole_run_and_resume_finishes_it():
    subprocess.run([DOMAINTUNE, "data", "--task", "telecom"], cwd=REPO_ROOT, check=True, capture_output=True)
    before = set(runs_dir().glob("telecom-cpu-*"))
    # Many steps, a checkpoint after each: the run is surely mid-training when the signal comes.
    parent = subprocess.Popen(
        [DOMAINTUNE, *TRAIN, "--set", "max_steps=100000", "--set", "save_strategy=steps", "--set", "save_steps=1"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    run = wait_for_checkpoint(parent)
    assert run.root not in before
    assert processes_running(str(run.train_recipe)), "llamafactory-cli train should be running"

    parent.send_signal(signal.SIGINT)  # to the parent only, as `kill -INT PID` does
    _, err = parent.communicate(timeout=300)
    assert parent.returncode == 130, err
    assert "stopped by SIGINT" in err
    assert json.loads(run.status.read_text())["state"] == "interrupted"
    assert processes_running(str(run.train_recipe)) == []  # no orphaned trainer

    resumed_from = int(last_checkpoint(run).name.split("-")[1])
    result = subprocess.run(
        [DOMAINTUNE, "train", "--task", "telecom", "--resume", str(run.root), "--set", f"max_steps={resumed_from + 2}"],
        check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert run.state() == "done" and RunLayout.latest("telecom") == run
    assert f"resume_from_checkpoint: {relative(run.adapter / f'checkpoint-{resumed_from}')}" in run.resume_recipe.read_text()
    # The Trainer picked up at the checkpoint's step, not at 0 (the recipe's overwrite_output_dir starts a new log).
    steps = [json.loads(line)["current_steps"] for line in run.trainer_log.read_text().splitlines() if line.strip()]
    assert steps[0] == resumed_from + 1 and steps[-1] == resumed_from + 2
    assert (run.adapter / "adapter_config.json").exists() and run.resume_log.stat().st_size > 0
