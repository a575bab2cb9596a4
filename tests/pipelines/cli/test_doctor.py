"""`domaintune doctor` on this machine (no GPU: the cpu tier), and `--gpu auto` choosing and naming a tier."""

import json
import shutil

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.hardware import SmiReading, TorchInfo, describe, parse_nvidia_smi

needs_gpu_free_machine = pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has an NVIDIA driver")


@needs_gpu_free_machine
def test_doctor_json_on_this_machine_names_the_cpu_tier():
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tier"] == {"name": "cpu", "exact": True, "found": "no CUDA device found", "difference": ""}
    assert report["machine"]["gpus"] == [] and report["machine"]["torch"]["cuda_available"] is False
    assert report["machine"]["packages"]["llamafactory"]["imports"] is True and report["checks"] == []


def test_doctor_text_lists_blocking_problems_first_and_exits_1(monkeypatch, fixtures):
    smi = parse_nvidia_smi((fixtures / "hardware/rtx4090/nvidia-smi.csv").read_text())
    broken = describe(TorchInfo(version="2.14.1+cpu"), smi, (), ("/data/models", 500.0))
    monkeypatch.setattr("pipelines.planning.doctor.read_machine", lambda: broken)
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:4] == [
        "tier      1 x NVIDIA GeForce RTX 4090 (24.0 GiB, compute capability 8.9) -> tier 4090",
        "1 problem(s) that would fail a training run:",
        "  - torch 2.14.1+cpu is a CPU build, so it cannot use the NVIDIA GeForce RTX 4090",
        "    fix: TORCH_CUDA=cu126 make setup",
    ]


def test_recipe_gpu_auto_without_cuda_picks_cpu_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr("pipelines.planning.doctor.read_torch", lambda: TorchInfo(version="2.14.1"))
    monkeypatch.setattr("pipelines.planning.doctor.read_nvidia_smi", lambda: SmiReading(error="nvidia-smi not found"))
    out = tmp_path / "recipe.yaml"
    result = CliRunner().invoke(cli, ["recipe", "--task", "telecom", "--gpu", "auto", "--model", "tiny", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "--gpu auto: no CUDA device found -> tier cpu" in result.output
    header = out.read_text().splitlines()[:3]
    assert header[0].startswith("# telecom on cpu:")
    assert header[1] == "# GPU auto: no CUDA device found -> tier cpu"
    assert header[2].startswith("# Run:  domaintune train --task telecom --gpu cpu")


def test_recipe_gpu_auto_names_the_card_it_found(monkeypatch, tmp_path, fixtures):
    torch = TorchInfo.from_dict(json.loads((fixtures / "hardware/h100/torch.json").read_text()))
    monkeypatch.setattr("pipelines.planning.doctor.read_torch", lambda: torch)
    monkeypatch.setattr("pipelines.planning.doctor.read_nvidia_smi", lambda: SmiReading())
    out = tmp_path / "recipe.yaml"
    result = CliRunner().invoke(cli, ["recipe", "--task", "telecom", "--gpu", "auto", "--model", "tiny", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "# GPU auto: 1 x NVIDIA H100 80GB HBM3 (79.2 GiB, compute capability 9.0) -> tier h100" in out.read_text()
