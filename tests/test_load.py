"""Loading a company folder: the contract other steps rely on, and the Russian-export twin of a clean company."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import i18n
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import (check_company, format_check, load_company, normalise_outcome, normalise_tier)
from helpers.paths import SAMPLE_DIR

TRAITS = ["industry", "headcount", "has_call_centre"]
RU_HEADERS = {"client_id": "ID клиента", "name": "Контрагент", "industry": "Отрасль", "headcount": "Численность",
              "has_call_centre": "Свой колл-центр", "revenue": "Выручка, руб.", "date": "Дата", "amount": "Сумма",
              "margin": "Маржа", "tier": "Категория", "outcome": "Этап сделки", "created": "Дата создания",
              "closed": "Дата закрытия"}
OUTCOME_RU = {"won": "Успешно реализовано", "refused": "Закрыто и не реализовано", "stalled": "Зависла",
              "won_fast": "быстро"}


def _clean_company(folder: Path, n: int = 40, seed: int = 7) -> dict[str, pd.DataFrame]:
    """A small clean UTF-8 company, canonical headers; returns the frames written."""
    rng = np.random.default_rng(seed)
    ids = [f"{i:04d}" for i in range(1, n + 1)]  # leading zeros must survive
    clients = pd.DataFrame({
        "client_id": ids, "name": [f"Client {i}" for i in range(n)],
        "industry": rng.choice(["retail", "it", "logistics"], n), "headcount": rng.integers(5, 900, n),
        "has_call_centre": rng.choice(["yes", "no"], n)})
    tx = pd.DataFrame({"client_id": rng.choice(ids, 5 * n),
                       "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, 5 * n), unit="D"),
                       "amount": np.round(rng.uniform(-2_000, 2_500_000, 5 * n), 2),
                       "margin": np.round(rng.uniform(0, 90_000, 5 * n), 2)})
    placement = pd.DataFrame({"client_id": ids, "tier": rng.choice(["A1", "A2", "B1", "B3", "C", "X"], n)})
    created = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 200, 10), unit="D")
    deals = pd.DataFrame({"client_id": ids[:10], "outcome": rng.choice(list(OUTCOME_RU), 10), "created": created,
                          "closed": created + pd.to_timedelta(rng.integers(1, 90, 10), unit="D")})
    folder.mkdir(parents=True, exist_ok=True)
    clients.to_csv(folder / "clients.csv", index=False)
    tx.to_csv(folder / "transactions.csv", index=False, date_format="%Y-%m-%d")
    placement.to_csv(folder / "placement.csv", index=False)
    deals.to_csv(folder / "deals.csv", index=False, date_format="%Y-%m-%d")
    return {"clients": clients, "transactions": tx, "placement": placement, "deals": deals}


def _ru_number(value: float) -> str:
    text = f"{abs(value):,.2f}".replace(",", "\u00a0").replace(".", ",")
    return f"({text})" if value < 0 else f"{text} руб."


def _russian_twin(frames: dict[str, pd.DataFrame], folder: Path) -> Decimal:
    """The same company as a Russian Excel export: cp1251, ';', decimal commas, RU headers, title and totals rows."""
    folder.mkdir(parents=True, exist_ok=True)
    clients = frames["clients"].copy()
    clients["has_call_centre"] = clients["has_call_centre"].map({"yes": "да", "no": "нет"})
    clients.rename(columns=RU_HEADERS).to_csv(folder / "clients.csv", sep=";", index=False, encoding="cp1251")
    tx = frames["transactions"]
    total = sum((Decimal(f"{v:.2f}") for v in tx["amount"]), Decimal(0))
    lines = ["Продажи по клиентам;;;", "Период: 01.01.2025 - 31.12.2025;;;",
             ";".join(RU_HEADERS[c] for c in ("client_id", "date", "amount", "margin"))]
    lines += [f"{r.client_id};{r.date:%d.%m.%Y};{_ru_number(r.amount)};{_ru_number(r.margin)}" for r in tx.itertuples()]
    lines.append(f"Итого;;{_ru_number(float(total))};")
    (folder / "transactions.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    placement = frames["placement"].copy()
    placement["tier"] = placement["tier"].str.replace("A", "А").str.replace("C", "С")  # Cyrillic look-alikes
    placement.rename(columns=RU_HEADERS).to_csv(folder / "placement.csv", sep=";", index=False, encoding="cp1251")
    deals = frames["deals"].copy()
    deals["outcome"] = deals["outcome"].map(OUTCOME_RU)
    deals.rename(columns=RU_HEADERS).to_csv(folder / "deals.csv", sep=";", index=False, encoding="cp1251",
                                            date_format="%d.%m.%Y 10:00")
    return total


def test_clean_company_loads_with_the_contract_types(tmp_path):
    frames = _clean_company(tmp_path / "clean")
    company = load_company(tmp_path / "clean")
    assert company.clients["client_id"].tolist() == frames["clients"]["client_id"].tolist()
    assert company.clients["client_id"].map(type).eq(str).all()
    assert company.trait_kinds == {"industry": "category", "headcount": "number", "has_call_centre": "yesno"}
    assert str(company.clients["has_call_centre"].dtype) == "boolean"
    assert company.clients["headcount"].dtype == "float64"
    tx = company.transactions
    assert pd.api.types.is_datetime64_any_dtype(tx["date"]) and tx["amount"].dtype == "float64"
    assert np.allclose(tx["amount"], frames["transactions"]["amount"])
    assert company.placement["tier"].tolist() == frames["placement"]["tier"].tolist()
    expected_cycle = (frames["deals"]["closed"] - frames["deals"]["created"]).dt.days.astype(float).tolist()
    assert company.deals["cycle_days"].tolist() == expected_cycle
    assert all(f.sha256 and len(f.sha256) == 64 for f in company.files)


def test_russian_export_twin_loads_to_the_same_tables_and_money(tmp_path):
    frames = _clean_company(tmp_path / "clean")
    total = _russian_twin(frames, tmp_path / "ru")
    clean, ru = load_company(tmp_path / "clean"), load_company(tmp_path / "ru")
    report = {f.kind: f for f in ru.files}
    assert (report["clients"].encoding, report["clients"].delimiter) == ("cp1251", ";")
    assert report["transactions"].header_row == 3
    assert any(p.code == "totals_row" for p in ru.problems)
    # same clients, same traits (under their Russian names), same kinds
    pd.testing.assert_frame_equal(clean.clients.drop(columns=TRAITS), ru.clients.drop(columns=[RU_HEADERS[t] for t in TRAITS]))
    for trait in TRAITS:
        assert clean.clients[trait].tolist() == ru.clients[RU_HEADERS[trait]].tolist()
        assert clean.trait_kinds[trait] == ru.trait_kinds[RU_HEADERS[trait]]
    pd.testing.assert_frame_equal(clean.transactions, ru.transactions)
    pd.testing.assert_frame_equal(clean.placement, ru.placement)
    assert clean.deals["outcome"].tolist() == ru.deals["outcome"].tolist()
    assert clean.deals["cycle_days"].tolist() == ru.deals["cycle_days"].tolist()
    cents = Decimal("0.01")
    for company in (clean, ru):
        assert sum((Decimal(repr(float(v))) for v in company.transactions["amount"]), Decimal(0)).quantize(cents) == total


@pytest.mark.skipif(not (SAMPLE_DIR / "ru_crm_export").is_dir(), reason="sample companies not generated")
def test_sample_russian_crm_export_equals_its_clean_twin():
    clean, ru = load_company(SAMPLE_DIR / "b2b_services"), load_company(SAMPLE_DIR / "ru_crm_export")
    assert clean.clients["client_id"].tolist() == ru.clients["client_id"].tolist()
    assert len(clean.trait_kinds) == len(ru.trait_kinds)
    assert list(clean.trait_kinds.values()) == list(ru.trait_kinds.values())
    for en, rus in zip(clean.trait_kinds, ru.trait_kinds):
        a, b = clean.clients[en], ru.clients[rus]
        assert a.isna().tolist() == b.isna().tolist()
        if clean.trait_kinds[en] in ("number", "yesno"):
            assert a.dropna().tolist() == b.dropna().tolist(), (en, rus)
        else:  # category labels are translated: the same clients share a label
            assert (pd.factorize(a)[0] == pd.factorize(b)[0]).all(), (en, rus)
    pd.testing.assert_frame_equal(clean.transactions, ru.transactions)
    pd.testing.assert_frame_equal(clean.placement, ru.placement)
    assert clean.deals["outcome"].tolist() == ru.deals["outcome"].tolist()
    assert np.allclose(clean.deals["amount"], ru.deals["amount"])
    assert round(clean.transactions["amount"].sum(), 2) == round(ru.transactions["amount"].sum(), 2)


def test_load_company_raises_with_every_error(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name\nC1,a\nC1,b\n", encoding="utf-8")
    (folder / "placement.csv").write_text("client_id,tier\nC1,Z9\n", encoding="utf-8")
    with pytest.raises(DataProblem) as caught:
        load_company(folder)
    codes = {p.code for p in caught.value.errors}
    assert codes == {"duplicate_client_id", "unknown_tier"}


def test_check_company_never_raises_and_explains(tmp_path):
    missing = check_company(tmp_path / "nowhere")
    assert not missing.ok and missing.company is None
    assert missing.problems[0].code == "company_dir_missing"
    folder = tmp_path / "bad_yaml"
    folder.mkdir()
    (folder / "company.yml").write_text("abc: [unclosed\n", encoding="utf-8")
    result = check_company(folder)
    assert not result.ok and "company.yml" in format_check(result)
    # a text file that is not a table at all
    other = tmp_path / "binary"
    other.mkdir()
    (other / "clients.csv").write_bytes(bytes(range(256)) * 40)
    assert not check_company(other).ok


def test_format_check_shows_how_each_file_was_read(tmp_path):
    frames = _clean_company(tmp_path / "clean")
    _russian_twin(frames, tmp_path / "ru")
    text = format_check(check_company(tmp_path / "ru"))
    assert "encoding: cp1251" in text and "delimiter: semicolon (;)" in text and "header row: 3" in text
    assert "Выручка" not in text  # no such column in this twin: nothing invented
    assert "Свой колл-центр" in text and "trait (yesno)" in text
    assert "transactions.csv:" in text and "Итого" in text  # the dropped totals row, with its row number


def test_messages_follow_the_language(tmp_path):
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id\nC1\nC1\n", encoding="utf-8")
    with i18n.language("ru"):
        text = format_check(check_company(folder))
    assert "встречается несколько раз" in text and "строки 2, 3" in text


def test_only_transactions_is_a_data_only_audit(tmp_path):
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "transactions.csv").write_text("client_id,date,amount\n001,2025-01-01,5\nab,2025-01-02,7\n001,2025-01-03,1\n",
                                             encoding="utf-8")
    company = load_company(folder)
    assert company.clients["client_id"].tolist() == ["001", "ab"]
    assert company.clients["name"].tolist() == ["001", "ab"]
    assert company.trait_kinds == {}


def test_transactions_client_missing_from_list_is_reported_and_kept(tmp_path):
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name\nC1,Alpha\n", encoding="utf-8")
    (folder / "transactions.csv").write_text("client_id,date,amount\nC1,2025-01-01,5\nC2,2025-01-02,7\n",
                                             encoding="utf-8")
    company = load_company(folder)
    assert company.transactions["amount"].sum() == 12  # no money dropped
    assert "C2" in company.clients["client_id"].tolist()
    assert any(p.code == "transactions_unknown_clients" for p in company.problems)


def test_company_yml_maps_unknown_headers(tmp_path):
    folder = tmp_path / "mapped"
    folder.mkdir()
    (folder / "company.yml").write_text("load:\n  columns:\n    clients:\n      Шифр: client_id\n", encoding="utf-8")
    (folder / "clients.csv").write_text("Шифр,Клиент\nK1,Альфа\n", encoding="utf-8")
    assert load_company(folder).clients["client_id"].tolist() == ["K1"]


@pytest.mark.parametrize("raw, tier", [("а1", "A1"), (" B 3", "B3"), ("с", "C"), ("х", "X"), ("b-2", "B2")])
def test_normalise_tier(raw, tier):
    assert normalise_tier(raw) == tier


@pytest.mark.parametrize("raw, outcome", [
    ("Closed Won", "won"), ("C14:WON", "won"), ("C3:LOSE", "refused"), ("Успешно реализовано", "won"),
    ("выиграна", "won"), ("быстро", "won_fast"), ("won fast", "won_fast"), ("зависла", "stalled"),
    ("отказ", "refused"), ("Closed Lost", "refused"), ("Закрыто и не реализовано", "refused"), ("later", None)])
def test_normalise_outcome(raw, outcome):
    assert normalise_outcome(raw) == outcome


def test_each_file_digest_is_of_the_file_as_read(tmp_path):
    """The hash of a file runs after its rows are read (while they are checked); what run.json records
    is still the SHA-256 of the very bytes in the folder."""
    import hashlib

    _clean_company(tmp_path)
    company = load_company(tmp_path)
    for report in company.files:
        assert report.sha256 == hashlib.sha256(report.path.read_bytes()).hexdigest(), report.kind


def test_a_file_changed_while_it_is_read_is_an_error_not_a_wrong_digest(tmp_path, monkeypatch):
    """An export still being written (or a copy still running) when the kit reads it: the rows read and
    the bytes hashed would differ, so the check says so and the run does not start."""
    from helpers.step1_list_clients import load

    _clean_company(tmp_path)
    original = load.read_table

    def read_then_grow(path, **kwargs):
        raw = original(path, **kwargs)
        if path.name.startswith("transactions"):
            with path.open("a", encoding="utf-8") as fh:  # the export goes on writing after the read
                fh.write("C999,2024-05-01,10.00\n")
        return raw

    monkeypatch.setattr(load, "read_table", read_then_grow)
    result = check_company(tmp_path)
    assert not result.ok
    changed = [p for p in result.problems if p.code == "input_changed"]
    assert [p.file for p in changed] == ["transactions.csv"] and changed[0].severity == "error"
