"""The package shows the method: five step packages in method order, and data flowing one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers import paths

PACKAGE = paths.PACKAGE_DIR
STEP = re.compile(r"^step(\d)_")


def _step_packages() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if p.is_dir() and STEP.match(p.name))


def _imported_modules(path: Path) -> set[str]:
    """Every helpers module a file imports (absolute names), at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("helpers", *path.relative_to(PACKAGE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                module = node.module or ""
            if module.startswith("helpers"):
                found.add(module)
                found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _step_of(module: str) -> int | None:
    parts = module.split(".")
    match = STEP.match(parts[1]) if len(parts) > 1 else None
    return int(match.group(1)) if match else None


def test_the_five_steps_sort_in_method_order_and_match_the_notebooks():
    steps = [p.name for p in _step_packages()]
    assert [int(STEP.match(name).group(1)) for name in steps] == list(range(1, len(steps) + 1))
    assert len(steps) >= 5
    notebooks = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    for package, notebook in zip(steps, notebooks):
        assert package.split("_", 1)[1] == notebook.split("_", 1)[1], (package, notebook)


@pytest.mark.parametrize("package", _step_packages(), ids=lambda p: p.name)
def test_a_step_imports_no_later_step(package):
    own = int(STEP.match(package.name).group(1))
    for path in package.rglob("*.py"):
        later = sorted(m for m in _imported_modules(path) if (_step_of(m) or 0) > own)
        assert not later, f"{path.relative_to(PACKAGE)} (step {own}) imports a later step: {later}"


def test_the_core_imports_no_step():
    for path in (PACKAGE / "core").rglob("*.py"):
        steps = sorted(m for m in _imported_modules(path) if _step_of(m) is not None)
        assert not steps, f"{path.relative_to(PACKAGE)} is core but imports {steps}"


def test_each_step_package_names_its_entry_and_result():
    """A newcomer reads one step's __init__ and knows what it takes and returns."""
    for package in _step_packages():
        init = package / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "Takes" in doc and "Returns" in doc, f"{init.relative_to(PACKAGE)} must say what the step takes and returns"
