"""The shortcuts that keep a messy million-row export within 2x of plain pandas (issue 9) give exactly
what the general path gives: every test here compares a fast path with the plain way of computing the
same thing, on columns built to reach the edges of that path (nulls, slices, empty cells, spaces,
Cyrillic, look-alike letters, one odd cell among many plain ones)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
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


# cells of Russian (cp1251) and Western (cp1252) exports: code-page letters, NBSP, €, №, quotes, dashes,
# cells holding the delimiter or a quote (written quoted), blanks and spaces
_CELLS = {"cp1251": ["C001", "007", "1\u00a0234,56", "(1\u00a0234,00)", "№ 7", "«Ромашка»", "ООО Лютик", "Итого", "",
                     " ", "—", "a;b", 'say "hi"', "x,y", "ёЁ", "€"],
          "cp1252": ["C001", "007", "1\u00a0234,56", "€ 5", "Café", "Total", "", " ", "–", "a;b", 'say "hi"',
                     "x,y", "Œuvre", "™"]}
_HEADERS = {"cp1251": ["Код контрагента", "Дата", "Сумма, руб.", "Примечание"],
            "cp1252": ["Client", "Date", "Amount €", "Note"]}
_CELLS["utf-8"], _HEADERS["utf-8"] = _CELLS["cp1251"], _HEADERS["cp1251"]


def _code_page_file(data, encoding: str) -> bytes:
    """A small export in `encoding`: title rows, the header, rows of the code page's cells, a footer."""
    import csv
    import io

    delimiter = data.draw(st.sampled_from([";", ","]))
    out = io.StringIO()
    # CR LF as Windows writes lines, LF, and CR alone (Excel for Mac's "CSV (Macintosh)")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=data.draw(st.sampled_from(["\r\n", "\n", "\r"])))
    for _ in range(data.draw(st.integers(0, 2))):
        writer.writerow([data.draw(st.sampled_from(["Отчёт за период", "Report – Q1"] if encoding == "cp1251"
                                                    else ["Report – Q1", "Sales €"]))] + [""] * 3)
    writer.writerow(_HEADERS[encoding])
    filled = [c for c in _CELLS[encoding] if c.strip()]
    for _ in range(data.draw(st.integers(1, 40))):
        # a row of nothing but spaces is kept by pyarrow and skipped by the careful reader, before and
        # after the code-page shortcut alike: not what this test is about
        writer.writerow([data.draw(st.sampled_from(filled))] + [data.draw(st.sampled_from(_CELLS[encoding]))
                                                                for _ in range(3)])
    if data.draw(st.booleans()):
        writer.writerow(["Итого" if encoding == "cp1251" else "Grand Total", "", "5", ""])
    return out.getvalue().encode(encoding)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), encoding=st.sampled_from(["cp1251", "cp1252", "utf-8"]),
       batch=st.sampled_from([256, 512 << 10]))
def test_code_page_files_read_by_the_fast_path_as_by_the_careful_reader(data, encoding, batch):
    """`batch` 256 bytes: the fast reader takes the file as two halves read at once, each in several
    batches (a real log's are half a megabyte); else as one batch. Either way, the careful reader's table."""
    import tempfile
    from pathlib import Path

    from helpers.step1_list_clients import readers

    content = _code_page_file(data, encoding)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.csv"
        path.write_bytes(content)
        careful = readers.read_table(path, encoding=encoding)
        limit, size = readers.FAST_PATH_BYTES, readers.BATCH_BYTES
        readers.FAST_PATH_BYTES, readers.BATCH_BYTES = 0, batch
        try:
            fast = readers.read_table(path, encoding=encoding)
        finally:
            readers.FAST_PATH_BYTES, readers.BATCH_BYTES = limit, size
    assert list(fast.frame.columns) == list(careful.frame.columns)
    assert fast.frame.astype("string").values.tolist() == careful.frame.astype("string").values.tolist()
    assert fast.rows.tolist() == careful.rows.tolist()
    assert [(p.code, p.row) for p in fast.problems] == [(p.code, p.row) for p in careful.problems]
    assert (fast.encoding, fast.delimiter, fast.header_row) == (careful.encoding, careful.delimiter,
                                                                careful.header_row)


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.binary(max_size=6), min_size=1, max_size=30), nulls=st.sets(st.integers(0, 29)),
       start=st.integers(0, 2), encoding=st.sampled_from(["cp1251", "cp1252"]), one_by_one=st.booleans())
def test_a_code_page_column_becomes_the_utf8_of_each_cell(cells, nulls, start, encoding, one_by_one):
    from helpers.step1_list_clients import readers

    few = readers._FEW_NON_ASCII
    readers._FEW_NON_ASCII = few if one_by_one else 0  # both ways: byte by byte, and in pieces
    try:
        _check_utf8_column(cells, nulls, start, encoding)
    finally:
        readers._FEW_NON_ASCII = few


@settings(max_examples=150, deadline=None)
@given(data=st.data(), high=st.integers(0x80, 0xFF), start=st.integers(0, 2),
       encoding=st.sampled_from(["cp1251", "cp1252"]))
def test_a_column_of_one_non_ascii_byte_is_swapped_as_the_codec_decodes_it(data, high, start, encoding):
    """The NBSP of Russian amounts (one non-ASCII byte in the whole column) goes through Arrow's replace,
    not the codec: cell for cell the same text, nulls and a sliced array included."""
    alphabet = st.sampled_from([b"1", b",", b"(", b" ", bytes([high])])
    cells = data.draw(st.lists(st.lists(alphabet, max_size=6).map(b"".join), min_size=1, max_size=30))
    nulls = data.draw(st.sets(st.integers(0, 29)))
    _check_utf8_column(cells, nulls, start, encoding)


def _check_utf8_column(cells, nulls, start, encoding):
    from helpers.step1_list_clients.readers import _utf8_column

    values = [None if i in nulls else c for i, c in enumerate(cells)]
    array = pa.array([b"\xc0\xc1", b"pad"] + values, pa.binary()).slice(2 + start)
    kept = values[start:]
    try:
        expected = [None if v is None else v.decode(encoding) for v in kept]
    except UnicodeDecodeError:  # a byte the code page lacks (0x98 in cp1251): refused, never guessed
        import pytest

        with pytest.raises(UnicodeDecodeError):
            _utf8_column(array, encoding)
        return
    out = _utf8_column(array, encoding)
    out.validate(full=True)
    assert out.type == pa.string() and out.to_pylist() == expected


def test_a_cp1251_export_takes_the_fast_path_and_transcodes_only_non_ascii_columns(tmp_path, monkeypatch):
    from helpers.step1_list_clients import readers

    rows = "".join(f"C{i:03d};0{1 + i % 9}.01.2025;{i}\u00a0000,50;INV-{i}\r\n" for i in range(50))
    path = tmp_path / "transactions.csv"
    path.write_bytes(("Реализация за период;;;\r\nКод;Дата;Сумма;Документ\r\n" + rows + "Итого;;1;\r\n")
                     .encode("cp1251"))
    transcoded = []
    original = readers._utf8_column
    monkeypatch.setattr(readers, "_utf8_column", lambda a, c, **kw: transcoded.append(a) or original(a, c, **kw))
    monkeypatch.setattr(readers, "FAST_PATH_BYTES", 0)
    raw = readers.read_table(path)
    assert len(transcoded) == 4  # every text column goes through it; ASCII ones are only relabelled
    assert raw.frame["Сумма"].iloc[1] == "1\u00a0000,50" and raw.frame["Код"].iloc[-1] == "C049"
    assert raw.rows.tolist() == list(range(3, 53)) and [p.code for p in raw.problems] == ["title_rows", "totals_row"]


def test_a_byte_cp1251_lacks_is_refused_by_the_fast_path_as_by_the_careful_reader(tmp_path, monkeypatch):
    import pytest

    from helpers.step1_list_clients import readers

    body = "Код;Сумма\r\n" + "".join(f"C{i};{i}\u00a0000\r\n" for i in range(30))
    for where in ("title", "cell"):
        data = body.encode("cp1251")
        data = b"Title \x98;\r\n" + data if where == "title" else data.replace(b"C7;", b"C\x98;")
        path = tmp_path / f"{where}.csv"
        path.write_bytes(data)
        outcomes = []
        for limit in (readers.FAST_PATH_BYTES, 0):
            monkeypatch.setattr(readers, "FAST_PATH_BYTES", limit)
            with pytest.raises(readers.ReadError) as caught:
                readers.read_table(path, encoding="cp1251")
            outcomes.append(caught.value.problem.code)
        assert outcomes == ["bad_encoding", "bad_encoding"], where


_SPACY = ["", " ", "\t", "\u00a0", "\u3000", "\u2009", "\x7f", "\x01", "a", "1", "(", "в", "€", ",", "."]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.lists(st.sampled_from(_SPACY), max_size=4).map("".join), min_size=1, max_size=30),
       nulls=st.sets(st.integers(0, 29), max_size=4), start=st.integers(0, 2))
def test_blank_cells_shortcut_agrees_with_trimming_every_cell(values, nulls, start):
    array = _column(values, nulls, start)
    trimmed = pc.utf8_trim_whitespace(array)
    expected = (pc.equal(pc.binary_length(trimmed), 0).fill_null(True)).to_numpy(zero_copy_only=False)
    assert parsing.blank_cells(pd.Series(array.to_pylist(), dtype="string[pyarrow]")).tolist() == expected.tolist()
    assert parsing.blank_cells(pd.Series(pd.arrays.ArrowStringArray(array))).tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.lists(st.sampled_from(_SPACY), max_size=4).map("".join), min_size=1, max_size=30),
       nulls=st.sets(st.integers(0, 29), max_size=4), start=st.integers(0, 2),
       swap=st.sampled_from([(",", "."), (".", ","), ("a", "b")]))
def test_replace_ascii_is_replace_substring(values, nulls, start, swap):
    array = _column(values, nulls, start)
    out = parsing.replace_ascii(array, *swap)
    out.validate(full=True)
    assert out.to_pylist() == pc.replace_substring(array, *swap).to_pylist()


def test_large_files_read_from_disk_by_pyarrow_match_the_careful_reader(tmp_path, monkeypatch):
    """pyarrow opens a large file itself; a BOM, a blank start, an HTML table and an empty file all
    end as they do when the careful reader has the whole file."""
    import pytest

    from helpers.step1_list_clients import readers

    rows = "".join(f"C{i:03d},2024-01-{1 + i % 28:02d},{i}.5\n" for i in range(40))
    files = {"bom": "\ufeffclient_id,date,amount\n" + rows,
             "blank_start": " " * 5000 + "\nclient_id,date,amount\n" + rows,
             "html": "<html><table><tr><td>client_id</td><td>amount</td></tr><tr><td>A</td><td>5,5</td></tr></table>",
             "spaces_only": " \n" * 3000}
    for name, text in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(text.encode("utf-8"))
        seen = []
        for limit in (readers.FAST_PATH_BYTES, 0):
            monkeypatch.setattr(readers, "FAST_PATH_BYTES", limit)
            if name == "spaces_only":
                with pytest.raises(readers.ReadError) as caught:
                    readers.read_table(path, kind="transactions")
                seen.append(caught.value.problem.code)
                continue
            raw = readers.read_table(path, kind="transactions")
            seen.append((raw.frame.astype("string").values.tolist(), raw.rows.tolist(), raw.encoding,
                         [p.code for p in raw.problems]))
        assert seen[0] == seen[1], name


# cells as number columns hold them: Russian and US money, brackets, signs, percents, scale words, junk
_NUMBER_PIECES = ["1", "12", "123", "1234", "0", ",", ".", "-", "+", "(", ")", " ", "\u00a0", "\u202f", "'",
                  "руб.", "₽", "$", "k", "млн", "e3", "x", "%", "−", ""]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.lists(st.sampled_from(_NUMBER_PIECES), max_size=6).map("".join), min_size=1,
                       max_size=40),
       nulls=st.sets(st.integers(0, 39), max_size=4), decimal=st.sampled_from([",", "."]))
def test_numbers_read_in_two_halves_are_the_numbers_read_whole(values, nulls, decimal):
    column = pd.Series([None if i in nulls else v for i, v in enumerate(values)], dtype="string[pyarrow]")
    limit = parsing.TWO_THREADS_FROM
    try:
        parsing.TWO_THREADS_FROM = 10**9
        whole = parsing.read_numbers(column, decimal=decimal)
        parsing.TWO_THREADS_FROM = 1
        halves = parsing.read_numbers(column, decimal=decimal)
    finally:
        parsing.TWO_THREADS_FROM = limit
    assert np.array_equal(whole.values.to_numpy(), halves.values.to_numpy(), equal_nan=True), values
    assert whole.bad.tolist() == halves.bad.tolist()
    assert (whole.decimal, whole.ambiguous, whole.mixed, whole.examples, whole.percent, whole.percent_plain) == \
        (halves.decimal, halves.ambiguous, halves.mixed, halves.examples, halves.percent, halves.percent_plain)


def _reference_check_text_file(path) -> None:
    """guards.check_text_file as it was before it reused its buffer: each block joined to the unfinished
    line before it (the plain way, kept here as the reference)."""
    from helpers.step1_list_clients import guards

    import io

    lines = blank = 0
    header = None
    tail = b""
    data = path.read_bytes()
    if b"\r" in data[:guards._CHUNK] and b"\n" not in data[:guards._CHUNK]:  # CR alone ends the lines
        data = data.replace(b"\r", b"\n")
    with io.BytesIO(data) as fh:
        for block in iter(lambda: fh.read(guards._CHUNK), b""):
            chunk = tail + block
            cut = chunk.rfind(b"\n") + 1
            if cut == 0 and len(chunk) < 4 * guards._CHUNK:
                tail = chunk
                continue
            if cut == 0:
                guards._refuse_long_line(path, chunk, header or chunk[:1 << 20], lines + 1)
            body, tail = chunk[:cut], chunk[cut:]
            if header is None:
                header = body.split(b"\n", 1)[0]
            starts, ends = guards._line_bounds(body)
            long = np.flatnonzero(ends - starts >= guards.MAX_CELL_CHARS)
            if len(long):
                first = int(long[0])
                guards._refuse_long_line(path, body[starts[first]:ends[first]], header, lines + first + 1)
            blank += guards._blank_lines(body, starts, ends)
            lines += len(ends)
    if tail:
        if header is None:
            header = tail.split(b"\n", 1)[0]
        if len(tail) >= guards.MAX_CELL_CHARS:
            guards._refuse_long_line(path, tail, header, lines + 1)
        lines += 1
    if blank > guards.MAX_BLANK_LINES and blank > lines - blank:
        from helpers.core.errors import problem

        raise guards.ReadError(problem("too_many_blank_lines", file=path.name, blank=f"{blank:,}",
                                       lines=f"{lines - blank:,}"))


_LINES = ["a,b", "id;name", "", " ", ",,,", ";;", "\r", "x" * 30, "y" * 90, ",".join("z" * 7), "c," * 12,
          "long " * 25, "в,г", "q," * 25, "r;" * 8 + "s" * 45]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from(_LINES), min_size=0, max_size=60), end=st.booleans(),
       chunk=st.sampled_from([8, 16, 64, 1 << 20]), split=st.sampled_from([0, 1 << 40]), cr=st.booleans())
def test_guard_with_a_reused_buffer_decides_as_the_plain_guard(lines, end, chunk, split, cr):
    """Small blocks and limits so that lines cross blocks, run past four blocks, hold too long a cell or
    too many cells, and blank lines outnumber the rest: the same file gets the same verdict either way,
    scanned in one pass or as two halves at once (`split` 0: every file is split), with LF or CR alone."""
    import tempfile
    from pathlib import Path

    from helpers.step1_list_clients import guards

    newline = "\r" if cr else "\n"
    lines = [line for line in lines if "\r" not in line] if cr else lines
    data = (newline.join(lines) + (newline if end else "")).encode("utf-8")
    saved = guards._CHUNK, guards.MAX_CELL_CHARS, guards.MAX_COLUMNS, guards.MAX_BLANK_LINES, guards.SPLIT_FROM_BYTES
    guards._CHUNK, guards.MAX_CELL_CHARS, guards.MAX_COLUMNS, guards.MAX_BLANK_LINES = chunk, 40, 10, 3
    guards.SPLIT_FROM_BYTES = split
    verdicts = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "transactions.csv"
            path.write_bytes(data)
            for check in (guards.check_text_file, _reference_check_text_file):
                try:
                    check(path)
                    verdicts.append(None)
                except guards.ReadError as exc:
                    verdicts.append((exc.problem.code, exc.problem.row, exc.problem.column, exc.problem.details))
    finally:
        (guards._CHUNK, guards.MAX_CELL_CHARS, guards.MAX_COLUMNS, guards.MAX_BLANK_LINES,
         guards.SPLIT_FROM_BYTES) = saved
    assert verdicts[0] == verdicts[1], lines


def test_dates_and_amounts_read_at_once_report_in_file_order(tmp_path):
    """Dates are read on their own thread beside the amounts: their problems still come first, as in
    a one-by-one read, each quoting its cell as written."""
    from helpers.step1_list_clients.load import check_company

    folder = tmp_path / "co"
    folder.mkdir()
    (folder / "company.yml").write_text("name: T\n", encoding="utf-8")
    (folder / "transactions.csv").write_text(
        "client_id,date,amount\nA,2024-01-05,10\nB,someday,5\nC,2024-01-07,lots\nD,01/02/2024,1\n", encoding="utf-8")
    result = check_company(folder)
    codes = [(p.code, p.row) for p in result.problems if p.code in ("not_a_date", "not_a_number")]
    assert codes == [("not_a_date", 3), ("not_a_number", 4)]
    assert [p.details["value"] for p in result.problems if p.code in ("not_a_date", "not_a_number")] == \
        ["someday", "lots"]


_DATE_CELLS = ["05.01.2024", " 05.01.2024", "05.01.2024 ", "01/02/2024", " 01/02/2024", "12/13/2010", "", " ",
               "не закрыта", " Open", "soon", "2024-01-05T10:00:00Z", "январь 2024", " январь 2024", "45000"]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.sampled_from(_DATE_CELLS), min_size=1, max_size=30),
       nulls=st.sets(st.integers(0, 29), max_size=4), order=st.sampled_from(["dmy", "mdy"]))
def test_dates_trimmed_on_distinct_cells_read_as_trimmed_cells(values, nulls, order):
    """Trimming the distinct cells gives what trimming every cell gives: values, bad cells, the order
    chosen, and the examples a warning quotes (each once, in the order of the column)."""
    column = pd.Series([None if i in nulls else v for i, v in enumerate(values)], dtype="string[pyarrow]")
    trimmed = pd.Series(pc.utf8_trim_whitespace(parsing.arrow_text(column)).to_pylist(), dtype="string[pyarrow]")
    got, expected = parsing.read_dates(column, order=order), parsing.read_dates(trimmed, order=order)
    assert got.values.tolist() == expected.values.tolist() and got.bad.tolist() == expected.bad.tolist()
    assert (got.order, got.ambiguous, got.examples, got.month_only, got.month_examples) == \
        (expected.order, expected.ambiguous, expected.examples, expected.month_only, expected.month_examples)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("batch", [256, 512 << 10])
def test_a_quoted_line_break_sends_a_large_file_to_the_careful_reader(tmp_path, monkeypatch, newline, batch):
    """pyarrow reads a cell holding a line break right, but numbers every later row a line too early:
    the fast reader counts the lines of what it read and, when rows and lines differ, gives the file to
    the careful reader, so the rows a problem names are the same either way."""
    import csv
    import io

    from helpers.step1_list_clients import readers

    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["client_id", "date", "amount", "note"])
    for i in range(60):
        writer.writerow([f"C{i}", "2024-01-01", f"{i}.5", f"line 1{newline}line 2" if i in (9, 41) else "x"])
    path = tmp_path / "transactions.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    careful = readers.read_table(path)
    monkeypatch.setattr(readers, "FAST_PATH_BYTES", 0)
    monkeypatch.setattr(readers, "BATCH_BYTES", batch)
    fast_reads = []
    original = readers._arrow_csv
    monkeypatch.setattr(readers, "_arrow_csv", lambda *a: fast_reads.append(original(*a)) or fast_reads[-1])
    fast = readers.read_table(path)
    assert fast_reads == [None], "the fast reader kept a file whose rows are not one a line"
    assert fast.frame.values.tolist() == careful.frame.values.tolist()
    assert fast.rows.tolist() == careful.rows.tolist() and fast.rows.tolist()[10] == 13  # C10: line 13
