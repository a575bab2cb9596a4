"""Scoring items with a judge model behind any OpenAI-compatible endpoint (`openai` client).

Temperature 0 and a JSON object requested; a bounded thread pool sends the prompts the cache has no answer for.
Retries are the `openai` client's own: 408/409/429/5xx, timeouts and dropped connections are retried
`max_retries` times with exponential backoff (0.5 s doubling up to 8 s, jittered; a server's Retry-After is
honoured). A call that still fails is counted for its item and not cached, so the next run retries it. A
refused key, a refused permission or an unknown model stops the run: every other call would fail the same way.
The API key is read from the environment variable `api_key_env` names and given to the client only.
"""

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import openai
from tqdm import tqdm

from evaluators.judge.cache import AnswerCache, cache_key
from evaluators.judge.parse import ParseFailure, Score, parse_scores
from evaluators.judge.rubric import Rubric
from pipelines.core.errors import DomaintuneError

FATAL = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    api_key_env: str = "JUDGE_API_KEY"  # the NAME of the variable holding the key; its value is never stored
    concurrency: int = 4  # requests in flight; most hosted APIs rate-limit beyond a handful
    max_retries: int = 4  # per request, by the openai client, with backoff
    timeout_s: float = 120.0  # per attempt
    max_tokens: int = 1024  # five one-line reasons fit in ~400 tokens; thinking judges need more


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


def make_client(config: JudgeConfig) -> openai.OpenAI:
    # A local server needs no key, but the client insists on one; a placeholder is sent when the variable is unset.
    api_key = os.environ.get(config.api_key_env) or "unset"
    return openai.OpenAI(base_url=config.base_url, api_key=api_key, max_retries=config.max_retries, timeout=config.timeout_s)


def ask(client: openai.OpenAI, config: JudgeConfig, messages: list[dict]) -> str:
    response = client.chat.completions.create(
        model=config.model,
        messages=messages,
        temperature=0,
        max_tokens=config.max_tokens,
        response_format={"type": "json_object"},
    )
    return response.choices[0].message.content or ""


def describe(exc: openai.APIError, config: JudgeConfig) -> str:
    """One line without the response body (servers echo request details there)."""
    if isinstance(exc, openai.APITimeoutError):
        return f"timed out after {config.max_retries} retries"
    if isinstance(exc, openai.APIConnectionError):
        return f"connection failed after {config.max_retries} retries"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} after {config.max_retries} retries"
    return type(exc).__name__


def fatal(exc: openai.APIStatusError, config: JudgeConfig) -> DomaintuneError:
    if isinstance(exc, openai.NotFoundError):
        return DomaintuneError(f"judge: {config.base_url} has no model {config.model!r} (HTTP 404)")
    return DomaintuneError(f"judge: {config.base_url} refused the API key from ${config.api_key_env} (HTTP {exc.status_code})")


def fetch_answers(prompts: dict[str, list[dict]], keys: dict[str, str], rubric: Rubric, config: JudgeConfig,
                  cache: AnswerCache, client: openai.OpenAI) -> tuple[dict[str, str], dict[str, str]]:
    """Answers for every prompt the cache lacks, committed to the cache one by one; (answers, call failures)."""
    answers, failures = {}, {}
    pool = ThreadPoolExecutor(max_workers=config.concurrency)
    try:
        futures = {pool.submit(ask, client, config, prompts[i]): i for i in prompts}
        # disable=None: a bar on a terminal, nothing in logs and pipes (as pipelines.core.progress).
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"judge {rubric.name}", unit="call", disable=None):
            item = futures[future]
            try:
                answers[item] = future.result()
            except FATAL as exc:
                raise fatal(exc, config) from None
            except openai.APIError as exc:
                failures[item] = f"call: {describe(exc, config)}"
                continue
            cache.put(keys[item], config.model, rubric.name, answers[item])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an interrupt stops queued calls; answers so far are kept
    return answers, failures


def judge(items: list[tuple[str, dict]], rubric: Rubric, config: JudgeConfig, cache: AnswerCache,
          client: openai.OpenAI | None = None) -> JudgeRun:
    """Score (id, fields) items with `rubric`; ids must be unique."""
    prompts = {item_id: rubric.messages(fields) for item_id, fields in items}
    keys = {item_id: cache_key(config.model, rubric.name, messages) for item_id, messages in prompts.items()}
    answers = {item_id: answer for item_id in prompts if (answer := cache.get(keys[item_id])) is not None}
    missing = {item_id: prompts[item_id] for item_id in prompts if item_id not in answers}
    fetched, failures = fetch_answers(missing, keys, rubric, config, cache, client or make_client(config)) if missing else ({}, {})
    run = JudgeRun(rubric, [], calls=len(missing), cached=len(answers))
    answers.update(fetched)
    for item_id, _ in items:
        verdict = Verdict(item_id, failure=failures.get(item_id))
        if verdict.failure is None:
            try:
                verdict.scores = parse_scores(answers[item_id], rubric)
            except ParseFailure as exc:
                verdict.failure = f"parse: {exc}"
        run.verdicts.append(verdict)
    return run
