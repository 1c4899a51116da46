"""Tests of step 3: which tiers are compared, and the comparison of traits."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.step1_list_clients.settings import CompanySettings
from helpers.core.errors import DataProblem
from helpers.step3_compare_traits.traits import compared_tiers


def _table(team, suggested):
    return pd.DataFrame({"client_id": [f"c{i}" for i in range(len(suggested))],
                         "team_tier": team, "suggested_tier": suggested})


def _settings(compare):
    return CompanySettings.model_validate({"criteria": {"compare": compare}})


def test_compared_tiers_uses_team_when_enough_placed():
    team = ["A1", "A2", "A3", "B1", "B2", "B3", "C", "C", "A", "B", "D", "X", None]
    suggested = ["C"] * len(team)
    tiers, source = compared_tiers(_table(team, suggested))
    assert source == "team"
    assert tiers.index.name == "client_id"
    assert tiers.to_dict() == {"c0": "A", "c1": "A", "c2": "A", "c3": "B", "c4": "B", "c5": "B",
                               "c6": "C", "c7": "C", "c8": "A", "c9": "B"}


def test_compared_tiers_falls_back_to_suggested_when_team_too_small():
    team = ["A1", "C", None, None, None, None]
    suggested = ["A1", "B2", "C", "X", "", None]
    tiers, source = compared_tiers(_table(team, suggested))
    assert source == "suggested"
    assert tiers.to_dict() == {"c0": "A", "c1": "B", "c2": "C"}


def test_compared_tiers_team_without_an_a_is_not_used():
    team = ["B1"] * 12
    tiers, source = compared_tiers(_table(team, ["A1"] * 12))
    assert source == "suggested"
    assert set(tiers) == {"A"}


def test_compared_tiers_settings_force_either_source():
    team = ["A1", "C", None]
    suggested = ["B1", "B2", "A3"]
    tiers, source = compared_tiers(_table(team, suggested), _settings("team"))
    assert (source, tiers.to_dict()) == ("team", {"c0": "A", "c1": "C"})
    team = ["A1"] * 6 + ["C"] * 6
    tiers, source = compared_tiers(_table(team, ["B1"] * 12), _settings("suggested"))
    assert (source, set(tiers)) == ("suggested", {"B"})


def test_compared_tiers_forced_team_without_placement_is_a_data_problem():
    with pytest.raises(DataProblem) as info:
        compared_tiers(_table([None, None], ["A1", "C"]), _settings("team"))
    assert info.value.problems[0].code == "compare_team_without_placement"


def test_compared_tiers_does_not_mutate_input():
    table = _table(["a1", " b2 "] + [None] * 2, ["A1", "B1", "C", "D"])
    before = table.copy()
    compared_tiers(table)
    pd.testing.assert_frame_equal(table, before)


# --------------------------------------------------------------------------- compare_traits
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from helpers.step1_list_clients.company import Company  # noqa: E402
from helpers.step3_compare_traits.traits import TraitComparison  # noqa: E402
from helpers.step3_compare_traits.traits import compare_traits


def _company(n_a=20, n_b=40, n_c=30, seed=0, first_contact=("office_m2", "has_call_centre", "industry", "noise"),
             settings=None):
    """A planted company: A clients have big offices and call centres, C clients are mostly retail."""
    rng = np.random.default_rng(seed)
    tiers = ["A1"] * n_a + ["B2"] * n_b + ["C"] * n_c
    n = len(tiers)
    is_a = np.array([tier.startswith("A") for tier in tiers])
    is_c = np.array([tier == "C" for tier in tiers])
    office = np.where(is_a, rng.normal(400, 60, n), rng.normal(150, 50, n)).round()
    call_centre = np.where(is_a, rng.uniform(size=n) < 0.85, rng.uniform(size=n) < 0.2)
    industry = np.where(is_c & (rng.uniform(size=n) < 0.7), "retail",
                        rng.choice(["it", "finance", "logistics"], n))
    industry[:2] = "mining"  # a rare category, pooled with the next one into "other"
    industry[n_a + 1] = "space"
    clients = pd.DataFrame({
        "client_id": [f"k{i:03d}" for i in range(n)], "name": [f"Client {i}" for i in range(n)],
        "office_m2": office, "has_call_centre": pd.array(call_centre, dtype="boolean"),
        "industry": industry, "noise": rng.normal(size=n), "notes": [f"free text {i}" for i in range(n)],
        "support_hours": rng.gamma(2, 5, n),
    })
    kinds = {"office_m2": "number", "has_call_centre": "yesno", "industry": "category", "noise": "number",
             "notes": "text"}
    settings = settings or CompanySettings.model_validate({"first_contact_traits": list(first_contact)})
    company = Company(folder=Path("planted"), settings=settings, clients=clients, trait_kinds=kinds)
    table = pd.DataFrame({"client_id": clients["client_id"], "team_tier": tiers,
                          "suggested_tier": ["B1"] * n})
    return company, table


def test_compare_traits_finds_planted_signs_and_ranks_them_first():
    company, table = _company()
    before = company.clients.copy()
    result = compare_traits(company, table)
    assert isinstance(result, TraitComparison)
    assert result.source == "team"
    assert result.counts.to_dict() == {"A": 20, "B": 40, "C": 30}
    a = result.ranked("A vs rest").set_index("trait")
    assert a.loc["office_m2", "effect"] > 0.8 and a.loc["office_m2", "effect_low"] > 0.5
    assert a.loc["office_m2", "rank"] == 1
    assert a.loc["has_call_centre", "level"] == "yes"
    assert a.loc["has_call_centre", "effect"] == pytest.approx(
        a.loc["has_call_centre", "value_group"] - a.loc["has_call_centre", "value_rest"])
    assert a.loc["noise", "effect_low"] < 0 < a.loc["noise", "effect_high"]
    assert a.loc["noise", "separation"] == 0
    c = result.ranked("C vs rest").set_index("trait")
    assert c.loc["industry", "level"] == "retail" and c.loc["industry", "effect"] > 0.4
    assert c.loc["industry", "p_value"] < 0.01
    assert c.loc["industry", "rank"] < c.loc["noise", "rank"]
    pd.testing.assert_frame_equal(company.clients, before)


def test_compare_traits_first_contact_traits_rank_before_the_rest():
    company, table = _company()
    result = compare_traits(company, table)
    ranked = result.ranked("A vs rest")
    # support_hours is a metric, not listed as first contact: always after the listed traits
    assert ranked["trait"].tolist()[-1] == "support_hours"
    assert ranked["first_contact"].tolist() == [True] * 4 + [False]
    assert ranked.iloc[-1]["visibility"] == "visible only after the sale"
    assert "notes" in result.skipped["trait"].tolist()
    assert "notes" not in result.kinds


def test_compare_traits_pools_rare_categories_keeping_names():
    company, table = _company()
    result = compare_traits(company, table)
    levels = set(result.distributions.query("trait == 'industry'")["level"])
    assert {"retail", "it", "finance", "logistics", "other"} <= levels
    assert "mining" not in levels and "space" not in levels
    assert (result.values["industry"] == "other").sum() == 3


def test_compare_traits_distributions_hold_counts_shares_and_quartiles():
    company, table = _company()
    result = compare_traits(company, table)
    dist = result.distributions
    office_a = dist.query("trait == 'office_m2' and tier == 'A'").iloc[0]
    expected = company.clients["office_m2"][:20]
    assert office_a["n"] == 20 and office_a["median"] == pytest.approx(expected.median())
    assert office_a["q1"] == pytest.approx(expected.quantile(0.25))
    yes_c = dist.query("trait == 'has_call_centre' and tier == 'C' and level == 'yes'").iloc[0]
    assert yes_c["count"] == int(company.clients["has_call_centre"][60:].sum())
    assert yes_c["share_low"] <= yes_c["share"] <= yes_c["share_high"]
    shares = dist.query("trait == 'industry' and tier == 'B'")["share"].sum()
    assert shares == pytest.approx(1.0)


def test_compare_traits_too_few_clients_gets_a_note_not_a_rank_among_usable():
    company, table = _company(n_a=3, n_b=40, n_c=30)
    result = compare_traits(company, table)
    a = result.ranked("A vs rest")
    assert a["note"].notna().all()
    assert a["note"].str.contains("3 in A").all()
    assert a["separation"].isna().all() and a["q_value"].isna().all()
    assert result.ranked("C vs rest")["note"].isna().all()


def test_compare_traits_a_vs_b_on_demand_and_subtiers():
    company, table = _company()
    table = table.assign(team_tier=["A1"] * 10 + ["A2"] * 10 + ["B2"] * 40 + ["C"] * 30)
    result = compare_traits(company, table, contrasts=("A vs B",), subtiers=True)
    assert set(result.contrasts["contrast"]) == {"A vs B"}
    assert result.contrasts.set_index("trait").loc["office_m2", "n_rest"] == 40
    assert result.counts.to_dict() == {"A1": 10, "A2": 10, "B2": 40, "C": 30}
    with pytest.raises(ValueError):
        compare_traits(company, table, contrasts=("B vs rest",))


def test_compare_traits_missing_values_and_constant_trait():
    company, table = _company()
    clients = company.clients.copy()
    clients.loc[:9, "office_m2"] = np.nan
    clients["has_call_centre"] = pd.array([True] * len(clients), dtype="boolean")
    company.clients = clients
    result = compare_traits(company, table)
    a = result.ranked("A vs rest").set_index("trait")
    assert a.loc["office_m2", "n_group"] == 10
    assert a.loc["has_call_centre", "note"] == "every client gives the same answer: nothing to compare"
    dist = result.distributions.query("trait == 'office_m2' and tier == 'A'").iloc[0]
    assert dist["missing"] == 10


def test_compare_traits_on_pure_noise_rarely_finds_anything():
    # with noise traits only, the Benjamini-Hochberg q-values stay above 5% in nearly every company
    found = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        fast = CompanySettings.model_validate({"criteria": {"permutations": 199},
                                               "first_contact_traits": ["office_m2", "industry"]})
        company, table = _company(seed=seed, settings=fast)
        clients = company.clients.copy()
        n = len(clients)
        clients["office_m2"] = rng.normal(200, 50, n)
        clients["has_call_centre"] = pd.array(rng.uniform(size=n) < 0.4, dtype="boolean")
        clients["industry"] = rng.choice(["it", "finance", "retail"], n)
        company.clients = clients
        result = compare_traits(company, table)
        found += bool((result.contrasts["q_value"] < 0.05).any())
    assert found <= 3


def test_q_values_are_corrected_over_the_whole_report_and_known_counts_per_tier():
    from helpers.core.stats import benjamini_hochberg

    company, table = _company()
    clients = company.clients.copy()
    clients.loc[clients.index[-10:], "office_m2"] = np.nan  # unknown for 10 C clients
    company.clients = clients
    result = compare_traits(company, table, contrasts=("A vs rest", "C vs rest", "A vs B"))
    rows = result.contrasts
    usable = rows["note"].isna()
    expected = benjamini_hochberg(rows.loc[usable, "p_value"].to_numpy(dtype=float))
    np.testing.assert_allclose(rows.loc[usable, "q_value"].to_numpy(dtype=float), expected)
    office = rows[rows["trait"] == "office_m2"].iloc[0]
    assert (office["known_a"], office["known_b"], office["known_c"]) == (20, 40, 20)


def test_first_contact_assumed_when_none_listed_and_outcome_copies_left_out():
    settings = CompanySettings.model_validate({"first_contact_traits": []})
    company, table = _company(settings=settings)
    clients = company.clients.copy()
    clients["yearly_spend"] = clients["support_hours"] * 1.05  # a near-copy of an after-sale figure
    clients["revenue"] = clients["support_hours"] * 1000
    company.clients = clients
    company.trait_kinds = company.trait_kinds | {"yearly_spend": "number"}
    result = compare_traits(company, table)
    visible = result.contrasts.drop_duplicates("trait").set_index("trait")["first_contact"]
    assert visible["office_m2"] and visible["has_call_centre"]
    assert not visible["yearly_spend"]
