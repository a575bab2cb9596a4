"""`domaintune compare`: two or more runs' metrics, settings and loss curves side by side."""

from datetime import datetime
from pathlib import Path

import click

from pipelines.core.paths import runs_dir
from pipelines.core.progress import step


@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Folder for compare.md/.html; default runs/compare-<time>/.")
def compare_cmd(runs, output):
    """Print the runs' metrics and settings (differing settings marked ≠; Markdown when piped) and write an HTML page.

    Example: domaintune compare runs/telecom-cpu-20250101-120000 runs/telecom-4090-20250102-090000
    """
    from evaluators.reporting.compare import compare
    from evaluators.reporting.whole_tables import console, print_table

    with step(f"comparing {len(runs)} runs") as done:
        result = compare(list(runs), output or runs_dir() / f"compare-{datetime.now():%Y%m%d-%H%M%S}")
        done.detail = f"{len(result.differing)} settings differ"
    out = console()
    for title, header, rows in result.tables:
        if rows:
            print_table(out, header, rows, title)
        else:
            click.echo(f"{title}: none, as no run has been evaluated (`domaintune eval`)")
    if result.loss_png:
        click.echo(f"loss curves: {result.loss_png}")
    click.echo(f"html: {result.html}")


COMMANDS = (compare_cmd,)
