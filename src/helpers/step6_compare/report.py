"""The sections of compare.html (`tierbook compare`): the re-audit read by the team, in EN or RU.

Built with the report's own blocks (helpers.step5_report.report.Section), so compare.html is self-contained like
report.html: inline CSS, figures embedded as base64 PNG, no scripts, every client text escaped.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from helpers.core.i18n import t
from helpers.step5_report.report import Block, Section

MOVED_SHOWN = 25


def _pct(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.0%}"


def _interval(share, low, high) -> str:
    if share is None or pd.isna(share):
        return "—"
    return f"{share:.0%} [{low:.0%}–{high:.0%}]"


def _num(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:,.0f}".replace(",", "\u202f")


def section_overview(cmp) -> Section:
    """Which runs are compared, what stands in the way, and the headline counts."""
    s = Section("overview", t("compare.overview.title"), t("compare.overview.intro"))
    runs = pd.DataFrame([{t("compare.overview.col_run"): t(f"compare.overview.{side}"),
                          t("compare.overview.col_started"): run.label, t("compare.overview.col_company"): run.company,
                          t("compare.overview.col_clients"): len(run.tiers),
                          t("compare.overview.col_folder"): str(run.path)}
                         for side, run in (("old", cmp.old), ("new", cmp.new))])
    s.table(runs)
    counts = cmp.counts()
    s.kpis([(t(f"compare.kpi.{k}"), v) for k, v in counts.items()])
    for p in cmp.problems:  # warnings are at the top of the page already
        if p.severity == "info":
            s.note(" — ".join(x for x in (p.message, p.fix) if x))
    for note in cmp.notes:
        s.note(note, "caveat")
    return s


def section_migrations(cmp) -> Section:
    """Who moved between tiers, who is new, lost or asleep."""
    from helpers.step6_compare.plots import plot_tier_migration

    m = cmp.migrations
    s = Section("migrations", t("compare.migrations.title"),
                t("compare.migrations.intro", basis=t(f"compare.basis.{cmp.basis}")))
    s.figure(plot_tier_migration(cmp.matrix, basis=cmp.basis), t("compare.migrations.plot_alt"))
    s.table(cmp.matrix, t("compare.migrations.matrix_caption"), index=True)
    columns = {"client_id": t("compare.col.client_id"), "name": t("compare.col.name"),
               "team_tier_then": t("compare.col.team_then"), "team_tier_now": t("compare.col.team_now"),
               "suggested_tier_then": t("compare.col.data_then"), "suggested_tier_now": t("compare.col.data_now"),
               "abc_then": "ABC " + t("compare.col.then"), "abc_now": "ABC " + t("compare.col.now"),
               "revenue_change": t("compare.col.revenue_change")}
    moved = m[m[f"{cmp.basis}_move"].isin(["up", "down", "other"])]
    moved = moved.reindex(moved["revenue_change"].abs().sort_values(ascending=False).index)
    for title_key, part in (("moved", moved), ("new", m[m["status"] == "new"]), ("lost", m[m["status"] == "lost"]),
                            ("asleep", m[m["status"] == "gone_to_sleep"]), ("awake", m[m["status"] == "woke_up"])):
        s.heading(t(f"compare.migrations.{title_key}", count=len(part)))
        if len(part):
            s.table(part[list(columns)].rename(columns=columns), max_rows=MOVED_SHOWN)
    s.note(t("compare.migrations.file_note"), "caveat")
    return s


def section_concentration(cmp) -> Section:
    """Concentration and the client mix, then and now."""
    s = Section("concentration", t("compare.concentration.title"), t("compare.concentration.intro"))
    table = cmp.concentration.copy()
    shares = table["metric"].isin(["top1_share", "top5_share"])
    shown = pd.DataFrame({
        t("compare.concentration.col_metric"): table["metric"].map(lambda k: t(f"compare.concentration.{k}")),
        t("compare.col.then"): [(_pct(v) if sh else (f"{v:.3f}" if k == "hhi" and pd.notna(v) else _num(v)))
                                for v, sh, k in zip(table["then"], shares, table["metric"])],
        t("compare.col.now"): [(_pct(v) if sh else (f"{v:.3f}" if k == "hhi" and pd.notna(v) else _num(v)))
                               for v, sh, k in zip(table["now"], shares, table["metric"])],
        t("compare.col.change"): [(f"{v * 100:+.1f} pp" if sh else (f"{v:+.3f}" if k == "hhi" else _num(v)))
                                  if pd.notna(v) else "—" for v, sh, k in zip(table["change"], shares, table["metric"])],
    })
    s.table(shown)
    hhi = table.set_index("metric")["change"].get("hhi", math.nan)
    if pd.notna(hhi) and abs(hhi) >= 0.01:
        s.note(t("compare.concentration.hhi_up" if hhi > 0 else "compare.concentration.hhi_down"), "caveat")
    s.heading(t("compare.concentration.mix_title"))
    mix = cmp.mix.assign(dimension=cmp.mix["dimension"].map(lambda d: t(f"compare.mix.{d}")))
    s.table(mix.rename(columns={"dimension": t("compare.mix.col_dimension"), "value": t("compare.mix.col_value"),
                                "then": t("compare.col.then"), "now": t("compare.col.now"),
                                "change": t("compare.col.change")}), max_rows=80)
    return s


def section_criteria_changes(cmp) -> Section:
    """Criteria that appeared, vanished or moved their threshold."""
    s = Section("criteria_changes", t("compare.changes.title"), t("compare.changes.intro"))
    changes = cmp.criteria_changes
    if changes.empty:
        s.note(t("compare.changes.none"))
        return s
    s.kpis([(t(f"compare.changes.kind_{k}"), int((changes["change"] == k).sum()))
            for k in ("appeared", "vanished", "threshold", "changed", "kept")])
    shown = changes[changes["change"] != "kept"]
    s.table(pd.DataFrame({
        t("compare.changes.col_change"): shown["change"].map(lambda k: t(f"compare.changes.kind_{k}")),
        t("compare.changes.col_points_to"): shown["points_to"],
        t("compare.changes.col_then"): shown["rule_then"].fillna("—"),
        t("compare.changes.col_now"): shown["rule_now"].fillna("—"),
        t("compare.changes.col_evidence"): shown["evidence_then"].fillna("—") + " → " + shown["evidence_now"].fillna("—"),
    }))
    return s


def section_criteria_check(cmp) -> Section:
    """Did the old checklist call the leads and new clients right?"""
    check = cmp.check
    s = Section("criteria_check", t("compare.check.title"), t("compare.check.intro"), new_page=True)
    for note in check.notes:
        s.note(note, "caveat")
    summary = check.summary
    s.table(pd.DataFrame({
        t("compare.check.col_verdict"): summary["verdict"].map(lambda v: t(f"compare.check.verdict_{v.replace(' ', '_')}")),
        t("compare.check.col_n"): summary["n"],
        t("compare.check.col_hits"): [t(f"compare.check.hit_{v.replace(' ', '_')}") + f": {int(h)}" if pd.notna(h) else "—"
                                      for v, h in zip(summary["verdict"], summary["hits"])],
        t("compare.check.col_share"): [_interval(a, b, c) for a, b, c in
                                       zip(summary["share"], summary["ci_low"], summary["ci_high"])],
        t("compare.check.col_detail"): [t("compare.check.detail", a=a, c=c, won=w, refused=r, none=nc)
                                        for a, c, w, r, nc in zip(summary["became_a"], summary["became_c"],
                                                                  summary["won_fast"], summary["refused"],
                                                                  summary["not_a_client"])],
    }), t("compare.check.summary_caption"))
    per = check.criteria
    if len(per):
        s.heading(t("compare.check.each_title"))
        s.table(pd.DataFrame({
            t("compare.check.col_rule"): per["rule"],
            t("compare.check.col_points_to"): per["points_to"],
            t("compare.check.col_met"): [f"{k}/{n} · " + _interval(sh, lo, hi) for k, n, sh, lo, hi in
                                         zip(per["met_hits"], per["met_n"], per["met_share"], per["met_ci_low"],
                                             per["met_ci_high"])],
            t("compare.check.col_rest"): [f"{k}/{n} · " + _pct(sh) for k, n, sh in
                                          zip(per["rest_hits"], per["rest_n"], per["rest_share"])],
            t("compare.check.col_difference"): ["—" if pd.isna(d) else f"{d * 100:+.0f} pp [{lo * 100:+.0f}; {hi * 100:+.0f}]"
                                                for d, lo, hi in zip(per["difference"], per["difference_low"],
                                                                     per["difference_high"])],
            t("compare.check.col_result"): per["verdict"].map(lambda v: t(f"compare.check.result_{v}")),
        }), t("compare.check.each_caption"))
    s.note(t("compare.check.how"), "caveat")
    return s


def build_compare_report(cmp) -> tuple[list[Section], str, str, list[Block]]:
    """(sections, title, subtitle, notes at the top) of compare.html."""
    sections = [section_overview(cmp), section_migrations(cmp), section_concentration(cmp),
                section_criteria_changes(cmp), section_criteria_check(cmp)]
    title = t("compare.title", company=cmp.new.company or cmp.old.company)
    subtitle = t("compare.subtitle", old=cmp.old.label, new=cmp.new.label, day=date.today().isoformat())
    notes = [Block("note", text=str(p), level="warning") for p in cmp.problems if p.severity != "info"]
    if cmp.old.anonymised or cmp.new.anonymised:
        notes.append(Block("note", text=t("run.anonymised_note"), level="warning"))
    return sections, title, subtitle, notes
