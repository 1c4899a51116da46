"""Tests of step 3: which tiers are compared, and the comparison of traits."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.config import CompanySettings
from helpers.errors import DataProblem
from helpers.traits import compared_tiers


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
