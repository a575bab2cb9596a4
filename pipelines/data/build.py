"""`domaintune data`: raw inputs -> validated, de-duplicated, split datasets registered for LLaMA-Factory."""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.converters.records import Conversion, Example
from pipelines.core import paths, tasks
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.progress import Phase, Phases
from pipelines.core.readers import record_limit
from pipelines.core.registry import CONVERTERS
from pipelines.core.tasks import Task, load_task
from pipelines.data.dataset_info import entry_for_keys
from pipelines.data.encoding import load_encoder
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

NEAR_DUPLICATE = "near duplicate"
SKIPPED_SHOWN = 10  # removed records named in the summary; --report-skipped FILE names every one


@dataclass
class BuildSummary:
    task: str
    read: int
    duplicates: int
    counts: dict[str, int] = field(default_factory=dict)  # dataset name -> records written
    skipped: dict[str, int] = field(default_factory=dict)
    lengths: dict[str, LengthStats] = field(default_factory=dict)  # dataset name -> tokens per sample
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    """(file, location, reason) of every record left out: invalid (--skip-invalid), exact and near duplicates."""
    near_duplicates: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # input field the converter does not carry over -> records
    recovered: list[str] = field(default_factory=list)  # switches of killed builds undone before this one
    report: Path | None = None  # --report-skipped: the file naming every removed record

    def lines(self) -> list[str]:
        near = f", {self.near_duplicates} near duplicates removed" if self.near_duplicates else ""
        out = [f"{self.task}: {self.read} records read, {self.duplicates} exact duplicates removed{near}"]
        out += [f"  first {line}" for line in self.recovered]
        out += self.removed_lines()
        out += [f"  not carried over: {name} (in {n} records)" for name, n in sorted(self.dropped.items())]
        out += [f"  {name}: {n} records" for name, n in self.counts.items()]
        out += [f"  {stats.line()}" for stats in self.lengths.values()]
        return out

    def removed_lines(self) -> list[str]:
        """The counts by reason, the first SKIPPED_SHOWN records left out with their reasons, and where the rest are."""
        out = [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        out += [f"  removed {path}: {location}: {reason}" for path, location, reason in self.removed[:SKIPPED_SHOWN]]
        more = len(self.removed) - SKIPPED_SHOWN
        if self.report is not None and self.removed:
            out.append(f"  every removed record ({len(self.removed):,}): {self.report}")
        elif more > 0:
            out.append(f"  and {more:,} more removed records (--report-skipped FILE names every one)")
        return out


class BuildFailed(DomaintuneError):
    """A build that stopped after reading: `details` are the summary lines so far (why records were skipped, which),
    for the terminal above the one-line error."""

    def __init__(self, message: str, details: list[str]):
        super().__init__(message)
        self.details = details


def deduplicate(conversion: Conversion, phase: Phase | None = None) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Drop exact duplicate target records in place, keeping the first, then near duplicates (records whose
    converter gave them the same `near_key`). Returns the (file, location, reason) of the exact and the near ones."""
    # A 16-byte digest per record in one array: as a set of bytes objects each would take ~80 bytes (700 MB for
    # the 10^7-event behavior log), and the records' own text another gigabyte per million.
    examples = conversion.examples
    records = (example.record for example in (phase.track(examples) if phase else examples))
    digests = np.fromiter(map(_digest, records), dtype="S16")
    _, first, inverse = np.unique(digests, return_index=True, return_inverse=True)
    firsts = first[inverse]  # for each record, the index of the first record equal to it
    exact = [_named(examples, i, "exact duplicate of", firsts[i]) for i in np.flatnonzero(firsts != np.arange(len(examples)))]
    kept = [examples[i] for i in np.sort(first)] if exact else examples
    near, seen, unique = [], {}, []
    for index, example in enumerate(kept):
        if example.near_key in seen:
            near.append(_named(kept, index, f"{NEAR_DUPLICATE} of", seen[example.near_key]))
            continue
        if example.near_key is not None:
            seen[example.near_key] = index
        unique.append(example)
    conversion.examples = unique
    return exact, near


def _named(examples: list[Example], index: int, relation: str, original: int) -> tuple[str, str, str]:
    path, location = _origin(examples, index)
    first_path, first_location = _origin(examples, original)
    return path, location, f"{relation} {first_location if first_path == path else f'{first_path}: {first_location}'}"


def _origin(examples: list[Example], index: int) -> tuple[str, str]:
    # Samples a converter builds from a stream (behavior logs) come from no single record.
    return examples[index].origin or ("(built)", f"sample {index}")


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


def build_task(
    task: Task,
    inputs: list[Path] | None = None,
    skip_invalid: bool = False,
    dataset_dir: Path | None = None,
    report_skipped: Path | None = None,
    quiet: bool = False,
) -> BuildSummary:
    """Convert, split and publish the task's datasets as a unit (pipelines/data/publish.py): all or nothing.

    Progress is one display of phases on stderr (a line per phase off a terminal; none when `quiet`);
    `report_skipped` gets a line per record left out (file: location: reason), also when the build then fails."""
    dataset_dir = dataset_dir or paths.dataset_dir()
    recovered = recover_interrupted(dataset_dir)
    source = task.config["source"]
    convert = CONVERTERS.get(source["converter"]).fn
    with Phases(task.name, quiet=quiet) as phases:
        with phases.phase("read"), record_limit(task.max_record_bytes):
            conversion = convert(inputs or task.source_paths, source.get("options", {}), skip_invalid)
            fill_placeholders(conversion.examples, task.config.get("vars", {}), str(task.path))
            scenarios = CONVERTERS.get("alpaca").fn([task.scenarios_path], {}, False).examples if task.scenarios_path else None
        read = len(conversion.examples) + sum(conversion.skipped.values())
        with phases.phase("dedup") as phase:
            exact, near = deduplicate(conversion, phase)
        summary = BuildSummary(
            task.name, read, len(exact), skipped=dict(conversion.skipped), removed=conversion.skipped_at + exact + near,
            near_duplicates=len(near), dropped=dict(conversion.dropped), recovered=recovered, report=report_skipped,
        )
        if report_skipped is not None:
            write_text(report_skipped, "".join(f"{path}: {location}: {reason}\n" for path, location, reason in summary.removed))
        with phases.phase("split") as phase:
            try:
                outputs = split(task, conversion.examples)
            except DomaintuneError as exc:
                raise BuildFailed(str(exc), summary.removed_lines()) from None
            phase.update(len(conversion.examples))
        if scenarios is not None:
            outputs[task.dataset_name("scenarios")] = scenarios
        summary.counts = {name: len(examples) for name, examples in outputs.items()}
        with Staging(dataset_dir, task.name) as staging:
            with phases.phase("write") as phase:
                files, entries, stale, written = stage(outputs, task.config.get("system"), staging, phase)
            with phases.phase("sample"):
                # Only the records the length statistics need are kept: a million samples (and the events they are
                # read from) go before the tokenizer loads, so the two never hold memory at once (bench/behavior.py).
                chosen = {name: (len(records), chosen_records(records), entries[name]) for name, records in written.items()}
                del conversion, outputs, written
            with phases.phase("tokenizer", unit="load") as phase:  # LLaMA-Factory and the tokenizer: seconds
                load_encoder(task)
                phase.update()
            with phases.phase("tokenize"):
                summary.lengths = measure_chosen(task, chosen)
            with phases.phase("statistics", unit="file") as phase:
                files += [write_stats(staging.dir, stats).name for stats in phase.track(summary.lengths.values())]
            with phases.phase("publish", unit="file") as phase:
                publish(dataset_dir, staging, files, entries, stale)
                phase.update(len(files))
    return summary


def stage(outputs: dict[str, list[Example]], system: str | None, staging: Staging, phase: Phase) -> tuple[list[str], dict, list[str], dict]:
    """Write each split (and its sidecar) into the staging folder. Returns the files written, their
    dataset_info entries, the sidecars to delete, and each split's published Records."""
    files, entries, stale, written = [], {}, [], {}
    for name, examples in outputs.items():
        records = Records(examples, system)
        keys = write_records(staging.path(f"{name}.json"), phase.track(records, detail=name))
        files.append(f"{name}.json")
        entries[name] = entry_for_keys(f"{name}.json", keys)
        sidecar = meta_path(staging.dir, name)
        if any(e.meta for e in examples):
            write_meta(staging.dir, name, [e.meta for e in examples])
            files.append(sidecar.name)
        else:
            stale.append(sidecar.name)  # a sidecar left from an earlier build would no longer line up
        written[name] = records
    return files, entries, stale, written


def build_tasks(names: list[str], skip_invalid: bool = False, echo: Callable[[str], None] = print) -> list[str]:
    """Build each task in turn (`make data`): one broken task does not stop the others. Returns the failed names."""
    failed = []
    for name in names:
        try:
            for line in build_task(load_task(name), skip_invalid=skip_invalid).lines():
                echo(line)
        except DomaintuneError as exc:
            failed.append(name)
            for line in exc.details if isinstance(exc, BuildFailed) else ():
                echo(line)
            echo(f"{name}: FAILED ({paths.relative(tasks.TASKS_DIR / f'{name}.yaml')}): {exc}")
    return failed
