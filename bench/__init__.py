"""Benchmarks, each runnable as `python -m bench.<name>` and writing its table to bench/results/<name>.md."""
