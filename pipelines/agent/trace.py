"""The run's trace, `<output stem>.trace.jsonl`: one line per answered question, appended as each finishes.

It is both the record of every tool call and result, and what makes a run resumable: a rerun of the same
command reads it, skips the questions it holds, and asks only the others, so nothing is asked or written
twice. The first line names the run (task, model, POI source, questions, seed); a trace of another run is
refused rather than mixed in. Each line is flushed and fsynced; a last line cut short by a kill is dropped.

    {"trace": "agent-data", "task": "restaurant", "model": "...", "pois": "table", "questions": null, "seed": 7}
    {"index": 0, "question": "...", "kept": true, "id": "...", "reasons": [], "record": {...}, "calls": [...],
     "errors": [], "tokens": [1830, 212]}
"""

import json
import os
from pathlib import Path

from pipelines.core.errors import DomaintuneError


def trace_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.trace.jsonl")


class Trace:
    def __init__(self, path: Path, header: dict, restart: bool = False):
        self.path, self.header = path, header
        self.entries: dict[int, dict] = {}
        self.fresh = restart  # an earlier trace is replaced by the first answer, so a run that fails first keeps it
        if path.exists() and not restart:
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        kept_bytes = 0
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                kept_bytes += len(line) + 1
                continue
            try:
                item = json.loads(line)
            except ValueError:
                if number == len(lines):  # cut short by a kill while it was written: that question is asked again
                    break
                raise DomaintuneError(f"{self.path}: line {number}: not valid JSON; delete the trace or rerun with --restart") from None
            if number == 1:
                self._check_header(item)
            else:
                self.entries[item["index"]] = item
            kept_bytes += len(line) + 1
        if kept_bytes < len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(kept_bytes)

    def _check_header(self, found: dict) -> None:
        if found != self.header:
            differ = ", ".join(f"{key} {found.get(key)!r}" for key in self.header if found.get(key) != self.header[key])
            raise DomaintuneError(f"{self.path} is the trace of another run ({differ}); rerun with those settings to "
                                  "continue it, or add --restart to discard it")

    def on_disk(self) -> "Trace":
        """What a rerun will find: an interrupt can land after a line is written and before it is counted here."""
        return self if self.fresh else Trace(self.path, self.header)

    def check_question(self, index: int, text: str) -> None:
        """A resumed run must ask the same questions in the same order."""
        entry = self.entries.get(index)
        if entry is not None and entry["question"] != text:
            raise DomaintuneError(f"{self.path}: question {index + 1} was {entry['question']!r} and is now {text!r}: the "
                                  "questions changed since the run started; restore them, or add --restart to discard the trace")

    def add(self, entry: dict) -> None:
        new = self.fresh or not self.path.exists() or self.path.stat().st_size == 0
        self.fresh = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w" if new else "a", encoding="utf-8") as f:
            if new:
                f.write(json.dumps(self.header, ensure_ascii=False) + "\n")
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.entries[entry["index"]] = entry
