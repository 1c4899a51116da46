"""Anonymised mode: no real client name or id survives; pseudonyms are keyed and stable."""

from __future__ import annotations

import dataclasses

from helpers.step1_list_clients.anonymise import anonymise_company, pseudonym
from helpers.core.errors import problem
from helpers.step1_list_clients.load import load_company
from helpers.paths import SAMPLE_DIR


def test_pseudonyms_are_stable_per_key_and_differ_between_keys():
    assert pseudonym("C001", b"k1") == pseudonym("C001", b"k1")
    assert pseudonym("C001", b"k1") != pseudonym("C001", b"k2")
    assert pseudonym("C001", b"k1") != pseudonym("C002", b"k1")


def test_no_real_name_or_id_survives_and_tables_stay_linked(tmp_path):
    key = tmp_path / "workshop.key"
    key.write_text("a secret kept outside the repository")
    company = load_company(SAMPLE_DIR / "b2b_services")
    anonymous = anonymise_company(company, key_file=key)
    real_ids = set(company.clients["client_id"])
    real_names = set(company.clients["name"])
    assert not real_ids & set(anonymous.clients["client_id"])
    assert not real_names & set(anonymous.clients["name"])
    assert not real_ids & set(anonymous.transactions["client_id"])
    assert set(anonymous.placement["client_id"]) <= set(anonymous.clients["client_id"])
    assert set(anonymous.transactions["client_id"]) <= set(anonymous.clients["client_id"])
    assert not set(company.prospects["name"]) & set(anonymous.prospects["name"])
    assert anonymous.transactions["amount"].sum() == company.transactions["amount"].sum()
    assert company.clients["name"].iloc[0] in real_names, "the input company must not change"
    assert any(p.code == "anonymised" for p in anonymous.problems)


def test_problem_messages_do_not_leak_real_ids_or_names(tmp_path):
    key = tmp_path / "workshop.key"
    key.write_text("another secret, long enough")
    company = load_company(SAMPLE_DIR / "b2b_services")
    first, second = company.clients.iloc[0], company.clients.iloc[1]
    warning = problem("near_duplicate_names", "warning", file="clients.csv",
                      ids=f"{first['client_id']}, {second['client_id']} ({first['name']})")
    company = dataclasses.replace(company, problems=[warning])
    anonymous = anonymise_company(company, key_file=key)
    texts = " ".join(p.message + p.fix for p in anonymous.problems)
    assert first["client_id"] not in texts and second["client_id"] not in texts and first["name"] not in texts
    assert pseudonym(first["client_id"], b"another secret, long enough") in texts
