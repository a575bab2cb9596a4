"""LLaMA-Factory 0.9.5's own preprocessing of a registered dataset: the reference our builds and statistics are held to.

`llamafactory_dataset` runs `llamafactory.data.get_dataset` (the function `llamafactory-cli train` calls) on a
dataset folder with the given tokenizer and template, for stage sft, and returns the tokenised train split. Used
by tests/pipelines/data/test_lengths.py (lengths record by record), bench/data_build.py (time and memory of a
10^6-record build) and bench/llamafactory_demo.py (the statistics of LLaMA-Factory's demo files).
"""

import os
import tempfile
from pathlib import Path

# Far above any sample: lengths are compared before truncation, as the statistics report them.
NO_CUTOFF = 10**9


def llamafactory_dataset(
    dataset_dir: Path,
    dataset: str,
    template: str,
    tokenizer_path: Path,
    cutoff_len: int = NO_CUTOFF,
    workers: int | None = None,
    val_size: float = 0.0,
    enable_thinking: bool = False,
):
    """(train split, eval split or None) as LLaMA-Factory tokenises them: rows of input_ids, attention_mask, labels."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(prefix="lf-data-") as scratch:
        model_args, data_args, training_args, *_ = get_train_args(
            {
                "model_name_or_path": str(tokenizer_path),
                "stage": "sft",
                "do_train": True,
                "finetuning_type": "lora",
                "dataset": dataset,
                "dataset_dir": str(dataset_dir),
                "template": template,
                "enable_thinking": enable_thinking,
                "cutoff_len": cutoff_len,
                "val_size": val_size,
                "overwrite_cache": True,
                "preprocessing_num_workers": workers,
                "output_dir": scratch,
                "report_to": "none",
                "use_cpu": True,
            }
        )
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
        template_obj = get_template_and_fix_tokenizer(tokenizer, data_args)
        module = get_dataset(template_obj, model_args, data_args, training_args, "sft", tokenizer)
    return module["train_dataset"], module.get("eval_dataset")


def llamafactory_lengths(dataset_dir: Path, dataset: str, template: str, tokenizer_path: Path, enable_thinking: bool = False) -> list[int]:
    """Tokens per sample (input_ids) of every record, in file order, untruncated."""
    train, _ = llamafactory_dataset(dataset_dir, dataset, template, tokenizer_path, enable_thinking=enable_thinking)
    return [len(ids) for ids in train["input_ids"]]
