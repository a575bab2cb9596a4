"""The run folder: the one place that names its paths. Every command that reads or writes a run takes a RunLayout.

    runs/<task>-<gpu>-<time>/
        train.yaml  versions.json  datasets.json  train.log
        adapter/                      LLaMA-Factory's output_dir: the LoRA adapter (or, after full fine-tuning, the
                                      whole model), trainer_log.jsonl
        predict-<variant>.yaml
        serve.yaml                    what `domaintune serve` gave llamafactory-cli api
        predict/<variant>/            generated_predictions.jsonl, segments.json, predict.log
        eval/                         metrics.json, report.md, figures
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipelines.core.paths import runs_dir

VARIANTS = ("adapter", "base")  # the fine-tuned model, and the base model it started from
PREDICTIONS_FILE = "generated_predictions.jsonl"  # LLaMA-Factory's name for its predict output
SEGMENTS_FILE = "segments.json"
FINISHED_MARKERS = ("adapter_config.json", "config.json")  # a saved LoRA adapter, or fully fine-tuned weights


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @classmethod
    def new(cls, task: str, label: str) -> "RunLayout":
        """A fresh folder name runs/<task>-<label>-<time>; two runs in the same second get a suffix."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        root, suffix = runs_dir() / f"{task}-{label}-{stamp}", 1
        while root.exists():
            root, suffix = runs_dir() / f"{task}-{label}-{stamp}-{suffix}", suffix + 1
        return cls(root)

    @classmethod
    def latest(cls, task: str) -> "RunLayout | None":
        """The newest run of the task whose training finished (LLaMA-Factory writes these files last)."""
        configs = [p for name in FINISHED_MARKERS for p in runs_dir().glob(f"{task}-*/adapter/{name}")]
        configs.sort(key=lambda p: p.stat().st_mtime)
        return cls(configs[-1].parent.parent) if configs else None

    @classmethod
    def containing(cls, path: Path) -> "RunLayout | None":
        """The run a file belongs to (the nearest folder above it with a train.yaml), if any."""
        for parent in Path(path).resolve().parents:
            if (parent / "train.yaml").exists():
                return cls(parent)
        return None

    @property
    def train_recipe(self) -> Path:
        return self.root / "train.yaml"

    @property
    def versions(self) -> Path:
        return self.root / "versions.json"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets.json"

    @property
    def train_log(self) -> Path:
        return self.root / "train.log"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def trainer_log(self) -> Path:
        return self.adapter / "trainer_log.jsonl"

    @property
    def serve_recipe(self) -> Path:
        return self.root / "serve.yaml"

    def predict_recipe(self, variant: str) -> Path:
        return self.root / f"predict-{variant}.yaml"

    def predict_dir(self, variant: str) -> Path:
        return self.root / "predict" / variant

    def predictions(self, variant: str) -> Path:
        return self.predict_dir(variant) / PREDICTIONS_FILE

    def segments(self, variant: str) -> Path:
        return self.predict_dir(variant) / SEGMENTS_FILE

    def predict_log(self, variant: str) -> Path:
        return self.predict_dir(variant) / "predict.log"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"
