"""The run folder: the one place that names its paths. Every command that reads or writes a run takes a RunLayout.

    runs/<task>-<gpu>-<time>/
        train.yaml  versions.json  datasets.json  train.log
        status.json                   {"state": running | interrupted | failed | done, "detail", "updated"}
        train-resume.yaml  train-resume.log   `domaintune train --resume`: the recipe again, from the last checkpoint
        tensorboard/                  `train --report-to tensorboard`: TensorBoard's event files
        adapter/                      LLaMA-Factory's output_dir: the LoRA adapter (or, after full fine-tuning, the
                                      whole model), trainer_log.jsonl
        predict-<variant>.yaml
        serve.yaml                    what `domaintune serve` gave llamafactory-cli api
        chat_template.jinja           LLaMA-Factory's chat template of the run, given to vLLM (`--engine vllm`)
        vllm.log                      the vLLM server `domaintune predict --engine vllm` started
        predict/<variant>/            generated_predictions.jsonl, segments.json, predict.log (HF do_predict);
                                      predict.json and, until every prompt is answered, answers.partial.jsonl
                                      (an OpenAI-compatible endpoint or vLLM)
        eval/                         metrics.json, report.md, figures
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipelines.core.paths import runs_dir

VARIANTS = ("adapter", "base")  # the fine-tuned model, and the base model it started from
PREDICTIONS_FILE = "generated_predictions.jsonl"  # LLaMA-Factory's name for its predict output
SEGMENTS_FILE = "segments.json"
PREDICT_INFO_FILE = "predict.json"  # endpoint predictions: endpoint, model, settings, tokens, seconds
ANSWERS_FILE = "answers.partial.jsonl"  # endpoint answers received so far, kept until the predictions are written
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
        """The task's run that finished training last; interrupted, failed and running ones are passed over."""
        finished = [(mark.stat().st_mtime, run) for run in map(cls, runs_dir().glob(f"{task}-*")) if (mark := run.finished())]
        return max(finished, key=lambda pair: pair[0])[1] if finished else None

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
    def resume_recipe(self) -> Path:
        return self.root / "train-resume.yaml"

    @property
    def resume_log(self) -> Path:
        return self.root / "train-resume.log"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    def status_record(self) -> dict:
        """status.json's content; {} for a run from before status.json (or an unreadable one)."""
        try:
            record = json.loads(self.status.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def state(self) -> str | None:
        """running / interrupted / failed / done, or None for a run from before status.json."""
        return self.status_record().get("state")

    def finished(self) -> Path | None:
        """The file showing training finished: status.json saying done, or, for a run from before status.json,
        what LLaMA-Factory writes last."""
        state = self.state()
        if state is not None:
            return self.status if state == "done" else None
        return self.saved_weights()

    def saved_weights(self) -> Path | None:
        """What LLaMA-Factory writes last, once training ended: the adapter's (or full model's) config."""
        return next((self.adapter / name for name in FINISHED_MARKERS if (self.adapter / name).exists()), None)

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
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def serve_recipe(self) -> Path:
        return self.root / "serve.yaml"

    @property
    def chat_template(self) -> Path:
        return self.root / "chat_template.jinja"

    @property
    def vllm_log(self) -> Path:
        return self.root / "vllm.log"

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
