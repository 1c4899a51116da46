"""Number, date and yes/no parsing of exported cells: examples from real exports and property tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.step1_list_clients.parsing import looks_like_yesno, parse_dates, parse_numbers, parse_yesno

# Money with cents, as exports hold it; Decimal keeps the expected value exact.
money = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                    allow_nan=False, allow_infinity=False)
dates = st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2100, 12, 31))


def _group(digits: str, sep: str) -> str:
    """'1234567' -> '1<sep>234<sep>567'."""
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def _russian(value: Decimal, sep: str, sign: str) -> str:
    whole, cents = f"{abs(value):.2f}".split(".")
    text = f"{_group(whole, sep)},{cents}{sign}"
    return f"-{text}" if value < 0 else text


def _american(value: Decimal, sign: str) -> str:
    whole, cents = f"{abs(value):.2f}".split(".")
    text = f"{sign}{_group(whole, ',')}.{cents}"
    return f"({text})" if value < 0 else text


def _cents(value) -> Decimal:
    """A parsed float as exact cents (repr of a Python float is its shortest round-trip form)."""
    return Decimal(repr(float(value))).quantize(Decimal("0.01"))


def _one(text: str) -> tuple[float, bool]:
    nums, bad = parse_numbers(pd.Series([text], dtype="string"))
    return nums.iloc[0], bool(bad.iloc[0])


@pytest.mark.parametrize("text, value", [
    ("1 234 567,89 ₽", 1234567.89),
    ("1\u00a0234,5 руб.", 1234.5),
    ("1\u202f000 р.", 1000.0),
    ("(1 234,00)", -1234.0),
    ("$1,234.56", 1234.56),
    ("€ 99,90", 99.9),
    ("1.234,56 EUR", 1234.56),
    ("1 500 USD", 1500.0),
    ("2500 RUB", 2500.0),
    ("−15,5", -15.5),
    ("'00123", 123.0),  # an Excel text number
    ("1e3", 1000.0),
    ("0,01", 0.01),
])
def test_reads_numbers_as_exports_write_them(text, value):
    got, bad = _one(text)
    assert not bad
    assert got == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("text", ["abc", "12 apples", "1,2,3.4.5", "N/A1", "₽"])
def test_flags_cells_that_are_not_numbers(text):
    got, bad = _one(text)
    assert bad and pd.isna(got)


def test_blank_and_missing_words_are_missing_not_bad():
    nums, bad = parse_numbers(pd.Series(["", None, "n/a", "—", "нет данных"], dtype="string"))
    assert nums.isna().all()
    assert not bad.any()


def test_numeric_input_passes_through_and_input_is_not_changed():
    source = pd.Series([1, 2, 3], dtype="int64")
    nums, bad = parse_numbers(source)
    assert nums.dtype == "float64" and nums.tolist() == [1.0, 2.0, 3.0] and not bad.any()
    text = pd.Series(["1 000,5"], dtype="string")
    parse_numbers(text)
    assert text.tolist() == ["1 000,5"]


@settings(max_examples=150, deadline=None)
@given(value=money, sep=st.sampled_from([" ", "\u00a0", "\u202f", ""]),
       sign=st.sampled_from(["", " ₽", " руб.", " р.", " RUB"]))
def test_russian_formatted_money_reads_back_to_the_cent(value, sep, sign):
    got, bad = _one(_russian(value, sep, sign))
    assert not bad
    assert _cents(got) == value


@settings(max_examples=150, deadline=None)
@given(value=money, sign=st.sampled_from(["", "$", "€", "USD "]))
def test_american_formatted_money_reads_back_to_the_cent(value, sign):
    got, bad = _one(_american(value, sign))
    assert not bad
    assert _cents(got) == value


@settings(max_examples=100, deadline=None)
@given(values=st.lists(money, min_size=1, max_size=30))
def test_column_total_equals_the_sum_of_the_cells(values):
    nums, bad = parse_numbers(pd.Series([_russian(v, "\u00a0", " ₽") for v in values], dtype="string"))
    assert not bad.any()
    got = sum((_cents(x) for x in nums), Decimal(0))
    assert got == sum(values, Decimal(0))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=20))
def test_any_text_parses_without_raising_and_bad_means_missing(text):
    nums, bad = parse_numbers(pd.Series([text], dtype="string"))
    assert len(nums) == 1
    assert not (bad.iloc[0] and pd.notna(nums.iloc[0]))


# ---- dates -------------------------------------------------------------------------------------


def _as_dates(series: pd.Series) -> list:
    return [None if pd.isna(x) else x.date() for x in series]


@settings(max_examples=100, deadline=None)
@given(days=st.lists(dates, min_size=1, max_size=20),
       fmt=st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%d-%m-%Y"]))
def test_dates_read_back_in_every_supported_format(days, fmt):
    got, bad = parse_dates(pd.Series([d.strftime(fmt) if "%H" not in fmt
                                      else dt.datetime(d.year, d.month, d.day, 10, 30).strftime(fmt)
                                      for d in days], dtype="string"))
    assert not bad.any()
    assert _as_dates(got) == days


@settings(max_examples=100, deadline=None)
@given(days=st.lists(dates, min_size=1, max_size=20))
def test_excel_serials_read_back(days):
    serials = [str((d - dt.date(1899, 12, 30)).days) for d in days]
    got, bad = parse_dates(pd.Series(serials, dtype="string"))
    assert not bad.any()
    assert _as_dates(got) == days


@settings(max_examples=100, deadline=None)
@given(days=st.lists(dates, min_size=1, max_size=20), late=dates.filter(lambda d: d.day > 12))
def test_month_first_only_when_the_column_proves_it(days, late):
    column = days + [late]  # one day above 12 in second place proves MM/DD/YYYY
    got, bad = parse_dates(pd.Series([d.strftime("%m/%d/%Y") for d in column], dtype="string"))
    assert not bad.any()
    assert _as_dates(got) == column


def test_ambiguous_slash_dates_are_day_first():
    got, bad = parse_dates(pd.Series(["01/02/2024", "03/04/2024"], dtype="string"))
    assert not bad.any()
    assert _as_dates(got) == [dt.date(2024, 2, 1), dt.date(2024, 4, 3)]


def test_day_above_12_in_first_place_keeps_day_first():
    got, bad = parse_dates(pd.Series(["25/02/2024", "01/03/2024"], dtype="string"))
    assert _as_dates(got) == [dt.date(2024, 2, 25), dt.date(2024, 3, 1)]


def test_not_closed_is_missing_and_nonsense_is_bad():
    got, bad = parse_dates(pd.Series(["не закрыта", "open", "", "someday", "2024-13-45"], dtype="string"))
    assert got.isna().all()
    assert bad.tolist() == [False, False, False, True, True]


def test_datetime_input_passes_through():
    source = pd.Series(pd.to_datetime(["2024-01-01", None]))
    got, bad = parse_dates(source)
    assert got.iloc[0] == pd.Timestamp("2024-01-01") and pd.isna(got.iloc[1]) and not bad.any()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=20))
def test_any_text_parses_as_a_date_without_raising(text):
    got, bad = parse_dates(pd.Series([text], dtype="string"))
    assert not (bad.iloc[0] and pd.notna(got.iloc[0]))


# ---- yes / no ----------------------------------------------------------------------------------


def test_yes_no_words_in_english_and_russian():
    got, bad = parse_yesno(pd.Series(["Да", "нет", "Yes", "no", "TRUE", "0", "", "maybe"], dtype="string"))
    assert got.tolist()[:6] == [True, False, True, False, True, False]
    assert pd.isna(got.iloc[6]) and pd.isna(got.iloc[7])
    assert bad.tolist() == [False] * 7 + [True]
    assert str(got.dtype) == "boolean"


def test_counts_are_not_mistaken_for_yes_no():
    assert looks_like_yesno(pd.Series(["да", "нет", ""], dtype="string"))
    assert not looks_like_yesno(pd.Series(["0", "1", "2", "3"], dtype="string"))
    assert not looks_like_yesno(pd.Series(["", ""], dtype="string"))
