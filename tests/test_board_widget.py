"""The workshop widgets' kernel side, without a browser: what a click on the page does to the files.

The page talks to the kernel with small messages (`{"action": "place", "index": 3, "tier": "B1"}`);
these tests send the same messages. The page itself is checked in test_board_browser.py.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from helpers.core import i18n
from helpers.workshop.widgets import show_board, show_consensus, show_criteria_editor
from helpers.paths import SAMPLE_DIR
from helpers.workbook import open_workbook


@pytest.fixture
def company(tmp_path):
    return shutil.copytree(SAMPLE_DIR / "b2b_services", tmp_path / "co")


def _tiers(path):
    frame = pd.read_csv(path, dtype=str)
    return dict(zip(frame["client_id"], frame["tier"]))


def test_clicks_by_row_place_save_and_undo(company):
    widget = show_board(open_workbook(company), "Boris")
    first, second = (c["id"] for c in widget.clients[:2])
    widget.handle({"action": "place", "index": 0, "tier": "A2"})
    widget.handle({"action": "place", "index": 1, "tier": "x"})
    assert _tiers(company / "placement" / "boris.csv") == {first: "A2", second: "X"}
    widget.handle({"action": "undo"})
    widget._refresh()
    assert widget.tiers == {first: "A2"}
    counts = {row["tier"]: row["clients"] for row in widget.summary}
    assert counts["A2"] == 1 and counts["unplaced"] == len(widget.clients) - 1


def test_two_laptops_on_one_notebook_place_apart_and_each_gets_only_its_answers(company):
    widget = show_board(open_workbook(company))
    sent = []
    widget.send = sent.append  # what the kernel sends to every open view
    ids = [c["id"] for c in widget.clients[:3]]
    for content in ({"action": "person", "name": " Anna "}, {"action": "person", "name": "Boris"},
                    {"action": "place", "person": "Anna", "index": 0, "tier": "A1"},
                    {"action": "place", "person": "Boris", "index": 0, "tier": "C"},
                    {"action": "place", "person": "Anna", "index": 1, "tier": "B2"},
                    {"action": "undo", "person": "Boris"}):
        widget._on_msg(widget, content, [])
    assert _tiers(company / "placement" / "anna.csv") == {ids[0]: "A1", ids[1]: "B2"}
    assert pd.read_csv(company / "placement" / "boris.csv").empty
    assert sent[0]["to"] == " Anna " and sent[0]["person"] == "Anna"  # the view adopts the tidied name
    assert [m["to"] for m in sent[2:]] == ["Anna", "Boris", "Anna", "Boris"]
    assert sent[4]["tiers"] == {ids[0]: "A1", ids[1]: "B2"} and sent[5]["tiers"] == {} and sent[5]["undone"] == 0
    widget._on_msg(widget, {"action": "undo", "person": "Boris"}, [])
    assert sent[6]["undone"] is None  # nothing left: the page keeps its cursor where it is


def test_a_refused_click_shows_the_problem_and_the_page_gets_the_saved_truth(company):
    widget = show_board(open_workbook(company), "Boris")
    sent = []
    widget.send = sent.append
    widget._on_msg(widget, {"action": "place", "person": "Boris", "index": 0, "tier": "A9"}, [])
    assert widget.message_is_error and "A1 A2 A3 B1 B2 B3 C D X" in widget.message
    assert sent[-1]["error"] and sent[-1]["to"] == "Boris" and sent[-1]["tiers"] == {}


def test_the_board_speaks_russian_when_the_company_does(company):
    settings = (company / "company.yml").read_text(encoding="utf-8").replace("language: en", "language: ru")
    (company / "company.yml").write_text(settings, encoding="utf-8")
    widget = show_board(open_workbook(company), "Вера")
    assert widget.labels["start"] == "Начать раскладку"
    assert "Вера" in widget.message and (company / "placement" / "вера.csv").is_file()
    i18n.set_language("en")


def test_anonymised_board_shows_pseudonyms_and_saves_real_ids(company, monkeypatch):
    monkeypatch.setenv("TIERBOOK_ANON_KEY", "a workshop key of 32 characters")
    widget = show_board(open_workbook(company, anonymise=True), "Anna")
    real = pd.read_csv(company / "clients.csv", dtype=str)
    shown = widget.clients[0]
    assert shown["id"].startswith("Client-") and shown["name"] == shown["id"]
    assert not set(real["name"]) & {c["name"] for c in widget.clients}
    widget.handle({"action": "place", "index": 0, "tier": "B1"})
    saved = _tiers(company / "placement" / "anna.csv")
    assert list(saved.values()) == ["B1"] and set(saved) <= set(real["client_id"])
    widget._refresh()
    assert widget.tiers == {shown["id"]: "B1"}  # the page marks the row it knows, by its pseudonym


def test_consensus_decision_from_the_page_reaches_placement_csv(company):
    wb = open_workbook(company)
    for person, tier in (("anna", "A1"), ("boris", "B1")):
        board = show_board(wb, person)
        board.handle({"action": "place", "index": 0, "tier": tier})
    consensus = show_consensus(wb)
    top = consensus.rows[0]
    assert top["discuss"] and top["votes"] == ["A1", "B1"] and top["median"] == "B1"
    consensus._on_msg(consensus, {"action": "decide", "index": 0, "tier": "A2"}, [])
    consensus._on_msg(consensus, {"action": "write"}, [])
    assert _tiers(company / "placement.csv") == {wb.tiers.table["client_id"].iloc[0]: "A2"}
    assert len(list((company / "history").glob("placement-*.csv"))) == 1


def test_editor_accept_and_save_from_the_page(company):
    editor = show_criteria_editor(open_workbook(company))
    editor._on_msg(editor, {"action": "status", "index": 0, "status": "accepted"}, [])
    editor._on_msg(editor, {"action": "edit", "index": 1, "rule": "industri == retail"}, [])
    assert editor.message_is_error and "industry" in editor.message and editor.items[1]["error"]
    editor._on_msg(editor, {"action": "save"}, [])
    entries = yaml.safe_load((company / "criteria.yml").read_text(encoding="utf-8"))["criteria"]
    assert [(e["id"], e["status"]) for e in entries] == [(editor.items[0]["id"], "accepted")]


def test_a_broken_criteria_yml_is_shown_and_can_be_replaced(company):
    (company / "criteria.yml").write_text("criteria:\n  - id: x\n    rule: budgett > 5\n    points_to: A\n",
                                          encoding="utf-8")
    editor = show_criteria_editor(open_workbook(company))
    assert editor.message_is_error and "criteria.yml:x" in editor.message
    editor._on_msg(editor, {"action": "status", "index": 0, "status": "accepted"}, [])
    editor._on_msg(editor, {"action": "save"}, [])
    assert "budgett" not in (company / "criteria.yml").read_text(encoding="utf-8")
    assert "budgett" in next((company / "history").glob("criteria-*.yml")).read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("name", ["02a_place_clients.ipynb", "04a_decide_criteria.ipynb"])
def test_workshop_notebooks_are_stored_clean_outside_the_batch_run(name, language):
    """Interactive steps: kept out of `tierbook run` (the runner takes NN_*.ipynb only), stored without outputs."""
    import ast

    import nbformat

    from helpers.paths import notebooks_dir
    from helpers.run.runner import PARAMETERS, workbook_notebooks

    path = notebooks_dir(language) / name
    assert path.is_file() and path not in workbook_notebooks(language)
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    tree = ast.parse(params[0].source)
    assert all(isinstance(n, ast.AnnAssign) and isinstance(n.value, ast.Constant) for n in tree.body)
    assert set(PARAMETERS) <= {n.target.id for n in tree.body}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert not [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
