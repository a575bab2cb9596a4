"""`domaintune predict --endpoint URL --endpoint-model NAME`: predictions from any OpenAI-compatible server.

    domaintune serve --task trajectory --engine vllm --port 8000        # or SGLang, llamafactory-cli api, ...
    domaintune predict --task trajectory --endpoint http://127.0.0.1:8000/v1 --endpoint-model trajectory

Each record's prompt is rendered by LLaMA-Factory's own dataset pipeline (pipelines/run/rendering.py) and asked
with do_predict's settings: greedy (temperature 0), or the task's temperature and top_p with LLaMA-Factory's
top_k; its repetition penalty; `n` = samples_per_prompt answers per prompt; stopping at the tokens generate()
stops at. `--endpoint-api` says how (pipelines/run/endpoint_api.py): as token ids to the completions endpoint
(vLLM, SGLang: exact), as chat messages (`llamafactory-cli api`, hosted APIs: the server's chat template), or
`auto`, the first that the server takes, decided once per run. The `openai` client sends them concurrently (at most
`concurrency` in flight) and retries 429s, 5xx and timeouts (pipelines/core/endpoint.py). The output is
do_predict's, row for row (validation, each sampled pass after the other, then the scenarios), so `eval` reads it
unchanged; predict.json adds the endpoint, model, API, settings, tokens and seconds.

Resumable: each prompt's answers are appended to answers.partial.jsonl as they arrive, keyed by the model, the API,
the prompt and the settings; after an interruption or failed requests the same command asks only the rest.
"""

import asyncio
import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import openai

from pipelines.core.atomic import write_json, write_text
from pipelines.core.endpoint import FATAL, Endpoint, template_kwargs
from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.layout import (
    ANSWERS_FILE,
    PREDICT_INFO_FILE,
    PREDICTIONS_FILE,
    SEGMENTS_FILE,
)
from pipelines.core.progress import progress
from pipelines.run.endpoint_api import (
    LLAMAFACTORY_OWNER,
    Api,
    Job,
    chat_api,
    completions_api,
    learn,
    refused_token_ids,
    served_models,
)
from pipelines.run.rendering import Rendered, render

WHAT = {"completions": "completions", "chat": "chat completions"}  # an API as a 404's line names it


def request_of(rendered: Rendered) -> dict:
    """The request's settings for do_predict's generation arguments, as the completions API takes them."""
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


def jobs_of(rendered: Rendered, parts: list[dict]) -> list[Job]:
    """One job per record; a sampled task asks a validation prompt for all its passes at once (`n`)."""
    counts = [part["n"] // part["passes"] for part in parts]
    if sum(counts) != len(rendered.prompt_ids):
        raise DomaintuneError(f"LLaMA-Factory rendered {len(rendered.prompt_ids)} prompts but the datasets hold {sum(counts)} "
                              "records (it drops invalid ones); rebuild them with `domaintune data`")
    samples = [part["passes"] if rendered.generation["do_sample"] else 1 for part, count in zip(parts, counts) for _ in range(count)]
    return [Job(i, ids, conversation, n) for i, (ids, conversation, n) in enumerate(zip(rendered.prompt_ids, rendered.conversations, samples))]


def rows_of(rendered: Rendered, parts: list[dict], texts: list[list[str]]) -> list[dict]:
    """do_predict's rows from each job's answers: each dataset in turn, its passes one after the other (a greedy
    answer serves every pass)."""
    rows, start = [], 0
    for part in parts:
        count = part["n"] // part["passes"]
        for sample in range(part["passes"]):
            for i in range(start, start + count):
                rows.append({"prompt": rendered.prompts[i], "predict": texts[i][min(sample, len(texts[i]) - 1)], "label": rendered.labels[i]})
        start += count
    return rows


def read_answers(path: Path) -> dict[str, dict]:
    """Answers a previous, unfinished run received; a line an interruption cut short is asked again."""
    answers = {}
    if path.exists():
        # Split at b"\n" only: answers are written with ensure_ascii=False, so U+2028 may stand raw inside one.
        for line in path.read_bytes().split(b"\n"):
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut short, its last character's bytes included
                continue
            if isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("texts"), list):
                answers[entry["key"]] = entry
    return answers


@dataclass
class Asking:
    """One run's questions to the endpoint: what is answered (appended to the journal `out` as it arrives), what failed."""

    endpoint: Endpoint
    request: dict
    jobs: list[Job]
    answers: dict[str, dict]  # key -> answer, the earlier runs' included
    out: TextIO
    fetched: dict[str, dict] = field(default_factory=dict)  # this run's answers
    failures: dict[str, str] = field(default_factory=dict)  # key -> why, one line
    cut: int = 0  # prompts LLaMA-Factory cut to cutoff_len (their token ids are cut; as chat messages they go whole)
    cutoff_len: int = 0

    def key(self, api: Api, job: Job) -> str:
        return job.key(api.name, self.endpoint.model, self.request)

    def missing(self, api: Api) -> list[Job]:
        return [job for job in self.jobs if self.key(api, job) not in self.answers]

    def keep(self, api: Api, job: Job, result: dict | Exception) -> None:
        key = self.key(api, job)
        if isinstance(result, openai.APIError):
            self.failures[key] = self.endpoint.describe(result, WHAT[api.name])
        elif isinstance(result, Exception):
            self.failures[key] = str(result)
        else:
            answer = {"key": key, **result}
            self.out.write(json.dumps(answer, ensure_ascii=False) + "\n")
            self.out.flush()  # on disk before the next answer: an interruption loses at most the one in flight
            self.fetched[key] = self.answers[key] = answer


async def choose(asking: Asking, client: openai.AsyncOpenAI, mode: str, chat_kwargs: dict, template: str) -> Api:
    """The run's API (pipelines/run/endpoint_api.py), deciding with its first missing job where `mode` leaves a choice."""
    endpoint, request = asking.endpoint, asking.request
    api, why = completions_api(request), None
    if mode == "completions" or (mode == "auto" and not asking.missing(api)):
        return api
    if mode == "auto":
        job = asking.missing(api)[0]
        try:
            asking.keep(api, job, await api.ask(client, endpoint.model, request, job))
            return api
        except (openai.APIError, ValueError) as exc:
            models = await served_models(client)
            # A 404 for a model the server does not list is about the model, not the token ids.
            unknown = isinstance(exc, openai.NotFoundError) and models is not None and endpoint.model not in models
            if unknown or not refused_token_ids(exc):
                if isinstance(exc, FATAL):
                    raise stop(endpoint, api, exc) from None
                asking.keep(api, job, exc)
                return api
            why = f"{endpoint.base_url} refused token-id prompts ({endpoint.describe(exc)}): asking its chat endpoint for the whole run"
    else:
        models = await served_models(client)
    llamafactory = (models or {}).get(endpoint.model) == LLAMAFACTORY_OWNER
    notes = [why] if why else []
    if not llamafactory:
        notes.append(f"{endpoint.base_url} is not llamafactory-cli api: the server's own chat template renders the prompts, "
                     f"which may not be LLaMA-Factory's {template}")
    if asking.cut:
        notes.append(f"{endpoint.base_url} gets {asking.cut} of {len(asking.jobs)} prompts whole as chat messages although they are "
                     f"longer than cutoff_len {asking.cutoff_len}, which do_predict and the completions API cut them to "
                     "(raise cutoff_len, or ask a completions endpoint)")
    api = replace(chat_api(request, llamafactory, chat_kwargs), notes=tuple(notes))
    todo = asking.missing(api)
    if not todo:
        return api
    try:
        api, answer = await learn(client, endpoint, api, request, todo[0])
    except FATAL as exc:
        raise stop(endpoint, api, exc) from None
    asking.keep(api, todo[0], answer)
    return api


def stop(endpoint: Endpoint, api: Api, exc: openai.APIStatusError) -> DomaintuneError:
    """A refused key or permission, or a model the server does not have: every other request would fail the same way."""
    return DomaintuneError(endpoint.describe(exc, WHAT[api.name]))


async def ask_all(asking: Asking, mode: str, chat_kwargs: dict, template: str, notify: Callable[[str], None]) -> Api:
    """Ask every job not answered yet, with the API `mode` gives or `choose` decides; returns that API."""
    endpoint = asking.endpoint
    semaphore = asyncio.Semaphore(endpoint.concurrency)
    async with endpoint.async_client() as client:
        api = await choose(asking, client, mode, chat_kwargs, template)
        for note in api.notes:
            notify(note)

        async def ask(job: Job):
            async with semaphore:
                try:
                    return job, await api.ask(client, endpoint.model, asking.request, job)
                except FATAL:
                    raise
                except (openai.APIError, ValueError) as exc:
                    return job, exc

        todo = [job for job in asking.missing(api) if asking.key(api, job) not in asking.failures]
        tasks = [asyncio.ensure_future(ask(job)) for job in todo]
        waits = list(asyncio.as_completed(tasks))  # a list, so the progress bar knows the total
        try:
            for next_done in progress(waits, f"predict {endpoint.model}", unit="prompt"):
                asking.keep(api, *(await next_done))
        except FATAL as exc:
            raise stop(endpoint, api, exc) from None
        finally:
            for wait in waits:  # those a fatal error or an interruption left unawaited
                wait.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return api


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


def predict_endpoint(endpoint: Endpoint, args: dict, parts: list[dict], out_dir: Path, engine: str = "endpoint", api: str = "auto",
                     notify: Callable[[str], None] | None = None) -> Path:
    """Predictions for the predict recipe `args` over the datasets of `parts` (pipelines/run/predict.py segments),
    written to `out_dir` as do_predict writes them; `api`: auto, completions or chat (pipelines/run/endpoint_api.py);
    `notify` hears how the prompts are asked where that is not as told. Returns generated_predictions.jsonl."""
    out_dir = Path(out_dir)
    rendered = render({**args, "eval_dataset": ",".join(part["dataset"] for part in parts)})
    request = request_of(rendered)
    jobs = jobs_of(rendered, parts)
    journal = out_dir / ANSWERS_FILE
    answers = read_answers(journal)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with journal.open("a", encoding="utf-8") as out:
        asking = Asking(endpoint, request, jobs, answers, out, cut=sum(rendered.cut), cutoff_len=args["cutoff_len"])
        # LLaMA-Factory thinks unless told not to (DataArguments.enable_thinking defaults to True).
        chat_kwargs = template_kwargs(args["template"], bool(args.get("enable_thinking", True)))
        chosen = run_interruptible(ask_all(asking, api, chat_kwargs, args["template"], notify or (lambda line: None)))
    seconds = time.monotonic() - started
    fetched, failures = asking.fetched, asking.failures
    if failures:
        asked = len(fetched) + len(failures)
        raise DomaintuneError(
            f"{len(failures)} of {asked} prompts asked of {endpoint.base_url} got no answer ({next(iter(failures.values()))}); "
            f"the {len(answers)} answered are kept in {journal}: run the same command (with -o {out_dir}) to ask only the rest"
        )
    answered = [answers[asking.key(chosen, job)] for job in jobs]
    rows = rows_of(rendered, parts, [answer["texts"] for answer in answered])
    write_text(out_dir / PREDICTIONS_FILE, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    write_json(out_dir / SEGMENTS_FILE, parts)
    write_json(out_dir / PREDICT_INFO_FILE, {**info(endpoint, engine, chosen, request, jobs, answered, fetched, rows, seconds),
                                             "prompts_cut_to_cutoff_len": sum(rendered.cut)})
    journal.unlink(missing_ok=True)
    return out_dir / PREDICTIONS_FILE


def info(endpoint: Endpoint, engine: str, api: Api, request: dict, jobs: list[Job], answered: list[dict], fetched: dict, rows: list,
         seconds: float) -> dict:
    prompt = [answer.get("prompt_tokens") for answer in answered]
    completion = [answer.get("completion_tokens") for answer in answered]
    this_run = sum(answer["completion_tokens"] or 0 for answer in fetched.values())
    return {
        "engine": engine,
        "endpoint": endpoint.base_url,
        "model": endpoint.model,
        "api_key_env": endpoint.api_key_env,  # the variable's name; its value is never written
        "api": api.info(),
        "settings": {**{k: v for k, v in request.items() if k != "extra_body"}, **request["extra_body"],
                     "n": max(job.n for job in jobs) if jobs else 1},
        "concurrency": endpoint.concurrency,
        "rows": len(rows),
        "prompts": len(jobs),
        "asked": len(fetched),
        "resumed": len(jobs) - len(fetched),
        # None when the server reported no usage for some answer (chat: the server's count of its own prompt)
        "prompt_tokens": None if None in prompt else sum(prompt),
        "completion_tokens": None if None in completion else sum(completion),
        "seconds": round(seconds, 3),
        "completion_tokens_per_s": round(this_run / seconds, 1) if fetched and seconds > 0 else None,
    }
