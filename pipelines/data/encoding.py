"""A built record as LLaMA-Factory trains on it, through LLaMA-Factory's own code: the statistics and `preview` see
exactly what `llamafactory-cli train` will.

A record goes through the dataset converter its dataset_info entry names (alpaca or sharegpt: columns, tags,
system and tools, as `align_dataset` does) and then the supervised processor's `_encode_data_example` (the chat
template with system prompt and tools, function calls and observations, efficient_eos), with a cutoff_len no
sample reaches, since the statistics count tokens before truncation.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from pipelines.core.models import local_copy
from pipelines.core.tasks import Task
from pipelines.core.tiny_model import tokenizer_dir

NO_CUTOFF = 10**9


class _Row(dict):
    """A record as `datasets` hands it to a converter: a registered column the record lacks reads as None."""

    def __missing__(self, key: str) -> None:
        return None


@dataclass
class Encoder:
    tokenizer: Any
    template: Any
    data_args: Any
    _converters: dict[str, Any] = field(default_factory=dict)

    def aligned(self, record: dict, entry: dict) -> dict:
        """LLaMA-Factory's standard form of the record: _prompt, _response, _system, _tools."""
        key = json.dumps(entry, sort_keys=True)
        if key not in self._converters:
            from llamafactory.data.converter import get_dataset_converter
            from llamafactory.data.parser import get_dataset_list

            attr = get_dataset_list(["dataset"], {"dataset": entry})[0]
            self._converters[key] = get_dataset_converter(attr.formatting, attr, self.data_args)
        return self._converters[key](_Row(record))

    def pairs(self, record: dict, entry: dict, tokenizer=None) -> list[tuple[list[int], list[int]]]:
        """(prompt ids, response ids) of each turn, as the template encodes them for training."""
        example = self.aligned(record, entry)
        messages = example["_prompt"] + example["_response"]
        return self.template.encode_multiturn(tokenizer or self.tokenizer, messages, example["_system"], example["_tools"])

    def input_ids(self, record: dict, entry: dict, tokenizer=None) -> list[int]:
        """The training input_ids of the record, untruncated: the supervised processor's own encoding."""
        from llamafactory.data.processor import SupervisedDatasetProcessor

        example = self.aligned(record, entry)
        processor = SupervisedDatasetProcessor(self.template, tokenizer or self.tokenizer, None, self.data_args)
        input_ids, _ = processor._encode_data_example(
            example["_prompt"], example["_response"], example["_system"], example["_tools"], [], [], []
        )
        return input_ids


_ENCODERS: dict[tuple, Encoder] = {}


def load_encoder(task: Task) -> Encoder:
    """The task's tokenizer and LLaMA-Factory template (loaded once per process: that takes seconds)."""
    key = (task.model["base"], task.model["template"], task.model["enable_thinking"])
    if key not in _ENCODERS:
        from llamafactory.data import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments
        from transformers import AutoTokenizer

        # Qwen2.5 and Qwen3 share one BPE vocabulary, so the bundled tokenizer stands in until a model is downloaded.
        source = local_copy(task.model["base"])
        tokenizer = AutoTokenizer.from_pretrained(str(source if source.is_dir() else tokenizer_dir()))
        args = DataArguments(template=task.model["template"], enable_thinking=task.model["enable_thinking"], cutoff_len=NO_CUTOFF)
        _ENCODERS[key] = Encoder(tokenizer, get_template_and_fix_tokenizer(tokenizer, args), args)
    return _ENCODERS[key]
