"""Rules and the criteria.yml parser: plain words, three-valued evaluation, no eval, helpful errors."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.core.errors import DataProblem
from helpers.core.i18n import language
from helpers.core.rules import (Combined, Condition, Negated, RuleError, UnknownTrait, conditions_of, parse_rule, read_team_criteria)

KINDS = {"headcount": "number", "industry": "category", "has_call_centre": "yesno",
         "Площадь офиса, м2": "number", "notes": "text", "region": "category"}


@pytest.fixture
def clients():
    return pd.DataFrame({
        "headcount": [10.0, 80.0, None, 50.0],
        "industry": ["retail", "IT", "horeca", None],
        "has_call_centre": pd.array([True, False, None, True], dtype="boolean"),
        "Площадь офиса, м2": [90.0, 200.0, 150.0, None],
        "region": ["Far East", "North", "North", "South"],
    })


@pytest.mark.parametrize("text, expected", [
    ("headcount >= 50", [False, True, None, True]),
    ("headcount < 50", [True, False, None, False]),
    ("headcount == 50", [False, False, None, True]),
    ("has_call_centre == yes", [True, False, None, True]),
    ("has_call_centre = нет", [False, True, None, False]),
    ("has_call_centre != no", [True, False, None, True]),
    ("industry in [retail, horeca]", [True, False, True, None]),
    ("industry == it", [False, True, False, None]),  # category names match without regard to case
    ("industry not in [retail]", [False, True, True, None]),
    ("`Площадь офиса, м2` >= 100", [False, True, True, None]),
    ('region == "Far East"', [True, False, False, False]),
    ("headcount >= 50 and has_call_centre == yes", [False, False, None, True]),
    ("headcount >= 50 or industry == retail", [True, True, None, True]),
    ("not headcount >= 50", [True, False, None, False]),
    ("industry == retail or headcount >= 50 and has_call_centre == yes", [True, False, None, True]),
    ("(industry == retail or headcount >= 50) and has_call_centre == yes", [True, False, None, True]),
])
def test_parse_and_evaluate(clients, text, expected):
    result = parse_rule(text, KINDS).evaluate(clients)
    assert [None if pd.isna(v) else bool(v) for v in result] == expected


def test_false_and_unknown_is_false(clients):
    # Kleene logic: a failed condition decides the rule even when the other trait is unknown
    node = parse_rule("has_call_centre == no and headcount >= 50", KINDS)
    assert node.evaluate(clients).tolist()[2] is pd.NA
    assert parse_rule("industry == retail and has_call_centre == yes", KINDS).evaluate(clients).tolist()[2] is False


def test_and_binds_tighter_than_or():
    node = parse_rule("industry == retail or headcount >= 50 and has_call_centre == yes", KINDS)
    assert isinstance(node, Combined) and node.op == "or"
    assert isinstance(node.right, Combined) and node.right.op == "and"


@pytest.mark.parametrize("text", [
    "headcount >= 50", "industry in [retail, horeca]", "has_call_centre == no", "`Площадь офиса, м2` < 99.5",
    'region in ["Far East", North]', "not (headcount >= 5 or industry == retail)",
    "(headcount >= 5 or industry == retail) and has_call_centre == yes",
])
def test_expression_round_trips(text):
    node = parse_rule(text, KINDS)
    assert parse_rule(node.expression(), KINDS) == node


def test_words_are_plain_and_localised():
    node = parse_rule("industry in [retail, horeca] and headcount >= 50", KINDS)
    assert node.words("en") == "industry is retail or horeca and headcount is 50 or more"
    with language("ru"):
        assert node.words() == "industry — retail или horeca и headcount не меньше 50"
    assert Condition("has_call_centre", "yesno", "==", False).words("en") == "has call centre: no"
    assert Negated(Condition("x", "number", "<", 2.5)).words("en") == "not (x is less than 2.5)"


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("headcount >=", "expected a value"),
    ("headcount 50", "expected a comparison"),
    ("headcount >= 50 50", "unexpected '50'"),
    ("headcount >= fifty", "is a number"),
    ("industry >= 5", "is a category"),
    ("has_call_centre == maybe", "yes/no"),
    ("industry in [retail", "expected , ]"),
    ("(headcount >= 5", "expected )"),
    ("notes == x", "unknown trait 'notes'"),  # text traits cannot be criteria
    ("__import__('os').system('true')", "unknown trait"),
    ("headcount >= 5; rm -rf /", "unexpected ';'"),
])
def test_bad_rules_say_what_is_wrong(text, fragment):
    with pytest.raises(RuleError) as info:
        parse_rule(text, KINDS)
    assert fragment in info.value.detail


def test_unknown_trait_suggests_close_names():
    with pytest.raises(UnknownTrait) as info:
        parse_rule("has_callcentre == yes", KINDS)
    assert info.value.close[0] == "has_call_centre"


def test_trait_names_match_without_regard_to_case():
    assert conditions_of(parse_rule("HeadCount >= 3", KINDS))[0].trait == "headcount"


def write(tmp_path, text):
    path = tmp_path / "criteria.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_team_criteria(tmp_path):
    path = write(tmp_path, """
criteria:
  - id: call-centre
    rule: has_call_centre == yes
    points_to: A
    rationale: starts in a day
    source: interview
    status: accepted
  - id: retail
    rule: industry in [retail]
    points_to: c
""")
    items, warnings = read_team_criteria(path, KINDS, {"industry": ["retail", "IT"]})
    assert [c.id for c in items] == ["call-centre", "retail"]
    assert items[0].status == "accepted" and items[1].status == "proposed" and items[1].points_to == "C"
    assert warnings == []


def test_missing_file_means_no_criteria(tmp_path):
    assert read_team_criteria(tmp_path / "criteria.yml", KINDS) == ([], [])


def test_errors_name_file_criterion_and_fix(tmp_path):
    path = write(tmp_path, """
criteria:
  - id: one
    rule: headcont >= 50
    points_to: A
  - id: two
    rule: headcount >=
    points_to: A
  - id: three
    rule: headcount >= 5
    points_to: B
    status: maybe
  - id: one
    rule: industry == retail
    points_to: C
    colour: red
""")
    with pytest.raises(DataProblem) as info:
        read_team_criteria(path, KINDS)
    problems = info.value.problems
    codes = [(p.column, p.code) for p in problems]
    assert ("one", "criterion_unknown_trait") in codes
    assert ("two", "criterion_bad_rule") in codes
    assert sum(1 for c in codes if c == ("three", "criterion_invalid")) == 2  # points_to and status
    assert any(p.column == "one" and "twice" in p.message for p in problems)
    assert any("colour" in p.message for p in problems)
    unknown = next(p for p in problems if p.code == "criterion_unknown_trait")
    assert unknown.file == "criteria.yml" and "headcount" in unknown.message and unknown.fix


def test_misspelt_category_value_is_a_warning(tmp_path):
    path = write(tmp_path, "- id: r\n  rule: industry == retial\n  points_to: C\n")
    items, warnings = read_team_criteria(path, KINDS, {"industry": ["retail", "IT"]})
    assert len(items) == 1
    assert warnings[0].code == "criterion_unknown_value" and "retail" in warnings[0].message


@pytest.mark.parametrize("text", ["criteria: [unclosed", "!!python/object/apply:os.system ['true']", "criteria: 5"])
def test_unreadable_file(tmp_path, text):
    with pytest.raises(DataProblem) as info:
        read_team_criteria(write(tmp_path, text), KINDS)
    assert info.value.problems[0].code == "criteria_file_invalid"
