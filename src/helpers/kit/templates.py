"""The paper side of every step of the method: worksheets, checklists and the company-folder guide.

Each sheet is ONE YAML source in `templates/source/` with stable item IDs and English and
Russian text side by side; this module renders it to Markdown and to printable, self-contained
HTML in both languages, plus `templates/company.yml` (every setting with its default, taken
from `helpers.step1_list_clients.settings.CompanySettings`) and blank CSV headers of every input file. Rendered
copies are committed; `check_templates()` (and `render_templates.py --check` in CI) fails when
one is stale, so paper and source cannot drift apart.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml
from pydantic import BaseModel

from helpers.step1_list_clients.company import COLUMNS
from helpers.step1_list_clients.settings import CompanySettings
from helpers.core.i18n import LANGUAGES, t
from helpers.paths import TEMPLATES_DIR

SOURCE_DIR = TEMPLATES_DIR / "source"
# Kinds an item may have. Runs of neighbouring items of one kind render as one list or table.
# A run of ticks this short (characters of the longest, in any language) prints in two columns.
SHORT_CHECK_CHARS = 80
ITEM_KINDS = ("text", "point", "step", "check", "field", "scale", "choice", "table", "term", "column", "setting")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
INPUT_FILES = tuple(COLUMNS)  # clients, placement, transactions, deals, prospects


@dataclass(frozen=True)
class Sheet:
    """One validated source: `templates/source/<id>.yml`."""

    id: str
    data: dict[str, Any]

    @property
    def sections(self) -> list[dict[str, Any]]:
        return self.data["sections"]

    def items(self) -> Iterable[dict[str, Any]]:
        for section in self.sections:
            yield from section["items"]


# ---------------------------------------------------------------------------- sources

def _text_problems(node: Any, where: str) -> list[str]:
    if not isinstance(node, dict):
        return [f"{where}: expected text in every language ({', '.join(LANGUAGES)})"]
    out = []
    for lang in LANGUAGES:
        value = node.get(lang)
        if not isinstance(value, str) or not value.strip():
            out.append(f"{where}: missing {lang} text")
    extra = set(node) - set(LANGUAGES)
    if extra:
        out.append(f"{where}: unknown languages {sorted(extra)}")
    return out


def validate_source(data: Any, *, name: str = "source") -> list[str]:
    """Everything wrong with one parsed source (empty list when it is usable).

    Checks the shape, that every item has a well-formed id unique in the sheet, and that
    every text exists in every language.

    >>> validate_source({"id": "x", "title": {"en": "T", "ru": "Т"}, "summary": {"en": "S", "ru": "С"},
    ...                  "sections": [{"id": "x.s", "title": {"en": "A", "ru": "А"},
    ...                                "items": [{"id": "x.s.a", "kind": "text", "text": {"en": "Hi"}}]}]})
    ['x.s.a.text: missing ru text']
    """
    if not isinstance(data, dict):
        return [f"{name}: the file must hold a mapping"]
    problems: list[str] = []
    sheet_id = data.get("id")
    if not isinstance(sheet_id, str) or not ID_PATTERN.match(sheet_id):
        problems.append(f"{name}: 'id' must be a lowercase identifier")
        sheet_id = name
    seen: set[str] = set()

    def claim(item_id: Any, where: str) -> None:
        if not isinstance(item_id, str) or not ID_PATTERN.match(item_id):
            problems.append(f"{where}: bad or missing id {item_id!r}")
        elif item_id in seen:
            problems.append(f"{where}: duplicate id {item_id!r}")
        else:
            seen.add(item_id)

    if not isinstance(data.get("compact", False), bool):
        problems.append(f"{sheet_id}.compact: true or false")
    pages = data.get("pages")
    if pages is not None and (not isinstance(pages, int) or isinstance(pages, bool) or pages < 1):
        problems.append(f"{sheet_id}.pages: the printed page budget must be a whole number of pages, 1 or more")
    problems += _text_problems(data.get("title"), f"{sheet_id}.title")
    problems += _text_problems(data.get("summary"), f"{sheet_id}.summary")
    for i, field in enumerate(data.get("header_fields") or []):
        claim(field.get("id") if isinstance(field, dict) else None, f"{sheet_id}.header_fields[{i}]")
        problems += _text_problems(field.get("text") if isinstance(field, dict) else None,
                                   f"{sheet_id}.header_fields[{i}]")
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        return problems + [f"{sheet_id}: 'sections' must be a non-empty list"]
    for s, section in enumerate(sections):
        where = f"{sheet_id}.sections[{s}]"
        if not isinstance(section, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        claim(section.get("id"), where)
        problems += _text_problems(section.get("title"), f"{section.get('id', where)}.title")
        if "intro" in section:
            problems += _text_problems(section["intro"], f"{section.get('id', where)}.intro")
        if "file" in section and section["file"] not in INPUT_FILES:
            problems.append(f"{where}: unknown input file {section['file']!r}")
        items = section.get("items")
        if not isinstance(items, list) or not items:
            problems.append(f"{where}: 'items' must be a non-empty list")
            continue
        for i, item in enumerate(items):
            iwhere = f"{where}.items[{i}]"
            if not isinstance(item, dict):
                problems.append(f"{iwhere}: expected a mapping")
                continue
            claim(item.get("id"), iwhere)
            iid = item.get("id", iwhere)
            kind = item.get("kind")
            if kind not in ITEM_KINDS:
                problems.append(f"{iid}: unknown kind {kind!r}; use one of {', '.join(ITEM_KINDS)}")
                continue
            problems += _text_problems(item.get("text"), f"{iid}.text")
            for key in ("term", "task"):
                if key in item:
                    problems += _text_problems(item[key], f"{iid}.{key}")
            if kind == "term" and "term" not in item:
                problems.append(f"{iid}: a term needs 'term'")
            for key in ("options", "columns"):
                for j, sub in enumerate(item.get(key) or []):
                    claim(sub.get("id") if isinstance(sub, dict) else None, f"{iid}.{key}[{j}]")
                    problems += _text_problems(sub.get("text") if isinstance(sub, dict) else None,
                                               f"{iid}.{key}[{j}]")
            if kind == "choice" and not item.get("options"):
                problems.append(f"{iid}: a choice needs 'options'")
            if kind == "table" and not item.get("columns"):
                problems.append(f"{iid}: a table needs 'columns'")
            labels = item.get("labels")
            if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)):
                problems.append(f"{iid}.labels: a list of row labels (e.g. tiers) expected")
            for j, row in enumerate(item.get("examples") or []):
                if not isinstance(row, list) or len(row) != len(item.get("columns") or []):
                    problems.append(f"{iid}.examples[{j}]: one cell per column expected")
                    continue
                for k, cell in enumerate(row):
                    if cell is not None:  # None leaves the cell blank to fill in
                        problems += _text_problems(cell, f"{iid}.examples[{j}][{k}]")
            if kind == "column" and (not isinstance(item.get("name"), str) or "file" not in section):
                problems.append(f"{iid}: a column needs 'name' and a section with 'file'")
            if kind == "setting" and not is_setting_key(item.get("key", "")):
                problems.append(f"{iid}: {item.get('key')!r} is not a setting of CompanySettings")
    return problems


def load_sheet(path: Path) -> Sheet:
    """Read and validate one source; ValueError lists every problem at once."""
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    problems = validate_source(data, name=Path(path).stem)
    if not problems and data["id"] != Path(path).stem:
        problems.append(f"{path.name}: id {data['id']!r} must equal the file name")
    if problems:
        raise ValueError(f"{path}:\n  " + "\n  ".join(problems))
    return Sheet(data["id"], data)


def load_sheets(folder: Path = SOURCE_DIR) -> list[Sheet]:
    """Every source in `folder`, sorted by file name; ids must be unique across sheets too."""
    sheets = [load_sheet(p) for p in sorted(Path(folder).glob("*.yml"))]
    seen: dict[str, str] = {}
    clashes = []
    for sheet in sheets:
        ids = [f["id"] for f in sheet.data.get("header_fields") or []]
        ids += [s["id"] for s in sheet.sections]
        for item in sheet.items():
            ids += [item["id"]] + [sub["id"] for key in ("options", "columns") for sub in item.get(key) or []]
        for item_id in ids:
            if item_id in seen and seen[item_id] != sheet.id:
                clashes.append(f"{item_id!r} in {seen[item_id]} and {sheet.id}")
            seen[item_id] = sheet.id
    if clashes:
        raise ValueError("ids used by two sheets: " + "; ".join(clashes))
    return sheets


# ---------------------------------------------------------------------------- settings

def _leaf_settings(model: type[BaseModel] = CompanySettings, prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _leaf_settings(annotation, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def setting_keys() -> list[str]:
    """Dotted keys of every leaf setting of company.yml, in model order.

    >>> "abc.cutoffs" in setting_keys(), "abc" in setting_keys()
    (True, False)
    """
    return _leaf_settings()


def setting_sections() -> list[str]:
    """Names of the nested sections of company.yml (`load`, `abc`, ...)."""
    return sorted({key.split(".")[0] for key in setting_keys() if "." in key})


def is_setting_key(key: Any) -> bool:
    """True for a leaf setting (`abc.cutoffs`) or a section written as `abc.*`.

    >>> is_setting_key("abc.by"), is_setting_key("abc.*"), is_setting_key("abc.nope")
    (True, True, False)
    """
    if not isinstance(key, str):
        return False
    if key.endswith(".*"):
        return key[:-2] in setting_sections()
    return key in setting_keys()


def setting_default(key: str) -> Any:
    """The default of one setting as plain YAML data (tuples become lists).

    >>> setting_default("abc.cutoffs")
    [0.8, 0.95]
    """
    node: Any = CompanySettings().model_dump(mode="json")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    if key not in setting_keys():
        raise KeyError(key)
    return node


def _yaml_scalar(value: Any) -> str:
    """A value on one line, in YAML flow style."""
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=10_000).strip().removesuffix("...").strip()


def setting_descriptions(sheets: Sequence[Sheet], lang: str) -> dict[str, str]:
    """Setting key -> its description in `lang`, from the `setting` items of the sources."""
    return {item["key"]: item["text"][lang] for sheet in sheets for item in sheet.items()
            if item["kind"] == "setting"}


def render_company_yml(sheets: Sequence[Sheet], lang: str = "en") -> str:
    """A fully commented company.yml: every setting at its default, with its description.

    Loading the result gives exactly `CompanySettings()`, so the example can be copied as is.
    """
    descriptions = setting_descriptions(sheets, lang)
    lines = [f"# {line}" for line in t("templates.company_yml.header", lang).splitlines()]
    lines.append("")
    current_section = None
    for key in setting_keys():
        parts = key.split(".")
        if len(parts) == 2 and parts[0] != current_section:
            current_section = parts[0]
            section_text = descriptions.get(current_section + ".*") or ""
            lines.append("")
            if section_text:
                lines.append(f"# {section_text}")
            lines.append(f"{current_section}:")
        elif len(parts) == 1:
            current_section = None
        indent = "  " * (len(parts) - 1)
        text = descriptions.get(key, "")
        for chunk in _wrap(text, 96 - len(indent)):
            lines.append(f"{indent}# {chunk}")
        lines.append(f"{indent}{parts[-1]}: {_yaml_scalar(setting_default(key))}")
    return "\n".join(lines).rstrip() + "\n"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width=width) if text else []


def render_csv_header(kind: str) -> str:
    """The header line of a blank input file: required columns, then optional ones.

    >>> render_csv_header("placement")
    'client_id,tier,note\\n'
    """
    spec = COLUMNS[kind]
    columns = spec["required"] + spec["optional"]
    if kind == "clients":  # example traits: criteria are made of them (described in company_folder.yml)
        from helpers.step1_list_clients.coverage import EXAMPLE_TRAITS

        columns = columns + list(EXAMPLE_TRAITS)
    return ",".join(columns) + "\n"


# ---------------------------------------------------------------------------- text formatting

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline_html(text: str) -> str:
    """Escape `text` for HTML, then turn `code` and **bold** into tags (escaping comes first).

    >>> inline_html("Use `a<b>` and **never** <script>")
    'Use <code>a&lt;b&gt;</code> and <strong>never</strong> &lt;script&gt;'
    """
    escaped = html.escape(" ".join(str(text).split()), quote=True)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


def _md(text: str) -> str:
    return " ".join(str(text).split())


def _md_cell(text: str) -> str:
    return _md(text).replace("|", "\\|")


def _runs(items: list[dict[str, Any]]) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    run: list[dict[str, Any]] = []
    for item in items:
        if run and item["kind"] != run[-1]["kind"]:
            yield run[-1]["kind"], run
            run = []
        run.append(item)
    if run:
        yield run[-1]["kind"], run


# ---------------------------------------------------------------------------- markdown

WRITE_LINE_MD = "." * 72


def _md_run(kind: str, run: list[dict[str, Any]], lang: str, section: dict[str, Any]) -> list[str]:
    L = lang
    out: list[str] = []
    if kind == "text":
        for item in run:
            out += [_md(item["text"][L]), ""]
    elif kind == "point":
        out += [f"- {_md(i['text'][L])}" for i in run] + [""]
    elif kind == "step":
        out += [f"{n}. {_md(i['text'][L])}" for n, i in enumerate(run, 1)] + [""]
    elif kind == "check":
        out += [f"- [ ] {_md(i['text'][L])}" for i in run] + [""]
    elif kind == "term":
        for item in run:
            line = f"- **{_md(item['term'][L])}** — {_md(item['text'][L])}"
            if "task" in item:
                line += f" *{t('templates.label.task', L)}:* {_md(item['task'][L])}"
            out.append(line)
        out.append("")
    elif kind == "field":
        for item in run:
            out += [f"**{_md(item['text'][L])}**", ""]
            out += [WRITE_LINE_MD, ""] * int(item.get("lines", 1))
    elif kind == "scale":
        points = int(run[0].get("points", 4))
        head = [t("templates.label.aspect", L)] + [str(p) for p in range(1, points + 1)]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + _md_cell(i["text"][L]) + " |" + " ☐ |" * points for i in run]
        out.append("")
    elif kind == "choice":
        for item in run:
            out += [f"**{_md(item['text'][L])}**", ""]
            out += [f"- [ ] {_md(o['text'][L])}" for o in item["options"]] + [""]
    elif kind == "table":
        for item in run:
            out += [f"**{_md(item['text'][L])}**", ""]
            head = [_md_cell(c["text"][L]) for c in item["columns"]]
            out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for row in item.get("examples") or []:
                out.append("| " + " | ".join(f"*{_md_cell(cell[L])}*" if cell else "" for cell in row) + " |")
            out += [f"| **{_md_cell(label)}** |" + "   |" * (len(head) - 1) for label in item.get("labels") or []]
            out += ["|" + "   |" * len(head)] * int(item.get("rows", 0))
            out.append("")
    elif kind == "column":
        head = [t("templates.label.column", L), t("templates.label.required", L), t("templates.label.meaning", L)]
        out += ["| " + " | ".join(head) + " |", "|---|---|---|"]
        for item in run:
            need = t("templates.label.yes" if item.get("required") else "templates.label.no", L)
            out.append(f"| `{item['name']}` | {need} | {_md_cell(item['text'][L])} |")
        out.append("")
    elif kind == "setting":
        head = [t("templates.label.setting", L), t("templates.label.default", L), t("templates.label.meaning", L)]
        out += ["| " + " | ".join(head) + " |", "|---|---|---|"]
        for item in run:
            default = _yaml_scalar(setting_default(item["key"])) if not item["key"].endswith(".*") else ""
            default_md = f"`{_md_cell(default)}`" if default else ""
            out.append(f"| `{item['key'].removesuffix('.*')}` | {default_md} | {_md_cell(item['text'][L])} |")
        out.append("")
    return out


def render_markdown(sheet: Sheet, lang: str) -> str:
    """The sheet as Markdown in `lang` (for reading on screen and in the repository)."""
    L = lang
    data = sheet.data
    out = [f"<!-- {t('templates.generated', L, source=f'templates/source/{sheet.id}.yml')} -->", "",
           f"# {_md(data['title'][L])}", "", _md(data["summary"][L]), ""]
    fields = data.get("header_fields") or []
    if fields:
        out += ["  \n".join(f"**{_md(f['text'][L])}:** {'_' * 30}" for f in fields), ""]
    for section in sheet.sections:
        out += [f"## {_md(section['title'][L])}", ""]
        if "intro" in section:
            out += [_md(section["intro"][L]), ""]
        for kind, run in _runs(section["items"]):
            out += _md_run(kind, run, L, section)
    out += ["---", "", t("templates.footer", L, id=sheet.id, method=", ".join(map(str, data.get("method", [])))), ""]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------------------- html

# Printable on A4: boxes to tick and lines to write on; no scripts, fonts or links fetched.
CSS = """
@page { size: A4; margin: 14mm 14mm 16mm 14mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4;
       color: #1a1a1a; max-width: 190mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 18pt; margin: 0 0 2mm; border-bottom: 2px solid #1b7837; padding-bottom: 1.5mm; }
h2 { font-size: 12.5pt; margin: 5mm 0 2mm; color: #1b4d2b; break-after: avoid; }
p.summary { margin: 0 0 4mm; color: #333; }
section { break-inside: auto; }
.fields { display: flex; flex-wrap: wrap; gap: 2mm 8mm; margin: 0 0 3mm; }
.fields span.label { font-weight: bold; }
.fields span.blank { display: inline-block; min-width: 55mm; border-bottom: 1px solid #555; height: 1.2em; }
ul, ol { margin: 1mm 0 3mm; padding-left: 6mm; }
li { margin: 0.8mm 0; break-inside: avoid; }
ul.checks { list-style: none; padding-left: 0; }
ul.checks li { padding-left: 7mm; text-indent: -7mm; }
ul.checks.two { columns: 2; column-gap: 8mm; }
div.choices { display: grid; grid-template-columns: repeat(auto-fit, minmax(52mm, 1fr)); column-gap: 5mm; }
div.choice { break-inside: avoid; }
div.choice p.caption { margin-top: 1mm; }
span.box { display: inline-block; width: 4mm; height: 4mm; border: 1.4px solid #333; border-radius: 0.6mm;
           vertical-align: -0.6mm; margin-right: 2.5mm; text-indent: 0; background: #fff; }
dl.terms { margin: 1mm 0 3mm; }
dl.terms div.term { display: grid; grid-template-columns: 36mm 1fr; column-gap: 4mm; margin: 0 0 1.8mm;
                    break-inside: avoid; }
dl.terms dt { font-weight: bold; overflow-wrap: anywhere; }
dl.terms dd { margin: 0; }
dl.terms .task { display: block; color: #333; font-style: italic; }
div.field { margin: 2mm 0 4mm; break-inside: avoid; }
div.field p { margin: 0 0 1mm; font-weight: bold; }
div.line { border-bottom: 1px solid #9a9a9a; height: 6.5mm; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 4mm; }
th, td { border: 1px solid #777; padding: 1.2mm 1.8mm; vertical-align: top; text-align: left; }
th { background: #e8f1ea; font-size: 9.5pt; }
tr { break-inside: avoid; }
td.blank { height: 8.5mm; }
th.label { background: #f5f5f5; width: 16mm; text-align: center; vertical-align: middle; }
td.example { color: #444; font-style: italic; }
td.tick, th.tick { text-align: center; width: 11mm; }
td.tick span.box { margin: 0; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 9pt; background: #f2f2f2; padding: 0 0.8mm; }
p.caption { margin: 2mm 0 1mm; font-weight: bold; }
footer { margin-top: 4mm; padding-top: 1.5mm; border-top: 1px solid #bbb; font-size: 8.5pt; color: #555; }
@media print { body { padding: 0; max-width: none; } }
/* `compact: true` in a source: a sheet that must stay on its page(s) prints tighter */
body.compact { font-size: 9.5pt; line-height: 1.3; }
body.compact h1 { font-size: 16pt; }
body.compact h2 { font-size: 11.5pt; margin: 3mm 0 1.5mm; }
body.compact p.summary { margin-bottom: 2.5mm; }
body.compact .fields { gap: 1.5mm 6mm; }
body.compact .fields span.blank { min-width: 48mm; }
body.compact li { margin: 0.5mm 0; }
body.compact p.caption { margin: 1mm 0 0.5mm; }
body.compact td.blank { height: 7.5mm; }
body.compact div.line { height: 6mm; }
/* columns and settings (the company folder): a reference read line by line, set close like a dictionary */
table.reference { font-size: 8pt; line-height: 1.2; margin: 1mm 0 2.5mm; }
table.reference th { font-size: 7.8pt; }
table.reference th, table.reference td { padding: 0.5mm 1.4mm; }
table.reference code { font-size: 7.5pt; padding: 0; }
table.reference th:first-child { width: 28%; }
table.reference th:nth-child(2) { width: 12%; }
table.reference td:first-child code { overflow-wrap: anywhere; }
""".strip()


def _html_run(kind: str, run: list[dict[str, Any]], lang: str) -> list[str]:
    L = lang
    box = '<span class="box"></span>'
    out: list[str] = []
    if kind == "text":
        out += [f'<p id="{i["id"]}">{inline_html(i["text"][L])}</p>' for i in run]
    elif kind == "point":
        out += ["<ul>"] + [f'<li id="{i["id"]}">{inline_html(i["text"][L])}</li>' for i in run] + ["</ul>"]
    elif kind == "step":
        out += ["<ol>"] + [f'<li id="{i["id"]}">{inline_html(i["text"][L])}</li>' for i in run] + ["</ol>"]
    elif kind == "check":
        # short ticks (a few words each) go in two columns: half the paper, same reading order
        short = len(run) >= 4 and max(len(i["text"][L]) for i in run) <= SHORT_CHECK_CHARS
        out += ['<ul class="checks two">' if short else '<ul class="checks">']
        out += [f'<li id="{i["id"]}">{box}{inline_html(i["text"][L])}</li>' for i in run]
        out += ["</ul>"]
    elif kind == "term":
        # one block per term (not one grid for all), so a long glossary splits between pages
        out.append('<dl class="terms">')
        for item in run:
            task = ""
            if "task" in item:
                task = (f'<span class="task">{inline_html(t("templates.label.task", L))}: '
                        f'{inline_html(item["task"][L])}</span>')
            out += [f'<div class="term"><dt id="{item["id"]}">{inline_html(item["term"][L])}</dt>',
                    f"<dd>{inline_html(item['text'][L])}{task}</dd></div>"]
        out.append("</dl>")
    elif kind == "field":
        for item in run:
            out.append(f'<div class="field" id="{item["id"]}"><p>{inline_html(item["text"][L])}</p>'
                       + '<div class="line"></div>' * int(item.get("lines", 1)) + "</div>")
    elif kind == "scale":
        points = int(run[0].get("points", 4))
        out.append("<table><thead><tr>"
                   f"<th>{inline_html(t('templates.label.aspect', L))}</th>"
                   + "".join(f'<th class="tick">{p}</th>' for p in range(1, points + 1)) + "</tr></thead><tbody>")
        for item in run:
            out.append(f'<tr id="{item["id"]}"><td>{inline_html(item["text"][L])}</td>'
                       + f'<td class="tick">{box}</td>' * points + "</tr>")
        out.append("</tbody></table>")
    elif kind == "choice":
        # neighbouring questions side by side (up to three across A4), each with its options below
        out.append('<div class="choices">' if len(run) > 1 else "<div>")
        for item in run:
            out.append(f'<div class="choice"><p class="caption" id="{item["id"]}">{inline_html(item["text"][L])}</p>')
            out += ['<ul class="checks">']
            out += [f'<li id="{o["id"]}">{box}{inline_html(o["text"][L])}</li>' for o in item["options"]]
            out += ["</ul></div>"]
        out.append("</div>")
    elif kind == "table":
        for item in run:
            cols = item["columns"]
            out.append(f'<p class="caption" id="{item["id"]}">{inline_html(item["text"][L])}</p>')
            out.append("<table><thead><tr>" + "".join(f"<th>{inline_html(c['text'][L])}</th>" for c in cols)
                       + "</tr></thead><tbody>")
            for row in item.get("examples") or []:
                out.append("<tr>" + "".join(f'<td class="example">{inline_html(cell[L])}</td>' if cell
                                            else '<td class="blank"></td>' for cell in row) + "</tr>")
            out += [f'<tr><th scope="row" class="label">{html.escape(label)}</th>'
                    + '<td class="blank"></td>' * (len(cols) - 1) + "</tr>" for label in item.get("labels") or []]
            out += ["<tr>" + '<td class="blank"></td>' * len(cols) + "</tr>"] * int(item.get("rows", 0))
            out.append("</tbody></table>")
    elif kind == "column":
        out.append('<table class="reference"><thead><tr>' + "".join(
            f"<th>{inline_html(t(k, L))}</th>" for k in
            ("templates.label.column", "templates.label.required", "templates.label.meaning")) + "</tr></thead><tbody>")
        for item in run:
            need = t("templates.label.yes" if item.get("required") else "templates.label.no", L)
            out.append(f'<tr id="{item["id"]}"><td><code>{html.escape(item["name"])}</code></td>'
                       f"<td>{inline_html(need)}</td><td>{inline_html(item['text'][L])}</td></tr>")
        out.append("</tbody></table>")
    elif kind == "setting":
        out.append('<table class="reference"><thead><tr>' + "".join(
            f"<th>{inline_html(t(k, L))}</th>" for k in
            ("templates.label.setting", "templates.label.default", "templates.label.meaning")) + "</tr></thead><tbody>")
        for item in run:
            key = item["key"]
            default = "" if key.endswith(".*") else f"<code>{html.escape(_yaml_scalar(setting_default(key)))}</code>"
            out.append(f'<tr id="{item["id"]}"><td><code>{html.escape(key.removesuffix(".*"))}</code></td>'
                       f"<td>{default}</td><td>{inline_html(item['text'][L])}</td></tr>")
        out.append("</tbody></table>")
    return out


def css_string(text: str) -> str:
    r"""`text` as a quoted CSS string that cannot close the string or the <style> element.

    >>> print(css_string('say "hi" </style>'))
    "say \22 hi\22  \3c /style\3e "
    """
    out = []
    for ch in str(text):
        if ch in '"\\<>' or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def html_page(title: str, body: Sequence[str], *, lang: str, extra_css: str = "", print_footer: str = "",
              body_class: str = "") -> str:
    """A complete, self-contained HTML page: inline CSS, no scripts, nothing fetched.

    `title` is plain text (escaped here); `body` lines must already be safe HTML. `print_footer`
    (plain text) goes into the bottom margin of every printed page with the page number, so a
    footer never lands alone on an extra sheet; on screen the page's own <footer> shows instead.
    """
    if print_footer:
        small = 'font-family: "DejaVu Sans", Arial, sans-serif; font-size: 7.5pt; color: #666;'
        extra_css += (f"\n@page {{ @bottom-left {{ content: {css_string(print_footer.replace('`', ''))}; {small} }}"
                      f' @bottom-right {{ content: counter(page) " / " counter(pages); {small} }} }}'
                      "\n@media print { footer { display: none; } }")
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>\n{CSS}\n{extra_css.strip()}\n</style>".replace("\n\n</style>", "\n</style>"),
        "</head>",
        f'<body class="{html.escape(body_class)}">' if body_class else "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def render_html(sheet: Sheet, lang: str) -> str:
    """The sheet as a printable, self-contained HTML page in `lang`."""
    L = lang
    data = sheet.data
    body = [f"<!-- {html.escape(t('templates.generated', L, source=f'templates/source/{sheet.id}.yml'))} -->",
            f'<h1 id="{sheet.id}">{inline_html(data["title"][L])}</h1>',
            f'<p class="summary">{inline_html(data["summary"][L])}</p>']
    fields = data.get("header_fields") or []
    if fields:
        body.append('<div class="fields">' + "".join(
            f'<div id="{f["id"]}"><span class="label">{inline_html(f["text"][L])}:</span> <span class="blank"></span></div>'
            for f in fields) + "</div>")
    for section in sheet.sections:
        body += [f'<section id="{section["id"]}">', f"<h2>{inline_html(section['title'][L])}</h2>"]
        if "intro" in section:
            body.append(f"<p>{inline_html(section['intro'][L])}</p>")
        for kind, run in _runs(section["items"]):
            body += _html_run(kind, run, L)
        body.append("</section>")
    footer = t("templates.footer", L, id=sheet.id, method=", ".join(map(str, data.get("method", []))))
    body.append("<footer>" + inline_html(footer) + "</footer>")
    return html_page(data["title"][L], body, lang=L, print_footer=footer,
                     body_class="compact" if data.get("compact") else "")


# ---------------------------------------------------------------------------- all outputs

def render_index(sheets: Sequence[Sheet]) -> str:
    """templates/README.md: every sheet with its method steps and its copies (generated, so it cannot drift)."""
    out = [f"<!-- {t('templates.generated', 'en', source='templates/source/*.yml')} -->", "",
           f"# {t('templates.index.title', 'en')}", "", _md(t("templates.index.intro", "en")), "",
           "| " + " | ".join(t(f"templates.index.{k}", "en") for k in ("sheet", "method", "english", "russian")) + " |",
           "|---|---|---|---|"]
    for sheet in sorted(sheets, key=lambda s: (min(s.data.get("method", [9])), s.id)):
        title = sheet.data["title"]
        steps = ", ".join(map(str, sheet.data.get("method", [])))
        en = f"[{_md_cell(title['en'])}](en/{sheet.id}.md) · [HTML](en/{sheet.id}.html)"
        ru = f"[{_md_cell(title['ru'])}](ru/{sheet.id}.md) · [HTML](ru/{sheet.id}.html)"
        out.append(f"| `{sheet.id}` | {steps} | {en} | {ru} |")
    out += ["", _md(t("templates.index.also", "en")), ""]
    return "\n".join(out)


def render_all(sheets: Sequence[Sheet] | None = None) -> dict[str, str]:
    """Every rendered file, as {path relative to templates/: text}. Deterministic: no dates."""
    sheets = load_sheets() if sheets is None else sheets
    out: dict[str, str] = {}
    for sheet in sheets:
        for lang in LANGUAGES:
            out[f"{lang}/{sheet.id}.md"] = render_markdown(sheet, lang)
            out[f"{lang}/{sheet.id}.html"] = render_html(sheet, lang)
    out["README.md"] = render_index(sheets)
    out["company.yml"] = render_company_yml(sheets, "en")
    for lang in LANGUAGES:
        if lang != "en":
            out[f"{lang}/company.yml"] = render_company_yml(sheets, lang)
    for kind in INPUT_FILES:
        out[f"{kind}.csv"] = render_csv_header(kind)
    return out


def stale_templates(root: Path = TEMPLATES_DIR, rendered: dict[str, str] | None = None) -> list[str]:
    """Rendered copies under `root` that are missing or differ from their source."""
    rendered = render_all() if rendered is None else rendered
    stale = []
    for rel, text in rendered.items():
        path = Path(root) / rel
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            stale.append(rel)
    return stale


def write_templates(root: Path = TEMPLATES_DIR, rendered: dict[str, str] | None = None) -> list[Path]:
    """Write every rendered copy that changed; return the paths written."""
    from helpers.core.export import write_text

    rendered = render_all() if rendered is None else rendered
    return [write_text(rendered[rel], Path(root) / rel) for rel in stale_templates(root, rendered)]


def report_stale(stale: list[str], rendered: int, area: str) -> int:
    """`--check` of a render script: name each stale rendered copy and exit 1, else say all are up to date.

    `area` is the catalogue area of the messages (`templates`, `notebooks`): `<area>.cli.stale`,
    `<area>.cli.stale_fix` and `<area>.cli.up_to_date`.
    """
    for rel in stale:
        print(t(f"{area}.cli.stale", path=rel), file=sys.stderr)
    if stale:
        print(t(f"{area}.cli.stale_fix"), file=sys.stderr)
        return 1
    print(t(f"{area}.cli.up_to_date", count=rendered))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`render_templates.py [--check] [--root DIR]`: render, or exit 1 when a copy is stale."""
    parser = argparse.ArgumentParser(prog="render_templates.py", description=t("templates.cli.description"))
    parser.add_argument("--check", action="store_true", help=t("templates.cli.check_help"))
    parser.add_argument("--root", type=Path, default=TEMPLATES_DIR, help=t("templates.cli.root_help"))
    args = parser.parse_args(argv)
    try:
        sheets = load_sheets(args.root / "source")
    except ValueError as exc:
        print(t("templates.cli.bad_source", detail=str(exc)), file=sys.stderr)
        return 2
    rendered = render_all(sheets)
    if args.check:
        return report_stale(stale_templates(args.root, rendered), len(rendered), "templates")
    written = write_templates(args.root, rendered)
    print(t("templates.cli.written", count=len(written), total=len(rendered)))
    return 0
