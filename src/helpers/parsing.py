"""Step 1 (list and check the clients): turning exported text into numbers, dates and yes/no.

Real exports write "1 234 567,89 ₽", "(1 234,00)", "01.02.2024", Excel serials and "да"/"нет";
each parser is vectorised, keeps the fast path fast, and returns which cells it could not read.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Currency marks and spaces that may surround or split a number.
_CURRENCY = re.compile(r"(?i)(₽|руб\.?|р\.|rub|usd|eur|\$|€|£|грн\.?|тг\.?|kzt|byn)")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

YES = {"yes", "y", "true", "1", "да", "д", "есть", "+", "x", "✓", "истина"}
NO = {"no", "n", "false", "0", "нет", "н", "-", "ложь", "—"}
MISSING = {"", "nan", "none", "null", "n/a", "na", "#n/a", "-", "—", "не указано", "нет данных"}
NOT_CLOSED = {"не закрыта", "не закрыт", "open", "открыта"}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _clean_number(text: str) -> float | None:
    """One cell's number, or None when it is not a number."""
    s = text.strip()
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = _CURRENCY.sub("", s)
    s = _SPACES.sub("", s)
    if s.endswith("-") and s[:-1].replace(",", "").replace(".", "").isdigit():
        negative, s = True, s[:-1]
    if s.startswith("−"):  # a typographic minus
        s = "-" + s[1:]
    if "," in s and "." in s:
        # the last separator is the decimal one: 1,234.56 or 1.234,56
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        # "1,234" with exactly three digits after a single comma and more before is ambiguous;
        # Russian exports use the comma as decimal separator, so read it as a decimal comma
        s = head.replace(",", "") + "." + tail if head.count(",") == 0 else s.replace(",", "")
    if not _NUMBER.match(s):
        return None
    value = float(s)
    return -value if negative else value


def _floats(values: pd.Series) -> pd.Series:
    """Any numeric Series (numpy, nullable or Arrow-backed) as plain float64 with NaN for missing."""
    return pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read a column of exported numbers; returns (floats, mask of cells that were not numbers).

    Blank cells are NaN and not reported. Numbers already numeric pass through untouched.

    >>> nums, bad = parse_numbers(pd.Series(["1 234 567,89 ₽", "(1 234,00)", "12.5", "", "abc", "1\u00a0000 руб."]))
    >>> nums.tolist()[:3], bad.tolist()
    ([1234567.89, -1234.0, 12.5], [False, False, False, False, True, False])
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = values.astype("float64")
        return out, pd.Series(False, index=values.index)
    text = values.astype("string").str.strip()
    fast = _floats(pd.to_numeric(text, errors="coerce"))
    missing = (text.isna() | text.str.lower().isin(MISSING)).fillna(True).astype(bool)
    slow = fast.isna() & ~missing
    if slow.any():
        fixed = text[slow].map(_clean_number, na_action="ignore")
        fast[slow] = _floats(pd.to_numeric(fixed, errors="coerce"))
    bad = fast.isna() & ~missing
    return fast.astype("float64"), bad.astype(bool)


_DAYFIRST = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})")


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read a column of dates; returns (datetime64 values, mask of cells that were not dates).

    Accepts ISO dates and date-times, DD.MM.YYYY [HH:MM[:SS]], MM/DD/YYYY only when no value in the
    column has a first part above 12 would contradict it (day-first otherwise), Excel serial numbers,
    and "не закрыта"/"open" as missing.

    >>> d, bad = parse_dates(pd.Series(["2024-02-01", "01.02.2024 10:30", "45000", "не закрыта", "soon"]))
    >>> [x.strftime("%Y-%m-%d") if not pd.isna(x) else None for x in d], bad.tolist()
    (['2024-02-01', '2024-02-01', '2023-03-15', None, None], [False, False, False, False, True])
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]"), pd.Series(False, index=values.index)
    text = values.astype("string").str.strip()
    lowered = text.str.lower()
    missing = text.isna() | lowered.isin(MISSING | NOT_CLOSED)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    iso = pd.to_datetime(text.where(text.str.match(r"^\d{4}-\d{2}-\d{2}", na=False)), errors="coerce",
                         format="ISO8601")
    out = out.fillna(iso) if iso.notna().any() else out
    rest = out.isna() & ~missing
    if rest.any():
        parts = text[rest].str.extract(_DAYFIRST)
        firsts = pd.to_numeric(parts[0], errors="coerce")
        seconds = pd.to_numeric(parts[1], errors="coerce")
        slashes = text[rest].str.contains("/", na=False)
        # month-first only for a slash column where some second part exceeds 12 and no first part does
        month_first = bool(slashes.all() and (seconds > 12).any() and not (firsts > 12).any())
        sample = text[rest]
        for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%d-%m-%Y",
                    "%m/%d/%Y" if month_first else "%d/%m/%Y", "%Y.%m.%d", "%Y/%m/%d"):
            if month_first and fmt == "%d/%m/%Y":
                continue
            parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
            out = out.fillna(parsed)
            sample = sample[out[sample.index].isna()]
            if sample.empty:
                break
    rest = out.isna() & ~missing
    if rest.any():
        serial = pd.to_numeric(text[rest].str.replace(",", ".", regex=False), errors="coerce")
        plausible = serial.between(20000, 80000)  # 1954 .. 2119
        out[serial[plausible].index] = EXCEL_EPOCH + pd.to_timedelta(serial[plausible].round(6), unit="D")
    bad = out.isna() & ~missing
    return out, bad.astype(bool)


def parse_yesno(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read yes/no cells (yes/no, да/нет, 1/0, true/false); returns (pandas boolean, mask of unreadable).

    >>> v, bad = parse_yesno(pd.Series(["Да", "no", "1", "", "maybe"]))
    >>> v.tolist(), bad.tolist()
    ([True, False, True, <NA>, <NA>], [False, False, False, False, True])
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), pd.Series(False, index=values.index)
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(YES).fillna(False).astype(bool)] = True
    out[text.isin(NO - {"-", "—"}).fillna(False).astype(bool)] = False
    missing = text.isna() | text.isin(MISSING)
    bad = out.isna() & ~missing
    return out, bad.astype(bool)


def looks_like_yesno(values: pd.Series) -> bool:
    """True when every non-blank value is a yes/no word and both kinds could occur."""
    text = values.astype("string").str.strip().str.lower().dropna()
    text = text[~text.isin(MISSING)]
    return bool(len(text)) and bool(text.isin((YES | NO) - {"-", "—", "+", "x"}).all()) and \
        not bool(text.isin({"0", "1"}).all() and text.nunique() > 2)


def share_numeric(values: pd.Series) -> float:
    """Share of non-blank cells that read as numbers."""
    nums, bad = parse_numbers(values)
    filled = nums.notna() | bad
    return float(nums.notna().sum() / filled.sum()) if filled.any() else 0.0
