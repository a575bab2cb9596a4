"""`domaintune train`: write the recipe into a new run folder (pipelines/core/layout.py) with provenance,
then run LLaMA-Factory on it."""

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
from pathlib import Path

from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import GpuTier
from pipelines.core.layout import RunLayout
from pipelines.core.models import ModelChoice
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import dataset_file
from pipelines.planning.recipe import training_recipe
from pipelines.run.launch import DISTRIBUTED_ENV, run_llamafactory

TRACKED_PACKAGES = ("llamafactory", "torch", "transformers", "peft", "trl", "datasets", "accelerate", "deepspeed", "bitsandbytes")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()



def launch_env(multi_device: bool, ray: bool) -> dict[str, str]:
    env = {k: os.environ[k] for k in DISTRIBUTED_ENV if k in os.environ}
    if ray:
        env["USE_RAY"] = "1"
    elif multi_device or "NNODES" in env:
        env["FORCE_TORCHRUN"] = "1"
    return env


def check_machine(tier: GpuTier, ray: bool = False) -> None:
    """Refuse before anything is written when this machine cannot run the tier at all."""
    import torch

    # Both launchers are LLaMA-Factory's own, but their packages are optional extras of it.
    if ray and importlib.util.find_spec("ray") is None:
        raise DomaintuneError("--ray needs the ray package: pip install 'ray[train]'")
    if tier.devices > 1 and importlib.util.find_spec("deepspeed") is None:
        raise DomaintuneError(f"tier {tier.name} trains with DeepSpeed, which is not installed: pip install deepspeed")

    if tier.backend == "cuda" and torch.cuda.device_count() < tier.devices:
        found = torch.cuda.device_count()
        raise DomaintuneError(
            f"tier {tier.name} needs {tier.devices} CUDA GPU(s) per node; this machine has {found}. "
            "Pick the tier of this machine (domaintune recipes lists them), or try the path with --gpu cpu --model tiny"
        )
    if tier.backend == "mps" and not torch.backends.mps.is_available():
        raise DomaintuneError(f"tier {tier.name} needs Apple's MPS backend, which this machine does not have")


def train(task: Task, tier: GpuTier, model: ModelChoice, ray: bool = False, overrides: dict | None = None, quiet: bool = False) -> RunLayout:
    """Train the task on the tier in a new run folder. `overrides` are LLaMA-Factory keys set last."""
    check_machine(tier, ray)
    datasets = {name: sha256(dataset_file(name)) for name in (task.dataset_name("train"), task.dataset_name("val"))}
    run = RunLayout.new(task.name, tier.name)
    recipe = training_recipe(task, tier, model, output_dir=run.adapter)
    if ray:
        # LLaMA-Factory's Ray path starts one worker per device of every node Ray can see.
        recipe.sections["train"]["ray_num_workers"] = tier.devices * int(os.environ.get("NNODES", "1"))
    recipe.override(overrides)
    recipe_file = recipe.write(run.train_recipe)
    write_json(run.versions, package_versions())
    write_json(run.datasets, datasets)
    run_llamafactory("train", recipe_file, run.train_log, launch_env(recipe.deepspeed is not None, ray), quiet)
    return run
