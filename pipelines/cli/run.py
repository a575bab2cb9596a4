"""`domaintune train`, `predict`, `eval`, `export` and `webui`: one run from training to its report."""

from pathlib import Path

import click

from pipelines.cli.options import (
    gpu_option,
    note_departure,
    parse_overrides,
    set_option,
    task_option,
    verbose_option,
)
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import VARIANTS, RunLayout
from pipelines.core.paths import relative
from pipelines.core.progress import phase

allow_changed_data_option = click.option(
    "--allow-changed-data", is_flag=True, help="Go on although the datasets were rebuilt since the run trained (the report says so)."
)


def warn_if_changed(task, run: RunLayout | None, allow_changed_data: bool) -> None:
    """Refuse a run whose training data differs from what is registered now, unless allowed (then warn)."""
    from pipelines.data.fingerprint import check_unchanged

    note = check_unchanged(run.datasets, task.name, allow_changed_data) if run else None
    if note:
        click.echo(f"Warning: {note}", err=True)


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
@click.option("--report-to", multiple=True, type=click.Choice(["tensorboard", "wandb", "mlflow"]),
              help="Also log to an experiment tracker (repeatable); TensorBoard's files go to <run>/tensorboard/.")
@set_option("max_steps=10")
@verbose_option()
def train_cmd(task, tier, model, ray, resume_run, allow_changed_data, report_to, overrides, verbose):
    """Train a LoRA adapter with llamafactory-cli in a new runs/<task>-<gpu>-<time>/ folder, showing one progress
    line (step, epoch, loss, learning rate, speed, ETA, validation loss); the full log is <run>/train.log.

    Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT on each node.
    Example: domaintune train --task telecom --gpu 4090
    With TensorBoard: domaintune train --task telecom --gpu 4090 --report-to tensorboard
    After Ctrl-C: domaintune train --task telecom --resume runs/telecom-4090-20250101-120000
    """
    from pipelines.core.models import resolve_model
    from pipelines.run.train import resume, train

    if resume_run is not None:
        if report_to:
            raise click.UsageError("--report-to is set when a run starts; --resume keeps the run's own trackers")
        run = resume(task, RunLayout(resume_run), overrides, allow_changed_data, notify=note_departure, verbose=verbose)
    elif tier is None:
        raise click.UsageError("--gpu is required (except with --resume, which keeps the run's own)")
    else:
        run = train(task, tier, resolve_model(task, model), ray, overrides, notify=note_departure, report_to=report_to, verbose=verbose)
    click.echo(f"adapter: {run.adapter}")


@click.command("predict")
@task_option()
@click.option("--adapter", type=click.Path(path_type=Path, file_okay=False), help="Adapter dir; default: the task's latest run.")
@click.option("--base-only", is_flag=True, help="Only the base model (a baseline before training).")
@click.option("--skip-base", is_flag=True, help="Only the adapter, not the base model.")
@click.option("--model", "-m", help="Base model for --base-only without an adapter ('tiny' allowed).")
@allow_changed_data_option
@set_option("max_new_tokens=32")
@verbose_option()
def predict_cmd(task, adapter, base_only, skip_base, model, allow_changed_data, overrides, verbose):
    """Generate validation predictions with LLaMA-Factory for the adapter and the base model.

    Example: domaintune predict --task telecom --adapter runs/telecom-4090-20250101-120000/adapter
    """
    from pipelines.run.predict import predict

    if adapter is None and not (base_only and model):
        adapter = latest_adapter(task, "pass --adapter")
    warn_if_changed(task, RunLayout.containing(adapter) if adapter else None, allow_changed_data)
    variants = ("base",) if base_only else ("adapter",) if skip_base else VARIANTS
    for variant, path in predict(task, adapter, variants, model, overrides, verbose=verbose).items():
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
    from evaluators.reporting.terminal import load_summary, print_report, scored

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
    with phase(f"eval: scoring {relative(predictions)}") as step:
        report = evaluate(task, predictions, output, judge, allow_changed_data, eval_overrides=overrides)
        step.detail = scored(load_summary(report))
    print_report(report, f"{task.name}: headline metrics")
    click.echo(f"report: {report}")


@click.command("export")
@click.option("--adapter", required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, file_okay=False))
@verbose_option()
def export_cmd(adapter, output, verbose):
    """Merge a LoRA adapter into its base model with llamafactory-cli export.

    Example: domaintune export --adapter runs/<run>/adapter -o exports/telecom
    """
    from pipelines.run.export import export

    click.echo(export(adapter, output, verbose=verbose))


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
@click.option("--name", help="Model name clients ask for; default: the task's name.")
def serve_cmd(task, adapter, base_only, model, port, host, name):
    """A trained run behind LLaMA-Factory's OpenAI-compatible API; Ctrl-C stops the whole server.

    Example: domaintune serve --task restaurant --port 8000   (then: --judge-base-url http://127.0.0.1:8000/v1)
    """
    from pipelines.run.serve import serve

    if adapter is None and not base_only:
        adapter = latest_adapter(task, "pass --adapter, or use --base-only")
    name = name or task.name
    click.echo(f"serving http://{host}:{port}/v1 as model {name!r} (Ctrl-C stops it)")
    raise SystemExit(serve(task, None if base_only else adapter, model, host, port, name))


COMMANDS = (train_cmd, predict_cmd, eval_cmd, export_cmd, webui_cmd, serve_cmd)
