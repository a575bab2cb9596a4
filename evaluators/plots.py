"""Report figures (matplotlib, headless): grouped bars for metrics and the training-loss curve."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # reports are written on servers and in CI, never on a display
import matplotlib.pyplot as plt

# CJK-capable fonts first where installed; matplotlib falls back silently to DejaVu otherwise.
plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "SimHei", "DejaVu Sans"]


def bar_chart(path: Path, title: str, groups: list[str], series: dict[str, list[float]], reference: float | None = None) -> Path:
    """Grouped bars: one group per metric, one bar per series (model variant or baseline)."""
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups) * max(1, len(series)) / 2), 4))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + i * width - 0.4 + width / 2 for g in range(len(groups))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def loss_curve(trainer_log: Path, path: Path) -> Path | None:
    """Training (and validation, when logged) loss by step from LLaMA-Factory's trainer_log.jsonl."""
    if not Path(trainer_log).exists():
        return None
    rows = [json.loads(line) for line in Path(trainer_log).read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [(r["current_steps"], r["loss"]) for r in rows if "loss" in r]
    evals = [(r["current_steps"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    if not train and not evals:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    if train:
        ax.plot(*zip(*train), label="train loss")
    if evals:
        ax.plot(*zip(*evals), "o--", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
