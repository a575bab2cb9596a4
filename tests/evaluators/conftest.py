"""Fixtures shared by the evaluator tests."""

import pytest

from pipelines.core.tasks import load_task
from pipelines.data.build import build_task


@pytest.fixture(scope="session")
def restaurant_workspace(tmp_path_factory):
    """A workspace with the shipped restaurant task built (200 train / 50 validation records and their sidecars),
    built once per session; tests point DOMAINTUNE_WORKSPACE at it and only read it."""
    workspace = tmp_path_factory.mktemp("restaurant_workspace")
    build_task(load_task("restaurant"), dataset_dir=workspace / "dataset_info")
    return workspace
