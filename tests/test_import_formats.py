"""Issue 9, more kinds of cells: dates with Russian and English month names (and a month alone), and
percent cells in number columns. Each kind: written as a system writes it, read back to the same values,
and `check` saying how the column was read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from folders import write_company as _company
from helpers.step1_list_clients.load import check_company, load_company
from helpers.step1_list_clients.parsing import month_number, read_dates, read_numbers

RU_GENITIVE = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
               "ноября", "декабря"]
RU_NOMINATIVE = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
                 "ноябрь", "декабрь"]
RU_SHORT = ["янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]
EN_FULL = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


def _named(day: dt.date, style: str) -> str:
    """One date as a Russian or English export writes it with the month's name."""
    m = day.month - 1
    return {
        "ru_full": f"{day.day} {RU_GENITIVE[m]} {day.year}",                      # 5 января 2024
        "ru_full_g": f"{day.day} {RU_GENITIVE[m]} {day.year} г.",                 # 5 января 2024 г.
        "ru_short": f"{day.day:02d} {RU_SHORT[m]} {day.year}",                     # 05 янв 2024
        "ru_short_dot": f"{day.day} {RU_SHORT[m]}. {day.year} г.",                 # 5 янв. 2024 г.
        "ru_caps_time": f"{day.day} {RU_GENITIVE[m].capitalize()} {day.year} 14:05",
        "en_mdy": f"{EN_FULL[m][:3]} {day.day}, {day.year}",                       # Jan 5, 2024
        "en_dmy": f"{day.day} {EN_FULL[m][:3]} {day.year}",                        # 5 Jan 2024
        "en_full": f"{EN_FULL[m]} {day.day}, {day.year}",                          # January 5, 2024
        "excel_dd_mmm_yyyy": f"{day.day:02d}-{EN_FULL[m][:3]}-{day.year}",         # 05-Jan-2024
        "en_weekday": day.strftime("%a, ") + f"{day.day} {EN_FULL[m][:3]} {day.year}",
    }[style]


days = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31))
STYLES = ["ru_full", "ru_full_g", "ru_short", "ru_short_dot", "ru_caps_time", "en_mdy", "en_dmy", "en_full",
          "excel_dd_mmm_yyyy", "en_weekday"]


@settings(max_examples=120, deadline=None)
@given(dates=st.lists(days, min_size=1, max_size=25), style=st.sampled_from(STYLES),
       order=st.sampled_from(["dmy", "mdy"]))
def test_named_month_dates_read_back_and_are_never_ambiguous(dates, style, order):
    cells = [_named(d, style) for d in dates]
    reading = read_dates(pd.Series(cells, dtype="string"), order=order)
    assert not reading.bad.any(), cells
    assert [x.date() for x in reading.values] == dates
    assert not reading.ambiguous and reading.month_only == 0


@settings(max_examples=60, deadline=None)
@given(dates=st.lists(days, min_size=1, max_size=25),
       styles=st.lists(st.sampled_from(STYLES), min_size=2, max_size=4))
def test_one_column_may_mix_named_styles_with_numeric_dates(dates, styles):
    cells = [_named(d, styles[i % len(styles)]) if i % 3 else d.strftime("%d.%m.%Y") for i, d in enumerate(dates)]
    reading = read_dates(pd.Series(cells, dtype="string"))
    assert [x.date() for x in reading.values] == dates


@settings(max_examples=60, deadline=None)
@given(months=st.lists(st.tuples(st.integers(1950, 2090), st.integers(1, 12)), min_size=1, max_size=24),
       style=st.sampled_from(["{ru} {y}", "{ru} {y} г.", "{en} {y}", "{en3} {y}", "{RU} {y}"]))
def test_a_month_column_reads_as_each_months_first_day(months, style):
    cells = [style.format(ru=RU_NOMINATIVE[m - 1], RU=RU_NOMINATIVE[m - 1].capitalize(), en=EN_FULL[m - 1],
                          en3=EN_FULL[m - 1][:3], y=y) for y, m in months]
    reading = read_dates(pd.Series(cells, dtype="string"))
    assert not reading.bad.any()
    assert [x.date() for x in reading.values] == [dt.date(y, m, 1) for y, m in months]
    assert reading.month_only == len(cells) and reading.month_examples


def test_month_words_are_recognised_only_when_they_name_one_month():
    assert [month_number(w) for w in ["Января", "янв.", "ИЮН", "июл", "сент", "Sept", "мая", "май", "Mar"]] == \
        [1, 1, 6, 7, 9, 9, 5, 5, 3]
    assert [month_number(w) for w in ["ию", "ма", "Marvel", "Июнька", "понедельник", ""]] == [None] * 6


def test_a_named_date_that_does_not_exist_is_bad_not_moved():
    reading = read_dates(pd.Series(["31 февраля 2024", "5 Marvel 2024", "5 января 2024"], dtype="string"))
    assert reading.bad.tolist() == [True, True, False]


def test_check_names_a_month_column_and_warns_when_only_some_cells_lack_a_day(tmp_path):
    folder = _company(tmp_path / "months", {
        "clients.csv": "client_id\nA\nB\n",
        "transactions.csv": "client_id;date;amount\nA;январь 2024;1 000,00\nB;февраль 2024 г.;2 000,00\n"})
    result = check_company(folder)
    assert result.ok
    assert [str(d.date()) for d in result.company.transactions["date"]] == ["2024-01-01", "2024-02-01"]
    note = [p for p in result.problems if p.code == "month_only_dates"]
    assert len(note) == 1 and note[0].severity == "info" and note[0].column == "date"
    mixed = _company(tmp_path / "mixed", {
        "clients.csv": "client_id\nA\nB\n",
        "transactions.csv": "client_id;date;amount\nA;5 января 2024;1 000,00\nB;февраль 2024;2 000,00\n"})
    warning = [p for p in check_company(mixed).problems if p.code == "month_only_dates"]
    assert len(warning) == 1 and warning[0].severity == "warning" and "февраль 2024" in warning[0].message


# ---- percent cells ----------------------------------------------------------------------------------

shares = st.decimals(min_value=Decimal("-2.5"), max_value=Decimal("2.5"), places=3, allow_nan=False,
                     allow_infinity=False)


def _percent(share: Decimal, style: str) -> str:
    """A share written as a percentage the way each system writes it."""
    value = share * 100
    text = f"{abs(value):.1f}"
    if style == "ru":  # 15,5 % and -3,2 %
        return ("-" if value < 0 else "") + text.replace(".", ",") + "\u00a0%"
    if style == "us":  # 15.5% and -3.2%
        return ("-" if value < 0 else "") + text + "%"
    return f"({text}%)" if value < 0 else f"{text}%"  # accounting: (4.0%)


@settings(max_examples=120, deadline=None)
@given(values=st.lists(shares, min_size=1, max_size=25), style=st.sampled_from(["ru", "us", "accounting"]),
       decimal=st.sampled_from([",", "."]))
def test_percent_cells_read_back_as_shares(values, style, decimal):
    reading = read_numbers(pd.Series([_percent(v, style) for v in values], dtype="string"), decimal=decimal)
    assert not reading.bad.any()
    expected = [float(round(v * 1000) / 1000) for v in values]
    assert reading.values.round(6).tolist() == pytest.approx(expected)
    assert reading.percent == len(values) and reading.percent_plain is None


@settings(max_examples=80, deadline=None)
@given(marked=st.lists(st.integers(1, 99), min_size=1, max_size=10),
       plain=st.lists(st.integers(2, 99), min_size=1, max_size=10))
def test_plain_cells_beside_percent_cells_are_decided_from_all_of_them(marked, plain):
    as_percents = read_numbers(pd.Series([f"{v}%" for v in marked] + [str(v) for v in plain], dtype="string"))
    assert as_percents.percent_plain == "percent"
    assert as_percents.values.round(6).tolist() == [v / 100 for v in marked + plain]
    shares_too = read_numbers(pd.Series([f"{v}%" for v in marked] + [f"0.{v:02d}" for v in plain], dtype="string"))
    assert shares_too.percent_plain == "share"
    assert shares_too.values.round(6).tolist() == [v / 100 for v in marked] + [v / 100 for v in plain]


def test_plain_cells_that_fit_neither_reading_are_reported_by_row_as_written(tmp_path):
    folder = _company(tmp_path, {"clients.csv": "client_id,margin %\nA,15%\nB,0.2\nC, 30 \nD,0\n"})
    result = check_company(folder)
    assert result.ok
    assert result.company.clients["margin %"].tolist()[0] == pytest.approx(0.15)
    assert pd.isna(result.company.clients["margin %"].tolist()[1]) and pd.isna(result.company.clients["margin %"][2])
    assert result.company.clients["margin %"].tolist()[3] == 0
    unsure = [p for p in result.problems if p.code == "percent_unsure"]
    assert [(p.row, p.column, p.details["value"]) for p in unsure] == [(3, "margin %", "0.2"), (4, "margin %", " 30 ")]
    note = [p for p in result.problems if p.code == "percent_column"]
    assert len(note) == 1 and note[0].column == "margin %" and "0.15" in note[0].message


def test_a_percent_metric_is_a_share_in_the_loaded_table(tmp_path):
    folder = _company(tmp_path, {"clients.csv": "client_id,margin\nA,\"15,5 %\"\nB,20%\nC,(4%)\n"})
    company = load_company(folder)
    assert company.clients["margin"].round(6).tolist() == [0.155, 0.2, -0.04]
    assert any(p.code == "percent_column" and p.column == "margin" for p in company.problems)




def test_excel_month_year_cells_and_no_guessed_year():
    reading = read_dates(pd.Series(["Jan-24", "янв.24", "Mar '24", "2024-Jan-05", "05-янв-24"], dtype="string"))
    assert [str(v.date()) for v in reading.values] == ["2024-01-01", "2024-01-01", "2024-03-01", "2024-01-05",
                                                        "2024-01-05"]
    assert reading.month_only == 3
    # a day and month with no year is not a date the file holds: never this year's, never year 1
    undated = read_dates(pd.Series(["Jan 5", "Feb 6", "Q1 2024"], dtype="string"))
    assert undated.bad.tolist() == [True, True, True]


def test_the_sample_written_with_month_names_and_roubles_loads_the_same(tmp_path):
    """The sample's log as a Russian accounting export with month names reads back cell for cell."""
    from helpers import paths

    sample = paths.SAMPLE_DIR / "b2b_services"
    clean = load_company(sample)
    log = pd.read_csv(sample / "transactions.csv", dtype=str)
    days = pd.to_datetime(log["date"])
    log["date"] = [f"{d.day} {RU_GENITIVE[d.month - 1]} {d.year} г." if i % 2 else
                   f"{d.day:02d} {RU_SHORT[d.month - 1]}. {d.year}" for i, d in enumerate(days)]
    for column in ("amount", "margin"):
        log[column] = [_rouble(float(v)) for v in log[column]]
    folder = tmp_path / "twin"
    folder.mkdir()
    for name in ("clients.csv", "company.yml"):
        (folder / name).write_bytes((sample / name).read_bytes())
    with (folder / "transactions.csv").open("w", encoding="cp1251", newline="") as fh:
        fh.write("Реализация за период;;;;\r\n")
        log.to_csv(fh, sep=";", index=False, lineterminator="\r\n")
        fh.write("Итого;;;;\r\n")
    twin = load_company(folder)
    pd.testing.assert_frame_equal(twin.transactions[["client_id", "date", "amount", "margin"]],
                                  clean.transactions[["client_id", "date", "amount", "margin"]])


def _rouble(value: float) -> str:
    text = f"{abs(value):,.2f}".replace(",", "\u00a0").replace(".", ",")
    return f"({text})" if value < 0 else f"{text} руб."
