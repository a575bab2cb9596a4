"""`domaintune eval --judge-base-url ...` on the shipped restaurant validation set against the scripted judge on
loopback: the judge's table on the terminal, a report whatever the judge answers, and the exit codes."""

import json

import pytest
from click.testing import CliRunner

from evaluators.judge.terminal import judge_lines, judge_table, print_judge
from pipelines.cli.main import cli

ITEMS = 5  # --judge-max-items: 5 records + 5 answers


@pytest.fixture
def predictions(restaurant_workspace, tmp_path, monkeypatch):
    """The agent's own answers to the validation prompts, as a model's predictions."""
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(restaurant_workspace))
    val = json.loads((restaurant_workspace / "dataset_info/restaurant_val.json").read_text(encoding="utf-8"))
    path = tmp_path / "generated_predictions.jsonl"
    path.write_text("".join(json.dumps({"prompt": r["input"], "predict": r["output"], "label": r["output"]}, ensure_ascii=False) + "\n"
                            for r in val), encoding="utf-8")
    return path


def run_eval(predictions, fake_judge, *extra):
    args = ["eval", "--task", "restaurant", "--predictions", str(predictions), "--judge-base-url", fake_judge.base_url,
            "--judge-model", "judge-m", "--judge-max-items", str(ITEMS), "--judge-timeout", "5", *extra]
    return CliRunner().invoke(cli, args)


def judge_metrics(predictions) -> dict:
    return json.loads((predictions.parent / "eval/metrics.json").read_text(encoding="utf-8"))["judge"]


def test_a_judge_answering_html_leaves_a_report_and_is_asked_again(predictions, fake_judge):
    fake_judge.default = "html"
    first = run_eval(predictions, fake_judge)
    assert first.exit_code == 1, first.output
    # stderr: the eval's progress line, then the error.
    assert first.stderr.strip().splitlines()[-1] == ("Error: judge: every call failed (HTTP 200 with an HTML page, not a chat completion); "
                                    "the report is written without its scores")
    sets = judge_metrics(predictions)["sets"]
    assert [(s["items"], s["scored"], s["call_failures"]) for s in sets.values()] == [(ITEMS, 0, ITEMS), (ITEMS, 0, ITEMS)]
    report = (predictions.parent / "eval/report.md").read_text(encoding="utf-8")
    assert "call: HTTP 200 with an HTML page, not a chat completion ×5" in report
    assert "LLM judge" in (predictions.parent / "eval/report.html").read_text(encoding="utf-8")
    # On the terminal, after the headline: the judge's table with the failures counted, and the reason.
    assert first.stdout.index("headline metrics") < first.stdout.index("LLM judge: judge-m")
    assert "data_quality (records)" in first.stdout and "0/5" in first.stdout
    assert "10 × call: HTTP 200 with an HTML page, not a chat completion" in first.stdout
    # Nothing was cached: the second eval asks the judge again, and a working judge then scores every item.
    assert fake_judge.hits["html"] == 2 * ITEMS
    second = run_eval(predictions, fake_judge)
    assert second.exit_code == 1 and fake_judge.hits["html"] == 4 * ITEMS
    fake_judge.default = "ok"
    third = run_eval(predictions, fake_judge)
    assert third.exit_code == 0, third.output
    assert fake_judge.hits["ok"] == 2 * ITEMS  # the records, then the adapter's answers (the same texts, other rubric)
    assert [s["scored"] for s in judge_metrics(predictions)["sets"].values()] == [ITEMS, ITEMS]
    assert "accuracy=8.00" in third.stdout and "understanding=8.00" in third.stdout


def test_the_command_line_settings_reach_the_judge(predictions, fake_judge):
    result = run_eval(predictions, fake_judge, "--judge-temperature", "0.5", "--judge-max-tokens", "200",
                      "--no-judge-response-format", "--judge-concurrency", "1", "--judge-records", "train", "--judge-max-items", "2")
    assert result.exit_code == 0, result.output
    assert {(b["temperature"], b["max_tokens"], "response_format" in b) for b in fake_judge.requests} == {(0.5, 200, False)}
    assert fake_judge.in_flight.most == 1
    judge = judge_metrics(predictions)
    assert (judge["settings"]["records"], judge["sets"]["data_quality (records)"]["items"]) == ("train", 2)
    assert "'judge': {'records': 'train', 'max_items': 2" in (predictions.parent / "eval/report.md").read_text(encoding="utf-8")
    refreshed = run_eval(predictions, fake_judge, "--judge-max-items", "2", "--judge-refresh")
    assert refreshed.exit_code == 0 and judge_metrics(predictions)["sets"]["data_quality (records)"]["cached"] == 0


def test_judge_settings_without_a_judge_are_a_usage_error(predictions):
    result = CliRunner().invoke(cli, ["eval", "--task", "restaurant", "--predictions", str(predictions), "--judge-max-items", "all"])
    assert result.exit_code == 2 and "need --judge-base-url" in result.output


def test_the_table_shows_means_failures_and_the_correlation():
    summary = {"items": 4, "scored": 3, "parse_failures": 1, "call_failures": 0, "overall": {"mean": 17 / 3},
               "failure_reasons": {"parse: empty answer": 1}, "dimensions": {"accuracy": {"mean": 7.5}, "format": {"mean": None}}}
    judge = {"model": "m", "sets": {"data_quality (records)": summary},
             "pearson": {"between": ["data_quality", "model_performance (adapter)"], "r": 0.9561, "pairs": 3},
             "endpoint": {"response_format": "dropped: it refused it"}}
    title, header, rows = judge_table(judge)
    assert title == "LLM judge: m"
    assert header == ["judged set", "scored", "parse fail", "call fail", "mean", "mean per dimension"]
    assert rows == [["data_quality (records)", "3/4", "1", "0", "5.67", "accuracy=7.50  format=–"]]
    assert judge_lines(judge) == ["Pearson r (data_quality and model_performance (adapter)): 0.956 over 3 items",
                                  "1 × parse: empty answer", "response_format dropped: it refused it"]


def test_reasons_are_printed_as_they_are_written(tmp_path):
    import io

    from rich.console import Console

    summary = {"items": 1, "scored": 0, "parse_failures": 1, "call_failures": 0, "overall": {"mean": None},
               "failure_reasons": {"parse: no JSON object and no [[n]] scores": 1}, "dimensions": {}}
    (tmp_path / "metrics.json").write_text(json.dumps({"judge": {"model": "m", "sets": {"records": summary}}}), encoding="utf-8")
    out = Console(file=io.StringIO(), width=120)
    print_judge(tmp_path, out)
    assert "1 × parse: no JSON object and no [[n]] scores" in out.file.getvalue()  # not read as rich markup
    (tmp_path / "metrics.json").write_text("{}", encoding="utf-8")
    quiet = Console(file=io.StringIO(), width=120)
    print_judge(tmp_path, quiet)
    assert quiet.file.getvalue() == ""  # an eval without a judge prints no judge table
