"""Registration of built datasets in dataset_info/dataset_info.json, LLaMA-Factory's own format."""

import json
from contextlib import AbstractContextManager
from pathlib import Path

from pipelines.converters.sharegpt import DEFAULT_TAGS
from pipelines.core import paths
from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError
from pipelines.core.locks import waiting_lock

INFO_FILE = "dataset_info.json"
LOCK_FILE = f".{INFO_FILE}.lock"
ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output"}
OPTIONAL_COLUMNS = {"system": "system", "history": "history"}
# ShareGPT target records (pipelines/converters/__init__.py) always use LLaMA-Factory's default tags.
SHAREGPT_COLUMNS = {"messages": "conversations"}
SHAREGPT_OPTIONAL_COLUMNS = {"system": "system", "tools": "tools"}


def sharegpt_entry(file_name: str, keys: set[str]) -> dict:
    columns = {**SHAREGPT_COLUMNS, **{k: v for k, v in SHAREGPT_OPTIONAL_COLUMNS.items() if v in keys}}
    return {"file_name": file_name, "formatting": "sharegpt", "columns": columns, "tags": dict(DEFAULT_TAGS)}


def entry_for(file_name: str, records: list[dict]) -> dict:
    return entry_for_keys(file_name, {key for record in records for key in record})


def entry_for_keys(file_name: str, keys: set[str]) -> dict:
    # LLaMA-Factory indexes every registered column on every row, so only columns the data has are named.
    if SHAREGPT_COLUMNS["messages"] in keys:
        return sharegpt_entry(file_name, keys)
    columns = dict(ALPACA_COLUMNS)
    columns.update({k: v for k, v in OPTIONAL_COLUMNS.items() if v in keys})
    return {"file_name": file_name, "formatting": "alpaca", "columns": columns}


def load_dataset_info(dataset_dir: Path | None = None) -> dict:
    path = (dataset_dir or paths.dataset_dir()) / INFO_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomaintuneError(f"{path}: cannot parse, fix or delete it: {exc}") from None


def info_lock(dataset_dir: Path) -> AbstractContextManager:
    """Held around every read-modify-write of dataset_info.json: two builds at once must not lose an update.
    A command that has to wait says which process it waits for."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    return waiting_lock(dataset_dir / LOCK_FILE, f"the datasets in {dataset_dir}")


def write_dataset_info(info: dict, dataset_dir: Path) -> None:
    # Sorted, so the file does not depend on which task was built first: a rebuild is byte-identical.
    write_json(dataset_dir / INFO_FILE, dict(sorted(info.items())))


def register(entries: dict[str, dict], dataset_dir: Path | None = None) -> None:
    """Add or replace `entries`, leaving every other dataset in the file as it was."""
    dataset_dir = dataset_dir or paths.dataset_dir()
    with info_lock(dataset_dir):
        write_dataset_info({**load_dataset_info(dataset_dir), **entries}, dataset_dir)


def dataset_file(name: str, dataset_dir: Path | None = None) -> Path:
    dataset_dir = dataset_dir or paths.dataset_dir()
    info = load_dataset_info(dataset_dir)
    if name not in info:
        raise DomaintuneError(f"dataset {name!r} is not registered in {dataset_dir / 'dataset_info.json'}; run `make data` first")
    return dataset_dir / info[name]["file_name"]
