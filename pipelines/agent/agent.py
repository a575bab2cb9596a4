"""One question through smolagents' ToolCallingAgent over an OpenAI-compatible endpoint: the answer, every tool
call with its result, the tokens spent, and the candidate record in the map-agent format.

The model is smolagents' OpenAIServerModel, i.e. the real `openai` client, whose own retries (408/429/5xx,
timeouts, dropped connections, with backoff) are the only ones: smolagents' 60-second rate-limit waits are
turned off. The API key is read from the environment variable the endpoint names, given to the client only.

The record (pipelines/converters/map_agent.py documents the format) is the question, the final answer with
any thinking removed, and the tool results as `context`: the place geocoded, the user's radius, budget and
cuisines as the question states them, and every restaurant any search returned, nearest distance first seen,
completed by what poi_details told about it.
"""

import threading
from dataclasses import dataclass, field, replace
from typing import ClassVar

import openai
from smolagents import (
    ActionStep,
    AgentError,
    AgentGenerationError,
    LogLevel,
    OpenAIServerModel,
    ToolCallingAgent,
)

from pipelines.agent.pois import PoiSource
from pipelines.agent.questions import Question
from pipelines.agent.tools import Recorder, make_tools
from pipelines.core import endpoint as connection
from pipelines.core.endpoint import FATAL, retried
from pipelines.core.errors import DomaintuneError
from pipelines.core.text import first_line, strip_think

CONTEXT_POI_KEYS = ("name", "address", "cuisine", "rating", "distance_m", "avg_price")  # the map-agent POI


@dataclass(frozen=True)
class Endpoint(connection.Endpoint):
    """The agent's model (connection, key and limits as every endpoint's: pipelines/core/endpoint.py) and its run."""

    api_key_env: str = "AGENT_API_KEY"
    concurrency: int = 4  # questions with the agent at once, each asking one request at a time
    max_retries: int = 2  # per request, by the openai client, with backoff
    timeout_s: float = 120.0  # per attempt
    temperature: float = 0.7  # some variety between answers to similar questions
    max_steps: int = 6  # geocode, search, a detail or two, the answer, one retry
    URL_OPTION: ClassVar[str] = "--base-url"


@dataclass
class Outcome:
    question: Question
    record: dict | None  # None: no final answer
    calls: list[dict]
    searched: bool  # a nearby search returned results (maybe none)
    errors: list[str] = field(default_factory=list)  # steps that failed: bad tool arguments, refused requests
    input_tokens: int = 0
    output_tokens: int = 0


def make_model(endpoint: Endpoint) -> OpenAIServerModel:
    return OpenAIServerModel(
        model_id=endpoint.model,
        api_base=endpoint.base_url,
        api_key=endpoint.api_key(),
        client_kwargs={"max_retries": endpoint.max_retries, "timeout": endpoint.timeout_s},
        retry=False,
        temperature=endpoint.temperature,
    )


def endpoint_error(exc: BaseException, endpoint: Endpoint) -> DomaintuneError | None:
    """The one-line error that stops the run (the endpoint cannot be reached, refuses the key, has no such model, or
    still fails after the retries), or None when only this request was refused (HTTP 400, 422)."""
    stops = isinstance(exc, (openai.APIConnectionError, *FATAL)) or (isinstance(exc, openai.APIStatusError) and retried(exc.status_code))
    if not stops:
        return None
    line = endpoint.describe(exc, "chat completions")
    return DomaintuneError(line if endpoint.base_url in line else f"{endpoint.base_url}: {line}")


def check_endpoint(model: OpenAIServerModel, endpoint: Endpoint) -> None:
    """Fail before any question when the endpoint cannot be reached or refuses the key."""
    try:
        model.client.with_options(max_retries=1, timeout=min(endpoint.timeout_s, 15.0)).models.list()
    except openai.APIError as exc:
        problem = endpoint_error(exc, replace(endpoint, max_retries=1))
        if problem is not None and not isinstance(exc, openai.NotFoundError):  # a server may not list models
            raise problem from None


def ask(question: Question, prompt: str, model: OpenAIServerModel, source: PoiSource, endpoint: Endpoint,
        stop: threading.Event) -> Outcome | None:
    """The agent's outcome; None when `stop` was set while it ran. Raises the errors that stop the run."""
    recorder = Recorder()
    agent = ToolCallingAgent(tools=make_tools(source, recorder), model=model, instructions=prompt,
                             max_steps=endpoint.max_steps, verbosity_level=LogLevel.OFF, return_full_result=True)
    recorder.on_fatal = lambda: setattr(agent, "interrupt_switch", True)
    agent.step_callbacks.register(ActionStep, lambda step: stop.is_set() and setattr(agent, "interrupt_switch", True))
    result, refused = None, []
    try:
        result = agent.run(question.text)
    except AgentGenerationError as exc:
        problem = endpoint_error(exc.__cause__, endpoint)
        if problem is not None:
            raise problem from None
        refused.append(f"the endpoint refused a request: {endpoint.describe(exc.__cause__ or exc, 'chat completions')}")
    except AgentError:
        if recorder.fatal is not None:
            raise recorder.fatal from None
        if stop.is_set():
            return None
        raise
    found = outcome(question, agent, recorder, result)
    found.errors += refused
    return found


def outcome(question: Question, agent: ToolCallingAgent, recorder: Recorder, result) -> Outcome:
    steps = [step for step in agent.memory.steps if isinstance(step, ActionStep)]
    answer = None
    if result is not None and result.state == "success" and result.output is not None:
        answer = strip_think(str(result.output)) or None
    record = None
    if answer:
        record = {"Instruction": question.instruction, "Question": question.text, "Answer": answer,
                  "context": context(question, recorder.calls)}
    return Outcome(
        question, record, recorder.calls,
        searched=any(c.get("tool") == "search_nearby" and "result" in c for c in recorder.calls),
        errors=[f"step {s.step_number}: {first_line(str(s.error))}" for s in steps if s.error is not None],
        input_tokens=sum(s.token_usage.input_tokens for s in steps if s.token_usage),
        output_tokens=sum(s.token_usage.output_tokens for s in steps if s.token_usage),
    )


def context(question: Question, calls: list[dict]) -> dict:
    results = [(c["tool"], c["result"]) for c in calls if "result" in c]
    located = next((r for tool, r in results if tool == "geocode" and r["found"]), None)
    pois: dict[str, dict] = {}
    for tool, result in results:
        if tool == "search_nearby":
            for poi in result["pois"]:
                pois.setdefault(poi["id"], dict(poi))
    for tool, result in results:
        if tool == "poi_details" and result["found"] and result["id"] in pois:
            pois[result["id"]] = {**result, **pois[result["id"]]}  # search's fields (distance) win
    found = {}
    if question.location or located:
        found["location"] = {"name": question.location or located["name"]}
        if located:
            found["location"].update(lng=located["lng"], lat=located["lat"])
    if question.radius_m is not None:
        found["radius_m"] = question.radius_m
    if question.budget is not None:
        found["budget"] = list(question.budget)
    if question.preferences:
        found["preferences"] = list(question.preferences)
    found["pois"] = [{key: poi[key] for key in CONTEXT_POI_KEYS if key in poi} for poi in pois.values()]
    return found
