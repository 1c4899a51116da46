"""Write the corpus of awkward and broken input files used by tests/test_load_corpus.py.

Each case is a small company folder under tests/data/inputs/<case>/ holding the awkward file(s);
tests/data/inputs/expected.yml says what loading it must give: the exact parsed values, or the
problems (code, file, row, column) it must be rejected or warned with. Deterministic: running the
script again writes the same bytes (a test checks it), so the files are never edited by hand.

    .venv/bin/python scripts/make_input_corpus.py [--out tests/data/inputs]
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "data" / "inputs"
NBSP, NNBSP = "\u00a0", "\u202f"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)

CASES: dict[str, dict[str, bytes]] = {}
EXPECTED: dict[str, dict] = {}


def case(name: str, files: dict[str, bytes | str], expected: dict) -> None:
    CASES[name] = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in files.items()}
    EXPECTED[name] = expected


def lines(*rows: str, sep: str = "\r\n") -> str:
    return sep.join(rows) + sep


def money(values) -> str:
    """Exact sum of decimal strings, as the file's own total would show it."""
    return str(sum((Decimal(v) for v in values), Decimal("0")))


def xlsx(sheets: dict[str, list[list]], *, merges: dict[str, list[str]] | None = None,
         formulas: dict[str, dict[str, str]] | None = None, styled_to: int | None = None,
         fake_dimension: str | None = None) -> bytes:
    """An .xlsx with fixed timestamps so the bytes are reproducible."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        for ref in (merges or {}).get(title, []):
            ws.merge_cells(ref)
        for ref, formula in (formulas or {}).get(title, {}).items():
            ws[ref] = formula
        if styled_to:  # formatting down to the last row Excel allows
            ws.cell(row=styled_to, column=1).font = Font(bold=True)
    import datetime as dt

    book.properties.created = book.properties.modified = dt.datetime(2026, 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return _normalise_zip(buffer.getvalue(), fake_dimension)


def _normalise_zip(data: bytes, fake_dimension: str | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", body)
            if fake_dimension and info.filename.startswith("xl/worksheets/sheet"):
                body = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{fake_dimension}"/>'.encode(), body)
            target.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def build() -> None:
    CASES.clear()
    EXPECTED.clear()
    ok_company = lines("client_id,name", "C1,Alpha", "C2,Beta")

    # 1. Russian Excel "CSV (разделители-запятые)": cp1251, ';', decimal commas, Russian headers
    case("cp1251_semicolon_decimal_comma", {"clients.csv": lines(
        "ID клиента;Контрагент;Выручка, руб.;Отрасль;Есть склад",
        "001;ООО «Ромашка»;1 234,50;Розница;да",
        "002;ИП Петров;99,9;Опт;нет",
        "003;АО «Вектор»;0,01;Розница;да").encode("cp1251")},
        {"ok": True, "file": {"clients": {"encoding": "cp1251", "delimiter": ";", "header_row": 1,
                                          "rows_read": 3, "rows_used": 3}},
         "values": {"clients": {"client_id": ["001", "002", "003"], "revenue": [1234.5, 99.9, 0.01],
                                "Есть склад": [True, False, True]}},
         "trait_kinds": {"Отрасль": "category", "Есть склад": "yesno"}})

    # 2. UTF-8 with BOM (HubSpot deals, English headers)
    case("utf8_bom_hubspot", {"clients.csv": ok_company, "deals.csv": "\ufeff" + lines(
        "Record ID,Deal Name,Deal Stage,Close Date,Amount,Pipeline",
        "101,Alpha renewal,closedwon,2025-03-01,1200.00,Sales",
        "102,Beta pilot,closedlost,2025-04-15,300.50,Sales")},
        {"ok": True, "file": {"deals": {"encoding": "utf-8-sig", "rows_used": 2}},
         "values": {"deals": {"outcome": ["won", "refused"], "amount": [1200.0, 300.5]}}})

    # 3. NBSP / narrow NBSP thousands, currency marks, decimal commas
    amounts = ["1234567.89", "-1500.00", "250.50", "1000000.00"]
    case("nbsp_thousands_currency", {"transactions.csv": lines(
        "client_id;date;amount",
        f"C1;2025-01-10;1{NBSP}234{NBSP}567,89 ₽",
        f"C1;2025-02-10;(1{NNBSP}500,00)",
        "C2;2025-02-11;250,50 руб.",
        f"C2;2025-03-01;1{NNBSP}000{NNBSP}000 р.")},
        {"ok": True, "values": {"transactions": {"amount": [1234567.89, -1500.0, 250.5, 1000000.0]}},
         "money": {"transactions": money(amounts)},
         "problems": [{"code": "refunds", "severity": "info"}, {"code": "data_only_audit", "severity": "info"}]})

    # 4. A totals row "Итого" at the bottom, cp1251: dropped, and the rest adds up to it to the cent
    items = ["1500.10", "2400.20", "99.99", "0.01", "12345.67"]
    total = money(items)
    body = [f"К{i};0{i}.03.2025;{v.replace('.', ',')}" for i, v in enumerate(items, start=1)]
    case("totals_row_itogo", {"transactions.csv": lines(
        "Код клиента;Дата;Сумма", *body, f"Итого;;{total.replace('.', ',')}").encode("cp1251")},
        {"ok": True, "money": {"transactions": total}, "file": {"transactions": {"rows_read": 6, "rows_used": 5}},
         "problems": [{"code": "totals_row", "severity": "warning", "file": "transactions.csv", "row": 7}]})

    # 5. Salesforce report: Windows-1252, footer lines, 18-character case-sensitive ids
    case("salesforce_footer_cp1252", {"clients.csv": lines(
        '"Account ID","Account Name","Industry"',
        '"0015g00000AbCdEAAV","Café Müller GmbH","Hospitality"',
        '"0015g00000ABCDEAAV","Crème Brûlée Ltd","Hospitality"',
        '"0015g00000xYz12AAA","Nordic Ski AS","Retail"',
        "", '"Grand Totals (3 records)"', "",
        '"Confidential Information - Do Not Distribute"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."').encode("cp1252")},
        {"ok": True, "file": {"clients": {"encoding": "cp1252", "rows_used": 3}},
         "values": {"clients": {"client_id": ["0015g00000AbCdEAAV", "0015g00000ABCDEAAV", "0015g00000xYz12AAA"],
                                "name": ["Café Müller GmbH", "Crème Brûlée Ltd", "Nordic Ski AS"]}},
         "problems": [{"code": "totals_row", "row": 6}, {"code": "totals_row", "row": 8},
                      {"code": "totals_row", "row": 9}]})

    # 6. 1C report as xlsx: title and period rows above the header, NBSP numbers stored as text,
    #    ИНН with leading zeros, "Итого" at the bottom
    onec = [["Продажи по контрагентам"], ["Период: 01.01.2025 - 31.03.2025"], [],
            ["ИНН", "Контрагент", "Дата документа", "Сумма (с НДС)"],
            ["0012345678", "ООО «Ромашка»", "15.01.2025", f"12{NBSP}500,00"],
            ["0012345678", "ООО «Ромашка»", "20.02.2025", "7 500,50"],
            ["7701234567", "АО «Вектор»", "03.03.2025", 1000.25],
            ["Итого", None, None, f"21{NBSP}000,75"]]
    case("onec_title_rows_xlsx", {"transactions.xlsx": xlsx({"TDSheet": onec})},
         {"ok": True, "file": {"transactions": {"sheet": "TDSheet", "header_row": 4, "rows_used": 3}},
          "values": {"transactions": {"client_id": ["0012345678", "0012345678", "7701234567"],
                                      "date": ["2025-01-15", "2025-02-20", "2025-03-03"],
                                      "amount": [12500.0, 7500.5, 1000.25]},
                     # a data-only audit names its clients as the log does («Контрагент» beside «ИНН»)
                     "clients": {"client_id": ["0012345678", "7701234567"],
                                 "name": ["ООО «Ромашка»", "АО «Вектор»"]}},
          "money": {"transactions": "21000.75"},
          "problems": [{"code": "title_rows", "severity": "info"}, {"code": "totals_row", "row": 8},
                       {"code": "data_only_audit", "severity": "info"}]})

    # 7. Merged two-row header: "Клиент" over ID / Название, "Выручка" over 2024 / 2025
    merged = [["Клиент", None, "Выручка", None, "Отрасль"], ["ID", "Название", "2024", "2025", None],
              ["K-01", "Альфа", 100, 150, "Опт"], ["K-02", "Бета", 80, 60, "Розница"]]
    case("merged_two_row_header_xlsx", {"clients.xlsx": xlsx({"Клиенты": merged},
                                                               merges={"Клиенты": ["A1:B1", "C1:D1", "E1:E2"]})},
         {"ok": True, "file": {"clients": {"header_row": 1, "rows_used": 2}},
          "values": {"clients": {"client_id": ["K-01", "K-02"], "name": ["Альфа", "Бета"],
                                 "Выручка / 2025": [150.0, 60.0], "Отрасль": ["Опт", "Розница"]}}})

    # 8. Data not on the first sheet (the first one is empty)
    case("data_on_second_sheet_xlsx", {"clients.xlsx": xlsx({"Лист1": [], "Клиенты": [
        ["client_id", "name"], ["A-1", "Alpha"], ["A-2", "Beta"]]})},
        {"ok": True, "file": {"clients": {"sheet": "Клиенты", "rows_used": 2}},
         "values": {"clients": {"client_id": ["A-1", "A-2"]}}})

    # 9. The sheet named in company.yml (the first sheet holds a summary)
    case("sheet_named_in_config_xlsx", {
        "company.yml": "load:\n  sheets:\n    clients: Data\n",
        "clients.xlsx": xlsx({"Summary": [["Clients by region"], ["North", 2]],
                              "Data": [["client_id", "name"], ["N1", "North One"], ["N2", "North Two"]]})},
        {"ok": True, "file": {"clients": {"sheet": "Data", "rows_used": 2}},
         "values": {"clients": {"client_id": ["N1", "N2"]}}})

    # 10. A sheet named in company.yml that does not exist
    case("missing_sheet_xlsx", {"company.yml": "load:\n  sheets:\n    clients: Клиенты\n",
                                "clients.xlsx": xlsx({"Sheet1": [["client_id"], ["1"]]})},
         {"ok": False, "problems": [{"code": "missing_sheet", "file": "clients.xlsx", "severity": "error"}]})

    # 11. Bitrix24 "Excel" export that is really HTML, with API codes and decimal commas
    html = ("<html><head><meta charset='utf-8'></head><body><table>"
            "<tr><th>ID</th><th>Название сделки</th><th>STAGE_ID</th><th>OPPORTUNITY</th><th>Компания</th></tr>"
            "<tr><td>7</td><td>Поставка</td><td>C14:WON</td><td>5,5</td><td>ООО Ромашка</td></tr>"
            "<tr><td>8</td><td>Пилот</td><td>C14:LOSE</td><td>1 200,00</td><td>АО Вектор</td></tr>"
            "</table></body></html>")
    case("bitrix_html_as_xls", {"clients.csv": ok_company, "deals.xls": html},
         {"ok": True, "file": {"deals": {"encoding": "html", "rows_used": 2}},
          "values": {"deals": {"outcome": ["won", "refused"], "amount": [5.5, 1200.0], "deal_id": ["7", "8"]}},
          "problems": [{"code": "html_as_xls", "severity": "info"}]})

    # 12. Several currencies in one column: refused unless company.yml picks one
    multi = lines("client_id,date,amount,currency", "C1,2025-01-01,100.00,RUB", "C1,2025-01-02,10.00,USD",
                  "C2,2025-01-03,200.00,RUB")
    case("several_currencies_rejected", {"company.yml": "currency: EUR\n", "clients.csv": ok_company,
                                         "transactions.csv": multi},
         {"ok": False, "problems": [{"code": "mixed_currencies", "file": "transactions.csv", "column": "currency"}]})
    case("several_currencies_one_kept", {"company.yml": "currency: RUB\n", "clients.csv": ok_company,
                                         "transactions.csv": multi},
         {"ok": True, "money": {"transactions": "300.00"}, "file": {"transactions": {"rows_read": 3, "rows_used": 2}},
          "problems": [{"code": "other_currency_rows", "severity": "warning"}]})

    # 13. amoCRM deals (UTF-8 with BOM: "₽" has no cp1251 code): stage names, "не закрыта", date-times
    case("amocrm_deals", {"clients.csv": ok_company, "deals.csv": "\ufeff" + lines(
        "Название сделки;Компания;Этап сделки;Бюджет, ₽;Дата создания;Дата закрытия;Причина отказа",
        "Сделка 1;Альфа;Успешно реализовано;150 000;01.02.2025 10:15:00;11.02.2025 18:00:00;",
        "Сделка 2;Бета;Закрыто и не реализовано;20 000,50;03.02.2025 09:00;13.03.2025 12:00;дорого",
        "Сделка 3;Гамма;Зависла;5 000;10.03.2025 11:00:00;не закрыта;")},
        {"ok": True, "values": {"deals": {"outcome": ["won", "refused", "stalled"], "amount": [150000.0, 20000.5, 5000.0],
                                          "cycle_days": [10.0, 38.0, None], "reason": [None, "дорого", None]}}})

    # 14. Pipedrive deals
    case("pipedrive_deals", {"clients.csv": ok_company, "deals.csv": lines(
        '"Deal - Title","Deal - Value","Deal - Currency of Value","Organization - Name","Deal - Status"',
        '"Website","1,250.00","EUR","Alpha","won"', '"Audit","300","EUR","Beta","lost"')},
        {"ok": True, "values": {"deals": {"outcome": ["won", "refused"], "amount": [1250.0, 300.0],
                                          "name": ["Alpha", "Beta"]}}})

    # 15. Mixed date formats and Excel serial numbers in one column
    case("mixed_dates_and_serials", {"clients.csv": ok_company, "transactions.csv": lines(
        "client_id,date,amount", "C1,2025-01-31,1", "C1,31.01.2025,1", "C2,45688,1", "C2,2025-01-31 17:45:00,1",
        "C2,31.01.2025 17:45,1")},
        {"ok": True, "values": {"transactions": {"date": ["2025-01-31"] * 5}}})  # timestamps: the calendar date

    # 16. MM/DD/YYYY when the column proves it (a second part above 12), DD/MM/YYYY otherwise
    case("us_dates_unambiguous", {"clients.csv": ok_company, "transactions.csv": lines(
        "client_id,date,amount", "C1,02/13/2025,1", "C1,03/01/2025,1", "C2,12/31/2024,1")},
        {"ok": True, "values": {"transactions": {"date": ["2025-02-13", "2025-03-01", "2024-12-31"]}}})
    case("ambiguous_slash_dates_day_first", {"clients.csv": ok_company, "transactions.csv": lines(
        "client_id,date,amount", "C1,01/02/2025,1", "C1,03/04/2025,1")},
        {"ok": True, "values": {"transactions": {"date": ["2025-02-01", "2025-04-03"]}}})

    # 17. ИНН / ids with leading zeros, and case-sensitive ids that differ only in case
    case("leading_zero_and_case_ids", {"clients.csv": lines(
        "ИНН,Наименование", "0012345678,Ромашка", "007,Бонд", "abc,lower", "ABC,upper")},
        {"ok": True, "values": {"clients": {"client_id": ["0012345678", "007", "abc", "ABC"]}}})

    # 18. One client under several spellings: a warning, never merged
    case("near_duplicate_names", {"clients.csv": lines(
        "client_id,name", '1,ООО «Ромашка»', '2,"ООО ""Ромашка"""', "3,Ромашка ООО", "4,Вектор")},
        {"ok": True, "values": {"clients": {"client_id": ["1", "2", "3", "4"]}},
         "problems": [{"code": "near_duplicate_names", "severity": "warning"}]})

    # 19. Duplicate client ids: an error naming both rows
    case("duplicate_client_ids", {"clients.csv": lines("client_id,name", "C1,Alpha", "C2,Beta", "C1,Alpha again")},
         {"ok": False, "problems": [{"code": "duplicate_client_id", "row": 2, "column": "client_id",
                                     "message_contains": "2, 4"}]})

    # 20. A ';' file whose text cells hold commas (csv.Sniffer alone may pick ',')
    case("semicolon_with_commas_in_text", {"clients.csv": lines(
        "client_id;name;note", "1;Ромашка, ООО;опт, розница, сайт", "2;Вектор, АО;сайт, звонок",
        "3;Гамма;нет")},
        {"ok": True, "file": {"clients": {"delimiter": ";"}},
         "values": {"clients": {"name": ["Ромашка, ООО", "Вектор, АО", "Гамма"]}}})

    # 21. Blank names (the id stands in) and blank amounts (the row is reported and left out)
    case("blank_names_and_amounts", {"clients.csv": lines("client_id,name", "C1,", "C2,Beta"),
                                     "transactions.csv": lines("client_id,date,amount", "C1,2025-01-01,10.00",
                                                               "C2,2025-01-02,", "C2,2025-01-03,5.25")},
         {"ok": True, "values": {"clients": {"name": ["C1", "Beta"]}},
          "money": {"transactions": "15.25"}, "file": {"transactions": {"rows_read": 3, "rows_used": 2}},
          "problems": [{"code": "blank_amount", "row": 3, "column": "amount"}]})

    # 22. Refunds and a zero amount: kept and reported
    case("refunds_and_zero", {"clients.csv": ok_company, "transactions.csv": lines(
        "client_id,date,amount", "C1,2025-01-01,100.00", "C1,2025-01-05,-40.00", "C2,2025-01-06,0")},
        {"ok": True, "money": {"transactions": "60.00"},
         "problems": [{"code": "refunds", "severity": "info"}, {"code": "zero_amounts", "severity": "info"}]})

    # 23. An Excel lock file next to the real list is ignored
    case("excel_lock_file_ignored", {"clients.csv": ok_company, "~$clients.xlsx": b"\x00lock\x00"},
         {"ok": True, "values": {"clients": {"client_id": ["C1", "C2"]}}})

    # 24. Empty, header-only and totals-only files: never an empty success
    case("empty_file", {"clients.csv": b""}, {"ok": False, "problems": [{"code": "empty_file", "file": "clients.csv"}]})
    case("header_only", {"clients.csv": lines("client_id,name")},
         {"ok": False, "problems": [{"code": "empty_file", "file": "clients.csv"}]})
    case("totals_only", {"transactions.csv": lines("client_id;date;amount", "Итого;;0")},
         {"ok": False, "problems": [{"code": "empty_file", "file": "transactions.csv"}]})

    # 25. CRM stage labels: known ones normalised, a default pipeline's open stage counted as open, a stage
    # no pipeline knows counted as open too and named in a warning (deal_stages maps it)
    case("unknown_deal_stage", {"clients.csv": ok_company, "deals.csv": lines(
        "client_id,stage", "C1,Closed Won", "C2,Negotiation/Review", "C2,Waiting for the moon")},
        {"ok": True, "values": {"deals": {"outcome": ["won", "open", "open"]}},
         "problems": [{"code": "open_deals", "column": "stage", "message_contains": "Negotiation/Review"},
                      {"code": "unknown_stages", "column": "stage", "message_contains": "Waiting for the moon"}]})

    # 26. Duplicate and blank headers
    case("duplicate_and_blank_headers", {"clients.csv": lines(
        "client_id,name,region,region,", "C1,Alpha,North,Nord,x", "C2,Beta,South,Süd,y")},
        {"ok": True, "values": {"clients": {"region": ["North", "South"], "region_2": ["Nord", "Süd"],
                                            "column_5": ["x", "y"]}},
         "problems": [{"code": "duplicate_header", "column": "region"}, {"code": "blank_header", "column": "column_5"}]})

    # 27. Formatting down to row 1,048,576 and a wrong stored sheet size
    case("styled_to_last_row_xlsx", {"clients.xlsx": xlsx({"Sheet1": [["client_id", "name"], ["S1", "One"],
                                                                       ["S2", "Two"]]}, styled_to=1_048_576)},
         {"ok": True, "file": {"clients": {"rows_used": 2}}})
    case("wrong_stored_size_xlsx", {"clients.xlsx": xlsx({"Sheet1": [["client_id", "name"], ["W1", "One"],
                                                                      ["W2", "Two"], ["W3", "Three"]]},
                                                          fake_dimension="A1:A1")},
         {"ok": True, "values": {"clients": {"client_id": ["W1", "W2", "W3"], "name": ["One", "Two", "Three"]}}})

    # 28. Mojibake: UTF-8 text once decoded as cp1251 and saved again
    garbled = "ООО «Ромашка»".encode("utf-8").decode("cp1251")
    case("mojibake", {"clients.csv": lines("client_id,name", f"1,{garbled}", "2,Beta")},
         {"ok": True, "problems": [{"code": "mojibake", "severity": "warning"}]})

    # 29. Hostile and odd names: formula starts, markup, quotes, a line break inside a quoted cell, emoji
    case("hostile_names", {"clients.csv": lines(
        "client_id,name", '1,=cmd|\' /C calc\'!A0', "2,+7 (495) 000-00-00", "3,@SUM(A1)", '4,"<script>alert(1)</script>"',
        '5,"Say ""hi"",\nnew line"', "6,🚀 Rocket", "7,-minus")},
        {"ok": True, "values": {"clients": {"name": ["=cmd|' /C calc'!A0", "+7 (495) 000-00-00", "@SUM(A1)",
                                                     "<script>alert(1)</script>", 'Say "hi",\nnew line', "🚀 Rocket",
                                                     "-minus"]}}})

    # 30. Rows with the wrong number of fields (the row number counts the line break inside a cell)
    case("wrong_field_count", {"clients.csv": lines("client_id,name,region", '1,"two\nlines",North', "2,Beta,South,extra",
                                                    "3,Gamma")},
         {"ok": False, "problems": [{"code": "wrong_field_count", "row": 4, "severity": "error"},
                                    {"code": "short_row", "row": 5, "severity": "warning"}]})

    # 31. Excel "Unicode text": UTF-16 LE with BOM, tab-separated
    case("utf16le_tab", {"clients.txt": lines("client_id\tname\tвыручка", "1\tАльфа\t10,5", "2\tБета\t20").encode("utf-16")},
         {"ok": True, "file": {"clients": {"encoding": "utf-16", "delimiter": "\t"}},
          "values": {"clients": {"name": ["Альфа", "Бета"], "revenue": [10.5, 20.0]}}})
    case("utf16be_no_bom_pipe", {"clients.csv": lines("client_id|name", "1|Альфа", "2|Бета").encode("utf-16-be")},
         {"ok": True, "file": {"clients": {"encoding": "utf-16-be", "delimiter": "|"}},
          "values": {"clients": {"name": ["Альфа", "Бета"]}}})

    # 32. Corrupt, password-protected and zip-bomb workbooks
    case("corrupt_xlsx", {"clients.xlsx": b"PK\x03\x04 this is not really a zip"},
         {"ok": False, "problems": [{"code": "unreadable", "file": "clients.xlsx"}]})
    case("password_protected_xlsx", {"clients.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504},
         {"ok": False, "problems": [{"code": "unreadable", "file": "clients.xlsx", "message_contains": "password"}]})
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("xl/worksheets/sheet1.xml", FIXED_TIME), b"\x00" * 30_000_000,
                         zipfile.ZIP_DEFLATED)
    case("zip_bomb_xlsx", {"company.yml": "load:\n  max_file_mb: 5\n", "clients.xlsx": bomb.getvalue()},
         {"ok": False, "problems": [{"code": "too_large", "file": "clients.xlsx"}]})

    # 33. Formulas without cached values (written by a script, never opened in Excel)
    case("formulas_without_values_xlsx", {"clients.xlsx": xlsx(
        {"Sheet1": [["client_id", "name", "revenue"], ["F1", "One", 10], ["F2", "Two", None]]},
        formulas={"Sheet1": {"C3": "=C2*2"}})},
        {"ok": True, "values": {"clients": {"revenue": [10.0, None]}},
         "problems": [{"code": "formula_without_value", "severity": "warning", "message_contains": "C3"}]})

    # 34. Pickle input: never opened
    case("pickle_refused", {"clients.pkl": b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00."},
         {"ok": False, "problems": [{"code": "unsafe_format", "file": "clients.pkl"}]})

    # 35. YAML with a Python tag in company.yml
    case("yaml_with_tags", {"company.yml": "name: !!python/object/apply:os.system ['echo pwned']\n",
                            "clients.csv": ok_company},
         {"ok": False, "problems": [{"code": "bad_config", "file": "company.yml"}]})

    # 36. File size cap
    case("file_over_size_cap", {"company.yml": "load:\n  max_file_mb: 1\n",
                                "clients.csv": "client_id,name\r\n" + "".join(f"C{i:06d},N\r\n" for i in range(92_000))},
         {"ok": False, "problems": [{"code": "too_large", "file": "clients.csv"}]})

    # 37. Team placement: Cyrillic letters, spaces, plain A/B, an unknown label, a client not in the list
    case("placement_labels", {"clients.csv": lines("client_id,name", *[f"C{i},N{i}" for i in range(1, 6)]),
                              "placement.csv": lines("client_id;категория", "C1;А1", "C2; в 2", "C3;с", "C4;A",
                                                     "C9;B1")},
         {"ok": True, "values": {"placement": {"client_id": ["C1", "C2", "C3", "C4"], "tier": ["A1", "B2", "C", "A"]}},
          "problems": [{"code": "tier_not_split", "severity": "warning"},
                       {"code": "unknown_client", "severity": "warning", "file": "placement.csv"}]})
    case("placement_unknown_tier", {"clients.csv": ok_company, "placement.csv": lines("client_id,tier", "C1,A4", "C2,B1")},
         {"ok": False, "problems": [{"code": "unknown_tier", "row": 2, "column": "tier",
                                     "fix_contains": "A1 A2 A3 B1 B2 B3 C A B D X"}]})

    # 38. A missing required column names the columns present and the closest match
    case("missing_required_column", {"clients.csv": ok_company, "transactions.csv": lines(
        "client_id,date,amout", "C1,2025-01-01,5")},
        {"ok": False, "problems": [{"code": "missing_column", "file": "transactions.csv",
                                    "message_contains": "client_id, date, amout", "fix_contains": "amout"}]})

    # 39. Only transactions, in Parquet: a data-only audit
    import pandas as pd

    frame = pd.DataFrame({"client_id": ["007", "007", "B"], "date": pd.to_datetime(["2025-01-01", "2025-02-01",
                                                                                    "2025-02-03"]),
                          "amount": [10.5, 20.25, 3.0]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression=None)
    case("parquet_transactions_only", {"transactions.parquet": buffer.getvalue()},
         {"ok": True, "values": {"clients": {"client_id": ["007", "B"], "name": ["007", "B"]}},
          "money": {"transactions": "33.75"}, "problems": [{"code": "data_only_audit"}]})


def write(out: Path) -> list[Path]:
    build()
    if out.exists():
        shutil.rmtree(out)
    written = []
    for name, files in CASES.items():
        folder = out / name
        folder.mkdir(parents=True)
        for filename, data in files.items():
            (folder / filename).write_bytes(data)
            written.append(folder / filename)
    header = "# Generated by scripts/make_input_corpus.py: do not edit by hand.\n"
    (out / "expected.yml").write_text(header + yaml.safe_dump(EXPECTED, allow_unicode=True, sort_keys=False),
                                      encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    written = write(args.out)
    print(f"{len(CASES)} cases, {len(written)} files in {args.out}")


if __name__ == "__main__":
    main()
