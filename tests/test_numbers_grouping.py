"""Issue 9, numbers: Indian lakh/crore grouping and the currency marks of exports from outside Russia and the US.

A Tally or Zoho Books India export writes 12,34,567.00 (two-digit groups before the last three); Brazilian,
Indian, Scandinavian and Polish exports put R$, ₹/Rs./INR, kr and zł around the amount. Each is read as a
person reading the column would, through `read_numbers` and through a whole company folder."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.step1_list_clients.load import check_company
from helpers.step1_list_clients.parsing import read_numbers
from tests.folders import write_company


def indian(value: float) -> str:
    """12345678.9 -> '1,23,45,678.90' (the last three digits, then groups of two)."""
    whole, cents = f"{abs(value):.2f}".split(".")
    head, tail = whole[:-3], whole[-3:]
    groups = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    text = ",".join(groups + [tail]) + "." + cents
    return "-" + text if value < 0 else text


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.integers(min_value=-10**11, max_value=10**11).map(lambda c: c / 100), min_size=1,
                       max_size=30),
       mark=st.sampled_from(["", "₹", "Rs. ", "INR "]))
def test_lakh_and_crore_grouping_reads_back_the_same_amounts(values, mark):
    cells = [mark + indian(v) for v in values]
    reading = read_numbers(pd.Series(cells))
    assert not reading.bad.any(), cells
    assert reading.values.round(2).tolist() == pytest.approx(values), cells
    assert not reading.ambiguous  # every cell holds a dot: the comma can only group


@pytest.mark.parametrize("cells, expected", [
    (["R$ 1.234,56", "R$ 12,50", "R$ 980,00"], [1234.56, 12.5, 980.0]),        # Brazil: decimal comma
    (["1 234,50 kr", "99,00 kr", "12 000,00 kr"], [1234.5, 99.0, 12000.0]),   # Sweden, Norway, Denmark
    (["1 234,50 zł", "99,00 zł"], [1234.5, 99.0]),                            # Poland
    (["(2,50,000.00)", "₹1,00,00,000.00", "-₹5,000.00"], [-250000.0, 10_000_000.0, -5000.0]),
])
def test_currency_marks_of_other_countries_are_understood(cells, expected):
    reading = read_numbers(pd.Series(cells))
    assert not reading.bad.any()
    assert reading.values.tolist() == pytest.approx(expected)


def test_a_lakh_grouped_invoice_log_loads_with_its_amounts(tmp_path):
    folder = write_company(tmp_path / "tally", {
        "clients.csv": "client_id,name\nK1,Kaveri Traders\nK2,Ganga Mills\n",
        "transactions.csv": ('client_id,date,amount\nK1,2024-04-01,"1,23,456.00"\nK2,2024-04-03,"12,34,567.50"\n'
                             'K1,2024-05-02,"98,000.00"\nK2,2024-06-11,"(1,500.00)"\n'),
    })
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]
    amounts = result.company.transactions.sort_values(["client_id", "date"])["amount"].tolist()
    assert amounts == [123456.0, 98000.0, 1234567.5, -1500.0]


def test_a_whole_amount_with_a_dash_for_the_cents_is_read_as_written():
    """German and Swiss invoices write 1.200,- and 50,– for whole amounts: the mark before the dash is the
    decimal mark, so 1.200,- is twelve hundred, in brackets a negative, beside a trailing-minus amount."""
    from helpers.step1_list_clients.parsing import read_numbers

    column = pd.Series(["1.200,-", "50,–", "(1.200,-)", "300,—", "1 200-", "1.000,50"], dtype="string[pyarrow]")
    reading = read_numbers(column)
    assert reading.values.tolist() == [1200.0, 50.0, -1200.0, 300.0, -1200.0, 1000.5]
    assert not reading.bad.any() and not reading.ambiguous
    us = read_numbers(pd.Series(["1,200.-", "50.-"], dtype="string[pyarrow]"))
    assert us.values.tolist() == [1200.0, 50.0] and not us.bad.any()
