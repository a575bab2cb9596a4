"""Which weights a command uses: the embedded tiny model, a local directory, or a hub model in models/<id>.

`resolve_model` is for the commands that load a model (train, predict, serve, export, dispatch): a hub model that
is not in models/ yet is downloaded there first (pipelines/core/download.py), or refused in one line before any
run folder exists. `planned_model` is for those that only plan (recipe): a hub id stays an id, nothing is fetched.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.core.download import check_model_id, is_complete, local_copy, read_record
from pipelines.core.download import download as fetch_model
from pipelines.core.errors import DomaintuneError
from pipelines.core.hubs import DEFAULT_HUB, HubUnavailable, Listing, get_hub
from pipelines.core.layout import RunLayout
from pipelines.core.paths import REPO_ROOT, models_dir, relative
from pipelines.core.tasks import Task
from pipelines.core.tiny_model import ensure_tiny_model

TINY = "tiny"


def family_of(template: str) -> str:
    # Qwen2.5 uses the `qwen` template; both Qwen3 templates go with the Qwen3 architecture.
    return "qwen2" if template == "qwen" else "qwen3"


@dataclass(frozen=True)
class ModelChoice:
    path: str  # what `model_name_or_path` gets: a local directory, or (planning only) a hub id
    requested: str | None = None  # what the user asked for (--model), None for the task's own base model
    provenance: dict = field(default_factory=dict)
    """What the weights are, for the run's versions.json: model, and where known model_hub, model_revision, ..."""


def hub_of(task: Task, hub: str | None) -> str:
    """--hub (or DOMAINTUNE_HUB), else the task's model.hub, else ModelScope."""
    return hub or task.model.get("hub") or DEFAULT_HUB


def planned_model(task: Task, model: str | None) -> ModelChoice:
    """The model as a recipe names it, without fetching: a local copy when there is one, else the hub id."""
    requested = model or task.model["base"]
    if requested == TINY or Path(requested).is_dir() or is_complete(local_copy(requested)):
        return resolve_model(task, model, download=False)
    return ModelChoice(requested, model, {"model": requested})


def resolve_model(
    task: Task,
    model: str | None,
    hub: str | None = None,
    download: bool = True,
    on_listing: Callable[[Listing], None] = lambda listing: None,
) -> ModelChoice:
    """The weights on this machine; `tiny` builds the embedded model of the task's family."""
    requested = model or task.model["base"]
    if requested == TINY:
        return ModelChoice(relative(ensure_tiny_model(family_of(task.model["template"]))), model, {"model": "tiny (random weights, built here)"})
    path = local_weights(requested, hub_of(task, hub), download, on_listing)
    return ModelChoice(path, model, provenance_of(REPO_ROOT / path, requested))  # `path` may be relative to the checkout


def local_weights(model: str, hub: str = DEFAULT_HUB, download: bool = True, on_listing: Callable[[Listing], None] = lambda listing: None) -> str:
    """A directory holding `model`: the model itself when it is one, its complete copy in models/, or a fresh download."""
    # Recipes and adapters name local models relative to the checkout, where LLaMA-Factory runs (paths.relative).
    for folder in (Path(model), REPO_ROOT / model):
        if folder.is_dir():
            return str(folder.resolve())
    if Path(model).is_absolute() or model.startswith("."):
        raise DomaintuneError(f"model directory {model} does not exist")
    copy = local_copy(check_model_id(model))
    if is_complete(copy):
        return relative(copy)
    label = get_hub(hub).label
    elsewhere = (
        f"on a machine that reaches it run `domaintune download --model {model}" + ("" if hub == DEFAULT_HUB else f" --hub {hub}")
        + f"` and copy {relative(copy)} here, or pass --model DIR (a local copy)"
    )
    if not download:
        raise DomaintuneError(f"model {model} is not in {relative(models_dir())}/ and --no-download refuses to fetch it from {label}; {elsewhere}")
    try:
        return relative(fetch_model(model, hub, on_listing))
    except HubUnavailable as exc:
        raise DomaintuneError(f"model {model} is not in {relative(models_dir())}/ and {exc}; {elsewhere}") from None


def provenance_of(folder: Path, requested: str) -> dict:
    """What a run records of its weights: the download record's hub, revision and files digest where there is one."""
    record = read_record(folder)
    if not record:
        return {"model": requested, "model_path": str(folder)}
    revision = record.get("revision", "")
    if record.get("commit"):
        revision += f" (commit {record['commit']})"
    return {
        "model": record.get("model_id", requested),
        "model_hub": record.get("hub", ""),
        "model_revision": revision,
        "model_files_sha256": record.get("files_sha256", ""),
        "model_downloaded": record.get("downloaded", ""),
    }


def resolve_base(adapter: Path, hub: str = DEFAULT_HUB, download: bool = True) -> str:
    """The adapter's base model on this machine (downloaded first when it is a hub id not in models/ yet)."""
    return local_weights(base_model_of(adapter), hub, download)


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
        base = weights_or_id(base_model_of(output_dir))
        return TrainedWeights(base, base, output_dir)
    recipe = RunLayout(output_dir.parent).train_recipe
    if (output_dir / "config.json").exists() and recipe.exists():
        base = (yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}).get("model_name_or_path")
        if base:
            return TrainedWeights(weights_or_id(base), str(output_dir), None)
    raise DomaintuneError(f"{output_dir} holds neither a LoRA adapter (adapter_config.json) nor fully trained weights (config.json beside {recipe.name})")


def weights_or_id(model: str) -> str:
    """The complete copy in models/ of a hub id an older run recorded, so LLaMA-Factory never goes to a hub itself."""
    if Path(model).is_dir() or Path(model).is_absolute() or model.startswith("."):
        return model
    copy = local_copy(model)
    return relative(copy) if is_complete(copy) else model


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
