"""Judge answers already paid for, keyed by the prompt and everything that changes the answer (model, rubric and
its version, temperature, max_tokens, response_format), in one SQLite file.

Only answers that parsed are stored (evaluators/judge/client.py): a failed call or an unreadable answer is asked
again next time. Each answer is committed as it arrives (one transaction per answer, so an interrupted run keeps
what it got and never leaves a half-written file); a re-run sends only the prompts that have no answer yet, and
`--judge-refresh` sends them all. Only the judge's text is stored: no endpoint, no header, no API key.
"""

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Self


def cache_key(settings: dict, messages: list[dict]) -> str:
    """`settings`: what changes the answer besides the prompt (model, rubric, rubric version, sampling)."""
    payload = json.dumps({"settings": settings, "messages": messages}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class AnswerCache:
    def __init__(self, path: Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, rubric TEXT, answer TEXT)")
        self._db.commit()

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, model: str, rubric: str, answer: str) -> None:
        with self._db:  # commits on success, rolls back on error
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", (key, model, rubric, answer))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
