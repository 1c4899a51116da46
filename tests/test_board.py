"""The placement board's model without a browser: placing, undo, per-person files, consensus, atomic saves, refusals."""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import pandas as pd
import pytest

from helpers.workshop import board as b
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import load_company
from helpers.paths import SAMPLE_DIR


def _clients(n=6, revenue=None):
    ids = [f"K{i}" for i in range(1, n + 1)]
    return b.board_clients(pd.DataFrame({"client_id": ids, "name": [f"Client {i}" for i in ids],
                                         "revenue": revenue or [100.0 * (n - i) for i in range(n)],
                                         "tenure_months": [24.0] * n}))


@pytest.fixture
def company(tmp_path):
    return tmp_path / "acme"


def _board(company, person="Anna", clients=None):
    company.mkdir(exist_ok=True)
    board = b.Board(company, clients if clients is not None else _clients())
    if person:
        board.choose_person(person)
    return board


def _read(path):
    return pd.read_csv(path, dtype=str)


def test_each_placement_is_saved_at_once_in_the_persons_file(company):
    board = _board(company, "Anna K.")
    board.place("K1", "A1")
    board.place("K2", "с")  # Cyrillic С typed on a Russian keyboard is the Latin C
    saved = _read(company / "placement" / "anna-k.csv")
    assert saved.columns.tolist() == ["client_id", "tier"]
    assert dict(zip(saved["client_id"], saved["tier"])) == {"K1": "A1", "K2": "C"}


def test_placing_again_changes_the_tier_and_undo_takes_back_step_by_step(company):
    board = _board(company)
    board.place("K1", "A1")
    board.place("K1", "B2")
    board.place("K3", "X")
    assert board.undo() == "K3"
    assert board.undo() == "K1"
    assert _read(board.path).set_index("client_id")["tier"].to_dict() == {"K1": "A1"}
    assert board.undo() == "K1" and board.undo() is None
    assert _read(board.path).empty


def test_people_are_kept_apart_and_a_returning_person_finds_their_tiers(company):
    anna = _board(company, "Anna")
    anna.place("K1", "A1")
    boris = _board(company, "Boris")
    boris.place("K1", "C")
    assert boris.people() == ["anna", "boris"]
    again = _board(company, "anna")
    assert again.tiers == {"K1": "A1"}


def test_unknown_client_or_tier_is_refused_with_file_column_and_fix_and_nothing_changes(company):
    board = _board(company)
    board.place("K1", "A2")
    before = board.path.read_bytes()
    with pytest.raises(DataProblem) as bad_client:
        board.place("K99", "A1")
    text = str(bad_client.value)
    assert text.startswith("placement/anna.csv:client_id — ") and "K99" in text and "clients.csv" in text
    for tier in ("A", "Z9", "A4", "B"):
        with pytest.raises(DataProblem) as bad_tier:
            board.place("K2", tier)
        assert "placement/anna.csv:tier — " in str(bad_tier.value) and "A1 A2 A3 B1 B2 B3 C D X" in str(bad_tier.value)
    assert board.path.read_bytes() == before and board.tiers == {"K1": "A2"}


def test_placing_before_a_name_is_chosen_is_refused(company):
    board = _board(company, person="")
    with pytest.raises(DataProblem, match="Start placing"):
        board.place("K1", "A1")
    with pytest.raises(DataProblem):
        board.choose_person("../../etc")
    assert not (company / "placement").exists()


def test_a_bad_row_in_a_persons_file_names_file_row_and_column(company):
    (company / "placement").mkdir(parents=True)
    (company / "placement" / "vera.csv").write_text("client_id;tier\nK1;A1\nK77;B1\nK2;Q\nK1;B2\n", encoding="utf-8")
    with pytest.raises(DataProblem) as exc:
        b.read_people(company, _clients()["client_id"])
    lines = str(exc.value).splitlines()
    assert lines[0].startswith("placement/vera.csv:3:client_id — ") and "K77" in lines[0]
    assert lines[1].startswith("placement/vera.csv:4:tier — ")
    assert lines[2].startswith("placement/vera.csv:5:client_id — ")


def test_save_is_atomic_a_failed_write_leaves_the_previous_file_whole(company, monkeypatch):
    board = _board(company)
    board.place("K1", "A1")
    before = board.path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        board.place("K2", "B1")
    monkeypatch.undo()
    assert board.path.read_bytes() == before
    assert [p.name for p in board.path.parent.iterdir()] == ["anna.csv"]  # no temporary file left behind


def test_summary_counts_and_revenue_share_follow_each_click(company):
    board = _board(company, clients=_clients(4, revenue=[50.0, 30.0, 20.0, -5.0]))
    board.place("K1", "A1")
    board.place("K2", "A1")
    board.place("K4", "C")
    summary = board.summary()
    assert summary.loc["A1"].tolist() == [2, 0.8]
    assert summary.loc["C", "clients"] == 1 and summary.loc["C", "revenue_share"] == 0  # a loss adds no share
    assert summary.loc["unplaced"].tolist() == [1, 0.2]
    assert board.next_unplaced() == "K3" and board.next_unplaced(after="K3") == "K3"


def _people(company, **tiers):
    (company / "placement").mkdir(parents=True, exist_ok=True)
    for person, row in tiers.items():
        pd.DataFrame({"client_id": list(row), "tier": list(row.values())}).to_csv(
            company / "placement" / f"{person}.csv", index=False)


def test_consensus_gives_everyones_tier_the_median_and_flags_two_steps_apart(company):
    clients = _clients(5)
    _people(company, anna={"K1": "A1", "K2": "B1", "K3": "A1", "K4": "D"},
            boris={"K1": "A2", "K2": "B1", "K3": "B1", "K4": "A3"},
            vera={"K1": "A1", "K2": "B2", "K3": "A2"})
    consensus = b.build_consensus(b.read_people(company, clients["client_id"]), clients).set_index("client_id")
    assert consensus.loc["K1", ["anna", "boris", "vera", "median", "spread", "discuss"]].tolist() == \
        ["A1", "A2", "A1", "A1", 1, False]
    assert consensus.loc["K2", "median"] == "B1" and not consensus.loc["K2", "discuss"]
    assert consensus.loc["K3", "median"] == "A2" and consensus.loc["K3", "discuss"]  # A1 vs B1: 3 steps
    assert consensus.loc["K4", "discuss"]  # D for one, A3 for another
    assert consensus.loc["K5", "placed_by"] == 0 and consensus.loc["K5", "median"] is None
    assert consensus.index[:2].tolist() == ["K3", "K4"]  # discussion items first, largest revenue first


def test_even_votes_take_the_median_nearer_c():
    assert b._median_tier(["A1", "B2"]) == "B2"
    assert b._median_tier(["X", "X", "B1"]) == "X"


def test_decision_is_written_to_placement_csv_and_the_previous_one_kept_in_history(company):
    company.mkdir()
    (company / "placement.csv").write_text("client_id,tier\nK1,B3\n", encoding="utf-8")
    clients = _clients(3)
    path = b.write_decision(company, {"K2": "A1", "K1": "A2", "K3": None}, clients, now=datetime(2026, 3, 1, 10, 0, 0))
    assert path.read_text(encoding="utf-8") == "client_id,tier\nK1,A2\nK2,A1\n"
    kept = company / "history" / "placement-20260301-100000.csv"
    assert kept.read_text(encoding="utf-8") == "client_id,tier\nK1,B3\n"
    b.write_decision(company, {"K1": "C"}, clients, now=datetime(2026, 3, 1, 10, 0, 0))
    assert (company / "history" / "placement-20260301-100000-2.csv").read_text(encoding="utf-8") == \
        "client_id,tier\nK1,A2\nK2,A1\n"


def test_a_bad_decision_writes_nothing(company):
    company.mkdir()
    (company / "placement.csv").write_text("client_id,tier\nK1,B3\n", encoding="utf-8")
    with pytest.raises(DataProblem, match="placement.csv:2:tier"):
        b.write_decision(company, {"K1": "AA"}, _clients(3))
    assert (company / "placement.csv").read_text(encoding="utf-8") == "client_id,tier\nK1,B3\n"
    assert not (company / "history").exists()


def test_merge_of_typed_back_sheets_writes_the_medians_and_the_kit_reads_them(tmp_path):
    folder = shutil.copytree(SAMPLE_DIR / "b2b_services", tmp_path / "co")
    company = load_company(folder)
    ids = company.clients["client_id"].astype(str).tolist()[:3]
    _people(folder, anna=dict(zip(ids, ["A1", "B1", "C"])), boris=dict(zip(ids, ["A3", "B2", "C"])))
    from helpers.step2_place_in_tiers.tiers import build_tiers

    clients = b.board_clients(build_tiers(company).table)
    consensus = b.merge_people(folder, clients, write=True)
    assert len(consensus) == len(clients)
    placed = load_company(folder).placement.set_index("client_id")["tier"].to_dict()
    assert placed == dict(zip(ids, ["A3", "B2", "C"]))
    assert len(list((folder / "history").glob("placement-*.csv"))) == 1


def test_board_clients_reuse_step_2_figures_in_its_order():
    table = pd.DataFrame({"client_id": ["b", "a"], "name": ["B", None], "revenue": [9.0, 1.0], "share": [0.9, 0.1],
                          "tenure_months": [18.0, None], "suggested_tier": ["A1", "C"]})
    clients = b.board_clients(table)
    assert clients["client_id"].tolist() == ["b", "a"] and clients["name"].tolist() == ["B", "a"]
    assert clients["years"].tolist()[0] == 1.5 and pd.isna(clients["years"].tolist()[1])


def test_tierbook_worksheet_merge_writes_medians_and_lists_the_discussion(tmp_path):
    from click.testing import CliRunner

    from helpers.run.cli import main

    folder = shutil.copytree(SAMPLE_DIR / "b2b_services", tmp_path / "co")
    runner = CliRunner()
    empty = runner.invoke(main, ["worksheet", str(folder), "--merge"])
    assert empty.exit_code == 1 and "placement" in empty.output
    _people(folder, anna={"C001": "A1", "C002": "B2"}, boris={"C001": "B1", "C002": "в2"})
    done = runner.invoke(main, ["worksheet", str(folder), "--merge"])
    assert done.exit_code == 0, done.output
    assert "C001" in done.output and "anna=A1 boris=B1" in done.output and "C002" not in done.output.split("(1")[-1]
    assert _read(folder / "placement.csv").set_index("client_id")["tier"].to_dict() == {"C001": "B1", "C002": "B2"}
    _people(folder, vera={"C001": "A7", "NOPE": "A1"})
    bad = runner.invoke(main, ["--lang", "ru", "worksheet", str(folder), "--merge"])
    assert bad.exit_code == 1
    assert "placement/vera.csv:2:tier — " in bad.output and "placement/vera.csv:3:client_id — " in bad.output
    assert "Traceback" not in bad.output
    assert _read(folder / "placement.csv").set_index("client_id")["tier"].to_dict() == {"C001": "B1", "C002": "B2"}


def test_a_sheet_typed_back_with_russian_headers_is_read_and_a_missing_tier_column_named(company):
    (company / "placement").mkdir(parents=True)
    (company / "placement" / "галя.csv").write_text("Код клиента;Клиент;Уровень\nK1;Первый;а2\n", encoding="cp1251")
    people = b.read_people(company, _clients()["client_id"])
    assert people["галя"].to_dict() == {"K1": "A2"}
    (company / "placement" / "галя.csv").write_text("client_id;name\nK1;x\n", encoding="utf-8")
    with pytest.raises(DataProblem) as exc:
        b.read_people(company, _clients()["client_id"])
    assert str(exc.value).startswith("placement/галя.csv — ") and "tier" in str(exc.value)
