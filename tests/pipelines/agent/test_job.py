"""`domaintune agent-data` end to end: smolagents, the openai client and our tools all run for real against the
loopback scripted endpoint (and the loopback Amap); then `domaintune data` reads the output whole."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import yaml
from click.testing import CliRunner

from evaluators.restaurant_grounding import check
from pipelines.agent.questions import AGENT_CONFIG
from pipelines.cli.main import cli
from pipelines.core.paths import REPO_ROOT
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task

from .conftest import PHANTOM, USAGE

SECRET = "sk-test-secret-0987"
DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))


def agent_data(llm, output: Path, *extra: str) -> list[str]:
    return ["agent-data", "--task", "restaurant", "--base-url", llm.base_url, "--model", "scripted", "-o", str(output), *extra]


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepted_by_data(path: Path, tmp_path: Path) -> int:
    summary = build_task(load_task("restaurant"), [path], dataset_dir=tmp_path / "dataset_info")
    assert summary.skipped == {} and summary.duplicates == 0
    return sum(summary.counts.values())


def test_the_shipped_table_gives_n_records_data_accepts_whole(scripted_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_API_KEY", SECRET)
    scripted_llm.hallucinate = lambda question: zlib.crc32(question.encode()) % 4 == 0
    scripted_llm.delay_s = 0.02
    output = tmp_path / "agent.jsonl"
    result = invoke(agent_data(scripted_llm, output, "-n", "10", "--concurrency", "3", "--price-in", "0.5", "--price-out", "2"))
    assert result.exit_code == 0, result.output

    records, rejects = read_jsonl(output), read_jsonl(tmp_path / "agent.rejects.jsonl")
    trace = read_jsonl(tmp_path / "agent.trace.jsonl")
    assert len(records) == 10 and len(trace) - 1 == 10 + len(rejects)
    assert accepted_by_data(output, tmp_path) == 10
    for record in records:  # every restaurant named is a tool result, within radius and budget
        counts = check(record["Answer"], record["context"])
        assert counts["names"][0] >= 1 and counts["hallucinated"][0] == 0
        assert counts["within_radius"][0] == counts["within_radius"][1] and counts["within_budget"][0] == counts["within_budget"][1]
    reasons = Counter(reason for reject in rejects for reason in reject["reasons"])
    assert reasons["hallucinated"] == sum(PHANTOM in r["record"]["Answer"] for r in rejects) >= 1
    assert set(reasons) <= {"hallucinated", "outside_budget"}
    assert [line for line in result.output.splitlines() if line.startswith("  rejected")] == [
        f"  rejected {n}: {reason} ({text})" for reason, n, text in sorted(
            (reason, n, {"hallucinated": "names a restaurant that is not in the tool results",
                         "outside_budget": "recommends a restaurant whose price per person is outside the user's budget"}[reason])
            for reason, n in reasons.items())]

    # The context is what the tools returned: the search results, as the trace recorded each call.
    for entry in trace[1:]:
        assert [c["tool"] for c in entry["calls"]] == ["geocode", "search_nearby", "poi_details"]
        assert [p["name"] for p in entry["record"]["context"]["pois"]] == [p["name"] for p in entry["calls"][1]["result"]["pois"]]
        assert entry["record"]["context"]["location"]["lng"] == entry["calls"][0]["result"]["lng"]

    calls = sum(scripted_llm.asked.values())
    assert calls == 4 * (len(trace) - 1)  # geocode, search, details, answer: one model call each
    assert f"tokens: {calls * USAGE['prompt_tokens']:,} in, {calls * USAGE['completion_tokens']:,} out" in result.output
    assert f"about ${calls * (1000 * 0.5 + 50 * 2) / 1e6:.4f}" in result.output
    assert 2 <= scripted_llm.in_flight.most <= 3  # concurrent, and never more than --concurrency
    # The key reached the endpoint and nothing else.
    assert f"Bearer {SECRET}" in scripted_llm.auth
    assert all(SECRET not in p.read_text(encoding="utf-8") for p in tmp_path.glob("agent*")) and SECRET not in result.output


def test_amap_as_the_poi_source(scripted_llm, fake_amap, tmp_path, monkeypatch):
    monkeypatch.setenv("AMAP_KEY", fake_amap.key)
    space = yaml.safe_load(AGENT_CONFIG.read_text(encoding="utf-8"))
    space["questions"].update(locations=["北京市五道口", "北京市国贸"], cuisines=["川菜", "京菜", "日料"])
    questions = tmp_path / "space.yaml"
    questions.write_text(yaml.safe_dump(space, allow_unicode=True), encoding="utf-8")
    output = tmp_path / "amap.jsonl"
    result = invoke(agent_data(scripted_llm, output, "-n", "4", "--pois", f"amap:{fake_amap.base_url}", "--questions", str(questions)))
    assert result.exit_code == 0, result.output
    assert accepted_by_data(output, tmp_path) == 4
    paths = Counter(path for _, path, _ in fake_amap.hits)
    assert paths["/v3/geocode/geo"] >= 5 and paths["/v5/place/around"] >= 4 and paths["/v5/place/detail"] >= 4
    trace = read_jsonl(tmp_path / "amap.trace.jsonl")
    assert trace[0]["pois"] == f"amap:{fake_amap.base_url}"
    assert all(fake_amap.key not in p.read_text(encoding="utf-8") for p in tmp_path.glob("amap*"))


def test_duplicates_are_dropped_as_data_drops_them(scripted_llm, tmp_path):
    question = {"question": "我在北京市五道口，预算人均50-100元，偏好川菜。", "location": "北京市五道口", "budget": [50, 100], "radius_m": 2000}
    near = {**question, "question": "我在北京市五道口 , 预算人均50-100元 , 偏好川菜 。"}
    other = {**question, "question": "我在北京市国贸，预算人均50-100元，偏好川菜。", "location": "北京市国贸"}
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in (question, question, near, other)), encoding="utf-8")
    result = invoke(agent_data(scripted_llm, tmp_path / "d.jsonl", "-n", "3", "--questions", str(path), "--concurrency", "1"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{tmp_path / 'd.jsonl'}: 2 records (asked for 3: the questions ran out")
    assert [(r["index"], r["reasons"], r["duplicate_of"]) for r in read_jsonl(tmp_path / "d.rejects.jsonl")] == [
        (1, ["duplicate"], 0), (2, ["duplicate"], 0)]


def test_an_interrupted_run_continues_where_it_stopped(scripted_llm, tmp_path):
    scripted_llm.delay_s = 0.05
    output = tmp_path / "agent.jsonl"
    trace_file = tmp_path / "agent.trace.jsonl"
    args = agent_data(scripted_llm, output, "-n", "8", "--concurrency", "2")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([DOMAINTUNE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (trace_file.exists() and trace_file.read_bytes().count(b"\n") >= 4):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    answered = read_jsonl(trace_file)[1:]
    assert err.strip() == (f"Stopped: agent-data ({len(answered)} answered questions are kept in {trace_file}: "
                           "rerun the same command to continue): stopped by SIGINT")
    assert not output.exists() and len(answered) >= 3
    asked_before = dict(scripted_llm.asked)

    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert f"{len(answered)} of them by an earlier run" in result.output
    indices = [entry["index"] for entry in read_jsonl(trace_file)[1:]]
    assert len(indices) == len(set(indices))  # nothing answered twice
    for entry in answered:  # and nothing asked again
        assert scripted_llm.asked[entry["question"]] == asked_before[entry["question"]]

    whole = tmp_path / "whole" / "agent.jsonl"
    assert invoke(agent_data(scripted_llm, whole, "-n", "8", "--concurrency", "2")).exit_code == 0
    assert output.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")  # as if never interrupted


def test_an_endpoint_that_fails_midway_leaves_the_run_resumable(scripted_llm, tmp_path):
    scripted_llm.fail_with, scripted_llm.fail_after = 500, 8  # two questions' worth of calls
    output = tmp_path / "agent.jsonl"
    args = agent_data(scripted_llm, output, "-n", "4", "--concurrency", "1")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    trace_file = tmp_path / "agent.trace.jsonl"
    assert result.output == (f"Error: {scripted_llm.base_url}: HTTP 500 after 2 retries: scripted failure; 2 answered questions are kept in "
                             f"{trace_file}: rerun the same command to continue\n")
    assert not output.exists()
    scripted_llm.fail_with = None
    result = invoke(args)
    assert result.exit_code == 0 and "2 of them by an earlier run" in result.output
    assert len(read_jsonl(output)) == 4


def test_unreachable_endpoint_or_source_is_one_line_and_no_file(scripted_llm, tmp_path, monkeypatch):
    port = closed_port()
    result = CliRunner().invoke(cli, ["agent-data", "--task", "restaurant", "--base-url", f"http://127.0.0.1:{port}/v1",
                                      "--model", "m", "-n", "2", "-o", str(tmp_path / "a.jsonl")])
    assert (result.exit_code, result.output) == (1, f"Error: connection to http://127.0.0.1:{port}/v1 failed after 1 retries\n")
    monkeypatch.setenv("AMAP_KEY", "k")
    space = yaml.safe_load(AGENT_CONFIG.read_text(encoding="utf-8"))
    space["questions"].update(locations=["北京市国贸"], cuisines=["川菜"])
    questions = tmp_path.parent / f"{tmp_path.name}-space.yaml"
    questions.write_text(yaml.safe_dump(space, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(cli, agent_data(scripted_llm, tmp_path / "a.jsonl", "-n", "2", "--pois", f"amap:http://127.0.0.1:{port}",
                                                "--questions", str(questions)))
    assert (result.exit_code, result.output) == (1, f"Error: amap http://127.0.0.1:{port}: connection failed (ConnectError), 3 retries spent\n")
    assert list(tmp_path.iterdir()) == [] and scripted_llm.calls == 0  # no file, and no question asked


def test_another_runs_trace_is_not_mixed_in(scripted_llm, tmp_path):
    output = tmp_path / "agent.jsonl"
    assert invoke(agent_data(scripted_llm, output, "-n", "2")).exit_code == 0
    args = ["agent-data", "--task", "restaurant", "--base-url", scripted_llm.base_url, "--model", "other", "-o", str(output), "-n", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "is the trace of another run (model 'scripted')" in result.output
    result = invoke([*args, "--restart"])
    assert result.exit_code == 0 and "earlier run" not in result.output
    assert read_jsonl(tmp_path / "agent.trace.jsonl")[0]["model"] == "other"
