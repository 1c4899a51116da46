"""Exports are inert and no CLI path mistake ends in a traceback.

Attack cases csv-cr-formula-injection, terminal-escape-in-check, cli-file-path-tracebacks.
"""

from __future__ import annotations

import csv
import io
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from helpers.run.cli import main
from helpers.core.export import FORMULA_TRIGGERS, csv_text, neutralise_text
from helpers.paths import SAMPLE_DIR

HOSTILE = ["Sable Logistics Inc\r=cmd|' /C calc'!A0", "Tundra\r=1+1", "tab\t=2+2", 'quote "=3+3"', "lf\n@SUM(A1)",
           "\r=4+4", "\t=5+5", "-6+6", "ok"]


def test_no_reader_splits_a_row_and_no_cell_starts_a_formula():
    frame = pd.DataFrame({"name": HOSTILE, "n": range(len(HOSTILE))})
    text = csv_text(frame)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(HOSTILE) + 1 and all(len(r) == 2 for r in rows)
    back = pd.read_csv(io.StringIO(text), dtype=str)
    assert len(back) == len(HOSTILE)
    assert not [v for v in back["name"] if v.startswith(FORMULA_TRIGGERS)]
    assert not [r for r in rows[1:] if r[0].startswith(("=", "+", "-", "@"))]


def test_formula_prefixes_with_cr_and_tab_are_neutralised():
    assert neutralise_text("\r=1+1") == "'\r=1+1" and neutralise_text("\t=1") == "'\t=1"


@pytest.fixture
def company_dir(tmp_path):
    folder = tmp_path / "acme"
    shutil.copytree(SAMPLE_DIR / "b2b_services", folder)
    return folder


def test_check_shows_escape_sequences_from_headers_escaped(company_dir):
    rows = list(csv.reader(open(company_dir / "clients.csv", encoding="utf-8")))
    rows[0].append("\x1b]0;PWNED\x07\x1b[2Jnotes")
    for row in rows[1:]:
        row.append("x")
    with open(company_dir / "clients.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    result = CliRunner().invoke(main, ["check", str(company_dir)])
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b]0;PWNED" in result.output


def _bad_paths(tmp_path, company_dir):
    a_file = tmp_path / "afile"
    a_file.write_text("hi")
    missing = tmp_path / "missing"
    return [
        ["new", str(a_file)],
        ["new", str(a_file / "sub")],
        ["check", str(a_file)],
        ["check", str(missing)],
        ["check", str(a_file / "sub")],
        ["run", str(a_file), "--quiet"],
        ["run", str(missing), "--quiet"],
        ["run", str(company_dir), "--out", str(a_file), "--quiet"],
        ["run", str(company_dir), "--out", str(a_file / "sub"), "--quiet"],
        ["run", str(company_dir), "--out", str(company_dir / "clients.csv"), "--quiet"],
        ["run", str(company_dir), "--out", str(company_dir), "--quiet"],
        ["run", str(company_dir), "--out", str(company_dir / "out"), "--quiet"],
        ["run", str(company_dir), "--out", str(tmp_path), "--quiet"],
        ["run", str(company_dir), "--anonymise", "--key-file", str(missing), "--out", str(tmp_path / "o"), "--quiet"],
        ["run", str(company_dir), "--anonymise", "--key-file", str(a_file), "--out", str(tmp_path / "o"), "--quiet"],
        ["worksheet", str(company_dir), "--out", str(a_file)],
        ["worksheet", str(company_dir), "--out", str(a_file / "sub")],
        ["worksheet", str(company_dir), "--out", str(company_dir / "sheets")],
        ["worksheet", str(a_file)],
        ["worksheet", str(missing)],
        ["worksheet", str(company_dir), "--anonymise", "--key-file", str(a_file), "--out", str(tmp_path / "w")],
    ]


def test_every_command_with_a_bad_path_answers_in_one_line(tmp_path, company_dir):
    before = {p.name: p.read_bytes() for p in company_dir.iterdir()}
    runner = CliRunner()
    for args in _bad_paths(tmp_path, company_dir):
        result = runner.invoke(main, args)
        shown = " ".join(args)
        assert result.exit_code == 1, (shown, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (shown, result.exception)
        assert "Traceback" not in result.output, shown
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 2, (shown, result.output)  # the problem, and for data problems what to do next
    assert {p.name: p.read_bytes() for p in company_dir.iterdir()} == before, "inputs never change"
    assert (tmp_path / "afile").read_text() == "hi"
