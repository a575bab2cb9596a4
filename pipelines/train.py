"""`domaintune train`: write the recipe into a run folder with provenance, then run LLaMA-Factory on it.

    runs/<task>-<gpu>-<timestamp>/
        train.yaml  versions.json  datasets.json  train.log
        adapter/    (LLaMA-Factory output_dir: adapter weights, trainer_log.jsonl, training_loss.png)
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
from datetime import datetime
from pathlib import Path

from .atomic import write_json
from .dataset_info import dataset_file
from .errors import DomaintuneError
from .gpus import GpuTier, get_tier
from .launch import DISTRIBUTED_ENV, run_llamafactory
from .paths import RUNS_DIR
from .recipe import training_recipe
from .tasks import Task

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


def new_run_dir(task: Task, gpu: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = RUNS_DIR / f"{task.name}-{gpu}-{stamp}"
    suffix = 1
    while run_dir.exists():  # two runs in the same second (tests) must not share a folder
        run_dir = RUNS_DIR / f"{task.name}-{gpu}-{stamp}-{suffix}"
        suffix += 1
    return run_dir


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


def train(task: Task, gpu: str, model: str | None = None, ray: bool = False, overrides: dict | None = None, quiet: bool = False) -> Path:
    """Train the task on the tier; returns the run folder. `overrides` are LLaMA-Factory keys set last."""
    tier = get_tier(gpu)
    check_machine(tier, ray)
    datasets = {name: sha256(dataset_file(name)) for name in (task.dataset_name("train"), task.dataset_name("val"))}
    run_dir = new_run_dir(task, gpu)
    recipe = training_recipe(task, gpu, model, output_dir=run_dir / "adapter")
    if ray:
        # LLaMA-Factory's Ray path starts one worker per device of every node Ray can see.
        recipe.sections["train"]["ray_num_workers"] = tier.devices * int(os.environ.get("NNODES", "1"))
    recipe.override(overrides)
    recipe_file = recipe.write(run_dir / "train.yaml")
    write_json(run_dir / "versions.json", package_versions())
    write_json(run_dir / "datasets.json", datasets)
    run_llamafactory("train", recipe_file, run_dir / "train.log", launch_env(recipe.deepspeed is not None, ray), quiet)
    return run_dir


def latest_run(task: Task) -> Path | None:
    """The newest run of the task whose adapter finished training."""
    runs = sorted(RUNS_DIR.glob(f"{task.name}-*/adapter/adapter_config.json"), key=lambda p: p.stat().st_mtime)
    return runs[-1].parent.parent if runs else None
