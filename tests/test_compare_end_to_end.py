"""Re-audit end to end: a company evolved over two periods, run twice with `tierbook run`, then compared.

The team's placement and criteria are given, so the truth is known exactly: C001-C005 move from A1 to B1,
C039-C040 are lost, N001-N003 and the leads L01-L15 are new; of the old checklist, `headcount >= 50`
predicted well and `region == North` did not. Two real runs (~1 min each on a busy machine), built once.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers.step6_compare import compare
from helpers.run import history
from helpers.run import runner

CRITERIA_YML = """criteria:
  - id: big
    rule: headcount >= 50
    points_to: A
    status: accepted
  - id: north
    rule: region == North
    points_to: A
    status: accepted
"""
COMPANY_YML = """name: Evolving Co
first_contact_traits: [headcount, region]
criteria:
  permutations: 99
  bootstrap: 10
"""


def _lead_fate(i: int) -> str | None:
    return {**{j: "A1" for j in range(1, 10)}, 10: "B2", 11: "A2", 12: "C", 13: "C", 14: "C", 15: "C"}.get(i)


def _lead_traits(i: int) -> tuple[int, str]:
    return (80 if i <= 10 else 20), ("North" if i in range(1, 6) or i in range(11, 16) else "South")


def _write_period(folder, period: int) -> None:
    folder.mkdir(parents=True)
    tiers = {f"C{i:03d}": ("A1" if i <= 8 else "B2" if i <= 24 else "C") for i in range(1, 41)}
    clients = [{"client_id": cid, "name": f"Client {cid}", "headcount": 60 if t == "A1" else 25,
                # a few North clients then, so the team's `north` criterion covers someone in period 1; a few
                # South ones, so the leads' South is a value clients have (since issue 10 a value no client has
                # is left unknown: those leads would be "ask first", neither meeting nor failing `north`)
                "region": ("North" if int(cid[1:]) in (3, 9, 10, 25, 26)
                           else "South" if int(cid[1:]) in (11, 12, 27, 28) else "West"),
                "revenue": 100_000 - 2_000 * int(cid[1:])} for cid, t in tiers.items()]
    if period == 2:
        for cid in ("C001", "C002", "C003", "C004", "C005"):
            tiers[cid] = "B1"
        clients = [c for c in clients if c["client_id"] not in ("C039", "C040")]
        del tiers["C039"], tiers["C040"]
        for i in range(1, 16):
            headcount, region = _lead_traits(i)
            clients.append({"client_id": f"L{i:02d}", "name": f"Lead {i:02d}", "headcount": headcount,
                            "region": region, "revenue": 30_000})
            tiers[f"L{i:02d}"] = _lead_fate(i)
        for cid, headcount, region, tier in (("N001", 80, "South", "A1"), ("N002", 10, "North", "C"),
                                             ("N003", 20, "West", "C")):
            clients.append({"client_id": cid, "name": f"New {cid}", "headcount": headcount, "region": region,
                            "revenue": 20_000})
            tiers[cid] = tier
        pd.DataFrame({"deal_id": ["D1", "D2"], "client_id": ["L16", "L17"], "outcome": ["refused", "refused"],
                      "reason": ["no budget", "no budget"]}).to_csv(folder / "deals.csv", index=False)
    else:
        prospects = [{"prospect_id": f"L{i:02d}", "name": f"Lead {i:02d}", "headcount": _lead_traits(i)[0],
                      "region": _lead_traits(i)[1]} for i in range(1, 21)]
        pd.DataFrame(prospects).to_csv(folder / "prospects.csv", index=False)
    pd.DataFrame(clients).to_csv(folder / "clients.csv", index=False)
    pd.DataFrame({"client_id": list(tiers), "tier": list(tiers.values())}).to_csv(folder / "placement.csv", index=False)
    (folder / "company.yml").write_text(COMPANY_YML, encoding="utf-8")
    (folder / "criteria.yml").write_text(CRITERIA_YML, encoding="utf-8")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evolved")
    out = root / "runs" / "evolving"
    for period in (1, 2):
        company = root / f"period{period}" / "evolving"
        _write_period(company, period)
        runner.run_company(company, out, progress=False)
    snapshots = history.list_snapshots(out)
    return out, snapshots, compare.compare_runs(snapshots[0].path, snapshots[1].path)


def test_two_real_runs_are_both_kept(two_runs):
    out, snapshots, _ = two_runs
    assert len(snapshots) == 2
    assert json.loads((snapshots[1].path / "run.json").read_text()) == json.loads((out / "run.json").read_text())


def test_migrations_from_real_runs_equal_the_truth(two_runs):
    *_, cmp = two_runs
    m = cmp.migrations.set_index("client_id")
    assert sorted(m.index[m["team_move"] == "down"]) == ["C001", "C002", "C003", "C004", "C005"]
    assert sorted(m.index[m["status"] == "lost"]) == ["C039", "C040"]
    assert sorted(m.index[m["status"] == "new"]) == sorted([f"L{i:02d}" for i in range(1, 16)] + ["N001", "N002", "N003"])
    assert (m.loc[["C001", "C005"], "team_tier_now"] == "B1").all()


def test_the_old_team_checklist_is_scored_as_the_truth_says(two_runs):
    *_, cmp = two_runs
    assert cmp.check.checklist_from == "team"
    per = cmp.check.criteria.set_index("id")
    assert tuple(per.loc["big", ["met_n", "met_hits", "rest_n", "rest_hits"]]) == (11, 10, 12, 1)
    assert per.loc["big", "verdict"] == "worked"
    assert tuple(per.loc["north", ["met_n", "met_hits", "rest_n", "rest_hits"]]) == (11, 6, 12, 5)
    assert per.loc["north", "verdict"] == "no_difference"
    summary = cmp.check.summary.set_index("verdict")
    # Since issue 10 a sign sends to the full sales process only when A is the clear majority among clients
    # with it (target_precision 60%); `north` covers 1 A of 5 clients in period 1, so a lead with only `north`
    # (L11-L15, N002) got the standard offer, "not target", where it used to be "target" (17, 11 / 6, 3).
    # target: L01-L10 and N001, all A now but L10; not target: L11-L20, N002, N003 — C now or refused, but
    # L11 (A2) and L18-L20 (not clients).
    assert (summary.loc["target", "n"], summary.loc["target", "hits"]) == (11, 10)
    assert (summary.loc["not target", "n"], summary.loc["not target", "hits"]) == (12, 8)
    assert summary.loc["needs review", "n"] == 0
    assert not any("predates routing" in note for note in cmp.check.notes)  # a current run is read as written
