"""Each KIND of real export in issue 9, in our own variants: numbers and dates written as each system
writes them (property tests), CRM deal exports, grouped accounting reports, Excel quirks, export
headers, and `check` as the run's complete pre-flight."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from folders import write_company as _company
from helpers.step1_list_clients.load import check_company, load_company
from helpers.step1_list_clients.parsing import read_dates, read_numbers

# ---- numbers: one format per column ---------------------------------------------------------------

money = st.decimals(min_value=Decimal("-9999999.99"), max_value=Decimal("9999999.99"), places=2,
                    allow_nan=False, allow_infinity=False)
whole = st.integers(min_value=0, max_value=99_999_999)


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


def _write(value: Decimal, system: str) -> str:
    """One amount as a system writes it."""
    whole_part, cents = f"{abs(value):.2f}".split(".")
    negative = value < 0
    if system == "us":
        text = f"{_group(whole_part, ',')}.{cents}"
        return f"-{text}" if negative else text
    if system == "us_parentheses":  # accounting negatives, currency mark, trailing spaces (QuickBooks)
        text = f"${_group(whole_part, ',')}.{cents}  "
        return f"({text.strip()})  " if negative else text
    if system == "ru":  # 1C: NBSP thousands, decimal comma, rouble sign
        text = f"{_group(whole_part, chr(0xA0))},{cents} ₽"
        return f"-{text}" if negative else text
    if system == "ru_narrow":  # narrow no-break space, negatives as "(1 234,00)"
        text = f"{_group(whole_part, chr(0x202F))},{cents}"
        return f"({text})" if negative else text
    if system == "de":  # 1.234,56 €
        text = f"{_group(whole_part, '.')},{cents} €"
        return f"-{text}" if negative else text
    if system == "ch":  # Swiss apostrophe
        text = f"CHF {_group(whole_part, chr(39))}.{cents}"
        return f"-{text}" if negative else text
    raise ValueError(system)


def _cents(x: float) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal("0.01"))


@settings(max_examples=120, deadline=None)
@given(values=st.lists(money, min_size=1, max_size=25),
       system=st.sampled_from(["us", "us_parentheses", "ru", "ru_narrow", "de", "ch"]),
       locale=st.sampled_from([".", ","]))
def test_money_columns_read_back_whatever_the_locale(values, system, locale):
    """Amounts with cents prove their own decimal mark: the locale never changes the values."""
    reading = read_numbers(pd.Series([_write(v, system) for v in values], dtype="string"), decimal=locale)
    assert not reading.bad.any()
    assert [_cents(x) for x in reading.values] == values
    assert not reading.ambiguous


@settings(max_examples=120, deadline=None)
@given(values=st.lists(whole, min_size=1, max_size=25), locale=st.sampled_from([".", ","]))
def test_us_whole_numbers_with_thousands_commas(values, locale):
    """Excel en-US `#,##0`: "254,908" is thousands when the column proves it ("1,020,400") and a
    warning names the column when nothing does."""
    cells = [_group(str(v), ",") for v in values]
    reading = read_numbers(pd.Series(cells, dtype="string"), decimal=locale)
    proven = any(v >= 1_000_000 for v in values)
    readable_both_ways = any(1000 <= v < 1_000_000 for v in values)
    assert not reading.bad.any()
    assert reading.ambiguous == (readable_both_ways and not proven)
    if proven or locale == "." or not readable_both_ways:
        assert reading.values.tolist() == [float(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(tenths=st.lists(st.integers(min_value=1, max_value=999), min_size=1, max_size=10))
def test_millions_written_as_words(tenths):
    cells = [f"{t // 10},{t % 10} млн" for t in tenths]
    reading = read_numbers(pd.Series(cells, dtype="string"))
    assert reading.values.round(0).tolist() == [t * 100_000.0 for t in tenths]


def test_a_bad_cell_is_quoted_exactly_as_written(tmp_path):
    folder = _company(tmp_path, {"transactions.csv": "client_id,date,amount\nC1,2024-01-05,10\nC1,2024-01-06, 12 Apples \n"})
    bad = [p for p in check_company(folder).problems if p.code == "not_a_number"]
    assert len(bad) == 1 and bad[0].row == 3 and bad[0].column == "amount"
    assert bad[0].details["value"] == " 12 Apples "
    assert "« 12 Apples »" in bad[0].message


def test_number_format_setting_decides_an_ambiguous_column(tmp_path):
    files = {"clients.csv": "client_id,revenue\nA,\"1,250\"\nB,\"3,500\"\nC,980\n"}
    us = load_company(_company(tmp_path / "us", files, "currency: USD\n"))
    assert us.clients["revenue"].tolist() == [1250.0, 3500.0, 980.0]
    ru = load_company(_company(tmp_path / "ru", files, "currency: RUB\n"))
    assert ru.clients["revenue"].tolist() == [1.25, 3.5, 980.0]
    chosen = load_company(_company(tmp_path / "set", files, "currency: RUB\nnumber_format: \"1,234.56\"\n"))
    assert chosen.clients["revenue"].tolist() == [1250.0, 3500.0, 980.0]
    warning = [p for p in check_company(tmp_path / "ru").problems if p.code == "ambiguous_numbers"][0]
    assert warning.column == "revenue" and "1,250" in warning.message and "number_format" in warning.fix


# ---- dates: one order per column, time zones --------------------------------------------------------

moments = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 12, 31))


@settings(max_examples=80, deadline=None)
@given(stamps=st.lists(moments, min_size=1, max_size=20),
       fmt=st.sampled_from(["%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y", "%d/%m/%Y %H:%M",
                            "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.000Z", "%Y/%m/%d",
                            "%m/%d/%y", "%d-%m-%Y %H:%M:%S"]))
def test_dates_read_back_or_the_column_is_called_ambiguous(stamps, fmt):
    if "%y" in fmt:  # a two-digit year means the century from 90 years back to 10 years ahead
        assume(all(dt.date.today().year - 89 <= s.year <= dt.date.today().year + 10 for s in stamps))
    cells = [s.strftime(fmt) for s in stamps]
    right = "mdy" if fmt.startswith("%m") else "dmy"
    reading = read_dates(pd.Series(cells, dtype="string"), order=right)
    assert not reading.bad.any()
    assert [x.date() for x in reading.values] == [s.date() for s in stamps]
    day_month = fmt[:2] in ("%m", "%d") and fmt[2] in "/-"
    proven = any(s.day > 12 and s.day != s.month for s in stamps)
    both_ways = any(s.day != s.month for s in stamps)
    assert reading.ambiguous == (day_month and both_ways and not proven)
    if reading.ambiguous:  # the other order reads it differently: never silently
        wrong = read_dates(pd.Series(cells, dtype="string"), order="dmy" if right == "mdy" else "mdy")
        assert wrong.ambiguous


@settings(max_examples=80, deadline=None)
@given(stamps=st.lists(moments, min_size=1, max_size=20),
       zone=st.sampled_from(["America/New_York", "Europe/Moscow", "Australia/Sydney", "UTC"]),
       style=st.sampled_from(["shopify", "iso", "z"]))
def test_offsets_that_change_with_daylight_saving(stamps, zone, style):
    """Shopify writes the store's local time with that day's offset (-0500 in winter, -0400 in summer)."""
    tz = ZoneInfo(zone)
    local = [s.replace(tzinfo=tz) for s in stamps]
    if style == "shopify":
        cells = [s.strftime("%Y-%m-%d %H:%M:%S %z") for s in local]
    elif style == "iso":
        cells = [s.isoformat() for s in local]
    else:
        cells = [s.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z") for s in local]
    as_written = read_dates(pd.Series(cells, dtype="string"))
    assert not as_written.bad.any() and as_written.values.dt.tz is None
    written_dates = [s.date() if style != "z" else s.astimezone(dt.timezone.utc).date() for s in local]
    assert [x.date() for x in as_written.values] == written_dates
    in_zone = read_dates(pd.Series(cells, dtype="string"), timezone=zone)
    assert [x.date() for x in in_zone.values] == [s.date() for s in local]


@settings(max_examples=60, deadline=None)
@given(days=st.lists(st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2100, 1, 1)), min_size=1,
                     max_size=20), fraction=st.sampled_from(["", ".25", ".5"]))
def test_excel_serials_with_and_without_a_time(days, fraction):
    cells = [f"{(d - dt.date(1899, 12, 30)).days}{fraction}" for d in days]
    reading = read_dates(pd.Series(cells, dtype="string"))
    assert [x.date() for x in reading.values] == days


def test_a_cell_against_the_proven_order_is_bad_not_misread():
    reading = read_dates(pd.Series(["12/13/2010", "12/14/2010", "13/12/2010"], dtype="string"))
    assert reading.order == "mdy" and reading.bad.tolist() == [False, False, True]


def test_timezone_setting_moves_a_late_utc_timestamp_to_the_next_day(tmp_path):
    deals = "deal_id,client_id,stage,created,closed\nD1,A,won,2024-01-08T22:30:00.000Z,2024-01-20\n"
    plain = load_company(_company(tmp_path / "a", {"clients.csv": "client_id\nA\n", "deals.csv": deals}))
    moscow = load_company(_company(tmp_path / "b", {"clients.csv": "client_id\nA\n", "deals.csv": deals},
                                   "timezone: Europe/Moscow\n"))
    assert str(plain.deals.loc[0, "created"].date()) == "2024-01-08"
    assert str(moscow.deals.loc[0, "created"].date()) == "2024-01-09"
    assert plain.deals.loc[0, "cycle_days"] == 12 and moscow.deals.loc[0, "cycle_days"] == 11


def test_unknown_timezone_is_a_config_problem(tmp_path):
    result = check_company(_company(tmp_path, {"clients.csv": "client_id\nA\n"}, "timezone: Mars/Olympus\n"))
    assert not result.ok and result.problems[0].file == "company.yml" and "timezone" in result.problems[0].column


# ---- deal exports as CRMs write them --------------------------------------------------------------

CLIENTS = "client_id,name\n101,ООО «Ромашка»\n102,ООО «Лютик»\n103,Acme Inc\n"


def test_amocrm_export_with_open_deals_and_not_closed(tmp_path):
    deals = ("Название сделки;Бюджет, ₽;Компания;Этап сделки;Дата создания;Дата закрытия;Причина отказа\n"
             "Поставка 1;120 000;ООО «Ромашка»;Успешно реализовано;02.09.2024 10:15;20.09.2024 12:00;\n"
             "Поставка 2;45 500,50;ООО \"Лютик\";Закрыто и не реализовано;03.09.2024 10:15;25.09.2024;Дорого\n"
             "Поставка 3;10 000;ООО «Ромашка»;Переговоры;05.09.2024 10:15;не закрыта;\n"
             "Поставка 4;5 000;ООО «Незнакомец»;Первичный контакт;06.09.2024;не закрыта;\n")
    folder = _company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}, "language: ru\n")
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]
    d = result.company.deals
    assert d["outcome"].tolist() == ["won", "refused", "open", "open"]
    assert d["amount"].tolist() == [120000.0, 45500.5, 10000.0, 5000.0]
    assert d["client_id"].tolist()[:3] == ["101", "102", "101"] and d["client_id"].iloc[3] is None
    assert d["cycle_days"].tolist()[:2] == [18.0, 22.0] and d["cycle_days"].iloc[2:].isna().all()
    unmatched = [p for p in result.problems if p.code == "deals_unmatched"][0]
    assert unmatched.details["count"] == 1 and unmatched.details["rows"] == "5"
    assert "Незнакомец" not in unmatched.message  # a non-client's name never reaches a message


def test_deals_are_never_linked_by_their_own_id(tmp_path):
    # the deal ids 101 and 102 are also client ids: linking must use the organisation, not the deal id
    deals = "ID,Deal Name,Stage,Account Name,Amount\n101,Big deal,Closed Won,Acme Inc,100\n102,Other,Closed Lost,ООО «Ромашка»,50\n"
    company = load_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    assert company.deals["deal_id"].tolist() == ["101", "102"]
    assert company.deals["client_id"].tolist() == ["103", "101"]


def test_deal_stages_setting_and_unknown_stages(tmp_path):
    deals = "client_id,status\n101,Подписан договор\n102,Завис навсегда\n103,Closed Won\n"
    folder = _company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals},
                      'deal_stages:\n  "Подписан договор": won\n  "Завис навсегда": stalled\n')
    assert load_company(folder).deals["outcome"].tolist() == ["won", "stalled", "won"]
    bare = _company(tmp_path / "bare", {"clients.csv": CLIENTS, "deals.csv": deals})
    result = check_company(bare)
    assert result.ok and result.company.deals["outcome"].tolist() == ["open", "open", "won"]
    warning = [p for p in result.problems if p.code == "unknown_stages"][0]
    assert "Подписан договор" in warning.message and "deal_stages" in warning.fix


def test_deals_with_unknown_client_ids_are_counted_with_their_rows(tmp_path):
    deals = "client_id,outcome\n101,won\n999,lost\n998,won\n"
    result = check_company(_company(tmp_path, {"clients.csv": CLIENTS, "deals.csv": deals}))
    warning = [p for p in result.problems if p.code == "deals_unknown_client"][0]
    assert warning.details["count"] == 2 and warning.details["rows"] == "3, 4"


def test_bitrix_html_xls_keeps_decimal_commas(tmp_path):
    html = ("<html><body><table><tr><th>ID</th><th>Стадия сделки</th><th>Сумма</th><th>Компания</th></tr>"
            "<tr><td>1</td><td>Сделка успешна</td><td>5,5</td><td>ООО «Ромашка»</td></tr>"
            "<tr><td>2</td><td>Сделка провалена</td><td>1 200,75</td><td>ООО «Лютик»</td></tr>"
            "<tr><td>3</td><td>C7:PREPARATION</td><td>300</td><td>Acme Inc</td></tr></table></body></html>")
    folder = _company(tmp_path, {"clients.csv": CLIENTS})
    (folder / "deals.xls").write_text(html, encoding="utf-8")
    deals = load_company(folder).deals
    assert deals["amount"].tolist() == [5.5, 1200.75, 300.0]
    assert deals["outcome"].tolist() == ["won", "refused", "open"]
    assert deals["client_id"].tolist() == ["101", "102", "103"]


# ---- grouped accounting reports ---------------------------------------------------------------------

def test_russian_grouped_report_with_a_subtotal_that_does_not_add_up(tmp_path):
    report = ("Отчёт по продажам;;;\n"
              ";Дата;Номенклатура;Сумма\n"
              "ООО «Ромашка»;;;\n"
              ";01.02.2024;Услуга;1 000,00\n"
              ";15.02.2024;Услуга;500,00\n"
              "Итого по ООО «Ромашка»;;;1 500,00\n"
              "ООО «Лютик»;;;\n"
              ";03.03.2024;Товар;200,00\n"
              "Итого по ООО «Лютик»;;;250,00\n"
              "Итого;;;1 750,00\n")
    folder = _company(tmp_path, {"transactions.csv": report}, "language: ru\n")
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]
    tx = result.company.transactions
    assert tx.groupby("client_id")["amount"].sum().to_dict() == {"ООО «Лютик»": 200.0, "ООО «Ромашка»": 1500.0}
    codes = {p.code: p for p in result.problems}
    assert codes["subtotal_rows"].details["rows"] == "6, 9"
    assert codes["grand_total_rows"].details["rows"] == "10"
    assert codes["subtotal_mismatch"].row == 9 and codes["subtotal_mismatch"].details["group"] == "ООО «Лютик»"
    assert codes["grand_total_mismatch"].row == 10
    assert "totals_row" not in codes


def test_1c_group_rows_carrying_their_own_totals(tmp_path):
    report = ("Контрагент;Номенклатура;Количество;Сумма;Дата\n"
              "ООО «Ромашка»;;;1 500,00;\n"
              ";Услуга;1;1 000,00;01.02.2024\n"
              ";Услуга;2;500,00;02.02.2024\n"
              "ИП Петров;;;300,00;\n"
              ";Товар;3;250,00;03.02.2024\n")
    result = check_company(_company(tmp_path, {"transactions.csv": report}, "language: ru\n"))
    assert result.ok, [str(p) for p in result.problems]
    assert result.company.transactions.groupby("client_id")["amount"].sum().to_dict() == {
        "ИП Петров": 250.0, "ООО «Ромашка»": 1500.0}
    mismatch = [p for p in result.problems if p.code == "subtotal_mismatch"]
    assert [(p.row, p.details["group"]) for p in mismatch] == [(5, "ИП Петров")]


def test_a_flat_file_with_a_few_blank_ids_is_not_taken_for_a_grouped_report(tmp_path):
    flat = "client_id,date,amount,doc\nA,2024-01-01,10,x\n,2024-01-02,5,y\nB,2024-01-03,7,z\n"
    result = check_company(_company(tmp_path, {"transactions.csv": flat}))
    assert "grouped_report" not in {p.code for p in result.problems}
    assert any(p.code == "blank_id" and p.row == 3 for p in result.problems)


# ---- Excel quirks -----------------------------------------------------------------------------------

def test_very_hidden_sheet_hand_hidden_rows_and_zero_padded_inn(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    secret = book.active
    secret.title = "Справочник"
    secret.append(["Отрасль"])
    secret.append(["IT"])
    secret.sheet_state = "veryHidden"
    sheet = book.create_sheet("Клиенты")
    sheet.append(["ИНН", "Контрагент", "Выручка"])
    for i, inn in enumerate([123456789, 7701234567, 45678], start=1):
        sheet.append([inn, f"Клиент {i}", 1000 * i])
        sheet.cell(row=i + 1, column=1).number_format = "0000000000"
    sheet.row_dimensions[3].hidden = True
    folder = _company(tmp_path, {})
    book.save(folder / "clients.xlsx")
    result = check_company(folder)
    assert result.ok
    assert result.company.clients["client_id"].tolist() == ["0123456789", "7701234567", "0000045678"]
    codes = {p.code: p for p in result.problems}
    assert "Справочник" in codes["hidden_sheets"].message
    assert codes["hidden_rows_used"].details["rows"] == "3" and "by hand" in codes["hidden_rows_used"].message


# ---- headers ------------------------------------------------------------------------------------------

def test_export_headers_without_spaces_or_with_prefixes(tmp_path):
    tx = "CustomerID,InvoiceDate,Lineitem price\nC1,2024-03-01,10.50\nC2,2024-03-02,4\n"
    deals = ("Deal - ID,Deal - Value,Deal - Organization,Deal - Status\n7,100,Acme Inc,won\n")
    sf = "ACCOUNTID,CLOSEDATE,STAGENAME,AMOUNT\n103,2024-02-02,Closed Won,5\n"
    company = load_company(_company(tmp_path, {"clients.csv": CLIENTS + "C1,One\nC2,Two\n", "transactions.csv": tx,
                                               "deals.csv": deals}))
    assert company.transactions["amount"].tolist() == [10.5, 4.0]
    assert company.deals[["deal_id", "amount", "client_id"]].values.tolist() == [["7", 100.0, "103"]]
    other = load_company(_company(tmp_path / "sf", {"clients.csv": CLIENTS, "deals.csv": sf}))
    assert other.deals["client_id"].tolist() == ["103"] and str(other.deals["closed"][0].date()) == "2024-02-02"


@pytest.mark.parametrize("header", [("Customer Number", "Sale Date", "Total Amount"),
                                    ("Client No", "Purchase Date", "Transaction Amount"),
                                    ("customer_code", "date_of_sale", "grand_total"),
                                    ("Номер клиента", "Дата покупки", "Сумма оплаты")])
def test_more_export_headers_name_the_log_columns(tmp_path, header):
    """Headers of shop, billing and accounting exports beyond the first ones met: each log still loads
    with no mapping written in company.yml."""
    tx = ",".join(header) + "\nC1,2024-03-01,10.50\nC2,2024-03-02,4\n"
    company = load_company(_company(tmp_path, {"clients.csv": CLIENTS + "C1,One\nC2,Two\n", "transactions.csv": tx}))
    assert company.transactions[["client_id", "amount"]].values.tolist() == [["C1", 10.5], ["C2", 4.0]]
    assert company.transactions["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01", "2024-03-02"]


# ---- check is the run's complete pre-flight ----------------------------------------------------------

def test_check_validates_criteria_yml_against_the_loaded_traits(tmp_path):
    files = {"clients.csv": "client_id,headcount,industry\nA,10,it\nB,60,retail\n"}
    for rule, wanted in (("headcont >= 50", "headcont"), ("industry >= 5", "industry")):
        folder = _company(tmp_path / wanted, {**files, "criteria.yml": f"criteria:\n  - id: c1\n    rule: {rule}\n"
                                                                          "    points_to: A\n"})
        result = check_company(folder)
        assert not result.ok
        errors = [p for p in result.problems if p.severity == "error"]
        assert errors[0].file == "criteria.yml" and errors[0].column == "c1" and wanted in errors[0].message


def test_a_required_table_with_no_usable_row_cannot_be_run(tmp_path):
    tx = "client_id,date,amount\nA,someday,10\nB,never,5\n"
    result = check_company(_company(tmp_path, {"transactions.csv": tx}))
    assert not result.ok
    assert any(p.code == "no_usable_rows" and p.file == "transactions.csv" for p in result.problems)


# ---- helpers -------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _english():
    from helpers.core import i18n

    with i18n.language("en"):
        yield
