"""Shared fixtures: a temporary dataset_dir and a task pointing at tiny committed inputs."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def dataset_dir(tmp_path) -> Path:
    out = tmp_path / "dataset_info"
    out.mkdir()
    return out
