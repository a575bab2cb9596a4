"""`domaintune train`, `predict`, `eval`, `export` and `webui`: one run from training to its report."""

from pathlib import Path

import click

from pipelines.cli.endpoint import endpoint_of, endpoint_options, engine_option
from pipelines.cli.models import announce_download, hub_option, no_download_option
from pipelines.cli.options import (
    PORT,
    gpu_option,
    note_departure,
    parse_overrides,
    reads_datasets,
    set_option,
    task_option,
    verbose_option,
)
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import VARIANTS, RunLayout
from pipelines.core.models import hub_of, resolve_base, resolve_model
from pipelines.core.paths import relative
from pipelines.core.progress import step

allow_changed_data_option = click.option(
    "--allow-changed-data", is_flag=True, help="Go on although the datasets were rebuilt since the run trained (the report says so)."
)


def warn_if_changed(task, run: RunLayout | None, allow_changed_data: bool) -> None:
    """Refuse a run whose training data differs from what is registered now, unless allowed (then warn)."""
    from pipelines.data.fingerprint import check_unchanged

    note = check_unchanged(run.datasets, task.name, allow_changed_data) if run else None
    if note:
        click.echo(f"Warning: {note}", err=True)


def inform(line: str) -> None:
    """A note for the user (expected training time, why an engine is used) on stderr: stdout carries the paths written."""
    click.echo(line, err=True)


def weights_for(task, model: str | None, hub: str | None, no_download: bool) -> str:
    """The model's directory (downloaded first when it must be), before any run folder is made."""
    return resolve_model(task, model, hub, not no_download, on_listing=announce_download).path


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
@hub_option()
@no_download_option()
@set_option("max_steps=10")
@verbose_option()
@reads_datasets
def train_cmd(task, tier, model, ray, resume_run, allow_changed_data, report_to, hub, no_download, overrides, verbose):
    """Train a LoRA adapter with llamafactory-cli in a new runs/<task>-<gpu>-<time>/ folder, showing one progress
    line (step, epoch, loss, learning rate, speed, ETA, validation loss); the full log is <run>/train.log.

    A model not in models/ yet is downloaded first (ModelScope unless --hub says otherwise); offline, the command
    stops at once and says how to copy the model in. The expected training time is printed before training starts.
    Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT on each node.
    Example: domaintune train --task telecom --gpu 4090
    With TensorBoard: domaintune train --task telecom --gpu 4090 --report-to tensorboard
    After Ctrl-C: domaintune train --task telecom --resume runs/telecom-4090-20250101-120000
    """
    from pipelines.run.train import resume, train

    if resume_run is not None:
        if report_to:
            raise click.UsageError("--report-to is set when a run starts; --resume keeps the run's own trackers")
        run = resume(task, RunLayout(resume_run), overrides, allow_changed_data, notify=note_departure, verbose=verbose)
    elif tier is None:
        raise click.UsageError("--gpu is required (except with --resume, which keeps the run's own)")
    else:
        weights = resolve_model(task, model, hub, not no_download, on_listing=announce_download)
        run = train(task, tier, weights, ray, overrides, notify=note_departure, inform=inform, report_to=report_to, verbose=verbose)
    click.echo(f"adapter: {run.adapter}")


@click.command("predict")
@task_option()
@click.option("--adapter", type=click.Path(path_type=Path, file_okay=False), help="Adapter dir; default: the task's latest run.")
@click.option("--base-only", is_flag=True, help="Only the base model (a baseline before training).")
@click.option("--skip-base", is_flag=True, help="Only the adapter, not the base model.")
@click.option("--model", "-m", help="Base model for --base-only without an adapter ('tiny' allowed).")
@engine_option
@endpoint_options(concurrency=True, api=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="With --endpoint: the predictions' folder; default <run>/predict/<variant>.")
@allow_changed_data_option
@hub_option()
@no_download_option()
@set_option("max_new_tokens=32")
@verbose_option()
@reads_datasets
def predict_cmd(task, adapter, base_only, skip_base, model, engine, endpoint, endpoint_model, endpoint_api_key_env, request_timeout,
                endpoint_api, concurrency, output, allow_changed_data, hub, no_download, overrides, verbose):
    """Generate validation predictions for the adapter and the base model (LLaMA-Factory + HF generate, or vLLM).

    Example: domaintune predict --task telecom --adapter runs/telecom-4090-20250101-120000/adapter
    From a running server (the adapter's run gives the prompts' template; --base-only for a base model):
    domaintune predict --task telecom --endpoint http://127.0.0.1:8000/v1 --endpoint-model telecom
    (token ids to vLLM or SGLang; chat messages to llamafactory-cli api or a hosted API: see --endpoint-api)
    """
    from pipelines.run.predict import predict, predict_from_endpoint

    server = endpoint_of(endpoint, endpoint_model, endpoint_api_key_env, request_timeout, concurrency)
    if server is not None and engine is not None:
        raise click.UsageError("--endpoint predicts through a server that is already running; --engine picks how to run one: give one of them")
    if server is None and output is not None:
        raise click.UsageError("-o goes with --endpoint (the other engines write into the run folder)")
    if server is None and endpoint_api is not None:
        raise click.UsageError("--endpoint-api goes with --endpoint URL")
    if adapter is None and not (base_only and model):
        adapter = latest_adapter(task, "pass --adapter")
    warn_if_changed(task, RunLayout.containing(adapter) if adapter else None, allow_changed_data)
    if adapter is None:
        model = weights_for(task, model, hub, no_download)
    else:
        resolve_base(adapter, hub_of(task, hub), not no_download)
    if server is not None:
        variant = "base" if base_only else "adapter"
        path = predict_from_endpoint(task, server, adapter, variant, model, overrides, output, endpoint_api or "auto", inform)
        click.echo(f"{variant}: {path}")
        return
    variants = ("base",) if base_only else ("adapter",) if skip_base else VARIANTS
    outputs = predict(task, adapter, variants, model, overrides, engine=engine or "auto", concurrency=concurrency, notify=inform, verbose=verbose)
    for variant, path in outputs.items():
        click.echo(f"{variant}: {path}")


def parse_eval_overrides(ctx, param, values) -> dict:
    """`--set eval.KEY=VALUE` items as {KEY: value}; values read as in a recipe (see parse_overrides)."""
    overrides = parse_overrides(ctx, param, values)
    wrong = [key for key in overrides if not key.startswith("eval.")]
    if wrong:
        raise click.BadParameter(f"{', '.join(wrong)}: eval overrides are written eval.KEY=VALUE", param=param)
    return {key.removeprefix("eval."): value for key, value in overrides.items()}


class MaxItems(click.ParamType):
    """A positive count, or `all`."""

    name = "N|all"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "all":
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a positive whole number or 'all'", param, ctx)
        return number


def judge_options(function):
    """The judge's endpoint and settings; the settings override the task's `eval.judge` for this eval."""
    options = [
        click.option("--judge-base-url", help="OpenAI-compatible endpoint of a judge model (e.g. http://127.0.0.1:8000/v1): adds LLM-judge scores."),
        click.option("--judge-model", help="Model name the judge endpoint serves (required with --judge-base-url)."),
        click.option("--judge-api-key-env", default="JUDGE_API_KEY", show_default=True,
                     help="NAME of the environment variable holding the judge's API key; the key is never printed or written."),
        click.option("--judge-records", type=click.Choice(["val", "train", "all"]),
                     help="Records the data-quality rubric reads (eval.judge.records; default val, the ones the answers reply to)."),
        click.option("--judge-max-items", type=MaxItems(), help="First N records of each split and answers of each variant, or 'all' (eval.judge.max_items; default 100)."),
        click.option("--judge-concurrency", type=click.IntRange(min=1), help="Judge calls in flight (eval.judge.concurrency; default 4)."),
        click.option("--judge-timeout", "judge_timeout_s", type=click.FloatRange(min=0, min_open=True), help="Seconds per attempt (eval.judge.timeout_s; default 120)."),
        click.option("--judge-max-tokens", type=click.IntRange(min=1), help="The judge's answer budget (eval.judge.max_tokens; default 1024)."),
        click.option("--judge-temperature", type=click.FloatRange(min=0), help="Judge sampling temperature (eval.judge.temperature; default 0)."),
        click.option("--judge-response-format/--no-judge-response-format", default=None,
                     help="Ask for a JSON object (eval.judge.response_format; default on; dropped anyway when the endpoint refuses it)."),
        click.option("--judge-refresh", is_flag=True, help="Ask the judge again for every item, ignoring its cached answers."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


JUDGE_SETTINGS = ("records", "max_items", "concurrency", "timeout_s", "max_tokens", "temperature", "response_format")


@click.command("eval")
@task_option()
@click.option("--predictions", type=click.Path(path_type=Path, dir_okay=False), help="generated_predictions.jsonl; default: the latest run's.")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Report directory; default <run>/eval.")
@click.option("--set", "eval_sets", multiple=True, metavar="eval.KEY=VALUE", callback=parse_eval_overrides,
              help="Override one of the task's `eval` options for this eval (repeatable), e.g. --set eval.time_tolerance_s=10.")
@click.option("--time-tolerance", type=click.FloatRange(min=0), help="Behavior: seconds apart an exact match may be (eval.time_tolerance_s).")
@judge_options
@allow_changed_data_option
@reads_datasets
def eval_cmd(task, predictions, output, eval_sets, time_tolerance, judge_base_url, judge_model, judge_api_key_env, judge_refresh,
             allow_changed_data, **judge_settings):
    """Score predictions, print the headline table (and the judge's), and write metrics.json, report.md, report.html and plots.

    Example: domaintune eval --task telecom --predictions runs/<run>/predict/adapter/generated_predictions.jsonl
    One option changed for this eval: domaintune eval --task behavior --time-tolerance 10
    With a judge: JUDGE_API_KEY=... domaintune eval --task restaurant --judge-base-url https://api.example.com/v1 --judge-model gpt-4o
    The seed's judging of all training data: ... --judge-records train --judge-max-items all
    Exits 1 when a judge was asked for and every call to it failed (the report is written all the same).
    """
    from evaluators.judge.client import JudgeConfig
    from evaluators.report import evaluate
    from evaluators.reporting.terminal import load_summary, print_report, scored

    if bool(judge_base_url) != bool(judge_model):
        raise click.UsageError("--judge-base-url and --judge-model go together")
    given = {key: judge_settings[f"judge_{key}"] for key in JUDGE_SETTINGS if judge_settings[f"judge_{key}"] is not None}
    if not judge_base_url and (judge_refresh or given):
        raise click.UsageError("the --judge-* settings need --judge-base-url and --judge-model")
    judge = JudgeConfig(judge_base_url, judge_model, judge_api_key_env, refresh=judge_refresh) if judge_base_url else None

    if predictions is None:
        run = RunLayout.latest(task.name)
        candidates = [run.predictions(v) for v in VARIANTS] if run else []
        predictions = next((p for p in candidates if p.exists()), None)
        if predictions is None:
            raise DomaintuneError(f"no predictions of {task.name} found; run `domaintune predict --task {task.name}` first")
    overrides = {**eval_sets, **({"time_tolerance_s": time_tolerance} if time_tolerance is not None else {}), **({"judge": given} if given else {})}
    with step(f"eval: scoring {relative(predictions)}") as done:
        report = evaluate(task, predictions, output, judge, allow_changed_data, eval_overrides=overrides,
                          notify=lambda note: click.echo(f"Warning: {note}", err=True))
        done.detail = scored(load_summary(report))
    print_report(report, f"{task.name}: headline metrics")
    click.echo(f"report: {report}")
    if judge is not None:
        check_judge(report)


def check_judge(report: Path) -> None:
    """Exit 1 (after the report is written) when the judge asked for gave no answer at all."""
    import json

    from evaluators.judge.section import every_call_failed

    reason = every_call_failed(json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))["judge"])
    if reason:
        raise DomaintuneError(f"judge: every call failed ({reason}); the report is written without its scores")


@click.command("export")
@click.option("--adapter", required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, file_okay=False), help="A new or empty folder (never a run's adapter/).")
@click.option("--force", is_flag=True, help="Write into OUTPUT although it holds files (those of the same name are replaced).")
@hub_option()
@no_download_option()
@verbose_option()
def export_cmd(adapter, output, force, hub, no_download, verbose):
    """Merge a LoRA adapter into its base model with llamafactory-cli export.

    Example: domaintune export --adapter runs/<run>/adapter -o exports/telecom
    """
    from pipelines.core.hubs import DEFAULT_HUB
    from pipelines.run.export import check_output, export

    check_output(adapter, output, force)  # before a download, not after it
    resolve_base(adapter, hub or DEFAULT_HUB, not no_download)
    click.echo(export(adapter, output, force, verbose=verbose))


@click.command("webui")
@click.option("--port", default=7860, show_default=True, type=PORT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Use 0.0.0.0 to serve other machines.")
@hub_option()
@reads_datasets
def webui_cmd(port, host, hub):
    """LLaMA-Factory's web UI, with dataset_info/ as its data directory; models picked in it come from --hub.

    Example: domaintune webui --port 7860
    """
    from pipelines.core.hubs import DEFAULT_HUB
    from pipelines.run.ports import check_port
    from pipelines.run.webui import webui

    check_port(host, port)
    raise SystemExit(webui(port, host, hub or DEFAULT_HUB))


@click.command("serve")
@task_option()
@click.option("--adapter", type=click.Path(path_type=Path, file_okay=False, exists=True), help="A run's adapter/ dir; default: the task's latest run.")
@click.option("--base-only", is_flag=True, help="Serve the base model instead of a trained run.")
@click.option("--model", "-m", help="Base model for --base-only ('tiny' allowed); default: the task's.")
@click.option("--port", default=8000, show_default=True, type=PORT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Use 0.0.0.0 to serve other machines.")
@click.option("--name", help="Model name clients ask for; default: the task's name (vllm: the base model is NAME-base).")
@engine_option
@hub_option()
@no_download_option()
def serve_cmd(task, adapter, base_only, model, port, host, name, engine, hub, no_download):
    """A trained run behind an OpenAI-compatible API (LLaMA-Factory's, or vLLM's); Ctrl-C stops the whole server.

    Example: domaintune serve --task restaurant --port 8000   (then: --judge-base-url http://127.0.0.1:8000/v1)
    """
    from pipelines.run.ports import check_port
    from pipelines.run.serve import serve

    check_port(host, port)

    if adapter is None and not base_only:
        adapter = latest_adapter(task, "pass --adapter, or use --base-only")
    if base_only:
        model = weights_for(task, model, hub, no_download)
    else:
        resolve_base(adapter, hub_of(task, hub), not no_download)
    raise SystemExit(serve(task, None if base_only else adapter, model, host, port, name or task.name, engine or "auto", click.echo))


COMMANDS = (train_cmd, predict_cmd, eval_cmd, export_cmd, webui_cmd, serve_cmd)
