"""An OpenAI-compatible generation endpoint (vLLM, SGLang, a hosted API) and its `openai` clients.

Retries are the `openai` client's own: 408/409/429/5xx, timeouts and dropped connections are retried `max_retries`
times with exponential backoff (0.5 s doubling up to 8 s, jittered; a server's Retry-After is honoured). A refused
key, a refused permission or an unknown model stops the run: every other request would fail the same way.
The API key is read from the environment variable `api_key_env` names and given to the client only; it is never
printed, logged or written.
"""

import os
from dataclasses import dataclass

import openai

from pipelines.core.errors import DomaintuneError

FATAL = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
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

    def client_options(self) -> dict:
        # A local server needs no key, but the client insists on one; a placeholder is sent when the variable is unset.
        return {"base_url": self.base_url, "api_key": os.environ.get(self.api_key_env) or "unset",
                "max_retries": self.max_retries, "timeout": self.timeout_s}

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(**self.client_options())

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self.client_options())

    def describe(self, exc: openai.APIError) -> str:
        """One line for a request that failed after its retries, without the response body (servers echo requests)."""
        if isinstance(exc, openai.APITimeoutError):
            return f"timed out after {self.max_retries} retries ({self.timeout_s:g} s each)"
        if isinstance(exc, openai.APIConnectionError):
            return f"connection to {self.base_url} failed after {self.max_retries} retries"
        if isinstance(exc, openai.BadRequestError):  # not retried: the server says why (a prompt too long, ...)
            return f"HTTP 400: {str(exc.message).splitlines()[0][:200]}"
        if isinstance(exc, openai.APIStatusError):
            return f"HTTP {exc.status_code} after {self.max_retries} retries"
        return type(exc).__name__

    def fatal(self, exc: openai.APIStatusError) -> DomaintuneError:
        if isinstance(exc, openai.NotFoundError):
            return DomaintuneError(f"{self.base_url} serves no model {self.model!r} (HTTP 404); its models: GET {self.base_url}/models")
        return DomaintuneError(f"{self.base_url} refused the API key from ${self.api_key_env} (HTTP {exc.status_code})")


def token_ids(tokens: list[str], endpoint: Endpoint) -> list[int]:
    """The ids of a completion's logprobs tokens, which the request asked to be spelt "token_id:<id>"."""
    if not all(token.startswith(TOKEN_ID_PREFIX) for token in tokens):
        raise DomaintuneError(f"{endpoint.base_url} did not return token ids with its logprobs; "
                              "serve the model with vLLM (`domaintune serve --engine vllm`), which does")
    return [int(token.removeprefix(TOKEN_ID_PREFIX)) for token in tokens]
