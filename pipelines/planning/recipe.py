"""Generated LLaMA-Factory YAML: one training recipe per task x GPU tier, and the matching predict recipe.

Recipes are written in LLaMA-Factory's example layout (### model / method / dataset / output / train)
with a comment header that says how to run the file and why each non-default choice was made.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.core.atomic import write_json, write_text
from pipelines.core.gpus import GpuTier, load_tiers
from pipelines.core.models import TINY, ModelChoice
from pipelines.core.paths import dataset_dir, generated_recipes_dir, relative
from pipelines.core.tasks import Task
from pipelines.data.lengths import LengthStats, read_stats
from pipelines.planning.architectures import Architecture, resolve_architecture
from pipelines.planning.eta import TrainingTime, expected_time
from pipelines.planning.measured import load_measured
from pipelines.planning.plan import Plan, PlanRequest, plan_training

SECTIONS = ("model", "method", "dataset", "output", "train")
THIS_FILE = "{this file}"  # replaced by the recipe's own path when it is written


@dataclass
class Recipe:
    header: list[str]
    sections: dict[str, dict]
    deepspeed: dict | None = None
    departures: tuple[str, ...] = ()
    """Where the recipe leaves the task's own settings to fit the tier: commands print these, not only the header."""
    training_time: TrainingTime | None = None
    """How long training is expected to take (a training recipe's); `recipe` and `train` print it."""

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


# The chat template of each model family; Qwen3's thinking is switched by template and enable_thinking together.
FAMILY_TEMPLATES = {"qwen2": ("qwen",), "qwen3": ("qwen3_nothink", "qwen3")}


@dataclass(frozen=True)
class ChatFormat:
    template: str
    enable_thinking: bool
    note: str | None = None  # why it differs from the task's own setting


def chat_format(task: Task, arch: Architecture) -> ChatFormat:
    """The task's template, or the one of the model's family when the model given is of another family."""
    template, thinking = task.model["template"], task.model["enable_thinking"]
    family_templates = FAMILY_TEMPLATES.get(arch.model_type)
    if family_templates is None or template in family_templates:
        return ChatFormat(template, thinking)
    chosen = family_templates[0]
    note = (
        f"template {chosen} (not the task's {template}): {arch.name} is a {arch.model_type} model; "
        f"set model.template in {relative(task.path)} to choose another of {', '.join(family_templates)}"
    )
    return ChatFormat(chosen, False, note)


def data_section(task: Task, chat: ChatFormat, **datasets: str) -> dict:
    return {
        **datasets,
        "dataset_dir": relative(dataset_dir()),
        "template": chat.template,
        # Training and prediction must agree on thinking, or a model learns to think when it should not.
        "enable_thinking": chat.enable_thinking,
        "cutoff_len": task.train["cutoff_len"],
        "overwrite_cache": True,
        "preprocessing_num_workers": 2,
    }


def lora_section(task: Task, plan: Plan) -> dict:
    """The task's LoRA settings when the plan trains LoRA (its own method, or the fallback of a `full` task), at the
    plan's rank: where the planner lowered it, lora_alpha is scaled with it to keep the task's alpha/rank."""
    if plan.lora_rank is None:
        return {}
    section = {k: task.train[k] for k in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target") if k in task.train}
    task_rank = section.get("lora_rank", plan.lora_rank)
    if "lora_alpha" in section and plan.lora_rank != task_rank:
        section["lora_alpha"] = max(1, round(section["lora_alpha"] * plan.lora_rank / task_rank))
    section["lora_rank"] = plan.lora_rank
    return section


def plan_for(task: Task, tier: GpuTier, arch: Architecture, stats: LengthStats | None = None) -> Plan:
    """The plan for the task's training set as `domaintune data` measured it (or `stats`, when given)."""
    name = task.dataset_name("train")
    stats = stats or read_stats(dataset_dir(), name)
    missing = f"no length statistics for {name}: run `domaintune data --task {task.name}`"
    return plan_training(PlanRequest.from_task(task.train, arch, stats, missing), tier)


def cpu_advice(tier: GpuTier, model: ModelChoice) -> str | None:
    if tier.backend != "cpu" or model.requested == TINY:
        return None
    return (
        f"Advice: the {tier.name} tier trains a real model only slowly; use a GPU tier (`--gpu auto` picks this machine's, "
        "`domaintune recipes` lists them) or try the whole path in minutes with `--model tiny`."
    )


def training_recipe(task: Task, tier: GpuTier, model: ModelChoice, output_dir: Path) -> Recipe:
    arch = resolve_architecture(model.path)
    stats = read_stats(dataset_dir(), task.dataset_name("train"))
    plan = plan_for(task, tier, arch, stats)
    timing = expected_time(
        task.name, stats, task.train["num_train_epochs"], plan, arch, tier, load_tiers(), load_measured(), cpu_advice(tier, model)
    )
    chat = chat_format(task, arch)
    lf = plan.llamafactory_args()
    method_keys = {"finetuning_type", "quantization_bit", "quantization_method"}
    header = [
        f"{task.name} on {tier.name}: {task.description}",
        *([f"GPU auto: {tier.detected}"] if tier.detected else []),
        f"Run:  domaintune train --task {task.name} --gpu {tier.name}" + (f" --model {model.requested}" if model.requested else ""),
        f"  or: llamafactory-cli train {THIS_FILE}",
        f"Estimated peak memory per device: {plan.estimate.peak_gb:.1f} GB (see `domaintune estimate`).",
        timing.line(),
        "Why:",
        *[f"  - {reason}" for reason in plan.reasons + ([chat.note] if chat.note else [])],
    ]
    sections = {
        "model": {"model_name_or_path": model.path, "trust_remote_code": True},
        "method": {
            "stage": "sft",
            "do_train": True,
            **{k: v for k, v in lf.items() if k in method_keys},
            **lora_section(task, plan),
        },
        "dataset": data_section(task, chat, dataset=task.dataset_name("train"), eval_dataset=task.dataset_name("val")),
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
            **({"max_grad_norm": task.train["max_grad_norm"]} if "max_grad_norm" in task.train else {}),
            "lr_scheduler_type": "cosine",
            "warmup_ratio": 0.1,
            "eval_strategy": "epoch",  # validation loss per epoch goes into the loss plot
            "per_device_eval_batch_size": lf["per_device_train_batch_size"],
            "seed": 42,
            "ddp_timeout": 180000000,
        },
    }
    return Recipe(header, sections, plan.deepspeed, tuple(plan.departures), timing)


def predict_recipe(task: Task, model_path: str, chat: ChatFormat, adapter: Path | None, output_dir: Path, eval_datasets: list[str]) -> Recipe:
    """LLaMA-Factory's own do_predict + predict_with_generate on the given datasets in order: greedy, so that
    before/after comparisons do not move with sampling noise, unless the task samples (predict.do_sample)."""
    header = [
        f"{task.name}: predictions of {model_path}" + (f" with the adapter {adapter}" if adapter else ""),
        f"Run:  llamafactory-cli train {THIS_FILE}",
    ]
    # An adapter is LoRA even when the task asked for full fine-tuning (the planner's fallback where full does not fit).
    finetuning = "lora" if adapter is not None else task.train["method"]
    method = {"stage": "sft", "do_predict": True, "predict_with_generate": True, "finetuning_type": finetuning}
    model = {"model_name_or_path": model_path, "trust_remote_code": True}
    if adapter is not None:
        model["adapter_name_or_path"] = relative(adapter)
    sections = {
        "model": model,
        "method": method,
        "dataset": data_section(task, chat, eval_dataset=",".join(eval_datasets)),
        "output": {"output_dir": relative(output_dir), "overwrite_output_dir": True, "report_to": "none"},
        "train": {
            "per_device_eval_batch_size": task.config["predict"].get("batch_size", 8),
            "max_new_tokens": task.config["predict"]["max_new_tokens"],
            **sampling(task.config["predict"]),
        },
    }
    return Recipe(header, sections)


def sampling(predict: dict) -> dict:
    if not predict.get("do_sample", False):
        return {"do_sample": False}
    return {"do_sample": True, **{k: predict[k] for k in ("temperature", "top_p") if k in predict}}


def recipe_path(task: Task, tier: GpuTier) -> Path:
    return generated_recipes_dir() / f"{task.name}-{tier.name}.yaml"
