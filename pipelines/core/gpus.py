"""GPU tiers: recipes/gpus.yaml, checked against recipes/schema/gpus.schema.json, as `GpuTier` values."""

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import RECIPES_DIR
from pipelines.core.schema import load_yaml_validated

GPUS_FILE = RECIPES_DIR / "gpus.yaml"


@dataclass(frozen=True)
class GpuTier:
    name: str
    description: str
    backend: str
    """"cuda", "mps" or "cpu": decides quantization, fused kernels and the attention implementation."""
    memory_gb: float
    """Memory per device, GiB."""
    devices: int
    bf16: bool
    fp16: bool
    flash_attn: bool
    """FlashAttention-2 kernels exist for this card (CUDA, Ampere or newer)."""
    notes: str
    tflops: float | None = None
    """Peak dense TFLOPS per device in the precision trained with (recipes/gpus.yaml says whose figure)."""
    match: str = ""
    """Regular expression for the CUDA device name (searched, ignoring case); empty for cpu and mps."""
    detected: str = ""
    """Set by `--gpu auto`: the card found on this machine, which the recipe header names."""

    def matches(self, device_name: str) -> bool:
        return bool(self.match) and re.search(self.match, device_name, re.IGNORECASE) is not None

    @property
    def total_memory_gb(self) -> float:
        return self.memory_gb * self.devices


def load_tiers(path: Path = GPUS_FILE) -> dict[str, GpuTier]:
    data = load_yaml_validated(path, "gpus")
    for name, fields in data["tiers"].items():
        try:
            re.compile(fields.get("match", ""))
        except re.error as exc:
            raise DomaintuneError(f"{path}: tiers.{name}.match: not a regular expression: {exc}") from None
    return {name: GpuTier(name=name, **fields) for name, fields in data["tiers"].items()}


def get_tier(name: str, tiers: dict[str, GpuTier] | None = None) -> GpuTier:
    tiers = load_tiers() if tiers is None else tiers
    if name not in tiers:
        raise DomaintuneError(f"unknown GPU tier {name!r}; valid tiers: {', '.join(tiers)}")
    return tiers[name]
