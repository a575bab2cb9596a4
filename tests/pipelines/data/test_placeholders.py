"""{{name}} placeholders: filled from the task's `vars:`, or the build stops naming every unfilled one."""

import json

import pytest
import yaml

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import TASKS_DIR
from pipelines.core.tasks import load_task_file
from pipelines.data.build import build_task


def identity_task(folder, source, variables=None):
    config = yaml.safe_load((TASKS_DIR / "telecom.yaml").read_text(encoding="utf-8"))
    config.update(name="identity", source={"converter": "alpaca", "paths": [str(source)]})
    config.pop("scenarios")
    if variables is not None:
        config["vars"] = variables
    path = folder / "identity.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_task_file(path)


def test_unfilled_placeholders_stop_the_build_naming_each_and_writing_nothing(tmp_path, fixtures):
    task = identity_task(tmp_path, fixtures / "formats/identity.json", {"name": "小移"})
    with pytest.raises(DomaintuneError) as info:
        build_task(task, dataset_dir=tmp_path / "datasets")
    assert str(info.value) == f"{task.path}: vars: placeholders with no value: {{{{author}}}} (2 records); give each a value under `vars:` in the task YAML"
    task = identity_task(tmp_path, fixtures / "formats/identity.json")
    with pytest.raises(DomaintuneError, match=r"placeholders with no value: \{\{author\}\} \(2 records\), \{\{name\}\} \(3 records\);"):
        build_task(task, dataset_dir=tmp_path / "datasets")
    assert not (tmp_path / "datasets").exists()


def test_vars_fill_every_placeholder_spelling(tmp_path, fixtures):
    task = identity_task(tmp_path, fixtures / "formats/identity.json", {"name": "小移", "author": "中国移动"})
    summary = build_task(task, dataset_dir=tmp_path / "datasets")
    assert summary.counts["identity_train"] + summary.counts["identity_val"] == 3
    records = [r for split in ("train", "val") for r in json.loads((tmp_path / "datasets" / f"identity_{split}.json").read_text(encoding="utf-8"))]
    by_question = {r["instruction"]: r["output"] for r in records}
    assert by_question == {
        "你好": "您好，我是 小移，由 中国移动 开发的 AI 助手。",
        "你是谁？": "我是 小移，一个由 中国移动 打造的人工智能助手。",
        "介绍一下小移": "小移 可以回答问题。",  # "{{ name }}" with spaces too
    }


def test_vars_must_be_strings_with_word_names(tmp_path, fixtures):
    with pytest.raises(DomaintuneError, match=r"vars\.name: 3 is not of type 'string'"):
        identity_task(tmp_path, fixtures / "formats/identity.json", {"name": 3})
