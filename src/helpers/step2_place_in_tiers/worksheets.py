"""Step 2 on paper: the placement worksheet a team fills in when it has no placement.csv yet.

From the client list (and the sales log, when there is one) it writes a fill-in CSV, an Excel
file with a tier drop-down, and a printable HTML page with tier boxes to tick. The team types
the tiers back and saves the file as placement.csv; the workbook then compares them with the data.
"""

from __future__ import annotations

import html
import io
import os
from pathlib import Path

import pandas as pd

from helpers.step1_list_clients.company import SIDE_TIERS, TIERS, Company
from helpers.core.export import neutralise_text, write_bytes
from helpers.core.formatting import format_count
from helpers.core.i18n import LANGUAGES, t
from helpers.core.plot_style import TIER_COLORS
from helpers.kit.templates import html_page

WORKSHEET_STEM = "placement_worksheet"
# The tiers a team may write, in the order of the paper sheet.
WORKSHEET_TIERS = TIERS + SIDE_TIERS
# A paper exercise over thousands of clients is not a workshop: the printout stops here and
# says how many more rows the spreadsheet holds.
PRINT_LIMIT = 300


def _revenue_from_transactions(transactions: pd.DataFrame) -> tuple[pd.Series | None, str | None]:
    """Revenue per client from the sales log, and its currency; None when currencies are mixed."""
    currency = None
    if "currency" in transactions.columns:
        codes = transactions["currency"].dropna().astype(str).str.strip().unique()
        if len(codes) > 1:  # never add up amounts in different currencies
            return None, None
        currency = str(codes[0]) if len(codes) else None
    amounts = pd.to_numeric(transactions["amount"], errors="coerce")
    return amounts.groupby(transactions["client_id"].astype(str)).sum(min_count=1), currency


def build_placement_worksheet(company: Company, *, sort: str = "auto") -> tuple[pd.DataFrame, dict]:
    """The rows of the worksheet: client_id, name, known facts, and empty `tier` and `note` to fill.

    Facts are added only when the company has them: `revenue` (from the client list, else summed
    from the sales log in one currency), `purchases` and `last_purchase` (from the sales log).
    Rows are sorted by revenue, largest first, so the room starts with the clients that matter
    most; without revenue, by name. The input company is not changed.

    Args:
        company: the loaded company.
        sort: "auto" (revenue when known, else name), "revenue" or "name".

    Returns:
        The worksheet frame and a dict of facts about it: `sorted_by`, `currency`.

    >>> from helpers.step1_list_clients.settings import CompanySettings
    >>> c = Company(folder=Path("x"), settings=CompanySettings(),
    ...             clients=pd.DataFrame({"client_id": ["1", "2"], "name": ["Beta", "Alpha"], "revenue": [5.0, 9.0]}))
    >>> frame, info = build_placement_worksheet(c)
    >>> frame["client_id"].tolist(), list(frame.columns), info["sorted_by"]
    (['2', '1'], ['client_id', 'name', 'revenue', 'tier', 'note'], 'revenue')
    """
    if sort not in ("auto", "revenue", "name"):
        raise ValueError(f"sort must be auto, revenue or name, not {sort!r}")
    clients = company.clients
    ids = clients["client_id"].astype(str)
    out = pd.DataFrame({"client_id": ids.to_numpy()})
    names = clients["name"] if "name" in clients.columns else pd.Series(pd.NA, index=clients.index)
    names = names.astype("string").fillna("").str.strip()
    out["name"] = names.mask(names == "", ids).to_numpy(dtype=object)
    currency = company.currency

    revenue = None
    if "revenue" in clients.columns and pd.to_numeric(clients["revenue"], errors="coerce").notna().any():
        revenue = pd.to_numeric(clients["revenue"], errors="coerce").to_numpy()
    transactions = company.transactions
    if transactions is not None and len(transactions):
        by_client = transactions["client_id"].astype(str)
        if revenue is None:
            summed, log_currency = _revenue_from_transactions(transactions)
            if summed is not None:
                revenue = ids.map(summed).to_numpy()
                currency = log_currency or currency
        amounts = pd.to_numeric(transactions["amount"], errors="coerce")
        # a refund is not a purchase
        purchases = (amounts > 0).groupby(by_client).sum()
        out["purchases"] = ids.map(purchases).fillna(0).astype("int64").to_numpy()
        dates = pd.to_datetime(transactions["date"], errors="coerce")
        last = dates.groupby(by_client).max()
        out["last_purchase"] = ids.map(last).dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
    elif "purchases" in clients.columns:
        out["purchases"] = pd.to_numeric(clients["purchases"], errors="coerce").to_numpy()
    if revenue is not None:
        out.insert(2, "revenue", pd.Series(revenue, dtype="float64").round(2).to_numpy())

    sorted_by = "revenue" if sort == "revenue" or (sort == "auto" and revenue is not None) else "name"
    key_name = out["name"].str.casefold()
    if sorted_by == "revenue" and "revenue" in out.columns:
        order = pd.DataFrame({"r": out["revenue"], "n": key_name}).sort_values(
            ["r", "n"], ascending=[False, True], na_position="last", kind="stable").index
    else:
        sorted_by = "name"
        order = key_name.sort_values(kind="stable").index
    out = out.loc[order].reset_index(drop=True)
    out["tier"] = ""
    out["note"] = ""
    return out, {"sorted_by": sorted_by, "currency": currency}


# ---------------------------------------------------------------------------- csv

def _csv_bytes(frame: pd.DataFrame) -> bytes:
    from helpers.core.export import csv_text  # quoted fields: a CR or tab in a name cannot split a row

    # A byte-order mark makes Excel read Cyrillic names correctly; the loader skips it.
    return csv_text(frame, lineterminator="\r\n").encode("utf-8-sig")


# ---------------------------------------------------------------------------- xlsx

def _xlsx_bytes(frame: pd.DataFrame, info: dict, company: Company, lang: str) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    # Strings stay strings: nothing in a client's name can become a formula or a link.
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    book.set_properties({"title": t("worksheets.title", lang, company=company.name), "author": "Tierbook"})
    head = book.add_format({"bold": True, "bg_color": "#e8f1ea", "border": 1, "locked": True})
    locked_text = book.add_format({"locked": True, "text_wrap": False})
    locked_money = book.add_format({"locked": True, "num_format": "#,##0"})
    locked_int = book.add_format({"locked": True, "num_format": "0"})
    fill_in = book.add_format({"locked": False, "bg_color": "#fffbe6", "border": 1, "border_color": "#c9b458",
                               "align": "center", "bold": True})
    fill_note = book.add_format({"locked": False, "bg_color": "#fffbe6", "border": 1, "border_color": "#c9b458"})

    sheet = book.add_worksheet("placement")
    columns = list(frame.columns)
    widths = {"client_id": 14, "name": 42, "revenue": 16, "purchases": 11, "last_purchase": 14, "tier": 8, "note": 40}
    for c, column in enumerate(columns):
        sheet.write_string(0, c, column, head)
        sheet.set_column(c, c, widths.get(column, 14))
    for r, row in enumerate(frame.itertuples(index=False), start=1):
        for c, (column, value) in enumerate(zip(columns, row)):
            if column == "tier":
                sheet.write_blank(r, c, None, fill_in)
            elif column == "note":
                sheet.write_blank(r, c, None, fill_note)
            elif column in ("revenue", "purchases"):
                if pd.isna(value):
                    sheet.write_blank(r, c, None, locked_text)
                else:
                    sheet.write_number(r, c, float(value), locked_money if column == "revenue" else locked_int)
            else:
                sheet.write_string(r, c, str(neutralise_text(str(value))), locked_text)
    last_row = len(frame)
    tier_col = columns.index("tier")
    if last_row:
        sheet.data_validation(1, tier_col, last_row, tier_col, {
            "validate": "list",
            "source": list(WORKSHEET_TIERS),
            "ignore_blank": True,
            "input_title": t("worksheets.xlsx.input_title", lang)[:32],
            "input_message": t("worksheets.xlsx.input_message", lang)[:255],
            "error_title": t("worksheets.xlsx.error_title", lang)[:32],
            "error_message": t("worksheets.xlsx.error_message", lang, tiers=" ".join(WORKSHEET_TIERS))[:255],
        })
        for tier in WORKSHEET_TIERS:
            colour = book.add_format({"bg_color": TIER_COLORS[tier], "font_color": "#ffffff" if tier in
                                      ("A1", "B1", "C", "D", "X") else "#1a1a1a", "bold": True, "locked": False,
                                      "align": "center"})
            sheet.conditional_format(1, tier_col, last_row, tier_col, {
                "type": "cell", "criteria": "==", "value": f'"{tier}"', "format": colour})
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last_row, len(columns) - 1)
    # Protected so the drop-down and the layout survive a busy room; sorting and filtering still work.
    sheet.protect("", {"autofilter": True, "sort": True, "format_columns": True, "select_locked_cells": True,
                       "select_unlocked_cells": True})

    guide = book.add_worksheet(t("worksheets.xlsx.guide_sheet", lang)[:31])
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    bold = book.add_format({"bold": True, "valign": "top"})
    guide.set_column(0, 0, 10)
    guide.set_column(1, 1, 90)
    guide.write_string(0, 0, t("worksheets.title", lang, company=company.name), bold)
    row = 2
    for key in ("step_fill", "step_save", "step_rename"):
        guide.write_string(row, 0, "•", bold)
        guide.write_string(row, 1, t(f"worksheets.instructions.{key}", lang), wrap)
        row += 1
    row += 1
    for tier in ("A", "B", "C", "D", "X"):
        guide.write_string(row, 0, tier, bold)
        guide.write_string(row, 1, t(f"common.tier_meaning.{tier}", lang), wrap)
        row += 1
    guide.write_string(row + 1, 1, t("worksheets.split", lang), wrap)
    guide.protect()
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------------------- html

WORKSHEET_CSS = """
@page { size: A4 landscape; margin: 10mm 10mm 12mm 10mm; }
body { max-width: 277mm; }
table.sheet th, table.sheet td { padding: 0.8mm 1.4mm; vertical-align: middle; }
table.sheet td.num, table.sheet th.num { text-align: right; white-space: nowrap; }
table.sheet td.id { white-space: nowrap; color: #555; font-size: 8.5pt; }
table.sheet td.name { width: 70mm; overflow-wrap: anywhere; }
table.sheet td.tick, table.sheet th.tick { width: 9mm; padding: 1mm 0; }
table.sheet td.note { width: 40mm; }
table.sheet tbody tr:nth-child(even) { background: #f7f7f7; }
table.sheet th.tick { border-top: 3mm solid var(--tier); }
.legend { columns: 2; column-gap: 8mm; font-size: 9.5pt; margin: 0 0 3mm; }
.legend p { margin: 0 0 1mm; break-inside: avoid; }
.legend b { display: inline-block; min-width: 7mm; }
p.more { font-style: italic; }
""".strip()


def _html_text(frame: pd.DataFrame, info: dict, company: Company, lang: str, print_limit: int) -> str:
    e = html.escape
    title = t("worksheets.title", lang, company=company.name)
    shown = frame.head(print_limit) if print_limit else frame
    has = {c: c in frame.columns for c in ("revenue", "purchases", "last_purchase")}
    body = [f"<h1>{e(title)}</h1>",
            f'<p class="summary">{e(t("worksheets.summary", lang))}</p>',
            '<div class="fields">' + "".join(
                f'<div><span class="label">{e(t(f"worksheets.field.{k}", lang))}:</span> <span class="blank"></span></div>'
                for k in ("team", "date")) + "</div>",
            '<div class="legend">' + "".join(
                f"<p><b>{tier}</b> {e(t(f'common.tier_meaning.{tier}', lang))}</p>" for tier in ("A", "B", "C", "D", "X"))
            + f"<p>{e(t('worksheets.split', lang))}</p></div>",
            f"<p>{e(t('worksheets.sorted_by.' + info['sorted_by'], lang))}</p>",
            '<table class="sheet"><thead><tr>',
            "<th>№</th>", "<th>client_id</th>", f"<th>{e(t('worksheets.column.client', lang))}</th>"]
    if has["revenue"]:
        body.append(f'<th class="num">{e(t("worksheets.column.revenue", lang, currency=info["currency"] or ""))}</th>')
    if has["purchases"]:
        body.append(f'<th class="num">{e(t("worksheets.column.purchases", lang))}</th>')
    if has["last_purchase"]:
        body.append(f'<th>{e(t("worksheets.column.last_purchase", lang))}</th>')
    body += [f'<th class="tick" style="--tier: {TIER_COLORS[tier]}">{tier}</th>' for tier in WORKSHEET_TIERS]
    body.append(f"<th>{e(t('worksheets.column.note', lang))}</th></tr></thead><tbody>")
    box = '<td class="tick"><span class="box"></span></td>' * len(WORKSHEET_TIERS)
    for n, row in enumerate(shown.itertuples(index=False), start=1):
        cells = [f"<td>{n}</td>", f'<td class="id">{e(str(row.client_id))}</td>',
                 f'<td class="name">{e(str(row.name))}</td>']
        if has["revenue"]:
            cells.append(f'<td class="num">{format_count(row.revenue, lang)}</td>')
        if has["purchases"]:
            cells.append(f'<td class="num">{format_count(row.purchases, lang)}</td>')
        if has["last_purchase"]:
            cells.append(f'<td class="id">{e(str(row.last_purchase))}</td>')
        body.append("<tr>" + "".join(cells) + box + '<td class="note"></td></tr>')
    body.append("</tbody></table>")
    if len(frame) > len(shown):
        body.append(f'<p class="more">{e(t("worksheets.more_rows", lang, count=len(frame) - len(shown)))}</p>')
    body.append("<footer>" + e(t("worksheets.footer", lang)) + "</footer>")
    return html_page(title, body, lang=lang, extra_css=WORKSHEET_CSS, print_footer=t("worksheets.footer", lang))


# ---------------------------------------------------------------------------- all three

def write_placement_worksheet(company: Company, out_dir: str | os.PathLike, *, language: str | None = None,
                              sort: str = "auto", print_limit: int = PRINT_LIMIT) -> list[Path]:
    """Write the placement worksheet as CSV, XLSX and printable HTML; return the three paths.

    The CLI's `tierbook worksheet COMPANY_DIR` calls this. Text cells are protected against
    formula injection and every name is HTML-escaped: client names are untrusted input.

    Args:
        company: the loaded company (only `clients`, and `transactions` when present, are read).
        out_dir: folder to write into; created when missing.
        language: en or ru; the company's language when None.
        sort: "auto", "revenue" or "name" (see `build_placement_worksheet`).
        print_limit: most rows on the printable page (0 = all); the CSV and XLSX hold every client.
    """
    lang = language if language in LANGUAGES else company.settings.language
    frame, info = build_placement_worksheet(company, sort=sort)
    folder = Path(out_dir)
    return [
        write_bytes(_csv_bytes(frame), folder / f"{WORKSHEET_STEM}.csv"),
        write_bytes(_xlsx_bytes(frame, info, company, lang), folder / f"{WORKSHEET_STEM}.xlsx"),
        write_bytes(_html_text(frame, info, company, lang, print_limit).encode("utf-8"),
                    folder / f"{WORKSHEET_STEM}.html"),
    ]


# ---------------------------------------------------------------------------- typed back from paper

def merge_placement_sheets(company: Company) -> tuple[pd.DataFrame, Path | None]:
    """Merge the sheets the team typed back (one per person in `<company>/placement/`) into placement.csv.

    Each person's file has the worksheet's `client_id` and `tier` columns (CSV or the XLSX; other
    columns are ignored). The merge is the board's consensus (`helpers.workshop.board.build_consensus`): the
    median per client, clients two or more steps apart flagged for discussion. The medians are
    written to placement.csv (the previous file kept in `history/`); nothing is written when the
    folder holds no sheets.

    Returns:
        The consensus table (discussion items first) and the path written, or None.

    Raises:
        DataProblem: an unknown client, a tier outside A1..C D X, or a client twice in one sheet
            (every such row, as `placement/<person>.csv:row:column — what — fix`).
    """
    from helpers.workshop.board import list_people, merge_people

    frame, _ = build_placement_worksheet(company)
    clients = frame[["client_id", "name"]].assign(revenue=frame["revenue"] if "revenue" in frame else float("nan"))
    people = list_people(company.folder)
    consensus = merge_people(company.folder, clients, write=bool(people))
    return consensus, (Path(company.folder) / "placement.csv" if people else None)
