"""Step 4 of the method, at the start of the sales pipeline: qualify new leads with the criteria.

Each prospect gets a verdict (target / not target / needs review), the reasons, and a route.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.step1_list_clients.company import Company
from helpers.step4_write_criteria.criteria import CriteriaResult
from helpers.core.i18n import t, t_column
from helpers.step1_list_clients.key_clients import mark_key_prospects
from helpers.core.rules import conditions_of, trait_label
from helpers.core.vocabulary import ROUTES, VERDICTS  # noqa: F401  (VERDICTS: imported for older callers)

# Appended to prospects_scored.csv by issue 10 (never renamed): the criteria met with their precision,
# category values never seen among clients, and the tiers of similar clients.
EXTRA_COLUMNS = ["criteria_met", "new_values", "similar_clients", "expected_share_a", "expected_share_c"]


def _precision(row: pd.Series) -> str:
    tier = row["points_to"]
    return f"{row['rule']} ({tier} {row['share']:.0%} [{row['ci_low']:.0%}–{row['ci_high']:.0%}])"


def _mask_new_values(leads: pd.DataFrame, criteria: pd.DataFrame, rules: dict, seen: dict[str, set[str]]
                     ) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Category answers never seen among clients become unknown: no rule was learnt on them, so neither
    `in [...]` nor `not in [...]` can judge them (a lead from "mining" does not meet "not retail").

    Returns (the leads with those answers blanked, one array of notes per trait: the note or "" per lead)."""
    frame = leads.copy()
    notes: list[np.ndarray] = []
    conditions = [c for rid in criteria["id"] for c in conditions_of(rules[rid]) if c.kind == "category"]
    for trait in sorted({c.trait for c in conditions}):
        if trait not in frame or trait not in seen:
            continue
        # a value a team rule names in `in [...]` is judged by that rule even if no client has it yet
        named = {str(v).strip().casefold() for c in conditions if c.trait == trait and c.op == "in" for v in c.value}
        known = {str(v).strip().casefold() for v in seen[trait]} | named
        text = frame[trait].astype("string").str.strip()
        new = (text.notna() & ~text.str.casefold().isin(known)).fillna(False).to_numpy(dtype=bool)
        note = t_column("criteria.prospects.new_value", frame.index, trait=trait_label(trait), value=text)
        notes.append(np.where(new, note.to_numpy(), ""))
        frame[trait] = frame[trait].where(~new, None)
    return frame, notes


class _TextList:
    """Per lead, texts joined by `sep` in the order they were added, built column-wise (no loop over leads)."""

    def __init__(self, n: int, sep: str = "; "):
        self.text = np.full(n, "", dtype=object)
        self.any = np.zeros(n, dtype=bool)
        self.sep = sep

    def add(self, where: np.ndarray, text: str) -> None:
        """Append `text` for the leads where `where` is True."""
        self.extend(np.where(where, text, ""))

    def extend(self, texts: np.ndarray) -> None:
        """Append each lead's own text (empty texts add nothing)."""
        texts = np.asarray(texts, dtype=object)
        has = texts != ""
        self.text = np.where(has & self.any, self.text + self.sep + texts, np.where(has, self.text + texts, self.text))
        self.any |= has

    def joined(self, other: "_TextList") -> np.ndarray:
        """This list followed by `other`, as one text per lead."""
        both = _TextList(len(self.text), self.sep)
        both.extend(self.text)
        both.extend(other.text)
        return both.text


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

    lists = {name: _TextList(n) for name in ("signs", "weak_signs", "strong", "weak", "failed", "met")}
    unknown_sign, unknown_flag = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    ask: dict[str, np.ndarray] = {}  # trait label -> leads to ask about it
    for _, row in chosen.iterrows():  # one pass per criterion, each column-wise over the leads
        node, value = rules[row["id"]], results[row["id"]]
        unknown = value.isna().to_numpy()
        met = value.fillna(False).to_numpy(dtype=bool) & ~unknown
        if row["points_to"] == "C":
            unknown_flag |= unknown
        else:
            unknown_sign |= unknown
        # ask about the traits this lead lacks; when none is missing (a new category value), about all of them
        gaps = {tr: (np.ones(n, dtype=bool) if tr not in frame else frame[tr].isna().to_numpy()) for tr in node.traits}
        no_gap = ~np.logical_or.reduce(list(gaps.values())) if gaps else np.ones(n, dtype=bool)
        for tr, gap in gaps.items():
            label = trait_label(tr)
            ask[label] = ask.get(label, np.zeros(n, dtype=bool)) | (unknown & (gap | no_gap))
        lists["met"].add(met, _precision(row))
        if row["points_to"] == "A":
            lists["signs" if row.get("qualifies", True) else "weak_signs"].add(met, row["rule"])
        else:
            lists["strong" if row["declines"] else "weak"].add(met, row["rule"])
        lists["failed"].add(~met & ~unknown, row["rule"])

    signs, weak_signs = lists["signs"].any, lists["weak_signs"].any
    strong, weak = lists["strong"].any, lists["weak"].any
    asked = np.logical_or.reduce(list(ask.values())) if ask else np.zeros(n, dtype=bool)
    unknown_any = unknown_sign | unknown_flag
    # the routes of `route_leads`, first match wins (see its docstring)
    cases = [
        (strong & asked, "needs review", ROUTES["ask"], t("criteria.prospects.ask_before_decline")),
        (strong & (signs | weak_signs), "needs review", ROUTES["needs review"], t("criteria.prospects.mixed")),
        (strong, "not target", ROUTES["decline"], ""),
        (signs & weak, "needs review", ROUTES["needs review"], t("criteria.prospects.mixed")),
        (signs & unknown_flag, "needs review", ROUTES["ask"], ""),
        (signs, "target", ROUTES["target"], ""),
        (weak, "not target", ROUTES["not target"], ""),
        # a real sign, but A is not the clear majority among clients with it: the standard offer, and no
        # "needs review" (a person has nothing to weigh; that verdict is kept for mixed or missing answers)
        (weak_signs & ~unknown_any, "not target", ROUTES["not target"], ""),
        (unknown_any, "needs review", ROUTES["ask"], ""),
    ]
    conditions = [c[0] for c in cases]
    verdict = np.select(conditions, [c[1] for c in cases], default="not target")
    route = np.select(conditions, [c[2] for c in cases], default=ROUTES["not target"])
    note = np.select(conditions, [c[3] for c in cases], default="")
    to_ask = _TextList(n, ", ")
    for label in sorted(ask):
        to_ask.add(ask[label], label)
    new_values = _TextList(n)
    for notes in new_notes:
        to_ask.extend(notes)
        new_values.extend(notes)
    to_ask.extend(note)
    out = pd.DataFrame({
        "verdict": verdict.astype(object), "route": route.astype(object),
        "signs_met": lists["signs"].joined(lists["weak_signs"]),
        "red_flags_met": lists["strong"].joined(lists["weak"]),
        "failed": lists["failed"].text, "to_ask": to_ask.text, "criteria_met": lists["met"].text,
        "new_values": new_values.text,
    })
    out["_met"] = pd.DataFrame(results, index=range(n)).to_dict("records") if results else [{} for _ in range(n)]
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


def _similar(leads_met: list[dict], clients_met: list[dict], tiers: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per lead: clients meeting exactly the criteria the lead meets, among the criteria known for the lead.

    Takes the `_met` dicts of the leads and of the clients (criterion id -> True/False/<NA>; a client's
    unknown counts as not met) and the clients' tiers. Returns (count, share of A, share of C) arrays, NaN
    shares when no client is alike. The clients are compared as one boolean matrix (clients × criteria);
    the loop is over the leads only, each a column-wise comparison.
    """
    n = len(leads_met)
    count, share_a, share_c = np.zeros(n, dtype=int), np.full(n, np.nan), np.full(n, np.nan)
    if not n:
        return count, share_a, share_c
    leads = pd.DataFrame(leads_met, index=range(n))
    clients = pd.DataFrame(clients_met, index=range(len(clients_met))).reindex(columns=leads.columns)
    client_values = clients.astype("boolean").fillna(False).to_numpy(dtype=bool)
    known = leads.notna().to_numpy()
    lead_values = leads.astype("boolean").fillna(False).to_numpy(dtype=bool)
    is_a, is_c = tiers == "A", tiers == "C"
    for i in range(n):
        if not known[i].any():
            continue
        same = (client_values[:, known[i]] == lead_values[i, known[i]]).all(axis=1)
        count[i] = int(same.sum())
        if count[i]:
            share_a[i], share_c[i] = float(is_a[same].mean()), float(is_c[same].mean())
    return count, share_a, share_c


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
    count, share_a, share_c = _similar(list(routed["_met"]), list(own["_met"]), tiers)
    out["criteria_met"] = routed["criteria_met"].to_numpy()
    out["new_values"] = routed["new_values"].to_numpy()
    out["similar_clients"] = count
    out["expected_share_a"] = share_a
    out["expected_share_c"] = share_c
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
