import pytest

from evaluators.judge.aggregate import summarize
from evaluators.judge.cache import AnswerCache
from evaluators.judge.client import JudgeConfig, judge
from evaluators.judge.rubric import resolve_rubric
from pipelines.core.errors import DomaintuneError

SECRET = "sk-test-4f1c-do-not-leak"
CASES = ["ok", "fenced", "brackets", "malformed", "out_of_range", "429_once", "500_once", "slow_once", "500_always"]


def items(cases):
    return [(case, {"instruction": f"case:{case}", "input": "问题", "output": "回答"}) for case in cases]


@pytest.fixture
def config(fake_judge, monkeypatch):
    monkeypatch.setenv("TEST_JUDGE_KEY", SECRET)
    # 0.5 s per attempt: the scripted slow answer (1.5 s) times out; 2 retries make 3 attempts at most.
    return JudgeConfig(base_url=fake_judge.base_url, model="judge-m", api_key_env="TEST_JUDGE_KEY",
                       concurrency=3, max_retries=2, timeout_s=0.5)


def test_every_failure_mode_is_retried_counted_or_parsed(fake_judge, config, tmp_path):
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        run = judge(items(CASES), resolve_rubric("data_quality"), config, cache)
    by_id = {v.id: v for v in run.verdicts}
    assert [v.id for v in run.verdicts] == CASES  # item order kept whatever order answers came in
    for case in ("ok", "fenced", "brackets", "429_once", "500_once", "slow_once"):
        assert {k: s.score for k, s in by_id[case].scores.items()} == {"accuracy": 8, "consistency": 9, "diversity": 7, "format": 10, "usefulness": 8}, case
    assert by_id["brackets"].scores["format"].reason == "format 理由"
    assert by_id["malformed"].failure == "parse: no JSON object and no [[n]] scores"
    assert by_id["out_of_range"].failure == "parse: score for accuracy is outside 1-10: 11"
    assert by_id["500_always"].failure == "call: HTTP 500 after 2 retries"
    # One retry each for 429, 500 and the timed-out attempt; the persistent 500 got all three attempts.
    assert fake_judge.hits == {"ok": 1, "fenced": 1, "brackets": 1, "malformed": 1, "out_of_range": 1,
                               "429_once": 2, "500_once": 2, "slow_once": 2, "500_always": 3}
    summary = summarize(run)
    assert (summary["items"], summary["scored"], summary["parse_failures"], summary["call_failures"]) == (9, 6, 2, 1)
    assert summary["dimensions"]["accuracy"]["mean"] == 8  # failures are not imputed into the statistics
    assert summary["calls"] == 9 and summary["cached"] == 0


def test_requests_ask_for_json_at_temperature_zero_with_the_key(fake_judge, config, tmp_path):
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        judge(items(["ok"]), resolve_rubric("data_quality"), config, cache)
    body = fake_judge.requests[0]
    assert (body["model"], body["temperature"], body["response_format"]) == ("judge-m", 0, {"type": "json_object"})
    assert body["messages"][0]["role"] == "system" and "case:ok" in body["messages"][1]["content"]
    assert fake_judge.auth == [f"Bearer {SECRET}"]


def test_a_second_run_pays_only_for_what_failed(fake_judge, config, tmp_path):
    rubric = resolve_rubric("data_quality")
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        first = summarize(judge(items(CASES), rubric, config, cache))
    hits = sum(fake_judge.hits.values())
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        second = summarize(judge(items(CASES), rubric, config, cache))
    # Parse failures are answers and stay cached; the call that failed is sent again (3 attempts).
    assert sum(fake_judge.hits.values()) - hits == 3
    assert (second["calls"], second["cached"]) == (1, 8)
    assert {k: second[k] for k in ("scored", "parse_failures", "call_failures", "dimensions")} == \
        {k: first[k] for k in ("scored", "parse_failures", "call_failures", "dimensions")}
    clean = [c for c in CASES if c != "500_always"]
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        third = judge(items(clean), rubric, config, cache)
    assert sum(fake_judge.hits.values()) - hits == 3 and third.calls == 0


def test_the_cache_is_keyed_by_model(fake_judge, config, tmp_path):
    rubric = resolve_rubric("data_quality")
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        judge(items(["ok"]), rubric, config, cache)
        judge(items(["ok"]), rubric, JudgeConfig(**{**config.__dict__, "model": "other"}), cache)
    assert fake_judge.hits["ok"] == 2


def test_the_key_is_written_nowhere(fake_judge, config, tmp_path):
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        judge(items(CASES), resolve_rubric("data_quality"), config, cache)
    assert SECRET.encode() not in (tmp_path / "cache.sqlite").read_bytes()


def test_a_refused_key_stops_the_run_naming_the_variable_not_the_key(fake_judge, config, tmp_path):
    with AnswerCache(tmp_path / "cache.sqlite") as cache, pytest.raises(DomaintuneError) as error:
        judge(items(["401", "ok"]), resolve_rubric("data_quality"), config, cache)
    assert "$TEST_JUDGE_KEY" in str(error.value) and "HTTP 401" in str(error.value)
    assert SECRET not in str(error.value)
    assert fake_judge.hits["401"] == 1  # 401 is not retried


def test_concurrency_is_bounded(fake_judge, config, tmp_path):
    fake_judge.delay_s = 0.05
    many = [(f"ok{i}", {"instruction": f"case:ok #{i}", "input": "", "output": ""}) for i in range(8)]
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        run = judge(many, resolve_rubric("data_quality"), JudgeConfig(**{**config.__dict__, "concurrency": 2}), cache)
    assert all(v.scores for v in run.verdicts)
    assert fake_judge.max_in_flight <= 2
