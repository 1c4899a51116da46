"""Tests of the deal outcomes and reasons (step 3, seed procedure step 2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.step3_compare_traits.deals import DealSummary, group_reasons, reason_groups, summarise_deals
from helpers.core.i18n import language


def _company(deals, groups=None, defaults=True):
    settings = CompanySettings.model_validate({"deals": {"reason_groups": groups or {}, "default_groups": defaults}})
    clients = pd.DataFrame({"client_id": ["a1", "a2", "b1", "c1"], "name": ["A1", "A2", "B1", "C1"]})
    return Company(folder=Path("x"), settings=settings, clients=clients, deals=deals)


TIERS = pd.DataFrame({"client_id": ["a1", "a2", "b1", "c1"], "team_tier": [None] * 4,
                      "suggested_tier": ["A1", "A2", "B1", "C"]})


def _deals():
    return pd.DataFrame({
        "client_id": ["a1", "a2", "b1", "c1", "c1", None],
        "outcome": ["won_fast", "won_fast", "won", "stalled", "refused", "refused"],
        "reason": ["has its own call centre", "Referral from a client", "asked for a discount",
                   "committee could not agree", "Too expensive, chose a competitor", ""],
        "created": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01", "2025-02-01",
                                   "2025-03-01"]),
        "closed": pd.to_datetime(["2025-01-04", "2025-01-06", "2025-02-10", "2025-03-01", "2025-02-21",
                                  "2025-03-11"]),
        "cycle_days": [3.0, None, 40.0, None, None, None],
    })


def test_summarise_deals_without_deals_is_none():
    assert summarise_deals(_company(None), TIERS) is None


def test_summarise_deals_tallies_reasons_per_outcome_and_tier():
    deals = _deals()
    before = deals.copy()
    with language("en"):
        summary = summarise_deals(_company(deals, {"call centre": ["call centre", "колл-центр"]}), TIERS)
    assert isinstance(summary, DealSummary)
    assert summary.source == "suggested"
    assert summary.deals["tier"].tolist() == ["A", "A", "B", "C", "C", "unplaced"]
    by_outcome = summary.reasons_by_outcome
    assert by_outcome.loc["call centre", "won_fast"] == 1
    assert by_outcome.loc["trust and referrals", "won_fast"] == 1
    assert by_outcome.loc["price", "won"] == 1 and by_outcome.loc["price", "refused"] == 1
    assert by_outcome.loc["competitor", "refused"] == 1
    assert by_outcome.loc["decision maker", "stalled"] == 1
    assert by_outcome.loc["no reason given", "refused"] == 1
    assert by_outcome.loc["price", "total"] == 2
    assert summary.reasons_by_tier.loc["price", "C"] == 1 and summary.reasons_by_tier.loc["price", "B"] == 1
    assert summary.outcomes_by_tier.loc["C"].to_dict() == {"won_fast": 0, "won": 0, "stalled": 1, "refused": 1,
                                                           "total": 2}
    pd.testing.assert_frame_equal(deals, before)


def test_summarise_deals_cycle_from_dates_when_missing():
    with language("en"):
        summary = summarise_deals(_company(_deals()), TIERS)
    assert summary.deals["cycle_days"].tolist() == [3.0, 5.0, 40.0, 59.0, 20.0, 10.0]
    # cycle per tier counts won deals only
    assert summary.cycle_by_tier.loc["A"].to_dict() == {"n": 2, "median": 4.0, "q1": 3.5, "q3": 4.5}
    assert summary.cycle_by_tier.loc["C", "n"] == 0
    assert summary.cycle_by_outcome.loc["refused", "median"] == 15.0


def test_company_groups_come_first_and_replace_same_named_defaults():
    with language("en"):
        own, built_in = reason_groups({"price": ["money"]})
        assert "price" not in built_in and "budget" in built_in
        grouped = group_reasons(pd.Series(["too expensive", "money talks"]), own, built_in)
    assert grouped.tolist() == [["other"], ["price"]]
    with language("en"):
        _, none = reason_groups({}, defaults=False)
    assert none == {}


def test_keywords_match_at_word_start_in_russian_and_ignore_case_and_yo():
    with language("ru"):
        own, built_in = reason_groups({})
        grouped = group_reasons(pd.Series(["Слишком ДОРОГО", "оценка проекта затянулась", "ЛПР в отпуске",
                                           "нет интеграции с 1С", "пришли по рекомендации", None]), own, built_in)
    assert grouped.tolist() == [["цена"], ["прочее"], ["сроки", "лицо, принимающее решение"],
                                ["не хватает функции"], ["доверие и рекомендации"], ["причина не указана"]]


def test_examples_hold_the_most_frequent_reasons_per_outcome():
    deals = pd.concat([_deals()] + [_deals().iloc[[3]]] * 2, ignore_index=True)
    with language("en"):
        summary = summarise_deals(_company(deals), TIERS)
    stalled = summary.examples[summary.examples["outcome"] == "stalled"]
    assert stalled.iloc[0][["reason", "deals"]].tolist() == ["committee could not agree", 3]
    assert summary.examples["outcome"].tolist()[0] == "won_fast"


def test_yo_and_ye_match_each_other():
    grouped = group_reasons(pd.Series(["сошлись на меньшем объеме", "Объём"]), {"scope": ["объём"]})
    assert grouped.tolist() == [["scope"], ["scope"]]


@pytest.mark.parametrize("stage, outcome", [
    ("Закрыта (выиграна)", "won"), ("Закрыта (проиграна)", "refused"), ("Closed (Won)", "won"),
    ("Closed (Lost)", "refused"), ("Завершена (успех)", "won"),
    ("Новая (входящие)", "open"), ("Negotiation (Sales Pipeline)", "open"),  # a pipeline named, not an outcome
])
def test_a_closing_stage_with_its_outcome_in_brackets_is_that_outcome(stage, outcome):
    from helpers.step1_list_clients.load import normalise_outcome

    assert normalise_outcome(stage) == outcome
