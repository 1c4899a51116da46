"""The loader's fast paths (issue 9's speed bar) read every cell exactly as the general path does.

`read_numbers` skips passes for marks no cell holds and reads comma-decimal columns with one cast
(`_comma_readings`); these tests feed columns of every shape to both and compare cell by cell, so a
shortcut can never change what a user's file means."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.step1_list_clients import parsing
from helpers.step1_list_clients.guards import _blank_lines, _line_bounds
from helpers.step1_list_clients.readers import _may_be_totals

# cells built from the characters Russian and US exports put in number columns, plus junk
pieces = st.sampled_from(["1", "12", "123", "1234", "0", ",", ",", ".", "-", "+", "(", ")", " ", "\u00a0",
                          "\u202f", "'", "руб.", "₽", "$", "k", "млн", "e3", "x", "%", ""])
cells = st.lists(pieces, min_size=0, max_size=6).map("".join)


def _general(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The two readings of every cell by the `_US`/`_EU` patterns alone (the reference)."""
    s = parsing.arrow_text(column)
    us_ok, eu_ok = parsing._matches(s, parsing._US), parsing._matches(s, parsing._EU)
    return us_ok, eu_ok


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.from_regex(r"[+-]?[0-9]{0,5}(,[0-9]{0,4})?", fullmatch=True), st.none()),
                      min_size=1, max_size=30))
def test_comma_shortcut_agrees_with_the_patterns(values):
    """Null cells among them too (a null's bytes are no cell's: the position of a comma is read from
    each cell's own end)."""
    s = parsing.arrow_text(pd.Series(values, dtype="string[pyarrow]"))
    fast = parsing._comma_readings(s)
    us_ok, eu_ok = _general(pd.Series(values, dtype="string[pyarrow]"))
    if fast is None:  # a shape it does not take ("5,", "", "-"): the general path reads the column
        assert not (us_ok & eu_ok).all() or any(v is not None and v.endswith(",") for v in values)
        return
    f_us, f_eu, v_dot, v_comma = fast
    assert f_us.tolist() == us_ok.tolist() and f_eu.tolist() == eu_ok.tolist()
    for i, v in enumerate(values):
        if v is None:
            continue
        if eu_ok[i]:
            assert v_comma[i] == float(v.replace(",", "."))
        if us_ok[i]:
            assert v_dot[i] == float(v.replace(",", ""))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(cells, min_size=1, max_size=20), decimal=st.sampled_from([",", "."]))
def test_read_numbers_is_the_same_with_and_without_shortcuts(values, decimal):
    column = pd.Series(values, dtype="string[pyarrow]")
    fast = parsing.read_numbers(column, decimal=decimal)
    # the reference: every byte "present" (no pass skipped) and no comma shortcut
    everything = np.ones(256, dtype=bool)
    original_present, original_comma = parsing.bytes_present, parsing._comma_readings
    try:
        parsing.bytes_present = lambda array: everything.copy()
        parsing._comma_readings = lambda s, present=None: None
        slow = parsing.read_numbers(column, decimal=decimal)
    finally:
        parsing.bytes_present, parsing._comma_readings = original_present, original_comma
    assert np.allclose(fast.values, slow.values, equal_nan=True), values
    assert fast.bad.tolist() == slow.bad.tolist(), values
    assert (fast.decimal, fast.ambiguous, fast.mixed) == (slow.decimal, slow.ambiguous, slow.mixed), values


def test_russian_export_amounts_with_brackets_and_no_break_spaces():
    r = parsing.read_numbers(pd.Series(["1\u00a0234,56", "(1\u00a0234,00)", "12,5", "", "(5", "5)", "((5))", "-"]))
    assert r.values.tolist()[:3] == [1234.56, -1234.0, 12.5]
    assert r.bad.tolist() == [False, False, False, False, True, True, True, False]


def test_bytes_present_sees_every_byte_of_the_cells_only():
    array = pa.array(["ab", None, "в", ""])
    present = parsing.bytes_present(array)
    assert set(np.flatnonzero(present)) == set(b"ab") | set("в".encode())
    assert not parsing.bytes_present(pa.array([None, None], pa.string())).any()
    assert set(np.flatnonzero(parsing.bytes_present(array.slice(2)))) == set("в".encode())


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.sampled_from(["a,b", ",,,", "", "  ", ";;", " x", ",1", "\r", "1;2\r"]), min_size=1, max_size=600))
def test_blank_line_count_is_exact(lines):
    body = ("\n".join(lines) + "\n").encode()
    starts, ends = _line_bounds(body)
    expected = sum(not line.strip(" \t\r,;|") for line in lines)
    assert _blank_lines(body, starts, ends) == expected


def test_totals_markers_are_found_whatever_the_column_holds():
    column = pd.Series(["C000123", "  Итого", "ГРАНД", "Grand Totals (3 records)", "©2024", "TOTAL"],
                       dtype="string[pyarrow]")
    assert _may_be_totals(column).tolist() == [False, True, False, True, True, True]
    ids = pd.Series(["C000123", "C000124"], dtype="string[pyarrow]")
    assert not _may_be_totals(ids).any()


def _rows_in(folder: str) -> int:
    from helpers.step1_list_clients.load import load_company

    return len(load_company(folder).transactions)


def test_a_forked_process_loads_after_its_parent_did(tmp_path):
    """The file digest runs on a thread while the file is read: a child forked after a load (the default
    start method on Linux) must not wait for a thread only its parent had."""
    import multiprocessing
    import pytest

    from folders import write_company

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    folder = str(write_company(tmp_path, {"transactions.csv": "client_id,date,amount\nA,2024-01-05,10\n"}))
    assert _rows_in(folder) == 1
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_rows_in, (folder,)).get(timeout=60) == 1
