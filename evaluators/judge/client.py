"""Scoring items with a judge model behind any OpenAI-compatible endpoint (`openai` client).

A bounded thread pool sends the prompts the cache has no good answer for, at the task's temperature (0 unless set)
and asking for a JSON object. The connection, the key and the one-line reason of a failed call are every endpoint's
(pipelines/core/endpoint.py). Retries are the `openai` client's own: 408/409/429/5xx, timeouts and dropped
connections are retried `max_retries` times with exponential backoff (0.5 s doubling up to 8 s, jittered; a
server's Retry-After is honoured); any other 4xx is not retried, and its reason is the server's own words.

Nothing an endpoint answers takes the eval down. Whatever is not a well-formed chat completion (an HTML page with
HTTP 200, an error object, no choices, truncated JSON) is a call failure of its item, counted with its one-line
reason, never cached, so the next run asks again. An endpoint that refuses `response_format` (HTTP 400/422) is asked
once more without it, and when that works it is left out for the rest of the eval. A refused key, a refused
permission or a 404 stops the calls (every other one would fail the same way): the items not sent are counted as
failures with that reason, and a 404 at a base URL without `/v1` says to add it. Only answers that parse are cached
(evaluators/judge/cache.py).

The API key is read from the environment variable `api_key_env` names and given to the client only; a server that
echoes it in an error has it masked.
"""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from typing import ClassVar

import openai
from tqdm import tqdm

from evaluators.judge.cache import AnswerCache, cache_key
from evaluators.judge.parse import ParseFailure, Score, parse_scores
from evaluators.judge.rubric import Rubric
from pipelines.core import endpoint as connection
from pipelines.core.endpoint import FATAL, server_said

# The settings a task's `eval.judge` and the command line may set (recipes/schema/task.schema.json).
CALL_SETTINGS = ("concurrency", "max_retries", "timeout_s", "max_tokens", "temperature", "response_format")
# The settings that change what the judge answers: they key the cache with the model, the rubric and the prompt.
ANSWER_SETTINGS = ("model", "temperature", "max_tokens", "response_format")


@dataclass(frozen=True)
class JudgeConfig(connection.Endpoint):
    """The judge's endpoint (connection, key and limits as every endpoint's: pipelines/core/endpoint.py) and answers."""

    api_key_env: str = "JUDGE_API_KEY"
    concurrency: int = 4  # requests in flight; most hosted APIs rate-limit beyond a handful
    timeout_s: float = 120.0  # per attempt
    max_tokens: int = 1024  # five one-line reasons fit in ~400 tokens; thinking judges need more
    temperature: float = 0.0  # the same answer for the same prompt, so a cached answer is the answer
    response_format: bool = True  # ask for {"type": "json_object"}; dropped for the eval if the endpoint refuses it
    refresh: bool = False  # ignore cached answers (good new answers are cached again)
    URL_OPTION: ClassVar[str] = "--judge-base-url"

    def with_options(self, options: dict) -> "JudgeConfig":
        """This config with the call settings a task's `eval.judge` (and the command line) give."""
        return replace(self, **{key: options[key] for key in CALL_SETTINGS if key in options})

    def settings(self) -> dict:
        """What the report shows: every setting but the endpoint's address and the key variable."""
        return {k: v for k, v in asdict(self).items() if k not in ("base_url", "api_key_env")}


@dataclass
class Verdict:
    id: str
    scores: dict[str, Score] | None = None
    failure: str | None = None  # "parse: ..." or "call: ...", one line; None when scored


@dataclass
class JudgeRun:
    rubric: Rubric
    verdicts: list[Verdict]
    calls: int = 0  # prompts sent this run (retries not counted); 0 when the cache had every answer
    cached: int = 0


class CallFailure(Exception):
    """No chat completion for one prompt; str() is the reason, in one line."""

    def __init__(self, reason: str, status: int | None = None, sent: bool = True):
        super().__init__(reason)
        self.status = status
        self.sent = sent


def completion_text(content_type: str, body: str) -> str:
    """The answer of a chat completion body; CallFailure naming what came instead of one."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        if "json" in content_type:
            raise CallFailure(f"HTTP 200 with truncated or invalid JSON ({exc.msg}: character {exc.pos} of {len(body)})") from None
        what = "an HTML page" if body.lstrip().startswith("<") else f"a {content_type or 'untyped'} body"
        raise CallFailure(f"HTTP 200 with {what}, not a chat completion") from None
    if isinstance(data, dict) and "error" in data:
        raise CallFailure(f"HTTP 200 with an error object: {server_said(data['error']) or 'no message'}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices, list):
        raise CallFailure("HTTP 200 with no choices")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str | None):
        raise CallFailure("HTTP 200 without a message in its first choice")
    return message.get("content") or ""


class Endpoint:
    """The judge endpoint of one eval: its client, and what the calls learnt about it, shared by every rubric."""

    def __init__(self, config: JudgeConfig, client: openai.OpenAI | None = None):
        self.config = config
        self.client = client or config.client()
        self.dropped: str | None = None  # why response_format was left out after the first refusal
        self.stopped: str | None = None  # the refusal that stopped every call (key, permission, 404)

    @property
    def json_mode(self) -> bool:
        """Whether calls ask for response_format: as configured, until the endpoint refused it once."""
        return self.config.response_format and self.dropped is None

    def notes(self) -> dict:
        return {"response_format": "off" if not self.config.response_format else f"dropped: {self.dropped}" if self.dropped else "sent",
                **({"stopped": self.stopped} if self.stopped else {})}

    def ask(self, messages: list[dict]) -> str:
        """The judge's answer to one prompt; CallFailure with a one-line reason otherwise."""
        if self.stopped:
            raise CallFailure(f"not sent: {self.stopped}", sent=False)
        json_mode = self.json_mode
        try:
            return self._complete(messages, json_mode)
        except CallFailure as failure:
            if not (json_mode and failure.status in (400, 422)):
                raise
            refused = failure
        try:
            answer = self._complete(messages, json_mode=False)
        except CallFailure:
            raise refused from None  # response_format was not (only) what the endpoint refused
        if self.json_mode:
            self.dropped = f"{self.config.base_url} refused it ({refused}) and answered without it"
        return answer

    def _complete(self, messages: list[dict], json_mode: bool) -> str:
        config = self.config
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=config.model,
                messages=messages,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                **({"response_format": {"type": "json_object"}} if json_mode else {}),
            )
        except openai.APIStatusError as exc:
            failure = CallFailure(config.describe(exc, "chat completions"), exc.status_code)
            if isinstance(exc, FATAL):
                self.stopped = str(failure)
            raise failure from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise CallFailure(config.describe(exc)) from None
        return completion_text(raw.headers.get("content-type", ""), raw.text)

    def answers(self, prompts: dict[str, list[dict]], desc: str) -> Iterator[tuple[str, str | CallFailure]]:
        """(item, answer or CallFailure) as they arrive, at most `concurrency` in flight."""
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency)
        try:
            futures = {pool.submit(self.ask, prompts[i]): i for i in prompts}
            # disable=None: a bar on a terminal, nothing in logs and pipes (as pipelines.core.progress).
            for future in tqdm(as_completed(futures), total=len(futures), desc=desc, unit="call", disable=None):
                try:
                    yield futures[future], future.result()
                except CallFailure as failure:
                    yield futures[future], failure
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # an interrupt stops queued calls; answers so far are kept


def read_verdict(item_id: str, answer: str, rubric: Rubric) -> Verdict:
    try:
        return Verdict(item_id, scores=parse_scores(answer, rubric))
    except ParseFailure as exc:
        return Verdict(item_id, failure=f"parse: {exc}")


def judge(items: list[tuple[str, dict]], rubric: Rubric, endpoint: Endpoint, cache: AnswerCache) -> JudgeRun:
    """Score (id, fields) items with `rubric`; ids must be unique. A scored answer is cached as it arrives (an
    interrupted run keeps what it got); a call or parse failure is not, so the next run asks again."""
    config = endpoint.config
    settings = {"rubric": rubric.name, "rubric_version": rubric.version, **{k: getattr(config, k) for k in ANSWER_SETTINGS}}
    prompts = {item_id: rubric.messages(fields) for item_id, fields in items}
    keys = {item_id: cache_key(settings, messages) for item_id, messages in prompts.items()}
    cached = {} if config.refresh else {item_id: answer for item_id in prompts if (answer := cache.get(keys[item_id])) is not None}
    verdicts = {item_id: read_verdict(item_id, answer, rubric) for item_id, answer in cached.items()}
    missing = {item_id: prompts[item_id] for item_id in prompts if item_id not in cached}
    calls = 0
    for item_id, answer in endpoint.answers(missing, f"judge {rubric.name}") if missing else ():
        if isinstance(answer, CallFailure):
            calls += answer.sent
            verdicts[item_id] = Verdict(item_id, failure=f"call: {answer}")
            continue
        calls += 1
        verdicts[item_id] = read_verdict(item_id, answer, rubric)
        if verdicts[item_id].scores is not None:
            cache.put(keys[item_id], config.model, rubric.name, answer)
    return JudgeRun(rubric, [verdicts[item_id] for item_id, _ in items], calls=calls, cached=len(cached))
