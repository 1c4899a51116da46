"""Reading one exported file into text cells: encodings, delimiters, header rows, sheets, HTML, row numbers."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from helpers.step1_list_clients.readers import (ReadError, detect_encoding, find_header_row, read_table, sniff_delimiter)

RUSSIAN = "ID клиента;Контрагент;Сумма\r\n001;ООО «Ромашка»;1 234,50\r\n002;Вектор;99,90\r\n"


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1251", "cp1251"), ("utf-16", "utf-16"),
    ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")])
def test_detect_encoding_of_russian_text(encoding, expected):
    assert detect_encoding(RUSSIAN.encode(encoding)) == expected


def test_western_single_byte_file_is_not_taken_for_cyrillic():
    data = "Account Name;City\r\nCafé Müller;Zürich\r\nCrème Brûlée;Nîmes\r\n".encode("cp1252")
    assert detect_encoding(data) in ("cp1252", "windows-1252", "latin_1", "iso8859_1")
    assert "Café Müller" in data.decode(detect_encoding(data))


@pytest.mark.parametrize("lines, delimiter", [
    (["a;b;c", "1,5;2,5;3", "ООО «Ромашка, Лтд»;2;3"], ";"),  # decimal commas must not win
    (["a,b,c", "1,2,3", "4,5,6"], ","),
    (["a\tb", "1\t2,5", "3\t4"], "\t"),
    (["id|name|note", "1|Alpha, Inc|x;y", "2|Beta|z"], "|"),
    (['id,name', '1,"Ромашка; ООО"', '2,"Вектор; АО"'], ","),  # ';' only inside quotes
])
def test_sniff_delimiter_by_consistent_field_counts(lines, delimiter):
    assert sniff_delimiter(lines) == delimiter


def test_find_header_row_skips_title_rows():
    rows = [["Отчёт по продажам", "", ""], ["Период: 2025", "", ""], ["", "", ""],
            ["Клиент", "Дата", "Сумма"], ["Альфа", "01.01.2025", "100"]]
    assert find_header_row(rows) == 3


def test_csv_row_numbers_are_the_lines_a_person_sees(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text('client_id,name\n1,"two\nlines"\n\n2,Beta\n', encoding="utf-8")
    table = read_table(path)
    assert table.frame["client_id"].tolist() == ["1", "2"]
    assert table.frame["name"].tolist() == ["two\nlines", "Beta"]
    # the quoted cell spans lines 2-3, then a blank line 4: Beta is on line 5
    assert table.rows.tolist() == [3, 5]


def test_cells_stay_text_leading_zeros_and_case_kept(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("ИНН;Название\n0012345678;a\n0015g00000AbCdE;b\n", encoding="utf-8")
    table = read_table(path)
    assert table.frame["ИНН"].tolist() == ["0012345678", "0015g00000AbCdE"]
    assert (table.encoding, table.delimiter, table.header_row) == ("utf-8", ";", 1)


def test_totals_and_footer_rows_are_dropped_and_reported(tmp_path):
    path = tmp_path / "transactions.csv"
    path.write_text("client_id,amount\nC1,5\nC2,7\nИтого,12\nGrand Totals (2 records),\n", encoding="utf-8")
    table = read_table(path)
    assert table.frame["client_id"].tolist() == ["C1", "C2"]
    assert [(p.code, p.row) for p in table.problems] == [("totals_row", 4), ("totals_row", 5)]
    assert table.rows_seen == 4


def test_xlsx_header_below_title_rows_on_the_first_sheet_with_data(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Пусто"
    ws = book.create_sheet("Данные")
    for row in (["Выгрузка из 1С"], [], ["Контрагент", "Сумма"], ["Альфа", 10.5], ["Бета", "1 000,25"]):
        ws.append(row)
    path = tmp_path / "clients.xlsx"
    book.save(path)
    table = read_table(path)
    assert (table.sheet, table.header_row) == ("Данные", 3)
    assert table.frame["Контрагент"].tolist() == ["Альфа", "Бета"]
    # a fraction stored as a number stays a float (it must not vote on how the column's text is written)
    assert table.frame["Сумма"].tolist() == [10.5, "1 000,25"]
    assert table.rows.tolist() == [4, 5]


def test_xlsx_named_sheet_and_missing_sheet(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["summary"])
    data = book.create_sheet("Clients")
    data.append(["client_id"])
    data.append(["X1"])
    path = tmp_path / "clients.xlsx"
    book.save(path)
    assert read_table(path, sheet="Clients").frame["client_id"].tolist() == ["X1"]
    with pytest.raises(ReadError) as caught:
        read_table(path, sheet="Клиенты")
    assert caught.value.problem.code == "missing_sheet" and "Clients" in caught.value.problem.message


def test_html_disguised_as_xls_keeps_decimal_commas_as_text(tmp_path):
    path = tmp_path / "deals.xls"
    path.write_text("<table><tr><th>ID</th><th>Сумма</th></tr><tr><td>1</td><td>5,5</td></tr></table>",
                    encoding="utf-8")
    table = read_table(path)
    assert table.frame["Сумма"].tolist() == ["5,5"]  # not 55
    assert table.encoding == "html"


def test_parquet_keeps_its_types(tmp_path):
    path = tmp_path / "transactions.parquet"
    pd.DataFrame({"client_id": ["01"], "amount": [1.25]}).to_parquet(path)
    table = read_table(path)
    assert table.frame["amount"].dtype == "float64" and table.frame["client_id"].tolist() == ["01"]


def test_empty_and_oversized_files_are_refused(tmp_path):
    empty = tmp_path / "clients.csv"
    empty.write_bytes(b"")
    with pytest.raises(ReadError) as caught:
        read_table(empty)
    assert caught.value.problem.code == "empty_file"
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)
    with pytest.raises(ReadError) as caught:
        read_table(big, max_mb=1)
    assert caught.value.problem.code == "too_large"


def test_pickle_is_never_opened(tmp_path):
    path = tmp_path / "clients.pkl"
    path.write_bytes(b"\x80\x04.")
    with pytest.raises(ReadError) as caught:
        read_table(path)
    assert caught.value.problem.code == "unsafe_format"


def test_mojibake_is_reported(tmp_path):
    garbled = "ООО «Ромашка», ЗАО «Вектор»".encode("utf-8").decode("cp1251")
    path = tmp_path / "clients.csv"
    path.write_text(f"id;name\n1;{garbled}\n", encoding="utf-8")
    assert any(p.code == "mojibake" for p in read_table(path).problems)
    clean = tmp_path / "clean.csv"
    clean.write_text("id;name\n1;ООО «Ромашка», Россия, Сергей\n", encoding="utf-8")
    assert not any(p.code == "mojibake" for p in read_table(clean).problems)


def test_large_file_fast_path_gives_the_same_table_as_the_careful_reader(tmp_path, monkeypatch):
    """Above the size threshold pandas' C parser reads the file; the result must not change."""
    from helpers.step1_list_clients import readers

    text = io.StringIO()
    text.write("client_id;date;amount\r\n")
    for i in range(3000):
        text.write(f"{i:05d};0{1 + i % 9}.01.2025;{i},5{i % 10}\r\n")
    text.write("Итого;;1\r\n")
    path = tmp_path / "transactions.csv"
    path.write_bytes(text.getvalue().encode("cp1251"))
    careful = read_table(path)
    monkeypatch.setattr(readers, "FAST_PATH_BYTES", 1000)
    fast = read_table(path)
    assert careful.frame["client_id"].tolist() == fast.frame["client_id"].astype(str).tolist()
    assert careful.frame["amount"].tolist() == fast.frame["amount"].astype(str).tolist()
    assert careful.rows.tolist() == fast.rows.tolist()
    assert [(p.code, p.row) for p in careful.problems] == [(p.code, p.row) for p in fast.problems]
    assert (careful.encoding, careful.delimiter) == (fast.encoding, fast.delimiter)
