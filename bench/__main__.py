"""`make bench` / `python -m bench`: every benchmark in turn; each writes its table to bench/results/."""

import runpy
import sys

BENCHMARKS = ("bench.behavior", "bench.recipes", "bench.generation")

failed = []
for name in BENCHMARKS:
    print(f"== {name}", flush=True)
    try:
        runpy.run_module(name, run_name="__main__")
    except SystemExit as exc:  # a benchmark's main ends with sys.exit(code); the next one still runs
        if exc.code not in (0, None):
            failed.append(name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
