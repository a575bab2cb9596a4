"""Shared fixtures. Every test session writes into its own temporary workspace, never into the repo."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.core.paths import WORKSPACE_ENV

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config):
    """Under xdist each worker runs its own trainings: torch's default of a thread per core in every one of them
    makes OpenMP spin against itself. A worker's share of the cores, for it and its subprocesses (measured on two
    cores, two workers: the suite took 632 s at two threads each, 489 s at one)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        share = str(max(1, len(os.sched_getaffinity(0)) // workers))
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(variable, share)


def pytest_collection_modifyitems(items):
    """The slowest files first (`slow(seconds)`: real trainings and servers), longest first, so that under xdist the
    demo's training starts at once and the quick tests fill the other workers around it instead of one worker
    finishing a long file alone at the end. The order within a file stays as written."""
    def cost(item) -> float:
        marker = item.get_closest_marker("slow")
        return -marker.args[0] if marker else 0

    items.sort(key=cost)


@pytest.fixture(scope="session", autouse=True)
def workspace(tmp_path_factory) -> Path:
    """DOMAINTUNE_WORKSPACE for the whole session (subprocesses inherit it): datasets, runs, models go here."""
    path = tmp_path_factory.mktemp("workspace")
    previous = os.environ.get(WORKSPACE_ENV)
    os.environ[WORKSPACE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(WORKSPACE_ENV, None)
    else:
        os.environ[WORKSPACE_ENV] = previous


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def dataset_dir(tmp_path) -> Path:
    out = tmp_path / "dataset_info"
    out.mkdir()
    return out


@pytest.fixture
def long_telecom_samples(tmp_path, monkeypatch) -> Path:
    """A workspace of the test's own whose telecom_train statistics say every sample is 400 tokens (too long for
    Qwen2.5-7B at the task's rank 32 on an 8 GB laptop); returns its dataset folder."""
    from pipelines.core.paths import dataset_dir
    from pipelines.data.lengths import LengthStats, write_stats

    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    dataset_dir().mkdir(parents=True)
    write_stats(dataset_dir(), LengthStats("telecom_train", "qwen", 1024, 100, 100, 400, 400, 400, 400, 400, 0, [400] * 101))
    return dataset_dir()


KILLED_MID_SWITCH = """
import os, signal, sys
from pathlib import Path
from pipelines.core.tasks import load_task
from pipelines.data import build, publish

real, calls = publish.os.replace, []

def replace_then_die(src, dst):
    real(src, dst)
    if Path(dst).parent == Path(sys.argv[2]):  # a file switched in, not one written into the staging folder
        calls.append(dst)
    if len(calls) == 2:  # two files of the new set are in, the rest and dataset_info.json are not
        os.kill(os.getpid(), signal.SIGKILL)

publish.os.replace = replace_then_die
build.build_task(load_task("telecom"), [Path(sys.argv[1])], dataset_dir=Path(sys.argv[2]))
"""


@pytest.fixture(scope="session")
def kill_mid_switch():
    """kill_mid_switch(raw, dataset_dir): a telecom build of `raw` into `dataset_dir`, in a child that SIGKILLs
    itself when two files of the new set are switched in (dataset_info.json still the old one)."""

    def run(raw: Path, dataset_dir: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", KILLED_MID_SWITCH, str(raw), str(dataset_dir)], check=False, capture_output=True)

    return run


@pytest.fixture
def new_file_mode(tmp_path) -> int:
    """The mode open() gives a new file here (0666 less the umask): what every file the project writes should have."""
    probe = tmp_path / "mode-probe"
    probe.write_text("")
    mode = probe.stat().st_mode & 0o777
    probe.unlink()
    return mode


@pytest.fixture
def busy_port() -> int:
    """A loopback port another server listens on for the test's duration."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
