"""Step 3 of the method: compare the traits of the tiers.

How are clients of one tier alike, how do tiers differ, and by which signs can we tell early?
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from .config import CompanySettings
from .errors import DataProblem, problem

Source = Literal["team", "suggested"]
COMPARED_TIERS = ("A", "B", "C")
# Fewer team placements than this (in A-C, with at least one A and one other) is not a
# placement to compare on: the kit then audits the suggested tiers instead.
MIN_TEAM_PLACED = 10


def _collapse(labels: pd.Series) -> pd.Series:
    """A1/A2/A3/A -> A, B1/B2/B3/B -> B, C -> C; D, X, blanks and anything else -> <NA>."""
    text = labels.astype("string").str.strip().str.upper()
    letter = text.str[0]
    valid = text.str.fullmatch(r"[AB][123]?|C").fillna(False).astype(bool)
    return letter.where(valid).astype("string")


def _team_usable(team: pd.Series) -> bool:
    placed = team.dropna()
    return len(placed) >= MIN_TEAM_PLACED and (placed == "A").any() and (placed != "A").any()


def compared_tiers(tiers_table: pd.DataFrame, settings: CompanySettings | None = None) -> tuple[pd.Series, Source]:
    """The tier each client is compared in (A, B or C) and where it comes from.

    The team's placement is the method's source of truth, so it is used whenever the team
    placed enough clients (at least 10 in A-C, with at least one A and one other); otherwise the
    suggested tiers are compared (a data-only audit). ``settings.criteria.compare`` may force
    either. Sub-tiers are collapsed (A1-A3 -> A, B1-B3 -> B); D, X and unplaced clients are left
    out. The input is not changed.

    Args:
        tiers_table: `tiers.csv` as a frame: client_id, team_tier, suggested_tier, ...
        settings: the company settings (defaults when None).

    Returns:
        (Series of "A"/"B"/"C" indexed by client_id and named "tier", "team" or "suggested").

    Raises:
        DataProblem: the settings force the team's placement but there is none to use.

    >>> table = pd.DataFrame({"client_id": ["c1", "c2", "c3", "c4"],
    ...                       "team_tier": [None, None, None, None],
    ...                       "suggested_tier": ["A2", "B1", "C", "D"]})
    >>> tiers, source = compared_tiers(table)
    >>> source, tiers.to_dict()
    ('suggested', {'c1': 'A', 'c2': 'B', 'c3': 'C'})
    """
    settings = settings or CompanySettings()
    mode = settings.criteria.compare
    ids = tiers_table["client_id"].astype("string")
    team = (_collapse(tiers_table["team_tier"]) if "team_tier" in tiers_table
            else pd.Series(pd.NA, index=tiers_table.index, dtype="string"))
    suggested = (_collapse(tiers_table["suggested_tier"]) if "suggested_tier" in tiers_table
                 else pd.Series(pd.NA, index=tiers_table.index, dtype="string"))
    if mode == "team" and team.notna().sum() == 0:
        raise DataProblem(problem("compare_team_without_placement", file="company.yml", column="criteria.compare"))
    source: Source = "team" if mode == "team" or (mode == "auto" and _team_usable(team)) else "suggested"
    chosen = team if source == "team" else suggested
    out = pd.Series(chosen.to_numpy(), index=pd.Index(ids.to_numpy(), name="client_id"), name="tier", dtype="string")
    return out.dropna().astype(object), source
