"""A kernel reused by the runner gives a notebook exactly what a newly started kernel gives it."""

from __future__ import annotations

import re

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
    return pm.execute_notebook(str(notebook), str(output), kernel_name="python3", progress_bar=False, km=kernel.km)


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
