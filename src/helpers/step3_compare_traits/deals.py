"""Step 3 of the method (seed procedure, step 2): why deals went fast, stalled or were refused.

Deal outcomes and their free-text reasons, grouped by keywords and tallied per outcome and tier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.step1_list_clients.company import CLOSED_OUTCOMES, DEAL_OUTCOMES, Company
from helpers.core.i18n import t
from helpers.step3_compare_traits.traits import Source, compared_tiers

# Built-in reason groups: id -> keywords in English and Russian. A keyword matches at the start of
# a word, so stems catch every ending ("дорог" finds "дорого", "дорогой") while "цен" does not
# find "оценка". Labels are localised in locales/<lang>/deals.yml (deals.groups.<id>).
DEFAULT_REASON_GROUPS: dict[str, list[str]] = {
    "price": ["price", "pricing", "expensive", "discount", "cheaper", "cost", "цен", "дорог", "скидк",
              "стоимост", "дешевл"],
    "budget": ["budget", "no money", "funds", "afford", "бюджет", "нет денег", "денег нет", "финансир"],
    "timing": ["timing", "not now", "later", "next year", "postpone", "season", "holiday", "не сейчас",
               "позже", "отлож", "следующем году", "сезон", "отпуск"],
    "decision_maker": ["decision maker", "owner", "director", "ceo", "committee", "board", "лпр",
                       "собственник", "владел", "директор", "руководств", "комитет"],
    "procurement_legal": ["tender", "procurement", "legal", "lawyer", "contract", "тендер", "закуп", "юрист",
                          "договор"],
    "missing_feature": ["feature", "integration", "missing", "lacks", "does not support", "doesn't support",
                        "функци", "интеграци", "не хватает", "нет возможност", "доработ"],
    "competitor": ["competitor", "another vendor", "in-house", "in house", "конкурент", "другого поставщик",
                   "своими силами"],
    "no_need": ["no need", "not relevant", "not a priority", "нет потребност", "не актуальн", "не нужн"],
    "clear_need": ["clear need", "urgent", "asap", "exactly what", "pain", "понятная потребност", "срочн",
                   "горит", "именно то"],
    "trust": ["referral", "recommend", "reference", "рекомендац", "посоветова", "по совету", "отзыв"],
    "pilot": ["pilot", "trial", "пилот", "пробн", "тестов"],
    "no_contact": ["no answer", "no response", "stopped answering", "не отвечает", "пропал",
                   "не выходит на связь"],
}
WON = ("won_fast", "won")
NO_TIER = "unplaced"


@dataclass
class DealSummary:
    """Deal outcomes and reasons, per outcome and per tier.

    deals               the deals with `tier` (compared tier of the client, or "unplaced") and
                        `reason_groups` (the group labels the reason fell into, "; "-joined)
    outcomes_by_tier    tier x outcome: number of deals, with a `total` column
    reasons_by_outcome  reason group x outcome: deals whose reason falls in the group (a reason
                        may fall in several groups), largest first, with a `total` column
    reasons_by_tier     reason group x tier: the same tally per tier
    reasons_long        outcome, tier, group, deals: every tally in one long table
    cycle_by_tier       per tier: n, median, q1, q3 of the cycle (days) of won deals
    cycle_by_outcome    per outcome: n, median, q1, q3 of the cycle (days)
    examples            per outcome: the most frequent reasons, word for word, with counts
    groups              group label -> keywords used
    source              whose tiers the deals were mapped to: "team" or "suggested"
    """

    deals: pd.DataFrame
    outcomes_by_tier: pd.DataFrame
    reasons_by_outcome: pd.DataFrame
    reasons_by_tier: pd.DataFrame
    reasons_long: pd.DataFrame
    cycle_by_tier: pd.DataFrame
    cycle_by_outcome: pd.DataFrame
    examples: pd.DataFrame
    groups: dict[str, list[str]] = field(default_factory=dict)
    source: Source = "suggested"


def reason_groups(settings_groups: dict[str, list[str]] | None = None, *, defaults: bool = True
                  ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The company's own groups and the built-in ones (labels localised), as two dicts label -> keywords.

    A company group with the name of a built-in group (its id or its label) replaces it.

    >>> own, built_in = reason_groups({"budget": ["money"]})
    >>> own, "budget" in built_in, "price" in built_in
    ({'budget': ['money']}, False, True)
    """
    own = {str(name): [str(k) for k in words] for name, words in (settings_groups or {}).items()}
    built_in: dict[str, list[str]] = {}
    if defaults:
        taken = {_normalise(name) for name in own}
        for gid, words in DEFAULT_REASON_GROUPS.items():
            label = t(f"deals.groups.{gid}")
            if _normalise(gid) not in taken and _normalise(label) not in taken:
                built_in[label] = list(words)
    return own, built_in


def _normalise(text: str) -> str:
    return str(text).lower().replace("ё", "е").strip()


def _pattern(words: list[str]) -> re.Pattern | None:
    words = [_normalise(w) for w in words if str(w).strip()]
    if not words:
        return None
    return re.compile("|".join(rf"(?<!\w){re.escape(w)}" for w in sorted(words, key=len, reverse=True)))


def group_reasons(reasons: pd.Series, groups: dict[str, list[str]],
                  fallback: dict[str, list[str]] | None = None) -> pd.Series:
    """The reason groups each reason falls into, as a list per reason (input unchanged).

    `groups` are tried first; `fallback` groups only for reasons no group matched. A reason
    matching nothing is "other"; an empty one "no reason given".

    >>> group_reasons(pd.Series(["Too expensive", "", "chose a competitor; price"]),
    ...               {"price": ["expens", "price"], "competition": ["competitor"]}).tolist()
    [['price'], ['no reason given'], ['price', 'competition']]
    """
    compiled = [(label, _pattern(words)) for label, words in groups.items()]
    compiled_fallback = [(label, _pattern(words)) for label, words in (fallback or {}).items()]
    other, blank = t("deals.group_other"), t("deals.group_none")

    def one(reason) -> list[str]:
        if reason is None or (isinstance(reason, float) and np.isnan(reason)) or pd.isna(reason):
            return [blank]
        text = _normalise(reason)
        if not text:
            return [blank]
        found = [label for label, pat in compiled if pat is not None and pat.search(text)]
        if not found:
            found = [label for label, pat in compiled_fallback if pat is not None and pat.search(text)]
        return found or [other]

    return pd.Series([one(r) for r in reasons], index=reasons.index, dtype=object)


def _quartiles(values: pd.Series) -> dict:
    known = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if not len(known):
        return {"n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan}
    q1, median, q3 = known.quantile([0.25, 0.5, 0.75]).tolist()
    return {"n": len(known), "median": median, "q1": q1, "q3": q3}


def _cycle_days(deals: pd.DataFrame) -> pd.Series:
    cycle = (pd.to_numeric(deals["cycle_days"], errors="coerce") if "cycle_days" in deals
             else pd.Series(np.nan, index=deals.index))
    if {"created", "closed"} <= set(deals.columns):
        span = (pd.to_datetime(deals["closed"], errors="coerce") - pd.to_datetime(deals["created"], errors="coerce")
                ).dt.days
        cycle = cycle.fillna(span)
    return cycle.where(cycle >= 0)  # a deal closed before it was created is a typo, not a cycle


def summarise_deals(company: Company, tiers_table: pd.DataFrame) -> DealSummary | None:
    """Tally deal outcomes and their reasons per outcome and per tier; None when there is no deals.csv.

    Reasons are grouped by keywords: the company's own groups (`deals.reason_groups` in
    company.yml) first, then the built-in English and Russian groups (price, budget, timing,
    decision maker, ...) for reasons none of them matched. The deal cycle is summarised per tier
    over won deals (how fast each tier buys) and per outcome. Nothing given is changed.

    Args:
        company: the loaded company; `company.deals` holds outcome, reason, [client_id, created,
            closed, cycle_days, amount].
        tiers_table: `tiers.csv` as a frame, to place each deal's client in a tier.

    Returns:
        A DealSummary, or None without deals.
    """
    if company.deals is None or len(company.deals) == 0:
        return None
    settings = company.settings
    tiers, source = compared_tiers(tiers_table, settings)
    deals = company.deals.copy()
    if "reason" not in deals:
        deals["reason"] = None
    if "client_id" in deals:
        mapped = deals["client_id"].astype("string").map(tiers.to_dict())
        deals["tier"] = mapped.astype(object).where(mapped.notna(), NO_TIER)
    else:
        deals["tier"] = NO_TIER
    deals["cycle_days"] = _cycle_days(deals)
    own, built_in = reason_groups(settings.deals.reason_groups, defaults=settings.deals.default_groups)
    grouped = group_reasons(deals["reason"], own, built_in)
    deals["reason_groups"] = grouped.map("; ".join)

    outcomes = [o for o in DEAL_OUTCOMES if (deals["outcome"] == o).any()]
    # open deals are counted per tier, but have no outcome reason or cycle yet
    closed_outcomes = [o for o in outcomes if o in CLOSED_OUTCOMES]
    tier_order = [x for x in ("A", "B", "C", NO_TIER) if (deals["tier"] == x).any()]
    long = (deals[deals["outcome"].isin(CLOSED_OUTCOMES)].assign(group=grouped).explode("group")
            .groupby(["outcome", "tier", "group"], observed=True).size().rename("deals").reset_index())

    outcomes_by_tier = pd.crosstab(deals["tier"], deals["outcome"]).reindex(index=tier_order, columns=outcomes,
                                                                            fill_value=0)
    outcomes_by_tier["total"] = outcomes_by_tier.sum(axis=1)

    def tally(column: str, order: list[str]) -> pd.DataFrame:
        table = long.pivot_table(index="group", columns=column, values="deals", aggfunc="sum", fill_value=0)
        table = table.reindex(columns=order, fill_value=0)
        table["total"] = table.sum(axis=1)
        table = table.sort_values("total", ascending=False, kind="stable")
        table.index.name = "reason_group"
        table.columns.name = None
        return table.astype(int)

    won = deals[deals["outcome"].isin(WON)]
    cycle_by_tier = pd.DataFrame([{"tier": x, **_quartiles(won.loc[won["tier"] == x, "cycle_days"])}
                                  for x in tier_order], columns=["tier", "n", "median", "q1", "q3"]).set_index("tier")
    cycle_by_outcome = pd.DataFrame([{"outcome": o, **_quartiles(deals.loc[deals["outcome"] == o, "cycle_days"])}
                                     for o in closed_outcomes],
                                    columns=["outcome", "n", "median", "q1", "q3"]).set_index("outcome")
    texts = deals.assign(text=deals["reason"].astype("string").str.strip()).dropna(subset=["text"])
    texts = texts[texts["text"] != ""]
    examples = (texts.groupby(["outcome", "text"]).size().rename("deals").reset_index()
                .sort_values(["outcome", "deals"], ascending=[True, False], kind="stable")
                .groupby("outcome").head(3).rename(columns={"text": "reason"}))
    examples["outcome"] = pd.Categorical(examples["outcome"], categories=list(DEAL_OUTCOMES))
    examples = examples.sort_values(["outcome", "deals"], ascending=[True, False], kind="stable").reset_index(
        drop=True)
    examples["outcome"] = examples["outcome"].astype(str)

    return DealSummary(deals=deals, outcomes_by_tier=outcomes_by_tier,
                       reasons_by_outcome=tally("outcome", closed_outcomes), reasons_by_tier=tally("tier", tier_order),
                       reasons_long=long, cycle_by_tier=cycle_by_tier, cycle_by_outcome=cycle_by_outcome,
                       examples=examples, groups={**own, **built_in}, source=source)
