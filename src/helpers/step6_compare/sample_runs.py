"""Two runs of a generated company, one quarter apart, with known migrations: for `06_compare` and the tests.

Serves the re-audit: writes two run folders straight from the output-file contract (tiers.csv, criteria.csv,
clients_audit.csv, prospects_scored.csv, run.json) as history snapshots, plus the new period's company folder
(clients' traits, deals) that run.json points to, with matching checksums. All names are invented.

What is true by construction (`TRUTH`):
    40 clients then; C001-C005 move from A1 to B1 (team), C006-C008 stay A1; C039-C040 are lost;
    C020-C021 go to sleep; N001-N003 are new; leads L01-L20 were scored by the old checklist, L01-L15
    became clients. The old checklist has two signs of A: `headcount >= 50` (predicts well) and
    `region in [North]` (does not).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.step1_list_clients.settings import CompanySettings
from helpers.step4_write_criteria.criteria import COLUMNS as CRITERIA_COLUMNS
from helpers.core.export import write_csv, write_json
from helpers.run.history import HISTORY_DIR, snapshot_label
from helpers.step1_list_clients.load import file_sha256

COMPANY = "Evolving Example Ltd"
OLD_STARTED, NEW_STARTED = "2026-03-02T09:00:00+00:00", "2026-06-01T09:00:00+00:00"
GOOD, BAD = "A:headcount", "A:region"
TRUTH = {
    "down": ["C001", "C002", "C003", "C004", "C005"],
    "lost": ["C039", "C040"],
    "gone_to_sleep": ["C020", "C021"],
    "new_not_leads": ["N001", "N002", "N003"],
    "converted_leads": [f"L{i:02d}" for i in range(1, 16)],
    # per criterion: (meeting it, came true among them, not meeting it, came true among them), result
    "criteria": {GOOD: (11, 10, 12, 1, "worked"), BAD: (11, 6, 12, 5, "no_difference")},
    # per verdict: (cases, came true)
    "verdicts": {"target": (17, 11), "not target": (6, 3)},
}


def _leads() -> pd.DataFrame:
    """Leads L01-L20: traits then, and what became of them (tier now, deal now)."""
    rows = []
    for i in range(1, 21):
        headcount = 80 if i <= 10 else 20
        region = "North" if i in range(1, 6) or i in range(11, 16) else "South"
        tier = {**{j: "A1" for j in range(1, 10)}, 10: "B2", 11: "A2", 12: "C", 13: "C", 14: "C", 15: "C"}.get(i)
        deal = "refused" if i in (16, 17) else None
        rows.append({"id": f"L{i:02d}", "name": f"Lead {i:02d} Ltd", "headcount": headcount, "region": region,
                     "tier_now": tier, "deal": deal})
    return pd.DataFrame(rows)


def _criteria() -> pd.DataFrame:
    rows = [{"id": GOOD, "points_to": "A", "trait": "headcount", "rule": "headcount is 50 or more",
             "expression": "headcount >= 50", "evidence": "supported", "support": 12, "n_a": 8, "n_b": 3, "n_c": 1,
             "threshold": 50.0, "first_contact": True, "source": "data"},
            {"id": BAD, "points_to": "A", "trait": "region", "rule": "region is North",
             "expression": "region in [North]", "evidence": "supported", "support": 10, "n_a": 7, "n_b": 2,
             "n_c": 1, "threshold": float("nan"), "first_contact": True, "source": "data"},
            {"id": "C:headcount", "points_to": "C", "trait": "headcount", "rule": "headcount is less than 15",
             "expression": "headcount < 15", "evidence": "weak", "support": 6, "n_a": 0, "n_b": 2, "n_c": 4,
             "threshold": 15.0, "first_contact": True, "source": "data"}]
    frame = pd.DataFrame(rows)
    # as step 4 writes criteria.csv since issue 10: the two supported signs are routed and send to the full
    # sales process (A share 8/12 and 7/10 above target_precision 0.6); the weak flag reaches nobody
    frame["share"] = frame["n_a"].where(frame["points_to"] == "A", frame["n_c"]) / frame["support"]
    frame["evidence_label"] = frame["evidence"]
    frame["only_with"], frame["mirror_id"] = "", ""
    frame["stable"] = True
    frame["routed"] = frame["evidence"] == "supported"
    frame["declines"] = False
    frame["qualifies"] = frame["points_to"] == "A"
    return frame.reindex(columns=CRITERIA_COLUMNS)


def _clients_then() -> pd.DataFrame:
    tiers = ["A1"] * 8 + ["B2"] * 16 + ["C"] * 16
    return pd.DataFrame({"client_id": [f"C{i:03d}" for i in range(1, 41)],
                         "name": [f"Client {i:03d} LLC" for i in range(1, 41)], "team_tier": tiers,
                         "revenue": [float(100_000 - 2_000 * i) for i in range(1, 41)],
                         "headcount": [60 if t == "A1" else 25 for t in tiers], "region": "West"})


def _tiers(clients: pd.DataFrame) -> pd.DataFrame:
    out = clients[["client_id", "name", "team_tier"]].copy()
    out["suggested_tier"] = out["team_tier"]
    out["abc"] = out["team_tier"].str[0]
    out["xyz"] = "X"
    out["revenue"] = clients["revenue"].to_numpy()
    out["share"] = out["revenue"] / out["revenue"].sum()
    return out


def _audit(clients: pd.DataFrame, sleeping: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"client_id": clients["client_id"], "name": clients["name"],
                         "revenue": clients["revenue"], "size_band": "medium",
                         "key_class": clients["team_tier"].map({"A1": "gold"}).fillna("silver"),
                         "sleeping": clients["client_id"].isin(sleeping), "new": False})


def _run_json(started: str, company_dir: Path, inputs: list[dict]) -> dict:
    settings = CompanySettings(name=COMPANY).model_dump(mode="json", exclude={"name", "load"})
    return {"company": COMPANY, "company_dir": str(company_dir), "parameters": {"anonymise": False},
            "started": started, "finished": started, "inputs": inputs, "settings": settings, "anonymised": False}


def write_sample_runs(root: str | Path) -> tuple[Path, Path]:
    """Write the two runs under `root/runs/evolving/history/` and the new period's company under `root/company/`.

    Returns:
        (old run folder, new run folder). Nothing outside `root` is written.
    """
    root = Path(root)
    company_dir = root / "company"
    leads = _leads()
    then = _clients_then()

    now = then[~then["client_id"].isin(TRUTH["lost"])].copy()
    now.loc[now["client_id"].isin(TRUTH["down"]), "team_tier"] = "B1"
    converted = leads[leads["tier_now"].notna()]
    new_clients = pd.DataFrame({"client_id": ["N001", "N002", "N003"],
                                "name": ["New One Ltd", "New Two Ltd", "New Three Ltd"],
                                "team_tier": ["A1", "C", "C"], "revenue": [50_000.0, 8_000.0, 6_000.0],
                                "headcount": [80, 10, 20], "region": ["South", "North", "West"]})
    now = pd.concat([now, converted.rename(columns={"id": "client_id", "tier_now": "team_tier"})
                     .assign(revenue=30_000.0)[list(new_clients.columns)], new_clients], ignore_index=True)

    company_dir.mkdir(parents=True, exist_ok=True)
    write_csv(now[["client_id", "name", "headcount", "region"]], company_dir / "clients.csv")
    deals = leads[leads["deal"].notna()]
    write_csv(pd.DataFrame({"deal_id": [f"D{i}" for i in range(len(deals))], "client_id": deals["id"].to_numpy(),
                            "outcome": deals["deal"].to_numpy(), "reason": "no budget"}), company_dir / "deals.csv")
    (company_dir / "company.yml").write_text(f"name: {COMPANY}\nfirst_contact_traits: [headcount, region]\n",
                                             encoding="utf-8")
    inputs = [{"kind": kind, "file": f"{kind}.csv", "sha256": file_sha256(company_dir / f"{kind}.csv")}
              for kind in ("clients", "deals")]

    history = root / "runs" / "evolving" / HISTORY_DIR
    old_dir, new_dir = history / snapshot_label(OLD_STARTED), history / snapshot_label(NEW_STARTED)
    for folder, clients, sleeping, started in ((old_dir, then, [], OLD_STARTED),
                                               (new_dir, now, TRUTH["gone_to_sleep"], NEW_STARTED)):
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(_tiers(clients), folder / "tiers.csv")
        write_csv(_audit(clients, sleeping), folder / "clients_audit.csv")
        write_csv(_criteria(), folder / "criteria.csv")
        # the old run read an earlier export of the company (its files are gone): other checksums
        recorded = inputs if folder == new_dir else [{**i, "sha256": "0" * 64} for i in inputs]
        write_json(_run_json(started, company_dir, recorded), folder / "run.json")
    scored = leads.assign(verdict=["target" if h >= 50 or r == "North" else "not target"
                                   for h, r in zip(leads["headcount"], leads["region"])])
    signs = ["; ".join((["headcount is 50 or more"] if h >= 50 else []) + (["region is North"] if r == "North" else []))
             for h, r in zip(leads["headcount"], leads["region"])]
    failed = ["; ".join(([] if h >= 50 else ["headcount is 50 or more"]) + ([] if r == "North" else ["region is North"]))
              for h, r in zip(leads["headcount"], leads["region"])]
    write_csv(pd.DataFrame({"prospect_id": scored["id"], "name": scored["name"], "verdict": scored["verdict"],
                            "route": "", "signs_met": signs, "red_flags_met": "", "failed": failed, "to_ask": "",
                            "criteria_from": "data"}), old_dir / "prospects_scored.csv")
    return old_dir, new_dir
