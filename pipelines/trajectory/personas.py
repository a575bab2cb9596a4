"""The persona rules (data/trajectory/persona_rules.yaml): what a day of each persona must contain. The evaluator's
persona_ok reports the rules a day breaks; the check-in converter gives a day the first persona whose rules hold.

Rules read a place's type through `place_of`, which matches an activity's place to the place table (by name,
alias, normalised name or nearest point: pipelines/trajectory/places.py); a place it cannot match has no type.
"""

from collections.abc import Callable
from pathlib import Path

from pipelines.core.schema import load_yaml_validated
from pipelines.trajectory.grammar import DAY_MINUTES, Activity, Day, label, parse_clock
from pipelines.trajectory.places import Place, name_key

PlaceOf = Callable[[Activity], Place | None]


def load_rules(path: Path) -> dict:
    """persona -> {"age": [min, max], "rules": [...]}, as persona_rules.yaml holds it."""
    return load_yaml_validated(path, "trajectory_rules")["personas"]


def persona_problems(day: Day, rules: dict, place_of: PlaceOf) -> list[str]:
    """Why the day is not a day of its persona: unknown persona, age out of range, each broken rule."""
    persona = rules.get(day.persona)
    if persona is None:
        return [f"persona '{day.persona}' is not in the rule table ({', '.join(rules)})"]
    low, high = persona["age"]
    problems = [] if low <= day.age <= high else [f"{day.persona}: age {day.age} is outside {low}-{high}"]
    return problems + [f"{day.persona} {why}" for why in broken_rules(day, persona["rules"], place_of)]


def broken_rules(day: Day, persona_rules: list[dict], place_of: PlaceOf) -> list[str]:
    """'<why>: <what is missing>' for each rule of one persona the day breaks."""
    problems = []
    for rule in persona_rules:
        problem = RULES[rule["kind"]](day, rule, place_of)
        if problem:
            problems.append(f"{rule['why']}: {problem}")
    return problems


def first_persona(day: Day, rules: dict, place_of: PlaceOf) -> tuple[str | None, list[str]]:
    """The first persona (in the file's order) whose rules the day keeps, or None and each persona's first reason."""
    reasons = []
    for persona, entry in rules.items():
        broken = broken_rules(day, entry["rules"], place_of)
        if not broken:
            return persona, []
        reasons.append(f"{persona}: {broken[0]}")
    return None, reasons


def place_type(a: Activity, place_of: PlaceOf) -> str | None:
    place = place_of(a)
    return place.type if place else None


def place_identity(a: Activity, place_of: PlaceOf) -> str:
    """The table place an activity is at, else its written name: what 'the same place' and 'distinct' compare."""
    place = place_of(a)
    return place.name if place else name_key(a.place)


def matches(a: Activity, rule: dict, place_of: PlaceOf) -> bool:
    return ("activities" not in rule or a.activity in rule["activities"]) and ("place_types" not in rule or place_type(a, place_of) in rule["place_types"])


def min_minutes(day: Day, rule: dict, place_of: PlaceOf) -> str:
    low, high = (parse_clock(t) for t in rule["window"]) if "window" in rule else (0, DAY_MINUTES)
    total = sum(max(0, min(a.end, high) - max(a.start, low)) for a in day.activities if matches(a, rule, place_of))
    if total >= rule["minutes"]:
        return ""
    where = f" at {'/'.join(rule['place_types'])}" if "place_types" in rule else ""
    within = f" within {'-'.join(rule['window'])}" if "window" in rule else ""
    return f"{total} min of {'/'.join(rule['activities'])}{where}{within}, needs {rule['minutes']}"


def visits(day: Day, rule: dict, place_of: PlaceOf) -> str:
    seen = {place_identity(a, place_of) for a in day.activities if place_type(a, place_of) in rule["place_types"]}
    return "" if len(seen) >= rule["count"] else f"{len(seen)} distinct {'/'.join(rule['place_types'])} places, needs {rule['count']}"


def first_and_last(day: Day, rule: dict, place_of: PlaceOf) -> str:
    first, last = day.activities[0], day.activities[-1]
    wrong = [f"{which} activity {label(a)}" for which, a in (("first", first), ("last", last)) if not matches(a, rule, place_of)]
    if wrong:
        return " and ".join(wrong) + " does not match"
    if rule.get("same_place") and place_identity(first, place_of) != place_identity(last, place_of):
        return f"first place '{first.place}' is not the last '{last.place}'"
    return ""


RULES: dict[str, Callable[[Day, dict, PlaceOf], str]] = {"min_minutes": min_minutes, "visits": visits, "first_and_last": first_and_last}
