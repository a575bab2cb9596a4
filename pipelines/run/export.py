"""`domaintune export`: LLaMA-Factory's own merge of a LoRA adapter into its base model."""

from pathlib import Path

import yaml

from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import RunLayout
from pipelines.core.models import base_model_of, weights_or_id
from pipelines.core.paths import relative
from pipelines.run.launch import run_llamafactory


def template_of(adapter: Path) -> str | None:
    """The template the adapter was trained with, from its run's train.yaml when there is one."""
    recipe = RunLayout(Path(adapter).parent).train_recipe
    return yaml.safe_load(recipe.read_text(encoding="utf-8")).get("template") if recipe.exists() else None


def check_output(adapter: Path, out_dir: Path, force: bool = False) -> None:
    """Refuse a folder the merged model must not be written into: the adapter's own or any run's adapter/ (the
    run would then hold a full model where its adapter was), or a non-empty folder unless `force`."""
    out, adapter = Path(out_dir).resolve(), Path(adapter).resolve()
    run = RunLayout.containing(out)
    for protected in (adapter, run.adapter.resolve() if run else None):
        if protected is not None and (out == protected or protected in out.parents):
            where = "is" if out == protected else "is inside"
            raise DomaintuneError(f"{out_dir}: {where} the adapter folder {relative(protected)}; export into a folder of its own, e.g. exports/<name>")
    if out.is_dir() and not force and (entries := sorted(p.name for p in out.iterdir())):
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise DomaintuneError(f"{out_dir}: not empty ({shown}); export into a new or empty folder, or pass --force to write over its files")


def export(adapter: Path, out_dir: Path, force: bool = False, verbose: bool = False) -> Path:
    """Merge `adapter` into its base model in `out_dir`, which must be new or empty unless `force`."""
    check_output(adapter, out_dir, force)
    config = {
        "model_name_or_path": weights_or_id(base_model_of(adapter)),
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
