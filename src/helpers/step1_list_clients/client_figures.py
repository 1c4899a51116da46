"""Step 2 of the method (tiers): the per-client figures behind ABC and XYZ, from the transaction log.

One DuckDB query turns a log of any size (a DataFrame, a Parquet or a CSV file) into one row per
client: revenue, margin, purchases and the regularity of revenue over calendar periods.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

Period = Literal["month", "quarter", "half_year"]
PERIODS = ("month", "quarter", "half_year")
# Calendar months in each period, for the purchase-cycle choice and for notes.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6}
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
_QUERY = """
WITH tx AS (
    SELECT CAST(client_id AS VARCHAR) AS client_id, CAST("date" AS TIMESTAMP) AS ts,
           CAST(amount AS DOUBLE) AS amount{margin_select}
    FROM {source}
    WHERE client_id IS NOT NULL AND "date" IS NOT NULL AND amount IS NOT NULL
),
per AS (
    SELECT client_id, {period_start} AS p, sum(amount) AS s{margin_sum},
           count(*) FILTER (WHERE amount > 0) AS n_pos, min(ts) AS first_ts, max(ts) AS last_ts,
           coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS s_pos
    FROM tx GROUP BY client_id, p
),
win AS (
    SELECT min(p) AS p0, max(p) AS p1, datediff('month', min(p), max(p)) // {months} + 1 AS n FROM per
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


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": max(1, os.cpu_count() or 1),
                                 # the order of clients does not matter and keeping it costs memory
                                 "preserve_insertion_order": False,
                                 # past this DuckDB spills to disk, keeping a 10M-row log well under 2 GB
                                 "memory_limit": MEMORY_LIMIT})
    return con


def _source_sql(con: duckdb.DuckDBPyConnection, source) -> tuple[str, list[str]]:
    """The FROM clause for a DataFrame or a file, and the columns it has."""
    if isinstance(source, pd.DataFrame):
        con.register("tx_frame", source)
        return "tx_frame", [str(c) for c in source.columns]
    path = Path(source)
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


def aggregate_transactions(source: pd.DataFrame | str | os.PathLike, *, period: Period = "month") -> ClientAggregate:
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
        source: a DataFrame, or the path of a Parquet or CSV file with those columns.
        period: "month", "quarter" or "half_year" (January-June, July-December).

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
    con = _connect()
    try:
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
    finally:
        con.close()
    table = result
    if len(table):
        start, end, n = table["window_start"].iloc[0], table["window_end"].iloc[0], int(table["n_periods"].iloc[0])
    else:
        start, end, n = pd.NaT, pd.NaT, 0
    table = table.drop(columns=["window_start", "window_end", "n_periods"])
    table = table.reset_index(drop=True)
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


def median_purchase_gap(transactions: pd.DataFrame) -> tuple[float, int]:
    """The clients' median gap between purchases, in days, and how many clients it is measured on.

    Each client's gaps are the days between its distinct purchase dates (lines with a positive
    amount; several lines on one day are one purchase); its typical gap is their median; the result
    is the median over the clients with at least two purchase dates, so one busy client does not
    set the rhythm for everyone. NaN and 0 when no client bought twice. The input is not modified.

    >>> tx = pd.DataFrame({"client_id": ["a", "a", "a", "b", "b"], "amount": [1.0] * 5,
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-01-31", "2025-01-01",
    ...                                            "2025-03-02"])})
    >>> median_purchase_gap(tx)  # a: 10 and 20 days -> 15; b: 60 -> median of 15 and 60
    (37.5, 2)
    """
    bought = transactions.loc[pd.to_numeric(transactions["amount"], errors="coerce") > 0, ["client_id", "date"]]
    days = pd.DataFrame({"client_id": bought["client_id"].astype(str).to_numpy(),
                         "day": pd.to_datetime(bought["date"]).dt.normalize().to_numpy()})
    days = days.drop_duplicates().sort_values(["client_id", "day"], kind="stable")
    gaps = days.groupby("client_id", sort=False)["day"].diff().dt.days
    per_client = gaps.groupby(days["client_id"]).median().dropna()
    if per_client.empty:
        return float("nan"), 0
    return float(per_client.median()), int(len(per_client))


def choose_period(transactions: pd.DataFrame | None, setting: str = "auto") -> PeriodChoice:
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
        gap, measured = median_purchase_gap(transactions) if transactions is not None and len(transactions) \
            else (float("nan"), 0)
        return PeriodChoice(setting, "fixed", gap, measured)
    if transactions is None or not len(transactions):
        return PeriodChoice("month", "auto")
    gap, measured = median_purchase_gap(transactions)
    if measured < MIN_CLIENTS_FOR_CYCLE:
        return PeriodChoice("month", "auto", gap, measured)
    for period in PERIODS:
        if PERIOD_DAYS[period] * CALENDAR_SLACK >= PURCHASES_PER_PERIOD * gap:
            return PeriodChoice(period, "auto", gap, measured)
    return PeriodChoice("half_year", "auto", gap, measured)
