"""Report figures (matplotlib, headless): grouped bars for metrics and the training-loss curve."""

import importlib.util
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # reports are written on servers and in CI, never on a display
import matplotlib.pyplot as plt
from matplotlib import font_manager

# The mplfonts package ships Noto Sans CJK SC; its file is registered (the package is located, not imported), so
# Chinese labels render on a server with no CJK font of its own.
SHIPPED_CJK_FONT = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")


def shipped_cjk_font() -> Path | None:
    package, file = SHIPPED_CJK_FONT
    spec = importlib.util.find_spec(package)
    path = Path(spec.origin).parent / file if spec and spec.origin else None
    return path if path and path.is_file() else None


if font := shipped_cjk_font():
    font_manager.fontManager.addfont(str(font))
# CJK-capable fonts first; a system's own are used where the shipped one is missing, DejaVu last.
plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "SimHei", "DejaVu Sans"]


def save(fig, path: Path) -> Path:
    """Lay out, write the PNG and free the figure (pyplot keeps every open figure alive otherwise)."""
    with warnings.catch_warnings():
        # Without a CJK font matplotlib warns once per missing glyph; the figure is still written.
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


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
    return save(fig, path)


def loss_curve(path: Path, train: list[tuple[int, float]], evals: list[tuple[int, float]]) -> Path | None:
    """Training (and validation, when logged) loss by step: (step, loss) points of one run."""
    if not train and not evals:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    if train:
        ax.plot(*zip(*train), label="train loss")
    if evals:
        ax.plot(*zip(*evals), "o--", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Training and validation loss")
    ax.legend()
    return save(fig, path)


def headline_chart(path: Path, summary: dict) -> Path | None:
    """Bars of the headline metrics for each model and applicable baseline, with 95% intervals as error bars."""
    rows = [r for r in summary["rows"] if "not_applicable" not in r]
    if not summary["metrics"] or not rows:
        return None
    metrics, width = summary["metrics"], 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(metrics) * len(rows) / 2 + 2), 4))
    for i, row in enumerate(rows):
        xs = [g + i * width - 0.4 + width / 2 for g in range(len(metrics))]
        values = [row["values"][m] or 0.0 for m in metrics]
        # Error bars from the bootstrap interval; rows without one (baselines, large n) get none.
        spans = [row["intervals"].get(m, [v, v]) for m, v in zip(metrics, values)]
        errors = [[v - lo for v, (lo, _) in zip(values, spans)], [hi - v for v, (_, hi) in zip(values, spans)]]
        label = row["name"] if row["kind"] == "model" else f"baseline: {row['name']}"
        bars = ax.bar(xs, values, width, yerr=errors, capsize=3, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    n = next((r["n"] for r in rows if r["n"] is not None), "?")
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(0, 1)
    ax.set_title(f"Headline metrics on n = {n} validation samples (bars: 95% interval)")
    ax.legend(fontsize=8)
    return save(fig, path)


def loss_curves(path: Path, runs: dict[str, dict[str, list[tuple[int, float]]]]) -> Path | None:
    """Several runs' training (solid) and validation (dashed) loss on one axis: run label -> {"loss", "eval_loss"}."""
    if not any(points for curves in runs.values() for points in curves.values()):
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (label, curves) in enumerate(runs.items()):
        color = f"C{i}"
        if curves.get("loss"):
            ax.plot(*zip(*curves["loss"]), color=color, label=f"{label}: train")
        if curves.get("eval_loss"):
            ax.plot(*zip(*curves["eval_loss"]), "o--", color=color, label=f"{label}: validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss by run")
    ax.legend(fontsize=7)
    return save(fig, path)
