"""Every plot a notebook draws is also saved under figures/ (the README promises it)."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
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
