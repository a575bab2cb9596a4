"""The judge's calls through the real `openai` client against a scripted server on loopback (conftest.py)."""

from dataclasses import replace

import pytest

from evaluators.judge.aggregate import summarize
from evaluators.judge.cache import AnswerCache
from evaluators.judge.client import Endpoint, JudgeConfig, judge
from evaluators.judge.rubric import resolve_rubric

SECRET = "sk-test-4f1c-do-not-leak"
CASES = ["ok", "fenced", "brackets", "malformed", "out_of_range", "429_once", "500_once", "slow_once", "500_always"]
BROKEN = ["html", "error_object", "empty_choices", "truncated", "400"]
SCORED = {"accuracy": 8, "consistency": 9, "diversity": 7, "format": 10, "usefulness": 8}


def items(cases):
    return [(case, {"instruction": f"case:{case}", "input": "问题", "output": "回答"}) for case in cases]


def run_judge(cases, config, tmp_path, rubric="data_quality"):
    endpoint = Endpoint(config)
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        return judge(items(cases), resolve_rubric(rubric), endpoint, cache), endpoint


@pytest.fixture
def config(fake_judge, monkeypatch):
    monkeypatch.setenv("TEST_JUDGE_KEY", SECRET)
    # 0.5 s per attempt: the scripted slow answer (1.5 s) times out; 2 retries make 3 attempts at most.
    return JudgeConfig(base_url=fake_judge.base_url, model="judge-m", api_key_env="TEST_JUDGE_KEY",
                       concurrency=3, max_retries=2, timeout_s=0.5)


def test_every_failure_mode_is_retried_counted_or_parsed(fake_judge, config, tmp_path):
    run, _ = run_judge(CASES, config, tmp_path)
    by_id = {v.id: v for v in run.verdicts}
    assert [v.id for v in run.verdicts] == CASES  # item order kept whatever order answers came in
    for case in ("ok", "fenced", "brackets", "429_once", "500_once", "slow_once"):
        assert {k: s.score for k, s in by_id[case].scores.items()} == SCORED, case
    assert by_id["brackets"].scores["format"].reason == "format 理由"
    assert by_id["malformed"].failure == "parse: no JSON object and no [[n]] scores"
    assert by_id["out_of_range"].failure == "parse: score for accuracy is outside 1-10: 11"
    assert by_id["500_always"].failure == "call: HTTP 500 after 2 retries: scripted failure"
    # One retry each for 429, 500 and the timed-out attempt; the persistent 500 got all three attempts.
    assert fake_judge.hits == {"ok": 1, "fenced": 1, "brackets": 1, "malformed": 1, "out_of_range": 1,
                               "429_once": 2, "500_once": 2, "slow_once": 2, "500_always": 3}
    summary = summarize(run)
    assert (summary["items"], summary["scored"], summary["parse_failures"], summary["call_failures"]) == (9, 6, 2, 1)
    assert summary["dimensions"]["accuracy"]["mean"] == 8  # failures are not imputed into the statistics
    assert summary["calls"] == 9 and summary["cached"] == 0


def test_a_reply_that_is_not_a_chat_completion_is_a_counted_call_failure(fake_judge, config, tmp_path):
    run, _ = run_judge([*BROKEN, "ok"], config, tmp_path)
    assert {v.id: v.failure for v in run.verdicts} == {
        "html": "call: HTTP 200 with an HTML page, not a chat completion",
        "error_object": "call: HTTP 200 with an error object: model is overloaded",
        "empty_choices": "call: HTTP 200 with no choices",
        "truncated": "call: HTTP 200 with truncated or invalid JSON (Unterminated string starting at: character 86 of 91)",
        # Asked once more without response_format (it might have been the cause), then the server's own reason.
        "400": "call: HTTP 400 (not retried): max_tokens is too large for this model",
        "ok": None,
    }
    assert fake_judge.hits == {"html": 1, "error_object": 1, "empty_choices": 1, "truncated": 1, "400": 2, "ok": 1}
    assert summarize(run)["call_failures"] == 5


def test_requests_ask_for_json_at_the_configured_temperature_with_the_key(fake_judge, config, tmp_path):
    run_judge(["ok"], config, tmp_path)
    run_judge(["score5"], replace(config, temperature=0.3, max_tokens=64, response_format=False), tmp_path)
    first, second = fake_judge.requests
    assert (first["model"], first["temperature"], first["max_tokens"], first["response_format"]) == ("judge-m", 0, 1024, {"type": "json_object"})
    assert first["messages"][0]["role"] == "system" and "case:ok" in first["messages"][1]["content"]
    assert (second["temperature"], second["max_tokens"], "response_format" in second) == (0.3, 64, False)
    assert fake_judge.auth == [f"Bearer {SECRET}"] * 2


def test_an_endpoint_that_refuses_response_format_is_asked_without_it(fake_judge, config, tmp_path):
    many = [(f"r{i}", {"instruction": f"case:json_refused #{i}", "input": "", "output": ""}) for i in range(3)]
    endpoint = Endpoint(replace(config, concurrency=1))
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        run = judge(many, resolve_rubric("data_quality"), endpoint, cache)
    assert all(v.scores for v in run.verdicts)
    # The first item: refused, then asked once without it; the other two are never sent it again.
    assert fake_judge.hits["json_refused"] == 4
    assert ["response_format" in body for body in fake_judge.requests] == [True, False, False, False]
    assert endpoint.notes()["response_format"] == (f"dropped: {config.base_url} refused it "
                                                   "(HTTP 400 (not retried): response_format is not supported) and answered without it")


def test_a_base_url_without_v1_is_told_to_add_it_and_stops_the_calls(fake_judge, config, tmp_path):
    base = fake_judge.base_url.removesuffix("/v1")
    run, endpoint = run_judge(["ok", "fenced", "brackets"], replace(config, base_url=base, concurrency=1), tmp_path)
    reason = f"HTTP 404 at {base}: OpenAI-compatible servers answer under /v1; try --judge-base-url {base}/v1"
    assert [v.failure for v in run.verdicts] == [f"call: {reason}"] + [f"call: not sent: {reason}"] * 2
    assert fake_judge.paths == ["/chat/completions"] and endpoint.stopped == reason
    assert (run.calls, summarize(run)["call_failures"]) == (1, 3)


def test_a_404_under_a_versioned_path_names_the_model(fake_judge, config, tmp_path):
    run, _ = run_judge(["404"], config, tmp_path)
    assert run.verdicts[0].failure == f"call: HTTP 404: {config.base_url} has no chat completions for model 'judge-m' (scripted failure)"
    assert fake_judge.hits["404"] == 1
    # Another API version (as some hosted APIs have) is not told to add /v1; the server's plain-text reason is kept.
    v3 = config.base_url.replace("/v1", "/v3")
    other, _ = run_judge(["ok"], replace(config, base_url=v3), tmp_path)
    assert other.verdicts[0].failure == f"call: HTTP 404: {v3} has no chat completions for model 'judge-m' (Not Found)"


def test_a_refused_key_stops_the_calls_naming_the_variable_not_the_key(fake_judge, config, tmp_path):
    run, endpoint = run_judge(["401", "ok"], replace(config, concurrency=1), tmp_path)
    reason = f"HTTP 401: {config.base_url} refused the API key from $TEST_JUDGE_KEY (scripted failure)"
    assert [v.failure for v in run.verdicts] == [f"call: {reason}", f"call: not sent: {reason}"]
    assert fake_judge.hits == {"401": 1}  # 401 is not retried, and nothing is sent after it
    assert endpoint.stopped == reason


def test_a_server_echoing_the_key_has_it_masked(fake_judge, config, tmp_path):
    run, _ = run_judge(["echo_key"], config, tmp_path)
    assert run.verdicts[0].failure == "call: HTTP 400 (not retried): bad key: Bearer ***"


def test_only_scored_answers_are_cached(fake_judge, config, tmp_path):
    rubric = resolve_rubric("data_quality")
    first, _ = run_judge(CASES + BROKEN, config, tmp_path)
    hits = sum(fake_judge.hits.values())
    second, _ = run_judge(CASES + BROKEN, config, tmp_path)
    # Every failure is asked again: two parse failures (1 call each), the persistent 500 (3 attempts), the four
    # broken replies (1 each) and the 400 (2: with and without response_format).
    assert sum(fake_judge.hits.values()) - hits == 2 + 3 + 4 + 2
    assert (second.calls, second.cached) == (8, 6)
    assert {k: summarize(second)[k] for k in ("scored", "parse_failures", "call_failures", "dimensions")} == \
        {k: summarize(first)[k] for k in ("scored", "parse_failures", "call_failures", "dimensions")}
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        third = judge(items(["ok", "fenced"]), rubric, Endpoint(config), cache)
    assert third.calls == 0 and third.cached == 2


def test_refresh_asks_again(fake_judge, config, tmp_path):
    run_judge(["ok"], config, tmp_path)
    again, _ = run_judge(["ok"], replace(config, refresh=True), tmp_path)
    assert fake_judge.hits["ok"] == 2 and (again.calls, again.cached) == (1, 0)
    cached, _ = run_judge(["ok"], config, tmp_path)
    assert fake_judge.hits["ok"] == 2 and cached.cached == 1


@pytest.mark.parametrize("change", [{"model": "other"}, {"temperature": 0.7}, {"max_tokens": 16}, {"response_format": False}])
def test_the_cache_is_keyed_by_the_settings_that_change_answers(fake_judge, config, tmp_path, change):
    run_judge(["ok"], config, tmp_path)
    run_judge(["ok"], replace(config, concurrency=1, timeout_s=5, max_retries=0), tmp_path)  # not these
    assert fake_judge.hits["ok"] == 1
    run_judge(["ok"], replace(config, **change), tmp_path)
    assert fake_judge.hits["ok"] == 2


def test_the_cache_is_keyed_by_the_rubric_version(fake_judge, config, tmp_path):
    rubric = resolve_rubric("data_quality")
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        judge(items(["ok"]), rubric, Endpoint(config), cache)
        judge(items(["ok"]), rubric, Endpoint(config), cache)
        judge(items(["ok"]), replace(rubric, version=2), Endpoint(config), cache)
    assert fake_judge.hits["ok"] == 2


def test_the_key_is_written_nowhere(fake_judge, config, tmp_path):
    run_judge(CASES, config, tmp_path)
    assert SECRET.encode() not in (tmp_path / "cache.sqlite").read_bytes()


def test_concurrency_is_bounded(fake_judge, config, tmp_path):
    fake_judge.delay_s = 0.05
    many = [(f"ok{i}", {"instruction": f"case:ok #{i}", "input": "", "output": ""}) for i in range(8)]
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        run = judge(many, resolve_rubric("data_quality"), Endpoint(replace(config, concurrency=2)), cache)
    assert all(v.scores for v in run.verdicts)
    assert fake_judge.in_flight.most <= 2
