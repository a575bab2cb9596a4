"""Dispatch demo: follow a live activity log and say what a resource manager would do before the next action.

Every arriving event extends its user's session (cut at the task's session gap, as in training); once a session
holds two events, the fine-tuned model predicts the next line from the last `context_events` of them with the
very prompt training used, and the predicted action maps to a decision ("preload chrome.exe"). Confidence is
the geometric mean of the probabilities of the tokens that produced the predicted line.

    domaintune dispatch --adapter runs/<run>/adapter --input live.jsonl          # follows the file, Ctrl-C stops
    domaintune dispatch --adapter runs/<run>/adapter --input live.jsonl \
        --endpoint http://127.0.0.1:8000/v1 --endpoint-model behavior           # a served model decides (vLLM)
"""

import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import openai

from pipelines.behavior.events import (
    parse_action,
    parse_line,
    render,
    to_event,
    validate_event,
    wall_clock,
)
from pipelines.behavior.samples import INSTRUCTION, decode_json, resolve_options
from pipelines.core.endpoint import FATAL, Endpoint, template_kwargs, token_ids
from pipelines.core.errors import DomaintuneError, InvalidRecord, RecordError
from pipelines.core.models import base_model_of, local_copy
from pipelines.core.tasks import Task

# The predicted line is read exactly as evaluation reads it.
from pipelines.core.text import THINK_BLOCK, first_line

# What a resource manager does ahead of each predicted action (fields of the predicted line fill the braces).
DECISIONS = {
    "app_start": "preload {app}",
    "app_close": "free memory held by {app}",
    "window_switch": "raise window '{title}' of {app}",
    "web_visit": "prefetch {domain}",
    "file_access": "open recent file {name} in {dir}",
    "app_usage": "keep {app} resident",
}
# One event says nothing about a routine; the model was trained on windows of `context_events` lines.
MIN_CONTEXT = 2
POLL_S = 0.5


@dataclass
class Decision:
    user: str
    ts: str  # time of the event that triggered the prediction
    predicted: str  # the predicted log line ("" when the model produced none)
    action: str
    confidence: float

    def line(self) -> str:
        # %g keeps an untrained model's 1e-5 readable instead of rounding it to 0.000
        return f"{self.ts} {self.user}: {self.action}  (confidence {self.confidence:.3g}; predicted: {self.predicted or '<nothing>'})"


def decide(predicted: str) -> str:
    action = parse_line(predicted)
    if action is None:
        return "wait (prediction is not an action line)"
    return DECISIONS[action.event].format_map(action.fields)


def follow(path: Path, once: bool, poll_s: float = POLL_S) -> Iterator[tuple[int, str]]:
    """(line number, line) of a growing file, like `tail -f` from its start; `once` stops at the current end."""
    with path.open("rb") as handle:
        number, partial = 0, b""
        while True:
            chunk = handle.readline()
            if chunk.endswith(b"\n") or (once and chunk == b"" and partial):
                number += 1
                raw, partial = partial + chunk, b""
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise RecordError(str(path), f"line {number}", "-", f"not UTF-8 ({exc.reason})") from None
                if text.strip():
                    yield number, text
            elif chunk:
                partial += chunk  # the writer is mid-line; wait for the rest
            elif once:
                return
            else:
                time.sleep(poll_s)


# A live log is followed line by line: JSON events, or rendered lines whose user is --user or the file's stem.
LINE_FORMATS = {
    ".jsonl": lambda text, user: decode_json(text),
    ".txt": lambda text, user: to_event(parse_action(text), user),
}


def check_log(log: Path) -> None:
    if log.suffix not in LINE_FORMATS:
        raise DomaintuneError(f"{log}: dispatch follows {' or '.join(LINE_FORMATS)} logs, not {log.suffix!r}")
    if not log.is_file():
        raise DomaintuneError(f"{log}: no such log file")


@dataclass
class Session:
    window: deque
    last_time: datetime | None = None


# Prompt token ids -> the generated token ids and the log-probability of each.
Generate = Callable[[list[int]], tuple[list[int], list[float]]]


@dataclass
class Predictor:
    generate: Generate
    tokenizer: object
    system: str | None
    chat_kwargs: dict = field(default_factory=dict)

    def prompt_ids(self, lines: list[str]) -> list[int]:
        messages = ([{"role": "system", "content": self.system}] if self.system else []) + [
            {"role": "user", "content": INSTRUCTION + "\n" + "\n".join(lines)}  # LLaMA-Factory joins instruction and input with "\n"
        ]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **self.chat_kwargs)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def predict(self, lines: list[str]) -> tuple[str, float]:
        generated, logprobs = self.generate(self.prompt_ids(lines))
        return line_confidence(self.tokenizer, generated, logprobs)


def local_generate(model, max_new_tokens: int) -> Generate:
    """Greedy generation by the merged model in this process."""

    def generate(prompt_ids: list[int]) -> tuple[list[int], list[float]]:
        import torch

        inputs = torch.tensor([prompt_ids], device=model.device)
        with torch.no_grad():
            out = model.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=max_new_tokens, do_sample=False,
                                 output_scores=True, return_dict_in_generate=True)
        logprobs = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)[0]
        return out.sequences[0, len(prompt_ids) :].tolist(), logprobs.tolist()

    return generate


def endpoint_generate(endpoint: Endpoint, max_new_tokens: int) -> Generate:
    """Greedy generation by the model an OpenAI-compatible server serves: the prompt's token ids go to its completions
    endpoint, which returns each generated token's id (vLLM's return_tokens_as_token_ids) and log-probability."""
    client = endpoint.client()

    def generate(prompt_ids: list[int]) -> tuple[list[int], list[float]]:
        try:
            response = client.completions.create(model=endpoint.model, prompt=prompt_ids, max_tokens=max_new_tokens, temperature=0.0,
                                                 logprobs=1, extra_body={"return_tokens_as_token_ids": True})
        except FATAL as exc:  # names the server itself
            raise DomaintuneError(endpoint.describe(exc)) from None
        except openai.APIError as exc:
            raise DomaintuneError(f"{endpoint.base_url}: {endpoint.describe(exc)}") from None
        logprobs = response.choices[0].logprobs
        if logprobs is None or not logprobs.tokens:
            return [], []
        return token_ids(logprobs.tokens, endpoint), [float(lp) for lp in logprobs.token_logprobs]

    return generate


def line_confidence(tokenizer, token_ids: list[int], logprobs: list[float]) -> tuple[str, float]:
    """The first non-empty line of the generation and the geometric-mean probability of the tokens up to its end."""
    end = len(token_ids)
    for m in range(1, len(token_ids) + 1):
        if "\n" in THINK_BLOCK.sub("", tokenizer.decode(token_ids[:m], skip_special_tokens=True)).lstrip():
            end = m  # this token closes the first non-empty line
            break
    special = set(tokenizer.all_special_ids)
    # End-of-text alone (an empty answer) is still a choice the model made with some probability.
    used = [lp for tid, lp in zip(token_ids[:end], logprobs[:end]) if tid not in special] or logprobs[:end]
    return first_line(tokenizer.decode(token_ids, skip_special_tokens=True)), math.exp(sum(used) / len(used))


def chat_kwargs(task: Task) -> dict:
    return template_kwargs(task.model["template"], task.model["enable_thinking"])


def base_model_path(adapter: Path) -> Path:
    """The local directory of the model named by the adapter's `base_model_name_or_path`."""
    base = base_model_of(adapter)
    for candidate in (Path(base), local_copy(base)):
        if (candidate / "config.json").is_file():
            return candidate
    raise DomaintuneError(f"{adapter}: base model {base!r} is not available locally; run `domaintune download -m {base}`")


def load_tokenizer(adapter: Path, base: Path | None = None):
    from transformers import AutoTokenizer

    # LLaMA-Factory saves the tokenizer it trained with next to the adapter; a bare adapter uses the base's.
    return AutoTokenizer.from_pretrained(adapter if (Path(adapter) / "tokenizer_config.json").is_file() else base or base_model_path(adapter))


def load_predictor(adapter: Path, task: Task, max_new_tokens: int | None = None, endpoint: Endpoint | None = None) -> Predictor:
    """The adapter merged into its base model here, or, with `endpoint`, the server that serves it (only the
    adapter's tokenizer is loaded here, to render the prompt)."""
    max_new_tokens = max_new_tokens or task.config["predict"]["max_new_tokens"]
    if endpoint is not None:
        return Predictor(endpoint_generate(endpoint, max_new_tokens), load_tokenizer(adapter), task.config.get("system"), chat_kwargs(task))

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = base_model_path(adapter)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16 if device == "cuda" else torch.float32).to(device)
    # Merged once, the adapter costs nothing per token: a dispatcher answers before the next event arrives.
    model = PeftModel.from_pretrained(model, adapter).merge_and_unload().eval()
    return Predictor(local_generate(model, max_new_tokens), load_tokenizer(adapter, base), task.config.get("system"), chat_kwargs(task))


def decisions(
    adapter: Path, log: Path, task: Task, once: bool = False, user: str | None = None, max_new_tokens: int | None = None,
    endpoint: Endpoint | None = None,
) -> Iterator[Decision]:
    """One Decision per arriving event whose session already holds MIN_CONTEXT events; the model runs here, or on
    `endpoint`."""
    log = Path(log)
    check_log(log)
    options = resolve_options(task.config["source"].get("options", {}))
    predictor = load_predictor(adapter, task, max_new_tokens, endpoint)
    sessions: dict[str, Session] = {}
    for number, text in follow(log, once):
        try:
            event = LINE_FORMATS[log.suffix](text, user or log.stem)
            if type(event) is dict and "ts" in event:  # the same wall clock as the training samples
                event["ts"] = wall_clock(event["ts"], options["zone"])
            when = validate_event(event)
        except InvalidRecord as exc:
            raise RecordError(str(log), f"line {number}", exc.field, exc.reason) from None
        session = sessions.setdefault(event["user"], Session(deque(maxlen=options["context_events"])))
        if session.last_time and (when - session.last_time).total_seconds() > options["session_gap_minutes"] * 60:
            session.window.clear()
        session.window.append(render(event))
        session.last_time = when
        if len(session.window) >= MIN_CONTEXT:
            predicted, confidence = predictor.predict(list(session.window))
            yield Decision(event["user"], event["ts"], predicted, decide(predicted), confidence)
