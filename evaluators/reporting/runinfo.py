"""A run folder read back for people: its recipe and environment as settings, its datasets, its loss log.

`settings()` is what the report shows and `compare` lines up: the recipe's keys (paths that name the run itself
left out), the tier, the package versions and the dataset hashes, all as strings.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.core.layout import RunLayout
from pipelines.core.paths import dataset_dir
from pipelines.core.readers import iter_json_records
from pipelines.core.tiny_model import FAMILIES, default_dir

# Keys that differ between any two runs by construction (they name the run's own folder).
RUN_OWN_KEYS = ("output_dir",)
STATS_SUFFIX = ".stats.json"  # `domaintune data` writes <dataset>.stats.json beside each dataset (token lengths)
HEADER = re.compile(r"^# \S+ on (?P<tier>[^:]+):", re.MULTILINE)
OVERRIDDEN = re.compile(r"^# Overridden on the command line: (?P<keys>.+)$", re.MULTILINE)


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@dataclass
class RunInfo:
    root: Path
    recipe: dict
    tier: str
    overridden: str  # the recipe header's "Overridden on the command line" list, "" when none
    predict_overridden: str  # the same for the adapter's predictions (predict-adapter.yaml)
    versions: dict
    datasets: dict  # dataset name -> sha256
    lengths: dict = field(default_factory=dict)  # dataset name -> token length statistics, when built with them
    loss: list[dict] = field(default_factory=list)  # trainer_log.jsonl rows

    @classmethod
    def read(cls, root: Path) -> "RunInfo":
        run = RunLayout(Path(root))
        text = run.train_recipe.read_text(encoding="utf-8") if run.train_recipe.exists() else ""
        tier, overridden = HEADER.search(text), OVERRIDDEN.search(text)
        predict_recipe = run.predict_recipe("adapter")
        predicted = OVERRIDDEN.search(predict_recipe.read_text(encoding="utf-8")) if predict_recipe.exists() else None
        datasets = _json(run.datasets)
        lengths = {name: _json(dataset_dir() / f"{name}{STATS_SUFFIX}") for name in datasets}
        loss = [row for _, row in iter_json_records(run.trainer_log)] if run.trainer_log.exists() else []
        return cls(
            root=run.root,
            recipe=yaml.safe_load(text) or {},
            tier=tier["tier"] if tier else "unknown",
            overridden=overridden["keys"] if overridden else "",
            predict_overridden=predicted["keys"] if predicted else "",
            versions=_json(run.versions),
            datasets=datasets,
            lengths={name: stats for name, stats in lengths.items() if stats},
            loss=loss,
        )

    @property
    def model(self) -> str:
        return str(self.recipe.get("model_name_or_path", "unknown"))

    @property
    def is_tiny(self) -> bool:
        """Trained on the embedded random-weight tiny model: its numbers show the path works, nothing more."""
        # By folder name: the run may have been made under another workspace than this process's.
        return Path(self.model).name in {default_dir(family).name for family in FAMILIES}

    def precision(self) -> str:
        if self.recipe.get("pure_bf16") or self.recipe.get("bf16"):
            return "bf16"
        return "fp16" if self.recipe.get("fp16") else "fp32"

    def headline_settings(self) -> dict[str, str]:
        """The few settings a reader looks for first."""
        r = self.recipe
        batch = f"{r.get('per_device_train_batch_size', '?')} per device × {r.get('gradient_accumulation_steps', 1)} accumulation"
        length = r.get("max_steps") and f"{r['max_steps']} steps" or f"{r.get('num_train_epochs', '?')} epochs"
        method = r.get("finetuning_type", "?") + (f" rank {r['lora_rank']}" if r.get("finetuning_type") == "lora" and "lora_rank" in r else "")
        return {
            "model": self.model,
            "tier": self.tier,
            "method": method,
            "batch": batch,
            "precision": self.precision(),
            "learning rate": str(r.get("learning_rate", "?")),
            "length": length,
            "cutoff_len": str(r.get("cutoff_len", "?")),
        }

    def settings(self) -> dict[str, str]:
        """Every setting, flat, for `compare`: tier, recipe keys, package versions, dataset hashes."""
        out = {"tier": self.tier}
        out.update({k: str(v) for k, v in self.recipe.items() if k not in RUN_OWN_KEYS})
        out.update({f"version: {k}": str(v) for k, v in self.versions.items()})
        out.update({f"dataset: {k}": str(v)[:12] for k, v in self.datasets.items()})
        return out

    def loss_points(self, key: str) -> list[tuple[int, float]]:
        """(step, value) of `loss` (training) or `eval_loss` rows."""
        return [(row["current_steps"], row[key]) for row in self.loss if key in row and "current_steps" in row]
