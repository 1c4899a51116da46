"""Thin companies (issues 9 item 6 and 13 item 4): when `check` passes, the whole run completes.

Each kind of thin folder a founder really brings is built from the samples and import cases: a client
list of ids and names only (no revenue, traits or placement), ids with revenue (no traits), only a
transaction log of one client, a CRM deal export whose clients have no revenue, every client in one
tier. The end-to-end runs cover the kinds with the fewest companies; the report sections are checked
in-process on every kind.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import paths
from helpers.step1_list_clients.coverage import EXAMPLE_TRAITS, data_coverage, no_traits_text
from helpers.core.i18n import language, t

TIERBOOK = str(Path(sys.executable).parent / "tierbook")
SAMPLE = paths.SAMPLE_DIR / "b2b_services"
CASES = Path(__file__).parent / "data" / "import_cases"


def _company_yml(folder: Path, name: str, lang: str) -> None:
    (folder / "company.yml").write_text(f"name: {name}\ncurrency: USD\nlanguage: {lang}\n", encoding="utf-8")


def build_ids_only(folder: Path) -> None:
    """Only clients.csv with client_id and name: no revenue anywhere, no traits, no placement."""
    folder.mkdir(parents=True)
    clients = pd.read_csv(SAMPLE / "clients.csv", dtype=str).head(24)
    clients[["client_id", "name"]].to_csv(folder / "clients.csv", index=False)
    _company_yml(folder, "Ids only", "en")


def build_ids_revenue(folder: Path) -> None:
    """clients.csv with client_id, name and revenue (no traits, no placement), in Russian."""
    folder.mkdir(parents=True)
    clients = pd.read_csv(SAMPLE / "clients.csv", dtype=str).head(30)
    tx = pd.read_csv(SAMPLE / "transactions.csv", dtype={"client_id": str})
    revenue = tx.groupby("client_id")["amount"].sum().round(0)
    clients.assign(revenue=clients["client_id"].map(revenue).fillna(1000))[["client_id", "name", "revenue"]] \
        .to_csv(folder / "clients.csv", index=False)
    _company_yml(folder, "Только выручка", "ru")


def build_one_client_transactions(folder: Path) -> None:
    """Only transactions.csv, of a single client (no client list, so no traits and no placement), in Russian."""
    folder.mkdir(parents=True)
    tx = pd.read_csv(SAMPLE / "transactions.csv", dtype={"client_id": str})
    tx[tx["client_id"] == tx["client_id"].iloc[0]].to_csv(folder / "transactions.csv", index=False)
    _company_yml(folder, "Один клиент", "ru")


def build_deals_one_tier(folder: Path) -> None:
    """A HubSpot deal export whose clients carry traits but no revenue, and a placement of every client in A1."""
    shutil.copytree(CASES / "07-hubspot-deals-open-stages", folder)
    (folder / "expect.md").unlink()
    ids = pd.read_csv(folder / "clients.csv", dtype=str)["Record ID"]
    pd.DataFrame({"client_id": ids, "tier": "A1"}).to_csv(folder / "placement.csv", index=False)


def build_one_tier_with_revenue(folder: Path) -> None:
    """Clients with traits and transactions, every one placed by the team in the same tier."""
    folder.mkdir(parents=True)
    clients = pd.read_csv(SAMPLE / "clients.csv", dtype=str).head(40)
    clients.to_csv(folder / "clients.csv", index=False)
    tx = pd.read_csv(SAMPLE / "transactions.csv", dtype={"client_id": str})
    tx[tx["client_id"].isin(clients["client_id"])].to_csv(folder / "transactions.csv", index=False)
    pd.DataFrame({"client_id": clients["client_id"], "tier": "B2"}).to_csv(folder / "placement.csv", index=False)
    _company_yml(folder, "One tier", "en")


# name: (builder, language, has traits)
KINDS = {
    "ids_only": (build_ids_only, "en", False),
    "ids_revenue": (build_ids_revenue, "ru", False),
    "one_client_transactions": (build_one_client_transactions, "ru", False),
    "deals_one_tier": (build_deals_one_tier, "en", True),
    "one_tier_with_revenue": (build_one_tier_with_revenue, "en", True),
}
# the fewest end-to-end runs covering every kind: no revenue, no traits, no placement, only clients.csv,
# only transactions, one client, deals without clients' revenue, all clients in one tier
RUN_KINDS = ("ids_only", "one_client_transactions", "deals_one_tier")


def tierbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TIERBOOK, *args], capture_output=True, text=True, timeout=900, cwd=paths.PROJECT_ROOT)


def _in_html(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False)


@pytest.fixture(scope="module", params=RUN_KINDS)
def thin_run(request, tmp_path_factory):
    build, lang, has_traits = KINDS[request.param]
    folder = tmp_path_factory.mktemp("thin") / request.param
    build(folder)
    check = tierbook("check", str(folder))
    assert check.returncode == 0, check.stdout + check.stderr
    out = folder.parent / f"{request.param}-run"
    result = tierbook("run", str(folder), "--out", str(out), "--quiet")
    return request.param, lang, has_traits, check, result, out


def test_a_checked_thin_company_runs_to_its_report(thin_run):
    name, lang, has_traits, check, result, out = thin_run
    assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    report = out / "report.html"
    assert report.is_file() and report.stat().st_size > 5_000
    for output in ("tiers.csv", "criteria.csv", "clients_audit.csv"):
        assert (out / output).is_file(), output


def test_the_empty_traits_case_explains_itself_in_the_report_and_in_check(thin_run):
    name, lang, has_traits, check, result, out = thin_run
    assert result.returncode == 0, result.stderr
    text = " ".join((out / "report.html").read_text(encoding="utf-8").split())
    explanation = _in_html(no_traits_text(lang))
    with language(lang):
        backtest_title = t("report.criteria.backtest_title")
    if has_traits:
        assert explanation not in text
        assert "no_traits" not in check.stdout
    else:
        assert explanation in text  # the report says plainly that criteria need traits, and which to add
        assert all(column in text for column in EXAMPLE_TRAITS)
        assert backtest_title not in text  # ... and skips the backtest rather than showing zero criteria
        assert "industry" in check.stdout and "warning" in check.stdout  # check says the same as a warning


# ---------------------------------------------------------------------------- report sections, in-process
@pytest.fixture(scope="module", params=list(KINDS))
def thin_workbook(request, tmp_path_factory):
    from helpers.workbook import open_workbook

    build, lang, has_traits = KINDS[request.param]
    folder = tmp_path_factory.mktemp("thin-wb") / request.param
    build(folder)
    wb = open_workbook(str(folder), str(folder.parent / f"{request.param}-out"))
    yield request.param, lang, has_traits, wb
    import matplotlib.pyplot as plt

    plt.close("all")


def _section_text(section) -> str:
    parts = [section.title, section.intro]
    for block in section.blocks:
        parts += [block.text, str(block.html), block.caption, *map(str, block.items)]
    return " ".join(" ".join(str(p) for p in parts).split())


def test_every_report_section_builds_for_a_thin_company(thin_workbook):
    from helpers.step5_report.report import build_report, render_report_html

    name, lang, has_traits, wb = thin_workbook
    sections = build_report(wb)
    ids = {s.id for s in sections}
    assert {"overview", "data", "client_mix", "tiers", "traits", "criteria", "checklist"} <= ids
    assert render_report_html(sections, title=name)


def test_sections_agree_on_what_the_data_allows(thin_workbook):
    """No section contradicts another: without traits the criteria section explains instead of
    reporting "0 rules tried" beside "no pattern is strong enough" and a backtest of zero criteria."""
    from helpers.step5_report.report import section_checklist, section_criteria, section_traits

    name, lang, has_traits, wb = thin_workbook
    with language(lang):
        explanation = " ".join(no_traits_text().split())
        criteria = _section_text(section_criteria(wb))
        traits = _section_text(section_traits(wb))
        checklist = _section_text(section_checklist(wb))
        tried = " ".join(t("report.criteria.kpi_tried").split())
        none_supported = " ".join(t("report.criteria.none_supported").split())
        backtest = t("report.criteria.backtest_title")
        short = " ".join(t("report.empty.no_traits_short").split())
    coverage = data_coverage(wb.company)
    assert coverage.has_traits == has_traits
    if has_traits:
        assert explanation not in criteria and explanation not in traits
        return
    assert explanation in criteria and explanation in traits
    assert tried not in criteria and none_supported not in criteria and backtest not in criteria
    assert short in checklist
    assert wb.criteria.backtest is None and wb.criteria.no_traits


def test_one_tier_says_there_is_nothing_to_compare(thin_workbook):
    from helpers.step5_report.report import section_traits

    name, lang, has_traits, wb = thin_workbook
    counts = wb.traits.counts
    with language(lang):
        text = _section_text(section_traits(wb))
        note = " ".join(t("report.empty.one_tier", tier=", ".join(map(str, counts.index))).split())
    if name == "deals_one_tier":  # no revenue: the data puts every client in C, and the team put them all in A1
        assert len(counts) == 1
    assert (note in text) == (has_traits and len(counts) == 1)


def test_the_audit_without_revenue_names_no_gold_client(thin_workbook):
    name, lang, has_traits, wb = thin_workbook
    coverage = data_coverage(wb.company)
    key = wb.audit.key_clients
    assert (key["key_class"] == "gold").any() == coverage.has_revenue
    if coverage.has_revenue:
        assert abs(wb.audit.mix.bands["revenue_share"].sum() - 1) < 1e-9


def test_sections_without_revenue_say_why_instead_of_empty_tables(thin_workbook):
    from helpers.step5_report.report import section_client_mix, section_tiers

    name, lang, has_traits, wb = thin_workbook
    has_revenue = data_coverage(wb.company).has_revenue
    with language(lang):
        mix = _section_text(section_client_mix(wb))
        tiers = _section_text(section_tiers(wb))
        no_revenue = " ".join(t("report.empty.no_revenue").split())
        key_title, abc_title = t("report.mix.key_title"), t("report.tiers.abc_title")
    assert (no_revenue in mix) == (not has_revenue)
    assert (key_title in mix) == has_revenue and (abc_title in tiers) == has_revenue
    assert (wb.audit.manager_hint == no_revenue) == (not has_revenue)  # never "0 gold clients need 0 managers"


def test_checklist_without_traits_hands_over_nothing_but_the_reason(thin_workbook):
    from helpers.step5_report.report import section_checklist

    name, lang, has_traits, wb = thin_workbook
    section = section_checklist(wb)
    with language(lang):
        route_title = t("report.checklist.route_title")
    headings = [b.text for b in section.blocks if b.kind == "heading"]
    assert (route_title in headings) == has_traits


def test_notebooks_name_the_missing_data(thin_workbook):
    from helpers.step1_list_clients.coverage import missing_data_notes

    name, lang, has_traits, wb = thin_workbook
    coverage = data_coverage(wb.company)
    with language(lang):
        notes = missing_data_notes(wb.company)
        assert (no_traits_text() in notes) == (not has_traits)
        assert (t("report.empty.no_revenue") in notes) == (not coverage.has_revenue)
    assert coverage.has_revenue == (name not in ("ids_only", "deals_one_tier"))
    assert coverage.has_placement == (name in ("deals_one_tier", "one_tier_with_revenue"))
    assert coverage.has_transactions == (name in ("one_client_transactions", "one_tier_with_revenue"))


def test_a_resample_where_a_trait_has_one_value_scores_it_as_no_rule():
    """Few clients: a bootstrap resample can draw one value of a number trait (or one category); the
    stability search must score that family as "no rule" instead of failing step 4 (case 07)."""
    import numpy as np

    from helpers.step1_list_clients.settings import CriteriaSettings
    from helpers.step4_write_criteria.search import _prepare, _search, observed_draw

    clients = pd.DataFrame({"headcount": [5.0, 50.0, 500.0, 5.0], "industry": ["a", "b", "a", "b"]})
    prep = _prepare(clients, {"headcount": "number", "industry": "category"}, CriteriaSettings())
    # a resample that drew client 0 four times: one headcount, one industry
    one_value = observed_draw(prep, np.array([0, 0, 0, 0]), np.array(["A", "C", "A", "C"]))
    scores, best = _search(prep, one_value, min_support=1, details=True)
    assert scores.shape[0] == len(best) and np.isneginf(scores[0]).all() and best[0][0] is None
    assert np.isneginf(scores[1]).all() and best[1][0] is None
