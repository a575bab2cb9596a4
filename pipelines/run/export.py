"""`domaintune export`: LLaMA-Factory's own merge of a LoRA adapter into its base model."""

from pathlib import Path

import yaml

from pipelines.core.atomic import write_text
from pipelines.core.layout import RunLayout
from pipelines.core.models import base_model_of
from pipelines.core.paths import relative
from pipelines.run.launch import run_llamafactory


def template_of(adapter: Path) -> str | None:
    """The template the adapter was trained with, from its run's train.yaml when there is one."""
    recipe = RunLayout(Path(adapter).parent).train_recipe
    return yaml.safe_load(recipe.read_text(encoding="utf-8")).get("template") if recipe.exists() else None


def export(adapter: Path, out_dir: Path, verbose: bool = False) -> Path:
    config = {
        "model_name_or_path": base_model_of(adapter),
        "adapter_name_or_path": relative(adapter),
        "finetuning_type": "lora",
        "export_dir": relative(out_dir),
        "export_size": 5,
        "export_legacy_format": False,
    }
    if template_of(adapter):
        config["template"] = template_of(adapter)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "export.yaml"
    write_text(config_path, yaml.safe_dump(config, sort_keys=False))
    run_llamafactory("export", config_path, out_dir / "export.log", verbose=verbose)
    return out_dir
