"""`domaintune train`: write the recipe into a new run folder (pipelines/core/layout.py) with provenance,
then run LLaMA-Factory on it; `train --resume RUN` continues an interrupted run from its last checkpoint.

The run's status.json follows it: running, then done, failed or interrupted (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT),
as the child ended: one that saved its weights and exited 0 although a signal came is done. Before training
starts, `inform` hears the expected training time; after LLaMA-Factory's second trainer_log.jsonl entry, the
measured tokens/s and the time left (pipelines/planning/eta.py). versions.json records the packages and which
weights were trained (hub, revision, files digest: pipelines/core/models.py).
"""

import importlib.metadata
import importlib.util
import json
import os
import platform
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import yaml

from pipelines.core.atomic import write_json, write_text
from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.gpus import GpuTier
from pipelines.core.layout import RunLayout
from pipelines.core.models import ModelChoice
from pipelines.core.paths import relative
from pipelines.core.tasks import Task
from pipelines.data.fingerprint import check_unchanged, dataset_hashes
from pipelines.planning.eta import LogPoint, TrainingTime, corrected_eta
from pipelines.planning.recipe import training_recipe
from pipelines.run.launch import DISTRIBUTED_ENV, run_llamafactory
from pipelines.run.tracking import (
    check_trackers,
    trackers_of,
    tracking_args,
    tracking_env,
)

TRACKED_PACKAGES = ("llamafactory", "torch", "transformers", "peft", "trl", "datasets", "accelerate", "deepspeed", "bitsandbytes")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


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


def train(
    task: Task,
    tier: GpuTier,
    model: ModelChoice,
    ray: bool = False,
    overrides: dict | None = None,
    quiet: bool = False,
    notify: Callable[[str], None] = lambda note: None,
    inform: Callable[[str], None] | None = None,
    report_to: tuple[str, ...] = (),
    verbose: bool = False,
) -> RunLayout:
    """Train the task on the tier in a new run folder. `overrides` are LLaMA-Factory keys set last; `notify` hears,
    before training starts, where the recipe leaves the task's settings to fit the tier (a lower LoRA rank, ...);
    `inform` the expected training time, then the time left as measured. `report_to` names experiment trackers
    (pipelines/run/tracking.py); `verbose` streams LLaMA-Factory's output instead of the progress line, `quiet`
    shows neither."""
    check_machine(tier, ray)
    check_trackers(list(report_to))
    datasets = dataset_hashes([task.dataset_name("train"), task.dataset_name("val")])
    run = RunLayout.new(task.name, tier.name)
    recipe = training_recipe(task, tier, model, output_dir=run.adapter)
    for departure in recipe.departures:
        notify(departure)
    if ray:
        # LLaMA-Factory's Ray path starts one worker per device of every node Ray can see.
        recipe.sections["train"]["ray_num_workers"] = tier.devices * int(os.environ.get("NNODES", "1"))
    recipe.sections["output"].update(tracking_args(run, list(report_to)))
    recipe.override(overrides)
    timing = recipe.training_time.limited(recipe.args.get("max_steps"))
    recipe_file = recipe.write(run.train_recipe)
    write_json(run.versions, {**package_versions(), **model.provenance})
    write_json(run.datasets, datasets)
    for line in timing.lines() if inform else ():
        inform(line)
    env = {**launch_env(recipe.deepspeed is not None, ray), **tracking_env(run, list(report_to))}
    with tracked(run, notify), measured_speed(run.trainer_log, timing, inform):
        run_llamafactory("train", recipe_file, run.train_log, env, quiet, verbose=verbose)
    return run


@contextmanager
def measured_speed(trainer_log: Path, expected: TrainingTime, inform: Callable[[str], None] | None, poll_s: float = 2.0) -> Iterator[None]:
    """While the block runs, watch LLaMA-Factory's trainer_log.jsonl; once it holds two entries, tell `inform` the
    measured speed and the time left, once (the rate between the two leaves the first step's start-up out)."""
    if inform is None:
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(poll_s):
            points = log_points(trainer_log)
            if len(points) >= 2:
                inform(corrected_eta(points[0], points[-1], expected.tokens_per_step).line(expected))
                return

    watcher = threading.Thread(target=watch, name="measured-speed", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def log_points(trainer_log: Path) -> list[LogPoint]:
    """The entries of trainer_log.jsonl so far, one per step count (a line being written is skipped)."""
    try:
        lines = trainer_log.read_text(encoding="utf-8").split("\n")
    except OSError:
        return []
    points: dict[int, LogPoint] = {}
    for line in lines:
        try:
            point = LogPoint.from_entry(json.loads(line))
        except ValueError:
            continue
        if point is not None and point.steps > 0:
            points.setdefault(point.steps, point)
    return sorted(points.values(), key=lambda p: p.steps)


def write_status(run: RunLayout, state: str, detail: str = "") -> None:
    write_json(run.status, {"state": state, "detail": detail, "pid": os.getpid(), "updated": datetime.now().isoformat(timespec="seconds")})


@contextmanager
def tracked(run: RunLayout, notify: Callable[[str], None] = lambda note: None) -> Iterator[None]:
    """status.json says `running` while the block runs, then `done`, `interrupted` or `failed` (with the reason).

    A signal that came while the trainer was finishing does not undo its work: a child that exited 0 with its
    weights saved is `done`, and the block ends normally (with a note) instead of raising.
    """
    write_status(run, "running")
    try:
        yield
    except Interrupted as exc:
        if exc.code == 0 and run.saved_weights():
            write_status(run, "done", f"finished and saved although {exc} came")
            notify(f"{exc}, but training had finished and saved {relative(run.saved_weights())}: the run is done")
            return
        write_status(run, "interrupted", str(exc))
        raise
    except KeyboardInterrupt as exc:
        write_status(run, "interrupted", str(exc) or "interrupted")
        raise
    except BaseException as exc:
        write_status(run, "failed", str(exc) or type(exc).__name__)
        raise
    write_status(run, "done")


def last_checkpoint(run: RunLayout) -> Path | None:
    """The newest complete checkpoint-N folder under the run's output dir: highest N, as transformers picks, but
    only one holding trainer_state.json, which the Trainer writes last (an interrupted save has none)."""
    complete = [p for p in run.adapter.glob("checkpoint-*") if p.name.partition("-")[2].isdigit() and (p / "trainer_state.json").is_file()]
    return max(complete, key=lambda p: int(p.name.partition("-")[2]), default=None)


def resume(
    task: Task,
    run: RunLayout,
    overrides: dict | None = None,
    allow_changed_data: bool = False,
    quiet: bool = False,
    notify: Callable[[str], None] = lambda note: None,
    verbose: bool = False,
) -> RunLayout:
    """Continue an interrupted or failed run from its last checkpoint, with LLaMA-Factory's resume_from_checkpoint.

    `overrides` (LLaMA-Factory keys) are set on the run's own recipe, e.g. a larger max_steps.
    """
    if not run.train_recipe.exists():
        raise DomaintuneError(f"{run.root}: not a run folder (no {run.train_recipe.name}); runs are under {relative(run.root.parent)}")
    recipe = yaml.safe_load(run.train_recipe.read_text(encoding="utf-8"))
    trained_on = str(recipe.get("dataset"))
    if trained_on != task.dataset_name("train"):
        other = trained_on.removesuffix("_train")  # Task.dataset_name
        raise DomaintuneError(f"{run.root}: a run of task {other} (it trains on {trained_on}), not of {task.name}; resume it with --task {other}")
    state = run.state()
    if state == "done":
        raise DomaintuneError(f"{run.root}: training finished already (status done); start a new run with `domaintune train --task {task.name}`")
    pid = run.status_record().get("pid")
    if state == "running" and pid != os.getpid() and _alive(pid):
        raise DomaintuneError(f"{run.root}: still training (process {pid}); stop it first or wait")
    checkpoint = last_checkpoint(run)
    if checkpoint is None:
        raise DomaintuneError(f"{run.root}: no checkpoint saved under {run.adapter} yet, so nothing to resume; start again with `domaintune train --task {task.name}`")
    check_unchanged(run.datasets, task.name, allow_changed_data)
    recipe.update(overrides or {})
    recipe["resume_from_checkpoint"] = relative(checkpoint)
    header = f"# {relative(run.train_recipe)} resumed from {relative(checkpoint)}\n# Run:  domaintune train --task {task.name} --resume {relative(run.root)}\n"
    write_text(run.resume_recipe, header + yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True))
    env = {**launch_env("deepspeed" in recipe, "ray_num_workers" in recipe), **tracking_env(run, trackers_of(recipe))}
    with tracked(run, notify):
        run_llamafactory("train", run.resume_recipe, run.resume_log, env, quiet, verbose=verbose)
    return run


def _alive(pid: int | None) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
