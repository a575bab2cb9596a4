"""Our token statistics and builds on LLaMA-Factory's own demo data, held to LLaMA-Factory's get_dataset.

    python -m bench.llamafactory_demo --lf-data PATH/TO/LLaMA-Factory/data   # writes bench/results/llamafactory_demo.md

The demo files are not in the llamafactory wheel: point --lf-data (or $LLAMAFACTORY_DATA) at the data/ folder of a
LLaMA-Factory checkout (v0.9.5). Without it this says so and exits 0.
  1. glaive_toolcall_en_demo and glaive_toolcall_zh_demo (ShareGPT with tools): our statistics over every record
     (the sharegpt converter, then pipelines/data/lengths.py) against get_dataset's lengths of the original file,
     per chat template of the shipped tasks. Goal (issue 21): the means within 1%.
  2. alpaca_zh_demo and alpaca_en_demo: Parquet, CSV and Arrow copies (written with pyarrow) built with
     `domaintune data --task telecom --input COPY` give the dataset files of the JSON, byte for byte.
"""

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "llamafactory_demo.md"
TOOL_DATASETS = ("glaive_toolcall_en_demo", "glaive_toolcall_zh_demo")
ALPACA_DATASETS = ("alpaca_zh_demo", "alpaca_en_demo")
TEMPLATES = ("qwen", "qwen3_nothink")
MEAN_GOAL = 0.01


def compare_statistics(lf_data: Path, name: str, template: str) -> dict:
    from bench.llamafactory_data import llamafactory_lengths
    from pipelines.converters.sharegpt import convert
    from pipelines.core.tasks import load_task
    from pipelines.core.tiny_model import tokenizer_dir
    from pipelines.data.lengths import measure_datasets

    telecom = load_task("telecom")
    task = dataclasses.replace(telecom, config={**telecom.config, "model": {**telecom.model, "template": template, "enable_thinking": False}})
    columns = json.loads((lf_data / "dataset_info.json").read_text(encoding="utf-8"))[name].get("columns", {})
    records = [e.record for e in convert([lf_data / f"{name}.json"], {"columns": columns}, False).examples]
    ours = measure_datasets(task, {name: records})[name]
    theirs = llamafactory_lengths(lf_data, name, template, tokenizer_dir())
    return {"records": len(records), "ours": ours.mean, "theirs": statistics.mean(theirs), "measured_on": ours.measured_on,
            "p50": (ours.p50, sorted(theirs)[len(theirs) // 2]), "max": (ours.max, max(theirs))}


def tabular_copy(records: list[dict], path: Path, arrow_format: str = "stream") -> Path:
    """`records` written to `path` in the type its suffix names (.csv, .parquet, .arrow in Arrow's "stream" format,
    which `datasets` saves, or its "file" format), with pyarrow as `datasets` and pandas users write them."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    keys = list(dict.fromkeys(key for record in records for key in record))  # from_pylist reads only the first's
    table = pa.table({key: [record.get(key) for record in records] for key in keys})
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        new_writer = pa.ipc.new_stream if arrow_format == "stream" else pa.ipc.new_file
        with pa.OSFile(str(path), "wb") as sink, new_writer(sink, table.schema) as writer:
            writer.write_table(table)
    return path


def compare_builds(lf_data: Path, name: str) -> dict:
    from pipelines.core.tasks import load_task
    from pipelines.data.build import build_task

    source = lf_data / f"{name}.json"
    records = json.loads(source.read_text(encoding="utf-8"))
    same = {}
    with tempfile.TemporaryDirectory() as tmp:
        def built(path: Path) -> dict[str, bytes]:
            out = Path(tmp) / path.name.replace(".", "_")
            build_task(load_task("telecom"), [path], dataset_dir=out, quiet=True)
            return {p.name: p.read_bytes() for p in out.iterdir() if p.name.endswith(".json")}

        reference = built(source)
        for suffix in (".parquet", ".csv", ".arrow"):
            same[suffix] = built(tabular_copy(records, Path(tmp) / f"{name}{suffix}")) == reference
    return {"records": len(records), "same": same, "files": sorted(reference)}


def markdown(stats: dict, builds: dict) -> str:
    lines = [
        "# LLaMA-Factory's demo data: our statistics and builds against get_dataset",
        "",
        "`python -m bench.llamafactory_demo` on LLaMA-Factory v0.9.5's data/, the bundled Qwen3 tokenizer.",
        "",
        "## Token statistics (every record, before truncation)",
        "",
        "| dataset | template | records | our mean | get_dataset mean | difference | p50 ours / theirs | max ours / theirs |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for (name, template), s in stats.items():
        difference = s["ours"] / s["theirs"] - 1
        worst = max(worst, abs(difference))
        lines.append(
            f"| {name} | {template} | {s['records']} | {s['ours']:.1f} | {s['theirs']:.2f} | {difference:+.2%} | "
            f"{s['p50'][0]} / {s['p50'][1]} | {s['max'][0]} / {s['max'][1]} |"
        )
    lines += [
        "",
        (f"Goal: means within {MEAN_GOAL:.0%}: largest difference {worst:.2%} — {'met' if worst <= MEAN_GOAL else 'NOT met'}. "
         "(Our mean is rounded to one decimal in the stats file.)"),
        "",
        "## Other file types build the datasets of the JSON",
        "",
        "| dataset | records | Parquet | CSV | Arrow |",
        "|---|---:|---|---|---|",
    ]
    lines += [
        f"| {name} | {b['records']} | " + " | ".join("identical" if b["same"][s] else "DIFFERENT" for s in (".parquet", ".csv", ".arrow")) + " |"
        for name, b in builds.items()
    ]
    lines += ["", "Compared: " + ", ".join(next(iter(builds.values()))["files"]) + " (dataset files and their statistics).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lf-data", type=Path, default=os.environ.get("LLAMAFACTORY_DATA"), help="LLaMA-Factory's data/ folder")
    opts = parser.parse_args()
    if opts.lf_data is None or not (Path(opts.lf_data) / "dataset_info.json").exists():
        print("skipped: give --lf-data (or $LLAMAFACTORY_DATA), the data/ folder of a LLaMA-Factory v0.9.5 checkout")
        return
    lf_data = Path(opts.lf_data)
    os.environ.setdefault("DOMAINTUNE_WORKSPACE", tempfile.mkdtemp(prefix="bench-demo-"))
    stats = {(name, template): compare_statistics(lf_data, name, template) for name in TOOL_DATASETS for template in TEMPLATES}
    builds = {name: compare_builds(lf_data, name) for name in ALPACA_DATASETS}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(markdown(stats, builds), encoding="utf-8")
    print(RESULTS.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
