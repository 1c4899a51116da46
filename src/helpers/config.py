"""Settings of one company: `company.yml` in the company folder, validated.

Every setting has a default, so the file is optional. Misspelt keys and bad values
are reported as Problems naming company.yml and the key, never as a traceback.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DataProblem, Problem, problem

CONFIG_FILE = "company.yml"
MAX_CONFIG_BYTES = 1_000_000


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class LoadSettings(_Section):
    """How input files are read (step 1)."""

    # file kind (clients, placement, transactions, deals, prospects) -> sheet name in an .xlsx
    sheets: dict[str, str] = Field(default_factory=dict)
    # file kind -> {header in the file: canonical column}, for headers the kit does not recognise
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    # file kind -> encoding, when auto-detection guesses wrong
    encodings: dict[str, str] = Field(default_factory=dict)
    # refuse files larger than this (a guard against a wrong file or a zip bomb)
    max_file_mb: int = 1024
    # memory budget of the out-of-core aggregation of the transaction log ("2GB"): DuckDB takes half and
    # spills to disk past it. Unset: $TIERBOOK_MEMORY_LIMIT, else 2GB (helpers.aggregate.memory_limit)
    memory_limit: str | None = Field(default=None, pattern=r"(?i)^\s*\d+(\.\d+)?\s*([KMGT]i?B|B)\s*$")
    # trait column -> number | yesno | category | text, when the guessed type is wrong
    trait_types: dict[str, Literal["number", "yesno", "category", "text"]] = Field(default_factory=dict)


class AbcSettings(_Section):
    """ABC by share of revenue or margin (step 2)."""

    by: Literal["revenue", "margin"] = "revenue"
    # cumulative-share lines: A below the first, B below the second, C after; or "auto" (computed ABC)
    cutoffs: tuple[float, float] | Literal["auto"] = (0.80, 0.95)
    mono_client_share: float = 0.50

    @field_validator("cutoffs")
    @classmethod
    def _ordered(cls, value):
        if value != "auto":
            a, b = value
            if not (0 < a < b <= 1):
                raise ValueError("cutoffs must be two shares with 0 < A line < B line <= 1, e.g. [0.8, 0.95]")
        return value


class XyzSettings(_Section):
    """XYZ by regularity of purchases (step 2)."""

    period: Literal["month", "quarter"] = "month"
    x: float = 0.10
    y: float = 0.25
    # clients within this many points of a line are flagged as borderline
    borderline: float = 0.03


class ScoreSettings(_Section):
    """Weights of the value score behind the suggested tier (step 2)."""

    weights: dict[Literal["value", "loyalty", "payment", "cost_to_serve", "speed"], float] = Field(
        default_factory=lambda: {"value": 0.40, "loyalty": 0.20, "payment": 0.15, "cost_to_serve": 0.15, "speed": 0.10}
    )
    # suggested tier shares of clients by score: A, B, rest C
    shares: tuple[float, float] = (0.20, 0.50)


class CriteriaSettings(_Section):
    """How candidate criteria are found and judged (steps 3-4)."""

    compare: Literal["auto", "team", "suggested"] = "auto"
    min_support: int = 5
    permutations: int = 999
    alpha: float = 0.05
    bootstrap: int = 200
    seed: int = 20241123
    max_conditions: Literal[1, 2] = 2


class DealsSettings(_Section):
    """Deal outcomes and their reasons (step 4)."""

    # group name -> keywords (any language); a reason containing a word starting with a keyword joins
    # the group. These add to the built-in groups (price, budget, timing, ...); a same-named group replaces one.
    reason_groups: dict[str, list[str]] = Field(default_factory=dict)
    # false: use only the groups above, without the built-in ones
    default_groups: bool = True


class AuditSettings(_Section):
    """The client and price audit and the typology tags (step 1). Every line is a rule of thumb to tune."""

    # size bands by cumulative share of revenue, largest clients first: large while the clients before
    # hold less than the first share, medium while less than the second, small after (upper-class rule)
    size_shares: tuple[float, float] = (0.50, 0.80)
    # balance verdicts: "few large" when half the revenue sits with this many clients or fewer ...
    few_large_clients: int = 3
    # ... "small-heavy" when small clients are more than this share of all clients ...
    small_heavy_share: float = 0.90
    # ... "flat" when large clients are more than this share of all clients (no one stands out)
    flat_large_share: float = 0.25
    # one client above this share of revenue or margin is a mono-client risk
    mono_client_share: float = 0.50
    # the "top N%" line of the concentration table
    top_share: float = 0.10
    # purchase price bands: [cheap below, expensive from] in the company's currency, or "auto" (terciles)
    price_limits: tuple[float, float] | Literal["auto"] = "auto"
    # the example target mix of purchases (seed 001: ~50% cheap, 20% mid, 20% expensive; tune it)
    target_mix: dict[Literal["cheap", "mid", "expensive"], float] = Field(
        default_factory=lambda: {"cheap": 0.50, "mid": 0.20, "expensive": 0.20})
    # gold: the fewest clients holding this share of revenue (or of margin), at most gold_max_share of clients
    gold_share: float = 0.50
    gold_max_share: float = 0.20
    # bronze: the clients that together hold only the last bronze_share of revenue (and of margin)
    bronze_share: float = 0.05
    # key clients one manager can look after
    key_clients_per_manager: int = 3
    # typology: sleeping = active in >= sleeping_min_months months, then silent for the last sleeping_quiet_months
    sleeping_min_months: int = 3
    sleeping_quiet_months: int = 3
    # loyal = bought in >= loyal_active_share of the months since the first purchase, over >= loyal_min_months
    loyal_active_share: float = 0.60
    loyal_min_months: int = 6
    # new = first purchase within the last new_months months of the data
    new_months: int = 3
    # superconsumer = revenue in the top super_top_share, purchases and average cheque above the median
    super_top_share: float = 0.10
    # small fry = average cheque in the bottom small_fry_share of clients
    small_fry_share: float = 0.25
    # bad signals: payment delay of at least late_payment_days; support hours per unit of revenue in the
    # top heavy_support_share of clients; a negative margin
    late_payment_days: float = 30
    heavy_support_share: float = 0.10

    @field_validator("size_shares")
    @classmethod
    def _size_ordered(cls, value):
        a, b = value
        if not (0 < a < b < 1):
            raise ValueError("size_shares must be two shares with 0 < large line < medium line < 1, e.g. [0.5, 0.8]")
        return value

    @field_validator("price_limits")
    @classmethod
    def _price_ordered(cls, value):
        if value != "auto" and not (0 <= value[0] < value[1]):
            raise ValueError("price_limits must be two amounts with 0 <= cheap limit < expensive limit, or auto")
        return value

    @field_validator("target_mix")
    @classmethod
    def _mix_total(cls, value):
        if any(v < 0 for v in value.values()) or sum(value.values()) > 1 + 1e-9:
            raise ValueError("target_mix shares must be non-negative and add up to at most 1")
        return value


class CompanySettings(_Section):
    """Everything `company.yml` may hold."""

    name: str | None = None
    currency: str = "RUB"
    language: Literal["en", "ru"] = "en"
    # traits a salesperson can learn in the first conversation; the rest are "visible only after the sale"
    first_contact_traits: list[str] = Field(default_factory=list)
    anonymise: bool = False
    load: LoadSettings = Field(default_factory=LoadSettings)
    abc: AbcSettings = Field(default_factory=AbcSettings)
    xyz: XyzSettings = Field(default_factory=XyzSettings)
    score: ScoreSettings = Field(default_factory=ScoreSettings)
    criteria: CriteriaSettings = Field(default_factory=CriteriaSettings)
    deals: DealsSettings = Field(default_factory=DealsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return []
    return list(model.model_fields)


def _to_problems(exc: ValidationError, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), _known_keys(CompanySettings, loc), n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            detail = f"unknown setting '{key}'{hint}"
        else:
            detail = f"'{key}': {err['msg']}"
        out.append(problem("bad_config", file=file, column=key, detail=detail))
    return out


def load_settings(company_dir: Path) -> CompanySettings:
    """Read and validate `company.yml` (defaults when absent); raise DataProblem on a bad file."""
    path = Path(company_dir) / CONFIG_FILE
    if not path.is_file():
        return CompanySettings()
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise DataProblem(problem("bad_config", file=CONFIG_FILE, detail="the file is larger than 1 MB"))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))  # safe_load: no YAML tags, no code
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataProblem(problem("bad_config", file=CONFIG_FILE, row=(mark.line + 1) if mark else None,
                                  detail=f"not valid YAML: {exc}".splitlines()[0])) from None
    if raw is None:
        return CompanySettings()
    if not isinstance(raw, dict):
        raise DataProblem(problem("bad_config", file=CONFIG_FILE, detail="the file must hold settings as `key: value` lines"))
    try:
        return CompanySettings.model_validate(raw)
    except ValidationError as exc:
        raise DataProblem(_to_problems(exc, CONFIG_FILE)) from None
