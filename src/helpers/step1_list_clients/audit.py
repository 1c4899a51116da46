"""Step 1 of the method (list the clients): what was loaded, and an audit of the client base.

The client mix (large / medium / small) and its concentration, the price mix of purchases, key clients
(gold / silver / bronze) and data-derived typology tags; every threshold lives in `AuditSettings`.
"""

from __future__ import annotations

import heapq
import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.step1_list_clients.client_figures import aggregate_transactions, months_between
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import AuditSettings
from helpers.core.errors import Problem
from helpers.core.i18n import format_distinct, t, t_select
from helpers.core.pareto import find_mono_clients, place_in_abc
from helpers.step1_list_clients.client_figures import aggregate_months

SIZE_BANDS = ("large", "medium", "small", "none")
PRICE_BANDS = ("cheap", "mid", "expensive")
KEY_CLASSES = ("gold", "silver", "bronze")
# Typology tags the data can show, in the order they are listed; the bad_* tags are signals of a bad client.
DATA_TYPES = ("gold", "superconsumer", "loyal", "sleeping", "new", "small_fry",
              "bad_late_payment", "bad_heavy_support", "bad_loss_making")
# The rest of the ten "ours" types: only the team can name them.
TEAM_TYPES = ("lead_user", "pioneer", "status", "fan")
_SEVERITIES = ("error", "warning", "info")


def _settings(company: Company) -> AuditSettings:
    return getattr(company.settings, "audit", None) or AuditSettings()


def _pct(share: float) -> str:
    """A share as a short percent for sentences: 0.4567 -> '45.7'."""
    if share is None or not np.isfinite(share):
        return "—"
    value = share * 100
    return f"{value:.0f}" if abs(value) >= 10 or value == 0 else f"{value:.1f}"


def _money(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


# --------------------------------------------------------------------------- what was loaded
def describe_inputs(company: Company, *, first: int = 3) -> pd.DataFrame:
    """One row per input file: how it was read, how many rows reached the tables, and its problems.

    Problems are matched to a file by name; problems about anything else (company.yml, the folder)
    get a row of their own with an empty `kind`. The company is not modified.

    Args:
        company: a loaded company.
        first: how many problem lines to show per file (the rest are counted).

    Returns:
        DataFrame with file, kind, encoding, delimiter, sheet, header_row, rows_read, rows_used,
        rows_dropped, errors, warnings, notes and first_problems.
    """
    problems: list[Problem] = list(company.problems)
    rows = []
    claimed: set[int] = set()
    for report in company.files:
        name = report.path.name
        mine = [i for i, p in enumerate(problems) if p.file == name]
        claimed.update(mine)
        rows.append(_input_row(name, report.kind, report, [problems[i] for i in mine], first))
    rest: dict[str, list[Problem]] = {}
    for i, p in enumerate(problems):
        if i not in claimed:
            rest.setdefault(p.file or "—", []).append(p)
    for name, items in rest.items():
        rows.append(_input_row(name, "", None, items, first))
    columns = ["file", "kind", "encoding", "delimiter", "sheet", "header_row", "rows_read", "rows_used",
               "rows_dropped", "errors", "warnings", "notes", "first_problems"]
    out = pd.DataFrame(rows, columns=columns)
    for column in ("header_row", "rows_read", "rows_used", "rows_dropped"):
        out[column] = out[column].astype("Int64")
    for column in ("encoding", "delimiter", "sheet"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def _input_row(name: str, kind: str, report, problems: list[Problem], first: int) -> dict:
    counts = {s: sum(p.severity == s for p in problems) for s in _SEVERITIES}
    ordered = sorted(problems, key=lambda p: _SEVERITIES.index(p.severity))
    lines = [f"{t('common.severity.' + p.severity)}: {p}" for p in ordered[:first]]
    if len(ordered) > first:
        lines.append(t("common.more_problems", count=len(ordered) - first))
    read = report.rows_read if report else None
    used = report.rows_used if report else None
    delimiter = report.delimiter if report else None
    return {
        "file": name, "kind": kind,
        "encoding": report.encoding if report else None,
        "delimiter": {"\t": "tab", " ": "space"}.get(delimiter, delimiter),
        "sheet": report.sheet if report else None,
        "header_row": report.header_row if report else None,
        "rows_read": read, "rows_used": used,
        "rows_dropped": (read - used) if report else None,
        "errors": counts["error"], "warnings": counts["warning"], "notes": counts["info"],
        "first_problems": "\n".join(lines),
    }


# --------------------------------------------------------------------------- figures per client
# company id -> (company, its figures) while `figures_once` is open: the audit's five parts and the later
# steps of one Workbook read one table (on a million clients each computation is a pass over the whole log)
_FIGURES: ContextVar[dict | None] = ContextVar("tierbook_client_figures", default=None)


@contextmanager
def figures_once(cache: dict | None = None):
    """Within this block `summarise_clients` computes each company's figures once and hands out copies.

    Outside it every call computes afresh, so a company changed between calls is never served stale
    figures. `cache`: a dict to keep the figures in across blocks (a Workbook keeps one for its steps);
    a block inside another reuses the outer one.
    """
    if _FIGURES.get() is not None and cache is None:
        yield
        return
    token = _FIGURES.set({} if cache is None else cache)
    try:
        yield
    finally:
        _FIGURES.reset(token)


def summarise_clients(company: Company) -> pd.DataFrame:
    """One row per client (index client_id) with the figures the audit uses.

    Revenue is the net sum of `amount` per client in the transactions (refunds reduce it) when there
    are transactions, else the client list's `revenue`. Clients of the list without transactions get 0;
    clients found only in the transactions are kept, named by their id. Columns: name, revenue, margin
    (NaN when unknown), purchases (lines with a positive amount), avg_cheque, active_months (months with
    a purchase), months_observed (months from the first purchase to the end of the data, inclusive),
    months_since_last (whole months after the last purchase month), payment_delay_days, support_hours.
    Month figures are NaN without transactions. The company is not modified. Inside `figures_once` the
    figures are computed once per company and each call gets a copy.
    """
    return _once(company, "figures", _summarise_clients)


def _once(company: Company, name: str, compute) -> pd.DataFrame:
    """`compute(company)`, or inside `figures_once` a copy of what it gave the first time."""
    cache = _FIGURES.get()
    if cache is None:
        return compute(company)
    # the company is kept beside its results so its id cannot be reused by another one meanwhile
    slot = cache.setdefault(id(company), {"company": company})
    if name not in slot:
        slot[name] = compute(company)
    return slot[name].copy()


def _summarise_clients(company: Company) -> pd.DataFrame:
    """`summarise_clients` without the cache."""
    clients = company.clients.drop_duplicates("client_id")
    ids = clients["client_id"].astype(str).to_numpy()
    names = clients["name"] if "name" in clients else pd.Series(pd.NA, index=clients.index)
    names = names.astype(object).where(names.notna(), pd.Series(ids, index=clients.index))
    out = pd.DataFrame({"name": names.astype(str).to_numpy()}, index=pd.Index(ids, name="client_id"))

    def number(column: str) -> pd.Series:
        if column not in clients:
            return pd.Series(np.nan, index=out.index)
        return pd.Series(pd.to_numeric(clients[column], errors="coerce").to_numpy(dtype=float), index=out.index)

    tx = company.transactions
    dataset = company.transactions_dataset  # a log past memory: the same figures, computed on disk
    if dataset is not None or (tx is not None and len(tx)):
        per = (aggregate_months(dataset, limit=company.settings.load.memory_limit) if dataset is not None
               else _figures_from_transactions(tx))
        extra = per.index.difference(out.index)
        if len(extra):  # clients that buy but are missing from the list still count
            out = pd.concat([out, pd.DataFrame({"name": extra.to_numpy()}, index=extra)])
            out.index.name = "client_id"
        out = out.join(per, how="left")
        out["revenue"] = out["revenue"].fillna(0.0)
        out["purchases"] = out["purchases"].fillna(0).astype(int)
        out["active_months"] = out["active_months"].fillna(0).astype(int)
        if "margin" in per:
            out["margin"] = out["margin"].fillna(0.0)
        else:
            out["margin"] = number("margin").reindex(out.index)
        out["positive_amount"] = out["positive_amount"].fillna(0.0)
    else:
        out["revenue"] = number("revenue")
        out["margin"] = number("margin")
        out["purchases"] = number("purchases")
        out["positive_amount"] = out["revenue"].clip(lower=0)
        for column in ("active_months", "months_observed", "months_since_last"):
            out[column] = np.nan
        tenure = number("tenure_months")
        if "client_since" in clients:
            since = pd.to_datetime(clients["client_since"], errors="coerce")
            months = months_between(since, pd.Timestamp.today().normalize())
            tenure = tenure.fillna(pd.Series(months.to_numpy(dtype=float), index=out.index))
        out["months_observed"] = tenure.to_numpy()  # without a log, tenure is the closest measure
    with np.errstate(divide="ignore", invalid="ignore"):
        cheque = out["positive_amount"] / out["purchases"].astype(float)
    out["avg_cheque"] = cheque.where(out["purchases"].astype(float) > 0)
    out = out.drop(columns=["positive_amount"])
    for column in ("payment_delay_days", "support_hours"):
        out[column] = number(column).reindex(out.index)
    return out


def _figures_from_transactions(tx: pd.DataFrame) -> pd.DataFrame:
    """Per-client revenue, margin, purchases and calendar-month activity, from the one per-client
    aggregation (`client_figures.aggregate_transactions`, monthly periods) that step 2 also uses.

    Returns (index client_id): revenue, purchases, positive_amount, margin (when the log has it),
    active_months (months with a positive line), months_observed (from the first purchase month to the
    log's last month, inclusive) and months_since_last (whole months after the last purchase month).
    """
    per = aggregate_transactions(tx, period="month").table.set_index("client_id")
    per.index = per.index.astype(str)
    columns = {"revenue": "revenue", "purchases": "purchases", "positive_amount": "positive_amount",
               "margin": "margin", "purchase_periods": "active_months",
               "periods_since_first_purchase": "months_observed", "periods_since_last_purchase": "months_since_last"}
    per = per[[c for c in columns if c in per]].rename(columns=columns)
    for column in ("months_observed", "months_since_last"):  # NaN (not <NA>) for a client without a purchase
        values = per[column]
        per[column] = values.astype("float64") if values.isna().any() else values.astype("int64")
    return per


# --------------------------------------------------------------------------- client mix
@dataclass
class ClientMix:
    """How many large, medium and small clients there are, and how concentrated the money is.

    table          one row per client, largest first: client_id, name, revenue, share, cum_share, band
    bands          per band: clients, client_share, revenue, revenue_share, smallest and largest revenue
    concentration  measure, clients, share: top 1, top 5, top N% of clients
    hhi            Herfindahl index of the revenue shares (0-1; 1 = one client holds everything)
    equivalent_clients  1 / hhi: the number of equal clients that would give the same concentration
    verdicts       the balance of the mix in plain words
    warnings       mono-client risks (revenue or margin)
    notes          how each figure was computed
    """

    table: pd.DataFrame
    bands: pd.DataFrame
    concentration: pd.DataFrame
    hhi: float
    equivalent_clients: float
    verdicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def place_in_size_bands(revenue: pd.Series, *, shares: tuple[float, float] = (0.50, 0.80)) -> pd.Series:
    """Size band of each client by cumulative share of revenue, largest first (the input is not modified).

    A client is *large* while the clients before it hold less than the first share, *medium* while less
    than the second, else *small*: the client that crosses a line belongs to the bigger band (the same
    rule as ABC in step 2). Equal revenues share a band; clients with no positive revenue are *none*.

    >>> place_in_size_bands(pd.Series([60.0, 25.0, 10.0, 5.0, 0.0], index=list("abcde"))).to_dict()
    {'a': 'large', 'b': 'medium', 'c': 'small', 'd': 'small', 'e': 'none'}
    """
    ranked = place_in_abc(revenue, cutoffs=shares)
    band = ranked["abc"].map({"A": "large", "B": "medium", "C": "small"})
    band = band.where(ranked["value"] > 0, "none")
    return band.reindex(revenue.index)


def audit_client_mix(company: Company) -> ClientMix:
    """The client mix: clients by size band, its balance in plain words, and revenue concentration.

    Bands follow `audit.size_shares` (default: large = the clients who together make the first 50% of
    revenue, medium = the next 30%, small = the last 20%; see `place_in_size_bands`). Concentration:
    the share of revenue of the top client, the top 5 and the top `audit.top_share` of clients, and the
    Herfindahl index. A client above the mono-client line (`CompanySettings.mono_client_share`) of revenue
    or of margin is a mono-client
    warning. Shares are of the positive total, so loss-makers show a negative share.

    Args:
        company: a loaded company.

    Returns:
        ClientMix.
    """
    s = _settings(company)
    figures = summarise_clients(company)
    revenue = figures["revenue"].fillna(0.0)
    ranked = place_in_abc(revenue, cutoffs=s.size_shares)
    table = pd.DataFrame({"client_id": ranked.index.astype(str), "name": figures.loc[ranked.index, "name"].to_numpy(),
                          "revenue": ranked["value"].to_numpy(), "share": ranked["share"].to_numpy(),
                          "cum_share": ranked["cum_share"].to_numpy()})
    table["band"] = place_in_size_bands(revenue, shares=s.size_shares).loc[ranked.index].to_numpy()
    n = len(table)
    positive = table["revenue"].clip(lower=0)
    total = float(positive.sum())

    bands = []
    for band in SIZE_BANDS:
        members = table[table["band"] == band]
        if band == "none" and members.empty:
            continue  # only shown when some clients bring nothing
        bands.append({"band": band, "label": t(f"audit.band.{band}"), "clients": len(members),
                      "client_share": len(members) / n if n else np.nan,
                      "revenue": float(members["revenue"].sum()),
                      "revenue_share": float(members["revenue"].clip(lower=0).sum() / total) if total > 0 else np.nan,
                      "smallest": float(members["revenue"].min()) if len(members) else np.nan,
                      "largest": float(members["revenue"].max()) if len(members) else np.nan})
    bands = pd.DataFrame(bands)

    shares = (positive / total).to_numpy() if total > 0 else np.zeros(n)
    top_n = max(1, math.ceil(s.top_share * n)) if n else 0
    concentration = pd.DataFrame([
        {"measure": t("audit.concentration.top_one"), "clients": min(1, n), "share": float(shares[:1].sum())},
        {"measure": t("audit.concentration.top_five"), "clients": min(5, n), "share": float(shares[:5].sum())},
        {"measure": t("audit.concentration.top_share", pct=_pct(s.top_share)), "clients": top_n,
         "share": float(shares[:top_n].sum())},
    ])
    hhi = float((shares ** 2).sum()) if total > 0 else np.nan
    equivalent = 1 / hhi if hhi and hhi > 0 else np.nan

    warnings = _mono_client_warnings(figures, company.settings.mono_client_share)
    verdicts = _balance_verdicts(bands, s, total, judge_concentration(
        float(shares[:1].sum()), float(shares[:5].sum()), hhi, n_clients=n, settings=s,
        mono=bool(warnings)))
    from_log = company.transactions_dataset is not None or (company.transactions is not None
                                                            and len(company.transactions))
    notes = [t("audit.note.revenue_source_tx" if from_log else "audit.note.revenue_source_list"),
             t("audit.note.bands", large=_pct(s.size_shares[0]), medium=_pct(s.size_shares[1] - s.size_shares[0]),
               small=_pct(1 - s.size_shares[1])),
             t("audit.note.hhi", hhi=f"{hhi:.3f}" if np.isfinite(hhi) else "—",
               equivalent=f"{equivalent:.1f}" if np.isfinite(equivalent) else "—")]
    return ClientMix(table=table, bands=bands, concentration=concentration, hhi=hhi,
                     equivalent_clients=equivalent, verdicts=verdicts, warnings=warnings, notes=notes)


def _mono_client_warnings(figures: pd.DataFrame, limit: float) -> list[str]:
    return [t("audit.mono_client", name=figures.loc[row.client_id, "name"], share=_pct(row.share),
              basis=t(f"audit.basis.{row.basis}"), limit=_pct(limit))
            for row in find_mono_clients(figures, limit=limit).itertuples(index=False)]


def judge_concentration(largest: float, top_five: float, hhi: float, *, n_clients: int,
                        settings: AuditSettings | None = None, mono: bool = False) -> list[str]:
    """Verdicts on how concentrated revenue is: the largest client, the top 5 and the Herfindahl index.

    Lines (AuditSettings): the largest client at or above `largest_client_share` (20%: the seed's key
    clients bring 10-50% each, so one at 20% is already a dependence); the top 5 at or above
    `top_five_share` (60%) when there are more than five clients; HHI at or above `hhi_high` (0.25) is
    highly and at or above `hhi_moderate` (0.15) moderately concentrated (the 2500 / 1500 points of the
    US DOJ/FTC Horizontal Merger Guidelines, 2010, on a 0-1 scale). A mono-client (`mono`, see
    `tiers.find_mono_clients`) is stated by its own warning, so the largest-client verdict is skipped.

    Returns:
        Sentences, most severe first; empty when revenue is spread (no line is reached).

    >>> len(judge_concentration(0.25, 0.55, 0.09, n_clients=40))  # one client at a quarter of revenue
    1
    >>> judge_concentration(0.07, 0.32, 0.04, n_clients=40)
    []
    """
    s = settings or AuditSettings()
    out = []
    if not np.isfinite(hhi):
        return out
    if hhi >= s.hhi_high - 1e-12:
        out.append(t("audit.concentration_verdict.hhi_high", hhi=f"{hhi:.2f}", equivalent=f"{1 / hhi:.1f}",
                     line=f"{s.hhi_high:g}"))
    elif hhi >= s.hhi_moderate - 1e-12:
        out.append(t("audit.concentration_verdict.hhi_moderate", hhi=f"{hhi:.2f}", equivalent=f"{1 / hhi:.1f}",
                     line=f"{s.hhi_moderate:g}"))
    if not mono and largest >= s.largest_client_share - 1e-12:
        out.append(t("audit.concentration_verdict.largest", pct=_pct(largest), line=_pct(s.largest_client_share)))
    if n_clients > 5 and top_five >= s.top_five_share - 1e-12:
        out.append(t("audit.concentration_verdict.top_five", pct=_pct(top_five), line=_pct(s.top_five_share)))
    return out


def _balance_verdicts(bands: pd.DataFrame, s: AuditSettings, total: float,
                      concentration: list[str] | None = None) -> list[str]:
    if total <= 0 or bands.empty:
        return [t("audit.verdict.no_revenue")]
    by = bands.set_index("band")
    n = int(bands["clients"].sum())
    large = int(by.loc["large", "clients"]) if "large" in by.index else 0
    small = int(by.loc["small", "clients"]) if "small" in by.index else 0
    medium = int(by.loc["medium", "clients"]) if "medium" in by.index else 0
    out = []
    if large / n > s.flat_large_share:
        out.append(t("audit.verdict.flat", count=large, pct=_pct(large / n)))
    elif large <= s.few_large_clients:
        out.append(t("audit.verdict.few_large", count=large, pct=_pct(s.size_shares[0])))
    if small / n > s.small_heavy_share:
        out.append(t("audit.verdict.small_heavy", pct=_pct(small / n),
                     revenue=_pct(float(by.loc["small", "revenue_share"]))))
    if medium < large:
        out.append(t("audit.verdict.thin_middle", medium=medium, large=large))
    # concentration first: a mix is never "balanced" while one or five clients hold the money
    out = list(concentration or []) + out
    if not out:
        out.append(t("audit.verdict.balanced", large=large, medium=medium, small=small))
    if "none" in by.index:
        out.append(t("audit.verdict.no_purchases", count=int(by.loc["none", "clients"])))
    return out


# --------------------------------------------------------------------------- price mix
@dataclass
class PriceMix:
    """Purchases by price band against the example target mix, and which client sizes buy which band.

    bands          per band: label, purchases, purchase_share, revenue, revenue_share, target_share, gap
                   (purchase_share - target_share)
    by_size        per size band (rows) the share of its purchases in each price band, plus purchases
    limits         (cheap below, expensive from) in the company's currency
    limits_source  "auto" (see `auto_price_limits`) or "fixed" (company.yml)
    currency       the currency of the limits
    verdicts       the mix in plain words
    notes          how it was computed, and that the target is an example to tune
    """

    bands: pd.DataFrame
    by_size: pd.DataFrame
    limits: tuple[float, float]
    limits_source: str
    currency: str = ""
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def place_in_price_bands(amounts: pd.Series, *, limits: tuple[float, float]) -> pd.Series:
    """Price band of each purchase: cheap below the first limit, expensive from the second, mid between.

    >>> place_in_price_bands(pd.Series([5.0, 10.0, 49.0, 50.0]), limits=(10.0, 50.0)).tolist()
    ['cheap', 'mid', 'mid', 'expensive']
    """
    low, high = limits
    values = amounts.to_numpy(dtype=float)
    bands = np.where(values < low, "cheap", np.where(values < high, "mid", "expensive"))
    return pd.Series(bands, index=amounts.index, dtype=object)


def auto_price_limits(amounts: pd.Series) -> tuple[float, float]:
    """Price lines that split the range of purchase amounts into three equal steps on a log scale.

    The range runs from the 5th to the 95th percentile of the amounts (so a few outliers do not
    stretch it). Terciles of the amounts would put a third of the purchases in each band by
    construction, and the comparison with a target mix would say nothing; equal price steps make a
    band a price level, so the share of purchases in it is a finding. A log scale because prices
    grow by multiples (1 000, 3 000, 10 000), not by equal sums.

    >>> [round(x) for x in auto_price_limits(pd.Series([100.0] * 5 + [1000.0] * 5 + [10000.0] * 10))]
    [464, 2154]
    """
    values = amounts[amounts > 0].to_numpy(dtype=float)
    if not len(values):
        return (math.nan, math.nan)
    lo, hi = np.quantile(values, [0.05, 0.95])
    step = (hi / lo) ** (1 / 3)
    return (float(lo * step), float(lo * step * step))


def audit_price_mix(company: Company) -> PriceMix | None:
    """The price mix of purchases: cheap / mid / expensive against the example target, by client size.

    A purchase is a transaction line with a positive amount (refunds are left out). Bands come from
    `audit.price_limits`: two amounts, or "auto" (see `auto_price_limits`). The target (`audit.target_mix`, default ~50% cheap, ~20% mid, ~20%
    expensive, from seed 001) is an example to tune; the kit compares the share of *purchases*, since the
    data holds no product catalogue. Returns None without transactions or without any purchase.
    """
    s = _settings(company)
    if company.transactions_dataset is not None:
        measured = _price_mix_on_disk(company, s)
        if measured is None:
            return None
        low, high, source, n, total, per_band, counts = measured
    else:
        tx = company.transactions
        if tx is None or not len(tx):
            return None
        amount = pd.to_numeric(tx["amount"], errors="coerce").astype(float)
        bought = amount > 0
        if not bought.any():
            return None
        purchases = pd.DataFrame({"client_id": tx["client_id"].astype(str).to_numpy()[bought.to_numpy()],
                                  "amount": amount[bought].to_numpy()})
        if s.price_limits == "auto":
            low, high = auto_price_limits(purchases["amount"])
            source = "auto"
        else:
            low, high = (float(v) for v in s.price_limits)
            source = "fixed"
        purchases["price_band"] = place_in_price_bands(purchases["amount"], limits=(low, high)).to_numpy()
        figures = summarise_clients(company)
        size = place_in_size_bands(figures["revenue"].fillna(0.0), shares=s.size_shares)
        purchases["size_band"] = purchases["client_id"].map(size).fillna("none").to_numpy()
        n, total = len(purchases), float(purchases["amount"].sum())
        per_band = {}
        for band in PRICE_BANDS:
            members = purchases.loc[purchases["price_band"] == band, "amount"]
            per_band[band] = (len(members), float(members.sum()))
        counts = pd.crosstab(purchases["size_band"], purchases["price_band"])

    ranges = {"cheap": t("audit.price.below", amount=_money(low)),
              "mid": t("audit.price.between", low=_money(low), high=_money(high)),
              "expensive": t("audit.price.from", amount=_money(high))}
    rows = []
    for band in PRICE_BANDS:
        count, revenue = per_band[band]
        target = s.target_mix.get(band, np.nan)
        share = count / n
        rows.append({"band": band, "label": t(f"audit.price.{band}"), "range": ranges[band],
                     "purchases": count, "purchase_share": share,
                     "revenue": revenue, "revenue_share": revenue / total,
                     "target_share": target, "gap": share - target})
    bands = pd.DataFrame(rows)

    counts = counts.reindex(index=[b for b in SIZE_BANDS if b in counts.index], columns=list(PRICE_BANDS),
                            fill_value=0)
    by_size = counts.div(counts.sum(axis=1), axis=0)
    by_size["purchases"] = counts.sum(axis=1)
    by_size.index.name = "size_band"
    by_size.columns.name = None
    by_size = by_size.reset_index()

    verdicts = []
    for row in rows if low < high else []:  # one price for nearly everything: no mix to judge
        if abs(row["gap"]) >= 0.10:
            key = "audit.price.above_target" if row["gap"] > 0 else "audit.price.below_target"
            verdicts.append(t(key, band=row["label"], share=_pct(row["purchase_share"]),
                              target=_pct(row["target_share"])))
    if not verdicts and low < high:
        verdicts.append(t("audit.price.near_target"))
    cheap = by_size.set_index("size_band")["cheap"]
    if {"small", "large"} <= set(cheap.index) and cheap["small"] - cheap["large"] >= 0.10:
        verdicts.append(t("audit.price.small_buy_cheap", small=_pct(cheap["small"]), large=_pct(cheap["large"])))
    notes = [t("audit.price.note_auto" if source == "auto" else "audit.price.note_fixed",
               low=_money(low), high=_money(high), currency=company.currency),
             t("audit.price.note_target")]
    if low == high:
        notes.append(t("audit.price.note_equal_limits"))
    return PriceMix(bands=bands, by_size=by_size, limits=(low, high), limits_source=source,
                    currency=company.currency, verdicts=verdicts, notes=notes)


def _price_mix_on_disk(company: Company, s: AuditSettings):
    """The price mix's counts for a log left on disk (a Parquet dataset), in DuckDB: the same rules as
    in memory (positive lines; auto limits from the 5th and 95th percentiles, linear interpolation like
    numpy's default, found by ordering so that memory stays bounded). Returns None without any purchase, else (low, high, source, purchases, revenue,
    {band: (purchases, revenue)}, size band × price band counts)."""
    from helpers.step1_list_clients.client_figures import duckdb_session

    figures = summarise_clients(company)
    size = place_in_size_bands(figures["revenue"].fillna(0.0), shares=s.size_shares)
    sizes = pd.DataFrame({"client_id": size.index.astype(str), "size_band": size.to_numpy(dtype=object)})
    limit = company.settings.load.memory_limit
    with duckdb_session(limit) as con:
        bought = f"(SELECT client_id, amount FROM {company.transactions_dataset.sql} WHERE client_id IS NOT NULL AND \"date\" IS NOT NULL " \
                 f"AND amount > 0)"
        n, total = con.execute(f"SELECT count(*), sum(amount) FROM {bought}").fetchall()[0]
        if not n:
            return None

        def smallest(k: int) -> float:
            # the k-th smallest amount (0-based) from the nearer end: a top-N of at most 5% of the lines,
            # where quantile_cont would hold every amount in memory at once
            if k <= (n - 1) / 2:
                return con.execute(f"SELECT amount FROM {bought} ORDER BY amount LIMIT 1 OFFSET {k}").fetchall()[0][0]
            return con.execute(f"SELECT amount FROM {bought} ORDER BY amount DESC LIMIT 1 OFFSET {n - 1 - k}"
                               ).fetchall()[0][0]

        def quantile(q: float) -> float:  # numpy's default (linear) interpolation
            h = (n - 1) * q
            lo = int(math.floor(h))
            x0 = smallest(lo)
            return x0 + (h - lo) * (smallest(min(lo + 1, n - 1)) - x0) if h > lo else x0

        if s.price_limits == "auto":
            q05, q95 = quantile(0.05), quantile(0.95)
            step = (q95 / q05) ** (1 / 3)
            low, high, source = float(q05 * step), float(q05 * step * step), "auto"
        else:
            (low, high), source = (float(v) for v in s.price_limits), "fixed"
        con.register("sizes", sizes)
        cells = con.execute(f"""
            SELECT coalesce(sizes.size_band, 'none') AS size_band,
                   CASE WHEN amount < ? THEN 'cheap' WHEN amount < ? THEN 'mid' ELSE 'expensive' END AS price_band,
                   count(*) AS purchases, sum(amount) AS revenue
            FROM {bought} AS b LEFT JOIN sizes USING (client_id) GROUP BY 1, 2""", [low, high]).df()
    per_band = {band: (int(cells.loc[cells["price_band"] == band, "purchases"].sum()),
                       float(cells.loc[cells["price_band"] == band, "revenue"].sum())) for band in PRICE_BANDS}
    counts = cells.pivot_table(index="size_band", columns="price_band", values="purchases", aggfunc="sum",
                               fill_value=0).astype(int)
    return low, high, source, int(n), float(total), per_band, counts


# --------------------------------------------------------------------------- key clients
def _top_by_cumulative_share(values: pd.Series, share: float) -> pd.Series:
    """True for the largest clients who together make the first `share` of the positive total."""
    if values.isna().all() or values.clip(lower=0).sum() <= 0:
        return pd.Series(False, index=values.index)
    ranked = place_in_abc(values.fillna(0.0), cutoffs=(share, min(1.0, share + 1e-9)))
    return (ranked["abc"] == "A").reindex(values.index)


def _bottom_tail(values: pd.Series, share: float) -> pd.Series:
    """True for the smallest clients who together hold at most the last `share` of the positive total."""
    positive = values.fillna(0.0).clip(lower=0)
    total = positive.sum()
    if total <= 0:
        return pd.Series(True, index=values.index)
    ordered = positive.sort_values(kind="stable")
    tail = (ordered.cumsum() / total) <= share + 1e-12
    return tail.reindex(values.index)


def classify_key_clients(company: Company) -> pd.DataFrame:
    """Gold, silver or bronze for every client, with the reason in plain words (once per company inside
    `figures_once`).

    Rule (thresholds in `AuditSettings`):
      * gold: among the largest clients who together make the first `gold_share` (50%) of revenue, or
        of margin when the data has margin; never a loss-maker; at most `gold_max_share` (20%) of all
        clients, the largest kept — key clients are the few that bring most of the turnover and profit;
      * bronze: no positive revenue, or among the smallest clients who together hold only the last
        `bronze_share` (5%) of revenue and, when known, of margin (a loss-maker counts) — never key;
      * silver: everyone else — the clients that could grow into gold.

    Returns:
        DataFrame, largest revenue first: client_id, name, revenue, revenue_share, margin, margin_share,
        key_class, reason.
    """
    return _once(company, "key_clients", _classify_key_clients)


def _classify_key_clients(company: Company) -> pd.DataFrame:
    """`classify_key_clients` without the cache."""
    s = _settings(company)
    figures = summarise_clients(company)
    revenue = figures["revenue"].fillna(0.0)
    margin = figures["margin"]
    has_margin = margin.notna().any()
    rev_total = float(revenue.clip(lower=0).sum())
    mar_total = float(margin.clip(lower=0).sum()) if has_margin else 0.0
    rev_share = revenue / rev_total if rev_total > 0 else pd.Series(np.nan, index=revenue.index)
    mar_share = margin / mar_total if mar_total > 0 else pd.Series(np.nan, index=revenue.index)

    top = _top_by_cumulative_share(revenue, s.gold_share)
    if has_margin:
        top = top | _top_by_cumulative_share(margin, s.gold_share)
        top &= ~(margin < 0)
    top &= revenue > 0
    cap = max(1, math.floor(s.gold_max_share * len(figures)))
    weight = pd.concat([rev_share.fillna(0), mar_share.fillna(0)], axis=1).max(axis=1)
    gold_ids = weight[top].sort_values(ascending=False, kind="stable").index[:cap]

    bronze = _bottom_tail(revenue, s.bronze_share)
    if has_margin:
        bronze &= _bottom_tail(margin, s.bronze_share) | (margin < 0)
    bronze |= revenue <= 0

    key = pd.Series("silver", index=figures.index, dtype=object)
    key[bronze] = "bronze"
    key[gold_ids] = "gold"

    # the reasons column-wise: each distinct share is worded once, each template filled once per column
    index = figures.index
    params = dict(share=format_distinct(rev_share.reindex(index), _pct),
                  margin_share=format_distinct(mar_share.reindex(index), _pct),
                  gold=_pct(s.gold_share), bronze=_pct(s.bronze_share))

    reasons = t_select(
        [((key == "gold").to_numpy(), "audit.key.reason_gold_margin" if has_margin else "audit.key.reason_gold"),
         ((key == "bronze").to_numpy() & (revenue <= 0).to_numpy(), "audit.key.reason_none"),
         ((key == "bronze").to_numpy(), "audit.key.reason_bronze"),
         (top.fillna(False).to_numpy(dtype=bool), "audit.key.reason_silver_capped")],
        "audit.key.reason_silver", index, **params).to_numpy(dtype=object)

    out = pd.DataFrame({"client_id": figures.index.astype(str), "name": figures["name"].to_numpy(),
                        "revenue": revenue.to_numpy(), "revenue_share": rev_share.to_numpy(),
                        "margin": margin.to_numpy(), "margin_share": mar_share.to_numpy(),
                        "key_class": key.to_numpy(), "reason": reasons})
    order = np.lexsort((out["client_id"].to_numpy(), -out["revenue"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def summarise_key_clients(key_clients: pd.DataFrame) -> pd.DataFrame:
    """Clients, revenue share and margin share per class (gold, silver, bronze), with what to do.

    >>> key = pd.DataFrame({"key_class": ["gold", "silver", "bronze"], "revenue": [70.0, 25.0, 5.0],
    ...                     "margin": [np.nan] * 3})
    >>> summarise_key_clients(key)[["key_class", "clients", "revenue_share"]].to_dict("list")
    {'key_class': ['gold', 'silver', 'bronze'], 'clients': [1, 1, 1], 'revenue_share': [0.7, 0.25, 0.05]}
    """
    rev_total = float(key_clients["revenue"].clip(lower=0).sum())
    margin = key_clients["margin"]
    mar_total = float(margin.clip(lower=0).sum()) if margin.notna().any() else 0.0
    rows = []
    for cls in KEY_CLASSES:
        members = key_clients[key_clients["key_class"] == cls]
        rows.append({"key_class": cls, "label": t(f"audit.key.{cls}"), "clients": len(members),
                     "revenue_share": float(members["revenue"].sum() / rev_total) if rev_total > 0 else np.nan,
                     "margin_share": float(members["margin"].sum() / mar_total) if mar_total > 0 else np.nan,
                     "what_to_do": t(f"audit.key.task_{cls}")})
    return pd.DataFrame(rows)


def allocate_key_clients(key_clients: pd.DataFrame, *, per_manager: int = 3) -> pd.DataFrame:
    """Share the gold clients between managers, 1 to `per_manager` each, balancing revenue, not count.

    The fewest managers that keep everyone at or under `per_manager` clients; the largest client goes
    first to the manager with the least revenue so far (a greedy balance, good enough for a plan).

    >>> key = pd.DataFrame({"client_id": list("abcd"), "name": list("ABCD"), "key_class": ["gold"] * 4,
    ...                     "revenue": [50.0, 30.0, 15.0, 5.0]})
    >>> allocate_key_clients(key, per_manager=3).groupby("manager")["revenue"].sum().to_dict()
    {1: 50.0, 2: 50.0}
    """
    if per_manager < 1:
        raise ValueError("per_manager must be at least 1")
    gold = key_clients[key_clients["key_class"] == "gold"].sort_values("revenue", ascending=False, kind="stable")
    columns = ["manager", "client_id", "name", "revenue", "manager_clients", "manager_revenue"]
    if gold.empty:
        return pd.DataFrame(columns=columns)
    managers = math.ceil(len(gold) / per_manager)
    load = [0.0] * managers
    count = [0] * managers
    assigned = []
    # the least-loaded manager with a free place (ties: the lower number) from a heap of the open ones:
    # the greedy rule stays sequential, but each step costs log(managers) instead of a scan of them all
    open_managers = [(0.0, m) for m in range(managers)]
    for revenue in gold["revenue"].to_numpy(dtype=float):
        _, m = heapq.heappop(open_managers)
        load[m] += revenue
        count[m] += 1
        assigned.append(m + 1)
        if count[m] < per_manager:
            heapq.heappush(open_managers, (load[m], m))
    out = pd.DataFrame({"manager": assigned, "client_id": gold["client_id"].to_numpy(),
                        "name": gold["name"].to_numpy(), "revenue": gold["revenue"].to_numpy(dtype=float)})
    index = out["manager"].to_numpy() - 1
    out["manager_clients"] = np.asarray(count)[index]
    out["manager_revenue"] = np.asarray(load, dtype=float)[index]
    return out.sort_values(["manager", "revenue"], ascending=[True, False], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- typology
def tag_client_types(company: Company) -> pd.DataFrame:
    """Typology tags the data can show, one row per client (a client may carry several tags).

    Rules (thresholds in `AuditSettings`; month figures need transactions, see `summarise_clients`):
      * gold: as in `classify_key_clients`;
      * superconsumer: revenue at or above the line of the top `super_top_share` (10%) of buying clients,
        and both purchases and average cheque at or above their medians — buys a lot, often, at high prices;
      * loyal: bought in at least `loyal_active_share` (60%) of the months since the first purchase, over
        at least `loyal_min_months` (6) months, and not asleep;
      * sleeping: bought in at least `sleeping_min_months` (3) months, then nothing in the last
        `sleeping_quiet_months` (3) months of the data;
      * new: first purchase within the last `new_months` (3) months of the data (without transactions:
        a tenure of at most that many months);
      * small_fry: average cheque at or below the `small_fry_share` (25th) percentile of buying clients
        (with many equal cheques at the bottom, all of them are small fry);
      * bad_late_payment: average payment delay of at least `late_payment_days` (30) days;
      * bad_heavy_support: support hours per unit of revenue at or above the line of the top
        `heavy_support_share` (10%) of clients with support hours (support for no revenue always counts);
      * bad_loss_making: negative margin.
    Lead users, pioneers, status clients and fans cannot be seen in sales data: the team names them.

    Returns:
        DataFrame: client_id, name, revenue, one boolean column per tag (DATA_TYPES), `types` (the tags'
        names, localised) and the figures behind the tags. The company is not modified.
    """
    s = _settings(company)
    f = summarise_clients(company)
    revenue = f["revenue"].fillna(0.0)
    buying = (revenue > 0) & (f["purchases"].fillna(0) > 0)
    cheque = f["avg_cheque"].where(buying)
    purchases = f["purchases"].where(buying).astype(float)

    tags = pd.DataFrame(index=f.index)
    key = classify_key_clients(company).set_index("client_id")["key_class"]
    tags["gold"] = key.reindex(f.index).eq("gold").to_numpy()

    top_line = revenue.where(buying).quantile(1 - s.super_top_share)
    tags["superconsumer"] = ((revenue >= top_line) & buying
                             & (purchases >= purchases.median()) & (cheque >= cheque.median())).fillna(False)

    active, observed, quiet = f["active_months"], f["months_observed"], f["months_since_last"]
    sleeping = (active >= s.sleeping_min_months) & (quiet >= s.sleeping_quiet_months)
    tags["loyal"] = ((observed >= s.loyal_min_months) & (active / observed >= s.loyal_active_share)
                     & ~sleeping.fillna(False) & (quiet < s.sleeping_quiet_months)).fillna(False)
    tags["sleeping"] = sleeping.fillna(False)
    tags["new"] = (observed <= s.new_months).fillna(False)
    tags["small_fry"] = (cheque <= cheque.quantile(s.small_fry_share)).fillna(False)

    tags["bad_late_payment"] = (f["payment_delay_days"] >= s.late_payment_days).fillna(False)
    hours = f["support_hours"]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_money = (hours / revenue.where(revenue > 0)).where(hours > 0)
    per_money = per_money.where(~((hours > 0) & (revenue <= 0)), np.inf)
    finite = per_money[np.isfinite(per_money)]
    line = finite.quantile(1 - s.heavy_support_share) if len(finite) else np.inf
    tags["bad_heavy_support"] = ((per_money >= line) | np.isinf(per_money)).fillna(False) & (hours > 0).fillna(False)
    tags["bad_loss_making"] = (f["margin"] < 0).fillna(False)
    tags = tags.astype(bool)

    names = {tag: t(f"audit.type.{tag}.name") for tag in DATA_TYPES}
    out = pd.DataFrame({"client_id": f.index.astype(str), "name": f["name"].to_numpy(),
                        "revenue": revenue.to_numpy()})
    for tag in DATA_TYPES:
        out[tag] = tags[tag].to_numpy()
    # the tag names joined column-wise, one pass per tag
    types = np.full(len(out), "", dtype=object)
    for tag in DATA_TYPES:
        on = tags[tag].to_numpy(dtype=bool)
        types = np.where(on, np.where(types == "", names[tag], types + ", " + names[tag]), types)
    out["types"] = types
    for column in ("purchases", "avg_cheque", "active_months", "months_observed", "months_since_last",
                   "margin", "payment_delay_days", "support_hours"):
        out[column] = f[column].to_numpy()
    order = np.lexsort((out["client_id"].to_numpy(), -out["revenue"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# the figures each tag needs; a tag whose figures are all missing is "not available in this data"
_TAG_NEEDS = {"gold": "revenue", "superconsumer": "avg_cheque", "loyal": "active_months",
              "sleeping": "active_months", "new": "months_observed", "small_fry": "avg_cheque",
              "bad_late_payment": "payment_delay_days", "bad_heavy_support": "support_hours",
              "bad_loss_making": "margin"}


def summarise_client_types(types: pd.DataFrame, *, settings: AuditSettings | None = None) -> pd.DataFrame:
    """Per type: how many clients carry it, their revenue share, the rule and the marketing task.

    Types the data cannot show (lead users, pioneers, status clients, fans, and any tag whose figures are
    missing) are listed too, with `available` False and no count, so the team knows to name them.

    Args:
        types: the table of `tag_client_types`.
        settings: the thresholds quoted in the rules (defaults when None).
    """
    s = settings or AuditSettings()
    params = dict(gold=_pct(s.gold_share), gold_max=_pct(s.gold_max_share), top=_pct(s.super_top_share),
                  active=_pct(s.loyal_active_share), loyal_months=s.loyal_min_months,
                  sleep_months=s.sleeping_min_months, quiet=s.sleeping_quiet_months, new=s.new_months,
                  fry=_pct(s.small_fry_share), days=f"{s.late_payment_days:g}", support=_pct(s.heavy_support_share))
    total = float(types["revenue"].clip(lower=0).sum())
    rows = []
    for tag in DATA_TYPES + TEAM_TYPES:
        available = tag in DATA_TYPES and types[_TAG_NEEDS[tag]].notna().any()
        members = types[types[tag]] if available else types.iloc[0:0]
        rows.append({"type": tag, "label": t(f"audit.type.{tag}.name"), "available": bool(available),
                     "clients": len(members) if available else np.nan,
                     "revenue_share": float(members["revenue"].clip(lower=0).sum() / total)
                     if available and total > 0 else np.nan,
                     "rule": t(f"audit.type.{tag}.rule", **params) if available
                     else t("audit.type.team_only" if tag in TEAM_TYPES else "audit.type.no_data"),
                     "marketing_task": t(f"audit.type.{tag}.task")})
    return pd.DataFrame(rows)


def hint_manager_load(key_clients: pd.DataFrame, *, per_manager: int = 3) -> str:
    """How many managers the gold clients need at `per_manager` key clients each, in plain words."""
    gold = int((key_clients["key_class"] == "gold").sum())
    if not (key_clients["revenue"] > 0).any():  # no revenue: "0 gold clients need 0 managers" would mislead
        return t("report.empty.no_revenue")
    return t("audit.key.manager_hint", gold=gold, per=per_manager, managers=math.ceil(gold / per_manager))


def collect_client_audit(mix: ClientMix, key_clients: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    """clients_audit.csv: one row per client with its revenue, size band, key class and typology tags.

    >>> mix = ClientMix(table=pd.DataFrame({"client_id": ["a"], "name": ["A"], "revenue": [5.0], "share": [1.0],
    ...                                     "cum_share": [1.0], "band": ["large"]}),
    ...                 bands=pd.DataFrame(), concentration=pd.DataFrame(), hhi=1.0, equivalent_clients=1.0)
    >>> key = pd.DataFrame({"client_id": ["a"], "key_class": ["gold"], "reason": ["r"]})
    >>> types = pd.DataFrame({"client_id": ["a"], "types": ["gold"]} | {tag: [tag == "gold"] for tag in DATA_TYPES})
    >>> collect_client_audit(mix, key, types)[["client_id", "size_band", "key_class", "gold"]].to_dict("records")
    [{'client_id': 'a', 'size_band': 'large', 'key_class': 'gold', 'gold': True}]
    """
    out = mix.table.rename(columns={"band": "size_band", "share": "revenue_share"})
    out = out.merge(key_clients[["client_id", "key_class", "reason"]].rename(columns={"reason": "key_reason"}),
                    on="client_id", how="left")
    return out.merge(types[["client_id", "types", *DATA_TYPES]], on="client_id", how="left")


@dataclass
class ClientAudit:
    """Step 1's audit of the client base, computed once per run and handed to every later reader.

    The notebook 01 tables, `clients_audit.csv` and the report's client-mix section all read this one
    object, so they cannot disagree (e.g. on the managers the key clients need).

    mix                 ClientMix (size bands, concentration, HHI, verdicts)
    price               PriceMix, or None without a transaction log
    key_clients         one row per client: key_class (gold/silver/bronze) and the reason
    key_summary         counts and shares per key class
    manager_hint        one sentence: how many managers the gold clients need at `per_manager` each
    manager_allocation  gold clients dealt to managers by revenue
    types               one row per client: typology tags
    type_summary        one row per type: count, availability from data, marketing task
    table               clients_audit.csv (one row per client)
    """

    mix: ClientMix
    price: PriceMix | None
    key_clients: pd.DataFrame
    key_summary: pd.DataFrame
    manager_hint: str
    manager_allocation: pd.DataFrame
    types: pd.DataFrame
    type_summary: pd.DataFrame
    table: pd.DataFrame


def audit_clients(company: Company) -> ClientAudit:
    """Run every audit of step 1 once: client mix, price mix, key clients, manager load and client types.

    Args:
        company: the loaded company (step 1).

    Returns:
        ClientAudit; thresholds come from `audit` in company.yml.
    """
    with figures_once():
        return _audit_clients(company)


def _audit_clients(company: Company) -> ClientAudit:
    settings = _settings(company)
    mix = audit_client_mix(company)
    key = classify_key_clients(company)
    types = tag_client_types(company)
    return ClientAudit(
        mix=mix,
        price=audit_price_mix(company),
        key_clients=key,
        key_summary=summarise_key_clients(key),
        manager_hint=hint_manager_load(key, per_manager=settings.key_clients_per_manager),
        manager_allocation=allocate_key_clients(key, per_manager=settings.key_clients_per_manager),
        types=types,
        type_summary=summarise_client_types(types, settings=settings),
        table=collect_client_audit(mix, key, types),
    )
