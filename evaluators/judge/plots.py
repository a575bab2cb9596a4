"""Judge figures (PNG): mean score per dimension with its range, the score distribution, and the correlation."""

from pathlib import Path

from evaluators.plots import (  # headless backend and CJK fonts are set up there
    plt,
    save,
)


def dimension_bars(path: Path, summaries: dict[str, dict], high: int) -> Path:
    """One panel per judged set (rubric and variant): mean per dimension, whiskers from min to max."""
    fig, axes = plt.subplots(1, len(summaries), figsize=(4.5 * len(summaries), 3.8), squeeze=False)
    for ax, (label, summary) in zip(axes[0], summaries.items()):
        keys = [k for k, s in summary["dimensions"].items() if s["n"]]
        means = [summary["dimensions"][k]["mean"] for k in keys]
        low_err = [m - summary["dimensions"][k]["min"] for k, m in zip(keys, means)]
        high_err = [summary["dimensions"][k]["max"] - m for k, m in zip(keys, means)]
        bars = ax.bar(keys, means, yerr=[low_err, high_err], capsize=3, color="#4C72B0")
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_ylim(0, high + 0.5)
        ax.set_title(f"{label} (n={summary['scored']})", fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return save(fig, path)


def distribution(path: Path, summaries: dict[str, dict], low: int, high: int) -> Path:
    """Count of each score, all dimensions together, one bar per judged set."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    scores = list(range(low, high + 1))
    width = 0.8 / len(summaries)
    for i, (label, summary) in enumerate(summaries.items()):
        counts = [sum(s["distribution"].get(str(v), 0) for s in summary["dimensions"].values()) for v in scores]
        ax.bar([v - 0.4 + width * (i + 0.5) for v in scores], counts, width, label=label)
    ax.set_xticks(scores)
    ax.set_xlabel("score")
    ax.set_ylabel("dimension scores")
    ax.legend(fontsize=8)
    return save(fig, path)


def correlation(path: Path, pairs: list[tuple[float, float]], r: float, labels: tuple[str, str]) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    ax.scatter(*zip(*pairs), alpha=0.6)
    ax.set_xlabel(f"{labels[0]} (item mean)")
    ax.set_ylabel(f"{labels[1]} (item mean)")
    ax.set_title(f"Pearson r = {r:.3f} over {len(pairs)} items", fontsize=9)
    return save(fig, path)
