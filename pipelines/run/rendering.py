"""What LLaMA-Factory's do_predict feeds the model, computed by LLaMA-Factory itself from a predict recipe.

`render` runs the recipe's arguments through LLaMA-Factory's own argument parser, tokenizer loader, template and
dataset pipeline (`get_dataset`, as `run_sft` does): the prompt token ids of every record, with the task's
template, system prompt, tools and thinking, truncated to cutoff_len as do_predict truncates them; the prompt and
label texts as do_predict writes them to generated_predictions.jsonl; the generation settings and stop tokens
do_predict hands to `generate()`; and the chat template LLaMA-Factory puts in the tokenizer (what its export saves).

`domaintune predict --endpoint` sends these token ids to a completions endpoint, so the served model sees the very
tokens training and HF do_predict use. For a server without one (`llamafactory-cli api`, hosted APIs) it sends
each record's conversation as LLaMA-Factory reads it from the dataset (system, tools, the turns before the answer)
as chat messages instead; the server's chat template renders them, which is LLaMA-Factory's own only behind
`llamafactory-cli api` (qwen3_nothink's empty think block, tool formats and default systems differ elsewhere).
"""

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError


@dataclass(frozen=True)
class Rendered:
    prompt_ids: list[list[int]]  # one per record, the eval datasets in order
    prompts: list[str]  # decoded with special tokens, as do_predict's "prompt" field
    labels: list[str]  # decoded without them, as its "label" field
    generation: dict  # GeneratingArguments as run_sft passes them to generate(), and skip_special_tokens for decoding
    stop_token_ids: list[int]  # generate()'s eos_token_id in run_sft
    chat_template: str | None
    # One per record: LLaMA-Factory's aligned form, {"system", "tools", "messages": [{"role", "content"}]} with its
    # roles (user, assistant, function, observation), the turns before the answer.
    conversations: list[dict]
    # One per record: whether LLaMA-Factory cut its prompt to cutoff_len (its ids are then a head of the whole prompt;
    # as chat messages it goes whole).
    cut: list[bool]


def render(args: dict) -> Rendered:
    """Everything do_predict derives from the recipe `args` before it generates."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args

    # The worker count changes no token; one process spares the start-up of workers on small validation sets.
    model_args, data_args, training_args, _, generating_args = get_train_args({**args, "preprocessing_num_workers": None})
    tokenizer_module = load_tokenizer(model_args)
    tokenizer = tokenizer_module["tokenizer"]
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    with contextlib.redirect_stdout(sys.stderr):  # LLaMA-Factory prints an example; stdout is for the command's result
        dataset = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)["eval_dataset"]
    prompt_ids, label_ids = list(dataset["input_ids"]), list(dataset["labels"])
    records = kept_records(model_args, data_args, training_args)
    if len(records) != len(prompt_ids):
        raise RuntimeError(f"LLaMA-Factory tokenised {len(prompt_ids)} records but kept_records keeps {len(records)}")
    conversations = [{"system": r["_system"] or "", "tools": r["_tools"] or "", "messages": r["_prompt"]} for r in records]
    # The unsupervised processor of do_predict encodes prompt + answer, then cuts the prompt's ids to fit cutoff_len.
    whole = [template.encode_oneturn(tokenizer, r["_prompt"] + r["_response"], r["_system"], r["_tools"])[0] for r in records]
    skip_special = generating_args.skip_special_tokens
    return Rendered(
        prompt_ids=prompt_ids,
        prompts=tokenizer.batch_decode(prompt_ids, skip_special_tokens=False),
        labels=tokenizer.batch_decode(label_ids, skip_special_tokens=skip_special),
        generation={**generating_args.to_dict(obey_generation_config=True), "skip_special_tokens": skip_special},
        stop_token_ids=stop_token_ids(tokenizer),
        chat_template=tokenizer.chat_template,
        conversations=conversations,
        cut=[len(w) > len(ids) for w, ids in zip(whole, prompt_ids)],
    )


def kept_records(model_args, data_args, training_args) -> list[dict]:
    """The eval records as LLaMA-Factory's converter aligns them (_prompt, _response, _system, _tools; the datasets
    in order, max_samples applied), less those its processor drops, as get_dataset does: a prompt of an even number
    of turns, or not one answer."""
    from llamafactory.data.loader import _get_merged_dataset

    aligned = _get_merged_dataset(data_args.eval_dataset, model_args, data_args, training_args, stage="sft")
    return [row for row in aligned if len(row["_prompt"]) % 2 == 1 and len(row["_response"]) == 1]


def load_tokenizer(model_args) -> dict:
    from llamafactory.model import load_tokenizer as lf_load_tokenizer

    try:
        return lf_load_tokenizer(model_args)
    except OSError as exc:  # a hub id that is not downloaded, on a machine without the hub
        raise DomaintuneError(
            f"the tokenizer of {model_args.model_name_or_path} is needed here to render the prompts "
            f"({str(exc).strip().splitlines()[0][:200]}); `domaintune download -m {model_args.model_name_or_path}` or pass a local --model"
        ) from None


def stop_token_ids(tokenizer) -> list[int]:
    """The ids generation stops at, as LLaMA-Factory's run_sft sets eos_token_id for generate(): the template's
    eos and every extra special token (Qwen's <|im_start|>, <|im_end|>, ...), in order, without repeats."""
    extra = getattr(tokenizer, "additional_special_tokens_ids", None)
    if not isinstance(extra, list):  # transformers v5 keeps them as extra special tokens
        extra = tokenizer.convert_tokens_to_ids([str(t) for t in getattr(tokenizer, "_extra_special_tokens", [])])
    return list(dict.fromkeys([tokenizer.eos_token_id] + [i for i in extra if i != -1]))


def chat_template(model_path: str, template: str, enable_thinking: bool) -> str:
    """The jinja chat template LLaMA-Factory gives the tokenizer for `template` (what `llamafactory-cli export`
    saves), so chat clients of a vLLM server get the conversation format the run trained with."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments, ModelArguments

    tokenizer = load_tokenizer(ModelArguments(model_name_or_path=str(model_path), trust_remote_code=True))["tokenizer"]
    get_template_and_fix_tokenizer(tokenizer, DataArguments(template=template, enable_thinking=enable_thinking))
    if not tokenizer.chat_template:
        raise DomaintuneError(f"{Path(model_path)}: LLaMA-Factory's {template} template gives no chat template for this tokenizer")
    return tokenizer.chat_template
