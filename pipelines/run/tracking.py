"""`train --report-to tensorboard|wandb|mlflow`: the experiment trackers transformers' Trainer already has, set
through LLaMA-Factory's `report_to`, with what they write locally kept inside the run folder.

    domaintune train --task telecom --gpu 4090 --report-to tensorboard
    tensorboard --logdir runs/            # every run's <run>/tensorboard/

wandb and MLflow read their own settings (WANDB_API_KEY / WANDB_MODE, MLFLOW_TRACKING_URI) from the environment.
"""

import importlib.util
import os

from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import RunLayout

# The packages transformers accepts for each tracker (any one of them); the first is the one to install.
TRACKERS = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
}


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def check_trackers(names: list[str]) -> None:
    """Refuse before anything starts a tracker whose package is missing (transformers fails only after loading)."""
    for name in names:
        packages = TRACKERS[name]
        if not any(installed(p) for p in packages):
            raise DomaintuneError(f"--report-to {name} needs the {packages[0]} package, which is not installed: pip install {packages[0]}")


def tracking_args(run: RunLayout, names: list[str]) -> dict:
    """The recipe keys: the trackers, and the run folder's name as the run's name in their UIs."""
    return {"report_to": list(names), "run_name": run.root.name} if names else {}


def tracking_env(run: RunLayout, names: list[str]) -> dict[str, str]:
    """TensorBoard's event files into <run>/tensorboard; wandb's local files into the run (not the working dir)."""
    env = {}
    if "tensorboard" in names:
        env["TENSORBOARD_LOGGING_DIR"] = str(run.tensorboard)
    if "wandb" in names and "WANDB_DIR" not in os.environ:
        env["WANDB_DIR"] = str(run.root)
    return env


def trackers_of(recipe: dict) -> list[str]:
    """The trackers a written recipe reports to (for `train --resume`)."""
    report_to = recipe.get("report_to", "none")
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    return [name for name in names if name in TRACKERS]
