"""Behavior task benchmark: the raw-log pipeline on 10^4, 10^5 and 10^6 events, and scoring 10^5 predictions.

    python -m bench.behavior                         # all sizes, writes bench/results/behavior.md (~5 min)
    python -m bench.behavior --sizes 10000 100000    # quicker
    python -m bench.behavior --sizes 10000000        # the 10^7 memory goal (~30 min, a 1.3 GB log)

Goals: 10^6 events converted in under 60 s on one core, time growing linearly with size; the whole
`domaintune data --task behavior` command (convert, split, write, register) under 2 GB peak RSS for 10^6
events and under 4 GB for 10^7; 10^5 predictions scored in under 10 s. Every measurement runs in a fresh
subprocess pinned to one CPU, so its peak RSS (getrusage ru_maxrss) and time belong to that step alone.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "behavior.md"
SIZES = (10_000, 100_000, 1_000_000)
SCORED = 100_000
SEED = 1
GOALS = {"convert_1e6_s": 60, "peak_mb": 2048, "score_s": 10}
DATA_PEAK_GOAL_MB = {10**6: 2048, 10**7: 4096}  # the whole `domaintune data` command


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def step_generate(n: int, path: Path) -> dict:
    from pipelines.behavior.loggen import generate_events, write_events

    start = time.perf_counter()
    write_events(generate_events(n_events=n, seed=SEED), path)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "file_mb": path.stat().st_size / 2**20}


def step_convert(path: Path) -> dict:
    from pipelines.converters.behavior_log import convert

    start = time.perf_counter()
    conversion = convert([path], {}, skip_invalid=False)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "samples": len(conversion.examples)}


def step_data(path: Path) -> dict:
    """The whole `domaintune data --task behavior --input PATH` command, in this process, into a scratch workspace."""
    from pipelines.cli.main import cli

    os.environ["DOMAINTUNE_WORKSPACE"] = str(path.parent / "workspace")
    start = time.perf_counter()
    cli.main(["data", "--task", "behavior", "--input", str(path)], standalone_mode=False)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def step_score(path: Path, n: int) -> dict:
    """Score n predictions (a mix of right, half-right, repeated and broken answers) with the real evaluator."""
    from evaluators.base import EvalInput
    from evaluators.behavior import evaluate
    from pipelines.converters.behavior_log import convert
    from pipelines.core.atomic import write_json
    from pipelines.core.tasks import load_task
    from pipelines.data.dataset_info import entry_for, register

    task = load_task("behavior")
    records = [e.record for e in convert([path], {}, skip_invalid=False).examples]
    work = path.parent
    write_json(work / "behavior_train.json", records)  # the baselines' training split; overlap is fine for timing
    register({task.dataset_name("train"): entry_for("behavior_train.json", records)}, work)
    answers = (
        lambda r: r["output"],
        lambda r: r["input"].splitlines()[-1],
        lambda r: "<think>\n</think>\n" + r["output"][:30],
        lambda r: "",
    )
    rows = [
        {"prompt": f"<|im_start|>user\n{r['instruction']}\n{r['input']}<|im_end|>\n<|im_start|>assistant\n", "predict": answers[i % 4](r), "label": r["output"]}
        for i, r in enumerate(records[:n])
    ]
    start = time.perf_counter()
    evaluate(EvalInput(task, {"adapter": rows}, {}, work / "eval", options=task.eval, dataset_dir=work))
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "rows": len(rows), "train": len(records)}


STEPS = {"generate": step_generate, "convert": step_convert, "data": step_data, "score": step_score}


def run_step(name: str, *args) -> dict:
    """Run one step in a fresh interpreter pinned to CPU 0 and return what it measured."""
    command = [sys.executable, "-m", "bench.behavior", "--step", name, *map(str, args)]
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    out = subprocess.run(pin + command, check=True, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")] if cpuinfo.exists() else []
    return names[0] if names else platform.machine()


def markdown(rows: list[dict], score: dict, load: float) -> str:
    by_size = {r["events"]: r for r in rows}
    busy = " (above `nproc`: other work shared the cores, so the times are pessimistic)" if load > (os.cpu_count() or 1) else ""
    lines = [
        "# Behavior task benchmark",
        "",
        (
            f"`python -m bench.behavior` on {_cpu_name()}, `nproc` = {os.cpu_count()}, Python "
            f"{platform.python_version()}; every step in a fresh process pinned to one core. Load average when it "
            f"finished: {load:.1f}{busy}."
        ),
        "",
        (
            "Raw-log pipeline: the converter on one JSON Lines file (read, JSON-decode, validate, render, sort per "
            "user, cut sessions, build K=10 samples). Generation (writing the file) is timed separately."
        ),
        "",
        "| events | file MB | generate s | convert s | events/s | samples | convert peak RSS MB | `domaintune data` s | `domaintune data` peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['events']:,} | {r['file_mb']:.1f} | {r['generate_s']:.1f} | {r['convert_s']:.2f} | {r['events'] / r['convert_s']:,.0f} | {r['samples']:,} | {r['peak_mb']:,.0f} | {r['data_s']:.1f} | {r['data_peak_mb']:,.0f} |"
        for r in rows
    ]
    lines.append("")
    if 10**5 in by_size and 10**6 in by_size:
        ratio = by_size[10**6]["convert_s"] / by_size[10**5]["convert_s"]
        lines.append(f"Growth: time(10^6) / time(10^5) = {ratio:.1f} (10 is linear).")
    if 10**6 in by_size:
        big = by_size[10**6]
        ok = big["convert_s"] < GOALS["convert_1e6_s"] and big["peak_mb"] < GOALS["peak_mb"]
        lines.append(
            f"Goal 10^6 events < {GOALS['convert_1e6_s']} s and < {GOALS['peak_mb']} MB: "
            f"{big['convert_s']:.1f} s, {big['peak_mb']:,.0f} MB — {'met' if ok else 'NOT met'}."
        )
    for size, goal in DATA_PEAK_GOAL_MB.items():
        if size in by_size:
            peak = by_size[size]["data_peak_mb"]
            lines.append(f"Goal `domaintune data` on {size:,} events < {goal:,} MB peak RSS: {peak:,.0f} MB — {'met' if peak < goal else 'NOT met'}.")
    lines += [
        "",
        (
            f"Scoring {score['rows']:,} predictions with `evaluators.behavior.evaluate` (baselines fitted on "
            f"{score['train']:,} training samples, CSV and chart included): {score['seconds']:.2f} s (step peak RSS "
            f"{score['peak_mb']:,.0f} MB, building the data included) — goal < {GOALS['score_s']} s "
            f"{'met' if score['seconds'] < GOALS['score_s'] else 'NOT met'}."
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--step", choices=list(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step:  # child process: one measurement, printed as JSON
        args = [int(a) if a.isdigit() else Path(a) for a in opts.args]
        print(json.dumps(STEPS[opts.step](*args)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in opts.sizes:
            path = Path(tmp) / f"events_{n}.jsonl"
            generated = run_step("generate", n, path)
            converted = run_step("convert", path)
            data = run_step("data", path)
            rows.append({
                "events": n, "file_mb": generated["file_mb"], "generate_s": generated["seconds"], "convert_s": converted["seconds"],
                "samples": converted["samples"], "peak_mb": converted["peak_mb"], "data_s": data["seconds"], "data_peak_mb": data["peak_mb"],
            })
            print(rows[-1], flush=True)
            path.unlink()
        scored_path = Path(tmp) / "scored" / "events.jsonl"
        scored_path.parent.mkdir()
        run_step("generate", SCORED * 12 // 10, scored_path)  # ~1.2 events per sample after session warm-up
        score = run_step("score", scored_path, SCORED)
    print(score)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(markdown(rows, score, os.getloadavg()[0]), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
