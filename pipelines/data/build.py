"""`domaintune data`: raw inputs -> validated, de-duplicated, split datasets registered for LLaMA-Factory."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.converters.records import Conversion
from pipelines.core import paths
from pipelines.core.atomic import write_json
from pipelines.core.registry import CONVERTERS
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import entry_for, register
from pipelines.data.sidecar import write_meta
from pipelines.data.split import STRATEGIES


@dataclass
class BuildSummary:
    task: str
    read: int
    duplicates: int
    counts: dict[str, int] = field(default_factory=dict)  # dataset name -> records written
    skipped: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{self.task}: {self.read} records read, {self.duplicates} exact duplicates removed"]
        out += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        out += [f"  {name}: {n} records" for name, n in self.counts.items()]
        return out


def deduplicate(conversion: Conversion) -> int:
    """Drop exact duplicate target records in place, keeping the first; return how many went."""
    seen, kept = set(), []
    for example in conversion.examples:
        key = json.dumps(example.record, ensure_ascii=False, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(example)
    removed = len(conversion.examples) - len(kept)
    conversion.examples = kept
    return removed


def with_system(records: list[dict], system: str | None) -> list[dict]:
    if not system:
        return records
    return [r if r.get("system") else {**r, "system": system} for r in records]


def build_task(task: Task, inputs: list[Path] | None = None, skip_invalid: bool = False, dataset_dir: Path | None = None) -> BuildSummary:
    """Convert, split and register the task's datasets. Nothing is written unless every input converts."""
    dataset_dir = dataset_dir or paths.dataset_dir()
    source = task.config["source"]
    convert = CONVERTERS.get(source["converter"]).fn
    conversion = convert(inputs or task.source_paths, source.get("options", {}), skip_invalid)
    read = len(conversion.examples) + sum(conversion.skipped.values())
    duplicates = deduplicate(conversion)

    split_cfg = task.config["split"]
    train, val = STRATEGIES[split_cfg["strategy"]](conversion.examples, split_cfg["val_fraction"], split_cfg.get("seed", 0))
    outputs = {task.dataset_name("train"): [e.record for e in train], task.dataset_name("val"): [e.record for e in val]}
    metas = {task.dataset_name("train"): [e.meta for e in train], task.dataset_name("val"): [e.meta for e in val]}
    if task.scenarios_path:
        outputs[task.dataset_name("scenarios")] = [e.record for e in CONVERTERS.get("alpaca").fn([task.scenarios_path], {}, False).examples]

    system = task.config.get("system")
    entries = {}
    for name, records in outputs.items():
        records = with_system(records, system)
        write_json(dataset_dir / f"{name}.json", records)
        if any(metas.get(name, [])):
            write_meta(dataset_dir, name, metas[name])
        entries[name] = entry_for(f"{name}.json", records)
    register(entries, dataset_dir)
    return BuildSummary(task.name, read, duplicates, {n: len(r) for n, r in outputs.items()}, dict(conversion.skipped))
