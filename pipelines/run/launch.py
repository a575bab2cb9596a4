"""Child processes (`llamafactory-cli`, servers) that never outlive us: each runs as the leader of its own
process group; SIGINT, SIGTERM, SIGHUP (a closed terminal, a dropped SSH session) and SIGQUIT sent to us are
forwarded to the whole group, and the group is waited for. A child still there STOP_GRACE_S after the signal
gets SIGTERM, and SIGKILL as long again after that.

`run_child` is the one way this project runs a long-lived child; `run_llamafactory` is it for `llamafactory-cli`,
which shows progress (pipelines/run/watch.py) instead of the child's log unless asked to stream it.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.paths import REPO_ROOT, relative
from pipelines.run.watch import Watch

# Multi-GPU / multi-node launches are LLaMA-Factory's own torchrun path, configured by these variables.
DISTRIBUTED_ENV = ("NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NPROC_PER_NODE")
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# Long enough for a trainer to finish the step it is in and exit; a child that ignores the signal is then
# escalated (SIGTERM, then SIGKILL) instead of being waited for forever.
STOP_GRACE_S = 30.0
TAIL_LINES = 30  # of a failed child's log, printed with the error


def llamafactory_cli() -> str:
    # The venv's entry point sits beside the interpreter; fall back to PATH for other installs.
    beside = Path(sys.executable).with_name("llamafactory-cli")
    return str(beside) if beside.exists() else (shutil.which("llamafactory-cli") or "llamafactory-cli")


def spawn_group(command: list[str], cwd: Path = REPO_ROOT, env: dict[str, str] | None = None, **popen_kwargs) -> subprocess.Popen:
    """Start `command` in a new session, so it and every process it starts form one group we can signal.

    A terminal's Ctrl-C then reaches only us; `forward_signals` passes it on, so nothing is killed unawares.
    """
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(command, cwd=cwd, env=full_env, start_new_session=True, **popen_kwargs)


def signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:  # the group has already exited
        pass


def stop_group(process: subprocess.Popen, grace_s: float = 10.0) -> int:
    """SIGTERM the group, then SIGKILL it if it is still there after `grace_s`; returns the exit code."""
    signal_group(process, signal.SIGTERM)
    try:
        return process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        return process.wait()


def escalate(process: subprocess.Popen, first: int, grace_s: float, stopped: threading.Event) -> None:
    """After `first` was forwarded: SIGTERM once `grace_s` passed without the child exiting, then SIGKILL."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if signum == first:
            continue
        if stopped.wait(grace_s):
            return
        signal_group(process, signum)


@contextmanager
def forward_signals(process: subprocess.Popen, grace_s: float | None = None) -> Iterator[list[int]]:
    """While inside, FORWARDED_SIGNALS go to the child's group instead of acting here; yields the signals received.

    The first one also starts the escalation (`escalate`), stopped on the way out. Handlers can only be installed
    from the main thread; elsewhere the child is stopped on the way out instead.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        try:
            yield received
        finally:
            if process.poll() is None:
                stop_group(process)
        return

    stopped = threading.Event()

    def forward(signum, _frame):
        received.append(signum)
        signal_group(process, signum)
        if len(received) == 1:
            grace = STOP_GRACE_S if grace_s is None else grace_s
            threading.Thread(target=escalate, args=(process, signum, grace, stopped), daemon=True).start()

    previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        yield received
    except BaseException:
        if process.poll() is None:
            stop_group(process)
        raise
    finally:
        stopped.set()
        for s, handler in previous.items():
            signal.signal(s, handler)


def echo_line(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


def run_child(
    command: list[str],
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path = REPO_ROOT,
    quiet: bool = False,
    on_line: Callable[[str], None] | None = None,
    grace_s: float | None = None,
) -> int:
    """Run `command` in its own process group until it exits; returns its exit code.

    With `log_path`, its output is saved there and each line handed to `on_line` (default: echoed, unless quiet);
    without, it shares our terminal. A forwarded signal raises `Interrupted`, with the child's exit code, once the
    child has exited.
    """
    if log_path is None:
        process = spawn_group(command, cwd, env)
        with forward_signals(process, grace_s) as received:
            code = process.wait()
    else:
        show = on_line or (None if quiet else echo_line)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as log:
            process = spawn_group(command, cwd, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
            with forward_signals(process, grace_s) as received:
                for line in process.stdout:
                    log.write(line)
                    show = _shown(show, line)
                code = process.wait()
    if received:
        raise Interrupted(received[0], " ".join([Path(command[0]).name, *map(str, command[1:2])]), code)
    return code


def _shown(show: Callable[[str], None] | None, line: str) -> Callable[[str], None] | None:
    """Hand `line` on; a terminal that went away (SIGHUP) ends the showing, not the logging."""
    if show is None:
        return None
    try:
        show(line)
    except OSError:
        return None
    return show


def log_tail(log_path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last `lines` non-blank lines of a child's log (progress bars' carriage returns read as line ends)."""
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return list(deque((line.rstrip() for line in log if line.strip()), maxlen=lines))


def print_tail(log_path: Path) -> None:
    tail = log_tail(log_path)
    sys.stderr.write(f"--- last {len(tail)} lines of {relative(log_path)} ---\n" + "".join(f"{line}\n" for line in tail) + "---\n")
    sys.stderr.flush()


def trainer_log_of(recipe: dict) -> Path | None:
    """Where LLaMA-Factory writes trainer_log.jsonl for this recipe: its output_dir (commands run from the root)."""
    return REPO_ROOT / recipe["output_dir"] / "trainer_log.jsonl" if recipe.get("output_dir") else None


def samples_per_step(recipe: dict, env: dict[str, str]) -> tuple[int, str] | None:
    """(count, unit) per optimizer step of a one-process training: samples, or rows when packing puts several
    samples in a row; None where several processes share a step (DeepSpeed, torchrun, Ray) or the recipe does
    not say its batch."""
    if not recipe.get("do_train") or "deepspeed" in recipe or {"FORCE_TORCHRUN", "USE_RAY", "NNODES"} & set(env):
        return None
    if "per_device_train_batch_size" not in recipe:
        return None
    return recipe["per_device_train_batch_size"] * recipe.get("gradient_accumulation_steps", 1), "rows" if recipe.get("packing") else "samples"


def run_llamafactory(
    verb: str,
    config: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    quiet: bool = False,
    verbose: bool = False,
    title: str | None = None,
) -> None:
    """Run `llamafactory-cli VERB CONFIG`, saving its output to `log_path` and showing progress as `title`
    (default: the verb); `verbose` echoes every line instead, `quiet` shows nothing. On failure the log's last
    lines are printed (unless they were streamed already) before the error that names the log.
    """
    command = [llamafactory_cli(), verb, str(config)]
    # LLaMA-Factory then adds the device's peak memory to trainer_log.jsonl (0 on a CPU, which is not shown).
    env = {"RECORD_VRAM": "1", **(env or {})}
    if quiet or verbose:
        code = run_child(command, log_path, env, REPO_ROOT, quiet=quiet)
    else:
        recipe = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
        with Watch(title or verb, trainer_log_of(recipe), log_path, samples_per_step(recipe, env)) as watch:
            code = run_child(command, log_path, env, REPO_ROOT, on_line=watch.line)
            watch.finished(code)
    if code != 0:
        if not verbose and not quiet:
            print_tail(log_path)
        raise DomaintuneError(f"`llamafactory-cli {verb} {relative(config)}` failed with exit code {code}; full log: {relative(log_path)}")
