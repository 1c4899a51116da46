"""Batch runs: companies run in parallel, one failure never stops the others, a closing table, exit 1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from helpers.run import batch
from helpers import paths
from helpers.run import runner
from helpers.run.cli import main

# the one-cell notebooks of the runner's tests stand in for the five real ones
from test_runner import WRITE_OUTPUTS, _notebook  # noqa: E402  (tests/ is on sys.path under pytest)


def _company(folder, rows="C1,Alpha,retail\nC2,Beta,it\nC3,Gamma,it\n"):
    folder.mkdir(parents=True)
    (folder / "clients.csv").write_text("client_id,name,industry\n" + rows, encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """Outputs under tmp_path/runs, and a one-cell notebook instead of the five real ones."""
    root = tmp_path / "runs"
    monkeypatch.setattr(paths, "RUNS_DIR", root)
    notebook = _notebook(tmp_path / "01_write.ipynb", WRITE_OUTPUTS)
    monkeypatch.setattr(runner, "workbook_notebooks", lambda: [notebook])
    return root


def test_one_broken_company_does_not_stop_the_other_and_the_batch_exits_1(tmp_path, runs):
    good = _company(tmp_path / "in" / "acme")
    broken = tmp_path / "in" / "globex"
    broken.mkdir(parents=True)
    (broken / "clients.csv").write_text("client_id,name\n", encoding="utf-8")  # header only: refused
    result = CliRunner().invoke(main, ["run", str(broken), str(good), "--jobs", "2", "--quiet"])
    assert result.exit_code == 1, result.output
    assert (runs / "acme" / "report.html").read_text() == "report.html from acme"
    assert not (runs / "globex").exists()
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("company"))
    assert "status" in lines[header] and "report or reason" in lines[header]
    rows = {line.split()[0]: line for line in lines[header + 1:header + 3]}
    assert " ok " in rows[str(good)] and str(runs / "acme" / "report.html") in rows[str(good)]
    assert " failed " in rows[str(broken)] and "clients.csv" in rows[str(broken)]
    assert "\n" not in rows[str(broken)]
    assert "1 of 2 companies ran; 1 failed." in result.output


def test_every_kind_of_failure_becomes_one_line_and_the_rest_still_runs(tmp_path, runs):
    good = _company(tmp_path / "in" / "acme")
    crashing = _company(tmp_path / "in" / "initech")
    busy = _company(tmp_path / "in" / "umbrella")
    runs.mkdir()
    (runs / ".umbrella.lock").write_text(str(__import__("os").getpid()))  # a live run holds umbrella's folder
    bad = _notebook(tmp_path / "01_bad.ipynb", "import os\nif 'initech' in company_dir:\n    raise ValueError('boom')\n"
                    + WRITE_OUTPUTS)
    outcomes = batch.run_batch([good, crashing, busy], jobs=2, progress=False, notebooks=[bad])
    assert [o.status for o in outcomes] == ["ok", "failed", "failed"]
    assert outcomes[0].report == runs / "acme" / "report.html"
    assert outcomes[1].reason == "Run failed in 01_bad.ipynb: ValueError: boom"
    assert "another Tierbook run is writing" in outcomes[2].reason
    assert all("\n" not in o.reason for o in outcomes)


def test_a_worker_keeps_its_kernel_warm_from_one_company_to_the_next(tmp_path, runs):
    """--jobs 1: one worker and one kernel for three companies. Each run still gives the kernel its own
    hand-over key and its own logs/kernels.log, and run.json says which kernels were kept."""
    companies = [_company(tmp_path / "in" / name) for name in ("acme", "globex", "initech")]
    probe = _notebook(tmp_path / "01_probe.ipynb", WRITE_OUTPUTS
                      + "import os, sys\n"
                      "from helpers.workbook import STEPS_KEY_ENV\n"
                      "Path(out_dir, 'probe.txt').write_text(f'{os.getpid()} {os.environ[STEPS_KEY_ENV]}')\n"
                      "os.write(2, ('log of ' + Path(company_dir).name + '\\n').encode())\n")
    outcomes = batch.run_batch(companies, jobs=1, progress=False, notebooks=[probe])
    assert [o.status for o in outcomes] == ["ok"] * 3, [o.reason for o in outcomes]
    seen = [(runs / c.name / "probe.txt").read_text().split() for c in companies]
    assert len({pid for pid, _ in seen}) == 1, "one kernel served the three companies"
    assert len({key for _, key in seen}) == 3, "each run gave the kernel its own hand-over key"
    used = [json.loads((runs / c.name / "run.json").read_text())["kernels"] for c in companies]
    assert used == [{"started": 1, "kept": 0}, {"started": 0, "kept": 1}, {"started": 0, "kept": 1}]
    for c in companies:
        log = (runs / c.name / "logs" / "kernels.log").read_text()
        assert f"log of {c.name}" in log, log
        assert not [o for o in companies if o != c and f"log of {o.name}" in log], "another run's output in this log"


def test_two_companies_with_one_output_folder_never_run_into_it_together(tmp_path, runs):
    first = _company(tmp_path / "north" / "acme", "C1,Alpha,retail\n")
    second = _company(tmp_path / "south" / "acme", "C9,Omega,it\n")
    outcomes = batch.run_batch([first, second], jobs=2, progress=False)
    assert [o.status for o in outcomes] == ["ok", "failed"]
    assert str(first) in outcomes[1].reason and str(runs / "acme") in outcomes[1].reason
    assert (runs / "acme" / "report.html").read_text() == "report.html from acme"


def test_the_closing_table_speaks_russian():
    from helpers.core import i18n

    with i18n.language("ru"):
        text = batch.format_batch_table([batch.BatchOutcome("data/a", "failed", 3.0, reason="нет строк")])
    assert text.splitlines()[0].startswith("компания") and "ошибка" in text and "3 с" in text


def test_an_unexpected_error_is_one_line_and_progress_lines_name_the_company(monkeypatch, capsys):
    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line of detail")

    monkeypatch.setattr(runner, "run_company", explode)
    outcome = batch.run_one("data/acme", "/tmp/out", {}, "en", True)
    assert outcome.status == "failed" and outcome.reason == "unexpected error, please report it: RuntimeError: disk on fire"
    from helpers.run import kernels

    assert not kernels._keeping, "only a batch's worker processes keep kernels, never the process that calls run_one"
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "[data/acme] started" and printed[-1].startswith("[data/acme] failed in ")


@pytest.mark.parametrize("jobs, companies, expected", [
    (1, 8, (1, 1)),   # --jobs 1: one company, one notebook at a time
    (2, 8, (2, 1)),   # two companies at once, one kernel each
    (4, 2, (2, 2)),   # more jobs than companies: the rest become notebook kernels
    (3, 2, (2, 1)),
    (2, 1, (1, 2)),
])
def test_jobs_count_as_make_does_companies_first_then_notebooks(jobs, companies, expected):
    assert batch.share_jobs(jobs, companies) == expected


def test_jobs_of_a_single_company_run_are_its_notebook_kernels(tmp_path, monkeypatch):
    """`tierbook run X --jobs 1` runs one notebook at a time, as a batch's --jobs 1 does."""
    good = _company(tmp_path / "in" / "acme")
    seen = {}

    def fake_run_company(company_dir, out=None, **options):
        seen.update(options)
        raise runner.RunBusy("busy")

    monkeypatch.setattr(runner, "run_company", fake_run_company)
    CliRunner().invoke(main, ["run", str(good), "--jobs", "1", "--quiet"])
    assert seen["jobs"] == 1
    CliRunner().invoke(main, ["run", str(good), "--quiet"])
    assert seen["jobs"] is None  # the default: one kernel per core
