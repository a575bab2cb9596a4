"""`domaintune preview`: samples rendered through the task's chat template with the trained tokens marked.

This is exactly what LLaMA-Factory will feed the model (its own Template class does the rendering), so a
user sees the prompt, the label tokens the loss is computed on, and any truncation before paying for a GPU.
ShareGPT records show their tools where the template puts them (Qwen: a "# Tools" block in the system prompt),
and their function calls as trained label tokens, as LLaMA-Factory trains them.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.models import local_copy
from pipelines.core.tasks import Task
from pipelines.core.tiny_model import tokenizer_dir
from pipelines.data.dataset_info import dataset_file

LABEL_OPEN, LABEL_CLOSE = "⟪", "⟫"


@dataclass
class RenderedSample:
    segments: list[tuple[str, bool]]  # (text, is_label) in order
    prompt_tokens: int
    label_tokens: int
    cutoff_len: int

    @property
    def truncated(self) -> bool:
        return self.prompt_tokens + self.label_tokens > self.cutoff_len


# ShareGPT target tags (pipelines/converters/__init__.py) -> LLaMA-Factory's Role values.
SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "function_call": "function", "observation": "observation"}


def to_messages(record: dict) -> list[dict]:
    """LLaMA-Factory's messages of an Alpaca or ShareGPT target record."""
    if "conversations" in record:
        return [{"role": SHAREGPT_ROLES[turn["from"]], "content": turn["value"]} for turn in record["conversations"]]
    messages = []
    for user, assistant in record.get("history", []):
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    query = "\n".join(part for part in (record["instruction"], record.get("input", "")) if part)
    return messages + [{"role": "user", "content": query}, {"role": "assistant", "content": record["output"]}]


def load_template(task: Task):
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    # Qwen2.5 and Qwen3 share one BPE vocabulary, so the bundled tokenizer stands in until a model is downloaded.
    source = local_copy(task.model["base"])
    tokenizer = AutoTokenizer.from_pretrained(str(source if source.is_dir() else tokenizer_dir()))
    args = DataArguments(template=task.model["template"], enable_thinking=task.model["enable_thinking"])
    return tokenizer, get_template_and_fix_tokenizer(tokenizer, args)


def render(task: Task, record: dict, tokenizer, template) -> RenderedSample:
    pairs = template.encode_multiturn(tokenizer, to_messages(record), record.get("system"), record.get("tools"))
    segments, prompt_tokens, label_tokens = [], 0, 0
    for prompt_ids, response_ids in pairs:
        segments += [(tokenizer.decode(prompt_ids), False), (tokenizer.decode(response_ids), True)]
        prompt_tokens += len(prompt_ids)
        label_tokens += len(response_ids)
    return RenderedSample(segments, prompt_tokens, label_tokens, task.train["cutoff_len"])


def preview(task: Task, dataset: str, n: int) -> list[RenderedSample]:
    records = json.loads(Path(dataset_file(dataset)).read_text(encoding="utf-8"))[:n]
    tokenizer, template = load_template(task)
    return [render(task, record, tokenizer, template) for record in records]
