"""Shared fixtures. Every test session writes into its own temporary workspace, never into the repo."""

import os
from pathlib import Path

import pytest

from pipelines.core.paths import WORKSPACE_ENV

FIXTURES = Path(__file__).parent / "fixtures"


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
