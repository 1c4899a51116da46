"""Step 4 of the method, at the start of the sales pipeline: qualify new leads with the criteria.

Each prospect gets a verdict (target / not target / needs review), the reasons, and a route.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.step1_list_clients.company import Company
from helpers.step4_write_criteria.criteria import CriteriaResult
from helpers.core.i18n import t
from helpers.step1_list_clients.key_clients import mark_key_prospects
from helpers.core.rules import conditions_of, trait_label

VERDICTS = ("target", "not target", "needs review")
ROUTES = {"target": "full sales process", "not target": "standard offer", "decline": "decline",
          "needs review": "standard offer", "ask": "ask first"}
# Appended to prospects_scored.csv by issue 10 (never renamed): the criteria met with their precision,
# category values never seen among clients, and the tiers of similar clients.
EXTRA_COLUMNS = ["criteria_met", "new_values", "similar_clients", "expected_share_a", "expected_share_c"]


def _precision(row: pd.Series) -> str:
    tier = row["points_to"]
    return f"{row['rule']} ({tier} {row['share']:.0%} [{row['ci_low']:.0%}–{row['ci_high']:.0%}])"


def _mask_new_values(leads: pd.DataFrame, criteria: pd.DataFrame, rules: dict, seen: dict[str, set[str]]
                     ) -> tuple[pd.DataFrame, list[list[str]]]:
    """Category answers never seen among clients become unknown: no rule was learnt on them, so neither
    `in [...]` nor `not in [...]` can judge them (a lead from "mining" does not meet "not retail")."""
    frame = leads.copy()
    notes: list[list[str]] = [[] for _ in range(len(frame))]
    conditions = [c for rid in criteria["id"] for c in conditions_of(rules[rid]) if c.kind == "category"]
    for trait in sorted({c.trait for c in conditions}):
        if trait not in frame or trait not in seen:
            continue
        # a value a team rule names in `in [...]` is judged by that rule even if no client has it yet
        named = {str(v).strip().casefold() for c in conditions if c.trait == trait and c.op == "in" for v in c.value}
        known = {str(v).strip().casefold() for v in seen[trait]} | named
        text = frame[trait].astype("string").str.strip()
        new = (text.notna() & ~text.str.casefold().isin(known)).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(new):
            notes[i].append(t("criteria.prospects.new_value", trait=trait_label(trait), value=text.iloc[i]))
        frame[trait] = frame[trait].where(~new, None)
    return frame, notes


def route_leads(leads: pd.DataFrame, criteria_result: CriteriaResult) -> pd.DataFrame:
    """Verdict and route of each lead (a prospect, or an existing client in the routing check).

    The criteria are `criteria_result.chosen()`: what sales gets. Routes, first match wins:
        a red flag that may decline (C share among flagged clients above `decline_precision` at its lower
        95% bound) is met:
            some routed trait is still unknown       -> needs review, "ask first" (never decline unasked)
            a sign of A is met too                    -> needs review, "standard offer" (a person decides)
            else                                      -> not target, "decline"
        a sign of A whose A share among clients with it reaches `target_precision` is met:
            a weaker red flag is met too              -> needs review, "standard offer"
            a red flag cannot be checked (unknown)    -> needs review, "ask first"
            else                                      -> target, "full sales process"
        a weaker red flag is met                      -> not target, "standard offer"
        only a weaker sign of A (A share below `target_precision`), all else known
                                                      -> not target, "standard offer"
        a sign or flag cannot be checked              -> needs review, "ask first"
        else                                          -> not target, "standard offer"
    A lead meeting both directions of one trait (a mirror pair with overlapping thresholds) meets neither.
    Category values never seen among clients are unknown, and `new_values` says so.

    Args:
        leads: one row per lead with the trait columns (not changed).
        criteria_result: the result of `find_criteria`.

    Returns:
        Frame aligned with `leads` (fresh index): verdict, route, signs_met, red_flags_met, failed, to_ask,
        criteria_met, new_values, and `_met` (criterion id -> True/False/<NA>, for similar-client lookups).
    """
    return route_with(leads, criteria_result.chosen(), criteria_result.rules, criteria_result.seen_categories)


def route_with(leads: pd.DataFrame, chosen: pd.DataFrame, rules: dict, seen: dict[str, set[str]]) -> pd.DataFrame:
    """`route_leads` with the criteria given directly (rows of criteria.csv, their rule objects, and the
    category values seen among clients): the backtest routes held-out clients with each fold's criteria."""
    frame, new_notes = _mask_new_values(leads.reset_index(drop=True), chosen, rules, seen)
    n = len(frame)
    results = {}
    for _, row in chosen.iterrows():
        results[row["id"]] = rules[row["id"]].evaluate(frame).reset_index(drop=True)
    # a mirror pair met both ways says nothing about the lead
    for _, row in chosen[chosen["mirror_id"].astype(str) != ""].iterrows():
        other = row["mirror_id"]
        if other in results and row["points_to"] == "A":
            both = (results[row["id"]] & results[other]).fillna(False).astype(bool)
            results[row["id"]] = results[row["id"]].mask(both, False)
            results[other] = results[other].mask(both, False)

    signs, strong, weak = [[] for _ in range(n)], [[] for _ in range(n)], [[] for _ in range(n)]
    weak_signs = [[] for _ in range(n)]
    failed, met_text = [[] for _ in range(n)], [[] for _ in range(n)]
    unknown_sign, unknown_flag = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    ask: list[set[str]] = [set() for _ in range(n)]
    for _, row in chosen.iterrows():
        node = rules[row["id"]]
        for i, value in enumerate(results[row["id"]]):
            if pd.isna(value):
                (unknown_flag if row["points_to"] == "C" else unknown_sign)[i] = True
                gaps = [trait_label(tr) for tr in node.traits if tr not in frame or pd.isna(frame[tr].iloc[i])]
                ask[i].update(gaps or [trait_label(tr) for tr in node.traits])
            elif bool(value):
                met_text[i].append(_precision(row))
                if row["points_to"] == "A":
                    (signs if row.get("qualifies", True) else weak_signs)[i].append(row["rule"])
                else:
                    (strong if row["declines"] else weak)[i].append(row["rule"])
            else:
                failed[i].append(row["rule"])

    verdicts, routes, notes = [], [], []
    for i in range(n):
        note = ""
        if strong[i]:
            if ask[i]:
                verdict, route, note = "needs review", ROUTES["ask"], t("criteria.prospects.ask_before_decline")
            elif signs[i] or weak_signs[i]:
                verdict, route, note = "needs review", ROUTES["needs review"], t("criteria.prospects.mixed")
            else:
                verdict, route = "not target", ROUTES["decline"]
        elif signs[i]:
            if weak[i]:
                verdict, route, note = "needs review", ROUTES["needs review"], t("criteria.prospects.mixed")
            elif unknown_flag[i]:
                verdict, route = "needs review", ROUTES["ask"]
            else:
                verdict, route = "target", ROUTES["target"]
        elif weak[i]:
            verdict, route = "not target", ROUTES["not target"]
        elif weak_signs[i] and not (unknown_sign[i] or unknown_flag[i]):
            # a real sign, but A is not the clear majority among clients with it: the standard offer, and no
            # "needs review" (a person has nothing to weigh; that verdict is kept for mixed or missing answers)
            verdict, route = "not target", ROUTES["not target"]
        elif unknown_sign[i] or unknown_flag[i]:
            verdict, route = "needs review", ROUTES["ask"]
        else:
            verdict, route = "not target", ROUTES["not target"]
        verdicts.append(verdict)
        routes.append(route)
        notes.append(note)
    out = pd.DataFrame({
        "verdict": verdicts, "route": routes,
        "signs_met": ["; ".join(a + b) for a, b in zip(signs, weak_signs)],
        "red_flags_met": ["; ".join(a + b) for a, b in zip(strong, weak)],
        "failed": ["; ".join(x) for x in failed],
        "to_ask": [", ".join(sorted(a) + new + ([note] if note else [])) for a, new, note in zip(ask, new_notes, notes)],
        "criteria_met": ["; ".join(x) for x in met_text],
        "new_values": ["; ".join(x) for x in new_notes],
    })
    out["_met"] = [{rid: results[rid].iloc[i] for rid in results} for i in range(n)]
    return out


def route_clients(company: Company, criteria_result: CriteriaResult) -> pd.DataFrame:
    """The company's own compared clients routed through the checklist, with their tier.

    A check a sales head can read: among clients the rules would send to the full sales process, how many
    are A; among those they would decline, how many are A. Returns client_id, tier and the columns of
    `route_leads`. The inputs are not changed.
    """
    clients = company.clients.assign(client_id=company.clients["client_id"].astype("string"))
    clients = clients[clients["client_id"].isin(criteria_result.compared.index)].reset_index(drop=True)
    routed = route_leads(clients, criteria_result)
    routed.insert(0, "tier", criteria_result.compared.reindex(clients["client_id"].to_numpy()).to_numpy())
    routed.insert(0, "client_id", clients["client_id"].to_numpy())
    return routed


def routing_check(routed_clients: pd.DataFrame) -> pd.DataFrame:
    """Clients per route and tier, with the share of A and C in each route.

    >>> routing_check(pd.DataFrame({"route": ["decline", "decline", "full sales process"],
    ...                             "tier": ["C", "A", "A"]}))[["route", "clients", "A", "C", "share_a"]].values.tolist()
    [['full sales process', 1, 1, 0, 1.0], ['decline', 2, 1, 1, 0.5]]
    """
    order = [ROUTES["target"], ROUTES["ask"], ROUTES["not target"], ROUTES["decline"]]
    table = pd.crosstab(routed_clients["route"], routed_clients["tier"]).reindex(columns=["A", "B", "C"], fill_value=0)
    table = table.reindex([r for r in order if r in table.index])
    out = table.reset_index()
    out.columns.name = None
    out.insert(1, "clients", table.sum(axis=1).to_numpy())
    out["share_a"] = out["A"] / out["clients"]
    out["share_c"] = out["C"] / out["clients"]
    return out


def _similar(lead_met: dict, clients_met: list[dict], tiers: np.ndarray) -> tuple[int, float, float]:
    """Clients meeting exactly the criteria the lead meets, among the criteria known for the lead."""
    keys = [k for k, v in lead_met.items() if not pd.isna(v)]
    if not keys:
        return 0, float("nan"), float("nan")
    same = np.array([all((False if pd.isna(c[k]) else bool(c[k])) == bool(lead_met[k]) for k in keys)
                     for c in clients_met], dtype=bool)
    count = int(same.sum())
    if not count:
        return 0, float("nan"), float("nan")
    return count, float((tiers[same] == "A").mean()), float((tiers[same] == "C").mean())


def score_prospects(company: Company, criteria_result: CriteriaResult) -> pd.DataFrame | None:
    """Score `prospects.csv` with the criteria handed to sales (prospects_scored.csv).

    The criteria are `CriteriaResult.chosen()`: the team's accepted ones when there are any, else those the
    data supports with a useful effect, stable, checkable at the first contact. Verdicts and routes follow
    `route_leads` (the same rule the checklist prints). Per lead it adds the criteria met with their
    precision (share of the tier among clients meeting it, 95% interval) and the expected shares of A and C
    among similar clients (existing clients who meet exactly the same of these criteria).

    Args:
        company: the loaded company; `company.prospects` may be None.
        criteria_result: the result of `find_criteria`.

    Returns:
        One row per prospect (prospect_id, name, verdict, route, signs_met, red_flags_met, failed, to_ask,
        criteria_from, then EXTRA_COLUMNS), or None when the company has no prospects.csv.
        With need / solvency / authority columns also key_prospect and missing_p
        (see `keyclients.mark_key_prospects`). Inputs unchanged.
    """
    if company.prospects is None:
        return None
    prospects = company.prospects
    chosen = criteria_result.chosen()
    names = prospects["name"] if "name" in prospects else prospects["prospect_id"]
    out = pd.DataFrame({"prospect_id": prospects["prospect_id"].astype("string").to_numpy(),
                        "name": names.astype("string").to_numpy()})
    if chosen.empty:
        out["verdict"] = "needs review"
        out["route"] = ROUTES["needs review"]
        for column in ("signs_met", "red_flags_met", "failed"):
            out[column] = ""
        out["to_ask"] = t("criteria.prospects.no_criteria")
        out["criteria_from"] = "none"
        for column in EXTRA_COLUMNS:
            out[column] = "" if column in ("criteria_met", "new_values") else float("nan")
        out["similar_clients"] = 0
        return mark_key_prospects(out, prospects)

    routed = route_leads(prospects, criteria_result)
    for column in ("verdict", "route", "signs_met", "red_flags_met", "failed", "to_ask"):
        out[column] = routed[column].to_numpy()
    out["criteria_from"] = criteria_result.chosen_from
    own = route_clients(company, criteria_result)
    tiers = own["tier"].to_numpy(dtype=str)
    similar = [_similar(met, list(own["_met"]), tiers) for met in routed["_met"]]
    out["criteria_met"] = routed["criteria_met"].to_numpy()
    out["new_values"] = routed["new_values"].to_numpy()
    out["similar_clients"] = [s[0] for s in similar]
    out["expected_share_a"] = [s[1] for s in similar]
    out["expected_share_c"] = [s[2] for s in similar]
    return mark_key_prospects(out, prospects)  # the three P of a prospective key client


def count_verdicts(scored: pd.DataFrame | None) -> pd.DataFrame:
    """Prospects per verdict and route, for a quick look.

    >>> count_verdicts(pd.DataFrame({"verdict": ["target", "target", "needs review"],
    ...                              "route": ["full sales process"] * 2 + ["standard offer"]}))
            verdict               route  prospects
    0  needs review      standard offer          1
    1        target  full sales process          2
    """
    if scored is None or scored.empty:
        return pd.DataFrame(columns=["verdict", "route", "prospects"])
    return (scored.groupby(["verdict", "route"]).size().rename("prospects").reset_index()
            .sort_values(["verdict", "route"]).reset_index(drop=True))
