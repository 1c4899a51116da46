"""Tests of the step-3 plots: they draw, label, and show how many clients or deals stand behind them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.step3_compare_traits.deals import summarise_deals  # noqa: E402
from helpers.core.i18n import language  # noqa: E402
from helpers.step3_compare_traits.plots import (plot_deal_cycle, plot_deal_reasons, plot_effect_forest, plot_trait_distribution)
from helpers.step3_compare_traits.traits import compare_traits  # noqa: E402

from test_deals import TIERS, _company as _deal_company, _deals  # noqa: E402
from test_traits import _company  # noqa: E402


@pytest.fixture(autouse=True)
def _english_and_close():
    with language("en"):
        yield
    plt.close("all")


@pytest.fixture(scope="module")
def comparison():
    company, table = _company()
    with language("en"):
        return compare_traits(company, table)


def _texts(ax):
    return [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]


def test_number_distribution_shows_n_per_tier(comparison):
    ax = plot_trait_distribution(comparison, "office_m2")
    assert ax.get_title() == "office_m2 by tier (90 clients)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A\nn=20", "B\nn=40", "C\nn=30"]
    assert "office_m2" in ax.get_ylabel()


def test_share_distribution_stacks_to_100_with_counts(comparison):
    ax = plot_trait_distribution(comparison, "has_call_centre")
    widths = {}
    for patch in ax.patches:
        y = round(patch.get_y() + patch.get_height() / 2)
        widths[y] = widths.get(y, 0) + patch.get_width()
    assert all(w == pytest.approx(100) for w in widths.values())
    assert ax.get_yticklabels()[0].get_text() == "A n=20"
    yes_a = int(comparison.values.query("tier == 'A'")["has_call_centre"].eq("yes").sum())
    assert str(yes_a) in [t.get_text() for t in ax.texts]


def test_unknown_trait_says_so(comparison):
    ax = plot_trait_distribution(comparison, "no_such_trait")
    assert "no_such_trait was not compared" in _texts(ax)


def test_forest_puts_first_contact_traits_first_and_shows_n(comparison):
    ax = plot_effect_forest(comparison)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "office_m2"
    assert labels[-1] == "support_hours"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["A vs rest (signs of A) (20 vs 70 clients)", "C vs rest (red flags) (30 vs 60 clients)"]
    assert "retail" in [t.get_text() for t in ax.texts]  # the category level behind the effect


def test_forest_with_only_noted_rows_explains_itself():
    company, table = _company(n_a=2, n_b=3, n_c=2)
    with language("en"):
        result = compare_traits(company, table)
        ax = plot_effect_forest(result)
    assert any("enough clients" in text for text in _texts(ax))


def test_deal_plots_show_outcomes_and_tiers():
    summary = summarise_deals(_deal_company(_deals()), TIERS)
    ax = plot_deal_reasons(summary)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["won fast (n=2)", "won (n=1)", "stalled (n=1)", "refused (n=2)"]
    assert "6 deals" in ax.get_title()
    ax = plot_deal_cycle(summary)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A\nn=2", "B\nn=1"]
    assert "no deals.csv" in _texts(plot_deal_reasons(None))[0]


def test_strip_points_are_jittered_the_same_every_run_and_leave_numpy_alone(comparison):
    """The report of the same inputs is the same file: seaborn's jitter draws from numpy's global generator."""
    import numpy as np

    def points():
        ax = plot_trait_distribution(comparison, "office_m2")
        return np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])

    np.random.seed(123)
    first = points()
    after = np.random.random()
    np.random.seed(7)
    assert np.array_equal(first, points())
    np.random.seed(123)
    points()
    assert np.random.random() == after  # the caller's random stream is untouched
