"""Every shipped task YAML validates; a broken one is reported with every problem and its file."""


import pytest
import yaml

from pipelines.core import tasks as tasks_module
from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT, TASKS_DIR
from pipelines.core.tasks import load_task, task_names

SHIPPED = sorted(p.stem for p in TASKS_DIR.rglob("*.yaml"))


def test_every_task_file_is_found():
    assert task_names() == SHIPPED and "telecom" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_task_validates_and_its_inputs_exist(name):
    task = load_task(name)
    assert all(path.exists() for path in task.source_paths)
    assert task.scenarios_path is None or task.scenarios_path.exists()
    # Qwen3 templates go with Qwen3 models and Qwen2.5's `qwen` template with Qwen2.5 models.
    assert (task.model["template"] == "qwen") == ("Qwen2.5" in task.model["base"])
    if "glossary" in task.eval:
        assert (REPO_ROOT / task.eval["glossary"]).exists()


def test_telecom_seed_values():
    task = load_task("telecom")
    assert task.model["base"] == "Qwen/Qwen2.5-1.5B-Instruct"
    assert (task.train["lora_rank"], task.train["lora_alpha"]) == (32, 64)
    assert task.config["system"] == "你是一名中国移动的专业客服。"


def test_invalid_task_reports_every_problem(tmp_path, monkeypatch):
    config = yaml.safe_load((TASKS_DIR / "telecom.yaml").read_text(encoding="utf-8"))
    config["train"]["lora_rnak"] = 8  # misspelt key
    del config["model"]["enable_thinking"]
    config["model"]["template"] = "llama3"
    (tmp_path / "telecom.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(tasks_module, "TASKS_DIR", tmp_path)
    with pytest.raises(DomaintuneError) as info:
        load_task("telecom")
    message = str(info.value)
    assert message.startswith(str(tmp_path / "telecom.yaml"))
    assert "model: 'enable_thinking' is a required property" in message
    assert "model.template: 'llama3' is not one of ['qwen', 'qwen3', 'qwen3_nothink']" in message
    assert "train: Additional properties are not allowed ('lora_rnak' was unexpected)" in message


def test_unknown_task_lists_known_ones():
    with pytest.raises(DomaintuneError, match="telecom"):
        load_task("no_such_task")


def write_task(tmp_path, **changes):
    """telecom.yaml with `changes` (section -> keys merged in), under tmp_path as <name>.yaml."""
    config = yaml.safe_load((TASKS_DIR / "telecom.yaml").read_text(encoding="utf-8"))
    for section, values in changes.items():
        config[section] = {**config[section], **values} if isinstance(config.get(section), dict) else values
    path = tmp_path / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eval": {"evaluator": "telecomm"}}, "eval: unknown evaluator 'telecomm'; evaluators are: "),
        ({"source": {"converter": "csv-magic"}}, "source: unknown converter 'csv-magic'; converters are: alpaca, "),
        ({"eval": {"glossary": "evaluators/glossaries/nowhere.txt"}}, "eval.glossary: file evaluators/glossaries/nowhere.txt does not exist"),
        ({"eval": {"glossry": "x.txt"}}, "eval: Additional properties are not allowed ('glossry' was unexpected)"),
        ({"source": {"options": {"context_events": 5}}}, "source.options: Additional properties are not allowed ('context_events' was unexpected)"),
    ],
)
def test_load_finds_what_would_fail_after_training(tmp_path, changes, message):
    with pytest.raises(DomaintuneError) as error:
        tasks_module.load_task_file(write_task(tmp_path, **changes))
    assert str(error.value).startswith(f"{tmp_path / 'telecom.yaml'}: invalid task:")
    assert message in str(error.value)
