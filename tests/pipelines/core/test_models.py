"""Which weights a command uses: a missing hub model is downloaded once (from the loopback ModelScope hub of
conftest.py), then used from models/; what the run records of it; a recipe only names it."""

import json

import pytest

from pipelines.core.download import local_copy
from pipelines.core.errors import DomaintuneError
from pipelines.core.models import (
    planned_model,
    resolve_base,
    resolve_model,
    weights_or_id,
)
from pipelines.core.paths import WORKSPACE_ENV, models_dir, relative
from pipelines.core.tasks import load_task

MODEL = "Qwen/Loopback-Model"
FILES = {"config.json": b'{"model_type": "qwen2"}', "model.safetensors": b"\0" * 4096}


@pytest.fixture
def hub(modelscope_hub, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    modelscope_hub.add(MODEL, dict(FILES))
    return modelscope_hub


def test_a_missing_model_is_downloaded_once_then_used_from_models(hub):
    task = load_task("telecom")
    heard = []
    first = resolve_model(task, MODEL, on_listing=heard.append)
    assert first.path == relative(local_copy(MODEL)) and len(heard) == 1 and heard[0].total_bytes == 4096 + len(FILES["config.json"])
    assert first.provenance["model"] == MODEL and first.provenance["model_hub"] == "modelscope"
    assert first.provenance["model_revision"] == "master" and len(first.provenance["model_files_sha256"]) == 64
    downloads = len(hub.requests)
    again = resolve_model(task, MODEL, download=False)
    assert again == first and len(hub.requests) == downloads  # no second download, no network needed


def test_a_recipe_names_a_missing_model_without_fetching_it(hub):
    choice = planned_model(load_task("telecom"), MODEL)
    assert choice.path == MODEL and hub.requests == [] and not models_dir().exists()


def test_an_adapter_over_a_hub_id_gets_its_base_fetched_and_then_loads_it_locally(hub, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": MODEL}), encoding="utf-8")
    assert weights_or_id(MODEL) == MODEL  # not there yet: LLaMA-Factory would go to a hub itself
    with pytest.raises(DomaintuneError, match=f"model {MODEL} is not in .* and --no-download refuses to fetch it from ModelScope"):
        resolve_base(adapter, download=False)
    resolve_base(adapter)
    assert weights_or_id(MODEL) == relative(local_copy(MODEL))
