"""Step 5 of the method: the summary report a team reads, prints and hands over.

Builds `report.html` from the results of steps 1-4: self-contained (figures embedded,
inline CSS, no scripts, nothing fetched), every client-supplied text escaped.
"""

from __future__ import annotations

import base64
import numbers
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any, Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from . import __version__
from .export import figure_png, write_text
from .i18n import get_language, t

MAX_TABLE_ROWS = 40


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

    def bullets(self, items: Iterable[str]) -> "Section":
        items = [str(i) for i in items]
        if items:
            self.blocks.append(Block("bullets", items=items))
        return self

    def kpis(self, items: Iterable[tuple[str, Any]]) -> "Section":
        self.blocks.append(Block("kpis", items=[(str(k), str(v)) for k, v in items]))
        return self

    def table(self, df: pd.DataFrame | None, caption: str = "", *, max_rows: int = MAX_TABLE_ROWS,
              index: bool = False) -> "Section":
        if df is None or len(df) == 0:
            return self
        shown = df.head(max_rows)
        if len(df) > max_rows:
            caption = (caption + " " if caption else "") + t("report.rows_shown", shown=max_rows, total=len(df))
        self.blocks.append(Block("table", html=table_html(shown, index=index), caption=caption))
        return self

    def figure(self, fig, alt: str) -> "Section":
        """Embed a matplotlib Figure (or Axes) as PNG and close it."""
        fig = getattr(fig, "figure", fig)
        self.blocks.append(Block("figure", data=base64.b64encode(figure_png(fig)).decode("ascii"), alt=alt))
        plt.close(fig)
        return self


def _format_cell(value: Any) -> tuple[str, bool]:
    if value is None or (not isinstance(value, (list, tuple, dict, str)) and pd.isna(value)):
        return "", False
    if isinstance(value, (bool, np.bool_)):
        return ("✓" if value else "—"), False
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}".replace(",", "\u202f"), True
    if isinstance(value, numbers.Real):
        value = float(value)
        text = f"{value:,.2f}" if abs(value) < 1e15 else f"{value:.3g}"
        return text.replace(",", "\u202f"), True
    return str(value), False


def table_html(df: pd.DataFrame, *, index: bool = False) -> Markup:
    """A plain HTML table with every header and cell escaped (client names are untrusted).

    >>> str(table_html(pd.DataFrame({"name": ["<img src=x onerror=alert(1)>"], "n": [3]})))
    '<table><thead><tr><th>name</th><th>n</th></tr></thead><tbody><tr><td>&lt;img src=x onerror=alert(1)&gt;</td><td class="num">3</td></tr></tbody></table>'
    """
    frame = df.reset_index() if index else df
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = []
        for value in record:
            text, numeric = _format_cell(value)
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render_report_html(sections: list[Section], *, title: str, subtitle: str = "",
                       notes: list[Block] | None = None) -> str:
    """The report as one self-contained HTML string."""
    env = Environment(loader=PackageLoader("helpers", "report_templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.get_template("report.html.j2")
    return template.render(
        lang=get_language(), title=title, subtitle=subtitle, notes=notes or [], sections=sections,
        contents_label=t("report.contents"),
        footer=t("report.footer", version=__version__, day=date.today().isoformat()),
    )


def write_report(sections: list[Section], path: str | Path, **kwargs) -> Path:
    """Render and write report.html atomically."""
    return write_text(render_report_html(sections, **kwargs), path)


# --------------------------------------------------------------------------- sections of the workbook report
def _money(value: float, currency: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:,.0f}".replace(",", "\u202f") + f" {currency}"


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


def section_tiers(wb) -> Section:
    """The team's tiers beside the data's mirror, and the disagreements as questions."""
    from .plots import tiers as tier_plots

    result = wb.tiers
    s = Section("tiers", t("report.tiers.title"), t("report.tiers.intro"))
    for flag in result.flags:
        s.note(flag.message, "warning")
    s.table(result.tier_counts, t("report.tiers.counts_caption"), index=True)
    s.figure(tier_plots.plot_tier_counts(result), t("report.tiers.counts_caption"))
    s.heading(t("report.tiers.abc_title"))
    s.figure(tier_plots.plot_pareto(result), t("report.tiers.pareto_alt"))
    s.table(result.abc_summary)
    if result.matrix is not None:
        s.heading(t("report.tiers.xyz_title"))
        s.figure(tier_plots.plot_abc_xyz(result), t("report.tiers.xyz_alt"))
        s.table(result.matrix[["cell", "clients", "revenue_share", "advice"]])
    s.heading(t("report.tiers.compare_title"))
    if result.confusion is not None:
        s.figure(tier_plots.plot_confusion(result), t("report.tiers.confusion_alt"))
        if len(result.disagreements):
            s.text(t("report.tiers.questions_intro", count=len(result.disagreements)))
            s.bullets(result.disagreements["question"].head(12))
        else:
            s.note(t("report.tiers.no_disagreements"))
    else:
        s.note(t("report.tiers.no_team"), "caveat")
    s.heading(t("report.tiers.how_title"))
    s.bullets(result.notes)
    return s


def section_client_mix(wb) -> Section:
    """Step 1's audit: the client mix, concentration, price mix, key clients and client types."""
    from . import audit
    from .plots import audit as audit_plots

    company = wb.company
    s = Section("client_mix", t("report.mix.title"), t("report.mix.intro"))
    mix = audit.audit_client_mix(company)
    for warning in mix.warnings:
        s.note(warning, "warning")
    s.bullets(mix.verdicts)
    s.figure(audit_plots.plot_client_mix(mix), t("report.mix.mix_alt"))
    s.table(mix.bands)
    s.figure(audit_plots.plot_concentration(mix, mono_share=company.settings.abc.mono_client_share),
             t("report.mix.concentration_alt"))
    price = audit.audit_price_mix(company)
    if price is not None:
        s.heading(t("report.mix.price_title"))
        s.bullets(price.verdicts)
        s.figure(audit_plots.plot_price_mix(price), t("report.mix.price_alt"))
        s.bullets(price.notes)
    key_clients = audit.classify_key_clients(company)
    s.heading(t("report.mix.key_title"))
    s.table(audit.summarise_key_clients(key_clients))
    s.text(audit.hint_manager_load(key_clients))
    types = audit.summarise_client_types(audit.tag_client_types(company), settings=company.settings.audit)
    s.heading(t("report.mix.types_title"))
    s.table(types)
    return s


def build_report(wb) -> list[Section]:
    """Every section of the report, in the order of the method."""
    # the order of the method; a builder returns None when its step has nothing to show (no deals, no prospects)
    builders = (section_overview, section_data, section_client_mix, section_tiers, section_traits, section_deals,
                section_criteria, section_checklist, section_prospects)
    return [section for build in builders if (section := build(wb)) is not None]


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
    return write_report(sections, wb.out_dir / "report.html", title=title, subtitle=subtitle, notes=notes)


def preview(sections: list[Section]):
    """Show the sections inside a notebook (the same HTML as the report, without the page frame)."""
    from IPython.display import HTML

    html = render_report_html(sections, title="", subtitle="")
    body = html.split("<body>", 1)[-1].rsplit("</body>", 1)[0]
    return HTML(body)


def _interval(low: float, high: float) -> str:
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"[{low:+.2f}; {high:+.2f}]"


def section_traits(wb) -> Section | None:
    """Step 3: how the tiers differ, ranked, with counts and intervals."""
    from .plots import traits as trait_plots

    comparison = wb.traits
    s = Section("traits", t("report.traits.title"), t("report.traits.intro"))
    s.note(t(f"report.traits.source_{comparison.source}"), "caveat")
    s.kpis([(t(f"report.traits.tier_{tier}"), int(n)) for tier, n in comparison.counts.items()])
    contrasts = comparison.contrasts
    if contrasts is None or contrasts.empty:
        s.note(t("report.traits.none"))
        return s
    s.figure(trait_plots.plot_effect_forest(comparison), t("report.traits.forest_alt"))
    shown = contrasts[contrasts["note"].isna()].sort_values(["contrast", "rank"]).groupby("contrast").head(8)
    table = pd.DataFrame({
        t("report.traits.col_contrast"): shown["contrast"],
        t("report.traits.col_trait"): shown["trait"] + shown["level"].map(lambda v: f" = {v}" if pd.notna(v) else ""),
        t("report.traits.col_when"): shown["visibility"],
        t("report.traits.col_n"): shown["n_group"].astype(int).astype(str) + " / " + shown["n_rest"].astype(int).astype(str),
        t("report.traits.col_group"): shown["value_group"].round(2),
        t("report.traits.col_rest"): shown["value_rest"].round(2),
        t("report.traits.col_effect"): shown["effect"].round(2).astype(str) + " " +
        [_interval(lo, hi) for lo, hi in zip(shown["effect_low"], shown["effect_high"])],
        t("report.traits.col_q"): shown["q_value"].map(lambda q: f"{q:.3f}" if pd.notna(q) else ""),
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
    from .plots import traits as trait_plots

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



def _rules_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("report.criteria.col_rule"): rows["rule"],
        t("report.criteria.col_points_to"): rows["points_to"].map(lambda v: t(f"report.criteria.points_{v}")),
        t("report.criteria.col_evidence"): rows["evidence"].map(lambda v: t(f"report.criteria.evidence_{v}")),
        t("report.criteria.col_support"): rows["support"].astype(int),
        t("report.criteria.col_counts"): rows["n_a"].astype(int).astype(str) + " / " + rows["n_b"].astype(int).astype(str)
        + " / " + rows["n_c"].astype(int).astype(str),
        t("report.criteria.col_share"): [f"{s:.0%} [{lo:.0%}–{hi:.0%}]" for s, lo, hi in
                                         zip(rows["share"], rows["ci_low"], rows["ci_high"])],
        t("report.criteria.col_p"): rows["p_adjusted"].map(lambda p: f"{p:.3f}" if pd.notna(p) else ""),
        t("report.criteria.col_stability"): rows["stability"].map(lambda s: f"{s:.0%}" if pd.notna(s) else ""),
        t("report.criteria.col_known"): rows["first_contact"].map(
            lambda v: t("report.criteria.first_contact") if v else t("report.criteria.after_sale")),
    })


def section_criteria(wb) -> Section:
    """Step 4: candidate criteria with their evidence, the guard against chance, and the backtest."""
    from .plots import criteria as criteria_plots

    result = wb.criteria
    table = result.table
    s = Section("criteria", t("report.criteria.title"), t("report.criteria.intro"))
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
    team = table[table["source"] == "team"]
    if len(team):
        s.heading(t("report.criteria.team_title"))
        s.table(_rules_table(team).assign(**{t("report.criteria.col_status"): team["status"].to_numpy()}))
    if result.backtest is not None:
        s.heading(t("report.criteria.backtest_title"))
        s.table(result.backtest.table)
        s.note(result.backtest.caveat, "caveat")
    return s


def section_checklist(wb) -> Section:
    """The one-page qualification checklist for sales, and the ideal-client profile for marketing."""
    from .handoff import build_checklist, build_profile

    checklist = build_checklist(wb.criteria)
    s = Section("checklist", checklist["title"], checklist["intro"], new_page=True)
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
    s.text(checklist["route_rule"])
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
    from .prospects import count_verdicts

    scored = wb.prospects
    if scored is None:
        return None
    s = Section("prospects", t("report.prospects.title"), t("report.prospects.intro"))
    s.table(count_verdicts(scored))
    columns = [c for c in ("prospect_id", "name", "verdict", "route", "signs_met", "red_flags_met", "to_ask")
               if c in scored.columns]
    s.table(scored[columns], max_rows=30)
    return s

