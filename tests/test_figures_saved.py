"""Every plot a notebook draws is also saved under figures/ (the README promises it)."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers import paths

# the workbook a run executes; 06_compare writes its figures through step6_compare.write_comparison
NOTEBOOKS = sorted(p for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb") if p.stem != "06_compare")
PLOT_CALL = re.compile(r"\bplot_\w+\(")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_that_draws_a_plot_saves_it(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith(("from ", "import ")):
            continue
        draws = len(PLOT_CALL.findall(cell.source))
        saves = cell.source.count("wb.save_figure(")
        assert saves >= draws, f"{notebook.name}: a plot is drawn but not saved in figures/:\n{cell.source}"


def test_figure_names_are_unique_across_the_workbook():
    names = []
    for notebook in NOTEBOOKS:
        for cell in nbformat.read(notebook, as_version=4).cells:
            names += re.findall(r'wb\.save_figure\([^,]+,\s*"([^"]+)"\)', cell.source)
    assert len(names) == len(set(names)), "two plots would overwrite one PNG"


def test_a_saved_figure_is_shown_once_as_the_very_png_saved(tmp_path):
    """In a notebook the cell shows the saved PNG itself: the figure is drawn once, not again inline."""
    import base64

    import papermill as pm

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\n"
        "from helpers.workbook import Workbook\n"
        f"wb = Workbook({str(paths.SAMPLE_DIR / 'b2b_services')!r}, {str(tmp_path / 'out')!r})\n"
        "fig, ax = plt.subplots(figsize=(4, 3))\n"
        "ax.plot([1, 2, 3])\n"
        "wb.save_figure(fig, 'line')")]
    nbformat.write(nb, tmp_path / "plot.ipynb")
    done = pm.execute_notebook(str(tmp_path / "plot.ipynb"), str(tmp_path / "done.ipynb"), kernel_name="python3",
                               progress_bar=False, cwd=str(tmp_path))
    images = [out for out in done.cells[0].outputs if "image/png" in out.get("data", {})]
    saved = (tmp_path / "out" / "figures" / "line.png").read_bytes()
    assert len(images) == 1, "one image per saved figure, not a second one from the inline backend"
    assert base64.b64decode(images[0]["data"]["image/png"]) == saved
    assert images[0]["metadata"]["image/png"]["width"] < 4 * 110, "shown at the notebook's own size"
