"""The `domaintune` command line: each command parses its options and calls one library function."""

from pathlib import Path

import click

from .errors import DomaintuneError
from .tasks import load_task, task_names


class Group(click.Group):
    """Turns user errors into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DomaintuneError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """domaintune: raw domain data -> LLaMA-Factory datasets -> LoRA adapter -> evaluated report."""


def task_option(**kwargs):
    return click.option("--task", "-t", required=True, help="Task name (a file in recipes/tasks/).", **kwargs)


def parse_overrides(ctx, param, values) -> dict:
    import yaml

    overrides = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param=param)
        parsed = yaml.safe_load(value)  # so 10 is an int and true a bool, as in a recipe ...
        # ... but YAML 1.1 reads `no`/`off` as false, and `save_strategy=no` means the string.
        overrides[key.strip()] = value if isinstance(parsed, bool) and value.lower() not in ("true", "false") else parsed
    return overrides


def set_option(example: str):
    return click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE", callback=parse_overrides,
        help=f"Override a LLaMA-Factory argument (repeatable), e.g. --set {example}.",
    )


@cli.command("tiny-model")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Directory to write.")
@click.option("--family", type=click.Choice(["qwen3", "qwen2"]), default="qwen3", show_default=True)
def tiny_model_cmd(out_dir, family):
    """Build a tiny random-weight Qwen model with the real Qwen3 tokenizer.

    Example: domaintune tiny-model -o models/tiny-qwen3 --family qwen3
    """
    from .tiny_model import build_tiny_model

    click.echo(build_tiny_model(out_dir, family))


@cli.command("data")
@click.option("--task", "-t", "tasks", multiple=True, help="Task(s) to build; default: every task.")
@click.option("--input", "inputs", multiple=True, type=click.Path(path_type=Path), help="Raw file(s) replacing the task's own.")
@click.option("--skip-invalid", is_flag=True, help="Skip bad records and report counts instead of stopping.")
def data_cmd(tasks, inputs, skip_invalid):
    """Convert raw inputs into datasets registered in dataset_info/dataset_info.json.

    Example: domaintune data --task telecom --input my_qa.json --skip-invalid
    """
    from .build import build_task

    if inputs and len(tasks) != 1:
        raise DomaintuneError("--input replaces one task's raw files: give exactly one --task with it")
    for name in tasks or task_names():
        for line in build_task(load_task(name), list(inputs) or None, skip_invalid).lines():
            click.echo(line)


@cli.command("preview")
@click.option("--dataset", required=True, help="Registered dataset, e.g. telecom_train.")
@click.option("-n", default=3, show_default=True, help="How many samples.")
def preview_cmd(dataset, n):
    """Show samples as the model sees them, trained (label) tokens between ⟪ ⟫ in green.

    Example: domaintune preview --dataset telecom_train -n 2
    """
    from rich.console import Console
    from rich.text import Text

    from .preview import LABEL_CLOSE, LABEL_OPEN, preview

    matches = [t for t in task_names() if dataset.startswith(f"{t}_")]
    if not matches:
        raise DomaintuneError(f"dataset {dataset!r} belongs to no task; datasets are named <task>_<split>")
    task = load_task(max(matches, key=len))
    console = Console(highlight=False)
    for i, sample in enumerate(preview(task, dataset, n)):
        console.rule(f"{dataset} #{i}: {sample.prompt_tokens} prompt + {sample.label_tokens} label tokens (cutoff {sample.cutoff_len})")
        text = Text()
        for segment, is_label in sample.segments:
            text.append(f"{LABEL_OPEN}{segment}{LABEL_CLOSE}" if is_label else segment, style="bold green" if is_label else "dim")
        console.print(text)
        if sample.truncated:
            console.print(f"[bold red]truncated: longer than cutoff_len {sample.cutoff_len}[/]")


@cli.command("recipe")
@task_option()
@click.option("--gpu", "-g", required=True, help="GPU tier from recipes/gpus.yaml.")
@click.option("--model", "-m", help="Model id, local path, or 'tiny'; default: the task's base model.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write; default recipes/generated/<task>-<gpu>.yaml.")
def recipe_cmd(task, gpu, model, output):
    """Write the LLaMA-Factory training YAML for a task on a GPU tier.

    Example: domaintune recipe --task telecom --gpu 4090
    """
    from .paths import RUNS_DIR
    from .recipe import recipe_path, training_recipe

    t = load_task(task)
    recipe = training_recipe(t, gpu, model, output_dir=RUNS_DIR / f"{task}-{gpu}" / "adapter")
    click.echo(recipe.write(output or recipe_path(t, gpu)))


@cli.command("train")
@task_option()
@click.option("--gpu", "-g", required=True, help="GPU tier from recipes/gpus.yaml.")
@click.option("--model", "-m", help="Model id, local path, or 'tiny' (the embedded tiny model).")
@click.option("--ray", is_flag=True, help="Launch through LLaMA-Factory's Ray path instead of torchrun.")
@set_option("max_steps=10")
def train_cmd(task, gpu, model, ray, overrides):
    """Train a LoRA adapter with llamafactory-cli in a new runs/<task>-<gpu>-<time>/ folder.

    Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT on each node.
    Example: domaintune train --task telecom --gpu 4090
    """
    from .train import train

    run_dir = train(load_task(task), gpu, model, ray, overrides)
    click.echo(f"adapter: {run_dir / 'adapter'}")


@cli.command("predict")
@task_option()
@click.option("--adapter", type=click.Path(path_type=Path, file_okay=False), help="Adapter dir; default: the task's latest run.")
@click.option("--base-only", is_flag=True, help="Only the base model (a baseline before training).")
@click.option("--skip-base", is_flag=True, help="Only the adapter, not the base model.")
@click.option("--model", "-m", help="Base model for --base-only without an adapter ('tiny' allowed).")
@set_option("max_new_tokens=32")
def predict_cmd(task, adapter, base_only, skip_base, model, overrides):
    """Generate validation predictions with LLaMA-Factory for the adapter and the base model.

    Example: domaintune predict --task telecom --adapter runs/telecom-4090-20250101-120000/adapter
    """
    from .predict import predict
    from .train import latest_run

    t = load_task(task)
    if adapter is None and not (base_only and model):
        run = latest_run(t)
        if run is None:
            raise DomaintuneError(f"no trained run of {task} under runs/; train first or pass --adapter")
        adapter = run / "adapter"
    variants = ("base",) if base_only else ("adapter",) if skip_base else ("adapter", "base")
    for variant, path in predict(t, adapter, variants, model, overrides).items():
        click.echo(f"{variant}: {path}")


@cli.command("eval")
@task_option()
@click.option("--predictions", type=click.Path(path_type=Path, dir_okay=False), help="generated_predictions.jsonl; default: the latest run's.")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Report directory; default <run>/eval.")
def eval_cmd(task, predictions, output):
    """Score predictions and write metrics.json, report.md and plots.

    Example: domaintune eval --task telecom --predictions runs/<run>/predict/adapter/generated_predictions.jsonl
    """
    from evaluators.report import evaluate

    from .predict import PREDICTIONS_FILE, VARIANTS, predict_dir
    from .train import latest_run

    t = load_task(task)
    if predictions is None:
        run = latest_run(t)
        candidates = [predict_dir(run, v) / PREDICTIONS_FILE for v in VARIANTS] if run else []
        predictions = next((p for p in candidates if p.exists()), None)
        if predictions is None:
            raise DomaintuneError(f"no predictions of {task} found; run `domaintune predict --task {task}` first")
    click.echo(f"report: {evaluate(t, predictions, output)}")


@cli.command("export")
@click.option("--adapter", required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, file_okay=False))
def export_cmd(adapter, output):
    """Merge a LoRA adapter into its base model with llamafactory-cli export.

    Example: domaintune export --adapter runs/<run>/adapter -o exports/telecom
    """
    from .export import export

    click.echo(export(adapter, output))


@cli.command("download")
@click.option("--model", "-m", required=True, help="ModelScope id, e.g. Qwen/Qwen2.5-1.5B-Instruct.")
def download_cmd(model):
    """Download a model from ModelScope into models/<id>.

    Example: domaintune download --model Qwen/Qwen2.5-1.5B-Instruct
    """
    from .models import download

    click.echo(download(model))


@cli.command("demo")
@click.option("--task", "-t", default="telecom", show_default=True, help="Task to run end to end.")
def demo_cmd(task):
    """Data, training, prediction and evaluation on the tiny model and the CPU, in one go.

    Example: domaintune demo --task telecom
    """
    from .demo import demo

    result = demo(load_task(task), echo=click.echo)
    click.echo(f"demo finished in {sum(result.seconds.values()):.0f} s ({result.seconds})")
    click.echo(f"report: {result.report}")


@cli.command("webui")
@click.option("--port", default=7860, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Use 0.0.0.0 to serve other machines.")
def webui_cmd(port, host):
    """LLaMA-Factory's web UI, with dataset_info/ as its data directory.

    Example: domaintune webui --port 7860
    """
    from .webui import webui

    raise SystemExit(webui(port, host))


def _register_task_commands() -> None:
    # Commands that live beside the library code they wrap; the group stays one list of names.
    from .behavior_cli import dispatch, gen_logs
    from .plan_cli import estimate, recipes, validate

    for command in (gen_logs, dispatch, estimate, recipes, validate):
        cli.add_command(command)


_register_task_commands()


def main():
    cli()
