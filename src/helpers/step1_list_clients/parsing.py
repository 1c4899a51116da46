"""Step 1 (list and check the clients): turning exported text into numbers, dates and yes/no.

Real exports write "1 234 567,89 ₽", "(1 234,00)", "01.02.2024", Excel serials and "да"/"нет";
each parser is vectorised, keeps the fast path fast, and returns which cells it could not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Currency marks, words and codes that may surround a number; spaces of every width and the Swiss
# apostrophe only ever group thousands. Patterns are RE2-compatible (Arrow's regex engine runs them
# on whole columns) and spell digits as [0-9]: RE2's \d and \s are ASCII-only.
_CURRENCY = (r"(?i)(₽|руб\.?|р\.|rub|usd|eur|chf|gbp|cad|aud|kzt|byn|uah|грн\.?|тг\.?|us\$|\$|€|£|¥|₴|₸|"
             r"sfr\.?|fr\.)")
_SPACES = "[ \t\u00a0\u202f\u2009\u2007'’]"
# "1,2 млн", "3.5k", "$1.2M": a scale word after the number
_SCALES = ((r"(?i)(тыс\.?|k|thousand)$", 1e3), (r"(?i)(млн\.?|mn|million|mio|m)$", 1e6),
           (r"(?i)(млрд\.?|bn|billion)$", 1e9))
# One cell read with the comma as thousands mark ("us": 1,234.56) or with the comma as decimal mark
# ("eu": 1.234,56 — after spaces are gone, "1 234,56" is the same shape).
# Each needs a digit somewhere: "+", "." or "" alone are not numbers.
_US = r"[+-]?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_EU = r"[+-]?(([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?|,[0-9]+)([eE][+-]?[0-9]+)?"
MISSING = {"", "nan", "none", "null", "n/a", "na", "#n/a", "-", "—", "не указано", "нет данных"}
YES = {"yes", "y", "true", "1", "да", "д", "есть", "+", "x", "✓", "истина"}
NO = {"no", "n", "false", "0", "нет", "н", "-", "ложь", "—"}
NOT_CLOSED = {"не закрыта", "не закрыт", "open", "открыта"}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# The decimal mark a reading uses, named as a person would write a number with it.
NUMBER_FORMATS = {"1,234.56": ".", "1.234,56": ",", "1 234,56": ",", "1'234.56": "."}
DATE_ORDERS = ("dmy", "mdy", "ymd")


@dataclass
class NumberReading:
    """A column of numbers as read: values, unreadable cells, and how the column was understood.

    values     float64, NaN for blank and unreadable cells
    bad        bool mask of cells that are not numbers (blank cells are not bad)
    decimal    the decimal mark the column's ambiguous cells were read with ("." or ","), None when
               no cell needed the choice
    ambiguous  cells such as "1,234" could be read both ways and nothing in the column decided:
               the fallback (company.yml number_format, or the locale) chose; `examples` shows some
    mixed      cells prove both marks ("1,5" and "1,020,400"): each such cell keeps its own reading
    """

    values: pd.Series
    bad: pd.Series
    decimal: str | None = None
    ambiguous: bool = False
    mixed: bool = False
    examples: list[str] = field(default_factory=list)


def read_numbers(values: pd.Series, *, decimal: str = ",") -> NumberReading:
    """Read a column of exported numbers, deciding the thousands and decimal marks from all its cells.

    Each cell is tried both ways: comma as thousands mark (1,234.56) and comma as decimal mark
    (1.234,56; 1 234,56). A cell only one way reads is read that way; "254,908" or "1.234" read
    both ways to different values and follow the column: the mark other cells prove ("1,020,400"
    proves comma thousands, "7,5" proves decimal comma). When nothing proves it, `decimal` (the
    company's locale) decides and `ambiguous` is set so `check` can say so. Spaces, NBSP, U+202F
    and the Swiss apostrophe group thousands; currency marks, "(1 200)" and "1 200-" negatives and
    scale words ("1,2 млн", "3.5k") are understood. Vectorised (Arrow string kernels); the input
    is never changed.

    >>> r = read_numbers(pd.Series(["254,908", "1,020,400", "980"]))
    >>> r.values.tolist(), r.decimal, r.ambiguous
    ([254908.0, 1020400.0, 980.0], '.', False)
    >>> read_numbers(pd.Series(["1,200", "12"]), decimal=".").ambiguous
    True
    """
    index = values.index
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return NumberReading(values.astype("float64"), pd.Series(False, index=index))
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.astype("string[pyarrow]").str.strip()
    cells = _arrow(text)
    missing = (pc.is_null(cells).to_numpy(zero_copy_only=False)
               | pc.is_in(pc.utf8_lower(cells), value_set=pa.array(sorted(MISSING))).fill_null(True)
               .to_numpy(zero_copy_only=False))
    # plain numbers ("1234.5", "-7", "1e3") are cast by Arrow in one step; only the rest is looked at
    plain = _matches(cells, r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
    out = pc.cast(pc.if_else(pa.array(plain), cells, pa.scalar(None, cells.type)), pa.float64()
                  ).to_numpy(zero_copy_only=False).astype("float64", copy=True)
    # a plain cell with a dot followed by exactly three digits ("1.234") may be thousands
    some_plain = plain.any()  # a column of "1 234,56" has none: skip the passes over plain cells
    amb_dot = plain & _matches(cells, r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}") if some_plain else plain
    slow = ~missing & ~plain
    us_only = plain & ~amb_dot & _matches(cells, r".*\..*") if some_plain else plain.copy()
    eu_only = np.zeros(len(text), dtype=bool)
    amb_value = {".": out.copy(), ",": out.copy()}  # ambiguous cells' value with each decimal mark
    amb = amb_dot.copy()
    if amb_dot.any():
        amb_value[","][amb_dot] = out[amb_dot] * 1000
    if slow.any():
        s_us, s_eu, s_amb, v_dot, v_comma, s_bad = _read_slow(text[slow])
        out[slow] = np.where(s_us, v_dot, np.where(s_eu, v_comma, np.where(s_amb | s_bad, np.nan, v_dot)))
        us_only[slow], eu_only[slow], amb[slow] = s_us, s_eu, s_amb
        amb_value["."][slow], amb_value[","][slow] = v_dot, v_comma
    n_us, n_eu = int(us_only.sum()), int(eu_only.sum())
    reading = NumberReading(pd.Series(out, index=index), pd.Series(False, index=index), mixed=bool(n_us and n_eu))
    if amb.any():
        if n_us != n_eu:
            chosen = "." if n_us > n_eu else ","
        else:
            chosen, reading.ambiguous = decimal, True
            reading.examples = text[amb].drop_duplicates().head(3).astype(str).tolist()
        out[amb] = amb_value[chosen][amb]
        reading.decimal = chosen
        reading.values = pd.Series(out, index=index)
    reading.bad = pd.Series(np.isnan(out) & ~missing, index=index)
    return reading


def _arrow(values: pd.Series):
    import pyarrow as pa

    array = pa.array(values.astype("string[pyarrow]"))
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _matches(values, pattern: str) -> np.ndarray:
    """Cells matching `pattern` as a whole (Arrow's RE2 engine; missing cells do not match)."""
    import pyarrow.compute as pc

    array = values if not isinstance(values, pd.Series) else _arrow(values)
    return pc.match_substring_regex(array, f"^(?:{pattern})$").fill_null(False).to_numpy(zero_copy_only=False)


_SPACE_CHARS = " \t\u00a0\u202f\u2009\u2007'’"


def _drop_characters(array, characters: str):
    """The Arrow string array with every one of `characters` removed (literal replaces, each only when
    the character occurs: several times cheaper per cell than one regex replace)."""
    import pyarrow.compute as pc

    if not pc.match_substring_regex(array, "[" + re.escape(characters) + "]").fill_null(False).to_numpy(
            zero_copy_only=False).any():
        return array
    for ch in characters:
        if pc.match_substring(array, ch).fill_null(False).to_numpy(zero_copy_only=False).any():
            array = pc.replace_substring(array, ch, "")
    return array


def _read_slow(text: pd.Series) -> tuple[np.ndarray, ...]:
    """Cells that are not plain numbers: (only-dot-decimal, only-comma-decimal, both, value with dot
    decimal, value with comma decimal, unreadable) as arrays. Each step is one Arrow kernel over the
    column, and steps for marks the column does not hold are skipped, so a million "1 234,56 ₽"
    cells take a fraction of a second."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = _arrow(text)
    n = len(text)

    def has(pattern: str) -> np.ndarray:
        return pc.match_substring_regex(s, pattern).fill_null(False).to_numpy(zero_copy_only=False)

    s = _drop_characters(s, _SPACE_CHARS)
    negative = np.zeros(n, dtype=bool)
    unusual = has(r"[^0-9.,+-]|[0-9]-$")  # one pass: are there signs, marks or words to look at at all?
    if not unusual.any():
        return _two_readings(s, negative, np.ones(n))
    if pc.match_substring(s, "−").fill_null(False).to_numpy(zero_copy_only=False).any():
        s = pc.replace_substring(s, "−", "-")
    if has(r"^\(").any():
        wrapped = _matches(s, r"\(.*\)")
        negative |= wrapped
        s = pc.if_else(pa.array(wrapped), pc.utf8_slice_codeunits(s, 1, -1), s)
    trailing = has("[0-9]-$")
    if trailing.any():
        negative |= trailing
        s = pc.replace_substring_regex(s, r"([0-9])-$", r"\1")
    if has(_CURRENCY).any():
        s = pc.replace_substring_regex(s, _CURRENCY, "")
    scale = np.ones(n)
    if has("[^0-9.,+eE-]").any():  # letters left after the currency: a scale word ("1,2 млн", "3.5k")?
        for pattern, factor in _SCALES:
            found = has(pattern)
            if found.any():
                scale[found] = factor
                s = pc.replace_substring_regex(s, pattern, "")
        s = _drop_characters(s, _SPACE_CHARS)
    return _two_readings(s, negative, scale)


def _two_readings(s, negative: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cleaned cells read with the dot and with the comma as decimal mark (see `_read_slow`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(s)
    us_ok, eu_ok = _matches(s, _US), _matches(s, _EU)

    def number(cells, ok) -> np.ndarray:
        if not ok.any():
            return np.full(n, np.nan)
        kept = pc.if_else(pa.array(ok), cells, pa.scalar(None, cells.type))
        return pc.cast(kept, pa.float64()).to_numpy(zero_copy_only=False)

    v_dot = number(pc.replace_substring(s, ",", ""), us_ok)
    v_comma = number(pc.replace_substring(pc.replace_substring(s, ".", ""), ",", "."), eu_ok)
    sign = np.where(negative, -1.0, 1.0) * scale
    v_dot, v_comma = v_dot * sign, v_comma * sign
    both = us_ok & eu_ok
    amb = both & ~np.isclose(v_dot, v_comma, equal_nan=False)
    return us_ok & ~eu_ok, eu_ok & ~us_ok, amb, v_dot, v_comma, ~us_ok & ~eu_ok


def parse_numbers(values: pd.Series, *, decimal: str = ",") -> tuple[pd.Series, pd.Series]:
    """Read a column of exported numbers; returns (floats, mask of cells that were not numbers).

    Blank cells are NaN and not reported. Numbers already numeric pass through untouched. The
    column's format is decided from all its cells (see `read_numbers`); `decimal` breaks a tie.

    >>> nums, bad = parse_numbers(pd.Series(["1 234 567,89 ₽", "(1 234,00)", "12.5", "", "abc", "1\u00a0000 руб."]))
    >>> nums.tolist()[:3], bad.tolist()
    ([1234567.89, -1234.0, 12.5], [False, False, False, False, True, False])
    """
    reading = read_numbers(values, decimal=decimal)
    return reading.values, reading.bad


# a date with its parts, an optional time of day and an optional UTC offset, as every export writes it
_DATE_PARTS = re.compile(
    r"^(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:(?:[ T]+|,\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$")


@dataclass
class DateReading:
    """A column of dates as read.

    values     datetime64[ns], tz-naive, the calendar date (time of day dropped) — in the company's
               time zone when one is set and the cell carried an offset, else as written
    bad        bool mask of cells that are not dates (blank and "не закрыта" are not bad)
    order      "dmy", "mdy" or "ymd" for the day-month cells, None when the column had none
    ambiguous  every such cell read both ways (01/02/2024): `order` came from company.yml date_order
               or the locale, not from the data; `examples` shows some cells
    """

    values: pd.Series
    bad: pd.Series
    order: str | None = None
    ambiguous: bool = False
    examples: list[str] = field(default_factory=list)


def read_dates(values: pd.Series, *, order: str = "dmy", timezone: str | None = None) -> DateReading:
    """Read a column of dates, deciding day-first or month-first from all its cells.

    Accepts ISO dates and timestamps (with `T`, fractions, `Z` or offsets such as `-0400` that
    may change with daylight saving inside the column), DD.MM.YYYY and MM/DD/YYYY with or without
    a time (`12/1/2010 8:26`, `31.12.2023 14:05`, AM/PM), two-digit years, Excel serial numbers,
    English month names, and "не закрыта"/"open" as missing. A first part above 12 proves day-first
    and a second part above 12 proves month-first; when no cell proves either, `order` decides
    and `ambiguous` is set. Cells contradicting the proven order are bad. With `timezone` (an IANA
    name), a timestamp carrying an offset becomes the calendar date in that zone; without it, the
    date as written. Works on the distinct cells, so a million-row log with a few hundred dates is
    fast.

    >>> r = read_dates(pd.Series(["12/13/2010 8:26", "01/02/2011"]))
    >>> [str(x.date()) for x in r.values], r.order, r.ambiguous
    (['2010-12-13', '2011-01-02'], 'mdy', False)
    """
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
        if getattr(values.dt, "tz", None) is not None:
            out = values.dt.tz_convert(timezone).dt.tz_localize(None) if timezone else values.dt.tz_localize(None)
        return DateReading(out.astype("datetime64[ns]").dt.normalize(), pd.Series(False, index=index))
    text = values.astype("string[pyarrow]").str.strip()
    lowered = text.str.lower()
    missing = (text.isna() | lowered.isin(MISSING | NOT_CLOSED)).fillna(True).astype(bool).to_numpy()
    # parse each distinct cell once: a log of a million rows holds a few hundred dates
    codes, distinct = pd.factorize(text.where(~missing))
    cells = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
    parsed, order_used, ambiguous, examples = _dates_of_distinct(cells, order, timezone)
    stamps = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    out = pd.Series(stamps[codes], index=index, dtype="datetime64[ns]")  # code -1 (missing) -> NaT
    bad = pd.Series(out.isna().to_numpy() & ~missing, index=index)
    return DateReading(out, bad, order_used, ambiguous, examples)


def _dates_of_distinct(cells: pd.Series, order: str, timezone: str | None):
    result = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]")
    if cells.empty:
        return result, None, False, []
    parts = cells.str.extract(_DATE_PARTS)
    a, b, c = (pd.to_numeric(parts[k], errors="coerce") for k in ("a", "b", "c"))
    year_first = parts["a"].str.len() == 4
    year_last = parts["a"].notna() & ~year_first & parts["c"].str.len().isin([2, 4])
    first_big, second_big = year_last & (a > 12), year_last & (b > 12)
    differ = year_last & (a != b) & (a <= 12) & (b <= 12)
    order_used, ambiguous, examples = None, False, []
    if year_last.any():
        if first_big.any() and not second_big.any():
            order_used = "dmy"
        elif second_big.any() and not first_big.any():
            order_used = "mdy"
        elif first_big.any():  # both proven: the larger group wins, the others are bad cells
            order_used = "dmy" if first_big.sum() >= second_big.sum() else "mdy"
        elif parts.loc[year_last, "sep"].eq(".").all():
            order_used = "dmy"  # dotted dates are day-first wherever they are written
        else:
            order_used = order if order in ("dmy", "mdy") else "dmy"
            ambiguous = bool(differ.any())
            examples = cells[differ].head(3).tolist()
    day = pd.Series(np.nan, index=cells.index)
    month = pd.Series(np.nan, index=cells.index)
    year = pd.Series(np.nan, index=cells.index)
    day[year_first], month[year_first], year[year_first] = c[year_first], b[year_first], a[year_first]
    if order_used == "mdy":
        day[year_last], month[year_last] = b[year_last], a[year_last]
    else:
        day[year_last], month[year_last] = a[year_last], b[year_last]
    short = year_last & (parts["c"].str.len() == 2)
    year[year_last] = c[year_last]
    year[short] = np.where(c[short] <= (pd.Timestamp.now().year % 100) + 10, 2000 + c[short], 1900 + c[short])
    hour = pd.to_numeric(parts["H"], errors="coerce").fillna(0)
    pm = parts["ampm"].fillna("").str.lower().str.startswith("p")
    am = parts["ampm"].fillna("").str.lower().str.startswith("a")
    hour = hour.where(~(pm & (hour < 12)), hour + 12).where(~(am & (hour == 12)), 0)
    frame = pd.DataFrame({"year": year, "month": month, "day": day, "hour": hour,
                          "minute": pd.to_numeric(parts["M"], errors="coerce").fillna(0),
                          "second": pd.to_numeric(parts["S"], errors="coerce").fillna(0)})
    ok = frame[["year", "month", "day"]].notna().all(axis=1) & (frame["hour"] < 24)
    if ok.any():
        stamps = pd.to_datetime(frame[ok], errors="coerce")
        tz = parts.loc[ok, "tz"]
        if timezone and tz.notna().any():
            offset = tz.map(_offset_minutes, na_action="ignore")
            aware = tz.notna()
            utc = (stamps[aware] - pd.to_timedelta(offset[aware], unit="min")).dt.tz_localize("UTC")
            stamps[aware] = utc.dt.tz_convert(timezone).dt.tz_localize(None)
        result[ok] = stamps.dt.normalize()
    rest = result.isna()
    if rest.any():  # Excel serial numbers (1954 .. 2119)
        serial = pd.to_numeric(cells[rest].str.replace(",", ".", regex=False), errors="coerce")
        plausible = serial[serial.between(20000, 80000)]
        result[plausible.index] = (EXCEL_EPOCH + pd.to_timedelta(plausible.round(6), unit="D")).dt.normalize()
    rest = result.isna() & cells.str.contains(r"[A-Za-z]{3}", regex=True) & ~parts["a"].notna()
    if rest.any():  # month names ("Jan 5, 2024", "5 January 2024"): unambiguous, dateutil reads them
        named = pd.to_datetime(cells[rest], errors="coerce", format="mixed", dayfirst=order != "mdy")
        if getattr(named.dt, "tz", None) is not None:
            named = named.dt.tz_localize(None)
        result[rest] = named.dt.normalize()
    return result, order_used, ambiguous, examples


def _offset_minutes(text: str) -> float:
    if text in ("Z", "UTC", "GMT"):
        return 0.0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))


def parse_dates(values: pd.Series, *, order: str = "dmy", timezone: str | None = None
                ) -> tuple[pd.Series, pd.Series]:
    """Read a column of dates; returns (datetime64 values, mask of cells that were not dates).

    See `read_dates` for the formats; `order` decides a column whose every cell reads both ways.

    >>> d, bad = parse_dates(pd.Series(["2024-02-01", "01.02.2024 10:30", "45000", "не закрыта", "soon"]))
    >>> [x.strftime("%Y-%m-%d") if not pd.isna(x) else None for x in d], bad.tolist()
    (['2024-02-01', '2024-02-01', '2023-03-15', None, None], [False, False, False, False, True])
    """
    reading = read_dates(values, order=order, timezone=timezone)
    return reading.values, reading.bad


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
