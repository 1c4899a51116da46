"""Step 2 of the method: place the clients in tiers — the team's placement and the data's mirror.

The team's paper placement (A1 A2 A3 · B1 B2 B3 · C, plus D and X) is the source of truth; the data
adds ABC, XYZ and a value score that suggests a tier, so the workshop can discuss where they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.step1_list_clients.client_figures import (AUDIT_ONLY_COLUMNS, PeriodChoice, aggregate_transactions,
                                                       choose_period, months_between)
from helpers.step1_list_clients.company import Company
from helpers.core.i18n import format_distinct, get_language, t, t_column
from helpers.core.pareto import abc_lines, computed_abc_limits, find_mono_clients, place_in_abc
from helpers.core.vocabulary import PLAIN_TIERS, SIDE_TIERS, TEAM_ORDER, TIERS as LADDER  # written once

# Plain A and B (not yet split) count from the middle of their tier when measuring distances.
_POSITION = {tier: i for i, tier in enumerate(LADDER)} | {"A": 1, "B": 4}
COMPONENTS = ("value", "loyalty", "payment", "cost_to_serve", "speed")
ABC_XYZ_CELLS = tuple(f"{a}{x}" for a in "ABC" for x in "XYZ")
# Syntetos & Boylan (2005) demand patterns, in the order of their quadrants (regular to irregular).
DEMAND_PATTERNS = ("smooth", "erratic", "intermittent", "lumpy")
NEW = "new"  # too short a history for a regularity verdict
# A component at or above this percentile is a strength in the reason, at or below 1 - it a weakness.
_STRONG = 0.75
_EPS = 1e-12


@dataclass(frozen=True)
class TierFlag:
    """Something the team should look at: a code for programs, a sentence for people, the clients concerned."""

    code: str
    message: str
    client_ids: tuple[str, ...] = ()


@dataclass
class TierResult:
    """Everything step 2 found. `table` is tiers.csv, one row per client, largest first."""

    table: pd.DataFrame
    basis: str  # revenue | margin: what ABC and the value component measure
    cutoffs: tuple[float, float]  # the A and B lines used, as cumulative shares
    cutoffs_source: str  # fixed | auto
    components: list[str]  # score components the data allowed
    weights: dict[str, float]  # their weights after renormalising to 1
    abc_summary: pd.DataFrame  # per class: clients, their share, value, its share
    matrix: pd.DataFrame | None  # ABC x XYZ cells: clients, revenue share, advice; None without transactions
    confusion: pd.DataFrame | None  # team tier x suggested tier counts; None without a placement
    disagreements: pd.DataFrame  # clients >= 2 steps apart, revenue at stake first, with a question
    tier_counts: pd.DataFrame  # clients per tier label: team and suggested
    flags: list[TierFlag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how each figure was computed, in plain words
    has_team: bool = False
    has_transactions: bool = False
    period: str = "month"
    n_periods: int = 0
    # ABC x Syntetos-Boylan pattern: 12 rows like `matrix`; None without transactions
    pattern_matrix: pd.DataFrame | None = None
    period_choice: PeriodChoice | None = None

    @property
    def flag_messages(self) -> list[str]:
        return [f.message for f in self.flags]


# --------------------------------------------------------------------------- ABC
# --------------------------------------------------------------------------- XYZ
def place_in_xyz(cv: pd.Series, *, x: float = 0.10, y: float = 0.25, borderline: float = 0.03) -> pd.DataFrame:
    """XYZ class from the coefficient of variation of revenue per period; the input is not modified.

    X up to `x`, Y up to `y`, Z above; empty when the CV is unknown (no purchases, no positive
    revenue). A client within `borderline` of a line is flagged: a dozen values give a wide interval.

    >>> place_in_xyz(pd.Series([0.05, 0.24, 0.9, np.nan]))[["xyz", "xyz_borderline"]].values.tolist()
    [['X', False], ['Y', True], ['Z', False], ['', False]]
    """
    cv = pd.to_numeric(cv, errors="coerce").astype(float)
    xyz = np.where(cv.isna(), "", np.where(cv <= x + _EPS, "X", np.where(cv <= y + _EPS, "Y", "Z")))
    near = ((cv - x).abs() <= borderline + _EPS) | ((cv - y).abs() <= borderline + _EPS)
    return pd.DataFrame({"cv": cv, "xyz": xyz, "xyz_borderline": near.fillna(False).astype(bool)}, index=cv.index)


def place_in_demand_pattern(adi: pd.Series, cv2: pd.Series, *, adi_line: float = 1.32,
                            cv2_line: float = 0.49) -> pd.Series:
    """Syntetos–Boylan class from the average inter-demand interval and the squared CV of demand sizes.

    Lines from Syntetos, Boylan & Croston (2005), "On the categorization of demand patterns", JORS 56:
    ADI < 1.32 and CV² < 0.49 smooth; ADI < 1.32 and CV² ≥ 0.49 erratic; ADI ≥ 1.32 and CV² < 0.49
    intermittent; both at or above lumpy. ADI is in periods (1 = buys every period); CV² is of the
    amounts in the periods with purchases. Empty when either is unknown. Inputs are not modified.

    >>> place_in_demand_pattern(pd.Series([1.0, 1.0, 2.0, 3.0, np.nan]),
    ...                         pd.Series([0.1, 0.6, 0.2, 0.49, 0.1])).tolist()
    ['smooth', 'erratic', 'intermittent', 'lumpy', '']
    """
    adi = pd.to_numeric(adi, errors="coerce").astype(float)
    cv2 = pd.to_numeric(cv2, errors="coerce").reindex(adi.index).astype(float)
    frequent = adi < adi_line - _EPS
    steady = cv2 < cv2_line - _EPS
    pattern = np.select([frequent & steady, frequent & ~steady, ~frequent & steady], list(DEMAND_PATTERNS[:3]),
                        default=DEMAND_PATTERNS[3])
    return pd.Series(np.where(adi.isna() | cv2.isna(), "", pattern), index=adi.index, dtype=object)


def find_dominant_class(labels: pd.Series, *, share: float = 0.90) -> tuple[str, float] | None:
    """The class holding at least `share` of the classified clients (empty labels left out), or None.

    >>> find_dominant_class(pd.Series(["Z"] * 9 + ["Y", ""]))
    ('Z', 0.9)
    >>> find_dominant_class(pd.Series(["X", "Y"])) is None
    True
    """
    known = labels[labels.astype(str) != ""]
    if known.empty:
        return None
    counts = known.value_counts()
    top_share = float(counts.iloc[0] / len(known))
    return (str(counts.index[0]), round(top_share, 4)) if top_share >= share - _EPS else None


def build_pattern_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """ABC × Syntetos–Boylan pattern as twelve rows: clients, revenue, share of revenue, advice.

    >>> m = build_pattern_matrix(pd.DataFrame({"abc": ["A", "C"], "demand_pattern": ["smooth", "lumpy"],
    ...                                        "revenue": [90.0, 10.0]}))
    >>> m.set_index("cell").loc[["A smooth", "C lumpy"], "clients"].tolist()
    [1, 1]
    """
    known = table[table["demand_pattern"].isin(DEMAND_PATTERNS)]
    revenue = known["revenue"].astype(float)
    total = revenue.clip(lower=0).sum()
    rows = []
    for a in "ABC":
        for pattern in DEMAND_PATTERNS:
            members = revenue[(known["abc"] == a) & (known["demand_pattern"] == pattern)]
            rows.append({"abc": a, "demand_pattern": pattern, "cell": f"{a} {pattern}", "clients": len(members),
                         "revenue": float(members.sum()),
                         "revenue_share": float(members.clip(lower=0).sum() / total) if total > 0 else np.nan,
                         "advice": t(f"tiers.pattern_advice.{pattern}")})
    return pd.DataFrame(rows)


def build_abc_xyz_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """The 3×3 ABC-XYZ matrix as nine rows: clients, revenue, share of revenue, standard advice.

    >>> m = build_abc_xyz_matrix(pd.DataFrame({"abc": ["A", "C"], "xyz": ["X", "Z"], "revenue": [90.0, 10.0]}))
    >>> m.set_index("cell").loc[["AX", "CZ", "BY"], ["clients", "revenue_share"]].values.tolist()
    [[1.0, 0.9], [1.0, 0.1], [0.0, 0.0]]
    """
    known = table[table["xyz"].isin(["X", "Y", "Z"])]
    cell = known["abc"].astype(str) + known["xyz"].astype(str)
    revenue = known["revenue"].astype(float)
    total = revenue.clip(lower=0).sum()
    rows = []
    for code in ABC_XYZ_CELLS:
        members = revenue[cell == code]
        rows.append({"abc": code[0], "xyz": code[1], "cell": code, "clients": len(members),
                     "revenue": float(members.sum()),
                     "revenue_share": float(members.clip(lower=0).sum() / total) if total > 0 else np.nan,
                     "advice": t(f"tiers.advice.{code}")})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- figures per client
def collect_client_figures(company: Company, *, period: str = "month") -> tuple[pd.DataFrame, int]:
    """One row per client (index client_id): revenue, margin, purchases, tenure, CV and the metrics.

    With transactions, `cv` is measured from the client's first purchase period to the end of the log
    (`own_periods` periods), and `adi`, `cv2` are the Syntetos–Boylan measures over the same history.

    Revenue and margin come from the transactions when there are any (clients without transactions
    then have 0), else from the client list. Returns the figures and the number of periods in the window.
    """
    clients = company.clients.drop_duplicates("client_id").copy()
    clients.index = pd.Index(clients["client_id"].astype(str).to_numpy(), name="client_id")
    out = pd.DataFrame(index=clients.index)
    out["name"] = clients["name"].astype(object).where(clients["name"].notna(), clients.index.to_series())
    tx = company.transactions
    n_periods = 0
    numbers = {c: pd.to_numeric(clients[c], errors="coerce") if c in clients else pd.Series(np.nan, index=clients.index)
               for c in ("revenue", "margin", "purchases", "tenure_months", "payment_delay_days",
                         "support_hours", "deal_cycle_days")}
    dataset = company.transactions_dataset  # a log past memory: aggregated on disk, never loaded
    if dataset is not None or (tx is not None and len(tx)):
        agg = aggregate_transactions(dataset if dataset is not None else tx, period=period,
                                     limit=company.settings.load.memory_limit)
        n_periods = agg.n_periods
        table = agg.table.set_index("client_id")
        table.index = table.index.astype(str)
        out = out.join(table, how="left")
        out["revenue"] = out["revenue"].fillna(0.0)
        if "margin" in table:
            out["margin"] = out["margin"].fillna(0.0)
        else:
            out["margin"] = numbers["margin"]
        out["purchases"] = out["purchases"].fillna(0).astype(int)
        out["active_periods"] = out["active_periods"].fillna(0).astype(int)
        end = dataset.date_max if dataset is not None else pd.Timestamp(pd.to_datetime(tx["date"]).max())
        out["months_since_last"] = months_between(out["last_purchase"], end, digits=1)
        tenure_from_tx = months_between(out["first_purchase"], end, digits=1)
        # `cv` stays the classic one, over the whole window; XYZ is judged on `cv_own`, each client's own
        # history from its first purchase, so a client who started late is not "erratic" for the months before
        # the audit's columns of the same table (positive lines, calendar periods with a purchase) are not tiers'
        out = out.drop(columns=["first_purchase", "last_purchase", "period_mean", "period_std", *AUDIT_ONLY_COLUMNS])
    else:
        end = pd.Timestamp.today().normalize()
        out["revenue"] = numbers["revenue"]
        out["margin"] = numbers["margin"]
        out["purchases"] = numbers["purchases"]
        out["cv"] = np.nan
        for column in ("own_periods", "cv_own", "adi", "cv2"):
            out[column] = np.nan
        tenure_from_tx = pd.Series(np.nan, index=out.index)
    tenure = numbers["tenure_months"]
    if "client_since" in clients:
        since = pd.to_datetime(clients["client_since"], errors="coerce")
        tenure = tenure.fillna(months_between(since, end, digits=1))
    out["tenure_months"] = tenure.fillna(tenure_from_tx).astype(float)
    for column in ("payment_delay_days", "support_hours", "deal_cycle_days"):
        out[column] = numbers[column].astype(float)
    return out, n_periods


# --------------------------------------------------------------------------- the value score
def _percentile(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Percentile among the clients that have a value, in (0, 1], 1 = best; ties share; NaN stays NaN."""
    values = values.astype(float)
    return (values if higher_is_better else -values).rank(pct=True, method="average")


def _usable(values: pd.Series | None) -> bool:
    return values is not None and values.notna().any() and values.nunique(dropna=True) > 1


def score_clients(figures: pd.DataFrame, *, weights: dict[str, float], basis: str = "revenue"
                  ) -> tuple[pd.DataFrame, list[str], dict[str, float]]:
    """The value score (0-100) and its components, each a percentile among the clients (1 = best).

    value = revenue or margin; loyalty = periods with purchases (or purchases) and tenure; payment =
    short payment delays; cost_to_serve = few support hours for the revenue the client brings (the
    method: attention in proportion to money); speed = a short deal cycle. Components without data
    are left out and the weights renormalised; a client missing one value gets a neutral 0.5 for it.
    The input is not modified.

    >>> f = pd.DataFrame({"revenue": [300.0, 200.0, 100.0], "payment_delay_days": [60.0, 0.0, 5.0]})
    >>> comp, used, w = score_clients(f, weights={"value": 0.5, "payment": 0.5})
    >>> used, comp["score"].round(1).tolist()
    (['value', 'payment'], [66.7, 83.3, 50.0])
    """
    comp = pd.DataFrame(index=figures.index)
    value = figures.get(basis)
    if _usable(value):
        comp["value"] = _percentile(value.fillna(0.0))
    parts = []
    for column in ("active_periods", "tenure_months") if _usable(figures.get("active_periods")) \
            else ("purchases", "tenure_months"):
        if _usable(figures.get(column)):
            parts.append(_percentile(figures[column]))
    if parts:
        comp["loyalty"] = pd.concat(parts, axis=1).mean(axis=1)
    if _usable(figures.get("payment_delay_days")):
        comp["payment"] = _percentile(figures["payment_delay_days"], higher_is_better=False)
    if _usable(figures.get("support_hours")):
        hours = figures["support_hours"].astype(float)
        revenue = figures.get("revenue")
        if revenue is not None and (revenue > 0).any():
            # hours for a client that brings nothing are the worst possible ratio, not a division error
            with np.errstate(divide="ignore", invalid="ignore"):
                load = hours / revenue.clip(lower=0).astype(float)
            load = load.where(~((hours == 0) & (revenue <= 0)), 0.0)
        else:
            load = hours
        comp["cost_to_serve"] = _percentile(load, higher_is_better=False)
    if _usable(figures.get("deal_cycle_days")):
        comp["speed"] = _percentile(figures["deal_cycle_days"], higher_is_better=False)
    available = [c for c in COMPONENTS if c in comp]
    raw = {c: max(0.0, float(weights.get(c, 0.0))) for c in available}
    total = sum(raw.values())
    used = {c: (w / total if total > 0 else 1 / len(available)) for c, w in raw.items()}
    if available:
        comp["score"] = sum(comp[c].fillna(0.5) * used[c] for c in available) * 100
    else:
        comp["score"] = np.nan
    comp = comp.rename(columns={c: f"score_{c}" for c in available})
    return comp, available, used


def suggest_tiers(score: pd.Series, *, shares: tuple[float, float] = (0.20, 0.50),
                  value: pd.Series | None = None) -> pd.Series:
    """Suggested tier from the score: the top `shares[0]` of clients A, the next `shares[1]` B, the rest C.

    A and B are split into thirds by score (1 = best). Clients that bring no money (value <= 0) are
    never above C. Equal scores are ordered by client id. The input is not modified.

    >>> suggest_tiers(pd.Series(range(10), index=list("abcdefghij"), dtype=float)).tolist()
    ['C', 'C', 'C', 'B3', 'B2', 'B2', 'B1', 'B1', 'A2', 'A1']
    """
    n = len(score)
    out = pd.Series("C", index=score.index, dtype=object)
    if n == 0:
        return out
    eligible = score.notna()
    if value is not None:
        eligible &= value.reindex(score.index).fillna(0).astype(float) > 0
    ranked = score[eligible]
    order = np.lexsort((ranked.index.astype(str).to_numpy(), -ranked.to_numpy(dtype=float)))
    ranked_ids = ranked.index[order]
    n_a = int(round(n * shares[0]))
    n_b = int(round(n * shares[1]))
    start = 0
    for letter, size in (("A", n_a), ("B", n_b)):
        chunk = ranked_ids[start:start + size]
        for k, cid in enumerate(chunk):
            out[cid] = f"{letter}{1 + min(2, k * 3 // max(len(chunk), 1))}"
        start += size
    return out


# --------------------------------------------------------------------------- reasons
def _fmt(value, digits: int = 0) -> str:
    """A number for a sentence: thin-space thousands, and a decimal comma in Russian."""
    if value is None or pd.isna(value):
        return "?"
    text = f"{float(value):,.{digits}f}".replace(",", "\u202f")
    return text.replace(".", ",") if get_language() == "ru" else text


def _fmt_each(values: pd.Series, digits: int | pd.Series = 0) -> pd.Series:
    """`_fmt` of every value of a column (digits: one for all, or per row); returns a Series of str."""
    if not isinstance(digits, pd.Series):  # each distinct figure worded once
        return format_distinct(values, lambda v: _fmt(v, digits))
    return pd.Series([_fmt(v, d) for v, d in zip(values, digits)], index=values.index, dtype=object)


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """A column of `table`, or all-missing when the company has no such figure."""
    return table[name] if name in table else pd.Series(np.nan, index=table.index)


def _value_phrases(position: pd.Series, n: int, basis_word: str) -> tuple[pd.Series, pd.Series]:
    """"In the top / bottom k %" of the basis, k rounded up to 5 % steps: (top phrase, bottom phrase) per client."""
    top = np.maximum(5, np.ceil(position / n * 20).astype(int) * 5)
    bottom = np.maximum(5, np.ceil((n - position + 1) / n * 20).astype(int) * 5)
    return (t_column("tiers.reason.value_top", position.index, basis=basis_word, pct=top.astype(str)),
            t_column("tiers.reason.value_bottom", position.index, basis=basis_word, pct=bottom.astype(str)))


def _component_phrases(table: pd.DataFrame, component: str, values: pd.Series, n_periods: int,
                       period_word: str, basis_word: str) -> tuple[pd.Series, pd.Series]:
    """The phrase for a strong and for a weak `component`, per client: (strong phrase, weak phrase)."""
    index = table.index
    if component == "value":
        position = (-values.fillna(0.0)).rank(method="min")
        return _value_phrases(position, len(table), basis_word)
    if component == "loyalty":
        active, tenure = _column(table, "active_periods"), _column(table, "tenure_months")
        by_periods = t_column("tiers.reason.loyalty_periods", index, n=n_periods, period=period_word,
                            active=active.map(lambda v: str(int(v)) if pd.notna(v) else "?"))
        by_tenure = t_column("tiers.reason.loyalty_tenure", index, months=_fmt_each(tenure))
        by_purchases = t_column("tiers.reason.loyalty_purchases", index,
                              purchases=_fmt_each(_column(table, "purchases")))
        phrase = by_periods.where(bool(n_periods) & active.notna(),
                                  by_tenure.where(tenure.notna(), by_purchases))
        return phrase, phrase
    if component == "payment":
        days = _fmt_each(_column(table, "payment_delay_days"))
        return (t_column("tiers.reason.payment_good", index, days=days),
                t_column("tiers.reason.payment_bad", index, days=days))
    if component == "cost_to_serve":
        hours_value = _column(table, "support_hours")
        hours = _fmt_each(hours_value, pd.Series(np.where(hours_value < 10, 1, 0), index=index))
        return (t_column("tiers.reason.cost_good", index, hours=hours),
                t_column("tiers.reason.cost_bad", index, hours=hours))
    days = _fmt_each(_column(table, "deal_cycle_days"))
    return (t_column("tiers.reason.speed_good", index, days=days), t_column("tiers.reason.speed_bad", index, days=days))


def _candidate_phrases(table: pd.DataFrame, components: list[str], values: pd.Series, n_periods: int,
                       period_word: str, basis_word: str) -> pd.DataFrame:
    """Every strength and weakness worth saying, one row each: client (position), order, strong, weight, phrase.

    A component counts when its percentile rank is at or above `_STRONG` (a strength) or at or below
    1 - `_STRONG` (a weakness); its weight is how far out it is. A loss comes first among the weaknesses
    with the full weight 1, and then the value component is not repeated.
    """
    pos = np.arange(len(table))
    parts = []
    loss = (values < 0).to_numpy()
    if loss.any():
        phrase = t_column("tiers.reason.loss", table.index, basis=basis_word, amount=_fmt_each(values))
        parts.append(pd.DataFrame({"pos": pos[loss], "order": 0, "strong": False, "weight": 1.0,
                                   "phrase": phrase.to_numpy()[loss]}))
    for order, c in enumerate(components, start=1):
        rank = _column(table, f"score_{c}").astype(float)
        said = rank.notna() & ~((_STRONG > rank) & (rank > 1 - _STRONG))
        if c == "value":
            said &= ~(values < 0)
        said = said.to_numpy()
        if not said.any():
            continue
        strong = (rank >= _STRONG).to_numpy()
        good, bad = _component_phrases(table, c, values, n_periods, period_word, basis_word)
        phrase = np.where(strong, good.to_numpy(), bad.to_numpy())
        weight = np.where(strong, rank.to_numpy(), 1 - rank.to_numpy())
        parts.append(pd.DataFrame({"pos": pos[said], "order": order, "strong": strong[said],
                                   "weight": weight[said], "phrase": phrase[said]}))
    columns = {"pos": int, "order": int, "strong": bool, "weight": float, "phrase": object}
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    return pd.concat(parts, ignore_index=True)


def _two_strongest(candidates: pd.DataFrame, n: int, strong: bool) -> pd.Series:
    """Up to two phrases of one side per client, the weightiest first (ties: the order they were listed),
    joined by ", "; a Series on positions 0..n-1, NaN where the client has none."""
    side = candidates[candidates["strong"] == strong].assign(neg=lambda d: -d["weight"])
    side = side.sort_values(["pos", "neg", "order"], kind="stable")
    side = side[side.groupby("pos").cumcount() < 2]
    first = side.drop_duplicates("pos", keep="first").set_index("pos")["phrase"]
    second = side[side.duplicated("pos", keep="first")].set_index("pos")["phrase"]
    joined = first.reindex(range(n))
    return joined.where(second.reindex(range(n)).isna(), joined + ", " + second.reindex(range(n)))


def explain_suggestions(table: pd.DataFrame, components: list[str], *, basis: str = "revenue",
                        n_periods: int = 0, period: str = "month") -> pd.Series:
    """Plain words behind each suggestion: up to two strengths and, after "but", up to two weaknesses.

    `table` needs suggested_tier, the basis column, score_<component> columns and the figures they
    stand for. Returns the reason body (without the tier), indexed like `table`. Built column-wise
    (one pass per component, not per client), so it scales with the number of clients.
    """
    basis_word = t(f"tiers.basis.{basis}")
    period_word = t(f"tiers.period.{period}")
    values = table[basis].astype(float) if basis in table else pd.Series(np.nan, index=table.index)
    n = len(table)
    candidates = _candidate_phrases(table, components, values, n_periods, period_word, basis_word)
    good, bad = _two_strongest(candidates, n, True), _two_strongest(candidates, n, False)
    both = good + ", " + t("tiers.reason.but") + " " + bad
    body = both.where(good.notna() & bad.notna(), good.fillna(bad)).fillna(t("tiers.reason.average"))
    body = body.where((values.fillna(0) != 0).to_numpy(), t("tiers.reason.no_revenue", basis=basis_word))
    return pd.Series(body.to_numpy(), index=table.index, dtype=object)


# --------------------------------------------------------------------------- team versus data
def measure_disagreement(team: pd.Series, suggested: pd.Series) -> pd.Series:
    """Signed steps from the team's tier to the suggested one on A1 < A2 < A3 < B1 < B2 < B3 < C.

    Positive: the team places the client higher than the data does. Plain A and B count as A2 and B2;
    D, X and unplaced clients have no distance (NaN).

    >>> measure_disagreement(pd.Series(["A1", "C", "D", None, "B"]),
    ...                      pd.Series(["B3", "A2", "A1", "B1", "B1"])).tolist()
    [5.0, -5.0, nan, nan, -1.0]
    """
    team_pos = team.map(lambda v: _POSITION.get(v, np.nan) if isinstance(v, str) else np.nan).astype(float)
    suggested_pos = suggested.map(lambda v: _POSITION.get(v, np.nan) if isinstance(v, str) else np.nan).astype(float)
    return suggested_pos - team_pos


def list_disagreements(table: pd.DataFrame, *, min_steps: int = 2) -> pd.DataFrame:
    """Clients placed `min_steps` or more apart, revenue at stake first, each with a question for the team."""
    columns = ["client_id", "name", "team_tier", "suggested_tier", "disagreement", "direction", "revenue",
               "abc", "xyz", "question"]
    far = table[table["disagreement"].fillna(0) >= min_steps]
    if far.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    words = {key: t_column(f"tiers.question.{key}", far.index, name=far["name"], team=far["team_tier"],
                         suggested=far["suggested_tier"], reason=far["reason_body"])
             for key in ("team_higher", "team_lower")}
    out = far.assign(question=words["team_higher"].where(far["direction"] == "team_higher", words["team_lower"]))
    out = out.sort_values(["revenue", "client_id"], ascending=[False, True], kind="stable")
    return out[[c for c in columns if c in out]].reset_index(drop=True)


def count_tiers(table: pd.DataFrame) -> pd.DataFrame:
    """Clients per tier label, the team's beside the data's (unplaced clients in their own row).

    >>> count_tiers(pd.DataFrame({"team_tier": ["A1", None, "D"], "suggested_tier": ["A1", "C", "C"]})
    ...             ).to_dict("index")["C"]
    {'team': 0, 'suggested': 2}
    """
    team = table["team_tier"].astype(object).where(table["team_tier"].notna(), "unplaced")
    labels = [x for x in (*TEAM_ORDER, "unplaced") if x in set(team) or x in LADDER]
    out = pd.DataFrame({"team": team.value_counts(), "suggested": table["suggested_tier"].value_counts()})
    out = out.reindex(labels).fillna(0).astype(int)
    out.index.name = "tier"
    return out


def build_confusion(table: pd.DataFrame) -> pd.DataFrame:
    """Team tier (rows, in the order of the method) × suggested tier (columns A1..C), placed clients only."""
    placed = table[table["team_tier"].notna()]
    rows = [x for x in TEAM_ORDER if x in set(placed["team_tier"])]
    confusion = pd.crosstab(placed["team_tier"], placed["suggested_tier"])
    confusion = confusion.reindex(index=rows, columns=list(LADDER), fill_value=0)
    confusion.index.name, confusion.columns.name = "team_tier", "suggested_tier"
    return confusion


# --------------------------------------------------------------------------- the step
def _regularity_notes(table: pd.DataFrame, choice: PeriodChoice, xyz, n_periods: int) -> list[str]:
    """Which period was used and why, the `new` clients, and a warning for a split that says nothing."""
    period_word = t(f"tiers.period_one.{choice.period}")
    gap = "?" if not np.isfinite(choice.median_gap_days) else f"{choice.median_gap_days:.0f}"
    if choice.source == "fixed":
        notes = [t("tiers.regularity.period_fixed", period=period_word, gap=gap, clients=choice.clients_measured)]
    elif choice.clients_measured < 5:
        notes = [t("tiers.regularity.period_default", period=period_word, clients=choice.clients_measured)]
    else:
        notes = [t("tiers.regularity.period_auto", period=period_word, gap=gap, clients=choice.clients_measured)]
    notes.append(t("tiers.regularity.own_history"))
    notes.append(t("tiers.regularity.pattern", adi=f"{xyz.adi_line:g}", cv2=f"{xyz.cv2_line:g}"))
    new = int((table["xyz"] == NEW).sum())
    if new:
        notes.append(t("tiers.regularity.new", count=new, periods=xyz.min_periods,
                       period=t(f"tiers.period.{choice.period}")))
    for column, label in (("xyz", "XYZ"), ("demand_pattern", "Syntetos–Boylan")):
        dominant = find_dominant_class(table[column], share=xyz.uninformative_share)
        if dominant is not None:
            cls, share = dominant
            longer = {"month": "quarter", "quarter": "half_year"}.get(choice.period)
            notes.append(t("tiers.regularity.uninformative", split=label, cls=t(f"tiers.class.{cls}"),
                           share=_percent(share), limit=_percent(xyz.uninformative_share))
                         + " " + (t("tiers.regularity.try_longer", period=longer) if longer
                                  else t("tiers.regularity.try_other")))
    return notes


def _percent(share: float) -> str:
    return f"{share * 100:.0f}" if abs(share * 100 - round(share * 100)) < 0.05 else f"{share * 100:.1f}"


def _choose_basis(settings, figures: pd.DataFrame, flags: list[TierFlag]) -> str:
    """The figure ABC ranks by: company.yml's `abc.by`, or revenue (flagged) when no margin is known."""
    basis = settings.abc.by
    if basis == "margin" and not figures["margin"].notna().any():
        flags.append(TierFlag("no_margin", t("tiers.flag.no_margin")))
        basis = "revenue"
    return basis


def _place_abc(figures: pd.DataFrame, settings, basis: str, flags: list[TierFlag],
               notes: list[str]) -> tuple[pd.DataFrame, tuple[float, float], str]:
    """ABC on the basis, loss makers and mono-client risk flagged.

    Takes the per-client figures (indexed by client_id); returns (table = figures + share, cum_share,
    abc, mono_client; the two cumulative-share lines used; "auto" or "fixed").
    """
    basis_word = t(f"tiers.basis.{basis}")
    abc = place_in_abc(figures[basis], cutoffs=settings.abc.cutoffs)
    cutoffs = abc_lines(abc, settings.abc.cutoffs)
    source = "auto" if settings.abc.cutoffs == "auto" else "fixed"
    table = figures.join(abc[["share", "cum_share", "abc"]], how="left")
    if abc["share"].isna().all():
        flags.append(TierFlag("no_positive", t("tiers.flag.no_positive", basis=basis_word)))
    notes.append(t(f"tiers.note.cutoffs_{source}", basis=basis_word, a=_percent(cutoffs[0]), b=_percent(cutoffs[1])))
    notes.append(t("tiers.note.ties", basis=basis_word))
    losers = table.index[table[basis].fillna(0) < 0]
    if len(losers):
        flags.append(TierFlag("loss_makers", t("tiers.flag.loss_makers", count=len(losers), basis=basis_word),
                              tuple(losers)))

    # mono-client risk: a client above the line on revenue or on margin. A loop over the few clients
    # above the line (at most 1 / mono_client_share per basis), one flag each, not over all clients.
    monos = find_mono_clients(table, limit=settings.mono_client_share)
    for row in monos.itertuples(index=False):
        flags.append(TierFlag("mono_client", t("tiers.flag.mono_client", name=table.at[row.client_id, "name"],
                                               share=_percent(row.share), basis=t(f"tiers.basis.{row.basis}")),
                              (row.client_id,)))
    table["mono_client"] = table.index.isin(monos["client_id"])
    return table, cutoffs, source


def _place_xyz(table: pd.DataFrame, company: Company, choice: PeriodChoice, n_periods: int,
               flags: list[TierFlag], notes: list[str]) -> pd.DataFrame:
    """XYZ and the demand pattern of each client (`new` when its history is too short); returns the table."""
    settings = company.settings
    xyz = place_in_xyz(table["cv_own"], x=settings.xyz.x, y=settings.xyz.y, borderline=settings.xyz.borderline)
    table["xyz"] = xyz["xyz"]
    table["xyz_borderline"] = xyz["xyz_borderline"]
    table["demand_pattern"] = place_in_demand_pattern(table["adi"], table["cv2"], adi_line=settings.xyz.adi_line,
                                                      cv2_line=settings.xyz.cv2_line)
    # too short a history says nothing about regularity yet: `new`, in both columns, whatever the CV
    too_short = (table["own_periods"] < settings.xyz.min_periods).fillna(False).astype(bool)
    table.loc[too_short, ["xyz", "demand_pattern"]] = NEW
    table.loc[too_short, "xyz_borderline"] = False
    table["abc_xyz"] = np.where(table["xyz"].isin(["X", "Y", "Z"]), table["abc"].astype(str) + table["xyz"], "")
    if _has_transactions(company):
        notes.extend(_regularity_notes(table, choice, settings.xyz, n_periods))
        dataset = company.transactions_dataset
        if dataset is not None:
            first, last = dataset.date_min, dataset.date_max
        else:
            tx_dates = pd.to_datetime(company.transactions["date"])
            first, last = tx_dates.min(), tx_dates.max()
        fmt = "%Y-%m"
        notes.append(t("tiers.note.xyz", period_one=t(f"tiers.period_one.{choice.period}"), n=n_periods,
                       period=t(f"tiers.period.{choice.period}"), start=first.strftime(fmt),
                       end=last.strftime(fmt), x=_percent(settings.xyz.x), y=_percent(settings.xyz.y)))
        near = table.index[table["xyz_borderline"]]
        if len(near):
            flags.append(TierFlag("borderline", t("tiers.flag.borderline", count=len(near),
                                                  points=_percent(settings.xyz.borderline), n=n_periods),
                                  tuple(near)))
    else:
        notes.append(t("tiers.note.no_transactions"))
    return table


def _suggest(table: pd.DataFrame, figures: pd.DataFrame, settings, basis: str,
             notes: list[str]) -> tuple[pd.DataFrame, list[str], dict[str, float]]:
    """The value score and the suggested tier; returns (table + score columns, components used, weights)."""
    components, available, weights = score_clients(figures, weights=settings.score.weights, basis=basis)
    table = table.join(components)
    table["suggested_tier"] = suggest_tiers(table["score"], shares=settings.score.shares, value=table[basis])
    notes.append(t("tiers.note.score", components=", ".join(t(f"tiers.component.{c}") for c in available),
                   a=_percent(settings.score.shares[0]), b=_percent(settings.score.shares[1])))
    return table, available, weights


def _join_team(table: pd.DataFrame, company: Company, flags: list[TierFlag]) -> tuple[pd.DataFrame, bool]:
    """The team's placement beside the data (last row wins per client); returns (table + team_tier, has_team).

    Flags plain A/B, unplaced clients, the side tiers and placed clients with no purchase.
    """
    placement = company.placement
    has_team = placement is not None and len(placement) > 0
    if not has_team:
        table["team_tier"] = pd.Series(None, index=table.index, dtype=object)
        flags.append(TierFlag("no_placement", t("tiers.flag.no_placement")))
        return table, False
    team = placement.drop_duplicates("client_id", keep="last")
    team = pd.Series(team["tier"].astype(object).to_numpy(), index=team["client_id"].astype(str).to_numpy())
    table["team_tier"] = team.reindex(table.index).astype(object)
    placed = table["team_tier"].notna()
    plain = table.index[table["team_tier"].isin(PLAIN_TIERS)]
    if len(plain):
        flags.append(TierFlag("not_split", t("tiers.flag.not_split", count=len(plain)), tuple(plain)))
    unplaced = table.index[~placed]
    if len(unplaced):
        flags.append(TierFlag("unplaced", t("tiers.flag.unplaced", count=len(unplaced)), tuple(unplaced)))
    side = table.index[table["team_tier"].isin(SIDE_TIERS)]
    if len(side):
        flags.append(TierFlag("side_tiers", t("tiers.flag.side_tiers", count=len(side)), tuple(side)))
    if _has_transactions(company):
        idle = table.index[placed & (table["purchases"].fillna(0) == 0)]
        if len(idle):
            flags.append(TierFlag("placed_no_revenue", t("tiers.flag.placed_no_revenue", count=len(idle)),
                                  tuple(idle)))
    return table, True


def _compare_team_and_data(table: pd.DataFrame, available: list[str], basis: str, n_periods: int,
                           period: str) -> pd.DataFrame:
    """Steps between the team's tier and the suggested one, their direction and the reason in words."""
    steps = measure_disagreement(table["team_tier"], table["suggested_tier"])
    table["disagreement"] = steps.abs().round().astype("Int64")
    table["direction"] = np.select([steps > 0, steps < 0], ["team_higher", "data_higher"], default="")
    table["reason_body"] = explain_suggestions(table, available, basis=basis, n_periods=n_periods, period=period)
    table["reason"] = t_column("tiers.reason.because", table.index, tier=table["suggested_tier"],
                             body=table["reason_body"])
    return table


TIERS_COLUMNS = ["client_id", "name", "team_tier", "suggested_tier", "disagreement", "direction", "abc", "xyz",
                 "abc_xyz", "demand_pattern", "score", "<score parts>", "revenue", "margin", "share", "cum_share",
                 "cv", "cv_own", "xyz_borderline", "own_periods", "adi", "cv2", "purchases", "active_periods",
                 "tenure_months", "months_since_last", "payment_delay_days", "support_hours", "deal_cycle_days",
                 "mono_client", "reason"]


def _tiers_csv(table: pd.DataFrame, basis: str, available: list[str]) -> pd.DataFrame:
    """tiers.csv: one row per client, highest basis first, the columns of TIERS_COLUMNS that exist
    (score_<component> for each component used; margin only when some client has one)."""
    columns = [c for name in TIERS_COLUMNS
               for c in ([f"score_{p}" for p in available] if name == "<score parts>" else [name])]
    table = table[[c for c in columns if c in table.columns]].reset_index(drop=True)
    if not table["margin"].notna().any():
        table = table.drop(columns=["margin"])
    for column in ("team_tier", "suggested_tier", "demand_pattern"):
        if column in table and table[column].dtype == object:
            # a handful of words, one string object each instead of one per client (a million clients:
            # 150 MB less); the column stays object, its values unchanged
            codes, words = pd.factorize(table[column], use_na_sentinel=True)
            shared = np.asarray(words, dtype=object)
            table[column] = np.where(codes >= 0, shared[np.maximum(codes, 0)] if len(shared) else None,
                                     table[column].to_numpy(dtype=object))
    return table


def _summarise_abc(table: pd.DataFrame, basis: str) -> pd.DataFrame:
    """Clients and value per ABC class (A, B, C rows): clients, value, client_share, value_share."""
    summary = table.groupby("abc").agg(clients=("client_id", "size"), value=(basis, "sum"))
    summary = summary.reindex(["A", "B", "C"]).fillna(0)
    summary["clients"] = summary["clients"].astype(int)
    summary["client_share"] = summary["clients"] / max(len(table), 1)
    positive_total = table[basis].clip(lower=0).sum()
    summary["value_share"] = summary["value"] / positive_total if positive_total > 0 else np.nan
    summary.index.name = "abc"
    return summary.reset_index()


def _has_transactions(company: Company) -> bool:
    """A transaction log in memory with lines, or one left on disk (a Parquet dataset)."""
    return company.transactions_dataset is not None or (company.transactions is not None
                                                         and len(company.transactions) > 0)


def build_tiers(company: Company) -> TierResult:
    """Step 2: the team's tiers beside ABC, XYZ and the suggested tier, and where they disagree.

    The named steps, in order: choose the period and the basis, ABC (+ loss makers, mono-client risk),
    XYZ and demand pattern, the value score and suggested tier, the team's placement, team versus data.

    Args:
        company: the checked company of step 1 (not modified).

    Returns:
        TierResult; its `table` is tiers.csv.
    """
    settings = company.settings
    choice = choose_period(company.transactions_dataset or company.transactions, settings.xyz.period,
                           limit=settings.load.memory_limit)
    period = choice.period
    figures, n_periods = collect_client_figures(company, period=period)
    flags: list[TierFlag] = []
    notes: list[str] = []

    basis = _choose_basis(settings, figures, flags)
    table, cutoffs, source = _place_abc(figures, settings, basis, flags, notes)
    table = _place_xyz(table, company, choice, n_periods, flags, notes)
    table, available, weights = _suggest(table, figures, settings, basis, notes)
    table, has_team = _join_team(table, company, flags)
    table = _compare_team_and_data(table, available, basis, n_periods, period)

    table = table.reset_index()
    table = table.sort_values([basis, "client_id"], ascending=[False, True], kind="stable", na_position="last")
    disagreements = list_disagreements(table)
    table = _tiers_csv(table, basis, available)
    has_tx = _has_transactions(company)
    return TierResult(
        table=table, basis=basis, cutoffs=cutoffs, cutoffs_source=source, components=available, weights=weights,
        abc_summary=_summarise_abc(table, basis), matrix=build_abc_xyz_matrix(table) if has_tx else None,
        pattern_matrix=build_pattern_matrix(table) if has_tx else None, period_choice=choice,
        confusion=build_confusion(table) if has_team else None, disagreements=disagreements,
        tier_counts=count_tiers(table), flags=flags, notes=notes, has_team=has_team, has_transactions=has_tx,
        period=period, n_periods=n_periods,
    )
