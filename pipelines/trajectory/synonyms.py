"""The synonym tables (data/trajectory/synonyms.yaml): other words for activities, personas and persona field
labels, each mapped to one canonical word before every check and metric, and the activities that are movement."""

from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.grammar import FIELDS, Day
from pipelines.trajectory.places import SYNONYMS_FILE, name_key


@dataclass(frozen=True)
class Synonyms:
    activities: dict[str, str] = field(default_factory=dict)  # name_key(word) -> canonical activity
    personas: dict[str, str] = field(default_factory=dict)  # name_key(word) -> canonical persona
    labels: dict[str, str] = field(default_factory=dict)  # name_key(field label) -> the grammar's (for `parse`)
    travel: frozenset[str] = frozenset()  # canonical activities that are movement

    def activity(self, word: str) -> str:
        return self.activities.get(name_key(word), word)

    def persona(self, word: str) -> str:
        return self.personas.get(name_key(word), word)

    def canonical(self, day: Day) -> Day:
        """The day in canonical words: what every check and metric reads."""
        activities = tuple(replace(a, activity=self.activity(a.activity)) for a in day.activities)
        return replace(day, persona=self.persona(day.persona), activities=activities)


def load_synonyms(path: Path = SYNONYMS_FILE) -> Synonyms:
    data = load_yaml_validated(path, "trajectory_synonyms")
    unknown = sorted(set(data["fields"]) - set(FIELDS.values()))
    if unknown:
        raise DomaintuneError(f"{path}: fields: {', '.join(unknown)} is no field of the day grammar ({', '.join(FIELDS.values())})")
    tables = {section: inverted(data[section], f"{path}: {section}") for section in ("activities", "personas", "fields")}
    return Synonyms(tables["activities"], tables["personas"], tables["fields"], frozenset(data["travel"]))


def inverted(table: dict[str, list[str]], where: str) -> dict[str, str]:
    """Every word (canonical ones too, folded by name_key) -> its canonical word; a word given twice is refused."""
    out: dict[str, str] = {}
    for canonical, words in table.items():
        for word in (canonical, *words):
            key = name_key(word)
            if out.get(key, canonical) != canonical:
                raise DomaintuneError(f"{where}.{canonical}: {word!r} already stands for {out[key]!r}; a word may stand for one word only")
            out[key] = canonical
    return out
