"""Notebook sources and their rendered copies (EN and RU): bilingual, in step, and never stale."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.kit import notebooks as nbs
from helpers.paths import NOTEBOOKS_DIR

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN_WORD = re.compile(r"\b[A-Za-z]{4,}\b")


@pytest.fixture(scope="module")
def sources():
    return nbs.load_sources()


@pytest.fixture()
def root(tmp_path):
    """A scratch notebooks folder holding a copy of the real sources, rendered."""
    folder = tmp_path / "notebooks"
    shutil.copytree(nbs.source_dir(), nbs.source_dir(folder))
    assert nbs.main(["--root", str(folder)]) == 0
    return folder


# ---------------------------------------------------------------------------- stale check

def test_committed_notebooks_are_rendered_from_the_current_sources(sources):
    assert nbs.stale_notebooks(NOTEBOOKS_DIR, nbs.render_all(sources)) == []
    assert nbs.main(["--check"]) == 0


def test_every_english_notebook_has_a_source_and_a_russian_copy(sources):
    english = {p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]*.ipynb")}
    assert english == set(sources)
    assert english == {p.stem for p in (NOTEBOOKS_DIR / "ru").glob("[0-9][0-9]*.ipynb")}


def test_check_fails_on_an_edited_or_missing_copy_and_render_repairs_it(root, capsys):
    assert nbs.main(["--check", "--root", str(root)]) == 0
    english = root / "01_list_clients.ipynb"
    english.write_text(english.read_text(encoding="utf-8").replace("List the clients", "Hand edit"), encoding="utf-8")
    (root / "ru" / "03_compare_traits.ipynb").unlink()
    capsys.readouterr()
    assert nbs.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "01_list_clients.ipynb" in err and "ru/03_compare_traits.ipynb" in err

    # A changed source makes its copies stale too.
    source = nbs.source_dir(root) / "05_report.yml"
    source.write_text(source.read_text(encoding="utf-8").replace("ru: |-\n", "ru: |-\n    Изменено.\n", 1),
                      encoding="utf-8")
    assert nbs.main(["--root", str(root)]) == 1  # the hand-edited English notebook is not overwritten silently
    assert "Hand edit" in english.read_text(encoding="utf-8")
    assert nbs.main(["--force", "--root", str(root)]) == 0
    assert nbs.main(["--check", "--root", str(root)]) == 0
    assert "Изменено." in (root / "ru" / "05_report.ipynb").read_text(encoding="utf-8")
    assert "Изменено." not in (root / "05_report.ipynb").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- both languages

def test_every_markdown_cell_has_russian_text(sources):
    assert nbs.untranslated(sources) == []
    for name, data in sources.items():
        for cell in data["cells"]:
            if cell["type"] == "markdown":
                assert CYRILLIC.search(cell["ru"]), f"{name}#{cell['id']}: the Russian text is not Russian"
                assert cell["ru"] != cell["en"]


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]*.ipynb")))
def test_russian_notebook_matches_the_english_one_cell_for_cell(name):
    en = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    ru = nbformat.read(NOTEBOOKS_DIR / "ru" / f"{name}.ipynb", as_version=4)
    assert [(c.id, c.cell_type, c.metadata.get("tags", [])) for c in en.cells] == \
           [(c.id, c.cell_type, c.metadata.get("tags", [])) for c in ru.cells]
    for a, b in zip(en.cells, ru.cells):
        if a.cell_type == "code" and "parameters" not in a.metadata.get("tags", []):
            assert a.source == b.source, f"{name}#{a.id}: code is shared, edit notebooks/source/{name}.yml"
        if a.cell_type == "markdown":
            # Headings and prose are Russian; what stays Latin is code, file names and the method's letters.
            words = LATIN_WORD.findall(re.sub(r"`[^`]*`|\([^)]*\.(csv|yml|html|ipynb)\)", "", b.source))
            prose = [w for w in words if w.lower() not in ALLOWED_LATIN]
            assert not prose, f"ru/{name}#{b.id}: English words {prose[:5]}"


# Latin words a Russian reader meets on purpose: tool and key names, cited authors, the method's own labels.
ALLOWED_LATIN = {"jupyterlab", "backspace", "syntetos", "boylan"}


def test_russian_parameters_run_a_russian_company_and_keep_the_parameters_tag():
    import ast

    for path in sorted((NOTEBOOKS_DIR / "ru").glob("[0-9][0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        values = {n.target.id: n.value.value for n in ast.parse(tagged[0].source).body}
        assert CYRILLIC.search(tagged[0].source), f"ru/{path.name}: parameter comments in Russian"
        if "company_dir" in values:
            assert values["company_dir"] == "data/sample/ru_crm_export"
        else:
            assert values["language"] == "ru"


def test_parameter_override_keeps_a_hash_inside_a_string_default():
    text = 'a: str = "x # y"  # old\nb: int = 1\n'
    out = nbs._parameter_lines(text, {"a": {"comment": "новый"}, "b": {"default": "2"}})
    assert out == 'a: str = "x # y"  # новый\nb: int = 2\n'


# ---------------------------------------------------------------------------- import

def _touch_later(path: Path, than: Path) -> None:
    later = than.stat().st_mtime + 5
    os.utime(path, (later, later))


def test_render_refuses_to_overwrite_an_english_notebook_edited_after_its_source(root, capsys):
    english = root / "02_place_in_tiers.ipynb"
    nb = nbformat.read(english, as_version=4)
    nb.cells[0].source += "\nAdded in JupyterLab."
    nbformat.write(nb, str(english))
    _touch_later(english, nbs.source_dir(root) / "02_place_in_tiers.yml")
    capsys.readouterr()
    assert nbs.main(["--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "02_place_in_tiers.ipynb" in err and "--import" in err
    assert "Added in JupyterLab." in english.read_text(encoding="utf-8")
    # --import keeps the edit (and the Russian text); the Russian copy is rendered again.
    assert nbs.main(["--import", "--root", str(root)]) == 0
    assert "Added in JupyterLab." in english.read_text(encoding="utf-8")
    assert "Added in JupyterLab." in (nbs.source_dir(root) / "02_place_in_tiers.yml").read_text(encoding="utf-8")
    assert nbs.main(["--check", "--root", str(root)]) == 0


def test_import_rebuilds_the_same_sources_from_the_english_notebooks(root):
    before = {p.name: p.read_text(encoding="utf-8") for p in nbs.source_dir(root).glob("*.yml")}
    written, review = nbs.import_all(root)
    assert written == [] and review == {}
    assert before == {p.name: p.read_text(encoding="utf-8") for p in nbs.source_dir(root).glob("*.yml")}


def test_import_keeps_russian_by_cell_id_and_flags_what_changed(root, capsys):
    """Another helper edits an English notebook: a new cell, a changed one, a removed one."""
    path = root / "05_report.ipynb"
    nb = nbformat.read(path, as_version=4)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    changed, removed = markdown[1], markdown[2]
    changed.source += "\nOne more sentence."
    nb.cells.remove(removed)
    new = nbformat.v4.new_markdown_cell("## A new check")
    new.id = "new-check"
    nb.cells.append(new)
    code = nbformat.v4.new_code_cell("assert True")
    code.id = "new-assert"
    code.outputs = [nbformat.v4.new_output("stream", text="client data")]
    code.metadata["papermill"] = {"duration": 1}
    nb.cells.append(code)
    nbformat.write(nb, str(path))
    old = yaml.safe_load((nbs.source_dir(root) / "05_report.yml").read_text(encoding="utf-8"))
    old_ru = {c["id"]: c.get("ru") for c in old["cells"]}

    capsys.readouterr()
    assert nbs.main(["--import", "--root", str(root)]) == 0
    err = capsys.readouterr().err
    assert f"05_report: the English text of cell(s) {changed.id} changed" in err
    assert "05_report#new-check" in err  # rendered in English meanwhile, and said so

    data = yaml.safe_load((nbs.source_dir(root) / "05_report.yml").read_text(encoding="utf-8"))
    cells = {c["id"]: c for c in data["cells"]}
    assert cells[changed.id]["ru"] == old_ru[changed.id]
    assert removed.id not in cells and "ru" not in cells["new-check"]
    assert cells["new-assert"] == {"id": "new-assert", "type": "code", "source": "assert True"}
    ru = nbformat.read(root / "ru" / "05_report.ipynb", as_version=4)
    assert [c.source for c in ru.cells if c.id == "new-check"] == ["## A new check"]
    assert nbs.main(["--check", "--root", str(root)]) == 0


@pytest.mark.parametrize("edit, message", [
    (lambda cells: cells.append(dict(cells[0])), "the id is used twice"),
    (lambda cells: cells[1].pop("tags"), "exactly one cell must carry the `parameters` tag"),
    (lambda cells: cells[0].update(type="heading"), "`type` is code, markdown or raw"),
    (lambda cells: cells[0].pop("id"), "every cell needs an `id`"),
])
def test_a_broken_source_is_refused_with_file_and_cell(root, capsys, edit, message):
    path = nbs.source_dir(root) / "01_list_clients.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data["cells"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert nbs.main(["--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "01_list_clients.yml" in err and message in err


def test_sources_are_listed_in_the_readme():
    readme = (NOTEBOOKS_DIR / "README.md").read_text(encoding="utf-8")
    assert "render_notebooks.py --import" in readme and "notebooks/source/" in readme


def test_render_leaves_no_file_outside_the_notebooks_folders(root):
    made = {p.relative_to(root).parent for p in Path(root).rglob("*.ipynb")}
    assert made == {Path("."), Path("ru")}


def test_text_the_shared_code_prints_comes_from_both_catalogues(sources):
    """Code cells are shared by both languages: a sentence they print must be a catalogue key, never a literal."""
    import ast

    from helpers.core import i18n

    keys = set()
    for name, data in sources.items():
        for cell in data["cells"]:
            if cell["type"] != "code":
                continue
            for node in ast.walk(ast.parse(cell["source"])):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "t" \
                        and node.args and isinstance(node.args[0], ast.Constant):
                    keys.add(node.args[0].value)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                    literal = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                               and LATIN_WORD.search(a.value)]
                    assert not literal, f"{name}#{cell['id']}: print a catalogue text (wb.t), not {literal[0].value!r}"
    assert {"notebooks.no_deals", "notebooks.no_prospects"} <= keys
    for language in ("en", "ru"):
        missing = sorted(k for k in keys if k not in i18n.catalogue(language))
        assert not missing, f"{language}: no catalogue text for {missing}"
