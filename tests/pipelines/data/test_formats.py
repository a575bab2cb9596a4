"""`domaintune formats` lists every registered converter, and every example it shows converts cleanly."""

import json

import pytest
from click.testing import CliRunner

from pipelines.cli.data import formats_cmd
from pipelines.core.registry import CONVERTERS
from pipelines.data.formats import input_formats


def test_every_registered_converter_is_listed():
    assert [f.name for f in input_formats()] == CONVERTERS.names()


@pytest.mark.parametrize("name", ["alpaca", "sharegpt", "openai_messages", "behavior_log", "map_agent"])
def test_the_shown_example_is_accepted_by_its_converter_with_nothing_dropped(tmp_path, name):
    [fmt] = [f for f in input_formats() if f.name == name]
    path = tmp_path / "example.jsonl"
    path.write_text(fmt.example + "\n", encoding="utf-8")
    conversion = CONVERTERS.get(name).fn([path], {}, False)
    assert not conversion.skipped and not conversion.dropped
    # One record is one sample, except for an event log, where a sample needs earlier events as its context.
    assert len(conversion.examples) == (0 if name == "behavior_log" else 1)


def test_formats_command_prints_name_summary_options_and_example():
    result = CliRunner().invoke(formats_cmd, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = lines.index("sharegpt: ShareGPT in any file LLaMA-Factory reads, the whole of its 0.9.5 spec (its data/README.md) -> ShareGPT target records.")
    assert lines[at + 1] == "  options: columns, tags"
    example = json.loads(lines[at + 2].removeprefix("  example: "))
    assert [turn["from"] for turn in example["conversations"]] == ["human", "function_call", "observation", "gpt"]
