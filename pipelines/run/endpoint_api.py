"""How `predict --endpoint` asks a server for one prompt's answers (`--endpoint-api`), decided once per run.

- `completions`: the token ids LLaMA-Factory's template gives the record (pipelines/run/rendering.py) go to
  /v1/completions with do_predict's settings, vLLM's and SGLang's fields among them (top_k, repetition_penalty,
  stop_token_ids): the very prompt training and HF do_predict see. vLLM and SGLang take token-id prompts.
- `chat`: the record's conversation (system, tools, the turns before the answer) goes to /v1/chat/completions with
  the same settings, and the server's chat template renders it. Behind `llamafactory-cli api` (`domaintune serve`),
  known by the owner its model card names, "owner" (LLaMA-Factory's api/protocol.py; vLLM says "vllm"), that is
  LLaMA-Factory's template with the thinking setting the server was started with, so the prompt is exact (less
  cutoff_len's truncation, which only do_predict applies); it reads do_sample, and repetition_penalty as
  presence_penalty (its api/chat.py), and takes top_k from its own generation settings. Other servers get
  vLLM's fields as for completions, with chat_template_kwargs for Qwen3's thinking switch; their own chat template
  applies, which may not be LLaMA-Factory's (one line says so, and predict.json). The first request learns what the
  server takes: refused (HTTP 400/422), it is asked again with one request per sample instead of `n`, then without
  the fields beyond OpenAI's, then both; a server that answers fewer than `n` choices gets one request per sample.
- `auto` (the default): completions; when the first prompt's token ids are refused (a 4xx other than a refused key,
  permission or rate limit; `llamafactory-cli api` has no /v1/completions: 404), chat for the whole run, with one
  line saying why.
"""

import hashlib
import json
from dataclasses import dataclass, field, replace

import openai

from pipelines.core.endpoint import FATAL, Endpoint, retried

API_CHOICES = ("auto", "completions", "chat")
LLAMAFACTORY_OWNER = "owner"
LLAMAFACTORY = "llamafactory-cli api"
# LLaMA-Factory's roles (data/data_utils.py Role) as OpenAI's chat API names them.
ROLES = {"user": "user", "assistant": "assistant", "observation": "tool", "function": "function"}


@dataclass(frozen=True)
class Job:
    record: int  # position in the eval datasets: records with one prompt (trajectory's) each get answers of their own
    prompt_ids: list[int]
    conversation: dict  # rendering.py's: system, tools, messages in LLaMA-Factory's roles
    n: int

    def key(self, api: str, model: str, request: dict) -> str:
        """What the answers are stored under: model, API, record, prompt as that API sends it, settings and n."""
        prompt = self.prompt_ids if api == "completions" else self.conversation
        return hashlib.sha256(json.dumps([model, api, self.record, prompt, request, self.n], sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Api:
    """One API of a server and what the run's first request learnt it takes."""

    name: str  # completions or chat
    extra: dict  # the request's fields beyond OpenAI's (extra_body)
    server: str = ""  # chat: LLAMAFACTORY when the server is one
    one_per_sample: bool = False  # the server does not take `n`: one request per sample
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was decided and why, one line each

    def body(self, request: dict, job: Job, n: int) -> dict:
        body = {key: value for key, value in request.items() if key != "extra_body"}
        if self.name == "completions":
            body["prompt"] = job.prompt_ids
        else:
            body["messages"], tools = chat_messages(job.conversation, self.server == LLAMAFACTORY)
            if tools:
                body["tools"] = tools
        return {**body, "n": n, **({"extra_body": self.extra} if self.extra else {})}

    async def ask(self, client: openai.AsyncOpenAI, model: str, request: dict, job: Job) -> dict:
        """The job's answers: {"texts", "prompt_tokens", "completion_tokens"}; ValueError when the server gave fewer."""
        create = client.completions.create if self.name == "completions" else client.chat.completions.create
        if self.one_per_sample:  # one at a time: the job holds one of the `concurrency` slots
            responses = [await create(model=model, **self.body(request, job, 1)) for _ in range(job.n)]
        else:
            responses = [await create(model=model, **self.body(request, job, job.n))]
        texts = [text for response in responses for text in self.texts(response)]
        if len(texts) != job.n:
            raise ValueError(f"{len(texts)} answers where {job.n} were asked")
        usage = [response.usage for response in responses]
        return {"texts": texts,
                "prompt_tokens": len(job.prompt_ids) if self.name == "completions" else usage[0] and usage[0].prompt_tokens,
                "completion_tokens": None if None in usage else sum(u.completion_tokens for u in usage)}

    def texts(self, response) -> list[str]:
        choices = sorted(response.choices, key=lambda choice: choice.index)
        if self.name == "completions":
            return [choice.text for choice in choices]
        return [message_text(choice.message) for choice in choices]

    def info(self) -> dict:
        """predict.json's account of how the prompts were asked."""
        if self.name == "completions":
            prompts = "token ids of LLaMA-Factory's template (pipelines/run/rendering.py), exactly do_predict's"
        elif self.server == LLAMAFACTORY:
            prompts = "chat messages, rendered by llamafactory-cli api with LLaMA-Factory's template as the server was started"
        else:
            prompts = "chat messages, rendered by the server's own chat template (not necessarily LLaMA-Factory's)"
        return {"name": self.name, "prompts": prompts, "server": self.server or None,
                "n": "one request per sample" if self.one_per_sample else "per request",
                "extra_fields": sorted(self.extra), "notes": list(self.notes)}


def completions_api(request: dict) -> Api:
    return Api("completions", request["extra_body"])


def chat_api(request: dict, llamafactory: bool, chat_kwargs: dict) -> Api:
    """The chat API with the fields the server reads beyond OpenAI's: LLaMA-Factory's, or vLLM's and SGLang's."""
    if llamafactory:
        sampled = "top_p" in request
        return Api("chat", {"do_sample": sampled, "presence_penalty": request["extra_body"]["repetition_penalty"]}, LLAMAFACTORY)
    return Api("chat", {**request["extra_body"], **({"chat_template_kwargs": chat_kwargs} if chat_kwargs else {})})


def chat_messages(conversation: dict, llamafactory: bool) -> tuple[list[dict], list[dict]]:
    """OpenAI chat messages and tools for a conversation. `llamafactory-cli api` takes a function call turn as
    LLaMA-Factory writes it (role "function", its JSON); other servers as an assistant turn with tool_calls."""
    messages = [{"role": "system", "content": conversation["system"]}] if conversation["system"] else []
    for turn in conversation["messages"]:
        if turn["role"] == "function" and not llamafactory:
            calls = json.loads(turn["content"])
            calls = calls if isinstance(calls, list) else [calls]
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{i}", "type": "function",
                 "function": {"name": call["name"], "arguments": json.dumps(call["arguments"], ensure_ascii=False)}}
                for i, call in enumerate(calls)]})
        else:
            messages.append({"role": ROLES[turn["role"]], "content": turn["content"]})
    tools = json.loads(conversation["tools"]) if conversation["tools"] else []
    return messages, [tool if "function" in tool else {"type": "function", "function": tool} for tool in tools]


def message_text(message) -> str:
    """A chat answer as do_predict writes one: its text, or the tool calls a server parsed out of it, as
    LLaMA-Factory's function turns spell them."""
    if message.content is None and message.tool_calls:
        return json.dumps([{"name": call.function.name, "arguments": json.loads(call.function.arguments or "{}")}
                           for call in message.tool_calls], ensure_ascii=False)
    return message.content or ""


def refused_token_ids(exc: Exception) -> bool:
    """Whether a completions request was refused as such (auto turns to chat): a 4xx other than a refused key or
    permission (chat would be refused too) and those the client retries (a rate limit, a timeout, a conflict)."""
    return isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500 and exc.status_code not in (401, 403) and not retried(exc.status_code)


def refused_request(exc: Exception) -> bool:
    return isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError)


async def served_models(client: openai.AsyncOpenAI) -> dict[str, str | None] | None:
    """The models the server lists, with the owner each card names; None when it lists none (it need not)."""
    try:
        page = await client.models.list()
    except openai.APIError:
        return None
    return {card.id: getattr(card, "owned_by", None) for card in page.data}


async def learn(client: openai.AsyncOpenAI, endpoint: Endpoint, api: Api, request: dict, job: Job) -> tuple[Api, dict | Exception]:
    """Ask the run's first chat job, learning what the server takes: (the API to ask the rest with, the job's answer
    or its failure). Refused (HTTP 400/422), it is asked again with one request per sample instead of `n`, then
    without the fields beyond OpenAI's, then without both; the first way that answers is the run's. A server that
    answers fewer choices than `n` gets one request per sample."""
    ways = [api] + ([replace(api, one_per_sample=True)] if job.n > 1 else [])
    ways += [replace(way, extra={}) for way in ways] if api.extra else []
    refusals, short, tried = {}, None, []  # refusals: (one per sample, with the extra fields) -> that way's refusal
    while ways:
        way = ways.pop(0)
        if way in tried:
            continue
        tried.append(way)
        try:
            answer = await way.ask(client, endpoint.model, request, job)
        except FATAL:
            raise
        except openai.APIError as exc:
            if refused_request(exc):
                refusals[way.one_per_sample, bool(way.extra)] = exc
                continue
            answer = exc  # not about the request: the job failed, the run goes on this way
        except ValueError as exc:
            if not way.one_per_sample:
                short = exc
                ways.insert(0, replace(way, one_per_sample=True))
                continue
            answer = exc
        return replace(way, notes=api.notes + tuple(changes(endpoint, api, way, refusals, short))), answer
    return api, next(iter(refusals.values()))  # refused every way: the first refusal says why


def changes(endpoint: Endpoint, asked: Api, way: Api, refusals: dict, short: Exception | None) -> list[str]:
    """One line for each way the run's requests differ from what was asked first, and why."""
    lines = []
    if way.one_per_sample and not asked.one_per_sample:
        refusal = refusals.get((False, bool(way.extra)))
        why = endpoint.describe(refusal, "chat completions") if refusal else str(short)
        lines.append(f"{endpoint.base_url} does not take n > 1 ({why}): each sample is a request of its own")
    if asked.extra and not way.extra:
        why = endpoint.describe(refusals[way.one_per_sample, True], "chat completions")
        lines.append(f"{endpoint.base_url} refused the fields beyond OpenAI's ({', '.join(sorted(asked.extra))}; {why}): "
                     "they are left out, so its own defaults apply")
    return lines
