"""Step 1 (list and check the clients): one pandera schema per input table.

Every rule a checked table must meet is declared here, once; failures become Problems naming
the file, the row a person sees and the column, and say whether the row was dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from helpers.core.vocabulary import ALL_TIER_LABELS, DEAL_OUTCOMES
from helpers.core.errors import Problem, problem


def _id(unique: bool = False) -> pa.Column:
    return pa.Column(str, nullable=False, unique=unique, checks=pa.Check.str_length(min_value=1), coerce=False)


SCHEMAS = {
    "clients": pa.DataFrameSchema({"client_id": _id(unique=True)}, strict=False),
    "placement": pa.DataFrameSchema({
        "client_id": _id(unique=True),
        "tier": pa.Column(str, pa.Check.isin(ALL_TIER_LABELS), nullable=False),
    }, strict=False),
    "transactions": pa.DataFrameSchema({
        "client_id": _id(),
        "date": pa.Column("datetime64[ns]", nullable=False),
        "amount": pa.Column(float, nullable=False),
    }, strict=False),
    "deals": pa.DataFrameSchema({"outcome": pa.Column(str, pa.Check.isin(DEAL_OUTCOMES), nullable=False)},
                                strict=False),
    "prospects": pa.DataFrameSchema({"prospect_id": _id(unique=True)}, strict=False),
}

# (kind, column, check) -> (problem code, severity, row dropped?)
_RULES = {
    ("clients", "client_id", "not_nullable"): ("blank_id", "error", False),
    ("clients", "client_id", "str_length(1, None)"): ("blank_id", "error", False),
    ("clients", "client_id", "field_uniqueness"): ("duplicate_client_id", "error", False),
    ("placement", "client_id", "not_nullable"): ("blank_id", "warning", True),
    ("placement", "client_id", "str_length(1, None)"): ("blank_id", "warning", True),
    ("placement", "client_id", "field_uniqueness"): ("duplicate_placement", "error", False),
    ("placement", "tier", "not_nullable"): ("blank_tier", "warning", True),
    ("placement", "tier", "isin"): ("unknown_tier", "error", False),
    ("transactions", "client_id", "not_nullable"): ("blank_id", "warning", True),
    ("transactions", "client_id", "str_length(1, None)"): ("blank_id", "warning", True),
    ("transactions", "date", "not_nullable"): ("blank_date", "warning", True),
    ("transactions", "amount", "not_nullable"): ("blank_amount", "warning", True),
    ("deals", "outcome", "not_nullable"): ("blank_outcome", "warning", True),
    ("deals", "outcome", "isin"): ("unknown_outcome", "error", False),
    ("prospects", "prospect_id", "not_nullable"): ("blank_id", "warning", True),
    ("prospects", "prospect_id", "str_length(1, None)"): ("blank_id", "warning", True),
    ("prospects", "prospect_id", "field_uniqueness"): ("duplicate_client_id", "error", False),
}


def _rule(kind: str, column: str, check: str) -> tuple[str, str, bool]:
    for (k, c, name), rule in _RULES.items():
        if k == kind and c == column and check.startswith(name):
            return rule
    return ("invalid_value", "error", False)


def validate_table(kind: str, df: pd.DataFrame, rows: pd.Series, *, file: str,
                   shown_column: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate a canonical table; return it without the rows that must be dropped, and the problems.

    `rows` holds the file row number of each frame row; `shown_column` maps canonical names back to
    the file's headers so messages use the names the user sees.
    """
    shown_column = shown_column or {}
    try:
        SCHEMAS[kind].validate(df, lazy=True, inplace=True)  # nothing is coerced: no copy of the table
        return df, []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    problems: list[Problem] = []
    drop: set[int] = set()
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        column = str(column)
        code, severity, dropped = _rule(kind, column, str(check))
        for index, value in zip(group["index"], group["failure_case"]):
            if pd.isna(index):
                continue
            i = int(index)
            params = {"value": "" if pd.isna(value) else str(value)[:60], "allowed": " ".join(ALL_TIER_LABELS),
                      "outcomes": ", ".join(DEAL_OUTCOMES)}
            if code == "duplicate_client_id" or code == "duplicate_placement":
                same = df.index[df[column] == value]
                params["rows"] = ", ".join(str(int(rows.iloc[j])) for j in same)
            problems.append(problem(code, severity, file=file, row=int(rows.iloc[i]),
                                    column=shown_column.get(column, column), **params))
            if dropped:
                drop.add(i)
    # a duplicate is reported once per id, not once per copy
    seen, unique = set(), []
    for p in problems:
        key = (p.code, p.details.get("rows")) if p.code.startswith("duplicate") else id(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    keep = np.ones(len(df), dtype=bool)  # positions, not labels: a Python loop over a million rows cost 0.1 s
    keep[sorted(drop)] = False
    return df.iloc[np.flatnonzero(keep)], unique
