"""`domaintune validate`: check a training recipe with LLaMA-Factory's own argument parser, loading no model.

The recipe is read the way `llamafactory-cli train` reads it (OmegaConf) and checked in four passes,
each gathering every problem it finds:
  1. keys: every key must be a field of LLaMA-Factory's training argument dataclasses (ModelArguments,
     DataArguments, Seq2SeqTrainingArguments, FinetuningArguments, GeneratingArguments);
  2. value types against those fields' type hints, which `HfArgumentParser.parse_dict` does not check, and
     value ranges that PEFT, torch and transformers enforce only once training has started
     (recipes/schema/recipe_ranges.schema.json);
  3. references: the template exists, the datasets are registered, the DeepSpeed file exists;
  4. LLaMA-Factory's `get_train_args` on the keys that passed 1-2: the dataclasses' own `__post_init__`
     rules and LLaMA-Factory's cross-field rules (it stops at its first error, so this pass adds one).

Device checks need the tier's hardware. Where this machine cannot do one (see DEVICE_CHECKS), it is
listed as skipped, and the key is left out of pass 4 if the parser itself would refuse it here.
Relative paths are resolved against the repository root, where every command runs LLaMA-Factory.
"""

import difflib
import functools
import importlib.util
import json
import logging
import os
import types
import typing
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any
from unittest import mock

from pipelines.core.paths import REPO_ROOT, relative
from pipelines.core.schema import load_schema, schema_problems

DATASET_INFO = "dataset_info.json"
# LLaMA-Factory's dataset_dir values that name no local directory: hub datasets, resolved at run time.
REMOTE_DATASET_DIRS = ("ONLINE", "REMOTE:")


@dataclass(frozen=True)
class DeviceCheck:
    key: str
    needed: Callable[[Any], bool]
    """Whether the recipe's value needs the device at all (flash_attn: sdpa does not)."""
    unavailable: Callable[[], str | None]
    """Why this machine cannot do the check, or None when it can."""
    refused_here: bool
    """LLaMA-Factory's parser would itself refuse the value on this machine, so pass 4 leaves the key out."""


@dataclass(frozen=True)
class Validation:
    path: Path
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Device checks set aside on this machine, each "key (why)"."""
    notes: list[str] = field(default_factory=list)
    """Checks that could not run for a reason other than the device, e.g. datasets not built yet."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        status = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        out = [f"{relative(self.path)}: {status}", *(f"  - {problem}" for problem in self.problems)]
        if self.skipped:
            out.append(f"  device checks skipped: {', '.join(self.skipped)}")
        out += [f"  note: {note}" for note in self.notes]
        return out


def _no_cuda() -> str | None:
    import torch

    return None if torch.cuda.is_available() else "no CUDA here"


def _no_bf16_gpu() -> str | None:
    from transformers.utils import is_torch_bf16_gpu_available

    if is_torch_bf16_gpu_available():
        return None
    return _no_cuda() or "this GPU has no bfloat16"


def _needs_package(module: str, package: str) -> Callable[[], str | None]:
    def unavailable() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"no {package} package here"
        return _no_cuda()

    return unavailable


def _needs_torchrun() -> str:
    # get_train_args refuses DeepSpeed outside a distributed launch, which a validation never is.
    return "needs a torchrun launch; the JSON file is checked instead"


DEVICE_CHECKS = (
    # transformers' TrainingArguments refuses bf16 without a bf16 GPU.
    DeviceCheck("bf16", lambda v: v is True, _no_bf16_gpu, refused_here=True),
    # LLaMA-Factory's get_train_args refuses pure_bf16 without a bf16 GPU.
    DeviceCheck("pure_bf16", lambda v: v is True, _no_bf16_gpu, refused_here=True),
    # Parsed anywhere; accelerate refuses fp16 mixed precision on a CPU when training starts.
    DeviceCheck("fp16", lambda v: v is True, _no_cuda, refused_here=False),
    # Parsed anywhere; at model load LLaMA-Factory falls back to the default attention, with a warning.
    DeviceCheck("flash_attn", lambda v: v in ("fa2", "fa3"), _needs_package("flash_attn", "flash-attn"), refused_here=False),
    # Parsed anywhere; bitsandbytes fails at model load without CUDA.
    DeviceCheck("quantization_bit", lambda v: v is not None, _needs_package("bitsandbytes", "bitsandbytes"), refused_here=False),
    # Parsed anywhere; transformers imports bitsandbytes for its 8-bit and paged optimizers when training starts.
    DeviceCheck("optim", lambda v: "8bit" in str(v) or str(v).startswith("paged"), _needs_package("bitsandbytes", "bitsandbytes"), refused_here=False),
    # LLaMA-Factory's dependency check refuses Liger without the package (Triton kernels, CUDA only).
    DeviceCheck("enable_liger_kernel", lambda v: v is True, _needs_package("liger_kernel", "liger-kernel"), refused_here=True),
    DeviceCheck("deepspeed", bool, _needs_torchrun, refused_here=True),
)


def validate_recipe(path: Path) -> Validation:
    """Every problem LLaMA-Factory would find in the recipe at `path` before loading a model."""
    path = Path(path)
    args, problem = _read(path)
    if problem:
        return Validation(path, [problem])
    key_problems = _value_problems(args)
    reference_problems, notes = _reference_problems(args)
    parse_args, skipped = _set_aside_device_checks({k: v for k, v in args.items() if k not in key_problems})
    llamafactory_problem = _llamafactory_problem(parse_args)
    problems = [*key_problems.values(), *reference_problems, *([llamafactory_problem] if llamafactory_problem else [])]
    return Validation(path, problems, skipped, notes)


def _value_problems(args: dict, suggestions: int = 1) -> dict[str, str]:
    """Passes 1 and 2 (keys, types, ranges): key -> its problem, for the keys that have one."""
    hints = _field_hints()
    key_problems = {key: problem for key, value in args.items() if (problem := _key_problem(key, value, hints, suggestions))}
    ranges = load_schema("recipe_ranges")
    for key in [k for k in args if k in ranges["properties"] and k not in key_problems]:
        out_of_range = schema_problems({key: args[key]}, ranges)
        if out_of_range:
            key_problems[key] = out_of_range[0]
    return key_problems


# What `--set` may not change: the keys that say where a run's files go and what it reads. The run folder
# (pipelines/core/layout.py) is where predict, serve, eval and export look; an override of these used to train
# into another folder and leave the run without adapter/.
PLACED_BY_THE_RUN = {
    "output_dir": "the adapter and predictions stay in the run folder, where predict, serve, eval and export look for them",
    "logging_dir": "the run's logs stay in its folder",
    "profiler_output_dir": "the run's logs stay in its folder",
    "swanlab_logdir": "the run's logs stay in its folder",
    "dataset_dir": "datasets are read from the workspace's dataset_info/ (DOMAINTUNE_WORKSPACE picks another workspace)",
    "media_dir": "datasets are read from the workspace's dataset_info/ (DOMAINTUNE_WORKSPACE picks another workspace)",
    "dataset": "a run trains on its task's registered datasets and records their hashes; change them with `domaintune data`",
    "eval_dataset": "a run evaluates on its task's registered datasets and records their hashes; change them with `domaintune data`",
    "tokenized_path": "a saved tokenized set would replace the registered datasets the run records",
    "deepspeed": "the plan writes the tier's DeepSpeed config beside the recipe; pick the tier with --gpu",
    "model_name_or_path": "use --model",
    "adapter_name_or_path": "train starts a new adapter in its run folder; predict takes --adapter",
    "resume_from_checkpoint": "use `domaintune train --resume RUN`",
    "export_dir": "use `domaintune export -o DIR`",
}


def override_problems(overrides: dict) -> tuple[dict, list[str]]:
    """`--set` overrides checked before anything starts: keys that place the run's files refused with the reason,
    then keys, types and ranges as `validate` checks a recipe (unknown keys with the nearest known ones).

    Returns the overrides, a number written as text coerced to the field's type (YAML 1.1 reads `1e-4` as a
    string; LLaMA-Factory's parser would pass it through to the optimizer), and the problems found."""
    problems = [f"{key}: cannot be set with --set: {PLACED_BY_THE_RUN[key]}" for key in overrides if key in PLACED_BY_THE_RUN]
    hints = _field_hints()
    values = {key: _as_number(value, hints[key]) if key in hints else value for key, value in overrides.items() if key not in PLACED_BY_THE_RUN}
    problems += list(_value_problems(values, suggestions=3).values())
    return values, problems


def _as_number(value: Any, hint: Any) -> Any:
    if not isinstance(value, str) or _matches(value, hint):
        return value
    for kind in (int, float):
        if _matches(kind(0), hint):
            try:
                return kind(value)
            except ValueError:
                continue
    return value


def _set_aside_device_checks(args: dict) -> tuple[dict, list[str]]:
    """The arguments to parse here, and each device check this machine cannot do, as "key (why)"."""
    parse_args, skipped = dict(args), []
    for check in DEVICE_CHECKS:
        if check.key in args and check.needed(args[check.key]):
            why = check.unavailable()
            if why:
                skipped.append(f"{check.key} ({why})")
                if check.refused_here:
                    del parse_args[check.key]
    return parse_args, skipped


def _read(path: Path) -> tuple[dict, str | None]:
    """The recipe as LLaMA-Factory's read_args loads it (OmegaConf), or the reason it cannot be read."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        args = OmegaConf.to_container(OmegaConf.load(path))
    except (OSError, yaml.YAMLError, OmegaConfBaseException) as exc:
        return {}, f"cannot read YAML: {exc}"
    if not isinstance(args, dict):
        return {}, "a recipe must be a mapping of LLaMA-Factory arguments"
    return args, None


@functools.cache  # the parser's dataclasses do not change in a process; a --set check reads them twice
def _field_hints() -> dict[str, Any]:
    """Every key LLaMA-Factory's training parser accepts, with its type hint."""
    from llamafactory.hparams.parser import _TRAIN_ARGS

    hints = {}
    for cls in _TRAIN_ARGS:
        cls_hints = typing.get_type_hints(cls)
        # HfArgumentParser.parse_dict accepts exactly the init fields.
        hints.update({f.name: cls_hints[f.name] for f in fields(cls) if f.init})
    return hints


def _key_problem(key: str, value: Any, hints: dict[str, Any], suggestions: int = 1) -> str | None:
    if key not in hints:
        return f"{key}: unknown key{_did_you_mean(key, hints, suggestions)}"
    if not _matches(value, hints[key]):
        return f"{key}: {value!r} is not {_describe(hints[key])}"
    return None


def _did_you_mean(name: str, known, n: int = 1) -> str:
    close = difflib.get_close_matches(name, list(known), n=n)
    if not close:
        return ""
    return f" (did you mean {close[0]}?)" if len(close) == 1 else f" (did you mean {', '.join(close[:-1])} or {close[-1]}?)"


def _matches(value: Any, hint: Any) -> bool:
    origin, hint_args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in hint_args)
    if origin is typing.Literal:
        # type() as well: True == 1 and False == 0 must not pass for each other.
        return any(value == arg and type(value) is type(arg) for arg in hint_args)
    if origin is list:
        return isinstance(value, list) and all(_matches(item, hint_args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(_matches(item, hint_args[1]) for item in value.values())
    if isinstance(hint, type) and issubclass(hint, Enum):
        return any(value == member.value for member in hint)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin, hint_args = typing.get_origin(hint), typing.get_args(hint)
    if hint is type(None):
        return "null"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in hint_args)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, hint_args))
    if origin in (list, dict):
        return f"a {origin.__name__}"
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(repr(member.value) for member in hint)
    return getattr(hint, "__name__", str(hint))


def _reference_problems(args: dict) -> tuple[list[str], list[str]]:
    """Problems with what the recipe names (template, datasets, DeepSpeed file), and notes on what went unchecked."""
    from llamafactory.data.template import TEMPLATES

    problems = []
    template = args.get("template")
    if isinstance(template, str) and template not in TEMPLATES:
        problems.append(f"template: {template!r} is not a LLaMA-Factory template{_did_you_mean(template, TEMPLATES)}")
    dataset_problems, notes = _dataset_problems(args)
    problems += dataset_problems
    deepspeed = args.get("deepspeed")
    if isinstance(deepspeed, str):
        problems += _deepspeed_problems(_from_root(deepspeed))
    return problems, notes


def _dataset_problems(args: dict) -> tuple[list[str], list[str]]:
    from llamafactory.hparams import DataArguments

    names = {key: _split_names(args[key]) for key in ("dataset", "eval_dataset") if isinstance(args.get(key), str)}
    dataset_dir = args.get("dataset_dir", DataArguments.dataset_dir)
    if not names or not isinstance(dataset_dir, str) or dataset_dir.startswith(REMOTE_DATASET_DIRS):
        return [], []
    info_path = _from_root(dataset_dir) / DATASET_INFO
    if not info_path.is_file():
        return [], [f"datasets not checked: {relative(info_path)} does not exist yet (`domaintune data` builds it)"]
    try:
        registered = json.loads(info_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"dataset_dir: {relative(info_path)} is not valid JSON: {exc}"], []
    problems = [
        f"{key}: {name!r} is not registered in {relative(info_path)}{_did_you_mean(name, registered)}"
        for key, key_names in names.items()
        for name in key_names
        if name not in registered
    ]
    return problems, []


def _split_names(value: str) -> list[str]:
    # DataArguments.__post_init__ splits dataset lists exactly like this.
    return [name.strip() for name in value.split(",")]


def _deepspeed_problems(path: Path) -> list[str]:
    if not path.is_file():
        return [f"deepspeed: {relative(path)} does not exist"]
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"deepspeed: {relative(path)} is not valid JSON: {exc}"]
    return [] if isinstance(config, dict) else [f"deepspeed: {relative(path)} must hold a JSON object"]


def _from_root(path: str) -> Path:
    return REPO_ROOT / path  # an absolute path stays itself


def _llamafactory_problem(args: dict) -> str | None:
    """LLaMA-Factory's own verdict: dataclass rules, then get_train_args' cross-field rules."""
    from llamafactory.hparams.parser import get_train_args

    with _quiet_logs():
        try:
            get_train_args(args)
        except (ValueError, ImportError) as exc:  # ImportError: a package its dependency check requires
            return f"LLaMA-Factory refuses it: {exc}"
    return None


@contextmanager
def _quiet_logs():
    """Parsing logs at INFO, and warns about flags set aside here (no mixed precision); only errors matter."""
    loggers = [logging.getLogger("llamafactory"), logging.getLogger("transformers")]
    levels = [logger.level for logger in loggers]
    # Without this get_train_args turns transformers' logging up to INFO for the rest of the process.
    with mock.patch.dict(os.environ, {"LLAMAFACTORY_VERBOSITY": "WARNING"}):
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
