"""A kernel reused by the runner gives a notebook exactly what a newly started kernel gives it."""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager

import nbformat
import papermill as pm
import pytest

from helpers.run.kernels import WarmKernel, warm_up_code

# Everything a notebook could leave behind for the next one in the same kernel.
POLLUTE = [
    "from helpers.core import i18n\nimport matplotlib.pyplot as plt\nimport warnings",
    "secret = 42\nplt.rcParams['lines.linewidth'] = 9\nplt.figure()",
    "i18n.set_language('ru')\nwarnings.simplefilter('ignore')",
    "import os, sys\nos.chdir('/')\nsys.path.insert(0, '/nowhere')",
    "warnings.warn('shown once per place', UserWarning)",
    "x = [i for i in range(3)]",
]
# What the next notebook sees; its outputs and execution counts must be those of a fresh kernel.
PROBE = [
    "from helpers.core import i18n\nimport matplotlib.pyplot as plt\nimport warnings",
    "print(sorted(k for k in globals() if not k.startswith('_') and k not in ('In', 'Out', 'exit', 'quit', "
    "'get_ipython', 'open')))",
    "print(plt.rcParams['lines.linewidth'], plt.get_fignums(), i18n.get_language())",
    "def warn():\n    warnings.warn('shown once per place', UserWarning)\nwarn()\nwarn()",
    "x = 1\nx",
    "import os, sys\nprint(os.getcwd() != '/', '/nowhere' in sys.path)",
]


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _seen(nb) -> list:
    """Execution counts and outputs of every cell, without papermill's timings or the kernel's process id
    (which names the file a warning points to in any two kernels)."""
    return [(cell.execution_count, [re.sub(r"ipykernel_\d+", "ipykernel_N", repr({k: v for k, v in out.items()
                                                                               if k != "metadata"}))
                                    for out in cell.outputs])
            for cell in nb.cells]


def _run(notebook, output, kernel):
    # a warm kernel is driven from its own thread, as the runner does
    return kernel.run(lambda: pm.execute_notebook(str(notebook), str(output), kernel_name="python3",
                                                  progress_bar=False, km=kernel.km))


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernels")
    return _notebook(folder / "pollute.ipynb", POLLUTE), _notebook(folder / "probe.ipynb", PROBE)


def test_a_reset_kernel_runs_a_notebook_as_a_new_kernel_does(notebooks, tmp_path):
    polluter, probe = notebooks
    code = warm_up_code([polluter, probe])
    fresh = WarmKernel(probe.parent, code).start()
    try:
        expected = _seen(_run(probe, tmp_path / "fresh.ipynb", fresh))
    finally:
        fresh.shutdown()
    reused = WarmKernel(probe.parent, code).start()
    try:
        _run(polluter, tmp_path / "polluted.ipynb", reused)
        reused.close_clients()
        assert reused.reset(), "the reset itself must succeed"
        assert _seen(_run(probe, tmp_path / "reused.ipynb", reused)) == expected
    finally:
        reused.shutdown()
    assert expected[0][0] == 1, "execution counts start from 1"
    assert "['x']" not in str(expected[1][1]) and "9" not in str(expected[2][1])
    assert "shown once per place" in str(expected[3][1]), "a warning the last notebook showed is shown again"


def test_the_warm_up_takes_only_the_kits_imports(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", ["import os\nfrom helpers.paths import (\n    slugify)\nslugify('a')",
                                         "if True:\n    import helpers.workbook", "%time 1", "import helpers.core"])
    nb_params = nbformat.read(nb, as_version=4)
    nb_params.cells.insert(0, nbformat.v4.new_code_cell("import helpers.run"))
    nb_params.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb_params, nb)
    assert warm_up_code(nb).splitlines() == ["from helpers.paths import slugify", "import helpers.core"]
    assert warm_up_code([nb, nb]) == warm_up_code(nb), "an import met twice is run once"


def test_papermill_is_imported_without_the_iri_grammars_and_nothing_stays_blocked():
    import subprocess
    import sys

    code = ("import sys\n"
            "from helpers.run.kernels import import_papermill\n"
            "pm = import_papermill()\n"
            "assert pm.inspect_notebook and 'rfc3987_syntax' not in sys.modules\n"
            "import importlib.util\n"
            "assert importlib.util.find_spec('rfc3987_syntax') is None or __import__('rfc3987_syntax')\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_kernel_that_dies_while_warming_up_is_reported_not_handed_on(tmp_path):
    kernel = WarmKernel(tmp_path, "import os\nos._exit(3)", start_timeout=20)
    with pytest.raises(RuntimeError, match="died"):
        kernel.start()
    kernel.shutdown()


@contextmanager
def _stderr_to(path):
    """File descriptor 2 pointed at `path` meanwhile, as the runner does while its kernels start."""
    sys.stderr.flush()
    saved, fd = os.dup(2), os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


@pytest.mark.parametrize("capture", [True, False], ids=["fd-captured", "fd-inherited"])
def test_a_kept_kernel_takes_the_next_runs_environment_and_log_and_writes_nothing_into_the_last(
        tmp_path, monkeypatch, capture):
    """A batch worker keeps its kernels from one company to the next: the next run's hand-over key and
    spill folder must reach it, a variable the last run set and this one did not must be gone, and what
    the kernel prints must land in the next run's logs/kernels.log, never in the last run's published one.
    ipykernel captures file descriptor 2 into a pipe (echoed to the log), except under pytest: both ways."""
    if capture:
        monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    first_log, next_log = tmp_path / "first.log", tmp_path / "next.log"
    nb = _notebook(tmp_path / "env.ipynb", [
        "import os, sys, time\nprint(os.environ.get('TIERBOOK_T_KEY'), os.environ.get('TIERBOOK_T_GONE'), "
        "hasattr(sys.stderr, '_original_stdstream_copy'))",
        "os.write(2, b'marker-' + os.environ['TIERBOOK_T_KEY'].encode() + b'\\n')\n"
        "time.sleep(0.2)  # the echo of a captured descriptor runs on a thread of the kernel"])
    os.environ.update(TIERBOOK_T_KEY="first", TIERBOOK_T_GONE="set")
    try:
        with _stderr_to(first_log):
            kernel = WarmKernel(tmp_path, "").start()
    finally:
        del os.environ["TIERBOOK_T_KEY"], os.environ["TIERBOOK_T_GONE"]
    try:
        seen = _run(nb, tmp_path / "first.ipynb", kernel)
        assert seen.cells[0].outputs[0]["text"] == f"first set {capture}\n"
        kernel.close_clients()
        assert kernel.reset() and kernel.rehome({"TIERBOOK_T_KEY": "next", "TIERBOOK_T_GONE": None}, str(next_log))
        seen = _run(nb, tmp_path / "next.ipynb", kernel)
        assert seen.cells[0].outputs[0]["text"] == f"next None {capture}\n"
        if capture:  # the capture still works: what is written on descriptor 2 also reaches the notebook
            assert "marker-next" in str(seen.cells[1].outputs)
    finally:
        kernel.shutdown()
    first, after = first_log.read_text(), next_log.read_text()
    assert "marker-first" in first and "marker-next" not in first
    assert "marker-next" in after and "marker-first" not in after


def test_kept_kernels_are_taken_only_by_a_run_with_the_same_folder_and_imports(tmp_path, monkeypatch):
    from helpers.run import kernels

    monkeypatch.setattr(kernels, "_keeping", True)
    monkeypatch.setattr(kernels, "_kept", [])
    kernel = WarmKernel(tmp_path, "import helpers.paths").start()
    try:
        assert kernels.keep(kernel)
        assert kernels.take_kept(tmp_path, "import helpers.core") is None, "other imports: not this kernel"
        assert kernels.take_kept(tmp_path / "ru", "import helpers.paths") is None, "another folder: not this one"
        assert kernels.take_kept(tmp_path, "import helpers.paths") is kernel
        assert kernels.take_kept(tmp_path, "import helpers.paths") is None, "a kernel is taken once"
        assert kernel.notebooks_run == 0, "a kept kernel is already reset"
    finally:
        kernel.shutdown()
    with pytest.raises(RuntimeError, match="ended"):
        kernel.run(print)  # an ended kernel's thread never leaves a caller waiting
