"""`domaintune demo`: the whole path on the embedded default (tiny model, shipped sample data, CPU)."""

import time
from dataclasses import dataclass
from pathlib import Path

from .build import build_task
from .predict import predict
from .tasks import Task
from .train import train

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
    run_dir = train(task, gpu, model)
    lap("train")
    files = predict(task, run_dir / "adapter", overrides=DEMO_PREDICT_OVERRIDES)
    lap("predict")
    report = evaluate(task, files["adapter"])
    lap("eval")
    return DemoResult(run_dir, report, seconds)
