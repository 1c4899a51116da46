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

    # group name -> keywords (any language); a reason containing a keyword joins the group
    reason_groups: dict[str, list[str]] = Field(default_factory=dict)


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
