"""Synthetic companies for the criteria tests: planted signs beside pure-noise traits.

Small, seeded and built in memory (no files), so the statistics can be checked against what was planted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings, CriteriaSettings

PLANTED = ("has_call_centre", "headcount", "industry")


def make_company(seed: int, *, n: int = 150, planted: bool = True, noise_traits: int = 17,
                 folder: Path | None = None, **criteria) -> tuple[Company, pd.DataFrame]:
    """A company of `n` clients (20% A, 45% B, 35% C) and its tiers table.

    Planted (when `planted`): own call centre -> A (85% of A, 25% of others); headcount >= 50 ->
    A (80% of A, 10% of others); industry retail -> C (60% of C, 10% of others). Every other
    trait is independent of the tier: numbers, yes/no and categories in equal parts.
    """
    rng = np.random.default_rng(seed)
    tiers = rng.permutation(np.array(["A"] * round(0.2 * n) + ["C"] * round(0.35 * n)
                                     + ["B"] * (n - round(0.2 * n) - round(0.35 * n))))
    is_a, is_c = tiers == "A", tiers == "C"
    data: dict[str, object] = {"client_id": [f"K{i:04d}" for i in range(n)], "name": [f"Client {i}" for i in range(n)]}
    kinds: dict[str, str] = {}
    if planted:
        data["has_call_centre"] = pd.array(rng.random(n) < np.where(is_a, 0.85, 0.25), dtype="boolean")
        big = rng.random(n) < np.where(is_a, 0.8, 0.1)
        data["headcount"] = np.where(big, rng.integers(50, 400, n), rng.integers(3, 50, n)).astype(float)
        others = np.array(["it", "finance", "logistics", "healthcare", "horeca"])
        retail = rng.random(n) < np.where(is_c, 0.6, 0.1)
        data["industry"] = np.where(retail, "retail", others[rng.integers(0, len(others), n)]).astype(object)
        kinds |= {"has_call_centre": "yesno", "headcount": "number", "industry": "category"}
    for i in range(noise_traits):
        name = f"noise_{i:02d}"
        if i % 3 == 0:
            data[name] = np.round(rng.lognormal(3, 1, n), 1)
            kinds[name] = "number"
        elif i % 3 == 1:
            data[name] = pd.array(rng.random(n) < rng.uniform(0.2, 0.6), dtype="boolean")
            kinds[name] = "yesno"
        else:
            levels = np.array([f"v{j}" for j in range(int(rng.integers(3, 7)))])
            data[name] = levels[rng.integers(0, len(levels), n)].astype(object)
            kinds[name] = "category"
    clients = pd.DataFrame(data)
    clients["client_id"] = clients["client_id"].astype("string")
    defaults = {"permutations": 199, "bootstrap": 0, "seed": seed}
    settings = CompanySettings(criteria=CriteriaSettings(**(defaults | criteria)), first_contact_traits=list(kinds))
    company = Company(folder=folder or Path(f"/nonexistent/synth-{seed}"), settings=settings, clients=clients,
                      trait_kinds=kinds)
    table = pd.DataFrame({"client_id": clients["client_id"], "team_tier": pd.array(tiers, dtype="string"),
                          "suggested_tier": pd.array(tiers, dtype="string")})
    return company, table


def _company(seed: int, data: dict, kinds: dict, tiers: np.ndarray, *, first_contact: list[str] | None,
             prospects: pd.DataFrame | None = None, **criteria) -> tuple[Company, pd.DataFrame]:
    clients = pd.DataFrame({"client_id": [f"K{i:04d}" for i in range(len(tiers))],
                            "name": [f"Client {i}" for i in range(len(tiers))]} | data)
    clients["client_id"] = clients["client_id"].astype("string")
    defaults = {"permutations": 199, "bootstrap": 0, "seed": seed}
    settings = CompanySettings(criteria=CriteriaSettings(**(defaults | criteria)),
                               first_contact_traits=list(kinds) if first_contact is None else first_contact)
    company = Company(folder=Path(f"/nonexistent/variant-{seed}"), settings=settings, clients=clients,
                      trait_kinds=kinds, prospects=prospects)
    table = pd.DataFrame({"client_id": clients["client_id"], "team_tier": pd.array(tiers, dtype="string"),
                          "suggested_tier": pd.array(tiers, dtype="string")})
    return company, table


def make_variant(kind: str, seed: int, *, n: int = 150, **criteria) -> tuple[Company, pd.DataFrame]:
    """Generated companies of the kinds of issue 10's reproducers (tests/data/criteria_cases), new each seed.

    interaction   A mostly when x_score > 50 AND y_flag = yes (each half alone: never A); prospects in
                  every (x, y) cell
    mirror        has_call_center = yes -> A, decision = committee -> C (their complements are not signs)
    imbalanced    3% A, 5% C; "pays_by_invoice: no" for most C and 15% of others (a real, imprecise flag)
    unseen        industry: A common in four of six levels; prospects from levels no client has
    outcome       annual_spend = revenue +- 10% (an outcome), has_call_center a real sign; company.yml
                  lists no first-contact traits
    Every variant also carries two noise traits.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    kinds: dict[str, str] = {}
    first_contact: list[str] | None = None
    prospects = None
    if kind == "interaction":
        x = np.round(rng.uniform(0, 100, n), 1)
        y = rng.random(n) < 0.5
        both = (x > 50) & y
        tiers = np.where(both & (rng.random(n) < 0.9), "A", np.where(rng.random(n) < 0.35, "C", "B"))
        data |= {"x_score": x, "y_flag": np.where(y, "yes", "no")}
        kinds |= {"x_score": "number", "y_flag": "yesno"}
        cells = [(xv, yv) for xv in (80.0, 20.0) for yv in ("yes", "no") for _ in range(3)]
        prospects = pd.DataFrame({"prospect_id": pd.array([f"I{i:02d}" for i in range(len(cells))], dtype="string"),
                                  "x_score": [c[0] for c in cells], "y_flag": [c[1] for c in cells]})
    elif kind == "mirror":
        tiers = rng.permutation(np.array(["A"] * round(0.25 * n) + ["C"] * round(0.3 * n)
                                         + ["B"] * (n - round(0.25 * n) - round(0.3 * n))))
        call = rng.random(n) < np.where(tiers == "A", 0.85, 0.15)
        committee = rng.random(n) < np.where(tiers == "C", 0.7, 0.1)
        data |= {"has_call_center": np.where(call, "yes", "no"),
                 "decision": np.where(committee, "committee", rng.choice(["owner", "director"], n))}
        kinds |= {"has_call_center": "yesno", "decision": "category"}
    elif kind == "imbalanced":
        n_a, n_c = max(3, round(0.03 * n)), max(5, round(0.05 * n))
        tiers = rng.permutation(np.array(["A"] * n_a + ["C"] * n_c + ["B"] * (n - n_a - n_c)))
        flag = rng.random(n) < np.where(tiers == "C", 0.85, 0.15)
        data["pays_by_invoice"] = np.where(flag, "no", "yes")
        kinds["pays_by_invoice"] = "yesno"
        prospects = pd.DataFrame({"prospect_id": pd.array(["Q01", "Q02", "Q03"], dtype="string"),
                                  "pays_by_invoice": ["no", "no", "yes"]})
    elif kind == "unseen":
        levels = np.array(["logistics", "clinic", "it", "finance", "retail", "horeca"])
        tiers = rng.permutation(np.array(["A"] * round(0.3 * n) + ["C"] * round(0.3 * n)
                                         + ["B"] * (n - 2 * round(0.3 * n))))
        good = rng.random(n) < np.where(tiers == "A", 0.97, 0.2)
        data["industry"] = np.where(good, rng.choice(levels[:4], n), rng.choice(levels[4:], n))
        kinds["industry"] = "category"
        prospects = pd.DataFrame({"prospect_id": pd.array(["U01", "U02", "U03"], dtype="string"),
                                  "industry": ["mining", "government", "retail"]})
    elif kind == "outcome":
        tiers = rng.permutation(np.array(["A"] * round(0.2 * n) + ["C"] * round(0.3 * n)
                                         + ["B"] * (n - round(0.2 * n) - round(0.3 * n))))
        revenue = np.round(rng.lognormal(np.where(tiers == "A", 11.5, np.where(tiers == "C", 10.3, 10.8)), 0.4), 2)
        data |= {"revenue": revenue, "annual_spend": np.round(revenue * rng.uniform(0.9, 1.1, n), -2),
                 "has_call_center": np.where(rng.random(n) < np.where(tiers == "A", 0.85, 0.15), "yes", "no")}
        kinds |= {"annual_spend": "number", "has_call_center": "yesno"}
        first_contact = []
        prospects = pd.DataFrame({"prospect_id": pd.array(["L01", "L02"], dtype="string"),
                                  "annual_spend": [300000.0, 20000.0], "has_call_center": ["no", "no"]})
    else:
        raise ValueError(f"unknown variant {kind!r}")
    data |= {"noise_num": np.round(rng.lognormal(3, 1, n), 1), "noise_cat": rng.choice(["v0", "v1", "v2"], n)}
    kinds |= {"noise_num": "number", "noise_cat": "category"}
    for column, kind_ in kinds.items():
        if kind_ == "yesno":
            data[column] = pd.array(np.asarray(data[column]) == "yes", dtype="boolean")
    if prospects is not None:
        for column, kind_ in kinds.items():
            if kind_ == "yesno" and column in prospects:
                prospects[column] = pd.array(prospects[column] == "yes", dtype="boolean")
    return _company(seed, data, kinds, tiers.astype(object), first_contact=first_contact, prospects=prospects,
                    **criteria)
