"""`domaintune gen-trajectories`: a thin wrapper over the trajectory task's day generator."""

from pathlib import Path

import click

from pipelines.core.paths import relative
from pipelines.trajectory.generate import SAMPLE_DAYS, SAMPLE_SET, write_days


@click.command("gen-trajectories")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Alpaca JSON file to write.")
@click.option("--days", type=click.IntRange(min=1), default=SAMPLE_DAYS, show_default=True, help="Days to generate; the personas take turns.")
@click.option("--seed", default=0, show_default=True, help="Same seed, same days.")
@click.option("--sample-set", is_flag=True, help=f"Rewrite the task's committed default input, {relative(SAMPLE_SET)}.")
def gen_trajectories(output, days, seed, sample_set):
    """Generate sample working days in Lujiazui (five personas, real places) for the trajectory task, deterministically.

    Example: domaintune gen-trajectories -o /tmp/days.json --days 1000 --seed 1
    """
    if sample_set == bool(output):
        raise click.UsageError("give either -o FILE or --sample-set")
    if sample_set and (days != SAMPLE_DAYS or seed != 0):
        raise click.UsageError("--sample-set writes the fixed default set; it takes no --days or --seed")
    path = SAMPLE_SET if sample_set else output
    click.echo(f"{relative(path)}: {write_days(path, days, seed)} days")


COMMANDS = (gen_trajectories,)
