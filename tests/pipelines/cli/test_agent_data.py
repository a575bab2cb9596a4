"""`domaintune agent-data`'s usage errors (the runs themselves: tests/pipelines/agent/test_job.py)."""

from click.testing import CliRunner

from pipelines.cli.main import cli

BASE = ["agent-data", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "-n", "2"]


def test_the_output_is_json_lines(tmp_path):
    result = CliRunner().invoke(cli, [*BASE, "--task", "restaurant", "-o", str(tmp_path / "a.json")])
    assert result.exit_code == 2 and "the records are JSON Lines; name the file *.jsonl" in result.output
    assert list(tmp_path.iterdir()) == []


def test_only_tasks_a_map_agent_writes(tmp_path):
    result = CliRunner().invoke(cli, [*BASE, "--task", "telecom", "-o", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 2 and "'telecom' is not 'restaurant'" in result.output


def test_an_unknown_poi_source_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, [*BASE, "--task", "restaurant", "-o", str(tmp_path / "a.jsonl"), "--pois", "osm"])
    assert (result.exit_code, result.output) == (1, "Error: unknown POI source 'osm'; POI sources are: amap, csv, geojson, table\n")
