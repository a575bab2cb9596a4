"""Generated LLaMA-Factory YAML: one training recipe per task x GPU tier, and the matching predict recipe.

Recipes are written in LLaMA-Factory's example layout (### model / method / dataset / output / train)
with a comment header that says how to run the file and why each non-default choice was made.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from .architectures import resolve_architecture
from .atomic import write_json, write_text
from .gpus import get_tier
from .models import resolve_model
from .paths import DATASET_DIR, GENERATED_RECIPES_DIR, relative
from .plan import Plan, plan_training
from .tasks import Task

SECTIONS = ("model", "method", "dataset", "output", "train")
THIS_FILE = "{this file}"  # replaced by the recipe's own path when it is written


@dataclass
class Recipe:
    header: list[str]
    sections: dict[str, dict]
    deepspeed: dict | None = None

    @property
    def args(self) -> dict:
        return {k: v for section in self.sections.values() for k, v in section.items()}

    def override(self, overrides: dict) -> None:
        """Set keys where they already are (else under ### train) and note them in the header."""
        if not overrides:
            return
        for key, value in overrides.items():
            section = next((s for s in self.sections.values() if key in s), self.sections["train"])
            section[key] = value
        self.header.append("Overridden on the command line: " + ", ".join(f"{k}={v}" for k, v in overrides.items()))

    def to_yaml(self, path: Path) -> str:
        lines = [f"# {line.replace(THIS_FILE, relative(path))}" for line in self.header]
        for name in SECTIONS:
            if self.sections.get(name):
                lines += ["", f"### {name}", yaml.safe_dump(self.sections[name], allow_unicode=True, sort_keys=False).rstrip()]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> Path:
        """Write the YAML (and its DeepSpeed JSON beside it, when the plan has one)."""
        path = Path(path)
        if self.deepspeed is not None:
            ds_path = path.with_name(path.stem + ".deepspeed.json")
            write_json(ds_path, self.deepspeed)
            self.sections["train"]["deepspeed"] = relative(ds_path)
        write_text(path, self.to_yaml(path))
        return path


def data_section(task: Task, **datasets: str) -> dict:
    return {
        **datasets,
        "dataset_dir": relative(DATASET_DIR),
        "template": task.model["template"],
        # Training and prediction must agree on thinking, or a model learns to think when it should not.
        "enable_thinking": task.model["enable_thinking"],
        "cutoff_len": task.train["cutoff_len"],
        "overwrite_cache": True,
        "preprocessing_num_workers": 2,
    }


def lora_section(task: Task) -> dict:
    train = task.train
    if train["method"] != "lora":
        return {}
    return {k: train[k] for k in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target") if k in train}


def plan_for(task: Task, gpu: str, model_path: str) -> Plan:
    train = task.train
    return plan_training(
        arch=resolve_architecture(model_path),
        method=train["method"],
        lora_rank=train.get("lora_rank", 8),
        cutoff_len=train["cutoff_len"],
        effective_batch_size=train["effective_batch_size"],
        short_samples=train.get("short_samples", False),
        tier=get_tier(gpu),
    )


def training_recipe(task: Task, gpu: str, model: str | None, output_dir: Path) -> Recipe:
    model_path = resolve_model(task, model)
    plan = plan_for(task, gpu, model_path)
    lf = plan.llamafactory_args()
    method_keys = {"finetuning_type", "quantization_bit", "quantization_method"}
    header = [
        f"{task.name} on {gpu}: {task.description}",
        f"Run:  domaintune train --task {task.name} --gpu {gpu}" + (f" --model {model}" if model else ""),
        f"  or: llamafactory-cli train {THIS_FILE}",
        f"Estimated peak memory per device: {plan.estimate.peak_gb:.1f} GB (see `domaintune estimate`).",
        "Why:",
        *[f"  - {reason}" for reason in plan.reasons],
    ]
    sections = {
        "model": {"model_name_or_path": model_path, "trust_remote_code": True},
        "method": {
            "stage": "sft",
            "do_train": True,
            **{k: v for k, v in lf.items() if k in method_keys},
            **lora_section(task),
        },
        "dataset": data_section(task, dataset=task.dataset_name("train"), eval_dataset=task.dataset_name("val")),
        "output": {
            "output_dir": relative(output_dir),
            "logging_steps": 5,
            "save_strategy": "epoch",
            "save_total_limit": 1,
            "plot_loss": True,
            "overwrite_output_dir": True,
            "report_to": "none",
        },
        "train": {
            **{k: v for k, v in lf.items() if k not in method_keys},
            "learning_rate": task.train["learning_rate"],
            "num_train_epochs": task.train["num_train_epochs"],
            "lr_scheduler_type": "cosine",
            "warmup_ratio": 0.1,
            "eval_strategy": "epoch",  # validation loss per epoch goes into the loss plot
            "per_device_eval_batch_size": lf["per_device_train_batch_size"],
            "seed": 42,
            "ddp_timeout": 180000000,
        },
    }
    return Recipe(header, sections, plan.deepspeed)


def predict_recipe(task: Task, model_path: str, adapter: Path | None, output_dir: Path, eval_datasets: list[str]) -> Recipe:
    """LLaMA-Factory's own do_predict + predict_with_generate, greedy, on the given datasets in order."""
    header = [
        f"{task.name}: predictions of {'the adapter ' + str(adapter) if adapter else 'the base model'}",
        f"Run:  llamafactory-cli train {THIS_FILE}",
    ]
    method = {"stage": "sft", "do_predict": True, "predict_with_generate": True, "finetuning_type": task.train["method"]}
    model = {"model_name_or_path": model_path, "trust_remote_code": True}
    if adapter is not None:
        model["adapter_name_or_path"] = relative(adapter)
    sections = {
        "model": model,
        "method": method,
        "dataset": data_section(task, eval_dataset=",".join(eval_datasets)),
        "output": {"output_dir": relative(output_dir), "overwrite_output_dir": True, "report_to": "none"},
        "train": {
            "per_device_eval_batch_size": task.config["predict"].get("batch_size", 8),
            "max_new_tokens": task.config["predict"]["max_new_tokens"],
            # Greedy decoding: before/after comparisons must not move with sampling noise.
            "do_sample": False,
        },
    }
    return Recipe(header, sections)


def recipe_path(task: Task, gpu: str) -> Path:
    return GENERATED_RECIPES_DIR / f"{task.name}-{gpu}.yaml"
