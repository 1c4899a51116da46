"""Hostile or broken files are refused quickly and clearly, naming the file and the problem.

Attack cases xlsx-shared-strings-bomb, csv-blank-lines-memory, unclear-read-errors,
criteria-yaml-billion-laughs, symlink-reads-outside-folder, nonutf8-folder-name. Files are built
here, small, with the guards' limits lowered where the real ones would need large files.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from helpers.step1_list_clients import guards
from helpers.step1_list_clients.settings import load_settings
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import check_company
from helpers.paths import SAMPLE_DIR
from helpers.core.rules import read_team_criteria

BARE_CLASS = re.compile(r"cannot be read \([A-Za-z]*Error\)")


@pytest.fixture
def company_dir(tmp_path):
    folder = tmp_path / "acme"
    shutil.copytree(SAMPLE_DIR / "b2b_services", folder)
    return folder


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def _errors(folder: Path, file: str) -> list[str]:
    result = check_company(folder)
    assert not result.ok
    lines = [str(p) for p in result.problems if p.severity == "error" and (p.file or "").endswith(file)]
    assert lines, [str(p) for p in result.problems]
    assert not any(BARE_CLASS.search(line) for line in lines), lines
    return lines


def _xlsx(path: Path, shared_strings: bytes, *, sheet: str | None = None) -> None:
    ct = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          'spreadsheetml.sheet.main+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("xl/worksheets/sheet1.xml", sheet or '<?xml version="1.0"?><worksheet/>')
        z.writestr("xl/sharedStrings.xml", shared_strings)


def test_an_xlsx_whose_shared_strings_unpack_huge_is_refused_from_the_zip_directory(company_dir, monkeypatch):
    monkeypatch.setattr(guards, "MAX_PART_BYTES", 1_000_000)
    (company_dir / "clients.csv").unlink()
    _xlsx(company_dir / "clients.xlsx", b"<sst>" + b"<si><t>ab</t></si>" * 300_000 + b"</sst>")
    before = _digests(company_dir)
    lines = _errors(company_dir, "clients.xlsx")
    assert "sharedStrings.xml" in lines[0] and "times its packed size" in lines[0]
    assert _digests(company_dir) == before


def test_an_xlsx_with_a_doctype_is_refused(company_dir):
    (company_dir / "clients.csv").unlink()
    doctype = b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "lol">]><sst><si><t>&a;</t></si></sst>'
    _xlsx(company_dir / "clients.xlsx", doctype)
    assert "DOCTYPE" in _errors(company_dir, "clients.xlsx")[0]


def test_a_megabyte_cell_names_row_and_column(company_dir):
    path = company_dir / "clients.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("Tundra Partners LLC", '"' + "Z" * 1_000_000)  # a quote never closed
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    error = _errors(company_dir, "clients.csv")[0]
    assert error.startswith("clients.csv:3:name — ") and "broken quote" in error


def test_a_header_of_200000_columns_is_refused(company_dir):
    path = company_dir / "clients.csv"
    header = ",".join(f"c{i}" for i in range(200_000))
    path.write_text(header + "\n" + ",".join("1" for _ in range(200_000)) + "\n", encoding="utf-8")
    assert "200,000 columns" in _errors(company_dir, "clients.csv")[0]


def test_millions_of_blank_lines_are_refused_in_bounded_memory(company_dir, monkeypatch):
    monkeypatch.setattr(guards, "MAX_BLANK_LINES", 10_000)
    with open(company_dir / "clients.csv", "a", encoding="utf-8") as fh:
        fh.write("\n" * 30_000 + ",,,,\n" * 30_000)
    assert "60,000 empty lines" in _errors(company_dir, "clients.csv")[0]


def test_a_large_file_of_blank_lines_stops_the_fast_reader_at_its_first_batch(company_dir, monkeypatch):
    """A large log takes pyarrow's fast path, which parses the file batch by batch, each checked as it
    comes: blank lines past the file's start end the read at the first batch that holds one (pyarrow
    would keep each as a row), and the guard then refuses the file. "Large" and the batch size are
    lowered here so the file stays small; the blank lines span dozens of batches."""
    from helpers.step1_list_clients import readers

    monkeypatch.setattr(readers, "FAST_PATH_BYTES", 5_000)
    monkeypatch.setattr(readers, "BATCH_BYTES", 8_000)
    monkeypatch.setattr(guards, "MAX_BLANK_LINES", 10_000)
    batches: dict[str, int] = {}
    checked, refused = readers._arrow_csv, readers._refused_batch

    def recorded(path, *args):
        batches[path.name] = 0
        return checked(path, *args)

    def counted(batch):
        batches[next(reversed(batches))] += 1
        return refused(batch)

    monkeypatch.setattr(readers, "_arrow_csv", recorded)
    monkeypatch.setattr(readers, "_refused_batch", counted)
    log = company_dir / "transactions.csv"
    data_batches = log.stat().st_size // 8_000 + 1
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(",,,\n" * 100_000 + "\n" * 200_000)  # rows of delimiters only, then empty lines
    assert "empty lines" in _errors(company_dir, "transactions.csv")[0]
    assert batches["clients.csv"] >= 1, "the other files still take the fast path"
    assert batches["transactions.csv"] <= data_batches + 1, "pyarrow went on reading blank lines"


def test_every_text_read_is_guarded_also_outside_a_company_load(tmp_path):
    """The workshop board reads the team's placement sheets with `read_table` alone: the guard is in it."""
    from helpers.step1_list_clients.readers import ReadError, read_table

    path = tmp_path / "anna.csv"
    path.write_text("client_id,tier\nC1," + "A" * 1_000_000 + "\n", encoding="utf-8")
    with pytest.raises(ReadError) as raised:
        read_table(path)
    assert raised.value.problem.code == "cell_too_long"


def test_a_few_blank_lines_are_still_fine(company_dir):
    with open(company_dir / "clients.csv", "a", encoding="utf-8") as fh:
        fh.write("\n" * 500)
    assert check_company(company_dir).ok


BILLION_LAUGHS = "lols:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def test_criteria_yml_with_aliases_or_python_tags_is_refused_naming_the_file(company_dir):
    criteria = company_dir / "criteria.yml"
    criteria.write_text(BILLION_LAUGHS + "criteria:\n  - id: x\n    rule: headcount >= 50\n    points_to: *i\n",
                        encoding="utf-8")
    with pytest.raises(DataProblem) as refused:
        read_team_criteria(criteria, {"headcount": "number"})
    assert refused.value.problems[0].file == "criteria.yml" and "not allowed" in str(refused.value)
    criteria.write_text("criteria: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(DataProblem) as tagged:
        read_team_criteria(criteria, {"headcount": "number"})
    assert "tags" in str(tagged.value)


def test_company_yml_with_aliases_is_refused_by_check(company_dir):
    (company_dir / "company.yml").write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(DataProblem):
        load_settings(company_dir)
    assert any("company.yml" in line and "not allowed" in line for line in _errors(company_dir, "company.yml"))


def test_an_input_symlinked_outside_the_company_folder_is_refused(company_dir, tmp_path):
    other = tmp_path / "other_client"
    shutil.copytree(SAMPLE_DIR / "b2b_services", other)
    (company_dir / "prospects.csv").unlink()
    os.symlink(other / "clients.csv", company_dir / "prospects.csv")
    error = _errors(company_dir, "prospects.csv")[0]
    assert "outside the company folder" in error
    (company_dir / "company.yml").unlink()
    os.symlink("/etc/hostname", company_dir / "company.yml")
    assert "outside the company folder" in str(check_company(company_dir).problems[0])


def test_a_symlink_inside_the_folder_is_fine(company_dir):
    (company_dir / "exports").mkdir()
    shutil.move(company_dir / "deals.csv", company_dir / "exports" / "deals.csv")
    os.symlink(company_dir / "exports" / "deals.csv", company_dir / "deals.csv")
    assert check_company(company_dir).ok


def test_a_folder_name_that_is_not_utf8_is_refused_by_check(tmp_path):
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/romashka-\xd0\xee\xec\xe0\xf8\xea\xe0"))
    shutil.copytree(SAMPLE_DIR / "b2b_services", folder)
    result = check_company(folder)
    assert not result.ok and result.problems[0].code == "folder_not_utf8"


def test_terminal_escapes_in_headers_are_shown_escaped():
    assert guards.printable("\x1b]0;PWNED\x07\x1b[2Jnotes\u202e") == "\\x1b]0;PWNED\\x07\\x1b[2Jnotes\\u202e"
    assert "\x1b" not in guards.printable("\x1b[31mred\x9b") and guards.printable("а\tb\nc") == "а\tb\nc"


def test_a_quote_that_never_closes_across_many_lines_is_explained(company_dir):
    path = company_dir / "clients.csv"
    text = path.read_text(encoding="utf-8").replace("Tundra Partners LLC", '"Tundra Partners LLC', 1)
    path.write_text(text + "".join(f"note line {i},,,\n" for i in range(20_000)), encoding="utf-8")
    error = _errors(company_dir, "clients.csv")[0]
    assert "broken quote" in error or "quote" in error.lower(), error


def test_a_doctype_behind_a_long_comment_is_still_found(company_dir):
    (company_dir / "clients.csv").unlink()
    hidden = b'<?xml version="1.0"?><!--' + b"x" * 50_000 + b'--><!DOCTYPE sst [<!ENTITY a "b">]><sst/>'
    _xlsx(company_dir / "clients.xlsx", hidden)
    assert "DOCTYPE" in _errors(company_dir, "clients.xlsx")[0]
