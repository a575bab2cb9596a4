"""`domaintune doctor`: which tier of recipes/gpus.yaml this machine is, and what would stop a training run
here, each problem with the command that fixes it. `--gpu auto` picks its tier the same way.

Matching: the first card's name against each CUDA tier's `match` pattern, with the number of such cards equal
to the tier's `devices`. A known card in another count gets the tier of that card with the most devices it can
fill; an unknown card the tier with the most memory it can hold, never claiming bf16 or FlashAttention-2 the
card lacks. Without a CUDA device: the mps tier where Apple's backend is there, else cpu.
"""

from dataclasses import asdict, dataclass, replace

from pipelines.core.gpus import GpuTier, load_tiers
from pipelines.core.hardware import (
    CUDA_MAJOR_MIN_DRIVER,
    TRAINING_PACKAGES,
    Gpu,
    Machine,
    PackageStatus,
    TorchInfo,
    describe,
    driver_runs_cuda,
    read_machine,
    read_nvidia_smi,
    read_torch,
    version_tuple,
)
from pipelines.core.install import declared_range, torch_build_for_driver

# Under this much free disk a model download (a 7B model is about 15 GB in bf16) is likely to fail.
MIN_FREE_DISK_GIB = 20
# nvidia-smi reports a little less than the memory as sold (a 24 GB card shows 23.99 GiB).
MEMORY_SLACK = 1.05


@dataclass(frozen=True)
class TierMatch:
    tier: GpuTier
    exact: bool
    found: str
    """What was found: "1 x NVIDIA GeForce RTX 4090 (24.0 GiB, compute capability 8.9)" or "no CUDA device found"."""
    difference: str = ""
    """For a nearest tier: how it differs from this machine."""

    def summary(self) -> str:
        if self.exact:
            return f"{self.found} -> tier {self.tier.name}"
        return f"{self.found} -> nearest tier {self.tier.name}: {self.difference}"


@dataclass(frozen=True)
class Check:
    blocking: bool
    """True when a training run would fail; False when it would only be slower or lack a method."""
    problem: str
    fix: str


@dataclass(frozen=True)
class Diagnosis:
    machine: Machine
    match: TierMatch
    checks: tuple[Check, ...]
    """Blocking problems first."""

    @property
    def ok(self) -> bool:
        return not any(check.blocking for check in self.checks)

    def to_dict(self) -> dict:
        tier = {"name": self.match.tier.name, "exact": self.match.exact, "found": self.match.found, "difference": self.match.difference}
        return {"ok": self.ok, "tier": tier, "checks": [asdict(c) for c in self.checks], "machine": self.machine.to_dict()}

    def lines(self) -> list[str]:
        m = self.machine
        out = [f"tier      {self.match.summary()}"]
        for blocking, title in ((True, "would fail a training run"), (False, "would slow it or rule out a method")):
            checks = [c for c in self.checks if c.blocking == blocking]
            if checks:
                out.append(f"{len(checks)} problem(s) that {title}:")
                out += [line for c in checks for line in (f"  - {c.problem}", f"    fix: {c.fix}")]
        if self.ok:
            out.append("nothing found that would fail a training run")
        out += [
            f"python    {m.python} on {m.platform}",
            f"torch     {_torch_line(m.torch)}",
            f"driver    {m.smi.driver or m.smi.error}",
            *(f"gpu {g.index}     {g.summary()}, bf16 {'yes' if g.bf16 else 'no'}" for g in m.gpus),
            *([] if m.gpus else ["gpus      no CUDA device found"]),
            *(f"{p.name:<13} {_package_line(p)}" for p in m.packages),
            f"disk      {'unknown' if m.disk_free_gib is None else f'{m.disk_free_gib:.1f} GiB'} free under {m.disk_path}",
        ]
        return out


def _torch_line(torch: TorchInfo) -> str:
    if torch.version is None:
        return f"does not import: {torch.error}"
    build = f"built for CUDA {torch.cuda}" if torch.cuda else "CPU build"
    return f"{torch.version}, {build}, {'CUDA available' if torch.cuda_available else 'no CUDA device available'}"


def _package_line(p: PackageStatus) -> str:
    if p.version is None:
        return "not installed"
    return f"{p.version} ({'imports' if p.imports else 'import fails: ' + p.error})"


def _found(gpus: tuple[Gpu, ...]) -> str:
    return f"{len(gpus)} x {gpus[0].summary()}"


def _nearest_by_specs(card: Gpu, count: int, cuda_tiers: list[GpuTier]) -> GpuTier:
    def holds(t: GpuTier) -> bool:
        return (t.devices <= count and t.memory_gb <= card.memory_gib * MEMORY_SLACK
                and (card.bf16 or not (t.bf16 or t.flash_attn)))

    fitting = [t for t in cuda_tiers if holds(t)]
    if fitting:
        return max(fitting, key=lambda t: (t.devices, t.memory_gb))
    return min(cuda_tiers, key=lambda t: (t.devices, t.memory_gb))


def _difference(tier: GpuTier, card: Gpu, count: int) -> str:
    parts = [f"no tier names {card.name}", f"{tier.name} plans for {tier.devices} x {tier.memory_gb:g} GB, this machine has {count} x {card.memory_gib:.1f} GiB"]
    if tier.bf16 != card.bf16:
        parts.append(f"bf16: tier {'yes' if tier.bf16 else 'no'}, card {'yes' if card.bf16 else 'no'}")
    if tier.memory_gb > card.memory_gib * MEMORY_SLACK:
        parts.append("its plans may not fit this card")
    return "; ".join(parts)


def match_tier(machine: Machine, tiers: dict[str, GpuTier]) -> TierMatch:
    gpus = machine.gpus
    if not gpus:
        backend = "mps" if machine.torch.mps_available else "cpu"
        tier = next(t for t in tiers.values() if t.backend == backend)
        found = "no CUDA device found" + (", Apple MPS available" if backend == "mps" else "")
        return TierMatch(tier, True, found)
    card = gpus[0]
    same = tuple(g for g in gpus if g.name == card.name)
    count = len(same)
    cuda_tiers = [t for t in tiers.values() if t.backend == "cuda"]
    named = [t for t in cuda_tiers if t.matches(card.name)]
    exact = [t for t in named if t.devices == count]
    if exact:
        return TierMatch(exact[0], True, _found(same))
    if named:
        fewer = [t for t in named if t.devices < count]
        tier = max(fewer, key=lambda t: t.devices) if fewer else min(named, key=lambda t: t.devices)
        return TierMatch(tier, False, _found(same), f"tier {tier.name} plans for {tier.devices} of these cards, this machine has {count}")
    tier = _nearest_by_specs(card, count, cuda_tiers)
    return TierMatch(tier, False, _found(same), _difference(tier, card, count))


def _torch_checks(machine: Machine) -> list[Check]:
    torch, smi = machine.torch, machine.smi
    if torch.version is None:
        return [Check(True, f"torch does not import ({torch.error})", "make setup")]
    checks = []
    declared = declared_range("torch")
    if not declared.specifier.contains(torch.version.split("+")[0], prereleases=True):
        checks.append(Check(True, f"torch {torch.version} is outside the range pyproject.toml accepts ({declared.specifier})", "make setup"))
    if smi.gpus and not torch.cuda_available:
        build = torch_build_for_driver(smi.driver)
        card = smi.gpus[0].name
        if torch.cuda is None:
            checks.append(Check(True, f"torch {torch.version} is a CPU build, so it cannot use the {card}", f"TORCH_CUDA={build} make setup"))
        elif not driver_runs_cuda(smi.driver, torch.cuda):
            needed = CUDA_MAJOR_MIN_DRIVER.get(version_tuple(torch.cuda)[0], "?")
            checks.append(Check(
                True,
                f"torch {torch.version} is built for CUDA {torch.cuda}, which NVIDIA driver {smi.driver} cannot load (it needs {needed} or newer)",
                f"TORCH_CUDA={build} make setup   (or update the NVIDIA driver)",
            ))
        else:
            checks.append(Check(True, f"nvidia-smi lists the {card} but torch sees no CUDA device",
                                "check CUDA_VISIBLE_DEVICES, and that nvidia-smi and the kernel module agree (reboot after a driver update)"))
    return checks


def _package_checks(machine: Machine, match: TierMatch) -> list[Check]:
    tier, checks = match.tier, []
    status = {p.name: p for p in machine.packages}

    def missing(name: str) -> bool:
        return name in status and not status[name].imports

    for p in machine.packages:
        if p.name in TRAINING_PACKAGES and not p.imports:
            how = f"does not import ({p.error})" if p.version else "is not installed"
            checks.append(Check(True, f"{p.name} {how}", "make setup"))
        elif p.version and p.error:
            checks.append(Check(False, f"{p.name} {p.version} is installed but does not import ({p.error})", f"pip install --force-reinstall {p.name}"))
    if tier.devices > 1 and missing("deepspeed"):
        checks.append(Check(True, f"tier {tier.name} trains with DeepSpeed ZeRO, which does not import", "pip install deepspeed"))
    if tier.backend == "cuda":
        if tier.flash_attn and missing("flash-attn"):
            checks.append(Check(False, f"FlashAttention-2 does not import: recipes for {tier.name} ask for fa2 and LLaMA-Factory falls back to SDPA (slower, more memory)",
                                "pip install flash-attn --no-build-isolation"))
        if missing("liger-kernel"):
            checks.append(Check(False, "Liger kernels do not import: recipes train without them (more activation memory)", "pip install liger-kernel"))
        if missing("bitsandbytes"):
            checks.append(Check(False, "bitsandbytes does not import: QLoRA, which the planner picks when LoRA does not fit, would fail", "pip install bitsandbytes"))
    return checks


def diagnose_checks(machine: Machine, match: TierMatch) -> tuple[Check, ...]:
    checks = _torch_checks(machine) + _package_checks(machine, match)
    if not match.exact:
        checks.append(Check(False, f"no tier in recipes/gpus.yaml is this machine; nearest: {match.difference}",
                            f"add a tier for this card to recipes/gpus.yaml, or train with --gpu {match.tier.name} knowing the difference"))
    if machine.disk_free_gib is not None and machine.disk_free_gib < MIN_FREE_DISK_GIB:
        checks.append(Check(False, f"only {machine.disk_free_gib:.1f} GiB free under {machine.disk_path}; a 7B model needs about 15 GB",
                            "free disk there, or set DOMAINTUNE_WORKSPACE to a folder on a larger disk"))
    return tuple(sorted(checks, key=lambda c: not c.blocking))


def diagnose(machine: Machine | None = None, tiers: dict[str, GpuTier] | None = None) -> Diagnosis:
    machine = read_machine() if machine is None else machine
    match = match_tier(machine, load_tiers() if tiers is None else tiers)
    return Diagnosis(machine, match, diagnose_checks(machine, match))


def auto_tier(tiers: dict[str, GpuTier] | None = None) -> GpuTier:
    """`--gpu auto`: the tier doctor would name, carrying what it found for the recipe header."""
    match = match_tier(describe(read_torch(), read_nvidia_smi()), load_tiers() if tiers is None else tiers)
    return replace(match.tier, detected=match.summary())
