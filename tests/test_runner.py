"""The runner publishes a run atomically: a failing notebook never damages the last good outputs."""

from __future__ import annotations

import json
import os
import sys

import nbformat
import pytest

from helpers.run import runner
from helpers.core.errors import DataProblem

PARAMETERS_CELL = (
    'company_dir: str = ""  # company folder\n'
    'out_dir: str = ""  # output folder\n'
    'language: str = ""  # en | ru\n'
    'anonymise: bool = False  # pseudonyms\n'
)
WRITE_OUTPUTS = (
    "from pathlib import Path\n"
    "for name in ('report.html', 'tiers.csv', 'criteria.csv'):\n"
    "    Path(out_dir, name).write_text(name + ' from ' + Path(company_dir).name)\n"
)


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMETERS_CELL)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def company(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name,industry\nC1,Alpha,retail\nC2,Beta,it\nC3,Gamma,it\n",
                                        encoding="utf-8")
    return folder


@pytest.fixture
def good_notebook(tmp_path):
    return _notebook(tmp_path / "01_good.ipynb", WRITE_OUTPUTS)


def test_a_good_run_publishes_outputs_and_run_json(company, good_notebook, tmp_path):
    out = tmp_path / "runs" / "acme"
    result = runner.run_company(company, out, notebooks=[good_notebook], progress=False)
    assert result.out_dir == out.resolve()
    assert (out / "tiers.csv").read_text() == "tiers.csv from acme"
    assert (out / "notebooks" / "01_good.ipynb").is_file()
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["company_dir"] == str(company.resolve())
    assert {i["file"] for i in meta["inputs"]} >= {"clients.csv"}
    assert all(len(i["sha256"]) == 64 for i in meta["inputs"])
    assert "01_good" in meta["timings_seconds"] and "pandas" in meta["versions"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no staging or lock left behind"


def test_a_failing_notebook_keeps_the_previous_good_run(company, good_notebook, tmp_path):
    out = tmp_path / "runs" / "acme"
    runner.run_company(company, out, notebooks=[good_notebook], progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = _notebook(tmp_path / "02_bad.ipynb", "raise ValueError('the tiers table is empty')")
    with pytest.raises(runner.RunFailed) as failure:
        runner.run_company(company, out, notebooks=[good_notebook, bad], progress=False)
    assert failure.value.notebook == "02_bad.ipynb"
    assert failure.value.reason == "ValueError: the tiers table is empty"
    assert failure.value.partial.is_file(), "the partly executed notebook is kept for inspection"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_run_must_write_every_contracted_output(company, tmp_path):
    lazy = _notebook(tmp_path / "01_lazy.ipynb", "x = 1")
    with pytest.raises(runner.RunFailed) as failure:
        runner.run_company(company, tmp_path / "out", notebooks=[lazy], progress=False)
    assert "report.html" in failure.value.reason
    assert not (tmp_path / "out").exists()


def test_the_output_folder_can_never_replace_the_inputs(company, good_notebook):
    with pytest.raises(DataProblem) as problem:
        runner.run_company(company, company, notebooks=[good_notebook], progress=False)
    assert problem.value.problems[0].code == "out_dir_overlaps"
    with pytest.raises(DataProblem):
        runner.run_company(company, company.parent, notebooks=[good_notebook], progress=False)
    assert (company / "clients.csv").is_file()


def test_a_live_lock_refuses_a_second_run_and_a_stale_one_is_taken_over(company, good_notebook, tmp_path):
    out = tmp_path / "runs" / "acme"
    out.parent.mkdir(parents=True)
    lock = out.parent / ".acme.lock"
    lock.write_text(str(os.getpid()))
    with pytest.raises(runner.RunBusy):
        runner.run_company(company, out, notebooks=[good_notebook], progress=False)
    lock.write_text("999999999")  # no such process
    runner.run_company(company, out, notebooks=[good_notebook], progress=False)
    assert (out / "report.html").is_file() and not lock.exists()


def test_notebook_without_the_parameters_is_refused(company, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "01_plain.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(runner.RunFailed) as failure:
        runner.run_company(company, tmp_path / "out", notebooks=[path], progress=False)
    assert "parameters" in failure.value.reason


class _Stop(Exception):
    """Raised by the stand-in executor once it has seen which notebooks the run chose."""


@pytest.mark.parametrize("company_language, report_lang, folder", [
    ("ru", "", "ru"),      # a Russian company reads Russian notebooks
    ("en", "", ""),        # an English one the English notebooks
    ("en", "ru", "ru"),    # --report-lang wins over company.yml
    ("ru", "en", ""),
])
def test_the_run_executes_the_notebooks_in_the_runs_language(company, tmp_path, monkeypatch,
                                                              company_language, report_lang, folder):
    from helpers import paths

    (company / "company.yml").write_text(f"name: Acme\nlanguage: {company_language}\n", encoding="utf-8")
    chosen = []

    def execute(notebooks, *args, **kwargs):
        chosen.extend(notebooks)
        raise _Stop

    monkeypatch.setattr(runner, "_hand_over_steps", lambda *args, **kwargs: None)
    monkeypatch.setattr(runner, "_execute", execute)
    with pytest.raises(_Stop):
        runner.run_company(company, tmp_path / "out", language=report_lang, progress=False)
    expected = paths.NOTEBOOKS_DIR / folder if folder else paths.NOTEBOOKS_DIR
    assert chosen and {p.parent for p in chosen} == {expected}
    assert [p.name for p in chosen] == [p.name for p in runner.workbook_notebooks("en")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_notebook_worker_ends_when_the_runner_is_killed(tmp_path):
    """kill -9 of the runner must not leave a worker writing into a staging folder the next run removes."""
    import signal
    import subprocess
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import os, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from multiprocessing import get_context\n"
        "from helpers.run.runner import _die_with_parent\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=get_context('spawn'), initializer=_die_with_parent)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    pool.submit(time.sleep, 60)\n"
        "    time.sleep(60)\n", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"worker {worker} outlived its killed runner")


def test_steps_past_the_memory_limit_fail_with_a_clear_reason(monkeypatch, tmp_path):
    """DuckDB running out of its share of the run's memory ends the run with what to change, never a
    traceback (seen on a 40M-line log before the purchase gap was measured in passes)."""
    import duckdb

    from helpers import paths
    from helpers.run import runner
    from helpers.workbook import Workbook

    def out_of_memory(self):
        raise duckdb.OutOfMemoryException("failed to allocate data of size 16.0 MiB")

    monkeypatch.setattr(Workbook, "hand_over", out_of_memory)
    with pytest.raises(runner.RunFailed) as failed:
        runner._hand_over_steps(paths.SAMPLE_DIR / "b2b_services", tmp_path, {"language": "en", "anonymise": False}, "")
    assert "memory limit" in failed.value.reason and "TIERBOOK_MEMORY_LIMIT" in failed.value.reason
