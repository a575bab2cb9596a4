"""What this machine offers a training run: Python, torch and its CUDA build, the NVIDIA driver, each GPU, the
optional kernel packages, and free disk under models/.

`read_machine()` reads it; `describe()` assembles the same `Machine` from recorded `nvidia-smi` output and a
recorded torch description, so tests judge other cards through the same code. Only the standard library is
imported at module level: `make setup` runs this module before anything is installed.
"""

import importlib
import importlib.metadata
import importlib.util
import logging
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.paths import models_dir

NVIDIA_SMI_QUERY = "index,name,memory.total,compute_cap,driver_version"

# The oldest Linux driver that runs each CUDA major release through minor-version compatibility
# (NVIDIA's CUDA Toolkit release notes, "CUDA Driver" table): any 12.x runtime runs on 525.60.13 or newer.
CUDA_MAJOR_MIN_DRIVER = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}

# What a training run imports first (distribution name -> module): LLaMA-Factory's argument parser pulls in
# transformers, peft, trl and torchvision, so a mismatched build among them shows here.
TRAINING_PACKAGES = {"llamafactory": "llamafactory.hparams"}
# Packages a recipe may use when present (distribution name -> import name). None of them is required:
# doctor says which import, and which missing one costs speed or a method on this machine.
OPTIONAL_PACKAGES = {
    "flash-attn": "flash_attn",
    "liger-kernel": "liger_kernel",
    "bitsandbytes": "bitsandbytes",
    "deepspeed": "deepspeed",
    "vllm": "vllm",
}


def version_tuple(version: str) -> tuple[int, ...]:
    """"570.86.10" -> (570, 86, 10); a driver or CUDA version, never a Python package version."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def driver_runs_cuda(driver: str, cuda: str) -> bool:
    """Whether an NVIDIA driver can load a CUDA runtime of this version (e.g. torch.version.cuda)."""
    minimum = CUDA_MAJOR_MIN_DRIVER.get(version_tuple(cuda)[0])
    return minimum is not None and version_tuple(driver) >= version_tuple(minimum)


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_gib: float
    capability: str
    """Compute capability, "8.9" for Ada, "9.0" for Hopper."""

    @property
    def bf16(self) -> bool:
        """bf16 tensor cores arrived with Ampere (compute capability 8.0)."""
        return version_tuple(self.capability) >= (8, 0)

    def summary(self) -> str:
        return f"{self.name} ({self.memory_gib:.1f} GiB, compute capability {self.capability})"


@dataclass(frozen=True)
class SmiReading:
    """What `nvidia-smi` said: the driver and its GPUs, or why it said nothing."""

    driver: str | None = None
    gpus: tuple[Gpu, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class TorchInfo:
    version: str | None = None
    """None when torch does not import; `error` says why."""
    cuda: str | None = None
    """torch.version.cuda: the CUDA runtime torch was built for; None for a CPU build."""
    cuda_available: bool = False
    mps_available: bool = False
    gpus: tuple[Gpu, ...] = ()
    """The devices torch sees (CUDA_VISIBLE_DEVICES applies), which are the ones training uses."""
    error: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "TorchInfo":
        return cls(**{**data, "gpus": tuple(Gpu(**gpu) for gpu in data.get("gpus", ()))})


@dataclass(frozen=True)
class PackageStatus:
    name: str
    version: str | None
    """None when the package is not installed."""
    error: str = ""
    """The first line of the import error when it is installed but does not import."""

    @property
    def imports(self) -> bool:
        return self.version is not None and not self.error


@dataclass(frozen=True)
class Machine:
    python: str
    platform: str
    torch: TorchInfo
    smi: SmiReading
    packages: tuple[PackageStatus, ...] = ()
    disk_path: str = ""
    disk_free_gib: float | None = None
    """Free space on the filesystem that holds models/ (None when no parent of it exists)."""

    @property
    def gpus(self) -> tuple[Gpu, ...]:
        """The GPUs torch can use; when it can use none, the ones the driver lists (a CPU build of torch
        on a GPU machine still names the card, so doctor can say which torch to install)."""
        return self.torch.gpus if self.torch.cuda_available and self.torch.gpus else self.smi.gpus

    def package(self, name: str) -> PackageStatus | None:
        return next((p for p in self.packages if p.name == name), None)

    def to_dict(self) -> dict:
        return {
            "python": self.python,
            "platform": self.platform,
            "torch": {**asdict(self.torch), "gpus": [gpu_dict(gpu) for gpu in self.torch.gpus]},
            "driver": self.smi.driver,
            "nvidia_smi_error": self.smi.error,
            "gpus": [gpu_dict(gpu) for gpu in self.gpus],
            "packages": {p.name: {"version": p.version, "imports": p.imports, "error": p.error} for p in self.packages},
            "disk": {"path": self.disk_path, "free_gib": self.disk_free_gib},
        }


def gpu_dict(gpu: Gpu) -> dict:
    return {**asdict(gpu), "bf16": gpu.bf16}


def parse_nvidia_smi(text: str) -> SmiReading:
    """Parse `nvidia-smi --query-gpu=<NVIDIA_SMI_QUERY> --format=csv,noheader,nounits` (memory in MiB)."""
    gpus, drivers = [], set()
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        index, name, memory_mib, capability, driver = (part.strip() for part in line.split(","))
        gpus.append(Gpu(int(index), name, round(float(memory_mib) / 1024, 1), capability))
        drivers.add(driver)
    return SmiReading(driver=min(drivers, key=version_tuple) if drivers else None, gpus=tuple(gpus))


def read_nvidia_smi() -> SmiReading:
    if shutil.which("nvidia-smi") is None:
        return SmiReading(error="nvidia-smi not found (no NVIDIA driver installed)")
    args = ["nvidia-smi", f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv,noheader,nounits"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return SmiReading(error="nvidia-smi did not answer within 30 s")
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines() or [f"exit status {done.returncode}"]
        return SmiReading(error=f"nvidia-smi failed: {said[0]}")
    return parse_nvidia_smi(done.stdout)


def read_torch() -> TorchInfo:
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - an ImportError, or an OSError from a CUDA library that does not load
        return TorchInfo(error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append(Gpu(index, props.name, round(props.total_memory / 2**30, 1), f"{props.major}.{props.minor}"))
    mps = getattr(torch.backends, "mps", None)
    return TorchInfo(
        version=torch.__version__,
        cuda=torch.version.cuda,
        cuda_available=bool(gpus),
        mps_available=bool(mps and mps.is_available()),
        gpus=tuple(gpus),
    )


def read_package(name: str, module: str) -> PackageStatus:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        if importlib.util.find_spec(module) is None:
            return PackageStatus(name, None)
        version = "unknown"
    # Quiet: what an import logs (bitsandbytes advises `pip install kernels` on some CPUs) is not the verdict; the
    # doctor reports whether it imports, and how it failed.
    logging.disable(logging.WARNING)
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - a kernel package built for another torch or CUDA fails in many ways
        return PackageStatus(name, version, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
    finally:
        logging.disable(logging.NOTSET)
    return PackageStatus(name, version)


def free_disk(path: Path) -> tuple[str, float | None]:
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return str(path), None
    return str(path), round(shutil.disk_usage(existing).free / 2**30, 1)


def describe(torch: TorchInfo, smi: SmiReading, packages=(), disk: tuple[str, float | None] = ("", None)) -> Machine:
    return Machine(platform.python_version(), platform.platform(terse=True), torch, smi, tuple(packages), *disk)


def read_machine() -> Machine:
    torch = read_torch()  # first: the kernel packages below import torch themselves
    packages = [read_package(name, module) for name, module in (TRAINING_PACKAGES | OPTIONAL_PACKAGES).items()]
    return describe(torch, read_nvidia_smi(), packages, free_disk(models_dir()))
