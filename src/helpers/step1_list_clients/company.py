"""The checked tables of one company: what step 1 hands to every later step.

Column names here are the kit's contract. Loaders map whatever headers an export
has onto them; later steps read only these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from helpers.step1_list_clients.settings import CompanySettings
from helpers.core.errors import Problem
from helpers.paths import slugify

if TYPE_CHECKING:
    from helpers.step1_list_clients.dataset import TransactionDataset

TraitKind = Literal["number", "yesno", "category", "text"]

TIERS = ("A1", "A2", "A3", "B1", "B2", "B3", "C")
PLAIN_TIERS = ("A", "B")  # accepted, flagged as "not yet split"
SIDE_TIERS = ("D", "X")  # kept apart from the A-C ranking
ALL_TIER_LABELS = TIERS + PLAIN_TIERS + SIDE_TIERS

# Canonical columns of each input file. `required` must be present after mapping.
COLUMNS = {
    "clients": {
        "required": ["client_id"],
        # name defaults to client_id when absent; the metrics below are recognised by name and
        # used by the value score; every other column is a trait
        "optional": ["name", "revenue", "margin", "purchases", "client_since", "tenure_months",
                     "payment_delay_days", "support_hours", "deal_cycle_days"],
    },
    "placement": {"required": ["client_id", "tier"], "optional": ["note"]},
    "transactions": {"required": ["client_id", "date", "amount"], "optional": ["margin", "currency", "document"]},
    "deals": {"required": ["outcome"],
              "optional": ["deal_id", "client_id", "name", "title", "reason", "created", "closed", "cycle_days", "amount"]},
    "prospects": {"required": ["prospect_id"], "optional": ["name", "need", "solvency", "authority"]},
    # key-client inputs (helpers.step1_list_clients.key_clients): a client by client_id or, failing that, by name
    "contacts": {"required": ["date"], "optional": ["client_id", "name", "outcome", "channel", "manager"]},
    "relationship": {"required": ["aspect", "score"], "optional": ["client_id", "name", "rater", "date"]},
    "dossier": {"required": [], "optional": ["client_id", "name", "manager", "decision_makers", "business", "needs",
                                             "competitors", "history", "last_review"]},
}
# Metrics of the clients table: figures, not descriptive traits (still compared as traits
# "visible only after the sale" unless listed in first_contact_traits).
CLIENT_METRICS = tuple(COLUMNS["clients"]["optional"][1:])
DEAL_OUTCOMES = ("won_fast", "won", "stalled", "refused", "open")
# Outcomes of closed deals: "open" deals (a CRM stage neither won nor lost) are counted, not judged.
CLOSED_OUTCOMES = DEAL_OUTCOMES[:4]


@dataclass
class FileReport:
    """How one input file was read: shown by `tierbook check` and stored in run.json."""

    kind: str  # clients | placement | transactions | deals | prospects
    path: Path
    sha256: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None  # 1-based row of the header in the file
    rows_read: int = 0  # data rows found in the file
    rows_used: int = 0  # rows that reached the checked table
    # header in the file -> (canonical name or "trait", understood type)
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Company:
    """One company folder, loaded and checked.

    clients       one row per client: client_id (str), name (str), metrics, trait columns
    trait_kinds   trait column -> number | yesno | category | text (yes/no are pandas "boolean")
    placement     client_id, tier (one of ALL_TIER_LABELS, Latin letters) or None
    transactions  client_id, date (datetime64), amount (float), [margin, currency] or None
    transactions_dataset  the log as a Parquet dataset folder read out of core (then transactions is None)
    deals         outcome (one of DEAL_OUTCOMES), reason, [deal_id, client_id, name (the client's),
                  created, closed, cycle_days, amount] or None
    prospects     prospect_id, name, trait columns (same names as clients) or None
    contacts      client_id, date, outcome (positive/neutral/negative), channel, manager or None
    relationship  client_id, aspect, score (1-4), rater or None
    dossier       client_id, manager, a boolean per dossier part, last_review — flags only, never the text
    """

    folder: Path
    settings: CompanySettings
    clients: pd.DataFrame
    trait_kinds: dict[str, TraitKind] = field(default_factory=dict)
    placement: pd.DataFrame | None = None
    transactions: pd.DataFrame | None = None
    deals: pd.DataFrame | None = None
    prospects: pd.DataFrame | None = None
    contacts: pd.DataFrame | None = None
    relationship: pd.DataFrame | None = None
    dossier: pd.DataFrame | None = None
    # a transaction log too large for memory, left on disk (helpers.step1_list_clients.dataset); `transactions` is then None
    transactions_dataset: "TransactionDataset | None" = None
    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.settings.name or self.folder.name

    @property
    def slug(self) -> str:
        return slugify(self.folder.name)

    @property
    def currency(self) -> str:
        return self.settings.currency

    @property
    def first_contact_traits(self) -> list[str]:
        return [t for t in self.settings.first_contact_traits if t in self.trait_kinds]

    @property
    def traits(self) -> list[str]:
        return list(self.trait_kinds)
