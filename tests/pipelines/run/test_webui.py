"""`domaintune webui` serves LLaMA-Factory's real web UI, and a real headless Chromium finds our datasets in it."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.core.paths import REPO_ROOT, dataset_dir

pytestmark = pytest.mark.slow(21)  # seconds of a quiet 2-core machine: started first under xdist

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))

if not Path(CHROMIUM).exists():
    # CI installs Debian's chromium (.ci/run) and must run this test; elsewhere it is optional.
    if os.environ.get("CI"):
        raise RuntimeError("CI must have chromium installed for the web UI test (see .ci/run)")
    pytest.skip("chromium is not installed: apt-get install chromium", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the web UI exited before serving"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def webui_url():
    subprocess.run([DOMAINTUNE, "data", "--task", "telecom"], cwd=REPO_ROOT, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([DOMAINTUNE, "webui", "--port", str(port)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_webui_lists_and_previews_our_datasets(webui_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    n_train = len(json.loads((dataset_dir() / "telecom_train.json").read_text(encoding="utf-8")))
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(webui_url, wait_until="load", timeout=60_000)
        dataset_box = page.get_by_label("Dataset", exact=True).first
        dataset_box.wait_for(timeout=60_000)
        dataset_box.click()
        page.wait_for_selector("ul.options li", timeout=30_000)
        options = page.locator("ul.options li").all_inner_texts()
        assert {"telecom_train", "telecom_val", "telecom_scenarios"} <= {o.strip() for o in options}

        page.locator("ul.options li", has_text="telecom_train").click()
        page.get_by_role("button", name="Preview dataset").click()
        # The preview pane reports how many records LLaMA-Factory itself read from our file.
        expect(page.get_by_label("Count", exact=True).first).to_have_value(str(n_train), timeout=30_000)
        page.screenshot(path=str(tmp_path / "webui.png"))
        browser.close()
