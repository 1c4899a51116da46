"""Step 1 loading, beyond tests/test_load.py: the sample's own Russian-export twin, tier and outcome rules,
currencies, garbage input, and the large-file fast path against the careful reader."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from helpers.step1_list_clients import readers
from helpers.step1_list_clients.company import ALL_TIER_LABELS, DEAL_OUTCOMES
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import check_company, format_check, load_company

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "b2b_services"

# canonical header -> how a Russian CRM / 1C export names it
RU_HEADERS = {
    "clients": {"client_id": "ID клиента", "name": "Контрагент"},
    "placement": {"client_id": "ID клиента", "tier": "Уровень"},
    "transactions": {"client_id": "Код контрагента", "date": "Дата документа", "amount": "Сумма, руб.",
                     "margin": "Маржа"},
    "deals": {"deal_id": "ID сделки", "client_id": "ID клиента", "name": "Контрагент", "outcome": "Этап сделки",
              "reason": "Причина отказа", "created": "Дата создания", "closed": "Дата закрытия",
              "amount": "Бюджет"},
}
RU_OUTCOMES = {"won": "Успешно реализовано", "won_fast": "Быстро", "stalled": "Зависла", "refused": "Отказ"}
RU_YESNO = {"yes": "да", "no": "нет"}


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _ru_number(text: str) -> str:
    """'1234567.5' -> '1 234 567,50' with a no-break space, as 1C writes money."""
    if not text:
        return text
    value = Decimal(text)
    whole, cents = f"{abs(value):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", "\u00a0")
    return ("-" if value < 0 else "") + f"{grouped},{cents}"


def _ru_date(text: str) -> str:
    return f"{text[8:10]}.{text[5:7]}.{text[0:4]}" if len(text) == 10 and text[4] == "-" else text


def _make_russian_twin(source: Path, target: Path) -> None:
    """The same company as a Russian export: cp1251, ';', decimal commas, Russian headers and words,
    a title row above the header and an "Итого" row below the data."""
    target.mkdir(parents=True)
    shutil.copy(source / "company.yml", target / "company.yml")
    for kind in ("clients", "placement", "transactions", "deals"):
        with (source / f"{kind}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([f"Выгрузка: {kind}", "", ""])  # a title row, as 1C reports start
        writer.writerow([RU_HEADERS[kind].get(h, h) for h in header])
        for row in body:
            cells = []
            for h, v in zip(header, row):
                if h in ("amount", "margin") or (kind == "clients" and _is_number(v) and h != "client_id"):
                    v = _ru_number(v) if "." in v or h in ("amount", "margin") else v
                elif h in ("date", "created", "closed", "client_since"):
                    v = _ru_date(v)
                elif h == "outcome":
                    v = RU_OUTCOMES[v]
                elif v in RU_YESNO:
                    v = RU_YESNO[v]
                cells.append(v)
            writer.writerow(cells)
        if kind == "transactions":
            total = sum(Decimal(r[header.index("amount")]) for r in body)
            writer.writerow(["Итого"] + [""] * (len(header) - 2) + [_ru_number(str(total))])
        _write(target / f"{kind}.csv", out.getvalue(), "cp1251")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_russian_export_twin_of_the_sample_loads_to_the_same_tables_and_money(tmp_path):
    twin = tmp_path / "twin"
    _make_russian_twin(SAMPLE, twin)
    clean, russian = load_company(SAMPLE), load_company(twin)
    pd.testing.assert_frame_equal(clean.clients, russian.clients, check_dtype=False)
    assert clean.trait_kinds == russian.trait_kinds
    for kind in ("placement", "transactions", "deals"):
        pd.testing.assert_frame_equal(getattr(clean, kind), getattr(russian, kind), check_dtype=False)
    for kind in ("transactions", "deals"):
        a, b = getattr(clean, kind)["amount"], getattr(russian, kind)["amount"]
        assert round(Decimal(repr(float(a.sum()))), 2) == round(Decimal(repr(float(b.sum()))), 2)
    reports = {f.kind: f for f in russian.files}
    assert reports["transactions"].encoding == "cp1251"
    assert reports["transactions"].delimiter == ";"
    assert reports["transactions"].header_row == 2
    assert any(p.code == "totals_row" and p.file == "transactions.csv" for p in russian.problems)
    assert reports["transactions"].rows_read == reports["transactions"].rows_used + 1  # the Итого row


def test_sample_company_meets_the_contract():
    company = load_company(SAMPLE)
    clients = company.clients
    assert clients["client_id"].map(type).eq(str).all()
    assert clients["client_id"].is_unique
    kinds = company.trait_kinds
    assert kinds["has_call_centre"] == "yesno" and str(clients["has_call_centre"].dtype) == "boolean"
    assert kinds["headcount"] == "number" and clients["headcount"].dtype == "float64"
    assert kinds["industry"] == "category"
    assert set(company.placement["tier"]) <= set(ALL_TIER_LABELS)
    assert set(company.deals["outcome"]) <= set(DEAL_OUTCOMES)
    tx = company.transactions
    assert pd.api.types.is_datetime64_any_dtype(tx["date"]) and tx["amount"].dtype == "float64"
    for report in company.files:
        assert len(report.sha256) == 64
        assert report.rows_used <= report.rows_read
        assert report.columns
    assert not [p for p in company.problems if p.severity == "error"]


def _company(tmp_path: Path, files: dict[str, str], config: str = "name: T\n") -> Path:
    folder = tmp_path / "co"
    _write(folder / "company.yml", config)
    for name, text in files.items():
        _write(folder / name, text)
    return folder


def test_placement_plain_a_warns_and_unknown_label_lists_the_allowed(tmp_path):
    folder = _company(tmp_path, {"clients.csv": "client_id,name\n1,A\n2,B\n3,C\n",
                                 "placement.csv": "client_id,tier\n1,A\n2,Z9\n3,в3\n"})
    result = check_company(folder)
    assert not result.ok
    unknown = [p for p in result.problems if p.code == "unknown_tier"]
    assert unknown and unknown[0].row == 3 and "Z9" in unknown[0].message
    assert "A1 A2 A3 B1 B2 B3 C" in unknown[0].fix and "X" in unknown[0].fix
    assert any(p.code == "tier_not_split" and p.severity == "warning" for p in result.problems)


def test_cycle_days_are_computed_when_absent(tmp_path):
    folder = _company(tmp_path, {
        "clients.csv": "client_id,name\n1,A\n",
        "deals.csv": "client_id,outcome,created,closed\n1,won,01.02.2025,11.02.2025\n1,зависла,2025-03-01,не закрыта\n"})
    deals = load_company(folder).deals
    assert deals["cycle_days"].iloc[0] == 10
    assert pd.isna(deals["cycle_days"].iloc[1])
    assert deals["outcome"].tolist() == ["won", "stalled"]


def test_client_ids_keep_leading_zeros_and_case(tmp_path):
    folder = _company(tmp_path, {"clients.csv": "client_id,name\n007,A\nab-1,B\nAB-1,C\n",
                                 "transactions.csv": "client_id,date,amount\n007,2025-01-01,10\nab-1,2025-01-02,5\n"})
    company = load_company(folder)
    assert company.clients["client_id"].tolist() == ["007", "ab-1", "AB-1"]
    assert company.transactions["client_id"].tolist() == ["007", "ab-1"]


def test_several_currencies_are_never_summed(tmp_path):
    files = {"transactions.csv": "client_id,date,amount,currency\n1,2025-01-01,10,RUB\n1,2025-01-02,5,USD\n"}
    rejected = check_company(_company(tmp_path, files))
    assert not rejected.ok and any(p.code == "mixed_currencies" for p in rejected.problems)
    kept = load_company(_company(tmp_path / "kept", files, "name: T\ncurrency: RUB\n"))
    assert kept.transactions["amount"].tolist() == [10.0]
    assert any(p.code == "other_currency_rows" for p in kept.problems)


@pytest.mark.parametrize("content", [
    b"\x00\x01\x02\xff\xfe garbage \x00" * 50,
    b"client_id,name\n",
    "Итого;;\n".encode("cp1251"),
    b"PK\x03\x04 not really a zip",
])
def test_check_never_raises_on_garbage(tmp_path, content):
    folder = tmp_path / "co"
    folder.mkdir()
    (folder / "clients.csv").write_bytes(content)
    (folder / "placement.xlsx").write_bytes(content)
    result = check_company(folder)
    assert not result.ok
    assert format_check(result)
    assert all(p.file for p in result.problems if p.severity == "error")


def test_missing_folder_is_a_problem_not_a_traceback(tmp_path):
    result = check_company(tmp_path / "nowhere")
    assert not result.ok and result.company is None
    assert "nowhere" in format_check(result)


def test_missing_required_column_lists_present_and_closest(tmp_path):
    folder = _company(tmp_path / "ref", {"clients.csv": "client_ref,Название\n1,A\n"})
    result = check_company(folder)
    missing = [p for p in result.problems if p.code == "missing_column"]
    assert missing and "client_ref" in missing[0].message
    # "client_no" (a client number) is one of the spellings the kit knows
    known = check_company(_company(tmp_path / "no", {"clients.csv": "client_no,Название\n1,A\n"}))
    assert known.ok and known.company.clients["client_id"].tolist() == ["1"]


# ---- the fast path for large files gives what the careful reader gives -----------------------------

FAST_CASES = {
    "clean": "client_id,date,amount,document\n007,2025-01-01,10.5,A-1\nab,2025-01-02,-3,\n",
    "totals": "client_id,date,amount\n1,2025-01-01,10.5\n2,2025-01-02,4\nИтого,,14.5\n",
    "blank_line": "client_id,date,amount\n1,2025-01-01,10.5\n\n2,2025-01-02,4\n",
    "quoted_newline": 'client_id,date,amount,note\n1,2025-01-01,10.5,"two\nlines"\n2,2025-01-02,4,x\n',
    "bad_amount": "client_id,date,amount\n1,2025-01-01,10.5\n2,2025-01-02,n/a?\n3,2025-01-03,1\n",
    "bad_date": "client_id,date,amount\n1,2025-01-01,10.5\n2,31.01.2025,4\n3,someday,1\n",
    "short_row": "client_id,date,amount\n1,2025-01-01,10.5\n2,2025-01-02\n3,2025-01-03,1,9\n",
    "blank_amount": "client_id,date,amount\n1,2025-01-01,\n2,2025-01-02,4\n",
}


def _seen(result):
    tx = None if result.company is None else result.company.transactions
    problems = sorted((p.code, p.severity, p.row, p.column or "") for p in result.problems)
    return tx, problems, [(f.rows_read, f.rows_used) for f in result.files]


@pytest.mark.parametrize("case", sorted(FAST_CASES))
def test_fast_path_agrees_with_the_careful_reader(tmp_path, monkeypatch, case):
    folder = _company(tmp_path, {"transactions.csv": FAST_CASES[case]})
    careful = _seen(check_company(folder))
    monkeypatch.setattr(readers, "FAST_PATH_BYTES", 0)
    fast = _seen(check_company(folder))
    assert fast[1:] == careful[1:]
    if careful[0] is None:
        assert fast[0] is None
    else:
        pd.testing.assert_frame_equal(fast[0], careful[0], check_dtype=False)
        assert fast[0]["client_id"].map(type).eq(str).all()


def test_fast_path_is_taken_for_a_clean_file(tmp_path, monkeypatch):
    path = _write(tmp_path / "t.csv", FAST_CASES["clean"])
    monkeypatch.setattr(readers, "FAST_PATH_BYTES", 0)
    raw = readers.read_table(path, kind="transactions")
    assert raw.frame["amount"].dtype == "float64"  # typed by the fast reader, not text
    assert raw.frame["client_id"].tolist() == ["007", "ab"]
    assert raw.rows.tolist() == [2, 3]


def test_an_unexpected_failure_is_reported_with_the_file_not_raised(tmp_path, monkeypatch):
    import helpers.step1_list_clients.load as load

    folder = _company(tmp_path, {"clients.csv": "client_id,name\n1,A\n",
                                 "deals.csv": "client_id,outcome\n1,won\n"})

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(load, "_load_deals", broken)
    result = check_company(folder)
    assert not result.ok
    failed = [p for p in result.problems if p.code == "load_failed"]
    assert failed and failed[0].file == "deals.csv" and "KeyError" in failed[0].message
    with pytest.raises(DataProblem):
        load_company(folder)
