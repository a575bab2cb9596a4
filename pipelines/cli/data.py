"""`domaintune data`, `preview` and `formats`: raw inputs -> registered datasets, how the model sees them, which inputs are accepted."""

from pathlib import Path

import click

from pipelines.cli.options import reads_datasets
from pipelines.core.errors import DomaintuneError
from pipelines.core.tasks import load_task, task_names


@click.command("data")
@click.option("--task", "-t", "tasks", multiple=True, help="Task(s) to build; default: every task.")
@click.option("--input", "inputs", multiple=True, type=click.Path(path_type=Path), help="Raw file(s) replacing the task's own.")
@click.option("--skip-invalid", is_flag=True, help="Skip bad records and report counts instead of stopping.")
def data_cmd(tasks, inputs, skip_invalid):
    """Convert raw inputs into datasets registered in dataset_info/dataset_info.json.

    With several tasks (default: all), a failing task is reported and the others are still built.

    Example: domaintune data --task telecom --input my_qa.json --skip-invalid
    """
    from pipelines.data.build import build_task, build_tasks

    if inputs and len(tasks) != 1:
        raise DomaintuneError("--input replaces one task's raw files: give exactly one --task with it")
    if len(tasks) == 1:
        for line in build_task(load_task(tasks[0]), list(inputs) or None, skip_invalid).lines():
            click.echo(line)
        return
    names = list(tasks) or task_names()
    failed = build_tasks(names, skip_invalid, click.echo)
    if failed:
        raise DomaintuneError(f"{len(failed)} of {len(names)} task(s) failed: {', '.join(failed)} (each reported above)")


@click.command("preview")
@click.option("--dataset", required=True, help="Registered dataset, e.g. telecom_train.")
@click.option("-n", default=3, show_default=True, type=click.IntRange(min=1), help="How many samples.")
@reads_datasets
def preview_cmd(dataset, n):
    """Show samples as the model sees them, trained (label) tokens between ⟪ ⟫ in green.

    Example: domaintune preview --dataset telecom_train -n 2
    """
    from rich.console import Console
    from rich.text import Text

    from pipelines.data.preview import LABEL_CLOSE, LABEL_OPEN, preview

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


@click.command("formats")
def formats_cmd():
    """List every accepted input format (source.converter in a task YAML) with a one-record example.

    Example: domaintune formats
    """
    from pipelines.data.formats import input_formats

    for fmt in input_formats():
        click.echo(f"{fmt.name}: {fmt.summary}")
        click.echo(f"  options: {', '.join(fmt.options) or '(none)'}")
        click.echo(f"  example: {fmt.example or '(none declared; see the converter module)'}")


COMMANDS = (data_cmd, preview_cmd, formats_cmd)
