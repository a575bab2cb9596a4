"""An OpenAI-compatible server (vLLM, SGLang, `llamafactory-cli api`, a hosted API): where it is, which model, the
key, the limits of the calls, its `openai` clients, and one line for whatever a call to it failed with. Endpoint
predictions, `dispatch --endpoint`, the LLM judge (evaluators/judge/client.py) and the map agent
(pipelines/agent/agent.py) all connect through it; each keeps its own defaults and what it does with an answer.

Retries are the `openai` client's own: 408/409/429/5xx, timeouts and dropped connections are retried `max_retries`
times with exponential backoff (0.5 s doubling up to 8 s, jittered; a server's Retry-After is honoured); any other
4xx is not retried, and its reason is the server's own words. A refused key, a refused permission or an unknown
model (FATAL) stops the caller's calls: every other one would fail the same way.

The API key is read from the environment variable `api_key_env` names and given to the client only; it is never
printed, logged or written, and a server that echoes it in an error has it masked.
"""

import os
import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlparse

import openai

from pipelines.core.errors import DomaintuneError

FATAL = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
REASON_CHARS = 200
# vLLM's `return_tokens_as_token_ids` spells each logprobs token as "token_id:<id>", so no text is re-tokenised.
TOKEN_ID_PREFIX = "token_id:"


@dataclass(frozen=True)
class Endpoint:
    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str  # the name the server serves the model under
    api_key_env: str = "ENDPOINT_API_KEY"  # the NAME of the variable holding the key; its value is never stored
    concurrency: int = 16  # requests in flight; a vLLM server batches them continuously, hosted APIs rate-limit
    max_retries: int = 4  # per request, by the openai client, with backoff
    timeout_s: float = 600.0  # per attempt: 2,048 new tokens from a busy server take minutes
    URL_OPTION: ClassVar[str] = "--endpoint"  # the option that gives base_url, named when /v1 is missing

    def api_key(self) -> str:
        # A local server needs no key, but the client insists on one: a placeholder when the variable is unset.
        return os.environ.get(self.api_key_env) or "unset"

    def client_options(self) -> dict:
        return {"base_url": self.base_url, "api_key": self.api_key(), "max_retries": self.max_retries, "timeout": self.timeout_s}

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(**self.client_options())

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self.client_options())

    def describe(self, exc: openai.APIError, what: str = "completions") -> str:
        """One line for a call that failed after its retries: the status, whether it was retried, and the server's
        own reason with the key masked; `what` names the API asked (in a 404's line)."""
        if isinstance(exc, openai.APITimeoutError):
            return f"timed out after {self.max_retries} retries ({self.timeout_s:g} s each)"
        if isinstance(exc, openai.APIConnectionError):
            return f"connection to {self.base_url} failed after {self.max_retries} retries"
        if not isinstance(exc, openai.APIStatusError):
            return one_line(f"{type(exc).__name__}: {exc}", self.api_key())
        status, said = exc.status_code, one_line(server_said(exc.body), self.api_key())
        # No version segment (/v1, /v3, /v1beta ...) in the URL: the commonest cause of a 404 is the missing /v1.
        if isinstance(exc, openai.NotFoundError) and not re.search(r"/v\d+\w*$", urlparse(self.base_url).path.rstrip("/")):
            return (f"HTTP 404 at {self.base_url}: OpenAI-compatible servers answer under /v1; "
                    f"try {self.URL_OPTION} {self.base_url.rstrip('/')}/v1")
        if isinstance(exc, openai.NotFoundError):
            return f"HTTP 404: {self.base_url} has no {what} for model {self.model!r}" + (f" ({said})" if said else "")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"HTTP {status}: {self.base_url} refused the API key from ${self.api_key_env}" + (f" ({said})" if said else "")
        return f"HTTP {status} " + (f"after {self.max_retries} retries" if retried(status) else "(not retried)") + (f": {said}" if said else "")


def retried(status: int) -> bool:
    """Whether the openai client retries a response with this status."""
    return status in (408, 409, 429) or status >= 500


def one_line(text: str, secret: str = "") -> str:
    text = " ".join(str(text).split())
    if secret and secret != "unset":
        text = text.replace(secret, "***")
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def server_said(body: object) -> str:
    """The server's own reason in an error body: OpenAI's {"error": {"message"}} (the client unwraps "error"),
    FastAPI's {"detail": ...} (a string, or a list of validation errors), or plain text; "" when it gave none."""
    if isinstance(body, dict):
        body = body.get("message") or body.get("detail") or body.get("error") or body.get("msg") or ""
    if isinstance(body, list):
        body = next((e.get("msg", e) if isinstance(e, dict) else e for e in body), "")
    if isinstance(body, dict):
        return server_said(body)
    text = str(body or "").strip()
    return "an HTML page" if text.startswith("<") else text


def template_kwargs(template: str, enable_thinking: bool) -> dict:
    """What a chat request adds (vLLM's `chat_template_kwargs`) so the model's own Qwen3 chat template renders the
    prompt LLaMA-Factory's `template` does. LLaMA-Factory's qwen3_nothink prompt ends at "<|im_start|>assistant\\n",
    which is Qwen3's template at its default; its reasoning `qwen3` template with thinking off adds the empty think
    block, as enable_thinking=False does."""
    return {"enable_thinking": False} if template == "qwen3" and not enable_thinking else {}


def token_ids(tokens: list[str], endpoint: Endpoint) -> list[int]:
    """The ids of a completion's logprobs tokens, which the request asked to be spelt "token_id:<id>"."""
    if not all(token.startswith(TOKEN_ID_PREFIX) for token in tokens):
        raise DomaintuneError(f"{endpoint.base_url} did not return token ids with its logprobs; "
                              "serve the model with vLLM (`domaintune serve --engine vllm`), which does")
    return [int(token.removeprefix(TOKEN_ID_PREFIX)) for token in tokens]
