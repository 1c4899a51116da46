"""Issue 13: the report a team reads is in its own language, every word of it.

Renders report.html, checklist.html and profile.html of EVERY sample (data/sample/*) in Russian and
in English and reads the visible text (tags, styles and attributes stripped):
- RU: no catalogue key, no English label of the report's tables (`won fast`, `share of clients`) and
  no Latin word at all except the company's own words (its column names, names, reasons: whatever its
  input files hold), file names, company.yml settings and a short list of proper names and units;
- EN: no raw snake_case name (`client_share`, `won_fast`) outside the same exceptions.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from helpers.kit import templates
from helpers.core.i18n import catalogue, label, language
from helpers.paths import SAMPLE_DIR

SAMPLES = sorted(p for p in SAMPLE_DIR.iterdir() if p.is_dir() and any(p.iterdir()))
PAGES = ("report.html", "checklist.html", "profile.html")
# Proper names, abbreviations and units a Russian text keeps in Latin letters.
PROPER = frozenset({"abc", "xyz", "adi", "cv", "tierbook", "excel", "syntetos", "boylan", "cliff", "pareto", "crm",
                    "utf", "cp", "parquet", "csv", "xlsx", "html", "yml", "id", "inn", "p", "q", "n", "vs"})
# Values a user types into company.yml, quoted in the method notes as they must be written.
SETTING_VALUES = frozenset({"month", "quarter", "half_year", "auto", "revenue", "margin"})
FILE_NAME = re.compile(r"[\w.\-/]+\.(?:csv|html|xlsx|yml|yaml|parquet|json|md)\b|templates/")
COMMAND = re.compile(r"tierbook \w+")


class _VisibleText(HTMLParser):
    """Text a reader sees: element content without <style>, <script> or any attribute; cells kept apart."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.cells: list[str] = []
        self._skip = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        elif tag in ("td", "th", "li"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th", "li") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)
            if self._cell is not None:
                self._cell.append(data)


def visible(path: Path) -> _VisibleText:
    parser = _VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def own_words(sample: Path) -> set[str]:
    """Every word the company's input files hold (headers, names, categories, reasons), lower case."""
    words: set[str] = set()
    for path in sample.iterdir():
        if path.suffix in (".csv", ".yml", ".yaml", ".txt"):
            text = path.read_text(encoding="utf-8", errors="replace")
        elif path.suffix in (".parquet", ".xlsx"):
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_excel(path)
            text = " ".join(map(str, frame.columns)) + " " + " ".join(
                frame.select_dtypes(exclude="number").astype(str).stack().unique())
        else:
            continue
        words |= {w.lower() for w in re.findall(r"[A-Za-z]+(?:_[A-Za-z0-9]+)*", text)}
        words |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    return words


def _without_ids(text: str) -> str:
    """The text without file names, commands and company.yml setting keys: ids a user types as they are."""
    text = COMMAND.sub(" ", FILE_NAME.sub(" ", text))
    for key in sorted(templates.setting_keys(), key=len, reverse=True):
        if "." in key or "_" in key:
            text = re.sub(rf"(?<![\w.]){re.escape(key)}(?![\w])", " ", text)
    return text


def _allowed(word: str, allowed: set[str]) -> bool:
    """A Latin word a Russian page may show: the company's own, a proper name or unit, or a short code in capitals
    (tiers A1 … C, ABC × XYZ cells such as AX)."""
    if re.fullmatch(r"[A-Z]{1,3}[0-9]?", word):
        return True
    return word.lower() in allowed or re.sub(r"\d+$", "", word.lower()) in allowed


@pytest.fixture(scope="module", params=[(s, lang) for s in SAMPLES for lang in ("ru", "en")],
                ids=lambda p: f"{p[0].name}-{p[1]}")
def rendered(request, tmp_path_factory):
    from helpers.step5_report.report import build_report, publish_report
    from helpers.workbook import open_workbook

    sample, lang = request.param
    out = tmp_path_factory.mktemp(f"{sample.name}-{lang}")
    with language(lang):
        wb = open_workbook(str(sample), str(out), language=lang)
        publish_report(wb, build_report(wb))
    return sample, lang, out


def test_no_catalogue_key_is_visible(rendered):
    sample, lang, out = rendered
    keys = set(catalogue("en"))
    for page in PAGES:
        text = " ".join(visible(out / page).parts)
        shown = sorted({k for k in re.findall(r"[a-z_]+(?:\.[a-z0-9_]+)+", text) if k in keys})
        assert not shown, f"{sample.name} {lang} {page}: catalogue keys shown instead of text: {shown}"


def test_russian_report_has_no_english_words(rendered):
    sample, lang, out = rendered
    if lang != "ru":
        pytest.skip("the Russian report only")
    allowed = own_words(sample) | PROPER | SETTING_VALUES
    english_labels = {text for key, text in catalogue("en").items() if key.startswith("labels.")
                      and catalogue("ru").get(key) != text}
    for page in PAGES:
        seen = visible(out / page)
        cells = sorted({c for c in seen.cells if c in english_labels and c.lower() not in allowed})
        assert not cells, f"{sample.name} {page}: English table labels in the Russian report: {cells}"
        words = re.findall(r"[A-Za-z][A-Za-z0-9_]*", _without_ids(" ".join(seen.parts)))
        leaks = sorted({w for w in words if not _allowed(w, allowed)})
        assert not leaks, f"{sample.name} {page}: English words in the Russian report: {leaks}"


def test_english_report_shows_no_raw_snake_case_names(rendered):
    sample, lang, out = rendered
    if lang != "en":
        pytest.skip("the English report only")
    allowed = own_words(sample) | SETTING_VALUES
    for page in PAGES:
        text = _without_ids(" ".join(visible(out / page).parts))
        raw = sorted({w for w in re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text) if w not in allowed})
        assert not raw, f"{sample.name} {page}: raw names shown instead of words: {raw}"


def test_contract_names_read_as_words_in_both_languages():
    # the CSV keeps `client_share` and `won_fast`; the report's tables say them as words
    from helpers.step5_report.report import table_html

    frame = pd.DataFrame({"outcome": ["won_fast", "stalled"], "client_share": [0.54, 0.46],
                          "verdict": ["not target", "needs review"], "name": ["stalled", "Acme"]})
    with language("ru"):
        html = str(table_html(frame))
    assert "выиграна быстро" in html and "доля клиентов" in html and "нецелевой" in html and "54%" in html
    assert "won_fast" not in html and "client_share" not in html
    assert "<td>stalled</td>" in html  # a client's name is never translated, even when it looks like a value
    with language("en"):
        assert label("columns", "what_to_do") == "what to do"
        assert "won fast" in str(table_html(frame))


def test_an_id_beside_its_label_shows_the_label_once():
    from helpers.step5_report.report import table_html

    frame = pd.DataFrame({"key_class": ["gold"], "label": ["золотой"], "clients": [12]})
    with language("ru"):
        html = str(table_html(frame))
    assert html.count("золотой") == 1 and ">gold<" not in html and "ключевой класс" in html


def test_a_day_reads_as_a_day_not_midnight():
    from helpers.core.formatting import format_cell

    assert format_cell(pd.Timestamp("2026-05-26")) == ("2026-05-26", False)
    assert format_cell(pd.Timestamp("2026-05-26 10:30")) == ("2026-05-26 10:30:00", False)
    assert format_cell(pd.NaT) == ("", False)
