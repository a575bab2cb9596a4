import json

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.trajectory.generate import INPUT


@pytest.fixture
def runner():
    return CliRunner()


def test_gen_trajectories_writes_the_days_asked_for(runner, tmp_path):
    out = tmp_path / "days.json"
    result = runner.invoke(cli, ["gen-trajectories", "-o", str(out), "--days", "7", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("days.json: 7 days")
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) == 7 and {r["input"] for r in records} == {INPUT}


@pytest.mark.parametrize("args", [[], ["--sample-set", "-o", "x.json"], ["--sample-set", "--days", "5"]])
def test_gen_trajectories_usage_errors(runner, args):
    result = runner.invoke(cli, ["gen-trajectories", *args])
    assert result.exit_code == 2
