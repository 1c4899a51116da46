"""The corpus of awkward and broken inputs (tests/data/inputs): each case loads as expected.yml says."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers.step1_list_clients.load import check_company, format_check

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "inputs"
EXPECTED = yaml.safe_load((CORPUS / "expected.yml").read_text(encoding="utf-8"))


def _generator():
    spec = importlib.util.spec_from_file_location("make_input_corpus", ROOT / "scripts" / "make_input_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_is_large_enough():
    assert len(EXPECTED) >= 30
    assert sum(1 for e in EXPECTED.values() if e["ok"]) >= 10
    assert sum(1 for e in EXPECTED.values() if not e["ok"]) >= 10


def test_committed_corpus_equals_what_the_script_writes(tmp_path):
    _generator().write(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file())
    assert made == committed
    for rel in made:
        if rel.suffix == ".parquet":  # Parquet bytes carry the writer's version: compare the table
            pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / rel), pd.read_parquet(CORPUS / rel))
        else:
            assert (tmp_path / rel).read_bytes() == (CORPUS / rel).read_bytes(), rel


def _as_list(values: pd.Series, like: list) -> list:
    if pd.api.types.is_datetime64_any_dtype(values):
        return [None if pd.isna(v) else (v.strftime("%Y-%m-%d") if v == v.normalize() else str(v)) for v in values]
    out = []
    for v in values.astype(object):
        out.append(None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v)
    return out


def _matches(found, wanted: dict) -> bool:
    for key, value in wanted.items():
        if key == "message_contains":
            if value not in found.message:
                return False
        elif key == "fix_contains":
            if value not in found.fix:
                return False
        elif getattr(found, key) != value:
            return False
    return True


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_case(name):
    expected = EXPECTED[name]
    folder = CORPUS / name
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = check_company(folder)
    shown = format_check(result)  # printing never fails, whatever the input
    assert result.ok == expected["ok"], shown
    for wanted in expected.get("problems", []):
        assert any(_matches(p, wanted) for p in result.problems), f"{wanted} not in\n{shown}"
    if not expected["ok"]:
        errors = [p for p in result.problems if p.severity == "error"]
        assert errors
        # every rejection names the file and says what to do
        assert all(p.file and p.fix for p in errors), shown
    company = result.company
    for kind, attrs in expected.get("file", {}).items():
        report = next(f for f in result.files if f.kind == kind)
        for attr, value in attrs.items():
            assert getattr(report, attr) == value, (kind, attr, shown)
    for kind, columns in expected.get("values", {}).items():
        table = getattr(company, kind)
        for column, values in columns.items():
            got = _as_list(table[column], values)
            assert got == values, (kind, column, got)
    for column, kind in expected.get("trait_kinds", {}).items():
        assert company.trait_kinds.get(column) == kind, (column, company.trait_kinds)
    for kind, total in expected.get("money", {}).items():
        amounts = getattr(company, kind)["amount"]
        # to the cent, with exact decimal arithmetic on the parsed values
        assert sum((Decimal(repr(float(v))) for v in amounts), Decimal(0)).quantize(Decimal("0.01")) == Decimal(total)
    if result.ok:
        _assert_every_row_accounted_for(result)
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before  # inputs are never modified


ROW_DROPS = {"totals_row", "wrong_field_count", "blank_id", "blank_tier", "blank_date", "blank_amount",
             "blank_outcome", "unknown_client"}


def _assert_every_row_accounted_for(result):
    """Nothing is lost: each data row of a file is used, or named in a problem with its row number."""
    for report in result.files:
        dropped = [p for p in result.problems if p.file == report.path.name and p.code in ROW_DROPS]
        assert all(p.row is not None for p in dropped)
        counted = sum(p.details.get("count", 0) for p in result.problems
                      if p.file == report.path.name and p.code == "other_currency_rows")
        assert report.rows_read == report.rows_used + len({p.row for p in dropped}) + counted, report


def test_totals_row_equals_the_loaded_sum():
    """The "Итого" row of the file states the sum of the rows the loader kept."""
    from helpers.step1_list_clients.parsing import parse_numbers

    path = CORPUS / "totals_row_itogo" / "transactions.csv"
    last = path.read_bytes().decode("cp1251").strip().splitlines()[-1]
    stated = parse_numbers(pd.Series([last.split(";")[-1]]))[0].iloc[0]
    company = check_company(path.parent).company
    assert round(company.transactions["amount"].sum(), 2) == round(stated, 2)


def test_rejection_is_printed_as_file_row_column_what_fix():
    result = check_company(CORPUS / "duplicate_client_ids")
    text = format_check(result)
    assert "clients.csv:2:client_id — " in text
    assert "keep one row per client" in text
