"""More variants of issue 9's export kinds, each one the kit misread before: Bitrix24 and Salesforce deal
exports whose bare "Название"/"Name" is the deal's title, Salesforce's Won/Closed flags, report footers
(QuickBooks' basis line, the amount line under Salesforce's Grand Totals), headers carrying a unit
("тыс. руб.", "$000", "CHF"), two-row headers, Excel's Accounting format, and dates written with digits
only ("20240310", "2024-03", "03.2024")."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from folders import write_company as _company
from folders import problem_codes as _codes
from helpers.step1_list_clients.columns import header_scale, normalise_header
from helpers.step1_list_clients.load import check_company, load_company
from helpers.step1_list_clients.parsing import read_dates, read_numbers

CLIENTS = "client_id,name\n101,Acme Inc\n102,Globex LLC\n103,Initech\n"
RU_CLIENTS = "client_id,name\n1,ООО Ромашка\n2,ООО Лютик\n"


# ---- deal exports: which column names the client ---------------------------------------------------

BITRIX_ROWS = [("11", "Сделка 1", "Сделка успешна", "150 000,50", "ООО Ромашка", "05.01.2024 10:00:00", "01.02.2024"),
               ("12", "Сделка 2", "Сделка провалена", "5,5", "ООО Лютик", "10.01.2024 10:00:00", "10.02.2024"),
               ("13", "Сделка 3", "Счёт на предоплату", "1 000", "ООО Ромашка", "10.03.2024 10:00:00", "")]
BITRIX_HEAD = ("ID", "Название", "Стадия сделки", "Сумма", "Компания", "Дата создания", "Дата закрытия")


@pytest.mark.parametrize("shape", ["csv", "html-xls"])
def test_bitrix24_deal_title_is_not_the_client_the_company_is(tmp_path, shape):
    folder = _company(tmp_path, {"clients.csv": RU_CLIENTS}, "language: ru\n")
    if shape == "csv":
        text = "\n".join(";".join(r) for r in [BITRIX_HEAD, *BITRIX_ROWS]) + "\n"
        (folder / "deals.csv").write_bytes(text.encode("cp1251"))
    else:
        cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in [BITRIX_HEAD, *BITRIX_ROWS])
        html = ('<html><head><meta http-equiv="Content-type" content="text/html;charset=windows-1251" /></head>'
                f"<body><table>{cells}</table></body></html>")
        (folder / "deals.xls").write_bytes(html.encode("cp1251"))
    result = check_company(folder)
    assert result.ok
    deals = result.company.deals
    assert deals["client_id"].tolist() == ["1", "2", "1"]
    assert deals["outcome"].tolist() == ["won", "refused", "open"]
    assert deals["amount"].tolist() == [150000.5, 5.5, 1000.0]
    columns = next(f for f in result.files if f.kind == "deals").columns
    assert columns["Название"][0] == "title" and columns["Компания"][0] == "name"
    assert "deals_unmatched" not in _codes(result.problems)


def test_a_bare_name_stays_the_client_when_nothing_else_names_one(tmp_path):
    deals = "Name,Stage\nAcme Inc,Closed Won\nGlobex LLC,Closed Lost\n"
    company = load_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert company.deals["client_id"].tolist() == ["101", "102"]


# ---- Salesforce Won / Closed flags -----------------------------------------------------------------------

def test_salesforce_won_and_closed_flags_decide_custom_stages(tmp_path):
    deals = ("Opportunity Name,Account Name,Stage,Amount,Close Date,Created Date,Won,Closed\n"
             "Acme renewal,Acme Inc,Signed,1000,2/1/2024,1/5/2024,1,1\n"
             "Globex pilot,Globex LLC,Dead,500,2/10/2024,1/10/2024,0,1\n"
             "Initech big,Initech,Discovery,700,4/30/2024,3/13/2024,0,0\n"
             "Initech small,Initech,Closed Won,70,4/13/2024,3/13/2024,0,1\n")
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}, "currency: USD\n"))
    assert result.ok
    deals_read = result.company.deals
    assert deals_read["outcome"].tolist() == ["won", "refused", "open", "refused"]
    # the close date is "Close Date", never the 1/0 flag under "Closed"
    assert deals_read["closed"].dt.strftime("%Y-%m-%d").tolist()[:2] == ["2024-02-01", "2024-02-10"]
    assert deals_read["cycle_days"].tolist()[:2] == [27.0, 31.0]
    codes = _codes(result.problems)
    assert "unknown_stages" not in codes and "not_a_date" not in codes
    assert codes["stage_against_flags"][0].details["count"] == 1  # "Closed Won" against Won = 0


def test_salesforce_data_loader_flags_true_false(tmp_path):
    deals = ('"ID","ACCOUNTID","STAGENAME","AMOUNT","CLOSEDATE","ISCLOSED","ISWON"\n'
             '"006A","001A","Verbal Yes","1000.0","2024-02-01","true","true"\n'
             '"006B","001B","Closed Lost","500.0","2024-02-10","true","false"\n')
    clients = "Id,Name\n001A,Acme Inc\n001B,Globex LLC\n"
    company = load_company(_company(tmp_path, {"clients.csv": clients, "deals.csv": deals}))
    assert company.deals["outcome"].tolist() == ["won", "refused"]
    assert company.deals["client_id"].tolist() == ["001A", "001B"]


# ---- report footers -----------------------------------------------------------------------------------

SALESFORCE_REPORT = ('"Account Name","Opportunity Name","Stage","Amount","Close Date"\n'
                     '"Acme Inc","Acme - renewal","Closed Won","USD 1,000.00","2/1/2024"\n'
                     '"Globex LLC","Globex - pilot","Closed Lost","USD 500.00","2/13/2024"\n'
                     '""\n"Grand Totals (2 records)"\n"","","","USD 1,500.00",""\n""\n""\n'
                     '"Confidential Information - Do Not Distribute"\n'
                     '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."\n')


def test_the_amount_line_under_salesforce_grand_totals_is_footer_not_a_deal(tmp_path):
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": SALESFORCE_REPORT}))
    assert result.ok
    assert result.company.deals["amount"].tolist() == [1000.0, 500.0]
    codes = _codes(result.problems)
    assert sorted(p.row for p in codes["totals_row"]) == [5, 6, 9, 10]
    assert "missing_value" not in codes and "no_outcome" not in codes
    assert not [p for p in result.problems if p.severity == "warning" and p.code not in ("totals_row", "no_traits", "no_revenue_source")]


def test_lines_of_a_grouped_report_between_subtotals_are_never_a_footer(tmp_path):
    report = ("Customer,Date,Amount\nAlder Goods,,\n,01/05/2024,200.00\nTotal for Alder Goods,,200.00\n"
              "Birch & Co,,\n,02/13/2024,\"1,450.00\"\n,03/13/2024,50.00\nTotal for Birch & Co,,\"1,500.00\"\n"
              "TOTAL,,\"1,700.00\"\n")
    tx = load_company(_company(tmp_path, {"transactions.csv": report}, "currency: USD\n")).transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"Alder Goods": 200.0, "Birch & Co": 1500.0}


QUICKBOOKS_ONLINE = ('Sales by Customer Detail\nCraig\'s Design and Landscaping Services\n"January 1 - December 31, 2024"'
                     '\n\n,Date,Transaction Type,Num,Product/Service,Qty,Sales Price,Amount,Balance\n'
                     'Alder Goods,,,,,,,,\n,01/05/2024,Invoice,1001,Design,2,100.00,200.00,200.00\n'
                     ',04/20/2024,Credit Memo,1003,Design,1,-50.00,-50.00,150.00\n'
                     'Total for Alder Goods,,,,,,,$150.00,\nBirch & Co,,,,,,,,\n'
                     ',12/13/2024,Sales Receipt,1004,Gardening,,,"1,450.00","1,450.00"\n'
                     'Total for Birch & Co,,,,,,,"$1,450.00",\nTOTAL,,,,,,,"$1,600.00",\n\n\n\n'
                     '"{basis} Basis Monday, December 2, 2024 10:41 AM GMT-08:00"\n')


@pytest.mark.parametrize("basis", ["Accrual", "Cash"])
def test_quickbooks_basis_footer_is_a_footer_not_a_client(tmp_path, basis):
    text = QUICKBOOKS_ONLINE.format(basis=basis)
    result = check_company(_company(tmp_path, {"transactions.csv": text}, "currency: USD\n"))
    assert result.ok
    tx = result.company.transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"Alder Goods": 150.0, "Birch & Co": 1450.0}
    assert sorted(tx["client_id"].unique()) == ["Alder Goods", "Birch & Co"]
    codes = _codes(result.problems)
    assert codes["grouped_report"][0].details["rows"] == "6, 10"  # the footer is no group row
    assert codes["grand_total_rows"][0].details["rows"] == "13"
    assert [p.row for p in codes["totals_row"]] == [17]
    assert "wrong_field_count" not in codes and "grand_total_mismatch" not in codes


def test_quickbooks_online_xlsx_with_merged_title_and_basis_footer(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    for title in ("Sales by Customer Detail", "Craig's Design", "January 1 - December 31, 2024"):
        ws.append([title])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append([None, "Date", "Transaction Type", "Num", "Amount", "Balance"])
    ws.append(["Alder Goods"])
    ws.append([None, "01/05/2024", "Invoice", "1001", 200.0, 200.0])
    ws.append([None, "03/13/2024", "Invoice", "1002", 400.0, 600.0])
    ws.append(["Total for Alder Goods", None, None, None, 600.0, None])
    ws.append(["TOTAL", None, None, None, 600.0, None])
    ws.append([])
    ws.append(["Cash Basis Monday, December 2, 2024 10:41 AM GMT-08:00"])
    folder = _company(tmp_path, {}, "currency: USD\n")
    book.save(folder / "transactions.xlsx")
    result = check_company(folder)
    assert result.ok
    assert result.company.transactions["amount"].tolist() == [200.0, 400.0]
    assert result.company.transactions["client_id"].unique().tolist() == ["Alder Goods"]


# ---- headers with a unit --------------------------------------------------------------------------------

@pytest.mark.parametrize("header,scale", [("Выручка, тыс. руб.", 1e3), ("Выручка (тыс. руб.)", 1e3),
                                          ("Revenue ($000)", 1e3), ("Revenue (in thousands)", 1e3),
                                          ("Revenue, $K", 1e3), ("Revenue ('000)", 1e3), ("Выручка, млн ₽", 1e6),
                                          ("Revenue, $m", 1e6), ("Revenue CHF", 1), ("Revenue (GBP)", 1)])
def test_a_unit_in_the_header_is_read_and_its_scale_multiplies(tmp_path, header, scale):
    clients = f'client_id;{header};Отрасль\n001;"1 234,5";IT\n002;980;Retail\n'
    result = check_company(_company(tmp_path, {"clients.csv": clients}, "language: ru\n"))
    assert result.ok
    assert result.company.clients["revenue"].tolist() == [1234.5 * scale, 980 * scale]
    notes = _codes(result.problems).get("scaled_column", [])
    assert (notes[0].details["scale"] == f"{scale:.0f}") if scale != 1 else not notes


def test_a_scaled_amount_keeps_its_subtotal_check(tmp_path):
    report = ("Контрагент;Дата;Сумма, тыс. руб.\nООО Ромашка;;\n;05.01.2024;1,5\n;06.01.2024;2\n"
              "Итого по ООО Ромашка;;3,5\nИтого;;3,5\n")
    result = check_company(_company(tmp_path, {"transactions.csv": report}, "language: ru\n"))
    assert result.company.transactions["amount"].tolist() == [1500.0, 2000.0]
    assert "subtotal_mismatch" not in _codes(result.problems)
    assert "grand_total_mismatch" not in _codes(result.problems)


def test_unit_words_never_eat_a_header():
    assert header_scale("Bank") == 1 and normalise_header("Bank") == "bank"
    assert header_scale("Revenue m") == 1  # "m" alone is a million only beside a currency
    assert normalise_header("Amount in company currency") == "amount in company currency"


# ---- two-row headers --------------------------------------------------------------------------------------

def test_two_row_header_whose_lower_row_says_only_sum(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Продажи по контрагентам"])
    ws.append([])
    ws.append(["Контрагент", "ИНН", "Выручка", None])
    ws.append([None, None, "Сумма", "Количество"])
    ws.merge_cells("C3:D3")
    ws.append(["ООО «Ромашка»", "0012345678", "1\u00a0234\u00a0567,89", 10])
    ws.append(["ИП Петров", "000123456789", 98765.4, 2])
    folder = _company(tmp_path, {}, "language: ru\n")
    book.save(folder / "clients.xlsx")
    result = check_company(folder)
    assert result.ok
    clients = result.company.clients
    assert clients["revenue"].tolist() == [1234567.89, 98765.4]
    assert clients["client_id"].tolist() == ["0012345678", "000123456789"]
    columns = next(f for f in result.files if f.kind == "clients").columns
    assert columns["Выручка / Количество"][0] == "trait"  # a count is never the revenue


# ---- Excel's Accounting format -----------------------------------------------------------------------------

money = st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False, allow_infinity=False)


def _accounting_us(v) -> str:
    return " $ -   " if v == 0 else (f" $ ({abs(v):,.2f})" if v < 0 else f" $ {v:,.2f} ")


def _accounting_ru(v) -> str:
    text = f"{abs(v):,.2f}".replace(",", "\u00a0").replace(".", ",")
    return " -  ₽ " if v == 0 else (f"-{text} ₽ " if v < 0 else f" {text} ₽ ")


def _accounting_eu(v) -> str:
    text = f"{abs(v):,.2f}".replace(",", "x").replace(".", ",").replace("x", ".")
    return "€ -" if v == 0 else (f"({text}) €" if v < 0 else f"{text} €")


@settings(max_examples=60, deadline=None)
@given(values=st.lists(money, min_size=1, max_size=12),
       style=st.sampled_from([(_accounting_us, "."), (_accounting_ru, ","), (_accounting_eu, ",")]))
def test_excel_accounting_format_reads_back(values, style):
    write, decimal = style
    reading = read_numbers(pd.Series([write(v) for v in values], dtype="string"), decimal=decimal)
    assert not reading.bad.any()
    assert reading.values.tolist() == [float(v) for v in values]


def test_a_lone_dash_is_still_blank_and_a_stray_word_still_bad():
    reading = read_numbers(pd.Series(["-", "$ (12.00)", "$ abc"], dtype="string"), decimal=".")
    assert reading.values.isna().tolist() == [True, False, True]
    assert reading.bad.tolist() == [False, False, True]


# ---- dates with digits only -----------------------------------------------------------------------------------

def test_compact_dates_and_numeric_months():
    compact = read_dates(pd.Series(["20240310", "20241231", "20240230"], dtype="string"))
    assert [str(v)[:10] for v in compact.values] == ["2024-03-10", "2024-12-31", "NaT"]
    assert compact.bad.tolist() == [False, False, True]  # 30 February is no date, never moved
    for cells in (["2024-03", "2024-12"], ["03.2024", "12.2024"], ["3/2024", "12/2024"]):
        months = read_dates(pd.Series(cells, dtype="string"))
        assert [str(v)[:10] for v in months.values] == ["2024-03-01", "2024-12-01"]
        assert months.month_only == 2
    assert read_dates(pd.Series(["13.2024"], dtype="string")).bad.all()


def test_a_month_column_of_digits_is_named_by_check(tmp_path):
    tx = "client_id;Период;Сумма\nA;01.2024;100\nA;02.2024;200\nB;2024-03;50\n"
    result = check_company(_company(tmp_path, {"transactions.csv": tx}))
    assert result.company.transactions["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01", "2024-02-01", "2024-03-01"]
    assert _codes(result.problems)["month_only_dates"][0].severity == "info"


# ---- Excel for Mac: lines ended by CR alone, Mac encodings --------------------------------------------------

@pytest.mark.parametrize("text,encoding,names", [
    ("Account Name,Close Date,Amount\rSociété Générale,1/15/2024,\"1,000.00\"\rCafé Zürich,3/1/2024,250.00\r",
     "mac_roman", ["Société Générale", "Café Zürich"]),
    ("Контрагент;Дата;Сумма\rООО Ромашка;15.01.2024;1 000,00\rИП Щукин;01.03.2024;250,00\r",
     "mac_cyrillic", ["ООО Ромашка", "ИП Щукин"]),
    ("Account Name,Close Date,Amount\rAcme,1/15/2024,\"1,000.00\"\rGlobex,3/1/2024,250.00\r", "ascii",
     ["Acme", "Globex"]),
])
def test_csv_for_macintosh_with_cr_line_ends(tmp_path, text, encoding, names):
    folder = _company(tmp_path, {}, "currency: USD\n")
    (folder / "transactions.csv").write_bytes(text.encode(encoding))
    result = check_company(folder)
    assert result.ok
    tx = result.company.transactions
    assert tx["client_id"].tolist() == names
    assert tx["amount"].tolist() == [1000.0, 250.0]
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-15", "2024-03-01"]


# ---- stage names numbered or carrying their pipeline ---------------------------------------------------------

def test_stages_numbered_or_with_their_pipeline_are_still_known(tmp_path):
    from helpers.step1_list_clients.load import normalise_outcome

    written = ["Closed won (Sales Pipeline)", "7 - Closed Won", "Stage 6: Closed Lost", "06. Negotiation",
               "Appointment Scheduled (Renewals)", "1) Новая", "Этап 2 - Переговоры", "Отложено", "Deal lost"]
    assert [normalise_outcome(v) for v in written] == ["won", "won", "refused", "open", "open", "open", "open",
                                                       "stalled", "refused"]
    assert normalise_outcome("7 - Signed", {"Signed": "won_fast"}) == "won_fast"
    assert normalise_outcome("2024 plan") is None and normalise_outcome("(x)") is None
    deals = ("Deal Stage,Associated Company\nClosed won (Sales Pipeline),Acme Inc\n"
             "Closed lost (Renewals),Globex LLC\nContract sent (Renewals),Initech\n")
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["outcome"].tolist() == ["won", "refused", "open"]
    assert "unknown_stages" not in _codes(result.problems)


# ---- shop orders refunded or voided ------------------------------------------------------------------------

SHOPIFY_REFUNDS = ("Name,Email,Financial Status,Total,Created at,Lineitem name,Lineitem price,Cancelled at,"
                   "Refunded Amount\n"
                   "#1001,ava@example.com,paid,100.00,2024-03-09 22:30:00 -0500,Throw,100.00,,0.00\n"
                   "#1002,ben@example.com,partially_refunded,200.00,2024-04-10 10:00:00 -0400,Mug,100.00,,50.00\n"
                   "#1002,ben@example.com,,,,Spoon,5.00,,\n"
                   "#1003,ava@example.com,refunded,80.00,2024-05-01 10:00:00 -0400,Mug,80.00,"
                   "2024-05-02 10:00:00 -0400,80.00\n"
                   "#1004,ben@example.com,voided,40.00,2024-06-01 10:00:00 -0400,Mug,40.00,"
                   "2024-06-01 11:00:00 -0400,0.00\n")


def test_shopify_orders_net_of_refunds_and_without_voided_ones(tmp_path):
    result = check_company(_company(tmp_path, {"transactions.csv": SHOPIFY_REFUNDS}, "currency: USD\n"))
    assert result.ok
    tx = result.company.transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"ava@example.com": 100.0, "ben@example.com": 150.0}
    codes = _codes(result.problems)
    # the voided order and the one refunded in full are left out (no sale of 0 counted as a purchase)
    assert codes["voided_orders"][0].details["rows"] == "5, 6"
    assert codes["refunded_amounts"][0].details["total"] == "50.00"
    assert "Refunded Amount" not in codes["ignored_columns"][0].details["columns"]


# ---- the data not on the first sheet -------------------------------------------------------------------------

def test_a_workbook_opening_with_a_readme_or_summary_sheet(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Readme"
    book.active.append(["This workbook lists our orders."])
    summary = book.create_sheet("Summary")
    summary.append(["Region", "Revenue"])
    summary.append(["North", 1000])
    data = book.create_sheet("Orders")
    data.append(["Customer", "Date", "Amount"])
    data.append(["Acme", dt.datetime(2024, 1, 5), 100])
    data.append(["Globex", dt.datetime(2024, 2, 5), 200])
    folder = _company(tmp_path, {}, "currency: USD\n")
    book.save(folder / "transactions.xlsx")
    result = check_company(folder)
    assert result.ok
    assert result.company.transactions["amount"].tolist() == [100.0, 200.0]
    note = _codes(result.problems)["sheet_chosen_by_columns"][0]
    assert note.details == {"sheet": "Orders", "first": "Readme"}
    # no sheet with the columns: the error stays, and the sheets are named
    del book["Orders"]
    book.save(folder / "transactions.xlsx")
    result = check_company(folder)
    assert not result.ok
    assert _codes(result.problems)["no_sheet_has_columns"][0].details["sheets"] == "Readme, Summary"


# ---- 1C sales report: documents under their client in one column -----------------------------------------------

ONE_C_DOCUMENTS = ("Продажи за 2024 г.;;\nПоказатели: Выручка, Количество;;\n;;\nКонтрагент;Выручка;Количество\n"
                   "Документ продажи;;\nООО Ромашка;3 000,00;3\n"
                   "Реализация товаров и услуг 0000-000001 от 05.01.2024 12:00:00;1 000,00;1\n"
                   "Реализация товаров и услуг 0000-000002 от 06.02.2024 12:00:00;2 000,00;2\n"
                   "ИП Петров;{petrov};1\nРеализация (акт, накладная, УПД) 00БП-000003 от 07.03.2024;500,00;1\n"
                   "Итого;3 500,00;4\n")


def test_1c_sales_report_with_documents_under_each_client(tmp_path):
    folder = _company(tmp_path, {}, "language: ru\n")
    (folder / "transactions.csv").write_bytes(ONE_C_DOCUMENTS.format(petrov="500,00").encode("cp1251"))
    result = check_company(folder)
    assert result.ok
    tx = result.company.transactions
    assert tx["client_id"].tolist() == ["ООО Ромашка", "ООО Ромашка", "ИП Петров"]
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-02-06", "2024-03-07"]
    assert tx["amount"].tolist() == [1000.0, 2000.0, 500.0]
    codes = _codes(result.problems)
    assert codes["grand_total_rows"][0].details["rows"] == "11"
    assert "subtotal_mismatch" not in codes and "grand_total_mismatch" not in codes
    (folder / "transactions.csv").write_bytes(ONE_C_DOCUMENTS.format(petrov="600,00").encode("cp1251"))
    wrong = _codes(check_company(folder).problems)["subtotal_mismatch"]
    assert [(p.row, p.details["group"]) for p in wrong] == [(9, "ИП Петров")]


def test_a_column_of_names_with_a_few_document_like_names_is_left_alone(tmp_path):
    tx = "Контрагент;Дата;Сумма\nООО Ромашка;05.01.2024;100\nООО Заказ 12 от 2020;06.01.2024;200\n"
    company = load_company(_company(tmp_path, {"transactions.csv": tx}))
    assert company.transactions["client_id"].tolist() == ["ООО Ромашка", "ООО Заказ 12 от 2020"]


# ---- 1C trial balance of account 62 as the client list --------------------------------------------------------

def test_1c_trial_balance_of_account_62_gives_each_clients_sales(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(['ООО "Торговый дом"'])
    ws.append(["Оборотно-сальдовая ведомость по счету 62 за 2024 г."])
    ws.append([])
    ws.append(["Счет", "Сальдо на начало периода", None, "Обороты за период", None, "Сальдо на конец периода", None])
    ws.append(["Контрагенты", "Дебет", "Кредит", "Дебет", "Кредит", "Дебет", "Кредит"])
    for cells in ("B4:C4", "D4:E4", "F4:G4"):
        ws.merge_cells(cells)
    ws.append(["62", 100000, None, 1500000, 1400000, 200000, None])
    ws.append(["62.01", 100000, None, 1500000, 1400000, 200000, None])
    ws.append(['ООО "Ромашка"', 100000, None, 1000000, 900000, 200000, None])
    ws.append(["ИП Петров", None, None, 500000, 500000, None, None])
    ws.append(["Итого", 100000, None, 1500000, 1400000, 200000, None])
    folder = _company(tmp_path, {}, "language: ru\n")
    book.save(folder / "clients.xlsx")
    result = check_company(folder)
    assert result.ok
    clients = result.company.clients
    assert clients["client_id"].tolist() == ['ООО "Ромашка"', "ИП Петров"]
    assert clients["revenue"].tolist() == [1000000.0, 500000.0]
    codes = _codes(result.problems)
    assert codes["account_rows"][0].details["rows"] == "6, 7"
    assert codes["name_as_client_id"][0].column == "Счет / Контрагенты"


def test_a_client_list_of_names_only_is_identified_by_the_names(tmp_path):
    clients = "Customer Name,Industry,Revenue\nAcme,IT,100\nGlobex,Retail,200\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients}))
    assert result.ok
    assert result.company.clients["client_id"].tolist() == ["Acme", "Globex"]
    assert _codes(result.problems)["name_as_client_id"][0].severity == "info"


def test_names_never_replace_an_id_column_under_another_name(tmp_path):
    for header in ("client_no", "Cust #", "Код контрагента 1С", "Customer Number"):
        clients = f"{header},Customer Name,Revenue\n7,Acme,100\n"
        result = check_company(_company(tmp_path / str(abs(hash(header))), {"clients.csv": clients}))
        ids = result.company.clients["client_id"].tolist() if result.company is not None else []
        assert ids != ["Acme"], header


# ---- a trait cell that is no number is named, never blanked in silence -------------------------------------------

def test_a_number_trait_cell_that_is_no_number_is_named_by_its_row(tmp_path):
    clients = "client_id,name,headcount,revenue\n" + "".join(f"C{i},Client {i},{i * 10},{i * 100}\n"
                                                           for i in range(1, 26))
    clients += "C26,Client 26,about 50,300\n"
    prospects = "prospect_id,name,headcount\nP1,Lead 1,\"1,200\"\nP2,Lead 2,many\n"
    files = {"clients.csv": clients, "prospects.csv": prospects}
    result = check_company(_company(tmp_path / "us", files, "currency: USD\n"))
    assert result.ok
    bad = [(p.file, p.row, p.details["value"]) for p in result.problems if p.code == "not_a_number"]
    assert bad == [("clients.csv", 27, "about 50"), ("prospects.csv", 3, "many")]
    assert result.company.prospects["headcount"].tolist()[0] == 1200.0
    # in roubles "1,200" reads as 1.2: never in silence
    ru = check_company(_company(tmp_path / "ru", files))
    assert ru.company.prospects["headcount"].tolist()[0] == 1.2
    assert [p.file for p in ru.problems if p.code == "ambiguous_numbers"] == ["prospects.csv"]


# ---- the currency sign in the cells decides "1,234" -------------------------------------------------------------

@pytest.mark.parametrize("cells,locale,values", [
    (["$254,908", "$980"], ",", [254908.0, 980.0]),
    (["254,908 USD", "USD 1,020"], ",", [254908.0, 1020.0]),
    (["£1,200", "£15"], ",", [1200.0, 15.0]),
    (["254,908 ₽", "980 ₽"], ".", [254.908, 980.0]),
    (["1,234 руб.", "5 р."], ".", [1.234, 5.0]),
])
def test_a_currency_written_one_way_everywhere_decides_an_ambiguous_column(cells, locale, values):
    reading = read_numbers(pd.Series(cells, dtype="string"), decimal=locale)
    assert reading.values.tolist() == values and not reading.ambiguous


@pytest.mark.parametrize("cells", [["€1,234", "€15"], ["1,234", "15"], ["$1,234", "1,234 ₽"]])
def test_euros_plain_cells_or_mixed_signs_still_follow_the_locale_with_a_warning(cells):
    reading = read_numbers(pd.Series(cells, dtype="string"), decimal=",")
    assert reading.ambiguous and reading.values.tolist()[0] == 1.234


# ---- dollar amounts say which way round the file's ambiguous dates are ------------------------------------------

US_MONTHLY = ("Customer,Invoice Date,Amount\nMaple Dental,01/01/2024,\"$1,500.00\"\nMaple Dental,02/01/2024,"
              "\"$1,500.00\"\nMaple Dental,03/01/2024,\"$1,500.00\"\nOak Legal,04/01/2024,$900.00\n")


def test_dollar_amounts_read_ambiguous_dates_month_first_without_company_yml(tmp_path):
    result = check_company(_company(tmp_path / "us", {"transactions.csv": US_MONTHLY}))
    tx = result.company.transactions
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
    assert tx["amount"].tolist() == [1500.0, 1500.0, 1500.0, 900.0]
    assert _codes(result.problems)["ambiguous_dates"][0].details["order"] == "mdy"  # still named
    # date_order in company.yml always wins
    set_dmy = load_company(_company(tmp_path / "dmy", {"transactions.csv": US_MONTHLY}, "date_order: dmy\n"))
    assert set_dmy.transactions["date"].dt.strftime("%Y-%m-%d").tolist()[1] == "2024-01-02"
    ru = "Клиент;Дата;Сумма\nА;01/02/2024;1 500 ₽\nА;01/03/2024;900 ₽\n"
    ru_company = load_company(_company(tmp_path / "ru", {"transactions.csv": ru}, "currency: USD\n"))
    assert ru_company.transactions["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-01", "2024-03-01"]


def test_date_order_may_be_written_as_a_pattern(tmp_path):
    for written, first in (("DD.MM.YYYY", "2024-01-02"), ("mm/dd/yyyy", "2024-02-01"), ("d/m/y", "2024-01-02")):
        company = load_company(_company(tmp_path / written.replace("/", "-"), {"transactions.csv": US_MONTHLY},
                                        f"date_order: {written}\n"))
        assert company.transactions["date"].dt.strftime("%Y-%m-%d").tolist()[1] == first, written
    assert not check_company(_company(tmp_path / "bad", {"transactions.csv": US_MONTHLY}, "date_order: ddmm\n")).ok


# ---- ids that lost their leading zeros in one file ------------------------------------------------------------

def test_ids_that_differ_only_by_leading_zeros_are_one_client(tmp_path):
    clients = "client_id,name,industry\n123,Acme,IT\n456,Globex,Retail\n0042,Hooli,IT\n42000,Other,IT\n"
    tx = "client_id,date,amount\n00123,2024-01-05,100\n00456,2024-02-05,200\n42,2024-03-05,300\n00123,2024-04-05,1\n"
    placement = "client_id,tier\n000123,A1\n456,B2\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients, "transactions.csv": tx,
                                               "placement.csv": placement}))
    assert result.ok
    company = result.company
    assert company.transactions.groupby("client_id")["amount"].sum().to_dict() == {"123": 101.0, "456": 200.0,
                                                                                 "0042": 300.0}
    assert company.placement["client_id"].tolist() == ["123", "456"]
    assert len(company.clients) == 4  # nobody added
    warnings = _codes(result.problems)["ids_differ_by_zeros"]
    assert [(w.file, w.details["count"]) for w in warnings] == [("placement.csv", 1), ("transactions.csv", 3)]


def test_deal_client_ids_that_lost_their_zeros_still_link(tmp_path):
    clients = "client_id,name\n0012,Acme Inc\n0034,Globex LLC\n"
    deals = "Deal ID,Client ID,Stage\n1,12,Closed Won\n2,34,Closed Lost\n3,99,Closed Won\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients, "deals.csv": deals}))
    assert result.company.deals["client_id"].tolist() == ["0012", "0034", "99"]
    codes = _codes(result.problems)
    assert codes["ids_differ_by_zeros"][0].details["count"] == 2
    assert codes["deals_unknown_client"][0].details["rows"] == "4"


# ---- more headers of accounting, shop and pivot-table exports ------------------------------------------------

@pytest.mark.parametrize("client,date,amount", [
    ("Заказчик", "Дата реализации", "Сумма без НДС"), ("Bill To", "Txn Date", "Invoice Amount"),
    ("Sold To", "Posting Date", "Order Total"), ("Customer full name", "Doc Date", "Net Sales"),
    ("Покупатель", "Дата отгрузки", "Выручка, руб. без НДС"), ("Customer", "Date Created", "Sum of Amount"),
])
def test_more_export_headers_are_recognised(tmp_path, client, date, amount):
    tx = f"{client};{date};{amount}\nООО Ромашка;05.01.2024;1 000,50\nООО Лютик;06.02.2024;200\n"
    result = check_company(_company(tmp_path, {"transactions.csv": tx}))
    assert result.ok
    assert result.company.transactions["amount"].tolist() == [1000.5, 200.0]
    assert result.company.transactions["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-02-06"]


def test_a_shop_export_keeps_the_order_date_not_the_payment_date(tmp_path):
    tx = ("Name,Email,Paid at,Total,Created at\n#1,a@x.com,2024-02-01 10:00:00 -0500,10.00,2024-01-05 10:00:00 -0500\n")
    company = load_company(_company(tmp_path, {"transactions.csv": tx}, "currency: USD\n"))
    assert company.transactions["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05"]


# ---- zone abbreviations and 1C's "г." after a date ---------------------------------------------------------------

def test_zone_abbreviations_after_a_time_and_the_year_word_after_a_date():
    cells = pd.Series(["2024-01-10 23:30:00 EST", "2024-07-10 23:30:00 EDT", "1/10/2024 11:30 PM PST",
                       "2024-07-10 23:30:00 MSK"], dtype="string")
    utc = read_dates(cells, timezone="UTC", order="mdy")
    assert [str(v)[:10] for v in utc.values] == ["2024-01-11", "2024-07-11", "2024-01-11", "2024-07-10"]
    as_written = read_dates(cells, order="mdy")
    assert [str(v)[:10] for v in as_written.values] == ["2024-01-10", "2024-07-10", "2024-01-10", "2024-07-10"]
    assert read_dates(pd.Series(["2024-07-10 23:30:00 XYZT"], dtype="string")).bad.all()  # never guessed
    one_c = read_dates(pd.Series(["10.03.2024г.", "10.03.2024 г.", "11.03.2024 г. 10:00"], dtype="string"))
    assert [str(v)[:10] for v in one_c.values] == ["2024-03-10", "2024-03-10", "2024-03-11"]


# ---- cells merged down over a client's lines -------------------------------------------------------------------

def test_a_client_name_merged_down_over_its_lines_names_each_line_but_a_total_is_paid_once(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Клиент", "Дата", "Сумма", "Итого по заказу"])
    ws.append(["ООО Ромашка", dt.datetime(2024, 1, 5), 100, 600])
    ws.append([None, dt.datetime(2024, 2, 5), 200, None])
    ws.append([None, dt.datetime(2024, 3, 5), 300, None])
    ws.append(["ИП Петров", dt.datetime(2024, 1, 7), 50, 50])
    for cells in ("A2:A4", "D2:D4"):
        ws.merge_cells(cells)
    folder = _company(tmp_path, {})
    book.save(folder / "transactions.xlsx")
    result = check_company(folder)
    assert result.ok
    tx = result.company.transactions
    assert tx["client_id"].tolist() == ["ООО Ромашка"] * 3 + ["ИП Петров"]
    assert "blank_id" not in _codes(result.problems)
    assert _codes(result.problems)["merged_filled_down"][0].details["rows"] == "3, 4"
    from openpyxl import load_workbook

    assert load_workbook(folder / "transactions.xlsx")["Sheet"]["D3"].value is None  # the input is not changed


def test_finance_and_german_million_words():
    reading = read_numbers(pd.Series(["$1.2MM", "1.2 mln", "12,5 Mio. €", "3.4B", "$500K"], dtype="string"),
                           decimal=".")
    assert reading.values.tolist() == [1.2e6, 1.2e6, 12.5e6, 3.4e9, 5e5] and not reading.bad.any()


# ---- monthly exports pasted one under another -------------------------------------------------------------------

def test_rows_repeating_the_header_are_dropped_with_one_note(tmp_path):
    tx = ('Customer,Date,Amount\nAcme,01/15/2024,100.00\nGlobex,01/20/2024,200.00\nCustomer,Date,Amount\n'
          'Acme,02/15/2024,150.00\n\nCUSTOMER,DATE,AMOUNT\nInitech,03/15/2024,"1,000.00"\n'
          'Customer,03/16/2024,5.00\n')
    result = check_company(_company(tmp_path, {"transactions.csv": tx}, "currency: USD\n"))
    assert result.ok
    assert result.company.transactions["amount"].tolist() == [100.0, 200.0, 150.0, 1000.0, 5.0]
    codes = _codes(result.problems)
    assert codes["repeated_header"][0].details["rows"] == "4, 7"  # a client called "Customer" stays
    assert "not_a_date" not in codes and "not_a_number" not in codes


# ---- QuickBooks "Sales by Customer Summary" as the client list --------------------------------------------------

def test_quickbooks_sales_by_customer_summary_gives_each_customers_total(tmp_path):
    summary = ('Sales by Customer Summary\nCraig\'s Design and Landscaping Services\n"January - December 2024"\n\n'
               ',Total\nAlder Goods,600.00\nBirch & Co,"1,450.00"\nCedar Family,"$1,000.00"\nTOTAL,"$3,050.00"\n\n\n'
               '"Accrual Basis Monday, December 2, 2024 10:41 AM GMT-08:00"\n')
    result = check_company(_company(tmp_path, {"clients.csv": summary}, "currency: USD\n"))
    assert result.ok
    clients = result.company.clients
    assert clients["client_id"].tolist() == ["Alder Goods", "Birch & Co", "Cedar Family"]
    assert clients["revenue"].tolist() == [600.0, 1450.0, 1000.0]
    assert next(f for f in result.files if f.kind == "clients").header_row == 5


# ---- an invoice's total repeated on each of its lines (Xero) ---------------------------------------------------

XERO = ("*ContactName,EmailAddress,*InvoiceNumber,*InvoiceDate,*DueDate,Total,TaxTotal,*Description,*Quantity,"
        "*UnitAmount,LineAmount,Currency\n"
        "Acme Ltd,a@acme.com,INV-0001,15/01/2024,14/02/2024,360.00,60.00,Design,2,100.00,200.00,GBP\n"
        "Acme Ltd,a@acme.com,INV-0001,15/01/2024,14/02/2024,360.00,60.00,Support,1,100.00,100.00,GBP\n"
        "Globex plc,g@globex.com,INV-0002,20/01/2024,19/02/2024,120.00,20.00,Design,1,100.00,100.00,GBP\n"
        "Acme Ltd,a@acme.com,INV-0003,15/02/2024,14/03/2024,240.00,40.00,Design,1,100.00,100.00,GBP\n"
        "Acme Ltd,a@acme.com,INV-0003,15/02/2024,14/03/2024,240.00,40.00,Design,1,100.00,100.00,GBP\n")


def test_xero_invoice_total_on_every_line_counts_once(tmp_path):
    result = check_company(_company(tmp_path, {"transactions.csv": XERO}, "currency: GBP\n"))
    assert result.ok
    tx = result.company.transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"Acme Ltd": 600.0, "Globex plc": 120.0}
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-15", "2024-01-20", "2024-02-15"]
    warning = _codes(result.problems)["document_total_repeated"][0]
    assert warning.details["count"] == 2 and warning.details["rows"] == "3, 6"


def test_lines_with_their_own_amounts_are_all_kept(tmp_path):
    lines = ("Customer,Invoice No,Date,Amount\nAcme,1,2024-01-05,100\nAcme,1,2024-01-05,50\nAcme,2,2024-02-05,70\n"
             "Acme,2,2024-02-05,70\nGlobex,3,2024-03-05,10\nGlobex,3,2024-03-05,10\n")
    tx = load_company(_company(tmp_path, {"transactions.csv": lines})).transactions
    assert tx["amount"].sum() == 310.0  # one invoice has lines of different amounts: they are lines


def test_woocommerce_orders_cancelled_failed_or_refunded_are_left_out(tmp_path):
    orders = ("Order Number,Order Status,Order Date,Email (Billing),Order Total Amount\n"
              "101,completed,2024-01-05 10:00,a@x.com,100.00\n102,cancelled,2024-01-06 10:00,a@x.com,50.00\n"
              "103,failed,2024-01-07 10:00,b@x.com,70.00\n104,refunded,2024-01-08 10:00,b@x.com,30.00\n"
              "105,processing,2024-01-09 10:00,b@x.com,20.00\n")
    result = check_company(_company(tmp_path, {"transactions.csv": orders}, "currency: USD\n"))
    assert result.ok
    assert result.company.transactions.groupby("client_id")["amount"].sum().to_dict() == {"a@x.com": 100.0,
                                                                                          "b@x.com": 20.0}
    assert _codes(result.problems)["voided_orders"][0].details["rows"] == "3, 4, 5"


def test_amocrm_deals_name_the_client_as_the_contacts_company(tmp_path):
    deals = ("ID;Название сделки;Бюджет;Этап сделки;Дата создания;Дата закрытия;Полное имя контакта;"
             "Компания контакта;Причина отказа\n"
             "1;Сделка #1;150 000 ₽;Успешно реализовано;05.01.2024 10:00:00;01.02.2024 12:00:00;Иван;ООО Ромашка;\n"
             "2;Сделка #2;80 000 ₽;Закрыто и не реализовано;10.01.2024 10:00:00;10.02.2024 12:00:00;Пётр;ООО Лютик;"
             "Дорого\n3;Сделка #3;20 000 ₽;Переговоры;01.03.2024 10:00:00;не закрыта;;ООО Ромашка;\n")
    result = check_company(_company(tmp_path, {"clients.csv": RU_CLIENTS, "deals.csv": deals}, "language: ru\n"))
    assert result.ok
    deals_read = result.company.deals
    assert deals_read["client_id"].tolist() == ["1", "2", "1"]
    assert deals_read["outcome"].tolist() == ["won", "refused", "open"]
    assert deals_read["amount"].tolist() == [150000.0, 80000.0, 20000.0]


# ---- ids written as ="00123" to keep their zeros in Excel -------------------------------------------------------

def test_cells_written_as_excel_text_formulas_read_as_the_text_shown(tmp_path):
    clients = 'client_id,name,revenue\n="00123",Acme,="1000"\n="00456",Globex,2000\n'
    tx = 'client_id,date,amount\n="00123",2024-01-05,100\n00456,2024-02-05,200\n'
    result = check_company(_company(tmp_path, {"clients.csv": clients, "transactions.csv": tx}))
    assert result.ok
    assert result.company.clients["client_id"].tolist() == ["00123", "00456"]
    assert result.company.clients["revenue"].tolist() == [1000.0, 2000.0]
    assert result.company.transactions["client_id"].tolist() == ["00123", "00456"]
    notes = _codes(result.problems)["formula_text_cells"]
    assert [(n.file, n.details["columns"]) for n in notes] == [("clients.csv", "client_id, revenue"),
                                                               ("transactions.csv", "client_id")]


# ---- payments and quotes beside the sales ---------------------------------------------------------------------

def test_a_list_of_every_document_counts_the_sales_once(tmp_path):
    qb = ('Transaction List by Customer\nJanuary - December 2024\n\n,Date,Transaction Type,Num,Amount\n'
          'Alder Goods,,,,\n,01/05/2024,Invoice,1001,200.00\n,01/20/2024,Payment,,200.00\n'
          ',02/05/2024,Estimate,1002,500.00\n,03/05/2024,Invoice,1003,"1,000.00"\nTotal for Alder Goods,,,,"$1,900.00"\n'
          'Birch & Co,,,,\n,02/13/2024,Sales Receipt,1004,450.00\nTotal for Birch & Co,,,,$450.00\nTOTAL,,,,"$2,350.00"\n')
    result = check_company(_company(tmp_path / "qb", {"transactions.csv": qb}, "currency: USD\n"))
    assert result.ok
    tx = result.company.transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"Alder Goods": 1200.0, "Birch & Co": 450.0}
    codes = _codes(result.problems)
    assert codes["payment_rows"][0].details["rows"] == "7" and codes["not_a_sale_rows"][0].details["rows"] == "8"
    assert "subtotal_mismatch" not in codes  # the report's own sums are checked as it was written
    one_c = ("Контрагент;Дата;Вид документа;Сумма\nООО Ромашка;05.01.2024;Счет на оплату покупателю;1 000,00\n"
             "ООО Ромашка;06.01.2024;Реализация товаров и услуг;1 000,00\n"
             "ООО Ромашка;10.01.2024;Поступление на расчетный счет;1 000,00\n")
    ru = load_company(_company(tmp_path / "1c", {"transactions.csv": one_c})).transactions
    assert ru["amount"].tolist() == [1000.0] and ru["date"].dt.day.tolist() == [6]
    payments = "Клиент;Дата;Вид документа;Сумма\nА;05.01.2024;Оплата;100\nБ;06.01.2024;Оплата;50\n"
    assert load_company(_company(tmp_path / "pay", {"transactions.csv": payments})).transactions["amount"].sum() == 150


def test_data_only_on_a_hidden_sheet_is_named_not_called_empty(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Sheet1"
    hidden = book.create_sheet("Data")
    hidden.append(["client_id", "name", "revenue"])
    hidden.append(["A", "a", 10])
    hidden.sheet_state = "hidden"
    folder = _company(tmp_path, {})
    book.save(folder / "clients.xlsx")
    error = _codes(check_company(folder).problems)["visible_sheets_empty"][0]
    assert error.severity == "error" and "`clients: Data`" in error.fix
    (folder / "company.yml").write_text("load:\n  sheets:\n    clients: Data\n", encoding="utf-8")
    assert check_company(folder).company.clients["client_id"].tolist() == ["A"]


def test_a_large_csv_for_macintosh_passes_the_size_guards(tmp_path):
    lines = "\r".join(f"C{i % 997:04d},{1 + i % 12:02d}/15/2024,\"{i % 5000 + 1:,}.50\"" for i in range(40000))
    folder = _company(tmp_path, {}, "currency: USD\n")
    (folder / "transactions.csv").write_bytes(("client_id,date,amount\r" + lines + "\r").encode("ascii"))
    result = check_company(folder)
    assert result.ok and len(result.company.transactions) == 40000
    assert result.company.transactions["amount"].iloc[1] == 2.5


# ---- a CRM's own organisation ids in the deals --------------------------------------------------------------

def test_pipedrive_organisation_ids_that_are_no_client_ids_fall_back_to_the_name(tmp_path):
    deals = ("Deal - ID,Deal - Title,Deal - Value,Deal - Status,Organization - Name,Organization - ID\n"
             "1,T1,100,won,Acme Inc,55\n2,T2,50,lost,Globex LLC,56\n3,T3,70,open,Hooli,57\n")
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert result.company.deals["client_id"].tolist() == ["101", "102", None]
    codes = _codes(result.problems)
    assert codes["deal_client_ids_unknown"][0].severity == "warning"
    assert codes["deals_unmatched"][0].details["rows"] == "4"
    # one id that is a client's: the ids are the client list's, and the others are reported as unknown
    mixed = deals.replace(",55\n", ",101\n")
    result = check_company(_company(tmp_path / "mixed", {"clients.csv": CLIENTS, "deals.csv": mixed}))
    assert result.company.deals["client_id"].tolist()[0] == "101"
    assert "deal_client_ids_unknown" not in _codes(result.problems)


# ---- a quantity and a unit price but no amount (UCI Online Retail) ---------------------------------------------

def test_online_retail_lines_are_quantity_times_unit_price(tmp_path):
    tx = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
          "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
          "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
          "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom\n"
          "536367,84879,BIRD ORNAMENT,32,12/13/2010 8:34,1.69,13047,United Kingdom\n")
    result = check_company(_company(tmp_path, {"transactions.csv": tx}, "currency: GBP\n"))
    assert result.ok
    t = result.company.transactions
    assert t["amount"].tolist() == [15.3, 15.3, -27.5, 54.08]  # two equal lines of one invoice are two lines
    assert t["date"].dt.strftime("%Y-%m-%d").tolist() == ["2010-12-01"] * 3 + ["2010-12-13"]
    codes = _codes(result.problems)
    assert codes["amount_from_quantity_and_price"][0].details == {"quantity": "Quantity", "price": "UnitPrice"}
    assert "Quantity" not in codes["ignored_columns"][0].details["columns"]


def test_1c_trial_balance_saved_as_csv_keeps_its_two_row_header(tmp_path):
    osv = ("Оборотно-сальдовая ведомость по счету 62 за 2024 г.;;;;;;\n;;;;;;\n"
           "Счет;Сальдо на начало периода;;Обороты за период;;Сальдо на конец периода;\n"
           "Контрагенты;Дебет;Кредит;Дебет;Кредит;Дебет;Кредит\n"
           "62;100 000,00;;1 500 000,00;1 400 000,00;200 000,00;\n62.01;100 000,00;;1 500 000,00;1 400 000,00;200 000,00;\n"
           'ООО "Ромашка";100 000,00;;1 000 000,00;900 000,00;200 000,00;\nИП Петров;;;500 000,00;500 000,00;;\n'
           "Итого;100 000,00;;1 500 000,00;1 400 000,00;200 000,00;\n")
    folder = _company(tmp_path, {}, "language: ru\n")
    (folder / "clients.csv").write_bytes(osv.encode("cp1251"))
    result = check_company(folder)
    assert result.ok
    assert result.company.clients["client_id"].tolist() == ['ООО "Ромашка"', "ИП Петров"]
    assert result.company.clients["revenue"].tolist() == [1000000.0, 500000.0]
    assert "duplicate_header" not in _codes(result.problems)


def test_quickbooks_jobs_are_projects_of_their_customer(tmp_path):
    report = (",Type,Date,Num,Amount\nAcme,,,,\nAcme:Project A,,,,\n,Invoice,01/05/2024,1001,100.00\n"
              ",Invoice,02/05/2024,1002,200.00\nTotal Acme:Project A,,,,300.00\nAcme:Project B,,,,\n"
              ",Invoice,03/05/2024,1003,50.00\nTotal Acme:Project B,,,,50.00\nTotal Acme,,,,{acme}\nBirch,,,,\n"
              ',Invoice,01/13/2024,1004,"1,450.00"\nTotal Birch,,,,"1,450.00"\nTOTAL,,,,"1,800.00"\n')
    result = check_company(_company(tmp_path / "ok", {"transactions.csv": report.format(acme="350.00")},
                                    "currency: USD\n"))
    assert result.company.transactions.groupby("client_id")["amount"].sum().to_dict() == {"Acme": 350.0,
                                                                                          "Birch": 1450.0}
    assert "subtotal_mismatch" not in _codes(result.problems)
    wrong = check_company(_company(tmp_path / "wrong", {"transactions.csv": report.format(acme="400.00")},
                                   "currency: USD\n"))
    assert [(p.row, p.details["group"]) for p in wrong.problems if p.code == "subtotal_mismatch"] == [(10, "Acme")]


def test_flat_customer_job_names_belong_to_the_customer(tmp_path):
    tx = ("Customer,Date,Amount\nAcme:Project A,2024-01-05,100\nAcme:Project B,2024-02-05,50\nAcme,2024-03-05,10\n"
          "Birch:Kitchen,2024-01-06,7\nBirch:Garden,2024-01-07,3\nRe:Store,2024-01-08,5\n"
          "CUST:001,2024-01-09,1\nCUST:002,2024-01-09,2\n")
    result = check_company(_company(tmp_path, {"transactions.csv": tx}))
    assert result.company.transactions.groupby("client_id")["amount"].sum().to_dict() == {
        "Acme": 160.0, "Birch": 10.0, "Re:Store": 5.0, "CUST:001": 1.0, "CUST:002": 2.0}
    assert _codes(result.problems)["jobs_as_customers"][0].details["count"] == 4


def test_ids_excel_wrote_in_scientific_notation_are_named(tmp_path):
    clients = "ИНН;Контрагент;Выручка\n7,70123E+11;ООО Ромашка;100\n7,70123E+11;ООО Лютик;200\n5001234567;ИП Петров;50\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients}))
    warning = _codes(result.problems)["ids_in_scientific_notation"][0]
    assert warning.file == "clients.csv" and warning.details["examples"] == "7,70123E+11"


def test_a_crm_companies_export_as_prospects(tmp_path):
    clients = "client_id,name,industry\nC1,Acme,it\nC2,Globex,retail\n"
    prospects = "Record ID,Company name,industry\n9001,Initech,it\n9002,Hooli,retail\n"
    result = check_company(_company(tmp_path, {"clients.csv": clients, "prospects.csv": prospects}))
    assert result.ok
    assert result.company.prospects["prospect_id"].tolist() == ["9001", "9002"]
    assert result.company.prospects["name"].tolist() == ["Initech", "Hooli"]


def test_a_clients_monthly_fee_under_one_number_is_never_a_repeated_total(tmp_path):
    rows = "".join(f"{c},{c}-1,2024-{m:02d}-01,1000\n" for c in ("A", "B", "C") for m in (1, 2, 3))
    tx = load_company(_company(tmp_path, {"transactions.csv": "client_id,Номер,date,amount\n" + rows})).transactions
    assert tx["amount"].sum() == 9000.0


def test_a_title_with_its_value_above_the_header_is_no_group_row(tmp_path):
    tx = ("Период:;01.01.2024 - 31.12.2024;\nКлиент;Дата;Сумма;Сумма\nА;05.01.2024;100;1\nБ;06.01.2024;200;2\n")
    result = check_company(_company(tmp_path, {"transactions.csv": tx}))
    assert result.company.transactions["amount"].tolist() == [100.0, 200.0]


def test_a_title_merged_across_the_table_right_above_the_header_stays_a_title(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Отчёт о продажах за 2024 год"])
    ws.merge_cells("A1:D1")
    ws.append(["Код", "Контрагент", "Выручка", "Отрасль"])
    ws.append(["001", "ООО Ромашка", 1000, "IT"])
    ws.append(["002", "ООО Лютик", 500, "Retail"])
    folder = _company(tmp_path, {})
    book.save(folder / "clients.xlsx")
    result = check_company(folder)
    assert list(result.company.clients.columns) == ["client_id", "name", "revenue", "Отрасль"]
    assert next(f for f in result.files if f.kind == "clients").header_row == 2


def test_a_file_whose_every_line_is_quoted_whole(tmp_path):
    tx = '"client_id;date;amount"\n"A;05.01.2024;1 000,50"\n"B;05.02.2024;200"\n"Итого;;1 200,50"\n'
    result = check_company(_company(tmp_path, {"transactions.csv": tx}))
    assert result.ok
    assert result.company.transactions["amount"].tolist() == [1000.5, 200.0]
    assert "quoted_lines" in _codes(result.problems)
    one_column = load_company(_company(tmp_path / "one", {"clients.csv": 'client_id\n"Acme, Inc."\nGlobex\n'}))
    assert one_column.clients["client_id"].tolist() == ["Acme, Inc.", "Globex"]  # a quoted field stays one


# ---- a column of "1,200" beside columns that prove the file's way of writing numbers ------------------------

def test_an_ambiguous_column_follows_the_files_other_number_columns(tmp_path):
    us = ('client_id,name,revenue,Employees,industry\nC01,Acme,"1,020,400","1,200",it\n'
          'C02,Globex,"254,908",350,retail\nC03,Initech,980,"2,500",it\n')
    result = check_company(_company(tmp_path / "us", {"clients.csv": us}))  # no company.yml: RUB, decimal comma
    clients = result.company.clients.set_index("client_id")
    assert clients["revenue"].tolist() == [1020400.0, 254908.0, 980.0]
    assert clients["Employees"].tolist() == [1200.0, 350.0, 2500.0]
    warning = _codes(result.problems)["ambiguous_numbers"][0]
    assert warning.column == "Employees" and "other number columns" in warning.message
    ru = "client_id;name;revenue;Сотрудников\nC01;А;1 234,56;1,200\nC02;Б;7,5;5\n"
    ru_result = check_company(_company(tmp_path / "ru", {"clients.csv": ru}, "currency: USD\n"))
    assert ru_result.company.clients["Сотрудников"].tolist() == [1.2, 5.0]  # the file writes decimal commas
    config = check_company(_company(tmp_path / "cfg", {"clients.csv": us}, 'number_format: "1 234,56"\n'))
    assert config.company.clients["Employees"].tolist()[0] == 1.2  # company.yml always wins


def test_a_client_list_with_revenue_before_dates_that_read_both_ways_loads(tmp_path):
    """The currency hint for dates that read both ways looks at money columns still written as text; a
    revenue column typed before the dates (or written plainly) leaves none, and the locale decides."""
    plain = _company(tmp_path / "plain", {
        "clients.csv": "client_id,name,revenue,client_since\nC1,A,100,01/02/2024\nC2,B,200,03/04/2024\n"})
    result = check_company(plain)
    assert result.ok, [str(p) for p in result.problems]
    assert "ambiguous_dates" in {p.code for p in result.problems}
    dollars = _company(tmp_path / "dollars", {
        "clients.csv": 'client_id,name,revenue,client_since\nC1,A,"$1,100.00",01/02/2024\nC2,B,$200.00,03/04/2024\n'})
    result = check_company(dollars)
    assert result.ok
    since = result.company.clients.set_index("client_id")["client_since"]
    assert since["C1"].strftime("%Y-%m-%d") == "2024-01-02"  # dollar amounts: month first
