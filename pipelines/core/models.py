"""Which weights a command uses: the embedded tiny model, a downloaded copy, or a hub id."""

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import RunLayout
from pipelines.core.paths import models_dir, relative
from pipelines.core.tasks import Task
from pipelines.core.tiny_model import ensure_tiny_model

TINY = "tiny"


def family_of(template: str) -> str:
    # Qwen2.5 uses the `qwen` template; both Qwen3 templates go with the Qwen3 architecture.
    return "qwen2" if template == "qwen" else "qwen3"


def local_copy(model_id: str) -> Path:
    return models_dir() / model_id


@dataclass(frozen=True)
class ModelChoice:
    path: str  # what `model_name_or_path` gets: a local directory or a hub id
    requested: str | None = None  # what the user asked for (--model), None for the task's own base model


def resolve_model(task: Task, model: str | None) -> ModelChoice:
    """The weights a command uses; `tiny` builds the embedded model of the task's family."""
    return ModelChoice(_model_path(task, model or task.model["base"]), model)


def _model_path(task: Task, model: str) -> str:
    if model == TINY:
        return relative(ensure_tiny_model(family_of(task.model["template"])))
    if Path(model).is_dir():
        return str(Path(model).resolve())
    if (local_copy(model) / "config.json").is_file():  # a complete download (an empty folder is not a model)
        return relative(local_copy(model))
    if Path(model).is_absolute() or model.startswith("."):
        raise DomaintuneError(f"model directory {model} does not exist")
    return model


def download(model_id: str) -> Path:
    """ModelScope snapshot into models/<id>; offline it fails with one line, not a traceback.

    The files go to a hidden folder beside the target first and are renamed into models/<id> only when the
    download is complete, so a failed or interrupted one never leaves a folder that looks like a model.
    """
    target = local_copy(model_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        _snapshot(model_id, partial)
        if target.exists():  # a previous complete copy: replaced only now that the new one is whole
            shutil.rmtree(target)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _snapshot(model_id: str, local_dir: Path) -> None:
    try:
        from modelscope import snapshot_download

        # ModelScope logs every retry as a warning; offline that is a screenful before the one line that matters.
        for name in list(logging.root.manager.loggerDict):
            if name.startswith("modelscope"):
                logging.getLogger(name).setLevel(logging.ERROR)

        snapshot_download(model_id, local_dir=str(local_dir))
    except Exception as exc:  # modelscope raises requests/HTTP/OS errors of many kinds when offline
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DomaintuneError(f"cannot download {model_id} from ModelScope ({type(exc).__name__}: {first_line[:200]})") from None


@dataclass(frozen=True)
class TrainedWeights:
    """What a run's output folder holds, as LLaMA-Factory loads it: a LoRA adapter over its base model, or the
    whole model after full fine-tuning (the folder is still called adapter/, RunLayout.adapter)."""

    base: str  # the model training started from
    model: str  # model_name_or_path of the trained result
    adapter: Path | None  # adapter_name_or_path; None for full fine-tuning


def trained_weights(output_dir: Path) -> TrainedWeights:
    output_dir = Path(output_dir)
    if (output_dir / "adapter_config.json").exists():
        base = base_model_of(output_dir)
        return TrainedWeights(base, base, output_dir)
    recipe = RunLayout(output_dir.parent).train_recipe
    if (output_dir / "config.json").exists() and recipe.exists():
        base = (yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}).get("model_name_or_path")
        if base:
            return TrainedWeights(base, str(output_dir), None)
    raise DomaintuneError(f"{output_dir} holds neither a LoRA adapter (adapter_config.json) nor fully trained weights (config.json beside {recipe.name})")


def base_model_of(adapter: Path) -> str:
    config = Path(adapter) / "adapter_config.json"
    if not config.exists():
        raise DomaintuneError(f"{adapter} is not a LoRA adapter directory (no adapter_config.json)")
    try:
        base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise DomaintuneError(f"{config}: not a readable adapter config ({type(exc).__name__}); train the adapter again") from None
    if not isinstance(base, str) or not base:
        raise DomaintuneError(f"{config}: base_model_name_or_path is missing, so the base model is unknown; add it (the model id or path the adapter was trained on)")
    return base
