"""Deal exports whose outcome the kit misread before (issue 9): a Pipedrive export with both "Deal - Stage"
and "Deal - Status", and the default stage names and headers of Kommo (amoCRM in English), Bitrix24 in
English, Zoho CRM, HubSpot, Pipedrive and Salesforce."""

from __future__ import annotations

import pandas as pd
import pytest

from folders import write_company as _company
from folders import problem_codes as _codes
from helpers.step1_list_clients.load import check_company, load_company, normalise_outcome

CLIENTS = "client_id,name\n101,Acme Inc\n102,Globex LLC\n103,Initech\n"
RU_CLIENTS = "client_id,name\n1,ООО Ромашка\n2,ООО Лютик\n"


def _csv(rows: list[tuple[str, ...]], sep: str = ",") -> str:
    return "\n".join(sep.join(r) for r in rows) + "\n"


# ---- two columns that could hold the outcome ----------------------------------------------------------------

# Pipedrive "Export data → Deals": a won or lost deal keeps the pipeline stage it was at; only the status says
PIPEDRIVE = [("Deal - ID", "Deal - Organization", "Deal - Stage", "Deal - Status", "Deal - Lost reason"),
             ("1", "Acme Inc", "Negotiations Started", "won", ""),
             ("2", "Globex LLC", "Proposal Made", "lost", "Price too high"),
             ("3", "Initech", "Qualified", "lost", "Went with competitor"),
             ("4", "Acme Inc", "Contact Made", "open", ""),
             ("5", "Initech", "Demo Scheduled", "won", "")]


@pytest.mark.parametrize("stage_first", [True, False])
def test_pipedrive_status_decides_the_outcome_whichever_column_comes_first(tmp_path, stage_first):
    rows = PIPEDRIVE if stage_first else [(r[0], r[1], r[3], r[2], r[4]) for r in PIPEDRIVE]
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": _csv(rows)}))
    assert result.ok, [str(p) for p in result.problems]
    deals = result.company.deals
    assert deals["outcome"].tolist() == ["won", "refused", "refused", "open", "won"]
    assert deals["reason"].tolist()[1:3] == ["Price too high", "Went with competitor"]
    codes = _codes(result.problems)
    chosen = codes["outcome_column_chosen"][0]
    assert chosen.details["used"] == "Deal - Status" and chosen.details["other"] == "Deal - Stage"
    assert (chosen.details["used_count"], chosen.details["other_count"]) == (4, 0)
    # the stage column is named for what it is, not listed as unused, and names the open deals' stage
    assert "Deal - Stage" not in " ".join(p.details["columns"] for p in codes.get("ignored_columns", []))
    report = next(f for f in result.files if f.kind == "deals")
    assert report.columns["Deal - Stage"][0] == "stage" and report.columns["Deal - Status"][0] == "outcome"
    assert "Contact Made ×1" in codes["open_deals"][0].message
    assert "outcome_columns_disagree" not in codes and "unknown_stages" not in codes


def test_a_stage_column_that_says_won_or_lost_wins_over_a_status_that_does_not(tmp_path):
    # «Статус» here is a record state («Активна»), the stage is the outcome: the stage decides
    deals = _csv([("ID", "Статус", "Стадия сделки", "Компания"),
                  ("1", "Активна", "Сделка успешна", "ООО Ромашка"),
                  ("2", "Активна", "Сделка провалена", "ООО Лютик"),
                  ("3", "Активна", "Подготовка документов", "ООО Ромашка")], ";")
    result = check_company(_company(tmp_path, {"clients.csv": RU_CLIENTS, "deals.csv": deals}, "language: ru\n"))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    assert _codes(result.problems)["outcome_column_chosen"][0].details["used"] == "Стадия сделки"


def test_amocrm_stage_beside_a_status_of_won_and_lost(tmp_path):
    deals = _csv([("ID", "Этап", "Статус", "Компания", "Причина отказа"),
                  ("1", "Переговоры", "Успешно реализовано", "ООО Ромашка", ""),
                  ("2", "Принимают решение", "Закрыто и не реализовано", "ООО Лютик", "Дорого"),
                  ("3", "Первичный контакт", "В работе", "ООО Ромашка", "")], ";")
    from helpers.core import i18n

    with i18n.language("ru"):  # the note reads in Russian too
        result = check_company(_company(tmp_path, {"clients.csv": RU_CLIENTS, "deals.csv": deals}, "language: ru\n"))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    chosen = _codes(result.problems)["outcome_column_chosen"][0]
    assert chosen.details["used"] == "Статус" and "итог прочитан из «Статус»" in chosen.message


def test_deals_the_other_column_calls_won_or_lost_otherwise_are_warned_of_with_rows(tmp_path):
    rows = [*PIPEDRIVE, ("6", "Globex LLC", "Closed Won", "lost", "")]
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": _csv(rows)}))
    assert result.company.deals["outcome"].tolist()[-1] == "refused"  # the status still decides
    warning = _codes(result.problems)["outcome_columns_disagree"][0]
    assert warning.severity == "warning" and warning.details["count"] == 1 and warning.details["rows"] == "7"


def test_company_yml_naming_the_outcome_column_is_kept(tmp_path):
    config = 'load:\n  columns:\n    deals:\n      "Deal - Stage": outcome\n'
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": _csv(PIPEDRIVE)}, config))
    assert result.company.deals["outcome"].tolist() == ["open"] * 5
    assert "outcome_column_chosen" not in _codes(result.problems)


def test_one_outcome_column_gives_no_note(tmp_path):
    deals = _csv([r[:3] for r in PIPEDRIVE])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert "outcome_column_chosen" not in _codes(result.problems)


def test_salesforce_flags_still_decide_beside_two_outcome_columns(tmp_path):
    deals = _csv([("Account Name", "Stage", "Status", "Won", "Closed"),
                  ("Acme Inc", "Signed", "won", "1", "1"),
                  ("Globex LLC", "Dead", "lost", "0", "1"),
                  ("Initech", "Discovery", "open", "0", "0")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    assert "stage_against_flags" not in _codes(result.problems)


def test_hubspot_is_closed_won_flags_decide_custom_stages(tmp_path):
    deals = _csv([("Record ID", "Associated Company", "Deal Stage", "Is Closed Won", "Is Deal Closed?"),
                  ("9001", "Acme Inc", "Signed (Renewals)", "true", "true"),
                  ("9002", "Globex LLC", "Gone quiet", "false", "true"),
                  ("9003", "Initech", "Scoping", "false", "false")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    assert "unknown_stages" not in _codes(result.problems)


# ---- default stage names of each CRM --------------------------------------------------------------------

DEFAULT_STAGES = {
    "kommo": ({"won": ["Closed - won"], "refused": ["Closed - lost"],
               "open": ["Incoming leads", "Initial contact", "Discussions", "Decision making",
                        "Contract discussion"]}),
    "amocrm": ({"won": ["Успешно реализовано"], "refused": ["Закрыто и не реализовано"],
                "open": ["Неразобранное", "Первичный контакт", "Переговоры", "Принимают решение",
                         "Согласование договора"]}),
    "bitrix24 en": ({"won": ["Deal won"], "refused": ["Deal lost", "Analyze failure", "Analyse failure"],
                     "open": ["New", "Preparing documents", "Invoice", "Prepayment invoice", "In progress",
                              "Final invoice"]}),
    "bitrix24 ru": ({"won": ["Сделка успешна"], "refused": ["Сделка провалена", "Анализ причины провала"],
                     "open": ["Новая", "Подготовка документов", "Счёт на предоплату", "В работе",
                              "Финальный счёт"]}),
    "zoho": ({"won": ["Closed Won"], "refused": ["Closed Lost", "Closed-Lost to Competition"],
              "open": ["Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers",
                       "Proposal/Price Quote", "Negotiation/Review"]}),
    "hubspot": ({"won": ["closedwon", "Closed Won"], "refused": ["closedlost", "Closed Lost"],
                 "open": ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
                          "contractsent", "Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
                          "Decision Maker Bought-In", "Contract Sent"]}),
    "pipedrive": ({"won": ["won"], "refused": ["lost"],
                   "open": ["open", "Lead In", "Qualified", "Contact Made", "Demo Scheduled", "Proposal Made",
                            "Negotiations Started"]}),
    "salesforce": ({"won": ["Closed Won"], "refused": ["Closed Lost"],
                    "open": ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                             "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
                             "Negotiation/Review"]}),
}


@pytest.mark.parametrize("crm", list(DEFAULT_STAGES))
def test_default_stages_of_each_crm_are_known(crm):
    read = {stage: normalise_outcome(stage) for outcome, stages in DEFAULT_STAGES[crm].items() for stage in stages}
    expected = {stage: outcome for outcome, stages in DEFAULT_STAGES[crm].items() for stage in stages}
    assert read == expected


def test_a_closing_stage_with_its_why_after_it_is_that_outcome():
    assert [normalise_outcome(v) for v in ["Closed Lost - No Budget", "Closed Won: Renewal",
                                           "Closed lost (price)", "Closed-Lost to Competition"]] == \
        ["refused", "won", "refused", "refused"]
    assert normalise_outcome("Closed won't buy") is None  # not a closing stage: named as unknown


# ---- whole exports ---------------------------------------------------------------------------------------

def test_kommo_export_in_english(tmp_path):
    deals = _csv([("ID", "Lead title", "Budget", "Date Created", "Date closed", "Stage", "Contact company",
                   "Loss reason"),
                  ("1", "Lead #1", "12000", "2024-01-10 10:00", "2024-02-10 10:00", "Closed - won", "Acme Inc", ""),
                  ("2", "Lead #2", "3000", "2024-01-14 10:00", "2024-02-14 10:00", "Closed - lost", "Globex LLC",
                   "Too expensive"),
                  ("3", "Lead #3", "900", "2024-03-05 10:00", "", "Contract discussion", "Initech", "")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.ok, [str(p) for p in result.problems]
    d = result.company.deals
    assert d["outcome"].tolist() == ["won", "refused", "open"]
    assert d["client_id"].tolist() == ["101", "102", "103"]
    assert d["amount"].tolist() == [12000.0, 3000.0, 900.0]
    assert d["cycle_days"].tolist()[:2] == [31.0, 31.0]
    assert d["reason"].tolist()[1] == "Too expensive"
    codes = _codes(result.problems)
    assert "unknown_stages" not in codes and "ignored_columns" not in codes


def test_zoho_crm_deals_export(tmp_path):
    deals = _csv([("Record Id", "Deal Owner", "Deal Name", "Account Name", "Stage", "Amount", "Closing Date",
                   "Created Time", "Reason For Loss"),
                  ("zcrm_1", "Ann", "Acme renewal", "Acme Inc", "Closed Won", "12000", "2024-02-10",
                   "2024-01-10 10:00:00", ""),
                  ("zcrm_2", "Ann", "Globex new", "Globex LLC", "Closed-Lost to Competition", "2250", "2024-02-18",
                   "2024-01-18 10:00:00", "Competitor"),
                  ("zcrm_3", "Ann", "Initech addon", "Initech", "Identify Decision Makers", "4000", "2024-04-30",
                   "2024-03-03 10:00:00", "")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.ok, [str(p) for p in result.problems]
    d = result.company.deals
    assert d["outcome"].tolist() == ["won", "refused", "open"]
    assert d["deal_id"].tolist() == ["zcrm_1", "zcrm_2", "zcrm_3"]
    assert d["reason"].tolist()[1] == "Competitor"
    assert d["cycle_days"].tolist()[:2] == [31.0, 31.0] and d["cycle_days"].isna().tolist()[2]
    codes = _codes(result.problems)
    assert "unknown_stages" not in codes
    assert codes["ignored_columns"][0].details["columns"] == "Deal Owner"


def test_bitrix24_english_failure_stage_is_lost_not_open(tmp_path):
    deals = _csv([("ID", "Name", "Stage", "Amount", "Company"),
                  ("71", "Paper supply", "Deal won", "12000", "Acme Inc"),
                  ("74", "Stationery", "Analyze failure", "5500", "Globex LLC"),
                  ("76", "Paper 2", "Preparing documents", "1000", "Initech")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    assert "unknown_stages" not in _codes(result.problems)


# ---- more of the same exports: deleted deals, back-filled dates, the company's CRM id -------------------------

def test_deals_deleted_in_pipedrive_are_left_out_with_one_note(tmp_path):
    deals = _csv([("Deal - Organization", "Deal - Status", "Deal - Lost reason"),
                  ("Acme Inc", "won", ""), ("Globex LLC", "deleted", ""), ("Initech", "lost", "Price"),
                  ("Initech", "open", "")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    note = _codes(result.problems)["deleted_deals"][0]
    assert note.details["rows"] == "3" and "unknown_stages" not in _codes(result.problems)


def test_a_deal_closed_before_it_was_created_has_no_cycle_and_is_named(tmp_path):
    deals = _csv([("ACCOUNTID", "STAGENAME", "CREATEDDATE", "CLOSEDATE"),
                  ("101", "Closed Won", "2024-01-08T09:12:44.000Z", "2024-02-02"),
                  ("102", "Closed Lost", "2024-06-01T10:00:00.000Z", "2024-01-15")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["cycle_days"].tolist()[0] == 25
    assert pd.isna(result.company.deals["cycle_days"].tolist()[1])
    assert _codes(result.problems)["negative_cycle"][0].details["rows"] == "3"


def test_hubspot_deals_link_by_the_associated_company_id_even_when_names_repeat(tmp_path):
    clients = "Record ID,Company name\n9100013,Initech Inc\n9100026,Initech Inc\n9100039,Globex\n"
    deals = _csv([("Record ID", "Deal Name", "Deal Stage", "Associated Company", "Associated Company IDs"),
                  ("5001", "Renewal", "Closed won", "Initech Inc", "9100026"),
                  ("5002", "New", "Closed lost", "Initech Inc", "9100013"),
                  ("5003", "Upsell", "Appointment scheduled", "Globex", "9100039")])
    result = check_company(_company(tmp_path, {"clients.csv": clients, "deals.csv": deals}))
    assert result.company.deals["client_id"].tolist() == ["9100026", "9100013", "9100039"]


def test_pipedrive_in_russian_gives_each_deal_its_cycle(tmp_path):
    deals = _csv([("Сделка - Организация", "Сделка - Этап", "Сделка - Статус", "Сделка - Сделка создана",
                   "Сделка - Дата выигрыша", "Сделка - Дата проигрыша"),
                  ("Acme Inc", "Переговоры", "Выиграна", "2024-01-01", "2024-01-31", ""),
                  ("Globex LLC", "Предложение сделано", "Проиграна", "2024-02-01", "", "2024-03-01"),
                  ("Initech", "Лид найден", "Открыта", "2024-03-01", "", "")])
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    frame = result.company.deals
    assert frame["outcome"].tolist() == ["won", "refused", "open"]
    assert frame["cycle_days"].tolist()[:2] == [30, 29]


def test_hubspot_amount_in_company_currency_wins_over_each_deals_own_currency():
    from helpers.step1_list_clients.columns import map_columns

    headers = ["Deal Name", "Amount", "Currency", "Amount in company currency", "Deal Stage", "Associated Company"]
    mapping, _ = map_columns(headers, "deals", file="deals.xlsx")
    assert mapping["Amount in company currency"] == "amount" and "Amount" not in mapping
