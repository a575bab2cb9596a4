"""A scripted OpenAI-compatible chat endpoint on 127.0.0.1 for judge tests.

Each request's behaviour is picked by the `case:<name>` marker in its user message (`FakeJudge.default` for a
prompt without one, e.g. a real task's records), and every hit is counted per case, so tests can assert how many
attempts the client made whatever order the thread pool sends them in. Only paths under /v1 are served; any
other path is a plain 404, as real OpenAI-compatible servers answer a base URL without /v1.
"""

import json
import re
import threading
import time
from collections import Counter

import pytest

from tests.loopback import InFlight, JSONHandler, Loopback

SCORES = {"accuracy": 8, "consistency": 9, "diversity": 7, "format": 10, "usefulness": 8}  # data_quality's keys
SLOW_S = 1.5  # longer than the client timeout the tests use
JSON = "{json}"  # replaced by a JSON answer for the dimension keys the prompt lists


def scores_json(scores: dict) -> str:
    return json.dumps({k: {"score": v, "reason": f"{k} 理由"} for k, v in scores.items()}, ensure_ascii=False)


# case -> list of behaviours by attempt (the last one repeats): an int is an HTTP error status (with the reason in
# REASONS, else "scripted failure"; a (status, reason) pair gives its own), "slow" sleeps past the client timeout, one of BROKEN is a reply that is not a
# chat completion, "json_refused" is HTTP 400 while the request asks for response_format (a JSON answer without it),
# "echo_key" is HTTP 400 quoting the request's Authorization header, any other str is the answer's content.
# Case "score<n>" answers n for every dimension.
BROKEN = {
    "html": (200, "text/html; charset=utf-8", "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"),
    "error_object": (200, "application/json", json.dumps({"error": {"message": "model is overloaded", "type": "server_error"}})),
    "empty_choices": (200, "application/json", json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": []})),
    "truncated": (200, "application/json", '{"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assi'),
}
REASONS = {400: "max_tokens is too large for this model"}
JSON_REFUSED = (400, "response_format is not supported")
SCRIPTS = {
    "ok": [JSON],
    "fenced": ["好的，评分如下：\n```json\n" + JSON + "\n```"],
    "brackets": ["\n".join(f"{k}: [[{v}]] {k} 理由" for k, v in SCORES.items())],
    "malformed": ["这条数据整体不错，我给八分。"],
    "out_of_range": [scores_json({**SCORES, "accuracy": 11})],
    "429_once": [429, JSON],
    "500_once": [500, JSON],
    "slow_once": ["slow", JSON],
    "500_always": [500],
    "401": [401],
    "400": [400],
    "404": [404],
    "json_refused": ["json_refused"],
    "echo_key": ["echo_key"],
    **{name: [name] for name in BROKEN},
}


class FakeJudge(Loopback):
    def __init__(self):
        self.hits: Counter = Counter()
        self.requests: list[dict] = []
        self.paths: list[str] = []  # every POST's path, served or not
        self.auth: list[str] = []
        self.in_flight = InFlight()
        self.lock = threading.Lock()
        self.delay_s = 0.0
        self.default = "ok"  # the case of a prompt without a case: marker
        self.start(self.handler())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def behaviour(self, body: dict):
        user = body["messages"][-1]["content"]
        marker = re.search(r"case:(\w+)", user)
        case = marker.group(1) if marker else self.default
        with self.lock:
            attempt = self.hits[case]
            self.hits[case] += 1
            self.requests.append(body)
        keys = re.findall(r"^- (\w+)（", user, re.MULTILINE)
        uniform = re.fullmatch(r"score(\d+)", case)
        script = [JSON] if uniform else SCRIPTS[case]
        behaviour = script[min(attempt, len(script) - 1)]
        if behaviour == "json_refused":
            behaviour = JSON_REFUSED if "response_format" in body else JSON
        if isinstance(behaviour, str) and behaviour not in BROKEN:
            scores = {k: int(uniform.group(1)) if uniform else SCORES.get(k, 8) for k in keys}
            behaviour = behaviour.replace(JSON, scores_json(scores))
        return behaviour

    def handler(self):
        judge = self

        class Handler(JSONHandler):
            def do_POST(self):
                body = self.read_json()
                with judge.lock:
                    judge.paths.append(self.path)
                if not self.path.startswith("/v1/"):
                    self.send_body(404, "text/plain", "Not Found")
                    return
                with judge.lock:
                    judge.auth.append(self.headers.get("Authorization", ""))
                with judge.in_flight.answering():
                    time.sleep(judge.delay_s)
                    self.answer(judge.behaviour(body), body)

            def answer(self, behaviour, body):
                if behaviour == "slow":
                    time.sleep(SLOW_S)
                    behaviour = scores_json(SCORES)  # never read: the client has given up by now
                if behaviour == "echo_key":
                    self.send_json(400, {"error": {"message": f"bad key: {self.headers.get('Authorization')}"}})
                    return
                if isinstance(behaviour, int):
                    behaviour = (behaviour, REASONS.get(behaviour, "scripted failure"))
                if isinstance(behaviour, tuple):
                    status, message = behaviour
                    self.send_json(status, {"error": {"message": message, "type": "server_error"}}, {"retry-after-ms": "10"})
                    return
                if behaviour in BROKEN:
                    self.send_body(*BROKEN[behaviour])
                    return
                self.send_json(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": behaviour}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

        return Handler


@pytest.fixture
def fake_judge():
    judge = FakeJudge()
    yield judge
    judge.close()
