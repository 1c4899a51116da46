"""What data a company folder holds, so every step can say what it cannot show instead of failing.

A thin company (a client list without revenue, without traits, without the team's placement, only a
transaction log, one client, every client in one tier) still gets a complete run: each step checks
what exists with `data_coverage` and the notebooks' sanity checks assert what that data allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from helpers.core.i18n import t

# Trait columns the client template suggests (templates/clients.csv): things a seller learns in the first
# conversation, the raw material of criteria (METHOD.md, step 3). Shown when a company has no traits.
EXAMPLE_TRAITS = ("industry", "region", "headcount", "came_from")


@dataclass(frozen=True)
class Coverage:
    """Which kinds of data the run has.

    has_revenue    some client has a positive revenue (transactions or the client list's `revenue`)
    has_traits     at least one trait column usable by criteria (number, yes/no or category)
    has_placement  the team placed at least one client (placement.csv)
    has_transactions  a transaction log with at least one row
    clients        number of clients (after the transactions added the ones missing from the list)
    """

    has_revenue: bool
    has_traits: bool
    has_placement: bool
    has_transactions: bool
    clients: int


def criteria_traits(company) -> dict[str, str]:
    """Trait columns the criteria search can use: {name: kind} for number, yes/no and category traits."""
    return {k: v for k, v in company.trait_kinds.items() if v in ("number", "yesno", "category")}


def data_coverage(company, figures: pd.DataFrame | None = None) -> Coverage:
    """What `company` holds. `figures`: `audit.summarise_clients(company)` when already computed."""
    if figures is None:
        from helpers.step1_list_clients.audit import summarise_clients

        figures = summarise_clients(company)
    revenue = pd.to_numeric(figures["revenue"], errors="coerce")
    placement = company.placement
    tx = company.transactions
    return Coverage(has_revenue=bool((revenue > 0).any()), has_traits=bool(criteria_traits(company)),
                    has_placement=placement is not None and bool(len(placement)),
                    has_transactions=tx is not None and bool(len(tx)), clients=len(figures))


def no_traits_text(lang: str | None = None) -> str:
    """Why there are no criteria without trait columns, and which columns to add (from the client template)."""
    return t("report.empty.no_traits", lang, columns=", ".join(EXAMPLE_TRAITS))


def missing_data_notes(company, figures: pd.DataFrame | None = None) -> list[str]:
    """One sentence per kind of data whose absence empties a part of the run (revenue, traits); [] when none."""
    coverage = data_coverage(company, figures)
    notes = [] if coverage.has_revenue else [t("report.empty.no_revenue")]
    return notes + ([] if coverage.has_traits else [no_traits_text()])
