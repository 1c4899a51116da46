"""Benchmark for step 2 (tiers): the per-client aggregation behind ABC-XYZ on a large transaction log.

Generates a 10,000,000-row log (1,000,000 clients, 24 months) under benchmarks/.data/, then times
`helpers.step1_list_clients.client_figures.aggregate_transactions` against the same aggregation written as one DuckDB SQL query,
each variant in its own child process so that its peak memory (max RSS) is measured alone.

    .venv/bin/python -m benchmarks.bench_abc_xyz                 # Parquet, 3 rounds
    .venv/bin/python -m benchmarks.bench_abc_xyz --format both   # Parquet and CSV
    .venv/bin/python -m benchmarks.bench_abc_xyz --pandas        # add idiomatic pandas for reference

The bars (issue 4): helpers within 1.5x of DuckDB's time, peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"
TIME_RATIO_BAR = 1.5
MEMORY_BAR_MB = 2048

# The same figures as helpers.step1_list_clients.client_figures, written as one plain query: per client and month first,
# then per client, with empty months counted as zero through the closed-form population variance.
BASELINE_SQL = """
WITH per AS (
    SELECT client_id, date_trunc('month', CAST("date" AS TIMESTAMP)) AS p, sum(amount) AS s, sum(margin) AS m,
           count(*) FILTER (WHERE amount > 0) AS n_pos, min("date") AS first_d, max("date") AS last_d
    FROM {source} GROUP BY 1, 2
), win AS (SELECT datediff('month', min(p), max(p)) + 1 AS n FROM per)
SELECT client_id, sum(s) AS revenue, sum(m) AS margin, sum(n_pos) AS purchases,
       min(first_d) AS first_purchase, max(last_d) AS last_purchase, count(*) FILTER (WHERE s <> 0) AS active_periods,
       sum(s) / any_value(win.n) AS period_mean,
       sqrt(greatest(sum(s * s) / any_value(win.n) - pow(sum(s) / any_value(win.n), 2), 0)) AS period_std,
       CASE WHEN sum(s) > 0 THEN sqrt(greatest(sum(s * s) / any_value(win.n) - pow(sum(s) / any_value(win.n), 2), 0))
            / (sum(s) / any_value(win.n)) END AS cv
FROM per CROSS JOIN win GROUP BY client_id
"""


def make_log(fmt: str, *, rows: int = 10_000_000, clients: int = 1_000_000, seed: float = 0.42) -> Path:
    """Write the synthetic log once (deterministic); reuse it on later runs."""
    import duckdb

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"transactions_{rows}_{clients}.{fmt}"
    if path.is_file():
        return path
    tmp = path.with_suffix(path.suffix + ".tmp")
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed})")
    # a skewed client mix (a few big, many small), 24 months, ~2% refunds
    query = f"""
        SELECT 'C' || lpad(CAST(CAST(floor(pow(random(), 1.6) * {clients}) AS BIGINT) AS VARCHAR), 7, '0') AS client_id,
               DATE '2024-10-01' + CAST(floor(random() * 730) AS INTEGER) AS "date",
               round(CASE WHEN random() < 0.02 THEN -random() * 500 ELSE 50 + random() * 5000 END, 2) AS amount,
               round((random() * 0.5 - 0.05) * 2000, 2) AS margin
        FROM range({rows})
    """
    options = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
    con.execute(f"COPY ({query}) TO '{tmp}' {options}")
    con.close()
    tmp.rename(path)
    return path


def _run_variant(variant: str, path: Path) -> dict:
    """Child process: time one aggregation (imports excluded) and report the result size."""
    import pandas as pd  # noqa: F401  (imported before the clock starts, like in a notebook)

    if variant == "helpers":
        from helpers.step1_list_clients.client_figures import aggregate_transactions

        start = time.perf_counter()
        result = aggregate_transactions(path).table
    elif variant == "duckdb_sql":
        import duckdb

        source = f"read_parquet('{path}')" if path.suffix == ".parquet" else \
            f"read_csv('{path}', header = true, types = {{'client_id': 'VARCHAR'}})"
        start = time.perf_counter()
        con = duckdb.connect()
        result = con.execute(BASELINE_SQL.format(source=source)).df()
        con.close()
    elif variant == "pandas":
        import numpy as np
        import pandas as pd

        start = time.perf_counter()
        tx = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, parse_dates=["date"])
        tx["p"] = tx["date"].astype("datetime64[ns]").dt.to_period("M")
        per = tx.groupby(["client_id", "p"], observed=True).agg(s=("amount", "sum"), m=("margin", "sum"))
        n = per.index.get_level_values("p").max().ordinal - per.index.get_level_values("p").min().ordinal + 1
        per["s2"] = per["s"] ** 2
        g = per.groupby(level="client_id")
        result = pd.DataFrame({"revenue": g["s"].sum(), "margin": g["m"].sum(), "sq": g["s2"].sum()})
        mean = result["revenue"] / n
        result["cv"] = np.sqrt((result["sq"] / n - mean ** 2).clip(lower=0)) / mean.where(mean > 0)
    else:
        raise ValueError(variant)
    seconds = time.perf_counter() - start
    return {"variant": variant, "seconds": seconds, "rows_out": int(len(result))}


def _measure(variant: str, path: Path) -> dict:
    """Run one variant in a child process; its own peak RSS comes from wait4, not from the parent."""
    cmd = [sys.executable, "-m", "benchmarks.bench_abc_xyz", "--child", variant, str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} failed with exit code {proc.returncode}")
    record = json.loads(out.decode().strip().splitlines()[-1])
    record["peak_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["parquet", "csv", "both"], default="parquet")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pandas", action="store_true", help="also time idiomatic pandas (slow, for reference)")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_run_variant(args.child[0], Path(args.child[1]))))
        return 0

    ok = True
    formats = ["parquet", "csv"] if args.format == "both" else [args.format]
    variants = ["duckdb_sql", "helpers"] + (["pandas"] if args.pandas else [])
    for fmt in formats:
        start = time.perf_counter()
        path = make_log(fmt)
        print(f"log: {path.name} ({path.stat().st_size / 1e6:.0f} MB, ready in {time.perf_counter() - start:.1f} s)")
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        for _ in range(args.rounds):  # interleaved, so drifts in machine load hit every variant alike
            for variant in variants:
                runs[variant].append(_measure(variant, path))
        base = statistics.median(r["seconds"] for r in runs["duckdb_sql"])
        print(f"{'variant':<12}{'median s':>10}{'x DuckDB':>10}{'peak MB':>10}{'clients':>10}")
        for variant in variants:
            seconds = statistics.median(r["seconds"] for r in runs[variant])
            peak = max(r["peak_mb"] for r in runs[variant])
            print(f"{variant:<12}{seconds:>10.2f}{seconds / base:>10.2f}{peak:>10.0f}{runs[variant][0]['rows_out']:>10,}")
        helpers_s = statistics.median(r["seconds"] for r in runs["helpers"])
        helpers_mb = max(r["peak_mb"] for r in runs["helpers"])
        passed = helpers_s / base <= TIME_RATIO_BAR and helpers_mb < MEMORY_BAR_MB
        ok &= passed
        print(f"{fmt}: helpers/DuckDB = {helpers_s / base:.2f} (bar {TIME_RATIO_BAR}), peak {helpers_mb:.0f} MB "
              f"(bar {MEMORY_BAR_MB}) -> {'PASS' if passed else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
