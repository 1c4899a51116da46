"""Key clients in the data (step 4): contact cadence, relationship, dossier, three P, managers, risk, false clients.

Crafted logs with the expected figures worked out by hand in the comments.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from helpers.core import i18n
from helpers import paths
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.step1_list_clients.key_clients import (check_contact_cadence, check_three_p, find_false_clients, mark_key_prospects)
from helpers.step1_list_clients.key_clients import (normalise_contact_outcome, review_dossiers, score_relationships, study_key_clients)
from helpers.step1_list_clients.key_clients import summarise_relationships, weigh_manager_load
from helpers.step1_list_clients.load import check_company, format_check, load_company


def _log(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["client_id", "date", "outcome"]).assign(date=lambda d: pd.to_datetime(d["date"]))


# --------------------------------------------------------------------------- cadence
def test_cadence_breaches_pauses_and_due_dates_on_a_crafted_log():
    log = _log([
        ("k", "2025-03-01", "positive"),
        ("k", "2025-03-08", "positive"),   # 7 days: fine
        ("k", "2025-03-20", "negative"),   # 12 days since the last positive, but no positive yet
        ("k", "2025-03-22", "neutral"),    # 2 days after a negative: pause breach 1
        ("k", "2025-04-02", "positive"),   # 13 days after the negative: pause breach 2; gap 03-08..04-02 = 25 > 10: breach 1
        ("k", "2025-04-05", "positive"),   # 16 days after: outside the pause
        ("m", "2025-04-01", "neutral"),    # never a positive contact
        ("m", "2025-04-03", "negative"),
    ])
    out = check_contact_cadence(log, ["k", "m", "silent"], as_of=pd.Timestamp("2025-04-20")).set_index("client_id")
    k = out.loc["k"]
    # gaps between marks 03-01, 03-01, 03-08, 04-02, 04-05 and as_of 04-20: 0, 7, 25, 3, 15 -> two > 10
    assert (k["cadence_breaches"], k["pause_breaches"], k["days_since_positive"]) == (2, 2, 15)
    assert k["last_positive"] == pd.Timestamp("2025-04-05") and k["overdue"]
    assert k["next_due"] == pd.Timestamp("2025-04-20")  # overdue: due now
    m = out.loc["m"]
    # marks 04-01 (first contact) and as_of: 19 days -> one breach; no positive at all
    assert (m["cadence_breaches"], m["positive"], m["negative"]) == (1, 0, 1) and pd.isna(m["days_since_positive"])
    assert out.loc["silent", "contacts"] == 0 and out.loc["silent", "overdue"]


def test_cadence_numbers_are_settings_and_a_kept_rhythm_has_no_breach():
    log = _log([("k", f"2025-01-{d:02d}", "positive") for d in (1, 8, 15, 22, 29)])
    out = check_contact_cadence(log, ["k"], as_of=pd.Timestamp("2025-02-02")).iloc[0]
    assert out["cadence_breaches"] == 0 and not out["overdue"]
    assert out["next_due"] == pd.Timestamp("2025-02-08")
    strict = check_contact_cadence(log, ["k"], as_of=pd.Timestamp("2025-02-02"), every_days=5).iloc[0]
    assert strict["cadence_breaches"] == 4  # four 7-day gaps over 5
    negative = _log([("k", "2025-01-01", "negative"), ("k", "2025-01-05", "positive")])
    assert check_contact_cadence(negative, ["k"], pause_days=3).iloc[0]["pause_breaches"] == 0
    assert check_contact_cadence(negative, ["k"], pause_days=14).iloc[0]["pause_breaches"] == 1


def test_outcome_words_of_crms_and_the_company_own():
    assert normalise_contact_outcome("Негативный") == "negative"
    assert normalise_contact_outcome("Connected") == "positive"
    assert normalise_contact_outcome("Left voicemail") == "neutral"
    assert normalise_contact_outcome("КП отправлено") is None
    assert normalise_contact_outcome("КП  отправлено", {"кп отправлено": "positive"}) == "positive"


# --------------------------------------------------------------------------- relationship, dossier, managers
def test_relationship_gaps_average_raters_and_rank_aspects():
    rel = pd.DataFrame({"client_id": ["a"] * 4 + ["b"] * 2, "aspect": ["price", "price", "speed", "speed", "price",
                                                                        "speed"],
                        "score": [1.0, 2.0, 4.0, 4.0, 3.0, 2.0], "rater": ["x", "y", "x", "y", "x", "x"]})
    per, weakest = score_relationships(rel)
    per = per.set_index(["client_id", "aspect"])
    assert per.loc[("a", "price"), "score"] == 1.5 and per.loc[("a", "price"), "gap"] == 2.5
    assert per.loc[("a", "price"), "raters"] == 2
    # price gaps 2.5 and 1 -> 1.75; speed 0 and 2 -> 1
    assert weakest["aspect"].tolist() == ["price", "speed"]
    assert weakest["mean_gap"].tolist() == [1.75, 1.0]
    assert weakest.set_index("aspect").loc["price", "clients_below_3"] == 1
    summary = summarise_relationships(per.reset_index()).set_index("client_id")
    assert summary.loc["a", "total"] == 5.5 and summary.loc["a", "maximum"] == 8 and summary.loc["a", "weakest"] == "price"
    # only key clients when asked
    assert set(score_relationships(rel, ["b"])[0]["client_id"]) == {"b"}


def test_dossier_flags_missing_parts_and_reviews_older_than_three_months():
    d = pd.DataFrame({"client_id": ["a", "b"], "decision_makers": [True, True], "business": [True, False],
                      "needs": [True, True], "competitors": [True, False], "history": [True, True],
                      "last_review": pd.to_datetime(["2025-03-02", "2025-02-28"])})
    out = review_dossiers(d, ["a", "b", "c"], as_of=pd.Timestamp("2025-06-01")).set_index("client_id")
    # three months before 06-01 is 03-01: 03-02 is fresh, 02-28 is overdue
    assert not out.loc["a", "review_overdue"] and out.loc["b", "review_overdue"]
    assert out.loc["a", "missing"] == "" and out.loc["b", "missing"] == "business, competitors"
    assert not out.loc["c", "has_dossier"] and out.loc["c", "parts_filled"] == 0
    assert review_dossiers(d, ["b"], as_of=pd.Timestamp("2025-06-01"), review_months=6).iloc[0]["review_overdue"] == False  # noqa: E712


def test_manager_load_is_weighted_by_revenue():
    managers = pd.Series({"a": "Ann", "b": "Bob", "c": "Bob", "d": "Bob", "e": None})
    revenue = pd.Series({"a": 600.0, "b": 100.0, "c": 100.0, "d": 100.0, "e": 100.0})
    out = weigh_manager_load(managers, revenue, per_manager=2).set_index("manager")
    # average key revenue 200: Ann 600/200 = 3 (one client, over 2); Bob 300/200 = 1.5 but 3 clients (over)
    assert out.loc["Ann", "weighted_load"] == 3.0 and out.loc["Ann", "over"]
    assert out.loc["Bob", "key_clients"] == 3 and out.loc["Bob", "over"]
    assert out.loc["(no manager named)", "weighted_load"] == 0.5 and not out.loc["(no manager named)", "over"]


# --------------------------------------------------------------------------- three P and false clients
def test_three_p_missing_any_p_is_not_a_key_prospect_and_the_checklist_asks():
    prospects = pd.DataFrame({"prospect_id": ["p1", "p2", "p3"], "need": ["да", "yes", None],
                              "solvency": [True, "no", "yes"], "authority": ["+", "yes", ""]})
    three = check_three_p(prospects).set_index("prospect_id")
    assert three["key_prospect"].tolist() == [True, False, False]
    assert three.loc["p2", "missing_p"] == "solvency" and three.loc["p3", "missing_p"] == "need, authority"
    scored = pd.DataFrame({"prospect_id": ["p1", "p2", "p3"], "verdict": ["target"] * 3, "to_ask": ["", "region", ""]})
    marked = mark_key_prospects(scored, prospects).set_index("prospect_id")
    assert marked.loc["p2", "to_ask"].startswith("region; Solvency:")
    assert "Need:" in marked.loc["p3", "to_ask"] and "Authority:" in marked.loc["p3", "to_ask"]
    assert marked["verdict"].tolist() == ["target"] * 3  # the criteria verdict itself is left alone
    assert check_three_p(prospects.drop(columns=["need", "solvency", "authority"])) is None
    assert mark_key_prospects(scored, None) is scored


def test_false_clients_need_several_stalled_deals_no_win_and_time():
    deals = pd.DataFrame({
        "client_id": [None, None, None, "c1", "c1", "c2", "c2", None],
        "name": ["Lead X", "Lead X", "Lead X", "C one", "C one", "C two", "C two", "Lead Y"],
        "outcome": ["stalled", "stalled", "refused", "stalled", "won", "stalled", "stalled", "stalled"],
        "created": pd.to_datetime(["2025-01-10", "2025-04-01", "2025-05-01", "2025-01-01", "2025-02-01",
                                   "2025-06-01", "2025-07-01", "2025-01-01"]),
    })
    out = find_false_clients(deals, as_of=pd.Timestamp("2025-10-01"))
    # Lead X: 2 stalled since 01-10, nothing won, ~8.7 months; c1 won once; c2 stalled only 4 months; Lead Y one deal
    assert out["client"].tolist() == ["Lead X"] and out.iloc[0]["stalled"] == 2
    assert out.iloc[0]["months_chasing"] == pytest.approx(8.7, abs=0.1)
    assert find_false_clients(deals, as_of=pd.Timestamp("2025-10-01"), months=3)["client"].tolist() == ["Lead X", "c2"]
    undated = deals.drop(columns="created")
    assert set(find_false_clients(undated)["client"]) == {"Lead X", "c2"}


# --------------------------------------------------------------------------- reading the files
def _folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "co"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name,revenue\nC1,ООО «Ромашка»,900\nC2,Beta LLC,50\n"
                                        "C3,Gamma,50\n", encoding="utf-8")
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def test_an_amocrm_activity_export_is_recognised_and_matched_by_name(tmp_path):
    folder = _folder(tmp_path, contacts=(
        "ID;Дата создания;Компания;Тип;Результат;Ответственный\n"
        "101;01.03.2025 10:15;Ромашка ООО;Звонок;Позитивный;Анна\n"
        "102;05.03.2025 11:00;ООО \"Ромашка\";Встреча;КП отправлено;Анна\n"
        "103;06.03.2025 11:00;Unknown Co;Звонок;Позитивный;Анна\n"
        "104;;Beta LLC;Звонок;Позитивный;Борис\n"))
    result = check_company(folder)
    assert result.ok
    contacts = result.company.contacts
    assert contacts["client_id"].tolist() == ["C1", "C1"]  # both spellings of Ромашка; unknown and undated dropped
    assert contacts["date"].tolist() == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-05")]
    assert contacts["outcome"].tolist() == ["positive", "neutral"]
    text = format_check(result)
    assert "Компания" in text and "→ name" in text
    problems = {p.code: p for p in result.problems}
    assert problems["key_unknown_client"].row == 4 and problems["key_unknown_client"].file == "contacts.csv"
    assert "КП отправлено" in problems["contact_outcome_unknown"].message
    assert "key_clients.contact_outcomes" in problems["contact_outcome_unknown"].fix
    assert problems["key_blank_date"].row == 5


def test_a_hubspot_activity_export_with_two_outcome_columns(tmp_path):
    folder = _folder(tmp_path, contacts=(
        "Record ID,Activity date,Associated Company,Activity type,Call outcome,Meeting outcome,Activity assigned to\n"
        "1,2025-03-01,Beta LLC,Call,Connected,,Jo\n"
        "2,2025-03-04,Beta LLC,Meeting,,No show,Jo\n"))
    company = load_company(folder)
    assert company.contacts["outcome"].tolist() == ["positive", "negative"]
    assert company.contacts["client_id"].tolist() == ["C2", "C2"]
    assert company.contacts["manager"].tolist() == ["Jo", "Jo"]


def test_bad_relationship_scores_and_missing_columns_are_reported_not_raised(tmp_path):
    folder = _folder(tmp_path, relationship="client_id,aspect,score\nC1,price,5\nC1,speed,3\nC1,value,abc\n",
                     dossier="manager,history\nAnn,x\n")
    result = check_company(folder)
    bad = [p for p in result.problems if p.code == "relationship_bad_score"]
    assert [(p.file, p.row, p.column) for p in bad] == [("relationship.csv", 2, "score"), ("relationship.csv", 4, "score")]
    assert result.company is None or result.company.relationship["aspect"].tolist() == ["speed"]
    missing = [p for p in result.problems if p.code == "missing_column" and p.file == "dossier.csv"]
    assert missing and "client_id / name" in missing[0].message


def test_dossier_text_never_enters_the_tables_and_is_pseudonymised(tmp_path, monkeypatch):
    secret = "CEO drinks only green tea"
    folder = _folder(tmp_path, dossier=f"client_id,manager,decision_makers,business,last_review\n"
                                      f"C1,Anna Petrova,{secret},,2025-01-01\n")
    company = load_company(folder)
    assert secret not in company.dossier.to_string()
    assert company.dossier.iloc[0][["decision_makers", "business"]].tolist() == [True, False]
    monkeypatch.setenv("TIERBOOK_ANON_KEY", "test-key-of-at-least-16-bytes")
    from helpers.step1_list_clients.anonymise import anonymise_company

    anon = anonymise_company(company)
    assert anon.dossier.iloc[0]["client_id"].startswith("Client-")
    assert "Anna" not in anon.dossier.to_string() and anon.dossier.iloc[0]["manager"].startswith("Person-")


def test_only_clients_runs_as_before(tmp_path):
    from helpers.step5_report.report import KEY_CLIENT_SECTIONS
    from helpers.workbook import Workbook

    folder = tmp_path / "only_clients"
    folder.mkdir()
    (folder / "clients.csv").write_bytes((paths.SAMPLE_DIR / "b2b_services" / "clients.csv").read_bytes())
    company = load_company(folder)
    assert company.contacts is None and company.relationship is None and company.dossier is None
    work = study_key_clients(company)
    assert work.cadence is None and work.managers is None and work.at_risk is None and work.false_clients is None
    wb = Workbook(folder, tmp_path / "out")
    assert [build(wb) for build in KEY_CLIENT_SECTIONS] == [None] * len(KEY_CLIENT_SECTIONS)


def test_each_key_section_appears_with_its_input_and_shows_content(tmp_path):
    from helpers.core.plot_style import use_batch_backend
    from helpers.step5_report.report import build_report
    from helpers.workbook import Workbook

    use_batch_backend()
    wb = Workbook(paths.SAMPLE_DIR / "b2b_services", tmp_path / "out")
    sections = {s.id: s for s in build_report(wb)}
    for sid in ("contact_cadence", "relationship", "dossier", "key_risk"):
        kinds = [b.kind for b in sections[sid].blocks]
        assert "table" in kinds, sid
    work = wb.key_clients
    assert work.cadence["cadence_breaches"].sum() > 0 and work.cadence["pause_breaches"].sum() > 0
    assert work.dossiers["review_overdue"].any() and (work.dossiers["missing"] != "").any()
    assert work.managers["over"].any() and len(work.at_risk) > 0
    assert work.weakest.iloc[0]["aspect"] == "price"


def test_false_clients_show_on_the_wholesale_sample(tmp_path):
    from helpers.step5_report.report import section_false_clients
    from helpers.workbook import Workbook

    wb = Workbook(paths.SAMPLE_DIR / "wholesale", tmp_path / "out")
    false = wb.key_clients.false_clients
    assert len(false) == 4 and (false["stalled"] >= 3).all() and (false["won"] == 0).all()
    assert (false["months_chasing"] >= 6).all()
    assert any(b.kind == "table" for b in section_false_clients(wb).blocks)


def test_russian_sample_reads_the_crm_export_like_the_english_one():
    en = load_company(paths.SAMPLE_DIR / "b2b_services")
    ru = load_company(paths.SAMPLE_DIR / "ru_crm_export")
    for kind in ("contacts", "relationship", "dossier"):
        assert len(getattr(ru, kind)) == len(getattr(en, kind)), kind
    assert ru.contacts["client_id"].tolist() == en.contacts["client_id"].tolist()
    with i18n.language("ru"):
        work = study_key_clients(ru)
    assert "позитивн" in work.cadence_note


def test_key_client_settings_are_validated(tmp_path):
    folder = _folder(tmp_path)
    (folder / "company.yml").write_text("key_clients:\n  positive_every_day: 7\n", encoding="utf-8")
    result = check_company(folder)
    assert not result.ok and "positive_every_days" in str(result.problems[0])
    (folder / "company.yml").write_text("key_clients:\n  positive_every_days: 7\n  contact_outcomes:\n"
                                        "    Встреча проведена: positive\n", encoding="utf-8")
    assert load_company(folder).settings.key_clients.positive_every_days == 7
