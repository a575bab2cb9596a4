"""Options several commands share, resolved once into typed objects (a Task, a GpuTier, a ModelChoice)."""

import click
import yaml

from pipelines.core.gpus import get_tier
from pipelines.core.tasks import load_task

AUTO = "auto"


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


def note_departure(departure: str) -> None:
    """A recipe's departure from the task's settings, said on the terminal and not only in the YAML header."""
    click.echo(f"Note: {departure}", err=True)


def verbose_option():
    return click.option(
        "--verbose", "-v", is_flag=True,
        help="Stream LLaMA-Factory's whole output instead of the progress line (it is saved to the run's log either way).",
    )
