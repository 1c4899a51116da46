"""Real exports from US and CRM systems (issue 9): every case in tests/data/import_cases/ gives the values
its expect.md states, through the loader and `tierbook check`, and a couple run end to end.

The cases are synthetic copies of the shapes Shopify, QuickBooks, Excel (en-US), Bitrix24, HubSpot,
Salesforce and Pipedrive export; test_import_kinds.py holds our own variants of each kind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from helpers.run.cli import main
from helpers.step1_list_clients.load import check_company, load_company
from helpers.step2_place_in_tiers.tiers import build_tiers

CASES = Path(__file__).resolve().parent / "data" / "import_cases"
ROOT = Path(__file__).resolve().parents[1]


def _codes(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in result.problems:
        out.setdefault(p.code, []).append(p)
    return out


def _check_cli(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--lang", "en", "check", str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_every_case_is_here_and_checks_without_a_fault_in_the_kit():
    names = sorted(p.name for p in CASES.iterdir() if p.is_dir())
    assert len(names) >= 11
    for name in names:
        code, output = _check_cli(CASES / name)
        assert "fault in the kit" not in output, (name, output)
        assert code == 0, (name, output)


def test_02_shopify_orders_across_a_dst_change():
    company = load_company(CASES / "02-shopify-orders-dst")
    tx = company.transactions
    assert len(tx) == 56  # one row per order; line-item continuation rows skipped
    assert tx["date"].dt.tz is None
    months = tx["date"].dt.to_period("M")
    assert str(months.min()) == "2023-01" and str(months.max()) == "2023-12" and months.nunique() == 12
    revenue = tx.groupby("client_id")["amount"].sum().round(2).to_dict()
    assert revenue == {"ava.north@example.com": 740.40, "ben.vale@example.com": 740.40,
                       "cara.lind@example.com": 740.40, "dan.moss@example.org": 740.40,
                       "eve.park@example.net": 246.80, "finn.rowe@example.com": 246.80}
    notes = _codes(check_company(CASES / "02-shopify-orders-dst"))
    assert notes["continuation_rows"][0].details["count"] == 28 and len(notes["continuation_rows"]) == 1
    assert "blank_amount" not in notes and "blank_date" not in notes


def test_03_us_thousands_commas_are_thousands():
    company = load_company(CASES / "03-us-thousands-comma")
    revenue = company.clients.set_index("client_id")["revenue"].to_dict()
    assert revenue == {"C01": 1020400, "C02": 254908, "C03": 98750, "C04": 54908, "C05": 41200, "C06": 33000,
                       "C07": 21500, "C08": 12000, "C09": 9850, "C10": 7400, "C11": 5200, "C12": 4100,
                       "C13": 2990, "C14": 2400, "C15": 1250, "C16": 980, "C17": 640, "C18": 305}
    assert sum(revenue.values()) == 1_571_781
    assert company.clients.set_index("client_id").loc["C01", "Employees"] == 1200
    abc = build_tiers(company).table.set_index("client_id")["abc"].to_dict()
    assert abc["C01"] == "A" and abc["C02"] == "A"
    assert all(abc[c] == "B" for c in ("C03", "C04", "C05", "C06"))
    assert all(abc[f"C{i:02d}"] == "C" for i in range(7, 19))
    # Employees holds only "1,200"-like cells beside small numbers: the locale chose, and check says so
    warning = _codes(check_company(CASES / "03-us-thousands-comma"))["ambiguous_numbers"]
    assert [p.column for p in warning] == ["Employees"] and "number_format" in warning[0].fix


def test_04_quickbooks_sales_by_customer_detail():
    folder = CASES / "04-quickbooks-sales-by-customer-detail"
    company = load_company(folder)
    tx = company.transactions
    revenue = tx.groupby("client_id")["amount"].sum().round(2).to_dict()
    assert revenue == {"Alder Goods": 600.0, "Birch & Co": 1450.0, "Cedar Family / Second Account": 1000.0,
                       "Dune Cafe": 45.0}
    assert round(tx["amount"].sum(), 2) == 3095.0
    dates = set(tx["date"].dt.strftime("%Y-%m-%d"))
    assert {"2020-05-22", "2020-01-13", "2020-02-29"} <= dates
    codes = _codes(check_company(folder))
    assert codes["subtotal_rows"][0].details["rows"] == "8, 12, 16, 20"
    assert codes["grand_total_rows"][0].details["rows"] == "21"
    assert "totals_row" not in codes and "subtotal_mismatch" not in codes and "grand_total_mismatch" not in codes


def test_05_us_month_first_dates_on_the_first_of_each_month():
    folder = CASES / "05-us-mdy-monthly-on-the-1st"
    company = load_company(folder)
    months = company.transactions["date"].dt.to_period("M")
    assert months.nunique() == 12 and str(months.min()) == "2024-01" and str(months.max()) == "2024-12"
    table = build_tiers(company).table.set_index("client_id")
    assert table.loc["Maple Dental", "revenue"] == 18000 and table.loc["Maple Dental", "xyz"] == "X"
    assert table.loc["Oak Legal", "revenue"] == 10800 and table.loc["Oak Legal", "xyz"] == "X"
    assert table.loc["Pine Realty", "revenue"] == 24000
    assert table.loc["Quartz Labs", "cv"] == pytest.approx(1.536, abs=1e-3)
    assert table.loc["Reed Studio", "cv"] == pytest.approx(1.732, abs=1e-3)
    assert table.loc["Sage Clinic", "cv"] == pytest.approx(0.110, abs=1e-3)
    warning = _codes(check_company(folder))["ambiguous_dates"]
    assert warning[0].column == "Invoice Date" and "date_order" in warning[0].fix


def test_05_date_order_setting_turns_the_reading_round(tmp_path):
    folder = tmp_path / "co"
    shutil.copytree(CASES / "05-us-mdy-monthly-on-the-1st", folder)
    with open(folder / "company.yml", "a", encoding="utf-8") as fh:
        fh.write("date_order: dmy\n")
    company = load_company(folder)
    assert company.transactions["date"].dt.to_period("M").nunique() == 1  # 1..12 January, as asked
    codes = _codes(check_company(folder))
    assert codes["ambiguous_dates"][0].severity == "info"  # chosen in company.yml: a note, not a warning


def test_06_bitrix24_html_xls_with_default_stages():
    folder = CASES / "06-bitrix24-deals-stages"
    company = load_company(folder)
    deals = company.deals
    counts = deals["outcome"].value_counts().to_dict()
    assert counts["won"] == 6 and counts["refused"] == 6 and counts["open"] == 6
    reasons = deals["reason"].dropna().tolist()
    assert sorted(reasons) == sorted(["Дорого", "Дорого", "Выбрали конкурента", "Нет бюджета",
                                      "Не дозвонились до ЛПР", "Пропал"])
    assert deals["amount"].isin([120000, 380000, 45000, 150000]).all()  # "120 000" never 120
    assert deals["client_id"].notna().all()  # linked by the company name, not by the deal's ID
    assert set(deals["client_id"]) <= set(company.clients["client_id"])


def test_07_hubspot_open_stages_and_record_id():
    folder = CASES / "07-hubspot-deals-open-stages"
    company = load_company(folder)
    deals = company.deals
    assert deals["outcome"].value_counts().to_dict() == {"won": 6, "refused": 5, "open": 5}
    assert deals["deal_id"].str.startswith("150000").all()
    assert set(deals["client_id"]) <= set(company.clients["client_id"])  # by Associated Company
    report = next(f for f in check_company(folder).files if f.kind == "deals")
    assert report.columns["Record ID"][0] == "deal_id"


def test_08_hidden_first_sheet_is_skipped_and_named():
    folder = CASES / "08-xlsx-hidden-first-sheet"
    company = load_company(folder)
    assert company.clients["client_id"].tolist() == [f"K{i:03d}" for i in range(1, 25)]
    note = _codes(check_company(folder))["hidden_sheets"][0]
    assert "Lists" in note.message and "Clients" in note.message


def test_09_rows_hidden_by_a_filter_are_listed_and_used_or_skipped(tmp_path):
    folder = CASES / "09-xlsx-autofilter-hidden-rows"
    result = check_company(folder)
    warning = _codes(result)["hidden_rows_used"][0]
    assert warning.details["rows"] == "5, 9, 13, 17, 21, 25, 29" and warning.details["count"] == 7
    assert len(result.company.clients) == 30
    skip = tmp_path / "co"
    shutil.copytree(folder, skip)
    with open(skip / "company.yml", "a", encoding="utf-8") as fh:
        fh.write("hidden_rows: skip\n")
    clients = load_company(skip).clients
    assert len(clients) == 23
    assert not clients["client_id"].isin(["K004", "K008", "K012", "K016", "K020", "K024", "K028"]).any()


def test_10_salesforce_utc_timestamps():
    company = load_company(CASES / "10-salesforce-dataloader-utc")
    deals = company.deals
    assert len(deals) == 16 and deals["outcome"].value_counts().to_dict() == {"won": 10, "refused": 6}
    assert deals["created"].dt.tz is None
    assert str(deals.loc[0, "created"].date()) == "2024-01-08" and str(deals.loc[0, "closed"].date()) == "2024-02-02"
    assert deals.loc[0, "cycle_days"] in (24, 25)


def test_11_new_steady_client_loads_its_three_months():
    tx = load_company(CASES / "11-xyz-new-client-steady").transactions
    n01 = tx[tx["client_id"] == "N01"]
    assert sorted(n01["date"].dt.strftime("%Y-%m").unique()) == ["2024-10", "2024-11", "2024-12"]
    assert n01.groupby(n01["date"].dt.to_period("M"))["amount"].sum().tolist() == [10000.0] * 3


def test_14_pipedrive_headers():
    company = load_company(CASES / "14-pipedrive-deals-export")
    deals = company.deals
    assert sorted(deals["reason"].dropna()) == sorted(["Too expensive", "Too expensive", "Chose a competitor",
                                                       "Chose a competitor", "No budget this year",
                                                       "No decision maker"])
    assert deals["deal_id"].notna().all() and deals["created"].notna().all()
    closed = deals[deals["outcome"] != "open"]
    assert closed["closed"].notna().all() and closed["cycle_days"].notna().all()
    assert (deals["outcome"] == "open").sum() == 3 and "stalled" not in set(deals["outcome"])


@pytest.mark.parametrize("case", ["02-shopify-orders-dst", "03-us-thousands-comma"])
def test_run_end_to_end_from_a_relative_folder(tmp_path, case):
    """`tierbook run` over a case, given as a folder relative to the current directory (not the project)."""
    work = tmp_path / "work"
    shutil.copytree(CASES / case, work / "company")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    tierbook = Path(sys.executable).with_name("tierbook")
    done = subprocess.run([str(tierbook), "run", "company", "--out", str(tmp_path / "out"), "--quiet"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    tiers = pd.read_csv(tmp_path / "out" / "tiers.csv", dtype={"client_id": str})
    if case.startswith("03"):
        assert tiers.set_index("client_id").loc["C02", "revenue"] == 254908
    else:
        assert round(tiers.set_index("client_id").loc["eve.park@example.net", "revenue"], 2) == 246.80
