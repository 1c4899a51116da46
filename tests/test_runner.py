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


def test_kernels_run_with_one_blas_thread_unless_the_user_chose(company, tmp_path, monkeypatch):
    """The run's processes already fill the cores; BLAS threads on top of them spin for a busy core."""
    record = _notebook(tmp_path / "01_env.ipynb", WRITE_OUTPUTS + (
        "import os\n"
        "Path(out_dir, 'report.html').write_text(os.environ.get('OPENBLAS_NUM_THREADS', 'unset'))\n"))
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    runner.run_company(company, tmp_path / "one", notebooks=[record], progress=False)
    assert (tmp_path / "one" / "report.html").read_text() == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    runner.run_company(company, tmp_path / "three", notebooks=[record], progress=False)
    assert (tmp_path / "three" / "report.html").read_text() == "3"


def test_one_kernel_runs_several_notebooks_each_as_if_alone(company, tmp_path):
    """`jobs=1`: one kernel for every notebook (one start, one import of the kit), reset between them."""
    cells = ["import os\nfrom pathlib import Path\nassert 'leak' not in globals(), 'a name from the last notebook'",
             "leak = 1",
             "with open(Path(out_dir, 'pids.txt'), 'a') as fh:\n    fh.write(f'{os.getpid()}\\n')"]
    notebooks = [_notebook(tmp_path / f"0{k}_part.ipynb", *cells) for k in (1, 2, 3)]
    notebooks.append(_notebook(tmp_path / "04_outputs.ipynb", WRITE_OUTPUTS, *cells))
    out = tmp_path / "out"
    runner.run_company(company, out, notebooks=notebooks, progress=False, jobs=1)
    assert len(set((out / "pids.txt").read_text().split())) == 1, "the notebooks shared one kernel"
    for executed in sorted((out / "notebooks").glob("*.ipynb")):
        counts = [c.execution_count for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), f"{executed.name}: counts as in a new kernel"


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ipykernel's parent poller is POSIX-only")
def test_a_notebook_kernel_ends_when_the_runner_is_killed(tmp_path):
    """kill -9 of the runner must not leave a kernel writing into a staging folder the next run removes."""
    import signal
    import subprocess
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "from helpers.run.kernels import WarmKernel\n"
        "kernel = WarmKernel('.').start()\n"
        "print(kernel.pid, flush=True)\n"
        "time.sleep(60)\n", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    kernel = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(kernel, signal.SIGKILL)
    pytest.fail(f"kernel {kernel} outlived its killed runner")


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
