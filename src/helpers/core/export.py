"""Writing outputs safely: atomic files, and cells that a spreadsheet cannot execute.

Serves every step that writes (tiers.csv, criteria.csv, figures, report.html): a failed
write never leaves a half-written file, and client text is never turned into a formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: Any) -> Any:
    """Prefix text that a spreadsheet would read as a formula with `'`; leave everything else alone.

    >>> neutralise_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_text(-5), neutralise_text("ООО Ромашка")
    (-5, 'ООО Ромашка')
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` whose text cells (and column names) cannot run as formulas; numbers untouched.

    >>> neutralise_formulas(pd.DataFrame({"name": ["@SUM(A1)", "ok"], "n": [-1, 2]}))["name"].tolist()
    ["'@SUM(A1)", 'ok']
    """
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[column] = series.map(neutralise_text, na_action="ignore")
    out.columns = [neutralise_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _file_mode() -> int:
    """The mode `open()` gives a new file under this process's umask (0o644 under the usual 0o022)."""
    try:  # Linux shows it without changing it (other threads may be creating files meanwhile)
        with open("/proc/self/status", encoding="ascii") as fh:
            mask = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o077)  # elsewhere it can only be read by setting it: put it straight back
        os.umask(mask)
    return 0o666 & ~mask


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write `data` to `path` atomically: a temporary file in the same folder, then a rename.

    The file gets the mode any new file gets under the user's umask, as the folders around it do:
    `mkstemp` alone would leave it readable by its owner only, so a report in a shared folder could
    not be opened by the rest of the team. Who may read client data is the umask's (and the
    folder's) to decide.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tierbook-tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # not on Windows, whose files have no such mode
            os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # os.fsync names no file: say which one could not be written
        raise
    return path


def write_text(text: str, path: str | os.PathLike) -> Path:
    return write_bytes(text.encode("utf-8"), path)


def write_json(data: Any, path: str | os.PathLike) -> Path:
    return write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", path)


def csv_text(df: pd.DataFrame, *, index: bool = False, lineterminator: str = "\n") -> str:
    """A frame as CSV text that no spreadsheet or CSV reader can split or execute.

    Every text field is quoted (numbers are not), so a CR, LF, tab, delimiter or quote inside a
    client name stays inside its cell in Excel, LibreOffice, Python's csv and pandas; formula
    prefixes are neutralised (`neutralise_formulas`). Plain QUOTE_MINIMAL is not enough: Python's
    csv leaves a bare CR unquoted, and Excel then starts a new row at it.

    >>> csv_text(pd.DataFrame({"name": ["Sable\\r=1+1", "ok"], "n": [1, 2]}))
    '"name","n"\\n"Sable\\r=1+1",1\\n"ok",2\\n'
    """
    buffer = io.StringIO()
    neutralise_formulas(df).to_csv(buffer, index=index, lineterminator=lineterminator, quoting=csv.QUOTE_NONNUMERIC)
    return buffer.getvalue()


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, index: bool = False) -> Path:
    """UTF-8 CSV, comma-separated, every text field quoted, safe against formula injection, written atomically."""
    return write_text(csv_text(df, index=index), path)


# Resolution of every saved and embedded figure (notebooks show figures at `figure.dpi`, 100).
PNG_DPI = 110


def figure_png(fig, *, dpi: int = PNG_DPI) -> bytes:
    """A figure as PNG bytes (for embedding in the report)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def write_figure(fig, path: str | os.PathLike) -> Path:
    return write_bytes(figure_png(fig), path)
