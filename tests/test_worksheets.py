"""The placement worksheet: right rows and facts, safe exports, and a round trip back into the loader."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.step2_place_in_tiers.worksheets import (WORKSHEET_TIERS, build_placement_worksheet, write_placement_worksheet)

HOSTILE = {
    "h1": "=cmd|' /C calc'!A0",
    "h2": "+1-555-0100",
    "h3": "@SUM(A1:A9)",
    "h4": "-minus corp",
    "h5": " \t=2+2",  # names are stripped, so a leading tab cannot hide a formula either
    "h6": '<script>alert("x")</script> & <img src=x onerror=alert(1)>',
    "h7": "ООО «Ромашка»\nвторая строка 🚀",
}


def _company(clients: pd.DataFrame, transactions: pd.DataFrame | None = None, *, language: str = "en",
             name: str | None = None) -> Company:
    return Company(folder=Path("/tmp/acme"), settings=CompanySettings(language=language, name=name),
                   clients=clients, transactions=transactions)


@pytest.fixture
def clients():
    return pd.DataFrame({
        "client_id": ["c1", "c2", "c3", "c4"],
        "name": ["Beta", "alpha", "Gamma", None],
        "revenue": [100.0, 300.0, -20.0, None],
        "industry": ["x", "y", "x", "y"],
    })


@pytest.fixture
def transactions():
    return pd.DataFrame({
        "client_id": ["c1", "c1", "c2", "c3", "c3"],
        "date": pd.to_datetime(["2025-01-05", "2025-03-01", "2025-02-10", "2025-01-01", "2025-04-30"]),
        "amount": [60.0, 40.0, 300.0, 10.0, -30.0],
    })


# ---------------------------------------------------------------------------- rows

def test_rows_sorted_by_revenue_with_facts_and_blank_tier(clients, transactions):
    frame, info = build_placement_worksheet(_company(clients, transactions))
    assert list(frame.columns) == ["client_id", "name", "revenue", "purchases", "last_purchase", "tier", "note"]
    assert frame["client_id"].tolist() == ["c2", "c1", "c3", "c4"]  # unknown revenue last
    assert frame["name"].tolist() == ["alpha", "Beta", "Gamma", "c4"]  # missing name falls back to the id
    assert frame["purchases"].tolist() == [1, 2, 1, 0]  # a refund is not a purchase
    assert frame["last_purchase"].tolist() == ["2025-02-10", "2025-03-01", "2025-04-30", ""]
    assert frame["revenue"].tolist()[:3] == [300.0, 100.0, -20.0]
    assert (frame["tier"] == "").all() and (frame["note"] == "").all()
    assert info == {"sorted_by": "revenue", "currency": "RUB"}


def test_revenue_comes_from_the_sales_log_when_the_list_has_none(clients, transactions):
    frame, info = build_placement_worksheet(_company(clients.drop(columns="revenue"), transactions))
    assert dict(zip(frame["client_id"], frame["revenue"])) == pytest.approx(
        {"c2": 300.0, "c1": 100.0, "c3": -20.0, "c4": float("nan")}, nan_ok=True)
    assert frame["client_id"].tolist() == ["c2", "c1", "c3", "c4"]


def test_mixed_currencies_are_never_added_up(clients, transactions):
    log = transactions.assign(currency=["RUB", "USD", "RUB", "RUB", "RUB"])
    frame, info = build_placement_worksheet(_company(clients.drop(columns="revenue"), log))
    assert "revenue" not in frame.columns
    assert info["sorted_by"] == "name"
    assert frame["name"].tolist() == ["alpha", "Beta", "c4", "Gamma"]  # case-insensitive


def test_one_currency_in_the_log_is_named(clients, transactions):
    log = transactions.assign(currency="EUR")
    _, info = build_placement_worksheet(_company(clients.drop(columns="revenue"), log))
    assert info["currency"] == "EUR"


def test_only_a_client_list_sorts_by_name(clients):
    frame, info = build_placement_worksheet(_company(clients[["client_id", "name"]]))
    assert list(frame.columns) == ["client_id", "name", "tier", "note"]
    assert info["sorted_by"] == "name"


def test_the_input_company_is_not_changed(clients, transactions):
    company = _company(clients, transactions)
    before_clients, before_log = clients.copy(), transactions.copy()
    build_placement_worksheet(company, sort="name")
    pd.testing.assert_frame_equal(company.clients, before_clients)
    pd.testing.assert_frame_equal(company.transactions, before_log)


def test_unknown_sort_is_refused(clients):
    with pytest.raises(ValueError, match="sort"):
        build_placement_worksheet(_company(clients), sort="size")


# ---------------------------------------------------------------------------- files

@pytest.fixture
def hostile_files(tmp_path):
    ids = list(HOSTILE)
    clients = pd.DataFrame({"client_id": ids, "name": list(HOSTILE.values()),
                            "revenue": [-5.0, 1e6, 3.5, 2.0, 1.0, 0.0, 7.0]})
    company = _company(clients, name='<b>Acme & "Co"</b>')
    return write_placement_worksheet(company, tmp_path / "ws"), company


def test_three_files_are_written(hostile_files):
    paths, _ = hostile_files
    assert [p.name for p in paths] == ["placement_worksheet.csv", "placement_worksheet.xlsx", "placement_worksheet.html"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_csv_neutralises_formulas_but_not_numbers(hostile_files):
    paths, _ = hostile_files
    raw = paths[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads Cyrillic right
    with paths[0].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {row["client_id"]: row["name"] for row in rows}
    for key in ("h1", "h2", "h3", "h4", "h5"):
        assert names[key] == "'" + HOSTILE[key].strip()
    assert names["h6"] == HOSTILE["h6"] and names["h7"] == HOSTILE["h7"]
    revenue = {row["client_id"]: row["revenue"] for row in rows}
    assert revenue["h1"] == "-5.0"  # a negative number stays a number
    assert [row["tier"] for row in rows] == [""] * len(HOSTILE)


def test_xlsx_has_a_tier_dropdown_protection_and_plain_strings(hostile_files):
    paths, _ = hostile_files
    book = openpyxl.load_workbook(paths[1])
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == ["client_id", "name", "revenue", "tier", "note"]
    validation = sheet.data_validations.dataValidation
    assert len(validation) == 1 and validation[0].type == "list"
    assert validation[0].formula1 == '"' + ",".join(WORKSHEET_TIERS) + '"'
    assert str(validation[0].sqref) == f"D2:D{len(HOSTILE) + 1}"
    assert sheet.protection.sheet
    assert not sheet["D2"].protection.locked and not sheet["E2"].protection.locked
    assert sheet["B2"].protection.locked
    cells = {sheet.cell(r, 1).value: sheet.cell(r, 2) for r in range(2, sheet.max_row + 1)}
    for key, value in HOSTILE.items():
        cell = cells[key]
        assert cell.data_type == "s"  # never a formula
        expected = "'" + value.strip() if key in ("h1", "h2", "h3", "h4", "h5") else value
        assert cell.value == expected
    revenue = {sheet.cell(r, 1).value: sheet.cell(r, 3).value for r in range(2, sheet.max_row + 1)}
    assert revenue["h1"] == -5.0 and revenue["h2"] == 1e6
    assert len(book.worksheets) == 2 and book.worksheets[1].protection.sheet


def test_html_escapes_every_name_and_fetches_nothing(hostile_files):
    paths, _ = hostile_files
    page = paths[2].read_text(encoding="utf-8")
    low = page.lower()
    assert "<script" not in low and "<img" not in low and "<b>acme" not in low
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;Acme &amp; &quot;Co&quot;&lt;/b&gt;" in page
    assert "http://" not in low and "https://" not in low and "<link" not in low
    assert "ООО «Ромашка»" in page
    rows = len(HOSTILE)
    assert page.count('<span class="box"></span>') == rows * len(WORKSHEET_TIERS)
    assert "A4 landscape" in page


def test_html_print_limit_and_language(tmp_path, clients):
    company = _company(clients, language="ru")
    paths = write_placement_worksheet(company, tmp_path, print_limit=2)
    page = paths[2].read_text(encoding="utf-8")
    assert '<html lang="ru">' in page and "Лист распределения" in page
    assert page.count("<tr><td>") == 2
    assert re.search(r"ещё 2 клиент", page)
    english = write_placement_worksheet(company, tmp_path / "en", language="en")[2].read_text(encoding="utf-8")
    assert "Placement worksheet" in english


def test_filled_worksheet_loads_back_as_the_placement(tmp_path, clients, transactions):
    from helpers.step1_list_clients.load import load_company

    folder = tmp_path / "acme"
    folder.mkdir()
    clients.to_csv(folder / "clients.csv", index=False)
    company = load_company(folder)
    assert company.placement is None
    csv_path = write_placement_worksheet(company, tmp_path / "ws")[0]
    filled = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    filled["tier"] = ["A1", "B2", "C", "X"]
    filled.to_csv(folder / "placement.csv", index=False)
    placement = load_company(folder).placement
    assert dict(zip(placement["client_id"], placement["tier"])) == dict(zip(filled["client_id"], filled["tier"]))
