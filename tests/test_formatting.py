"""Numbers as a team reads them: counts, shares, money and intervals in English and Russian."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core import formatting as fmt
from helpers.core.i18n import language
from helpers.step5_report.report import Section, table_html

NBSP = "\u00a0"


@pytest.mark.parametrize("value, lang, expected", [
    (12.0, "en", "12"), (np.int64(1234567), "en", "1,234,567"), (1234567, "ru", f"1{NBSP}234{NBSP}567"),
    (0, "ru", "0"), (-1500, "en", "-1,500"), (None, "en", ""), (np.nan, "ru", ""),
])
def test_counts_are_whole_numbers_with_the_languages_separator(value, lang, expected):
    assert fmt.format_count(value, lang) == expected


@pytest.mark.parametrize("share, lang, expected", [
    (0.54, "en", "54%"), (0.54, "ru", "54%"), (0.0, "en", "0%"), (1.0, "ru", "100%"),
    (0.004, "en", "<1%"), (0.996, "en", ">99%"), (0.546, "en", "55%"), (pd.NA, "en", ""),
])
def test_shares_are_whole_percentages_without_hiding_rare_events(share, lang, expected):
    assert fmt.format_percent(share, lang) == expected


@pytest.mark.parametrize("amount, currency, lang, expected", [
    (1234567.4, "USD", "en", "$1,234,567"),
    (1234567, "EUR", "en", "€1,234,567"),
    (1234567, "RUB", "en", f"RUB{NBSP}1,234,567"),
    (1234567, "RUB", "ru", f"1{NBSP}234{NBSP}567{NBSP}₽"),
    (1234567, "rub", "ru", f"1{NBSP}234{NBSP}567{NBSP}₽"),
    (99.5, "USD", "ru", f"100{NBSP}$"),
    (-40, "EUR", "en", "-€40"),
    (1500, "руб.", "ru", f"1{NBSP}500{NBSP}руб."),
    (1500, "", "en", "1,500"),
    (np.nan, "RUB", "ru", "—"),
])
def test_money_follows_the_language(amount, currency, lang, expected):
    assert fmt.format_money(amount, currency, lang) == expected


def test_money_with_kopecks_uses_a_decimal_comma_in_russian():
    assert fmt.format_money(1234.5, "RUB", "ru", decimals=2) == f"1{NBSP}234,50{NBSP}₽"
    assert fmt.format_money(1234.5, "USD", "en", decimals=2) == "$1,234.50"


def test_small_sample_intervals_read_as_ranges():
    assert fmt.format_share_interval(0.54, 0.31, 0.75, "ru") == "54% [31–75%]"
    assert fmt.format_share_interval(0.002, 0.0, 0.05, "en") == "<1% [0–5%]"
    assert fmt.format_interval(-0.12, 0.4, "en", percent=False) == "-0.12 … +0.4"
    assert fmt.format_interval(None, 0.4, "en") == ""


def test_the_language_follows_the_report_language():
    with language("ru"):
        assert fmt.format_number(3.5) == "3,5" and fmt.format_money(2000, "RUB") == f"2{NBSP}000{NBSP}₽"
    with language("en"):
        assert fmt.format_number(3.5) == "3.5"


def test_share_columns_are_recognised_only_when_every_value_is_a_share():
    assert fmt.is_share_column("client_share", [0.1, 0.9, np.nan])
    assert fmt.is_share_column("доля клиентов", [0.5])
    assert not fmt.is_share_column("client_share", [0.1, 12.0])  # not a share after all: left as numbers
    assert not fmt.is_share_column("clients", [0.1])
    assert not fmt.is_share_column("share", ["a"])


def test_report_tables_show_counts_shares_and_money_as_people_write_them():
    frame = pd.DataFrame({"tier": ["A", "B"], "clients": [12.0, 3.0], "revenue_share": [0.54, 0.46],
                          "revenue": [1234567.0, 89000.4], "flag": [True, False], "ratio": [1.23456, np.nan]})
    with language("ru"):
        html = str(table_html(frame, currency="RUB"))
    assert ">12<" in html and ">12.00<" not in html
    assert ">54%<" in html and "0.54" not in html
    assert f">1{NBSP}234{NBSP}567{NBSP}₽<" in html
    assert ">✓<" in html and ">1,23<" in html
    with language("en"):
        html = str(table_html(frame, formats={"ratio": "percent"}))
    assert ">1,234,567<" in html and ">123%<" in html


def test_long_tables_print_their_first_rows_and_say_where_the_rest_is():
    frame = pd.DataFrame({"client_id": [f"C{i:03d}" for i in range(30)], "name": ["x"] * 30})
    with language("en"):
        section = Section("s", "S").table(frame, print_rows=8)
        block = section.blocks[0]
    assert str(block.html).count('<tr class="screen-only">') == 22
    assert block.print_note == "8 of 30 shown on paper — all in tiers.csv"
    # a cut that would hide only a row or two is not made
    with language("ru"):
        short = Section("s", "S").table(frame.head(10), print_rows=8).blocks[0]
    assert "screen-only" not in str(short.html) and short.print_note == ""
