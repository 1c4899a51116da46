"""Regularity that fits clients (step 2): the period from the purchase cycle, `new`, Syntetos–Boylan, HHI verdicts.

Every expected value is computed by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import i18n
from helpers import paths
from helpers.step1_list_clients.client_figures import (aggregate_transactions, choose_period, median_purchase_gap, period_starts)
from helpers.step1_list_clients.audit import audit_client_mix, judge_concentration
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import AuditSettings, CompanySettings
from helpers.step2_place_in_tiers.tiers import (build_tiers, find_dominant_class, find_mono_clients, place_in_demand_pattern)


def _tx(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["client_id", "date", "amount"]).assign(date=lambda d: pd.to_datetime(d["date"]))


def _monthly(cid: str, amounts, start="2025-01-01") -> list[tuple]:
    """One purchase on the 5th of each month with a non-zero amount (0 = no purchase that month)."""
    months = pd.date_range(start, periods=len(amounts), freq="MS")
    return [(cid, (m + pd.Timedelta(days=4)).strftime("%Y-%m-%d"), float(a)) for m, a in zip(months, amounts) if a]


# --------------------------------------------------------------------------- Syntetos-Boylan
@pytest.mark.parametrize("adi, cv2, expected", [
    (1.0, 0.0, "smooth"), (1.31, 0.48, "smooth"),
    (1.0, 0.49, "erratic"),          # on the CV² line counts as above it (Syntetos & Boylan: "≥ 0.49")
    (1.32, 0.1, "intermittent"),     # on the ADI line counts as above it
    (4.0, 2.0, "lumpy"), (np.nan, 0.1, ""), (1.0, np.nan, ""),
])
def test_syntetos_boylan_quadrants_and_lines(adi, cv2, expected):
    assert place_in_demand_pattern(pd.Series([adi]), pd.Series([cv2])).iloc[0] == expected


def test_syntetos_boylan_lines_are_settings():
    assert place_in_demand_pattern(pd.Series([1.5]), pd.Series([0.3]), adi_line=2.0, cv2_line=0.2).iloc[0] == "erratic"


def test_adi_and_cv2_by_hand_on_crafted_series():
    tx = _tx(_monthly("steady", [100] * 12)                      # ADI 12/12 = 1, CV² 0           -> smooth
             + _monthly("jumpy", [50, 150] * 6)                  # ADI 1; sizes 50/150: CV = 0.5, CV² 0.25 -> smooth
             + _monthly("spiky", [10, 10, 10, 190] * 3)          # ADI 1; mean 55, sd 77.9: CV² 2.0 -> erratic
             + _monthly("sparse", [100, 0, 0] * 4)               # 4 buying months in 12: ADI 3 -> intermittent
             + _monthly("rare", [10, 0, 0, 0, 0, 300, 0, 0, 0, 0, 0, 20]))  # ADI 12/3 = 4, CV² big -> lumpy
    table = aggregate_transactions(tx).table.set_index("client_id")
    assert table.loc["steady", "adi"] == pytest.approx(1.0) and table.loc["steady", "cv2"] == pytest.approx(0.0)
    assert table.loc["jumpy", "cv2"] == pytest.approx(0.25)
    sizes = np.array([10, 10, 10, 190] * 3, dtype=float)
    assert table.loc["spiky", "cv2"] == pytest.approx(sizes.var() / sizes.mean() ** 2)  # population variance
    assert table.loc["sparse", "own_periods"] == 12 and table.loc["sparse", "adi"] == pytest.approx(3.0)
    assert table.loc["rare", "adi"] == pytest.approx(4.0)
    patterns = place_in_demand_pattern(table["adi"], table["cv2"]).to_dict()
    assert patterns == {"jumpy": "smooth", "rare": "lumpy", "sparse": "intermittent", "spiky": "erratic",
                        "steady": "smooth"}


def test_own_history_starts_at_the_first_purchase():
    # "late" starts in October of a 12-month log and buys 100 every month: steady over its own 3 months
    tx = _tx(_monthly("early", [100] * 12) + _monthly("late", [100] * 3, start="2025-10-01"))
    table = aggregate_transactions(tx).table.set_index("client_id")
    assert table.loc["late", "own_periods"] == 3
    assert table.loc["late", "cv_own"] == pytest.approx(0.0, abs=1e-9)
    # over the whole window it would look erratic: 9 zeros and 3 hundreds -> sqrt(3)
    assert table.loc["late", "cv"] == pytest.approx(np.sqrt(3))


def test_half_year_periods_start_in_january_and_july():
    tx = _tx([("a", "2025-02-01", 10.0), ("a", "2025-08-01", 10.0), ("a", "2026-03-01", 10.0)])
    agg = aggregate_transactions(tx, period="half_year")
    assert agg.n_periods == 3 and agg.window_start == pd.Timestamp("2025-01-01")
    assert agg.table.set_index("client_id").loc["a", "cv_own"] == pytest.approx(0.0, abs=1e-9)
    starts = period_starts(pd.Series(pd.to_datetime(["2025-06-30", "2025-07-01", "2025-12-31"])), "half_year")
    assert starts.dt.strftime("%m").tolist() == ["01", "07", "07"]


# --------------------------------------------------------------------------- the period from the cycle
def _cycle_tx(gap_days: int, clients: int = 6, purchases: int = 6) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-03")
    return _tx([(f"c{i}", (start + pd.Timedelta(days=gap_days * k + i)).strftime("%Y-%m-%d"), 100.0)
                for i in range(clients) for k in range(purchases)])


@pytest.mark.parametrize("gap, period", [(7, "month"), (31, "month"), (33, "month"), (34, "quarter"),
                                         (100, "quarter"), (101, "half_year"), (200, "half_year")])
def test_the_period_holds_the_typical_purchase_gap(gap, period):
    # month 30.44 days, quarter 91.3, half-year 182.6 (+10% for uneven months): the shortest that holds the gap
    choice = choose_period(_cycle_tx(gap))
    assert choice.median_gap_days == pytest.approx(gap)
    assert (choice.period, choice.source) == (period, "auto")


def test_median_gap_is_a_median_of_client_medians_and_ignores_refunds_and_same_day_lines():
    tx = _tx([("a", "2025-01-01", 5.0), ("a", "2025-01-01", 7.0), ("a", "2025-01-11", 5.0),   # gap 10
              ("a", "2025-01-15", -5.0),                                                      # refund: no purchase
              ("b", "2025-01-01", 5.0), ("b", "2025-01-31", 5.0), ("b", "2025-03-31", 5.0),   # gaps 30, 59 -> 44.5
              ("c", "2025-02-01", 5.0)])                                                       # one purchase: none
    assert median_purchase_gap(tx) == (pytest.approx((10 + 44.5) / 2), 2)


def test_too_few_repeat_buyers_fall_back_to_month_and_a_fixed_period_wins():
    assert choose_period(_cycle_tx(60, clients=4)).period == "month"
    assert choose_period(_cycle_tx(60), "month").period == "month"
    assert choose_period(_cycle_tx(60), "month").source == "fixed"
    assert choose_period(None).period == "month"


def _company(tx: pd.DataFrame, **xyz) -> Company:
    ids = sorted(tx["client_id"].unique())
    settings = CompanySettings.model_validate({"xyz": xyz}) if xyz else CompanySettings()
    return Company(folder=Path("fixture"), settings=settings,
                   clients=pd.DataFrame({"client_id": ids, "name": [f"Client {i}" for i in ids]}), transactions=tx)


def test_short_histories_are_new_in_both_columns_and_left_out_of_the_matrices():
    rows = []
    for i in range(6):  # six steady monthly buyers over 12 months
        rows += _monthly(f"old{i}", [100] * 12)
    rows += _monthly("fresh", [100] * 3, start="2025-10-01")   # 3 months < 4: new
    rows += _monthly("edge", [100] * 4, start="2025-09-01")    # exactly 4 months: judged
    result = build_tiers(_company(_tx(rows), period="month"))
    table = result.table.set_index("client_id")
    assert table.loc["fresh", "xyz"] == "new" and table.loc["fresh", "demand_pattern"] == "new"
    assert table.loc["fresh", "abc_xyz"] == ""
    assert table.loc["edge", "xyz"] == "X" and table.loc["edge", "demand_pattern"] == "smooth"
    assert result.matrix["clients"].sum() == 7 and result.pattern_matrix["clients"].sum() == 7
    assert any("fewer than 4 months" in n for n in result.notes)
    # the threshold is a setting
    table = build_tiers(_company(_tx(rows), period="month", min_periods=5)).table.set_index("client_id")
    assert table.loc["edge", "xyz"] == "new"


def test_notes_say_which_period_was_used_and_why():
    rows = []
    for i in range(6):  # every 40 days: a month would often be empty, a quarter holds two purchases
        start = pd.Timestamp("2024-01-05") + pd.Timedelta(days=i)
        rows += [(f"c{i}", (start + pd.Timedelta(days=40 * k)).strftime("%Y-%m-%d"), 100.0) for k in range(15)]
    result = build_tiers(_company(_tx(rows)))
    assert result.period == "quarter" and result.period_choice.source == "auto"
    text = " ".join(result.notes)
    assert "median gap between purchases is 40 days" in text and "xyz.period" in text
    with i18n.language("ru"):
        ru = " ".join(build_tiers(_company(_tx(rows))).notes)
    assert "40 дн." in ru and "квартал" in ru


def test_one_class_holding_ninety_percent_is_called_uninformative():
    rows = []
    for i in range(9):
        rows += _monthly(f"z{i}", [100, 0, 0, 500] * 3)   # all Z
    rows += _monthly("x", [100] * 12)                     # one X: 9 of 10 = 90% Z
    notes = " ".join(build_tiers(_company(_tx(rows), period="month")).notes)
    assert "The XYZ split says little: 90% of the classified clients are Z" in notes
    assert "xyz.period: quarter" in notes
    assert find_dominant_class(pd.Series(["Z"] * 8 + ["X", "Y"])) is None  # 80%: informative enough


# --------------------------------------------------------------------------- concentration and the mono-client rule
def test_hhi_by_hand_and_the_mix_verdict():
    # shares .25, .15, and 24 clients at .025 each: HHI = .0625 + .0225 + 24 * .000625 = .1
    revenues = [250, 150] + [25] * 24
    ids = [f"c{i:02d}" for i in range(len(revenues))]
    company = Company(folder=Path("x"), settings=CompanySettings(),
                      clients=pd.DataFrame({"client_id": ids, "name": ids, "revenue": [float(r) for r in revenues]}))
    mix = audit_client_mix(company)
    assert mix.hhi == pytest.approx(0.1)
    assert not any(v.startswith("The mix looks balanced") for v in mix.verdicts)
    assert any("The largest client alone brings 25% of revenue" in v for v in mix.verdicts)


def test_concentration_verdicts_follow_their_lines():
    s = AuditSettings()
    assert judge_concentration(0.10, 0.40, 0.05, n_clients=30, settings=s) == []
    moderate = judge_concentration(0.10, 0.40, 0.15, n_clients=30, settings=s)   # on the 0.15 line
    assert len(moderate) == 1 and "moderately" in moderate[0] and "6.7" in moderate[0]  # 1 / 0.15 equal clients
    high = judge_concentration(0.45, 0.90, 0.30, n_clients=30, settings=s)
    assert [v.split(":")[0] for v in high] == ["Revenue is highly concentrated",
                                              "The largest client alone brings 45% of revenue (line 20%)",
                                              "The five largest clients bring 90% of revenue (line 60%)"]
    # a mono-client has its own warning: the largest-client verdict is not repeated
    assert not any("client alone" in v for v in judge_concentration(0.6, 0.9, 0.4, n_clients=30, mono=True))
    # five clients or fewer always hold 100% in the top 5: that is no verdict
    assert not any("five largest" in v for v in judge_concentration(0.2, 1.0, 0.2, n_clients=5))
    custom = AuditSettings(largest_client_share=0.5)
    assert judge_concentration(0.45, 0.5, 0.1, n_clients=30, settings=custom) == []


def test_mono_client_rule_is_one_function_for_tiers_and_audit():
    figures = pd.DataFrame({"name": ["A", "B", "C"], "revenue": [50.0, 30.0, 20.0], "margin": [30.0, 5.0, 5.0]},
                           index=["a", "b", "c"])
    monos = find_mono_clients(figures, limit=0.5)
    # revenue exactly 50% is not above the line; margin 30/40 = 75% is
    assert monos.to_dict("records") == [{"client_id": "a", "basis": "margin", "share": 0.75}]
    tx = _tx([("a", "2025-01-01", 50.0), ("b", "2025-01-01", 30.0), ("c", "2025-01-01", 20.0)])
    tx["margin"] = [30.0, 5.0, 5.0]
    company = _company(tx)
    tier_flags = [f for f in build_tiers(company).flags if f.code == "mono_client"]
    assert [f.client_ids for f in tier_flags] == [("a",)]
    assert len(audit_client_mix(company).warnings) == 1


SAMPLES = sorted(p for p in paths.SAMPLE_DIR.iterdir() if p.is_dir() and any(p.glob("transactions.*")))


@pytest.mark.parametrize("folder", SAMPLES, ids=[p.name for p in SAMPLES])
def test_samples_have_two_regularity_classes_with_a_tenth_of_clients(folder):
    from helpers.step1_list_clients.load import load_company

    table = build_tiers(load_company(folder)).table
    for column in ("xyz", "demand_pattern"):
        shares = table.loc[table[column] != "", column].value_counts(normalize=True)
        if (shares >= 0.10).sum() >= 2:
            return
    pytest.fail(f"{folder.name}: no regularity column has two classes holding 10% of clients")
