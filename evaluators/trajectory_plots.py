"""Trajectory report figures: the district map with every day's path (generated beside reference), and the
population distributions the JSD metrics compare."""

from pathlib import Path

import numpy as np

from evaluators.plots import plt, save  # the Agg backend and CJK fonts are set there
from pipelines.trajectory.geo import Region
from pipelines.trajectory.grammar import Day
from pipelines.trajectory.places import PlaceTable

MAP_MARGIN = 0.25  # of the district's extent: points further out are off the map (their count is printed)
PERSONA_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive")



def map_plot(path: Path, region: Region, places: PlaceTable, panels: dict[str, list[Day]]) -> Path:
    """One map per panel ("generated", "reference"): the district, the place table, each day's path."""
    rings = region.rings()
    lons = [lon for ring in rings for lon, _ in ring]
    lats = [lat for ring in rings for _, lat in ring]
    pad_lon, pad_lat = MAP_MARGIN * (max(lons) - min(lons)), MAP_MARGIN * (max(lats) - min(lats))
    xlim, ylim = (min(lons) - pad_lon, max(lons) + pad_lon), (min(lats) - pad_lat, max(lats) + pad_lat)
    personas = sorted({day.persona for days in panels.values() for day in days})
    colours = {p: PERSONA_COLOURS[i % len(PERSONA_COLOURS)] for i, p in enumerate(personas)}
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 6), sharex=True, sharey=True, squeeze=False)
    for ax, (title, days) in zip(axes[0], panels.items()):
        for ring in rings:
            ax.fill(*zip(*ring), facecolor="whitesmoke", edgecolor="black", linewidth=1)
        ax.scatter([p.lon for p in places.places], [p.lat for p in places.places], s=12, color="grey", zorder=2)
        off_map = 0
        for day in days:
            xs, ys = [a.lon for a in day.activities], [a.lat for a in day.activities]
            off_map += sum(not (xlim[0] <= x <= xlim[1] and ylim[0] <= y <= ylim[1]) for x, y in zip(xs, ys))
            ax.plot(xs, ys, "-o", color=colours[day.persona], alpha=0.3, markersize=3, linewidth=1, zorder=3)
        for persona in personas:
            ax.plot([], [], "-o", color=colours[persona], label=persona)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_aspect(1 / np.cos(np.radians(np.mean(ylim))))  # metres east and north to the same scale
        ax.set_title(f"{title}: {len(days)} days" + (f", {off_map} points off the map" if off_map else ""))
        ax.set_xlabel("longitude (GCJ-02)")
        ax.set_ylabel("latitude")
        if personas:
            ax.legend(fontsize=7, loc="lower right")
    return save(fig, path)


def distributions_plot(path: Path, dists: dict[str, tuple[list[str], list[float], list[float]]], jsds: dict[str, float | None]) -> Path:
    """Generated beside reference shares for each feature, and the share of time by hour per activity."""
    bars = [name for name in dists if name != "activity_by_hour"]
    columns = 4
    rows = -(-(len(bars) + 2) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.3 * rows))
    for ax, name in zip(axes.flat, bars):
        labels, gen, ref = dists[name]
        xs = np.arange(len(labels))
        ax.bar(xs - 0.2, shares(gen), 0.4, label="generated")
        ax.bar(xs + 0.2, shares(ref), 0.4, label="reference")
        ax.set_xticks(xs, labels, rotation=45 if len(labels) <= 12 else 90, fontsize=7 if len(labels) <= 12 else 5)
        ax.set_title(f"{name} (JSD {fmt(jsds.get(name))})")
        ax.legend(fontsize=7)
    labels, gen, ref = dists["activity_by_hour"]
    heatmaps = list(axes.flat[len(bars) : len(bars) + 2])
    for ax, title, counts in zip(heatmaps, ("generated", "reference"), (gen, ref)):
        activity_hours(ax, labels, counts, f"{title}: time share by hour (JSD {fmt(jsds.get('activity_by_hour'))})")
    for ax in axes.flat[len(bars) + 2 :]:
        ax.axis("off")
    return save(fig, path)


def activity_hours(ax, labels: list[str], counts: list[float], title: str) -> None:
    activities = sorted({label.split(" ", 1)[1] for label in labels})
    grid = np.zeros((len(activities), 24))
    for label, count in zip(labels, counts):
        hour, activity = label.split(" ", 1)
        grid[activities.index(activity), int(hour[:2])] += count
    totals = grid.sum(axis=0, keepdims=True)
    ax.imshow(np.divide(grid, totals, out=np.zeros_like(grid), where=totals > 0), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(activities)), activities, fontsize=7)
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlabel("hour")
    ax.set_title(title, fontsize=9)


def shares(counts: list[float]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0] * len(counts)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
