"""`domaintune compare`: two or more runs' metrics, settings and loss curves side by side."""

from datetime import datetime
from pathlib import Path

import click

from pipelines.core.paths import runs_dir


@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Folder for compare.md/.html; default runs/compare-<time>/.")
def compare_cmd(runs, output):
    """Print the runs' metrics and settings as Markdown (differing settings marked ≠) and write an HTML page.

    Example: domaintune compare runs/telecom-cpu-20250101-120000 runs/telecom-4090-20250102-090000
    """
    from evaluators.reporting.compare import compare

    result = compare(list(runs), output or runs_dir() / f"compare-{datetime.now():%Y%m%d-%H%M%S}")
    click.echo(result.markdown)
    click.echo(f"html: {result.html}")


COMMANDS = (compare_cmd,)
