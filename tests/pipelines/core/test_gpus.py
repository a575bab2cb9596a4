"""recipes/gpus.yaml loads into GpuTier values, and its schema rejects misspelt keys and wrong types."""

import pytest
import yaml

from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import GPUS_FILE, get_tier, load_tiers

# name: (memory_gb, devices, bf16, fp16, flash_attn, backend)
EXPECTED_TIERS = {
    "cpu": (16, 1, False, False, False, "cpu"),
    "mps": (16, 1, False, True, False, "mps"),
    "3080-laptop": (8, 1, True, True, True, "cuda"),
    "t4": (16, 1, False, True, False, "cuda"),
    "3090": (24, 1, True, True, True, "cuda"),
    "4090": (24, 1, True, True, True, "cuda"),
    "a10g": (24, 1, True, True, True, "cuda"),
    "l40s": (48, 1, True, True, True, "cuda"),
    "a100-40": (40, 1, True, True, True, "cuda"),
    "a100-80": (80, 1, True, True, True, "cuda"),
    "h100": (80, 1, True, True, True, "cuda"),
    "h200": (141, 1, True, True, True, "cuda"),
    "4090x2": (24, 2, True, True, True, "cuda"),
    "a100-80x8": (80, 8, True, True, True, "cuda"),
    "h100x8": (80, 8, True, True, True, "cuda"),
}


@pytest.mark.parametrize("name", EXPECTED_TIERS)
def test_shipped_tier(name):
    tier = load_tiers()[name]
    actual = (tier.memory_gb, tier.devices, tier.bf16, tier.fp16, tier.flash_attn, tier.backend)
    assert actual == EXPECTED_TIERS[name]


def test_no_unexpected_tiers_and_every_tier_described():
    tiers = load_tiers()
    assert set(tiers) == set(EXPECTED_TIERS)
    assert all(tier.description for tier in tiers.values())


def test_total_memory_counts_every_device():
    assert get_tier("a100-80x8").total_memory_gb == 640
    assert get_tier("4090x2").total_memory_gb == 48


def test_unknown_tier_lists_valid_names():
    with pytest.raises(DomaintuneError, match=r"unknown GPU tier 'rtx5090'.*3080-laptop.*h100x8"):
        get_tier("rtx5090")


def _write_tiers(tmp_path, tiers: dict):
    path = tmp_path / "my-gpus.yaml"
    path.write_text(yaml.safe_dump({"tiers": tiers}), encoding="utf-8")
    return path


def _shipped(name: str) -> dict:
    return yaml.safe_load(GPUS_FILE.read_text(encoding="utf-8"))["tiers"][name]


def test_misspelt_key_names_the_file_and_the_key(tmp_path):
    tier = _shipped("4090")
    tier["memroy_gb"] = tier.pop("memory_gb")
    path = _write_tiers(tmp_path, {"4090": tier})
    with pytest.raises(DomaintuneError) as error:
        load_tiers(path)
    message = str(error.value)
    assert str(path) in message
    assert "'memroy_gb' was unexpected" in message
    assert "'memory_gb' is a required property" in message


def test_wrong_type_names_the_file_and_the_field(tmp_path):
    tier = _shipped("4090")
    tier["memory_gb"] = "24GB"
    path = _write_tiers(tmp_path, {"4090": tier})
    with pytest.raises(DomaintuneError) as error:
        load_tiers(path)
    assert str(error.value) == f"{path}: invalid gpus:\n  tiers.4090.memory_gb: '24GB' is not of type 'number'"


def test_all_errors_are_reported_at_once(tmp_path):
    bad_devices = {**_shipped("h100"), "devices": 0}
    bad_bf16 = {**_shipped("l40s"), "bf16": "yes"}
    path = _write_tiers(tmp_path, {"h100": bad_devices, "l40s": bad_bf16})
    with pytest.raises(DomaintuneError) as error:
        load_tiers(path)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{path}: invalid gpus:"
    assert lines[1:] == [
        "  tiers.h100.devices: 0 is less than the minimum of 1",
        "  tiers.l40s.bf16: 'yes' is not of type 'boolean'",
    ]


def test_unquoted_numeric_tier_name_is_rejected(tmp_path):
    path = tmp_path / "gpus.yaml"
    path.write_text(yaml.safe_dump({"tiers": {5090: _shipped("4090")}}), encoding="utf-8")
    with pytest.raises(DomaintuneError, match="5090 is not of type 'string'"):
        load_tiers(path)


def test_flash_attention_is_cuda_only(tmp_path):
    path = _write_tiers(tmp_path, {"mps": {**_shipped("mps"), "flash_attn": True}})
    with pytest.raises(DomaintuneError, match=r"tiers\.mps\.flash_attn"):
        load_tiers(path)


def test_unparsable_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("tiers: [unclosed", encoding="utf-8")
    with pytest.raises(DomaintuneError, match=r"broken\.yaml: cannot read YAML"):
        load_tiers(path)
