"""Reading one exported file, beyond tests/test_readers.py: the same cells from every encoding, row numbers
around title, blank, multi-line and totals rows, bad rows and headers, empty files."""

from __future__ import annotations

import pytest

from helpers.step1_list_clients.readers import ReadError, read_table, read_text_table

RUSSIAN = "ID клиента;Контрагент;Выручка\n001;ООО «Ромашка»;1 234,50\n002;ИП Ёлкин;99,90\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1251"])
def test_every_encoding_reads_to_the_same_cells(tmp_path, encoding):
    path = tmp_path / "clients.csv"
    path.write_bytes(RUSSIAN.encode(encoding))
    raw = read_table(path)
    assert list(raw.frame.columns) == ["ID клиента", "Контрагент", "Выручка"]
    assert raw.frame.values.tolist() == [["001", "ООО «Ромашка»", "1 234,50"], ["002", "ИП Ёлкин", "99,90"]]
    assert raw.delimiter == ";"
    assert raw.rows.tolist() == [2, 3]


def test_row_numbers_are_the_ones_a_person_sees(tmp_path):
    text = "Выгрузка из 1С;;\nКод;Контрагент;Сумма\n1;А;10\n\n2;\"Б\nс переносом\";20\n3;В;30\nИтого;;60\n"
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    raw = read_text_table(path)
    assert raw.header_row == 2
    assert raw.rows.tolist() == [3, 6, 7]  # a blank line skipped, a quoted line break counted
    assert raw.frame["Контрагент"].tolist() == ["А", "Б\nс переносом", "В"]
    totals = [p for p in raw.problems if p.code == "totals_row"]
    assert [p.row for p in totals] == [8]
    assert raw.rows_seen == 4  # three rows used + the totals row, reported


def test_a_row_with_extra_fields_is_reported_not_silently_used(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,name,sum\n1,A,10\n2,B,1,5\n3,C,30\n", encoding="utf-8")
    raw = read_text_table(path)
    assert raw.frame["id"].tolist() == ["1", "3"]
    bad = [p for p in raw.problems if p.code == "wrong_field_count"]
    assert bad and bad[0].row == 3 and bad[0].severity == "error"


def test_duplicate_and_blank_headers_are_renamed_and_reported(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,name,,name\n1,A,x,B\n", encoding="utf-8")
    raw = read_text_table(path)
    assert list(raw.frame.columns) == ["id", "name", "column_3", "name_2"]
    assert {p.code for p in raw.problems} >= {"blank_header", "duplicate_header"}


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"id,name\n"])
def test_empty_and_header_only_files_are_never_an_empty_success(tmp_path, content):
    path = tmp_path / "clients.csv"
    path.write_bytes(content)
    try:
        raw = read_table(path)
    except ReadError as exc:
        assert exc.problem.code == "empty_file"
    else:
        assert raw.frame.empty  # header only: the loader turns this into an empty_file error

