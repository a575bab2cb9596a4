"""The `domaintune` command line: each command parses its options and calls one library function.

Commands live in one small module per group (data, models, plan, run, demo, behavior, restaurant, agent_data, trajectory); this module wires them.
"""

import signal
import traceback

import click

from pipelines.cli import (
    agent_data,
    behavior,
    compare,
    data,
    demo,
    doctor,
    models,
    plan,
    restaurant,
    run,
    trajectory,
)
from pipelines.core.atomic import DISK_FULL, disk_full
from pipelines.core.errors import DomaintuneError, Interrupted

COMMAND_MODULES = (data, models, plan, run, compare, demo, behavior, restaurant, agent_data, trajectory, doctor)


# Exit codes (README "Exit codes"): 1 data or user error, 2 usage error (click's own), 3 a bug,
# 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM), as a shell reports it.
USER_ERROR, BUG = 1, 3


class Group(click.Group):
    """Every error is one line on stderr and a documented exit code; the traceback only with --debug."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Interrupted as exc:
            click.echo(f"Stopped: {exc}", err=True)
            ctx.exit(128 + exc.signum)
        except KeyboardInterrupt:
            click.echo("Stopped: Ctrl-C", err=True)
            ctx.exit(128 + signal.SIGINT)
        except Exception as exc:  # noqa: BLE001 - every error ends as one line and a documented exit code
            debug = bool(ctx.params.get("debug"))
            if debug:
                traceback.print_exc()  # the traceback, but the same exit code as without --debug
            click.echo(f"Error: {one_line(exc, debug)}", err=True)
            ctx.exit(USER_ERROR if isinstance(exc, DomaintuneError | OSError) else BUG)


def one_line(exc: Exception, debug: bool = False) -> str:
    if isinstance(exc, DomaintuneError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return str(disk_full(exc.filename, None))
    if isinstance(exc, OSError) and exc.filename:  # a file the user named is missing or unreadable
        return f"{exc.filename}: {exc.strerror or exc}"
    first = next(iter(str(exc).strip().splitlines()), "")
    how = "report it with the traceback above" if debug else "rerun with --debug for the traceback and report it"
    return f"unexpected {type(exc).__name__}: {first[:300]} (a bug: {how})"


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, envvar="DOMAINTUNE_DEBUG", help="Show the full traceback of an error.")
def cli(debug):
    """domaintune: raw domain data -> LLaMA-Factory datasets -> LoRA adapter -> evaluated report.

    Exit codes: 0 ok, 1 data or user error, 2 usage error, 3 a bug (rerun with --debug), 130/143 stopped by Ctrl-C/SIGTERM.
    """


for module in COMMAND_MODULES:
    for command in module.COMMANDS:
        cli.add_command(command)


def main():
    cli()
