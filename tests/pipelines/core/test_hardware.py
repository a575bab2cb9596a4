"""Reading the machine: nvidia-smi's CSV, torch's description, optional packages that do or do not import."""

import os
import stat

import pytest

from pipelines.core.hardware import (
    NVIDIA_SMI_QUERY,
    Gpu,
    SmiReading,
    TorchInfo,
    describe,
    driver_runs_cuda,
    parse_nvidia_smi,
    read_nvidia_smi,
    read_package,
)


def test_parse_nvidia_smi_of_a_recorded_4090(fixtures):
    smi = parse_nvidia_smi((fixtures / "hardware/rtx4090/nvidia-smi.csv").read_text())
    # 24564 MiB / 1024 = 23.99 GiB
    assert smi == SmiReading(driver="550.54.14", gpus=(Gpu(0, "NVIDIA GeForce RTX 4090", 24.0, "8.9"),))
    assert smi.gpus[0].bf16


def test_parse_nvidia_smi_of_two_cards():
    smi = parse_nvidia_smi("0, NVIDIA H100 80GB HBM3, 81559, 9.0, 570.124.06\n1, NVIDIA H100 80GB HBM3, 81559, 9.0, 570.124.06\n")
    assert [g.index for g in smi.gpus] == [0, 1] and smi.gpus[1].memory_gib == 79.6  # 81559 / 1024
    assert smi.driver == "570.124.06"


@pytest.mark.parametrize("capability, bf16", [("7.5", False), ("8.0", True), ("8.9", True), ("10.0", True)])
def test_bf16_starts_with_ampere(capability, bf16):
    assert Gpu(0, "card", 16.0, capability).bf16 is bf16


@pytest.mark.parametrize(
    "driver, cuda, runs",
    [
        ("550.54.14", "12.4", True),
        ("550.54.14", "12.8", True),  # minor-version compatibility within CUDA 12
        ("550.54.14", "13.0", False),
        ("580.65.06", "13.0", True),
        ("525.60.12", "12.1", False),
        ("450.80.02", "11.8", True),
        ("999.0", "10.2", False),  # no rule for that major: never claimed to run
    ],
)
def test_driver_runs_cuda(driver, cuda, runs):
    assert driver_runs_cuda(driver, cuda) is runs


def fake_nvidia_smi(folder, script: str, monkeypatch):
    path = folder / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_read_nvidia_smi_runs_the_query(tmp_path, monkeypatch, fixtures):
    csv = fixtures / "hardware/h100/nvidia-smi.csv"
    fake_nvidia_smi(tmp_path, f'[ "$1" = "--query-gpu={NVIDIA_SMI_QUERY}" ] || exit 3\ncat {csv}\n', monkeypatch)
    assert read_nvidia_smi() == SmiReading(driver="570.124.06", gpus=(Gpu(0, "NVIDIA H100 80GB HBM3", 79.6, "9.0"),))


def test_read_nvidia_smi_names_a_driver_that_does_not_answer(tmp_path, monkeypatch):
    said = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    fake_nvidia_smi(tmp_path, f"echo \"{said}\"\nexit 9\n", monkeypatch)
    assert read_nvidia_smi() == SmiReading(error=f"nvidia-smi failed: {said}")


def test_read_nvidia_smi_without_a_driver(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert read_nvidia_smi().error == "nvidia-smi not found (no NVIDIA driver installed)"


def test_read_package_installed_missing_and_broken(tmp_path, monkeypatch):
    assert read_package("click", "click").imports
    missing = read_package("no-such-dist", "no_such_module_here")
    assert (missing.version, missing.imports) == (None, False)
    (tmp_path / "brokenkernel").mkdir()
    (tmp_path / "brokenkernel/__init__.py").write_text("raise RuntimeError('built for torch 2.3\\nsecond line')\n")
    monkeypatch.syspath_prepend(tmp_path)
    broken = read_package("brokenkernel", "brokenkernel")
    assert (broken.version, broken.error, broken.imports) == ("unknown", "RuntimeError: built for torch 2.3", False)


def test_read_package_keeps_what_an_import_logs_off_the_terminal(tmp_path, monkeypatch, caplog):
    # bitsandbytes logs "please pip install kernels" when imported on some CPUs; the doctor's verdict is "imports".
    import logging

    (tmp_path / "chattykernel.py").write_text("import logging\nlogging.getLogger('chattykernel').warning('pip install kernels')\n")
    monkeypatch.syspath_prepend(tmp_path)
    assert read_package("chattykernel", "chattykernel").imports
    assert not [record for record in caplog.records if record.name == "chattykernel"]
    assert not logging.root.manager.disable  # logging is back on afterwards


def test_machine_lists_the_drivers_cards_when_torch_cannot_use_them(fixtures):
    smi = parse_nvidia_smi((fixtures / "hardware/rtx4090/nvidia-smi.csv").read_text())
    cpu_torch = TorchInfo(version="2.14.1+cpu")
    assert describe(cpu_torch, smi).gpus == smi.gpus
    cuda_torch = TorchInfo.from_dict({"version": "2.5.1", "cuda": "12.4", "cuda_available": True,
                                      "gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "memory_gib": 23.6, "capability": "8.9"}]})
    assert describe(cuda_torch, smi).gpus[0].memory_gib == 23.6  # torch's view: the devices training gets
