"""The Pareto cuts behind ABC and the mono-client rule: one definition for every step.

Step 1's client audit (size bands, key clients, the mix verdict) and step 2's tiers both cut clients by
their cumulative share of revenue; both read the mono-client rule from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPS = 1e-12


def computed_abc_limits(values) -> tuple[int, int]:
    """Computed ABC (Ultsch & Lötsch, PLoS One 2015): how many items fall in A, and in A plus B.

    The ABC curve plots the share of items taken, largest first (effort), against the share of the
    total they hold (yield). The Pareto point is the curve point nearest the ideal (0, 1); the
    break-even point is where the curve's slope is 1, i.e. the item's value equals the mean. The A|B
    limit is the earlier of the two; the B|C limit is the curve point nearest (x, 1), where x is the
    effort of the later one. Only positive values take part.

    >>> computed_abc_limits([100, 90, 80, 10, 5, 4, 3, 2, 1, 1])
    (3, 4)
    >>> computed_abc_limits([10, 10, 10, 10])  # flat: the Pareto point sits halfway
    (2, 4)
    """
    x = np.asarray(values, dtype=float)
    x = np.sort(x[np.isfinite(x) & (x > 0)])[::-1]
    n = len(x)
    if n == 0:
        return (0, 0)
    effort = np.arange(1, n + 1) / n
    yield_ = np.cumsum(x) / x.sum()
    pareto = int(np.argmin(effort ** 2 + (1 - yield_) ** 2))
    slope = x / x.mean()
    gap = np.abs(slope - 1)
    # on a flat stretch of equal values, the slope leaves 1 at its end
    break_even = int(np.flatnonzero(gap <= gap.min() + _EPS)[-1])
    a_end = min(pareto, break_even)
    x_ref = effort[max(pareto, break_even)]
    submarginal = int(np.argmin((effort - x_ref) ** 2 + (1 - yield_) ** 2))
    return (a_end + 1, max(submarginal, a_end) + 1)


def place_in_abc(values: pd.Series, *, cutoffs: tuple[float, float] | str = (0.80, 0.95)) -> pd.DataFrame:
    """ABC class of each client by its share of the total (revenue or margin); the input is not modified.

    Clients are sorted largest first. A client is A while the clients *before* it hold less than the
    A line, B while less than the B line, else C: the client that crosses a line belongs to the upper
    class, so a client holding 85% alone is A. Shares are of the positive total, so loss-makers keep
    their negative share (never clipped) and are C. Clients with exactly equal values share the class
    of the first of them. `cutoffs="auto"` uses the computed ABC limits.

    Args:
        values: one value per client, indexed by client_id (missing counts as 0).
        cutoffs: (A line, B line) as cumulative shares, or "auto".

    Returns:
        DataFrame in Pareto order (largest first) with value, share, cum_share, abc.

    >>> place_in_abc(pd.Series([85.0, 10.0, 5.0], index=["a", "b", "c"]))["abc"].tolist()
    ['A', 'B', 'C']
    >>> place_in_abc(pd.Series([5.0, 50.0, 15.0, 30.0], index=list("dacb")))["abc"].to_dict()
    {'a': 'A', 'b': 'A', 'c': 'B', 'd': 'C'}
    """
    vals = pd.to_numeric(values, errors="coerce").astype(float).fillna(0.0)
    ids = vals.index.astype(str).to_numpy()
    # largest first; equal values by id, so the result never depends on the input order
    order = np.lexsort((ids, -vals.to_numpy()))
    ordered = vals.iloc[order]
    out = pd.DataFrame({"value": ordered.to_numpy()}, index=ordered.index)
    positive = ordered.clip(lower=0).to_numpy()
    total = positive.sum()
    if total <= 0:
        out["share"] = np.nan
        out["cum_share"] = np.nan
        out["abc"] = "C"
        return out
    cum = np.cumsum(positive) / total
    out["share"] = ordered.to_numpy() / total
    out["cum_share"] = cum
    before = np.concatenate([[0.0], cum[:-1]])
    # equal values share the class of the first of them
    before = pd.Series(before).groupby(ordered.to_numpy()).transform("min").to_numpy()
    if cutoffs == "auto":
        n_a, n_ab = computed_abc_limits(ordered.to_numpy())
        a_line = cum[n_a - 1] if n_a else 0.0
        b_line = cum[n_ab - 1] if n_ab else 0.0
    else:
        a_line, b_line = cutoffs
    out["abc"] = np.where(before < a_line - _EPS, "A", np.where(before < b_line - _EPS, "B", "C"))
    out.loc[out["value"] <= 0, "abc"] = "C"
    return out


def abc_lines(abc: pd.DataFrame, cutoffs: tuple[float, float] | str) -> tuple[float, float]:
    """The A and B lines as cumulative shares: the fixed ones, or where the computed limits fell."""
    if cutoffs != "auto":
        return (float(cutoffs[0]), float(cutoffs[1]))
    a = abc.loc[abc["abc"] == "A", "cum_share"].max()
    b = abc.loc[abc["abc"].isin(["A", "B"]), "cum_share"].max()
    return (float(a) if pd.notna(a) else 0.0, float(b) if pd.notna(b) else 0.0)


def find_mono_clients(figures: pd.DataFrame, *, limit: float = 0.50) -> pd.DataFrame:
    """The mono-client rule, stated once: a client above `limit` of the positive revenue or margin total.

    The seed on key clients: a partner bringing more than half of the profit is a mono-client whose share
    must be brought down. Used by the tier flags and by the client-mix verdict alike.

    Args:
        figures: one row per client (index client_id) with `revenue` and optionally `margin`; not modified.
        limit: the share above which a client is a mono-client (strictly above).

    Returns:
        DataFrame with client_id, basis ("revenue" or "margin") and share, one row per breach.

    >>> find_mono_clients(pd.DataFrame({"revenue": [60.0, 40.0], "margin": [10.0, 30.0]}, index=["a", "b"]))
      client_id    basis  share
    0         a  revenue   0.60
    1         b   margin   0.75
    """
    rows = []
    for basis in ("revenue", "margin"):
        if basis not in figures or not figures[basis].notna().any():
            continue
        positive_total = float(figures[basis].clip(lower=0).sum())
        if positive_total <= 0:
            continue
        share = figures[basis].fillna(0).astype(float) / positive_total
        for cid in figures.index[share > limit + _EPS]:
            rows.append({"client_id": str(cid), "basis": basis, "share": float(share[cid])})
    return pd.DataFrame(rows, columns=["client_id", "basis", "share"])
