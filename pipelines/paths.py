"""Where things live in a checkout. Every other module asks here instead of guessing."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPES_DIR = REPO_ROOT / "recipes"
TASKS_DIR = RECIPES_DIR / "tasks"
SCHEMA_DIR = RECIPES_DIR / "schema"
GENERATED_RECIPES_DIR = RECIPES_DIR / "generated"
DATASET_DIR = REPO_ROOT / "dataset_info"
RUNS_DIR = REPO_ROOT / "runs"
MODELS_DIR = REPO_ROOT / "models"


def relative(path: Path) -> str:
    """Repo-relative where possible, so recipes read the same on every machine (commands run from the root)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
