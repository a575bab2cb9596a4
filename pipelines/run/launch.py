"""Child processes (`llamafactory-cli`, servers) that never outlive us: each runs as the leader of its own
process group; SIGINT / SIGTERM sent to us are forwarded to the whole group and the group is waited for.

`run_child` is the one way this project runs a long-lived child; `run_llamafactory` is it for `llamafactory-cli`.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.paths import REPO_ROOT

# Multi-GPU / multi-node launches are LLaMA-Factory's own torchrun path, configured by these variables.
DISTRIBUTED_ENV = ("NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NPROC_PER_NODE")
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


@contextmanager
def forward_signals(process: subprocess.Popen) -> Iterator[list[int]]:
    """While inside, SIGINT/SIGTERM go to the child's group instead of raising here; yields the signals received.

    Handlers can only be installed from the main thread; elsewhere the child is stopped on the way out instead.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        try:
            yield received
        finally:
            if process.poll() is None:
                stop_group(process)
        return

    def forward(signum, _frame):
        received.append(signum)
        signal_group(process, signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        yield received
    except BaseException:
        if process.poll() is None:
            stop_group(process)
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_child(command: list[str], log_path: Path | None = None, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT, quiet: bool = False) -> int:
    """Run `command` in its own process group until it exits; returns its exit code.

    With `log_path`, its output is saved there and echoed (unless quiet); without, it shares our terminal.
    A forwarded SIGINT/SIGTERM raises `Interrupted` once the whole group has exited.
    """
    if log_path is None:
        process = spawn_group(command, cwd, env)
        with forward_signals(process) as received:
            code = process.wait()
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as log:
            process = spawn_group(command, cwd, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
            with forward_signals(process) as received:
                for line in process.stdout:
                    log.write(line)
                    if not quiet:
                        sys.stdout.write(line)
                        sys.stdout.flush()
                code = process.wait()
    if received:
        raise Interrupted(received[0], " ".join(map(str, command[:2])))
    return code


def run_llamafactory(verb: str, config: Path, log_path: Path, env: dict[str, str] | None = None, quiet: bool = False) -> None:
    """Run `llamafactory-cli VERB CONFIG`, echoing each line (unless quiet) and saving it to `log_path`."""
    code = run_child([llamafactory_cli(), verb, str(config)], log_path, env, REPO_ROOT, quiet)
    if code != 0:
        raise DomaintuneError(f"`llamafactory-cli {verb} {config}` failed with exit code {code}; full log: {log_path}")
