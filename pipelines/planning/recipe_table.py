"""The recipe of every task on every GPU tier, as rows for `domaintune recipes` and recipes/README.md.

Each row is the planner's choice for the task's base model, whose shape comes from
recipes/architectures.yaml: nothing is downloaded and no model is built. The token lengths it plans
from are measured on the task's shipped data, built into a temporary folder (the workspace's datasets
may hold other inputs), so the table depends on the repository alone. The columns, their meaning
and the README around them are defined once here, so the printed table and the file cannot disagree.
"""

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import GpuTier, load_tiers
from pipelines.core.paths import RECIPES_DIR
from pipelines.core.tasks import Task, load_task, task_names
from pipelines.data.build import build_task
from pipelines.data.lengths import LengthStats
from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.estimate import (
    DEFAULT_OPTIM,
    ESTIMATOR_ASSUMPTIONS,
    METHOD_LABELS,
    PUBLISHED_HARDWARE_TABLE,
    PUBLISHED_SIZES,
    PUBLISHED_TABLE_SETTINGS,
    estimate_memory,
)
from pipelines.planning.measured import TOLERANCE, load_measured, markdown_rows
from pipelines.planning.plan import (
    HEADROOM,
    Plan,
    PlanError,
    PlanRequest,
    plan_training,
    usable_gb,
)

README_FILE = RECIPES_DIR / "README.md"
_METHOD_NAMES = {"full": "Full", "lora": "LoRA", "qlora": "QLoRA"}
_NO_PLAN = "—"


@dataclass(frozen=True)
class RecipeRow:
    task: str
    model: str
    tier: GpuTier
    plan: Plan | None
    """None when no method fits the tier."""
    fits_on: str | None = None
    """Without a plan: the smallest tier where the task does fit, if any does."""
    error: str | None = None
    """Without a plan: why the task cannot be planned at all (a task error, not a memory limit)."""
    task_rank: int | None = None
    """The task's own LoRA rank, which the plan may have had to lower."""


def method_cell(row: RecipeRow) -> str:
    if row.error:
        return f"error: {row.error}"
    if row.plan is None:
        return f"does not fit → {row.fits_on}" if row.fits_on else "does not fit any tier"
    plan = row.plan
    name = _METHOD_NAMES[plan.method] + (f"-{plan.quantization_bit}" if plan.quantization_bit else "")
    label = f"{name} {plan.precision}"
    if plan.estimate.zero_stage:
        label += f" + ZeRO-{plan.estimate.zero_stage}" + (" offload" if plan.estimate.offload else "")
    if plan.optim != DEFAULT_OPTIM:
        label += " + 8-bit Adam"
    if plan.lora_rank and row.task_rank and plan.lora_rank != row.task_rank:
        label += f", rank {plan.lora_rank} (task: {row.task_rank})"
    return label


def batch_cell(row: RecipeRow) -> str:
    if row.plan is None:
        return _NO_PLAN
    plan = row.plan
    cell = f"{plan.per_device_train_batch_size} × {plan.gradient_accumulation_steps}"
    if row.tier.devices > 1:
        cell += f" × {row.tier.devices} GPUs"
    return cell + (", packed" if plan.packing else "")


def lengths_cell(row: RecipeRow) -> str:
    if row.plan is None:
        return _NO_PLAN
    batching = row.plan.batching
    lengths = batching.lengths
    if not lengths.measured:
        return f"{batching.row_tokens} (cutoff_len)"
    if batching.packing:
        return f"{batching.row_tokens} packed, {batching.samples_per_row:.1f}/row"
    return f"{batching.row_tokens} (p50 {lengths.quantiles[50]})"


def samples_cell(row: RecipeRow) -> str:
    if row.plan is None:
        return _NO_PLAN
    return f"{row.plan.samples_per_step:.0f}"


def checkpointing_cell(row: RecipeRow) -> str:
    if row.plan is None:
        return _NO_PLAN
    return "on" if row.plan.gradient_checkpointing else "off"


def estimate_cell(row: RecipeRow) -> str:
    if row.plan is None:
        return _NO_PLAN
    return f"{row.plan.estimate.peak_gb:.1f} / {usable_gb(row.tier):.1f} GB"


@dataclass(frozen=True)
class Column:
    title: str
    meaning: str
    cell: Callable[[RecipeRow], str]


COLUMNS = (
    Column("Task", "a task in recipes/tasks/", lambda row: row.task),
    Column("Model", "the task's base model (`model.base`)", lambda row: row.model),
    Column("Tier", "a GPU tier in recipes/gpus.yaml", lambda row: row.tier.name),
    Column(
        "Method",
        "what the planner chose: full fine-tuning, LoRA or QLoRA-8/4 (bitsandbytes), with the training "
        "precision (bf16/fp16 mixed precision, pure_bf16, fp32) and the DeepSpeed ZeRO stage on multi-GPU "
        "tiers; the last resorts, paged 8-bit Adam and a LoRA rank below the task's, are named; when nothing "
        "fits, the smallest tier that does",
        method_cell,
    ),
    Column(
        "Batch × accum",
        "per-device batch × gradient accumulation steps (× GPUs): the task's effective batch; \"packed\" means "
        "several short samples share each row (neat packing), and then these count rows, not samples",
        batch_cell,
    ),
    Column(
        "Samples / step",
        "samples each optimizer step trains: the effective batch, or packed rows times the samples a row holds on "
        "average, kept within 25% of the effective batch (packed rows are shortened below cutoff_len where a full "
        "one would hold too many)",
        samples_cell,
    ),
    Column(
        "Row tokens",
        "tokens per row of a micro-batch that memory is planned for, from the training set's measured lengths "
        "(the task's chat template, the Qwen tokenizer): the longest sample padded to a multiple of 8, with the "
        "median sample beside it, or a packed row of cutoff_len + 1 (the packed cutoff_len, when shorter) with the "
        "samples each row holds on average "
        "(\"cutoff_len\" when the data did not build and nothing was measured)",
        lengths_cell,
    ),
    Column(
        "Checkpointing",
        "gradient checkpointing, on when the larger batch it allows is worth recomputing every layer",
        checkpointing_cell,
    ),
    Column(
        "Estimate",
        f"estimated peak memory per device / the tier's usable memory ({HEADROOM:.0%} kept free)",
        estimate_cell,
    ),
)


def recipe_rows(tasks: list[Task] | None = None) -> list[RecipeRow]:
    """One row per task × tier, tasks in name order and tiers in gpus.yaml order."""
    tiers = load_tiers()
    rows = []
    for task in tasks if tasks is not None else [load_task(name) for name in task_names()]:
        rows += _task_rows(task, tiers)
    return rows


_STATS: dict[str, LengthStats | None] = {}


def shipped_lengths(task: Task) -> LengthStats | None:
    """The training set's length statistics, built from the task's own inputs; None when they do not build."""
    key = json.dumps(task.config, sort_keys=True, default=str)
    if key not in _STATS:
        with tempfile.TemporaryDirectory(prefix=f"lengths-{task.name}-") as tmp:
            try:
                _STATS[key] = build_task(task, dataset_dir=Path(tmp), quiet=True).lengths.get(task.dataset_name("train"))
            except DomaintuneError:
                _STATS[key] = None  # planned at cutoff_len; the row says so
    return _STATS[key]


def _task_rows(task: Task, tiers: dict[str, GpuTier]) -> list[RecipeRow]:
    model = task.model["base"]
    arch = resolve_architecture(model)
    stats = shipped_lengths(task)
    plans, errors = {}, {}
    for name, tier in tiers.items():
        try:
            plans[name] = plan_training(PlanRequest.from_task(task.train, arch, stats, "the data did not build"), tier)
        except PlanError:
            plans[name] = None
        except DomaintuneError as exc:  # one bad task (or tier) must not take the whole table down
            plans[name], errors[name] = None, str(exc)
    # The planner's own rule for its error message: the smallest GPU tier by total memory that fits.
    fitting = [tier for tier in tiers.values() if plans[tier.name] is not None and tier.backend != "cpu"]
    fits_on = min(fitting, key=lambda tier: tier.total_memory_gb).name if fitting else None
    return [
        RecipeRow(task.name, model, tier, plans[name], None if plans[name] else fits_on, errors.get(name), task.train.get("lora_rank"))
        for name, tier in tiers.items()
    ]


def render_readme(rows: list[RecipeRow]) -> str:
    lines = [
        "<!-- generated by `domaintune recipes`, do not edit -->",
        "# Training recipes per task and GPU tier",
        "",
        ("Generated by `domaintune recipes` from recipes/tasks/, recipes/gpus.yaml and recipes/architectures.yaml; "
         "do not edit: change those files and regenerate. `domaintune recipe --task TASK --gpu TIER` writes one "
         "row as a LLaMA-Factory YAML with the reason for each choice, and `domaintune validate FILE` checks "
         "such a file with LLaMA-Factory's own argument parser."),
        "",
        *_markdown_table([column.title for column in COLUMNS], [[column.cell(row) for column in COLUMNS] for row in rows]),
        "",
        "## Columns",
        "",
        *(f"- **{column.title}**: {column.meaning}." for column in COLUMNS),
        "",
        "## Estimator assumptions",
        "",
        ESTIMATOR_ASSUMPTIONS,
        "",
        "The recipes above use each task's own measured token lengths, LoRA rank, batch and checkpointing instead.",
        "",
        *_measured_section(),
        "",
        *_published_comparison(),
    ]
    return "\n".join(lines) + "\n"


def write_readme(rows: list[RecipeRow], path: Path = README_FILE) -> Path:
    write_text(path, render_readme(rows))
    return path


def _measured_section() -> list[str]:
    return [
        "## Measured on real GPUs",
        "",
        (
            "Real training runs from recipes/measured.yaml (written by `make bench-gpu`): random-initialised models "
            "of the real Qwen shapes on the shipped data. Peak allocated is torch.cuda.max_memory_allocated, which "
            "sees neither the CUDA context nor fragmentation, so it is compared with the estimate less its overhead; "
            f"tests/pipelines/planning/test_measured.py keeps every row within {TOLERANCE:.0%}."
        ),
        "",
        *markdown_rows(load_measured()),
    ]


def _published_comparison() -> list[str]:
    settings = ", ".join(f"{key} {value}" for key, value in PUBLISHED_TABLE_SETTINGS.items())
    header = ["Method", "Bits", *PUBLISHED_SIZES]
    body, deviations = [], []
    for (method, bits), published in PUBLISHED_HARDWARE_TABLE.items():
        cells = [METHOD_LABELS[method], str(bits)]
        for size, gb in zip(PUBLISHED_SIZES, published, strict=True):
            ours = estimate_memory(resolve_architecture(size), method, bits, **PUBLISHED_TABLE_SETTINGS).peak_gb
            deviations.append(abs(ours - gb) / gb)
            cells.append(f"{gb} ({ours:.0f})")
        body.append(cells)
    return [
        "## Checked against LLaMA-Factory's hardware table",
        "",
        ("LLaMA-Factory's README publishes the GB a method needs at each model size (\"Hardware Requirement\"). "
         f"Each cell shows that figure and, in parentheses, this estimator's under the same settings ({settings}) "
         f"for a Qwen2.5-shaped model of that size. Largest difference: {max(deviations):.0%} "
         "(tests/pipelines/planning/test_estimate.py checks every cell against its tolerance)."),
        "",
        *_markdown_table(header, body),
    ]


def _markdown_table(header: list[str], body: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(cells) + " |" for cells in body),
    ]
