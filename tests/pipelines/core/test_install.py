"""`make setup`'s torch step: which build a driver gets, what an installed torch keeps, and the lock's coverage."""

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.core.errors import DomaintuneError
from pipelines.core.install import (
    declared_requirements,
    parse_lock,
    plan_torch,
    read_lock,
    requirement_closure,
    torch_build_for_driver,
)

LOCK = "# header\naccelerate==1.11.0\ntorch==2.14.1\ntorchaudio==2.11.0\ntorchvision==0.29.1\n"
TORCH_RANGE = Requirement("torch>=2.4")


@pytest.mark.parametrize(
    "driver, build",
    [
        (None, "cpu"),
        ("590.44.01", "cu130"),
        ("580.65.06", "cu130"),  # CUDA 13.0's GA driver, exactly
        ("575.57.08", "cu128"),
        ("570.26", "cu128"),
        ("565.57.01", "cu126"),
        ("525.60.13", "cu126"),  # where CUDA 12's minor-version compatibility starts
        ("525.60.12", "cpu"),
        ("470.82.01", "cpu"),
    ],
)
def test_torch_build_for_driver(driver, build):
    assert torch_build_for_driver(driver) == build


def test_installed_torch_in_range_is_kept_and_pinned_as_installed():
    step = plan_torch("2.11.0+cu130", TORCH_RANGE, driver="550.54.14", override=None)
    assert step.keep == "2.11.0+cu130" and step.build is None and step.pip_args(parse_lock(LOCK)) == []
    # torch and torchvision pins go (torchvision must match the kept torch); the rest of the lock stays.
    assert step.constraints(LOCK).splitlines() == [
        "# header",
        "accelerate==1.11.0",
        "torchaudio==2.11.0",
        "torch==2.11.0+cu130  # installed before setup and within range: kept",
    ]


def test_torch_below_the_range_is_replaced_by_the_locked_one():
    step = plan_torch("2.3.1", TORCH_RANGE, driver=None, override=None)
    assert step.keep is None and step.build is None
    assert step.constraints(LOCK) == LOCK


def test_cpu_machine_takes_the_lock_through_plain_pip():
    step = plan_torch(None, TORCH_RANGE, driver=None, override=None)
    assert (step.keep, step.build) == (None, None)
    assert "no NVIDIA driver" in step.reason


def test_cuda13_driver_takes_pypis_own_build():
    assert plan_torch(None, TORCH_RANGE, driver="580.95.05", override=None).build is None


def test_older_driver_gets_the_cu126_build_from_the_pytorch_index():
    step = plan_torch(None, TORCH_RANGE, driver="550.54.14", override=None)
    assert step.pip_args(parse_lock(LOCK)) == [
        "install", "torch==2.14.1+cu126", "torchvision==0.29.1+cu126",
        "--index-url", "https://download.pytorch.org/whl/cu126",
    ]


def test_override_wins_even_over_an_installed_torch():
    step = plan_torch("2.14.1", TORCH_RANGE, driver=None, override="cu128")
    assert step.keep is None and step.build == "cu128"
    assert step.pip_args(parse_lock(LOCK))[1:3] == ["torch==2.14.1+cu128", "torchvision==0.29.1+cu128"]


def test_unknown_override_is_one_clear_error():
    with pytest.raises(DomaintuneError, match=r"TORCH_CUDA=cu999: not a torch build; choose one of cu130, cu128, cu126, cpu"):
        plan_torch(None, TORCH_RANGE, driver=None, override="cu999")


def test_closure_follows_markers_and_extras(monkeypatch):
    requires = {
        "app": ["lib>=1", "win-only; sys_platform == 'win32'", "fast[speed]>=2; extra == 'perf'"],
        "lib": [],
        "fast": ["accel; extra == 'speed'", "never; extra == 'other'"],
        "accel": [],
    }

    class Dist:
        def __init__(self, name):
            self.version, self.requires = f"{len(name)}.0", requires[name]

    monkeypatch.setattr("importlib.metadata.distribution", Dist)
    assert requirement_closure([Requirement("app")]) == {"app": "3.0", "lib": "3.0"}
    assert requirement_closure([Requirement("app[perf]")]) == {"app": "3.0", "lib": "3.0", "fast": "4.0", "accel": "5.0"}


def test_lock_pins_every_declared_requirement_within_its_range():
    lock = read_lock()
    for requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"constraints.txt has no pin for {requirement}: run `make lock`"
        assert requirement.specifier.contains(lock[name], prereleases=True), f"constraints.txt pins {name}=={lock[name]}, outside {requirement}"



def test_the_vllm_extra_stays_out_of_the_lock():
    import tomllib

    from pipelines.core.install import PYPROJECT

    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert [Requirement(r).name for r in extras["vllm"]] == ["vllm"]
    assert "vllm" not in read_lock() and "vllm" not in {canonicalize_name(r.name) for r in declared_requirements()}
