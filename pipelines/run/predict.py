"""`domaintune predict`: LLaMA-Factory's do_predict + predict_with_generate for the adapter and the base model.

Each variant gets `<run>/predict/<variant>/generated_predictions.jsonl` plus `segments.json`, which says
which rows came from which dataset (validation first, then the task's fixed scenario prompts). A task with
`predict.samples_per_prompt: k` gets k sampled passes over the validation set, one after the other.
"""

import json
from pathlib import Path

import yaml

from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import VARIANTS, RunLayout
from pipelines.core.models import resolve_model, trained_weights
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import dataset_file, load_dataset_info, register
from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.recipe import ChatFormat, chat_format, predict_recipe
from pipelines.run.launch import run_llamafactory


def segments(task: Task, max_samples: int | None = None) -> list[dict]:
    """Which rows of the predictions come from which dataset, in the order LLaMA-Factory concatenates them.

    `max_samples` mirrors LLaMA-Factory's own truncation: the first N records of each dataset. `passes` is how
    often the dataset is read (samples_per_prompt for validation, once for scenarios); `n` counts every pass.
    """
    splits = ["val"] + (["scenarios"] if task.dataset_name("scenarios") in load_dataset_info() else [])
    out = []
    for split in splits:
        name = task.dataset_name(split)
        n = len(json.loads(dataset_file(name).read_text(encoding="utf-8")))
        passes = task.config["predict"].get("samples_per_prompt", 1) if split == "val" else 1
        out.append({"split": split, "dataset": name, "n": passes * (n if max_samples is None else min(n, max_samples)), "passes": passes})
    return out


def pass_datasets(parts: list[dict]) -> list[str]:
    """The eval_dataset names, one per pass. LLaMA-Factory loads a name once, so passes 2..k read the same file
    under alias entries (`<dataset>__pass<i>`) registered here beside the dataset's own entry."""
    info = load_dataset_info()
    names = []
    for part in parts:
        aliases = [f"{part['dataset']}__pass{i}" for i in range(2, part["passes"] + 1)]
        if aliases:
            register({alias: info[part["dataset"]] for alias in aliases})
        names += [part["dataset"], *aliases]
    return names


def chat_of(task: Task, run: RunLayout, model_path: str) -> ChatFormat:
    """Predict with the template and thinking the run trained with, or, without training, the model's own."""
    if run.train_recipe.exists():
        recipe = yaml.safe_load(run.train_recipe.read_text(encoding="utf-8")) or {}
        if "template" in recipe:
            return ChatFormat(recipe["template"], bool(recipe.get("enable_thinking", False)))
    return chat_format(task, resolve_architecture(model_path))


def predict(
    task: Task,
    adapter: Path | None,
    variants: tuple[str, ...] = VARIANTS,
    model: str | None = None,
    overrides: dict | None = None,
    quiet: bool = False,
    verbose: bool = False,
) -> dict[str, Path]:
    """Generate predictions for each variant; returns variant -> generated_predictions.jsonl. Progress is shown per
    variant; `verbose` streams LLaMA-Factory's output instead, `quiet` shows neither."""
    if "adapter" in variants and adapter is None:
        raise DomaintuneError("predicting with the adapter needs --adapter DIR (or use --base-only)")
    trained = trained_weights(adapter) if adapter is not None else None
    base = trained.base if trained else resolve_model(task, model).path
    run = RunLayout(Path(adapter).parent) if adapter is not None else RunLayout.new(task.name, "base")
    chat = chat_of(task, run, base)
    parts = segments(task, (overrides or {}).get("max_samples"))
    datasets = pass_datasets(parts)
    outputs = {}
    for variant in variants:
        model_path, adapter_path = (trained.model, trained.adapter) if variant == "adapter" else (base, None)
        recipe = predict_recipe(task, model_path, chat, adapter_path, run.predict_dir(variant), datasets)
        recipe.override(overrides)
        config = recipe.write(run.predict_recipe(variant))
        run_llamafactory("train", config, run.predict_log(variant), quiet=quiet, verbose=verbose, title=f"predict {variant}")
        write_json(run.segments(variant), parts)
        outputs[variant] = run.predictions(variant)
    return outputs
