"""Generated recipes against LLaMA-Factory's example LoRA recipe: training tokens/s and peak GPU memory.

    python -m bench.recipes                      # every task, the h100 tier's recipe; writes bench/results/recipes.md
    python -m bench.recipes --gpu 4090 --steps 12

For each task: a random-initialised model of the task's real Qwen size (shape from recipes/architectures.yaml
through AutoConfig.for_model + from_config: nothing downloaded; the tokenizer of pipelines.core.tiny_model), the
task's own datasets built into a temporary directory, and two short runs of the function `llamafactory-cli
train` calls on one GPU, stopped by max_steps:
  ours     the recipe `domaintune recipe --task T --gpu G` writes;
  example  examples/train_lora/llama3_lora_sft.yaml's settings (LoRA rank 8, batch 1 x 8 accumulation, bf16,
           no packing, default attention, checkpointing on) on the same model, data and cutoff_len.
Each run counts non-padding input tokens at the embedding layer over the steps after warm-up, and reads
torch.cuda.max_memory_allocated; every run is a fresh subprocess, so one run's memory is not the next's.

Goals: ours >= 1.3x the example's tokens/s on short-sample tasks; measured peak within 15% of the estimate.
max_memory_allocated sees neither the CUDA context nor allocator fragmentation, which the estimate's
"overhead" adds, so the peak is compared with the estimate less that overhead (both are reported).
Without CUDA nothing is measured; the estimates, which are arithmetic, are still written.
"""

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from transformers import TrainerCallback

from pipelines.core.paths import REPO_ROOT

RESULTS = Path(__file__).parent / "results" / "recipes.md"
SPEEDUP_GOAL = 1.3
MEMORY_GOAL = 0.15
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


def example_estimate(task, arch):
    from pipelines.planning.estimate import estimate_memory

    return estimate_memory(
        arch,
        "lora",
        16,
        cutoff_len=task.train["cutoff_len"],
        batch=EXAMPLE_SETTINGS["per_device_train_batch_size"],
        gradient_checkpointing=True,
        lora_rank=EXAMPLE_SETTINGS["lora_rank"],
    )


def estimate_rows(tier_name: str) -> list[dict]:
    """Per task: our recipe on the tier (as the recipes table shows it) and both estimates."""
    from pipelines.core.gpus import get_tier
    from pipelines.core.tasks import load_task, task_names
    from pipelines.planning.architectures import resolve_architecture
    from pipelines.planning.recipe import plan_for
    from pipelines.planning.recipe_table import COLUMNS, RecipeRow

    rows = []
    for name in task_names():
        task = load_task(name)
        model = task.model["base"]
        plan = plan_for(task, get_tier(tier_name), resolve_architecture(model))
        cells = {column.title: column.cell(RecipeRow(name, model, get_tier(tier_name), plan)) for column in COLUMNS}
        rows.append({"task": task, "plan": plan, "cells": cells, "example": example_estimate(task, resolve_architecture(model))})
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


def run_configs(task, tier_name: str, model_dir: Path, dataset_dir: Path, work: Path, steps: int) -> dict[str, dict]:
    """Both runs' LLaMA-Factory arguments: our recipe and the example's settings, same model and data."""
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
    return {"ours": {**ours, **shared}, "example": {**example, **shared}}


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


def measure_task(row: dict, tier_name: str, steps: int, warmup: int) -> dict[str, dict]:
    from pipelines.data.build import build_task
    from pipelines.planning.architectures import resolve_architecture

    task = row["task"]
    with tempfile.TemporaryDirectory(prefix=f"bench-{task.name}-") as tmp:
        work = Path(tmp)
        dataset_dir = work / "datasets"
        build_task(task, dataset_dir=dataset_dir)
        model_dir = build_model(resolve_architecture(task.model["base"]), work / "model")
        runs = {}
        for name, args in run_configs(task, tier_name, model_dir, dataset_dir, work, steps).items():
            (work / name).mkdir(exist_ok=True)
            runs[name] = measure(args, work / name, warmup)
            print(f"{task.name} {name}: {runs[name]}", flush=True)
        return runs


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
        model.get_input_embeddings().register_forward_pre_hook(self._count)
        torch.cuda.reset_peak_memory_stats()

    def _count(self, module, inputs):
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
            "attention": self.attention,
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
        "| Task | Method | Batch × accum | Checkpointing | Our estimate | Example estimate (LoRA r8, 1 × 8, ckpt on) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = row["cells"]
        lines.append(
            f"| {row['task'].name} | {cells['Method']} | {cells['Batch × accum']} | {cells['Checkpointing']} | "
            f"{cells['Estimate']} | {row['example'].peak_gb:.1f} GB |"
        )
    return lines


def measured_table(rows: list[dict], measured: dict[str, dict]) -> list[str]:
    lines = [
        "| Task | Run | Attention | Steps | Tokens/s | Peak allocated | Estimate less overhead (peak) | Off by |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        estimates = {"ours": row["plan"].estimate, "example": row["example"]}
        for name, run in measured[row["task"].name].items():
            if "failed" in run:
                lines.append(f"| {row['task'].name} | {name} | failed: {run['failed']} | | | | | |")
                continue
            est = estimates[name]
            allocated = est.peak_gb - est.overhead
            lines.append(
                f"| {row['task'].name} | {name} | {run['attention']} | {run['steps']} | {run['tokens_per_s']:,.0f} | "
                f"{run['peak_allocated_gb']:.2f} GB | {allocated:.2f} GB ({est.peak_gb:.2f}) | "
                f"{run['peak_allocated_gb'] / allocated - 1:+.0%} |"
            )
    return lines


def goal_lines(rows: list[dict], measured: dict[str, dict]) -> list[str]:
    lines = []
    for row in rows:
        task, runs = row["task"], measured[row["task"].name]
        if any("failed" in run for run in runs.values()):
            lines.append(f"- {task.name}: a run failed, no verdict")
            continue
        speedup = runs["ours"]["tokens_per_s"] / runs["example"]["tokens_per_s"]
        short = task.train.get("short_samples", False)
        verdict = ("met" if speedup >= SPEEDUP_GOAL else "missed") if short else "no goal: samples are not short"
        lines.append(f"- {task.name}: ours {speedup:.2f}x the example's tokens/s (goal ≥{SPEEDUP_GOAL}x: {verdict})")
        for name, est in (("ours", row["plan"].estimate), ("example", row["example"])):
            off = runs[name]["peak_allocated_gb"] / (est.peak_gb - est.overhead) - 1
            lines.append(f"- {task.name} {name}: peak {off:+.0%} from the estimate (goal within ±{MEMORY_GOAL:.0%}: {'met' if abs(off) <= MEMORY_GOAL else 'missed'})")
    return lines


def report(tier_name: str, rows: list[dict], measured: dict[str, dict] | None, why_not: str | None, steps: int, warmup: int) -> str:
    import torch

    device = torch.cuda.get_device_name(0) if measured is not None else "no GPU"
    lines = [
        "# Recipes: generated vs LLaMA-Factory's example",
        "",
        f"Written by `python -m bench.recipes --gpu {tier_name}` on this machine "
        f"({device}; torch {torch.__version__}, Python {platform.python_version()}).",
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
    else:
        lines += [
            f"{steps} optimizer steps per run; tokens/s and time over the last {steps - warmup} (after {warmup} warm-up).",
            "",
            *measured_table(rows, measured),
            "",
            "Goals:",
            *goal_lines(rows, measured),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", default="h100", choices=single_gpu_tiers(), help="tier whose recipe runs; this machine's card")
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="steps left out of the timing")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.result, args.warmup)
        return 0
    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")

    from pipelines.core.atomic import write_text

    rows = estimate_rows(args.gpu)
    why_not = no_gpu_reason()
    measured = None
    if why_not is None:
        measured = {row["task"].name: measure_task(row, args.gpu, args.steps, args.warmup) for row in rows}
    text = report(args.gpu, rows, measured, why_not, args.steps, args.warmup)
    write_text(RESULTS, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
