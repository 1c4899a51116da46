"""Small-sample statistics shared by steps 3 and 4: intervals, effect sizes, multiplicity.

Tiers of 5-60 clients are small, so every estimate here comes with an interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize as _opt
from scipy import stats as _st
from scipy.stats import contingency as _contingency

# Fisher's test keeps the exact conditional odds-ratio interval while the table's support is at most this wide
EXACT_ODDS_SUPPORT = 2000


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a share `successes / n` (NaNs when n == 0).

    Matches statsmodels' ``proportion_confint(method="wilson")``.

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        return (math.nan, math.nan)
    z = _st.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 and n successes the exact limits are 0 and 1, but centre -/+ half lands a rounding error
    # inside (wilson_interval(10, 10) gave 0.9999999999999999 < share 1.0): clamp so that
    # 0 <= low <= share <= high <= 1 always holds.
    low = 0.0 if successes <= 0 else min(p, max(0.0, centre - half))
    high = 1.0 if successes >= n else max(p, min(1.0, centre + half))
    return (float(low), float(high))


def newcombe_difference(successes1: int, n1: int, successes2: int, n2: int, *,
                        confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference of two shares ``s1/n1 - s2/n2`` with Newcombe's hybrid score interval.

    Newcombe (1998), method 10: built from the two Wilson intervals, so it stays inside
    [-1, 1] and behaves at 0% and 100%, where the textbook (Wald) interval collapses.
    Returns (difference, low, high); NaNs when a group is empty.

    >>> [round(x, 4) for x in newcombe_difference(56, 70, 48, 80)]
    [0.2, 0.0524, 0.3339]
    """
    if n1 <= 0 or n2 <= 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = successes1 / n1, successes2 / n2
    l1, u1 = wilson_interval(successes1, n1, confidence=confidence)
    l2, u2 = wilson_interval(successes2, n2, confidence=confidence)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (float(diff), float(max(-1.0, low)), float(min(1.0, high)))


def _clean(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def _dominance(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + P(X = Y) / 2 over all pairs, from ranks (no m*n matrix, so large groups are cheap)."""
    ranks = _st.rankdata(np.concatenate([x, y]))
    u = ranks[: len(x)].sum() - len(x) * (len(x) + 1) / 2
    return float(u / (len(x) * len(y)))


def _hanley_mcneil_variance(theta: float, m: int, n: int) -> float:
    # Newcombe (2006) replaces both (m - 1) and (n - 1) by N - 1 with N = (m + n) / 2,
    # which keeps the variance sensible for unbalanced groups.
    big_n = (m + n) / 2
    return theta * (1 - theta) / (m * n) * (1 + (big_n - 1) * ((1 - theta) / (2 - theta) + theta / (1 + theta)))


def dominance_interval(x, y, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """The probability that a value from `x` beats one from `y` (ties count half), with an interval.

    This is the Mann-Whitney U divided by ``len(x) * len(y)`` (the "common-language effect
    size", or AUC). The interval is Newcombe's (2006) score-type method 5: it solves
    ``(estimate - theta)**2 = z**2 * V(theta)`` with the Hanley-McNeil variance, so it stays
    inside [0, 1] and is not degenerate when the groups do not overlap at all, which is
    common in tiers of 5-20 clients. NaNs are dropped; NaNs returned when a group is empty.

    >>> [round(v, 4) for v in dominance_interval([3, 4, 5], [1, 2, 3])]
    [0.9444, 0.4485, 0.9968]
    """
    x, y = _clean(x), _clean(y)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        return (math.nan, math.nan, math.nan)
    theta = _dominance(x, y)
    z2 = _st.norm.ppf(0.5 + confidence / 2) ** 2

    def gap(t: float) -> float:
        return (theta - t) ** 2 - z2 * _hanley_mcneil_variance(t, m, n)

    # gap is >= 0 at the ends 0 and 1 (zero variance there) and < 0 just beside the estimate;
    # stepping off the estimate avoids the trivial root when it sits at 0 or 1 itself
    eps = 1e-12
    low = 0.0 if theta <= 0 or gap(0.0) <= 0 else _opt.brentq(gap, 0.0, theta - eps)
    high = 1.0 if theta >= 1 or gap(1.0) <= 0 else _opt.brentq(gap, theta + eps, 1.0)
    return (theta, float(low), float(high))


def brunner_munzel_interval(x, y, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """The dominance probability P(X > Y) + P(X = Y)/2 with the Brunner-Munzel interval.

    Brunner & Munzel (2000): the variance comes from each group's own placements, so it does
    not assume the two groups have the same shape or spread (Mann-Whitney's and Hanley-McNeil's
    variances do, and are too narrow when the smaller group is the more spread out one). The
    interval is ``theta +- t(df) * se`` with Satterthwaite's df, clipped to [0, 1]; the same
    statistic as ``scipy.stats.brunnermunzel`` and statsmodels' ``rank_compare_2indep``.
    Returns NaN limits when a group has fewer than 2 values or both variances are 0 (groups
    that do not overlap at all); NaNs are dropped first.

    >>> [round(v, 4) for v in brunner_munzel_interval([1, 2, 3, 4, 9], [3, 4, 5, 6])]
    [0.3, 0.0, 0.8138]
    """
    x, y = _clean(x), _clean(y)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        return (_dominance(x, y) if m and n else math.nan, math.nan, math.nan)
    ranks = _st.rankdata(np.concatenate([x, y]))
    rx, ry = ranks[:m], ranks[m:]
    theta = float((rx.mean() - (m + 1) / 2) / n)
    # placements: a value's rank among all minus its rank within its own group
    px = rx - _st.rankdata(x)
    py = ry - _st.rankdata(y)
    var_x = px.var(ddof=1) / (n * n * m)
    var_y = py.var(ddof=1) / (m * m * n)
    se2 = var_x + var_y
    if not se2 > 0:
        return (theta, math.nan, math.nan)
    df = se2 ** 2 / (var_x ** 2 / (m - 1) + var_y ** 2 / (n - 1))
    half = _st.t.ppf(0.5 + confidence / 2, df) * math.sqrt(se2)
    return (theta, float(max(0.0, theta - half)), float(min(1.0, theta + half)))


def cliffs_delta(x, y, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Cliff's delta (equal to the rank-biserial correlation) of `x` against `y`, with an interval.

    ``delta = P(X > Y) - P(X < Y)``, from -1 (every x below every y) to +1 (every x above);
    0 means no tendency. For yes/no values it equals the difference of the shares of "yes",
    so numbers and yes/no traits share one scale. The interval is the wider of two intervals
    of the dominance probability, mapped onto the delta scale (``delta = 2 * theta - 1``):
    Newcombe's score interval (good with tiny or non-overlapping groups, but it assumes equal
    shapes) and the Brunner-Munzel interval (holds its level when one group is more spread
    out; the case in tests/data/criteria_cases/cliff_interval_unequal_spread).

    >>> [round(v, 4) for v in cliffs_delta([3, 4, 5], [1, 2, 3])]
    [0.8889, -0.1031, 1.0]
    """
    theta, low, high = dominance_interval(x, y, confidence=confidence)
    _, bm_low, bm_high = brunner_munzel_interval(x, y, confidence=confidence)
    if not math.isnan(bm_low):
        low, high = min(low, bm_low), max(high, bm_high)
    return (2 * theta - 1, 2 * low - 1, 2 * high - 1)


def rank_test_p(x, y) -> float:
    """Two-sided p-value that values of `x` tend to be larger or smaller than those of `y`.

    The Brunner-Munzel test (``scipy.stats.brunnermunzel``): it tests P(X > Y) = 1/2 without
    assuming equal spread, unlike Mann-Whitney, which tests equal distributions and rejects
    too often when the smaller group is the wider one. Where its statistic is undefined (the
    groups do not overlap, or a group has one value) Mann-Whitney's exact p is used. NaNs dropped.

    >>> round(rank_test_p([1, 2, 3, 4], [5, 6, 7, 8]), 4)
    0.0286
    """
    x, y = _clean(x), _clean(y)
    if len(x) == 0 or len(y) == 0:
        return math.nan
    if np.ptp(np.concatenate([x, y])) == 0:
        return 1.0
    if len(x) >= 2 and len(y) >= 2:
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = float(_st.brunnermunzel(x, y).pvalue)
        if math.isfinite(p):
            return p
    return mann_whitney_p(x, y)


def mann_whitney_p(x, y) -> float:
    """Two-sided p-value of the Mann-Whitney U test (scipy chooses exact or normal); NaNs dropped.

    >>> round(mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]), 4)
    0.0286
    """
    x, y = _clean(x), _clean(y)
    if len(x) == 0 or len(y) == 0:
        return math.nan
    if np.ptp(np.concatenate([x, y])) == 0:
        return 1.0  # all values equal: no evidence of any difference
    return float(_st.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def fisher_exact_test(successes1: int, n1: int, successes2: int, n2: int, *,
                      confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Fisher's exact test of two shares, with the conditional odds ratio and its exact interval.

    The table is ``[[s1, n1 - s1], [s2, n2 - s2]]``. Returns (p-value, odds ratio, low, high);
    the odds ratio is the conditional maximum-likelihood estimate (0 or inf when a cell is empty,
    which is what the data say; the interval is then one-sided). On tables whose support is wider than
    `EXACT_ODDS_SUPPORT` (thousands of clients) with no empty cell, the sample odds ratio and Woolf's logit
    interval are given instead: they agree with the conditional ones there and cost nothing.

    >>> [round(v, 4) for v in fisher_exact_test(8, 10, 2, 10)][:2]
    [0.023, 13.2526]
    """
    if n1 <= 0 or n2 <= 0:
        return (math.nan, math.nan, math.nan, math.nan)
    table = np.array([[successes1, n1 - successes1], [successes2, n2 - successes2]])
    p_value = float(_st.fisher_exact(table).pvalue)
    if (table.sum(axis=0) == 0).any():  # nobody (or everybody) has the trait: no odds to compare
        return (p_value, math.nan, math.nan, math.nan)
    # the exact conditional interval sums the noncentral hypergeometric over the table's support, whose width
    # grows with n (a third of a second at 20,000 clients); on such large tables with no empty cell the sample
    # odds ratio and Woolf's logit interval agree with it (Agresti, Categorical Data Analysis, 3rd ed., 3.1)
    yes = successes1 + successes2
    width = min(n1, yes) - max(0, n1 - (n1 + n2 - yes))
    kind = "sample" if width > EXACT_ODDS_SUPPORT and table.min() > 0 else "conditional"
    ratio = _contingency.odds_ratio(table, kind=kind)
    ci = ratio.confidence_interval(confidence_level=confidence)
    return (p_value, float(ratio.statistic), float(ci.low), float(ci.high))


def permutation_association_p(in_group, codes, *, permutations: int = 999, seed: int = 0) -> float:
    """Permutation p-value for "category shares differ between a group and the rest".

    The statistic is Pearson's chi-square of the 2 x k table; the group labels are shuffled
    `permutations` times, so the p-value is valid at any sample size (chi-square's own
    approximation is not, with the small counts of tiers). ``p = (1 + #{stat >= observed}) /
    (1 + permutations)``, as in Phipson & Smyth (2010).

    Args:
        in_group: booleans, one per client (True = in the group, e.g. tier A).
        codes: integer category codes 0..k-1, one per client.
        permutations: number of shuffles.
        seed: random seed, so a run can be repeated exactly.

    >>> permutation_association_p([1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], seed=1) < 0.05
    True
    """
    group = np.asarray(in_group, dtype=bool)
    codes = np.asarray(codes, dtype=int)
    k = int(codes.max()) + 1 if len(codes) else 0
    n_group = int(group.sum())
    if k < 2 or n_group in (0, len(group)):
        return math.nan
    totals = np.bincount(codes, minlength=k).astype(float)
    expected_in = totals * n_group / len(group)
    expected_out = totals - expected_in
    keep = totals > 0

    def chi2(counts_in: np.ndarray) -> np.ndarray:
        counts_out = totals - counts_in
        return (((counts_in - expected_in) ** 2)[..., keep] / expected_in[keep]).sum(axis=-1) + \
               (((counts_out - expected_out) ** 2)[..., keep] / expected_out[keep]).sum(axis=-1)

    observed = chi2(np.bincount(codes[group], minlength=k).astype(float))
    rng = np.random.default_rng(seed)
    # the counts per category among the shuffled group members are multivariate hypergeometric (categories
    # as colours, the group as the sample): drawn directly, exactly as shuffling, at a cost of k per shuffle
    counts = rng.multivariate_hypergeometric(totals.astype(np.int64), n_group, size=permutations).astype(float)
    exceed = int((chi2(counts) >= observed - 1e-9).sum())
    return (1 + exceed) / (1 + permutations)


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaNs stay NaN and are not counted.

    Matches ``scipy.stats.false_discovery_control(p, method="bh")`` on the non-missing values.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")]).round(4).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    values = p[ok]
    order = np.argsort(values)
    scaled = values[order] * m / np.arange(1, m + 1)
    # step-up: each q is the smallest scaled p at its rank or above
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1.0)
    result = np.empty(m)
    result[order] = adjusted
    out[ok] = result
    return out
