"""Prospects scored with the criteria: verdicts, reasons, routes, and missing answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import make_company  # noqa: E402

from helpers.step4_write_criteria.criteria import find_criteria  # noqa: E402
from helpers.step4_write_criteria.prospects import count_verdicts  # noqa: E402
from helpers.step4_write_criteria.prospects import score_prospects

CRITERIA = """
criteria:
  - {id: cc, rule: has_call_centre == yes, points_to: A, status: accepted}
  - {id: big, rule: headcount >= 50, points_to: A, status: accepted}
  - {id: retail, rule: industry == retail, points_to: C, status: accepted}
  - {id: draft, rule: noise_00 >= 1, points_to: C, status: proposed}
"""


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("company")
    (folder / "criteria.yml").write_text(CRITERIA, encoding="utf-8")
    company, table = make_company(21, noise_traits=2, folder=folder)
    company.prospects = pd.DataFrame({
        "prospect_id": pd.array(["P1", "P2", "P3", "P4", "P5", "P6"], dtype="string"),
        "name": pd.array(["=cmd", "Beta", "Gamma", "Delta", "Eps", "Zeta"], dtype="string"),
        "has_call_centre": pd.array([True, True, False, None, False, None], dtype="boolean"),
        "headcount": [10.0, 80.0, 10.0, 10.0, 10.0, 70.0],
        "industry": ["it", "retail", "it", "it", "retail", None],
    })
    before = company.prospects.copy()
    result = find_criteria(company, table, backtest=False)
    out = score_prospects(company, result)
    pd.testing.assert_frame_equal(company.prospects, before)  # input untouched
    return out.set_index("prospect_id")


def test_verdicts_and_routes(scored):
    # a call centre is a real sign, but A is not the clear majority among such clients: no full process on it alone
    assert scored.loc["P1", "verdict"] == "not target" and scored.loc["P1", "route"] == "standard offer"
    assert scored.loc["P2", "verdict"] == "needs review"  # a sign of A and a red flag: a person decides
    assert scored.loc["P3", "verdict"] == "not target" and scored.loc["P3", "route"] == "standard offer"
    assert scored.loc["P4", "verdict"] == "needs review" and scored.loc["P4", "to_ask"] == "has call centre"
    assert scored.loc["P5", "verdict"] == "not target" and scored.loc["P5", "route"] == "decline"
    assert scored.loc["P6", "verdict"] == "needs review" and "industry" in scored.loc["P6", "to_ask"]


def test_reasons_are_plain_words(scored):
    assert scored.loc["P1", "signs_met"] == "has call centre: yes"
    assert "headcount is 50 or more" in scored.loc["P1", "failed"]
    assert scored.loc["P5", "red_flags_met"] == "industry is retail"
    # proposed criteria are not used when the team has accepted ones
    assert not scored.apply(lambda r: "noise" in r["failed"] + r["signs_met"] + r["red_flags_met"], axis=1).any()
    assert (scored["criteria_from"] == "team").all()


def test_no_prospects_file_gives_none():
    company, table = make_company(2, noise_traits=2)
    result = find_criteria(company, table, backtest=False)
    assert score_prospects(company, result) is None


def test_without_any_criteria_everyone_needs_review():
    company, table = make_company(4, planted=False, noise_traits=2)
    company.prospects = pd.DataFrame({"prospect_id": pd.array(["P1"], dtype="string"), "noise_00": [3.0]})
    result = find_criteria(company, table, backtest=False)
    assert result.chosen().empty
    out = score_prospects(company, result)
    assert out.loc[0, "verdict"] == "needs review" and out.loc[0, "name"] == "P1"


def test_count_verdicts(scored):
    counts = count_verdicts(scored.reset_index())
    assert counts["prospects"].sum() == len(scored)
    assert set(counts["verdict"]) <= {"target", "not target", "needs review"} and len(counts) >= 3


def test_new_category_values_are_unknown_unless_a_rule_names_them(tmp_path):
    (tmp_path / "criteria.yml").write_text(
        "criteria:\n  - {id: not_retail, rule: 'industry not in [retail]', points_to: A, status: accepted}\n"
        "  - {id: mining, rule: 'industry in [mining]', points_to: C, status: accepted}\n", encoding="utf-8")
    company, table = make_company(21, noise_traits=2, folder=tmp_path)
    company.prospects = pd.DataFrame({"prospect_id": pd.array(["N1", "N2"], dtype="string"),
                                      "industry": ["space", "mining"]})
    out = score_prospects(company, find_criteria(company, table, backtest=False)).set_index("prospect_id")
    # "space": no client and no rule knows it, so "not retail" cannot be judged: ask, never a full process
    assert out.loc["N1", "route"] == "ask first" and "'space' is new" in out.loc["N1", "new_values"]
    # "mining" is named by a team rule: that rule judges it
    assert out.loc["N2", "new_values"] == "" and "industry is mining" in out.loc["N2", "red_flags_met"]
