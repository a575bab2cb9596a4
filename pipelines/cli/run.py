"""`domaintune train`, `predict`, `eval`, `export` and `webui`: one run from training to its report."""

from pathlib import Path

import click

from pipelines.cli.endpoint import endpoint_of, endpoint_options, engine_option
from pipelines.cli.options import (
    gpu_option,
    note_departure,
    parse_overrides,
    set_option,
    task_option,
)
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import VARIANTS, RunLayout

allow_changed_data_option = click.option(
    "--allow-changed-data", is_flag=True, help="Go on although the datasets were rebuilt since the run trained (the report says so)."
)


def warn_if_changed(task, run: RunLayout | None, allow_changed_data: bool) -> None:
    """Refuse a run whose training data differs from what is registered now, unless allowed (then warn)."""
    from pipelines.data.fingerprint import check_unchanged

    note = check_unchanged(run.datasets, task.name, allow_changed_data) if run else None
    if note:
        click.echo(f"Warning: {note}", err=True)


def note_engine(line: str) -> None:
    """Why predictions or a server use the engine they do, on stderr (stdout carries the files written)."""
    click.echo(line, err=True)


def latest_adapter(task, otherwise: str) -> Path:
    """The adapter of the task's latest finished run; without one, the error says to train first or `otherwise`."""
    run = RunLayout.latest(task.name)
    if run is None:
        raise DomaintuneError(f"no trained run of {task.name} under runs/; train first or {otherwise}")
    return run.adapter


@click.command("train")
@task_option()
@gpu_option(required=False)
@click.option("--model", "-m", help="Model id, local path, or 'tiny' (the embedded tiny model).")
@click.option("--ray", is_flag=True, help="Launch through LLaMA-Factory's Ray path instead of torchrun.")
@click.option("--resume", "resume_run", type=click.Path(path_type=Path, file_okay=False, exists=True), help="An interrupted run folder to continue from its last checkpoint.")
@click.option("--allow-changed-data", is_flag=True, help="With --resume: continue although the datasets were rebuilt since.")
@set_option("max_steps=10")
def train_cmd(task, tier, model, ray, resume_run, allow_changed_data, overrides):
    """Train a LoRA adapter with llamafactory-cli in a new runs/<task>-<gpu>-<time>/ folder.

    Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT on each node.
    Example: domaintune train --task telecom --gpu 4090
    After Ctrl-C: domaintune train --task telecom --resume runs/telecom-4090-20250101-120000
    """
    from pipelines.core.models import resolve_model
    from pipelines.run.train import resume, train

    if resume_run is not None:
        run = resume(task, RunLayout(resume_run), overrides, allow_changed_data)
    elif tier is None:
        raise click.UsageError("--gpu is required (except with --resume, which keeps the run's own)")
    else:
        run = train(task, tier, resolve_model(task, model), ray, overrides, notify=note_departure)
    click.echo(f"adapter: {run.adapter}")


@click.command("predict")
@task_option()
@click.option("--adapter", type=click.Path(path_type=Path, file_okay=False), help="Adapter dir; default: the task's latest run.")
@click.option("--base-only", is_flag=True, help="Only the base model (a baseline before training).")
@click.option("--skip-base", is_flag=True, help="Only the adapter, not the base model.")
@click.option("--model", "-m", help="Base model for --base-only without an adapter ('tiny' allowed).")
@engine_option
@endpoint_options(concurrency=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="With --endpoint: the predictions' folder; default <run>/predict/<variant>.")
@allow_changed_data_option
@set_option("max_new_tokens=32")
def predict_cmd(task, adapter, base_only, skip_base, model, engine, endpoint, endpoint_model, endpoint_api_key_env, request_timeout,
                concurrency, output, allow_changed_data, overrides):
    """Generate validation predictions for the adapter and the base model (LLaMA-Factory + HF generate, or vLLM).

    Example: domaintune predict --task telecom --adapter runs/telecom-4090-20250101-120000/adapter
    From a running server (the adapter's run gives the prompts' template; --base-only for a base model):
    domaintune predict --task telecom --endpoint http://127.0.0.1:8000/v1 --endpoint-model telecom
    """
    from pipelines.run.predict import predict, predict_from_endpoint

    server = endpoint_of(endpoint, endpoint_model, endpoint_api_key_env, request_timeout, concurrency)
    if server is not None and engine is not None:
        raise click.UsageError("--endpoint predicts through a server that is already running; --engine picks how to run one: give one of them")
    if server is None and output is not None:
        raise click.UsageError("-o goes with --endpoint (the other engines write into the run folder)")
    if adapter is None and not (base_only and model):
        adapter = latest_adapter(task, "pass --adapter")
    warn_if_changed(task, RunLayout.containing(adapter) if adapter else None, allow_changed_data)
    if server is not None:
        variant = "base" if base_only else "adapter"
        click.echo(f"{variant}: {predict_from_endpoint(task, server, adapter, variant, model, overrides, output)}")
        return
    variants = ("base",) if base_only else ("adapter",) if skip_base else VARIANTS
    outputs = predict(task, adapter, variants, model, overrides, engine=engine or "auto", concurrency=concurrency, notify=note_engine)
    for variant, path in outputs.items():
        click.echo(f"{variant}: {path}")


def parse_eval_overrides(ctx, param, values) -> dict:
    """`--set eval.KEY=VALUE` items as {KEY: value}; values read as in a recipe (see parse_overrides)."""
    overrides = parse_overrides(ctx, param, values)
    wrong = [key for key in overrides if not key.startswith("eval.")]
    if wrong:
        raise click.BadParameter(f"{', '.join(wrong)}: eval overrides are written eval.KEY=VALUE", param=param)
    return {key.removeprefix("eval."): value for key, value in overrides.items()}


@click.command("eval")
@task_option()
@click.option("--predictions", type=click.Path(path_type=Path, dir_okay=False), help="generated_predictions.jsonl; default: the latest run's.")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Report directory; default <run>/eval.")
@click.option("--set", "eval_sets", multiple=True, metavar="eval.KEY=VALUE", callback=parse_eval_overrides,
              help="Override one of the task's `eval` options for this eval (repeatable), e.g. --set eval.time_tolerance_s=10.")
@click.option("--time-tolerance", type=click.FloatRange(min=0), help="Behavior: seconds apart an exact match may be (eval.time_tolerance_s).")
@click.option("--judge-base-url", help="OpenAI-compatible endpoint of a judge model (e.g. http://127.0.0.1:8000/v1): adds LLM-judge scores.")
@click.option("--judge-model", help="Model name the judge endpoint serves (required with --judge-base-url).")
@click.option("--judge-api-key-env", default="JUDGE_API_KEY", show_default=True,
              help="NAME of the environment variable holding the judge's API key; the key is never printed or written.")
@allow_changed_data_option
def eval_cmd(task, predictions, output, eval_sets, time_tolerance, judge_base_url, judge_model, judge_api_key_env, allow_changed_data):
    """Score predictions, print the headline table, and write metrics.json, report.md, report.html and plots.

    Example: domaintune eval --task telecom --predictions runs/<run>/predict/adapter/generated_predictions.jsonl
    One option changed for this eval: domaintune eval --task behavior --time-tolerance 10
    With a judge: JUDGE_API_KEY=... domaintune eval --task restaurant --judge-base-url https://api.example.com/v1 --judge-model gpt-4o
    """
    from evaluators.judge.client import JudgeConfig
    from evaluators.report import evaluate
    from evaluators.reporting.terminal import print_report

    if bool(judge_base_url) != bool(judge_model):
        raise click.UsageError("--judge-base-url and --judge-model go together")
    judge = JudgeConfig(judge_base_url, judge_model, judge_api_key_env) if judge_base_url else None

    if predictions is None:
        run = RunLayout.latest(task.name)
        candidates = [run.predictions(v) for v in VARIANTS] if run else []
        predictions = next((p for p in candidates if p.exists()), None)
        if predictions is None:
            raise DomaintuneError(f"no predictions of {task.name} found; run `domaintune predict --task {task.name}` first")
    overrides = {**eval_sets, **({"time_tolerance_s": time_tolerance} if time_tolerance is not None else {})}
    report = evaluate(task, predictions, output, judge, allow_changed_data, eval_overrides=overrides)
    print_report(report, f"{task.name}: headline metrics")
    click.echo(f"report: {report}")


@click.command("export")
@click.option("--adapter", required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, file_okay=False))
def export_cmd(adapter, output):
    """Merge a LoRA adapter into its base model with llamafactory-cli export.

    Example: domaintune export --adapter runs/<run>/adapter -o exports/telecom
    """
    from pipelines.run.export import export

    click.echo(export(adapter, output))


@click.command("webui")
@click.option("--port", default=7860, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Use 0.0.0.0 to serve other machines.")
def webui_cmd(port, host):
    """LLaMA-Factory's web UI, with dataset_info/ as its data directory.

    Example: domaintune webui --port 7860
    """
    from pipelines.run.webui import webui

    raise SystemExit(webui(port, host))


@click.command("serve")
@task_option()
@click.option("--adapter", type=click.Path(path_type=Path, file_okay=False, exists=True), help="A run's adapter/ dir; default: the task's latest run.")
@click.option("--base-only", is_flag=True, help="Serve the base model instead of a trained run.")
@click.option("--model", "-m", help="Base model for --base-only ('tiny' allowed); default: the task's.")
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Use 0.0.0.0 to serve other machines.")
@click.option("--name", help="Model name clients ask for; default: the task's name (vllm: the base model is NAME-base).")
@engine_option
def serve_cmd(task, adapter, base_only, model, port, host, name, engine):
    """A trained run behind an OpenAI-compatible API (LLaMA-Factory's, or vLLM's); Ctrl-C stops the whole server.

    Example: domaintune serve --task restaurant --port 8000   (then: --judge-base-url http://127.0.0.1:8000/v1)
    """
    from pipelines.run.serve import serve

    if adapter is None and not base_only:
        adapter = latest_adapter(task, "pass --adapter, or use --base-only")
    raise SystemExit(serve(task, None if base_only else adapter, model, host, port, name or task.name, engine or "auto", click.echo))


COMMANDS = (train_cmd, predict_cmd, eval_cmd, export_cmd, webui_cmd, serve_cmd)
