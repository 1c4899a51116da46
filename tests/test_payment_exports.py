"""Issue 9, more export kinds found by trying the kit on shop, payment and invoice exports: the order's own
"Id" beside the buyer's e-mail (Shopify, Stripe), status columns that mark drafts, voided, failed and
cancelled documents (Xero, Zoho, Square, Stripe, WooCommerce), credit notes written with a positive
amount (Xero, Sage), net beside gross sales (Square), times written in UTC by the header's word
("Created (UTC)"), an order's extra line items that repeat its date, and a trailing minus before the
currency ("250,00- €")."""

from __future__ import annotations

import pandas as pd
import pytest

from folders import write_company as _company
from folders import problem_codes as _codes
from helpers.step1_list_clients.columns import map_columns
from helpers.step1_list_clients.load import check_company
from helpers.step1_list_clients.parsing import read_dates, read_numbers


def _revenue(result) -> dict[str, float]:
    tx = result.company.transactions
    return {k: round(v, 2) for k, v in tx.groupby("client_id")["amount"].sum().items()}


# ---- whose id: the order's "Id" or the buyer's ---------------------------------------------------------------

@pytest.mark.parametrize("order", ["id first", "email first"])
def test_a_shop_exports_order_id_never_becomes_the_client_the_email_does(tmp_path, order):
    rows = [("5001", "ava@example.com", "100.00"), ("5002", "ava@example.com", "50.00"),
            ("5003", "ben@example.com", "70.00")]
    if order == "id first":
        text = "Id,Email,Created at,Total\n" + "".join(f"{i},{e},2024-03-0{n + 1},{a}\n"
                                                      for n, (i, e, a) in enumerate(rows))
    else:
        text = "Email,Total,Created at,Id\n" + "".join(f"{e},{a},2024-03-0{n + 1},{i}\n"
                                                      for n, (i, e, a) in enumerate(rows))
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    assert result.ok
    assert _revenue(result) == {"ava@example.com": 150.0, "ben@example.com": 70.0}
    note = _codes(result.problems)["record_id_not_client"][0]
    assert note.details["id"] == "Id" and note.details["header"] == "Email"


def test_a_payment_exports_charge_id_yields_to_its_customer_id():
    mapping, problems = map_columns(["id", "Created (UTC)", "Amount", "Status", "Customer ID", "Customer Email"],
                                    "transactions", file="t.csv")
    assert mapping["Customer ID"] == "client_id" and "id" not in mapping
    assert mapping["Created (UTC)"] == "date" and mapping["Amount"] == "amount"
    assert not [p for p in problems if p.severity == "error"]


def test_a_log_kept_by_hand_with_a_bare_id_still_uses_it_as_the_client_id():
    mapping, _ = map_columns(["id", "Customer", "Date", "Amount"], "transactions", file="t.csv")
    assert mapping["id"] == "client_id" and mapping["Customer"] == "name"


# ---- documents that are no sale ------------------------------------------------------------------------------

XERO = ("ContactName,InvoiceNumber,InvoiceDate,Total,Type,Status\n"
        "Abbey Ltd,INV-1,15/01/2024,1200.00,Sales invoice,Paid\n"
        "Abbey Ltd,CN-1,20/02/2024,200.00,Sales credit note,Paid\n"
        "Abbey Ltd,INV-2,13/03/2024,900.00,Sales invoice,Draft\n"
        "Brook plc,INV-3,14/01/2024,500.00,Sales invoice,Awaiting Payment\n"
        "Brook plc,INV-4,16/04/2024,700.00,Sales invoice,Voided\n"
        "Brook plc,INV-5,17/05/2024,300.00,Sales invoice,Deleted\n")


def test_invoice_exports_leave_out_drafts_and_voided_documents_and_take_off_credit_notes(tmp_path):
    result = check_company(_company(tmp_path, {"transactions.csv": XERO}, "currency: GBP\n"))
    assert result.ok
    assert _revenue(result) == {"Abbey Ltd": 1000.0, "Brook plc": 500.0}  # awaiting payment is a sale
    codes = _codes(result.problems)
    assert codes["voided_orders"][0].details["rows"] == "4, 6, 7"
    credit = codes["credit_notes_negated"][0]
    assert credit.details["rows"] == "3" and credit.details["types"] == "Sales credit note"
    assert "ignored_columns" not in codes  # Status and Type were used, so no column is listed as unused


def test_credit_notes_already_negative_are_left_as_written(tmp_path):
    text = ("Customer,Date,Amount,Transaction Type\nAcme,01/15/2024,1000.00,Invoice\n"
            "Acme,02/15/2024,-250.00,Credit Memo\nBirch,01/20/2024,400.00,Invoice\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    assert _revenue(result) == {"Acme": 750.0, "Birch": 400.0}
    assert "credit_notes_negated" not in _codes(result.problems)


def test_sage_audit_trail_types_receipts_left_out_credits_taken_off(tmp_path):
    text = ("Type,Account,Date,Net\nSI,ABB001,05/01/2024,1000.00\nSR,ABB001,20/01/2024,1200.00\n"
            "SC,ABB001,25/01/2024,250.00\nSI,CAR003,07/02/2024,600.00\nSA,CAR003,09/02/2024,600.00\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text},
                                    "currency: GBP\nload:\n  columns:\n    transactions:\n      Net: amount\n"))
    assert _revenue(result) == {"ABB001": 750.0, "CAR003": 600.0}


@pytest.mark.parametrize("header,void,kept", [
    ("Transaction Status", "Canceled", "Complete"),      # Square
    ("Status", "Failed", "Paid"),                        # Stripe
    ("Invoice Status", "Void", "Paid"),                  # Zoho Books, Indian invoices
    ("Order Status", "Pending payment", "Completed"),    # WooCommerce: an unpaid checkout
    ("Статус", "Черновик", "Проведён"),
])
def test_each_systems_status_column_leaves_out_what_is_no_sale(tmp_path, header, void, kept):
    text = (f"Customer ID,Date,Amount,{header}\nC1,2024-01-05,100.00,{kept}\nC1,2024-02-05,900.00,{void}\n"
            f"C2,2024-01-09,300.00,{kept}\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    assert _revenue(result) == {"C1": 100.0, "C2": 300.0}
    assert _codes(result.problems)["voided_orders"][0].details["rows"] == "3"


def test_a_refund_column_and_a_refunded_in_full_order(tmp_path):
    text = ("Email (Billing),Order Date,Order Total Amount,Order Refund Amount,Order Status\n"
            "ava@example.com,2024-01-05,100.00,20.00,Completed\n"
            "ava@example.com,2024-02-05,60.00,60.00,Completed\n"
            "ben@example.com,2024-01-09,300.00,0.00,Completed\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: GBP\n"))
    assert _revenue(result) == {"ava@example.com": 80.0, "ben@example.com": 300.0}
    codes = _codes(result.problems)
    assert codes["voided_orders"][0].details["rows"] == "3"  # refunded in full: no purchase of 0 counted
    assert codes["refunded_amounts"][0].details["total"] == "20.00"


# ---- which figure, which day -------------------------------------------------------------------------------

def test_net_sales_wins_over_gross_sales_whichever_comes_first():
    for headers in (["Date", "Gross Sales", "Discounts", "Net Sales", "Customer ID"],
                    ["Date", "Net Sales", "Gross Sales", "Customer ID"]):
        mapping, _ = map_columns(headers, "transactions", file="t.csv")
        assert mapping["Net Sales"] == "amount" and "Gross Sales" not in mapping


def test_times_under_a_utc_header_become_the_companys_calendar_date(tmp_path):
    text = ("Customer ID,Created (UTC),Amount\ncus_1,2024-03-01 03:10:00,100.00\n"
            "cus_1,2024-03-01 12:00:00,50.00\ncus_2,2024-07-01,70.00\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text},
                                    "currency: USD\ntimezone: America/New_York\n"))
    days = result.company.transactions["date"].dt.strftime("%Y-%m-%d").tolist()
    assert days == ["2024-02-29", "2024-03-01", "2024-07-01"]  # a date without a time stays as written


def test_utc_written_zone_is_only_used_where_the_cell_has_no_offset():
    values = pd.Series(["2024-03-01 03:10:00", "2024-03-01 03:10:00 +0300", "2024-03-01"])
    reading = read_dates(values, timezone="Europe/Moscow", written_zone="UTC")
    assert [str(v.date()) for v in reading.values] == ["2024-03-01", "2024-03-01", "2024-03-01"]
    reading = read_dates(values, timezone="America/Los_Angeles", written_zone="UTC")
    assert [str(v.date()) for v in reading.values] == ["2024-02-29", "2024-02-29", "2024-03-01"]
    # without a timezone in company.yml the date is as written
    assert [str(v.date()) for v in read_dates(values, written_zone="UTC").values] == ["2024-03-01"] * 3


def test_an_orders_extra_lines_that_repeat_its_date_are_one_note_not_a_warning_each(tmp_path):
    text = ("Name,Email,Created at,Total,Lineitem name\n"
            "#1001,ava@example.com,2024-01-04 10:00:00 -0500,77.36,Throw\n"
            "#1001,ava@example.com,2024-01-04 10:00:00 -0500,,Mug\n"
            "#1001,ava@example.com,2024-01-04 10:00:00 -0500,,Spoon\n"
            "#1002,ben@example.com,2024-01-05 10:00:00 -0500,10.00,Mug\n"
            "#1003,ben@example.com,2024-01-06 10:00:00 -0500,,Mug\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    codes = _codes(result.problems)
    assert codes["continuation_rows"][0].details["rows"] == "3, 4"
    # a row of its own with no amount (another date) is still a warning naming it
    assert [(p.row, p.severity) for p in codes["blank_amount"]] == [(6, "warning")]


# ---- numbers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cells,values", [
    (["250,00- €", "12.500,00- €", "1.000,00 €"], [-250.0, -12500.0, 1000.0]),
    (["250.00- USD", "1,000.00 USD"], [-250.0, 1000.0]),
    (["250,00 €-", "1.000,00 €"], [-250.0, 1000.0]),
    (["1.200,- €", "50,– €", "1.000,00 €"], [1200.0, 50.0, 1000.0]),
    (["12.000,-- EUR", "99,50 EUR"], [12000.0, 99.5]),
    (["1 200-", "300"], [-1200.0, 300.0]),
])
def test_a_dash_at_the_end_before_or_after_the_currency(cells, values):
    reading = read_numbers(pd.Series(cells), decimal=",")
    assert reading.values.tolist() == values and not reading.bad.any()


def test_no_client_list_names_no_clients_csv_it_does_not_have(tmp_path):
    text = "Customer ID,Date,Amount\nC1,2024-01-05,100.00\nC2,2024-01-09,300.00\n"
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    codes = _codes(result.problems)
    assert "no_traits" not in codes and "no_client_list_traits" in codes


def test_a_row_with_no_amount_under_a_row_with_no_client_is_a_warning_not_a_crash(tmp_path):
    text = ("Email,Created at,Total\nava@example.com,2024-01-04,10.00\n,2024-01-05,5.00\n"
            "ava@example.com,2024-01-05,\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    assert "continuation_rows" not in _codes(result.problems)
    assert any(p.row == 4 for p in _codes(result.problems)["blank_amount"])


@pytest.mark.parametrize("company_cells", [("", "", ""), ("Stone Ltd", "", "")])
def test_a_shop_log_names_its_clients_by_the_column_filled_on_every_row(tmp_path, company_cells):
    """WooCommerce: "Company (Billing)" is blank for private buyers, "Email (Billing)" never is."""
    text = "Order Number,Order Date,Company (Billing),Email (Billing),Order Total Amount\n" + "".join(
        f"{4100 + i},2024-01-0{i + 1},{c},{e},{a}\n"
        for i, (c, e, a) in enumerate(zip(company_cells, ("amy@stone.co.uk", "bo@example.com", "amy@stone.co.uk"),
                                          ("98.45", "20.00", "1.55"))))
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: GBP\n"))
    assert result.ok
    assert _revenue(result) == {"amy@stone.co.uk": 100.0, "bo@example.com": 20.0}
    assert _codes(result.problems)["email_as_client_id"][0].details["header"] == "Email (Billing)"


def test_a_name_column_filled_on_every_row_still_comes_before_the_email(tmp_path):
    text = ("Customer,Email,Date,Amount\nStone Ltd,amy@stone.co.uk,2024-01-01,10.00\n"
            "Stone Ltd,bob@stone.co.uk,2024-01-02,5.00\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: GBP\n"))
    assert _revenue(result) == {"Stone Ltd": 15.0}


def test_unix_time_in_seconds_or_milliseconds_is_a_date_in_the_companys_zone():
    cells = pd.Series(["1709262600", "1709262600000", "1704067200"])  # 2024-03-01 03:10 UTC, twice; 2024-01-01 00:00
    assert [str(v.date()) for v in read_dates(cells).values] == ["2024-03-01", "2024-03-01", "2024-01-01"]
    reading = read_dates(cells, timezone="America/New_York")
    assert [str(v.date()) for v in reading.values] == ["2024-02-29", "2024-02-29", "2023-12-31"]
    # a number outside 2000-2100 is no Unix time, and stays a bad cell
    assert read_dates(pd.Series(["123456789", "1709262600"])).bad.tolist() == [True, False]


def test_an_id_different_on_every_row_beside_a_repeating_customer_column_numbers_the_payments(tmp_path):
    """Stripe's API export: "id" of each charge, "customer" the buyer's id; the dates in Unix seconds."""
    text = ("id,object,amount,created,customer,status\nch_1,charge,1200.00,1709262600,cus_A,succeeded\n"
            "ch_2,charge,300.00,1711940000,cus_A,succeeded\nch_3,charge,70.00,1712000000,cus_B,failed\n"
            "ch_4,charge,90.00,1712100000,cus_B,succeeded\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    assert result.ok
    assert _revenue(result) == {"cus_A": 1500.0, "cus_B": 90.0}
    assert _codes(result.problems)["record_id_not_client"][0].details == {"id": "id", "header": "customer"}


# ---- Salesforce ids of 15 and 18 characters ------------------------------------------------------------------

def test_salesforce_ids_of_18_characters_link_to_a_client_list_of_15(tmp_path):
    """A report gives the 15-character account id, Data Loader the 18-character one (checksum added)."""
    from helpers.step1_list_clients.load import _salesforce_suffix

    assert _salesforce_suffix("0015000000Gv7qJ") == "AAR"  # Salesforce's documented example
    clients = "Account ID,Account Name,Industry\n0015g00000AbCd0,Acme One,Retail\n0015g00000AbCe1,Acme Two,Health\n"
    deals = ('"ID","ACCOUNTID","NAME","STAGENAME","CLOSEDATE"\n'
             '"0065g00000XyZ000AAA","0015g00000AbCd0AAF","Acme renewal","Closed Won","2024-02-02"\n'
             '"0065g00000XyZ001AAA","0015g00000AbCe1AAF","Acme 2 renewal","Closed Lost","2024-02-15"\n'
             '"0065g00000XyZ002AAA","0015g00000AbCe1AAB","wrong checksum","Closed Lost","2024-02-15"\n')
    result = check_company(_company(tmp_path, {"clients.csv": clients, "deals.csv": deals}, "currency: USD\n"))
    assert result.ok
    linked = result.company.deals["client_id"].tolist()
    assert linked[:2] == ["0015g00000AbCd0", "0015g00000AbCe1"]
    assert linked[2] != "0015g00000AbCe1"  # a wrong checksum is another id, never guessed
    assert _codes(result.problems)["salesforce_ids_15_18"][0].details["count"] == 2


# ---- what a client list and a workbook hold ------------------------------------------------------------------

@pytest.mark.parametrize("header", ["Revenue 2024", "Sales 2024", "Выручка за год", "Выручка за 2024 год",
                                    "Revenue FY2024", "Revenue (2024)", "Сумма продаж"])
def test_a_revenue_header_naming_its_period_is_the_revenue(header):
    mapping, _ = map_columns(["Client ID", header, "Employees"], "clients", file="c.csv")
    assert mapping[header] == "revenue" and "Employees" not in mapping


def test_annual_revenue_is_the_clients_own_size_never_what_they_paid():
    assert "Annual Revenue" not in map_columns(["Account ID", "Annual Revenue"], "clients", file="c.csv")[0]


def test_the_latest_of_several_period_columns_is_used_and_the_others_are_no_traits(tmp_path):
    clients = ("client_id,name,Revenue 2023,Revenue 2024,Industry\nC1,A,100.50,2000.50,Retail\n"
               "C2,B,500.25,300.25,Retail\nC3,C,100.75,50.75,Health\n")
    result = check_company(_company(tmp_path, {"clients.csv": clients}, "currency: USD\n"))
    assert result.company.clients.set_index("client_id")["revenue"].to_dict() == {"C1": 2000.5, "C2": 300.25,
                                                                                 "C3": 50.75}
    assert "Revenue 2023" not in result.company.trait_kinds
    chosen = _codes(result.problems)["period_column_chosen"][0]
    assert chosen.details["header"] == "Revenue 2024" and chosen.details["unused"] == ["Revenue 2023"]


def test_a_client_list_with_nothing_to_rank_by_says_so_before_the_run(tmp_path):
    clients = "client_id,name,Turnover last season,Industry\nC1,A,100,Retail\nC2,B,50,Health\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients}, "currency: USD\n"))
    warning = _codes(result.problems)["no_revenue_source"][0]
    assert warning.severity == "warning" and "Turnover last season" in warning.message


def _year_sheets(path, hide_first: bool) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "Settings"
    first.append(["rate", "1.0"])
    first.sheet_state = "hidden" if hide_first else "visible"
    for year in ("2023", "2024"):
        sheet = book.create_sheet(year)
        sheet.append(["client_id", "date", "amount"])
        sheet.append(["T01", f"{year}-03-01", 100])
        sheet.append(["T02", f"{year}-05-01", 50])
    book.save(path)


@pytest.mark.parametrize("hide_first", [True, False])
def test_a_workbook_of_one_sheet_per_year_warns_that_the_other_years_were_not_read(tmp_path, hide_first):
    folder = _company(tmp_path, {}, "currency: USD\n")
    _year_sheets(folder / "transactions.xlsx", hide_first)
    result = check_company(folder)
    warning = _codes(result.problems)["other_sheets_same_table"][0]
    assert warning.details["sheet"] == "2023" and warning.details["sheets"] == "2024"


def test_account_codes_beside_account_names_are_the_ids(tmp_path):
    clients = "Account,Account name,Turnover,Sector\nUK01,Ltd One,\"254,908.00\",Trade\nUK02,Ltd Two,\"98,750.00\",Retail\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients}, "currency: GBP\n"))
    frame = result.company.clients.set_index("client_id")
    assert frame["name"].to_dict() == {"UK01": "Ltd One", "UK02": "Ltd Two"}
    assert "Account name" not in result.company.trait_kinds


def test_names_beside_fuller_names_stay_the_names():
    frame = pd.DataFrame({"Customer": ["Acme Ltd", "Birch Co"], "Customer name": ["Acme Limited", "Birch Company"]})
    mapping, _ = map_columns(list(frame), "clients", file="c.csv", values=lambda h: frame[h])
    assert "Customer name" not in mapping


def test_anonymised_problems_hide_the_other_written_form_of_a_mended_id(tmp_path):
    """The 18-character Salesforce id and the id with leading zeros are in no table: no pseudonym covers them."""
    import secrets

    from helpers.step1_list_clients.anonymise import anonymise_company
    from helpers.step1_list_clients.load import load_company

    clients = "Account ID,Account Name,Industry\n0015g00000AbCd0,Acme One,Retail\n123,Birch,Health\n"
    deals = ('"ACCOUNTID","STAGENAME"\n"0015g00000AbCd0AAF","Closed Won"\n"00123","Closed Lost"\n')
    company = load_company(_company(tmp_path / "acme", {"clients.csv": clients, "deals.csv": deals}, "currency: USD\n"))
    key = tmp_path / "key"
    key.write_text(secrets.token_hex(32))
    texts = " ".join(p.message for p in anonymise_company(company, key_file=key).problems)
    assert "salesforce_ids_15_18" in {p.code for p in company.problems}
    assert "0015g00000AbCd0AAF" not in texts and "00123" not in texts


def test_anonymised_problems_hide_a_sub_customers_own_name(tmp_path):
    import secrets

    from helpers.step1_list_clients.anonymise import anonymise_company
    from helpers.step1_list_clients.load import load_company

    report = (",Date,Amount\nCedar Family,,\n   Jane Roe,,\n,01/05/2024,100.00\n   Total for Jane Roe,,100.00\n"
              ",02/05/2024,50.00\nTotal for Cedar Family,,150.00\nAlder,,\n,03/05/2024,70.00\nTotal for Alder,,70.00\n"
              "Birch,,\n,03/06/2024,10.00\nTotal for Birch,,10.00\nTOTAL,,230.00\n")
    company = load_company(_company(tmp_path / "acme", {"transactions.csv": report}, "currency: USD\n"))
    assert "sub_groups_as_customers" in {p.code for p in company.problems}
    key = tmp_path / "key"
    key.write_text(secrets.token_hex(32))
    texts = " ".join(p.message for p in anonymise_company(company, key_file=key).problems)
    assert "Jane Roe" not in texts and "Cedar" not in texts


def test_a_due_date_column_that_proves_month_first_decides_an_ambiguous_invoice_date(tmp_path):
    text = ("Customer,Invoice Date,Due Date,Amount\nAnchor,2/1/2024,3/2/2024,100.00\nAnchor,3/1/2024,3/31/2024,100.00\n"
            "Birch,4/1/2024,5/1/2024,50.00\n")
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: GBP\n"))  # GBP alone: day first
    days = result.company.transactions["date"].dt.strftime("%Y-%m-%d").tolist()
    assert days == ["2024-02-01", "2024-03-01", "2024-04-01"]
    assert _codes(result.problems)["ambiguous_dates"][0].details["order"] == "mdy"


def test_a_deals_close_date_proves_the_order_of_its_created_date(tmp_path):
    deals = ("Account Name,Stage,Created Date,Close Date\nAcme,Closed Won,02/01/2024,02/15/2024\n"
             "Birch,Closed Lost,03/01/2024,03/20/2024\n")
    clients = "client_id,name\n1,Acme\n2,Birch\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients, "deals.csv": deals}, "currency: EUR\n"))
    assert result.company.deals["cycle_days"].tolist() == [14, 19]
