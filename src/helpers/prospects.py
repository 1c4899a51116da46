"""Step 4 of the method, at the start of the sales pipeline: qualify new leads with the criteria.

Each prospect gets a verdict (target / not target / needs review), the reasons, and a route.
"""

from __future__ import annotations

import pandas as pd

from .company import Company
from .criteria import CriteriaResult
from .i18n import t
from .keyclients import mark_key_prospects
from .rules import trait_label

VERDICTS = ("target", "not target", "needs review")
ROUTES = {"target": "full sales process", "not target": "standard offer", "decline": "decline",
          "needs review": "standard offer"}


def score_prospects(company: Company, criteria_result: CriteriaResult) -> pd.DataFrame | None:
    """Score `prospects.csv` with the criteria handed to sales (prospects_scored.csv).

    The criteria are the team's accepted ones when there are any, else those the data supports,
    and only those a seller can check at the first contact (`CriteriaResult.chosen`).

    Verdict and route:
        a sign of A and a red flag are both met -> "needs review" (mixed answers: a person decides);
        a red flag is met -> "not target", route "decline";
        else a red flag cannot be checked (trait unknown) -> "needs review";
        else a sign of A is met -> "target", route "full sales process";
        else a sign of A cannot be checked -> "needs review";
        else -> "not target", route "standard offer".
    "needs review" prospects get the standard offer until the questions in `to_ask` are answered.

    Args:
        company: the loaded company; `company.prospects` may be None.
        criteria_result: the result of `find_criteria`.

    Returns:
        One row per prospect (prospect_id, name, verdict, route, signs_met, red_flags_met, failed,
        to_ask, criteria_from; with need / solvency / authority columns also key_prospect and missing_p,
        see `keyclients.mark_key_prospects`), or None when the company has no prospects.csv. Inputs are not changed.
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
        return mark_key_prospects(out, prospects)

    met = {"A": [[] for _ in range(len(out))], "C": [[] for _ in range(len(out))]}
    unknown = {"A": [[] for _ in range(len(out))], "C": [[] for _ in range(len(out))]}
    failed = [[] for _ in range(len(out))]
    ask = [set() for _ in range(len(out))]
    for _, row in chosen.iterrows():
        node = criteria_result.rules[row["id"]]
        result = node.evaluate(prospects).reset_index(drop=True)
        missing_traits = [trait_label(tr) for tr in node.traits
                          if tr not in prospects.columns]
        for i, value in enumerate(result):
            if pd.isna(value):
                unknown[row["points_to"]][i].append(row["rule"])
                gaps = missing_traits or [trait_label(tr) for tr in node.traits
                                          if pd.isna(prospects[tr].iloc[i])]
                ask[i].update(gaps)
            elif bool(value):
                met[row["points_to"]][i].append(row["rule"])
            else:
                failed[i].append(row["rule"])

    verdicts, routes = [], []
    for i in range(len(out)):
        if met["C"][i] and met["A"][i]:
            # mixed answers: a person weighs them, the kit does not pretend to know which wins
            verdict, route = "needs review", ROUTES["needs review"]
            ask[i].add(t("criteria.prospects.mixed"))
        elif met["C"][i]:
            verdict, route = "not target", ROUTES["decline"]
        elif unknown["C"][i]:
            verdict, route = "needs review", ROUTES["needs review"]
        elif met["A"][i]:
            verdict, route = "target", ROUTES["target"]
        elif unknown["A"][i]:
            verdict, route = "needs review", ROUTES["needs review"]
        else:
            verdict, route = "not target", ROUTES["not target"]
        verdicts.append(verdict)
        routes.append(route)
    out["verdict"] = verdicts
    out["route"] = routes
    out["signs_met"] = ["; ".join(x) for x in met["A"]]
    out["red_flags_met"] = ["; ".join(x) for x in met["C"]]
    out["failed"] = ["; ".join(x) for x in failed]
    out["to_ask"] = [", ".join(sorted(x)) for x in ask]
    out["criteria_from"] = criteria_result.chosen_from
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
