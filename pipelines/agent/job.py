"""`domaintune agent-data`: questions -> the map agent -> grounded, de-duplicated map-agent records, as a job.

    domaintune agent-data --task restaurant --base-url http://localhost:8000/v1 --model Qwen/Qwen3-8B -n 200 -o agent.jsonl
    domaintune data --task restaurant --input agent.jsonl

Up to `concurrency` questions are with the agent at once, and no more are asked than can still be needed (the
records kept plus those in flight stay within N). Each answered question is appended to the trace, which a
rerun resumes from (`trace.py`); when N distinct records are kept, or the questions run out, the records go
to the output and the rejects, with their reasons, to `<stem>.rejects.jsonl`, each file written atomically.
An unreachable endpoint or POI source stops the run with one line before anything is written; one that fails
later stops it with the answered questions kept in the trace. Ctrl-C or SIGTERM stops it the same way.
"""

import itertools
import json
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from pipelines.agent.agent import Endpoint, Outcome, ask, check_endpoint, make_model
from pipelines.agent.pois import PoiSource, open_source
from pipelines.agent.quality import REASONS, review
from pipelines.agent.questions import SEED, Question, questions
from pipelines.agent.trace import Trace, trace_path
from pipelines.converters.map_agent import sample_id
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError, Interrupted, signals_raise

QUESTIONS_PER_RECORD = 3  # default cap on questions asked: 3 x N, so a run that keeps too little stops


@dataclass(frozen=True)
class Job:
    task: str
    endpoint: Endpoint
    output: Path
    n: int
    pois: str = "table"
    questions: Path | None = None  # None: the shipped question space
    seed: int = SEED
    max_questions: int | None = None  # over the whole run, resumed parts included; None: QUESTIONS_PER_RECORD x n
    price_in: float = 0.0  # USD per million input tokens, for the cost estimate
    price_out: float = 0.0
    restart: bool = False

    def header(self) -> dict:
        return {"trace": "agent-data", "task": self.task, "model": self.endpoint.model, "pois": self.pois,
                "questions": str(self.questions) if self.questions else None, "seed": self.seed}


@dataclass
class Tally:
    kept_ids: set = field(default_factory=set)
    answered: int = 0
    rejected: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, entry: dict) -> None:
        self.answered += 1
        self.input_tokens += entry["tokens"][0]
        self.output_tokens += entry["tokens"][1]
        if entry["kept"]:
            self.kept_ids.add(entry["id"])
        else:
            self.rejected += 1

    def cost(self, job: Job) -> float:
        return (self.input_tokens * job.price_in + self.output_tokens * job.price_out) / 1e6

    def postfix(self, job: Job) -> str:
        cost = f" ~${self.cost(job):.4f}" if job.price_in or job.price_out else ""
        return f"asked {self.answered}, rejected {self.rejected}, tokens {self.input_tokens + self.output_tokens:,}{cost}"


@dataclass
class Summary:
    output: Path
    rejects_path: Path
    trace_path: Path
    wanted: int
    written: int
    answered: int
    resumed: int  # answered questions found in the trace
    stopped: str  # why fewer than wanted were written: "" when enough were
    rejects: Counter  # reason key -> rejected records with that reason
    input_tokens: int
    output_tokens: int
    cost: float | None

    def lines(self) -> list[str]:
        out = [f"{self.output}: {self.written} records" + (f" (asked for {self.wanted}: {self.stopped})" if self.stopped else "")]
        out.append(f"  {self.answered} questions answered" + (f", {self.resumed} of them by an earlier run" if self.resumed else ""))
        out.append(f"  tokens: {self.input_tokens:,} in, {self.output_tokens:,} out"
                   + (f", about ${self.cost:.4f}" if self.cost is not None else ""))
        out += [f"  rejected {n}: {reason} ({REASONS[reason]})" for reason, n in sorted(self.rejects.items())]
        out.append(f"  rejects: {self.rejects_path}; every tool call: {self.trace_path}")
        return out


def judge(found: Outcome) -> dict:
    """The trace entry of an answered question: kept or rejected, and why."""
    reasons = review(found.record, found.searched)
    record = found.record
    entry = {"index": found.question.index, "question": found.question.text, "kept": not reasons, "reasons": reasons}
    if record is not None:
        entry["id"] = sample_id(record["Question"], record["Answer"])
    entry.update(record=record, calls=found.calls, errors=found.errors, tokens=[found.input_tokens, found.output_tokens])
    return entry


def check_source(source: PoiSource, first: Question | None) -> None:
    """One geocode before any question: an unreachable or refusing source stops the run here."""
    if first is not None and first.location:
        source.geocode(first.location)


def run(job: Job) -> Summary:
    source = open_source(job.pois)
    config, stream = questions(source, job.questions, job.seed)
    trace = Trace(trace_path(job.output), job.header(), job.restart)
    model = make_model(job.endpoint)
    check_endpoint(model, job.endpoint)
    first = next(stream, None)
    check_source(source, first)
    tally = Tally()
    for entry in sorted(trace.entries.values(), key=lambda e: e["index"]):
        tally.add(entry)
    resumed = tally.answered

    todo = unanswered(itertools.chain([first] if first else [], stream), trace)
    try:
        # SIGTERM raises, like Ctrl-C, so the trace is left whole (a kill drops one line at most).
        with signals_raise("agent-data"):
            stopped = ask_all(job, todo, trace, tally, lambda q, stop: ask(q, config["prompt"], model, source, job.endpoint, stop))
    except (KeyboardInterrupt, Interrupted) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        raise Interrupted(signum, f"agent-data ({resume_hint(trace)})") from None
    except DomaintuneError as exc:
        raise DomaintuneError(f"{exc}; {resume_hint(trace)}" if trace.entries else str(exc)) from None
    return write_outputs(job, trace, tally, resumed, stopped)


def unanswered(stream: Iterator[Question], trace: Trace) -> Iterator[Question]:
    for question in stream:
        trace.check_question(question.index, question.text)
        if question.index not in trace.entries:
            yield question


def resume_hint(trace: Trace) -> str:
    return f"{len(trace.on_disk().entries)} answered questions are kept in {trace.path}: rerun the same command to continue"


def ask_all(job: Job, todo, trace: Trace, tally: Tally, ask_one) -> str:
    """Ask until N distinct records are kept; why it stopped short ("" when it did not)."""
    limit = job.max_questions or QUESTIONS_PER_RECORD * job.n
    stop = threading.Event()
    pending: dict[Future, Question] = {}
    exhausted = False
    pool = ThreadPoolExecutor(max_workers=job.endpoint.concurrency)
    # disable=None: a bar on a terminal, nothing in logs and pipes (as pipelines.core.progress).
    bar = tqdm(total=job.n, initial=min(len(tally.kept_ids), job.n), desc="agent-data", unit="record", disable=None)
    try:
        while True:
            while (not exhausted and len(pending) < job.endpoint.concurrency and len(tally.kept_ids) + len(pending) < job.n
                   and tally.answered + len(pending) < limit):
                question = next(todo, None)
                if question is None:
                    exhausted = True
                else:
                    pending[pool.submit(ask_one, question, stop)] = question
            if not pending:
                if len(tally.kept_ids) >= job.n:
                    return ""
                if exhausted:
                    return "the questions ran out; give more questions or another --seed"
                return f"{limit} questions asked, the cap (--max-questions, default {QUESTIONS_PER_RECORD} x N); raise it"
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                del pending[future]
                found = future.result()
                if found is None:
                    continue
                entry = judge(found)
                trace.add(entry)
                before = len(tally.kept_ids)
                tally.add(entry)
                bar.update(min(len(tally.kept_ids), job.n) - min(before, job.n))
                bar.set_postfix_str(tally.postfix(job))
    finally:
        stop.set()  # agents still running stop after their current step; their answers are not recorded
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()


def write_outputs(job: Job, trace: Trace, tally: Tally, resumed: int, stopped: str) -> Summary:
    """The first N distinct kept records in question order, and every reject with its reasons."""
    records, rejects, reasons, first_of = [], [], Counter(), {}
    for entry in sorted(trace.entries.values(), key=lambda e: e["index"]):
        if entry["kept"] and len(records) < job.n:
            if entry["id"] in first_of:
                entry = {**entry, "reasons": ["duplicate"], "duplicate_of": first_of[entry["id"]]}
            else:
                first_of[entry["id"]] = entry["index"]
                records.append(entry["record"])
                continue
        if not entry["kept"] or "duplicate_of" in entry:
            reasons.update(reason.split(":")[0] for reason in entry["reasons"])
            rejects.append({key: entry[key] for key in ("index", "question", "reasons", "duplicate_of", "record", "errors") if key in entry})
    rejects_path = job.output.with_name(f"{job.output.stem}.rejects.jsonl")
    write_text(job.output, lines(records))
    write_text(rejects_path, lines(rejects))
    return Summary(job.output, rejects_path, trace.path, job.n, len(records), tally.answered, resumed, stopped, reasons,
                   tally.input_tokens, tally.output_tokens, tally.cost(job) if job.price_in or job.price_out else None)


def lines(items: list[dict]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
