"""Step 2 of the method (tiers): the per-client figures behind ABC and XYZ, from the transaction log.

One DuckDB query turns a log of any size (a DataFrame, a Parquet or a CSV file) into one row per
client: revenue, margin, purchases and the regularity of revenue over calendar periods.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

Period = Literal["month", "quarter", "half_year"]
PERIODS = ("month", "quarter", "half_year")
# Calendar months in each period, for the purchase-cycle choice and for notes.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6}
MEMORY_LIMIT = "2GB"  # the default memory budget of a run's out-of-core aggregation

# The one month convention for a span in days: the mean Gregorian month, 365.25 / 12 = 30.4375 days,
# rounded as the kit has always written it. Used for tenure, months since the last purchase, how long a
# key client has been chased and the length of a period; whole calendar months (the audit's activity
# counts) come from the period columns of `aggregate_transactions` instead.
DAYS_PER_MONTH = 30.44


# Columns of `aggregate_transactions` that only the client audit reads (step 2 drops them).
AUDIT_ONLY_COLUMNS = ("positive_amount", "purchase_periods", "periods_since_first_purchase",
                      "periods_since_last_purchase")


def months_between(start, end, *, digits: int | None = None):
    """Months from `start` to `end` (timestamps, or Series of them) as days / DAYS_PER_MONTH.

    Rounded to `digits` when given. NaT gives NaN.

    >>> months_between(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-07-01"), digits=1)
    5.9
    """
    span = end - start
    months = (span.dt.days if isinstance(span, pd.Series) else span.days) / DAYS_PER_MONTH
    if digits is None:
        return months
    return months.round(digits) if isinstance(months, pd.Series) else round(months, digits)
MEMORY_LIMIT = "1GB"

# Output columns, in order; `margin` only when the log has one.
AGGREGATE_COLUMNS = ["client_id", "revenue", "margin", "purchases", "first_purchase", "last_purchase",
                     "active_periods", "period_mean", "period_std", "cv", "own_periods", "cv_own", "buying_periods",
                     "adi", "cv2"]


@dataclass
class ClientAggregate:
    """Per-client figures and the window they were computed over.

    table          one row per client (see AGGREGATE_COLUMNS)
    period         "month", "quarter" or "half_year"
    window_start   first calendar period in the whole log (a Timestamp), NaT for an empty log
    window_end     last calendar period in the whole log
    n_periods      periods from window_start to window_end inclusive; every client is measured over all of them
    """

    table: pd.DataFrame
    period: Period
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    n_periods: int


# Why one pass: with zero-filled periods the population variance is
#   var = sum(s_p^2) / n - mean^2,   mean = sum(s_p) / n
# over the periods p that have any transaction, because empty periods add nothing to either sum.
# So no client × period grid is ever built, and 1M clients × 24 months fit in a few hundred MB.
# Cancellation only matters for a CV below ~1e-6, far under any X line.
# A CTE read twice is materialised by DuckDB, and a materialised per-client-and-period table of a 40M-line
# log did not fit a 2GB budget: the log is read as a stream (NOT MATERIALIZED) and the window comes from its
# first and last dates (a period start is monotone in the date), so `per` is read once and aggregated as it streams.
_QUERY = """
WITH tx AS NOT MATERIALIZED (
    SELECT CAST(client_id AS VARCHAR) AS client_id, CAST("date" AS TIMESTAMP) AS ts,
           CAST(amount AS DOUBLE) AS amount{margin_select}
    FROM {source}
    WHERE client_id IS NOT NULL AND "date" IS NOT NULL AND amount IS NOT NULL
),
bounds AS (SELECT min(ts) AS lo, max(ts) AS hi FROM tx),
edges AS (SELECT {period_start} AS p FROM (SELECT lo AS ts FROM bounds UNION ALL SELECT hi AS ts FROM bounds)),
per AS (
    SELECT client_id, {period_start} AS p, sum(amount) AS s{margin_sum},
           count(*) FILTER (WHERE amount > 0) AS n_pos, min(ts) AS first_ts, max(ts) AS last_ts,
           coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS s_pos
    FROM tx GROUP BY client_id, p
),
win AS (
    SELECT min(p) AS p0, max(p) AS p1, datediff('month', min(p), max(p)) // {months} + 1 AS n FROM edges
),
agg AS (
    SELECT client_id, sum(s) AS revenue{margin_total}, sum(n_pos) AS purchases,
           min(first_ts) AS first_purchase, max(last_ts) AS last_purchase,
           count(*) FILTER (WHERE s <> 0) AS active_periods,
           sum(s) AS total, sum(s * s) AS total_sq, min(p) AS own_p0,
           count(*) FILTER (WHERE s > 0) AS k, sum(s) FILTER (WHERE s > 0) AS pos_total,
           sum(s * s) FILTER (WHERE s > 0) AS pos_sq,
           sum(s_pos) AS positive_amount, count(*) FILTER (WHERE n_pos > 0) AS purchase_periods,
           min(p) FILTER (WHERE n_pos > 0) AS first_purchase_p, max(p) FILTER (WHERE n_pos > 0) AS last_purchase_p
    FROM per GROUP BY client_id
),
own AS (
    SELECT agg.*, datediff('month', own_p0, win.p1) // {months} + 1 AS m FROM agg CROSS JOIN win
)
SELECT agg.client_id, revenue{margin_out}, CAST(purchases AS BIGINT) AS purchases, first_purchase, last_purchase,
       CAST(active_periods AS BIGINT) AS active_periods,
       total / win.n AS period_mean,
       sqrt(greatest(total_sq / win.n - (total / win.n) * (total / win.n), 0)) AS period_std,
       CASE WHEN total > 0
            THEN sqrt(greatest(total_sq / win.n - (total / win.n) * (total / win.n), 0)) / (total / win.n)
       END AS cv,
       CAST(m AS BIGINT) AS own_periods,
       CASE WHEN total > 0
            THEN sqrt(greatest(total_sq / m - (total / m) * (total / m), 0)) / (total / m)
       END AS cv_own,
       CAST(k AS BIGINT) AS buying_periods,
       CASE WHEN k > 0 THEN m / k END AS adi,
       CASE WHEN k > 0 THEN greatest(pos_sq / k - (pos_total / k) * (pos_total / k), 0)
                            / ((pos_total / k) * (pos_total / k)) END AS cv2,
       positive_amount, CAST(purchase_periods AS BIGINT) AS purchase_periods,
       CASE WHEN first_purchase_p IS NOT NULL THEN datediff('month', first_purchase_p, win.p1) // {months} + 1
       END AS periods_since_first_purchase,
       CASE WHEN last_purchase_p IS NOT NULL THEN datediff('month', last_purchase_p, win.p1) // {months}
       END AS periods_since_last_purchase,
       win.p0 AS window_start, win.p1 AS window_end, win.n AS n_periods
FROM own AS agg CROSS JOIN win
ORDER BY agg.client_id
"""


def _period_start_sql(period: str) -> str:
    """The SQL for the first day of the calendar period holding `ts` (DuckDB has no half-year unit)."""
    if period == "half_year":
        return "date_trunc('year', ts) + to_months(CASE WHEN month(ts) > 6 THEN 6 ELSE 0 END)"
    return f"date_trunc('{period}', ts)"


MEMORY_LIMIT_ENV = "TIERBOOK_MEMORY_LIMIT"
SPILL_DIR_ENV = "TIERBOOK_SPILL_DIR"
_MEMORY_LIMIT_FORM = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|KIB|MB|MIB|GB|GIB|TB|TIB)\s*$", re.IGNORECASE)


# DuckDB's share of the budget: the rest holds what pandas builds from its results (one row per client,
# ~30 columns: about 0.5 GB for a million clients). Measured: a 40M-row log, 1M clients, 2GB budget.
DUCKDB_SHARE = 0.5
_UNIT_BYTES = {"B": 1, "KB": 1e3, "KIB": 2 ** 10, "MB": 1e6, "MIB": 2 ** 20, "GB": 1e9, "GIB": 2 ** 30, "TB": 1e12,
               "TIB": 2 ** 40}


def memory_limit(setting: str | None = None) -> str:
    """The memory budget of a run's out-of-core aggregation: company.yml's `load.memory_limit`, else
    $TIERBOOK_MEMORY_LIMIT, else 2GB. DuckDB gets `DUCKDB_SHARE` of it (see `duckdb_memory_limit`) and
    spills to disk past that instead of failing, so a log larger than memory still aggregates.

    Raises ValueError for a value DuckDB would not understand ("2GB", "512MB", "1.5GiB" are fine).

    >>> memory_limit("2 GB")
    '2 GB'
    """
    value = (setting or os.environ.get(MEMORY_LIMIT_ENV) or MEMORY_LIMIT).strip()
    if not _MEMORY_LIMIT_FORM.match(value):
        raise ValueError(f"memory limit {value!r}: write a size such as 2GB or 512MB")
    return value


def duckdb_memory_limit(setting: str | None = None) -> str:
    """DuckDB's own memory limit: its share of the run's budget, in MB (DuckDB's units: 1MB = 10^6 bytes).

    >>> duckdb_memory_limit("2GB"), duckdb_memory_limit("300MB")
    ('1000MB', '150MB')
    """
    return f"{duckdb_memory_mb(setting)}MB"


def duckdb_memory_mb(setting: str | None = None) -> int:
    """DuckDB's memory limit in MB (10^6 bytes): `DUCKDB_SHARE` of the run's budget, at least 16.

    >>> duckdb_memory_mb("2GB")
    1000
    """
    number, unit = re.match(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)", memory_limit(setting)).groups()
    return max(16, int(float(number) * _UNIT_BYTES[unit.upper()] * DUCKDB_SHARE / 1e6))


@contextmanager
def _spill_directory():
    """Where DuckDB spills past the memory limit: $TIERBOOK_SPILL_DIR (the runner points it beside the
    run's staging folder), else a fresh temporary folder; removed afterwards either way."""
    base = os.environ.get(SPILL_DIR_ENV)
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="tierbook-duckdb-", dir=base or None)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def spill_for_kernels(folder: Path):
    """Point every DuckDB query of a run (kernels inherit the environment) at `folder`, removed afterwards.

    The runner passes a folder beside its staging folder, so spilled data stays on the output's disk,
    is never published with the outputs, and is gone when the run ends, successful or not.
    """
    previous = os.environ.get(SPILL_DIR_ENV)
    os.environ[SPILL_DIR_ENV] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(SPILL_DIR_ENV, None)
        else:
            os.environ[SPILL_DIR_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def duckdb_session(limit: str | None = None):
    """A DuckDB connection under the run's memory limit (see `memory_limit`), spilling past it into a
    temporary folder that is removed, with the connection closed, on leaving the block."""
    with _spill_directory() as spill, closing(_connect(limit=limit, spill_dir=spill)) as con:
        yield con


def _connect(*, limit: str | None = None, spill_dir: str | None = None) -> duckdb.DuckDBPyConnection:
    config = {"threads": max(1, os.cpu_count() or 1),
              # the order of clients does not matter and keeping it costs memory
              "preserve_insertion_order": False,
              # past this DuckDB spills to disk, keeping a 10M-row log well under 2 GB
              "memory_limit": duckdb_memory_limit(limit)}
    if spill_dir:
        config["temp_directory"] = spill_dir
    return duckdb.connect(config=config)


def is_parquet_dataset(path: str | os.PathLike) -> bool:
    """True for a folder of Parquet files (any depth, e.g. hive partitions `year=2024/part-0.parquet`)."""
    folder = Path(path)
    return folder.is_dir() and next(folder.rglob("*.parquet"), None) is not None


def dataset_sql(path: str | os.PathLike) -> str:
    """The DuckDB table function reading a Parquet dataset folder (hive partitions become columns) or one
    large Parquet file lazily."""
    if Path(path).is_file():
        return f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}')"
    pattern = str(Path(path) / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"


def _source_sql(con: duckdb.DuckDBPyConnection, source) -> tuple[str, list[str]]:
    """The FROM clause for a DataFrame, a file, a dataset folder or a checked dataset, and the columns it has."""
    if isinstance(source, pd.DataFrame):
        con.register("tx_frame", source)
        return "tx_frame", [str(c) for c in source.columns]
    if hasattr(source, "sql"):  # a helpers.step1_list_clients.dataset.TransactionDataset: canonical columns, typed, on disk
        return source.sql, list(source.columns)
    path = Path(source)
    if is_parquet_dataset(path):
        sql = dataset_sql(path)
        return sql, [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()]
    if not path.is_file():
        raise FileNotFoundError(path)
    quoted = str(path).replace("'", "''")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        sql = f"read_parquet('{quoted}')"
    elif suffix in (".csv", ".txt", ".gz"):
        sql = f"read_csv('{quoted}', header = true, types = {{'client_id': 'VARCHAR'}})"
    else:
        raise ValueError(f"unsupported transaction file type: {path.name} (use .parquet or .csv)")
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()]
    return sql, columns


# Money sums leave DuckDB in the order its threads finished, so their last bits vary from one call to the next;
# two clients with equal revenue could then swap places in a ranking, and a refund that cancels a purchase could
# leave +1e-17 or -1e-17. Sums are settled to 12 significant digits, never finer than 1e-9 of the currency.
SUM_COLUMNS = ("revenue", "margin", "positive_amount")
SUM_DIGITS = 12
SUM_FINEST = 9


def settle_sums(values) -> np.ndarray:
    """Round money sums to `SUM_DIGITS` significant digits and at most `SUM_FINEST` decimals (float64 array).

    The same sum added up in another order (a few units in the last place apart) settles to the same value.

    >>> settle_sums([0.1 + 0.2, 0.1 + 0.2 - 0.3, 1234.5600000000001, -2.5e12 - 0.004]).tolist()
    [0.3, 0.0, 1234.56, -2500000000000.0]
    """
    x = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(x)))
    decimals = np.minimum(np.where(np.isfinite(magnitude), SUM_DIGITS - 1 - magnitude, SUM_FINEST), SUM_FINEST)
    scale = 10.0 ** decimals
    settled = np.round(x * scale) / scale
    return np.where(np.isfinite(x), settled + 0.0, x)  # + 0.0 turns -0.0 into 0.0


def _settle_columns(table: pd.DataFrame) -> pd.DataFrame:
    for column in SUM_COLUMNS:
        if column in table:
            table[column] = settle_sums(table[column].to_numpy(dtype=float, na_value=np.nan))
    return table


def aggregate_transactions(source: pd.DataFrame | str | os.PathLike, *, period: Period = "month",
                           limit: str | None = None) -> ClientAggregate:
    """Per-client revenue, margin, purchases and regularity from a transaction log.

    The log needs `client_id`, `date`, `amount` and may have `margin`. Revenue is net: refunds and
    credit notes (negative amounts) reduce it. `purchases` counts lines with a positive amount.
    Regularity is measured over the whole window of the log, from its first to its last calendar
    period, with empty periods counted as zero: `cv` = population standard deviation / mean of the
    per-period revenue (empty when the client's net revenue is not positive). The input is not modified.

    The client's own history runs from the period of its first purchase to the end of the window
    (`own_periods` periods): a client who started late is not blamed for the months before it existed.
    Over that history: `cv_own` (the same CV), `buying_periods` (periods with positive revenue),
    `adi` = own_periods / buying_periods (average inter-demand interval, in periods) and `cv2` = the
    squared population CV of the positive per-period amounts — the two measures of Syntetos & Boylan
    (2005), see `tiers.place_in_demand_pattern`.

    Args:
        source: a DataFrame, the path of a Parquet or CSV file with those columns, or a folder of
            Parquet files (a hive-partitioned dataset), read out of core: never loaded whole.
        period: "month", "quarter" or "half_year" (January-June, July-December).
        limit: DuckDB's memory limit (see `memory_limit`); past it the query spills to disk.

    Returns:
        ClientAggregate with one row per client that appears in the log.

    >>> tx = pd.DataFrame({"client_id": ["a", "a", "b"], "amount": [10.0, 30.0, 5.0],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-03-02", "2025-02-10"])})
    >>> agg = aggregate_transactions(tx)
    >>> agg.n_periods
    3
    >>> a = agg.table.set_index("client_id").loc["a"]
    >>> float(a["revenue"]), int(a["purchases"]), int(a["active_periods"])
    (40.0, 2, 2)
    >>> round(float(agg.table.set_index("client_id").loc["b", "cv"]), 4)  # 0, 5, 0 -> sqrt(2)
    1.4142
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    with duckdb_session(limit) as con:
        sql, columns = _source_sql(con, source)
        missing = [c for c in ("client_id", "date", "amount") if c not in columns]
        if missing:
            raise KeyError(f"the transaction log lacks column(s): {', '.join(missing)}")
        has_margin = "margin" in columns
        query = _QUERY.format(
            source=sql, period_start=_period_start_sql(period), months=PERIOD_MONTHS[period],
            margin_select=", CAST(margin AS DOUBLE) AS margin" if has_margin else "",
            margin_sum=", sum(margin) AS m" if has_margin else "",
            margin_total=", sum(m) AS margin" if has_margin else "",
            margin_out=", margin" if has_margin else "",
        )
        result = con.execute(query).df()
    table = result
    if len(table):
        start, end, n = table["window_start"].iloc[0], table["window_end"].iloc[0], int(table["n_periods"].iloc[0])
    else:
        start, end, n = pd.NaT, pd.NaT, 0
    table = table.drop(columns=["window_start", "window_end", "n_periods"])
    table = _settle_columns(table.reset_index(drop=True))
    return ClientAggregate(table=table, period=period, window_start=pd.Timestamp(start),
                           window_end=pd.Timestamp(end), n_periods=n)


def period_starts(dates: pd.Series, period: Period) -> pd.Series:
    """The first day of the calendar period (month, quarter, half-year) of each date, as datetime64.

    >>> dates = pd.Series(pd.to_datetime(["2025-08-15", "2025-03-01"]))
    >>> period_starts(dates, "half_year").dt.strftime("%Y-%m").tolist()
    ['2025-07', '2025-01']
    """
    dates = pd.to_datetime(dates)
    step = PERIOD_MONTHS[period]
    # months counted from January 1970 (the Period ordinal), so the steps align with Jan / Apr / Jul / Oct
    ordinal = (dates.dt.year - 1970) * 12 + dates.dt.month - 1
    start = (ordinal // step) * step
    return pd.Series(pd.PeriodIndex.from_ordinals(start.to_numpy(dtype="int64"), freq="M").start_time,
                     index=dates.index)


def sum_by_period(transactions: pd.DataFrame, *, period: Period = "month") -> pd.DataFrame:
    """Total revenue per calendar period of the whole log, zero-filled (for plots of a few dozen bars).

    >>> tx = pd.DataFrame({"client_id": ["a", "b"], "amount": [10.0, 5.0],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-03-02"])})
    >>> sum_by_period(tx)["amount"].tolist()
    [10.0, 0.0, 5.0]
    """
    freq = f"{PERIOD_MONTHS[period]}MS"
    starts = period_starts(transactions["date"], period)
    totals = transactions["amount"].groupby(starts.to_numpy()).sum()
    if totals.empty:
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[ns]"), "amount": pd.Series(dtype=float)})
    index = pd.date_range(totals.index.min(), totals.index.max(), freq=freq)
    totals = totals.reindex(index, fill_value=0.0)
    return pd.DataFrame({"period": totals.index, "amount": totals.to_numpy(dtype=float)})


@dataclass(frozen=True)
class PeriodChoice:
    """The calendar period XYZ is measured over, and why.

    period           "month", "quarter" or "half_year"
    source           "auto" (from the purchase cycle) or "fixed" (company.yml `xyz.period`)
    median_gap_days  the clients' median gap between purchases (NaN when too few clients bought twice)
    clients_measured clients with at least two purchase dates, behind the median
    """

    period: Period
    source: str
    median_gap_days: float = float("nan")
    clients_measured: int = 0


# Average days in each period (365.25 / 12 per month).
PERIOD_DAYS = {p: m * DAYS_PER_MONTH for p, m in PERIOD_MONTHS.items()}
# A period should hold the typical client's gap between purchases, so that a steady buyer has a purchase in
# every period and an empty period is a pause (monthly invoices -> month, a 40-day cycle -> quarter). Calendar
# periods vary (months of 28-31 days), so a gap up to 10% longer than the average period still fits in it.
PURCHASES_PER_PERIOD = 1.0
CALENDAR_SLACK = 1.10
# Fewer clients than this bought twice: not enough to judge.
MIN_CLIENTS_FOR_CYCLE = 5


def median_purchase_gap(transactions, *, limit: str | None = None) -> tuple[float, int]:
    """The clients' median gap between purchases, in days, and how many clients it is measured on.

    Each client's gaps are the days between its distinct purchase dates (lines with a positive
    amount; several lines on one day are one purchase); its typical gap is their median; the result
    is the median over the clients with at least two purchase dates, so one busy client does not
    set the rhythm for everyone. NaN and 0 when no client bought twice. `transactions` is a frame or a
    log left on disk (TransactionDataset); it is not modified.

    >>> tx = pd.DataFrame({"client_id": ["a", "a", "a", "b", "b"], "amount": [1.0] * 5,
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-01-31", "2025-01-01",
    ...                                            "2025-03-02"])})
    >>> median_purchase_gap(tx)  # a: 10 and 20 days -> 15; b: 60 -> median of 15 and 60
    (37.5, 2)
    """
    rows = len(transactions) if isinstance(transactions, pd.DataFrame) else int(getattr(transactions, "rows", 0) or 0)
    # the window over each client's dates and the per-client medians do not spill to disk: past
    # GAP_ROWS_PER_PASS lines per GB of DuckDB memory the clients are split by a hash of their id into passes
    # (a 40M-line log, 2GB budget: eight), and a pass that still runs out of memory is redone in twice as many
    budget_gb = duckdb_memory_mb(limit) / 1000
    passes = max(1, math.ceil(rows / (GAP_ROWS_PER_PASS * budget_gb)))
    with duckdb_session(limit) as con:
        sql, _ = _source_sql(con, transactions)  # the same query for a frame and a log left on disk
        while True:
            try:
                typical = [con.execute(_GAP_QUERY.format(
                    source=sql, part=f"AND hash(CAST(client_id AS VARCHAR)) % {passes} = {part}" if passes > 1 else ""
                )).fetchnumpy()["typical"] for part in range(passes)]
                break
            except duckdb.OutOfMemoryException:
                if passes >= MAX_GAP_PASSES:
                    raise
                passes *= 2
    values = np.concatenate(typical).astype(float) if typical else np.empty(0)
    if not len(values):
        return float("nan"), 0
    return float(np.median(values)), len(values)


# lines of the log whose per-client purchase gaps are measured in one pass, per GB of DuckDB's memory
GAP_ROWS_PER_PASS = 5_000_000
MAX_GAP_PASSES = 256
_GAP_QUERY = """
WITH d AS (
    SELECT DISTINCT CAST(client_id AS VARCHAR) AS c, CAST(CAST("date" AS TIMESTAMP) AS DATE) AS day
    FROM {source}
    WHERE TRY_CAST(amount AS DOUBLE) > 0 AND client_id IS NOT NULL AND "date" IS NOT NULL {part}
), g AS (
    SELECT c, day - lag(day) OVER (PARTITION BY c ORDER BY day) AS gap FROM d
)
SELECT median(gap) AS typical FROM g WHERE gap IS NOT NULL GROUP BY c
"""


def _has_rows(source) -> bool:
    """A log with at least one line: a frame, or a log left on disk (a TransactionDataset)."""
    if source is None:
        return False
    return bool(getattr(source, "rows", None)) if not isinstance(source, pd.DataFrame) else not source.empty


def choose_period(transactions, setting: str = "auto", *, limit: str | None = None) -> PeriodChoice:
    """The period for XYZ: the setting when fixed, else the shortest one that holds the typical purchase gap.

    With `setting="auto"` the period is the shortest of month, quarter and half-year whose length (with
    `CALENDAR_SLACK`, 10%, for months of 28-31 days) is at least the clients' median purchase gap
    (`median_purchase_gap`); half-year when even that is shorter; month when fewer than 5 clients bought twice.

    >>> tx = pd.DataFrame({"client_id": [c for c in "abcde" for _ in range(3)], "amount": [1.0] * 15,
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-02-10", "2025-03-22"] * 5)})
    >>> choice = choose_period(tx)  # a 40-day cycle: a month would often be empty, a quarter holds it
    >>> choice.period, choice.median_gap_days
    ('quarter', 40.0)
    >>> choose_period(tx, "month").source
    'fixed'
    """
    if setting != "auto":
        if setting not in PERIODS:
            raise ValueError(f"period must be auto or one of {', '.join(PERIODS)}, not {setting!r}")
        gap, measured = median_purchase_gap(transactions, limit=limit) if _has_rows(transactions) else (float("nan"), 0)
        return PeriodChoice(setting, "fixed", gap, measured)
    if not _has_rows(transactions):
        return PeriodChoice("month", "auto")
    gap, measured = median_purchase_gap(transactions, limit=limit)
    if measured < MIN_CLIENTS_FOR_CYCLE:
        return PeriodChoice("month", "auto", gap, measured)
    for period in PERIODS:
        if PERIOD_DAYS[period] * CALENDAR_SLACK >= PURCHASES_PER_PERIOD * gap:
            return PeriodChoice(period, "auto", gap, measured)
    return PeriodChoice("half_year", "auto", gap, measured)


# The audit's month figures (helpers.step1_list_clients.audit.summarise_clients) for a log that stays on disk: months
# counted as year * 12 + month, "bought" = a line with a positive amount, the end = the last month of the log.
_MONTHS_QUERY = """
WITH tx AS NOT MATERIALIZED (
    SELECT CAST(client_id AS VARCHAR) AS client_id, CAST(amount AS DOUBLE) AS amount{margin_select},
           year(CAST("date" AS TIMESTAMP)) * 12 + month(CAST("date" AS TIMESTAMP)) AS m
    FROM {source}
    WHERE client_id IS NOT NULL AND "date" IS NOT NULL AND amount IS NOT NULL
), fin AS (SELECT max(m) AS end_m FROM tx)
SELECT client_id, sum(amount) AS revenue, CAST(count(*) FILTER (WHERE amount > 0) AS BIGINT) AS purchases,
       sum(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS positive_amount{margin_sum},
       CASE WHEN count(*) FILTER (WHERE amount > 0) > 0 THEN count(DISTINCT m) FILTER (WHERE amount > 0) END
           AS active_months,
       any_value(fin.end_m) - min(m) FILTER (WHERE amount > 0) + 1 AS months_observed,
       any_value(fin.end_m) - max(m) FILTER (WHERE amount > 0) AS months_since_last
FROM tx CROSS JOIN fin GROUP BY client_id ORDER BY client_id
"""


def aggregate_months(source, *, limit: str | None = None) -> pd.DataFrame:
    """Per-client revenue, margin, purchases and month activity, computed in DuckDB (out of core).

    The same figures as the audit computes in pandas for a log in memory (index client_id; columns
    revenue, purchases, positive_amount, [margin], active_months, months_observed, months_since_last;
    month figures NaN for a client without a positive purchase), for a log that must stay on disk.

    Args:
        source: as for `aggregate_transactions` (a DataFrame, a file, a dataset folder or a checked dataset).
        limit: DuckDB's memory limit (see `memory_limit`).

    >>> tx = pd.DataFrame({"client_id": ["a", "a", "b"], "amount": [10.0, 30.0, -5.0],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-03-02", "2025-02-10"])})
    >>> aggregate_months(tx)[["revenue", "purchases", "active_months", "months_observed"]].to_dict("index")["a"]
    {'revenue': 40.0, 'purchases': 2, 'active_months': 2.0, 'months_observed': 3.0}
    """
    with duckdb_session(limit) as con:
        sql, columns = _source_sql(con, source)
        has_margin = "margin" in columns
        query = _MONTHS_QUERY.format(source=sql,
                                     margin_select=", CAST(margin AS DOUBLE) AS margin" if has_margin else "",
                                     margin_sum=", sum(margin) AS margin" if has_margin else "")
        table = con.execute(query).df()
    table = _settle_columns(table.set_index("client_id"))
    for column in ("active_months", "months_observed", "months_since_last"):
        table[column] = table[column].astype(float)
    return table
