"""`make bench` / `python -m bench`: every benchmark in turn; each writes its table to bench/results/."""

import runpy

BENCHMARKS = ("bench.behavior", "bench.data_build", "bench.llamafactory_demo", "bench.recipes")

for name in BENCHMARKS:
    print(f"== {name}", flush=True)
    runpy.run_module(name, run_name="__main__")
