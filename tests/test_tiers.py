"""Step 2 (tiers): ABC, XYZ, the value score, the suggested tier and the disagreements, on hand-computed cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import i18n
from helpers import paths
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.step2_place_in_tiers.tiers import (LADDER, build_tiers, computed_abc_limits, measure_disagreement, place_in_abc)
from helpers.step2_place_in_tiers.tiers import place_in_xyz, score_clients, suggest_tiers

SAMPLES = sorted(p for p in paths.SAMPLE_DIR.iterdir() if p.is_dir()) if paths.SAMPLE_DIR.is_dir() else []


def _abc(values, **kw):
    series = pd.Series(values, index=[f"c{i}" for i in range(len(values))], dtype=float)
    return place_in_abc(series, **kw)


# --------------------------------------------------------------------------- ABC
def test_a_single_client_above_the_a_line_is_a():
    out = _abc([85, 10, 5])
    assert out["abc"].tolist() == ["A", "B", "C"]
    assert out["share"].tolist() == pytest.approx([0.85, 0.10, 0.05])


def test_the_client_crossing_a_line_belongs_to_the_upper_class():
    # shares held before each client: 0, .50, .80, .95 -> the third starts at the A line, so it is B
    out = _abc([50, 30, 15, 5])
    assert out["abc"].tolist() == ["A", "A", "B", "C"]
    # sorted 79, 10, 9, 2: the second starts at 79% and crosses 80% (reaching 89%), so it is still A
    assert _abc([79, 2, 10, 9])["abc"].to_dict() == {"c0": "A", "c2": "A", "c3": "B", "c1": "C"}


def test_ties_share_a_class_whatever_the_input_order():
    out = _abc([45, 45, 5, 5])
    # before-shares 0, .45, .90, .95: the last would be C, but it ties with a B client
    assert out["abc"].tolist() == ["A", "A", "B", "B"]
    shuffled = place_in_abc(pd.Series([5.0, 45.0, 5.0, 45.0], index=["c3", "c1", "c2", "c0"]))
    assert shuffled["abc"].sort_index().tolist() == ["A", "A", "B", "B"]


def test_all_equal_revenue_puts_everyone_in_one_class():
    out = _abc([100] * 5)
    assert set(out["abc"]) == {"A"}
    assert out["share"].tolist() == pytest.approx([0.2] * 5)


def test_zero_total_makes_everyone_c_without_shares():
    out = _abc([0, 0, 0])
    assert set(out["abc"]) == {"C"}
    assert out["share"].isna().all()


def test_negative_totals_stay_visible():
    out = _abc([100, -150, 0])
    assert out.loc["c0", "abc"] == "A" and out.loc["c1", "abc"] == "C"
    assert out.loc["c1", "share"] == pytest.approx(-1.5)  # never clipped to zero
    assert out.loc["c1", "value"] == -150
    assert set(_abc([-5, -10])["abc"]) == {"C"}


def test_custom_cutoffs_are_used():
    # before-shares 0, .50, .80, .95 against lines .50 / .90
    assert _abc([50, 30, 15, 5], cutoffs=(0.5, 0.9))["abc"].tolist() == ["A", "B", "B", "C"]


def test_computed_abc_limits_by_hand():
    values = [100, 90, 80, 10, 5, 4, 3, 2, 1, 1]
    # Pareto point: item 3 (distance² to (0,1) = 0.3² + (26/296)² = 0.0977, the smallest);
    # break-even: item 4 has slope 10/29.6 = 0.34, the nearest to 1; A|B = item 3.
    # B|C: nearest to (0.4, 1) is item 4 (yield 280/296).
    assert computed_abc_limits(values) == (3, 4)
    out = _abc(values, cutoffs="auto")
    assert out["abc"].tolist() == ["A"] * 3 + ["B"] + ["C"] * 6
    assert computed_abc_limits([]) == (0, 0) and computed_abc_limits([0, -1]) == (0, 0)


# --------------------------------------------------------------------------- XYZ
def test_xyz_lines_are_inclusive_and_borderline_is_flagged():
    out = place_in_xyz(pd.Series([0.0, 0.10, 0.1001, 0.25, 0.2501, 0.6, np.nan]))
    assert out["xyz"].tolist() == ["X", "X", "Y", "Y", "Z", "Z", ""]
    assert out["xyz_borderline"].tolist() == [False, True, True, True, True, False, False]


# --------------------------------------------------------------------------- score and suggestion
def test_score_is_a_weighted_mean_of_percentiles_and_skips_missing_components():
    figures = pd.DataFrame({"revenue": [300.0, 200.0, 100.0], "payment_delay_days": [60.0, 0.0, np.nan]},
                           index=["a", "b", "c"])
    comp, used, weights = score_clients(figures, weights={"value": 3, "payment": 1, "speed": 5})
    assert used == ["value", "payment"]  # no deal cycle in the data: speed is left out
    assert weights == pytest.approx({"value": 0.75, "payment": 0.25})
    assert comp["score_value"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert comp["score_payment"].tolist()[:2] == pytest.approx([0.5, 1.0])
    assert math.isnan(comp.loc["c", "score_payment"])
    # c has no payment figure: the neutral 0.5 stands in
    assert comp.loc["c", "score"] == pytest.approx(100 * (0.75 / 3 + 0.25 * 0.5))


def test_cost_to_serve_is_support_for_the_money():
    figures = pd.DataFrame({"revenue": [1000.0, 100.0], "support_hours": [10.0, 5.0]}, index=["big", "small"])
    comp, _, _ = score_clients(figures, weights={"cost_to_serve": 1})
    # 10 h for 1000 is lighter than 5 h for 100
    assert comp.loc["big", "score_cost_to_serve"] > comp.loc["small", "score_cost_to_serve"]


def test_suggested_tiers_follow_shares_and_never_lift_clients_without_money():
    score = pd.Series(np.arange(10, dtype=float), index=list("abcdefghij"))
    value = pd.Series(1.0, index=score.index).where(score.index != "j", 0.0)
    out = suggest_tiers(score, shares=(0.2, 0.5), value=value)
    assert out["j"] == "C"  # the best score, but no money
    assert out.value_counts().to_dict() == {"C": 3, "B2": 2, "B1": 2, "B3": 1, "A1": 1, "A2": 1}
    assert set(out) <= set(LADDER)


def test_disagreement_steps_on_the_ladder():
    steps = measure_disagreement(pd.Series(["A1", "C", "X", None, "A", "B3"]),
                                 pd.Series(["C", "A1", "A1", "A1", "B2", "B3"]))
    assert steps.tolist()[:2] == [6.0, -6.0]
    assert np.isnan(steps.iloc[2]) and np.isnan(steps.iloc[3])
    assert steps.tolist()[4:] == [3.0, 0.0]  # plain A counts as A2


# --------------------------------------------------------------------------- the whole step
def _company(*, placement=True, transactions=True, margin=True, settings=None, clients_extra=None):
    clients = pd.DataFrame({
        "client_id": ["k1", "k2", "k3", "k4", "k5", "k6"],
        "name": ["Big Steady", "Mid", "Small", "One-off", "Loss Maker", "New Placed"],
        "payment_delay_days": [2.0, 10.0, 30.0, 60.0, 5.0, np.nan],
        "support_hours": [10.0, 8.0, 20.0, 4.0, 30.0, np.nan],
    })
    if clients_extra is not None:
        clients = clients.assign(**clients_extra)
    rows = []
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    for m in months:
        rows.append(("k1", m + pd.Timedelta(days=4), 1000.0, 300.0))
        rows.append(("k2", m + pd.Timedelta(days=9), 300.0 if m.month % 2 else 100.0, 60.0))
        if m.month in (3, 9):
            rows.append(("k3", m, 150.0, 30.0))
        rows.append(("k5", m + pd.Timedelta(days=1), 50.0, -40.0))
    rows.append(("k4", pd.Timestamp("2025-06-15"), 900.0, 200.0))
    tx = pd.DataFrame(rows, columns=["client_id", "date", "amount", "margin"])
    if not margin:
        tx = tx.drop(columns="margin")
    team = pd.DataFrame({"client_id": ["k1", "k2", "k3", "k4", "k5", "k6"],
                         "tier": ["A1", "A", "B2", "A1", "X", "B1"]})
    return Company(folder=Path("fixture"), settings=settings or CompanySettings(), clients=clients,
                   placement=team if placement else None, transactions=tx if transactions else None)


def test_build_tiers_table_has_the_contract_columns_and_one_row_per_client():
    company = _company()
    result = build_tiers(company)
    table = result.table.set_index("client_id")
    for column in ("name", "team_tier", "suggested_tier", "abc", "revenue", "margin", "share", "cum_share", "xyz",
                   "cv", "abc_xyz", "score", "score_value", "score_loyalty", "score_payment", "score_cost_to_serve",
                   "reason", "disagreement", "mono_client"):
        assert column in table.columns, column
    assert sorted(table.index) == ["k1", "k2", "k3", "k4", "k5", "k6"]
    assert result.components == ["value", "loyalty", "payment", "cost_to_serve"]
    # revenue by hand: 12 000, 2 400, 300, 900, 600, 0
    assert table["revenue"].to_dict() == pytest.approx(
        {"k1": 12000.0, "k2": 2400.0, "k3": 300.0, "k4": 900.0, "k5": 600.0, "k6": 0.0})
    assert result.table["revenue"].is_monotonic_decreasing  # Pareto order
    assert table.loc["k1", "cv"] == pytest.approx(0.0, abs=1e-9) and table.loc["k1", "xyz"] == "X"
    assert table.loc["k2", "cv"] == pytest.approx(0.5)  # 300/100 alternating: std 100, mean 200
    # one purchase in June: classic CV over the whole year (one value, eleven zeros) = sqrt(11);
    # its own history runs June-December (one value and six zeros), which is what XYZ judges
    assert table.loc["k4", "cv"] == pytest.approx(math.sqrt(11))
    assert table.loc["k4", "cv_own"] == pytest.approx(math.sqrt(6))
    assert table.loc["k1", "abc_xyz"] == "AX"


def test_placed_client_without_transactions():
    table = build_tiers(_company()).table.set_index("client_id")
    k6 = table.loc["k6"]
    assert k6["revenue"] == 0 and k6["purchases"] == 0
    assert k6["abc"] == "C" and k6["suggested_tier"] == "C" and k6["xyz"] == ""
    assert "no revenue" in k6["reason"]
    assert k6["team_tier"] == "B1" and k6["disagreement"] == 3


def test_flags_not_split_side_tiers_and_no_purchases():
    result = build_tiers(_company())
    codes = {f.code: f for f in result.flags}
    assert codes["not_split"].client_ids == ("k2",)
    assert codes["side_tiers"].client_ids == ("k5",)
    assert codes["placed_no_revenue"].client_ids == ("k6",)
    assert "no_placement" not in codes
    table = result.table.set_index("client_id")
    assert pd.isna(table.loc["k5", "disagreement"])  # X is kept apart


def test_mono_client_flag_above_the_line():
    result = build_tiers(_company())
    table = result.table.set_index("client_id")
    # k1 holds 12 000 / 16 200 = 74% of revenue
    assert bool(table.loc["k1", "mono_client"]) and not table.drop("k1")["mono_client"].any()
    assert any(f.code == "mono_client" and f.client_ids == ("k1",) for f in result.flags)
    higher = CompanySettings.model_validate({"abc": {"mono_client_share": 0.9}})
    assert not build_tiers(_company(settings=higher)).table["mono_client"].any()


def test_abc_by_margin_keeps_loss_makers_negative():
    settings = CompanySettings.model_validate({"abc": {"by": "margin"}})
    result = build_tiers(_company(settings=settings))
    assert result.basis == "margin"
    table = result.table.set_index("client_id")
    assert table.loc["k5", "margin"] == pytest.approx(-480.0)
    assert table.loc["k5", "share"] < 0 and table.loc["k5", "abc"] == "C"
    assert table.loc["k5", "suggested_tier"] == "C"
    assert "loses money" in table.loc["k5", "reason"]
    assert any(f.code == "loss_makers" for f in result.flags)


def test_margin_asked_but_absent_falls_back_to_revenue():
    settings = CompanySettings.model_validate({"abc": {"by": "margin"}})
    result = build_tiers(_company(settings=settings, margin=False))
    assert result.basis == "revenue" and any(f.code == "no_margin" for f in result.flags)
    assert "margin" not in result.table.columns


def test_disagreements_are_two_steps_or_more_sorted_by_revenue_and_phrased_as_questions():
    result = build_tiers(_company())
    far = result.disagreements
    assert (far["disagreement"] >= 2).all()
    assert far["revenue"].is_monotonic_decreasing
    assert "k6" in set(far["client_id"])  # placed B1, no purchases -> C
    question = far.set_index("client_id").loc["k6", "question"]
    assert question.rstrip().endswith("?") and "New Placed" in question
    confusion = result.confusion
    assert int(confusion.to_numpy().sum()) == 6
    assert list(confusion.columns) == list(LADDER)


def test_no_placement_and_no_transactions():
    clients_extra = {"revenue": [500.0, 300.0, 100.0, 50.0, 40.0, 10.0]}
    result = build_tiers(_company(placement=False, transactions=False, clients_extra=clients_extra))
    assert result.confusion is None and result.matrix is None and not result.has_team
    assert any(f.code == "no_placement" for f in result.flags)
    table = result.table.set_index("client_id")
    assert table["team_tier"].isna().all() and (table["xyz"] == "").all()
    assert table.loc["k1", "abc"] == "A"  # 500 / 1000 before-share 0
    assert result.disagreements.empty


def test_auto_cutoffs_report_the_lines_used():
    settings = CompanySettings.model_validate({"abc": {"cutoffs": "auto"}})
    result = build_tiers(_company(settings=settings))
    assert result.cutoffs_source == "auto"
    a_line, b_line = result.cutoffs
    assert 0 < a_line <= b_line <= 1
    assert "Ultsch" in " ".join(result.notes)


def test_matrix_counts_and_shares():
    matrix = build_tiers(_company()).matrix.set_index("cell")
    assert matrix["clients"].sum() == 5  # k6 has no purchases: no XYZ
    assert matrix["revenue_share"].sum() == pytest.approx(1.0)
    assert matrix.loc["AX", "clients"] == 1 and matrix.loc["AX", "advice"]


def test_xyz_note_says_population_deviation():
    notes = " ".join(build_tiers(_company()).notes)
    assert "population" in notes and "STDEV" in notes


def test_russian_reasons_and_questions():
    with i18n.language("ru"):
        result = build_tiers(_company())
    table = result.table.set_index("client_id")
    assert "потому что" in table.loc["k1", "reason"]
    assert "Команда поставила" in result.disagreements["question"].iloc[0]


def test_company_tables_are_not_modified():
    company = _company()
    clients, tx, team = company.clients.copy(), company.transactions.copy(), company.placement.copy()
    build_tiers(company)
    pd.testing.assert_frame_equal(company.clients, clients)
    pd.testing.assert_frame_equal(company.transactions, tx)
    pd.testing.assert_frame_equal(company.placement, team)


@pytest.mark.parametrize("folder", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_companies_build(folder):
    from helpers.step1_list_clients.load import load_company

    company = load_company(folder)
    result = build_tiers(company)
    table = result.table
    assert len(table) == table["client_id"].nunique() == company.clients["client_id"].nunique()
    assert set(table["suggested_tier"]) <= set(LADDER)
    assert table["reason"].str.len().gt(0).all()
