"""The `domaintune` command line: each command parses its options and calls one library function.

Commands live in one small module per group (data, models, plan, run, demo, behavior); this module wires them.
"""

import click

from pipelines.cli import behavior, data, demo, models, plan, run
from pipelines.core.errors import DomaintuneError

COMMAND_MODULES = (data, models, plan, run, demo, behavior)


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


for module in COMMAND_MODULES:
    for command in module.COMMANDS:
        cli.add_command(command)


def main():
    cli()
