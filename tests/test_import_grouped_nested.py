"""Grouped accounting reports whose groups nest or carry breakdown rows (issue 9), in our own variants:
a QuickBooks sub-customer under its customer, a QuickBooks Desktop job in the second column, 1C reports
whose first column lists clients with their contracts or items below them."""

from __future__ import annotations

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
