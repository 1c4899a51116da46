"""The mono-client rule is one line for every step: tiers' flag, the audit's warning and the report's plot."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpers.step1_list_clients.settings import CompanySettings


@pytest.mark.parametrize("written, expected", [({}, 0.50), ({"audit": {"mono_client_share": 0.4}}, 0.4),
                                               ({"abc": {"mono_client_share": 0.3}}, 0.3),
                                               ({"abc": {"mono_client_share": 0.4},
                                                 "audit": {"mono_client_share": 0.4}}, 0.4)])
def test_the_line_written_under_either_section_is_the_one_line(written, expected):
    assert CompanySettings(name="X", **written).mono_client_share == expected


def test_two_different_lines_are_refused_naming_both_keys():
    with pytest.raises(ValidationError, match="abc.mono_client_share .* audit.mono_client_share"):
        CompanySettings(name="X", abc={"mono_client_share": 0.3}, audit={"mono_client_share": 0.6})


def test_tiers_and_audit_flag_the_same_clients(tmp_path):
    import pandas as pd

    from helpers.step1_list_clients.audit import audit_client_mix
    from helpers.step1_list_clients.load import load_company
    from helpers.step2_place_in_tiers.tiers import build_tiers

    pd.DataFrame({"client_id": ["a", "b", "c"], "name": ["Alpha", "Beta", "Gamma"],
                  "revenue": [45.0, 35.0, 20.0]}).to_csv(tmp_path / "clients.csv", index=False)
    (tmp_path / "company.yml").write_text("name: X\naudit:\n  mono_client_share: 0.40\n", encoding="utf-8")
    company = load_company(tmp_path)
    flagged = [f for f in build_tiers(company).flags if f.code == "mono_client"]
    assert [f.client_ids for f in flagged] == [("a",)]  # 45% is above the 40% line written under audit
    assert len(audit_client_mix(company).warnings) >= 1
