"""Registries find an entry in the module of its own name, and every entry when listing or on a miss."""

import subprocess
import sys

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.core.registry import CONVERTERS, EVALUATORS


def test_loading_a_task_imports_only_its_own_converter_and_evaluator():
    # A fresh interpreter: this test process has imported every module already.
    code = (
        "import sys; from pipelines.core.tasks import load_task; load_task('behavior'); "
        "print(sorted(m for m in sys.modules if m.startswith(('evaluators.', 'pipelines.converters.'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "evaluators.behavior" in loaded and "pipelines.converters.behavior_log" in loaded
    assert "evaluators.judge" not in loaded and "evaluators.telecom" not in loaded
    assert "pipelines.converters.map_agent" not in loaded


def test_listing_and_unknown_names_see_every_module():
    assert {"alpaca", "sharegpt", "openai_messages", "behavior_log", "map_agent", "trajectory"} <= set(CONVERTERS.names())
    assert {"telecom", "behavior", "restaurant", "trajectory"} <= set(EVALUATORS.names())
    with pytest.raises(DomaintuneError, match=r"unknown evaluator 'report'; evaluators are: behavior, "):
        EVALUATORS.get("report")  # a module of that name exists, but registers nothing
