"""Step 5 of the method: the summary report a team reads, prints and hands over.

Builds `report.html` from the results of steps 1-4: self-contained (figures embedded,
inline CSS, no scripts, nothing fetched), every client-supplied text escaped.
"""

from __future__ import annotations

import base64
import contextvars
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any, Iterable

import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from helpers import __version__
from helpers.core.export import figure_png, write_text
from helpers.core.formatting import column_kinds, format_cell, format_interval, format_money, format_number
from helpers.core.i18n import get_language, label, t
from helpers.step5_report.printables import write_printables

MAX_TABLE_ROWS = 40
# the company's currency while `build_report` runs: every money column of every table is written with it
_CURRENCY: contextvars.ContextVar[str | None] = contextvars.ContextVar("report_currency", default=None)
# disagreements listed as questions for the workshop; names per client type (gold, sleeping, ...)
DISCUSSION_ITEMS = 12
NAMED_CLIENTS = 15
NAMED_TYPES = ("gold", "sleeping", "bad_late_payment", "bad_heavy_support", "bad_loss_making")
# rows of one table on paper: the rest stays on screen and in the CSV files (the report fits 12 A4 pages)
PRINT_TABLE_ROWS = 8
PRINT_SLACK_ROWS = 2
# items of one bulleted list on paper (sentences run longer than table rows)
PRINT_LIST_ITEMS = 6
# "how the figures were computed": a reader of paper needs the first lines; the method stays on screen
METHOD_NOTES_ON_PAPER = 1
# prospects on paper: the checklist's routes matter more than a long list of leads (all in prospects_scored.csv)
PROSPECT_ROWS_ON_PAPER = 5
# On paper only the criteria (the core of the method) start a page; every other section
# follows on the page before, so no page is left half empty (issue 13: the sample report on ≤ 12 A4 pages).
PRINT_FLOW_SECTIONS = frozenset({"data", "client_mix", "tiers", "traits", "deals", "checklist", "prospects",
                                 "contact_cadence", "relationship", "dossier", "key_risk", "false_clients"})


@dataclass
class Block:
    """One piece of a section: heading, text, note, bullets, kpis, table or figure."""

    kind: str
    text: str = ""
    level: str = ""
    items: list = field(default_factory=list)
    html: Markup | str = ""
    caption: str = ""
    data: str = ""
    alt: str = ""
    print_note: str = ""  # printed under a table or list cut for paper: "8 of 30 shown on paper — all in …"
    print_limit: int = 0  # items of a list printed on paper (0: all)


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False

    # small builders so section code reads like the report it makes
    def heading(self, text: str) -> "Section":
        self.blocks.append(Block("heading", text=text))
        return self

    def text(self, text: str) -> "Section":
        self.blocks.append(Block("text", text=text))
        return self

    def note(self, text: str, level: str = "") -> "Section":
        self.blocks.append(Block("note", text=text, level=level))
        return self

    def bullets(self, items: Iterable[str], *, print_items: int | None = PRINT_LIST_ITEMS, total: int | None = None,
                where: str = "") -> "Section":
        """Add a bulleted list; on paper only the first `print_items` (None: all), with a note saying so.

        `total` and `where`: the list is already the head of a longer one (`total` items, all in the
        file `where`); the screen says "12 of 23 shown — all in tiers.csv", paper "6 of 23 …".
        """
        items = [str(i) for i in items]
        total = total if total is not None else len(items)
        if items and total > len(items):
            self.blocks.append(Block("note", text=t("report.lists.shown", shown=len(items), total=total,
                                                       where=where), level="screen-only"))
        if items:
            cut = print_items is not None and len(items) > print_items + PRINT_SLACK_ROWS
            if cut and where:
                note = t("report.print.rows_shown", shown=print_items, total=total, where=where)
            else:
                note = t("report.print.items_shown", shown=print_items, total=total) if cut else ""
            self.blocks.append(Block("bullets", items=items, print_note=note, print_limit=print_items if cut else 0))
        return self

    def kpis(self, items: Iterable[tuple[str, Any]]) -> "Section":
        self.blocks.append(Block("kpis", items=[(str(k), str(v)) for k, v in items]))
        return self

    def table(self, df: pd.DataFrame | None, caption: str = "", *, max_rows: int = MAX_TABLE_ROWS,
              index: bool = False, formats: dict[str, str] | None = None, currency: str | None = None,
              print_rows: int | None = PRINT_TABLE_ROWS, source: str = "") -> "Section":
        """Add a table; numbers are written by `helpers.core.formatting` (shares as 54%, counts as 12).

        `formats` maps a column to "percent", "money", "count" or "number" (else guessed from the
        name and values; money only with `currency`). On paper only the first `print_rows` rows are
        printed, with "N of M shown — all in <source>" (`source`: the file holding every row,
        e.g. "tiers.csv"); None prints every row shown on screen.
        """
        if df is None or len(df) == 0:
            return self
        currency = currency if currency is not None else _CURRENCY.get()
        shown = df.head(max_rows)
        if len(df) > max_rows:
            caption = (caption + " " if caption else "") + t("report.rows_shown", shown=max_rows, total=len(df))
        print_note = ""
        if print_rows is not None and len(shown) <= print_rows + PRINT_SLACK_ROWS:
            print_rows = None  # cutting two or three rows saves no paper and hides them for nothing
        if print_rows is not None:
            print_note = t("report.print.rows_shown", shown=print_rows, total=len(df),
                           where=source or _full_table_file(df) or t("report.print.on_screen"))
        html = table_html(shown, index=index, formats=formats, currency=currency, print_rows=print_rows)
        self.blocks.append(Block("table", html=html, caption=caption, print_note=print_note))
        return self

    def figure(self, fig, alt: str) -> "Section":
        """Embed a matplotlib Figure (or Axes) as PNG and close it."""
        fig = getattr(fig, "figure", fig)
        self.blocks.append(Block("figure", data=base64.b64encode(figure_png(fig)).decode("ascii"), alt=alt))
        plt.close(fig)
        return self


def _full_table_file(df: pd.DataFrame) -> str:
    """The output file that holds every row of a per-client or per-prospect table, judged by its id column."""
    if "prospect_id" in df.columns:
        return "prospects_scored.csv"
    if "client_id" in df.columns:
        return "tiers.csv"
    return ""


# Columns whose cells are names, ids or the client's own words: never looked up in the labels catalogue.
_OWN_WORDS_COLUMNS = frozenset({"name", "client", "client_id", "prospect_id", "manager", "reason", "rule", "trait",
                                "question", "file"})
# An id column shown beside its label (`key_class` gold | `label` золотой): the report shows the label only.
_ID_WITH_LABEL = ("key_class", "type", "band")


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the report shows it: an id column beside its label shows the label only, and the
    enumerated values (outcomes, verdicts, routes, classes) in the reader's language."""
    for id_column in _ID_WITH_LABEL:
        if id_column in frame.columns and "label" in frame.columns:
            frame = frame.drop(columns=[id_column]).rename(columns={"label": id_column})
            break
    out = frame.copy()
    for position, column in enumerate(frame.columns):
        if str(column) in _OWN_WORDS_COLUMNS:
            continue
        values = frame.iloc[:, position]
        if values.map(lambda v: isinstance(v, str)).any():
            out.isetitem(position, values.map(lambda v: label("values", v)))
    return out


def table_html(df: pd.DataFrame, *, index: bool = False, formats: dict[str, str] | None = None,
               currency: str | None = None, print_rows: int | None = None) -> Markup:
    """A plain HTML table with every header and cell escaped (client names are untrusted).

    Headers and enumerated values go through the `labels` catalogue (`label`), so a contract column
    name such as `client_share` reads "share of clients" (RU "доля клиентов"); cells are written by
    `helpers.core.formatting.format_cell` in the current language; rows after `print_rows` carry class
    "screen-only" so the print stylesheet can leave them off paper.

    >>> str(table_html(pd.DataFrame({"name": ["<img src=x onerror=alert(1)>"], "n": [3.0]})))
    '<table><thead><tr><th>name</th><th>clients</th></tr></thead><tbody><tr><td>&lt;img src=x onerror=alert(1)&gt;</td><td class="num">3</td></tr></tbody></table>'
    >>> "54%" in table_html(pd.DataFrame({"revenue_share": [0.54]}))
    True
    """
    frame = _readable(df.reset_index() if index else df)
    kinds = column_kinds(frame, currency=currency, formats=formats)
    head = "".join(f"<th>{escape(str(label('columns', c)))}</th>" for c in frame.columns)
    rows = []
    for number, record in enumerate(frame.itertuples(index=False, name=None)):
        cells = []
        for column, value in zip(frame.columns, record):
            text, numeric = format_cell(value, kinds[column], currency=currency)
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        row_class = ' class="screen-only"' if print_rows is not None and number >= print_rows else ""
        rows.append(f"<tr{row_class}>" + "".join(cells) + "</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render_report_html(sections: list[Section], *, title: str, subtitle: str = "",
                       notes: list[Block] | None = None) -> str:
    """The report as one self-contained HTML string."""
    env = Environment(loader=PackageLoader("helpers", "report_templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.get_template("report.html.j2")
    return template.render(
        lang=get_language(), title=title, subtitle=subtitle, notes=notes or [], sections=sections,
        contents_label=t("report.contents"), print_flow=PRINT_FLOW_SECTIONS,
        footer=t("report.footer", version=__version__, day=date.today().isoformat()),
    )


def write_report(sections: list[Section], path: str | Path, **kwargs) -> Path:
    """Render and write report.html atomically."""
    return write_text(render_report_html(sections, **kwargs), path)


# --------------------------------------------------------------------------- sections of the workbook report
def _money(value: float, currency: str) -> str:
    return format_money(value, currency)


_DELIMITER_NAMES = {",": "«,»", ";": "«;»", "\t": "tab", "|": "«|»"}


def section_overview(wb) -> Section:
    """What this report is, the method in five lines, and the headline numbers."""
    company = wb.company
    s = Section("overview", t("report.overview.title"), t("report.overview.intro", company=company.name))
    kpis = [(t("report.kpi.clients"), f"{len(company.clients):,}".replace(",", "\u202f"))]
    if company.transactions is not None:
        kpis.append((t("report.kpi.revenue"), _money(company.transactions["amount"].sum(), company.currency)))
    elif company.transactions_dataset is not None:  # summed on disk when the log was checked
        kpis.append((t("report.kpi.revenue"), _money(company.transactions_dataset.amount_total, company.currency)))
    if company.placement is not None:
        kpis.append((t("report.kpi.placed"), f"{len(company.placement)} / {len(company.clients)}"))
    s.kpis(kpis)
    s.heading(t("report.overview.method_title"))
    s.bullets(t(f"report.overview.step{i}") for i in range(1, 6))
    s.note(t("report.overview.focus"), "caveat")
    return s


def section_data(wb) -> Section:
    """Which files were read, how, and what was wrong with them."""
    company = wb.company
    s = Section("data", t("report.data.title"), t("report.data.intro"))
    rows = [{t("report.data.file"): f.path.name, t("report.data.kind"): f.kind,
             t("report.data.how"): ", ".join(x for x in (f.encoding, _DELIMITER_NAMES.get(f.delimiter or ""),
                                                          f.sheet) if x),
             t("report.data.rows_read"): f.rows_read, t("report.data.rows_used"): f.rows_used} for f in company.files]
    s.table(pd.DataFrame(rows))
    shown = [p for p in company.problems if p.severity in ("warning", "error")]
    if shown:
        s.heading(t("report.data.problems", count=len(shown)))
        s.bullets(str(p) for p in shown[:15])
        if len(shown) > 15:
            s.text(t("report.data.more", count=len(shown) - 15))
    else:
        s.note(t("report.data.clean"))
    notes = [p for p in company.problems if p.severity == "info"]
    if notes:
        s.bullets(p.message for p in notes[:8])
    return s


def _has_revenue(wb) -> bool:
    """Some client has a positive revenue (step 1's figures): else sizes, ABC and key clients are empty."""
    return bool((pd.to_numeric(wb.audit.mix.table["revenue"], errors="coerce") > 0).any())


def section_tiers(wb) -> Section:
    """The team's tiers beside the data's mirror, and the disagreements as questions."""
    from helpers.step2_place_in_tiers import plots as tier_plots

    result = wb.tiers
    s = Section("tiers", t("report.tiers.title"), t("report.tiers.intro"))
    for flag in result.flags:
        s.note(flag.message, "warning")
    s.table(result.tier_counts, t("report.tiers.counts_caption"), index=True)
    s.figure(tier_plots.plot_tier_counts(result), t("report.tiers.counts_caption"))
    if _has_revenue(wb):  # else the flag above says why every client is C
        s.heading(t("report.tiers.abc_title"))
        s.figure(tier_plots.plot_pareto(result), t("report.tiers.pareto_alt"))
        s.table(result.abc_summary, formats={"value": "money"})  # revenue or margin, as abc.by says
    if result.matrix is not None:
        s.heading(t("report.tiers.xyz_title"))
        s.figure(tier_plots.plot_abc_xyz(result), t("report.tiers.xyz_alt"))
        s.table(result.matrix[["cell", "clients", "revenue_share", "advice"]])
    if result.pattern_matrix is not None:  # regularity that fits clients: Syntetos-Boylan patterns
        s.figure(tier_plots.plot_abc_pattern(result), t("tiers.regularity.matrix_title"))
        s.note(t("tiers.regularity.matrix_caption"))
    s.heading(t("report.tiers.compare_title"))
    if result.confusion is not None:
        s.figure(tier_plots.plot_confusion(result), t("report.tiers.confusion_alt"))
        if len(result.disagreements):
            # what the team most needs to discuss first: the widest disagreement, then the most revenue at stake
            ordered = result.disagreements.sort_values(["disagreement", "revenue"], ascending=[False, False],
                                                       kind="stable")
            s.text(t("report.lists.questions_intro", count=len(ordered)))
            s.bullets(ordered["question"].head(DISCUSSION_ITEMS), total=len(ordered), where="tiers.csv")
        else:
            s.note(t("report.tiers.no_disagreements"))
    else:
        s.note(t("report.tiers.no_team"), "caveat")
    s.heading(t("report.tiers.how_title"))
    s.bullets(result.notes, print_items=METHOD_NOTES_ON_PAPER)
    return s


def section_client_mix(wb) -> Section:
    """Step 1's audit (handed over, never recomputed): client mix, concentration, price mix, key clients, types."""
    from helpers.step1_list_clients import plots as audit_plots

    company, result = wb.company, wb.audit
    s = Section("client_mix", t("report.mix.title"), t("report.mix.intro"))
    mix = result.mix
    for warning in mix.warnings:
        s.note(warning, "warning")
    s.bullets(mix.verdicts)
    # without any positive revenue the bands, concentration and key clients are empty: say why once instead
    has_revenue = _has_revenue(wb)
    if has_revenue:
        s.figure(audit_plots.plot_client_mix(mix), t("report.mix.mix_alt"))
        s.table(mix.bands, formats={"smallest": "money", "largest": "money"})  # the band's smallest and largest revenue
        s.figure(audit_plots.plot_concentration(mix, mono_share=company.settings.mono_client_share),
                 t("report.mix.concentration_alt"))
    else:
        s.note(t("report.empty.no_revenue"), "warning")
    price = result.price
    if price is not None:
        s.heading(t("report.mix.price_title"))
        s.bullets(price.verdicts)
        s.figure(audit_plots.plot_price_mix(price), t("report.mix.price_alt"))
        s.bullets(price.notes)
    if has_revenue:
        s.heading(t("report.mix.key_title"))
        s.table(result.key_summary)
        s.text(result.manager_hint)
    s.heading(t("report.mix.types_title"))
    s.table(result.type_summary)
    # on paper the gold and the sleeping clients (the first two lines); the bad ones stay on screen
    s.bullets(_clients_by_name(result.types, NAMED_TYPES, "clients_audit.csv"), print_items=2)
    return s


def _clients_by_name(types: pd.DataFrame | None, tags: Iterable[str], where: str) -> list[str]:
    """One line per client type: "gold (12): Name, Name, … — 10 of 12 shown, all in <where>", largest revenue first.

    `types` is `audit.tag_client_types` (client_id, name, revenue, one boolean column per tag); names are
    pseudonyms when the run anonymised them. Tags absent from the frame or with no client are left out.
    """
    if types is None or not len(types):
        return []
    lines = []
    for tag in tags:
        if tag not in types.columns:
            continue
        members = types[types[tag].fillna(False).astype(bool)]
        if not len(members):
            continue
        members = members.sort_values("revenue", ascending=False, kind="stable")
        names = ", ".join(str(n) for n in members["name"].head(NAMED_CLIENTS))
        line = f"{label('values', tag)} ({len(members)}): {names}"
        if len(members) > NAMED_CLIENTS:
            line += " … — " + t("report.lists.shown", shown=NAMED_CLIENTS, total=len(members), where=where)
        lines.append(line)
    return lines


def build_report(wb) -> list[Section]:
    """Every section of the report, in the order of the method."""
    # the order of the method; a builder returns None when its step has nothing to show (no deals, no prospects)
    builders = (section_overview, section_data, section_client_mix, section_tiers, section_traits, section_deals,
                section_criteria, section_checklist, section_prospects, *KEY_CLIENT_SECTIONS)
    token = _CURRENCY.set(wb.company.currency)
    try:
        return [section for build in builders if (section := build(wb)) is not None]
    finally:
        _CURRENCY.reset(token)


def report_title(wb) -> tuple[str, str]:
    company = wb.company
    anonymised = any(p.code == "anonymised" for p in company.problems)
    subtitle = t("report.subtitle", company=company.name, day=date.today().isoformat())
    if anonymised:
        subtitle += " · " + t("report.anonymised")
    return t("report.title", company=company.name), subtitle


def publish_report(wb, sections: list[Section] | None = None) -> Path:
    """Build (unless given) and write `report.html` into the workbook's output folder."""
    sections = sections if sections is not None else build_report(wb)
    title, subtitle = report_title(wb)
    notes = [Block("note", text=p.message, level="warning") for p in wb.company.problems if p.code == "anonymised"]
    write_printables(wb)  # checklist.html and profile.html: the one-page hand-outs beside the report
    return write_report(sections, wb.out_dir / "report.html", title=title, subtitle=subtitle, notes=notes)


def preview(sections: list[Section]):
    """Show the sections inside a notebook (the same HTML as the report, without the page frame)."""
    from IPython.display import HTML

    html = render_report_html(sections, title="", subtitle="")
    body = html.split("<body>", 1)[-1].rsplit("</body>", 1)[0]
    return HTML(body)


def _p_value(p: float) -> str:
    """A p- or q-value as the reader's language writes it: `0.012` (RU `0,012`), `<0.001` below a thousandth."""
    if pd.isna(p):
        return ""
    return "<" + format_number(0.001, decimals=3) if p < 0.001 else format_number(p, decimals=3)


def _interval(low: float, high: float) -> str:
    interval = format_interval(low, high, percent=False)
    return f"[{interval}]" if interval else ""


def section_traits(wb) -> Section | None:
    """Step 3: how the tiers differ, ranked, with counts and intervals."""
    from helpers.step3_compare_traits import plots as trait_plots

    comparison = wb.traits
    s = Section("traits", t("report.traits.title"), t("report.traits.intro"))
    s.note(t(f"report.traits.source_{comparison.source}"), "caveat")
    s.kpis([(t(f"report.traits.tier_{tier}"), int(n)) for tier, n in comparison.counts.items()])
    contrasts = comparison.contrasts
    if wb.criteria.no_traits:  # figures (revenue, tenure) may still be compared, but no trait: say what to add
        from helpers.step1_list_clients.coverage import no_traits_text

        s.note(no_traits_text(), "warning")
    elif len(comparison.counts) < 2:  # one tier: nothing to compare it with
        s.note(t("report.empty.one_tier", tier=", ".join(map(str, comparison.counts.index)) or "—"), "warning")
    if contrasts is None or contrasts.empty:
        if not wb.criteria.no_traits:
            s.note(t("report.traits.none"))
        return s
    s.figure(trait_plots.plot_effect_forest(comparison), t("report.traits.forest_alt"))
    shown = contrasts[contrasts["note"].isna()].sort_values(["contrast", "rank"]).groupby("contrast").head(8)
    table = pd.DataFrame({
        t("report.traits.col_contrast"): shown["contrast"],
        t("report.traits.col_trait"): [f"{trait} = {level}" if pd.notna(level) else str(trait)
                                       for trait, level in zip(shown["trait"], shown["level"])],
        t("report.traits.col_when"): shown["visibility"],
        t("report.traits.col_n"): [f"{int(g)} / {int(r)}" for g, r in zip(shown["n_group"], shown["n_rest"])],
        t("report.traits.col_group"): shown["value_group"].round(2),
        t("report.traits.col_rest"): shown["value_rest"].round(2),
        t("report.traits.col_effect"): [f"{format_number(e, signed=True)} {_interval(lo, hi)}".strip() for e, lo, hi
                                        in zip(shown["effect"], shown["effect_low"], shown["effect_high"])],
        t("report.traits.col_q"): shown["q_value"].map(_p_value),
    })
    s.table(table, t("report.traits.table_caption"))
    top = shown[shown["q_value"] < 0.05]["trait"].drop_duplicates().head(3)
    for trait in top:
        s.figure(trait_plots.plot_trait_distribution(comparison, trait), t("report.traits.dist_alt", trait=trait))
    if comparison.skipped is not None and len(comparison.skipped):
        s.heading(t("report.traits.skipped"))
        s.table(comparison.skipped)
    return s


def section_deals(wb) -> Section | None:
    """Step 4's first half: why deals went fast, stalled or were refused."""
    from helpers.step3_compare_traits import plots as trait_plots

    summary = wb.deals
    if summary is None:
        return None
    s = Section("deals", t("report.deals.title"), t("report.deals.intro"))
    s.figure(trait_plots.plot_deal_reasons(summary), t("report.deals.reasons_alt"))
    s.table(summary.reasons_by_outcome, t("report.deals.reasons_caption"), index=True)
    s.heading(t("report.deals.cycle_title"))
    s.figure(trait_plots.plot_deal_cycle(summary), t("report.deals.cycle_alt"))
    s.table(summary.cycle_by_tier, index=True)
    s.heading(t("report.deals.examples"))
    s.table(summary.examples, max_rows=15)
    return s



def _evidence_words(row: pd.Series) -> str:
    """The evidence as the report prints it: `supported, unstable` with the threshold's spread, and
    `only together with …` for half of a pair (issue 10)."""
    label = str(row.get("evidence_label") or row["evidence"])
    text = t("criteria.evidence.supported_unstable") if label == "supported, unstable" else t(f"criteria.evidence.{label}")
    if label == "supported, unstable" and pd.notna(row.get("threshold_low")):
        text += " — " + t("criteria.unstable_spread", low=f"{row['threshold_low']:g}", high=f"{row['threshold_high']:g}")
    if str(row.get("only_with") or ""):
        text += " — " + t("criteria.only_with", rule=str(row["only_with"]).split(":", 1)[-1])
    return text


def _rules_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("report.criteria.col_rule"): rows["rule"],
        t("report.criteria.col_points_to"): rows["points_to"].map(lambda v: t(f"report.criteria.points_{v}")),
        t("report.criteria.col_evidence"): [_evidence_words(r) for _, r in rows.iterrows()],
        t("report.criteria.col_support"): rows["support"].astype(int),
        t("report.criteria.col_counts"): rows["n_a"].astype(int).astype(str) + " / " + rows["n_b"].astype(int).astype(str)
        + " / " + rows["n_c"].astype(int).astype(str),
        t("report.criteria.col_share"): [f"{s:.0%} [{lo:.0%}–{hi:.0%}]" for s, lo, hi in
                                         zip(rows["share"], rows["ci_low"], rows["ci_high"])],
        t("report.criteria.col_p"): rows["p_adjusted"].map(_p_value),
        t("report.criteria.col_stability"): rows["stability"].map(lambda s: f"{s:.0%}" if pd.notna(s) else ""),
        t("report.criteria.col_known"): rows["first_contact"].map(
            lambda v: t("report.criteria.first_contact") if v else t("report.criteria.after_sale")),
    })


def _metric_words(metric: str) -> str:
    key = f"criteria.backtest.metric.{metric}"
    text = t(key)
    return text if text != key else t(f"criteria.backtest.metric_trust.{metric}")


def section_criteria(wb) -> Section:
    """Step 4: candidate criteria with their evidence, the guard against chance, and the backtest."""
    from helpers.step4_write_criteria import plots as criteria_plots

    result = wb.criteria
    table = result.table
    from helpers.step5_report.handoff import first_contact_notes

    s = Section("criteria", t("report.criteria.title"), t("report.criteria.intro"))
    if result.no_traits and not len(table):
        from helpers.step1_list_clients.coverage import no_traits_text

        s.heading(t("report.empty.no_traits_title"))
        s.note(no_traits_text(), "warning")
        return s
    for box in first_contact_notes(result):  # first: a reader must see the assumption before any rule
        s.note(box, "warning")
    s.note(t("report.criteria.guard", tried=result.rules_tried, permutations=result.permutations), "caveat")
    data_rows = table[table["source"] == "data"]
    supported = data_rows[data_rows["evidence"] == "supported"]
    s.kpis([(t("report.kpi.supported"), len(supported)),
            (t("report.criteria.kpi_weak"), int((data_rows["evidence"] == "weak").sum())),
            (t("report.criteria.kpi_tried"), result.rules_tried)])
    if len(supported):
        s.figure(criteria_plots.plot_criteria(data_rows), t("report.criteria.plot_alt"))
        for target, key in (("A", "signs"), ("C", "flags")):
            part = supported[supported["points_to"] == target]
            s.heading(t(f"report.criteria.{key}_title", count=len(part)))
            s.table(_rules_table(part)) if len(part) else s.text(t("report.criteria.none_of_kind"))
    else:
        s.note(t("report.criteria.none_supported"), "warning")
    weak = data_rows[data_rows["evidence"] == "weak"]
    if len(weak):
        s.heading(t("report.criteria.weak_title"))
        s.table(_rules_table(weak), t("report.criteria.weak_caption"), max_rows=15)
    missing = result.missing[result.missing["differs"]] if len(result.missing) else result.missing
    if len(missing):
        s.heading(t("criteria.missing.title"))
        s.text(t("criteria.missing.intro"))
        s.bullets(missing["finding"])
    team = table[table["source"] == "team"]
    if len(team):
        s.heading(t("report.criteria.team_title"))
        s.table(_rules_table(team).assign(**{t("report.criteria.col_status"): team["status"].to_numpy()}))
    if result.backtest is not None:
        s.heading(t("report.criteria.backtest_title"))
        if len(result.backtest.table):
            backtest = result.backtest.table
            shares = [c for c in ("value", "ci_low", "ci_high") if c in backtest
                      and backtest[c].dropna().between(0, 1).all()]  # every measure is a share of clients
            s.table(backtest.assign(metric=backtest["metric"].map(_metric_words)),
                    formats=dict.fromkeys(shares, "percent"))
        s.note(result.backtest.caveat, "caveat" if result.backtest.ran and any(result.backtest.found_per_fold)
               else "warning")
    return s


def section_checklist(wb) -> Section:
    """The one-page qualification checklist for sales, and the ideal-client profile for marketing."""
    from helpers.step5_report.handoff import build_checklist, build_profile

    checklist = build_checklist(wb.criteria)
    # flows on paper like the other sections: the page sales carries is checklist.html (helpers.printables)
    s = Section("checklist", checklist["title"], checklist["intro"])
    for box in checklist["notes"]:
        s.note(box, "warning")
    if wb.criteria.no_traits and checklist["empty"]:  # no routes or profile to hand over: one line says why
        s.note(checklist["empty"], "warning")
        return s
    s.note(checklist["source_note"], "caveat")
    if checklist["empty"]:
        s.note(checklist["empty"], "warning")
    else:
        rows = [{t("report.checklist.question"): q["question"],
                 t("report.checklist.target"): " · ".join(q["target_answers"]) or "—",
                 t("report.checklist.red_flag"): " · ".join(q["red_flag_answers"]) or "—",
                 t("report.checklist.answer"): "☐ " + t("report.checklist.yes_target") + "   ☐ "
                 + t("report.checklist.yes_flag") + "   ☐ ?"} for q in checklist["questions"]]
        s.table(pd.DataFrame(rows))
    s.heading(t("report.checklist.route_title"))
    s.bullets(checklist["routes"])
    if not checklist["empty"]:
        from helpers.step4_write_criteria.prospects import route_clients, routing_check

        s.heading(t("criteria.checklist_routes.own_clients"))
        check = routing_check(route_clients(wb.company, wb.criteria))
        s.table(check.assign(share_a=check["share_a"].map("{:.0%}".format),
                             share_c=check["share_c"].map("{:.0%}".format))
                .rename(columns={"route": t("report.checklist.route_title"),
                                 "clients": t("criteria.checklist_routes.col_clients"),
                                 "share_a": t("criteria.checklist_routes.col_share_a"),
                                 "share_c": t("criteria.checklist_routes.col_share_c")}),
                t("criteria.checklist_routes.own_clients_caption"))
    profile = build_profile(wb.criteria)
    s.heading(profile["title"])
    s.text(profile["intro"] + " " + profile["size"])
    if profile["empty"]:
        s.note(profile["empty"], "warning")
    s.bullets(profile["signs"])
    s.bullets(profile["avoid"])
    return s


def section_prospects(wb) -> Section | None:
    """Prospects scored with the accepted criteria: verdict, reasons and route."""
    from helpers.step4_write_criteria.prospects import count_verdicts

    scored = wb.prospects
    if scored is None:
        return None
    s = Section("prospects", t("report.prospects.title"), t("report.prospects.intro"))
    s.table(count_verdicts(scored))
    columns = [c for c in ("prospect_id", "name", "verdict", "route", "key_prospect", "missing_p", "criteria_met", "to_ask", "similar_clients",
                           "expected_share_a", "expected_share_c") if c in scored.columns]
    shown = scored[columns].copy()
    for column in ("expected_share_a", "expected_share_c"):  # shares among similar clients, as a person reads them
        if column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
    s.table(shown, max_rows=30, print_rows=PROSPECT_ROWS_ON_PAPER)
    return s


# --------------------------------------------------------------------------- key clients (step 4), one per input
def section_contact_cadence(wb) -> Section | None:
    """Contact cadence with key clients (contacts.csv)."""
    from helpers.step1_list_clients import key_client_plots as plots

    work = wb.key_clients
    if work.cadence is None:
        return None
    cadence = work.cadence
    s = Section("contact_cadence", t("report.keyclients.cadence_section"), t("report.keyclients.cadence_intro"))
    s.kpis([(t("report.keyclients.kpi_key"), len(work.key_ids)),
            (t("report.keyclients.kpi_overdue"), int(cadence["overdue"].sum())),
            (t("report.keyclients.kpi_breaches"), int(cadence["cadence_breaches"].sum())),
            (t("report.keyclients.kpi_pause"), int(cadence["pause_breaches"].sum()))])
    s.figure(plots.plot_contact_cadence(work), t("report.keyclients.cadence_title"))
    s.table(cadence.drop(columns=["client_id"]))
    s.note(work.cadence_note)
    return s


def section_relationship(wb) -> Section | None:
    """Relationship scores of key clients (relationship.csv)."""
    from helpers.step1_list_clients.key_clients import SCORE_MAX
    from helpers.step1_list_clients import key_client_plots as plots

    work = wb.key_clients
    if work.relationships is None:
        return None
    s = Section("relationship", t("report.keyclients.relationship_section"),
                t("report.keyclients.relationship_intro"))
    s.figure(plots.plot_relationship_gaps(work), t("report.keyclients.relationship_title"))
    s.table(work.weakest, t("report.keyclients.weakest_caption"))
    s.figure(plots.plot_relationship_by_client(work), t("report.keyclients.by_client_title", max=SCORE_MAX))
    s.table(work.relationships.drop(columns=["client_id"]), t("report.keyclients.per_client_caption"))
    return s


def section_dossier(wb) -> Section | None:
    """Key-client dossiers: missing parts and overdue reviews, flags only (dossier.csv)."""
    work = wb.key_clients
    if work.dossiers is None:
        return None
    d = work.dossiers
    s = Section("dossier", t("report.keyclients.dossier_section"), t("report.keyclients.dossier_intro"))
    s.kpis([(t("report.keyclients.kpi_key"), len(d)),
            (t("report.keyclients.kpi_no_dossier"), int((~d["has_dossier"]).sum())),
            (t("report.keyclients.kpi_incomplete"), int((d["missing"] != "").sum())),
            (t("report.keyclients.kpi_review_overdue"), int(d["review_overdue"].sum()))])
    s.table(d.drop(columns=["client_id"]))
    s.note(work.dossier_note)
    return s


def section_key_risk(wb) -> Section | None:
    """Managers' key-client load and key clients at risk (contacts, dossier, transactions)."""
    from helpers.step1_list_clients import key_client_plots as plots

    work = wb.key_clients
    has_contact_inputs = any(getattr(wb.company, kind) is not None for kind in ("contacts", "relationship", "dossier"))
    if not has_contact_inputs and work.managers is None:
        return None  # a company without key-client inputs keeps its report as it was
    s = Section("key_risk", t("report.keyclients.risk_section"), t("report.keyclients.risk_intro"))
    if work.managers is not None:
        s.heading(t("report.keyclients.managers_title"))
        s.figure(plots.plot_manager_load(work), t("report.keyclients.managers_title"))
        s.table(work.managers)
    if work.at_risk is not None:
        s.heading(t("report.keyclients.at_risk_title"))
        if len(work.at_risk):
            s.table(work.at_risk.drop(columns=["client_id"]))
        else:
            s.note(t("report.keyclients.none_at_risk"))
    s.heading(t("report.tiers.how_title"))
    s.bullets(work.notes, print_items=METHOD_NOTES_ON_PAPER)
    return s


def section_false_clients(wb) -> Section | None:
    """"False" clients: several stalled deals and nothing won over a set time (deals.csv)."""
    work = wb.key_clients
    if work.false_clients is None:
        return None
    s = Section("false_clients", t("report.keyclients.false_section"), t("report.keyclients.false_intro",
                stalled=work.settings.false_min_stalled, months=work.settings.false_months))
    if len(work.false_clients):
        s.table(work.false_clients)
    else:
        s.note(t("report.keyclients.no_false", stalled=work.settings.false_min_stalled,
                 months=work.settings.false_months))
    if work.false_note:
        s.note(work.false_note, "caveat")
    return s


KEY_CLIENT_SECTIONS = (section_contact_cadence, section_relationship, section_dossier, section_key_risk,
                       section_false_clients)
