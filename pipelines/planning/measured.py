"""The measured table, recipes/measured.yaml: real training runs beside what the estimator says of each.

Like litgpt's config_hub README: every row names the machine, the versions and the date it was measured
on. `python -m bench.recipes --record` appends a session; tests/pipelines/planning/test_measured.py holds
the estimator to every row.
"""

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import RECIPES_DIR
from pipelines.core.schema import load_schema, load_yaml_validated, schema_problems
from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.estimate import (
    DEFAULT_OPTIM,
    OPTIM_LABELS,
    PAGED_ADAMW_8BIT,
    Estimate,
    estimate_memory,
)

MEASURED_FILE = RECIPES_DIR / "measured.yaml"
# How far the estimate (less its overhead) may be from a measured peak allocated.
TOLERANCE = 0.15


@dataclass(frozen=True)
class MeasuredRun:
    machine: str
    date: str
    task: str
    model: str
    run: str
    method: str
    bits: int
    lora_rank: int
    batch: int
    accumulation: int
    gradient_checkpointing: bool
    packing: bool
    attention: str
    seq_len: int
    seq_len_from: str
    tokens_per_s: float
    peak_allocated_gb: float
    lora_target: str = "all"
    optim: str = DEFAULT_OPTIM
    peak_reserved_gb: float | None = None

    def estimate(self) -> Estimate:
        return estimate_memory(
            resolve_architecture(self.model),
            self.method,
            self.bits,
            seq_len=self.seq_len,
            batch=self.batch,
            gradient_checkpointing=self.gradient_checkpointing,
            lora_rank=self.lora_rank,
            lora_target=self.lora_target,
            optim=self.optim,
        )

    def estimated_allocated_gb(self) -> float:
        """The estimate less its overhead: max_memory_allocated sees neither the CUDA context nor fragmentation,
        nor paged optimizer states (CUDA unified memory, outside PyTorch's allocator)."""
        est = self.estimate()
        paged = est.optimizer if self.optim == PAGED_ADAMW_8BIT else 0
        return est.peak_gb - est.overhead - paged

    def deviation(self) -> float:
        """Measured over estimated, less one: +0.10 means the estimate is 10% too low."""
        return self.peak_allocated_gb / self.estimated_allocated_gb() - 1

    def settings(self) -> str:
        method = {"full": "full", "lora": "LoRA", "qlora": f"QLoRA-{self.bits}"}[self.method]
        rank = "" if self.method == "full" else f" r{self.lora_rank}"
        packed = ", packed" if self.packing else ""
        optim = "" if self.optim == DEFAULT_OPTIM else f", {OPTIM_LABELS[self.optim]}"
        ckpt = ", ckpt" if self.gradient_checkpointing else ""
        return f"{method}{rank}, {self.batch} × {self.accumulation}{packed}{ckpt}{optim}, {self.attention}"


def load_measured(path: Path = MEASURED_FILE) -> list[MeasuredRun]:
    data = load_yaml_validated(path, "measured")
    names = {f.name for f in fields(MeasuredRun)}
    return [
        MeasuredRun(machine=session["machine"], date=session["date"], **{k: v for k, v in run.items() if k in names})
        for session in data["sessions"]
        for run in session["runs"]
    ]


def append_session(session: dict, path: Path = MEASURED_FILE) -> None:
    """Add one session at the end, keeping the file's comments and earlier rows as they are written."""
    problems = schema_problems({"sessions": [session]}, load_schema("measured"))
    if problems:
        raise DomaintuneError("measured session does not match recipes/schema/measured.schema.json:\n  " + "\n  ".join(problems))
    block = yaml.safe_dump([session], allow_unicode=True, sort_keys=False, width=120)
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n" + "".join(f"  {line}\n" for line in block.splitlines())
    write_text(path, text)


def markdown_rows(runs: list[MeasuredRun]) -> list[str]:
    lines = [
        "| Machine, date | Task | Model | Run | Settings | Row tokens | Tokens/s | Peak allocated | Estimate less overhead | Off by |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        lines.append(
            f"| {run.machine}, {run.date} | {run.task} | {run.model} | {run.run} | {run.settings()} | "
            f"{run.seq_len} ({run.seq_len_from}) | {run.tokens_per_s:,.0f} | {run.peak_allocated_gb:.2f} GB | "
            f"{run.estimated_allocated_gb():.2f} GB | {run.deviation():+.0%} |"
        )
    return lines
