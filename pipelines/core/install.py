"""How `make setup` installs: which torch build this machine gets, and the constraints everything installs with.

    python -m pipelines.core.install torch --lock constraints.txt --out .venv/constraints.txt
    python -m pipelines.core.install freeze > constraints.txt      # `make lock`

pyproject.toml declares ranges; constraints.txt (the lock) holds the exact set the project is tested with.
The torch step, in order:
  1. TORCH_CUDA=cu126|cu128|cu130|cpu installs that build of the locked torch from the PyTorch index, always.
  2. A torch already installed that satisfies pyproject's range is kept: it is pinned as installed and its
     torchvision is left to pip, so nothing replaces it.
  3. No NVIDIA driver (this CI machine, a laptop): the lock as it is, through plain pip.
  4. Otherwise the newest build the driver can load (TORCH_BUILDS); PyPI's own wheels are the cu130 build,
     so a driver of 580.65.06 or newer also takes plain pip.
Runs before the project is installed: the standard library and `packaging` only.
"""

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipelines.core.errors import DomaintuneError
from pipelines.core.hardware import read_nvidia_smi, version_tuple
from pipelines.core.paths import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCK_FILE = REPO_ROOT / "constraints.txt"
PYTORCH_INDEX = "https://download.pytorch.org/whl/{build}"
# CUDA builds of torch 2.14 on the PyTorch index, newest first, with the oldest Linux driver each is chosen for:
# 13.0 and 12.8 by their GA drivers; 12.6 down to 525.60.13, where CUDA 12's minor-version compatibility starts.
TORCH_BUILDS = (("cu130", "580.65.06"), ("cu128", "570.26"), ("cu126", "525.60.13"))
PYPI_BUILD = "cu130"
"""The build PyPI's Linux wheels of torch 2.14 are (their nvidia-*-cu13 dependencies say so)."""
BUILD_CHOICES = (*(build for build, _ in TORCH_BUILDS), "cpu")
# Packages with compiled torch ops: they come from the same index as torch, in the version locked with it.
TORCH_FAMILY = ("torch", "torchvision")
LOCK_HEADER = """\
# The exact set domaintune is tested with (CI, `make demo`, `make test`): Python 3.11 on Linux x86_64, where
# torch is PyPI's build for CUDA 13.0 (it also runs on the CPU). pyproject.toml holds the ranges.
# `make setup` installs with it: pip install -c constraints.txt -e '.[test]' (a torch already installed and
# within range is kept; TORCH_CUDA picks another build: README "Install").
# Regenerate from a working .venv after changing pyproject.toml: make lock
"""


# The extras `make setup` installs, which the lock pins. The others are left out of it on purpose: `vllm` brings
# its own torch build, for CUDA machines only (`pip install -e '.[vllm]'`), and must not move the tested lock.
LOCKED_EXTRAS = ("test",)


def declared_requirements(pyproject: Path = PYPROJECT) -> list[Requirement]:
    """The dependencies and the locked extras' requirements."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(line) for line in project["dependencies"] + [r for name in LOCKED_EXTRAS for r in extras.get(name, [])]]


def declared_range(name: str, pyproject: Path = PYPROJECT) -> Requirement:
    return next(r for r in declared_requirements(pyproject) if canonicalize_name(r.name) == canonicalize_name(name))


def parse_lock(text: str) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    return parse_lock(path.read_text(encoding="utf-8"))


def pinned_name(line: str) -> str | None:
    return canonicalize_name(line.partition("==")[0].strip()) if "==" in line.split("#")[0] else None


def torch_build_for_driver(driver: str | None) -> str:
    """The newest torch build an NVIDIA driver can load; "cpu" without a driver or with one older than all."""
    if driver is None:
        return "cpu"
    return next((build for build, minimum in TORCH_BUILDS if version_tuple(driver) >= version_tuple(minimum)), "cpu")


@dataclass(frozen=True)
class TorchStep:
    reason: str
    keep: str | None = None
    """The installed torch version that stays."""
    build: str | None = None
    """A build to install from the PyTorch index first; None: torch comes with everything else."""

    def pip_args(self, lock: dict[str, str]) -> list[str]:
        """`pip install` arguments for the torch family of this build, [] when plain pip does it."""
        if self.build is None:
            return []
        # The local version (+cu128) differs from any other build's, so pip replaces an installed torch.
        pins = [f"{name}=={lock[name]}+{self.build}" for name in TORCH_FAMILY]
        return ["install", *pins, "--index-url", PYTORCH_INDEX.format(build=self.build)]

    def constraints(self, lock_text: str) -> str:
        """The lock, less what this step decided: a kept torch replaces the torch family's pins."""
        if self.keep is None:
            return lock_text
        family = {canonicalize_name(name) for name in TORCH_FAMILY}
        kept = [line for line in lock_text.splitlines() if pinned_name(line) not in family]
        return "\n".join([*kept, f"torch=={self.keep}  # installed before setup and within range: kept"]) + "\n"


def plan_torch(installed: str | None, declared: Requirement, driver: str | None, override: str | None) -> TorchStep:
    if override:
        if override not in BUILD_CHOICES:
            raise DomaintuneError(f"TORCH_CUDA={override}: not a torch build; choose one of {', '.join(BUILD_CHOICES)}")
        return TorchStep(f"TORCH_CUDA={override}: torch from {PYTORCH_INDEX.format(build=override)}", build=override)
    if installed is not None and declared.specifier.contains(Version(installed), prereleases=True):
        return TorchStep(f"keeping the installed torch {installed} (pyproject.toml accepts {declared.specifier})", keep=installed)
    build = torch_build_for_driver(driver)
    if driver is None:
        return TorchStep("no NVIDIA driver found: torch as locked, through plain pip")
    if build == PYPI_BUILD:
        return TorchStep(f"NVIDIA driver {driver} loads CUDA 13: PyPI's torch ({PYPI_BUILD}) as locked")
    if build == "cpu":
        oldest = TORCH_BUILDS[-1][1]
        return TorchStep(f"NVIDIA driver {driver} is older than {oldest}, which every CUDA build of torch needs: "
                         "the CPU build (update the driver to train on the GPU)", build="cpu")
    return TorchStep(f"NVIDIA driver {driver} predates CUDA 13: torch {build} (override with TORCH_CUDA=...)", build=build)


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def install_torch(lock_path: Path, out: Path, dry_run: bool) -> TorchStep:
    step = plan_torch(installed_version("torch"), declared_range("torch"), read_nvidia_smi().driver, os.environ.get("TORCH_CUDA"))
    print(f"torch: {step.reason}", file=sys.stderr)
    args = step.pip_args(read_lock(lock_path))
    if args and not dry_run:
        subprocess.run([sys.executable, "-m", "pip", *args], check=True)
    out.write_text(step.constraints(lock_path.read_text(encoding="utf-8")), encoding="utf-8")
    return step


def requirement_closure(roots: list[Requirement], project: str = "domaintune") -> dict[str, str]:
    """{name: installed version} of every distribution the roots need here, following markers and extras."""
    found: dict[str, str] = {}
    visited: set[tuple[str, str]] = set()  # (distribution, extra), "" for its base requirements
    pending = [(r, frozenset({""})) for r in roots]
    while pending:
        requirement, parent_extras = pending.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        extras = {e for e in {"", *requirement.extras} if (name, e) not in visited}
        if name == project or not extras:
            continue
        visited |= {(name, e) for e in extras}
        dist = importlib.metadata.distribution(requirement.name)
        found[name] = dist.version
        pending += [(Requirement(line), frozenset(extras)) for line in dist.requires or []]
    return found


def freeze(pyproject: Path = PYPROJECT) -> str:
    pins = requirement_closure(declared_requirements(pyproject))
    return LOCK_HEADER + "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.core.install", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    torch_cmd = commands.add_parser("torch", help="install the torch build for this machine; write the constraints")
    torch_cmd.add_argument("--lock", type=Path, default=LOCK_FILE)
    torch_cmd.add_argument("--out", type=Path, required=True, help="constraints file for the `pip install` after it")
    torch_cmd.add_argument("--dry-run", action="store_true", help="say what would be installed, install nothing")
    commands.add_parser("freeze", help="print the lock: the installed versions of everything pyproject.toml needs")
    args = parser.parse_args(argv)
    try:
        if args.command == "freeze":
            sys.stdout.write(freeze())
        else:
            install_torch(args.lock, args.out, args.dry_run)
    except DomaintuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
