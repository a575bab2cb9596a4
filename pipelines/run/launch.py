"""Running `llamafactory-cli` from the repository root with its output streamed and kept in a log."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT

# Multi-GPU / multi-node launches are LLaMA-Factory's own torchrun path, configured by these variables.
DISTRIBUTED_ENV = ("NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NPROC_PER_NODE")


def llamafactory_cli() -> str:
    # The venv's entry point sits beside the interpreter; fall back to PATH for other installs.
    beside = Path(sys.executable).with_name("llamafactory-cli")
    return str(beside) if beside.exists() else (shutil.which("llamafactory-cli") or "llamafactory-cli")


def run_llamafactory(verb: str, config: Path, log_path: Path, env: dict[str, str] | None = None, quiet: bool = False) -> None:
    """Run `llamafactory-cli VERB CONFIG`, echoing each line (unless quiet) and saving it to `log_path`."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [llamafactory_cli(), verb, str(config)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in process.stdout:
            log.write(line)
            if not quiet:
                sys.stdout.write(line)
                sys.stdout.flush()
        code = process.wait()
    if code != 0:
        raise DomaintuneError(f"`llamafactory-cli {verb} {config}` failed with exit code {code}; full log: {log_path}")
