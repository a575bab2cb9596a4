"""`domaintune predict --endpoint URL --endpoint-model NAME`: predictions from any OpenAI-compatible server.

    domaintune serve --task trajectory --engine vllm --port 8000        # or SGLang, ...
    domaintune predict --task trajectory --endpoint http://127.0.0.1:8000/v1 --endpoint-model trajectory

The server needs a completions endpoint that takes token-id prompts (vLLM and SGLang have one; chat-only
servers such as `llamafactory-cli api` and most hosted APIs cannot promise the trained prompt and are refused by
their own 4xx). Each prompt is sent as the token ids LLaMA-Factory's do_predict would feed the model (pipelines/run/rendering.py)
to the completions endpoint, with do_predict's settings: greedy (temperature 0), or the task's temperature and
top_p with LLaMA-Factory's top_k; its repetition penalty; `n` = samples_per_prompt answers per prompt; stopping
at the tokens generate() stops at. The `openai` client sends them concurrently (at most `concurrency` in flight)
and retries 429s, 5xx and timeouts (pipelines/core/endpoint.py). The output is do_predict's, row for row
(validation, each sampled pass after the other, then the scenarios), so `eval` reads it unchanged; predict.json
adds the endpoint, model, settings, tokens and seconds.

Resumable: each prompt's answers are appended to answers.partial.jsonl as they arrive, keyed by the model, the
prompt's tokens and the settings; after an interruption or failed requests the same command asks only the rest.
"""

import asyncio
import hashlib
import json
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import openai

from pipelines.core.atomic import write_json, write_text
from pipelines.core.endpoint import FATAL, Endpoint
from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.layout import (
    ANSWERS_FILE,
    PREDICT_INFO_FILE,
    PREDICTIONS_FILE,
    SEGMENTS_FILE,
)
from pipelines.core.progress import progress
from pipelines.run.rendering import Rendered, render


@dataclass(frozen=True)
class Job:
    key: str  # what the answers are stored under: model, record, prompt tokens, settings and n
    prompt_ids: list[int]
    n: int


def request_of(rendered: Rendered) -> dict:
    """The completions request's settings for do_predict's generation arguments."""
    generation = rendered.generation
    if generation.get("num_beams", 1) > 1:
        raise DomaintuneError("num_beams > 1 (beam search) has no OpenAI-compatible request; predict with --engine hf")
    sampled = generation["do_sample"]
    body = {"max_tokens": generation["max_new_tokens"], "temperature": generation["temperature"] if sampled else 0.0}
    # Fields beyond OpenAI's, as vLLM and SGLang read them. Left out, a server applies the model's
    # generation_config.json (Qwen2.5: top_k 20, repetition_penalty 1.05), which do_predict's arguments override.
    extra = {
        "repetition_penalty": generation["repetition_penalty"],
        "stop_token_ids": rendered.stop_token_ids,
        "skip_special_tokens": generation["skip_special_tokens"],
    }
    if sampled:
        body["top_p"] = generation["top_p"]
        extra["top_k"] = generation["top_k"]
    return {**body, "extra_body": extra}


def jobs_of(rendered: Rendered, parts: list[dict], request: dict, model: str) -> list[Job]:
    """One job per record; a sampled task asks a validation prompt for all its passes at once (`n`)."""
    counts = [part["n"] // part["passes"] for part in parts]
    if sum(counts) != len(rendered.prompt_ids):
        raise DomaintuneError(f"LLaMA-Factory rendered {len(rendered.prompt_ids)} prompts but the datasets hold {sum(counts)} "
                              "records (it drops invalid ones); rebuild them with `domaintune data`")
    samples = [part["passes"] if rendered.generation["do_sample"] else 1 for part, count in zip(parts, counts) for _ in range(count)]
    return [Job(job_key(model, i, ids, request, n), ids, n) for i, (ids, n) in enumerate(zip(rendered.prompt_ids, samples))]


def job_key(model: str, record: int, prompt_ids: list[int], request: dict, n: int) -> str:
    # The record's position is part of it: records with one prompt (trajectory's) each get answers of their own.
    return hashlib.sha256(json.dumps([model, record, prompt_ids, request, n], sort_keys=True).encode()).hexdigest()[:32]


def rows_of(rendered: Rendered, parts: list[dict], jobs: list[Job], answers: dict[str, dict]) -> list[dict]:
    """do_predict's rows: each dataset in turn, its passes one after the other (a greedy answer serves every pass)."""
    rows, start = [], 0
    for part in parts:
        count = part["n"] // part["passes"]
        for sample in range(part["passes"]):
            for i in range(start, start + count):
                texts = answers[jobs[i].key]["texts"]
                rows.append({"prompt": rendered.prompts[i], "predict": texts[min(sample, len(texts) - 1)], "label": rendered.labels[i]})
        start += count
    return rows


def read_answers(path: Path) -> dict[str, dict]:
    """Answers a previous, unfinished run received; a line an interruption cut short is asked again."""
    answers = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("texts"), list):
                answers[entry["key"]] = entry
    return answers


def answer_of(job: Job, response) -> dict:
    choices = sorted(response.choices, key=lambda choice: choice.index)
    if len(choices) != job.n:
        raise ValueError(f"{len(choices)} answers where {job.n} were asked")
    usage = response.usage
    return {"key": job.key, "texts": [choice.text for choice in choices], "prompt_tokens": len(job.prompt_ids),
            "completion_tokens": usage.completion_tokens if usage else None}


async def ask_all(endpoint: Endpoint, request: dict, jobs: list[Job], journal: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Ask every job, appending each answer to `journal` as it arrives; (answers, failures as one line each)."""
    answers, failures = {}, {}
    semaphore = asyncio.Semaphore(endpoint.concurrency)
    async with endpoint.async_client() as client:

        async def ask(job: Job):
            async with semaphore:
                try:
                    return job, await client.completions.create(model=endpoint.model, prompt=job.prompt_ids, n=job.n, **request)
                except FATAL:
                    raise
                except openai.APIError as exc:
                    return job, exc

        tasks = [asyncio.ensure_future(ask(job)) for job in jobs]
        waits = list(asyncio.as_completed(tasks))  # a list, so the progress bar knows the total
        try:
            with journal.open("a", encoding="utf-8") as out:
                for next_done in progress(waits, f"predict {endpoint.model}", unit="prompt"):
                    job, result = await next_done
                    if isinstance(result, openai.APIError):
                        failures[job.key] = endpoint.describe(result)
                        continue
                    try:
                        answer = answer_of(job, result)
                    except ValueError as exc:
                        failures[job.key] = str(exc)
                        continue
                    out.write(json.dumps(answer, ensure_ascii=False) + "\n")
                    out.flush()  # on disk before the next answer: an interruption loses at most the one in flight
                    answers[job.key] = answer
        finally:
            for wait in waits:  # those a fatal error or an interruption left unawaited
                wait.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return answers, failures


def run_interruptible(coroutine):
    """asyncio.run, with SIGTERM cancelling the work the way asyncio's own Ctrl-C handling does."""
    terminated = []

    async def main():
        task = asyncio.current_task()
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: (terminated.append(True), task.cancel()))
        except (RuntimeError, ValueError):  # not the main thread: signals are not ours to handle
            pass
        return await coroutine

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if terminated:
            raise Interrupted(signal.SIGTERM, "predict --endpoint") from None
        raise
    finally:
        if main_thread:  # the loop leaves SIGTERM at its default; give the caller's handler back
            signal.signal(signal.SIGTERM, previous)


def predict_endpoint(endpoint: Endpoint, args: dict, parts: list[dict], out_dir: Path, engine: str = "endpoint") -> Path:
    """Predictions for the predict recipe `args` over the datasets of `parts` (pipelines/run/predict.py segments),
    written to `out_dir` as do_predict writes them; returns generated_predictions.jsonl."""
    out_dir = Path(out_dir)
    rendered = render({**args, "eval_dataset": ",".join(part["dataset"] for part in parts)})
    request = request_of(rendered)
    jobs = jobs_of(rendered, parts, request, endpoint.model)
    journal = out_dir / ANSWERS_FILE
    answers = read_answers(journal)
    missing = [job for job in jobs if job.key not in answers]
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        fetched, failures = run_interruptible(ask_all(endpoint, request, missing, journal)) if missing else ({}, {})
    except FATAL as exc:
        raise endpoint.fatal(exc) from None
    seconds = time.monotonic() - started
    answers.update(fetched)
    if failures:
        raise DomaintuneError(
            f"{len(failures)} of {len(missing)} prompts asked of {endpoint.base_url} got no answer ({next(iter(failures.values()))}); "
            f"the {len(answers)} answered are kept in {journal}: run the same command (with -o {out_dir}) to ask only the rest"
        )
    rows = rows_of(rendered, parts, jobs, answers)
    write_text(out_dir / PREDICTIONS_FILE, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    write_json(out_dir / SEGMENTS_FILE, parts)
    write_json(out_dir / PREDICT_INFO_FILE, info(endpoint, engine, request, jobs, answers, fetched, rows, seconds))
    journal.unlink(missing_ok=True)
    return out_dir / PREDICTIONS_FILE


def info(endpoint: Endpoint, engine: str, request: dict, jobs: list[Job], answers: dict, fetched: dict, rows: list, seconds: float) -> dict:
    completion = [answers[job.key].get("completion_tokens") for job in jobs]
    this_run = sum(answer["completion_tokens"] or 0 for answer in fetched.values())
    return {
        "engine": engine,
        "endpoint": endpoint.base_url,
        "model": endpoint.model,
        "api_key_env": endpoint.api_key_env,  # the variable's name; its value is never written
        "api": "completions; prompts are the token ids of LLaMA-Factory's template (pipelines/run/rendering.py)",
        "settings": {**{k: v for k, v in request.items() if k != "extra_body"}, **request["extra_body"],
                     "n": max(job.n for job in jobs) if jobs else 1},
        "concurrency": endpoint.concurrency,
        "rows": len(rows),
        "prompts": len(jobs),
        "asked": len(fetched),
        "resumed": len(jobs) - len(fetched),
        "prompt_tokens": sum(len(job.prompt_ids) for job in jobs),
        # None when the server reported no usage for some answer
        "completion_tokens": None if None in completion else sum(completion),
        "seconds": round(seconds, 3),
        "completion_tokens_per_s": round(this_run / seconds, 1) if fetched and seconds > 0 else None,
    }
