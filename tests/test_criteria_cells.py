"""Step 4 computes on cells of alike clients: the shuffles and resamples drawn per cell must have exactly the
distributions of shuffling the clients' tiers and of resampling the clients, and a number with many values
is searched on a quantile grid that keeps the pairs' thresholds exact (helpers.step4_write_criteria.search)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.step1_list_clients.settings import CriteriaSettings
from helpers.step4_write_criteria import search
from helpers.step4_write_criteria.search import (MAX_CUTS, _prepare, _search, labels_draw, observed_draw,
                                                 resampled_draws, shuffled_draws)


def _company(n: int, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    clients = pd.DataFrame({
        "industry": rng.choice(["retail", "it", "finance"], n),
        "call_centre": rng.choice(["yes", "no"], n),
        "headcount": rng.choice([5.0, 20.0, 60.0, 200.0, np.nan], n),
    })
    # tiers depend on headcount, so the scores are not all near zero
    big = clients["headcount"].fillna(0).to_numpy() >= 60
    y = np.where(rng.random(n) < np.where(big, 0.5, 0.15), "A", np.where(rng.random(n) < 0.4, "C", "B"))
    return clients, y


KINDS = {"industry": "category", "call_centre": "yesno", "headcount": "number"}


def _null_max_by_client_shuffles(prep, y, count, rng):
    labels = np.stack([rng.permutation(y) for _ in range(count)], axis=1)
    scores, _ = _search(prep, labels_draw(prep, labels), 5)
    return scores.max(axis=0)


@pytest.mark.parametrize("per_cell", [1, 10_000], ids=["labels-shuffled", "per-cell-hypergeometric"])
def test_shuffles_per_cell_have_the_distribution_of_shuffled_tiers(monkeypatch, per_cell):
    monkeypatch.setattr(search, "CLIENTS_PER_CELL_TO_DRAW", per_cell)
    clients, y = _company(400)
    prep = _prepare(clients, KINDS, CriteriaSettings())
    assert prep.cells < len(clients) / 10  # 3 x 2 x 5 kinds of client at most
    draw = observed_draw(prep, np.arange(len(y)), y)
    counts = {d: int((y == d).sum()) for d in "AC"}
    shuffled = shuffled_draws(draw.w, counts, 1500, np.random.default_rng(1))
    # every shuffle keeps the tiers' sizes and never puts more clients in a cell than it holds
    assert (shuffled.t["A"].sum(axis=0) == counts["A"]).all() and (shuffled.t["C"].sum(axis=0) == counts["C"]).all()
    assert (shuffled.t["A"] + shuffled.t["C"] <= draw.w).all()
    per_cell_null = _search(prep, shuffled, 5)[0].max(axis=0)
    reference = _null_max_by_client_shuffles(prep, y, 1500, np.random.default_rng(2))
    assert stats.ks_2samp(per_cell_null, reference).pvalue > 0.001
    # the A count of the largest cell is hypergeometric, as when the clients' tiers are shuffled
    big = int(np.argmax(prep.size))
    expected = stats.hypergeom(len(y), counts["A"], int(prep.size[big]))
    drawn = shuffled.t["A"][big]
    assert abs(drawn.mean() - expected.mean()) < 4 * expected.std() / np.sqrt(len(drawn))
    assert drawn.var() == pytest.approx(expected.var(), rel=0.15)


def test_resamples_per_cell_have_the_distribution_of_resampled_clients():
    clients, y = _company(300, seed=5)
    prep = _prepare(clients, KINDS, CriteriaSettings())
    draw = observed_draw(prep, np.arange(len(y)), y)
    per_cell = _search(prep, resampled_draws(draw, 1500, np.random.default_rng(3)), 5)[0]
    rng = np.random.default_rng(4)
    reference = []
    for _ in range(1500):
        idx = rng.integers(0, len(y), len(y))
        reference.append(_search(prep, observed_draw(prep, idx, y[idx]), 5)[0][:, 0])
    reference = np.array(reference).T
    for family in range(len(per_cell)):  # each family's best score: same distribution
        a, b = per_cell[family], reference[family]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        assert stats.ks_2samp(a, b).pvalue > 0.001, family


def test_a_number_with_many_values_is_searched_on_a_quantile_grid():
    rng = np.random.default_rng(7)
    n = 20_000
    revenue = rng.lognormal(10, 1, n).round(2)  # ~20,000 distinct values
    clients = pd.DataFrame({"revenue": revenue, "region": rng.choice(["N", "S"], n)})
    prep = _prepare(clients, {"revenue": "number", "region": "category"}, CriteriaSettings())
    trait = prep.traits[0]
    assert len(trait.cuts) <= MAX_CUTS + len(trait.pair_levels)
    # each pair condition covers whole cells: its threshold is a bin edge
    for level in trait.pair_levels:
        covered = clients["revenue"].to_numpy() >= level
        assert (pd.Series(covered).groupby(prep.of_client).nunique() == 1).all()
    # a planted threshold is found within a bin (1/256 of the clients) of where it is
    cut = np.quantile(revenue, 0.8)
    y = np.where(revenue >= cut, "A", np.where(rng.random(n) < 0.5, "C", "B"))
    scores, best = _search(prep, observed_draw(prep, np.arange(n), y), 5, details=True)
    found = best[0][0]
    assert found.ident == ">=" and abs((revenue < found.threshold).mean() - 0.8) < 1 / 256
    assert revenue[revenue < found.threshold].max() < found.threshold <= revenue[revenue >= found.threshold].min()


def test_few_values_are_searched_at_every_change_as_before():
    clients, y = _company(200)
    prep = _prepare(clients, KINDS, CriteriaSettings())
    headcount = next(tr for tr in prep.traits if tr.name == "headcount")
    assert len(headcount.cuts) == clients["headcount"].nunique() - 1
