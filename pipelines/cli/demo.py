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

# A tiny model rarely emits EOS, so most answers run to max_new_tokens; 64 tokens exercise the same generation
# path as the task's 256 at a quarter of the CPU time. Real runs use the task's setting.
DEMO_PREDICT_OVERRIDES = {"max_new_tokens": 64}
# Demo settings, not the telecom recipe. Under LoRA alone the tiny model's 16-wide layers and random tied embeddings
# do not move (measured: loss 11.87 ≈ ln(151,936) after 8 epochs), so the demo trains all 2.4 M weights. Batch 1 at
# lr 1e-2 gives 134 updates per epoch; 10 epochs took the training loss from 11.9 to about 4 and the greedy answers
# from random tokens to "您好，您可以在中国移动APP…拨打100…": above the base on ROUGE-L and term recall, outside the
# 95% intervals (4 epochs at batch 4 stayed at "，，，，"). 1,340 one-sample steps: 175 s in a
# 3 min 38 s `make demo` on two CPU cores (632 s while other jobs loaded them).
DEMO_TRAIN_OVERRIDES = {
    "finetuning_type": "full",
    "learning_rate": 1.0e-2,
    "num_train_epochs": 10,
    "per_device_train_batch_size": 1,
    "gradient_accumulation_steps": 1,
    # One sample per update: the planner packs about 10 telecom samples into a row, which leaves 15 updates an epoch.
    "packing": False,
    "neat_packing": False,
    "eval_strategy": "epoch",  # the report's validation-loss curve
    "save_strategy": "no",
    "logging_steps": 50,
}


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
    run = train(task, get_tier(gpu), resolve_model(task, model), overrides=DEMO_TRAIN_OVERRIDES)
    lap("train")
    files = predict(task, run.adapter, overrides=DEMO_PREDICT_OVERRIDES)
    lap("predict")
    report = evaluate(task, files["adapter"])
    lap("eval")
    return DemoResult(run.root, report, seconds)


@click.command("demo")
@click.option("--task", "-t", default="telecom", show_default=True, help="Task to run end to end.")
def demo_cmd(task):
    """Data, training, prediction and evaluation on the tiny model and the CPU, in one go; ends with the
    headline table (adapter vs base) and the path of report.html.

    Example: domaintune demo --task telecom
    """
    from evaluators.reporting.terminal import print_report

    result = demo(load_task(task), echo=click.echo)
    click.echo(f"demo finished in {sum(result.seconds.values()):.0f} s ({result.seconds})")
    click.echo(f"report: {result.report}")
    print_report(result.report, f"{task}: demo run (tiny model, demo settings)")


COMMANDS = (demo_cmd,)
