"""Step 4 of the method, handed over: criteria.xlsx, the sales checklist, the ideal-client profile.

Sales gets qualification questions with target and red-flag answers and a route; marketing gets
the profile of A clients. Both are returned as data, so the report and the xlsx say the same.
"""

from __future__ import annotations

import io
import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from helpers.step4_write_criteria.criteria import CriteriaResult
from helpers.core.export import neutralise_text, write_bytes
from helpers.core.formatting import format_number
from helpers.core.i18n import label, t
from helpers.core.rules import conditions_of, trait_label

EVIDENCE_FILLS = {"supported": "#d9f0d3", "weak": "#fee8c8", "insufficient": "#eeeeee", "none": "#ffffff"}
# Columns of the "criteria" sheet: (column in the table, width, number format or None)
TABLE_COLUMNS = [
    ("id", 26, None), ("points_to", 20, None), ("rule", 48, None), ("evidence", 12, None), ("support", 9, "0"),
    ("n_a", 6, "0"), ("n_b", 6, "0"), ("n_c", 6, "0"), ("share", 9, "0%"), ("ci_low", 9, "0%"),
    ("ci_high", 9, "0%"), ("base_rate", 10, "0%"), ("lift", 7, "0.00"), ("p_value", 9, "0.000"),
    ("p_adjusted", 10, "0.000"), ("stability", 10, "0%"), ("threshold_spread", 10, "0.##"),
    ("first_contact", 10, None), ("source", 8, None), ("status", 10, None), ("expression", 40, None),
    ("rationale", 40, None), ("evidence_label", 16, None), ("declines", 9, None), ("routed", 9, None),
    ("only_with", 30, None),
]


def route_rules(result: CriteriaResult) -> list[str]:
    """Each route's rule in one sentence (the rule `prospects.route_leads` applies), for the checklist."""
    precision = f"{result.settings.decline_precision:.0%}"
    return [t("criteria.checklist_routes.full", precision=f"{result.settings.target_precision:.0%}"),
            t("criteria.checklist_routes.decline", precision=precision),
            t("criteria.checklist_routes.ask"), t("criteria.checklist_routes.standard")]


def first_contact_notes(result: CriteriaResult) -> list[str]:
    """The boxes at the top of the criteria section and the checklist: assumed first-contact traits and
    the outcome-like traits kept out."""
    notes = []
    if result.no_traits:  # no trait at all: which traits are first-contact is moot (the no-traits note says why)
        return notes
    if result.first_contact_assumed:
        notes.append(t("criteria.first_contact_box"))
    def listing(keys):
        # the figure (revenue, margin, tenure) and ρ in the reader's language
        return ", ".join(f"{trait_label(k)} ({label('values', result.outcome_like[k][0])}, "
                         f"ρ = {format_number(result.outcome_like[k][1])})" for k in keys)

    kept_out = [k for k in result.outcome_like if k not in result.first_contact_traits]
    listed = [k for k in result.outcome_like if k in result.first_contact_traits]
    if kept_out:
        notes.append(t("criteria.outcome_like", traits=listing(kept_out), threshold=result.settings.outcome_correlation))
    if listed:  # the team said a seller knows it first: kept, but worth a second look
        notes.append(t("criteria.outcome_like_listed", traits=listing(listed)))
    return notes


def _nothing_to_hand_over(result: CriteriaResult) -> str:
    """Why the checklist and the profile are empty: no traits at all, or no criterion found or accepted."""
    return t("report.empty.no_traits_short" if result.no_traits else "criteria.checklist.empty")


def build_checklist(result: CriteriaResult) -> dict[str, Any]:
    """The one-page qualification checklist as data: questions with target / red-flag answers and the route.

    Returns:
        {"title", "intro", "source_note", "route_rule" (all routes in one text), "routes" (one sentence per
        route), "notes" (first-contact boxes), "empty" (text or ""), "questions": [
        {"trait", "question", "target_answers": [..], "red_flag_answers": [..], "evidence": [..]}]}
        Questions follow the order of the criteria (strongest first).
    """
    chosen = result.chosen()
    questions: dict[str, dict[str, Any]] = {}
    for _, row in chosen.iterrows():
        node = result.rules[row["id"]]
        traits = node.traits
        key = " + ".join(traits)
        if key not in questions:
            if len(traits) == 1:
                kind = conditions_of(node)[0].kind
                text = t(f"criteria.checklist.question_{kind}", trait=trait_label(traits[0]))
            else:
                text = t("criteria.checklist.question", trait=t("criteria.words.and", left=trait_label(traits[0]),
                                                                 right=trait_label(traits[1])))
            questions[key] = {"trait": key, "question": text, "target_answers": [], "red_flag_answers": [],
                              "evidence": []}
        slot = "target_answers" if row["points_to"] == "A" else "red_flag_answers"
        # the precision beside every answer, so a seller sees how often such clients were A (or C)
        share = dict(rule=row["rule"], share=f"{row['share']:.0%}", low=f"{row['ci_low']:.0%}",
                     high=f"{row['ci_high']:.0%}")
        text = t("criteria.checklist_routes.sign_share" if row["points_to"] == "A"
                 else "criteria.checklist_routes.flag_share", **share)
        if row["points_to"] == "C" and bool(row.get("declines", False)):
            text += f" ({t('criteria.checklist_routes.declines_mark')})"
        if row["points_to"] == "A" and bool(row.get("qualifies", False)):
            text += f" ({t('criteria.checklist_routes.qualifies_mark')})"
        questions[key][slot].append(text)
        label = row["status"] if row["source"] == "team" else t(f"criteria.evidence.{row['evidence']}")
        questions[key]["evidence"].append(label)
    return {
        "title": t("criteria.checklist.title"),
        "intro": t("criteria.checklist.intro"),
        "source_note": t(f"criteria.checklist.from_{result.chosen_from}"),
        "route_rule": " ".join(route_rules(result)),
        "routes": route_rules(result),
        "notes": first_contact_notes(result),
        "empty": "" if questions else _nothing_to_hand_over(result),
        "questions": list(questions.values()),
    }


def build_profile(result: CriteriaResult) -> dict[str, Any]:
    """The ideal-client profile for marketing: the signs of A with their shares, and what to avoid.

    Uses the same criteria as the checklist, any trait (not only first-contact ones): marketing
    can target on what is visible later too, e.g. a company's size in a database.
    """
    table = result.table
    team = table[table["source"] == "team"]
    accepted = team[team["status"] == "accepted"]
    rows = accepted if len(accepted) else table[(table["source"] == "data") & (table["evidence"] == "supported")]
    signs = [t("criteria.profile.sign", rule=r["rule"], share=f"{r['share']:.0%}", base=f"{r['base_rate']:.0%}")
             for _, r in rows[rows["points_to"] == "A"].iterrows()]
    avoid = [t("criteria.profile.avoid", rule=r["rule"], share=f"{r['share']:.0%}")
             for _, r in rows[rows["points_to"] == "C"].iterrows()]
    compared = result.compared
    return {
        "title": t("criteria.profile.title"),
        "intro": t("criteria.profile.intro"),
        "signs": signs,
        "avoid": avoid,
        "size": t("criteria.profile.size", n_a=int((compared == "A").sum()), n=len(compared)),
        "empty": "" if signs or avoid else _nothing_to_hand_over(result),
    }


def _cell(sheet, row: int, col: int, value: Any, fmt=None) -> None:
    """Numbers as numbers, text as text (never a formula), blanks for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, (bool, np.bool_)):
        sheet.write_string(row, col, t("criteria.bool.yes" if value else "criteria.bool.no"), fmt)
    elif isinstance(value, numbers.Real):
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, str(neutralise_text(str(value))), fmt)


def write_criteria_xlsx(criteria_result: CriteriaResult, path: str | Path) -> Path:
    """Write criteria.xlsx: the full table with evidence, and the sales checklist with routes.

    Text cells are written as strings; any starting with = + - @ tab or CR gets a leading `'`
    so no spreadsheet runs it. The file is written atomically.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#e8e8e8",
                              "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    title = book.add_format({"bold": True, "font_size": 14})
    note = book.add_format({"italic": True, "text_wrap": True, "valign": "top"})
    formats: dict[tuple[str | None, str | None], Any] = {}

    def fmt(number: str | None, fill: str | None):
        key = (number, fill)
        if key not in formats:
            spec: dict[str, Any] = {"valign": "top", "text_wrap": number is None}
            if number:
                spec["num_format"] = number
            if fill:
                spec["bg_color"] = fill
            formats[key] = book.add_format(spec)
        return formats[key]

    # --- sheet 1: the full table with evidence
    sheet = book.add_worksheet(t("criteria.xlsx.sheet_table")[:31])
    table = criteria_result.table
    for col, (name, width, _) in enumerate(TABLE_COLUMNS):
        label = t(f"criteria.columns.{name}")
        sheet.write_string(0, col, label if not label.startswith("criteria.") else name, header)
        sheet.set_column(col, col, width)
    for r, (_, row) in enumerate(table.iterrows(), start=1):
        fill = EVIDENCE_FILLS.get(str(row["evidence"]))
        for col, (name, _, number) in enumerate(TABLE_COLUMNS):
            value = row.get(name)
            if name == "evidence":
                value = t(f"criteria.evidence.{value}")
            elif name == "points_to":
                value = t(f"criteria.points_to.{value}")
            _cell(sheet, r, col, value, fmt(number, fill if name in ("rule", "evidence") else None))
    sheet.freeze_panes(1, 3)
    sheet.set_row(0, 32)
    if len(table):
        sheet.autofilter(0, 0, len(table), len(TABLE_COLUMNS) - 1)
    sheet.set_landscape()
    sheet.set_paper(8)  # A3: the full table stays legible on paper
    sheet.fit_to_pages(1, 0)

    # --- sheet 2: the sales checklist
    checklist = build_checklist(criteria_result)
    sheet = book.add_worksheet(t("criteria.xlsx.sheet_checklist")[:31])
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 2, 44)
    sheet.set_column(3, 3, 16)
    _cell(sheet, 0, 0, checklist["title"], title)
    sheet.merge_range(1, 0, 1, 3, "", note)
    _cell(sheet, 1, 0, " ".join([checklist["intro"], checklist["source_note"], *checklist["notes"]]), note)
    sheet.set_row(1, 36)
    heads = [t("criteria.xlsx.question"), t("criteria.xlsx.answer_target"), t("criteria.xlsx.answer_flag"),
             t("criteria.xlsx.evidence")]
    for col, text in enumerate(heads):
        _cell(sheet, 3, col, text, header)
    row_at = 4
    for q in checklist["questions"]:
        _cell(sheet, row_at, 0, q["question"], wrap)
        _cell(sheet, row_at, 1, "\n".join(q["target_answers"]), fmt(None, EVIDENCE_FILLS["supported"] if q["target_answers"] else None))
        _cell(sheet, row_at, 2, "\n".join(q["red_flag_answers"]), fmt(None, "#f4cccc" if q["red_flag_answers"] else None))
        _cell(sheet, row_at, 3, ", ".join(dict.fromkeys(q["evidence"])), wrap)
        lines = max(len(q["target_answers"]), len(q["red_flag_answers"]), 1)
        sheet.set_row(row_at, 16 * lines + 14)
        row_at += 1
    if checklist["empty"]:
        _cell(sheet, row_at, 0, checklist["empty"], note)
        row_at += 1
    row_at += 1
    _cell(sheet, row_at, 0, t("criteria.xlsx.route"), header)
    sheet.merge_range(row_at, 1, row_at, 3, "", wrap)
    _cell(sheet, row_at, 1, checklist["route_rule"], wrap)
    sheet.set_row(row_at, 48)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 1)
    book.close()
    return write_bytes(buffer.getvalue(), path)


def checklist_table(checklist: dict[str, Any]) -> pd.DataFrame:
    """The checklist's questions as a table (question, target answers, red-flag answers, evidence).

    >>> checklist_table({"questions": [{"question": "Q?", "target_answers": ["a"], "red_flag_answers": [],
    ...                                 "evidence": ["supported"]}]}).iloc[0].tolist()
    ['Q?', 'a', '', 'supported']
    """
    return pd.DataFrame([{t("criteria.xlsx.question"): q["question"],
                          t("criteria.xlsx.answer_target"): "; ".join(q["target_answers"]),
                          t("criteria.xlsx.answer_flag"): "; ".join(q["red_flag_answers"]),
                          t("criteria.xlsx.evidence"): ", ".join(dict.fromkeys(q["evidence"]))}
                         for q in checklist["questions"]],
                        columns=[t("criteria.xlsx.question"), t("criteria.xlsx.answer_target"),
                                 t("criteria.xlsx.answer_flag"), t("criteria.xlsx.evidence")])
