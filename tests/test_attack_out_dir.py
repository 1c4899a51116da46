"""Never delete or replace what the kit did not write; publishing survives crashes and write errors.

Attack cases out-wipes-user-folder, out-replaces-input-file, crash-leaves-staging, swap-window-no-output,
run-json-enospc-traceback, run-hides-criteria-error (runner half). The runs use a one-cell notebook.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os

import pytest

from helpers import paths
from helpers.run import runner
from helpers.core.errors import DataProblem

# the one-cell notebooks of the runner's own tests
from test_runner import WRITE_OUTPUTS, _notebook  # noqa: E402


def _company(folder):
    folder.mkdir(parents=True)
    (folder / "clients.csv").write_text("client_id,name,industry\nC1,Alpha,retail\nC2,Beta,it\nC3,Gamma,it\n",
                                        encoding="utf-8")
    return folder


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def company(tmp_path):
    return _company(tmp_path / "acme")


@pytest.fixture
def good(tmp_path):
    return _notebook(tmp_path / "01_good.ipynb", WRITE_OUTPUTS)


def _run(company, out, good, **kwargs):
    return runner.run_company(company, out, notebooks=[good], progress=False, **kwargs)


def test_a_folder_of_other_files_is_refused_and_kept(company, good, tmp_path):
    documents = tmp_path / "Documents"
    (documents / "photos").mkdir(parents=True)
    (documents / "thesis.docx").write_text("three years of work")
    (documents / "photos" / "holiday.jpg").write_text("jpeg")
    before = _digest(documents)
    with pytest.raises(runner.OutDirRefused) as refused:
        _run(company, documents, good)
    assert "Documents" in str(refused.value) and "\n" not in str(refused.value)
    assert _digest(documents) == before
    assert not [p for p in tmp_path.iterdir() if "tierbook" in p.name]


def test_an_input_file_or_a_folder_inside_the_inputs_is_refused(company, good):
    before = _digest(company)
    for out in (company / "clients.csv", company / "outputs", company, company.parent):
        with pytest.raises(DataProblem):
            _run(company, out, good)
    assert _digest(company) == before, "inputs must stay byte-identical"


def test_new_empty_and_previous_run_folders_are_accepted_inputs_unchanged(company, good, tmp_path):
    before = _digest(company)
    empty = tmp_path / "empty"
    empty.mkdir()
    _run(company, empty, good)
    meta = json.loads((empty / "run.json").read_text(encoding="utf-8"))
    assert meta["signature"] == runner.SIGNATURE and meta["company_dir"] == str(company.resolve())
    _run(company, empty, good)  # a previous Tierbook run is replaced
    assert (empty / "report.html").is_file()
    assert _digest(company) == before


def test_companies_that_slugify_alike_never_share_a_default_folder(tmp_path, good, monkeypatch):
    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path / "runs")
    first = _company(tmp_path / "a" / "acme")
    second = _company(tmp_path / "b" / "ACME")
    notes = []
    one = _run(first, None, good)
    two = _run(second, None, good, on_note=notes.append)
    again = _run(first, None, good)
    assert one.out_dir != two.out_dir and again.out_dir == one.out_dir
    assert json.loads((two.out_dir / "run.json").read_text())["company_dir"] == str(second.resolve())
    assert any(str(two.out_dir) in n for n in notes), "the other folder is named to the user"


def test_an_orphaned_previous_run_is_restored_and_stale_staging_removed(company, good, tmp_path):
    out = tmp_path / "out"
    _run(company, out, good)
    # the state a kill -9 between the two renames leaves: no out, the old run aside, a staging folder
    os.replace(out, tmp_path / ".out.tierbook-old-999999")
    (tmp_path / ".out.tierbook-tmp-999998" / "notebooks").mkdir(parents=True)
    (tmp_path / ".out.tierbook-tmp-999998" / "tiers.csv").write_text("client data")
    notes = runner._recover(out)
    assert (out / "run.json").is_file() and len(notes) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_publishing_exchanges_in_one_step_or_falls_back_to_two_renames(company, good, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _run(company, out, good)
    (out / "marker").write_text("old")
    _run(company, out, good)
    assert not (out / "marker").exists()
    monkeypatch.setattr(runner, "_exchange", lambda a, b: False)
    (out / "marker").write_text("old")
    _run(company, out, good)
    assert not (out / "marker").exists() and (out / "report.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_write_error_is_one_line_with_path_and_fix_and_the_previous_run_stays(company, good, tmp_path,
                                                                                monkeypatch, code):
    out = tmp_path / "out"
    _run(company, out, good)
    before = _digest(out)

    def failing_fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(runner.RunWriteFailed) as failure:
        _run(company, out, good)
    message = str(failure.value)
    assert "run.json" in message and os.strerror(code) in message and "\n" not in message
    assert _digest(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], "staging holds client data"


def test_sigterm_removes_the_staging_folder(company, tmp_path):
    # the kernel sends SIGTERM to the runner (its parent) while a notebook runs
    killer = _notebook(tmp_path / "01_kill.ipynb", "import os, signal, time\nos.kill(os.getppid(), signal.SIGTERM)\n"
                                                   "time.sleep(30)")
    with pytest.raises(runner.Interrupted) as stopped:
        runner.run_company(company, tmp_path / "out", notebooks=[killer], progress=False, timeout=60)
    assert stopped.value.signum == 15
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert not (tmp_path / "out").exists()


def test_a_data_problem_in_a_notebook_is_printed_not_an_empty_error(company, tmp_path):
    failing = _notebook(tmp_path / "04_criteria.ipynb",
                        "from helpers.workbook import open_workbook\n"
                        "wb = open_workbook(company_dir)\n"
                        "from helpers.core.errors import DataProblem, problem\n"
                        "raise DataProblem([problem('criteria_file_invalid', file='criteria.yml', row=3,\n"
                        "    detail=\"unknown trait 'headcont' \\x1b]0;x\\x07\"),\n"
                        "    problem('criteria_file_invalid', file='criteria.yml', row=9, detail='second')])")
    with pytest.raises(runner.RunFailed) as failure:
        runner.run_company(company, tmp_path / "out", notebooks=[failing], progress=False)
    assert "criteria.yml:3" in failure.value.reason and "headcont" in failure.value.reason
    assert "\x1b" not in failure.value.reason, "terminal escapes from input text are shown escaped"
    assert any("criteria.yml:9" in line for line in failure.value.details)


def test_a_users_folder_named_like_the_failed_copy_is_never_deleted(company, good, tmp_path):
    mine = tmp_path / "out.failed"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    bad = _notebook(tmp_path / "02_bad.ipynb", "raise ValueError('broken')")
    for _ in range(2):
        with pytest.raises(runner.RunFailed) as failure:
            runner.run_company(company, tmp_path / "out", notebooks=[good, bad], progress=False)
        assert failure.value.partial.is_file() and mine not in failure.value.partial.parents
    _run(company, tmp_path / "out", good)
    assert (mine / "notes.txt").read_text() == "mine"


def test_worksheets_of_companies_that_slugify_alike_go_to_different_folders(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from helpers.run.cli import main

    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path / "runs")
    first, second = _company(tmp_path / "a" / "acme"), _company(tmp_path / "b" / "Acme")
    (second / "clients.csv").write_text("client_id,name\nX1,Other Holding\n", encoding="utf-8")
    cli = CliRunner()
    for folder in (first, second, first):
        assert cli.invoke(main, ["worksheet", str(folder)]).exit_code == 0
    sheets = {p.parent.name: p.read_text(encoding="utf-8-sig") for p in (tmp_path / "runs").glob("*/placement_worksheet.csv")}
    assert set(sheets) == {"acme-worksheet", "acme-worksheet-2"}
    assert "Alpha" in sheets["acme-worksheet"] and "Other Holding" in sheets["acme-worksheet-2"]
