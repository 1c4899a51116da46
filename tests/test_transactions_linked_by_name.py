"""A transaction log from another system (accounting beside the CRM): its client ids are its own, but it
names the clients. The kit links it to the client list by name, says so, and never guesses otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.step1_list_clients.columns import map_columns
from helpers.step1_list_clients.load import check_company, load_company

CLIENTS = "client_id,name,industry\nC1,ООО «Ромашка»,retail\nC2,Beta Inc,it\nC3,Gamma Co,it\n"


def _folder(tmp_path, log: str, clients: str = CLIENTS):
    folder = tmp_path / "acme"
    folder.mkdir(parents=True)
    (folder / "clients.csv").write_text(clients, encoding="utf-8")
    (folder / "transactions.csv").write_text(log, encoding="utf-8")
    return folder


def _codes(result) -> dict[str, object]:
    return {p.code: p for p in result.problems}


def test_a_log_with_its_own_ids_is_linked_to_the_clients_by_their_names(tmp_path):
    # the accounting system writes the legal form after the name, and its own customer numbers
    folder = _folder(tmp_path, "Customer ID,Customer,Date,Amount\n"
                               "1001,\"Ромашка, ООО\",2024-01-05,100\n1002,Beta Inc.,2024-02-05,200\n"
                               "1003,GAMMA CO,2024-03-05,300\n1001,\"Ромашка, ООО\",2024-04-05,150\n")
    result = check_company(folder)
    company = result.company
    assert result.ok, result.problems
    linked = _codes(result)["transactions_linked_by_name"]
    assert linked.severity == "warning" and "3 of 3" in str(linked)
    assert "transactions_unknown_clients" not in _codes(result), "no client is invented from the log's ids"
    revenue = company.transactions.groupby("client_id")["amount"].sum().to_dict()
    assert revenue == {"C1": 250.0, "C2": 200.0, "C3": 300.0}
    assert sorted(company.clients["client_id"]) == ["C1", "C2", "C3"]
    assert "name" not in company.transactions, "the log's names go no further than the link"


def test_a_log_sharing_some_ids_with_the_list_is_never_relinked_by_name(tmp_path):
    # C2 is a listed id: the log speaks the list's ids, so 1001 is a client missing from the list
    folder = _folder(tmp_path, "Customer ID,Customer,Date,Amount\n"
                               "1001,\"Ромашка, ООО\",2024-01-05,100\nC2,Beta Inc,2024-02-05,200\n")
    result = check_company(folder)
    codes = _codes(result)
    assert "transactions_linked_by_name" not in codes
    assert "1001" in str(codes["transactions_unknown_clients"])


def test_a_name_two_clients_share_or_an_id_naming_two_clients_stays_unlinked(tmp_path):
    clients = CLIENTS + "C4,Beta Inc,retail\n"  # two clients named Beta Inc: a name that singles out neither
    folder = _folder(tmp_path, "Customer ID,Customer,Date,Amount\n"
                               "1001,Ромашка ООО,2024-01-05,100\n1002,Beta Inc,2024-02-05,200\n"
                               "1003,Gamma Co,2024-03-05,300\n1003,Ромашка ООО,2024-04-05,50\n", clients=clients)
    result = check_company(folder)
    codes = _codes(result)
    assert "1 of 3" in str(codes["transactions_linked_by_name"])
    unknown = str(codes["transactions_unknown_clients"])
    assert "1002" in unknown and "1003" in unknown
    revenue = result.company.transactions.groupby("client_id")["amount"].sum().to_dict()
    assert revenue["C1"] == 100.0 and "C2" not in revenue and "C4" not in revenue


@pytest.mark.parametrize("headers, expected", [
    (["Customer ID", "Customer", "Date", "Amount"], {"Customer ID": "client_id", "Customer": "name"}),
    (["Код контрагента", "Контрагент", "Дата", "Сумма"], {"Код контрагента": "client_id", "Контрагент": "name"}),
    # a shop export: no id column; "Name" is the order's number and the e-mail names the buyer
    (["Name", "Email", "Created at", "Total"], {"Email": "client_id"}),
    # a grouped report with the names only: they are the ids, as before
    (["Customer", "Date", "Amount"], {"Customer": "client_id"}),
])
def test_a_client_name_column_beside_the_id_is_kept_as_the_name(headers, expected):
    mapping, _ = map_columns(headers, "transactions", file="transactions.csv")
    assert {h: c for h, c in mapping.items() if c in ("client_id", "name")} == expected


def test_a_log_linked_by_name_runs_to_the_same_figures_as_one_with_the_lists_ids(tmp_path):
    by_id = _folder(tmp_path / "a", "client_id,date,amount\nC1,2024-01-05,100\nC2,2024-02-05,200\n"
                                    "C3,2024-03-05,300\n")
    by_name = _folder(tmp_path / "b", "Customer ID,Customer,Date,Amount\n7,ООО Ромашка,2024-01-05,100\n"
                                      "8,Beta Inc,2024-02-05,200\n9,Gamma Co,2024-03-05,300\n")
    one, other = load_company(by_id), load_company(by_name)
    pd.testing.assert_frame_equal(one.transactions, other.transactions)
