"""Step 1 of the method, for logs past memory: a transaction log kept on disk as a Parquet dataset folder.

`transactions/` (or `transactions.parquet/`) holding many Parquet files, hive-partitioned or not, is
checked and summarised with DuckDB queries and never loaded whole into pandas; later steps aggregate it
out of core through `helpers.step1_list_clients.client_figures` (the SQL of `TransactionDataset.sql`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.step1_list_clients.client_figures import dataset_sql, duckdb_session, is_parquet_dataset
from helpers.step1_list_clients.columns import map_columns
from helpers.core.errors import Problem, problem

DATASET_NAMES = ("transactions", "transactions.parquet")
_CANONICAL = ("client_id", "date", "amount", "margin", "currency")


# A single transactions.parquet file with at least this many lines is also left on disk: loaded into
# pandas it would take several GB in every notebook kernel (10M lines ~ 1.5 GB each).
OUT_OF_CORE_ROWS = 2_000_000


def find_transactions_dataset(folder: Path) -> Path | None:
    """The company's transaction log when it is read out of core: a folder of Parquet files
    (`transactions/`, `transactions.parquet/`), or a `transactions.parquet` file of OUT_OF_CORE_ROWS lines or more."""
    for name in DATASET_NAMES:
        candidate = folder / name
        if is_parquet_dataset(candidate):
            return candidate
    single = folder / "transactions.parquet"
    if single.is_file():
        import pyarrow.parquet as pq

        try:
            if pq.ParquetFile(single).metadata.num_rows >= OUT_OF_CORE_ROWS:
                return single
        except Exception:  # noqa: BLE001 - an unreadable file is reported by the ordinary reader
            return None
    return None


@dataclass
class TransactionDataset:
    """A checked transaction log left on disk. Summary figures come from one pass over the files.

    path          the dataset folder
    mapping       canonical column -> column in the files (client_id, date, amount, [margin, currency])
    rows          lines in the log; rows_used: lines with a client id, a date and an amount
    client_ids    the distinct client ids (one per client: small next to the log)
    date_min/max  first and last purchase date
    amount_total  net sum of amount over the used lines
    """

    path: Path
    mapping: dict[str, str]
    rows: int = 0
    rows_used: int = 0
    client_ids: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    date_min: pd.Timestamp = pd.NaT
    date_max: pd.Timestamp = pd.NaT
    amount_total: float = 0.0
    files: int = 0

    @property
    def has_margin(self) -> bool:
        return "margin" in self.mapping

    @property
    def columns(self) -> list[str]:
        return [c for c in ("client_id", "date", "amount", "margin") if c in self.mapping]

    @property
    def sql(self) -> str:
        """A subquery with the canonical columns, typed; lines a date or amount cannot be read from are left out."""
        m = self.mapping
        select = [f'NULLIF(trim(CAST("{m["client_id"]}" AS VARCHAR)), \'\') AS client_id',
                  f'TRY_CAST("{m["date"]}" AS TIMESTAMP) AS "date"',
                  f'TRY_CAST("{m["amount"]}" AS DOUBLE) AS amount']
        if self.has_margin:
            select.append(f'TRY_CAST("{m["margin"]}" AS DOUBLE) AS margin')
        return f"(SELECT {', '.join(select)} FROM {dataset_sql(self.path)})"

    def __len__(self) -> int:
        return self.rows_used


def check_transactions_dataset(path: Path, *, columns: dict[str, str] | None = None, limit: str | None = None
                               ) -> tuple[TransactionDataset | None, list[Problem]]:
    """Check a Parquet dataset folder like a transactions file: columns, blanks, unreadable values, currencies.

    Args:
        path: the dataset folder.
        columns: company.yml's `load.columns.transactions` (header in the files -> canonical name).
        limit: DuckDB's memory limit (see `helpers.step1_list_clients.client_figures.memory_limit`).

    Returns:
        (dataset, problems); dataset is None when it cannot be used (the problems say why).
    """
    file = path.name + ("/" if path.is_dir() else "")
    problems: list[Problem] = []
    with duckdb_session(limit) as con:
        try:
            headers = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {dataset_sql(path)}").fetchall()]
        except Exception as exc:  # noqa: BLE001 - a corrupt or mixed folder is a data problem, not a crash
            text = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            return None, [problem("unreadable", file=file, reason=text[:200])]
        mapping, found = map_columns(headers, "transactions", columns, file=file)
        problems.extend(found)
        canonical = {v: k for k, v in mapping.items() if v in _CANONICAL}
        if not {"client_id", "date", "amount"} <= set(canonical):
            return None, problems  # map_columns has named the missing column and the closest headers
        dataset = TransactionDataset(path=path, mapping=canonical,
                                     files=sum(1 for _ in path.rglob("*.parquet")) if path.is_dir() else 1)
        raw = dataset_sql(path)
        c, d, a = (f'"{canonical[k]}"' for k in ("client_id", "date", "amount"))
        stats = con.execute(f"""
            SELECT count(*),
                   count(*) FILTER (WHERE {c} IS NULL OR trim(CAST({c} AS VARCHAR)) = ''),
                   count(*) FILTER (WHERE {d} IS NOT NULL AND TRY_CAST({d} AS TIMESTAMP) IS NULL),
                   count(*) FILTER (WHERE {a} IS NOT NULL AND TRY_CAST({a} AS DOUBLE) IS NULL),
                   count(*) FILTER (WHERE {d} IS NULL), count(*) FILTER (WHERE {a} IS NULL)
            FROM {raw}""").fetchall()[0]
        rows, blank_id, bad_date, bad_amount, blank_date, blank_amount = (int(x) for x in stats)
        for code, count in (("blank_id", blank_id), ("blank_date", blank_date), ("blank_amount", blank_amount)):
            if count:
                problems.append(problem("dataset_rows_left_out", "warning", file=file, what=code, count=count))
        for column, count in (("date", bad_date), ("amount", bad_amount)):
            if count:
                problems.append(problem("dataset_unreadable_values", "warning", file=file,
                                        column=canonical[column], count=count))
        used = (f"FROM {dataset.sql} WHERE client_id IS NOT NULL AND client_id <> '' AND \"date\" IS NOT NULL "
                "AND amount IS NOT NULL")
        if "currency" in canonical:
            currencies = [r[0] for r in con.execute(
                f'SELECT DISTINCT upper(trim(CAST("{canonical["currency"]}" AS VARCHAR))) FROM {raw} '
                f'WHERE "{canonical["currency"]}" IS NOT NULL ORDER BY 1').fetchall() if r[0]]
            if len(currencies) > 1:
                # a dataset is never filtered silently: one currency per log, as the file loader demands
                problems.append(problem("mixed_currencies", file=file, column=canonical["currency"],
                                        currencies=", ".join(currencies)))
                return None, problems
        summary = con.execute(f'SELECT count(*), min("date"), max("date"), sum(amount), '
                              f'count(*) FILTER (WHERE amount < 0), sum(amount) FILTER (WHERE amount < 0), '
                              f'count(*) FILTER (WHERE amount = 0) {used}').fetchall()[0]
        ids = con.execute(f"SELECT DISTINCT client_id {used} ORDER BY 1").df()["client_id"]
    dataset.rows, dataset.rows_used = rows, int(summary[0])
    dataset.date_min, dataset.date_max = pd.Timestamp(summary[1]), pd.Timestamp(summary[2])
    dataset.amount_total = float(summary[3] or 0.0)
    dataset.client_ids = ids.astype(object)
    if summary[4]:
        problems.append(problem("refunds", "info", file=file, column=canonical["amount"], count=int(summary[4]),
                                total=f"{float(summary[5]):,.2f}"))
    if summary[6]:
        problems.append(problem("zero_amounts", "info", file=file, column=canonical["amount"], count=int(summary[6])))
    if not dataset.rows_used:
        problems.append(problem("empty_file", file=file))
        return None, problems
    return dataset, problems

