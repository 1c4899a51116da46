"""Committed notebooks: no outputs, a literal-only parameters cell, no logic defined inside."""

from __future__ import annotations

import ast

import nbformat
import pytest

from helpers import paths
from helpers.run.runner import PARAMETERS, workbook_notebooks

NOTEBOOKS = workbook_notebooks()


def test_the_workbook_has_the_five_steps_in_method_order():
    names = [nb.stem for nb in NOTEBOOKS]
    assert [n[:2] for n in names] == ["01", "02", "03", "04", "05"], names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{notebook.name}: strip outputs (nbstripout {notebook.name})"
            assert cell.execution_count is None
        assert "papermill" not in cell.metadata, f"{notebook.name}: papermill metadata left in a cell"
    assert "papermill" not in nb.metadata


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_holds_typed_literals_only(notebook):
    nb = nbformat.read(notebook, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name}: exactly one cell tagged 'parameters'"
    tree = ast.parse(tagged[0].source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"{notebook.name}: parameters are `name: type = literal`"
        assert isinstance(node.value, ast.Constant), f"{notebook.name}: {ast.unparse(node)} is not a literal"
        names.append(node.target.id)
    assert set(PARAMETERS) <= set(names)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_define_no_functions_or_classes(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defined, f"{notebook.name}: move `{ast.unparse(defined[0])[:40]}` into src/helpers/"
        assert "../" not in cell.source, f"{notebook.name}: build paths with helpers.paths, not ../"


def test_nbstripout_is_configured_for_contributors():
    attributes = (paths.PROJECT_ROOT / ".gitattributes").read_text(encoding="utf-8")
    assert "*.ipynb filter=nbstripout" in attributes
    assert (paths.PROJECT_ROOT / ".pre-commit-config.yaml").is_file()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_understands_the_parameters(notebook):
    import papermill

    assert set(PARAMETERS) <= set(papermill.inspect_notebook(str(notebook)))
