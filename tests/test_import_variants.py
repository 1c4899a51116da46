"""Our own variants of the export kinds in issue 9's shared cases, each one the kit misread before:
subtotal words of QuickBooks Desktop and 1C, Pipedrive's Russian headers and HubSpot's qualified ones,
currency words after an amount, offsets around daylight saving, and .xlsx cells typed as numbers
(Excel serial dates, fractions) beside cells typed as text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from folders import write_company as _company
from folders import problem_codes as _codes
from helpers.step1_list_clients.load import check_company, load_company
from helpers.step1_list_clients.parsing import read_numbers
from helpers.step1_list_clients.readers import subtotal_group


# ---- grouped accounting reports with other subtotal words ------------------------------------------

ONE_C = ("Оборотно-сальдовая ведомость за январь 2024;;;\n;;;\nКонтрагент;Дата;Документ;Сумма\n"
         "ООО Ромашка;;;\n;05.01.2024;Реализация 1;1 000,00\n;06.01.2024;Реализация 2;2 000,00\n"
         "Всего по ООО Ромашка;;;3 000,00\nООО Лютик;;;\n;07.01.2024;Реализация 3;500,00\n"
         ";08.01.2024;Реализация 4;250,00\nИтого ООО Лютик;;;{lutik}\nВсего;;;3 750,00\n")


def test_1c_report_with_vsego_po_and_itogo_without_po(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "transactions.csv").write_bytes(ONE_C.format(lutik="750,00").encode("cp1251"))
    result = check_company(folder)
    assert result.ok
    revenue = result.company.transactions.groupby("client_id")["amount"].sum().to_dict()
    assert revenue == {"ООО Ромашка": 3000.0, "ООО Лютик": 750.0}
    codes = _codes(result.problems)
    assert codes["subtotal_rows"][0].details["rows"] == "7, 11"
    assert codes["grand_total_rows"][0].details["rows"] == "12"
    assert "subtotal_mismatch" not in codes and "grand_total_mismatch" not in codes
    # a subtotal that does not add up is named by its row, whichever word the report uses
    (folder / "transactions.csv").write_bytes(ONE_C.format(lutik="700,00").encode("cp1251"))
    wrong = _codes(check_company(folder).problems)["subtotal_mismatch"]
    assert [(p.row, p.details["group"]) for p in wrong] == [(11, "ООО Лютик")]


QUICKBOOKS_DESKTOP = ('Sales by Customer Detail\nJanuary - December 2020\n\n,Type,Date,Num,Memo,Account,Amount\n'
                      'Alder Goods,,,,,,\n,Invoice,05/22/2020,1001,,Sales,"200.00  "\n'
                      ',Invoice,06/13/2020,1002,,Sales,"400.00  "\nTotal Alder Goods,,,,,,"600.00  "\n'
                      'Birch & Co,,,,,,\n,Invoice,01/13/2020,1003,,Sales,"1,450.00  "\n'
                      'Total Birch & Co,,,,,,"1,450.00  "\nTOTAL,,,,,,"2,050.00  "\n')


def test_quickbooks_desktop_total_without_for_is_a_subtotal(tmp_path):
    folder = tmp_path / "qb"
    folder.mkdir()
    (folder / "transactions.csv").write_text(QUICKBOOKS_DESKTOP, encoding="utf-8")
    result = check_company(folder)
    assert result.ok
    tx = result.company.transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"Alder Goods": 600.0, "Birch & Co": 1450.0}
    assert sorted(tx["date"].dt.strftime("%Y-%m-%d")) == ["2020-01-13", "2020-05-22", "2020-06-13"]
    codes = _codes(result.problems)
    assert codes["subtotal_rows"][0].details["rows"] == "8, 11"
    assert codes["grand_total_rows"][0].details["rows"] == "12"
    assert "grand_total_mismatch" not in codes and "subtotal_mismatch" not in codes


def test_a_total_row_names_a_group_only_when_the_name_is_a_group():
    groups = {"Alder Goods", "ООО «Лютик»"}
    assert subtotal_group("Total alder  goods", groups) == "Alder Goods"
    assert subtotal_group("Итого: ООО «Лютик»", groups) == "ООО «Лютик»"
    assert subtotal_group("Итого по ООО «Ромашка»", groups) == "ООО «Ромашка»"  # "по" always names a group
    assert subtotal_group("Total sales", groups) is None and subtotal_group("ИТОГО", groups) is None


# ---- CRM headers with other prefixes ---------------------------------------------------------------

CLIENTS = "client_id,name\n101,Acme Inc\n102,Globex LLC\n"


def test_pipedrive_in_russian_the_deal_name_is_its_title_and_the_organisation_its_client(tmp_path):
    deals = ("Сделка - ID,Сделка - Название,Сделка - Стоимость,Сделка - Валюта,Сделка - Организация,"
             "Сделка - Статус,Сделка - Причина проигрыша,Сделка - Дата создания,Сделка - Дата закрытия\n"
             "1,Acme Inc renewal,1000,USD,Acme Inc,won,,2024-01-05,2024-02-01\n"
             "2,Globex pilot,500,USD,Globex LLC,lost,Дорого,2024-01-10,2024-02-10\n"
             "3,Second deal,700,USD,Acme Inc,open,,2024-03-01,\n")
    company = load_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert company.deals["client_id"].tolist() == ["101", "102", "101"]
    assert company.deals["outcome"].tolist() == ["won", "refused", "open"]
    assert company.deals["reason"].tolist()[1] == "Дорого"
    columns = next(f for f in company.files if f.kind == "deals").columns
    assert columns["Сделка - Название"][0] == "title" and columns["Сделка - Организация"][0] == "name"


def test_hubspot_headers_with_a_qualifier_in_brackets(tmp_path):
    deals = ("Record ID,Deal Name,Deal Stage,Amount in company currency,Associated Company (Primary),Close Date,"
             "Create Date\n9001,Acme Inc - renewal,Closed Won,1000,Acme Inc,2024-02-01 10:00,2024-01-05 09:00\n"
             "9002,Deal B,Closed Lost,500,Globex LLC,2024-02-10 11:00,2024-01-10 12:00\n")
    company = load_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert company.deals["client_id"].tolist() == ["101", "102"]
    assert company.deals["amount"].tolist() == [1000.0, 500.0]
    assert company.deals["deal_id"].tolist() == ["9001", "9002"]  # the record id is the deal's, never a client


def test_deals_with_no_client_column_are_named_not_silently_unlinked(tmp_path):
    deals = "Record ID,Deal Stage,Amount\n9001,Closed Won,1000\n9002,Closed Lost,500\n"
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    warning = _codes(result.problems)["deals_no_client_column"]
    assert warning[0].severity == "warning" and warning[0].details["count"] == 2


# ---- amounts with currency words ---------------------------------------------------------------------

money = st.decimals(min_value=Decimal("-999999.99"), max_value=Decimal("999999.99"), places=2, allow_nan=False,
                    allow_infinity=False)
WRITINGS = ["{ru} руб.", "{ru} руб", "{ru} р.", "{ru} р", "{ru} ₽", "{ru}\u00a0₽", "{ru} RUB", "RUB {ru}",
            "{ru} RUR", "{ru} рублей", "{ru} rub.", "{us} USD", "USD {us}", "${us}", "{us} $", "US${us}"]


def _ru(value: Decimal) -> str:
    whole, cents = f"{abs(value):.2f}".split(".")
    grouped = " ".join([whole[:len(whole) % 3 or 3]] + [whole[i:i + 3] for i in range(len(whole) % 3 or 3,
                                                                                      len(whole), 3)])
    return ("-" if value < 0 else "") + f"{grouped},{cents}"


def _us(value: Decimal) -> str:
    return f"{value:,.2f}"


@settings(max_examples=120, deadline=None)
@given(values=st.lists(money, min_size=1, max_size=20), writing=st.sampled_from(WRITINGS))
def test_amounts_with_currency_words_before_or_after(values, writing):
    cells = [writing.format(ru=_ru(v), us=_us(v)) for v in values]
    reading = read_numbers(pd.Series(cells, dtype="string"), decimal=",")
    assert not reading.bad.any(), cells
    assert reading.values.tolist() == [float(v) for v in values]


def test_a_scale_word_is_not_eaten_by_the_rouble_sign():
    reading = read_numbers(pd.Series(["1,5 млрд", "2 млн р.", "5 тыс. руб."], dtype="string"))
    assert reading.values.tolist() == [1.5e9, 2e6, 5e3] and not reading.bad.any()


# ---- offsets around daylight saving --------------------------------------------------------------------

def test_offsets_around_both_daylight_saving_changes(tmp_path):
    tx = ("Customer ID,Created at,Total\nA,2024-03-10 01:59:59 -0500,100.00\nA,2024-03-10 03:00:01 -0400,50.00\n"
          "B,2024-11-03 01:30:00 -0400,20.00\nB,2024-11-03 01:30:00 -0500,30.00\n"
          "A,2024-11-03T23:30:00-05:00,10.00\nB,2024-12-31T23:30:00-05:00,5.00\n")
    files = {"clients.csv": "client_id\nA\nB\n", "transactions.csv": tx}
    local = load_company(_company(tmp_path / "ny", files, "timezone: America/New_York\n")).transactions
    assert local["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-10", "2024-03-10", "2024-11-03",
                                                              "2024-11-03", "2024-11-03", "2024-12-31"]
    utc = load_company(_company(tmp_path / "utc", files, "timezone: UTC\n")).transactions
    assert utc["date"].dt.strftime("%Y-%m-%d").tolist()[-2:] == ["2024-11-04", "2025-01-01"]
    assert local["date"].dt.tz is None and utc["date"].dt.tz is None


# ---- .xlsx cells typed as numbers beside cells typed as text --------------------------------------------

def test_excel_serial_dates_and_numbers_stored_as_numbers(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Код клиента", "Дата", "Сумма"])
    ws.append(["A", 45296, 1000.5])                   # a serial in a General cell
    ws.append(["A", 45297.75, "2 000,00"])            # a serial with a time; an amount typed as text
    ws.append(["B", dt.datetime(2024, 1, 8), 300])    # a real date
    ws.append(["B", "09.01.2024", 400])               # a date typed as text
    ws.append(["C", 45300, 50])
    ws.cell(row=6, column=2).number_format = "dd.mm.yyyy"
    ws.append(["C", "45301", 60])                     # a serial typed as text
    ws.append(["D", 45302, 1.234])                    # a fraction stored as a number: exactly 1.234
    ws.append(["D", 45303, "1,234"])                  # beside "2 000,00": a decimal comma
    folder = tmp_path / "xlsx"
    folder.mkdir()
    book.save(folder / "transactions.xlsx")
    result = check_company(folder)
    assert result.ok
    tx = result.company.transactions
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-01-06", "2024-01-08", "2024-01-09",
                                                           "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12"]
    assert tx["amount"].tolist() == [1000.5, 2000.0, 300.0, 400.0, 50.0, 60.0, 1.234, 1.234]
    assert "mixed_number_formats" not in _codes(result.problems)


# ---- which column names the client when there is no id ---------------------------------------------------

SHOPIFY = ("Name,Email,Financial Status,Total,Created at,Lineitem quantity,Lineitem name,Billing Name\n"
           "#1001,ava@example.com,paid,46.04,2023-01-03 10:00:00 -0500,1,Linen Throw,Ava North\n"
           "#1002,ben@example.com,paid,77.36,2023-07-05 11:07:00 -0400,1,Linen Throw,Ben Vale\n"
           "#1002,ben@example.com,,,,2,Stoneware Mug,\n"
           "#1003,ava@example.com,paid,20.00,2023-08-01 09:00:00 -0400,1,Mug,Ava North\n")


def test_shopify_without_a_column_map_takes_the_buyer_email_not_the_order_number(tmp_path):
    result = check_company(_company(tmp_path, {"transactions.csv": SHOPIFY}, "currency: USD\n"))
    assert result.ok
    revenue = result.company.transactions.groupby("client_id")["amount"].sum().round(2).to_dict()
    assert revenue == {"ava@example.com": 66.04, "ben@example.com": 77.36}
    note = _codes(result.problems)["email_as_client_id"]
    assert note[0].column == "Email"


def test_a_column_of_client_names_wins_over_an_email_of_a_contact(tmp_path):
    log = ("Контрагент;Email;Дата;Сумма\nООО Ромашка;anna@romashka.ru;05.01.2024;1 000,00\n"
           "ООО Ромашка;boris@romashka.ru;06.01.2024;2 000,00\n")
    company = load_company(_company(tmp_path, {"transactions.csv": log}))
    assert company.transactions["client_id"].unique().tolist() == ["ООО Ромашка"]


def test_stage_names_run_together_as_apis_write_them(tmp_path):
    deals = ("Record ID,Company,Deal Stage\n1,Acme Inc,appointmentscheduled\n2,Acme Inc,closedwon\n"
             "3,Globex LLC,closed_lost\n4,Globex LLC,DecisionMakerBoughtIn\n5,Acme Inc,C2:UC_7XK2P1\n")
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["outcome"].tolist() == ["open", "won", "refused", "open", "open"]
    unknown = _codes(result.problems)["unknown_stages"]  # a custom Bitrix24 stage is still named, never judged
    assert "C2:UC_7XK2P1" in unknown[0].message and unknown[0].details["count"] == 1
