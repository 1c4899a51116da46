"""Benchmark for step 1 (list and check the clients): a messy 1M-row export against its clean twin.

The messy file holds exactly the rows of bench_read's clean `transactions.csv`, written the way a
Russian accounting export writes them: cp1251, `;`, a title row above the header, Russian headers,
dates `dd.mm.yyyy`, amounts `1 234 567,89` with no-break spaces and negatives in parentheses
`(1 234,00)`, and an «Итого» row at the bottom. Times, in the same run, alternating rounds:

- plain: `pandas.read_csv(clean, parse_dates=["date"], dtype={"client_id": str})` — the clean twin,
  with no checks;
- helpers: `helpers.step1_list_clients.load.load_company(messy folder)` — every format decided from the columns, every
  cell checked.

    .venv/bin/python -m benchmarks.bench_read_messy              # 1,000,000 rows, 9 rounds (each well under a second)
    .venv/bin/python -m benchmarks.bench_read_messy --rows 200000 --rounds 1

The bar (issue 9): helpers on the messy file within 2x of plain pandas on the clean one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from .bench_read import DATA_DIR, compare, make_folder


def _russian_amounts(values: np.ndarray) -> np.ndarray:
    """12345.6 -> '12 345,60' (NBSP), negatives as '(12 345,60)', vectorised through pandas' formatter."""
    text = pd.Series(np.abs(values)).map("{:,.2f}".format).str.replace(",", "\u00a0", regex=False)
    text = text.str.replace(".", ",", regex=False)
    return np.where(values < 0, "(" + text + ")", text)


def make_messy_folder(rows: int) -> Path:
    """The messy twin of bench_read's clean log, written once (deterministic) into its own folder."""
    clean = make_folder(rows) / "transactions.csv"
    folder = DATA_DIR / f"read_messy_{rows}"
    path = folder / "transactions.csv"
    if path.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(clean, dtype={"client_id": str, "date": str, "document": str})
    dates = frame["date"].str[8:10] + "." + frame["date"].str[5:7] + "." + frame["date"].str[0:4]
    amounts = _russian_amounts(frame["amount"].to_numpy())
    total = _russian_amounts(np.array([round(float(frame["amount"].sum()), 2)]))[0]
    body = pd.DataFrame({"Код контрагента": frame["client_id"], "Дата документа": dates,
                         "Сумма, руб.": amounts, "Документ": frame["document"]})
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="cp1251", newline="") as fh:
        fh.write("Реализация товаров и услуг за период;;;\r\n")
        body.to_csv(fh, sep=";", index=False, lineterminator="\r\n")
        fh.write(f"Итого;;{total};\r\n")
    tmp.replace(path)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=9)  # a median of 9: single rounds vary by a third
    args = parser.parse_args(argv)
    clean = make_folder(args.rows) / "transactions.csv"
    messy = make_messy_folder(args.rows)
    print(f"clean: {clean} ({clean.stat().st_size / 1e6:.1f} MB); messy: {messy / 'transactions.csv'} "
          f"({(messy / 'transactions.csv').stat().st_size / 1e6:.1f} MB), {args.rows:,} rows")
    return compare(clean, messy, args.rounds, labels=(" (clean)", " (messy)"))

if __name__ == "__main__":
    raise SystemExit(main())
