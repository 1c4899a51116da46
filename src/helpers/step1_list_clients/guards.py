"""Step 1 (list and check the clients): refusing hostile or broken input files before any reader opens them.

Each guard reads a bounded amount of the file (streamed, never the whole of it at once) and turns what
would otherwise be an out-of-memory kill, a minutes-long stall or a bare exception class into one
`file:row:column — what — fix` problem. The readers then only ever see files of sane shape.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from helpers.core.errors import problem
from helpers.core.i18n import t
from helpers.paths import outside_folder_reason
from helpers.step1_list_clients.readers import ReadError, line_end, middle_line_start

# Python's csv module refuses longer fields (csv.field_size_limit()); say so before it does.
MAX_CELL_CHARS = csv.field_size_limit()
# Excel's own limit (XFD): no real export is wider.
MAX_COLUMNS = 16_384
# Blank lines beyond both of these mean an export whose range was wrong, not data.
MAX_BLANK_LINES = 100_000
# An .xlsx part (sheet, shared strings) unpacking to more than this many times its packed size, and to
# more than MAX_PART_BYTES, is a zip bomb: Excel's XML compresses 5-20x, a bomb 100-1000x.
MAX_RATIO = 100
MAX_PART_BYTES = 50_000_000
# openpyxl builds every shared string before the first row is read; real client lists hold far fewer.
MAX_SHARED_STRINGS_BYTES = 200_000_000
_CHUNK = 1 << 20
# A DOCTYPE must come before the root element; a long comment may push it past the first few KB.
DOCTYPE_SCAN_BYTES = 1 << 20


def looks_like_totals(cells: list[str], marker: re.Pattern) -> bool:
    """Whether the first cells of a row form a totals or footer row, not a client whose name starts alike.

    A row counts only when a cell starts with a totals word (`marker`) and either that cell holds
    nothing else but numbers and signs ("Итого:", "Grand Total 12 345") or another of the first cells
    is blank (no id beside it). "Total Freight Ltd" next to its id C001 is a client.

    >>> import re; m = re.compile(r"(?i)^\\s*(итого|total)\\b")
    >>> looks_like_totals(["Итого:", "", "150"], m), looks_like_totals(["C001", "Total Freight Ltd", "IT"], m)
    (True, False)
    >>> looks_like_totals(["Total for region North", "", ""], m), looks_like_totals(["Итого-Сервис", "C9"], m)
    (True, False)
    """
    texts = [str(c or "").strip() for c in cells]
    for cell in texts:
        found = marker.match(cell)
        if not found:
            continue
        rest = cell[found.end():]
        if not re.search(r"[^\W\d_]", rest) or any(not other for other in texts if other is not cell):
            return True
    return False


def path_not_utf8(path: Path) -> bool:
    """True when a path's name cannot be written as UTF-8 (bytes of a cp1251 name on a Linux disk).

    Such a name reaches Python as lone surrogates; notebooks receive parameters as JSON (UTF-8) and
    would fail half-way, so the folder is refused up front.

    >>> path_not_utf8(Path("/tmp/ромашка")), path_not_utf8(Path(os.fsdecode(b"/tmp/\\xd0\\xee")))
    (False, True)
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """Text from an input file made safe for a terminal: control characters shown as `\\xNN` escapes.

    A header holding "ESC ] 0 ; … BEL" would retitle the window; OSC 52 writes the clipboard. Newlines
    and tabs of the kit's own layout are kept.

    >>> printable("a\\x1b]0;PWNED\\x07b\\tc\\nd\\x9b")
    'a\\\\x1b]0;PWNED\\\\x07b\\tc\\nd\\\\x9b'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                        else f"\\u{ord(m.group(0)):04x}", text)


# C0 and C1 controls (ESC, BEL, CSI), bidirectional overrides that reorder what is shown, and lone
# surrogates (undecodable bytes of a file name) that a terminal encoder would choke on.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# Causes that a reader's exception names only by its class, said in words.
_KNOWN_ERRORS = (
    (re.compile(r"field larger than field limit"), "a cell longer than {limit} characters (a broken quote?)"),
    (re.compile(r"(?i)entit|DTD|doctype"), "the file declares XML entities or a DOCTYPE (not produced by Excel)"),
    (re.compile(r"(?i)memory"), "the file needs more memory than this computer has (an export of the wrong range?)"),
    (re.compile(r"(?i)not a zip file|bad ?zip|zip"), "damaged .xlsx (not a valid zip)"),
)


def describe_error(exc: BaseException) -> str:
    """The cause of a reader failure in words: a known cause explained, else the exception's own message.

    >>> import csv; describe_error(csv.Error("field larger than field limit (131072)"))
    'a cell longer than 131,072 characters (a broken quote?)'
    >>> describe_error(ValueError("Max. 16384 columns allowed"))
    'ValueError: Max. 16384 columns allowed'
    """
    text = f"{type(exc).__name__} {exc}"
    for pattern, words in _KNOWN_ERRORS:
        if pattern.search(text):
            return words.format(limit=f"{MAX_CELL_CHARS:,}")
    message = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return printable(f"{type(exc).__name__}: {message}" if message else f"{type(exc).__name__} (no details)")[:160]


def check_input_file(path: Path, folder: Path, *, max_mb: int) -> None:
    """Raise ReadError when an input file must not be read; return quietly otherwise.

    Checks, in order: the file stays inside the company folder; an .xlsx is no zip bomb and holds no
    DOCTYPE. A text file's own guard (`check_text_file`: no megabyte cells, no header wider than Excel's,
    no millions of blank lines) runs in `readers.read_text_table` before the careful reader parses the
    file. A large file's fast reader parses it in batches of half a megabyte and stops at the first batch
    showing any of these (a blank row, a cell of csv's limit, a header wider than Excel's); the guard
    then decides. Memory stays bounded by one batch either way.
    """
    reason = outside_folder_reason(path, folder)
    if reason:
        raise ReadError(problem("input_outside_folder", file=path.name, reason=reason))
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(8)
    if suffix in (".xlsx", ".xlsm", ".xls") and head.startswith(b"PK"):
        check_xlsx(path, max_mb=max_mb)


def check_xlsx(path: Path, *, max_mb: int) -> None:
    """Refuse an .xlsx whose parts unpack to a huge size or that declares a DOCTYPE/entities.

    Uses only the zip directory and the first bytes of each XML part, so a 2 MB file that unpacks
    to 900 MB is answered in milliseconds.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            if total > max_mb * 1_000_000:
                raise ReadError(problem("too_large", file=path.name, mb=round(total / 1e6), limit=max_mb))
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                limit = MAX_SHARED_STRINGS_BYTES if info.filename.endswith("sharedStrings.xml") else None
                if (limit and info.file_size > limit) or (info.file_size > MAX_PART_BYTES and ratio > MAX_RATIO):
                    raise ReadError(problem("xlsx_bomb", file=path.name, part=info.filename,
                                            mb=round(info.file_size / 1e6), ratio=round(ratio)))
            for info in infos:
                if info.filename.endswith((".xml", ".rels")) and info.file_size:
                    with archive.open(info) as part:
                        start = part.read(DOCTYPE_SCAN_BYTES)
                    if b"<!DOCTYPE" in start.upper() or b"<!ENTITY" in start.upper():
                        raise ReadError(problem("xlsx_doctype", file=path.name, part=info.filename))
    except ReadError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise ReadError(problem("unreadable", file=path.name,
                                reason=f"damaged .xlsx (not a valid zip: {exc})"[:160])) from None


def check_text_file(path: Path) -> None:
    """Refuse a CSV/TSV/TXT with a cell longer than csv allows, too many columns, or millions of blank lines.

    Streams the file in 1 MB blocks into one buffer, reused: the unfinished last line of a block is
    moved to its front and the next block read in behind it, so memory stays bounded whatever the
    line count and no block is copied again. A file of SPLIT_FROM_BYTES or more is scanned as two
    halves at once, cut at a line end, on two threads (reading and numpy release the GIL): a
    million-row file is checked in about ten milliseconds. When a half finds a line long enough to
    matter, the whole file is scanned again in one pass, which numbers the row and raises.
    """
    size = path.stat().st_size
    parts = _halves(path, size) if size >= SPLIT_FROM_BYTES else None
    if parts is not None:
        from concurrent.futures import ThreadPoolExecutor

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="tierbook-guard-half") as pool:
                second = pool.submit(_scan, path, *parts[1], _stop_at_long_line)
                found = [_scan(path, *parts[0], _stop_at_long_line), second.result()]
        except _LongLine:
            found = None
        if found is not None:
            _check_blank(path, sum(f[0] for f in found), sum(f[1] for f in found))
            return
    lines, blank = _scan(path, 0, size, None, lambda line, header, row: _refuse_long_line(path, line, header, row))
    _check_blank(path, lines, blank)


# From this size on, `check_text_file` scans a file as two halves at once.
SPLIT_FROM_BYTES = 8 << 20


class _LongLine(Exception):
    """A half of a file holds a line of MAX_CELL_CHARS bytes or more: the one-pass scan decides."""


def _stop_at_long_line(line: bytes, header: bytes, row: int) -> None:
    raise _LongLine


def _halves(path: Path, size: int) -> list[tuple[int, int, bool]] | None:
    """[(start, end, cr_only)] of the file's two halves, cut where `readers.middle_line_start` cuts;
    None when no line ends within a block of the middle (one huge line: the one-pass scan)."""
    with path.open("rb") as fh:
        end = line_end(fh.read(_CHUNK))

        def read_at(nbytes: int, offset: int) -> bytes:
            fh.seek(offset)
            return fh.read(nbytes)

        cut = middle_line_start(read_at, size, end, _CHUNK)
    cr_only = end == b"\r"
    return [(0, cut, cr_only), (cut, size, cr_only)] if cut else None


def _scan(path: Path, begin: int, end: int, cr_only: bool | None, on_long) -> tuple[int, int]:
    """(lines, blank lines) of the bytes [begin, end) of a file, `begin` at a line start; `cr_only`
    None: decided on the first block. `on_long(line, header, row)` is called for a line of
    MAX_CELL_CHARS bytes or more (row counted from `begin`); it raises to refuse the file, or returns
    and the scan goes on."""
    lines = blank = 0
    header: bytes | None = None
    buffer = bytearray(5 * _CHUNK)  # an unfinished line (under 4 blocks, see below) and the next block
    kept = 0  # bytes of the unfinished line at the front of `buffer`
    position = begin
    with path.open("rb") as fh:
        fh.seek(begin)
        while True:
            if kept + _CHUNK > len(buffer):  # a line of 4 MB and more that was let through: keep reading it
                buffer.extend(bytes(_CHUNK))
            with memoryview(buffer) as view:
                got = fh.readinto(view[kept:kept + min(_CHUNK, end - position)]) if position < end else 0
            if not got:
                break
            position += got
            size = kept + got
            if cr_only is None:
                cr_only = line_end(bytes(buffer[kept:size])) == b"\r"  # Excel for Mac: CR alone
            if cr_only:
                buffer[kept:size] = buffer[kept:size].replace(b"\r", b"\n")
            cut = buffer.rfind(b"\n", 0, size) + 1
            if cut == 0 and size < 4 * _CHUNK:
                kept = size  # one line longer than a block: keep reading it
                continue
            if cut == 0:  # a single line of 4 MB and more
                chunk = bytes(buffer[:size])
                on_long(chunk, header or chunk[:1 << 20], lines + 1)
            if header is None:
                header = bytes(buffer[:max(buffer.find(b"\n", 0, cut), 0)])
            with memoryview(buffer) as view:
                body = view[:cut]
                starts, ends = _line_bounds(body)
                long = np.flatnonzero(ends - starts >= MAX_CELL_CHARS)
                if len(long):
                    first = int(long[0])
                    on_long(bytes(body[starts[first]:ends[first]]), header, lines + first + 1)
                blank += _blank_lines(body, starts, ends)
                del body
            lines += len(ends)
            buffer[:size - cut] = buffer[cut:size]
            kept = size - cut
    if kept:
        tail = bytes(buffer[:kept])
        if header is None:
            header = tail.split(b"\n", 1)[0]
        if len(tail) >= MAX_CELL_CHARS:
            on_long(tail, header, lines + 1)
        lines += 1
    return lines, blank


def _check_blank(path: Path, lines: int, blank: int) -> None:
    data_lines = lines - blank
    if blank > MAX_BLANK_LINES and blank > data_lines:
        raise ReadError(problem("too_many_blank_lines", file=path.name, blank=f"{blank:,}", lines=f"{data_lines:,}"))


def _line_bounds(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of every line of `body` (which ends with a newline): vectorised, no Python loop."""
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    return starts, ends


_NOT_CONTENT_BYTES = b" \t\r\n,;|"
_NOT_CONTENT = np.zeros(256, dtype=bool)
_NOT_CONTENT[list(_NOT_CONTENT_BYTES)] = True


def _blank_lines(body: bytes, starts: np.ndarray, ends: np.ndarray) -> int:
    """How many lines hold nothing but spaces and delimiters (",,,," rows of an export range too large).

    A line whose first byte is content is not blank, so only the others are looked at byte by byte:
    a data file costs one lookup per line, a file of delimiter rows the full count."""
    data = np.frombuffer(body, dtype=np.uint8)
    if not len(starts):
        return 0
    candidates = np.flatnonzero((starts == ends) | _NOT_CONTENT[data[np.minimum(starts, len(data) - 1)]])
    if len(candidates) <= 256:  # (bytes(): `body` may be a view of the reader's buffer)
        return sum(not bytes(body[starts[i]:ends[i]]).translate(None, _NOT_CONTENT_BYTES) for i in candidates)
    content = np.concatenate(([0], np.cumsum(~_NOT_CONTENT[data], dtype=np.int64)))
    return int(np.count_nonzero(content[ends] - content[starts] == 0))


def _refuse_long_line(path: Path, line: bytes, header: bytes, row: int) -> None:
    """A line long enough to matter: too many columns, or one cell too long (a broken quote?)."""
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    delimiter = max(",;\t|", key=text.count)
    cells = text.split(delimiter)
    if len(cells) > MAX_COLUMNS:
        raise ReadError(problem("too_many_columns", file=path.name, row=row, count=f"{len(cells):,}",
                                limit=f"{MAX_COLUMNS:,}"))
    longest = max(range(len(cells)), key=lambda i: len(cells[i]))
    if len(cells[longest]) <= MAX_CELL_CHARS:
        return
    names = header.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r").split(delimiter)
    column = printable(names[longest].strip().strip('"'))[:40] if row > 1 and longest < len(names) else None
    raise ReadError(problem("cell_too_long", file=path.name, row=row, column=column,
                            chars=f"{len(cells[longest]):,}", limit=f"{MAX_CELL_CHARS:,}"))
