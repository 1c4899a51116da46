"""Build tool of the kit: the workbook notebooks in English and Russian from one source each.

`notebooks/source/<name>.yml` holds every cell once, under its stable cell id: code shared by both
languages, markdown in `en` and `ru` side by side, the cell's tags. `render` writes
`notebooks/<name>.ipynb` (EN) and `notebooks/ru/<name>.ipynb` (RU) without outputs; `--check` fails on a
stale copy (the model is deon's checklist: one source with stable IDs, rendered, CI fails on drift);
`--import` rebuilds the sources from edited English notebooks, keeping the Russian text by cell id.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any, Sequence

import nbformat
import yaml

from helpers.core.i18n import t
from helpers.kit.templates import report_stale
from helpers.paths import NOTEBOOKS_DIR

LANGUAGES = ("en", "ru")
# Where each language's notebooks go, relative to notebooks/ (English stays where users and links expect it).
LANGUAGE_FOLDERS = {"en": "", "ru": "ru"}
SOURCE_FOLDER = "source"
SOURCE_HEADER = ("# Source of notebooks/{name}.ipynb (EN) and notebooks/ru/{name}.ipynb (RU): edit here, then run\n"
                 "# `make notebooks` (scripts/render_notebooks.py). Cell ids are stable: keep them when you edit.\n"
                 "# Code cells are shared; markdown has `en` and `ru`; `ru_parameters` changes a parameter's\n"
                 "# default or comment in the Russian notebook only. See notebooks/README.md.\n")
CELL_KEYS = {"id", "type", "tags", "metadata", "source", "en", "ru", "ru_parameters"}


class SourceProblem(ValueError):
    """A notebook source that cannot be rendered: the file, the cell id and what is wrong."""


# ---------------------------------------------------------------------------- sources

def source_dir(root: Path = NOTEBOOKS_DIR) -> Path:
    return Path(root) / SOURCE_FOLDER


def notebook_path(name: str, language: str, root: Path = NOTEBOOKS_DIR) -> Path:
    """Where the rendered notebook `name` of `language` lives (`notebooks/ru/01_list_clients.ipynb`)."""
    folder = Path(root) / LANGUAGE_FOLDERS[language]
    return folder / f"{name}.ipynb"


def load_sources(root: Path = NOTEBOOKS_DIR) -> dict[str, dict]:
    """Every `notebooks/source/*.yml`, checked, by notebook name. Raises SourceProblem on a bad one."""
    sources = {}
    for path in sorted(source_dir(root).glob("*.yml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        check_source(data, path.name)
        sources[path.stem] = data
    return sources


def check_source(data: Any, label: str) -> None:
    """Raise SourceProblem unless `data` is a notebook source: unique ids, known keys, one parameters cell."""
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SourceProblem(f"{label}: expected a mapping with a `cells` list")
    seen: set[str] = set()
    for n, cell in enumerate(data["cells"], 1):
        where = f"{label}: cell {n}"
        if not isinstance(cell, dict) or not cell.get("id"):
            raise SourceProblem(f"{where}: every cell needs an `id` (stable, unique in the notebook)")
        cid = str(cell["id"])
        where = f"{label}#{cid}"
        if cid in seen:
            raise SourceProblem(f"{where}: the id is used twice; give the new cell its own id")
        seen.add(cid)
        unknown = set(cell) - CELL_KEYS
        if unknown:
            raise SourceProblem(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        kind = cell.get("type")
        if kind == "code":
            if not isinstance(cell.get("source", ""), str):
                raise SourceProblem(f"{where}: a code cell's `source` is text")
        elif kind in ("markdown", "raw"):
            if not isinstance(cell.get("en"), str):
                raise SourceProblem(f"{where}: a {kind} cell needs its English text in `en`")
        else:
            raise SourceProblem(f"{where}: `type` is code, markdown or raw, not {kind!r}")
    tagged = [c for c in data["cells"] if "parameters" in (c.get("tags") or [])]
    if len(tagged) != 1:
        raise SourceProblem(f"{label}: exactly one cell must carry the `parameters` tag (found {len(tagged)})")


def untranslated(sources: dict[str, dict]) -> list[str]:
    """`name#id` of every markdown cell without Russian text (rendered with the English text meanwhile)."""
    return [f"{name}#{cell['id']}" for name, data in sources.items() for cell in data["cells"]
            if cell["type"] != "code" and not str(cell.get("ru") or "").strip()]


# ---------------------------------------------------------------------------- rendering

def _parameter_lines(source: str, overrides: dict[str, dict]) -> str:
    """The parameters cell with some defaults or comments replaced (`name: type = literal  # comment`).

    The literal's end is found with ast, so a `#` inside a string default is never taken for a comment.
    """
    out = []
    for line in source.split("\n"):
        try:
            node = ast.parse(line).body[0] if line.strip() else None
        except SyntaxError:
            node = None
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name) \
                or node.target.id not in overrides:
            out.append(line)
            continue
        change = overrides[node.target.id]
        head = line[:node.value.col_offset]
        literal = line[node.value.col_offset:node.value.end_col_offset]
        comment = line[node.value.end_col_offset:].lstrip()
        comment = comment[1:].strip() if comment.startswith("#") else comment
        literal = change.get("default", literal)
        comment = change.get("comment", comment)
        out.append(f"{head}{literal}  # {comment}" if comment else f"{head}{literal}")
    return "\n".join(out)


def render_notebook(data: dict, language: str) -> nbformat.NotebookNode:
    """One language's notebook from a source, without outputs, ids and tags as in the source."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.from_dict(data.get("metadata") or {})
    for cell in data["cells"]:
        metadata = dict(cell.get("metadata") or {})
        if cell.get("tags"):
            metadata["tags"] = list(cell["tags"])
        kind = cell["type"]
        if kind == "code":
            text = cell.get("source", "")
            if language != "en" and cell.get(f"{language}_parameters"):
                text = _parameter_lines(text, cell[f"{language}_parameters"])
            new = nbformat.v4.new_code_cell(text)
        else:
            text = cell.get(language) or cell["en"]  # untranslated: English until someone writes it
            new = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_raw_cell)(text)
        new.id = str(cell["id"])
        new.metadata = nbformat.from_dict(metadata)
        nb.cells.append(new)
    return nb


def render_all(sources: dict[str, dict] | None = None, root: Path = NOTEBOOKS_DIR) -> dict[Path, str]:
    """Every rendered notebook's text, by path relative to `root` (what `write` puts on disk)."""
    sources = load_sources(root) if sources is None else sources
    out = {}
    for name, data in sources.items():
        for language in LANGUAGES:
            rel = notebook_path(name, language, Path(".")).relative_to(".")
            out[rel] = nbformat.writes(render_notebook(data, language)) + "\n"
    return out


def stale_notebooks(root: Path = NOTEBOOKS_DIR, rendered: dict[Path, str] | None = None) -> list[str]:
    """Rendered notebooks under `root` that are missing or differ from their source."""
    rendered = render_all(root=root) if rendered is None else rendered
    return [str(rel) for rel, text in rendered.items()
            if not (Path(root) / rel).is_file() or (Path(root) / rel).read_bytes() != text.encode("utf-8")]


def write_notebooks(root: Path = NOTEBOOKS_DIR, rendered: dict[Path, str] | None = None) -> list[Path]:
    """Write every rendered notebook that changed; return the paths written."""
    from helpers.core.export import write_text

    rendered = render_all(root=root) if rendered is None else rendered
    return [write_text(rendered[Path(rel)], Path(root) / rel) for rel in stale_notebooks(root, rendered)]


def edited_copies(root: Path = NOTEBOOKS_DIR, rendered: dict[Path, str] | None = None) -> list[str]:
    """English notebooks that differ from their source and were saved after it: edits a render would lose.

    Someone edited `notebooks/<name>.ipynb` in JupyterLab, or a merge brought another branch's edits:
    those belong in the source (`--import`), not under a fresh render. Judged by modification time,
    because git and editors write the file they change and leave the other alone.
    """
    rendered = render_all(root=root) if rendered is None else rendered
    out = []
    for rel in stale_notebooks(root, rendered):
        path, source = Path(root) / rel, source_dir(root) / f"{Path(rel).stem}.yml"
        if Path(rel).parent == Path(".") and path.is_file() and source.is_file() \
                and path.stat().st_mtime > source.stat().st_mtime:
            out.append(str(rel))
    return out


# ---------------------------------------------------------------------------- import

def _cell_source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def import_notebook(path: Path, previous: dict | None = None) -> tuple[dict, list[str]]:
    """A source built from an (English) notebook, keeping Russian text and RU parameters of `previous` by id.

    Returns the source and the ids whose English text changed while an older Russian text was kept
    (the Russian needs a look). Outputs and papermill metadata are dropped; tags and ids are kept.
    Raises SourceProblem when a cell has no id (nbformat < 4.5: run `nbstripout --keep-id` first).
    """
    nb = nbformat.read(str(path), as_version=4)
    old = {str(c["id"]): c for c in (previous or {}).get("cells", [])}
    cells, review = [], []
    for cell in nb.cells:
        cid = cell.get("id")
        if not cid:
            raise SourceProblem(f"{path.name}: a cell has no id; upgrade the notebook to nbformat 4.5")
        metadata = {k: v for k, v in cell.metadata.items() if k not in ("tags", "papermill", "execution")}
        entry: dict[str, Any] = {"id": str(cid), "type": cell.cell_type}
        if cell.metadata.get("tags"):
            entry["tags"] = list(cell.metadata["tags"])
        if metadata:
            entry["metadata"] = nbformat.from_dict(metadata)
        text = _cell_source(cell)
        before = old.get(str(cid), {})
        if cell.cell_type == "code":
            entry["source"] = text
            if before.get("ru_parameters"):
                entry["ru_parameters"] = before["ru_parameters"]
        else:
            entry["en"] = text
            if before.get("ru"):
                entry["ru"] = before["ru"]
                if before.get("en") is not None and before.get("en") != text:
                    review.append(str(cid))
        cells.append(entry)
    data = {"name": path.stem, "metadata": dict(nb.metadata), "cells": cells}
    check_source(data, path.name)
    return data, review


class _Dumper(yaml.SafeDumper):
    """YAML that a person edits: multi-line text as `|` blocks, keys in the order written."""


def _text(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(nbformat.NotebookNode, _Dumper.represent_dict)


def dump_source(data: dict) -> str:
    """The text of a source file, with its header comment; `yaml.safe_load` of it gives `data` back."""
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    return SOURCE_HEADER.format(name=data["name"]) + body


def import_all(root: Path = NOTEBOOKS_DIR) -> tuple[list[Path], dict[str, list[str]]]:
    """Rebuild every source from `notebooks/NN*.ipynb` (English); returns the files written and ids to review."""
    from helpers.core.export import write_text

    written, review = [], {}
    for path in sorted(Path(root).glob("[0-9][0-9]*.ipynb")):
        target = source_dir(root) / f"{path.stem}.yml"
        previous = yaml.safe_load(target.read_text(encoding="utf-8")) if target.is_file() else None
        data, changed = import_notebook(path, previous)
        text = dump_source(data)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            written.append(write_text(text, target))
        if changed:
            review[path.stem] = changed
    return written, review


# ---------------------------------------------------------------------------- command line

def main(argv: Sequence[str] | None = None) -> int:
    """`render_notebooks.py [--check | --import | --force] [--root DIR]`: render, check, or import the English notebooks.

    Exit codes: 0 done or up to date, 1 stale copies (`--check`) or English notebooks edited after their
    source (a plain render refuses to overwrite them; `--import` keeps the edits, `--force` drops them),
    2 a source that cannot be read.
    """
    parser = argparse.ArgumentParser(prog="render_notebooks.py", description=t("notebooks.cli.description"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help=t("notebooks.cli.check_help"))
    mode.add_argument("--import", dest="import_", action="store_true", help=t("notebooks.cli.import_help"))
    mode.add_argument("--force", action="store_true", help=t("notebooks.cli.force_help"))
    parser.add_argument("--root", type=Path, default=NOTEBOOKS_DIR, help=t("notebooks.cli.root_help"))
    args = parser.parse_args(argv)
    try:
        if args.import_:
            written, review = import_all(args.root)
            print(t("notebooks.cli.imported", count=len(written)))
            for name, ids in review.items():
                print(t("notebooks.cli.review", name=name, ids=", ".join(ids)), file=sys.stderr)
        sources = load_sources(args.root)
    except (SourceProblem, yaml.YAMLError) as exc:
        print(t("notebooks.cli.bad_source", detail=str(exc)), file=sys.stderr)
        return 2
    missing = untranslated(sources)
    if missing:
        print(t("notebooks.cli.untranslated", count=len(missing), cells=", ".join(missing)), file=sys.stderr)
    rendered = render_all(sources)
    if args.check:
        return report_stale(stale_notebooks(args.root, rendered), len(rendered), "notebooks")
    edited = [] if args.force else edited_copies(args.root, rendered)
    if edited:
        print(t("notebooks.cli.edited", paths=", ".join(edited)), file=sys.stderr)
        return 1
    written = write_notebooks(args.root, rendered)
    print(t("notebooks.cli.written", count=len(written), total=len(rendered)))
    return 0
