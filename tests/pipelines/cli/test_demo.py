"""`domaintune demo` end to end on the tiny model: the adapter measurably beats the base, and the run's report.html
opens in a real headless Chromium with the network off and shows the numbers of metrics.json."""

import json
import os
import shutil
from pathlib import Path

import pytest

from pipelines.cli.demo import demo
from pipelines.core.tasks import load_task

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def demo_run():
    return demo(load_task("telecom"), echo=lambda line: None)


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
