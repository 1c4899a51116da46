"""Settings of one company: `company.yml` in the company folder, validated.

Every setting has a default, so the file is optional. Misspelt keys and bad values
are reported as Problems naming company.yml and the key, never as a traceback.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from helpers.core.errors import DataProblem, Problem, problem

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
    # spills to disk past it. Unset: $TIERBOOK_MEMORY_LIMIT, else 2GB (helpers.step1_list_clients.client_figures.memory_limit)
    memory_limit: str | None = Field(default=None, pattern=r"(?i)^\s*\d+(\.\d+)?\s*([KMGT]i?B|B)\s*$")
    # trait column -> number | yesno | category | text, when the guessed type is wrong
    trait_types: dict[str, Literal["number", "yesno", "category", "text"]] = Field(default_factory=dict)


class AbcSettings(_Section):
    """ABC by share of revenue or margin (step 2)."""

    by: Literal["revenue", "margin"] = "revenue"
    # cumulative-share lines: A below the first, B below the second, C after; or "auto" (computed ABC)
    cutoffs: tuple[float, float] | Literal["auto"] = (0.80, 0.95)
    # the mono-client line, as audit.mono_client_share (its older place): write it in one of the two
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

    # auto: chosen from the clients' purchase cycle (see aggregate.choose_period); or a fixed period
    period: Literal["auto", "month", "quarter", "half_year"] = "auto"
    x: float = 0.10
    y: float = 0.25
    # clients within this many points of a line are flagged as borderline
    borderline: float = 0.03
    # fewer periods than this since the first purchase: `new`, not an XYZ verdict
    min_periods: int = Field(4, ge=1)
    # Syntetos & Boylan (2005) lines: average inter-demand interval (periods) and squared CV of amounts
    adi_line: float = Field(1.32, gt=0)
    cv2_line: float = Field(0.49, gt=0)
    # one class holding at least this share of clients makes the split uninformative (a report note)
    uninformative_share: float = Field(0.90, gt=0, le=1)


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
    # A useful effect (issue 10): `supported` also needs the lower 95% bound of the tier's share among the
    # clients a rule covers to reach this many times the base rate (capped halfway between the base and 100%
    # so that a common tier can still be cleared). 1.5: a seller who follows the rule meets the tier at
    # least half as often again as without it, even at the pessimistic end of the interval.
    min_lift_lower_bound: float = Field(1.5, ge=1.0)
    # `weak` (a hypothesis for the next interviews): p_adjusted at most this, and the share itself clears
    # the margin above. Rules chance explains fully are `none`.
    weak_p: float = Field(0.2, gt=0, le=1)
    # A red flag declines a lead only when the lower 95% bound of the C share among flagged clients is above
    # this; a weaker flag gives the standard offer.
    decline_precision: float = Field(0.5, ge=0, lt=1)
    # A supported rule found again in fewer bootstrap resamples than this is `supported, unstable` and is
    # kept out of routing.
    stability_floor: float = Field(0.5, ge=0, le=1)
    # A sign of A sends a lead to the full sales process only when at least this share of clients with the
    # sign are A; a weaker sign gives the standard offer, so the full sales process is spent mostly on A.
    # The point share, not its lower bound as for a decline: a wasted sales effort costs less than a lost
    # lead, and a supported sign's lower bound already clears the base rate by the useful-effect margin.
    target_precision: float = Field(0.6, ge=0, le=1)
    # A trait whose rank correlation with revenue, margin or tenure is above this (in absolute value) looks
    # like an outcome, not a sign: kept out of the checklist and prospects unless listed in first_contact_traits.
    outcome_correlation: float = Field(0.8, gt=0, le=1)


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
    # concentration verdicts: the largest client at or above this share of revenue ...
    largest_client_share: float = Field(0.20, gt=0, le=1)
    # ... the five largest at or above this share ...
    top_five_share: float = Field(0.60, gt=0, le=1)
    # ... the Herfindahl index at or above these (0-1 scale; US DOJ/FTC 2010 guidelines: 0.15 and 0.25)
    hhi_moderate: float = Field(0.15, gt=0, le=1)
    hhi_high: float = Field(0.25, gt=0, le=1)
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


class KeyClientSettings(_Section):
    """Work with key clients: contact cadence, dossier reviews, risk and false clients (step 4)."""

    # a positive contact with every key client at least every this many days (seed on key clients)
    positive_every_days: int = Field(10, ge=1)
    # after a negative contact, no contact for this many days (seed: a two-week pause)
    pause_after_negative_days: int = Field(14, ge=0)
    # a dossier is reviewed in full at least every this many months
    review_every_months: int = Field(3, ge=1)
    # CRM outcome words -> positive | neutral | negative, for words the kit does not know
    contact_outcomes: dict[str, Literal["positive", "neutral", "negative"]] = Field(default_factory=dict)
    # at risk: revenue of the last risk_periods periods at least risk_drop below the periods before ...
    risk_periods: int = Field(3, ge=1)
    risk_drop: float = Field(0.20, gt=0, le=1)
    # ... or a negative contact within the last risk_negative_days days
    risk_negative_days: int = Field(30, ge=1)
    # false clients: at least this many stalled deals, none won, the first stalled at least false_months old
    false_min_stalled: int = Field(2, ge=1)
    false_months: int = Field(6, ge=0)


class CompanySettings(_Section):
    """Everything `company.yml` may hold."""

    name: str | None = None
    currency: str = "RUB"
    language: Literal["en", "ru"] = "en"
    # traits a salesperson can learn in the first conversation; the rest are "visible only after the sale"
    first_contact_traits: list[str] = Field(default_factory=list)
    anonymise: bool = False
    # how numbers are written when a column alone cannot tell ("1,234": thousands or a decimal?):
    # "1,234.56" or "1'234.56" (decimal point), "1 234,56" or "1.234,56" (decimal comma);
    # default from language and currency (ru, RUB, EUR, ... decimal comma; en with USD, GBP, ... point)
    number_format: Literal["1,234.56", "1.234,56", "1 234,56", "1'234.56"] | None = None
    # order of day and month when every date in a column reads both ways (01/02/2024): dmy, mdy or ymd;
    # default mdy for USD companies writing in English, else dmy
    date_order: Literal["dmy", "mdy", "ymd"] | None = None
    # IANA time zone (e.g. Europe/Moscow, America/New_York): timestamps with an offset or Z become the
    # calendar date there; default: the date as written in the file
    timezone: str | None = None
    # CRM stage or status as written -> won_fast | won | stalled | refused | open; adds to and overrides
    # the built-in HubSpot, Pipedrive, Salesforce, Bitrix24 and amoCRM stage names
    deal_stages: dict[str, Literal["won_fast", "won", "stalled", "refused", "open"]] = Field(default_factory=dict)
    # rows of an .xlsx hidden by a filter or by hand: use them (check lists them) or skip them
    hidden_rows: Literal["use", "skip"] = "use"
    load: LoadSettings = Field(default_factory=LoadSettings)
    abc: AbcSettings = Field(default_factory=AbcSettings)
    xyz: XyzSettings = Field(default_factory=XyzSettings)
    score: ScoreSettings = Field(default_factory=ScoreSettings)
    criteria: CriteriaSettings = Field(default_factory=CriteriaSettings)
    deals: DealsSettings = Field(default_factory=DealsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    key_clients: KeyClientSettings = Field(default_factory=KeyClientSettings)

    @field_validator("date_order", mode="before")
    @classmethod
    def _order_as_a_pattern(cls, value):
        """`date_order: DD.MM.YYYY` or `MM/DD/YYYY` (as a person names a format, and as `check` shows the
        reading chosen: "mm/dd/yyyy") means dmy or mdy."""
        if isinstance(value, str):
            letters = "".join(ch for ch in value.lower() if ch in "dmy")
            order = "".join(dict.fromkeys(letters))
            if len(letters) >= 3 and order in ("dmy", "mdy", "ymd"):
                return order
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value):
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Moscow or "
                             "America/New_York") from None
        return value

    @property
    def decimal_mark(self) -> str:
        """The decimal mark for a column whose cells read both ways: number_format, else the locale."""
        if self.number_format:
            return "," if self.number_format in ("1.234,56", "1 234,56") else "."
        if self.language == "ru" or self.currency.upper() in DECIMAL_COMMA_CURRENCIES:
            return ","
        return "."

    @property
    def day_order(self) -> str:
        """The date order for a column whose dates read both ways: date_order, else the locale."""
        if self.date_order:
            return self.date_order
        return "mdy" if self.currency.upper() == "USD" and self.language != "ru" else "dmy"

    @model_validator(mode="after")
    def _one_mono_client_line(self):
        """`abc.mono_client_share` and `audit.mono_client_share` name one rule: both written, they must agree."""
        both = "mono_client_share" in self.abc.model_fields_set and "mono_client_share" in self.audit.model_fields_set
        if both and self.abc.mono_client_share != self.audit.mono_client_share:
            raise ValueError(f"abc.mono_client_share ({self.abc.mono_client_share}) and audit.mono_client_share "
                             f"({self.audit.mono_client_share}) are one rule: keep one of them")
        return self

    @property
    def mono_client_share(self) -> float:
        """The mono-client line (a client above this share of revenue or margin), read once for every step.

        Written under `audit` or under `abc` (older files); the default 0.50 follows the seed on key clients.
        """
        if "mono_client_share" in self.audit.model_fields_set:
            return self.audit.mono_client_share
        return self.abc.mono_client_share


# currencies whose countries write a decimal comma (Russia and its neighbours, the euro area)
DECIMAL_COMMA_CURRENCIES = {"RUB", "EUR", "UAH", "BYN", "KZT", "UZS", "AMD", "GEL", "AZN", "KGS", "TJS", "MDL",
                            "PLN", "CZK", "SEK", "NOK", "DKK", "BRL", "TRY", "RON", "HUF", "BGN", "RSD", "IDR"}


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
    from helpers.core.safe_yaml import load_file

    # strict loader: no aliases (billion laughs), tags or symlinks leading out of the folder
    raw = load_file(path, code="bad_config", max_bytes=MAX_CONFIG_BYTES, root=Path(company_dir), shown=CONFIG_FILE)
    if raw is None:
        return CompanySettings()
    if not isinstance(raw, dict):
        raise DataProblem(problem("bad_config", file=CONFIG_FILE, detail="the file must hold settings as `key: value` lines"))
    try:
        return CompanySettings.model_validate(raw)
    except ValidationError as exc:
        raise DataProblem(_to_problems(exc, CONFIG_FILE)) from None
