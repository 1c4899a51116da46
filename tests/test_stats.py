"""Tests of the small-sample statistics, against known values and scipy as the reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from helpers.core.stats import (benjamini_hochberg, cliffs_delta, dominance_interval, fisher_exact_test, mann_whitney_p)
from helpers.core.stats import newcombe_difference, permutation_association_p, wilson_interval


def test_wilson_interval_known_values():
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 10)[0] == 0.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@pytest.mark.parametrize("a, m, b, n, expected", [
    # Newcombe (1998), table II, method 10
    (56, 70, 48, 80, (0.0524, 0.3339)),
    (9, 10, 3, 10, (0.1705, 0.8090)),
    (6, 7, 2, 7, (0.0582, 0.8062)),
    (5, 56, 0, 29, (-0.0381, 0.1926)),
    (0, 10, 0, 20, (-0.1611, 0.2775)),
    (10, 10, 0, 10, (0.6075, 1.0)),
])
def test_newcombe_difference_matches_published_table(a, m, b, n, expected):
    diff, low, high = newcombe_difference(a, m, b, n)
    assert diff == pytest.approx(a / m - b / n)
    assert (round(low, 4), round(high, 4)) == expected


def test_newcombe_difference_empty_group_is_nan():
    assert all(math.isnan(v) for v in newcombe_difference(1, 0, 2, 5))


def test_dominance_equals_scaled_mann_whitney_u_with_ties():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, 17), rng.integers(1, 7, 11)
    u = st.mannwhitneyu(x, y).statistic
    theta, low, high = dominance_interval(x, y)
    assert theta == pytest.approx(u / (17 * 11))
    assert low < theta < high


def test_cliffs_delta_equals_pairwise_definition_and_share_difference():
    x, y = [1, 2, 2, 5, 7], [2, 3, 3, 4]
    pairs = np.sign(np.subtract.outer(x, y))
    assert cliffs_delta(x, y)[0] == pytest.approx(pairs.mean())
    # on yes/no values delta is the difference of shares, so both kinds share one scale
    yes_a, yes_b = [1] * 7 + [0] * 3, [1] * 2 + [0] * 8
    assert cliffs_delta(yes_a, yes_b)[0] == pytest.approx(0.7 - 0.2)


def test_dominance_interval_solves_newcombe_method_5():
    # independent check: on a fine grid, the interval is where (theta_hat - t)^2 <= z^2 V(t)
    x, y = [4, 5, 6, 6, 9, 10], [1, 3, 4, 5, 7, 2, 2, 3]
    m, n = len(x), len(y)
    theta, low, high = dominance_interval(x, y)
    grid = np.linspace(0, 1, 200_001)
    big = (m + n) / 2 - 1
    var = grid * (1 - grid) * (1 + big * (1 - grid) / (2 - grid) + big * grid / (1 + grid)) / (m * n)
    inside = grid[(theta - grid) ** 2 <= st.norm.ppf(0.975) ** 2 * var]
    assert low == pytest.approx(inside.min(), abs=1e-5)
    assert high == pytest.approx(inside.max(), abs=1e-5)


def test_dominance_interval_not_degenerate_when_groups_do_not_overlap():
    theta, low, high = dominance_interval([5, 6, 7, 8, 9], [1, 2, 3, 4, 4.5])
    assert theta == 1.0 and high == 1.0
    assert 0.5 < low < 0.9  # five against five cannot prove near-perfect separation


def test_cliffs_delta_interval_covers_the_truth_about_95_percent():
    rng = np.random.default_rng(11)
    true_delta = 2 * st.norm.cdf(0.8 / math.sqrt(2)) - 1  # two normals 0.8 sd apart
    hits = 0
    runs = 400
    for _ in range(runs):
        _, low, high = cliffs_delta(rng.normal(0.8, 1, 12), rng.normal(0, 1, 30))
        hits += low <= true_delta <= high
    assert 0.91 <= hits / runs <= 0.99


def test_mann_whitney_p_matches_scipy_and_handles_constants():
    x, y = [1.2, 3.4, 2.2, 5.0, 4.1, np.nan], [0.5, 1.1, 2.0, 0.7]
    assert mann_whitney_p(x, y) == pytest.approx(st.mannwhitneyu(x[:-1], y).pvalue)
    assert mann_whitney_p([2, 2, 2], [2, 2]) == 1.0
    assert math.isnan(mann_whitney_p([], [1, 2]))


def test_fisher_exact_test_matches_scipy():
    p, ratio, low, high = fisher_exact_test(8, 10, 2, 10)
    table = [[8, 2], [2, 8]]
    assert p == pytest.approx(st.fisher_exact(table).pvalue)
    reference = st.contingency.odds_ratio(table)
    assert ratio == pytest.approx(reference.statistic)
    assert (low, high) == pytest.approx(tuple(reference.confidence_interval()))
    assert low < ratio < high


def test_fisher_exact_test_nobody_has_the_trait():
    p, ratio, _, _ = fisher_exact_test(0, 5, 0, 7)
    assert p == 1.0 and math.isnan(ratio)


def test_permutation_association_finds_a_real_difference_and_not_noise():
    groups = np.array([True] * 20 + [False] * 40)
    codes = np.array([0] * 15 + [1] * 5 + [0] * 8 + [1] * 20 + [2] * 12)
    assert permutation_association_p(groups, codes, seed=1) < 0.01
    rng = np.random.default_rng(5)
    p_values = [permutation_association_p(groups, rng.integers(0, 3, 60), permutations=199, seed=s)
                for s in range(60)]
    # under no difference the p-values are roughly uniform: about 5% fall below 0.05
    assert np.mean(np.array(p_values) < 0.05) <= 0.15
    assert 0.3 < np.median(p_values) < 0.7


def test_permutation_association_agrees_with_fisher_on_two_levels():
    groups = np.array([True] * 10 + [False] * 10)
    codes = np.array([1] * 8 + [0] * 2 + [1] * 2 + [0] * 8)
    p = permutation_association_p(groups, codes, permutations=4999, seed=2)
    assert p == pytest.approx(st.fisher_exact([[8, 2], [2, 8]]).pvalue, abs=0.01)


def test_permutation_association_without_variation_is_nan():
    assert math.isnan(permutation_association_p([True, False, True], [0, 0, 0]))
    assert math.isnan(permutation_association_p([True, True], [0, 1]))


def test_benjamini_hochberg_matches_scipy():
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, 5)])
    np.testing.assert_allclose(benjamini_hochberg(p), st.false_discovery_control(p, method="bh"))
    with_nan = np.array([0.2, np.nan, 0.01, 0.04])
    out = benjamini_hochberg(with_nan)
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], st.false_discovery_control([0.2, 0.01, 0.04]))


def test_unequal_spread_keeps_the_level_of_cliffs_interval_and_rank_test():
    # issue 10 (tests/data/criteria_cases/cliff_interval_unequal_spread): same median, the smaller group
    # three times as spread out, so the true Cliff's delta is 0; Mann-Whitney rejected in 11-14%
    from helpers.core.stats import cliffs_delta, rank_test_p

    rng = np.random.default_rng(27)
    reps, covered, rejected = 300, 0, 0
    for _ in range(reps):
        x, y = rng.lognormal(0, 1.5, 30), rng.lognormal(0, 0.7, 120)
        _, low, high = cliffs_delta(x, y)
        covered += low <= 0 <= high
        rejected += rank_test_p(x, y) <= 0.05
    assert covered / reps >= 0.92
    assert rejected / reps <= 0.09


def test_brunner_munzel_interval_agrees_with_scipy():
    from helpers.core.stats import brunner_munzel_interval

    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 3, 30), rng.normal(0, 1, 120)
    theta, low, high = brunner_munzel_interval(x, y)
    assert theta == pytest.approx(st.mannwhitneyu(x, y).statistic / (30 * 120))
    assert (low + high) / 2 == pytest.approx(theta)  # symmetric: nothing was clipped here
    # at the 1 - p level the interval just reaches 1/2: the interval and scipy's test are one statistic
    p = st.brunnermunzel(x, y).pvalue
    _, low_p, high_p = brunner_munzel_interval(x, y, confidence=1 - p)
    assert min(abs(low_p - 0.5), abs(high_p - 0.5)) == pytest.approx(0, abs=1e-9)
    # wider than the equal-shape interval when the smaller group is the spread-out one
    _, n_low, n_high = dominance_interval(x, y)
    assert high - low > n_high - n_low


def test_wilson_limits_hold_the_share_at_the_ends():
    from helpers.core.stats import wilson_interval

    for n in range(1, 200):
        low, high = wilson_interval(n, n)
        assert high == 1.0 and low <= 1.0
        low, high = wilson_interval(0, n)
        assert low == 0.0 and high >= 0.0
