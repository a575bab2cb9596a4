"""`domaintune predict`: LLaMA-Factory's do_predict + predict_with_generate for the adapter and the base model.

Each variant gets `<run>/predict/<variant>/generated_predictions.jsonl` plus `segments.json`, which says
which rows came from which dataset (validation first, then the task's fixed scenario prompts).
"""

import json
from datetime import datetime
from pathlib import Path

from .atomic import write_json
from .dataset_info import dataset_file, load_dataset_info
from .errors import DomaintuneError
from .launch import run_llamafactory
from .models import resolve_model
from .paths import RUNS_DIR
from .recipe import predict_recipe
from .tasks import Task

VARIANTS = ("adapter", "base")
PREDICTIONS_FILE = "generated_predictions.jsonl"  # LLaMA-Factory's name for its predict output
SEGMENTS_FILE = "segments.json"


def predict_dir(run_dir: Path, variant: str) -> Path:
    return Path(run_dir) / "predict" / variant


def base_model_of(adapter: Path) -> str:
    config = Path(adapter) / "adapter_config.json"
    if not config.exists():
        raise DomaintuneError(f"{adapter} is not a LoRA adapter directory (no adapter_config.json)")
    return json.loads(config.read_text(encoding="utf-8"))["base_model_name_or_path"]


def segments(task: Task, max_samples: int | None = None) -> list[dict]:
    """Which rows of the predictions come from which dataset, in the order LLaMA-Factory concatenates them.

    `max_samples` mirrors LLaMA-Factory's own truncation: the first N records of each dataset.
    """
    splits = ["val"] + (["scenarios"] if task.dataset_name("scenarios") in load_dataset_info() else [])
    out = []
    for split in splits:
        name = task.dataset_name(split)
        n = len(json.loads(dataset_file(name).read_text(encoding="utf-8")))
        out.append({"split": split, "dataset": name, "n": n if max_samples is None else min(n, max_samples)})
    return out


def predict(
    task: Task,
    adapter: Path | None,
    variants: tuple[str, ...] = VARIANTS,
    model: str | None = None,
    overrides: dict | None = None,
    quiet: bool = False,
) -> dict[str, Path]:
    """Generate predictions for each variant; returns variant -> generated_predictions.jsonl."""
    if "adapter" in variants and adapter is None:
        raise DomaintuneError("predicting with the adapter needs --adapter DIR (or use --base-only)")
    base = base_model_of(adapter) if adapter is not None else resolve_model(task, model)
    run_dir = Path(adapter).parent if adapter is not None else RUNS_DIR / f"{task.name}-base-{datetime.now():%Y%m%d-%H%M%S}"
    parts = segments(task, (overrides or {}).get("max_samples"))
    outputs = {}
    for variant in variants:
        out_dir = predict_dir(run_dir, variant)
        recipe = predict_recipe(task, base, adapter if variant == "adapter" else None, out_dir, [s["dataset"] for s in parts])
        recipe.override(overrides)
        config = recipe.write(run_dir / f"predict-{variant}.yaml")
        run_llamafactory("train", config, out_dir / "predict.log", quiet=quiet)
        write_json(out_dir / SEGMENTS_FILE, parts)
        outputs[variant] = out_dir / PREDICTIONS_FILE
    return outputs
