"""A scripted OpenAI-compatible chat endpoint on 127.0.0.1 for judge tests.

Each request's behaviour is picked by the `case:<name>` marker in its user message, and every hit is counted
per case, so tests can assert how many attempts the client made whatever order the thread pool sends them in.
"""

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SCORES = {"accuracy": 8, "consistency": 9, "diversity": 7, "format": 10, "usefulness": 8}  # data_quality's keys
SLOW_S = 1.5  # longer than the client timeout the tests use
JSON = "{json}"  # replaced by a JSON answer for the dimension keys the prompt lists


def scores_json(scores: dict) -> str:
    return json.dumps({k: {"score": v, "reason": f"{k} 理由"} for k, v in scores.items()}, ensure_ascii=False)


# case -> list of behaviours by attempt (the last one repeats): an int is an HTTP error status, "slow" sleeps
# past the client timeout, a str is the answer's content. Case "score<n>" answers n for every dimension.
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
}


class FakeJudge:
    def __init__(self):
        self.hits: Counter = Counter()
        self.requests: list[dict] = []
        self.auth: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.delay_s = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def behaviour(self, body: dict):
        user = body["messages"][-1]["content"]
        case = re.search(r"case:(\w+)", user).group(1)
        with self.lock:
            attempt = self.hits[case]
            self.hits[case] += 1
            self.requests.append(body)
        keys = re.findall(r"^- (\w+)（", user, re.MULTILINE)
        uniform = re.fullmatch(r"score(\d+)", case)
        script = [JSON] if uniform else SCRIPTS[case]
        behaviour = script[min(attempt, len(script) - 1)]
        if isinstance(behaviour, str):
            scores = {k: int(uniform.group(1)) if uniform else SCORES.get(k, 8) for k in keys}
            behaviour = behaviour.replace(JSON, scores_json(scores))
        return behaviour

    def handler(self):
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with judge.lock:
                    judge.auth.append(self.headers.get("Authorization", ""))
                    judge.in_flight += 1
                    judge.max_in_flight = max(judge.max_in_flight, judge.in_flight)
                try:
                    time.sleep(judge.delay_s)
                    self.answer(judge.behaviour(body), body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a slow answer
                finally:
                    with judge.lock:
                        judge.in_flight -= 1

            def answer(self, behaviour, body):
                if behaviour == "slow":
                    time.sleep(SLOW_S)
                    behaviour = scores_json(SCORES)  # never read: the client has given up by now
                if isinstance(behaviour, int):
                    self.send_json(behaviour, {"error": {"message": "scripted failure", "type": "server_error"}},
                                   {"retry-after-ms": "10"})
                    return
                self.send_json(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": behaviour}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

            def send_json(self, status, payload, headers=None):
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def fake_judge():
    judge = FakeJudge()
    thread = threading.Thread(target=judge.server.serve_forever, daemon=True)
    thread.start()
    yield judge
    judge.server.shutdown()
    judge.server.server_close()
