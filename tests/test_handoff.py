"""Hand-offs: criteria.xlsx (two formatted sheets, safe text), the checklist and the profile as data."""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import make_company  # noqa: E402

from helpers.step4_write_criteria.criteria import find_criteria  # noqa: E402
from helpers.step5_report.handoff import build_checklist  # noqa: E402
from helpers.step5_report.handoff import build_profile, write_criteria_xlsx
from helpers.core.i18n import language  # noqa: E402


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("company")
    (folder / "criteria.yml").write_text(
        "- id: '=HYPERLINK(\"http://x\")'\n  rule: noise_00 >= 1\n  points_to: C\n  rationale: '@SUM(A1)'\n",
        encoding="utf-8")
    company, table = make_company(8, noise_traits=3, folder=folder)
    return find_criteria(company, table, backtest=False)


def test_checklist_groups_answers_by_question(result):
    checklist = build_checklist(result)
    by_trait = {q["trait"]: q for q in checklist["questions"]}
    # every criterion sales gets is an answer, with how often such clients were A (or C) beside it
    for _, row in result.chosen().iterrows():
        slot = "target_answers" if row["points_to"] == "A" else "red_flag_answers"
        assert any(answer.startswith(row["rule"] + " — ") and "%" in answer for answer in by_trait[row["trait"]][slot])
    assert by_trait["industry"]["red_flag_answers"][0].startswith("industry is retail — C among such clients")
    assert by_trait["headcount"]["question"] == "What is the client's headcount?"
    assert checklist["empty"] == "" and "full sales process" in checklist["route_rule"].lower()
    with language("ru"):
        assert build_checklist(result)["title"] == "Чек-лист квалификации"


def test_profile_lists_signs_and_what_to_avoid(result):
    profile = build_profile(result)
    assert any(s.startswith("has call centre: yes:") for s in profile["signs"])
    assert any("industry is retail" in s for s in profile["avoid"])
    assert "A clients" in profile["size"]


def test_xlsx_has_both_sheets_and_safe_cells(result, tmp_path):
    path = write_criteria_xlsx(result, tmp_path / "criteria.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["criteria", "sales checklist"]
    table = book["criteria"]
    headers = [c.value for c in table[1]]
    assert headers[:4] == ["id", "points to", "rule", "evidence"]
    rows = list(table.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(result.table)
    support_col = headers.index("clients covered")
    assert all(isinstance(r[support_col], (int, float)) for r in rows)  # numbers stay numbers
    ids = [r[0] for r in rows]
    assert "'=HYPERLINK(\"http://x\")" in ids  # a formula-looking id is written as text
    for row in table.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
    assert "'@SUM(A1)" in [r[headers.index("rationale")] for r in rows]
    share = table.cell(row=2, column=headers.index("share of the tier") + 1)
    assert share.number_format == "0%"
    checklist = book["sales checklist"]
    texts = [c.value for row in checklist.iter_rows() for c in row if c.value]
    assert "Qualification checklist" in texts
    assert any("has call centre: yes" in str(v) for v in texts)
