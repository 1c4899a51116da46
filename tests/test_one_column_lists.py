"""A client list of one column (names only, as a person pastes it from a document): a comma inside a name
is part of the name, never a delimiter, and the names link the log as they do in any other list."""

from __future__ import annotations

import pytest

from helpers.step1_list_clients.load import check_company


@pytest.mark.parametrize("names", [
    ["Alpha, Inc", "Beta LLC", "Gamma, Ltd.", "Delta Co"],
    ["ООО «Ромашка», филиал", "АО «Вектор»", "ИП Иванов, И. И."],
    ["Alpha, Inc", "Beta, LLC", "Gamma, Ltd."],  # every name has a comma: still one column
])
def test_a_comma_inside_a_name_of_a_one_column_list_stays_in_the_name(tmp_path, names):
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "clients.csv").write_text("Client\n" + "\n".join(names) + "\n", encoding="utf-8")
    (folder / "transactions.csv").write_text(
        "Client,Date,Amount\n" + "".join(f'"{n}",2024-0{i + 1}-05,{100 * (i + 1)}\n' for i, n in enumerate(names)),
        encoding="utf-8")
    result = check_company(folder)
    assert result.ok, result.problems
    assert sorted(result.company.clients["name"]) == sorted(names)
    assert not [p for p in result.problems if p.code in ("short_row", "wrong_field_count", "transactions_unknown_clients")]
    revenue = result.company.transactions.groupby("client_id")["amount"].sum()
    assert revenue[names[0]] == 100.0
    report = next(f for f in result.files if f.kind == "clients")
    assert report.delimiter is None, "a one-column file shows no delimiter in `tierbook check`"


def test_a_list_with_a_real_delimiter_is_still_split(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name\nC1,\"Alpha, Inc\"\nC2,Beta LLC\nC3,Gamma\n", encoding="utf-8")
    result = check_company(folder)
    assert result.ok and sorted(result.company.clients["client_id"]) == ["C1", "C2", "C3"]
    assert sorted(result.company.clients["name"]) == ["Alpha, Inc", "Beta LLC", "Gamma"]


def test_a_title_that_is_a_column_name_above_a_real_table_stays_a_title(tmp_path):
    """1C heads a list with its name («Контрагенты», also a column name) above the real header."""
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "clients.csv").write_text("Контрагенты\nКод;Наименование;Отрасль\nK1;Альфа, ООО;опт\n"
                                        "K2;Бета;розница\nK3;Гамма;опт\n", encoding="utf-8")
    result = check_company(folder)
    assert result.ok, result.problems
    assert sorted(result.company.clients["client_id"]) == ["K1", "K2", "K3"]
    assert "Альфа, ООО" in set(result.company.clients["name"])
