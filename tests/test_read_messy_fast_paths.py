"""The shortcuts that keep a messy million-row export within 2x of plain pandas (issue 9) give exactly
what the general path gives: every test here compares a fast path with the plain way of computing the
same thing, on columns built to reach the edges of that path (nulls, slices, empty cells, spaces,
Cyrillic, look-alike letters, one odd cell among many plain ones)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.step1_list_clients import parsing
from helpers.step1_list_clients.readers import _TOTALS_HINT, _may_be_totals, _may_start_totals

# starts of cells as exports write them: ids, markers in any case, spaces, letters RE2 folds onto ASCII
_STARTS = ["C0", "Co", "CO", "co", "Total", "TOTAL", "tO", "to", "Grand", "ge", "Su", "sum", "ſub", "ſ",
           "Итого", "итог", "ВСЕГО", "Всего", "ᲀсего", "отчёт сформирован", "©", " ", "\t", "\u00a0", "",
           "1", "-", "Т", "г", "x", "Ё", "\u202f"]
texts = st.lists(st.sampled_from(_STARTS), min_size=0, max_size=4).map("".join)


def _column(values, nulls, start):
    """An Arrow string array of `values` with some nulls, sliced so its offsets do not start at 0."""
    cells = [None if i in nulls else v for i, v in enumerate(values)]
    return pa.array(["padding", "more"] + cells, pa.string()).slice(2 + start)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=40), nulls=st.sets(st.integers(0, 39), max_size=5),
       start=st.integers(0, 2), large=st.booleans())
def test_bytes_present_is_every_byte_of_the_cells(values, nulls, start, large):
    array = _column(values, nulls, start)
    array = array.cast(pa.large_string()) if large else array
    expected = np.zeros(256, dtype=bool)
    for cell in array.to_pylist():
        expected[list((cell or "").encode("utf-8"))] = True
    assert parsing.bytes_present(array).tolist() == expected.tolist()


def test_distinct_bytes_finds_a_rare_byte_far_from_the_start():
    data = b"0123456789" * 100_000 + b"\xa0" + b"1" * 10_000 + b"\xff"
    assert parsing.distinct_bytes(data) == set(b"0123456789\xa0\xff")
    assert parsing.distinct_bytes(b"") == set()


@settings(max_examples=400, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=40), nulls=st.sets(st.integers(0, 39), max_size=5),
       start=st.integers(0, 2))
def test_totals_prefilter_never_misses_a_cell_the_regex_finds(values, nulls, start):
    array = _column(values, nulls, start)
    regex = pc.match_substring_regex(array, _TOTALS_HINT, ignore_case=True).fill_null(False)
    regex = regex.to_numpy(zero_copy_only=False)
    assert not (regex & ~_may_start_totals(array)).any(), array.to_pylist()
    assert _may_be_totals(pd.Series(array.to_pylist(), dtype="string[pyarrow]")).tolist() == regex.tolist()


def test_a_footer_below_a_million_like_ids_is_still_found():
    ids = [f"C{i:06d}" for i in range(5000)] + ["Итого", " Grand Totals (5000 records)", "Confidential"]
    found = _may_be_totals(pd.Series(ids, dtype="string[pyarrow]"))
    assert np.flatnonzero(found).tolist() == [5000, 5001, 5002]
    # ids that begin like a marker word are only candidates: the regex still decides
    assert _may_start_totals(pa.array(["CO-1", "to-2", "C0"])).tolist() == [True, True, False]


def test_every_marker_of_the_pattern_passes_the_prefilter_in_any_case():
    """The prefilter's word starts come from `_TOTALS_HINT` itself: a marker added there is never skipped."""
    import re

    words = re.fullmatch(r"\^\\s\*\(\?:(.*)\)", _TOTALS_HINT).group(1).split("|")
    spelt = [re.sub(r"\[(.)[^\]]*\]", r"\1", w).replace("-?", "-") for w in words]
    cells = [f(w) + " 12 345" for w in spelt for f in (str.lower, str.upper, str.title)]
    assert _may_start_totals(pa.array(cells)).all(), cells
    assert _may_be_totals(pd.Series(cells, dtype="string[pyarrow]")).all(), cells
