"""A scripted OpenAI-compatible server on 127.0.0.1, for the real `openai` client over real HTTP.

It stands in for vLLM (which needs a GPU): `POST /v1/completions` with token-id prompts, `n` answers, and
vLLM's `return_tokens_as_token_ids` logprobs; `POST /v1/chat/completions` with messages; `GET /v1/models`. What it
answers is `respond(prompt, index)`, the prompt being the token ids or the messages: a text, or (text, token ids,
logprobs) when the request asks for logprobs. `faults` are served first, one per request, whatever the prompt: an
HTTP status, or "slow" (answers after SLOW_S, past the tests' client timeout). After `answer_limit` answers every
further request hangs until the server stops (an interruption to test).

Other servers' ways, switched on per test: `completions = False` has no /v1/completions (404 as FastAPI answers,
like `llamafactory-cli api`); `owned_by = "owner"` is LLaMA-Factory's model card; `chat_n` is what chat does with
`n` > 1 ("answer", "ignore": one choice, "refuse": HTTP 400); `openai_fields_only` refuses any field beyond OpenAI's
with HTTP 400, as OpenAI's API does.
Run as a module (`python -m tests.pipelines.conftest MODEL,MODEL PORT` from the repository's root) it is a
stand-in vLLM server process.
"""

import threading
import time
from collections import deque

import pytest

from tests.loopback import InFlight, JSONHandler, Loopback

SLOW_S = 2.5  # longer than the 1 s client timeout the tests give
OPENAI_FIELDS = {"model", "prompt", "messages", "tools", "n", "max_tokens", "temperature", "top_p", "stream", "logprobs",
                 "presence_penalty", "stop", "seed"}


class FakeEngine(Loopback):
    def __init__(self, models=("m",), port: int = 0):
        self.models = set(models)
        self.respond = lambda prompt_ids, index: f"answer {index}"
        self.faults: deque = deque()
        self.answer_limit: int | None = None
        self.token_ids = True  # logprobs tokens spelt "token_id:<id>" (vLLM's return_tokens_as_token_ids); False: as text
        self.completions = True
        self.owned_by = "vllm"
        self.chat_n = "answer"
        self.openai_fields_only = False
        self.requests: list[dict] = []  # every request body, in arrival order (retries included)
        self.paths: list[str] = []  # and the path each went to
        self.auth: list[str] = []
        self.answered = 0
        self.in_flight = InFlight()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.start(self.handler(), port)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def prompts(self) -> list:
        """The prompts asked (token ids, or chat messages), retries included."""
        return [body.get("prompt", body.get("messages")) for body in self.requests]

    def chat_completion(self, body: dict) -> dict:
        n = 1 if self.chat_n == "ignore" else body.get("n", 1)
        texts = [self.respond(body["messages"], index) for index in range(n)]
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"} for i, text in enumerate(texts)]
        prompt_tokens = sum(len(m["content"] or "") for m in body["messages"])  # characters: a count the tests can redo
        completion_tokens = sum(len(text.split()) + 1 for text in texts)
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"], "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}}

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

        class Handler(JSONHandler):
            def do_GET(self):
                if self.path.rstrip("/") != "/v1/models":
                    self.send_json(404, {"error": {"message": "not found"}})
                    return
                self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": engine.owned_by} for m in sorted(engine.models)]})

            def do_POST(self):
                body = self.read_json()
                with engine.lock:
                    engine.requests.append(body)
                    engine.paths.append(self.path)
                    engine.auth.append(self.headers.get("Authorization", ""))
                    if self.path not in ("/v1/completions", "/v1/chat/completions") or (self.path == "/v1/completions" and not engine.completions):
                        self.send_json(404, {"detail": "Not Found"})  # before the faults, which are for served requests
                        return
                    fault = engine.faults.popleft() if engine.faults else None
                    hang = engine.answer_limit is not None and engine.answered >= engine.answer_limit
                with engine.in_flight.answering():
                    self.answer(body, fault, hang)

            def answer(self, body, fault, hang):
                if hang:
                    engine.stopped.wait(120)
                    return
                chat = self.path == "/v1/chat/completions"
                if body["model"] not in engine.models:
                    self.send_json(404, {"error": {"message": f"model {body['model']} does not exist", "type": "NotFoundError"}})
                    return
                unknown = sorted(set(body) - OPENAI_FIELDS)
                if engine.openai_fields_only and unknown:
                    self.send_json(400, {"error": {"message": f"Unrecognized request argument supplied: {unknown[0]}", "type": "invalid_request_error"}})
                    return
                if chat and engine.chat_n == "refuse" and body.get("n", 1) > 1:
                    self.send_json(400, {"error": {"message": "n > 1 is not supported", "type": "invalid_request_error"}})
                    return
                if isinstance(fault, int):
                    self.send_json(fault, {"error": {"message": "scripted failure", "type": "server_error"}}, {"retry-after-ms": "10"})
                    return
                if fault == "slow":
                    time.sleep(SLOW_S)
                payload = engine.chat_completion(body) if chat else engine.completion(body)
                with engine.lock:
                    engine.answered += 1
                self.send_json(200, payload)

        return Handler


@pytest.fixture
def fake_engine():
    engine = FakeEngine()
    yield engine
    engine.stopped.set()
    engine.close()


if __name__ == "__main__":
    import sys

    FakeEngine(sys.argv[1].split(","), int(sys.argv[2]))
    threading.Event().wait()
