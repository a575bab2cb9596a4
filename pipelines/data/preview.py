"""`domaintune preview`: samples rendered through the task's chat template with the trained tokens marked.

This is exactly what LLaMA-Factory will feed the model (its own converter and Template do the rendering,
pipelines/data/encoding.py), so a user sees the prompt, the label tokens the loss is computed on, and any
truncation before paying for a GPU. Only the records shown are read from the dataset file.
ShareGPT records show their tools where the template puts them (Qwen: a "# Tools" block in the system prompt),
and their function calls as trained label tokens, as LLaMA-Factory trains them.
"""

from dataclasses import dataclass
from itertools import islice

from pipelines.core.readers import iter_json_records
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import dataset_file, load_dataset_info
from pipelines.data.encoding import Encoder, load_encoder

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


def render(task: Task, record: dict, entry: dict, encoder: Encoder) -> RenderedSample:
    """The record as the template encodes it for training; `entry` is its dataset's dataset_info entry."""
    segments, prompt_tokens, label_tokens = [], 0, 0
    for prompt_ids, response_ids in encoder.pairs(record, entry):
        segments += [(encoder.tokenizer.decode(prompt_ids), False), (encoder.tokenizer.decode(response_ids), True)]
        prompt_tokens += len(prompt_ids)
        label_tokens += len(response_ids)
    return RenderedSample(segments, prompt_tokens, label_tokens, task.train["cutoff_len"])


def preview(task: Task, dataset: str, n: int) -> list[RenderedSample]:
    """The first `n` samples of a registered dataset; only those are read from its file."""
    path = dataset_file(dataset)
    entry = load_dataset_info()[dataset]
    records = [record for _, record in islice(iter_json_records(path), n)]
    encoder = load_encoder(task)
    return [render(task, record, entry, encoder) for record in records]
