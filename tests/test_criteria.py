"""Step 4 criteria search: planted signs are found, noise is not, the statistics are right."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from synth import PLANTED, make_company  # noqa: E402

from helpers.step1_list_clients.settings import CriteriaSettings  # noqa: E402
from helpers.step4_write_criteria.criteria import describe_rule, find_criteria, qualify
from helpers.step4_write_criteria.search import (DIRECTIONS, _prepare, _search, hypergeom_z, labels_draw,
                                                 nice_threshold)
from helpers.core.errors import DataProblem  # noqa: E402
from helpers.core.rules import Condition  # noqa: E402
from helpers.core.stats import wilson_interval  # noqa: E402

NOISE_RUNS = 40


# ---------------------------------------------------------------- known values
@pytest.mark.parametrize("k, m, big_k, big_n", [(8, 10, 20, 100), (3, 25, 30, 150), (0, 5, 10, 40), (40, 60, 50, 150)])
def test_hypergeom_z_matches_scipy_moments(k, m, big_k, big_n):
    dist = stats.hypergeom(big_n, big_k, m)  # population, successes, draws
    expected = (k - 0.5 - dist.mean()) / dist.std()
    assert float(hypergeom_z(k, m, big_k, big_n)) == pytest.approx(expected, rel=1e-5)


def test_hypergeom_z_orders_rules_like_the_exact_test():
    # among rules of one size, a higher z must mean a smaller exact one-sided p-value
    zs = [float(hypergeom_z(k, 20, 30, 150)) for k in range(5, 15)]
    ps = [stats.hypergeom(150, 30, 20).sf(k - 1) for k in range(5, 15)]
    assert zs == sorted(zs) and ps == sorted(ps, reverse=True)


def test_hypergeom_z_undefined_when_everyone_covered():
    assert hypergeom_z(30, 150, 30, 150) == -np.inf
    assert hypergeom_z(0, 0, 30, 150) == -np.inf


@given(st.floats(-1e5, 1e5, allow_nan=False), st.floats(1e-3, 1e4))
@hsettings(max_examples=200, deadline=None)
def test_nice_threshold_splits_between_the_values(low, gap):
    high = low + gap
    value = nice_threshold(low, high)
    assert low < value <= high


def _brute_force(prep, labels, min_support):
    """The same search written as plain loops, one labelling at a time (reference for the vectorised one)."""
    n = prep.n
    scores = []
    for d in DIRECTIONS:
        col_scores = []
        for q in range(labels.shape[1]):
            target = labels[:, q] == d
            big_k = int(target.sum())

            def z(k, m, kk=big_k, nn=n):
                if m < 1 or m >= nn or kk in (0, nn):
                    return -math.inf
                dist = stats.hypergeom(nn, kk, m)
                return (k - 0.5 - dist.mean()) / dist.std()

            fam = []
            for tr in prep.traits:
                best = -math.inf
                if tr.kind == "number":
                    values = tr.values
                    known = ~np.isnan(values)
                    for cut in np.unique(values[known])[1:]:
                        for mask in (known & (values >= cut), known & (values < cut)):
                            if mask.sum() >= min_support:  # judged among the clients whose value is known
                                best = max(best, z(int((target & mask).sum()), int(mask.sum()),
                                                   int((target & known).sum()), int(known.sum())))
                else:
                    known = tr.codes >= 0
                    cats = list(range(len(tr.labels)))
                    rate = {c: (target & (tr.codes == c)).sum() / max((tr.codes == c).sum(), 1) for c in cats}
                    ranked = sorted(cats, key=lambda c: -rate[c])
                    for size in range(1, len(ranked)):
                        mask = np.isin(tr.codes, ranked[:size])
                        if mask.sum() >= min_support:
                            best = max(best, z(int((target & mask).sum()), int(mask.sum()),
                                               int((target & known).sum()), int(known.sum())))
                fam.append(best)
            for family in range(len(prep.pair_traits)):
                best = -math.inf
                for i, j in zip(prep.pair_i[prep.pair_family == family], prep.pair_j[prep.pair_family == family]):
                    a, b = prep.cond_matrix[i][prep.of_client] > 0, prep.cond_matrix[j][prep.of_client] > 0
                    both = a & b
                    k, m = int((target & both).sum()), int(both.sum())
                    if m < min_support:
                        continue
                    known = (prep.cond_known[i][prep.of_client] > 0) & (prep.cond_known[j][prep.of_client] > 0)
                    value = min(z(k, m, int((target & known).sum()), int(known.sum())), z(k, m, int((target & a).sum()), int(a.sum())),
                                z(k, m, int((target & b).sum()), int(b.sum())))
                    best = max(best, value)
                fam.append(best)
            col_scores.append(fam)
        scores.append(np.array(col_scores).T)
    return np.vstack(scores)


def test_vectorised_search_matches_brute_force():
    company, table = make_company(3, n=60, noise_traits=3)
    settings = CriteriaSettings(min_support=5)
    clients = company.clients.copy()
    clients.loc[::7, "headcount"] = np.nan  # unknown values must be handled the same way
    prep = _prepare(clients, company.trait_kinds, settings)
    rng = np.random.default_rng(0)
    labels = np.stack([table["team_tier"].to_numpy(dtype=str)] + [rng.permutation(table["team_tier"].to_numpy(dtype=str))
                                                                  for _ in range(3)], axis=1)
    fast, _ = _search(prep, labels_draw(prep, labels), settings.min_support)
    slow = _brute_force(prep, labels, settings.min_support)
    assert fast.shape == slow.shape and len(prep.pair_traits) > 0
    finite = np.isfinite(slow)
    assert (np.isfinite(fast) == finite).all()
    np.testing.assert_allclose(fast[finite], slow[finite], rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- planted signs and noise
@pytest.fixture(scope="module")
def planted():
    company, table = make_company(7, bootstrap=60)
    return company, table, find_criteria(company, table)


def test_planted_signs_are_supported(planted):
    _, _, result = planted
    supported = result.supported
    singles = supported[supported["trait"].isin(PLANTED)].set_index(["points_to", "trait"])
    assert ("A", "has_call_centre") in singles.index
    assert ("A", "headcount") in singles.index
    assert ("C", "industry") in singles.index
    assert singles.loc[("A", "has_call_centre"), "rule"] == "has call centre: yes"
    assert singles.loc[("C", "industry"), "rule"] == "industry is retail"
    threshold = singles.loc[("A", "headcount"), "threshold"]
    assert 30 <= threshold <= 70 and "or more" in singles.loc[("A", "headcount"), "rule"]
    assert (singles["stability"] >= 0.5).all()
    assert not supported["trait"].str.contains("noise").any()


def test_counts_behind_each_row_are_right(planted):
    company, table, result = planted
    tiers = table.set_index("client_id")["team_tier"]
    for _, row in result.table.iterrows():
        covered = result.rules[row["id"]].evaluate(company.clients).fillna(False).to_numpy(dtype=bool)
        in_tier = tiers.reindex(company.clients["client_id"]).to_numpy(dtype=str)[covered]
        assert row["support"] == covered.sum()
        assert (row["n_a"], row["n_b"], row["n_c"]) == tuple((in_tier == x).sum() for x in "ABC")
        hits = row["n_a"] if row["points_to"] == "A" else row["n_c"]
        assert row["share"] == pytest.approx(hits / row["support"])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(hits, row["support"]))
        assert row["lift"] == pytest.approx(row["share"] / row["base_rate"])
        assert row["evidence"] != "supported" or row["ci_low"] >= row["required_share"]
        assert row["p_value"] <= row["p_adjusted"] + 1e-12
        assert row["evidence"] != "supported" or (row["support"] >= 5 and row["p_adjusted"] <= 0.05)


def test_threshold_stability_is_reported(planted):
    _, _, result = planted
    headcount = result.table.set_index("id").loc["A:headcount"]
    assert headcount["threshold_low"] <= headcount["threshold"] <= headcount["threshold_high"]
    assert headcount["threshold_spread"] == pytest.approx(headcount["threshold_high"] - headcount["threshold_low"])


def test_backtest_tells_a_from_c(planted):
    _, _, result = planted
    bt = result.backtest.table.set_index("metric")
    # routes spend the full sales process on clear A: fewer A reach it, almost no C does
    assert bt.loc["specificity", "value"] >= 0.8 and bt.loc["balanced_accuracy", "value"] >= 0.6
    assert bt.loc["baseline_not_target", "value"] == pytest.approx((result.compared == "C").sum()
                                                                   / result.compared.isin(["A", "C"]).sum())
    assert bt.loc["accuracy", "ci_low"] < bt.loc["accuracy", "value"] < bt.loc["accuracy", "ci_high"]
    assert bt.loc["accuracy", "n"] == (result.compared.isin(["A", "C"])).sum()
    assert len(result.backtest.found_per_fold) == 5 and "cross-validation" in result.backtest.caveat


def test_pure_noise_is_rarely_supported():
    runs_with_a_finding = 0
    for seed in range(NOISE_RUNS):
        company, table = make_company(100 + seed, planted=False, noise_traits=20, permutations=99)
        result = find_criteria(company, table, backtest=False)
        runs_with_a_finding += bool((result.table["evidence"] == "supported").any())
    assert runs_with_a_finding <= 0.05 * NOISE_RUNS


def test_noise_traits_stay_out_beside_real_signs():
    runs_with_noise = 0
    for seed in range(NOISE_RUNS):
        company, table = make_company(500 + seed, noise_traits=17, permutations=99)
        result = find_criteria(company, table, backtest=False)
        runs_with_noise += bool(result.supported["trait"].str.contains("noise").any())
    assert runs_with_noise <= 0.05 * NOISE_RUNS


# ---------------------------------------------------------------- behaviour
def test_rare_rule_is_never_supported():
    company, table = make_company(11, planted=False, noise_traits=3)
    clients = company.clients.copy()
    is_a = (table["team_tier"] == "A").to_numpy()
    rare = np.zeros(len(clients), dtype=bool)
    rare[np.flatnonzero(is_a)[:4]] = True  # four A clients and nobody else: perfect, but too few
    clients["gold_badge"] = pd.array(rare, dtype="boolean")
    company.clients = clients
    company.trait_kinds = company.trait_kinds | {"gold_badge": "yesno"}
    result = find_criteria(company, table, backtest=False)
    rows = result.table[result.table["trait"].str.contains("gold_badge")]
    assert not (rows["evidence"] == "supported").any()
    assert (result.table.loc[result.table["evidence"] == "supported", "support"] >= 5).all()


def test_same_seed_same_table_and_input_untouched():
    company, table = make_company(5, noise_traits=6, bootstrap=20)
    before_clients, before_table = company.clients.copy(), table.copy()
    first = find_criteria(company, table, backtest=False).table
    second = find_criteria(company, table, backtest=False).table
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(company.clients, before_clients)
    pd.testing.assert_frame_equal(table, before_table)


def test_table_columns_and_order(planted):
    _, _, result = planted
    table = result.table
    for column in ("trait", "rule", "points_to", "evidence", "support", "n_a", "n_c", "share", "ci_low", "ci_high",
                   "base_rate", "lift", "p_value", "p_adjusted", "stability", "threshold_spread", "first_contact",
                   "source"):
        assert column in table.columns
    order = table["evidence"].map({"supported": 0, "weak": 1, "insufficient": 2, "none": 3}).tolist()
    assert order == sorted(order)
    assert set(table["points_to"]) <= {"A", "C"} and set(table["source"]) == {"data"}
    assert result.rules_tried > 100 and result.compared_source == "team"
    assert (table["conditions"] if "conditions" in table else table["trait"].str.count(r"\+") + 1).max() <= 2


def test_team_criteria_are_evaluated_like_data_rules(tmp_path):
    (tmp_path / "criteria.yml").write_text("""
criteria:
  - id: cc
    rule: has_call_centre == yes and headcount >= 40
    points_to: A
    rationale: starts in a day, budget to match
    source: interview
    status: accepted
  - id: lucky
    rule: noise_01 == yes
    points_to: A
    source: data
    status: proposed
""", encoding="utf-8")
    company, table = make_company(9, noise_traits=3, folder=tmp_path)
    result = find_criteria(company, table, backtest=False)
    team = result.team.set_index("id")
    assert list(team.index) == ["cc", "lucky"]
    cc = team.loc["cc"]
    assert cc["evidence"] == "supported" and cc["status"] == "accepted" and cc["team_source"] == "interview"
    covered = result.rules["cc"].evaluate(company.clients).fillna(False).to_numpy(dtype=bool)
    assert cc["support"] == covered.sum()
    assert team.loc["lucky", "evidence"] != "supported"
    assert team.loc["lucky", "p_adjusted"] >= team.loc["lucky", "p_value"]
    # accepted team criteria are what goes to sales
    assert result.chosen_from == "team" and list(result.chosen()["id"]) == ["cc"]


def test_bad_team_criteria_stop_with_a_problem(tmp_path):
    (tmp_path / "criteria.yml").write_text("- id: x\n  rule: headcont >= 40\n  points_to: A\n", encoding="utf-8")
    company, table = make_company(9, noise_traits=2, folder=tmp_path)
    with pytest.raises(DataProblem) as info:
        find_criteria(company, table, backtest=False)
    assert info.value.problems[0].code == "criterion_unknown_trait"
    assert "headcount" in info.value.problems[0].message


def test_qualify_and_describe():
    df = pd.DataFrame({"cc": pd.array([True, True, None, False], dtype="boolean"), "x": [1.0, 9.0, 9.0, 9.0]})
    signs = [Condition("cc", "yesno", "==", True)]
    flags = [Condition("x", "number", ">=", 5.0)]
    assert qualify(df, signs, flags).tolist() == [True, False, False, False]
    row = pd.Series({"rule": "x is 5 or more", "points_to": "C", "n_c": 3, "support": 4, "share": 0.75,
                     "base_rate": 0.3})
    assert describe_rule(row, "en") == "If x is 5 or more → 3 of 4 such clients are C (75%; 30% of all compared clients)."


# ---------------------------------------------------------------- issue 10: what reaches sales
def _rows(**overrides):
    base = {"id": "A:x", "points_to": "A", "trait": "x", "rule": "x is 5 or more", "evidence": "supported",
            "support": 20, "share": 0.8, "ci_low": 0.6, "ci_high": 0.9, "base_rate": 0.2, "stability": 0.9,
            "first_contact": True, "source": "data", "status": "", "required_share": 0.3}
    return base | overrides


def test_unstable_supported_rule_is_labelled_and_not_routed():
    from helpers.step4_write_criteria.criteria import mark_for_sales

    clients = pd.DataFrame({"x": [1.0, 9.0] * 10})
    y = np.array(["A", "B"] * 10)
    rules = {"A:x": Condition("x", "number", ">=", 5.0), "C:x": Condition("x", "number", "<", 5.0)}
    table = pd.DataFrame([_rows(stability=0.3),
                          _rows(id="C:x", points_to="C", rule="x is less than 5", ci_low=0.45, stability=np.nan)])
    out = mark_for_sales(table, rules, clients, y, CriteriaSettings()).set_index("id")
    assert out.loc["A:x", "evidence_label"] == "supported, unstable" and not out.loc["A:x", "routed"]
    assert out.loc["C:x", "evidence_label"] == "supported" and out.loc["C:x", "routed"]  # no bootstrap: not judged
    assert not out.loc["C:x", "declines"]  # C share's lower bound 45% is not above 50%
    assert out.loc["A:x", "mirror_id"] == "C:x" and out.loc["C:x", "mirror_id"] == "A:x"
    assert mark_for_sales(table.assign(ci_low=0.55), rules, clients, y,
                          CriteriaSettings()).set_index("id").loc["C:x", "declines"]


def test_an_unstable_pair_does_not_take_its_half_away_from_sales():
    """A half is replaced only by a pair sales would get: a pair found again in too few resamples is not
    routed, so the stable single sign must stay (seen on the b2b sample when the pair crossed p = 0.05)."""
    from helpers.step4_write_criteria.criteria import mark_for_sales

    clients = pd.DataFrame({"x": [9.0, 9.0, 1.0, 9.0] * 10, "z": ["yes", "no", "yes", "yes"] * 10})
    y = np.array(["A", "B", "B", "A"] * 10)
    from helpers.core.rules import all_of

    rules = {"A:x": Condition("x", "number", ">=", 5.0),
             "A:x + z": all_of([Condition("x", "number", ">=", 5.0), Condition("z", "yesno", "==", True)])}
    pair_row = _rows(id="A:x + z", trait="x + z", rule="x is 5 or more and z: yes", stability=0.3)
    table = pd.DataFrame([_rows(stability=0.95), pair_row])
    out = mark_for_sales(table, rules, clients, y, CriteriaSettings()).set_index("id")
    assert out.loc["A:x", "only_with"] == "" and out.loc["A:x", "routed"]
    assert not out.loc["A:x + z", "routed"]
    stable_pair = pd.DataFrame([_rows(stability=0.95), dict(pair_row, stability=0.95)])
    out = mark_for_sales(stable_pair, rules, clients, y, CriteriaSettings()).set_index("id")
    assert out.loc["A:x", "only_with"] == "A:x + z" and not out.loc["A:x", "routed"]


def test_useful_effect_separates_real_from_actionable():
    from helpers.step4_write_criteria.criteria import _evidence, required_share

    settings = CriteriaSettings()
    # 2,000 clients: "32% C against 30% overall" is not chance, but not a criterion either
    row = {"support": 1000, "share": 0.32, "ci_low": 0.291, "base_rate": 0.30}
    assert _evidence(dict(row), 0.001, 600, settings) == "none"
    strong = {"support": 100, "share": 0.7, "ci_low": 0.6, "base_rate": 0.30}
    assert _evidence(dict(strong), 0.001, 600, settings) == "supported"
    assert _evidence(dict(strong), 0.15, 600, settings) == "weak"
    assert _evidence(dict(strong), 0.5, 600, settings) == "none"
    assert required_share(0.3, settings) == pytest.approx(0.45)


def test_backtest_is_skipped_when_a_tier_is_too_small_for_the_folds():
    company, table = make_company(41, n=30, noise_traits=2, permutations=99)  # 6 A clients, 5 folds need 7
    backtest = find_criteria(company, table).backtest
    assert not backtest.ran and backtest.table.empty and "not run" in backtest.caveat
