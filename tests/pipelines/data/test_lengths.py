"""Token lengths as LLaMA-Factory trains on them, batched; statistics, sampling, and the files a build writes."""

import dataclasses
import json
import statistics

import pytest

from bench.llamafactory_data import llamafactory_lengths
from pipelines.converters.sharegpt import convert as sharegpt
from pipelines.core.tasks import load_task
from pipelines.core.tiny_model import tokenizer_dir
from pipelines.data import lengths
from pipelines.data.build import build_task
from pipelines.data.dataset_info import entry_for, register
from pipelines.data.encoding import load_encoder
from pipelines.data.lengths import measure_datasets, read_stats, token_lengths


@pytest.fixture(scope="module")
def telecom():
    return load_task("telecom")


@pytest.fixture(scope="module")
def encoder(telecom):
    return load_encoder(telecom)


def record(instruction: str, output: str = "答", **extra) -> dict:
    return {"instruction": instruction, "input": "", "output": output, **extra}


def with_template(task, template):
    return dataclasses.replace(task, config={**task.config, "model": {**task.model, "template": template, "enable_thinking": False}})


def test_batched_lengths_equal_llamafactory_encoding_one_record_at_a_time(encoder):
    records = [
        record("怎么查话费？", system="你是客服。"),
        record("5G套餐有哪些？", "有很多种。", history=[["早", "早上好"]]),
        {"instruction": "办宽带", "input": "在北京", "output": "可以"},
    ]
    entry = entry_for("d.json", records)
    assert token_lengths(records, encoder, entry) == [len(encoder.input_ids(r, entry)) for r in records]


def test_each_repeated_word_is_one_more_token(encoder):
    # " hello" is a single token of the Qwen vocabulary, so 7 more of them are exactly 7 more tokens.
    records = [record("say" + " hello" * 3), record("say" + " hello" * 10)]
    short, longer = token_lengths(records, encoder, entry_for("d.json", records))
    assert longer - short == 7


@pytest.mark.parametrize("template", ["qwen", "qwen3_nothink"])
def test_tool_call_lengths_equal_llamafactory_get_dataset_record_by_record(telecom, fixtures, tmp_path, template):
    # A glaive_toolcall-shaped fixture (function calls, observations, tools, one system prompt): the tools text is
    # most of each prompt, so statistics that left it out were a fifth short on LLaMA-Factory's glaive_toolcall_en.
    records = [e.record for e in sharegpt([fixtures / "formats/glaive_toolcall.json"], {}, False).examples]
    (tmp_path / "tools.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    register({"tools": entry_for("tools.json", records)}, tmp_path)
    expected = llamafactory_lengths(tmp_path, "tools", template, tokenizer_dir())

    stats = measure_datasets(with_template(telecom, template), {"tools": records})["tools"]
    assert token_lengths(records, load_encoder(with_template(telecom, template)), entry_for("tools.json", records)) == expected
    assert (stats.mean, stats.max, stats.measured_on) == (round(statistics.mean(expected), 1), max(expected), "every record")


def test_statistics_of_known_lengths():
    stats = lengths._stats("d", "qwen", cutoff=90, total=100, lengths=list(range(1, 101)))
    assert (stats.records, stats.measured, stats.mean) == (100, 100, 50.5)
    # Percentile q is the length at index q of the sorted lengths 1..100, i.e. q + 1.
    assert (stats.p50, stats.p90, stats.p99, stats.max) == (51, 91, 100, 100)
    assert stats.over_cutoff == 10  # 91..100
    assert stats.quantiles[0] == 1 and stats.quantiles[-1] == 100 and len(stats.quantiles) == 101


def test_large_datasets_are_sampled_but_keep_the_longest_record(monkeypatch):
    monkeypatch.setattr(lengths, "SAMPLE_LIMIT", 10)
    monkeypatch.setattr(lengths, "LONGEST_BY_CHARS", 2)
    records = [record("x" * (i % 7)) for i in range(100)] + [record("y" * 500)]
    chosen = lengths.chosen_records(records)
    assert len(chosen) == 12
    assert chosen[-2]["instruction"] == "y" * 500  # the longest by characters is always measured


def test_sampled_percentiles_come_from_the_uniform_part(monkeypatch):
    monkeypatch.setattr(lengths, "SAMPLE_LIMIT", 4)
    # 4 uniform lengths, then the 2 longest by characters; 1,000 records in all.
    stats = lengths._stats("d", "qwen", cutoff=25, total=1000, lengths=[10, 20, 30, 40, 400, 300])
    assert (stats.mean, stats.p50, stats.max, stats.measured) == (25.0, 30, 400, 6)
    assert stats.over_cutoff == 500  # 2 of the 4 uniform lengths exceed 25: half of 1,000
    assert "from 6 sampled" in stats.line()
    assert stats.measured_on == lengths.SAMPLED


def test_build_writes_stats_beside_each_dataset(telecom, fixtures, dataset_dir):
    summary = build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    stats = read_stats(dataset_dir, "telecom_train")
    assert stats.records == summary.counts["telecom_train"] == 3
    assert stats.cutoff_len == telecom.train["cutoff_len"] and stats.template == "qwen"
    assert stats == summary.lengths["telecom_train"]
    assert any(line.strip().startswith("telecom_train: tokens per sample mean") for line in summary.lines())
    assert read_stats(dataset_dir, "telecom_scenarios").records == 12


def test_over_cutoff_counts_the_records_longer_than_the_task_allows(telecom):
    # The qwen template adds its default system prompt, so even one character is 33 tokens; 40 more is 52.
    short_cutoff = dataclasses.replace(telecom, config={**telecom.config, "train": {**telecom.train, "cutoff_len": 40}})
    stats = measure_datasets(short_cutoff, {"d": [record("问" * 40), record("问")]})["d"]
    assert (stats.quantiles[0], stats.max, stats.over_cutoff) == (33, 52, 1)
