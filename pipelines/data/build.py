"""`domaintune data`: raw inputs -> validated, de-duplicated, split datasets registered for LLaMA-Factory."""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.converters.records import Conversion, Example
from pipelines.core import paths, tasks
from pipelines.core.errors import DomaintuneError
from pipelines.core.readers import record_limit
from pipelines.core.registry import CONVERTERS
from pipelines.core.tasks import Task, load_task
from pipelines.data.dataset_info import entry_for_keys
from pipelines.data.lengths import (
    LengthStats,
    chosen_records,
    measure_chosen,
    write_stats,
)
from pipelines.data.placeholders import fill_placeholders
from pipelines.data.publish import Staging, publish, recover_interrupted, write_records
from pipelines.data.sidecar import meta_path, write_meta
from pipelines.data.split import STRATEGIES


@dataclass
class BuildSummary:
    task: str
    read: int
    duplicates: int
    counts: dict[str, int] = field(default_factory=dict)  # dataset name -> records written
    skipped: dict[str, int] = field(default_factory=dict)
    lengths: dict[str, LengthStats] = field(default_factory=dict)  # dataset name -> tokens per sample
    skipped_records: str = ""  # the first ten records skipped as invalid (--skip-invalid), and how many more
    dropped: dict[str, int] = field(default_factory=dict)  # input field the converter does not carry over -> records
    recovered: list[str] = field(default_factory=list)  # switches of killed builds undone before this one

    def lines(self) -> list[str]:
        out = [f"{self.task}: {self.read} records read, {self.duplicates} exact duplicates removed"]
        out += [f"  first {line}" for line in self.recovered]
        out += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        if self.skipped_records:
            out.append(f"  skipped records: {self.skipped_records}")
        out += [f"  not carried over: {name} (in {n} records)" for name, n in sorted(self.dropped.items())]
        out += [f"  {name}: {n} records" for name, n in self.counts.items()]
        out += [f"  {stats.line()}" for stats in self.lengths.values()]
        return out


def deduplicate(conversion: Conversion) -> int:
    """Drop exact duplicate target records in place, keeping the first; return how many went."""
    # A 16-byte digest per record in one array: as a set of bytes objects each would take ~80 bytes (700 MB for
    # the 10^7-event behavior log), and the records' own text another gigabyte per million.
    examples = conversion.examples
    digests = np.fromiter((_digest(example.record) for example in examples), dtype="S16", count=len(examples))
    first = np.unique(digests, return_index=True)[1]  # index of each distinct record's first occurrence
    removed = len(examples) - len(first)
    if removed:
        conversion.examples = [examples[i] for i in np.sort(first)]
    return removed


def _digest(record: dict) -> bytes:
    text = json.dumps(record, ensure_ascii=False, sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def with_system(record: dict, system: str | None) -> dict:
    return record if not system or record.get("system") else {**record, "system": system}


class Records(Sequence):
    """A split's published records (the task's system prompt filled in), built each time one is read: samples
    that build their record on demand (behavior logs) never sit in memory all at once."""

    def __init__(self, examples: list[Example], system: str | None):
        self.examples, self.system = examples, system

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return with_system(self.examples[index].record, self.system)


# What each split strategy needs for both sides to get at least one record (pipelines/data/split.py).
SPLIT_NEEDS = {"random": "at least 2 usable records", "chronological": "at least one group (user) with 2 or more usable records"}


def split(task: Task, examples: list[Example]) -> dict[str, list[Example]]:
    """Train and val examples by dataset name; an empty side is refused, since training or evaluation would fail."""
    cfg = task.config["split"]
    train, val = STRATEGIES[cfg["strategy"]](examples, cfg["val_fraction"], cfg.get("seed", 0))
    if not train or not val:
        raise DomaintuneError(
            f"{task.path}: {len(examples)} usable record(s) split into {len(train)} train and {len(val)} val; "
            f"both splits need records, so the {cfg['strategy']} split needs {SPLIT_NEEDS[cfg['strategy']]}. "
            "Nothing was published; the previous datasets are unchanged"
        )
    return {task.dataset_name("train"): train, task.dataset_name("val"): val}


def build_task(task: Task, inputs: list[Path] | None = None, skip_invalid: bool = False, dataset_dir: Path | None = None) -> BuildSummary:
    """Convert, split and publish the task's datasets as a unit (pipelines/data/publish.py): all or nothing."""
    dataset_dir = dataset_dir or paths.dataset_dir()
    recovered = recover_interrupted(dataset_dir)
    source = task.config["source"]
    convert = CONVERTERS.get(source["converter"]).fn
    with record_limit(task.max_record_bytes):
        conversion = convert(inputs or task.source_paths, source.get("options", {}), skip_invalid)
    fill_placeholders(conversion.examples, task.config.get("vars", {}), str(task.path))
    read = len(conversion.examples) + sum(conversion.skipped.values())
    duplicates = deduplicate(conversion)
    outputs = split(task, conversion.examples)
    if task.scenarios_path:
        outputs[task.dataset_name("scenarios")] = CONVERTERS.get("alpaca").fn([task.scenarios_path], {}, False).examples

    counts = {name: len(examples) for name, examples in outputs.items()}
    summary = BuildSummary(task.name, read, duplicates, counts, dict(conversion.skipped), skipped_records=conversion.skipped_records(), dropped=dict(conversion.dropped), recovered=recovered)
    with Staging(dataset_dir, task.name) as staging:
        files, entries, stale, chosen = stage(outputs, task.config.get("system"), staging)
        # Only the records the length statistics need are kept: a million samples (and the events they are read
        # from) go before the tokenizer loads, so the two never hold memory at once (bench/behavior.py).
        del conversion, outputs
        summary.lengths = measure_chosen(task, chosen)
        files += [write_stats(staging.dir, stats).name for stats in summary.lengths.values()]
        publish(dataset_dir, staging, files, entries, stale)
    return summary


def stage(outputs: dict[str, list[Example]], system: str | None, staging: Staging) -> tuple[list[str], dict, list[str], dict]:
    """Write each split (and its sidecar) into the staging folder. Returns the files written, their
    dataset_info entries, the sidecars to delete, and each split's (record count, chosen_records)."""
    files, entries, stale, chosen = [], {}, [], {}
    for name, examples in outputs.items():
        records = Records(examples, system)
        keys = write_records(staging.path(f"{name}.json"), records)
        files.append(f"{name}.json")
        entries[name] = entry_for_keys(f"{name}.json", keys)
        sidecar = meta_path(staging.dir, name)
        if any(e.meta for e in examples):
            write_meta(staging.dir, name, [e.meta for e in examples])
            files.append(sidecar.name)
        else:
            stale.append(sidecar.name)  # a sidecar left from an earlier build would no longer line up
        chosen[name] = (len(records), chosen_records(records))
    return files, entries, stale, chosen


def build_tasks(names: list[str], skip_invalid: bool = False, echo: Callable[[str], None] = print) -> list[str]:
    """Build each task in turn (`make data`): one broken task does not stop the others. Returns the failed names."""
    failed = []
    for name in names:
        try:
            for line in build_task(load_task(name), skip_invalid=skip_invalid).lines():
                echo(line)
        except DomaintuneError as exc:
            failed.append(name)
            echo(f"{name}: FAILED ({paths.relative(tasks.TASKS_DIR / f'{name}.yaml')}): {exc}")
    return failed
