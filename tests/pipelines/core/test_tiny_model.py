"""The embedded tiny model: real architecture classes and tokenizer, small, deterministic."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.core.tiny_model import build_tiny_model


@pytest.mark.parametrize("family, architecture", [("qwen3", "Qwen3ForCausalLM"), ("qwen2", "Qwen2ForCausalLM")])
def test_tiny_model_loads_with_real_classes_and_tokenizer(tmp_path, family, architecture):
    out = build_tiny_model(tmp_path / family, family)
    assert json.loads((out / "config.json").read_text())["architectures"] == [architecture]
    assert (out / "model.safetensors").stat().st_size < 12_000_000
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "光猫红灯"}], add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    assert tokenizer.decode(ids[0]).startswith("<|im_start|>user\n光猫红灯<|im_end|>")
    assert model(ids).logits.shape[-1] == 151936
    # LoRA's `all` target in LLaMA-Factory means these linear layers, as in the real models.
    names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= names


def test_tiny_model_is_deterministic(tmp_path):
    a = load_file(build_tiny_model(tmp_path / "a") / "model.safetensors")
    b = load_file(build_tiny_model(tmp_path / "b") / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
