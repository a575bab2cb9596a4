"""Options several commands share, resolved once into typed objects (a Task, a GpuTier, a ModelChoice)."""

import functools

import click
import yaml

from pipelines.core.gpus import get_tier
from pipelines.core.tasks import load_task

AUTO = "auto"
PORT = click.IntRange(1, 65535)  # the type of every --port


def _task(ctx, param, value):
    return load_task(value) if value is not None else None


def _tier(ctx, param, value):
    if value != AUTO:
        return get_tier(value) if value is not None else None
    from pipelines.planning.doctor import auto_tier

    tier = auto_tier()
    click.echo(f"--gpu auto: {tier.detected}", err=True)
    return tier


def task_option(**kwargs):
    kwargs.setdefault("required", True)
    return click.option("--task", "-t", callback=_task, help="Task name (a file in recipes/tasks/).", **kwargs)


def gpu_option(**kwargs):
    kwargs.setdefault("required", True)
    help_text = f"GPU tier from recipes/gpus.yaml, or '{AUTO}': this machine's, as `domaintune doctor` finds it (cpu without CUDA)."
    return click.option("--gpu", "-g", "tier", callback=_tier, help=help_text, **kwargs)


def parse_overrides(ctx, param, values) -> dict:
    """`KEY=VALUE` items as {KEY: value}, each value read as YAML; a malformed item is a usage error."""
    overrides = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param=param)
        try:
            parsed = yaml.safe_load(value)  # so 10 is an int and true a bool, as in a recipe ...
        except yaml.YAMLError as exc:
            reason = getattr(exc, "problem", None) or type(exc).__name__
            raise click.BadParameter(f"{item!r}: {value!r} is not a YAML value ({reason}); quote it to pass text", param=param) from None
        # ... but YAML 1.1 reads `no`/`off` as false, and `save_strategy=no` means the string.
        overrides[key.strip()] = value if isinstance(parsed, bool) and value.lower() not in ("true", "false") else parsed
    return overrides


def checked_overrides(ctx, param, values) -> dict:
    """`--set` items parsed and checked against LLaMA-Factory's own argument classes before anything starts: a key
    that places the run's files, an unknown key (named with the nearest known ones), a wrong type or range."""
    overrides = parse_overrides(ctx, param, values)
    if not overrides:
        return overrides
    from pipelines.planning.validate import override_problems

    checked, problems = override_problems(overrides)
    if problems:
        raise click.BadParameter("; ".join(problems), param=param)
    return checked


def set_option(example: str):
    return click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE", callback=checked_overrides,
        help=f"Override a LLaMA-Factory argument (repeatable), e.g. --set {example}; checked before anything starts. "
        "Keys that place the run's files (output_dir, dataset_dir, deepspeed, ...) are refused.",
    )


def note_departure(departure: str) -> None:
    """A recipe's departure from the task's settings, said on the terminal and not only in the YAML header."""
    click.echo(f"Note: {departure}", err=True)


def reads_datasets(command):
    """For a command that reads dataset_info/: first undo a dataset switch a killed `data` left half done
    (pipelines/data/publish.py), under the dataset_info lock, and say so."""

    @functools.wraps(command)
    def recovered_first(*args, **kwargs):
        from pipelines.core.paths import dataset_dir
        from pipelines.data.publish import recover_interrupted

        for line in recover_interrupted(dataset_dir()):
            click.echo(f"Note: {line}", err=True)
        return command(*args, **kwargs)

    return recovered_first


def verbose_option():
    return click.option(
        "--verbose", "-v", is_flag=True,
        help="Stream LLaMA-Factory's whole output instead of the progress line (it is saved to the run's log either way).",
    )
