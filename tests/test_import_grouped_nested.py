"""Grouped accounting reports whose groups nest or carry breakdown rows (issue 9), in our own variants:
a QuickBooks sub-customer under its customer, a QuickBooks Desktop job in the second column, 1C reports
whose first column lists clients with their contracts or items below them."""

from __future__ import annotations

import pytest

from folders import write_company
from helpers.step1_list_clients.load import check_company


def _codes(result) -> dict:
    found: dict = {}
    for p in result.problems:
        found.setdefault(p.code, []).append(p)
    return found


def _revenue(result) -> dict:
    return result.company.transactions.groupby("client_id")["amount"].sum().to_dict()


# QuickBooks Online: a sub-customer indented in the customers' column, with its own "Total for" row, then
# more of the customer's lines, then the customer's total (which includes the sub-customer's)
ONLINE = ("Birch Bakery\nSales by Customer Detail\n\n"
          ",Date,Transaction Type,Num,Amount\n"           # row 4
          "Oak Ltd,,,,\n"                                  # 5
          ",02/01/2024,Invoice,1,300.00\n"                 # 6
          "Total for Oak Ltd,,,,300.00\n"                  # 7
          "Pine Family,,,,\n"                              # 8
          ",03/13/2024,Invoice,2,100.00\n"                 # 9
          "   Garden,,,,\n"                                # 10
          ",03/05/2024,Invoice,3,400.00\n"                 # 11
          ",03/07/2024,Invoice,4,{garden_last}\n"          # 12
          "   Total for Garden,,,,600.00\n"                # 13
          ",03/09/2024,Invoice,5,50.00\n"                  # 14
          "Total for Pine Family,,,,750.00\n"              # 15
          "TOTAL,,,,{grand}\n")                            # 16


def test_a_sub_customer_nested_in_its_customer_gives_its_lines_to_the_customer(tmp_path):
    report = ONLINE.format(garden_last="200.00", grand="1050.00")
    result = check_company(write_company(tmp_path, {"transactions.csv": report}))
    assert result.ok, [str(p) for p in result.problems]
    assert _revenue(result) == {"Oak Ltd": 300.0, "Pine Family": 750.0}
    codes = _codes(result)
    assert "subtotal_mismatch" not in codes and "grand_total_mismatch" not in codes
    assert codes["subtotal_rows"][0].details["rows"] == "7, 13, 15"
    assert codes["grand_total_rows"][0].details["rows"] == "16"
    nested = codes["sub_groups_as_customers"]
    assert len(nested) == 1 and "Garden → Pine Family" in nested[0].message


def test_each_nested_subtotal_is_checked_against_its_own_lines(tmp_path):
    # a Garden line missing from the export: Garden's total and Pine Family's both miss it
    report = ONLINE.format(garden_last="150.00", grand="1050.00")
    result = check_company(write_company(tmp_path, {"transactions.csv": report}))
    mismatch = {p.row: p for p in _codes(result)["subtotal_mismatch"]}
    assert set(mismatch) == {13, 15}
    assert mismatch[13].details["group"] == "Garden" and mismatch[13].details["lines"] == "550.00"
    assert mismatch[15].details["group"] == "Pine Family" and mismatch[15].details["lines"] == "700.00"


# QuickBooks Desktop: outline levels in leading columns, "Total <name>" without "for"
DESKTOP = (",,Type,Date,Num,Name,Amount\n"                        # 1
           "Oak Ltd,,,,,,\n"                                     # 2
           ",,Invoice,01/15/2024,1,Oak Ltd,300.00\n"             # 3
           "Total Oak Ltd,,,,,,300.00\n"                         # 4
           "Pine Family,,,,,,\n"                                 # 5
           ",,Invoice,03/13/2024,2,Pine Family,100.00\n"         # 6
           ",Garden,,,,,\n"                                      # 7
           ",,Invoice,03/15/2024,3,Pine Family:Garden,400.00\n"  # 8
           ",,Invoice,03/17/2024,4,Pine Family:Garden,200.00\n"  # 9
           ",Total Garden,,,,,600.00\n"                          # 10
           "Total Pine Family,,,,,,700.00\n"                     # 11
           "TOTAL,,,,,,1000.00\n")                               # 12


def test_a_desktop_job_total_in_the_second_column_is_the_jobs_subtotal_not_a_grand_total(tmp_path):
    result = check_company(write_company(tmp_path, {"transactions.csv": DESKTOP}))
    assert result.ok, [str(p) for p in result.problems]
    assert _revenue(result) == {"Oak Ltd": 300.0, "Pine Family": 700.0}
    codes = _codes(result)
    assert codes["subtotal_rows"][0].details["rows"] == "4, 10, 11"
    assert codes["grand_total_rows"][0].details["rows"] == "12"
    assert "grand_total_mismatch" not in codes and "subtotal_mismatch" not in codes
    assert not [p for p in result.problems if p.code == "blank_header" and p.column == "column_2"]


def test_a_desktop_job_whose_lines_miss_its_total_is_named(tmp_path):
    report = DESKTOP.replace(",Total Garden,,,,,600.00", ",Total Garden,,,,,650.00")
    mismatch = _codes(check_company(write_company(tmp_path, {"transactions.csv": report})))["subtotal_mismatch"]
    assert [(p.row, p.details["group"]) for p in mismatch] == [(10, "Garden")]


def test_a_grouped_xlsx_with_a_blank_header_over_its_names_needs_no_other_sheet(tmp_path):
    # QuickBooks Online's Excel export: the customers' column has no header until its names are filled down
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Sales by Customer Detail"
    for values in (["Birch Bakery"], [], ["", "Date", "Transaction Type", "Amount"], ["Oak Ltd"],
                   ["", "2024-01-15", "Invoice", 300.5], ["Total for Oak Ltd", "", "", 300.5],
                   ["Pine Family"], ["", "2024-03-13", "Invoice", 100.25], ["Total for Pine Family", "", "", 100.25],
                   ["TOTAL", "", "", 400.75]):
        sheet.append(values)
    folder = tmp_path / "company"
    folder.mkdir()
    book.save(folder / "transactions.xlsx")
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]
    assert _revenue(result) == {"Oak Ltd": 300.5, "Pine Family": 100.25}
    assert "no_sheet_has_columns" not in _codes(result)


# ---- 1C reports: clients with their contracts or items below them, in the same first column ------------

# (name, outline level, turnover) of a 1C «Анализ продаж» by Контрагент and Номенклатура
SALES = [("ООО «Север»", 1, 900), ("Бумага", 2, 600), ("Ручки", 2, 300),
         ("ООО «Юг»", 1, 500), ("Бумага", 2, 500),
         ("ИП Восток", 1, 200), ("Скрепки", 2, 150), ("Ручки", 2, 50)]


def _sales_workbook(path, data=SALES, *, levels=True):
    """The report as 1C saves it: a two-row header, «Контрагент» above «Номенклатура» in the first column,
    the figures' headers merged over both rows; the rows outlined when `levels`."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["A1"] = "Анализ продаж"
    sheet["A3"], sheet["B3"], sheet["C3"] = "Контрагент", "Выручка", "Количество"
    sheet["A4"] = "Номенклатура"
    sheet.merge_cells("B3:B4")
    sheet.merge_cells("C3:C4")
    for row, (name, level, amount) in enumerate(data, 5):
        sheet.cell(row, 1, name)
        sheet.cell(row, 2, amount)
        sheet.cell(row, 3, amount // 50)
        if levels:
            sheet.row_dimensions[row].outlineLevel = level
    sheet.cell(5 + len(data), 1, "Итого")
    sheet.cell(5 + len(data), 2, sum(a for _, level, a in data if level == 1))
    path.mkdir(parents=True, exist_ok=True)
    book.save(path / "clients.xlsx")
    (path / "company.yml").write_text("language: ru\n", encoding="utf-8")
    return path


def test_items_under_clients_in_an_outlined_1c_report_are_no_clients(tmp_path):
    result = check_company(_sales_workbook(tmp_path / "c"))
    assert result.ok, [str(p) for p in result.problems]
    clients = result.company.clients.set_index("client_id")
    assert clients["revenue"].to_dict() == {"ООО «Север»": 900.0, "ООО «Юг»": 500.0, "ИП Восток": 200.0}
    note = _codes(result)["breakdown_rows"]
    assert len(note) == 1 and note[0].details["rows"] == "6, 7, 9, 11, 12" and "«Номенклатура»" in note[0].message
    assert "breakdown_mismatch" not in _codes(result)


def test_items_that_miss_their_clients_figure_are_named(tmp_path):
    data = [row if row[0] != "Скрепки" else ("Скрепки", 2, 100) for row in SALES]
    mismatch = _codes(check_company(_sales_workbook(tmp_path / "c", data)))["breakdown_mismatch"]
    assert {(p.row, p.column, p.details["name"]) for p in mismatch} == {(10, "Выручка", "ИП Восток"),
                                                                        (10, "Количество", "ИП Восток")}


def test_a_trial_balance_by_clients_and_contracts_keeps_the_clients_and_drops_the_account_rows(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["A3"], sheet["B3"] = "Счет", "Обороты за период"
    sheet.merge_cells("B3:C3")
    sheet["A4"], sheet["B4"], sheet["C4"] = "Контрагенты", "Дебет", "Кредит"
    sheet.merge_cells("B4:B5")
    sheet.merge_cells("C4:C5")
    sheet["A5"] = "Договоры"
    data = [("62", 0, 700), ("62.01", 1, 700), ("ООО «Север»", 2, 400), ("Основной договор", 3, 400),
            ("ООО «Юг»", 2, 300), ("Основной договор", 3, 100), ("Договор № 2", 3, 200)]
    for row, (name, level, debit) in enumerate(data, 6):
        sheet.cell(row, 1, name)
        sheet.cell(row, 2, debit)
        sheet.row_dimensions[row].outlineLevel = level
    sheet.cell(13, 1, "Итого")
    sheet.cell(13, 2, 700)
    folder = tmp_path / "c"
    folder.mkdir()
    book.save(folder / "clients.xlsx")
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]  # «Основной договор» twice is no duplicate client
    clients = result.company.clients.set_index("client_id")
    assert clients["revenue"].to_dict() == {"ООО «Север»": 400.0, "ООО «Юг»": 300.0}
    assert _codes(result)["breakdown_rows"][0].details["rows"] == "9, 11, 12"


def test_the_same_report_without_outline_levels_is_refused_not_counted_twice(tmp_path):
    result = check_company(_sales_workbook(tmp_path / "c", levels=False))
    assert not result.ok
    refusal = _codes(result)["breakdown_without_levels"][0]
    assert refusal.file == "clients.xlsx" and refusal.details["rows"] == "6, 7, 9, 11, 12"
    assert "Контрагент" in refusal.fix


def test_the_report_saved_as_csv_is_refused_even_with_its_header_row_read_as_data(tmp_path):
    lines = ["Анализ продаж;;", "Контрагент;Выручка;Количество", "Номенклатура;;"]
    lines += [f"{name};{amount};{amount // 50}" for name, _, amount in SALES] + ["Итого;1600;"]
    result = check_company(write_company(tmp_path, {"clients.csv": "\n".join(lines) + "\n"}, "language: ru\n"))
    refusal = _codes(result)["breakdown_without_levels"][0]
    assert refusal.details["rows"] == "5, 6, 8, 10, 11" and "«Номенклатура»" in refusal.message


def test_breakdowns_found_by_their_sums_alone_are_refused(tmp_path):
    lines = ["client;revenue"] + [f"{name};{amount}" for name, _, amount in SALES]
    refusal = _codes(check_company(write_company(tmp_path, {"clients.csv": "\n".join(lines) + "\n"})))
    assert refusal["breakdown_without_levels"][0].details["rows"] == "3, 4, 6, 8, 9"


def test_a_plain_client_list_with_equal_revenues_is_no_breakdown(tmp_path):
    lines = ["client;revenue", "A;100", "B;100", "C;50", "D;50", "E;70"]
    result = check_company(write_company(tmp_path, {"clients.csv": "\n".join(lines) + "\n"}))
    assert result.ok and len(result.company.clients) == 5


def test_a_client_list_whose_first_client_has_only_a_name_is_no_report_with_breakdowns(tmp_path):
    lines = ["client;revenue;industry", "ООО «Север»;;", "ООО «Юг»;500;retail", "ИП Восток;200;retail"]
    result = check_company(write_company(tmp_path, {"clients.csv": "\n".join(lines) + "\n"}))
    assert "breakdown_without_levels" not in _codes(result) and len(result.company.clients) == 3


# QuickBooks Desktop's CSV: the outline in empty-headed columns, the first of them empty throughout
DESKTOP_LEADING = (",,,Type,Date,Num,Name,Amount,Balance\n"
                   ",Alder Goods,,,,,,,\n"
                   ",,Spring Fair,,,,,,\n"
                   ",,,Invoice,01/14/2021,1041,Alder Goods:Spring Fair,600.00,600.00\n"
                   ",,Total Spring Fair,,,,,600.00,600.00\n"
                   ",,,Invoice,03/02/2021,1055,Alder Goods,250.00,850.00\n"
                   ",Total Alder Goods,,,,,,850.00,850.00\n"
                   ",Birch & Co,,,,,,,\n"
                   ",,,Invoice,02/01/2021,1046,Birch & Co,\"1,200.00\",\"1,200.00\"\n"
                   ",,,Invoice,04/01/2021,1090,Birch & Co,\"1,300.00\",\"2,500.00\"\n"
                   ",Total Birch & Co,,,,,,\"2,500.00\",\"2,500.00\"\n"
                   ",Dune Cafe,,,,,,,\n"
                   ",,,Invoice,05/01/2021,1101,Dune Cafe,45.00,45.00\n"
                   ",Total Dune Cafe,,,,,,45.00,45.00\n"
                   "TOTAL,,,,,,,\"3,395.00\",\"3,395.00\"\n")


def test_quickbooks_desktop_csv_with_an_empty_first_column_is_read_as_its_outline(tmp_path):
    result = check_company(write_company(tmp_path, {"transactions.csv": DESKTOP_LEADING}, "currency: USD\n"))
    assert result.ok
    assert _revenue(result) == {"Alder Goods": 850.0, "Birch & Co": 2500.0, "Dune Cafe": 45.0}
    codes = _codes(result)
    # one note for the subtotals and one for the grand total, no warning per total row or empty column
    assert "totals_row" not in codes and "blank_header" not in codes
    assert "subtotal_mismatch" not in codes and "grand_total_mismatch" not in codes
    assert codes["grand_total_rows"][0].details["rows"] == "15"


# 1C «Анализ продаж» saved as CSV: clients with their items under them, a share column that is no sum,
# and (second shape) the clients' own quantity left blank
SALES_ANALYSIS = ("Анализ продаж;;;;\nКонтрагент;Количество;Выручка;Валовая прибыль;Рентабельность, %\n"
                  "ООО Альфа;{q1};500 000,00;150 000,00;30,00\nКирпич М150;3 000;300 000,00;100 000,00;33,33\n"
                  "Цемент М500;400;200 000,00;50 000,00;25,00\nООО Бета;{qty};120 000,00;20 000,00;16,67\n"
                  "Кирпич М150;1 200;120 000,00;20 000,00;16,67\nИП Петров;{qty};80 000,00;30 000,00;37,50\n"
                  "Цемент М500;100;50 000,00;20 000,00;40,00\nПесок;60;30 000,00;10 000,00;33,33\n"
                  "Итого;;700 000,00;200 000,00;28,57\n")


@pytest.mark.parametrize("quantities", [("3 400", "1 200", "160"), ("", "", "")])
def test_a_1c_sales_analysis_csv_with_items_under_clients_is_refused_not_counted_twice(tmp_path, quantities):
    text = SALES_ANALYSIS
    for n, qty in enumerate(quantities, 1):
        text = text.replace(f"{{q{n}}}", qty)
    result = check_company(write_company(tmp_path, {"clients.csv": text}, "currency: RUB\nlanguage: ru\n"))
    assert not result.ok
    assert [p.code for p in result.problems if p.severity == "error"] == ["breakdown_without_levels"]


def test_a_1c_column_headed_client_over_its_items_names_the_clients():
    from helpers.step1_list_clients.columns import map_columns

    mapping, _ = map_columns(["Контрагент / Номенклатура", "Выручка"], "clients", file="c.xlsx")
    assert mapping == {"Контрагент / Номенклатура": "client_id", "Выручка": "revenue"}


def test_a_trial_balance_of_62_counts_only_the_clients_under_62_01_not_the_advances_under_62_02(tmp_path):
    report = ("Оборотно-сальдовая ведомость по счету 62;;\nСчет / Контрагенты;Обороты за период / Дебет;Обороты за период / Кредит\n"
              "62;2 150 000;1 950 000\n62.01;1 900 000;1 700 000\nООО Альфа;1 200 000;1 000 000\n"
              "ООО Бета;600 000;600 000\nООО Гамма;100 000;100 000\n62.02;250 000;250 000\n"
              "ООО Альфа;200 000;200 000\nООО Бета;50 000;50 000\nИтого;2 150 000;1 950 000\n")
    result = check_company(write_company(tmp_path, {"clients.csv": report}, "currency: RUB\nlanguage: ru\n"))
    assert result.ok
    revenue = result.company.clients.set_index("client_id")["revenue"].to_dict()
    assert revenue == {"ООО Альфа": 1_200_000.0, "ООО Бета": 600_000.0, "ООО Гамма": 100_000.0}
    assert _codes(result)["other_subaccount_rows"][0].details["rows"] == "9, 10"
