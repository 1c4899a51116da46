"""Recognised headers (issue 9): a German accounting export (DATEV, lexoffice, SAP with a German interface)
maps to the kit's columns like an English or Russian one, with its numbers and dates read as written."""

from __future__ import annotations

from helpers.step1_list_clients.load import check_company
from tests.folders import write_company


def test_a_german_invoice_log_and_client_list_are_read(tmp_path):
    folder = write_company(tmp_path / "gmbh", {
        "transactions.csv": ("Kundennummer;Kunde;Rechnungsdatum;Rechnungsnummer;Betrag\n"
                             "10001;Müller GmbH;31.12.2023;RE-1;1.234,56 €\n10002;Schmidt AG;05.01.2024;RE-2;99,00 €\n"
                             "10001;Müller GmbH;15.02.2024;RE-3;2.000,00 €\n"),
        "clients.csv": "Kundennummer;Firma;Branche;Umsatz\n10001;Müller GmbH;Handel;3.234,56\n10002;Schmidt AG;IT;99,00\n",
    })
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]
    tx = result.company.transactions
    assert tx["amount"].tolist() == [1234.56, 99.0, 2000.0]
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-12-31", "2024-01-05", "2024-02-15"]
    assert tx["document"].tolist() == ["RE-1", "RE-2", "RE-3"]
    clients = result.company.clients.set_index("client_id")
    assert clients.loc["10001", "name"] == "Müller GmbH" and clients.loc["10001", "revenue"] == 3234.56
    assert result.company.trait_kinds == {"Branche": "category"}

