"""Sample companies for every step of the method (list, tiers, traits, criteria, report): seeded, with planted patterns.

Every company is invented. Each generator returns plain tables; `write_company` lays them out
as a company folder. `scripts/make_samples.py` regenerates `data/sample/` from here.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

WINDOW_START = pd.Timestamp("2024-10-01")
WINDOW_END = pd.Timestamp("2026-09-30")
MONTHS = pd.period_range(WINDOW_START, WINDOW_END, freq="M")


@dataclass
class SampleCompany:
    """Tables of one company folder, ready to be written."""

    folder_name: str
    settings: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # how each table is written: "csv" (UTF-8), "parquet", or a callable writing bytes
    formats: dict[str, str] = field(default_factory=dict)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_FIRST = ["Arbor", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper", "Kestrel",
          "Lumen", "Maple", "Nimbus", "Orion", "Pine", "Quartz", "Raven", "Sable", "Tundra", "Umber", "Vega",
          "Willow", "Yarrow", "Zenith", "Aspen", "Beacon", "Cedar", "Drift", "Echo"]
_SECOND = ["Logistics", "Retail", "Systems", "Clinics", "Finance", "Foods", "Works", "Group", "Partners", "Labs",
           "Trading", "Health", "Freight", "Markets", "Solutions"]
_SUFFIX = ["LLC", "Ltd", "Inc", "Co", "GmbH", "LLP"]


def _company_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        stem = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"
        if stem not in seen or len(seen) >= len(_FIRST) * len(_SECOND):
            seen.add(stem)
            names.append(f"{stem} {rng.choice(_SUFFIX)}")
    return names


def _tier_from_quality(q: np.ndarray) -> np.ndarray:
    """True tiers by quality rank: top 20% A (split 1-3), next 45% B (split 1-3), the rest C."""
    order = np.argsort(-q)
    n = len(q)
    tiers = np.empty(n, dtype=object)
    n_a, n_b = int(round(n * 0.20)), int(round(n * 0.45))
    for rank, idx in enumerate(order):
        if rank < n_a:
            tiers[idx] = f"A{1 + min(2, rank * 3 // n_a)}"
        elif rank < n_a + n_b:
            tiers[idx] = f"B{1 + min(2, (rank - n_a) * 3 // n_b)}"
        else:
            tiers[idx] = "C"
    return tiers


def _transactions(rng, client_ids, activity, size, margin_rate, *, max_per_month=3, start_month=None):
    """Monthly purchases: a client buys in a month with probability `activity`, amounts ~ lognormal(size)."""
    rows = []
    for i, cid in enumerate(client_ids):
        first = 0 if start_month is None else start_month[i]
        for m in range(first, len(MONTHS)):
            if rng.random() >= activity[i]:
                continue
            for _ in range(1 + rng.poisson(0.4 * (max_per_month - 1))):
                day = int(rng.integers(1, MONTHS[m].days_in_month + 1))
                amount = float(np.round(rng.lognormal(size[i], 0.45), 2))
                margin = float(np.round(amount * (margin_rate[i] + rng.normal(0, 0.04)), 2))
                rows.append((cid, MONTHS[m].start_time + pd.Timedelta(days=day - 1), amount, margin))
    out = pd.DataFrame(rows, columns=["client_id", "date", "amount", "margin"])
    return out.sort_values(["date", "client_id"], kind="stable").reset_index(drop=True)


def _scale_to_share(tx: pd.DataFrame, client_id: str, share: float) -> pd.DataFrame:
    """Scale one client's amounts and margins so that it holds `share` of total revenue (a copy).

    >>> tx = pd.DataFrame({"client_id": ["a", "b", "b"], "amount": [10.0, 30.0, 60.0], "margin": [1.0, 3.0, 6.0]})
    >>> _scale_to_share(tx, "a", 0.5)["amount"].tolist()
    [90.0, 30.0, 60.0]
    """
    own = tx["client_id"] == client_id
    others = tx.loc[~own, "amount"].sum()
    factor = share * others / (1 - share) / tx.loc[own, "amount"].sum()
    out = tx.copy()
    out.loc[own, ["amount", "margin"]] = (out.loc[own, ["amount", "margin"]] * factor).round(2)
    return out


# --------------------------------------------------------------------------- b2b_services
QUIET_CLIENT_SHARE = 0.17  # the quiet B3 client's share of revenue: the team underrates a sixth of the business
B2B_INDUSTRIES = ["retail", "logistics", "it", "healthcare", "finance", "education"]
REASONS = {
    "won_fast": ["has its own call centre, started the next day", "owner decided on the first call",
                 "clear need, budget approved in advance", "referral from a happy client, no tender"],
    "won": ["needed a pilot first", "asked for a discount, agreed on a smaller scope",
            "legal review took three weeks", "committee approved it after two rounds"],
    "stalled": ["committee could not agree", "waiting for next year's budget", "decision maker on holiday",
                "procurement asked for a tender", "no one owns the project on their side"],
    "refused": ["too expensive", "chose a competitor", "missing integration with their CRM",
                "no budget this year", "decided to do it in-house"],
}
# The same reasons as a Russian sales team would type them (the ru_crm_export twin).
REASONS_RU = {
    "has its own call centre, started the next day": "свой колл-центр, начали на следующий день",
    "owner decided on the first call": "собственник решил на первой встрече",
    "clear need, budget approved in advance": "понятная потребность, бюджет утверждён заранее",
    "referral from a happy client, no tender": "пришли по рекомендации довольного клиента, без тендера",
    "needed a pilot first": "сначала попросили пилот",
    "asked for a discount, agreed on a smaller scope": "просили скидку, сошлись на меньшем объёме",
    "legal review took three weeks": "юристы согласовывали договор три недели",
    "committee approved it after two rounds": "комитет одобрил со второго раза",
    "committee could not agree": "комитет не смог договориться",
    "waiting for next year's budget": "ждут бюджет следующего года",
    "decision maker on holiday": "ЛПР в отпуске",
    "procurement asked for a tender": "закупки потребовали тендер",
    "no one owns the project on their side": "у клиента нет ответственного за проект",
    "too expensive": "слишком дорого",
    "chose a competitor": "выбрали конкурента",
    "missing integration with their CRM": "нет интеграции с их CRM",
    "no budget this year": "в этом году нет бюджета",
    "decided to do it in-house": "решили делать своими силами",
}
REASON_GROUPS = {
    "call centre": ["call centre"], "decision process": ["committee", "decision maker", "tender", "owns the project"],
    "budget": ["budget", "expensive", "discount"], "competition": ["competitor", "in-house"],
    "product fit": ["integration", "pilot", "scope"], "trust": ["referral", "first call"],
}
REASON_GROUPS_RU = {
    "колл-центр": ["колл-центр"], "порядок решений": ["комитет", "лпр", "тендер", "ответственного"],
    "бюджет": ["бюджет", "дорого", "скидк"], "конкуренты": ["конкурент", "своими силами"],
    "соответствие продукта": ["интеграци", "пилот", "объём"], "доверие": ["рекомендаци", "первой встрече"],
}


def make_b2b_services(seed: int = 7) -> SampleCompany:
    """~150 clients of a B2B services firm: traits, team placement, transactions, deals, prospects.

    Planted: own call centre → A; headcount ≥ ~50 → A; retail → C; committee decisions slow deals;
    a late-paying one-off "favourite" placed A1; a quiet B3 with 17% of revenue; C clients with
    healthy revenue but heavy support.
    """
    rng = np.random.default_rng(seed)
    n = 150
    ids = [f"C{i:03d}" for i in range(1, n + 1)]
    q = rng.normal(0, 1, n)
    true_tier = _tier_from_quality(q)
    is_a = np.array([t.startswith("A") for t in true_tier])
    is_c = true_tier == "C"
    call_centre = rng.random(n) < np.where(is_a, 0.85, np.where(is_c, 0.10, 0.30))
    headcount = np.round(np.exp(3.2 + 0.9 * q + rng.normal(0, 0.45, n))).astype(int) + 3
    industry_weights = np.where(is_c[:, None], [0.45, 0.15, 0.1, 0.1, 0.1, 0.1],
                                np.where(is_a[:, None], [0.04, 0.24, 0.24, 0.16, 0.16, 0.16],
                                         [0.12, 0.2, 0.2, 0.16, 0.16, 0.16]))
    industry = [B2B_INDUSTRIES[rng.choice(6, p=w / w.sum())] for w in industry_weights]
    decision_maker = rng.choice(["owner", "committee", "procurement"], n, p=[0.45, 0.35, 0.20])
    region = rng.choice(["North", "South", "Central", "East", "West"], n)
    came_from = rng.choice(["referral", "ads", "cold call", "event"], n, p=[0.3, 0.3, 0.25, 0.15])
    outsourced = rng.random(n) < 0.4
    office_m2 = np.round(headcount * rng.uniform(4, 9, n), -1).astype(int)
    uses_messenger = rng.random(n) < 0.5  # noise
    founded = rng.integers(1995, 2022, n)  # noise
    city_size = rng.choice(["million+", "large", "medium", "small"], n)  # noise

    activity = np.clip(_sigmoid(1.2 * q + 0.2), 0.08, 0.92)
    # bigger and better clients order more per purchase: a Pareto-like spread of revenue
    size = 9.2 + 0.35 * np.log(headcount) + 0.8 * q + rng.normal(0, 0.3, n)
    margin_rate = np.clip(0.30 + 0.08 * q, 0.02, 0.55)
    payment_delay = np.clip(np.round(rng.gamma(2.0, 6 + 8 * _sigmoid(-q))), 0, None)
    support_hours = np.round(rng.gamma(2.0, 3 + 6 * _sigmoid(-1.5 * q)), 1)
    cycle = np.round(rng.gamma(3.0, 6 + 4 * (decision_maker == "committee") + 3 * _sigmoid(-q)))
    since = WINDOW_START - pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")

    # planted disagreements
    fav = int(np.where(is_c)[0][0])  # a C-quality client the team loves for one big first order
    quiet = int(np.where(true_tier == "B3")[0][0])
    heavy = [int(i) for i in np.where(true_tier == "B1")[0][:2]]
    activity[fav] = 0.0
    payment_delay[fav] = 68
    activity[quiet] = 0.95
    support_hours[quiet] = 6.5
    support_hours[heavy] = [180.0, 220.0]

    tx = _transactions(rng, ids, activity, size, margin_rate)
    tx = _scale_to_share(tx, ids[quiet], QUIET_CLIENT_SHARE)
    tx = pd.concat([tx, pd.DataFrame([(ids[fav], pd.Timestamp("2025-03-14"), 386400.0, 61250.0)],
                                     columns=tx.columns)]).sort_values(["date", "client_id"], kind="stable")
    tx = tx.reset_index(drop=True)

    team = true_tier.copy()
    shift = rng.random(n) < 0.18
    ladder = ["A1", "A2", "A3", "B1", "B2", "B3", "C"]
    for i in np.where(shift)[0]:
        pos = ladder.index(team[i]) + int(rng.choice([-1, 1]))
        team[i] = ladder[min(6, max(0, pos))]
    team[fav], team[quiet] = "A1", "B3"
    team[heavy[0]], team[heavy[1]] = "C", "C"
    small = np.argsort(headcount)[:3]
    for i in small:
        if i not in (fav, quiet, *heavy):
            team[i] = "D"
    big_rare = np.argsort(-headcount)
    x_count = 0
    for i in big_rare:
        if x_count == 2:
            break
        if i not in (fav, quiet, *heavy) and team[i] not in ("D",) and activity[i] < 0.5:
            team[i] = "X"
            x_count += 1

    clients = pd.DataFrame({
        "client_id": ids,
        "name": _company_names(rng, n),
        "industry": industry,
        "headcount": headcount,
        "region": region,
        "has_call_centre": np.where(call_centre, "yes", "no"),
        "decision_maker": decision_maker,
        "came_from": came_from,
        "outsourced_accounting": np.where(outsourced, "yes", "no"),
        "office_m2": office_m2,
        "uses_messenger": np.where(uses_messenger, "yes", "no"),
        "founded": founded,
        "city_size": city_size,
        "client_since": since.strftime("%Y-%m-%d"),
        "payment_delay_days": payment_delay.astype(int),
        "support_hours": support_hours,
        "deal_cycle_days": cycle.astype(int),
    })
    placement = pd.DataFrame({"client_id": ids, "tier": team})

    deals = _b2b_deals(rng, clients, true_tier)
    prospects = _b2b_prospects(rng, 30)
    settings = {
        "name": "Northwind Services",
        "currency": "RUB",
        "language": "en",
        "first_contact_traits": ["industry", "headcount", "region", "has_call_centre", "decision_maker",
                                 "came_from", "outsourced_accounting", "office_m2", "uses_messenger", "founded",
                                 "city_size"],
        "deals": {"reason_groups": REASON_GROUPS},
    }
    return SampleCompany("b2b_services", settings, {
        "clients": clients, "placement": placement, "transactions": tx, "deals": deals, "prospects": prospects,
        **_key_client_inputs(clients, tx, seed=seed + 1000),
    }, {})


# --------------------------------------------------------------------------- key-client inputs
RELATIONSHIP_ASPECTS = ("value", "quality", "promises", "speed", "knowledge", "advice", "price", "problems",
                        "listening", "manager")
DOSSIER_TEXT = {  # invented one-liners: the kit only checks that a part is filled
    "decision_makers": "owner and CFO decide; ops lead recommends",
    "business": "regional network, seasonal peaks in Q4",
    "needs": "faster onboarding of new branches",
    "competitors": "two local agencies offering lower rates",
    "history": "client since the pilot; one escalation resolved",
}


def _key_client_inputs(clients: pd.DataFrame, tx: pd.DataFrame, *, seed: int, n_key: int = 16
                       ) -> dict[str, pd.DataFrame]:
    """contacts, relationship scores and dossier rows for the largest clients, from their own generator.

    A separate generator keeps the other sample files byte for byte the same. Planted: one manager with
    too many key clients, clients whose positive contacts lapse, contacts right after a negative one,
    dossiers with missing parts and overdue reviews, weak scores on price and advice.
    """
    rng = np.random.default_rng(seed)
    revenue = tx.groupby("client_id")["amount"].sum().sort_values(ascending=False, kind="stable")
    key = list(revenue.index[:n_key])
    managers = ["Anna Petrova", "Boris Lee", "Clara Novak", "Dmitri Orlov"]
    # Anna is the star: she holds six key clients, the others two to four
    owner = {cid: managers[0] if i < 6 else managers[1 + (i % 3)] for i, cid in enumerate(key)}
    channels = ["call", "meeting", "email", "messenger"]
    end = WINDOW_END.normalize()
    contacts = []
    for i, cid in enumerate(key):
        step = 6 if i % 4 else 17  # every fourth key client is contacted too rarely
        day = end - pd.Timedelta(days=150) + pd.Timedelta(days=int(rng.integers(0, 5)))
        lapse = i % 5 == 2  # these go silent for the last weeks
        while day <= end - pd.Timedelta(days=25 if lapse else 0):
            outcome = rng.choice(["positive", "neutral", "negative"], p=[0.6, 0.28, 0.12])
            contacts.append({"client_id": cid, "date": day.strftime("%Y-%m-%d"), "outcome": outcome,
                             "channel": channels[int(rng.integers(0, 4))], "manager": owner[cid]})
            # after a negative contact a manager sometimes calls back at once (a pause breach)
            gap = int(rng.integers(2, 5)) if outcome == "negative" and rng.random() < 0.5 else \
                int(max(1, rng.normal(step, 2)))
            day += pd.Timedelta(days=gap)
    contacts = pd.DataFrame(contacts).sort_values(["date", "client_id"], kind="stable").reset_index(drop=True)

    scored = key[:12]
    weak = {"price": -1.0, "advice": -0.8, "speed": -0.3}
    relationship = []
    for cid in scored:
        base = rng.normal(3.2, 0.4)
        for rater in (owner[cid], "Head of sales"):
            for aspect in RELATIONSHIP_ASPECTS:
                score = int(np.clip(np.round(base + weak.get(aspect, 0.0) + rng.normal(0, 0.5)), 1, 4))
                relationship.append({"client_id": cid, "aspect": aspect, "score": score, "rater": rater})
    relationship = pd.DataFrame(relationship)

    dossier = []
    for i, cid in enumerate(key[:13]):
        row = {"client_id": cid, "name": clients.set_index("client_id").at[cid, "name"], "manager": owner[cid]}
        for part, text in DOSSIER_TEXT.items():
            row[part] = "" if rng.random() < 0.2 else text
        months_ago = int(rng.integers(0, 8))  # reviews older than three months are overdue
        row["last_review"] = (end - pd.DateOffset(months=months_ago) - pd.Timedelta(days=int(rng.integers(0, 20)))
                              ).strftime("%Y-%m-%d")
        dossier.append(row)
    return {"contacts": contacts, "relationship": relationship, "dossier": pd.DataFrame(dossier)}


def _deal_outcome(rng, *, call_centre: bool, committee: bool, red_flag: bool) -> str:
    """Outcome of one deal, driven by the planted signs: a call centre speeds it, a committee stalls it."""
    p_stalled = 0.04 + 0.32 * committee
    p_refused = 0.04 + 0.14 * red_flag
    p_fast = (0.8 if call_centre else 0.15) * (0.35 if committee else 1.0)
    u = rng.random()
    if u < p_stalled:
        return "stalled"
    if u < p_stalled + p_refused:
        return "refused"
    return "won_fast" if rng.random() < p_fast else "won"


def _deal_reason(rng, outcome: str, *, call_centre: bool, committee: bool) -> str:
    pool = REASONS[outcome]
    if outcome == "won_fast" and call_centre and rng.random() < 0.8:
        return pool[0]
    if outcome == "stalled" and committee and rng.random() < 0.75:
        return pool[0]
    if outcome == "won" and committee and rng.random() < 0.5:
        return pool[3]
    if outcome == "won_fast":  # the call-centre reason belongs to call-centre clients only
        pool = pool[1:]
    if outcome == "stalled":
        pool = pool[1:]
    return pool[int(rng.integers(len(pool)))]


def _b2b_deals(rng, clients: pd.DataFrame, true_tier: np.ndarray, *, n_leads: int = 30) -> pd.DataFrame:
    """Deals of the two years: new and repeat deals with clients, plus leads that never bought (no client_id)."""
    rows = []
    for i, row in clients.iterrows():
        if rng.random() > 0.65:
            continue
        rows.append((row["client_id"], row["name"], row["has_call_centre"] == "yes",
                     row["decision_maker"] == "committee", true_tier[i] == "C", int(row["deal_cycle_days"])))
    for name in _company_names(rng, n_leads):  # their traits stay unknown: the deal never became a client
        committee = rng.random() < 0.5
        call_centre, red_flag = rng.random() < 0.15, rng.random() < 0.6
        rows.append(("", name, call_centre, committee, red_flag, int(rng.gamma(3, 12 + 8 * committee))))
    deals = []
    for number, (cid, name, call, committee, red_flag, cycle) in enumerate(rows, start=1):
        outcome = _deal_outcome(rng, call_centre=call, committee=committee, red_flag=red_flag)
        if not cid and outcome.startswith("won"):  # a lead that had won would be a client
            outcome = "stalled" if committee else "refused"
        reason = _deal_reason(rng, outcome, call_centre=call, committee=committee)
        days = {"won_fast": max(1, cycle // 4), "won": cycle, "refused": int(cycle * rng.uniform(0.5, 1.2))}
        created = WINDOW_START + pd.Timedelta(days=int(rng.integers(0, 600)))
        closed = "" if outcome == "stalled" else (created + pd.Timedelta(days=days[outcome])).strftime("%Y-%m-%d")
        deals.append({"deal_id": f"D{number:04d}", "client_id": cid, "name": name, "outcome": outcome,
                      "reason": reason, "created": created.strftime("%Y-%m-%d"), "closed": closed,
                      "amount": float(np.round(rng.lognormal(11.5, 0.6), -2))})
    return pd.DataFrame(deals)


def _b2b_prospects(rng, n: int) -> pd.DataFrame:
    """New leads with the first-contact traits of the clients; a seller does not always learn every one."""
    headcount = np.round(np.exp(rng.normal(3.4, 1.0, n))).astype(int) + 3
    out = pd.DataFrame({
        "prospect_id": [f"P{i:03d}" for i in range(1, n + 1)],
        "name": _company_names(rng, n),
        "industry": rng.choice(B2B_INDUSTRIES, n),
        "headcount": headcount.astype(object),
        "region": rng.choice(["North", "South", "Central", "East", "West"], n),
        "has_call_centre": rng.choice(["yes", "no"], n, p=[0.4, 0.6]).astype(object),
        "decision_maker": rng.choice(["owner", "committee", "procurement"], n).astype(object),
        "came_from": rng.choice(["referral", "ads", "cold call", "event"], n),
        "outsourced_accounting": rng.choice(["yes", "no"], n, p=[0.4, 0.6]).astype(object),
        "office_m2": (np.round(headcount * rng.uniform(4, 9, n), -1).astype(int)).astype(object),
        "uses_messenger": rng.choice(["yes", "no"], n),
        "founded": rng.integers(1995, 2025, n),
        "city_size": rng.choice(["million+", "large", "medium", "small"], n),
    })
    for column in ("has_call_centre", "headcount", "decision_maker", "office_m2", "outsourced_accounting"):
        out.loc[rng.random(n) < 0.15, column] = ""
    return out


# --------------------------------------------------------------------------- wholesale
WHOLESALE_DOMINANT_SHARE = 0.25  # one client holds a quarter of revenue: a key client, close to mono-client risk


def _wholesale_orders(rng, monthly: np.ndarray, orders_per_month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split monthly totals into orders spread over each month: (month index, day of month, amount)."""
    months, days, amounts = [], [], []
    for m in np.flatnonzero(monthly > 0):
        k = orders_per_month if orders_per_month > 0 else 1 + int(rng.poisson(1.8))
        weights = rng.dirichlet(np.full(k, 6.0))
        length = MONTHS[m].days_in_month
        months.append(np.full(k, m))
        days.append(((np.arange(k) + rng.random(k)) / k * length).astype(int) + 1)
        amounts.append(monthly[m] * weights)
    if not months:
        return np.empty(0, int), np.empty(0, int), np.empty(0)
    return np.concatenate(months), np.concatenate(days), np.concatenate(amounts)


def make_wholesale(seed: int = 11) -> SampleCompany:
    """~2,000 wholesale clients, ~100k transactions (Parquet), a few traits, no team placement.

    Planted: Pareto-like revenue with one client holding a quarter of it; regular (X), seasonal (Y)
    and erratic (Z) buyers; sleeping clients who stopped buying; a few refunds; loss-making clients.
    """
    rng = np.random.default_rng(seed)
    n, n_months = 2000, len(MONTHS)
    ids = [f"W{i:05d}" for i in range(1, n + 1)]
    q = rng.normal(0, 1, n)
    base = np.exp(8.8 + 1.5 * q)  # typical monthly purchases, RUB
    # bigger clients buy more regularly: regular (weekly, stable) → X, seasonal → Y, erratic → Z
    p_regular = np.clip(0.06 + 0.10 * q, 0.02, 0.5)
    p_seasonal = np.full(n, 0.27)
    u = rng.random(n)
    pattern = np.where(u < p_regular, "regular", np.where(u < p_regular + p_seasonal, "seasonal", "erratic"))
    dominant = int(np.argmax(q))
    pattern[dominant] = "regular"
    sleeping = rng.choice(np.flatnonzero((np.abs(q) < 1.0) & (np.arange(n) != dominant)), 80, replace=False)
    stop_month = np.full(n, n_months)
    stop_month[sleeping] = rng.integers(8, 17, len(sleeping))
    margin_rate = np.clip(rng.normal(0.17, 0.06, n), -0.06, 0.4)
    season = 2 * np.pi * np.arange(n_months) / 12

    parts = []
    for i in range(n):
        if pattern[i] == "regular":
            monthly, per_month = base[i] * (1 + rng.normal(0, 0.04, n_months)), 4
        elif pattern[i] == "seasonal":
            swing = rng.uniform(0.2, 0.3)
            wave = 1 + swing * np.sin(season + rng.uniform(0, 2 * np.pi))
            monthly = base[i] * wave * (1 + rng.normal(0, 0.05, n_months))
            per_month = 3
        else:
            activity = rng.uniform(0.15, 0.8)
            monthly = base[i] / activity * rng.lognormal(0, 0.5, n_months) * (rng.random(n_months) < activity)
            per_month = 0  # a random number of orders
        monthly[stop_month[i]:] = 0
        month, day, amount = _wholesale_orders(rng, monthly, per_month)
        amount = np.round(amount, 2)
        margin = np.round(amount * (margin_rate[i] + rng.normal(0, 0.02, len(amount))), 2)
        dates = np.array([MONTHS[m].start_time.to_datetime64() for m in month], dtype="datetime64[ms]")
        dates = dates + (day - 1).astype("timedelta64[D]")
        parts.append(pd.DataFrame({"client_id": ids[i], "date": dates, "amount": amount, "margin": margin}))
    tx = pd.concat(parts, ignore_index=True)
    tx = _scale_to_share(tx, ids[dominant], WHOLESALE_DOMINANT_SHARE)
    returned = tx.sample(60, random_state=seed)  # refunds: half an order returned a few days later
    refunds = returned.assign(date=returned["date"] + pd.Timedelta(days=5),
                              amount=-np.round(returned["amount"] * 0.5, 2),
                              margin=-np.round(returned["margin"].abs() * 0.5, 2))
    refunds = refunds[refunds["date"] <= WINDOW_END]
    tx = pd.concat([tx, refunds]).sort_values(["date", "client_id"], kind="stable").reset_index(drop=True)
    tx["date"] = tx["date"].astype("datetime64[ms]")
    clients = pd.DataFrame({
        "client_id": ids,
        "name": [f"{rng.choice(_FIRST)} {rng.choice(['Store', 'Market', 'Shop', 'Depot', 'Outlet'])} #{i}"
                 for i in range(1, n + 1)],
        "segment": np.where(pattern == "regular", rng.choice(["chain", "horeca"], n, p=[0.7, 0.3]),
                            rng.choice(["chain", "independent store", "online shop", "horeca"], n,
                                       p=[0.05, 0.55, 0.25, 0.15])),
        "region": rng.choice(["North", "South", "Central", "East", "West"], n),
        "payment_terms": rng.choice(["prepaid", "14 days", "30 days", "60 days"], n),
        "has_warehouse": np.where(rng.random(n) < _sigmoid(q - 0.5), "yes", "no"),
        "payment_delay_days": np.clip(np.round(rng.gamma(1.5, 6, n)), 0, None).astype(int),
    })
    settings = {"name": "Baltic Wholesale", "currency": "RUB", "language": "en",
                "first_contact_traits": ["segment", "region", "has_warehouse"]}
    return SampleCompany("wholesale", settings, {"clients": clients, "transactions": tx,
                                                 "deals": _wholesale_deals(clients, seed=seed + 1000)},
                         {"transactions": "parquet"})


WHOLESALE_DEAL_REASONS = {
    "won": ["new product line listed", "volume discount agreed", "faster delivery than the incumbent"],
    "refused": ["price too high", "stays with the current supplier", "no budget this quarter"],
    "stalled": ["waiting for the buyer's approval", "asked for another quote", "will decide after the season"],
}


def _wholesale_deals(clients: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """Deals of the last year: some with clients, and leads who keep stalling (the "false" clients).

    Its own generator keeps the other wholesale files byte for byte the same. Planted: four leads with
    three or four stalled deals spread over months and nothing won.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for cid, name in zip(clients["client_id"].iloc[:60], clients["name"].iloc[:60]):
        outcome = str(rng.choice(["won", "refused", "stalled"], p=[0.55, 0.25, 0.20]))
        rows.append((cid, name, outcome, int(rng.integers(0, 330))))
    for i, name in enumerate(_company_names(rng, 12)):
        if i < 4:  # the false clients: several stalled deals over at least half a year, none won
            first = int(rng.integers(0, 90))
            for k in range(int(rng.integers(3, 5))):
                rows.append(("", name, "stalled", first + 70 * k))
        else:
            rows.append(("", name, str(rng.choice(["refused", "stalled"])), int(rng.integers(0, 330))))
    start = WINDOW_END - pd.Timedelta(days=364)
    deals = []
    for number, (cid, name, outcome, day) in enumerate(rows, start=1):
        created = start + pd.Timedelta(days=day)
        closed = "" if outcome == "stalled" else (created + pd.Timedelta(days=int(rng.integers(5, 40))))
        deals.append({"deal_id": f"W-D{number:03d}", "client_id": cid, "name": name, "outcome": outcome,
                      "reason": str(rng.choice(WHOLESALE_DEAL_REASONS[outcome])),
                      "created": created.strftime("%Y-%m-%d"),
                      "closed": closed if closed == "" else min(closed, WINDOW_END).strftime("%Y-%m-%d"),
                      "amount": float(np.round(rng.lognormal(12, 0.5), -3))})
    return pd.DataFrame(deals)


# --------------------------------------------------------------------------- online_school
_GIVEN = ["Anna", "Boris", "Daria", "Elena", "Fedor", "Galina", "Igor", "Irina", "Kirill", "Ksenia", "Leonid",
          "Maria", "Nikita", "Olga", "Pavel", "Polina", "Roman", "Sofia", "Timur", "Vera", "Yana", "Zakhar",
          "Alina", "Denis", "Marta", "Oleg", "Taisia", "Arseny", "Lidia", "Matvey"]
_FAMILY = ["Orlov", "Belov", "Sokolov", "Gromov", "Lebedev", "Zorin", "Kovalev", "Dymov", "Frolov", "Yasin",
           "Markin", "Tihonov", "Rudin", "Shatov", "Volkov", "Zuev", "Nagornov", "Peskov", "Levin",
           "Ilyin", "Bykov", "Chernov", "Osipov", "Saveliev", "Kruglov"]

_FEMININE = {"Anna", "Daria", "Elena", "Galina", "Irina", "Ksenia", "Maria", "Olga", "Polina", "Sofia", "Vera", "Yana",
             "Alina", "Marta", "Taisia", "Lidia"}


def _learner_names(rng, is_company: np.ndarray) -> list[str]:
    """Invented names: a person for each learner, a company for each corporate buyer."""
    companies = iter(_company_names(rng, int(is_company.sum())))
    # every learner a different name (a middle initial widens the choice), so the loader sees no look-alikes
    initials = "ABDEFGIKLMNOPRSTVZ"
    picks = rng.choice(len(_GIVEN) * len(initials) * len(_FAMILY), len(is_company), replace=False)
    names = []
    for corp, pick in zip(is_company, picks):
        g, rest = divmod(int(pick), len(initials) * len(_FAMILY))
        middle, f = divmod(rest, len(_FAMILY))
        given, family = _GIVEN[g], _FAMILY[f]
        if given in _FEMININE and family[-2:] in ("ov", "ev", "in"):  # Anna Orlova, Pavel Orlov
            family += "a"
        names.append(next(companies) if corp else f"{given} {initials[middle]}. {family}")
    return names


def make_online_school(seed: int = 23) -> SampleCompany:
    """~3,000 learners and a few corporate buyers of cheap, mid and expensive courses; partial placement.

    Planted: a price mix heavy on cheap courses (about 70% of purchases); corporate buyers (3% of
    clients) bring a large share of revenue; 15 learners of the cheapest course use many support hours.
    """
    rng = np.random.default_rng(seed)
    n = 3000
    ids = [f"S{i:05d}" for i in range(1, n + 1)]
    is_company = rng.random(n) < 0.03
    prices = {"cheap": 1990.0, "mid": 14900.0, "expensive": 59000.0}
    rows = []
    for i, cid in enumerate(ids):
        purchases = 1 + rng.poisson(2.5 if is_company[i] else 0.6)
        for _ in range(purchases):
            band = rng.choice(["cheap", "mid", "expensive"], p=[0.2, 0.4, 0.4] if is_company[i] else [0.75, 0.2, 0.05])
            seats = int(rng.integers(3, 25)) if is_company[i] and band != "cheap" else 1
            day = WINDOW_START + pd.Timedelta(days=int(rng.integers(0, 730)))
            amount = prices[band] * seats
            rows.append((cid, day.strftime("%Y-%m-%d"), amount, round(amount * 0.6, 2)))
    tx = pd.DataFrame(rows, columns=["client_id", "date", "amount", "margin"]).sort_values(["date", "client_id"])
    clients = pd.DataFrame({
        "client_id": ids,
        "name": _learner_names(rng, is_company),
        "channel": rng.choice(["webinar", "ads", "blog", "referral"], n, p=[0.3, 0.4, 0.2, 0.1]),
        "course_type": rng.choice(["marketing", "analytics", "management", "design"], n),
        "is_company": np.where(is_company, "yes", "no"),
        "support_hours": np.round(rng.gamma(1.2, 0.8, n) + 6 * is_company, 1),
    })
    # boundary problem: learners of the cheapest course who take hours of personal help they did not pay for
    spent = tx.groupby("client_id")["amount"].sum()
    cheap_only = np.flatnonzero(~is_company & (spent.reindex(ids).to_numpy() <= prices["cheap"]))
    demanding = rng.choice(cheap_only, 15, replace=False)
    clients.loc[demanding, "support_hours"] = np.round(rng.uniform(8, 20, len(demanding)), 1)
    corp = clients.loc[is_company, "client_id"].tolist()
    # the team knows its corporate buyers: tiers follow their spend, with the usual disagreements
    tiers = _tier_from_quality(np.log(spent.reindex(corp).to_numpy()) + rng.normal(0, 0.5, len(corp)))
    others = rng.choice(clients.loc[~is_company, "client_id"], 20, replace=False).tolist()
    placement = pd.DataFrame({"client_id": corp + others,
                              "tier": list(tiers) + list(rng.choice(["B3", "C", "D"], 20))})
    settings = {"name": "Bright Path Online School", "currency": "RUB", "language": "en",
                "first_contact_traits": ["channel", "course_type", "is_company"]}
    return SampleCompany("online_school", settings, {"clients": clients, "transactions": tx,
                                                     "placement": placement}, {})


# --------------------------------------------------------------------------- ru_crm_export
RU_HEADERS = {
    "clients": {"client_id": "ID клиента", "name": "Контрагент", "industry": "Отрасль", "headcount": "Численность",
                "region": "Регион", "has_call_centre": "Свой колл-центр", "decision_maker": "Кто решает",
                "came_from": "Источник", "outsourced_accounting": "Бухгалтерия на аутсорсе",
                "office_m2": "Площадь офиса, м2", "uses_messenger": "Мессенджер", "founded": "Год основания",
                "city_size": "Размер города", "client_since": "Клиент с", "payment_delay_days": "Просрочка оплаты, дн",
                "support_hours": "Часы поддержки", "deal_cycle_days": "Цикл сделки, дн"},
    "placement": {"client_id": "ID клиента", "tier": "Категория"},
    "transactions": {"client_id": "ID клиента", "date": "Дата", "amount": "Сумма", "margin": "Маржа"},
    "deals": {"deal_id": "ID сделки", "client_id": "ID клиента", "name": "Название", "outcome": "Этап сделки",
              "reason": "Причина", "created": "Дата создания", "closed": "Дата закрытия", "amount": "Бюджет"},
    "prospects": {"prospect_id": "ID лида", "name": "Компания", "industry": "Отрасль", "headcount": "Численность",
                  "region": "Регион", "has_call_centre": "Свой колл-центр", "decision_maker": "Кто решает",
                  "came_from": "Источник", "outsourced_accounting": "Бухгалтерия на аутсорсе",
                  "office_m2": "Площадь офиса, м2", "uses_messenger": "Мессенджер", "founded": "Год основания",
                  "city_size": "Размер города"},
}
RU_OUTCOMES = {"won_fast": "Быстро выиграна", "won": "Успешно реализовано", "stalled": "Зависла",
               "refused": "Закрыто и не реализовано"}
_NBSP = "\u00a0"
_YES_NO_RU = {"yes": "да", "no": "нет", "": ""}
# category values as a Russian team types them; unknown ("") stays empty
RU_VALUES = {
    "industry": {"retail": "розница", "logistics": "логистика", "it": "ИТ", "healthcare": "медицина",
                 "finance": "финансы", "education": "образование"},
    "region": {"North": "Север", "South": "Юг", "Central": "Центр", "East": "Восток", "West": "Запад"},
    "decision_maker": {"owner": "собственник", "committee": "комитет", "procurement": "отдел закупок"},
    "came_from": {"referral": "рекомендация", "ads": "реклама", "cold call": "холодный звонок",
                  "event": "мероприятие"},
    "city_size": {"million+": "миллионник", "large": "крупный", "medium": "средний", "small": "малый"},
    "has_call_centre": _YES_NO_RU, "outsourced_accounting": _YES_NO_RU, "uses_messenger": _YES_NO_RU,
}


def _in_russian(df: pd.DataFrame) -> pd.DataFrame:
    """Category and yes/no values in Russian (a copy); numbers and IDs untouched."""
    out = df.copy()
    for column, words in RU_VALUES.items():
        if column in out.columns:
            out[column] = out[column].map(lambda v, words=words: words.get(v, v))
    return out


def _ru_money(x: float) -> str:
    """Money as a Russian Excel prints it: NBSP thousands, a decimal comma, "руб." (cp1251 has no ₽).

    >>> _ru_money(1234567.5).replace("\\u00a0", " "), _ru_money(-40.0)
    ('1 234 567,50 руб.', '-40,00 руб.')
    """
    text = f"{abs(x):,.2f}".replace(",", _NBSP).replace(".", ",")
    return f"-{text} руб." if x < 0 else f"{text} руб."


def _ru_date(value) -> str:
    if value in ("", None) or pd.isna(value):
        return "не закрыта"
    return pd.Timestamp(value).strftime("%d.%m.%Y")


def make_ru_crm_export(seed: int = 7) -> SampleCompany:
    """The b2b_services company exported as a Russian CRM / Excel would: cp1251, `;`, decimal commas."""
    base = make_b2b_services(seed)
    tables = {}
    clients = _in_russian(base.tables["clients"])
    clients["client_since"] = clients["client_since"].map(_ru_date)
    clients["support_hours"] = clients["support_hours"].map(lambda v: f"{v:.1f}".replace(".", ","))
    tables["clients"] = clients.rename(columns=RU_HEADERS["clients"])
    tables["placement"] = base.tables["placement"].rename(columns=RU_HEADERS["placement"])
    tx = base.tables["transactions"].copy()
    total_amount, total_margin = tx["amount"].sum(), tx["margin"].sum()
    tx["date"] = tx["date"].map(_ru_date)
    tx["amount"] = tx["amount"].map(_ru_money)
    tx["margin"] = tx["margin"].map(_ru_money)
    tx = pd.concat([tx, pd.DataFrame([{"client_id": "Итого", "date": "", "amount": _ru_money(total_amount),
                                       "margin": _ru_money(total_margin)}])])
    tables["transactions"] = tx.rename(columns=RU_HEADERS["transactions"])
    deals = base.tables["deals"].copy()
    deals["outcome"] = deals["outcome"].map(RU_OUTCOMES)
    deals["reason"] = deals["reason"].map(REASONS_RU)
    deals["created"] = deals["created"].map(_ru_date)
    deals["closed"] = deals["closed"].map(_ru_date)
    deals["amount"] = deals["amount"].map(_ru_money)
    tables["deals"] = deals.rename(columns=RU_HEADERS["deals"])
    prospects = _in_russian(base.tables["prospects"])
    tables["prospects"] = prospects.rename(columns=RU_HEADERS["prospects"])
    tables.update(_key_client_inputs_ru(base))
    headers = RU_HEADERS["clients"]
    settings = dict(base.settings, name="Нордвинд Сервис", language="ru",
                    first_contact_traits=[headers[t] for t in base.settings["first_contact_traits"]],
                    deals={"reason_groups": REASON_GROUPS_RU})
    return SampleCompany("ru_crm_export", settings, tables,
                         {k: "ru_csv" for k in tables} | {"transactions": "ru_csv_titled"})


def _key_client_inputs_ru(base: SampleCompany) -> dict[str, pd.DataFrame]:
    """The key-client inputs as an amoCRM activity export and Russian sheets: clients named, not coded."""
    names = base.tables["clients"].set_index("client_id")["name"]
    contacts = base.tables["contacts"].copy()
    contacts["client_id"] = contacts["client_id"].map(names)
    contacts["date"] = pd.to_datetime(contacts["date"]).dt.strftime("%d.%m.%Y 10:00")
    contacts["outcome"] = contacts["outcome"].map({"positive": "Позитивный", "neutral": "Нейтральный",
                                                   "negative": "Негативный"})
    contacts["channel"] = contacts["channel"].map({"call": "Звонок", "meeting": "Встреча", "email": "Письмо",
                                                   "messenger": "Мессенджер"})
    contacts = contacts.rename(columns={"client_id": "Компания", "date": "Дата создания", "outcome": "Результат",
                                        "channel": "Тип", "manager": "Ответственный"})
    contacts.insert(0, "ID", [f"{700000 + i}" for i in range(len(contacts))])
    relationship = base.tables["relationship"].rename(columns={"client_id": "ID клиента", "aspect": "Аспект",
                                                               "score": "Оценка", "rater": "Кто оценивает"})
    dossier = base.tables["dossier"].copy()
    dossier["last_review"] = dossier["last_review"].map(_ru_date)
    dossier = dossier.rename(columns={"client_id": "ID клиента", "name": "Контрагент", "manager": "Менеджер",
                                      "decision_makers": "ЛПР", "business": "Специфика бизнеса",
                                      "needs": "Потребности и проблемы", "competitors": "Конкуренты",
                                      "history": "История отношений", "last_review": "Дата пересмотра"})
    return {"contacts": contacts, "relationship": relationship, "dossier": dossier}


# --------------------------------------------------------------------------- writing
def _csv_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    buffer = io.StringIO()
    if fmt == "csv":
        df.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue().encode("utf-8")
    if fmt == "ru_csv_titled":  # a report title and a period line above the header, as 1C/Excel print them
        buffer.write("Продажи по клиентам;;;\nПериод: 01.10.2024 - 30.09.2026;;;\n")
    df.to_csv(buffer, index=False, sep=";", lineterminator="\r\n")
    return buffer.getvalue().encode("cp1251")


def write_company(company: SampleCompany, root: Path) -> Path:
    """Write the company folder under `root`; returns the folder. Deterministic byte for byte."""
    folder = Path(root) / company.folder_name
    folder.mkdir(parents=True, exist_ok=True)
    for kind, df in company.tables.items():
        fmt = company.formats.get(kind, "csv")
        if fmt == "parquet":
            df.to_parquet(folder / f"{kind}.parquet", index=False, compression="zstd")
        else:
            (folder / f"{kind}.csv").write_bytes(_csv_bytes(df, fmt))
    header = "# Sample company generated by scripts/make_samples.py (helpers.kit.samples); all names are invented.\n"
    (folder / "company.yml").write_text(
        header + yaml.safe_dump(company.settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


GENERATORS = {"b2b_services": make_b2b_services, "wholesale": make_wholesale, "online_school": make_online_school,
              "ru_crm_export": make_ru_crm_export}


def make_all_samples(root: Path) -> list[Path]:
    """Regenerate every sample company under `root`."""
    return [write_company(make(), root) for make in GENERATORS.values()]


def _same_file(fresh: Path, committed: Path) -> bool:
    if not committed.is_file():
        return False
    if fresh.read_bytes() == committed.read_bytes():
        return True
    if fresh.suffix == ".parquet":  # another pyarrow version may write other bytes for the same table
        return pd.read_parquet(fresh).equals(pd.read_parquet(committed))
    return False


def find_stale_samples(committed_root: Path) -> list[Path]:
    """Committed sample files that differ from a fresh generation (empty when all are up to date).

    CSV and YAML files must match byte for byte; Parquet files must hold the same table.
    """
    with tempfile.TemporaryDirectory() as tmp:
        return [Path(committed_root) / folder.name / fresh.name
                for folder in make_all_samples(Path(tmp))
                for fresh in sorted(folder.iterdir())
                if not _same_file(fresh, Path(committed_root) / folder.name / fresh.name)]
