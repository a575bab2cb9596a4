"""`domaintune data` against LLaMA-Factory's get_dataset on one 10^6-record Alpaca file: wall time and peak memory.

    python -m bench.data_build                   # 10^6 records, writes bench/results/data_build.md (~30 min on 2 cores)
    python -m bench.data_build --records 100000  # quicker

One generated Alpaca JSON array (records shaped like LLaMA-Factory's alpaca_zh_demo: ~18-character instructions,
an input in one record of seven, ~195-character answers, 1% exact repeats), then, each in a fresh process:
  ours          `domaintune data --task telecom --input FILE` (read, validate, de-duplicate, split, write, register,
                token statistics on a sample) into a scratch workspace;
  LLaMA-Factory get_dataset (bench/llamafactory_data.py) on the same file, with the same tokenizer (the bundled
                Qwen3 one), template (qwen), cutoff_len (1024), val_size 0.1 and preprocessing_num_workers 2 that
                our recipes set: read, align, tokenise every record.
Peak memory: the largest single process's resident set (ru_maxrss), and the process tree's proportional set size
(PSS: pages shared by forked workers counted once), sampled every second with psutil, since LLaMA-Factory's
workers are separate processes. The goal is checked on the larger of the two.
Goals (issue 21): ours <= 0.5 x LLaMA-Factory's time and <= 2.5 GB peak.
"""

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results" / "data_build.md"
RECORDS = 1_000_000
SEED = 1
TIME_GOAL, PEAK_GOAL_MB = 0.5, 2560
# Common Chinese characters: the text's tokens per character come near real Chinese text's.
CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定"
    "行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些"
)


def generate(n: int, path: Path) -> None:
    rng = random.Random(SEED)

    def text(mean: float) -> str:
        return "".join(rng.choices(CHARS, k=max(1, int(rng.expovariate(1 / mean)))))

    previous = None
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        for i in range(n):
            if previous and rng.random() < 0.01:
                record = previous
            else:
                record = {"instruction": text(18), "input": text(25) if rng.random() < 0.14 else "", "output": text(195)}
            f.write(("," if i else "") + "\n  " + json.dumps(record, ensure_ascii=False))
            previous = record
        f.write("\n]\n")


def step_ours(path: Path) -> dict:
    from pipelines.cli.main import cli

    os.environ["DOMAINTUNE_WORKSPACE"] = str(path.parent / "workspace")
    cli.main(["data", "--task", "telecom", "--input", str(path)], standalone_mode=False)
    return {}


def step_llamafactory(path: Path) -> dict:
    from bench.llamafactory_data import llamafactory_dataset
    from pipelines.core.tiny_model import tokenizer_dir

    folder = path.parent / "llamafactory"
    folder.mkdir(exist_ok=True)
    (folder / "dataset_info.json").write_text(json.dumps({"bench": {"file_name": str(path)}}), encoding="utf-8")
    os.environ["HF_DATASETS_CACHE"] = str(path.parent / "hf_cache")
    train, val = llamafactory_dataset(folder, "bench", "qwen", tokenizer_dir(), cutoff_len=1024, workers=2, val_size=0.1)
    return {"train": len(train), "val": len(val)}


STEPS = {"ours": step_ours, "llamafactory": step_llamafactory}


def run_step(name: str, path: Path) -> dict:
    """Run one step in a fresh interpreter; its wall time, and its peak memory as the tree's sampled PSS."""
    command = [sys.executable, "-m", "bench.data_build", "--step", name, str(path)]
    log = path.parent / f"{name}.log"  # a file, not a pipe: progress bars would fill a pipe nobody reads yet
    start = time.perf_counter()
    with open(log, "w+", encoding="utf-8") as output:
        child = subprocess.Popen(command, cwd=Path(__file__).parents[1], stdout=output, stderr=subprocess.STDOUT, text=True)
        peak = 0
        root = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
            except psutil.Error:
                pass  # a worker ended between listing and reading
            time.sleep(1.0)
        seconds = time.perf_counter() - start
    out = log.read_text(encoding="utf-8", errors="replace")
    if child.returncode:
        raise SystemExit(f"{name} failed ({child.returncode}):\n{out[-3000:]}")
    measured = json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))
    return {**measured, "seconds": seconds, "tree_mb": peak / 2**20}


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")] if cpuinfo.exists() else []
    return names[0] if names else platform.machine()


def markdown(n: int, file_mb: float, ours: dict, lf: dict, load: float) -> str:
    ratio = ours["seconds"] / lf["seconds"]
    busy = " (above `nproc`: other work shared the cores, so both times are pessimistic)" if load > (os.cpu_count() or 1) else ""
    time_met = "met" if ratio <= TIME_GOAL else "NOT met"
    peak = max(ours["tree_mb"], ours["largest_mb"])
    peak_met = "met" if peak <= PEAK_GOAL_MB else "NOT met"
    return "\n".join([
        "# Dataset build benchmark: `domaintune data` against LLaMA-Factory's get_dataset",
        "",
        (
            f"`python -m bench.data_build --records {n}` on {_cpu_name()}, `nproc` = {os.cpu_count()}, Python "
            f"{platform.python_version()}; both in one run, each in a fresh process, on the same {file_mb:,.0f} MB "
            f"Alpaca JSON file of {n:,} records. Load average when it finished: {load:.1f}{busy}."
        ),
        "",
        "| | wall s | peak RSS of the largest process, MB | peak PSS of the process tree, MB | what it does |",
        "|---|---:|---:|---:|---|",
        (
            f"| `domaintune data` | {ours['seconds']:.1f} | {ours['largest_mb']:,.0f} | {ours['tree_mb']:,.0f} | read, "
            "validate, de-duplicate, split, write and register; token statistics on a sample |"
        ),
        (
            f"| LLaMA-Factory get_dataset | {lf['seconds']:.1f} | {lf['largest_mb']:,.0f} | {lf['tree_mb']:,.0f} | "
            f"read, align, tokenise all {lf['train'] + lf['val']:,} records (2 workers) |"
        ),
        "",
        f"Goal: time <= {TIME_GOAL}x LLaMA-Factory's: {ratio:.2f}x — {time_met}.",
        f"Goal: peak <= {PEAK_GOAL_MB:,} MB: {peak:,.0f} MB — {peak_met}.",
        "",
        (
            "The two do different work: get_dataset tokenises every record for training (which `llamafactory-cli "
            "train` does again, from its cache or not); `domaintune data` validates and de-duplicates every record "
            "and tokenises a sample of 8,192 plus the 256 longest per split for the planner's statistics."
        ),
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--step", choices=list(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step:  # child process: one measurement, printed as JSON
        measured = STEPS[opts.step](opts.path)
        largest = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        print(json.dumps({**measured, "largest_mb": largest / 1024}))  # KiB on Linux
        return

    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        path = Path(tmp) / f"alpaca_{opts.records}.json"
        generate(opts.records, path)
        file_mb = path.stat().st_size / 2**20
        print(f"generated {path} ({file_mb:,.0f} MB)", flush=True)
        ours = run_step("ours", path)
        print("ours", ours, flush=True)
        lf = run_step("llamafactory", path)
        print("llamafactory", lf, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(markdown(opts.records, file_mb, ours, lf, os.getloadavg()[0]), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
