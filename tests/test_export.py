"""Exports are atomic and cannot run as spreadsheet formulas."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from helpers.core import export


@pytest.mark.parametrize("text", ["=1+1", "+7 999", "-2+3", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"])
def test_text_that_a_spreadsheet_would_execute_is_prefixed(text):
    assert export.neutralise_text(text) == "'" + text


@pytest.mark.parametrize("value", [-5, -2.5, 0, "plain", "ООО «Ромашка»", None])
def test_numbers_and_plain_text_are_untouched(value):
    assert export.neutralise_text(value) == value


def test_write_csv_neutralises_text_but_keeps_numbers(tmp_path):
    df = pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "<script>alert(1)</script>", "Ромашка"],
                       "revenue": [-100.5, 0.0, 1e6]})
    path = export.write_csv(df, tmp_path / "out.csv")
    back = pd.read_csv(path)
    assert back["name"].tolist() == ["'=HYPERLINK(\"x\")", "<script>alert(1)</script>", "Ромашка"]
    assert back["revenue"].tolist() == [-100.5, 0.0, 1e6]
    assert df["name"].iloc[0].startswith("="), "the input frame must not be modified"


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "tiers.csv"
    target.write_text("previous good run\n", encoding="utf-8")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(export.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        export.write_text("new, half-written", target)
    assert target.read_text(encoding="utf-8") == "previous good run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tiers.csv"], "no temporary file may be left behind"


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="file modes are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_written_files_get_the_mode_of_any_new_file_under_the_umask(tmp_path, umask):
    """A report in a shared folder is readable by whoever the user's umask lets read new files,
    not by its owner only (what the atomic write's temporary file would otherwise leave)."""
    old = os.umask(umask)
    try:
        written = export.write_text("x", tmp_path / "report.html")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask
