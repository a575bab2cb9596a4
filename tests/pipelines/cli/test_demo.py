"""`domaintune demo` end to end on the tiny model: it tells its story in at most 150 lines, the adapter measurably
beats the base, and the run's report.html opens in a real headless Chromium with the network off and shows the
numbers of metrics.json."""

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from evaluators.reporting.summary import cell
from pipelines.cli.main import cli
from pipelines.core.layout import RunLayout

pytestmark = pytest.mark.slow(210)  # seconds of a quiet 2-core machine: started first under xdist

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def demo_output() -> str:
    """Everything `domaintune demo` prints (stdout and stderr, not a terminal: as `make demo | tee` sees it)."""
    result = CliRunner().invoke(cli, ["demo", "--task", "telecom"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def demo_run(demo_output):
    report = Path(next(line for line in demo_output.splitlines() if line.startswith("report: ")).removeprefix("report: "))
    return SimpleNamespace(report=report, run=RunLayout(report.parents[1]))


def test_demo_tells_its_story_in_at_most_150_lines(demo_output, demo_run):
    lines = demo_output.splitlines()
    assert len(lines) <= 150, demo_output
    assert lines[0] == "domaintune demo: telecom end to end on the tiny model and the CPU, in 4 steps:"
    for i, step in enumerate(("data", "train", "predict", "eval"), 1):
        assert sum(line.startswith(f"[{i}/4] {step}: ") for line in lines) == 1, step
    # Training progress: one line per logged step, its numbers those of LLaMA-Factory's trainer_log.jsonl.
    log = [json.loads(line) for line in demo_run.run.trainer_log.read_text(encoding="utf-8").splitlines()]
    steps, evals = [r for r in log if "loss" in r], [r for r in log if "eval_loss" in r]
    shown = [line for line in lines if line.startswith("train: step ")]
    assert len(shown) == len(steps) + len(evals)
    last = steps[-1]
    assert f"train: step {last['current_steps']}/{last['total_steps']}  epoch {last['epoch']:.2f}  loss {last['loss']:.4f}  lr {last['lr']:.2e}  " in demo_output
    assert f"train: step {evals[-1]['current_steps']}/{last['total_steps']}  val loss {evals[-1]['eval_loss']:.4f} (epoch {evals[-1]['epoch']:.2f})" in lines
    # None of LLaMA-Factory's own log reached the terminal; it is all in the run's log files.
    assert "[INFO|" not in demo_output and "***** train metrics *****" in demo_run.run.train_log.read_text(encoding="utf-8")
    # Then the headline table, whole (Markdown off a terminal), the report's path and what to run next.
    summary = summary_of(demo_run)
    adapter = next(row for row in summary["rows"] if row["name"] == "adapter")
    assert f"| adapter | {adapter['n']} | " + " | ".join(cell(adapter, m) for m in summary["metrics"]) + " |" in lines
    assert lines[lines.index("Next:") - 1] == f"report: {demo_run.report}"
    assert lines[-1].startswith("  domaintune serve --task telecom")


def summary_of(result) -> dict:
    return json.loads((result.report.parent / "summary.json").read_text(encoding="utf-8"))


def test_demo_adapter_beats_base_outside_the_intervals(demo_run):
    metrics = json.loads((demo_run.report.parent / "metrics.json").read_text(encoding="utf-8"))
    for metric in ("rouge_l", "term_recall"):
        assert metrics["adapter"][metric] > metrics["base"][metric], metric
    # The base (random weights) scores 0 on every sample, so its interval is [0, 0]; the adapter's must clear it.
    differences = summary_of(demo_run)["differences"]
    assert any(line.startswith("rouge_l: adapter above base") for line in differences), differences
    assert "Demo settings:" in demo_run.report.read_text(encoding="utf-8")


def test_demo_predictions_and_report_have_every_part(demo_run):
    # Both variants answer the validation set, then the 12 scenario prompts, in the task's template.
    for variant in ("adapter", "base"):
        path = demo_run.run.predictions(variant)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        segments = json.loads((path.parent / "segments.json").read_text(encoding="utf-8"))
        assert [s["split"] for s in segments] == ["val", "scenarios"]
        assert len(rows) == sum(s["n"] for s in segments) == segments[0]["n"] + 12
        assert set(rows[0]) == {"prompt", "predict", "label"}
        assert rows[0]["prompt"].startswith("<|im_start|>system\n你是一名中国移动的专业客服。")
    metrics = json.loads((demo_run.report.parent / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) == {"adapter", "base"}
    for variant in metrics.values():
        assert {"n", "rouge_l", "bleu_4", "term_recall"} <= set(variant)
        assert all(0.0 <= variant[k] <= 1.0 for k in ("rouge_l", "bleu_4", "term_recall"))
    report = demo_run.report.read_text(encoding="utf-8")
    assert (demo_run.report.parent / "loss.png").exists() and "## Scenario prompts, before vs after" in report


def page_text_and_requests(html: Path, screenshot: Path) -> tuple[str, list[str]]:
    """The page's visible text, and every URL it asked for that is neither the page itself nor inline data."""
    from playwright.sync_api import sync_playwright

    requested = []
    flags = ["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(html.as_uri(), wait_until="load", timeout=60_000)
        text = page.inner_text("body")
        assert page.evaluate("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return text, [url for url in requested if not url.startswith(("data:", html.as_uri()))]


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="chromium is not installed: apt-get install chromium")
def test_report_html_opens_offline_with_the_numbers_of_metrics_json(demo_run, tmp_path):
    html = demo_run.report.parent / "report.html"
    text, requested = page_text_and_requests(html, tmp_path / "report.png")
    assert requested == []  # self-contained: images inlined, nothing fetched
    metrics = json.loads((demo_run.report.parent / "metrics.json").read_text(encoding="utf-8"))
    for variant in ("adapter", "base"):
        for metric in ("rouge_l", "bleu_4", "term_recall"):
            assert f"{metrics[variant][metric]:.4f}" in text, (variant, metric)
    assert "Demo settings" in text and "Worst" in text and "Recipe and environment" in text
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
