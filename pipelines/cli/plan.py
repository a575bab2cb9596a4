"""`domaintune recipe`, `estimate`, `recipes` and `validate`: planning and recipe checks, one library call each."""

import json
from pathlib import Path

import click

from pipelines.cli.options import gpu_option, note_departure, task_option
from pipelines.core.errors import DomaintuneError
from pipelines.planning.estimate import (
    DEFAULT_OPTIM,
    METHOD_BITS,
    OPTIMS,
    PUBLISHED_TABLE_SETTINGS,
)


@click.command("recipe")
@task_option()
@gpu_option()
@click.option("--model", "-m", help="Model id, local path, or 'tiny'; default: the task's base model.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write; default recipes/generated/<task>-<gpu>.yaml.")
def recipe_cmd(task, tier, model, output):
    """Write the LLaMA-Factory training YAML for a task on a GPU tier, and say how long training is expected to take.

    Nothing is downloaded: a model not in models/ yet is planned from its shape in recipes/architectures.yaml.
    Example: domaintune recipe --task telecom --gpu 4090
    """
    from pipelines.core.layout import RunLayout
    from pipelines.core.models import planned_model
    from pipelines.core.paths import runs_dir
    from pipelines.planning.recipe import recipe_path, training_recipe

    run = RunLayout(runs_dir() / f"{task.name}-{tier.name}")
    recipe = training_recipe(task, tier, planned_model(task, model), output_dir=run.adapter)
    for departure in recipe.departures:
        note_departure(departure)
    for line in recipe.training_time.lines():
        click.echo(line, err=True)
    click.echo(recipe.write(output or recipe_path(task, tier)))


@click.command("estimate")
@click.option("--model", "-m", help="Model id from recipes/architectures.yaml or a directory with config.json.")
@click.option("--params", help="Parameter count of a Qwen2.5-shaped model, e.g. 7B or 500M.")
@click.option("--method", required=True, type=click.Choice(list(METHOD_BITS)))
@click.option("--bits", required=True, type=click.Choice(["32", "16", "8", "4"]), help="Weight bits: full/lora 32 or 16, qlora 8 or 4.")
@click.option("--cutoff", default=PUBLISHED_TABLE_SETTINGS["seq_len"], show_default=True, type=click.IntRange(min=1), help="Tokens per row of a micro-batch (padded).")
@click.option("--batch", default=PUBLISHED_TABLE_SETTINGS["batch"], show_default=True, type=click.IntRange(min=1), help="Per-device batch size.")
@click.option("--lora-rank", default=PUBLISHED_TABLE_SETTINGS["lora_rank"], show_default=True, type=click.IntRange(min=1))
@click.option("--no-checkpointing", is_flag=True, help="Estimate without gradient checkpointing.")
@click.option("--optim", default=DEFAULT_OPTIM, show_default=True, type=click.Choice(OPTIMS), help="LLaMA-Factory's AdamW, or bitsandbytes' paged 8-bit AdamW.")
@click.option("--gpu", "-g", help="GPU tier from recipes/gpus.yaml: also say whether the estimate fits it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the breakdown.")
def estimate(model, params, method, bits, cutoff, batch, lora_rank, no_checkpointing, optim, gpu, as_json):
    """Estimate peak training memory per device, part by part.

    Defaults are the settings of LLaMA-Factory's hardware table (512 tokens, batch 1, checkpointing on).

    Example: domaintune estimate --model Qwen/Qwen3-0.6B --method lora --bits 16 --cutoff 1024 --gpu 3080-laptop
    """
    from pipelines.core.gpus import get_tier
    from pipelines.planning.architectures import resolve_architecture
    from pipelines.planning.estimate import estimate_memory
    from pipelines.planning.plan import HEADROOM, usable_gb

    if (model is None) == (params is None):
        raise click.UsageError("give exactly one of --model and --params")
    est = estimate_memory(
        resolve_architecture(model or params),
        method,
        int(bits),
        seq_len=cutoff,
        batch=batch,
        gradient_checkpointing=not no_checkpointing,
        lora_rank=lora_rank,
        optim=optim,
    )
    tier = get_tier(gpu) if gpu else None
    fits = tier is not None and est.peak_gb <= usable_gb(tier)
    if as_json:
        verdict = {"gpu": tier.name, "usable_gb": usable_gb(tier), "fits": fits} if tier else {}
        click.echo(json.dumps({**est.to_dict(), **verdict}))
        return
    click.echo(est.format_breakdown())
    if tier:
        click.echo(
            f"{'fits' if fits else 'does not fit'} {tier.name}: {est.peak_gb:.1f} GB of {usable_gb(tier):.1f} GB "
            f"usable ({tier.memory_gb:g} GB less {HEADROOM:.0%} headroom)"
        )


@click.command("recipes")
@click.option("--write/--no-write", default=True, show_default=True, help="Also write recipes/README.md.")
def recipes(write):
    """Show the recipe chosen for every task on every GPU tier (and write recipes/README.md).

    Example: domaintune recipes --no-write
    """
    from rich.console import Console
    from rich.table import Table

    from pipelines.core.paths import relative
    from pipelines.planning.recipe_table import COLUMNS, recipe_rows, write_readme

    rows = recipe_rows()
    table = Table(*(column.title for column in COLUMNS))
    for row in rows:
        table.add_row(*(column.cell(row) for column in COLUMNS))
    console = Console()
    if not console.is_terminal:
        console.width = 200  # piped or captured: no terminal to fit, so keep every cell whole
    console.print(table)
    if write:
        click.echo(f"wrote {relative(write_readme(rows))}")


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
def validate(files):
    """Check recipe YAML files with LLaMA-Factory's own argument parser, without loading a model.

    Every problem is printed; device checks this machine cannot do (bf16 without CUDA, ...) are listed.
    Example: domaintune validate recipes/generated/telecom-4090.yaml
    """
    from pipelines.planning.validate import validate_recipe

    results = [validate_recipe(path) for path in files]
    for result in results:
        for line in result.lines():
            click.echo(line)
    failed = [str(result.path) for result in results if not result.ok]
    if failed:
        raise DomaintuneError(f"not a valid LLaMA-Factory recipe: {', '.join(failed)}")


COMMANDS = (recipe_cmd, estimate, recipes, validate)
