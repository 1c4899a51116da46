"""Re-audit: what changed between two runs of one company, and whether the old run's criteria worked.

Serves the step after the five: `tierbook compare OLD NEW` reads two run folders through their output
files only (tiers.csv, criteria.csv, clients_audit.csv, prospects_scored.csv, run.json — their columns
are the contract) and writes compare.html, migrations.csv, criteria_changes.csv, criteria_check.csv and
figures/tier_migration.png.

Scoring the old checklist ("did the criteria work?")
    The old checklist is what the old run handed to sales (the team's accepted criteria, else those the
    data supported; first-contact traits only — `CriteriaResult.chosen`). It is judged on what happened
    since, on two groups nobody knew the outcome of at the old run:
    - the leads of the old run (its prospects_scored.csv), with the verdict the checklist gave them then;
      a lead is followed when its id is a client id in the new run (ids only: names are never matched);
    - clients new since the old run, judged now by the old checklist on their traits (read from the new
      run's company folder, only when its files still have the checksums run.json recorded).
    A hit for "target" is: tier A now (team tier, else the data's suggested tier) or a deal won fast;
    for "not target": tier C or D now (the tiers to say no to early) or a deal refused. A client's deal
    outcome is that of its latest deal in the new data. Shares come with Wilson intervals (Wilson 1927),
    each criterion's hit rate among those meeting it against those not meeting it with Newcombe's
    interval of the difference (Newcombe 1998); below `SMALL` cases a caveat says the numbers are small.

Runs of two formats
    criteria.csv as step 4 writes it since issue 10 carries the routing (`routed`, `declines`,
    `qualifies`, `mirror_id`, `only_with`): the checklist and its routes are taken as written, and new
    clients are routed with `prospects.route_leads`. An older run's criteria.csv lacks those columns: the
    checklist is rebuilt by the rule of that time (team's accepted, else supported; first contact), new
    clients get that time's verdicts (`_verdict_then`), and a note says the old run predates routing.
    Known gap: category values the old run never saw among its clients are not masked for new clients (the
    old run's traits are not kept), so a new client can fail a category sign its leads would have left unknown.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.run import history
from helpers import paths
from helpers.core.errors import DataProblem, Problem, problem
from helpers.core.i18n import t

RUN_FILES = ("run.json", "tiers.csv")
GROUPS = ("A", "B", "C", "D", "X")
# Ladder of tier groups for "up" / "down": X (not yet grown into) is off the ladder.
_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}
NEW, LOST = "new", "lost"
STATUSES = ("stayed", "new", "lost", "gone_to_sleep", "woke_up")
SMALL = 10  # fewer cases than this: the interval is wide, say so
MIN_CASES = 5  # fewer than this on either side of a criterion: too few to tell
# Settings that do not change what the numbers mean (or are checked on their own).
_SETTINGS_IGNORED = ("language", "anonymise", "name", "load")
MIGRATION_COLUMNS = ["client_id", "name", "status", "team_tier_then", "team_tier_now", "team_move",
                     "suggested_tier_then", "suggested_tier_now", "suggested_move", "abc_then", "abc_now",
                     "xyz_then", "xyz_now", "revenue_then", "revenue_now", "revenue_change", "revenue_change_pct",
                     "key_class_then", "key_class_now"]


# ---------------------------------------------------------------- reading a run
@dataclass
class Run:
    """One run folder read through its output files.

    tiers      tiers.csv (client_id as text; team_tier, suggested_tier, abc, xyz, revenue when present)
    criteria   criteria.csv or None; audit: clients_audit.csv or None; prospects: prospects_scored.csv or None
    meta       run.json as a dict
    """

    path: Path
    meta: dict
    tiers: pd.DataFrame
    criteria: pd.DataFrame | None = None
    audit: pd.DataFrame | None = None
    prospects: pd.DataFrame | None = None

    @property
    def company(self) -> str:
        return str(self.meta.get("company") or "")

    @property
    def company_dir(self) -> Path | None:
        value = self.meta.get("company_dir")
        return Path(value) if value else None

    @property
    def started(self) -> str:
        return str(self.meta.get("started") or "")

    @property
    def label(self) -> str:
        try:
            return history.snapshot_label(self.started)
        except ValueError:
            return self.path.name

    @property
    def anonymised(self) -> bool:
        return bool(self.meta.get("anonymised", (self.meta.get("parameters") or {}).get("anonymise", False)))

    @property
    def slug(self) -> str:
        return paths.slugify(self.company_dir.name if self.company_dir else self.company)


def _read_csv(path: Path, *, required: tuple[str, ...] = ()) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype={"client_id": "string", "prospect_id": "string", "id": "string"},
                            keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataProblem(problem("compare_bad_file", file=str(path), detail=str(exc).splitlines()[0][:200])) \
            from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataProblem(problem("compare_missing_column", file=str(path), column=missing[0],
                                  columns=", ".join(map(str, frame.columns[:12]))))
    return frame


def read_run(folder: str | os.PathLike) -> Run:
    """Read a run folder (runs/<company>/ or one of its history/<date-time>/ copies).

    Raises:
        DataProblem: the folder is not a run (one line: what is missing, and what to give instead),
            or a contract file lacks a required column.
    """
    path = Path(folder).expanduser().resolve()
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise DataProblem(problem("compare_not_a_run", file=str(path), names=", ".join(missing)))
    try:
        meta = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataProblem(problem("compare_bad_file", file=str(path / "run.json"), detail=str(exc)[:200])) from None
    tiers = _read_csv(path / "tiers.csv", required=("client_id", "suggested_tier"))
    tiers = tiers.drop_duplicates("client_id").reset_index(drop=True)
    audit = _read_csv(path / "clients_audit.csv", required=("client_id",))
    criteria = _read_csv(path / "criteria.csv", required=("id", "points_to", "rule", "expression"))
    return Run(path, meta if isinstance(meta, dict) else {}, tiers,
               criteria=criteria.drop_duplicates("id").reset_index(drop=True) if criteria is not None else None,
               audit=audit.drop_duplicates("client_id").reset_index(drop=True) if audit is not None else None,
               prospects=_read_csv(path / "prospects_scored.csv", required=("prospect_id", "verdict")))


def resolve_runs(first: str, second: str, third: str | None = None, *,
                 runs_dir: Path | None = None) -> tuple[Path, Path, list[str]]:
    """The two run folders to compare: `OLD NEW` folders, or `COMPANY DATE DATE` from the company's history.

    COMPANY is a run folder (runs/acme), a company slug (acme, looked up under runs/) or a company folder
    (data/acme). DATE is a prefix of a history label (2026-03, 2026-03-01, 2026-03-01_09-00-00) or
    `latest` / `previous`; several matches take the latest of them and a note says which.

    Returns:
        (old folder, new folder, notes for the user).

    Raises:
        DataProblem: no such company, no history, or a date that matches no kept run.
    """
    if third is None:
        # relative to where the command is typed, as every other command
        return Path(first).expanduser().resolve(), Path(second).expanduser().resolve(), []
    run_dir = _company_run_dir(first, runs_dir or paths.RUNS_DIR)
    snapshots = history.list_snapshots(run_dir)
    if not snapshots:
        raise DataProblem(problem("compare_no_history", file=str(run_dir)))
    notes: list[str] = []
    chosen = []
    for wanted in (second, third):
        snap, note = _pick_snapshot(snapshots, wanted, run_dir)
        chosen.append(snap.path)
        if note:
            notes.append(note)
    return chosen[0], chosen[1], notes


def _company_run_dir(company: str, runs_dir: Path) -> Path:
    given = Path(company).expanduser()
    candidates = [given.resolve()] if given.parts else []
    candidates.append(runs_dir / paths.slugify(company))
    for candidate in candidates:
        if (candidate / history.HISTORY_DIR).is_dir() or (candidate / "run.json").is_file():
            return candidate
        if (candidate / "company.yml").is_file() or (candidate / "clients.csv").is_file():
            # a company folder: its runs live under runs/<folder name>/ (as `tierbook run` writes them)
            return runs_dir / paths.slugify(candidate.name)
    raise DataProblem(problem("compare_no_company", file=company, runs=str(runs_dir)))


def _pick_snapshot(snapshots: list[history.Snapshot], wanted: str, run_dir: Path) -> tuple[history.Snapshot, str]:
    key = str(wanted).strip().lower()
    if key in ("latest", "previous"):
        index = -1 if key == "latest" else -2
        if len(snapshots) < -index:
            raise DataProblem(problem("compare_no_such_date", file=str(run_dir), date=wanted,
                                      labels=", ".join(s.label for s in snapshots)))
        return snapshots[index], ""
    normalised = key.replace("t", "_").replace(":", "-").replace(" ", "_")
    matches = [s for s in snapshots if s.label.startswith(normalised)]
    if not matches:
        raise DataProblem(problem("compare_no_such_date", file=str(run_dir), date=wanted,
                                  labels=", ".join(s.label for s in snapshots)))
    note = t("compare.cli.several_runs", date=wanted, count=len(matches), label=matches[-1].label) \
        if len(matches) > 1 else ""
    return matches[-1], note


# ---------------------------------------------------------------- can the two runs be compared?
def _flatten(prefix: str, node, out: dict) -> dict:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = node
    return out


def check_comparable(old: Run, new: Run) -> list[Problem]:
    """What stands between the two runs and a fair comparison.

    Errors (refused unless forced): different companies; different settings (ABC lines, XYZ limits,
    score weights, criteria search, audit lines, currency); anonymised and plain runs, or two
    pseudonym keys. Warnings: settings not recorded, the "old" run newer than the "new" one, no client
    in common. Info: unchanged inputs.
    """
    found: list[Problem] = []
    same_folder = old.company_dir and new.company_dir and old.company_dir.name == new.company_dir.name
    if old.company != new.company and not same_folder:
        found.append(problem("compare_other_company", old=old.company or "?", new=new.company or "?"))
    old_settings, new_settings = old.meta.get("settings"), new.meta.get("settings")
    if old_settings is None or new_settings is None:
        found.append(problem("compare_settings_unknown", "warning"))
    else:
        a = {k: v for k, v in _flatten("", old_settings, {}).items() if k.split(".")[0] not in _SETTINGS_IGNORED}
        b = {k: v for k, v in _flatten("", new_settings, {}).items() if k.split(".")[0] not in _SETTINGS_IGNORED}
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if differ:
            found.append(problem("compare_other_settings", column=differ[0],
                                 changes="; ".join(f"{k}: {a.get(k, '—')} → {b.get(k, '—')}" for k in differ[:8])))
    if old.anonymised != new.anonymised:
        found.append(problem("compare_anonymised_mix"))
    elif old.anonymised and (old.meta.get("pseudonym_key_id") != new.meta.get("pseudonym_key_id")
                             or not old.meta.get("pseudonym_key_id")):
        found.append(problem("compare_other_key"))
    if old.started and new.started and old.started > new.started:
        found.append(problem("compare_order", "warning", old=old.label, new=new.label))
    common = set(old.tiers["client_id"].dropna()) & set(new.tiers["client_id"].dropna())
    if not common and len(old.tiers) and len(new.tiers):
        found.append(problem("compare_no_common_clients", "warning"))
    sums = [{(i.get("kind"), i.get("sha256")) for i in r.meta.get("inputs", [])} for r in (old, new)]
    if sums[0] and sums[0] == sums[1]:
        found.append(problem("compare_same_inputs", "info"))
    return found


# ---------------------------------------------------------------- migrations
def tier_group(tier) -> str:
    """The group of a tier label: 'A2' -> 'A', 'C' -> 'C'; '' when unknown.

    >>> [tier_group(v) for v in ["A2", "B", "C", None, "x"]]
    ['A', 'B', 'C', '', 'X']
    """
    if tier is None or (not isinstance(tier, str) and pd.isna(tier)):
        return ""
    text = str(tier).strip().upper()
    return text[:1] if text[:1] in GROUPS else ""


def _move(then, now) -> str:
    a, b = tier_group(then), tier_group(now)
    if not a or not b:
        return ""
    if a == b:
        return "same"
    if a in _RANK and b in _RANK:
        return "up" if _RANK[b] < _RANK[a] else "down"
    return "other"


def _bool_column(frame: pd.DataFrame | None, column: str) -> pd.Series:
    if frame is None or column not in frame:
        return pd.Series(dtype="boolean")
    text = frame[column].astype("string").str.strip().str.lower()
    values = text.map({"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False})
    return pd.Series(values.to_numpy(), index=frame["client_id"].to_numpy(), dtype="boolean")


def _column(frame: pd.DataFrame | None, column: str, index: pd.Index) -> pd.Series:
    if frame is None or column not in frame:
        return pd.Series(pd.NA, index=index, dtype=object)
    return frame.set_index("client_id")[column].reindex(index)


def build_migrations(old: Run, new: Run) -> pd.DataFrame:
    """migrations.csv: one row per client found in either run.

    Columns: MIGRATION_COLUMNS. `status` is stayed, new (only in the new run), lost (only in the old
    run), gone_to_sleep (sleeping now, not then; clients_audit.csv) or woke_up; `*_move` is up, down,
    same, other (to or from D/X) or empty when a tier is missing. Revenue change counts a missing side
    as 0; `revenue_change_pct` is empty when there was no revenue then. Inputs are not changed.
    """
    ids_old = list(old.tiers["client_id"].dropna())
    ids_new = list(new.tiers["client_id"].dropna())
    seen = set(ids_new)
    index = pd.Index(ids_new + [c for c in ids_old if c not in seen], name="client_id")
    out = pd.DataFrame(index=index)
    names_now, names_then = _column(new.tiers, "name", index), _column(old.tiers, "name", index)
    out["name"] = names_now.where(names_now.notna(), names_then)
    in_old, in_new = index.isin(ids_old), index.isin(ids_new)
    sleeping_then = _bool_column(old.audit, "sleeping").reindex(index)
    sleeping_now = _bool_column(new.audit, "sleeping").reindex(index)
    status = np.where(~in_old, NEW, np.where(~in_new, LOST, "stayed")).astype(object)
    asleep = (sleeping_now.fillna(False) & ~sleeping_then.fillna(False)).to_numpy(dtype=bool)
    awake = (sleeping_then.fillna(False) & ~sleeping_now.fillna(False)).to_numpy(dtype=bool)
    status[(status == "stayed") & asleep] = "gone_to_sleep"
    status[(status == "stayed") & awake] = "woke_up"
    out["status"] = status
    for name, source in (("team_tier", "team_tier"), ("suggested_tier", "suggested_tier"), ("abc", "abc"),
                         ("xyz", "xyz")):
        out[f"{name}_then"] = _column(old.tiers, source, index)
        out[f"{name}_now"] = _column(new.tiers, source, index)
    for kind in ("team", "suggested"):
        out[f"{kind}_move"] = [_move(a, b) for a, b in zip(out[f"{kind}_tier_then"], out[f"{kind}_tier_now"])]
    then = pd.to_numeric(_column(old.tiers, "revenue", index), errors="coerce")
    now = pd.to_numeric(_column(new.tiers, "revenue", index), errors="coerce")
    out["revenue_then"], out["revenue_now"] = then, now
    has_revenue = "revenue" in old.tiers or "revenue" in new.tiers
    change = now.where(in_new, 0.0).fillna(0.0) - then.where(in_old, 0.0).fillna(0.0)
    out["revenue_change"] = change if has_revenue else np.nan
    out["revenue_change_pct"] = (change / then.where(then > 0)).round(4)
    out["key_class_then"] = _column(old.audit, "key_class", index)
    out["key_class_now"] = _column(new.audit, "key_class", index)
    return out.reset_index()[MIGRATION_COLUMNS]


def tier_basis(old: Run, new: Run) -> str:
    """Which tiers the migration flows use: the team's when both runs have a placement, else the data's."""
    def placed(run: Run) -> bool:
        return "team_tier" in run.tiers and run.tiers["team_tier"].notna().any()

    return "team" if placed(old) and placed(new) else "suggested"


def migration_matrix(migrations: pd.DataFrame, basis: str) -> pd.DataFrame:
    """Clients per (tier group then, tier group now); 'new' as a row, 'lost' as a column."""
    then = migrations[f"{basis}_tier_then"].map(tier_group).replace("", "?")
    now = migrations[f"{basis}_tier_now"].map(tier_group).replace("", "?")
    then = then.where(migrations["status"] != NEW, NEW)
    now = now.where(migrations["status"] != LOST, LOST)
    table = pd.crosstab(then, now)
    rows = [g for g in (*GROUPS, "?", NEW) if g in table.index]
    cols = [g for g in (*GROUPS, "?", LOST) if g in table.columns]
    return table.reindex(index=rows, columns=cols, fill_value=0).rename_axis(index="then", columns="now")


# ---------------------------------------------------------------- concentration and mix
def concentration(run: Run) -> dict[str, float]:
    """Top-1 and top-5 shares of revenue and the Herfindahl index (0-1) from tiers.csv's revenue.

    >>> r = Run(Path("."), {}, pd.DataFrame({"client_id": list("abcd"), "suggested_tier": "A",
    ...                                      "revenue": [50.0, 30, 20, 0]}))
    >>> {k: round(v, 2) for k, v in concentration(r).items()}
    {'clients': 4.0, 'revenue': 100.0, 'top1_share': 0.5, 'top5_share': 1.0, 'hhi': 0.38}
    """
    revenue = pd.to_numeric(run.tiers.get("revenue", pd.Series(dtype=float)), errors="coerce").clip(lower=0)
    total = float(revenue.sum())
    shares = (revenue / total).sort_values(ascending=False) if total > 0 else pd.Series(dtype=float)
    return {"clients": float(len(run.tiers)), "revenue": total if total > 0 else math.nan,
            "top1_share": float(shares.head(1).sum()) if len(shares) else math.nan,
            "top5_share": float(shares.head(5).sum()) if len(shares) else math.nan,
            "hhi": float((shares ** 2).sum()) if len(shares) else math.nan}


def compare_concentration(old: Run, new: Run) -> pd.DataFrame:
    """metric, then, now, change for clients, revenue, top-1 share, top-5 share and HHI."""
    a, b = concentration(old), concentration(new)
    return pd.DataFrame([{"metric": k, "then": a[k], "now": b[k], "change": b[k] - a[k]} for k in a])


def compare_mix(old: Run, new: Run) -> pd.DataFrame:
    """The client mix then and now: clients per team tier group, suggested tier group, ABC, XYZ, size band,
    key class (clients_audit.csv) and typology tag. Columns: dimension, value, then, now, change."""
    rows = []

    def counts(run: Run, dimension: str) -> pd.Series:
        if dimension in ("team_tier", "suggested_tier"):
            return run.tiers[dimension].map(tier_group).replace("", pd.NA).value_counts() \
                if dimension in run.tiers else pd.Series(dtype=int)
        if dimension in ("abc", "xyz"):
            return run.tiers[dimension].value_counts() if dimension in run.tiers else pd.Series(dtype=int)
        audit = run.audit
        if audit is None:
            return pd.Series(dtype=int)
        if dimension in ("size_band", "key_class"):
            return audit[dimension].value_counts() if dimension in audit else pd.Series(dtype=int)
        tags = [c for c in ("gold", "superconsumer", "loyal", "sleeping", "new", "small_fry", "bad_late_payment",
                            "bad_heavy_support", "bad_loss_making") if c in audit]
        return pd.Series({c: int(_bool_column(audit, c).fillna(False).sum()) for c in tags}, dtype=int)

    for dimension in ("team_tier", "suggested_tier", "abc", "xyz", "size_band", "key_class", "types"):
        a, b = counts(old, dimension), counts(new, dimension)
        for value in sorted(set(a.index) | set(b.index), key=str):
            x, y = int(a.get(value, 0)), int(b.get(value, 0))
            rows.append({"dimension": dimension, "value": str(value), "then": x, "now": y, "change": y - x})
    return pd.DataFrame(rows, columns=["dimension", "value", "then", "now", "change"])


# ---------------------------------------------------------------- criteria that appeared, vanished or moved
def _listed(criteria: pd.DataFrame | None) -> pd.DataFrame:
    """The criteria a run stood behind: those the data supported and the team's own."""
    if criteria is None or criteria.empty:
        return pd.DataFrame(columns=["id", "points_to", "rule", "expression", "evidence", "threshold", "source"])
    source = criteria.get("source", pd.Series("data", index=criteria.index)).fillna("data")
    keep = ((source == "data") & (criteria["evidence"] == "supported")) | (source == "team")
    return criteria[keep].assign(source=source[keep]).drop_duplicates("id")


def compare_criteria(old: Run, new: Run) -> pd.DataFrame:
    """criteria_changes.csv: per criterion id, its rule then and now and the change.

    change: appeared (listed now only), vanished (listed then only), threshold (same trait and
    direction, numeric threshold moved), changed (same id, other rule), kept. A criterion is listed
    when the data supported it or it is the team's (criteria.yml). Evidence then/now comes from the
    full criteria.csv, so "vanished" can show it became weak.
    """
    a, b = _listed(old.criteria), _listed(new.criteria)
    full_a = old.criteria.set_index("id") if old.criteria is not None and len(old.criteria) else None
    full_b = new.criteria.set_index("id") if new.criteria is not None and len(new.criteria) else None
    a, b = a.set_index("id"), b.set_index("id")
    rows = []
    for cid in list(a.index) + [i for i in b.index if i not in a.index]:
        then = a.loc[cid] if cid in a.index else None
        now = b.loc[cid] if cid in b.index else None
        if then is None:
            change = "appeared"
        elif now is None:
            change = "vanished"
        elif str(then["expression"]) == str(now["expression"]):
            change = "kept"
        elif pd.notna(then.get("threshold")) and pd.notna(now.get("threshold")):
            change = "threshold"
        else:
            change = "changed"
        ref = now if now is not None else then

        def full(frame, column):
            return frame.loc[cid, column] if frame is not None and cid in frame.index and column in frame else None

        rows.append({"id": cid, "points_to": ref["points_to"], "source": ref["source"], "change": change,
                     "rule_then": full(full_a, "rule"), "rule_now": full(full_b, "rule"),
                     "threshold_then": full(full_a, "threshold"), "threshold_now": full(full_b, "threshold"),
                     "evidence_then": full(full_a, "evidence"), "evidence_now": full(full_b, "evidence")})
    columns = ["id", "points_to", "source", "change", "rule_then", "rule_now", "threshold_then", "threshold_now",
               "evidence_then", "evidence_now"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------- did the old criteria work?
@dataclass
class CriteriaCheck:
    """The old checklist scored on what happened since.

    cases       one row per lead / new client: id, name, group (lead / new client), verdict (then),
                met (criterion ids met), unknown (ids not checkable), tier_now, deal, hit
    summary     per verdict: n, hits, share, ci_low, ci_high (hit = the outcome the verdict predicted)
    criteria    per criterion: met_n, met_hits, met_share (+ CI), rest_n, rest_hits, rest_share,
                difference (+ Newcombe CI), verdict: worked, wrong_way, no_difference, too_few (fewer
                than `min_cases` on a side) or no_outcomes (nothing came true on either side yet)
    notes       plain sentences: what could not be used, and why; the small-numbers caveat
    """

    cases: pd.DataFrame
    summary: pd.DataFrame
    criteria: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    checklist_from: str = "none"


# criteria.csv columns issue 10 appended (routing); a run written before them lacks these
ROUTING_COLUMNS = ("routed", "declines", "qualifies", "mirror_id", "only_with")


def predates_routing(run: Run) -> bool:
    """True when the run's criteria.csv was written before routing information (no `routed` column).

    Such a run handed sales its checklist by the rule of that time (see `old_checklist`)."""
    return run.criteria is not None and "routed" not in run.criteria


def _truthy(values: pd.Series) -> pd.Series:
    # criteria.csv holds True/False; read back they may be bool, object or text ("True", "1", "yes")
    return values.astype("string").str.strip().str.lower().isin(["true", "1", "yes"]).astype(bool)


def old_checklist(old: Run):
    """The criteria the old run handed to sales, as a CriteriaResult whose `chosen()` is that checklist.

    A current run (criteria.csv with issue 10's `routed`, `declines`, `qualifies`, `mirror_id`,
    `only_with`) is taken as written. A run that predates routing information gets the rule of its
    time: the team's accepted criteria when there are any, else the data's supported ones, first-contact
    only; every red flag declined (`declines`) and every sign of A qualified (`qualifies`); no mirrors or
    pairs. `rules` are filled later from the expressions (kinds from the new data).
    """
    from helpers.step1_list_clients.settings import CriteriaSettings
    from helpers.step4_write_criteria.criteria import CriteriaResult

    table = old.criteria.copy() if old.criteria is not None else pd.DataFrame(
        columns=["id", "points_to", "rule", "expression", "evidence", "source", "status", "first_contact"])
    for column, default in (("source", "data"), ("status", ""), ("first_contact", True)):
        if column not in table:
            table[column] = default
    # an all-empty text column is read back as float: to text first, then fill
    table["source"] = table["source"].astype(object).fillna("data")
    table["status"] = table["status"].astype(object).fillna("")
    table["first_contact"] = _truthy(table["first_contact"])
    if "routed" not in table:
        accepted = (table["source"] == "team") & (table["status"] == "accepted")
        supported = (table["source"] == "data") & (table["evidence"] == "supported")
        table["routed"] = (accepted if accepted.any() else supported) & table["first_contact"]
        table["declines"] = table["points_to"] == "C"
        table["qualifies"] = table["points_to"] == "A"
    for column in ("routed", "declines", "qualifies"):
        table[column] = _truthy(table[column]) if column in table else False
    for column in ("mirror_id", "only_with"):
        table[column] = table[column].astype(object).fillna("").astype(str) if column in table else ""
    for column in ("share", "ci_low", "ci_high"):  # printed beside a met criterion; unknown in old runs
        if column not in table:
            table[column] = math.nan
    return CriteriaResult(table=table, compared=pd.Series(dtype=object), compared_source="",
                          settings=CriteriaSettings())


def _verdict_then(met: dict, points_to: dict[str, str]) -> str:
    """The verdict of the routing rule before issue 10, from one lead's criteria results (criterion id ->
    True / False / NA) and each criterion's direction: a sign and a red flag both met -> needs review; a flag
    met -> not target; a flag unknown -> needs review; a sign met -> target; a sign unknown -> needs review;
    else not target (prospects.py as of the first release)."""
    def has(tier: str, wanted) -> bool:
        values = [v for k, v in met.items() if points_to.get(k) == tier]
        return any(pd.isna(v) if wanted is None else (pd.notna(v) and bool(v)) for v in values)

    for condition, verdict in ((has("C", True) and has("A", True), "needs review"), (has("C", True), "not target"),
                               (has("C", None), "needs review"), (has("A", True), "target"),
                               (has("A", None), "needs review")):
        if condition:
            return verdict
    return "not target"


def _kinds_for(traits: pd.DataFrame, trait_kinds: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in trait_kinds.items() if v in ("number", "yesno", "category") and k in traits}


def _latest_deals(deals: pd.DataFrame | None) -> pd.Series:
    """Outcome of each client's latest deal (by closed, else created, else file order)."""
    if deals is None or "client_id" not in deals or deals.empty:
        return pd.Series(dtype=object)
    frame = deals[deals["client_id"].notna()].copy()
    frame["_order"] = np.arange(len(frame))
    keys = [c for c in ("closed", "created") if c in frame] + ["_order"]
    frame = frame.sort_values(keys, na_position="first")
    return frame.groupby(frame["client_id"].astype(str))["outcome"].last()


def _match_id(value: str, anonymised: bool) -> str:
    # anonymised leads and clients share the keyed part of their pseudonym (Lead-XXXX / Client-XXXX)
    return re.sub(r"^(Lead|Client)-", "", str(value)) if anonymised else str(value)


def load_new_inputs(new: Run, *, key_file: str = "") -> tuple[object | None, str]:
    """The new run's company (clients' traits, deals), only if its files still match run.json's checksums.

    Returns (company or None, a sentence saying why it could not be used, or "").
    """
    from helpers.step1_list_clients.load import check_company

    folder = new.company_dir
    if folder is None or not folder.is_dir():
        return None, t("compare.check.no_inputs", path=folder or "?")
    result = check_company(folder)
    if not result.ok:
        return None, t("compare.check.inputs_unreadable", path=folder)
    company = result.company
    recorded = {i.get("file"): i.get("sha256") for i in new.meta.get("inputs", [])}
    changed = [f.path.name for f in company.files if f.kind in ("clients", "deals")
               and recorded.get(f.path.name) not in (None, f.sha256)]
    if changed or not recorded:
        return None, t("compare.check.inputs_changed", files=", ".join(changed) or "run.json", path=folder)
    if new.anonymised:
        from helpers.step1_list_clients.anonymise import anonymise_company, load_key

        try:
            same_key = history.pseudonym_key_id(load_key(key_file or None)) == new.meta.get("pseudonym_key_id")
        except OSError:
            same_key = False
        if not same_key:
            return None, t("compare.check.key_missing")
        company = anonymise_company(company, key_file=key_file or None)
    return company, ""


def score_old_criteria(old: Run, new: Run, migrations: pd.DataFrame, *, new_company=None,
                       inputs_note: str = "", min_cases: int = MIN_CASES) -> CriteriaCheck:
    """Score the old run's checklist on the leads and new clients it could not know the outcome of.

    Args:
        old, new: the two runs.
        migrations: `build_migrations(old, new)`.
        new_company: the new run's loaded company (`load_new_inputs`), or None: then only the old leads
            are scored, without deal outcomes, and a note says so.
        inputs_note: why new_company is None, shown in the notes.
        min_cases: fewer cases than this among those meeting (or not meeting) a criterion: "too few".

    Returns:
        CriteriaCheck (see its docstring). Nothing is raised for missing pieces: they become notes.
    """
    from helpers.step4_write_criteria.prospects import route_leads
    from helpers.core.rules import RuleError, parse_rule

    notes: list[str] = [inputs_note] if inputs_note else []
    result = old_checklist(old)
    legacy = predates_routing(old)
    if legacy:
        notes.append(t("compare.check_legacy.predates_routing"))
    chosen = result.chosen()
    if chosen.empty:
        notes.append(t("compare.check.no_checklist"))
    anonymised = old.anonymised and new.anonymised
    now = new.tiers.set_index("client_id")
    tier_now = {_match_id(cid, anonymised): (row.get("team_tier") if pd.notna(row.get("team_tier", np.nan))
                                             else row.get("suggested_tier"))
                for cid, row in now.iterrows()}
    deals = _latest_deals(new_company.deals if new_company is not None else None)
    deal_of = {_match_id(k, anonymised): v for k, v in deals.items()}

    # which rule text belongs to which criterion: the leads' columns list rule texts
    rule_ids = dict(zip(chosen["rule"].astype(str), chosen["id"].astype(str)))
    cases = []
    if old.prospects is not None and len(old.prospects):
        for _, lead in old.prospects.iterrows():
            met, failed = set(), set()
            for column, bucket in (("signs_met", met), ("red_flags_met", met), ("failed", failed)):
                for text in str(lead.get(column) if pd.notna(lead.get(column)) else "").split("; "):
                    if text in rule_ids:
                        bucket.add(rule_ids[text])
            cases.append({"id": str(lead["prospect_id"]), "name": lead.get("name"), "group": "lead",
                          "verdict": lead["verdict"], "met": met, "failed": failed})
    else:
        notes.append(t("compare.check.no_leads"))
    lead_keys = {_match_id(c["id"], anonymised) for c in cases}
    new_ids = [cid for cid in migrations.loc[migrations["status"] == NEW, "client_id"]
               if _match_id(cid, anonymised) not in lead_keys]
    if new_ids and new_company is not None and not chosen.empty:
        clients = new_company.clients.assign(client_id=new_company.clients["client_id"].astype(str))
        clients = clients[clients["client_id"].isin(new_ids)]
        kinds = _kinds_for(clients, new_company.trait_kinds)
        for _, row in chosen.iterrows():
            try:
                result.rules[row["id"]] = parse_rule(str(row["expression"]), kinds)
            except RuleError:
                notes.append(t("compare.check.rule_unusable", rule=row["rule"]))
        usable = chosen[chosen["id"].isin(list(result.rules))]
        result.table = result.table[~result.table["id"].isin(set(chosen["id"]) - set(usable["id"]))]
        frame = clients.rename(columns={"client_id": "prospect_id"})
        frame = frame.reset_index(drop=True)
        # the old checklist's routing rule, as sales would have applied it then
        routed = route_leads(frame, result)
        verdicts = routed["verdict"]
        if legacy:
            points_to = dict(zip(usable["id"].astype(str), usable["points_to"]))
            verdicts = routed["_met"].map(lambda met: _verdict_then(met, points_to))
        names = frame["name"] if "name" in frame else frame["prospect_id"]
        scored = pd.DataFrame({"prospect_id": frame["prospect_id"].to_numpy(), "name": names.to_numpy(),
                               "verdict": verdicts.to_numpy()})
        values = {cid: result.rules[cid].evaluate(frame.reset_index(drop=True)) for cid in usable["id"]}
        for i, (_, row) in enumerate(scored.iterrows()):
            met = {cid for cid, v in values.items() if pd.notna(v.iloc[i]) and bool(v.iloc[i])}
            failed = {cid for cid, v in values.items() if pd.notna(v.iloc[i]) and not bool(v.iloc[i])}
            cases.append({"id": row["prospect_id"], "name": row["name"], "group": "new client",
                          "verdict": row["verdict"], "met": met, "failed": failed})
    elif new_ids and new_company is None:
        notes.append(t("compare.check.new_clients_unscored", count=len(new_ids)))

    for case in cases:
        key = _match_id(case["id"], anonymised)
        case["tier_now"] = tier_now.get(key)
        case["deal"] = deal_of.get(key)
        group, deal = tier_group(case["tier_now"]), case["deal"]
        case["became_a"] = group == "A" or deal == "won_fast"
        case["became_c"] = group in ("C", "D") or deal == "refused"
        case["hit"] = {"target": case["became_a"], "not target": case["became_c"]}.get(case["verdict"])
    frame = pd.DataFrame(cases, columns=["id", "name", "group", "verdict", "met", "failed", "tier_now", "deal",
                                         "became_a", "became_c", "hit"])
    summary = _summarise_verdicts(frame)
    per_criterion = _score_each(frame, chosen, min_cases)
    small = [n for n in summary["n"] if 0 < n < SMALL] + [n for n in per_criterion.get("met_n", []) if 0 < n < SMALL]
    if small:
        notes.append(t("compare.check.small", n=min(small), small=SMALL))
    out = frame.assign(met=frame["met"].map(lambda s: "; ".join(sorted(s))),
                       failed=frame["failed"].map(lambda s: "; ".join(sorted(s))))
    return CriteriaCheck(out, summary, per_criterion, notes, result.chosen_from if not chosen.empty else "none")


def _summarise_verdicts(cases: pd.DataFrame) -> pd.DataFrame:
    from helpers.core.stats import wilson_interval

    rows = []
    for verdict, outcome in (("target", "became_a"), ("not target", "became_c")):
        part = cases[cases["verdict"] == verdict]
        n, hits = len(part), int(part[outcome].sum()) if len(part) else 0
        low, high = wilson_interval(hits, n)
        rows.append({"verdict": verdict, "outcome": outcome, "n": n, "hits": hits,
                     "share": hits / n if n else math.nan, "ci_low": low, "ci_high": high,
                     "leads": int((part["group"] == "lead").sum()), "new_clients": int((part["group"] == "new client").sum()),
                     "became_a": int(part["became_a"].sum()), "became_c": int(part["became_c"].sum()),
                     "won_fast": int((part["deal"] == "won_fast").sum()), "refused": int((part["deal"] == "refused").sum()),
                     "not_a_client": int(part["tier_now"].isna().sum())})
    review = cases[~cases["verdict"].isin(["target", "not target"])]
    rows.append({"verdict": "needs review", "outcome": "", "n": len(review), "hits": math.nan, "share": math.nan,
                 "ci_low": math.nan, "ci_high": math.nan, "leads": int((review["group"] == "lead").sum()),
                 "new_clients": int((review["group"] == "new client").sum()),
                 "became_a": int(review["became_a"].sum()), "became_c": int(review["became_c"].sum()),
                 "won_fast": int((review["deal"] == "won_fast").sum()), "refused": int((review["deal"] == "refused").sum()),
                 "not_a_client": int(review["tier_now"].isna().sum())})
    return pd.DataFrame(rows)


def _score_each(cases: pd.DataFrame, chosen: pd.DataFrame, min_cases: int) -> pd.DataFrame:
    from helpers.core.stats import newcombe_difference, wilson_interval

    rows = []
    for _, crit in chosen.iterrows():
        cid, outcome = str(crit["id"]), "became_a" if crit["points_to"] == "A" else "became_c"
        met = cases[np.array([cid in s for s in cases["met"]], dtype=bool)]
        rest = cases[np.array([cid in s for s in cases["failed"]], dtype=bool)]
        k1, n1, k2, n2 = int(met[outcome].sum()), len(met), int(rest[outcome].sum()), len(rest)
        low, high = wilson_interval(k1, n1)
        diff, d_low, d_high = newcombe_difference(k1, n1, k2, n2)
        if n1 < min_cases or n2 < min_cases:
            verdict = "too_few"
        elif k1 + k2 == 0:  # nobody has an outcome yet: no evidence either way
            verdict = "no_outcomes"
        elif d_low > 0:
            verdict = "worked"
        elif d_high < 0:
            verdict = "wrong_way"
        else:
            verdict = "no_difference"
        rows.append({"id": cid, "rule": crit["rule"], "points_to": crit["points_to"], "outcome": outcome,
                     "met_n": n1, "met_hits": k1, "met_share": k1 / n1 if n1 else math.nan, "met_ci_low": low,
                     "met_ci_high": high, "rest_n": n2, "rest_hits": k2, "rest_share": k2 / n2 if n2 else math.nan,
                     "difference": diff, "difference_low": d_low, "difference_high": d_high, "verdict": verdict})
    columns = ["id", "rule", "points_to", "outcome", "met_n", "met_hits", "met_share", "met_ci_low", "met_ci_high",
               "rest_n", "rest_hits", "rest_share", "difference", "difference_low", "difference_high", "verdict"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------- the whole comparison
@dataclass
class Comparison:
    old: Run
    new: Run
    problems: list[Problem]
    migrations: pd.DataFrame
    matrix: pd.DataFrame
    basis: str
    concentration: pd.DataFrame
    mix: pd.DataFrame
    criteria_changes: pd.DataFrame
    check: CriteriaCheck
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        status = self.migrations["status"]
        move = self.migrations[f"{self.basis}_move"]
        return {"then": len(self.old.tiers), "now": len(self.new.tiers), "new": int((status == NEW).sum()),
                "lost": int((status == LOST).sum()), "gone_to_sleep": int((status == "gone_to_sleep").sum()),
                "woke_up": int((status == "woke_up").sum()), "up": int((move == "up").sum()),
                "down": int((move == "down").sum())}


def compare_runs(old_dir: str | os.PathLike, new_dir: str | os.PathLike, *, force: bool = False,
                 key_file: str = "") -> Comparison:
    """Read and compare two run folders.

    Raises:
        DataProblem: a folder is not a run; or (unless `force`) the runs belong to different companies,
            used different settings, or pseudonyms that cannot match. With `force` those become
            warnings printed at the top of compare.html.
    """
    old, new = read_run(old_dir), read_run(new_dir)
    found = check_comparable(old, new)
    errors = [p for p in found if p.severity == "error"]
    if errors and not force:
        raise DataProblem(found)
    if force:
        found = [Problem("warning", p.code, p.message, p.fix, p.file, p.row, p.column) if p.severity == "error"
                 else p for p in found]
    migrations = build_migrations(old, new)
    basis = tier_basis(old, new)
    company, note = load_new_inputs(new, key_file=key_file)
    check = score_old_criteria(old, new, migrations, new_company=company, inputs_note=note)
    return Comparison(old, new, found, migrations, migration_matrix(migrations, basis), basis,
                      compare_concentration(old, new), compare_mix(old, new), compare_criteria(old, new), check)


def default_out_dir(comparison: Comparison) -> Path:
    """runs/<company>-compare/<old>__<new>/: beside the run folder, which each run replaces as a whole."""
    root = paths.RUNS_DIR / f"{comparison.new.slug}-compare"
    return paths.ensure_inside(root / f"{comparison.old.label}__{comparison.new.label}", paths.RUNS_DIR)


def write_comparison(comparison: Comparison, out_dir: str | os.PathLike, *, language: str | None = None) -> dict:
    """Write compare.html, migrations.csv, criteria_changes.csv, criteria_check.csv and figures/*.png.

    Returns a dict name -> path. Files are written atomically; text cells are safe against formulas.
    """
    from helpers.step6_compare.report import build_compare_report
    from helpers.core.export import write_csv, write_figure
    from helpers.core.i18n import language as use_language
    from helpers.step6_compare.plots import plot_tier_migration
    from helpers.step5_report.report import write_report

    out = Path(out_dir).expanduser().resolve()
    meta = comparison.new.meta
    with use_language(language or (meta.get("parameters") or {}).get("language")
                      or (meta.get("settings") or {}).get("language")):
        written = {"migrations.csv": write_csv(comparison.migrations, out / "migrations.csv"),
                   "criteria_changes.csv": write_csv(comparison.criteria_changes, out / "criteria_changes.csv"),
                   "criteria_check.csv": write_csv(comparison.check.criteria, out / "criteria_check.csv")}
        ax = plot_tier_migration(comparison.matrix, basis=comparison.basis)
        written["figures/tier_migration.png"] = write_figure(ax.figure, out / "figures" / "tier_migration.png")
        import matplotlib.pyplot as plt

        plt.close(ax.figure)
        sections, title, subtitle, notes = build_compare_report(comparison)
        written["compare.html"] = write_report(sections, out / "compare.html", title=title, subtitle=subtitle,
                                               notes=notes)
    return written


def open_comparison(old_run: str = "", new_run: str = "", *, company: str = "", old_date: str = "",
                    new_date: str = "", out_dir: str = "", language: str = "", force: bool = False,
                    key_file: str = "") -> tuple[Comparison, Path]:
    """The setup call of notebook 06: pick the runs, compare them, and choose where outputs go.

    Two run folders (`old_run`, `new_run`), or `company` with `old_date` and `new_date` from its history.
    With nothing given, two runs of a generated company (helpers.step6_compare.sample_runs) are written to a new
    temporary folder and compared, so the notebook always runs (nbval) and never writes into the project.

    Returns:
        (the Comparison, the output folder: `out_dir`, else runs/<company>-compare/<old>__<new>/, or the
        temporary folder in the demo).

    Raises:
        DataProblem: as `resolve_runs` and `compare_runs`.
    """
    import tempfile

    from helpers.core import i18n

    i18n.set_language(language or None)
    if not (old_run or new_run or company):
        from helpers.step6_compare.sample_runs import write_sample_runs

        root = Path(tempfile.mkdtemp(prefix="tierbook-compare-demo-"))
        old_dir, new_dir = write_sample_runs(root)
        return compare_runs(old_dir, new_dir, force=force), Path(out_dir) if out_dir else root / "compare"
    if company:
        old_dir, new_dir, notes = resolve_runs(company, old_date or "previous", new_date or "latest")
    else:
        old_dir, new_dir, notes = resolve_runs(old_run, new_run)
    comparison = compare_runs(old_dir, new_dir, force=force, key_file=key_file)
    comparison.notes.extend(notes)
    return comparison, Path(out_dir).expanduser().resolve() if out_dir else default_out_dir(comparison)
