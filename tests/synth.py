"""Synthetic companies for the criteria tests: planted signs beside pure-noise traits.

Small, seeded and built in memory (no files), so the statistics can be checked against what was planted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.company import Company
from helpers.config import CompanySettings, CriteriaSettings

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
