"""Step 2 of the method: place the clients in tiers — the team's placement and the data's mirror.

The team's paper placement (A1 A2 A3 · B1 B2 B3 · C, plus D and X) is the source of truth; the data
adds ABC, XYZ and a value score that suggests a tier, so the workshop can discuss where they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.step1_list_clients.client_figures import PeriodChoice, aggregate_transactions, choose_period
from helpers.step1_list_clients.company import Company
from helpers.core.i18n import format_distinct, get_language, t, t_column
from helpers.core.pareto import abc_lines, computed_abc_limits, find_mono_clients, place_in_abc

LADDER = ("A1", "A2", "A3", "B1", "B2", "B3", "C")
# Plain A and B (not yet split) count from the middle of their tier when measuring distances.
_POSITION = {tier: i for i, tier in enumerate(LADDER)} | {"A": 1, "B": 4}
TEAM_ORDER = ("A1", "A2", "A3", "A", "B1", "B2", "B3", "B", "C", "D", "X")
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
        out["months_since_last"] = ((end - out["last_purchase"]).dt.days / 30.44).round(1)
        tenure_from_tx = ((end - out["first_purchase"]).dt.days / 30.44).round(1)
        # `cv` stays the classic one, over the whole window; XYZ is judged on `cv_own`, each client's own
        # history from its first purchase, so a client who started late is not "erratic" for the months before
        out = out.drop(columns=["first_purchase", "last_purchase", "period_mean", "period_std"])
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
        tenure = tenure.fillna(((end - since).dt.days / 30.44).round(1))
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
        # thirds of the chunk by rank, set column-wise (one label lookup per client would be slow)
        third = 1 + np.minimum(2, np.arange(len(chunk)) * 3 // max(len(chunk), 1))
        out.loc[chunk] = np.char.add(letter, third.astype(str)).astype(object)
        start += size
    return out


# --------------------------------------------------------------------------- reasons
def _fmt(value, digits: int = 0) -> str:
    """A number for a sentence: thin-space thousands, and a decimal comma in Russian."""
    if value is None or pd.isna(value):
        return "?"
    text = f"{float(value):,.{digits}f}".replace(",", "\u202f")
    return text.replace(".", ",") if get_language() == "ru" else text


def explain_suggestions(table: pd.DataFrame, components: list[str], *, basis: str = "revenue",
                        n_periods: int = 0, period: str = "month") -> pd.Series:
    """Plain words behind each suggestion: up to two strengths and, after "but", up to two weaknesses.

    `table` needs suggested_tier, the basis column, score_<component> columns and the figures they
    stand for. Returns the reason body (without the tier), indexed like `table`. A component is a
    strength at or above the `_STRONG` percentile and a weakness at or below 1 - it; the two most
    marked of each side are named, a loss first among the weaknesses. Built column by column (one
    pass per component, not per client), so a million clients take seconds.
    """
    basis_word = t(f"tiers.basis.{basis}")
    index = table.index
    n = len(table)
    values = (table[basis].astype(float) if basis in table else pd.Series(np.nan, index=index)).to_numpy()
    position = (-pd.Series(values, index=index).fillna(0.0)).rank(method="min").to_numpy()

    def column(name: str) -> pd.Series:
        return table[name] if name in table else pd.Series(np.nan, index=index, dtype=float)

    # candidates: (phrase, weight, strong); weight NaN = not named for this client
    candidates: list[tuple[pd.Series, np.ndarray, np.ndarray]] = []
    loss = values < 0
    candidates.append((t_column("tiers.reason.loss", index, basis=basis_word, amount=_fmt_column(values)),
                       np.where(loss, 1.0, np.nan), np.zeros(n, dtype=bool)))
    for c in components:
        rank = pd.to_numeric(column(f"score_{c}"), errors="coerce").to_numpy(dtype=float)
        marked = ~np.isnan(rank) & ~((rank < _STRONG) & (rank > 1 - _STRONG))
        strong = marked & (rank >= _STRONG)
        phrase = _component_phrases(table, c, strong, position=position, n=n, basis_word=basis_word,
                                    n_periods=n_periods, period=period, column=column)
        if c == "value":
            marked &= ~loss
        candidates.append((phrase, np.where(marked, np.where(strong, rank, 1 - rank), np.nan), strong))
    phrases = np.column_stack([p.to_numpy(dtype=object) for p, _, _ in candidates])
    weights = np.column_stack([w for _, w, _ in candidates])
    strong = np.column_stack([s for _, _, s in candidates])
    good = _two_strongest(phrases, np.where(strong, weights, np.nan))
    bad = _two_strongest(phrases, np.where(~strong, weights, np.nan))
    has_good, has_bad = good != "", bad != ""
    body = np.where(has_good & has_bad, good + ", " + t("tiers.reason.but") + " " + bad,
                    np.where(has_good, good, np.where(has_bad, bad, t("tiers.reason.average"))))
    body = np.where(np.isnan(values) | (values == 0), t("tiers.reason.no_revenue", basis=basis_word), body)
    return pd.Series(body, index=index, dtype=object)


def _two_strongest(phrases: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row, the two phrases of largest weight joined by ", " ("" when none); ties keep column order."""
    order = np.argsort(-np.nan_to_num(weights, nan=-np.inf), axis=1, kind="stable")[:, :2]
    rows = np.arange(len(phrases))[:, None]
    picked = phrases[rows, order] if len(phrases) else np.empty((0, 2), dtype=object)
    valid = ~np.isnan(weights[rows, order]) if len(phrases) else np.empty((0, 2), dtype=bool)
    out = np.full(len(phrases), "", dtype=object)
    if picked.shape[1] >= 1:
        out = np.where(valid[:, 0], picked[:, 0], out)
    if picked.shape[1] >= 2:
        out = np.where(valid[:, 1], out + ", " + picked[:, 1], out)
    return out


def _component_phrases(table: pd.DataFrame, c: str, strong: np.ndarray, *, position: np.ndarray, n: int,
                       basis_word: str, n_periods: int, period: str, column) -> pd.Series:
    """The phrase each client would get for component `c`, strong or weak (used only where it is marked)."""
    index = table.index

    def pick(good_key: str, bad_key: str, **params) -> pd.Series:
        return pd.Series(np.where(strong, t_column(good_key, index, **params).to_numpy(dtype=object),
                                  t_column(bad_key, index, **params).to_numpy(dtype=object)), index=index)

    if c == "value":
        top = np.maximum(5, np.ceil(position / max(n, 1) * 20).astype(int) * 5)
        bottom = np.maximum(5, np.ceil((n - position + 1) / max(n, 1) * 20).astype(int) * 5)
        return pd.Series(np.where(strong, t_column("tiers.reason.value_top", index, basis=basis_word,
                                                   pct=pd.Series(top, index=index)).to_numpy(dtype=object),
                                  t_column("tiers.reason.value_bottom", index, basis=basis_word,
                                           pct=pd.Series(bottom, index=index)).to_numpy(dtype=object)), index=index)
    if c == "loyalty":
        active = pd.to_numeric(column("active_periods"), errors="coerce")
        tenure = pd.to_numeric(column("tenure_months"), errors="coerce")
        by_periods = t_column("tiers.reason.loyalty_periods", index,
                              active=pd.Series(active.fillna(0).to_numpy().astype(np.int64), index=index),
                              n=n_periods, period=t(f"tiers.period.{period}"))
        by_tenure = t_column("tiers.reason.loyalty_tenure", index, months=_fmt_column(tenure))
        by_purchases = t_column("tiers.reason.loyalty_purchases", index, purchases=_fmt_column(column("purchases")))
        use_periods = bool(n_periods) & active.notna().to_numpy()
        return pd.Series(np.where(use_periods, by_periods, np.where(tenure.notna(), by_tenure, by_purchases)),
                         index=index)
    if c == "payment":
        return pick("tiers.reason.payment_good", "tiers.reason.payment_bad",
                    days=_fmt_column(column("payment_delay_days")))
    if c == "cost_to_serve":
        hours = pd.to_numeric(column("support_hours"), errors="coerce")
        text = np.where(hours < 10, _fmt_column(hours, 1), _fmt_column(hours, 0))
        return pick("tiers.reason.cost_good", "tiers.reason.cost_bad", hours=pd.Series(text, index=index))
    return pick("tiers.reason.speed_good", "tiers.reason.speed_bad", days=_fmt_column(column("deal_cycle_days")))


def _fmt_column(values, digits: int = 0) -> pd.Series:
    """`_fmt` for a whole column: each distinct value is formatted once."""
    return format_distinct(values, lambda v: _fmt(v, digits))


# --------------------------------------------------------------------------- team versus data
def measure_disagreement(team: pd.Series, suggested: pd.Series) -> pd.Series:
    """Signed steps from the team's tier to the suggested one on A1 < A2 < A3 < B1 < B2 < B3 < C.

    Positive: the team places the client higher than the data does. Plain A and B count as A2 and B2;
    D, X and unplaced clients have no distance (NaN).

    >>> measure_disagreement(pd.Series(["A1", "C", "D", None, "B"]),
    ...                      pd.Series(["B3", "A2", "A1", "B1", "B1"])).tolist()
    [5.0, -5.0, nan, nan, -1.0]
    """
    # a dict lookup column-wise: labels outside the ladder (D, X, None) become NaN
    team_pos = team.astype(object).map(_POSITION).astype(float)
    suggested_pos = suggested.astype(object).map(_POSITION).astype(float)
    return suggested_pos - team_pos


def list_disagreements(table: pd.DataFrame, *, min_steps: int = 2) -> pd.DataFrame:
    """Clients placed `min_steps` or more apart, revenue at stake first, each with a question for the team."""
    columns = ["client_id", "name", "team_tier", "suggested_tier", "disagreement", "direction", "revenue",
               "abc", "xyz", "question"]
    far = table[table["disagreement"].fillna(0) >= min_steps]
    if far.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    words = dict(name=far["name"], team=far["team_tier"], suggested=far["suggested_tier"], reason=far["reason_body"])
    questions = np.where(far["direction"] == "team_higher", t_column("tiers.question.team_higher", far.index, **words),
                         t_column("tiers.question.team_lower", far.index, **words))
    out = far.assign(question=questions)
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


def build_tiers(company: Company) -> TierResult:
    """Step 2: the team's tiers beside ABC, XYZ and the suggested tier, and where they disagree.

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

    basis = settings.abc.by
    if basis == "margin" and not figures["margin"].notna().any():
        flags.append(TierFlag("no_margin", t("tiers.flag.no_margin")))
        basis = "revenue"
    basis_word = t(f"tiers.basis.{basis}")

    # ABC
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

    # mono-client risk: a client above the line on revenue or on margin
    monos = find_mono_clients(table, limit=settings.abc.mono_client_share)
    for row in monos.itertuples(index=False):
        flags.append(TierFlag("mono_client", t("tiers.flag.mono_client", name=table.at[row.client_id, "name"],
                                               share=_percent(row.share), basis=t(f"tiers.basis.{row.basis}")),
                              (row.client_id,)))
    table["mono_client"] = table.index.isin(monos["client_id"])

    # XYZ
    dataset = company.transactions_dataset
    has_tx = dataset is not None or (company.transactions is not None and len(company.transactions) > 0)
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
    if has_tx:
        notes.extend(_regularity_notes(table, choice, settings.xyz, n_periods))
        if dataset is not None:
            first, last = dataset.date_min, dataset.date_max
        else:
            tx_dates = pd.to_datetime(company.transactions["date"])
            first, last = tx_dates.min(), tx_dates.max()
        fmt = "%Y-%m"
        notes.append(t("tiers.note.xyz", period_one=t(f"tiers.period_one.{period}"), n=n_periods,
                       period=t(f"tiers.period.{period}"), start=first.strftime(fmt),
                       end=last.strftime(fmt), x=_percent(settings.xyz.x), y=_percent(settings.xyz.y)))
        near = table.index[table["xyz_borderline"]]
        if len(near):
            flags.append(TierFlag("borderline", t("tiers.flag.borderline", count=len(near),
                                                  points=_percent(settings.xyz.borderline), n=n_periods),
                                  tuple(near)))
    else:
        notes.append(t("tiers.note.no_transactions"))

    # the value score and the suggested tier
    components, available, weights = score_clients(figures, weights=settings.score.weights, basis=basis)
    table = table.join(components)
    table["suggested_tier"] = suggest_tiers(table["score"], shares=settings.score.shares, value=table[basis])
    notes.append(t("tiers.note.score", components=", ".join(t(f"tiers.component.{c}") for c in available),
                   a=_percent(settings.score.shares[0]), b=_percent(settings.score.shares[1])))

    # the team's placement
    placement = company.placement
    has_team = placement is not None and len(placement) > 0
    if has_team:
        team = placement.drop_duplicates("client_id", keep="last")
        team = pd.Series(team["tier"].astype(object).to_numpy(), index=team["client_id"].astype(str).to_numpy())
        table["team_tier"] = team.reindex(table.index).astype(object)
    else:
        table["team_tier"] = pd.Series(None, index=table.index, dtype=object)
        flags.append(TierFlag("no_placement", t("tiers.flag.no_placement")))
    placed = table["team_tier"].notna()
    if has_team:
        plain = table.index[table["team_tier"].isin(["A", "B"])]
        if len(plain):
            flags.append(TierFlag("not_split", t("tiers.flag.not_split", count=len(plain)), tuple(plain)))
        unplaced = table.index[~placed]
        if len(unplaced):
            flags.append(TierFlag("unplaced", t("tiers.flag.unplaced", count=len(unplaced)), tuple(unplaced)))
        side = table.index[table["team_tier"].isin(["D", "X"])]
        if len(side):
            flags.append(TierFlag("side_tiers", t("tiers.flag.side_tiers", count=len(side)), tuple(side)))
        if has_tx:
            idle = table.index[placed & (table["purchases"].fillna(0) == 0)]
            if len(idle):
                flags.append(TierFlag("placed_no_revenue", t("tiers.flag.placed_no_revenue", count=len(idle)),
                                      tuple(idle)))

    # team versus data
    steps = measure_disagreement(table["team_tier"], table["suggested_tier"])
    table["disagreement"] = steps.abs().round().astype("Int64")
    table["direction"] = np.select([steps > 0, steps < 0], ["team_higher", "data_higher"], default="")
    table["reason_body"] = explain_suggestions(table, available, basis=basis, n_periods=n_periods, period=period)
    table["reason"] = t_column("tiers.reason.because", table.index, tier=table["suggested_tier"],
                               body=table["reason_body"])

    table = table.reset_index()
    table = table.sort_values([basis, "client_id"], ascending=[False, True], kind="stable", na_position="last")
    disagreements = list_disagreements(table)
    columns = ["client_id", "name", "team_tier", "suggested_tier", "disagreement", "direction", "abc", "xyz",
               "abc_xyz", "demand_pattern", "score", *[f"score_{c}" for c in available], "revenue", "margin", "share",
               "cum_share", "cv", "cv_own", "xyz_borderline", "own_periods", "adi", "cv2", "purchases", "active_periods",
               "tenure_months", "months_since_last", "payment_delay_days", "support_hours", "deal_cycle_days",
               "mono_client", "reason"]
    table = table[[c for c in columns if c in table.columns]].reset_index(drop=True)
    if not table["margin"].notna().any():
        table = table.drop(columns=["margin"])

    summary = table.groupby("abc").agg(clients=("client_id", "size"), value=(basis, "sum"))
    summary = summary.reindex(["A", "B", "C"]).fillna(0)
    summary["clients"] = summary["clients"].astype(int)
    summary["client_share"] = summary["clients"] / max(len(table), 1)
    positive_total = table[basis].clip(lower=0).sum()
    summary["value_share"] = summary["value"] / positive_total if positive_total > 0 else np.nan
    summary.index.name = "abc"

    return TierResult(
        table=table, basis=basis, cutoffs=cutoffs, cutoffs_source=source, components=available, weights=weights,
        abc_summary=summary.reset_index(), matrix=build_abc_xyz_matrix(table) if has_tx else None,
        pattern_matrix=build_pattern_matrix(table) if has_tx else None, period_choice=choice,
        confusion=build_confusion(table) if has_team else None, disagreements=disagreements,
        tier_counts=count_tiers(table), flags=flags, notes=notes, has_team=has_team, has_transactions=has_tx,
        period=period, n_periods=n_periods,
    )
