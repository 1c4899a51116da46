"""Template sources and their rendered copies: complete, bilingual, safe, and never stale."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from helpers.kit import templates as tpl
from helpers.step1_list_clients.company import COLUMNS
from helpers.step1_list_clients.settings import CompanySettings, load_settings
from helpers.paths import TEMPLATES_DIR

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


@pytest.fixture(scope="module")
def sheets():
    return tpl.load_sheets()


@pytest.fixture(scope="module")
def rendered(sheets):
    return tpl.render_all(sheets)


def _tiny(**item):
    base = {"id": "t.s.a", "kind": "text", "text": {"en": "Hello", "ru": "Привет"}}
    base.update(item)
    return {"id": "t", "title": {"en": "T", "ru": "Т"}, "summary": {"en": "S", "ru": "С"},
            "sections": [{"id": "t.s", "title": {"en": "A", "ru": "А"}, "items": [base]}]}


# ---------------------------------------------------------------------------- stale check

def test_committed_copies_are_current(rendered):
    assert tpl.stale_templates(TEMPLATES_DIR, rendered) == []
    assert tpl.main(["--check"]) == 0


def test_check_fails_on_an_edited_or_missing_copy_and_render_repairs_it(tmp_path, capsys):
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR / "source", root / "source")
    assert tpl.main(["--check", "--root", str(root)]) == 1  # nothing rendered yet
    assert tpl.main(["--root", str(root)]) == 0
    assert tpl.main(["--check", "--root", str(root)]) == 0

    page = root / "en" / "abc_exercise.md"
    page.write_text(page.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    (root / "ru" / "relationship_score.html").unlink()
    capsys.readouterr()
    assert tpl.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "en/abc_exercise.md" in err and "ru/relationship_score.html" in err

    # A changed source makes its copies stale too.
    source = root / "source" / "abc_exercise.yml"
    tpl.main(["--root", str(root)])
    source.write_text(source.read_text(encoding="utf-8").replace("A 2-hour workshop", "A two-hour workshop"), encoding="utf-8")
    assert tpl.main(["--check", "--root", str(root)]) == 1


def test_a_broken_source_is_reported_not_rendered(tmp_path, capsys):
    root = tmp_path / "templates"
    (root / "source").mkdir(parents=True)
    bad = _tiny()
    del bad["sections"][0]["items"][0]["text"]["ru"]
    (root / "source" / "t.yml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    assert tpl.main(["--root", str(root)]) == 2
    assert "missing ru text" in capsys.readouterr().err
    assert not (root / "en").exists()


# ---------------------------------------------------------------------------- sources

def test_every_source_is_valid_and_bilingual(sheets):
    assert len(sheets) >= 10
    for sheet in sheets:
        assert tpl.validate_source(sheet.data, name=sheet.id) == []
        texts = [sheet.data["title"], sheet.data["summary"]] + [s["title"] for s in sheet.sections]
        texts += [item["text"] for item in sheet.items()]
        for text in texts:
            assert text["en"].strip() and text["ru"].strip()
            # a Russian text pasted in English (or left untranslated) has no Cyrillic letters
            assert CYRILLIC.search(text["ru"]), (sheet.id, text)
            # English may quote a Russian label «like this», nothing else
            assert not CYRILLIC.search(re.sub(r"«[^»]*»", "", text["en"])), (sheet.id, text)


def test_ids_are_unique_across_all_sheets(sheets):
    ids = []
    for sheet in sheets:
        ids += [f["id"] for f in sheet.data.get("header_fields") or []]
        ids += [s["id"] for s in sheet.sections]
        for item in sheet.items():
            ids += [item["id"]] + [sub["id"] for key in ("options", "columns") for sub in item.get(key) or []]
    assert len(ids) == len(set(ids))
    assert all(tpl.ID_PATTERN.match(i) for i in ids)


def test_every_step_of_the_method_has_paper(sheets):
    covered = {step for sheet in sheets for step in sheet.data["method"]}
    assert covered == {1, 2, 3, 4, 5}
    expected = {"abc_exercise", "criteria_interview", "qualification_checklist", "key_client_dossier",
                "relationship_score", "contact_cadence", "bad_client_signs", "client_typology",
                "client_mix_audit", "company_folder"}
    assert expected <= {s.id for s in sheets}


@pytest.mark.parametrize("change, message", [
    ({"text": {"en": "Hi"}}, "missing ru text"),
    ({"kind": "poem"}, "unknown kind"),
    ({"id": "Bad Id"}, "bad or missing id"),
    ({"kind": "setting", "key": "abc.nope"}, "is not a setting"),
    ({"kind": "table"}, "a table needs 'columns'"),
    ({"kind": "choice"}, "a choice needs 'options'"),
    ({"kind": "table", "columns": [{"id": "t.c", "text": {"en": "C", "ru": "К"}}], "examples": [[None, None]]},
     "one cell per column"),
])
def test_validation_names_the_problem(change, message):
    problems = tpl.validate_source(_tiny(**change), name="t")
    assert any(message in p for p in problems), problems


def test_duplicate_ids_are_caught_inside_and_across_sheets(tmp_path):
    doubled = _tiny()
    doubled["sections"][0]["items"].append(dict(doubled["sections"][0]["items"][0]))
    assert any("duplicate id 't.s.a'" in p for p in tpl.validate_source(doubled))

    for name in ("t", "u"):
        data = _tiny()
        data["id"] = name
        (tmp_path / f"{name}.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="ids used by two sheets"):
        tpl.load_sheets(tmp_path)


def test_file_name_must_match_id(tmp_path):
    (tmp_path / "other.yml").write_text(yaml.safe_dump(_tiny(), allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="must equal the file name"):
        tpl.load_sheets(tmp_path)


# ---------------------------------------------------------------------------- company folder mirrors the code

def test_company_folder_lists_every_column_with_its_status(sheets):
    doc = next(s for s in sheets if s.id == "company_folder")
    documented: dict[str, dict[str, bool]] = {}
    for section in doc.sections:
        for item in section["items"]:
            if item["kind"] == "column":
                documented.setdefault(section["file"], {})[item["name"]] = bool(item["required"])
    for kind, spec in COLUMNS.items():
        expected = {c: True for c in spec["required"]} | {c: False for c in spec["optional"]}
        assert documented.get(kind) == expected, kind


def test_company_folder_describes_every_setting(sheets):
    doc = next(s for s in sheets if s.id == "company_folder")
    keys = {item["key"] for item in doc.items() if item["kind"] == "setting"}
    undocumented = set(tpl.setting_keys()) - keys
    assert not undocumented, (f"describe {sorted(undocumented)} in templates/source/company_folder.yml "
                              "(EN and RU), then run `make templates`")
    assert {k for k in keys if not k.endswith(".*")} == set(tpl.setting_keys())
    assert {k[:-2] for k in keys if k.endswith(".*")} == set(tpl.setting_sections())


@pytest.mark.parametrize("rel", ["company.yml", "ru/company.yml"])
def test_company_yml_example_loads_to_the_defaults(rel, rendered, tmp_path):
    (tmp_path / "company.yml").write_text(rendered[rel], encoding="utf-8")
    assert load_settings(tmp_path) == CompanySettings()
    # every setting is present and explained by a comment right above it
    lines = rendered[rel].splitlines()
    for key in tpl.setting_keys():
        leaf = key.split(".")[-1]
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{leaf}:"))
        assert lines[at - 1].strip().startswith("#"), key


def test_company_yml_comments_follow_the_language(rendered):
    assert CYRILLIC.search(rendered["ru/company.yml"])
    assert not CYRILLIC.search(rendered["company.yml"])


def test_blank_csv_headers_match_the_contract():
    for kind, spec in COLUMNS.items():
        header = (TEMPLATES_DIR / f"{kind}.csv").read_text(encoding="utf-8")
        assert header == ",".join(spec["required"] + spec["optional"]) + "\n"


# ---------------------------------------------------------------------------- rendered copies

def test_html_is_self_contained_and_printable(rendered):
    pages = {rel: text for rel, text in rendered.items() if rel.endswith(".html")}
    assert len(pages) == 2 * len(tpl.load_sheets())
    for rel, page in pages.items():
        low = page.lower()
        assert "<script" not in low and "javascript:" not in low, rel
        assert "http://" not in low and "https://" not in low, rel
        assert "<link" not in low and "@import" not in low and "url(" not in low, rel
        assert "@page { size: a4" in low, rel
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>"), rel
        assert f'<html lang="{rel.split("/")[0]}">' in page


def test_every_item_reaches_both_renderings(sheets, rendered):
    for sheet in sheets:
        for lang in ("en", "ru"):
            md = rendered[f"{lang}/{sheet.id}.md"]
            page = rendered[f"{lang}/{sheet.id}.html"]
            for item in sheet.items():
                assert f'id="{item["id"]}"' in page, item["id"]
                words = " ".join(item["text"][lang].split()).replace("|", "\\|")
                assert words in md, (lang, item["id"])


def test_worksheet_pieces_render_as_things_to_fill(rendered):
    relscore = rendered["en/relationship_score.html"]
    assert relscore.count('<span class="box"></span>') == 10 * 4  # ten aspects, four points each
    abc = rendered["ru/abc_exercise.html"]
    assert abc.count('<div class="line"></div>') == 3 + 4
    # the ABC sheet has a row to write in for every tier a team may place clients in
    for tier in ("A1", "A2", "A3", "B1", "B2", "B3", "C", "D", "X"):
        assert f'<th scope="row" class="label">{tier}</th>' in abc, tier
        assert f"| **{tier}** |" in rendered["en/abc_exercise.md"], tier
    assert "☐" in rendered["en/relationship_score.md"] and "- [ ] " in rendered["en/abc_exercise.md"]


def test_hostile_text_is_escaped():
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    data = _tiny(text={"en": hostile, "ru": "Привет " + hostile})
    data["title"] = {"en": "<b>T</b>", "ru": "<b>Т</b>"}
    page = tpl.render_html(tpl.Sheet("t", data), "en")
    assert "<script>" not in page and "<img" not in page and "<b>T</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page


def test_rendering_is_deterministic(sheets):
    assert tpl.render_all(sheets) == tpl.render_all(sheets)


def test_index_lists_every_sheet_and_both_copies(sheets, rendered):
    index = rendered["README.md"]
    for sheet in sheets:
        for lang in ("en", "ru"):
            assert f"({lang}/{sheet.id}.md)" in index and f"({lang}/{sheet.id}.html)" in index
            assert (TEMPLATES_DIR / lang / f"{sheet.id}.html").is_file()


def test_no_maintainer_instruction_on_any_printed_page(rendered):
    # the footer prints on every sheet; how to rebuild a sheet is for maintainers (HTML comment only)
    for rel, text in rendered.items():
        if rel.endswith(".html"):
            visible = re.sub(r"<!--.*?-->", "", text, flags=re.S)
            for phrase in ("make templates", "render_templates", "templates/source", "edit the source", "правьте"):
                assert phrase not in visible, (rel, phrase)


def test_every_sheet_and_guide_agree_on_one_session_length(rendered):
    # the workshop is one 2-hour session: no sheet may promise 90 minutes or 2.5 hours
    for rel, text in rendered.items():
        if rel.endswith((".md", ".html")):
            for wrong in ("90 minutes", "90 минут", "2.5 hours", "2,5 час", "2.5-hour", "150 minutes"):
                assert wrong not in text, (rel, wrong)
    abc = rendered["en/abc_exercise.md"]
    steps = [int(m) for m in re.findall(r"^\d+\. (\d+) min", abc, flags=re.M)]
    assert sum(steps) == 120 and "2 hours" in abc, steps


def test_page_budget_and_compact_are_validated():
    data = _tiny()
    data["pages"] = 0
    data["compact"] = "yes"
    problems = tpl.validate_source(data, name="t")
    assert any("pages" in p for p in problems) and any("compact" in p for p in problems)
