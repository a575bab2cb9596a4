"""`domaintune agent-data`: the map agent answers questions over a POI source and writes map-agent records."""

from pathlib import Path

import click

AGENT_TASKS = ("restaurant",)  # tasks whose raw data a map agent writes


def jsonl_output(_ctx, _param, value: Path) -> Path:
    if value.suffix != ".jsonl":
        raise click.BadParameter(f"{value}: the records are JSON Lines; name the file *.jsonl")
    return value


@click.command("agent-data")
@click.option("--task", "-t", required=True, type=click.Choice(AGENT_TASKS), help="Task whose raw data to write.")
@click.option("--base-url", required=True, help="OpenAI-compatible endpoint: a hosted model, vLLM, `domaintune serve`.")
@click.option("--model", required=True, help="Model name the endpoint serves.")
@click.option("--api-key-env", default="AGENT_API_KEY", show_default=True, help="Environment variable holding the API key (never printed or written; unset: none sent).")
@click.option("--pois", default="table", show_default=True, help="POI source: table[:FILE.yaml], geojson:FILE, csv:FILE, amap[:BASE_URL] (key in $AMAP_KEY), or a file by its suffix.")
@click.option("-n", "--records", "n", required=True, type=click.IntRange(min=1), help="Distinct grounded records to write.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False), callback=jsonl_output, help="JSON Lines file of map-agent records; rejects and the trace go beside it.")
@click.option("--questions", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="A question space (YAML, recipes/schema/agent.schema.json) or your questions (JSON/JSONL); default data/restaurant/agent.yaml.")
@click.option("--seed", default=7, show_default=True, help="Same seed, space and POIs: same questions.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(min=1), help="Questions with the agent at once.")
@click.option("--max-steps", default=6, show_default=True, type=click.IntRange(min=2), help="Agent steps per question (each one model call).")
@click.option("--max-questions", type=click.IntRange(min=1), help="Stop after this many questions in all, kept or not  [default: 3 x N].")
@click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(min=0))
@click.option("--timeout", "timeout_s", default=120.0, show_default=True, type=click.FloatRange(min=1), help="Seconds per model request.")
@click.option("--price-in", default=0.0, show_default=True, type=click.FloatRange(min=0), help="USD per million input tokens, for the cost estimate.")
@click.option("--price-out", default=0.0, show_default=True, type=click.FloatRange(min=0), help="USD per million output tokens.")
@click.option("--restart", is_flag=True, help="Discard the trace of an earlier run of this output instead of resuming it.")
def agent_data(task, base_url, model, api_key_env, pois, n, output, questions, seed, concurrency, max_steps, max_questions,
               temperature, timeout_s, price_in, price_out, restart):
    """Let a map agent (smolagents, any OpenAI-compatible endpoint) answer questions over a POI source, keep the
    answers that pass the task's grounding checks, and write N records `domaintune data` reads.

    An interrupted run continues where it stopped when rerun the same way.

    Example: domaintune agent-data --task restaurant --base-url http://localhost:8000/v1 --model Qwen/Qwen3-8B -n 200 -o agent.jsonl
    """
    from pipelines.agent.agent import Endpoint
    from pipelines.agent.job import Job, run

    endpoint = Endpoint(base_url, model, api_key_env, concurrency, timeout_s=timeout_s, temperature=temperature, max_steps=max_steps)
    job = Job(task, endpoint, output, n, pois, questions, seed, max_questions, price_in, price_out, restart)
    for line in run(job).lines():
        click.echo(line)


COMMANDS = (agent_data,)
