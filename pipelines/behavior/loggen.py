"""Deterministic, realistic Windows activity logs for the behavior task: several personas, several days each.

A persona has apps (window titles, files, websites) and a workday routine of time blocks. A block opens with
the persona's habits in order, fills the rest of its time with weighted app stints (start, switch to a window,
browse or open a file, usage summary, sometimes close), and chat pop-ups or a stray app add noise. Pauses
between blocks are long enough to start new sessions. Each (seed, persona, day) draws from its own random
stream, so a longer log begins with exactly the days of a shorter one.

    domaintune gen-logs -o /tmp/events.jsonl --events 100000 --seed 1
    domaintune gen-logs --sample-set -o data/raw/behavior     # regenerate the committed default input
"""

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

from pipelines.behavior.events import FIELD_SCHEMAS, render
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_yaml_validated


@dataclass(frozen=True)
class App:
    exe: str
    titles: tuple[str, ...]  # window titles, most used first
    files: tuple[tuple[str, str], ...] = ()  # (name, dir) of the document each title shows, same order
    sites: tuple[tuple[str, tuple[str, ...]], ...] = ()  # browsers: (domain, page titles), most visited first


@dataclass(frozen=True)
class Block:
    start: float  # hour of day
    end: float
    habits: tuple[str, ...]  # apps used in this order when the block opens
    mix: dict[str, float]  # app -> weight for the rest of the block
    chance: float = 1.0  # share of days the block happens at all (evenings are optional)


@dataclass(frozen=True)
class Persona:
    user: str
    apps: dict[str, App]
    blocks: tuple[Block, ...]
    noise: tuple[str, ...]  # apps that interrupt now and then


PERSONAS_FILE = REPO_ROOT / "data" / "behavior" / "personas.yaml"


def _app(spec: dict) -> App:
    return App(
        spec["exe"],
        tuple(spec["titles"]),
        tuple(tuple(f) for f in spec.get("files", ())),
        tuple((site["domain"], tuple(site["pages"])) for site in spec.get("sites", ())),
    )


def load_personas(path: Path = PERSONAS_FILE) -> dict[str, Persona]:
    data = load_yaml_validated(path, "personas")
    shared = {name: _app(spec) for name, spec in data.get("shared_apps", {}).items()}
    personas = {}
    for name, spec in data["personas"].items():
        unknown = [app for app in spec["apps"].values() if isinstance(app, str) and app not in shared]
        if unknown:
            raise DomaintuneError(f"{path}: personas.{name}.apps: unknown shared app(s) {', '.join(unknown)}")
        apps = {key: shared[app] if isinstance(app, str) else _app(app) for key, app in spec["apps"].items()}
        blocks = tuple(
            Block(b["start"], b["end"], tuple(b["habits"]), dict(b["mix"]), b.get("chance", 1.0)) for b in spec["blocks"]
        )
        personas[name] = Persona(spec["user"], apps, blocks, tuple(spec["noise"]))
    return personas


PERSONAS = load_personas()
START = datetime(2025, 5, 26)  # a Monday; day n of a persona is its n-th workday from here
NOISE_CHANCE = 0.08
CLOSE_CHANCE = 0.25


@dataclass
class _Day:
    persona: Persona
    rng: random.Random
    midnight: datetime
    t: int = 0  # seconds since midnight
    running: dict[str, None] = field(default_factory=dict)  # ordered set: iteration order must not depend on hashing
    events: list[dict] = field(default_factory=list)

    def emit(self, event: str, **fields) -> None:
        ts = str(self.midnight + timedelta(seconds=self.t))
        self.events.append({"user": self.persona.user, "ts": ts, "event": event, **fields})

    def wait(self, low: int, high: int) -> None:
        self.t += self.rng.randint(low, high)


def _ranked(rng: random.Random, items: Sequence):
    """Earlier items are favourite ones (weights 1, 1/2, 1/3, ...): routines repeat, as people's do."""
    return rng.choices(items, weights=[1 / (i + 1) for i in range(len(items))])[0]


def _stint(day: _Day, key: str, short: bool = False) -> None:
    """One spell in an app: start it if needed, switch to a window, work in it, and log how long it lasted."""
    app, rng = day.persona.apps[key], day.rng
    if app.exe not in day.running:
        day.emit("app_start", app=app.exe)
        day.running[app.exe] = None
        day.wait(2, 12)
    begin, window = day.t, _ranked(rng, range(len(app.titles)))
    day.emit("window_switch", app=app.exe, title=app.titles[window])
    for _ in range(0 if short else rng.randint(1, 4)):
        day.wait(15, 240)
        if app.sites:
            domain, titles = _ranked(rng, app.sites)
            day.emit("web_visit", app=app.exe, domain=domain, title=_ranked(rng, titles))
        elif app.files and rng.random() < 0.6:
            name, directory = app.files[window]
            day.emit("file_access", app=app.exe, name=name, dir=directory)
    day.wait(10, 60 if short else 900)
    day.emit("app_usage", app=app.exe, duration_s=round(day.t - begin + rng.random(), 2))
    if rng.random() < CLOSE_CHANCE:
        day.wait(1, 5)
        day.emit("app_close", app=app.exe)
        del day.running[app.exe]
    day.wait(3, 60)


def _block(day: _Day, block: Block) -> None:
    rng = day.rng
    # A break of at least 40 minutes before each block, so blocks are separate sessions at the default 30-minute gap.
    day.t = max(day.t + rng.randint(40, 90) * 60, int(block.start * 3600) + rng.randint(-900, 900))
    end = int(block.end * 3600) + rng.randint(-900, 900)
    for key in block.habits:
        _stint(day, key)
    apps, weights = list(block.mix), list(block.mix.values())
    while day.t < end:
        if rng.random() < NOISE_CHANCE:
            _stint(day, rng.choice(day.persona.noise), short=True)
        _stint(day, rng.choices(apps, weights)[0])


def persona_day(persona: Persona, day_index: int, seed: int) -> list[dict]:
    """One workday of a persona's events, in time order."""
    rng = random.Random(f"{seed}:{persona.user}:{day_index}")
    midnight = START + timedelta(days=day_index + 2 * (day_index // 5))  # skip weekends
    day = _Day(persona, rng, midnight)
    for block in persona.blocks:
        if rng.random() < block.chance:
            _block(day, block)
    for exe in list(day.running):  # shutting down for the night closes what is still open
        day.wait(1, 4)
        day.emit("app_close", app=exe)
    return day.events


def generate_events(n_events: int | None = None, days: int | None = None, seed: int = 0, personas: Sequence[str] = tuple(PERSONAS)) -> list[dict]:
    """The personas' events in time order: `days` workdays each, or the first `n_events` of as many days as needed."""
    if (n_events is None) == (days is None):
        raise DomaintuneError("give either a number of events or a number of days")
    unknown = [p for p in personas if p not in PERSONAS]
    if unknown or not personas:
        raise DomaintuneError(f"unknown persona(s) {', '.join(unknown) or '(none given)'}; personas are: {', '.join(PERSONAS)}")
    events: list[dict] = []
    for day_index in range(days) if days is not None else count():
        if n_events is not None and len(events) >= n_events:
            break
        for name in personas:
            events += persona_day(PERSONAS[name], day_index, seed)
    events.sort(key=lambda e: e["ts"])  # stable: same-second events of different users keep persona order
    return events if n_events is None else events[:n_events]


CSV_COLUMNS = ("user", "ts", "event", *(name for name in FIELD_SCHEMAS if name != "user"))


def _jsonl_text(events: list[dict]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)


def _csv_text(events: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(events)
    return out.getvalue()


def _txt_text(events: list[dict]) -> str:
    users = {e["user"] for e in events}
    if len(users) > 1:
        raise DomaintuneError(f"a .txt log holds one user's rendered lines (the file name is the user), got {len(users)} users")
    return "".join(render(e) + "\n" for e in events)


WRITERS = {".jsonl": _jsonl_text, ".csv": _csv_text, ".txt": _txt_text}  # the converter's input formats


def format_events(events: list[dict], suffix: str) -> str:
    """The text of a log file in the format its suffix names."""
    if suffix not in WRITERS:
        raise DomaintuneError(f"unsupported log format {suffix!r}; use one of {', '.join(WRITERS)}")
    return WRITERS[suffix](events)


def write_events(events: list[dict], path: Path, shuffle_seed: int | None = None) -> Path:
    """Write a log file; with `shuffle_seed` its lines are shuffled, as merged logs from several machines arrive."""
    if shuffle_seed is not None:
        events = list(events)
        random.Random(shuffle_seed).shuffle(events)
    write_text(Path(path), format_events(events, Path(path).suffix))
    return Path(path)


@dataclass(frozen=True)
class SampleFile:
    name: str
    persona: str
    shuffled: bool = False


SAMPLE_DIR = REPO_ROOT / "data" / "raw" / "behavior"
SAMPLE_DAYS = 5
# One persona per file and every input format; the developer's log arrives out of order.
SAMPLE_SET = (
    SampleFile("student.jsonl", "student"),
    SampleFile("developer.jsonl", "developer", shuffled=True),
    SampleFile("office_worker.csv", "office_worker"),
    SampleFile("designer.txt", "designer"),
)


def write_sample_set(out_dir: Path = SAMPLE_DIR, seed: int = 0) -> list[Path]:
    return [
        write_events(generate_events(days=SAMPLE_DAYS, seed=seed, personas=[f.persona]), Path(out_dir) / f.name, seed if f.shuffled else None)
        for f in SAMPLE_SET
    ]
