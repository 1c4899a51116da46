"""Run every benchmark in turn: `python -m benchmarks` (or `make bench`). Each prints its own ratios."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("benchmarks.bench_read", "benchmarks.bench_read_messy", "benchmarks.bench_abc_xyz", "benchmarks.bench_run")


def main() -> int:
    status = 0
    for name in BENCHMARKS:
        print(f"\n=== {name}", flush=True)
        module = importlib.import_module(name)
        result = module.main([])
        status = status or (result or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
