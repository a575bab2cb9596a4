"""Quality at the source: an answer is kept only when the restaurant task's grounding checks pass.

The checks are `evaluators.restaurant_grounding.check`, the ones the trained model is scored with: every
restaurant named must be one of the tool results, within the user's radius and budget. An answer that names
none is kept only when the tool results hold nothing that fits (in radius, in budget, of a wanted cuisine):
"nothing suitable nearby" is then the right answer. A kept record must also pass the map-agent converter
`domaintune data` reads it with, and its converter id (the hash of the normalised question and answer) is the
key duplicates are dropped by, as `data` drops them.
"""

from evaluators.restaurant_grounding import check
from pipelines.converters.map_agent import DUPLICATE, to_example
from pipelines.core.errors import InvalidRecord

# reason key -> what it means (the summary and the rejects file use the key)
REASONS = {
    "no_answer": "the agent gave no final answer",
    "no_search": "the agent never searched for restaurants, so nothing it says is grounded",
    "hallucinated": "names a restaurant that is not in the tool results",
    "beyond_radius": "recommends a restaurant farther than the user's radius",
    "outside_budget": "recommends a restaurant whose price per person is outside the user's budget",
    "no_recommendation": "names no restaurant although the tool results hold one that fits",
    "invalid_record": "the record does not pass the map-agent converter",
    "duplicate": DUPLICATE,
}

def fits(poi: dict, context: dict) -> bool:
    radius, budget, wanted = context.get("radius_m"), context.get("budget"), context.get("preferences")
    return ((radius is None or poi["distance_m"] <= radius)
            and (budget is None or "avg_price" not in poi or budget[0] <= poi["avg_price"] <= budget[1])
            and (not wanted or poi.get("cuisine") in wanted))


def review(record: dict | None, searched: bool) -> list[str]:
    """The reasons to reject a candidate record, each a REASONS key (invalid_record with its detail); [] keeps it."""
    if record is None:
        return ["no_answer"]
    if not searched:
        return ["no_search"]
    context = record["context"]
    counts = check(record["Answer"], context)
    reasons = []
    if counts["hallucinated"][0]:
        reasons.append("hallucinated")
    if counts["within_radius"][0] < counts["within_radius"][1]:
        reasons.append("beyond_radius")
    if counts["within_budget"][0] < counts["within_budget"][1]:
        reasons.append("outside_budget")
    if not counts["names"][0] and any(fits(poi, context) for poi in context["pois"]):
        reasons.append("no_recommendation")
    if not reasons:
        try:
            to_example(record)
        except InvalidRecord as exc:
            return [f"invalid_record: {exc.field}: {exc.reason}"]
    return reasons
