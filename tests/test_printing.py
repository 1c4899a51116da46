"""Paper: the report, the one-page hand-outs and every sheet printed to A4 PDF by headless Chromium.

Skipped, with the reason shown, where Chromium (Debian package `chromium`) or pypdf is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.kit import templates as tpl
from helpers.core.i18n import language
from helpers.paths import PROJECT_ROOT, TEMPLATES_DIR

pypdf = pytest.importorskip("pypdf", reason="pypdf is needed to count printed pages (pip install pypdf)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(Debian: apt-get install -y chromium); printed page counts not checked")

SAMPLE = PROJECT_ROOT / "data" / "sample" / "b2b_services"
REPORT_PAGE_LIMIT = 12  # issue 13: the whole report of the 150-client sample on at most 12 A4 pages


def print_to_pdf(html: Path, pdf: Path) -> int:
    """Print `html` to `pdf` as Chromium's print dialog would (A4 from the page's @page); return the page count."""
    profile = pdf.parent / f".chromium-{pdf.stem}"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    shutil.rmtree(profile, ignore_errors=True)
    reader = pypdf.PdfReader(str(pdf))
    for page in reader.pages:  # A4 portrait or landscape, never Letter
        size = sorted((float(page.mediabox.width), float(page.mediabox.height)))
        assert abs(size[0] - 595) < 3 and abs(size[1] - 842) < 3, size
    return len(reader.pages)


@pytest.fixture(scope="module", params=["en", "ru"])
def sample_run(request, tmp_path_factory) -> Path:
    """The report step of the 150-client sample, in English and in Russian."""
    from helpers.step5_report.report import build_report, publish_report
    from helpers.workbook import open_workbook

    out = tmp_path_factory.mktemp(f"run-{request.param}")
    with language(request.param):
        wb = open_workbook(str(SAMPLE), str(out), language=request.param)
        publish_report(wb, build_report(wb))
    return out


def test_sample_report_prints_on_at_most_twelve_a4_pages(sample_run, tmp_path):
    pages = print_to_pdf(sample_run / "report.html", tmp_path / "report.pdf")
    assert 4 <= pages <= REPORT_PAGE_LIMIT, pages


def test_long_tables_say_on_paper_where_the_rest_is(sample_run):
    html = (sample_run / "report.html").read_text(encoding="utf-8")
    assert 'class="screen-only"' in html  # rows left off paper stay on screen
    assert "prospects_scored.csv" in html  # ... and the note names the file that holds them all


@pytest.mark.parametrize("name", ["checklist.html", "profile.html"])
def test_sales_checklist_and_profile_are_one_a4_page(sample_run, tmp_path, name):
    assert print_to_pdf(sample_run / name, tmp_path / "page.pdf") == 1


def _long_checklist(n: int) -> dict:
    return {"title": "Qualification checklist", "intro": "Ask these in the first conversation. " * 3,
            "source_note": "Criteria: supported by the data.", "route_rule": "Meets a target answer → full sales. " * 4,
            "empty": "", "questions": [
                {"question": f"What is the client's very long trait number {i} with a long explanation?",
                 "target_answers": [f"trait {i} is between 10 and 20 and the client says so clearly"] * 2,
                 "red_flag_answers": [f"trait {i} is below 3, or the client refuses to answer at all"],
                 "evidence": ["supported"]} for i in range(n)]}


@pytest.mark.parametrize("n", [1, 12, 60])
def test_checklist_stays_on_one_page_however_long(n, tmp_path):
    from helpers.step5_report.printables import render_checklist_html

    page = tmp_path / "checklist.html"
    page.write_text(render_checklist_html(_long_checklist(n), company="Acme <b>", day="2026-01-01"), encoding="utf-8")
    assert print_to_pdf(page, tmp_path / "c.pdf") == 1
    text = page.read_text(encoding="utf-8")
    assert "Acme &lt;b&gt;" in text
    if n == 60:  # past the smallest font, the sheet says what it left off and where it is
        assert "of 60 questions fit this page" in text


@pytest.mark.parametrize("n", [2, 80])
def test_profile_stays_on_one_page_however_long(n, tmp_path):
    from helpers.step5_report.printables import render_profile_html

    profile = {"title": "Ideal client profile", "intro": "What A clients have in common.", "size": "31 of 145.",
               "empty": "", "signs": [f"sign {i}: 89% of such clients are A (against 21% overall)" for i in range(n)],
               "avoid": [f"Avoid in targeting: trait {i} (70% of such clients are C)" for i in range(n)]}
    page = tmp_path / "profile.html"
    page.write_text(render_profile_html(profile, company="Acme", day="2026-01-01"), encoding="utf-8")
    assert print_to_pdf(page, tmp_path / "p.pdf") == 1


SHEETS = {sheet.id: sheet for sheet in tpl.load_sheets()}


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("sheet_id", sorted(SHEETS))
def test_every_sheet_prints_within_its_page_budget(sheet_id, lang, tmp_path):
    budget = SHEETS[sheet_id].data.get("pages")
    assert budget, f"give templates/source/{sheet_id}.yml a `pages:` budget"
    pages = print_to_pdf(TEMPLATES_DIR / lang / f"{sheet_id}.html", tmp_path / "sheet.pdf")
    assert pages <= budget, f"{lang}/{sheet_id}.html prints on {pages} A4 pages, its budget is {budget}"


def test_placement_worksheet_prints_on_a4_landscape(tmp_path):
    from helpers.step1_list_clients.load import load_company
    from helpers.step2_place_in_tiers.worksheets import write_placement_worksheet

    html = [p for p in write_placement_worksheet(load_company(SAMPLE), tmp_path, language="ru")
            if p.suffix == ".html"][0]
    pages = print_to_pdf(html, tmp_path / "worksheet.pdf")
    reader = pypdf.PdfReader(str(tmp_path / "worksheet.pdf"))
    assert float(reader.pages[0].mediabox.width) > float(reader.pages[0].mediabox.height)  # landscape
    assert pages <= 8  # 150 clients, about 22 rows a page


@pytest.mark.parametrize("n", [5, 9])
def test_russian_checklist_stays_on_one_page(n, tmp_path):
    # Cyrillic runs wider than Latin: the fit estimate must hold for it too
    from helpers.step5_report.printables import render_checklist_html

    questions = [{"question": f"Каков у клиента показатель «Численность сотрудников отдела {i}»?",
                  "target_answers": [f"Численность отдела {i} не меньше 51 человека"],
                  "red_flag_answers": [f"Численность отдела {i} меньше 15 человек", "Отрасль — розничная торговля"]}
                 for i in range(n)]
    page = tmp_path / "checklist.html"
    with language("ru"):
        page.write_text(render_checklist_html({"title": "Чек-лист квалификации", "questions": questions,
                                               "route_rule": "Есть целевой ответ и нет красных флагов → полный "
                                               "цикл продаж. " * 3}, company="Нордвинд Сервис"), encoding="utf-8")
    assert print_to_pdf(page, tmp_path / "c.pdf") == 1
