"""The options that point a command (`predict`, `dispatch`) at an OpenAI-compatible server instead of local weights,
and `--engine`, which picks how `predict` and `serve` generate."""

import click

from pipelines.core.endpoint import Endpoint
from pipelines.run.endpoint_api import API_CHOICES

ENGINE_HELP = ("auto: vllm where it imports and a CUDA device exists, else hf (with one line saying why); "
               "hf: LLaMA-Factory with Hugging Face generate; vllm: vLLM's server.")


def engine_option(fn):
    return click.option("--engine", type=click.Choice(["auto", "hf", "vllm"]), help=f"[default: auto] {ENGINE_HELP}")(fn)


def endpoint_options(concurrency: bool, api: bool = False):
    """--endpoint URL, --endpoint-model NAME, --endpoint-api-key-env NAME, --request-timeout S [, --concurrency N]
    [, --endpoint-api auto|completions|chat]."""
    options = [
        click.option("--endpoint", metavar="URL", help="An OpenAI-compatible server's base URL, e.g. http://127.0.0.1:8000/v1: "
                     "generate there instead of here."),
        click.option("--endpoint-model", metavar="NAME", help="The model name that server serves (required with --endpoint)."),
        click.option("--endpoint-api-key-env", default="ENDPOINT_API_KEY", show_default=True, metavar="NAME",
                     help="NAME of the environment variable holding the endpoint's API key; the key is never printed or written."),
        click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True,
                     help="Seconds per request attempt; 429s, 5xx and timeouts are retried 4 times with backoff."),
    ]
    if api:
        options.append(click.option("--endpoint-api", type=click.Choice(API_CHOICES),
                                    help="[default: auto] completions: token-id prompts, exactly LLaMA-Factory's (vLLM, SGLang); chat: messages, "
                                         "the server's chat template (LLaMA-Factory's behind llamafactory-cli api); "
                                         "auto: completions, or chat where the server refuses token ids."))
    if concurrency:
        options.append(click.option("--concurrency", type=click.IntRange(min=1), help="Requests in flight [default: 16 to an endpoint, 256 to a vLLM server of our own]."))

    def decorate(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def endpoint_of(url: str | None, model: str | None, api_key_env: str, timeout_s: float, concurrency: int | None = None) -> Endpoint | None:
    if url is None:
        if model:
            raise click.UsageError("--endpoint-model goes with --endpoint URL")
        return None
    if not model:
        raise click.UsageError("--endpoint URL needs --endpoint-model NAME (the name the server serves the model under)")
    return Endpoint(url.rstrip("/"), model, api_key_env, timeout_s=timeout_s, **({"concurrency": concurrency} if concurrency else {}))
