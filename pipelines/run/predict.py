"""`domaintune predict`: predictions of the adapter and the base model, by one of three engines.

- `hf`: LLaMA-Factory's do_predict + predict_with_generate (Hugging Face generate), `llamafactory-cli train`;
- `vllm`: a vLLM server of the run's own on loopback (pipelines/run/vllm.py), asked through the endpoint path;
- `--endpoint URL`: any OpenAI-compatible server already running (pipelines/run/endpoint_predict.py).

Each variant gets `<run>/predict/<variant>/generated_predictions.jsonl` plus `segments.json`, which says
which rows came from which dataset (validation first, then the task's fixed scenario prompts). A task with
`predict.samples_per_prompt: k` gets k sampled passes over the validation set, one after the other. The
three write the same rows from the same prompts and settings, so `eval` reads any of them.
"""

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.core.atomic import write_json
from pipelines.core.endpoint import Endpoint
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import VARIANTS, RunLayout
from pipelines.core.models import TrainedWeights, resolve_model, trained_weights
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import dataset_file, load_dataset_info, register
from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.recipe import ChatFormat, Recipe, chat_format, predict_recipe
from pipelines.run.endpoint_predict import predict_endpoint
from pipelines.run.launch import run_llamafactory
from pipelines.run.vllm import choose_engine, running, vllm_server

# Requests in flight to a vLLM server of our own: it batches them continuously, so more is faster up to its memory.
VLLM_CONCURRENCY = 256


def segments(task: Task, max_samples: int | None = None) -> list[dict]:
    """Which rows of the predictions come from which dataset, in the order LLaMA-Factory concatenates them.

    `max_samples` mirrors LLaMA-Factory's own truncation: the first N records of each dataset. `passes` is how
    often the dataset is read (samples_per_prompt for validation, once for scenarios); `n` counts every pass.
    """
    splits = ["val"] + (["scenarios"] if task.dataset_name("scenarios") in load_dataset_info() else [])
    out = []
    for split in splits:
        name = task.dataset_name(split)
        n = len(json.loads(dataset_file(name).read_text(encoding="utf-8")))
        passes = task.config["predict"].get("samples_per_prompt", 1) if split == "val" else 1
        out.append({"split": split, "dataset": name, "n": passes * (n if max_samples is None else min(n, max_samples)), "passes": passes})
    return out


def pass_datasets(parts: list[dict]) -> list[str]:
    """The eval_dataset names, one per pass. LLaMA-Factory loads a name once, so passes 2..k read the same file
    under alias entries (`<dataset>__pass<i>`) registered here beside the dataset's own entry."""
    info = load_dataset_info()
    names = []
    for part in parts:
        aliases = [f"{part['dataset']}__pass{i}" for i in range(2, part["passes"] + 1)]
        if aliases:
            register({alias: info[part["dataset"]] for alias in aliases})
        names += [part["dataset"], *aliases]
    return names


def chat_of(task: Task, run: RunLayout, model_path: str) -> ChatFormat:
    """Predict with the template and thinking the run trained with, or, without training, the model's own."""
    if run.train_recipe.exists():
        recipe = yaml.safe_load(run.train_recipe.read_text(encoding="utf-8")) or {}
        if "template" in recipe:
            return ChatFormat(recipe["template"], bool(recipe.get("enable_thinking", False)))
    return chat_format(task, resolve_architecture(model_path))


@dataclass(frozen=True)
class Source:
    """What predictions load: the run they belong to, its chat format, and each variant's weights."""

    run: RunLayout
    chat: ChatFormat
    base: str
    trained: TrainedWeights | None

    def weights(self, variant: str) -> tuple[str, Path | None]:
        """(model_name_or_path, adapter_name_or_path) of a variant."""
        return (self.trained.model, self.trained.adapter) if variant == "adapter" else (self.base, None)


def source_of(task: Task, adapter: Path | None, variants: tuple[str, ...], model: str | None) -> Source:
    if "adapter" in variants and adapter is None:
        raise DomaintuneError("predicting with the adapter needs --adapter DIR (or use --base-only)")
    trained = trained_weights(adapter) if adapter is not None else None
    base = trained.base if trained else resolve_model(task, model).path
    run = RunLayout(Path(adapter).parent) if adapter is not None else RunLayout.new(task.name, "base")
    return Source(run, chat_of(task, run, base), base, trained)


def variant_recipe(task: Task, source: Source, variant: str, out_dir: Path, datasets: list[str], overrides: dict | None) -> Recipe:
    model_path, adapter_path = source.weights(variant)
    recipe = predict_recipe(task, model_path, source.chat, adapter_path, out_dir, datasets)
    recipe.override(overrides)
    return recipe


def predict(
    task: Task,
    adapter: Path | None,
    variants: tuple[str, ...] = VARIANTS,
    model: str | None = None,
    overrides: dict | None = None,
    quiet: bool = False,
    engine: str = "hf",
    concurrency: int | None = None,
    notify: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> dict[str, Path]:
    """Generate predictions for each variant with `engine` (auto, hf or vllm: pipelines/run/vllm.py choose_engine;
    `notify` hears why auto is hf); returns variant -> generated_predictions.jsonl. With hf, progress is shown per
    variant; `verbose` streams LLaMA-Factory's output instead, `quiet` shows neither."""
    source = source_of(task, adapter, variants, model)
    engine, why = choose_engine(engine)
    if why and notify:
        notify(why)
    parts = segments(task, (overrides or {}).get("max_samples"))
    if engine == "vllm":
        return predict_vllm(task, source, variants, parts, overrides, concurrency or VLLM_CONCURRENCY)
    datasets = pass_datasets(parts)
    run, outputs = source.run, {}
    for variant in variants:
        config = variant_recipe(task, source, variant, run.predict_dir(variant), datasets, overrides).write(run.predict_recipe(variant))
        run_llamafactory("train", config, run.predict_log(variant), quiet=quiet, verbose=verbose, title=f"predict {variant}")
        write_json(run.segments(variant), parts)
        outputs[variant] = run.predictions(variant)
    return outputs


def predict_from_endpoint(task: Task, endpoint: Endpoint, adapter: Path | None, variant: str, model: str | None,
                          overrides: dict | None = None, out_dir: Path | None = None, api: str = "auto",
                          notify: Callable[[str], None] | None = None) -> Path:
    """One variant's predictions from the model an OpenAI-compatible endpoint serves (pipelines/run/endpoint_predict.py;
    `api` and `notify` as there); the run (or --model) gives the tokenizer and template the prompts are rendered with."""
    source = source_of(task, adapter, (variant,), model)
    out_dir = Path(out_dir) if out_dir else source.run.predict_dir(variant)
    parts = segments(task, (overrides or {}).get("max_samples"))
    args = variant_recipe(task, source, variant, out_dir, [part["dataset"] for part in parts], overrides).args
    return predict_endpoint(endpoint, args, parts, out_dir, api=api, notify=notify)


def predict_vllm(task: Task, source: Source, variants: tuple[str, ...], parts: list[dict], overrides: dict | None, concurrency: int) -> dict[str, Path]:
    """Every variant through a vLLM server on loopback: one for the base model and its LoRA adapter together, or
    one per variant when the run trained full weights."""
    run, datasets = source.run, [part["dataset"] for part in parts]
    args = {variant: variant_recipe(task, source, variant, run.predict_dir(variant), datasets, overrides).args for variant in variants}
    first = next(iter(args.values()))
    # Room for the longest prompt do_predict keeps and every new token, and no KV cache reserved beyond it.
    common = {"port": free_port(), "max_model_len": first["cutoff_len"] + first["max_new_tokens"]}
    if source.trained is None or source.trained.adapter is not None:
        adapter = source.trained.adapter if source.trained and "adapter" in variants else None
        servers = [(vllm_server(run, source.base, adapter, source.chat, task.name, **common), variants)]
    else:
        servers = [(vllm_server(run, source.weights(variant)[0], None, source.chat, variant, **common), (variant,)) for variant in variants]
    outputs = {}
    for server, served in servers:
        with running(server, run.vllm_log):
            for variant in served:
                endpoint = Endpoint(server.base_url, server.adapter_name if variant == "adapter" and server.adapter else server.name, concurrency=concurrency)
                outputs[variant] = predict_endpoint(endpoint, args[variant], parts, run.predict_dir(variant), engine="vllm", api="completions")
    return outputs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
