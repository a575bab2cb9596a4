"""`train --report-to`: LLaMA-Factory's report_to in the recipe, TensorBoard's files inside the run, and a tracker
whose package is missing refused before anything starts (transformers would fail only after loading the model)."""

import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import get_tier
from pipelines.core.models import ModelChoice
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.run import tracking
from pipelines.run import train as train_module


@pytest.fixture
def launches(tmp_path, monkeypatch, fixtures):
    """telecom built from the small fixture in a workspace of the test's own; each launch's (recipe, env) kept."""
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    build_task(load_task("telecom"), [fixtures / "telecom/good.json"])
    calls = []
    monkeypatch.setattr(train_module, "run_llamafactory", lambda verb, config, log, env=None, *args, **kwargs: calls.append((config, env)))
    return calls


def train(report_to):
    return train_module.train(load_task("telecom"), get_tier("cpu"), ModelChoice("Qwen/Qwen2.5-1.5B-Instruct"), quiet=True, report_to=report_to)


def test_tensorboard_writes_into_the_run(launches, monkeypatch):
    monkeypatch.setattr(tracking, "installed", lambda package: package == "tensorboardX")  # either package will do
    run = train(("tensorboard",))
    (config, env), = launches
    recipe = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert (recipe["report_to"], recipe["run_name"]) == (["tensorboard"], run.root.name)
    assert env["TENSORBOARD_LOGGING_DIR"] == str(run.root / "tensorboard") == str(run.tensorboard)


def test_without_a_tracker_nothing_is_reported(launches):
    run = train(())
    (config, env), = launches
    assert yaml.safe_load(config.read_text(encoding="utf-8"))["report_to"] == "none"
    assert "TENSORBOARD_LOGGING_DIR" not in env and not run.tensorboard.exists()


@pytest.mark.parametrize("name", sorted(tracking.TRACKERS))
def test_a_tracker_not_installed_is_refused_before_anything_is_written(launches, tmp_path, monkeypatch, name):
    package = tracking.TRACKERS[name][0]
    monkeypatch.setattr(tracking, "installed", lambda _package: False)  # as on a machine without it, whatever this one has
    with pytest.raises(DomaintuneError, match=rf"^--report-to {name} needs the {package} package, which is not installed: pip install {package}$"):
        train((name,))
    assert launches == [] and not (tmp_path / "runs").exists()


def test_resume_keeps_the_run_s_own_trackers(tmp_path):
    assert tracking.trackers_of({"report_to": ["tensorboard", "wandb"]}) == ["tensorboard", "wandb"]
    assert tracking.trackers_of({"report_to": "none"}) == [] and tracking.trackers_of({}) == []
    result = CliRunner().invoke(cli, ["train", "--task", "telecom", "--resume", str(tmp_path), "--report-to", "tensorboard"])
    assert result.exit_code == 2 and "--resume keeps the run's own trackers" in result.output
