"""A scripted OpenAI-compatible completions server on 127.0.0.1, for the real `openai` client over real HTTP.

It stands in for vLLM (which needs a GPU): `POST /v1/completions` with token-id prompts, `n` answers, and
vLLM's `return_tokens_as_token_ids` logprobs; `GET /v1/models`. What it answers is `respond(prompt_ids, index)`:
a text, or (text, token ids, logprobs) when the request asks for logprobs. `faults` are served first, one per
request, whatever the prompt: an HTTP status, or "slow" (answers after SLOW_S, past the tests' client timeout).
After `answer_limit` answers every further request hangs until the server stops (an interruption to test).
Run as a script (`python conftest.py MODEL,MODEL PORT`) it is a stand-in vLLM server process.
"""

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SLOW_S = 2.5  # longer than the 1 s client timeout the tests give


class FakeEngine:
    def __init__(self, models=("m",), port: int = 0):
        self.models = set(models)
        self.respond = lambda prompt_ids, index: f"answer {index}"
        self.faults: deque = deque()
        self.answer_limit: int | None = None
        self.token_ids = True  # logprobs tokens spelt "token_id:<id>" (vLLM's return_tokens_as_token_ids); False: as text
        self.requests: list[dict] = []  # every request body, in arrival order (retries included)
        self.auth: list[str] = []
        self.answered = 0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self.handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def prompts(self) -> list[list[int]]:
        """The prompts asked, retries included."""
        return [body["prompt"] for body in self.requests]

    def completion(self, body: dict) -> dict:
        choices, completion_tokens = [], 0
        for index in range(body.get("n", 1)):
            answer = self.respond(body["prompt"], index)
            text, ids, logprobs = answer if isinstance(answer, tuple) else (answer, None, None)
            choice = {"index": index, "text": text, "finish_reason": "stop", "logprobs": None}
            if body.get("logprobs"):
                tokens = [f"token_id:{i}" if self.token_ids else text for i in ids]
                choice["logprobs"] = {"tokens": tokens, "token_logprobs": logprobs,
                                      "text_offset": [0] * len(ids), "top_logprobs": None}
            choices.append(choice)
            completion_tokens += len(ids) if ids else len(text.split()) + 1
        return {"id": "cmpl-1", "object": "text_completion", "created": 0, "model": body["model"], "choices": choices,
                "usage": {"prompt_tokens": len(body["prompt"]), "completion_tokens": completion_tokens,
                          "total_tokens": len(body["prompt"]) + completion_tokens}}

    def handler(self):
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.rstrip("/") != "/v1/models":
                    self.send_json(404, {"error": {"message": "not found"}})
                    return
                self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in sorted(engine.models)]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with engine.lock:
                    engine.requests.append(body)
                    engine.auth.append(self.headers.get("Authorization", ""))
                    fault = engine.faults.popleft() if engine.faults else None
                    hang = engine.answer_limit is not None and engine.answered >= engine.answer_limit
                    engine.in_flight += 1
                    engine.max_in_flight = max(engine.max_in_flight, engine.in_flight)
                try:
                    self.answer(body, fault, hang)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a slow answer
                finally:
                    with engine.lock:
                        engine.in_flight -= 1

            def answer(self, body, fault, hang):
                if hang:
                    engine.stopped.wait(120)
                    return
                if body["model"] not in engine.models:
                    self.send_json(404, {"error": {"message": f"model {body['model']} does not exist", "type": "NotFoundError"}})
                    return
                if isinstance(fault, int):
                    self.send_json(fault, {"error": {"message": "scripted failure", "type": "server_error"}}, {"retry-after-ms": "10"})
                    return
                if fault == "slow":
                    time.sleep(SLOW_S)
                payload = engine.completion(body)
                with engine.lock:
                    engine.answered += 1
                self.send_json(200, payload)

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
def fake_engine():
    engine = FakeEngine()
    thread = threading.Thread(target=engine.server.serve_forever, daemon=True)
    thread.start()
    yield engine
    engine.stopped.set()
    engine.server.shutdown()
    engine.server.server_close()


if __name__ == "__main__":
    import sys

    FakeEngine(sys.argv[1].split(","), int(sys.argv[2])).server.serve_forever()
