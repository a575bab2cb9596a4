"""Grounding of restaurant recommendations in the agent's tool results: checks a judge model cannot make.

The recommended names are read from an answer's numbered list (`1.`, `1、`, `(1)`, full- or half-width, inline
or one per line); a name runs from its marker to the first separator (` - `, `:`, `,`, `;`, `。`, a line
break). A name is grounded when it is one of the context's POIs after NFKC folding (full-width parentheses and
digits become half-width), case folding and whitespace removal. A name without a branch suffix, `东北人家` for
`东北人家(人民大学店)`, is grounded when exactly one POI has that base name; a wrong branch is not. A name repeated
in one answer counts once.

    poi_grounded   grounded names / recommended names
    within_radius  grounded names with distance_m <= radius_m / grounded names with both known
    within_budget  grounded names with budget[0] <= avg_price <= budget[1] / grounded names with both known
    cuisine_match  grounded names whose cuisine is one of the preferences / grounded names with both known
    hallucinated   answers naming at least one restaurant not in the POIs / answers
A rate whose denominator is zero is None (reported as "-"), never 0. These read the answers that name places: an
answer naming none (a refusal) adds nothing to them, so a model that refuses all but one sure answer scores 1.0.

Over all prompts, so a refusal counts, on every prompt whose context lists at least one POI (with none, naming
nothing is the right answer):
    answered       prompts whose answer names at least one place / prompts
    <rate>_all     the mean over prompts of each prompt's own poi_grounded, within_radius, within_budget or
                   cuisine_match, where an answer naming no place, or no grounded place, scores 0; a prompt is
                   left out of a rate only when the context cannot tell (no radius, budget or preferences, or the
                   grounded POIs lack the field)
"""

import re
import unicodedata

from pipelines.core.text import strip_think

RATES = ("poi_grounded", "within_radius", "within_budget", "cuisine_match", "hallucinated")
SHARES = RATES[:4]
OVER_ALL = ("answered", *(f"{rate}_all" for rate in SHARES))
# The context field a rate needs; without it no answer can be checked on that rate.
NEEDS = {"within_radius": "radius_m", "within_budget": "budget", "cuisine_match": "preferences"}
RECOMMEND = 3

# "(1)" anywhere (its parentheses delimit it); "1." "1、" "1)" only at the start of a line or after a separator,
# so "评分4.6" and "1.45公里" are not markers.
MARKER = re.compile(r"\((\d{1,2})\)|(?:^|(?<=[\s:;,。!?*、]))(\d{1,2})\s*[.、)](?!\d)", re.MULTILINE)
SEPARATOR = re.compile(r"\s+[-–—]|[-–—]\s+|[–—]|[:;,。!?\n]|(?=地址|评分|距离|人均)")
DECORATION = " \t*\"'“”‘’「」『』《》【】"
BRANCH = re.compile(r"\([^()]*\)$")


def fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def parse_names(answer: str) -> list[str]:
    """Recommended restaurant names in list order, each once, as written (after NFKC folding)."""
    text = unicodedata.normalize("NFKC", strip_think(answer))
    expected, starts = 1, []
    for match in MARKER.finditer(text):
        # Only 1, 2, 3, ... in order: a stray "(2)" inside prose does not start a list.
        if int(match.group(1) or match.group(2)) == expected:
            starts.append((match.start(), match.end()))
            expected += 1
    names = []
    for (_, end), (next_start, _) in zip(starts, starts[1:] + [(len(text), None)]):
        name = SEPARATOR.split(text[end:next_start], maxsplit=1)[0].strip(DECORATION)
        if name and name not in names:
            names.append(name)
    return names


def find_poi(name: str, pois: list[dict]) -> dict | None:
    folded = fold(name)
    for poi in pois:
        if fold(poi["name"]) == folded:
            return poi
    if BRANCH.search(folded):
        return None
    same_base = [poi for poi in pois if BRANCH.sub("", fold(poi["name"])) == folded]
    return same_base[0] if len(same_base) == 1 else None


def check(answer: str, context: dict) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of each rate for one answer, plus how many names it gave."""
    names = parse_names(answer)
    grounded = [poi for poi in (find_poi(name, context["pois"]) for name in names) if poi is not None]
    return {
        "names": (len(names), 1),
        "poi_grounded": (len(grounded), len(names)),
        "within_radius": _count([_within_radius(p, context) for p in grounded]),
        "within_budget": _count([_within_budget(p, context) for p in grounded]),
        "cuisine_match": _count([_cuisine_match(p, context) for p in grounded]),
        "hallucinated": (int(len(grounded) < len(names)), 1),
    }


def _within_radius(poi: dict, context: dict) -> bool | None:
    if "radius_m" not in context:
        return None
    return poi["distance_m"] <= context["radius_m"]


def _within_budget(poi: dict, context: dict) -> bool | None:
    if "budget" not in context or "avg_price" not in poi:
        return None
    low, high = context["budget"]
    return low <= poi["avg_price"] <= high


def _cuisine_match(poi: dict, context: dict) -> bool | None:
    if not context.get("preferences") or "cuisine" not in poi:
        return None
    return poi["cuisine"] in context["preferences"]


def _count(checks: list[bool | None]) -> tuple[int, int]:
    known = [c for c in checks if c is not None]
    return sum(known), len(known)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def prompt_scores(checked: dict[str, tuple[int, int]], context: dict) -> dict[str, float | None]:
    """`answered` and each <rate>_all of one prompt (from its `check`), for a context that lists POIs."""
    grounded = checked["poi_grounded"][0]
    scores = {"answered": float(checked["names"][0] > 0)}
    for rate in SHARES:
        numerator, denominator = checked[rate]
        if denominator:
            scores[f"{rate}_all"] = numerator / denominator
        elif (rate in NEEDS and not context.get(NEEDS[rate])) or grounded:
            scores[f"{rate}_all"] = None  # nothing to check against, or the grounded POIs lack the field
        else:
            scores[f"{rate}_all"] = 0.0  # no place named, or none of them real
    return scores


def answerable(context: dict | None) -> bool:
    return bool(context and context["pois"])


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def grounding(answers: list[str], contexts: list[dict]) -> dict:
    """The rates over answers paired with their contexts (sums of numerators over sums of denominators), and
    `answered` and the <rate>_all means over the prompts whose context lists POIs."""
    checks = [check(answer, context) for answer, context in zip(answers, contexts, strict=True)]
    totals = {key: [sum(c[key][i] for c in checks) for i in (0, 1)] for key in ("names", *RATES)}
    scores = [prompt_scores(c, context) for c, context in zip(checks, contexts) if answerable(context)]
    return {
        "answers": len(checks),
        "named": sum(1 for c in checks if c["names"][0]),
        "names": totals["names"][0],
        **{rate: _rate(*totals[rate]) for rate in RATES},
        **{metric: _mean([s[metric] for s in scores]) for metric in OVER_ALL},
    }


def nearest_three(context: dict) -> str:
    """The rule baseline: the three POIs nearest to the user, whatever the budget and tastes, in the agent's words."""
    nearest = sorted(context["pois"], key=lambda p: p["distance_m"])[:RECOMMEND]
    if not nearest:
        return "抱歉，附近没有找到餐厅。"
    items = []
    for number, poi in enumerate(nearest, start=1):
        facts = [f"地址：{poi['address']}" if poi.get("address") else "", f"评分{poi['rating']}" if "rating" in poi else "",
                 f"距离{poi['distance_m']:g}米", f"人均{poi['avg_price']:g}元" if "avg_price" in poi else ""]
        items.append(f"{number}. {poi['name']} - " + "，".join(f for f in facts if f))
    return f"为您推荐以下{len(nearest)}家餐厅：" + "；".join(items) + "。"
