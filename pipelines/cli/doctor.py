"""`domaintune doctor`: this machine against what a training run needs, and the GPU tier it matches."""

import json

import click


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the report.")
def doctor(as_json):
    """Report Python, torch and its CUDA, the driver, each GPU, kernel packages, free disk and the matching tier.

    Problems that would fail a training run come first, each with the command that fixes it; the exit status
    is 1 when there is one.
    Example: domaintune doctor --json
    """
    from pipelines.planning.doctor import diagnose

    diagnosis = diagnose()
    if as_json:
        click.echo(json.dumps(diagnosis.to_dict(), indent=2))
    else:
        for line in diagnosis.lines():
            click.echo(line)
    if not diagnosis.ok:
        raise SystemExit(1)


COMMANDS = (doctor,)
