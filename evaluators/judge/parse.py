"""Reading a judge's answer into one integer score and one reason per rubric dimension.

Accepted, in this order: a JSON object (bare, in a ``` code fence, or embedded in prose), keyed by dimension key
or title, each value {"score": n, "reason": "..."}, [n, "reason"] or a bare n, optionally under "scores";
else `key: [[n]] reason` lines. Thinking blocks are removed first. Anything else, a missing dimension or a
score that is not an integer on the rubric's scale raises ParseFailure: the item is counted as a parse
failure and never given a score.
"""

import json
import re
from dataclasses import dataclass

from evaluators.judge.rubric import Rubric
from pipelines.core.text import strip_think

FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
BRACKETED = r"\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]"


class ParseFailure(Exception):
    """The answer holds no usable score for some dimension; str() says which and why, in one line."""


@dataclass(frozen=True)
class Score:
    score: int
    reason: str


def parse_scores(text: str, rubric: Rubric) -> dict[str, Score]:
    text = strip_think(text or "")
    if not text:
        raise ParseFailure("empty answer")
    found = _from_json(text, rubric)
    if found is None:
        found = _from_brackets(text, rubric)
    if found is None:
        raise ParseFailure("no JSON object and no [[n]] scores")
    return {key: _checked(key, found.get(key), rubric) for key in rubric.keys}


def _json_objects(text: str) -> list[dict]:
    candidates = [m.group(1) for m in FENCE.finditer(text)] + [text]
    if "{" in text:
        candidates.append(text[text.index("{") : text.rindex("}") + 1])
    objects = []
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            objects.append(value.get("scores") if isinstance(value.get("scores"), dict) else value)
    return objects


def _from_json(text: str, rubric: Rubric) -> dict[str, object] | None:
    for obj in _json_objects(text):
        by_key = {}
        for dim in rubric.dimensions:
            for name in (dim["key"], dim["title"]):
                if name in obj:
                    by_key[dim["key"]] = obj[name]
                    break
        if by_key:
            return by_key
    return None


def _from_brackets(text: str, rubric: Rubric) -> dict[str, object] | None:
    found = {}
    for dim in rubric.dimensions:
        names = "|".join(re.escape(n) for n in (dim["key"], dim["title"]))
        match = re.search(rf"(?:{names})[^\n\[]*?{BRACKETED}[\s:：,，-]*(.*)", text)
        if match:
            found[dim["key"]] = [float(match.group(1)), match.group(2).strip()]
    if not found and len(rubric.dimensions) == 1 and len(re.findall(BRACKETED, text)) == 1:
        found[rubric.keys[0]] = [float(re.search(BRACKETED, text).group(1)), ""]
    return found or None


def _checked(key: str, value: object, rubric: Rubric) -> Score:
    if value is None:
        raise ParseFailure(f"no score for {key}")
    if isinstance(value, dict):
        score, reason = value.get("score"), value.get("reason", "")
    elif isinstance(value, list) and value:
        score, reason = value[0], value[1] if len(value) > 1 else ""
    else:
        score, reason = value, ""
    if isinstance(score, str) and re.fullmatch(r"\s*-?\d+(?:\.0+)?\s*", score):
        score = float(score)
    if isinstance(score, bool) or not isinstance(score, int | float) or not float(score).is_integer():
        raise ParseFailure(f"score for {key} is not an integer: {score!r}"[:120])
    if not rubric.low <= score <= rubric.high:
        raise ParseFailure(f"score for {key} is outside {rubric.low}-{rubric.high}: {score:g}")
    return Score(int(score), str(reason).strip())
