"""`domaintune demo`: the whole path on the embedded default (tiny model, shipped sample data, CPU)."""

from dataclasses import dataclass
from pathlib import Path

import click

from pipelines.cli.options import verbose_option
from pipelines.core.gpus import get_tier
from pipelines.core.models import resolve_model
from pipelines.core.paths import relative
from pipelines.core.progress import duration, step
from pipelines.core.readers import iter_lines
from pipelines.core.tasks import Task, load_task
from pipelines.data.build import build_task
from pipelines.run.predict import predict
from pipelines.run.train import train

# A tiny model rarely emits EOS, so most answers run to max_new_tokens; 64 tokens exercise the same generation
# path as the task's 256 at a quarter of the CPU time. Real runs use the task's setting.
DEMO_PREDICT_OVERRIDES = {"max_new_tokens": 64}
# Demo settings, not the telecom recipe. Under LoRA alone the tiny model's 16-wide layers and random tied embeddings
# do not move (measured: loss 11.87 ≈ ln(151,936) after 8 epochs), so the demo trains all 2.4 M weights. Batch 1 at
# lr 1e-2 gives 134 updates per epoch; 10 epochs took the training loss from 11.9 to about 3.2 and the greedy answers
# from random tokens to "您好，可以拨打10086或…": above the base on ROUGE-L and term recall, outside the
# 95% intervals (4 epochs at batch 4 stayed at "，，，，"). 1,340 one-sample steps: 159 s in a
# 3 min 21 s `make demo` on two CPU cores.
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


STEPS = (
    ("data", "build the datasets from the shipped sample data"),
    ("train", "fine-tune the tiny model (demo settings, not the task's recipe), 10 epochs on the CPU"),
    ("predict", "answer the validation prompts with the trained model and with the untrained base"),
    ("eval", "score both, with 95% bootstrap intervals, into report.md and report.html"),
)


@dataclass
class DemoResult:
    run_dir: Path
    report: Path
    seconds: dict[str, float]


def demo(task: Task, gpu: str = "cpu", model: str = "tiny", echo=print, verbose: bool = False) -> DemoResult:
    """Each step says what it does, shows its progress (LLaMA-Factory's whole output: the run's log files, or
    `verbose`) and ends with one line of what it counted and how long it took."""
    from evaluators.report import evaluate
    from evaluators.reporting.terminal import load_summary, scored

    echo(f"domaintune demo: {task.name} end to end on the tiny model and the CPU, in {len(STEPS)} steps:")
    for i, (name, what) in enumerate(STEPS, 1):
        echo(f"  {i}. {name:<8}{what}")
    seconds = {}

    def numbered(i: int):
        return step(f"[{i}/{len(STEPS)}] {STEPS[i - 1][0]}")

    with numbered(1) as done:
        built = build_task(task)
        for line in built.lines():
            echo(line)
        done.detail = ", ".join(f"{name} {n}" for name, n in built.counts.items())
    seconds["data"] = done.seconds
    with numbered(2) as done:
        run = train(task, get_tier(gpu), resolve_model(task, model), overrides=DEMO_TRAIN_OVERRIDES, verbose=verbose)
        done.detail = f"run {relative(run.root)}"
    seconds["train"] = done.seconds
    with numbered(3) as done:
        files = predict(task, run.adapter, overrides=DEMO_PREDICT_OVERRIDES, verbose=verbose)
        done.detail = ", ".join(f"{variant} {sum(1 for _ in iter_lines(path))}" for variant, path in files.items()) + " answers"
    seconds["predict"] = done.seconds
    with numbered(4) as done:
        report = evaluate(task, files["adapter"])
        done.detail = scored(load_summary(report))
    seconds["eval"] = done.seconds
    return DemoResult(run.root, report, {name: round(s, 1) for name, s in seconds.items()})


def next_steps(task: str, run: Path) -> list[str]:
    return [
        "Next:",
        "  domaintune doctor    # what this machine can train, and on which GPU tier",
        f"  domaintune train --task {task} --gpu auto    # the task's own recipe on a real model",
        f"  domaintune compare {relative(run)} <another run>    # two runs side by side",
        f"  domaintune serve --task {task}    # the trained run behind an OpenAI-compatible API",
    ]


@click.command("demo")
@click.option("--task", "-t", default="telecom", show_default=True, help="Task to run end to end.")
@verbose_option()
def demo_cmd(task, verbose):
    """Data, training, prediction and evaluation on the tiny model and the CPU, in one go; ends with the
    headline table (adapter vs base), the path of report.html and what to run next.

    Example: domaintune demo --task telecom
    """
    from evaluators.reporting.terminal import print_report

    result = demo(load_task(task), echo=click.echo, verbose=verbose)
    click.echo(f"demo finished in {duration(sum(result.seconds.values()))}")
    print_report(result.report, f"{task}: demo run (tiny model, demo settings)")
    click.echo(f"report: {result.report}")
    for line in next_steps(task, result.run_dir):
        click.echo(line)


COMMANDS = (demo_cmd,)
