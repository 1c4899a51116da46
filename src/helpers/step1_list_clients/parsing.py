"""Step 1 (list and check the clients): turning exported text into numbers, dates and yes/no.

Real exports write "1 234 567,89 ₽", "(1 234,00)", "01.02.2024", Excel serials and "да"/"нет";
each parser is vectorised, keeps the fast path fast, and returns which cells it could not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.core.vocabulary import DASH_WORDS, NO_WORDS, YES_WORDS, YESNO_DETECT_WORDS

# Currency marks, words and codes that may surround a number; spaces of every width and the Swiss
# apostrophe only ever group thousands. Patterns are RE2-compatible (Arrow's regex engine runs them
# on whole columns) and spell digits as [0-9]: RE2's \d and \s are ASCII-only.
_CURRENCY = (r"(?i)(₽|руб(?:л[а-яё]*)?\.?|р\.|р$|rub\.?|rur\.?|usd|eur|chf|gbp|cad|aud|kzt|byn|uah|грн\.?|тг\.?|"
             r"inr|rs\.?|₹|jpy|cny|pln|zł|sek|nok|dkk|kr\.?|brl|mxn|try|₺|r\$|us\$|\$|€|£|¥|₴|₸|sfr\.?|fr\.)")  # "р" alone only at the end: "1 000 р", never inside "млрд"
_SPACES = "[ \t\u00a0\u202f\u2009\u2007'’]"
# "15%", "15,5 %" (any space, RE2's \s being ASCII-only), "(4%)": a percent sign after the last digit
_PERCENT_END = "[0-9][ \t\u00a0\u202f\u2009\u2007]*%\\)?$"
_PERCENT_SIGN = "([0-9])[ \t\u00a0\u202f\u2009\u2007]*%(\\)?)$"  # the same, the digit and bracket kept
# "1,2 млн", "3.5k", "$1.2M": a scale word after the number
# ("MM", "mln", "Mio." are millions in finance and German exports; "B" a billion)
_SCALES = ((r"(?i)(тыс\.?|k|thousand)$", 1e3), (r"(?i)(млн\.?|mm|mln\.?|mn|million|mio\.?|m)$", 1e6),
           (r"(?i)(млрд\.?|bn|billion|b)$", 1e9))
# One cell read with the comma as thousands mark ("us": 1,234.56) or with the comma as decimal mark
# ("eu": 1.234,56 — after spaces are gone, "1 234,56" is the same shape).
# Each needs a digit somewhere: "+", "." or "" alone are not numbers.
# Comma thousands as in the US (1,234,567) or in India (12,34,567: lakh and crore, two-digit groups before
# the last three, as Tally and Zoho Books India write amounts); both read by dropping the commas.
_US = r"[+-]?(([0-9]{1,3}(,[0-9]{3})+|[0-9]{1,2}(,[0-9]{2})+,[0-9]{3}|[0-9]+)(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_EU = r"[+-]?(([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?|,[0-9]+)([eE][+-]?[0-9]+)?"
MISSING = {"", "nan", "none", "null", "n/a", "na", "#n/a", "-", "—", "не указано", "нет данных"}
# The one yes/no list (core.vocabulary says why each word is in it); YES and NO kept for older callers.
YES, NO = YES_WORDS, NO_WORDS
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
    percent    how many cells carried "%" ("15%", "15,5 %", "(4%)"): each was read as a share, value/100
    percent_plain  how the column's other cells were read beside them: "percent" (every one above 1 in
               size: "15" is 15 %, read 0.15), "share" (every one within ±1: "0.15" is already a share),
               None when there were none
    unsure     bool mask of cells without "%" in a column with "%" cells that fit neither reading (some
               above 1, some within ±1): left NaN and reported by row, never guessed
    """

    values: pd.Series
    bad: pd.Series
    decimal: str | None = None
    ambiguous: bool = False
    mixed: bool = False
    examples: list[str] = field(default_factory=list)
    percent: int = 0
    percent_plain: str | None = None
    unsure: pd.Series | None = None


def read_numbers(values: pd.Series, *, decimal: str = ",") -> NumberReading:
    """Read a column of exported numbers, deciding the thousands and decimal marks from all its cells.

    Each cell is tried both ways: comma as thousands mark (1,234.56) and comma as decimal mark
    (1.234,56; 1 234,56). A cell only one way reads is read that way; "254,908" or "1.234" read
    both ways to different values and follow the column: the mark other cells prove ("1,020,400"
    proves comma thousands, "7,5" proves decimal comma). When nothing proves it, `decimal` (the
    company's locale) decides and `ambiguous` is set so `check` can say so. Spaces, NBSP, U+202F
    and the Swiss apostrophe group thousands, as do the commas of Indian lakh grouping
    (12,34,567.00); currency marks, "(1 200)" and "1 200-" negatives and scale words ("1,2 млн",
    "3.5k") are understood. Vectorised (Arrow string kernels); a step for a
    mark no cell of the column holds is skipped (`bytes_present`), so a million "1 234,56" cells
    cost a few kernel passes, on two threads (`_read_slow_in_halves`). The input is never changed.

    >>> r = read_numbers(pd.Series(["254,908", "1,020,400", "980"]))
    >>> r.values.tolist(), r.decimal, r.ambiguous
    ([254908.0, 1020400.0, 980.0], '.', False)
    >>> read_numbers(pd.Series(["1,200", "12"]), decimal=".").ambiguous
    True
    """
    index = values.index
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return NumberReading(values.astype("float64"), pd.Series(False, index=index))
    if values.dtype == object:
        # numbers stored as numbers (an .xlsx cell beside cells typed as text) are exact: they keep
        # their value and take no part in deciding how the column's text is written
        stored = values.map(lambda v: isinstance(v, float)).to_numpy(dtype=bool)
        if stored.any():
            reading = read_numbers(values.where(~stored, None).astype("string"), decimal=decimal)
            out = reading.values.to_numpy(dtype="float64", copy=True)
            out[stored] = values[stored].astype("float64").to_numpy()
            reading.values = pd.Series(out, index=index)
            return reading
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pc.utf8_trim_whitespace(arrow_text(values))
    present = bytes_present(cells)
    percent = np.zeros(len(cells), dtype=bool)
    if present[ord("%")]:  # "15%", "15,5 %", "(4%)": the sign goes, the cell is divided by 100 below
        percent = _flags(pc.match_substring_regex(cells, _PERCENT_END))
        if percent.any():
            cells = pc.replace_substring_regex(cells, _PERCENT_SIGN, r"\1\2")
            present = bytes_present(cells)
    missing = _missing_cells(cells, present)
    n = len(cells)
    if not present[_DOT_OR_EXPONENT].any():
        # no cell holds a dot or an exponent: a plain cell is an integer, which both readings of the
        # slow path read alike, so the whole column goes through it at once (no split, no copy)
        if (missing & ~pc.is_null(cells).to_numpy(zero_copy_only=False)).any():  # "", "-", "n/a" out first
            cells = pc.if_else(pa.array(missing), pa.scalar(None, cells.type), cells)
        s_us, s_eu, amb, v_dot, v_comma, s_bad = _read_slow_in_halves(cells, present)
        out = np.where(s_us, v_dot, np.where(s_eu, v_comma, np.where(amb | s_bad, np.nan, v_dot)))
        us_only, eu_only = s_us, s_eu
        amb_value = {".": v_dot, ",": v_comma}
    else:
        # plain numbers ("1234.5", "-7", "1e3") are cast by Arrow in one step; only the rest is looked at
        plain = _matches(cells, r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
        out = pc.cast(pc.if_else(pa.array(plain), cells, pa.scalar(None, cells.type)), pa.float64()
                      ).to_numpy(zero_copy_only=False).astype("float64", copy=True)
        # a plain cell with a dot followed by exactly three digits ("1.234") may be thousands
        some_plain = plain.any()  # a column of "1 234,56" has none: skip the passes over plain cells
        amb_dot = plain & _matches(cells, r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}") if some_plain else plain
        slow = ~missing & ~plain
        us_only = plain & ~amb_dot & _matches(cells, r".*\..*") if some_plain else plain.copy()
        eu_only = np.zeros(n, dtype=bool)
        amb_value = {".": out.copy(), ",": out.copy()}  # ambiguous cells' value with each decimal mark
        amb = amb_dot.copy()
        if amb_dot.any():
            amb_value[","][amb_dot] = out[amb_dot] * 1000
        if slow.any():
            s_us, s_eu, s_amb, v_dot, v_comma, s_bad = _read_slow_in_halves(cells.filter(pa.array(slow)))
            out[slow] = np.where(s_us, v_dot, np.where(s_eu, v_comma, np.where(s_amb | s_bad, np.nan, v_dot)))
            us_only[slow], eu_only[slow], amb[slow] = s_us, s_eu, s_amb
            amb_value["."][slow], amb_value[","][slow] = v_dot, v_comma
    amb &= ~missing
    n_us, n_eu = int((us_only & ~missing).sum()), int((eu_only & ~missing).sum())
    reading = NumberReading(pd.Series(dtype="float64"), pd.Series(dtype=bool), mixed=bool(n_us and n_eu))
    if amb.any():
        shown = None
        if n_us == n_eu:  # the distinct ambiguous cells: a few, even in a million-row column
            shown = pd.Series(pc.unique(cells.filter(pa.array(amb))).to_pylist(), dtype=object)
        if n_us != n_eu:
            chosen = "." if n_us > n_eu else ","
        elif _mark_by_currency(shown):
            chosen = _mark_by_currency(shown)
        else:
            chosen, reading.ambiguous = decimal, True
            reading.examples = shown.head(3).astype(str).tolist()
        out[amb] = amb_value[chosen][amb]
        reading.decimal = chosen
    out[missing] = np.nan
    bad = np.isnan(out) & ~missing
    if bad.any():  # only the few unread cells: Excel's accounting format, "$ (1,234.56)", "$ -"
        _read_accounting(cells, bad, out, reading.decimal or decimal)
    reading.bad = pd.Series(bad, index=index)
    reading.unsure = pd.Series(False, index=index)
    if percent.any():
        _read_percent(out, percent, reading)
    reading.values = pd.Series(out, index=index)
    return reading


# Excel's Accounting number format as a CSV keeps it: the currency outside the brackets of a negative
# ("$ (1,234.56)", "₽ (1 234,56)", "(1.234,56) €") and a dash for zero ("$ -", "-  ₽", "€ -").
_CURRENCY_BODY = _CURRENCY[len("(?i)"):]
_CURRENCY_THEN_BRACKETS = re.compile(rf"(?i)^{_CURRENCY_BODY}\s*(\(.*\))$")
_BRACKETS_THEN_CURRENCY = re.compile(rf"(?i)^(\(.*\))\s*{_CURRENCY_BODY}$")
_ACCOUNTING_ZERO = re.compile(rf"(?i)^(?:{_CURRENCY_BODY}\s*[-–—]+|[-–—]+\s*{_CURRENCY_BODY})$")


def _read_accounting(cells, bad: np.ndarray, out: np.ndarray, decimal: str) -> None:
    """Read the unread cells (`bad`, in place with `out`) that Excel's Accounting format wrote: a
    currency outside a negative's brackets, or a dash beside the currency for zero. Plain "-" stays
    blank (MISSING): without a currency beside it, nothing says it is an amount."""
    where = np.flatnonzero(bad)
    rewritten = []
    for text in cells.take(where).to_pylist():
        text = (text or "").strip()
        if _ACCOUNTING_ZERO.match(text):
            rewritten.append("0")
            continue
        found = _CURRENCY_THEN_BRACKETS.match(text) or _BRACKETS_THEN_CURRENCY.match(text)
        rewritten.append(found.group(2 if found.re is _CURRENCY_THEN_BRACKETS else 1) if found else None)
    if not any(rewritten):
        return
    again = read_numbers(pd.Series(rewritten, dtype="string"), decimal=decimal)
    read = ~again.bad.to_numpy() & again.values.notna().to_numpy()
    out[where[read]] = again.values.to_numpy()[read]
    bad[where[read]] = False


# Currencies whose amounts are written one way wherever they come from: dollars and pounds with a decimal
# point ("$254,908" is 254 908 dollars), roubles, hryvnias and tenge with a decimal comma. The euro and the
# Swiss franc are written both ways, so they say nothing.
_POINT_CURRENCY = re.compile(r"(?i)(?:\$|£|\busd\b|\bgbp\b)")
COMMA_CURRENCY = re.compile(r"(?i)(?:₽|₴|₸|руб|\bр\.?$|\brub\b|\brur\b|грн|\bтг\b)")


def _mark_by_currency(cells: pd.Series) -> str | None:
    """The decimal mark the ambiguous cells' own currency signs agree on ("$254,908" → "."), or None
    when they carry none or disagree; then the company's locale decides, with a warning."""
    text = cells.astype(str)
    point, comma = text.str.contains(_POINT_CURRENCY).any(), text.str.contains(COMMA_CURRENCY).any()
    if point != comma:
        return "." if point else ","
    return None


def _read_percent(out: np.ndarray, percent: np.ndarray, reading: NumberReading) -> None:
    """Divide the "%" cells by 100 and decide the column's other cells from all of them (in place).

    Beside "15%" cells, plain cells all above 1 in size are percents written without the sign (read
    /100); all within ±1 are shares already (kept); zero reads the same either way. A mix of both
    cannot be decided: those cells become NaN and `unsure`, for `check` to name by row."""
    index = reading.bad.index
    out[percent] /= 100
    reading.percent = int((percent & ~np.isnan(out)).sum())
    others = ~percent & ~np.isnan(out) & (out != 0)
    if not others.any():
        return
    big = others & (np.abs(out) > 1)
    if big.sum() == others.sum():
        out[others] /= 100
        reading.percent_plain = "percent"
    elif not big.any():
        reading.percent_plain = "share"
    else:
        out[others] = np.nan
        reading.unsure = pd.Series(others, index=index)


def arrow_text(values):
    """One contiguous Arrow string array of the cells (zero-copy when the Series is Arrow-backed)."""
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        array = values
    else:
        array = pa.array(values.astype("string[pyarrow]"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def bytes_present(array) -> np.ndarray:
    """Which of the 256 byte values occur in the UTF-8 text of the cells: bool[256], from Arrow's
    data buffer. Used only to skip work: a byte counted that no cell uses (a null's stale bytes)
    costs a kernel pass, never a different result."""
    found = np.zeros(256, dtype=bool)
    if len(array) == 0 or array.null_count == len(array):
        return found
    bounds, data = text_buffers(array)
    if len(data):
        found[list(distinct_bytes(data))] = True
    return found


def text_buffers(array) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow string (or binary) array's cells as numpy views of its buffers: (bounds, data) where
    cell i is the bytes data[bounds[i]:bounds[i + 1]] (bounds: int32/int64[n + 1] from 0, read-only: a
    view of Arrow's offsets, or a new array for a slice that does not start at the buffer's start; data:
    uint8, no copy, read-only). A null's bytes are whatever Arrow left there (usually none)."""
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type) else np.int32
    bounds = np.frombuffer(array.buffers()[1], dtype=width)[array.offset:array.offset + len(array) + 1]
    buffer = array.buffers()[2]
    if buffer is None or len(bounds) == 0 or bounds[-1] <= bounds[0]:
        return np.zeros(len(bounds), dtype=width), np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(buffer, dtype=np.uint8)[bounds[0]:bounds[-1]]
    if bounds[0] == 0:  # the usual case: no 4 MB copy of a million offsets
        return bounds, data
    rebased = bounds - bounds[0]
    rebased.flags.writeable = False  # as the view is: a caller that writes fails the same way in both cases
    return rebased, data


def distinct_bytes(data) -> set[int]:
    """The byte values `data` (bytes or a memoryview) holds, exactly.

    `bytes.translate` deletes the values already seen in one C pass (five times faster than a numpy
    scatter of every byte, which matters on a million cells); what is left, usually nothing, names
    the rest. A column's bytes are a few dozen values, so this ends after a pass or two.

    >>> sorted(distinct_bytes(b"abca" * 5000 + b"z"))
    [97, 98, 99, 122]
    """
    rest = bytes(data)
    seen: set[int] = set()
    while rest:
        seen.update(rest[:4096])  # a sample of what is left: the common values go in one pass
        rest = rest.translate(None, bytes(seen))
    return seen


def _flags(array) -> np.ndarray:
    """An Arrow boolean array as numpy, null read as False."""
    if array.null_count:
        array = array.fill_null(False)
    return array.to_numpy(zero_copy_only=False)


def replace_ascii(array, old: str, new: str):
    """`pc.replace_substring(array, old, new)` for one ASCII character by another, as a numpy byte swap
    over a copy of the data buffer (several times faster): in UTF-8 an ASCII byte is never part of
    another character, so swapping the byte swaps exactly that character. Offsets and nulls are shared."""
    import pyarrow as pa

    if not (len(old) == len(new) == 1 and old.isascii() and new.isascii()):
        raise ValueError(f"replace_ascii swaps one ASCII character for another, not {old!r} for {new!r}")
    buffers = array.buffers()
    if buffers[2] is None:
        return array
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    data = np.where(data == ord(old), np.uint8(ord(new)), data)
    return pa.Array.from_buffers(array.type, len(array), [buffers[0], buffers[1], pa.py_buffer(data)],
                                 null_count=array.null_count, offset=array.offset)


def _byte_set(characters: str) -> np.ndarray:
    """bool[256] with every byte of the UTF-8 spelling of `characters` set."""
    mask = np.zeros(256, dtype=bool)
    mask[list(characters.encode("utf-8"))] = True
    return mask


def may_hold(present: np.ndarray, text: str) -> bool:
    """Whether a cell may contain `text`: every byte of its UTF-8 spelling occurs in the column."""
    return bool(present[list(text.encode("utf-8"))].all())


_DOT_OR_EXPONENT = _byte_set(".eE")
# every byte a MISSING word or mark is spelled with, except letters (ASCII or Cyrillic lead bytes)
_MISSING_HINT = _byte_set("-—#/") | _byte_set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MISSING_HINT[0xD0:0xD2] = True  # lead bytes of Cyrillic letters
_PLAIN_BYTES = _byte_set("0123456789.,+-")


def _missing_cells(cells, present: np.ndarray) -> np.ndarray:
    """Blank, null and MISSING ("n/a", "-", "нет данных") cells. When no cell holds a letter, dash or
    slash, only empty and null cells can be missing, and the lower-casing pass is skipped."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = pc.is_null(cells).to_numpy(zero_copy_only=False)
    if not (present & _MISSING_HINT).any():
        return blank | pc.equal(pc.binary_length(cells), 0).fill_null(False).to_numpy(zero_copy_only=False)
    words = pc.is_in(pc.utf8_lower(cells), value_set=pa.array(sorted(MISSING))).fill_null(True)
    return blank | words.to_numpy(zero_copy_only=False)


def blank_cells(values: pd.Series) -> np.ndarray:
    """Cells that are missing or hold only spaces, as a numpy bool array (one Arrow pass for text)."""
    import pyarrow.compute as pc

    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values.isna().to_numpy(dtype=bool)
    import pyarrow as pa

    array = arrow_text(values)
    blank = pc.is_null(array).to_numpy(zero_copy_only=False)
    # a cell starting with a printable ASCII character ("C0", "12", "(") holds more than spaces: only
    # the empty ones and those starting with a space, a control or a non-ASCII character are trimmed
    bounds, data = text_buffers(array)
    empty = bounds[1:] == bounds[:-1]
    first = np.take(data, bounds[:-1], mode="clip") if len(data) else np.zeros(len(array), np.uint8)
    unsure = ~empty & ~blank & ((first <= 0x20) | (first >= 0x7F))
    blank |= empty
    if unsure.any():
        trimmed = pc.utf8_trim_whitespace(array.filter(pa.array(unsure)))
        blank[unsure] = pc.equal(pc.binary_length(trimmed), 0).to_numpy(zero_copy_only=False)
    return blank


def _matches(values, pattern: str) -> np.ndarray:
    """Cells matching `pattern` as a whole (Arrow's RE2 engine; missing cells do not match)."""
    import pyarrow.compute as pc

    array = values if not isinstance(values, pd.Series) else arrow_text(values)
    return pc.match_substring_regex(array, f"^(?:{pattern})$").fill_null(False).to_numpy(zero_copy_only=False)


_SPACE_CHARS = " \t\u00a0\u202f\u2009\u2007'’"


def _drop_characters(array, characters: str, present: np.ndarray | None = None):
    """The Arrow string array with every one of `characters` removed: a literal replace for each
    character whose bytes occur in the column (several times cheaper per cell than a regex)."""
    import pyarrow.compute as pc

    present = bytes_present(array) if present is None else present
    for ch in characters:
        if may_hold(present, ch):
            array = pc.replace_substring(array, ch, "")
    return array


# From this many cells on, `_read_slow_in_halves` reads the two halves of a column on two threads.
TWO_THREADS_FROM = 100_000


def _read_slow_in_halves(s, present: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """`_read_slow` of a long column as two halves at once, the second on a thread of its own: the
    work is Arrow kernels and numpy, which release the GIL, so two cores read a million amounts in
    little more than half the time. Every result is cell by cell, so the halves joined are exactly
    the whole (`present`, the whole column's bytes, is a superset of each half's: passes, not results).
    The thread ends before this returns (nothing kept alive for a forked process to inherit)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(s) < TWO_THREADS_FROM:
        return _read_slow(s, present)
    half = len(s) // 2
    with ThreadPoolExecutor(1, thread_name_prefix="tierbook-numbers") as pool:
        second = pool.submit(_read_slow, s.slice(half), present)
        first = _read_slow(s.slice(0, half), present)
        rest = second.result()
    return tuple(np.concatenate(pair) for pair in zip(first, rest))


def _dash_at_end(s, negative: np.ndarray, dashed: np.ndarray | None = None):
    """Cells of `s` (an Arrow string array) ending with a dash: "1.200,-" and "50,–", a whole amount as
    German and Swiss invoices write it (the dash for the cents), or "1 200-", a trailing minus (SAP,
    some 1C forms). `dashed`: the cells that may end so, when known. Returns (s, negative)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if dashed is None or _flags(pc.match_substring_regex(s.filter(pa.array(dashed)), _WHOLE_AMOUNT)).any():
        s = pc.replace_substring_regex(s, _WHOLE_AMOUNT, "\\100")  # the dash becomes the cents: "1.200,00"
    trailing = _flags(pc.ends_with(s, "-"))
    if trailing.any():
        trailing &= _flags(pc.match_substring_regex(s, "[0-9]-$"))
        negative = negative | trailing
        s = pc.if_else(pa.array(trailing), pc.utf8_slice_codeunits(s, 0, -1), s)
    return s, negative


def _read_slow(s, present: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Cells that are not plain numbers (an Arrow string array): (only-dot-decimal, only-comma-decimal,
    both, value with dot decimal, value with comma decimal, unreadable) as arrays. Each step is one
    Arrow kernel over the column, and a step for a mark no cell holds (by the bytes the column
    contains, `present` when the caller has them) is skipped, so a million "1 234,56 ₽" cells take a
    fraction of a second."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(s)

    def has(pattern: str) -> np.ndarray:
        return _flags(pc.match_substring_regex(s, pattern))

    present = bytes_present(s) if present is None else present.copy()
    if any(may_hold(present, ch) for ch in _SPACE_CHARS):
        s = _drop_characters(s, _SPACE_CHARS, present)
        present = bytes_present(s)
    negative = np.zeros(n, dtype=bool)
    broken = np.zeros(n, dtype=bool)
    scale = np.ones(n)
    if not (present & ~_PLAIN_BYTES).any() and not present[ord("-")]:
        return _two_readings(s, negative, scale, broken, present)  # signs, marks or words: none to look at
    if may_hold(present, "−"):
        s = pc.replace_substring(s, "−", "-")
        present[ord("-")] = True
    if present[ord("(")] or present[ord(")")]:  # "(1 200)": a negative amount as accountants write it
        opens, closes = _flags(pc.starts_with(s, "(")), _flags(pc.ends_with(s, ")"))
        if (opens | closes).any():
            negative |= opens & closes
            # one bracket only, or doubled ones, is no amount: such a cell stays unread
            broken |= (opens != closes) | _flags(pc.starts_with(s, "((")) | _flags(pc.ends_with(s, "))"))
            broken |= _flags(pc.starts_with(s, ")")) | _flags(pc.ends_with(s, "("))
            s = pc.utf8_trim(s, "()")
            # a bracket left inside a cell makes the cast of `_comma_readings` fail: the general path reads it
            present = present.copy()
            present[[ord("("), ord(")")]] = False
    # cells ending with a dash (`_dash_at_end`; its pattern runs only on these cells)
    minus_end = _flags(pc.ends_with(s, "-")) if present[ord("-")] else np.zeros(n, dtype=bool)
    dashed = minus_end.copy()
    for dash in ("–", "—"):
        if may_hold(present, dash):
            dashed |= _flags(pc.ends_with(s, dash))
    if dashed.any():
        s, negative = _dash_at_end(s, negative, dashed)
    if (present & ~_PLAIN_BYTES & ~_byte_set("()")).any():  # letters or marks: currency, then scale words
        if has(_CURRENCY).any():
            s = pc.replace_substring_regex(s, _CURRENCY, "")
            if present[ord("-")] or may_hold(present, "–") or may_hold(present, "—"):
                # "250,00- €", "1.200,- €": the dash stood before the currency
                s, negative = _dash_at_end(s, negative)
        if has("[^0-9.,+eE-]").any():  # letters left after the currency: a scale word ("1,2 млн", "3.5k")?
            for pattern, factor in _SCALES:
                found = has(pattern)
                if found.any():
                    scale[found] = factor
                    s = pc.replace_substring_regex(s, pattern, "")
            s = _drop_characters(s, _SPACE_CHARS)
        present = bytes_present(s)
    return _two_readings(s, negative, scale, broken, present)


def _two_readings(s, negative: np.ndarray, scale: np.ndarray, broken: np.ndarray,
                  present: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Cleaned cells read with the dot and with the comma as decimal mark (see `_read_slow`); a
    `broken` cell (a lone bracket) reads neither way. `present`: bytes the cells may hold (a superset)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fast = _comma_readings(s, present)
    if fast is not None:
        us_ok, eu_ok, v_dot, v_comma = fast
    else:
        n = len(s)
        us_ok, eu_ok = _matches(s, _US), _matches(s, _EU)

        def number(cells, ok) -> np.ndarray:
            if not ok.any():
                return np.full(n, np.nan)
            kept = cells if ok.all() else pc.if_else(pa.array(ok), cells, pa.scalar(None, cells.type))
            return pc.cast(kept, pa.float64()).to_numpy(zero_copy_only=False)

        v_dot = number(pc.replace_substring(s, ",", ""), us_ok)
        v_comma = number(pc.replace_substring(pc.replace_substring(s, ".", ""), ",", "."), eu_ok)
    if broken.any():
        us_ok, eu_ok = us_ok & ~broken, eu_ok & ~broken
        v_dot, v_comma = np.where(broken, np.nan, v_dot), np.where(broken, np.nan, v_comma)
    if negative.any() or (scale != 1).any():  # most columns hold neither: two passes fewer
        sign = np.where(negative, -scale, scale)
        v_dot, v_comma = v_dot * sign, v_comma * sign
    amb = np.zeros(len(s), dtype=bool)
    both = np.flatnonzero(us_ok & eu_ok)  # the two readings differ only where both hold
    amb[both] = ~np.isclose(v_dot[both], v_comma[both], equal_nan=False)
    return us_ok & ~eu_ok, eu_ok & ~us_ok, amb, v_dot, v_comma, ~us_ok & ~eu_ok


_COMMA_ONLY = _byte_set("0123456789,+-")
# "1.200,-", "50,–": a whole amount with a dash for the cents; group 1 keeps the digit and the mark
_WHOLE_AMOUNT = "([0-9][.,])[-–—]+$"


def _comma_readings(s, present: np.ndarray | None = None) -> tuple[np.ndarray, ...] | None:
    """(valid with comma thousands, valid with decimal comma, value each way) for a column of digits
    with at most one comma per cell and no dot ("1234,56", "-7", ",5"): the Russian-export shape,
    read with one cast and three cheap passes instead of two regex matches and two casts. None when
    the column is of another shape (`_two_readings` then matches `_US` and `_EU`). Gives exactly what
    those patterns give for such cells: a comma after 1-3 digits and before exactly three ("1,234")
    reads both ways; any other comma is a decimal comma; no comma, one value.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    present = bytes_present(s) if present is None else present
    if (present & ~_COMMA_ONLY).any():
        return None
    if present[ord(",")]:
        if pc.any(pc.ends_with(s, ",")).as_py():  # "5," is no number either way
            return None
        dotted = replace_ascii(s, ",", ".")
    else:
        dotted = s
    try:  # Arrow's float grammar on digits, signs and one dot is exactly the _EU shape; two commas fail here
        v_comma = pc.cast(dotted, pa.float64()).to_numpy(zero_copy_only=False).astype("float64", copy=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    valid = ~pc.is_null(s).to_numpy(zero_copy_only=False) if s.null_count else np.ones(len(s), dtype=bool)
    if not present[ord(",")]:
        return valid, valid.copy(), v_comma, v_comma.copy()
    position, length = pc.find_substring(s, ","), pc.binary_length(s)
    if s.null_count:
        position, length = position.fill_null(-1), length.fill_null(0)
    position, length = position.to_numpy(zero_copy_only=False), length.to_numpy(zero_copy_only=False)
    signed = np.zeros(len(s), dtype=np.int64)
    if present[ord("-")] or present[ord("+")]:
        signed = _flags(pc.or_(pc.starts_with(s, "-"), pc.starts_with(s, "+"))).astype(np.int64)
    comma = position >= 0
    grouped = comma & (position >= 1 + signed) & (position <= 3 + signed) & (length - position == 4)
    # a "1,234" cell read with the comma as thousands mark is an integer: the exact value is a rounding away
    v_dot = np.where(grouped, np.round(v_comma * 1000), np.where(comma, np.nan, v_comma))
    return valid & (grouped | ~comma), valid, v_dot, v_comma


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


# Zone abbreviations US and Russian exports print after a time ("2024-03-10 14:30:00 EDT"): their offsets
# in minutes. CST is the US Central zone here, as in the US exports that write it.
ZONE_ABBREVIATIONS = {"EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480,
                      "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "MSK": 180, "CET": 60, "CEST": 120,
                      "BST": 60, "EET": 120, "EEST": 180, "WET": 0, "WEST": 60}
# a date with its parts, an optional time of day and an optional UTC offset, as every export writes it
_DATE_PARTS = re.compile(
    r"^(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})(?:\s*г\.?)?"  # 1C's "10.03.2024 г."
    r"(?:(?:[ T]+|,\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    rf"\s*(?P<tz>Z|UTC|GMT|[+-]\d{{2}}(?::?\d{{2}})?|{'|'.join(sorted(ZONE_ABBREVIATIONS, key=len, reverse=True))})?$")


@dataclass
class DateReading:
    """A column of dates as read.

    values     datetime64[ns], tz-naive, the calendar date (time of day dropped) — in the company's
               time zone when one is set and the cell carried an offset, else as written
    bad        bool mask of cells that are not dates (blank and "не закрыта" are not bad)
    order      "dmy", "mdy" or "ymd" for the day-month cells, None when the column had none
    ambiguous  every such cell read both ways (01/02/2024): `order` came from company.yml date_order
               or the locale, not from the data; `examples` shows some cells
    month_only rows whose cell names a month and year only ("январь 2024", "Jan 2024"): read as the
               first day of that month; `month_examples` shows some cells
    """

    values: pd.Series
    bad: pd.Series
    order: str | None = None
    ambiguous: bool = False
    examples: list[str] = field(default_factory=list)
    month_only: int = 0
    month_examples: list[str] = field(default_factory=list)


def read_dates(values: pd.Series, *, order: str = "dmy", timezone: str | None = None,
               written_zone: str | None = None) -> DateReading:
    """Read a column of dates, deciding day-first or month-first from all its cells.

    Accepts ISO dates and timestamps (with `T`, fractions, `Z` or offsets such as `-0400` that
    may change with daylight saving inside the column), DD.MM.YYYY and MM/DD/YYYY with or without
    a time (`12/1/2010 8:26`, `31.12.2023 14:05`, AM/PM), two-digit years, Excel serial numbers,
    Unix time in seconds or milliseconds (2000-2100), Russian and English month names ("5 января 2024", "5 янв. 2024 г.", "Jan 5, 2024", "5-Jan-2024",
    and a month alone, "январь 2024", read as its first day), and "не закрыта"/"open" as missing.
    A named month says which part is the day, so such cells never make a column ambiguous. A first part above 12 proves day-first
    and a second part above 12 proves month-first; when no cell proves either, `order` decides
    and `ambiguous` is set. Cells contradicting the proven order are bad. With `timezone` (an IANA
    name), a timestamp carrying an offset becomes the calendar date in that zone; without it, the
    date as written. `written_zone` ("UTC") is the zone of timestamps written without an offset, when
    the file says it elsewhere (Stripe's header "Created (UTC)"); dates without a time stay as they are. Works on the distinct cells, so a million-row log with a few hundred dates is
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
    import pyarrow.compute as pc

    # parse each distinct cell once: a log of a million rows holds a few hundred dates (Arrow's
    # dictionary encoding finds them in one pass; blanks and "не закрыта" are judged on them too)
    # the spaces around a cell are trimmed on the distinct cells, not on every row: " 05.01.2024" and
    # "05.01.2024" then become one value again (in the order the column first shows each)
    encoded = pc.dictionary_encode(arrow_text(values))
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False) if encoded.null_count \
        else encoded.indices.to_numpy(zero_copy_only=False)
    trimmed = pc.dictionary_encode(pc.utf8_trim_whitespace(encoded.dictionary))
    codes = np.append(trimmed.indices.to_numpy(zero_copy_only=False), -1)[codes]  # -1 (null) stays -1
    distinct = pd.Series(trimmed.dictionary.to_pylist(), dtype=object)
    blank = distinct.str.lower().isin(MISSING | NOT_CLOSED).to_numpy(dtype=bool)
    cells = distinct[~blank].reset_index(drop=True)
    numbered, month_only = _months_as_numbers(cells)
    numbered, month_only = _digits_only_dates(numbered, month_only)
    parsed, order_used, ambiguous, examples = _dates_of_distinct(numbered, order, timezone, written_zone)
    stamps = np.full(len(distinct) + 1, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    stamps[np.flatnonzero(~blank)] = parsed.to_numpy(dtype="datetime64[ns]")
    out = pd.Series(stamps[codes], index=index, dtype="datetime64[ns]")  # code -1 (null) -> the last, NaT
    missing = np.append(blank, True)[codes]
    bad = pd.Series(out.isna().to_numpy() & ~missing, index=index)
    reading = DateReading(out, bad, order_used, ambiguous, examples)
    if month_only.any():
        by_distinct = np.zeros(len(distinct) + 1, dtype=bool)
        by_distinct[np.flatnonzero(~blank)] = month_only & parsed.notna().to_numpy()
        reading.month_only = int(by_distinct[codes].sum())
        reading.month_examples = cells[month_only].head(3).tolist()
    return reading


# Month names as Russian and English exports write them: the full name in the nominative ("январь")
# or genitive ("5 января"), or any start of it of three letters or more ("янв", "янв.", "сент", "Sept").
_MONTH_FORMS = {1: ("январь", "января", "january"), 2: ("февраль", "февраля", "february"),
                3: ("март", "марта", "march"), 4: ("апрель", "апреля", "april"), 5: ("май", "мая", "may"),
                6: ("июнь", "июня", "june"), 7: ("июль", "июля", "july"), 8: ("август", "августа", "august"),
                9: ("сентябрь", "сентября", "september"), 10: ("октябрь", "октября", "october"),
                11: ("ноябрь", "ноября", "november"), 12: ("декабрь", "декабря", "december")}
_LETTERS = "A-Za-zА-Яа-яЁё"
_CLOCK = r"(?P<rest>(?:(?:[ T]+|,\s*)\d{1,2}:\d{2}.*)?)"  # a time of day, left for _DATE_PARTS to read
_YEAR_WORD = r"(?:\s*(?:г\.?|года?)(?=$|[ T,]))?"  # "2024 г.", "2024 года"
_WEEKDAY = rf"(?:[{_LETTERS}]+\.?,?\s+)?"  # "Mon, 5 Jan 2024", "пн, 5 янв 2024"
_NAMED = {
    # 5 января 2024 · 05 янв. 2024 г. · 5 Jan 2024 · 5-Jan-2024 · 5th January 2024
    "dmy": re.compile(rf"^{_WEEKDAY}(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s./-]*(?P<mon>[{_LETTERS}]{{3,}})\.?"
                      rf"[\s./,-]*(?P<y>\d{{4}}|\d{{2}}){_YEAR_WORD}\.?{_CLOCK}$"),
    # Jan 5, 2024 · January 5th, 2024 · Mon Jan 5 2024
    "mdy": re.compile(rf"^{_WEEKDAY}(?P<mon>[{_LETTERS}]{{3,}})\.?\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
                      rf"(?P<y>\d{{4}}){_CLOCK}$"),
    # 2024-Jan-05 · 2024 янв. 5
    "ymd": re.compile(rf"^(?P<y>\d{{4}})[\s./-]+(?P<mon>[{_LETTERS}]{{3,}})\.?[\s./-]*(?P<d>\d{{1,2}}){_CLOCK}$"),
    # январь 2024 · Jan 2024 · янв. 2024 г. · Excel's mmm-yy: Jan-24, янв.24, Jan '24 (a month column: no day)
    "my": re.compile(rf"^(?P<mon>[{_LETTERS}]{{3,}})(?:\.?[\s./-]*(?P<y>\d{{4}}){_YEAR_WORD}\.?"
                     rf"|(?:\.|\.?[-'’]|\.?\s+')(?P<y2>\d{{2}}))$"),
}


def month_number(word: str) -> int | None:
    """The month a Russian or English month word names, or None.

    >>> [month_number(w) for w in ["января", "Янв.", "сент", "May", "Sept", "мая", "Marvel", "ма"]]
    [1, 1, 9, 5, 9, 5, None, None]
    """
    w = str(word).lower().replace("ё", "е").rstrip(".")
    if len(w) < 3:
        return None
    found = {m for m, forms in _MONTH_FORMS.items() if any(f.startswith(w) for f in forms)}
    return found.pop() if len(found) == 1 else None


def _months_as_numbers(cells: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Distinct date cells with a month word rewritten as ISO text ("5 января 2024" -> "2024-01-05"),
    the time of day kept; and which cells named a month and year only (read as the month's 1st day).

    Only cells holding letters are looked at, and only a word `month_number` knows is rewritten, so
    any other text stays as written and is reported as not a date."""
    month_only = np.zeros(len(cells), dtype=bool)
    lettered = cells.str.contains(f"[{_LETTERS}]{{3}}", regex=True).fillna(False).to_numpy(dtype=bool)
    if not lettered.any():
        return cells, month_only
    out = cells.copy()
    todo = pd.Series(lettered, index=cells.index)
    for shape, pattern in _NAMED.items():
        parts = cells[todo].str.extract(pattern)
        parts = parts[parts["mon"].notna()]
        if parts.empty:
            continue
        months = parts["mon"].map(month_number)
        parts = parts[months.notna()]
        months = months[months.notna()].astype(int)
        if parts.empty:
            continue
        written = parts["y"].fillna(parts["y2"]) if "y2" in parts else parts["y"]
        years = pd.to_numeric(written).astype(int)
        years = years.where(written.str.len() == 4, pd.Series(_full_years(years), index=years.index))
        days = pd.to_numeric(parts["d"]).astype(int) if "d" in parts else pd.Series(1, index=parts.index)
        rest = parts["rest"].fillna("") if "rest" in parts else ""
        out[parts.index] = (years.map("{:04d}".format) + "-" + months.map("{:02d}".format) + "-"
                            + days.map("{:02d}".format) + rest)
        todo[parts.index] = False
        if shape == "my":
            month_only[cells.index.get_indexer(parts.index)] = True
    return out, month_only


# Dates written with digits only in shapes `_DATE_PARTS` does not take: "20240310" (ERP and bank exports,
# YYYYMMDD), and a month with its year, "2024-03", "03.2024", "03/2024" (monthly reports: the 1st of it).
_COMPACT_DATE = re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])$")
_MONTH_YEAR = re.compile(r"^(?:(?P<y>\d{4})[-./](?P<m>\d{1,2})|(?P<m2>\d{1,2})[-./](?P<y2>\d{4}))$")


def _digits_only_dates(cells: pd.Series, month_only: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Distinct cells "20240310" rewritten as "2024-03-10" and "2024-03"/"03.2024" as "2024-03-01" (marked
    month-only, like "март 2024"); a month above 12 stays as written and is reported as not a date."""
    short = cells.str.len().between(6, 8).fillna(False).to_numpy(dtype=bool)
    if not short.any():
        return cells, month_only
    out, month_only = cells.copy(), month_only.copy()
    for i in np.flatnonzero(short):
        text = cells.iloc[i]
        compact = _COMPACT_DATE.match(text)
        if compact:
            out.iloc[i] = f"{compact['y']}-{compact['m']}-{compact['d']}"
            continue
        month = _MONTH_YEAR.match(text)
        if month and 1 <= int(month["m"] or month["m2"]) <= 12:
            out.iloc[i] = f"{month['y'] or month['y2']}-{int(month['m'] or month['m2']):02d}-01"
            month_only[i] = True
    return out, month_only


def _full_years(two_digits):
    """Two-digit years as four: up to ten years ahead of today this century, the rest the last one."""
    pivot = pd.Timestamp.now().year % 100 + 10
    return np.where(two_digits <= pivot, 2000 + two_digits, 1900 + two_digits)


def _dates_of_distinct(cells: pd.Series, order: str, timezone: str | None, written_zone: str | None = None):
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
    year[short] = _full_years(c[short])
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
        if written_zone:  # a time written without an offset is in the zone the header names
            tz = tz.where(tz.notna() | parts.loc[ok, "H"].isna(), written_zone)
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
        # Unix time (Stripe's API, many JSON-to-CSV exports): seconds, or milliseconds, since 1970 in UTC,
        # the years 2000-2100 only; the calendar date in the company's time zone when it has one
        for low, high, unit in ((946_684_800, 4_102_444_800, "s"), (946_684_800_000, 4_102_444_800_000, "ms")):
            unix = serial[serial.between(low, high) & (serial == serial.round())]
            if len(unix):
                stamps = pd.to_datetime(unix.astype("int64"), unit=unit)
                if timezone:
                    stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
                result[unix.index] = stamps.dt.normalize()
    rest = (result.isna() & cells.str.contains(r"[A-Za-z]{3}", regex=True) & ~parts["a"].notna()
            & cells.str.contains(r"\d{4}", regex=True))  # no year written, no date: never one guessed
    for i in np.flatnonzero(rest.to_numpy()):  # other English wordings ("Tuesday, January 5, 2024")
        result.iloc[i] = _dateutil_with_year(cells.iloc[i], dayfirst=order != "mdy")
    return result, order_used, ambiguous, examples


def _dateutil_with_year(text: str, *, dayfirst: bool):
    """One cell read by dateutil, kept only when the year it found is written in the cell: dateutil
    fills a missing year with this one ("Jan 5") and reads "Jan-24" as the year 1, and neither is a date
    the file holds. NaT otherwise."""
    try:
        stamp = pd.to_datetime(text, dayfirst=dayfirst)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return pd.NaT
    if str(stamp.year) not in re.findall(r"\d{4}", text):
        return pd.NaT
    return stamp.tz_localize(None).normalize() if stamp.tzinfo is not None else stamp.normalize()


def _offset_minutes(text: str) -> float:
    if text in ("Z", "UTC", "GMT"):
        return 0.0
    if text in ZONE_ABBREVIATIONS:
        return float(ZONE_ABBREVIATIONS[text])
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
    out[text.isin(YES_WORDS).fillna(False).astype(bool)] = True
    # a dash is a blank cell here (MISSING), not a "no"
    out[text.isin(NO_WORDS - DASH_WORDS).fillna(False).astype(bool)] = False
    missing = text.isna() | text.isin(MISSING)
    bad = out.isna() & ~missing
    return out, bad.astype(bool)


def looks_like_yesno(values: pd.Series) -> bool:
    """True when every non-blank value is a yes/no word and both kinds could occur."""
    text = values.astype("string").str.strip().str.lower().dropna()
    text = text[~text.isin(MISSING)]
    return bool(len(text)) and bool(text.isin(YESNO_DETECT_WORDS).all()) and \
        not bool(text.isin({"0", "1"}).all() and text.nunique() > 2)


def share_numeric(values: pd.Series) -> float:
    """Share of non-blank cells that read as numbers."""
    nums, bad = parse_numbers(values)
    filled = nums.notna() | bad
    return float(nums.notna().sum() / filled.sum()) if filled.any() else 0.0
