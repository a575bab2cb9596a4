"""`domaintune gen-logs` and `domaintune dispatch`: thin wrappers over the behavior task's library functions."""

from pathlib import Path

import click

from pipelines.behavior.loggen import (
    PERSONAS,
    generate_events,
    write_events,
    write_sample_set,
)
from pipelines.cli.endpoint import endpoint_of, endpoint_options
from pipelines.cli.models import hub_option, no_download_option
from pipelines.core.tasks import load_task


@click.command("gen-logs")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Log file (.jsonl, .csv or .txt); a directory with --sample-set.")
@click.option("--events", "n_events", type=click.IntRange(min=1), help="Number of events (the earliest of enough generated days).")
@click.option("--days", type=click.IntRange(min=1), help="Workdays per persona, instead of --events.")
@click.option("--seed", default=0, show_default=True, help="Same seed, same log.")
@click.option("--persona", "personas", multiple=True, type=click.Choice(list(PERSONAS)), help="Persona(s) to include; default: all.")
@click.option("--shuffle", is_flag=True, help="Write lines out of time order, as merged logs arrive.")
@click.option("--sample-set", is_flag=True, help="Write the task's committed default input (one file per persona) into OUTPUT.")
def gen_logs(output, n_events, days, seed, personas, shuffle, sample_set):
    """Generate realistic Windows activity logs for the behavior task, deterministically.

    Example: domaintune gen-logs -o /tmp/events.jsonl --events 100000 --seed 1
    """
    if sample_set:
        if n_events or days or personas or shuffle:
            raise click.UsageError("--sample-set writes the fixed default set; it takes only -o and --seed")
        paths = write_sample_set(output, seed)
    else:
        events = generate_events(n_events, days, seed, personas or tuple(PERSONAS))
        paths = [write_events(events, output, seed if shuffle else None)]
    for path in paths:
        click.echo(path)


@click.command("dispatch")
@click.option("--adapter", required=True, type=click.Path(path_type=Path, file_okay=False, exists=True), help="LoRA adapter directory.")
@click.option("--input", "log", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Activity log to follow (.jsonl or .txt).")
@click.option("--once", is_flag=True, help="Process the lines already there and exit instead of following the file.")
@click.option("--user", help="Whose events a .txt log holds; default: the file's stem.")
@click.option("--task", "-t", default="behavior", show_default=True, help="Task whose prompt, template and options the adapter was trained with.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), help="Generation budget per prediction; default: the task's predict.max_new_tokens.")
@hub_option()
@no_download_option()
@endpoint_options(concurrency=False)
def dispatch(adapter, log, once, user, task, max_new_tokens, hub, no_download, endpoint, endpoint_model, endpoint_api_key_env, request_timeout):
    """Follow a live activity log and print the action a resource manager would take before each predicted next action.

    Example: domaintune dispatch --adapter runs/<run>/adapter --input live.jsonl --once
    A served model deciding (the adapter gives the tokenizer): ... --endpoint http://127.0.0.1:8000/v1 --endpoint-model behavior
    """
    from pipelines.behavior.dispatch import decisions
    from pipelines.core.models import hub_of, resolve_base

    task = load_task(task)
    server = endpoint_of(endpoint, endpoint_model, endpoint_api_key_env, request_timeout)
    if server is None:  # a served model needs only the adapter's tokenizer here, not the base weights
        resolve_base(adapter, hub_of(task, hub), not no_download)
    for decision in decisions(adapter, log, task, once=once, user=user, max_new_tokens=max_new_tokens, endpoint=server):
        click.echo(decision.line())


COMMANDS = (gen_logs, dispatch)
