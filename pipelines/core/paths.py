"""Where things live. Code and shipped data are in the checkout; what commands write (datasets, runs, models,
generated recipes) is under the workspace, the checkout unless DOMAINTUNE_WORKSPACE names another folder
(tests point it at a temporary directory so they never write into the repo)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPES_DIR = REPO_ROOT / "recipes"
TASKS_DIR = RECIPES_DIR / "tasks"
SCHEMA_DIR = RECIPES_DIR / "schema"
WORKSPACE_ENV = "DOMAINTUNE_WORKSPACE"


def workspace() -> Path:
    return Path(os.environ.get(WORKSPACE_ENV) or REPO_ROOT)


def dataset_dir() -> Path:
    """LLaMA-Factory's `dataset_dir`: built datasets and dataset_info.json."""
    return workspace() / "dataset_info"


def runs_dir() -> Path:
    return workspace() / "runs"


def models_dir() -> Path:
    return workspace() / "models"


def generated_recipes_dir() -> Path:
    return workspace() / "recipes" / "generated"


def relative(path: Path) -> str:
    """Repo-relative where possible, so recipes read the same on every machine (commands run from the root);
    else absolute, since a path relative to the user's directory means nothing to a child run from the root."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path) if Path(path).is_absolute() else str(Path(path).resolve())
