"""Predictions by HF do_predict vs vLLM on one GPU: generated tokens/s and wall time of the same work.

    python -m bench.generation                                  # trajectory and telecom, as the tasks predict
    python -m bench.generation --prompts 8 --max-new-tokens 512 # a short run that fits a small device budget
    python -m bench.generation --model models/Qwen/Qwen2.5-7B-Instruct --tasks trajectory   # real weights

For each task: its model in the real shape with random weights (bench/recipes.py's build_model: nothing
downloaded) or --model, its datasets built into a temporary workspace, and the same predictions by each engine:
  hf    `domaintune predict --engine hf`: LLaMA-Factory's do_predict, HF generate at the task's batch size;
  vllm  `domaintune predict --engine vllm`: a vLLM server of our own, asked through the endpoint path.
Same prompts and settings: trajectory samples 4 answers per validation prompt (temperature 0.7, top_p 0.9, up to
2,048 new tokens), telecom answers its validation set and scenarios greedily (256). Generated tokens are the
predictions re-tokenised with the model's tokenizer, for both engines alike. Generation time is LLaMA-Factory's
predict_runtime for hf and the requests' time for vllm (server up); each engine's start-up (loading the model,
vLLM's CUDA graphs) is reported beside it. Random weights seldom end a sequence, so both generate to the limit.

Goal (issue 22): vllm at >= 5x hf's generated tokens/s on the trajectory task.
Without a CUDA device nothing is measured (exit 0): the results file says so, and the vLLM side is refused.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from pipelines.core.readers import iter_json_records

RESULTS = Path(__file__).parent / "results" / "generation.md"
TASKS = ("trajectory", "telecom")
ENGINES = ("hf", "vllm")
GOAL = 5.0
QUICK = "python -m bench.generation --prompts 8 --max-new-tokens 512"


def refusals() -> dict[str, str]:
    """engine -> why it cannot be measured on this machine."""
    from bench.recipes import no_gpu_reason
    from pipelines.run.vllm import vllm_unavailable

    no_gpu = no_gpu_reason()
    if no_gpu:
        return {"hf": f"no GPU ({no_gpu})", "vllm": f"no GPU ({no_gpu}), and vLLM needs one"}
    why = vllm_unavailable()
    return {"vllm": why} if why else {}


def generated_tokens(predictions: Path, tokenizer) -> tuple[int, int]:
    """(rows, tokens of their `predict` texts)."""
    texts = [row["predict"] for _, row in iter_json_records(predictions)]
    return len(texts), sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])


def generation_seconds(engine: str, folder: Path) -> float:
    if engine == "hf":  # LLaMA-Factory's trainer.save_metrics("predict", ...)
        return json.loads((folder / "predict_results.json").read_text(encoding="utf-8"))["predict_runtime"]
    return json.loads((folder / "predict.json").read_text(encoding="utf-8"))["seconds"]


def measure_task(name: str, engines: list[str], model: str | None, overrides: dict) -> dict:
    """Both engines' predictions of the task's base model, in a workspace of their own."""
    from transformers import AutoTokenizer

    from bench.recipes import build_model
    from pipelines.core.errors import DomaintuneError
    from pipelines.core.paths import WORKSPACE_ENV
    from pipelines.core.tasks import load_task
    from pipelines.data.build import build_task
    from pipelines.planning.architectures import resolve_architecture
    from pipelines.run.predict import predict

    task = load_task(name)
    with tempfile.TemporaryDirectory(prefix=f"bench-generation-{name}-") as tmp:
        os.environ[WORKSPACE_ENV] = tmp
        build_task(task)
        model_dir = model or str(build_model(resolve_architecture(task.model["base"]), Path(tmp) / "model"))
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        figures = {"model": model or f"{task.model['base']} (random weights)", "settings": {**task.config["predict"], **overrides}, "runs": {}}
        for engine in engines:
            started = time.monotonic()
            try:
                path = predict(task, None, ("base",), model_dir, overrides, quiet=True, engine=engine)["base"]
            except DomaintuneError as exc:  # vLLM that does not start, say: a result to report, not the end of the run
                figures["runs"][engine] = {"failed": str(exc).splitlines()[0][:200]}
                continue
            wall = time.monotonic() - started
            rows, tokens = generated_tokens(path, tokenizer)
            seconds = generation_seconds(engine, path.parent)
            figures["runs"][engine] = {"rows": rows, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
                                       "startup_s": wall - seconds}
    return figures


def machine() -> str:
    from bench.recipes import machine_name

    versions = []
    for package in ("torch", "vllm", "transformers", "llamafactory"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return f"{machine_name()}; {', '.join(versions)}"


def run_rows(measured: dict[str, dict]) -> list[str]:
    lines = ["| Task | Engine | Rows | Generated tokens | Generation s | Tokens/s | Start-up s | vs hf |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for task, figures in measured.items():
        runs = figures["runs"]
        for engine, run in runs.items():
            if "failed" in run:
                lines.append(f"| {task} | {engine} | failed: {run['failed']} | | | | | |")
                continue
            hf = runs.get("hf", {}).get("tokens_per_s")
            ratio = f"{run['tokens_per_s'] / hf:.2f}x" if hf else "-"
            lines.append(f"| {task} | {engine} | {run['rows']} | {run['tokens']:,} | {run['seconds']:.1f} | {run['tokens_per_s']:,.0f} | "
                         f"{run['startup_s']:.0f} | {ratio} |")
    return lines


def goal_line(measured: dict[str, dict]) -> str:
    runs = measured.get("trajectory", {}).get("runs", {})
    hf, fast = runs.get("hf", {}).get("tokens_per_s"), runs.get("vllm", {}).get("tokens_per_s")
    if not (hf and fast):
        return f"- trajectory: vllm >= {GOAL:g}x hf's tokens/s: not measured (both engines are needed)"
    return f"- trajectory: vllm at {fast / hf:.2f}x hf's tokens/s (goal >= {GOAL:g}x: {'met' if fast / hf >= GOAL else 'missed'})"


def report(measured: dict[str, dict], refused: dict[str, str], command: str) -> str:
    lines = ["# Generation: HF do_predict vs vLLM", ""]
    if "hf" in refused:
        return "\n".join(lines + [
            f"Figures: not measured: {refused['hf']}.",
            "",
            "On a CUDA machine: `pip install -e '.[vllm]'`, then `python -m bench.generation` (trajectory: 4 x 60 validation",
            f"prompts at up to 2,048 new tokens; telecom: validation + scenarios), or `{QUICK}` for a short run.",
        ]) + "\n"
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    lines += [f"Written by `{command}` on {machine()}, {today}.", ""]
    for task, figures in measured.items():
        settings = ", ".join(f"{k} {v}" for k, v in figures["settings"].items() if k != "batch_size")
        lines.append(f"- {task}: {figures['model']}; {settings}; hf batch {figures['settings'].get('batch_size', 8)}")
    lines += ["", *run_rows(measured), "", "Goal:", goal_line(measured)]
    if "vllm" in refused:
        lines += ["", f"vLLM side refused: {refused['vllm']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks (default: trajectory,telecom)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines: hf, vllm")
    parser.add_argument("--prompts", type=int, help="only the first N prompts of each dataset (LLaMA-Factory's max_samples)")
    parser.add_argument("--max-new-tokens", type=int, help="instead of each task's predict.max_new_tokens")
    parser.add_argument("--model", help="a local model directory instead of random weights in each task's model shape")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the table goes (default: bench/results/generation.md)")
    args = parser.parse_args(argv)

    from pipelines.core.atomic import write_text

    refused = refusals()
    for engine, why in refused.items():
        print(f"{engine} side refused: {why}", flush=True)
    engines = [engine for engine in args.engines.split(",") if engine not in refused]
    overrides = {key: value for key, value in (("max_samples", args.prompts), ("max_new_tokens", args.max_new_tokens)) if value}
    measured = {name: measure_task(name, engines, args.model, overrides) for name in args.tasks.split(",")} if engines and "hf" not in refused else {}
    command = "python -m bench.generation " + " ".join(sys.argv[1:] if argv is None else argv)
    text = report(measured, refused, command.strip())
    write_text(args.results, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
