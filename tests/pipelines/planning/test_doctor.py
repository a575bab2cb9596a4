"""doctor on recorded machines: the tier each card matches, and the problems that would fail a training run."""

import json

import pytest

from pipelines.core.hardware import PackageStatus, TorchInfo, describe, parse_nvidia_smi
from pipelines.planning.doctor import auto_tier, diagnose

READY = (PackageStatus("llamafactory", "0.9.5"), PackageStatus("flash-attn", "2.8.3"), PackageStatus("liger-kernel", "0.6.2"),
         PackageStatus("bitsandbytes", "0.48.1"), PackageStatus("deepspeed", "0.18.0"), PackageStatus("vllm", None))


def recorded(fixtures, card: str, packages=READY, disk=500.0, **torch_changes):
    folder = fixtures / "hardware" / card
    torch = json.loads((folder / "torch.json").read_text()) | torch_changes
    smi = parse_nvidia_smi((folder / "nvidia-smi.csv").read_text())
    return describe(TorchInfo.from_dict(torch), smi, packages, ("/data/models", disk))


def machine(smi_csv: str, packages=READY):
    """A CUDA 13 torch that sees every card nvidia-smi lists."""
    smi = parse_nvidia_smi(smi_csv)
    torch = TorchInfo(version="2.14.1", cuda="13.0", cuda_available=True, gpus=smi.gpus)
    return describe(torch, smi, packages, ("/data/models", 500.0))


def without(name: str):
    return tuple(p if p.name != name else PackageStatus(name, None) for p in READY)


@pytest.mark.parametrize("card, tier", [("rtx4090", "4090"), ("h100", "h100")])
def test_recorded_cards_match_their_tier(fixtures, card, tier):
    diagnosis = diagnose(recorded(fixtures, card))
    assert (diagnosis.match.tier.name, diagnosis.match.exact) == (tier, True)
    assert diagnosis.checks == () and diagnosis.ok


def test_4090_found_names_the_card(fixtures):
    match = diagnose(recorded(fixtures, "rtx4090")).match
    assert match.summary() == "1 x NVIDIA GeForce RTX 4090 (23.6 GiB, compute capability 8.9) -> tier 4090"


def test_this_kind_of_machine_is_cpu_with_no_cuda_device():
    diagnosis = diagnose(describe(TorchInfo(version="2.14.1", cuda="13.0"), parse_nvidia_smi(""), READY[:1]))
    assert (diagnosis.match.tier.name, diagnosis.match.found) == ("cpu", "no CUDA device found")
    assert diagnosis.ok and "gpus      no CUDA device found" in diagnosis.lines()


def test_mac_is_mps():
    assert diagnose(describe(TorchInfo(version="2.14.1", mps_available=True), parse_nvidia_smi(""), READY[:1])).match.tier.name == "mps"


def test_two_4090s_are_the_two_card_tier_and_need_deepspeed():
    two = "0, NVIDIA GeForce RTX 4090, 24564, 8.9, 580.95.05\n1, NVIDIA GeForce RTX 4090, 24564, 8.9, 580.95.05\n"
    assert diagnose(machine(two)).match.tier.name == "4090x2"
    diagnosis = diagnose(machine(two, packages=without("deepspeed")))
    assert diagnosis.checks[0].blocking and diagnosis.checks[0].fix == "pip install deepspeed" and not diagnosis.ok


def test_two_h100s_get_the_one_card_tier_and_say_so():
    two = "0, NVIDIA H100 80GB HBM3, 81559, 9.0, 580.95.05\n1, NVIDIA H100 80GB HBM3, 81559, 9.0, 580.95.05\n"
    match = diagnose(machine(two)).match
    assert (match.tier.name, match.exact) == ("h100", False)
    assert match.difference == "tier h100 plans for 1 of these cards, this machine has 2"


def test_4090_laptop_is_not_the_desktop_tier():
    match = diagnose(machine("0, NVIDIA GeForce RTX 4090 Laptop GPU, 16376, 8.9, 580.95.05\n")).match
    # 16376 MiB = 16.0 GiB, bf16: the largest tier it holds is 16 GB and bf16-free t4 is the only 16 GB CUDA tier
    assert (match.tier.name, match.exact) == ("t4", False)
    assert match.difference.startswith("no tier names NVIDIA GeForce RTX 4090 Laptop GPU; t4 plans for 1 x 16 GB")


def test_unknown_48gb_ampere_card_gets_the_nearest_tier():
    match = diagnose(machine("0, NVIDIA RTX A6000, 49140, 8.6, 580.95.05\n")).match
    assert (match.tier.name, match.exact) == ("l40s", False)
    assert match.difference == "no tier names NVIDIA RTX A6000; l40s plans for 1 x 48 GB, this machine has 1 x 48.0 GiB"


def test_nearest_tier_never_claims_bf16_the_card_lacks():
    match = diagnose(machine("0, Tesla V100-SXM2-32GB, 32768, 7.0, 580.95.05\n")).match
    assert match.tier.name == "t4"  # a10g/3090 (24 GB) would fit but plan bf16 and FlashAttention-2


def test_card_smaller_than_every_tier_says_plans_may_not_fit():
    match = diagnose(machine("0, NVIDIA GeForce GTX 1650, 4096, 7.5, 580.95.05\n")).match
    assert match.tier.name == "3080-laptop"
    assert match.difference.endswith("bf16: tier yes, card no; its plans may not fit this card")


def test_cpu_build_of_torch_on_a_gpu_machine_is_blocking_with_the_build_the_driver_runs(fixtures):
    diagnosis = diagnose(recorded(fixtures, "rtx4090", version="2.14.1+cpu", cuda=None, cuda_available=False, gpus=[]))
    assert diagnosis.match.tier.name == "4090"  # the driver still names the card
    first = diagnosis.checks[0]
    assert first.blocking and first.problem == "torch 2.14.1+cpu is a CPU build, so it cannot use the NVIDIA GeForce RTX 4090"
    assert first.fix == "TORCH_CUDA=cu126 make setup"  # driver 550.54.14: older than cu128's 570.26


def test_cuda13_torch_on_an_older_driver_is_blocking(fixtures):
    diagnosis = diagnose(recorded(fixtures, "rtx4090", version="2.14.1", cuda="13.0", cuda_available=False, gpus=[]))
    problem = diagnosis.checks[0].problem
    assert problem == "torch 2.14.1 is built for CUDA 13.0, which NVIDIA driver 550.54.14 cannot load (it needs 580.65.06 or newer)"
    assert diagnosis.checks[0].fix.startswith("TORCH_CUDA=cu126 make setup")


def test_blocking_problems_come_first_each_with_a_fix(fixtures):
    packages = tuple(PackageStatus(p.name, None) for p in READY)  # nothing installed, llamafactory included
    diagnosis = diagnose(recorded(fixtures, "h100", packages=packages, disk=3.0, version="2.3.1"))
    blocking = [c.blocking for c in diagnosis.checks]
    assert blocking == sorted(blocking, reverse=True) and blocking.count(True) == 2
    assert [c.fix for c in diagnosis.checks if c.blocking] == ["make setup", "make setup"]
    warnings = {c.fix for c in diagnosis.checks if not c.blocking}
    assert {"pip install flash-attn --no-build-isolation", "pip install liger-kernel", "pip install bitsandbytes"} <= warnings
    assert any("only 3.0 GiB free under /data/models" in c.problem for c in diagnosis.checks)


def test_json_report_is_one_object(fixtures):
    data = json.loads(json.dumps(diagnose(recorded(fixtures, "h100")).to_dict()))
    assert data["tier"] == {"name": "h100", "exact": True, "difference": "",
                            "found": "1 x NVIDIA H100 80GB HBM3 (79.2 GiB, compute capability 9.0)"}
    assert data["machine"]["torch"]["cuda"] == "12.8" and data["machine"]["driver"] == "570.124.06"
    assert data["machine"]["gpus"][0]["bf16"] is True and data["ok"] is True


def test_auto_tier_carries_what_it_found(fixtures, monkeypatch):
    recorded_machine = recorded(fixtures, "rtx4090")
    monkeypatch.setattr("pipelines.planning.doctor.read_torch", lambda: recorded_machine.torch)
    monkeypatch.setattr("pipelines.planning.doctor.read_nvidia_smi", lambda: recorded_machine.smi)
    tier = auto_tier()
    assert tier.name == "4090" and tier.memory_gb == 24
    assert tier.detected == "1 x NVIDIA GeForce RTX 4090 (23.6 GiB, compute capability 8.9) -> tier 4090"
