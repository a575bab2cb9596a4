"""`domaintune demo`: the whole path on the embedded default (tiny model, shipped sample data, CPU)."""

import time
from dataclasses import dataclass
from pathlib import Path

import click

from pipelines.core.gpus import get_tier
from pipelines.core.models import resolve_model
from pipelines.core.tasks import Task, load_task
from pipelines.data.build import build_task
from pipelines.run.predict import predict
from pipelines.run.train import train

# A random-weight model never emits EOS, so every answer runs to max_new_tokens; 64 tokens exercise the
# same generation path as the task's 256 at a quarter of the CPU time. Real runs use the task's setting.
DEMO_PREDICT_OVERRIDES = {"max_new_tokens": 64}


@dataclass
class DemoResult:
    run_dir: Path
    report: Path
    seconds: dict[str, float]


def demo(task: Task, gpu: str = "cpu", model: str = "tiny", echo=print) -> DemoResult:
    from evaluators.report import evaluate

    seconds, start = {}, time.perf_counter()

    def lap(step: str) -> None:
        nonlocal start
        seconds[step] = round(time.perf_counter() - start, 1)
        echo(f"[demo] {step} done in {seconds[step]} s")
        start = time.perf_counter()

    for line in build_task(task).lines():
        echo(line)
    lap("data")
    run = train(task, get_tier(gpu), resolve_model(task, model))
    lap("train")
    files = predict(task, run.adapter, overrides=DEMO_PREDICT_OVERRIDES)
    lap("predict")
    report = evaluate(task, files["adapter"])
    lap("eval")
    return DemoResult(run.root, report, seconds)


@click.command("demo")
@click.option("--task", "-t", default="telecom", show_default=True, help="Task to run end to end.")
def demo_cmd(task):
    """Data, training, prediction and evaluation on the tiny model and the CPU, in one go.

    Example: domaintune demo --task telecom
    """
    result = demo(load_task(task), echo=click.echo)
    click.echo(f"demo finished in {sum(result.seconds.values()):.0f} s ({result.seconds})")
    click.echo(f"report: {result.report}")


COMMANDS = (demo_cmd,)
