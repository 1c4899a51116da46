"""Anonymised mode hides every identifier: attack cases anon-*, worksheet-ignores-anonymise.

Each test builds a small company, anonymises it in-process and looks for real names and ids in
every table and every problem text (what the report and the notebooks print).
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from helpers.step1_list_clients import anonymise
from helpers.step1_list_clients.anonymise import anonymise_company, pseudonym, pseudonym_map
from helpers.run.cli import main
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import check_company, load_company
from helpers.paths import SAMPLE_DIR

KEY = "anon-key-for-tests-0123456789abcdef"


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "workshop.key"
    path.write_text(KEY + "\n")
    return path


@pytest.fixture
def company_dir(tmp_path):
    folder = tmp_path / "acme"
    shutil.copytree(SAMPLE_DIR / "b2b_services", folder)
    return folder


def _everything(company) -> str:
    """All text an output could show: every cell of every table, every problem."""
    parts = []
    for table in (company.clients, company.placement, company.transactions, company.deals, company.prospects):
        if table is not None:
            parts.append(table.to_csv())
    parts.extend(f"{p.message} {p.fix} {p.column}" for p in company.problems)
    return "\n".join(parts)


@pytest.mark.parametrize("content", ["", "\n", "   \n\t", "short-key"])
def test_an_empty_whitespace_or_short_key_file_is_refused_with_how_to_make_one(tmp_path, company_dir, content):
    bad = tmp_path / "bad.key"
    bad.write_text(content)
    with pytest.raises(DataProblem) as refused:
        anonymise_company(load_company(company_dir), key_file=bad)
    assert refused.value.problems[0].code == "anon_key_weak"
    assert "secrets.token_hex" in refused.value.problems[0].fix


def test_a_short_environment_key_and_a_missing_key_file_are_refused(monkeypatch, tmp_path):
    monkeypatch.delenv(anonymise.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(anonymise.KEY_ENV, "abc")
    with pytest.raises(DataProblem):
        anonymise.load_key()
    with pytest.raises(DataProblem) as missing:
        anonymise.load_key(tmp_path / "no-such.key")
    assert missing.value.problems[0].code == "anon_key_unreadable"


def test_the_same_key_gives_the_same_long_pseudonyms():
    assert pseudonym("C001", KEY.encode()) == pseudonym("C001", KEY.encode())
    assert len(pseudonym("C001", KEY.encode()).split("-", 1)[1]) * 5 >= 80, "80 bits: no collision at 10M clients"


def test_a_pseudonym_collision_is_refused_not_merged():
    ids = [f"C{i:04d}" for i in range(200)]
    with pytest.raises(DataProblem) as collision:
        pseudonym_map(ids, KEY.encode(), length=1)  # 32 possible pseudonyms for 200 ids
    assert collision.value.problems[0].code == "pseudonym_collision"
    assert len(set(pseudonym_map(ids, KEY.encode()).values())) == 200


def test_a_client_named_in_a_deal_reason_is_scrubbed(company_dir, key):
    deals = pd.read_csv(company_dir / "deals.csv", dtype=str, keep_default_na=False)
    row = deals.index[deals["name"] == "Sable Logistics Inc"][0]
    deals.loc[row, ["outcome", "reason"]] = ["stalled", "Sable Logistics Inc asked us (re C002) to call back, "
                                             "ivan@sable.example or +1 (555) 010-2233"]
    deals.to_csv(company_dir / "deals.csv", index=False)
    anonymous = anonymise_company(load_company(company_dir), key_file=key)
    text = _everything(anonymous)
    assert "Sable Logistics" not in text and "C002" not in text
    assert "ivan@sable" not in text and "010-2233" not in text
    assert "asked us" in " ".join(anonymous.deals["reason"].dropna()), "the rest of the reason is kept"


def test_a_russian_client_named_inflected_or_without_its_legal_form_is_scrubbed(company_dir, key):
    """A note says «договорились с Ромашкой» about the client «ООО «Ромашка»»: Russian declines the name,
    and people drop the legal form. Neither may leak from an anonymised run."""
    clients = pd.read_csv(company_dir / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[0, "name"] = "ООО «Ромашка»"
    clients.loc[1, "name"] = "АО «Стройинвест Урал»"
    clients.to_csv(company_dir / "clients.csv", index=False)
    deals = pd.read_csv(company_dir / "deals.csv", dtype=str, keep_default_na=False)
    deals.loc[0, "reason"] = ("Договорились с Ромашкой о скидке; у Стройинвеста Урала бюджет ушёл Ромашке, "
                                "мир не рухнул")
    deals.to_csv(company_dir / "deals.csv", index=False)
    anonymous = anonymise_company(load_company(company_dir), key_file=key)
    text = _everything(anonymous)
    assert "омашк" not in text and "Стройинвест" not in text
    reason = " ".join(anonymous.deals["reason"].dropna())
    assert "Договорились с" in reason and "мир не рухнул" in reason, "the rest of the reason is kept"


def test_a_client_whose_name_starts_with_a_totals_word_is_kept_and_never_quoted(company_dir, key):
    clients = (company_dir / "clients.csv").read_text(encoding="utf-8")
    (company_dir / "clients.csv").write_text(clients.replace("C001,Sable Logistics Inc,", "C001,Total Freight Ltd,")
                                             .replace("C002,Tundra Partners LLC,", "C002,Итого-Сервис,"),
                                             encoding="utf-8")
    result = check_company(company_dir)
    assert not [p for p in result.problems if p.code == "totals_row"]
    assert {"Total Freight Ltd", "Итого-Сервис"} <= set(result.company.clients["name"])
    text = _everything(anonymise_company(result.company, key_file=key))
    assert "Total Freight" not in text and "Итого-Сервис" not in text


def test_a_real_totals_row_is_dropped_but_its_text_is_not_quoted_when_anonymised(company_dir, key):
    with open(company_dir / "clients.csv", "a", encoding="utf-8") as fh:
        fh.write("Итого: Secret Holding,,,,,,,,,,,,,,,,\n")
    company = load_company(company_dir)
    assert any(p.code == "totals_row" for p in company.problems)
    assert "Secret Holding" not in _everything(anonymise_company(company, key_file=key))


def test_an_unknown_placement_id_is_shown_as_a_pseudonym(company_dir, key):
    with open(company_dir / "placement.csv", "a", encoding="utf-8") as fh:
        fh.write("ZZ-SECRET-4711,A1\n")
    anonymous = anonymise_company(load_company(company_dir), key_file=key)
    text = _everything(anonymous)
    assert "ZZ-SECRET-4711" not in text
    assert pseudonym("ZZ-SECRET-4711", KEY.encode()) in text


def test_columns_that_identify_a_client_or_person_are_dropped_by_header_and_by_content(company_dir, key):
    clients = pd.read_csv(company_dir / "clients.csv", dtype=str, keep_default_na=False)
    n = len(clients)
    clients["ИНН"] = [f"77{i:08d}" for i in range(n)]
    clients["reach"] = [f"buyer{i}@client{i}.ru" for i in range(n)]
    clients["hotline"] = [f"+7 (495) 123-{i:02d}-{i % 90 + 10:02d}" for i in range(n)]
    clients["Контактное лицо"] = [f"Иван Петров {i}" for i in range(n)]
    clients["where"] = [f"г. Москва, ул. Ленина, д. {i}" for i in range(n)]
    clients["tax_no"] = [str(7_700_000_000 + i * 7919) for i in range(n)]  # digits only: read as a number
    clients.to_csv(company_dir / "clients.csv", index=False)
    company = load_company(company_dir)
    anonymous = anonymise_company(company, key_file=key)
    dropped = {"ИНН", "reach", "hotline", "Контактное лицо", "where", "tax_no"}
    assert not dropped & set(anonymous.clients.columns)
    assert not dropped & set(anonymous.trait_kinds)
    assert {"industry", "headcount", "region"} <= set(anonymous.clients.columns), "real traits are kept"
    text = _everything(anonymous)
    assert "@client3.ru" not in text and "Петров" not in text and "Ленина" not in text
    assert any(p.code == "identifying_columns_dropped" for p in anonymous.problems)


def test_worksheet_honours_anonymise_from_company_yml_and_the_option(company_dir, key, tmp_path):
    with open(company_dir / "company.yml", "a", encoding="utf-8") as fh:
        fh.write("\nanonymise: true\n")
    runner = CliRunner()
    result = runner.invoke(main, ["worksheet", str(company_dir), "--out", str(tmp_path / "ws"),
                                  "--key-file", str(key)])
    assert result.exit_code == 0, result.output
    written = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in (tmp_path / "ws").glob("*.*")
                      if p.suffix in (".csv", ".html"))
    assert "Sable Logistics Inc" not in written and pseudonym("C001", KEY.encode()) in written
    plain = company_dir.parent / "plain"
    shutil.copytree(SAMPLE_DIR / "b2b_services", plain)
    result = runner.invoke(main, ["worksheet", str(plain), "--out", str(tmp_path / "ws2"), "--anonymise",
                                  "--key-file", str(key)])
    assert result.exit_code == 0, result.output
    assert "Sable Logistics Inc" not in (tmp_path / "ws2" / "placement_worksheet.csv").read_text(encoding="utf-8-sig")


def test_pseudonyms_share_no_prefix_with_the_old_30_bit_scheme():
    import base64
    import hashlib
    import hmac

    key = b"anon-key-for-repro-0123456789abcdef"
    for cid in ("C0004617", "C0062071"):  # these two collided under the old 6-character scheme
        old = base64.b32encode(hmac.new(key, cid.encode(), hashlib.sha256).digest()).decode()[:6]
        assert f"Client-{old}" not in pseudonym(cid, key)
    assert pseudonym("C0004617", key) != pseudonym("C0062071", key)
