"""The criteria editor's model: candidates with evidence, accept / edit / reject / add, criteria.yml checked on save."""

from __future__ import annotations

import shutil

import pytest
import yaml

from helpers.step4_write_criteria.criteria import find_criteria
from helpers.workshop.criteria_editor import CriteriaDraft
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import load_company
from helpers.paths import SAMPLE_DIR
from helpers.core.rules import read_team_criteria
from helpers.step2_place_in_tiers.tiers import build_tiers


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    folder = shutil.copytree(SAMPLE_DIR / "b2b_services", tmp_path_factory.mktemp("ed") / "co")
    company = load_company(folder)
    return company, find_criteria(company, build_tiers(company).table, backtest=False)


@pytest.fixture
def draft(searched):
    company, result = searched
    (company.folder / "criteria.yml").unlink(missing_ok=True)
    shutil.rmtree(company.folder / "history", ignore_errors=True)
    return CriteriaDraft.from_result(company, result)


def test_candidates_come_with_their_evidence_supported_first(draft):
    assert draft.items and all(item.status == "" for item in draft.items)
    first = draft.items[0]
    assert first.evidence_text.startswith("supported · ") and " of " in first.evidence_text
    assert len({item.id for item in draft.items}) == len(draft.items)


def test_accept_reject_edit_and_add_are_written_and_read_back_by_the_workbooks_reader(draft, searched):
    company, _ = searched
    draft.set_status(0, "accepted")
    draft.set_status(1, "rejected")
    draft.edit(2, rule="headcount >= 40", rationale="  from forty   people it pays ")
    draft.set_status(2, "accepted")
    draft.add("has_call_centre == yes and region == North", points_to="A", rationale="interviews")
    path = draft.save()
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["criteria"]
    assert [e["status"] for e in entries] == ["accepted", "rejected", "accepted", "accepted"]
    assert entries[2]["rule"] == "headcount >= 40" and entries[2]["rationale"] == "from forty people it pays"
    criteria, _ = read_team_criteria(path, company.trait_kinds)
    assert [c.id for c in criteria] == [e["id"] for e in entries]
    # saving again keeps the previous file in history/
    draft.set_status(1, "accepted")
    draft.save()
    assert len(list((company.folder / "history").glob("criteria-*.yml"))) == 1


@pytest.mark.parametrize("rule, expected", [
    ("headcont >= 50", "headcount"),  # misspelt trait: the closest name is offered
    ("headcount => 50", "criteria.yml:"),  # an operator the language does not have
    ("industry > retail", "category"),  # an operator the trait's kind does not take
])
def test_a_bad_rule_is_refused_at_once_with_the_fix_and_the_old_rule_kept(draft, rule, expected):
    before = draft.items[0].rule
    with pytest.raises(DataProblem) as exc:
        draft.edit(0, rule=rule)
    text = str(exc.value)
    assert text.startswith(f"criteria.yml:{draft.items[0].id} — ") and expected in text
    assert text.count(" — ") >= 2  # where — what — fix
    assert draft.items[0].rule == before and draft.items[0].error


def test_an_own_criterion_with_an_unknown_trait_never_reaches_the_list(draft):
    count = len(draft.items)
    with pytest.raises(DataProblem, match="unknown trait 'budget'"):
        draft.add("budget > 5")
    with pytest.raises(DataProblem):
        draft.add("headcount > 5", points_to="B")
    assert len(draft.items) == count


def test_nothing_decided_writes_an_empty_list_that_the_workbook_reads(draft, searched):
    path = draft.save()
    assert read_team_criteria(path, searched[0].trait_kinds) == ([], [])
