"""`domaintune webui`: LLaMA-Factory's own web UI, opened on our registered datasets.

The UI looks for datasets in `./data` relative to its working directory, so it runs in runs/webui/,
where `data` links to dataset_info/: the real `llamafactory-cli webui`, unpatched, sees our datasets.
"""

from pathlib import Path

from pipelines.core.hubs import DEFAULT_HUB
from pipelines.core.paths import dataset_dir, runs_dir
from pipelines.run.launch import llamafactory_cli, run_child


def workdir() -> Path:
    return runs_dir() / "webui"


def prepare_workdir() -> Path:
    work = workdir()
    work.mkdir(parents=True, exist_ok=True)
    link = work / "data"
    if link.is_symlink() and link.resolve() != dataset_dir().resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(dataset_dir().resolve(), target_is_directory=True)
    return work


def webui(port: int, host: str = "127.0.0.1", hub: str = DEFAULT_HUB) -> int:
    work = prepare_workdir()
    env = {"GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": host, "GRADIO_ANALYTICS_ENABLED": "False"}
    # The UI downloads the model picked in it by itself; LLaMA-Factory's own switch sends it to the same hub as ours.
    env["USE_MODELSCOPE_HUB"] = "1" if hub == "modelscope" else "0"
    # In its own process group, so a SIGTERM to `domaintune webui` stops the UI too instead of orphaning it.
    return run_child([llamafactory_cli(), "webui"], env=env, cwd=work)
