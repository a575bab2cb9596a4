"""Rubrics: YAML data (schema recipes/schema/rubric.schema.json) registered by name, and the prompt built from one.

The two shipped rubrics register below; a task brings its own by naming a YAML file instead of a name in its
`eval.judge` options, or by registering one in a module of this package the same way.
"""

import string
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.registry import Registry
from pipelines.core.schema import load_yaml_validated

RUBRIC_DIR = Path(__file__).parent / "rubrics"
# The fields an item has, by what the rubric judges; a rubric's `item` template may use only these.
ITEM_FIELDS = {"records": ("instruction", "input", "output"), "predictions": ("instruction", "input", "prediction", "reference")}

RUBRICS = Registry("rubric", "evaluators.judge")
register_rubric = RUBRICS.register


@dataclass(frozen=True)
class Rubric:
    name: str
    judges: str  # "records" or "predictions"
    system: str
    item: str
    low: int
    high: int
    dimensions: tuple[dict, ...]  # {key, title, description}
    version: int = 1  # part of the cache key: raised when cached answers should no longer count


    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(d["key"] for d in self.dimensions)

    def messages(self, item: dict) -> list[dict]:
        """The chat request for one item: the rubric, the item, and the exact JSON to answer with."""
        # A placeholder, not a number: an example score would pull the judge's answers toward it.
        shape = ", ".join(f'"{key}": {{"score": <{self.low}-{self.high}>, "reason": "<一句话理由>"}}' for key in self.keys)
        criteria = "\n".join(f"- {d['key']}（{d['title']}）：{d['description']}" for d in self.dimensions)
        user = (
            f"请按以下维度给这条内容打分，每个维度一个 {self.low}-{self.high} 的整数，并给出一句话理由。\n"
            f"{criteria}\n\n{self.item.format_map(item).strip()}\n\n"
            f"只输出一个 JSON 对象，不要输出其他内容，格式如下：\n{{{shape}}}"
        )
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def load_rubric(path: Path) -> Rubric:
    path = Path(path)
    data = load_yaml_validated(path, "rubric")
    allowed = ITEM_FIELDS[data["judges"]]
    used = {field for _, field, _, _ in string.Formatter().parse(data["item"]) if field is not None}
    unknown = sorted(used - set(allowed))
    if unknown:
        raise DomaintuneError(f"{path}: item: unknown field {unknown[0]!r}; a {data['judges']} rubric has {', '.join(allowed)}")
    keys = [d["key"] for d in data["dimensions"]]
    if len(set(keys)) != len(keys):
        raise DomaintuneError(f"{path}: dimensions: a key is given twice: {', '.join(keys)}")
    if data["scale"]["min"] >= data["scale"]["max"]:
        raise DomaintuneError(f"{path}: scale: min {data['scale']['min']} is not below max {data['scale']['max']}")
    return Rubric(data["name"], data["judges"], data["system"], data["item"], data["scale"]["min"],
                  data["scale"]["max"], tuple(data["dimensions"]), data.get("version", 1))


def resolve_rubric(name_or_path: str) -> Rubric:
    """A registered rubric by name, or a task's own YAML file (repo-relative or absolute)."""
    if name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        return load_rubric(path if path.is_absolute() else REPO_ROOT / path)
    return RUBRICS.get(name_or_path).fn()


@register_rubric("data_quality")
def data_quality() -> Rubric:
    return load_rubric(RUBRIC_DIR / "data_quality.yaml")


@register_rubric("model_performance")
def model_performance() -> Rubric:
    return load_rubric(RUBRIC_DIR / "model_performance.yaml")
