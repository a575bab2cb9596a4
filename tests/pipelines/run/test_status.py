"""Run status and resume: status.json follows a run; predict picks the latest `done` run; `train --resume`
continues from the last checkpoint; a run's datasets must still be the ones it trained on (issue 8 cases 4, 5)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.gpus import get_tier
from pipelines.core.layout import RunLayout
from pipelines.core.models import ModelChoice
from pipelines.core.paths import REPO_ROOT, runs_dir
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.run import train as train_module


@pytest.fixture
def workspace(tmp_path, monkeypatch, fixtures):
    """A workspace with telecom built from the small fixture, and llamafactory-cli replaced by `launched`."""
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    build_task(load_task("telecom"), [fixtures / "telecom/good.json"])
    return tmp_path


@pytest.fixture
def launched(monkeypatch):
    """What would have run: (verb, recipe, log); `outcome` set to an exception makes the launch raise it."""
    calls, outcome = [], {}

    def fake(verb, config, log_path, env=None, quiet=False, verbose=False):
        calls.append((verb, config, log_path))
        if "error" in outcome:
            raise outcome["error"]

    monkeypatch.setattr(train_module, "run_llamafactory", fake)
    return calls, outcome


def start(tier="cpu") -> RunLayout:
    return train_module.train(load_task("telecom"), get_tier(tier), ModelChoice("Qwen/Qwen2.5-1.5B-Instruct"), quiet=True)


def state(run: RunLayout) -> str:
    return json.loads(run.status.read_text(encoding="utf-8"))["state"]


@pytest.mark.parametrize(
    "error, expected",
    [(None, "done"), (Interrupted(2, "llamafactory-cli train"), "interrupted"), (KeyboardInterrupt(), "interrupted"), (DomaintuneError("exit code 1"), "failed")],
)
def test_status_follows_the_run(workspace, launched, error, expected):
    calls, outcome = launched
    if error is not None:
        outcome["error"] = error
    if error is None:
        run = start()
    else:
        with pytest.raises(type(error)):
            start()
        run = RunLayout(next((workspace / "runs").iterdir()))
    assert state(run) == expected
    assert calls[0][0] == "train" and calls[0][1] == run.train_recipe


def test_latest_skips_interrupted_and_failed_runs(workspace, launched):
    _, outcome = launched
    done = start()
    for error in (Interrupted(15, "x"), DomaintuneError("x")):
        outcome["error"] = error
        with pytest.raises(DomaintuneError):
            start()
    assert RunLayout.latest("telecom") == done
    assert {state(RunLayout(p)) for p in (workspace / "runs").iterdir()} == {"done", "interrupted", "failed"}


def interrupted_run_with_checkpoints(launched, steps=(5, 10), half_saved=()) -> RunLayout:
    _, outcome = launched
    outcome["error"] = Interrupted(2, "llamafactory-cli train")
    with pytest.raises(Interrupted):
        start()
    outcome.clear()
    (run,) = [run for run in map(RunLayout, runs_dir().iterdir()) if run.state() == "interrupted"]
    for step in (*steps, *half_saved):
        (run.adapter / f"checkpoint-{step}").mkdir(parents=True)
    for step in steps:  # the Trainer writes trainer_state.json last: an interrupted save has none
        (run.adapter / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    return run


def test_resume_continues_from_the_last_checkpoint(workspace, launched):
    calls, _ = launched
    run = interrupted_run_with_checkpoints(launched, steps=(5, 10), half_saved=(15,))
    train_module.resume(load_task("telecom"), run, {"max_steps": 20})
    verb, config, log = calls[-1]
    assert verb == "train"
    recipe = yaml.safe_load(config.read_text(encoding="utf-8"))
    original = yaml.safe_load(run.train_recipe.read_text(encoding="utf-8"))
    assert (config, log) == (run.resume_recipe, run.resume_log)
    # checkpoint-10: the newest by step number (transformers' rule) of those saved completely (not 15).
    assert recipe == {**original, "max_steps": 20, "resume_from_checkpoint": str(run.adapter / "checkpoint-10")}
    assert state(run) == "done"


def test_resume_refuses_what_it_cannot_continue(workspace, launched):
    task = load_task("telecom")
    done = start()
    with pytest.raises(DomaintuneError, match="training finished already"):
        train_module.resume(task, done)
    bare = interrupted_run_with_checkpoints(launched, steps=())
    with pytest.raises(DomaintuneError, match="no checkpoint saved"):
        train_module.resume(task, bare)
    with pytest.raises(DomaintuneError, match="not a run folder"):
        train_module.resume(task, RunLayout(workspace))


def test_predict_and_resume_refuse_data_rebuilt_since_training(workspace, launched, tmp_path):
    # Issue 8 case 4: an old adapter used to be predicted on a new val set without a word.
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    run = interrupted_run_with_checkpoints(launched, steps=(5,))
    (run.adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-1.5B-Instruct"}))
    rebuilt = tmp_path / "new.json"
    rebuilt.write_text(json.dumps([{"instruction": f"新{i}", "input": "", "output": f"答{i}"} for i in range(4)], ensure_ascii=False))
    build_task(load_task("telecom"), [rebuilt])

    result = CliRunner().invoke(cli, ["predict", "--task", "telecom", "--adapter", str(run.adapter)])
    assert result.exit_code == 1 and "the datasets changed since the run" in result.output
    assert "`domaintune data --task telecom`" in result.output and "--allow-changed-data" in result.output
    with pytest.raises(DomaintuneError, match="the datasets changed since the run"):
        train_module.resume(load_task("telecom"), run)
    assert state(run) == "interrupted"  # refused before anything ran


def test_resume_refuses_a_run_of_another_task(workspace, launched):
    # Issue 20: `train --task restaurant --resume <telecom run>` resumed telecom silently and exited 0.
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    calls, _ = launched
    run = interrupted_run_with_checkpoints(launched)
    launches = len(calls)
    result = CliRunner().invoke(cli, ["train", "--task", "restaurant", "--resume", str(run.root)])
    assert result.exit_code == 1
    assert result.output == f"Error: {run.root}: a run of task telecom (it trains on telecom_train), not of restaurant; resume it with --task telecom\n"
    assert len(calls) == launches and state(run) == "interrupted" and not run.resume_recipe.exists()


# A stand-in `llamafactory-cli train CONFIG` that, on SIGINT, finishes: saves the adapter's config (when SAVES is
# set) into the recipe's output_dir and exits 0, as a trainer that ignores Ctrl-C and runs to its end would.
FINISHING_TRAINER = """
import json, os, signal, sys, time
import yaml
out = yaml.safe_load(open(sys.argv[2]))["output_dir"]
def finish(signum, frame):
    if os.environ.get("SAVES"):
        json.dump({"base_model_name_or_path": "tiny"}, open(os.path.join(out, "adapter_config.json"), "w"))
    sys.exit(0)
signal.signal(signal.SIGINT, finish)
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "started"), "w").close()
while True:
    time.sleep(0.1)
"""


@pytest.mark.parametrize("saves, exit_code, expected", [(True, 0, "done"), (False, 130, "interrupted")])
def test_status_follows_what_the_child_did_after_a_signal(workspace, tmp_path, saves, exit_code, expected):
    # Issue 20 case 1: a child that finished and saved its adapter after SIGINT used to leave the run `interrupted`.
    fake = tmp_path / "llamafactory-cli"
    fake.write_text(f"#!{sys.executable}\n{FINISHING_TRAINER}", encoding="utf-8")
    fake.chmod(0o755)
    driver = textwrap.dedent(
        f"""
        import pipelines.run.launch as launch
        launch.llamafactory_cli = lambda: {str(fake)!r}
        from pipelines.cli.main import cli
        cli(["train", "--task", "telecom", "--gpu", "cpu", "--model", "tiny"], prog_name="domaintune")
        """
    )
    env = {**os.environ, **({"SAVES": "1"} if saves else {})}
    parent = subprocess.Popen([sys.executable, "-c", driver], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((workspace / "runs").glob("*/adapter/started")):
        assert parent.poll() is None and time.monotonic() < deadline, parent.communicate()
        time.sleep(0.1)
    parent.send_signal(signal.SIGINT)
    out, err = parent.communicate(timeout=60)
    (run,) = map(RunLayout, (workspace / "runs").iterdir())
    assert parent.returncode == exit_code, err
    assert state(run) == expected
    if saves:
        assert out.strip().endswith(f"adapter: {run.adapter}")
        assert "Note: llamafactory-cli train: stopped by SIGINT, but training had finished and saved" in err
    else:
        assert "Stopped: " in err and "stopped by SIGINT" in err
