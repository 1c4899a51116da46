"""Step 5 of the method on paper: the one-page qualification checklist for sales and the one-page client profile.

Renders the checklist and profile that `helpers.step5_report.handoff` builds into two self-contained A4 pages
(`checklist.html`, `profile.html`) beside report.html. Each stays on ONE printed page whatever the
number of criteria: the font shrinks in steps, and only past the smallest legible size are the
weakest items left off, with a line saying how many and where they are.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence

from helpers.core.export import write_text
from helpers.core.i18n import get_language, t
from helpers.kit.templates import html_page, inline_html

CHECKLIST_FILE = "checklist.html"
PROFILE_FILE = "profile.html"

# Font sizes tried, largest first; below 7 pt a printed sheet is no longer read in a meeting.
FONT_STEPS_PT = (10.5, 9.5, 8.5, 7.5, 7.0)
# The printable area of A4 portrait with the margins of PAGE_CSS, in mm.
PAGE_WIDTH_MM = 186.0
PAGE_HEIGHT_MM = 265.0
# Heights are estimated from character counts; this margin covers wider glyphs and uneven wrapping
# (checked by tests/test_printing.py, which prints 1 to 60 long questions and counts pages).
ESTIMATE_MARGIN = 1.05

PAGE_CSS = """
@page { size: A4 portrait; margin: 12mm 12mm 14mm 12mm; }
body { max-width: 186mm; padding: 0; font-size: var(--font); }
h1 { font-size: calc(var(--font) * 1.55); }
h2 { font-size: calc(var(--font) * 1.15); margin: 3mm 0 1.5mm; }
p { margin: 0 0 2mm; }
/* fixed layout: the column widths are the ones the fit estimate assumes */
table.checklist { table-layout: fixed; }
table.checklist th, table.checklist td { padding: 1mm 1.5mm; overflow-wrap: break-word; }
table.checklist col.n { width: 7mm; }
table.checklist col.q { width: 36%; }
table.checklist col.ticks { width: 24mm; }
table.checklist th { font-size: calc(var(--font) * 0.9); }
table.checklist td.n { text-align: right; color: #555; white-space: nowrap; }
table.checklist td.q { font-weight: bold; }
table.checklist td.a { background: #eef7eb; }
table.checklist td.f { background: #fbeceb; }
table.checklist td.ticks { white-space: nowrap; overflow: hidden; font-size: calc(var(--font) * 0.85); }
table.checklist td.ticks span.box { width: 1em; height: 1em; margin-right: 1mm; vertical-align: -0.15em; }
table.checklist td.ticks div { margin: 0; line-height: 1.4; }
div.route { border-left: 1.2mm solid #1b7837; background: #f3f8f4; padding: 1.5mm 3mm; margin: 2mm 0 3mm; }
div.notes div.line { height: 6.5mm; }
ul.profile { columns: var(--columns); column-gap: 8mm; }
ul.profile li { break-inside: avoid; }
p.more, p.source { color: #444; font-style: italic; font-size: calc(var(--font) * 0.9); }
footer { font-size: 7.5pt; }
@media print { body { max-width: none; } footer { display: none; } }
""".strip()


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of the handoff object, whether it is a dataclass-like object or a mapping."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _texts(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values] if values.strip() else []
    return [str(v) for v in values if str(v).strip()]


def _lines(text: str, chars_per_line: float) -> int:
    """Printed lines a text takes in a column `chars_per_line` wide (at least one)."""
    return max(1, -(-len(text) // max(int(chars_per_line), 1)))


@dataclass(frozen=True)
class Fit:
    """How a one-page sheet is printed: the font size, how many items fit, and the columns of a list."""

    font_pt: float
    shown: int
    columns: int = 1


def _chars_per_mm(font_pt: float) -> float:
    # DejaVu Sans averages about 0.6 em per character in Cyrillic (a little less in Latin); 1 pt = 0.3528 mm
    return 1.0 / (0.6 * font_pt * 0.3528)


def _line_mm(font_pt: float) -> float:
    return font_pt * 0.3528 * 1.4


def fit_checklist(questions: Sequence[Any], fixed_mm: float) -> Fit:
    """The largest font at which the questions' table fits under `fixed_mm` of other content.

    Estimates each row's height from its longest cell (question 34%, target and red-flag answers
    the rest, tick boxes three lines); when even the smallest font overflows, only the first
    questions (the strongest criteria come first) are kept.

    >>> fit_checklist([{"question": "Q?", "target_answers": ["a"], "red_flag_answers": []}] * 3, 120).font_pt
    10.5
    >>> f = fit_checklist([{"question": "Q" * 200, "target_answers": ["a" * 300], "red_flag_answers": []}] * 40, 120)
    >>> f.font_pt, f.shown < 40
    (7.0, True)
    """
    rows = [([" ".join(_texts(_get(q, "question", "")))], _texts(_get(q, "target_answers")) or ["—"],
             _texts(_get(q, "red_flag_answers")) or ["—"]) for q in questions]
    answers = (PAGE_WIDTH_MM * 0.64 - 7 - 24) / 2  # the rest of the width, less number and tick columns (PAGE_CSS)
    widths = (0.36 * PAGE_WIDTH_MM - 3, answers - 3, answers - 3)
    for step, font in enumerate(FONT_STEPS_PT):
        cpm = _chars_per_mm(font)
        line = _line_mm(font)
        budget = PAGE_HEIGHT_MM - fixed_mm * font / FONT_STEPS_PT[0] - 2 * line  # the header row
        used, shown = 0.0, 0
        for cells in rows:
            # answers start on their own lines; the tick boxes take three lines
            lines = max(max(sum(_lines(text, w * cpm) for text in texts) for texts, w in zip(cells, widths)), 3)
            height = (lines * line + 2.5) * ESTIMATE_MARGIN
            if used + height > budget:
                break
            used += height
            shown += 1
        if shown == len(rows) or step == len(FONT_STEPS_PT) - 1:
            return Fit(font, shown)
    raise AssertionError("unreachable")  # pragma: no cover


def fit_list(items: Sequence[str], fixed_mm: float) -> Fit:
    """The largest font (and one or two columns) at which a list of sentences fits the page.

    >>> fit_list(["a sign of A"] * 5, 100)
    Fit(font_pt=10.5, shown=5, columns=1)
    >>> fit_list(["x" * 120] * 200, 100).shown < 200
    True
    """
    for step, font in enumerate(FONT_STEPS_PT):
        for columns in (1, 2):
            width = (PAGE_WIDTH_MM - 8 * (columns - 1)) / columns - 6
            line = _line_mm(font)
            budget = (PAGE_HEIGHT_MM - fixed_mm * font / FONT_STEPS_PT[0]) * columns
            used, shown = 0.0, 0
            for item in items:
                height = (_lines(item, width * _chars_per_mm(font)) * line + 1.0) * ESTIMATE_MARGIN
                if used + height > budget:
                    break
                used += height
                shown += 1
            if shown == len(items):
                return Fit(font, shown, columns)
        if step == len(FONT_STEPS_PT) - 1:
            return Fit(font, shown, 2)
    raise AssertionError("unreachable")  # pragma: no cover


def _style(fit: Fit) -> str:
    return f":root {{ --font: {fit.font_pt}pt; --columns: {fit.columns}; }}"


def _header(title: str, company: str, day: str, fields: Sequence[str]) -> list[str]:
    e = html.escape
    out = [f"<h1>{e(title)}</h1>", f'<p class="summary">{e(company)} · {e(day)}</p>']
    if fields:
        out.append('<div class="fields">' + "".join(
            f'<div><span class="label">{e(f)}:</span> <span class="blank"></span></div>' for f in fields) + "</div>")
    return out


def _page(body: list[str], *, title: str, company: str, day: str, fit: Fit, lines_label: str) -> str:
    """Close a one-page sheet: three lines to write on, the footer printed in the margin, the page."""
    body = body + [f'<div class="field notes"><p>{html.escape(lines_label)}</p>' + '<div class="line"></div>' * 3
                   + "</div>"]
    footer = t("report.printables.footer", company=company, day=day)
    body.append(f"<footer>{html.escape(footer)}</footer>")
    return html_page(f"{title} — {company}", body, lang=get_language(), extra_css=PAGE_CSS + "\n" + _style(fit),
                     print_footer=footer)


def render_checklist_html(checklist: Any, *, company: str, day: str | None = None) -> str:
    """The sales qualification checklist as one printable A4 page (self-contained HTML).

    Args:
        checklist: what `helpers.step5_report.handoff.build_checklist` returns (mapping or object) with `title`,
            `intro`, `source_note`, `route_rule`, `empty` and `questions` (each with `question`,
            `target_answers`, `red_flag_answers`); missing fields are left out, not an error.
        company: the company's name (plain text, escaped here).
        day: the date printed on the sheet (ISO); today when None.
    """
    e = html.escape
    day = day or date.today().isoformat()
    title = str(_get(checklist, "title", "") or t("criteria.checklist.title"))
    questions = list(_get(checklist, "questions", []) or [])
    intro = " ".join(_texts([_get(checklist, "intro", ""), _get(checklist, "source_note", "")]))
    route = str(_get(checklist, "route_rule", "") or "")
    # header with fields, intro, route box, notes lines and footer, in mm at the largest font
    fixed = (52 + _lines(intro, 95) * 5.2 + (_lines(route, 95) * 5.2 + 8 if route else 0) + 28) * ESTIMATE_MARGIN
    fit = fit_checklist(questions, fixed)
    body = _header(title, company, day, [t("report.printables.lead"), t("report.printables.date"),
                                         t("report.printables.who")])
    if intro:
        body.append(f"<p>{inline_html(intro)}</p>")
    empty = str(_get(checklist, "empty", "") or "")
    if empty:
        body.append(f'<p class="more">{inline_html(empty)}</p>')
    if questions:
        box = '<span class="box"></span>'
        ticks = "".join(f"<div>{box}{e(t(k))}</div>" for k in
                        ("report.printables.tick_target", "report.printables.tick_flag", "report.printables.tick_unknown"))
        body.append('<table class="checklist"><colgroup><col class="n"><col class="q"><col><col><col class="ticks">'
                    '</colgroup><thead><tr><th></th>'
                    + "".join(f"<th>{e(t(k))}</th>" for k in ("report.printables.question", "report.printables.target",
                                                              "report.printables.red_flag", "report.printables.answer"))
                    + "</tr></thead><tbody>")
        for n, q in enumerate(questions[:fit.shown], start=1):
            target = "<br>".join(e(a) for a in _texts(_get(q, "target_answers"))) or "—"
            flags = "<br>".join(e(a) for a in _texts(_get(q, "red_flag_answers"))) or "—"
            body.append(f'<tr><td class="n">{n}</td><td class="q">{e(str(_get(q, "question", "")))}</td>'
                        f'<td class="a">{target}</td><td class="f">{flags}</td><td class="ticks">{ticks}</td></tr>')
        body.append("</tbody></table>")
        if fit.shown < len(questions):
            body.append(f'<p class="more">{e(t("report.printables.more_questions", shown=fit.shown, total=len(questions)))}</p>')
    if route:
        body.append(f'<div class="route"><strong>{e(t("report.printables.route"))}:</strong> {inline_html(route)}</div>')
    return _page(body, title=title, company=company, day=day, fit=fit, lines_label=t("report.printables.notes"))


def render_profile_html(profile: Any, *, company: str, day: str | None = None) -> str:
    """The ideal-client profile for marketing as one printable A4 page (self-contained HTML).

    Args:
        profile: what `helpers.step5_report.handoff.build_profile` returns (mapping or object) with `title`,
            `intro`, `size`, `empty`, `signs` and `avoid` (lists of sentences).
        company: the company's name (plain text, escaped here).
        day: the date printed on the sheet (ISO); today when None.
    """
    e = html.escape
    day = day or date.today().isoformat()
    title = str(_get(profile, "title", "") or t("criteria.profile.title"))
    intro = " ".join(_texts([_get(profile, "intro", ""), _get(profile, "size", "")]))
    signs, avoid = _texts(_get(profile, "signs")), _texts(_get(profile, "avoid"))
    fixed = (30 + _lines(intro, 95) * 5.2 + 2 * 12 + 40) * ESTIMATE_MARGIN
    fit = fit_list(signs + avoid, fixed)
    kept_signs = signs[:fit.shown]
    kept_avoid = avoid[:max(fit.shown - len(signs), 0)]
    body = _header(title, company, day, [])
    if intro:
        body.append(f"<p>{inline_html(intro)}</p>")
    empty = str(_get(profile, "empty", "") or "")
    if empty:
        body.append(f'<p class="more">{inline_html(empty)}</p>')
    for key, items in (("report.printables.signs", kept_signs), ("report.printables.avoid", kept_avoid)):
        if items:
            body.append(f"<h2>{e(t(key))}</h2>")
            body.append('<ul class="profile">' + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>")
    if fit.shown < len(signs) + len(avoid):
        body.append(f'<p class="more">{e(t("report.printables.more_items", shown=fit.shown, total=len(signs) + len(avoid)))}</p>')
    return _page(body, title=title, company=company, day=day, fit=fit, lines_label=t("report.printables.channels"))


def write_printables(wb) -> list[Path]:
    """Write checklist.html and profile.html into the workbook's output folder; return their paths.

    Built from the same criteria as the report's checklist section, so paper and report agree.
    """
    from helpers.step5_report.handoff import build_checklist, build_profile

    company = wb.company.name
    return [write_text(render_checklist_html(build_checklist(wb.criteria), company=company),
                       wb.out_dir / CHECKLIST_FILE),
            write_text(render_profile_html(build_profile(wb.criteria), company=company),
                       wb.out_dir / PROFILE_FILE)]
