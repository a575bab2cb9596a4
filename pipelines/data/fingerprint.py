"""Which data a run trained on: SHA-256 of each dataset file, recorded in the run's datasets.json at `train` and
compared at `predict` / `eval` / `train --resume`, so an adapter is never scored on data rebuilt since."""

import hashlib
import json
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.data.dataset_info import dataset_file


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_hashes(names: list[str], dataset_dir: Path | None = None) -> dict[str, str]:
    return {name: sha256(dataset_file(name, dataset_dir)) for name in names}


def check_unchanged(recorded_file: Path, task: str, allow_changed: bool = False, dataset_dir: Path | None = None) -> str | None:
    """None when the registered datasets are the ones recorded in `recorded_file` (a run's datasets.json).

    On a mismatch: raise, naming both hashes and the rebuild command; with `allow_changed`, return that
    message instead, for the report to carry.
    """
    if not Path(recorded_file).exists():
        return None  # a run from before hashes were recorded: nothing to compare
    recorded = json.loads(Path(recorded_file).read_text(encoding="utf-8"))
    current = dataset_hashes(sorted(recorded), dataset_dir)
    changed = [f"{name} (run: {recorded[name][:12]}, registered now: {current[name][:12]})" for name in sorted(recorded) if recorded[name] != current[name]]
    if not changed:
        return None
    message = (
        f"the datasets changed since the run in {Path(recorded_file).parent} trained: {'; '.join(changed)}. "
        f"Rebuild them from the inputs it trained on (`domaintune data --task {task}`, with the same --input files)"
    )
    if allow_changed:
        return f"{message}. Used anyway (--allow-changed-data): scores may include samples the model trained on."
    raise DomaintuneError(f"{message}, or pass --allow-changed-data to use the new data anyway")
