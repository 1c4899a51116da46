"""Step 5 of the method, the page: numbers, shares and money written the way the team's language writes them.

One place for every number a user reads in the report, the printable checklist and the worksheets:
counts as whole numbers with the language's thousands separator (EN `1,234`, RU `1 234` with a
no-break space), shares as `54%`, money with the currency where the language puts it (EN `$1,234`,
`RUB 1,234`; RU `1 234 ₽`) and small-sample intervals as `54% [31–75%]`. The locale rules come from
Babel (the Unicode CLDR data), not from hand-written separators.
"""

from __future__ import annotations

import datetime
import math
import numbers
import re
from typing import Any

import pandas as pd
from babel.numbers import format_currency as _babel_currency
from babel.numbers import format_decimal as _babel_decimal
from babel.numbers import get_currency_symbol, list_currencies

from helpers.core.i18n import LANGUAGES, get_language

# Babel locale per language of the kit
LOCALES = {"en": "en_US", "ru": "ru_RU"}
NBSP = "\u00a0"
# Shares are written without a space before % in both languages (the issue's `54%`; CLDR's Russian
# pattern would put a no-break space there).
_PERCENT = {0: "#,##0%", 1: "#,##0.0%"}
_KNOWN_CURRENCIES = frozenset(list_currencies())
# Column names (raw or already human) that hold shares 0..1 or money; used only when every value fits.
_SHARE_NAME = re.compile(r"(share|_pct\b|percent|\brate\b|_rate\b|stability|доля|%)", re.IGNORECASE)
_MONEY_NAME = re.compile(r"(revenue|amount|margin|budget|выручк|сумм|маржа|бюджет)", re.IGNORECASE)


def _locale(lang: str | None) -> str:
    lang = lang or get_language()
    return LOCALES.get(lang if lang in LANGUAGES else "en", "en_US")


def _missing(value: Any) -> bool:
    """None, NaN, pandas NA and NaT (scalars only; text is never missing)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are values, not missing
        return False


def format_count(value: Any, lang: str | None = None) -> str:
    """A count as a whole number with the language's thousands separator; "" when missing.

    >>> format_count(12.0, "en"), format_count(1234567, "en"), format_count(1234567, "ru") == "1\\u00a0234\\u00a0567"
    ('12', '1,234,567', True)
    """
    if _missing(value):
        return ""
    return _babel_decimal(round(float(value)), format="#,##0", locale=_locale(lang))


def format_number(value: Any, lang: str | None = None, *, decimals: int = 2, signed: bool = False) -> str:
    """A number: whole values as counts, others with at most `decimals` decimals (trailing zeros dropped).

    RU uses a decimal comma. `signed` writes a plus for positive values (effects and differences).

    >>> format_number(3.14159, "en"), format_number(3.5, "ru"), format_number(12.0, "en"), format_number(0.25, "en", signed=True)
    ('3.14', '3,5', '12', '+0.25')
    """
    if _missing(value):
        return ""
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    if signed:
        pattern = "+" + pattern + ";-" + pattern
    text = _babel_decimal(value, format=pattern, locale=_locale(lang))
    return "0" if text in ("+0", "-0") else text


def format_percent(share: Any, lang: str | None = None, *, decimals: int = 0) -> str:
    """A share 0..1 as a percentage: `54%`. A share that is not 0 (or 1) but rounds to it says so.

    With tiers of 5-60 clients a decimal place is noise, so whole percent is the default; "<1%"
    and ">99%" keep a rare event from reading as "never" or "always".

    >>> format_percent(0.54, "en"), format_percent(0.54, "ru"), format_percent(0.001, "en"), format_percent(1.0, "en")
    ('54%', '54%', '<1%', '100%')
    >>> format_percent(0.9999, "en"), format_percent(0.12345, "ru", decimals=1), format_percent(None)
    ('>99%', '12,3%', '')
    """
    if _missing(share):
        return ""
    share = float(share)
    step = 10 ** -(decimals + 2)
    if 0 < share < step / 2:
        return "<" + format_percent(step, lang, decimals=decimals)
    if 1 - step / 2 < share < 1:
        return ">" + format_percent(1 - step, lang, decimals=decimals)
    return _babel_decimal(share, format=_PERCENT.get(decimals, _PERCENT[1]), locale=_locale(lang))


def format_interval(low: Any, high: Any, lang: str | None = None, *, percent: bool = True) -> str:
    """A 95% interval as `31–75%` (shares) or `−0.12 … +0.40` (signed effects); "" when a bound is missing.

    >>> format_interval(0.31, 0.754, "en"), format_interval(-0.12, 0.4, "ru", percent=False)
    ('31–75%', '-0,12 … +0,4')
    """
    if _missing(low) or _missing(high):
        return ""
    if percent:
        return format_percent(low, lang).rstrip("%") + "–" + format_percent(high, lang)
    return f"{format_number(low, lang, signed=True)} … {format_number(high, lang, signed=True)}"


def format_share_interval(share: Any, low: Any, high: Any, lang: str | None = None) -> str:
    """A share with its interval, the way every small-sample share in the report is written.

    >>> format_share_interval(0.54, 0.31, 0.75, "en"), format_share_interval(0.54, None, None, "en")
    ('54% [31–75%]', '54%')
    """
    interval = format_interval(low, high, lang)
    text = format_percent(share, lang)
    return f"{text} [{interval}]" if interval and text else text


def format_money(amount: Any, currency: str | None, lang: str | None = None, *, decimals: int = 0) -> str:
    """An amount with its currency as the language writes it; "—" when missing.

    An ISO code known to CLDR gets the language's symbol and position (EN `$1,234`, `€1,234`,
    `RUB 1,234` where English has no symbol; RU `1 234 ₽`, `1 234 $`). Any other text (`руб.`, `₽`)
    is written after the number, or before it in English when it is one symbol. Amounts default to
    whole units: client revenue is read in thousands, not kopecks.

    >>> format_money(1234567.4, "USD", "en"), format_money(1234567, "RUB", "en").replace("\u00a0", " ")
    ('$1,234,567', 'RUB 1,234,567')
    >>> format_money(-40, "EUR", "en")
    '-€40'
    >>> format_money(1234567.5, "RUB", "ru", decimals=2) == "1\\u00a0234\\u00a0567,50\\u00a0₽"
    True
    >>> format_money(1500, "руб.", "ru").replace("\\u00a0", " "), format_money(7, "₽", "en"), format_money(None, "RUB")
    ('1 500 руб.', '₽7', '—')
    """
    if _missing(amount):
        return "—"
    lang = lang or get_language()
    locale = _locale(lang)
    digits = "." + "0" * decimals if decimals > 0 else ""
    code = (currency or "").strip()
    number = _babel_decimal(float(amount), format="#,##0" + digits, locale=locale)
    if not code:
        return number
    if code.upper() in _KNOWN_CURRENCIES:
        code = code.upper()
        symbol = get_currency_symbol(code, locale)
        if locale.startswith("ru"):
            pattern = "#,##0" + digits + NBSP + "¤"
        elif symbol == code:  # no English symbol: the ISO code, separated by a space
            pattern = "¤" + NBSP + "#,##0" + digits
        else:
            pattern = "¤#,##0" + digits
        return _babel_currency(float(amount), code, format=pattern, locale=locale, currency_digits=False)
    if not lang.startswith("ru") and len(code) == 1 and not code.isalnum():
        return ("-" if float(amount) < 0 else "") + code + number.lstrip("-")
    return number + NBSP + code


def is_share_column(name: Any, values) -> bool:
    """True when a column reads as shares: its name says share/rate/% and every value is within 0..1.

    >>> is_share_column("revenue_share", [0.1, 0.54]), is_share_column("revenue_share", [3.0]), is_share_column("n", [0.5])
    (True, False, False)
    """
    if not _SHARE_NAME.search(str(name)):
        return False
    numbers_seen = [float(v) for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)
                    and not _missing(v)]
    others = [v for v in values if not _missing(v) and not (isinstance(v, numbers.Real) and not isinstance(v, bool))]
    return bool(numbers_seen) and not others and all(0.0 <= v <= 1.0 for v in numbers_seen)


def is_money_column(name: Any) -> bool:
    """True when a column's name says it holds money (revenue, amount, margin; выручка, сумма ...).

    >>> is_money_column("revenue"), is_money_column("Выручка, ₽"), is_money_column("clients")
    (True, True, False)
    """
    return bool(_MONEY_NAME.search(str(name)))


def format_cell(value: Any, kind: str | None = None, lang: str | None = None, *,
                currency: str | None = None) -> tuple[str, bool]:
    """One table cell as (text, is_number). `kind` is "percent", "money", "count", "number" or None (guess).

    Guessing: booleans become ✓ / —, whole numbers are counts (`12`, never `12.00`), other numbers
    get at most two decimals; text is kept as it is. Missing values are blank.

    >>> format_cell(12.0), format_cell(0.5432, "percent", "en"), format_cell(True), format_cell("x")
    (('12', True), ('54%', True), ('✓', False), ('x', False))
    >>> format_cell(1234.5, "money", "en", currency="EUR")
    ('€1,234', True)
    """
    if isinstance(value, (list, tuple, dict, set)):
        return ", ".join(map(str, value)) if not isinstance(value, dict) else str(value), False
    if _missing(value):
        return "", False
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():  # pd.Timestamp too
        return value.date().isoformat(), False  # a day, not midnight: "2026-05-26", never "2026-05-26 00:00:00"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return ("✓" if value else "—"), False
    if not isinstance(value, numbers.Real):
        return str(value), False
    if kind == "percent":
        return format_percent(value, lang), True
    if kind == "money":
        return format_money(value, currency, lang), True
    if kind == "count" or (isinstance(value, numbers.Integral)) or float(value).is_integer():
        if abs(float(value)) < 1e15:
            return format_count(value, lang), True
    if abs(float(value)) >= 1e15:
        return f"{float(value):.3g}", True
    return format_number(value, lang), True


def column_kinds(frame, *, currency: str | None = None, formats: dict[str, str] | None = None) -> dict[Any, str | None]:
    """The display kind of every column of a DataFrame: given in `formats`, else guessed from name and values.

    A money column (by its name) is written in whole units, with the currency only when one is given
    (a bare number is safer than a wrong currency); a share column only when every value lies in 0..1.
    """
    formats = dict(formats or {})
    kinds: dict[Any, str | None] = {}
    for column in frame.columns:
        if column in formats:
            kinds[column] = formats[column]
            continue
        values = frame[column].tolist()
        if is_share_column(column, values):
            kinds[column] = "percent"
        elif is_money_column(column) and all(
                _missing(v) or (isinstance(v, numbers.Real) and not isinstance(v, bool)) for v in values):
            kinds[column] = "money"
        else:
            kinds[column] = None
    return kinds
