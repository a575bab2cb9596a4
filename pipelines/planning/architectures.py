"""Model shapes for memory estimation, from a local config.json, the committed table or a bare size.

`resolve_architecture(model)` accepts, in this order:
  1. a local directory holding a Hugging Face config.json (Qwen2 / Qwen3 families);
  2. a hub id listed in recipes/architectures.yaml, e.g. "Qwen/Qwen2.5-7B-Instruct" (matched ignoring case);
  3. a parameter count such as "7B", "0.5b" or "70B" (or "500M").

A bare count is synthesized from the nearest Qwen2.5 model in the table (nearest in log size):
hidden size, MLP width, heads, KV heads and the 152k vocabulary are kept and only the number of
layers changes until the total matches. The assumption is that a model of that size looks like its
Qwen2.5 sibling. Memory therefore follows a Qwen-shaped model, whose large vocabulary weighs more at
small sizes than the 32k vocabulary of the LLaMA-era models some published tables assume.
"""

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import RECIPES_DIR
from pipelines.core.schema import load_yaml_validated

ARCHITECTURES_FILE = RECIPES_DIR / "architectures.yaml"
# The linear layers of one decoder layer, which is what LLaMA-Factory's `lora_target: all` selects.
LINEAR_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# Qwen2.5 spans 0.5B to 72B, the widest size range in the table, so bare sizes are drawn from it.
SYNTHESIS_FAMILY = "qwen2"
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bm])\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 10**9, "m": 10**6}
# What a config.json must give to size the model (Qwen2 configs may leave head_dim out).
REQUIRED_SHAPE_FIELDS = (
    "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "vocab_size", "tie_word_embeddings",
)



@dataclass(frozen=True)
class Architecture:
    """A dense decoder-only transformer, as far as memory is concerned."""

    name: str
    source: str
    """Where the shape came from: a config.json path, the table, or the model a size was synthesized from."""
    model_type: str
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool
    attention_bias: bool
    qk_norm: bool
    published_params: int | None = None
    published_non_embedding_params: int | None = None

    @property
    def q_dim(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_key_value_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in_features, out_features) of each linear layer in one decoder layer."""
        h, i = self.hidden_size, self.intermediate_size
        return {
            "q_proj": (h, self.q_dim),
            "k_proj": (h, self.kv_dim),
            "v_proj": (h, self.kv_dim),
            "o_proj": (self.q_dim, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    @property
    def linear_params_per_layer(self) -> int:
        return sum(n_in * n_out for n_in, n_out in self.linear_shapes().values())

    @property
    def small_params_per_layer(self) -> int:
        """Biases and norm weights: kept in 16-bit even when the linear weights are quantized."""
        biases = self.q_dim + 2 * self.kv_dim if self.attention_bias else 0
        qk_norms = 2 * self.head_dim if self.qk_norm else 0
        return biases + qk_norms + 2 * self.hidden_size  # input and post-attention RMSNorm

    @property
    def params_per_layer(self) -> int:
        return self.linear_params_per_layer + self.small_params_per_layer

    @property
    def embedding_params(self) -> int:
        """Input embedding plus lm_head, which is the same matrix when the embeddings are tied."""
        copies = 1 if self.tie_word_embeddings else 2
        return copies * self.vocab_size * self.hidden_size

    @property
    def num_params(self) -> int:
        final_norm = self.hidden_size
        return self.embedding_params + self.num_hidden_layers * self.params_per_layer + final_norm

    @property
    def non_embedding_params(self) -> int:
        return self.num_params - self.embedding_params


def load_table(path: Path = ARCHITECTURES_FILE) -> dict[str, Architecture]:
    """Every id in the table, mapped to its architecture (an Instruct and its base model share one)."""
    data = load_yaml_validated(path, "architectures")
    table = {}
    for entry in data["models"]:
        family = _family(data["families"], entry["model_type"], path)
        for model_id in entry["ids"]:
            table[model_id] = _from_config(
                entry,
                family,
                name=model_id,
                source=Path(path).name,
                published_params=round(entry["params_billions"] * 1e9),
                published_non_embedding_params=round(entry["non_embedding_params_billions"] * 1e9),
            )
    return table


def resolve_architecture(model: str, table_path: Path = ARCHITECTURES_FILE) -> Architecture:
    if Path(model).is_dir():
        return _from_model_dir(Path(model), table_path)
    table = load_table(table_path)
    by_lower_id = {model_id.lower(): arch for model_id, arch in table.items()}
    if model.lower() in by_lower_id:
        return by_lower_id[model.lower()]
    size = _SIZE_PATTERN.match(model)
    if size:
        count = round(float(size.group(1)) * _SIZE_UNITS[size.group(2).lower()])
        return synthesize(count, model.strip(), table)
    raise DomaintuneError(
        f"cannot resolve model {model!r}: not a directory with config.json, not a known id "
        f"({', '.join(table)}), and not a parameter count like 7B or 0.5B"
    )


def synthesize(count: int, name: str, table: dict[str, Architecture]) -> Architecture:
    """A Qwen2.5-shaped model with `count` parameters (see the module docstring for the assumption)."""
    if count < 1:
        raise DomaintuneError(f"{name}: a parameter count must be positive, like 7B or 0.5B")
    anchors = [arch for arch in table.values() if arch.model_type == SYNTHESIS_FAMILY]
    anchor = min(anchors, key=lambda arch: abs(math.log(arch.num_params / count)))
    fixed = anchor.embedding_params + anchor.hidden_size
    layers = round((count - fixed) / anchor.params_per_layer)
    if layers < 1:
        raise DomaintuneError(
            f"{name} is too small for a Qwen-shaped model: the embeddings alone hold {fixed / 1e9:.2f}B parameters"
        )
    return replace(
        anchor,
        name=name,
        source=f"synthesized from {anchor.name} with {layers} layers",
        num_hidden_layers=layers,
        published_params=None,
        published_non_embedding_params=None,
    )


def _from_model_dir(model_dir: Path, table_path: Path) -> Architecture:
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise DomaintuneError(f"{model_dir}: no config.json, so the model shape is unknown")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomaintuneError(f"{config_path}: cannot read: {exc}") from None
    families = load_yaml_validated(table_path, "architectures")["families"]
    family = _family(families, config.get("model_type"), config_path)
    missing = [name for name in REQUIRED_SHAPE_FIELDS if name not in config]
    if missing:
        raise DomaintuneError(f"{config_path}: missing {', '.join(missing)}")
    return _from_config(config, family, name=str(model_dir), source=str(config_path))


def _family(families: dict, model_type: str | None, path: Path) -> dict:
    if model_type not in families:
        raise DomaintuneError(f"{path}: model_type {model_type!r} is not supported; known: {', '.join(families)}")
    return families[model_type]


def _from_config(config: dict, family: dict, **identity) -> Architecture:
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    return Architecture(
        model_type=config["model_type"],
        hidden_size=hidden,
        intermediate_size=config["intermediate_size"],
        num_hidden_layers=config["num_hidden_layers"],
        num_attention_heads=heads,
        num_key_value_heads=config["num_key_value_heads"],
        # Qwen2 configs omit head_dim (or write null); transformers then derives it exactly like this.
        head_dim=config.get("head_dim") or hidden // heads,
        vocab_size=config["vocab_size"],
        tie_word_embeddings=config["tie_word_embeddings"],
        # Qwen3 configs say whether q/k/v carry a bias; Qwen2's modeling code always adds one.
        attention_bias=config.get("attention_bias", family["attention_bias"]),
        qk_norm=family["qk_norm"],
        **identity,
    )
