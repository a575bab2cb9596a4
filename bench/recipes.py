"""Generated recipes against LLaMA-Factory's example LoRA recipe and named variants: tokens/s and peak GPU memory.

    python -m bench.recipes                      # every task, the h100 tier's recipe; writes bench/results/recipes.md
    python -m bench.recipes --gpu 4090 --steps 12 --record   # also appends the runs to recipes/measured.yaml
    python -m bench.recipes --gpu 4090 --tasks telecom --runs ours,old \
        --variant "old:telecom:per_device_train_batch_size=2,gradient_accumulation_steps=8,packing=false,neat_packing=false"

For each task: a random-initialised model of the task's real Qwen size (shape from recipes/architectures.yaml
through AutoConfig.for_model + from_config: nothing downloaded; the tokenizer of pipelines.core.tiny_model), the
task's own datasets built into a temporary directory, and two short runs of the function `llamafactory-cli
train` calls on one GPU, stopped by max_steps:
  ours     the recipe `domaintune recipe --task T --gpu G` writes;
  example  examples/train_lora/llama3_lora_sft.yaml's settings (LoRA rank 8, batch 1 x 8 accumulation, bf16,
           no packing, default attention, checkpointing on) on the same model, data and cutoff_len;
  NAME     a --variant: our recipe with some LLaMA-Factory arguments changed (e.g. an earlier planner's batch).
Each run counts non-padding input tokens at the embedding layer over the steps after warm-up, reads
torch.cuda.max_memory_allocated, and notes the micro-batch with the most tokens (rows x padded length),
which is what the peak is estimated for; every run is a fresh subprocess, so one run's memory is not the next's.

Goals (issue 10): telecom on the 4090 tier at >= 4x the tokens/s of the old 2 x 8 recipe; every measured peak
within 15% of the estimate. max_memory_allocated sees neither the CUDA context nor allocator fragmentation,
which the estimate's "overhead" adds, so the peak is compared with the estimate less that overhead.
Without CUDA nothing is measured (exit 0); the estimates, which are arithmetic, are still written.
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from transformers import TrainerCallback

from pipelines.core.paths import REPO_ROOT

RESULTS = Path(__file__).parent / "results" / "recipes.md"
MEMORY_GOAL = 0.15
VERSIONED = ("torch", "llamafactory", "transformers", "peft", "flash_attn")
ATTENTION_NAMES = {"flash_attention_2": "fa2", "sdpa": "sdpa", "eager": "eager"}
# examples/train_lora/llama3_lora_sft.yaml in LLaMA-Factory, less its model, dataset and output sections.
EXAMPLE_SETTINGS = {
    "stage": "sft",
    "do_train": True,
    "finetuning_type": "lora",
    "lora_rank": 8,
    "lora_target": "all",
    "per_device_train_batch_size": 1,
    "gradient_accumulation_steps": 8,
    "learning_rate": 1.0e-4,
    "lr_scheduler_type": "cosine",
    "warmup_ratio": 0.1,
    "bf16": True,
    "ddp_timeout": 180000000,
}
# Only what a timed run needs changed: no checkpoints, no evaluation, no plots.
RUN_SETTINGS = {
    "save_strategy": "no",
    "eval_strategy": "no",
    "logging_steps": 1,
    "plot_loss": False,
    "report_to": "none",
    "overwrite_output_dir": True,
}


def single_gpu_tiers() -> list[str]:
    from pipelines.core.gpus import load_tiers

    return [name for name, tier in load_tiers().items() if tier.backend == "cuda" and tier.devices == 1]


# --- what the CPU can say: the recipes and their estimates -------------------------------------------


def example_estimate(task, arch, row_tokens: int):
    from pipelines.planning.estimate import estimate_memory

    return estimate_memory(
        arch,
        "lora",
        16,
        seq_len=row_tokens,
        batch=EXAMPLE_SETTINGS["per_device_train_batch_size"],
        gradient_checkpointing=True,
        lora_rank=EXAMPLE_SETTINGS["lora_rank"],
    )


def estimate_rows(tier_name: str, names: list[str]) -> list[dict]:
    """Per task: our recipe on the tier (as the recipes table shows it), planned from the shipped data's lengths."""
    from pipelines.core.gpus import get_tier
    from pipelines.core.tasks import load_task
    from pipelines.planning.architectures import resolve_architecture
    from pipelines.planning.recipe import plan_for
    from pipelines.planning.recipe_table import COLUMNS, RecipeRow, shipped_lengths

    rows = []
    for name in names:
        task = load_task(name)
        model = task.model["base"]
        arch = resolve_architecture(model)
        plan = plan_for(task, get_tier(tier_name), arch, shipped_lengths(task))
        cells = {column.title: column.cell(RecipeRow(name, model, get_tier(tier_name), plan)) for column in COLUMNS}
        example = example_estimate(task, arch, plan.batching.lengths.longest_row)
        rows.append({"task": task, "plan": plan, "cells": cells, "example": example})
    return rows


# --- what only a GPU can say ------------------------------------------------------------------------


def build_model(arch, out_dir: Path) -> Path:
    """Random weights in the real shape, saved with the Qwen tokenizer; bf16, as the recipes train."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from pipelines.core.tiny_model import TOKENIZER_FILES, tokenizer_dir

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    config = AutoConfig.for_model(
        arch.model_type,
        hidden_size=arch.hidden_size,
        intermediate_size=arch.intermediate_size,
        num_hidden_layers=arch.num_hidden_layers,
        num_attention_heads=arch.num_attention_heads,
        num_key_value_heads=arch.num_key_value_heads,
        head_dim=arch.head_dim,
        vocab_size=arch.vocab_size,
        tie_word_embeddings=arch.tie_word_embeddings,
        attention_bias=arch.attention_bias,
        max_position_embeddings=32768,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out_dir)
    for name in TOKENIZER_FILES:
        shutil.copyfile(tokenizer_dir() / name, out_dir / name)
    return out_dir


def run_configs(task, tier_name: str, model_dir: Path, dataset_dir: Path, work: Path, steps: int, variants: dict) -> dict[str, dict]:
    """Every run's LLaMA-Factory arguments: our recipe, the example's settings and each variant; same model and data."""
    from pipelines.core.gpus import get_tier
    from pipelines.core.models import ModelChoice
    from pipelines.planning.recipe import ChatFormat, data_section, training_recipe

    ours = training_recipe(task, get_tier(tier_name), ModelChoice(str(model_dir)), output_dir=work / "ours").args
    example = {
        "model_name_or_path": str(model_dir),
        "trust_remote_code": True,
        **EXAMPLE_SETTINGS,
        **data_section(task, ChatFormat(task.model["template"], task.model["enable_thinking"]), dataset=task.dataset_name("train")),
        "output_dir": str(work / "example"),
    }
    shared = {**RUN_SETTINGS, "dataset_dir": str(dataset_dir), "max_steps": steps}
    runs = {"ours": {**ours, **shared}, "example": {**example, **shared}}
    for name, overrides in variants.items():
        runs[name] = {**ours, **shared, **overrides, "output_dir": str(work / name)}
    return runs


def measure(args: dict, work: Path, warmup: int) -> dict:
    """One training run in a fresh process; its figures, or why it failed."""
    import yaml

    config, result, log = work / "run.yaml", work / "result.json", work / "run.log"
    config.write_text(yaml.safe_dump(args, allow_unicode=True), encoding="utf-8")
    command = [sys.executable, "-m", "bench.recipes", "--worker", str(config), "--result", str(result), "--warmup", str(warmup)]
    with open(log, "w", encoding="utf-8") as out:
        code = subprocess.call(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    if code != 0 or not result.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"failed": f"exit code {code}: {tail[0][:200]}"}
    return json.loads(result.read_text(encoding="utf-8"))


def measure_task(row: dict, tier_name: str, steps: int, warmup: int, run_names: list[str], variants: dict) -> dict[str, dict]:
    from pipelines.core.paths import WORKSPACE_ENV, dataset_dir
    from pipelines.data.build import build_task
    from pipelines.planning.architectures import resolve_architecture

    task = row["task"]
    with tempfile.TemporaryDirectory(prefix=f"bench-{task.name}-") as tmp:
        work = Path(tmp)
        # The recipe is planned from the length statistics of the datasets it trains on: build them in this
        # run's own workspace, where training_recipe looks for them.
        os.environ[WORKSPACE_ENV] = str(work)
        build_task(task, dataset_dir=dataset_dir())
        model_dir = build_model(resolve_architecture(task.model["base"]), work / "model")
        runs = {}
        configs = run_configs(task, tier_name, model_dir, dataset_dir(), work, steps, variants)
        for name in run_names:
            if name not in configs:
                continue  # a variant of another task
            (work / name).mkdir(exist_ok=True)
            runs[name] = {**measure(configs[name], work / name, warmup), "settings": _settings(configs[name])}
            print(f"{task.name} {name}: {runs[name]}", flush=True)
        return runs


def _settings(args: dict) -> dict:
    """What the estimator needs of a run's LLaMA-Factory arguments."""
    from pipelines.planning.estimate import DEFAULT_OPTIM

    bits = args.get("quantization_bit") or 16
    method = "qlora" if args.get("quantization_bit") else args["finetuning_type"]
    return {
        "method": method,
        "bits": bits,
        "lora_rank": args.get("lora_rank", 8),
        "lora_target": args.get("lora_target", "all"),
        "optim": args.get("optim", DEFAULT_OPTIM),
        "batch": args["per_device_train_batch_size"],
        "accumulation": args["gradient_accumulation_steps"],
        "gradient_checkpointing": not args.get("disable_gradient_checkpointing", False),
        "packing": bool(args.get("packing", False)),
    }


class Probe(TrainerCallback):
    """Counts non-padding tokens and times the steps after warm-up."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.tokens = 0
        self.start = None
        self.figures = {}

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        import torch

        self.pad = processing_class.pad_token_id
        self.attention = model.config._attn_implementation
        self.largest = (0, 0)  # rows, padded length of the micro-batch with the most tokens
        model.get_input_embeddings().register_forward_pre_hook(self._count)
        torch.cuda.reset_peak_memory_stats()

    def _count(self, module, inputs):
        rows, length = inputs[0].shape[:2]
        if rows * length > self.largest[0] * self.largest[1]:
            self.largest = (int(rows), int(length))
        if self.start is not None:  # gradient checkpointing recomputes layers, never the embedding lookup
            self.tokens += int((inputs[0] != self.pad).sum())

    def on_step_end(self, args, state, control, **kwargs):
        import torch

        if state.global_step == self.warmup:
            torch.cuda.synchronize()
            self.start, self.first_step = time.perf_counter(), state.global_step

    def on_train_end(self, args, state, control, **kwargs):
        import torch

        torch.cuda.synchronize()
        seconds = time.perf_counter() - self.start
        self.figures = {
            "steps": state.global_step - self.first_step,
            "tokens": self.tokens,
            "seconds": seconds,
            "tokens_per_s": self.tokens / seconds,
            "peak_allocated_gb": torch.cuda.max_memory_allocated() / 2**30,
            "peak_reserved_gb": torch.cuda.max_memory_reserved() / 2**30,
            "attention": ATTENTION_NAMES.get(self.attention, self.attention),
            "largest_batch": self.largest[0],
            "largest_row": self.largest[1],
        }


def worker(config: Path, result: Path, warmup: int) -> None:
    from llamafactory.train.tuner import run_exp
    from omegaconf import OmegaConf

    from pipelines.core.atomic import write_json

    probe = Probe(warmup)
    run_exp(OmegaConf.to_container(OmegaConf.load(config)), callbacks=[probe])
    write_json(result, probe.figures)


# --- report -----------------------------------------------------------------------------------------


def no_gpu_reason() -> str | None:
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return f"this torch build ({torch.__version__}) has no CUDA support"
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device"


def estimate_table(rows: list[dict]) -> list[str]:
    lines = [
        "| Task | Method | Batch × accum | Row tokens | Checkpointing | Our estimate | Example estimate (LoRA r8, 1 × 8, ckpt on) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = row["cells"]
        lines.append(
            f"| {row['task'].name} | {cells['Method']} | {cells['Batch × accum']} | {cells['Row tokens']} | "
            f"{cells['Checkpointing']} | {cells['Estimate']} | {row['example'].peak_gb:.1f} GB |"
        )
    return lines


def measured_runs(rows: list[dict], measured: dict[str, dict], machine: str, date: str) -> list:
    """Each successful run as a MeasuredRun: its estimate is taken at the largest micro-batch the run saw."""
    from pipelines.planning.measured import MeasuredRun

    runs = []
    for row in rows:
        task = row["task"]
        for name, run in measured[task.name].items():
            if "failed" in run:
                continue
            runs.append(
                MeasuredRun(
                    machine=machine,
                    date=date,
                    task=task.name,
                    model=task.model["base"],
                    run=name,
                    **{**run["settings"], "batch": run["largest_batch"]},
                    attention=run["attention"],
                    seq_len=run["largest_row"],
                    seq_len_from=f"the largest micro-batch seen: {run['largest_batch']} x {run['largest_row']} tokens",
                    tokens_per_s=round(run["tokens_per_s"], 1),
                    peak_allocated_gb=round(run["peak_allocated_gb"], 3),
                    peak_reserved_gb=round(run["peak_reserved_gb"], 3),
                )
            )
    return runs


def failures(measured: dict[str, dict]) -> list[str]:
    return [f"- {task} {name}: failed: {run['failed']}" for task, runs in measured.items() for name, run in runs.items() if "failed" in run]


def goal_lines(runs: list) -> list[str]:
    lines = []
    ours = {run.task: run for run in runs if run.run == "ours"}
    for run in runs:
        if run.run != "ours" and run.task in ours:
            ratio = ours[run.task].tokens_per_s / run.tokens_per_s
            lines.append(f"- {run.task}: ours at {ratio:.2f}x the tokens/s of {run.run}")
    for run in runs:
        verdict = "met" if abs(run.deviation()) <= MEMORY_GOAL else "missed"
        lines.append(f"- {run.task} {run.run}: peak {run.deviation():+.0%} from the estimate (goal within ±{MEMORY_GOAL:.0%}: {verdict})")
    return lines


def machine_name() -> str:
    import torch

    count = torch.cuda.device_count()
    return f"{torch.cuda.get_device_name(0)} ({count} GPU{'s' if count > 1 else ''})"


def versions() -> dict[str, str]:
    import torch

    found = {"torch": f"{torch.__version__} (CUDA {torch.version.cuda})"}
    for name in VERSIONED[1:]:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def session(runs: list, command: str) -> dict:
    from dataclasses import asdict

    rows = [{k: v for k, v in asdict(run).items() if k not in ("machine", "date") and v is not None} for run in runs]
    return {"machine": runs[0].machine, "date": runs[0].date, "versions": versions(), "command": command, "runs": rows}


def report(tier_name: str, rows: list[dict], measured: dict[str, dict] | None, why_not: str | None, steps: int, warmup: int) -> str:
    import torch

    from pipelines.planning.measured import markdown_rows

    device = machine_name() if measured is not None else "no GPU"
    lines = [
        "# Recipes: generated vs LLaMA-Factory's example and variants",
        "",
        (
            f"Written by `python -m bench.recipes --gpu {tier_name}` on this machine "
            f"({device}; torch {torch.__version__}, Python {platform.python_version()})."
        ),
        "",
        "## Estimates (arithmetic, any machine)",
        "",
        *estimate_table(rows),
        "",
        "## Measured",
        "",
    ]
    if measured is None:
        lines.append(f"GPU figures were not measured on this machine: {why_not}. Run `python -m bench.recipes --gpu TIER` on a CUDA machine.")
        return "\n".join(lines) + "\n"
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    runs = measured_runs(rows, measured, machine_name(), today)
    lines += [
        f"{steps} optimizer steps per run; tokens/s and time over the last {steps - warmup} (after {warmup} warm-up).",
        "",
        *markdown_rows(runs),
        *failures(measured),
        "",
        "Goals:",
        *goal_lines(runs),
    ]
    return "\n".join(lines) + "\n"


def parse_variant(text: str) -> tuple[str, str, dict]:
    """NAME:TASK:key=value,key=value (values read as YAML: 8, false, fa2)."""
    try:
        name, task, assignments = text.split(":", 2)
        overrides = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in assignments.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME:TASK:key=value[,key=value...]") from None
    return name, task, overrides


def main(argv: list[str] | None = None) -> int:
    from pipelines.core.tasks import task_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", default="h100", choices=single_gpu_tiers(), help="tier whose recipe runs; this machine's card")
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="steps left out of the timing")
    parser.add_argument("--tasks", default=",".join(task_names()), help="comma-separated tasks (default: all)")
    parser.add_argument("--runs", default="ours,example", help="comma-separated runs: ours, example, variant names")
    parser.add_argument("--variant", action="append", type=parse_variant, default=[], help="NAME:TASK:key=value,...")
    parser.add_argument("--record", action="store_true", help="append the measured runs to recipes/measured.yaml")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.result, args.warmup)
        return 0
    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")

    from pipelines.core.atomic import write_text
    from pipelines.planning.measured import append_session

    rows = estimate_rows(args.gpu, args.tasks.split(","))
    why_not = no_gpu_reason()
    measured = None
    if why_not is None:
        measured = {}
        for row in rows:
            variants = {name: overrides for name, task, overrides in args.variant if task == row["task"].name}
            measured[row["task"].name] = measure_task(row, args.gpu, args.steps, args.warmup, args.runs.split(","), variants)
    text = report(args.gpu, rows, measured, why_not, args.steps, args.warmup)
    write_text(RESULTS, text)
    print(text, end="")
    if measured is not None and args.record:
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        runs = measured_runs(rows, measured, machine_name(), today)
        if runs:
            append_session(session(runs, "python -m bench.recipes " + " ".join(sys.argv[1:] if argv is None else argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
