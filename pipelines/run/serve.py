"""`domaintune serve`: a trained run behind LLaMA-Factory's OpenAI-compatible API (`llamafactory-cli api`).

The server loads what the run trained (a LoRA adapter over its base model, or fully fine-tuned weights) with
the template and thinking setting the run trained with; `--base-only` serves the task's base model. It
listens on 127.0.0.1 unless told otherwise and runs as its own process group, so Ctrl-C or a SIGTERM to
`domaintune serve` stops all of it (pipelines/run/launch.py). Any OpenAI client can call it, the judge too:

    domaintune serve --task restaurant --port 8000
    domaintune eval --task restaurant --judge-base-url http://127.0.0.1:8000/v1 --judge-model restaurant

With `--engine vllm` (the default where vLLM imports and a CUDA device exists) the server is vLLM's
(pipelines/run/vllm.py): the adapter answers to NAME, its base model to NAME-base.
"""

from collections.abc import Callable
from pathlib import Path

from pipelines.core.layout import RunLayout
from pipelines.core.models import resolve_model, trained_weights
from pipelines.core.tasks import Task
from pipelines.planning.recipe import THIS_FILE, ChatFormat, Recipe
from pipelines.run.launch import llamafactory_cli, run_child
from pipelines.run.predict import chat_of
from pipelines.run.vllm import choose_engine, vllm_command, vllm_server


def serve_recipe(task: Task, model_path: str, adapter: Path | None, chat: ChatFormat) -> Recipe:
    header = [f"{task.name}: {model_path}" + (f" with the adapter {adapter}" if adapter else "") + " behind an OpenAI-compatible API",
              f"Run:  API_HOST=127.0.0.1 API_PORT=8000 llamafactory-cli api {THIS_FILE}"]
    model = {"model_name_or_path": model_path, "trust_remote_code": True}
    if adapter is not None:
        model["adapter_name_or_path"] = str(adapter)
    return Recipe(header, {
        "model": model,
        "method": {"finetuning_type": "lora" if adapter is not None else task.train["method"], "infer_backend": "huggingface"},
        # Serving must think (or not) as training did, or the model answers in a format it never learnt.
        "dataset": {"template": chat.template, "enable_thinking": chat.enable_thinking},
    })


def serve(task: Task, adapter: Path | None, model: str | None, host: str, port: int, name: str, engine: str = "hf",
          notify: Callable[[str], None] | None = None) -> int:
    """Run the API server until it exits or is stopped; returns its exit code. `engine` as in choose_engine
    (pipelines/run/vllm.py); `notify` hears which engine serves, and why auto is hf."""
    if adapter is not None:
        trained = trained_weights(adapter)
        run, model_path, adapter_path, base = RunLayout(Path(adapter).parent), trained.model, trained.adapter, trained.base
    else:
        base = model_path = resolve_model(task, model).path
        run, adapter_path = RunLayout.new(task.name, "serve"), None
        run.root.mkdir(parents=True)
    chat = chat_of(task, run, base)
    engine, why = choose_engine(engine)
    if notify:
        for line in filter(None, (why, f"serving http://{host}:{port}/v1 as model {name!r} with {engine} (Ctrl-C stops it)")):
            notify(line)
    if engine == "vllm":
        return run_child(vllm_command(vllm_server(run, model_path, adapter_path, chat, name, host, port)))
    config = serve_recipe(task, model_path, adapter_path, chat).write(run.serve_recipe)
    env = {"API_HOST": host, "API_PORT": str(port), "API_MODEL_NAME": name}
    return run_child([llamafactory_cli(), "api", str(config)], env=env)

