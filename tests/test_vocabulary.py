"""One vocabulary: tier ladders, outcomes, verdicts and the yes/no words are written once (core.vocabulary)."""

import re
from pathlib import Path

import pandas as pd

from helpers.core import rules, vocabulary as v
from helpers.step1_list_clients import company, key_clients, parsing
from helpers.step2_place_in_tiers import tiers
from helpers.step3_compare_traits import traits
from helpers.step4_write_criteria import criteria, prospects

SRC = Path(__file__).resolve().parents[1] / "src" / "helpers"


def test_old_names_are_the_vocabulary_itself():
    assert company.TIERS is v.TIERS and tiers.LADDER is v.TIERS and company.SIDE_TIERS is v.SIDE_TIERS
    assert tiers.TEAM_ORDER is v.TEAM_ORDER and traits.SUBTIER_ORDER is v.RANKED_ORDER
    assert company.DEAL_OUTCOMES is v.DEAL_OUTCOMES and company.CLOSED_OUTCOMES is v.CLOSED_OUTCOMES
    assert criteria.EVIDENCE_ORDER is v.EVIDENCE_ORDER and prospects.ROUTES is v.ROUTES
    assert parsing.YES is v.YES_WORDS and key_clients._YES is v.YES_WORDS


def test_no_module_writes_a_tier_ladder_or_yes_list_again():
    ladder = re.compile(r"""["']A1["'],\s*["']A2["'],\s*["']A3["']""")
    yes = re.compile(r"""\{\s*["']yes["'],""")
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if p.name != "vocabulary.py" and (ladder.search(p.read_text()) or yes.search(p.read_text()))]
    assert offenders == []


def test_one_word_list_serves_the_three_readers():
    cells = pd.Series(["Да", "нет", "истина", "ЛОЖЬ", "ok", "✓", "-", "maybe"])
    # the input parser: a dash is a blank cell, not a "no"
    read, bad = parsing.parse_yesno(cells)
    assert read.tolist() == [True, False, True, False, True, True, pd.NA, pd.NA]
    assert bad.tolist() == [False] * 7 + [True]
    # the dossier checkboxes read the dash as "no"
    assert key_clients.parse_yes_no(cells).tolist() == [True, False, True, False, True, True, False, pd.NA]
    # the rule language takes the words but none of the marks
    assert {"да", "нет", "истина", "ложь", "есть"} <= rules.YES_WORDS | rules.NO_WORDS
    assert not (rules.YES_WORDS | rules.NO_WORDS) & v.MARK_WORDS


def test_a_column_of_marks_is_not_taken_for_yes_no_but_words_are():
    assert parsing.looks_like_yesno(pd.Series(["да", "нет", "есть", "Нет"]))
    assert not parsing.looks_like_yesno(pd.Series(["+", "-", "x"]))
    assert not parsing.looks_like_yesno(pd.Series(["0", "1", "2", "3"]))


def test_rule_on_a_yes_no_trait_reads_the_russian_words():
    node = rules.parse_rule("has_site == есть", {"has_site": "yesno"})
    frame = pd.DataFrame({"has_site": ["да", "нет", "истина"]})
    assert node.evaluate(frame).tolist() == [True, False, True]
