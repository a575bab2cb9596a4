"""`domaintune webui`: LLaMA-Factory's own web UI, opened on our registered datasets.

The UI looks for datasets in `./data` relative to its working directory, so it runs in runs/webui/,
where `data` links to dataset_info/: the real `llamafactory-cli webui`, unpatched, sees our datasets.
"""

import os
import subprocess

from .launch import llamafactory_cli
from .paths import DATASET_DIR, RUNS_DIR

WORKDIR = RUNS_DIR / "webui"


def prepare_workdir() -> None:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    link = WORKDIR / "data"
    if link.is_symlink() and link.resolve() != DATASET_DIR.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(DATASET_DIR.resolve(), target_is_directory=True)


def webui(port: int, host: str = "127.0.0.1") -> int:
    prepare_workdir()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": host, "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.call([llamafactory_cli(), "webui"], cwd=WORKDIR, env=env)
