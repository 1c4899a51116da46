"""Step 1 of the method: list the clients — load a company folder and check every file.

`load_company` reads whatever the folder holds (client list, team placement, transactions, deals,
prospects, company.yml) into the checked tables of `helpers.step1_list_clients.company.Company`; `check_company` does
the same without raising, for `tierbook check`. Every input row is used or reported.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.step1_list_clients import guards, parsing
from helpers.step1_list_clients.columns import header_scale, map_columns
from helpers.core.vocabulary import DEAL_OUTCOMES
from helpers.step1_list_clients.company import COLUMNS as TABLE_COLUMNS, Company, FileReport
from helpers.step1_list_clients.settings import CONFIG_FILE, CompanySettings, load_settings
from helpers.core.errors import DataProblem, Problem, format_problems, has_errors, problem
from helpers.core.i18n import t
from helpers.step1_list_clients.readers import (RawTable, ReadError, drop_account_rows, drop_breakdown_rows,
                                                fill_down_groups,
                                                job_customer, list_rows, read_table, sheets_like, visible_sheets)
from helpers.step1_list_clients.schema import validate_table

KINDS = ("clients", "placement", "transactions", "deals", "prospects")
EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet")
NUMBER_METRICS = ("revenue", "margin", "purchases", "tenure_months", "payment_delay_days", "support_hours",
                  "deal_cycle_days")
# Cyrillic letters typed instead of the Latin tier letters (А В С Х) and other spellings.
_TIER_TRANSLATE = str.maketrans({"А": "A", "В": "B", "С": "C", "Х": "X", "а": "A", "в": "B", "с": "C", "х": "X",
                                 "Д": "D", "д": "D"})
OUTCOME_SYNONYMS = {
    "won_fast": ["won_fast", "won fast", "fast", "fast win", "quick win", "быстро", "быстрая", "быстро выиграна",
                 "быстрая сделка", "выиграна быстро"],
    "won": ["won", "win", "closed won", "closed - won", "closed-won", "успешно реализовано", "успешно", "выиграна", "выиграно", "сделка успешна",
            "оплачено", "won:", "c:won", "paid", "closedwon", "closed/won", "сделка заключена", "успех", "deal won"],
    "stalled": ["stalled", "stuck", "on hold", "зависла", "заморожена", "пауза", "долго думает", "отложена",
                "отложено", "заморожено"],
    "refused": ["refused", "lost", "closed lost", "отказ", "отказался", "закрыто и не реализовано", "проиграна",
                "не реализовано", "lose", "c:lose", "rejected", "closedlost", "closed/lost", "отклонена",
                "неуспех", "провал", "сделка провалена", "провалена", "анализ причины провала", "apology",
                "закрыто и не реализовано", "closed - lost", "closed-lost", "отказ клиента", "проиграно",
                "deal lost",
                # Bitrix24's failure stage in English (APOLOGY); Zoho CRM's second lost stage
                "analyze failure", "analyse failure", "closed-lost to competition", "closed lost to competition"],
    # stages of a deal still in progress in the default pipelines of HubSpot, Pipedrive, Salesforce,
    # Bitrix24 and amoCRM: counted as open, never judged
    "open": ["open", "in progress", "в работе", "открыта", "appointment scheduled", "qualified to buy",
             "presentation scheduled", "decision maker bought-in", "contract sent", "prospecting", "qualification",
             "needs analysis", "value proposition", "id. decision makers", "perception analysis",
             "proposal/price quote", "negotiation/review", "new", "preparation", "prepayment_invoice",
             "prepayment_invoce", "executing", "final_invoice", "новая", "подготовка документов",
             "счёт на предоплату", "счет на предоплату", "финальный счёт", "финальный счет", "неразобранное",
             "первичный контакт", "переговоры", "принимают решение", "согласование договора", "lead in",
             "contact made", "demo scheduled", "proposal made", "negotiations started", "qualified",
             "proposal", "negotiation",
             # Bitrix24 in English, amoCRM in English (Kommo), Zoho CRM
             "preparing documents", "invoice", "prepayment invoice", "final invoice", "incoming leads",
             "initial contact", "discussions", "decision making", "contract discussion",
             "identify decision makers"],
}
_OUTCOME_LOOKUP = {s: k for k, spellings in OUTCOME_SYNONYMS.items() for s in spellings}
# the same stage names run together, as APIs and internal ids write them: "appointmentscheduled", "closed_won"
_OUTCOME_COMPACT = {re.sub(r"[\s_\-/.]", "", s): k for s, k in _OUTCOME_LOOKUP.items()}
_LEGAL_FORMS = re.compile(r"(?i)\b(ооо|оао|зао|пао|ао|ип|llc|ltd|inc|gmbh|co|llp|corp|plc)\b\.?")
_LOOKALIKE = str.maketrans("aceopxyABCEHKMOPTX", "асеорхуАВСЕНКМОРТХ")


@dataclass
class CheckResult:
    """What `tierbook check` reports for one folder."""

    folder: Path
    company: Company | None
    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.company is not None and not has_errors(self.problems)


def find_input(folder: Path, kind: str) -> Path | None:
    """The file of one kind in the folder (clients.csv, clients.xlsx, ...), ignoring Excel lock files."""
    candidates = [p for p in sorted(folder.iterdir())
                  if p.is_file() and p.stem.lower() == kind and p.suffix.lower() in EXTENSIONS
                  and not p.name.startswith(("~$", ".~lock"))]
    return candidates[0] if candidates else None


def _sha256_in_background(path: Path):
    """Start hashing a file on a thread of its own (hashlib and file reads release the GIL); returns a
    function that waits for the digest. A thread per file, not a pool kept alive: a process forked
    later (multiprocessing's default on Linux) must not inherit a pool whose worker it does not have."""
    found: dict[str, object] = {}

    def work() -> None:
        try:
            found["sha256"] = file_sha256(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            found["error"] = exc

    thread = threading.Thread(target=work, name="tierbook-sha256", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if "error" in found:
            raise found["error"]
        return found["sha256"]

    return wait


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB blocks (recorded in run.json to tie outputs to inputs)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_tier(value: str) -> str:
    """'а1' → 'A1', ' B 2 ' → 'B2', 'с' → 'C' (Cyrillic look-alikes become Latin).

    >>> [normalise_tier(v) for v in ["а1", " B 2 ", "с", "x"]]
    ['A1', 'B2', 'C', 'X']
    """
    return re.sub(r"[\s\-_.]", "", str(value)).translate(_TIER_TRANSLATE).upper()


def _stage_key(value: str) -> str:
    return re.sub(r"\s+", " ", str(value).strip().lower().replace("ё", "е"))


def normalise_outcome(value: str, stages: dict[str, str] | None = None) -> str | None:
    """A deal outcome in the kit's words, or None when the stage is not recognised.

    `stages` (company.yml `deal_stages`: stage as written -> outcome) comes first, then the built-in
    stage names of HubSpot, Pipedrive, Salesforce, Bitrix24 (also its codes, `C14:WON`) and amoCRM.

    >>> [normalise_outcome(v) for v in ["Closed Won", "C14:WON", "Успешно реализовано", "отказ", "Новая", "maybe"]]
    ['won', 'won', 'won', 'refused', 'open', None]
    >>> [normalise_outcome(v) for v in ["appointmentscheduled", "closed_lost", "DecisionMakerBoughtIn"]]
    ['open', 'refused', 'open']
    >>> [normalise_outcome(v) for v in ["Закрыта (выиграна)", "Closed (Lost)", "Closed won (Sales Pipeline)"]]
    ['won', 'refused', 'won']
    >>> [normalise_outcome(v) for v in ["Closed Lost - No Budget", "Closed-Lost to Competition", "Closed won't buy"]]
    ['refused', 'refused', None]
    >>> normalise_outcome("Signed", {"signed": "won"})
    'won'
    """
    text = _stage_key(value)
    own = {_stage_key(k): v for k, v in (stages or {}).items()}
    if text in own:
        return own[text]
    if text in _OUTCOME_LOOKUP:
        return _OUTCOME_LOOKUP[text]
    compact = re.sub(r"[\s_\-/.]", "", text)
    if compact in _OUTCOME_COMPACT:
        return _OUTCOME_COMPACT[compact]
    code = re.fullmatch(r"c\d*:(\w+)", text)  # a Bitrix24 stage code of a custom pipeline
    if code:
        return {"won": "won", "lose": "refused", "lost": "refused", "apology": "refused"}.get(
            code.group(1), _OUTCOME_LOOKUP.get(code.group(1)))
    # a closing stage whose outcome is in brackets: «Закрыта (выиграна)», "Closed (Lost)", «Завершена (успех)»
    inside = re.fullmatch(r"[^()]+\(([^()]+)\)", text)
    if inside and (normalise_outcome(inside.group(1), stages) or "open") != "open":
        return normalise_outcome(inside.group(1), stages)
    # the same stage numbered or with its pipeline named: "7 - Closed Won", "Stage 6: Closed Lost",
    # "06. Negotiation", "Closed won (Sales Pipeline)"
    bare = _STAGE_DECORATION.sub("", text).strip()
    if bare and bare != text:
        return normalise_outcome(bare, stages)
    # a closing stage with its why after it: "Closed Lost - No Budget", "Closed-Lost to Competition" (Zoho)
    closing = _CLOSED_WITH_WHY.match(text)
    if closing:
        return "won" if closing.group(1) == "won" else "refused"
    return None


_CLOSED_WITH_WHY = re.compile(r"closed\s*[-_/]?\s*(won|lost)(?:\s*[-–—:,(]\s*|\s+)\S")
_STAGE_DECORATION = re.compile(r"^(?:(?:stage|этап)\s*)?\d{1,2}\s*[-.:)]\s*|\s*\([^()]*\)$")


def name_key(name: str) -> str:
    """A spelling-insensitive key for near-duplicate names: quotes, legal forms, ё/е and look-alikes ignored.

    >>> name_key('ООО «Ромашка»') == name_key('Ромашка ООО') == name_key('ООО "Ромaшка"')
    True
    """
    s = unicodedata.normalize("NFKC", str(name)).lower().replace("ё", "е")
    s = _LEGAL_FORMS.sub(" ", s)
    s = s.translate(_LOOKALIKE)
    return re.sub(r"[\W_]+", "", s)


def _report(kind: str, path: Path, raw: RawTable | None, sha256: str | None = None) -> FileReport:
    """The FileReport of a file as read; `sha256` "" leaves the digest to be settled later."""
    report = FileReport(kind=kind, path=path, sha256=file_sha256(path) if sha256 is None else sha256)
    if raw is not None:
        report.encoding, report.delimiter, report.sheet = raw.encoding, raw.delimiter, raw.sheet
        report.header_row, report.rows_read = raw.header_row, raw.rows_seen
    return report


def _as_written(value) -> str:
    """A cell quoted exactly as the file holds it (spaces and case kept), cut only when very long."""
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _report_bad(df, column, rows, file, shown, problems, bad, code, severity):
    for i in np.flatnonzero(bad.to_numpy())[:20]:
        problems.append(problem(code, severity, file=file, row=int(rows.iloc[i]), column=shown,
                                value=_as_written(df[column].iloc[i])))
    if bad.sum() > 20:
        problems.append(problem("more_bad_values", severity, file=file, column=shown, count=int(bad.sum()) - 20))


def _number_notes(reading: parsing.NumberReading, settings: CompanySettings, file: str, shown: str,
                  file_mark: str | None = None) -> list[Problem]:
    """The warning `check` prints when a column's number format was chosen by the fallback, not the data."""
    if not reading.ambiguous and not reading.mixed:
        return []
    shown_format = "1,234.56" if reading.decimal == "." else "1 234,56"
    other = "1 234,56" if reading.decimal == "." else "1,234.56"
    if reading.mixed:
        return [problem("mixed_number_formats", "warning", file=file, column=shown)]
    source = ("company.yml number_format" if settings.number_format
              else t("load.file_columns") if file_mark else t("load.locale_default"))
    return [problem("ambiguous_numbers", "warning", file=file, column=shown, examples="», «".join(reading.examples),
                    reading=shown_format, source=source, other=other)]


# Cells only one way of writing numbers can give: "1,020,400" or "1,234.5" (comma thousands), "1.020.400",
# "1.234,5", "7,5" or "1 234,56" (decimal comma).
_POINT_PROOF = re.compile(r"\d,\d{3}(?:,\d{3})*\.\d|\d,\d{3},\d{3}")
_COMMA_PROOF = re.compile(r"\d\.\d{3}(?:\.\d{3})*,\d|\d\.\d{3}\.\d{3}|(?<![\d.,])\d+,\d{1,2}(?!\d)|\d,\d{4,}")


def _decimal(settings: CompanySettings, file_mark: str | None) -> str:
    """The decimal mark for a column whose cells read both ways: company.yml's number_format, else what the
    file's other number columns prove (`_file_mark`), else the locale."""
    return settings.decimal_mark if settings.number_format or not file_mark else file_mark


def _file_mark(frame: pd.DataFrame, skip: tuple[str, ...] = ("client_id", "name")) -> str | None:
    """"." or "," when the text cells of a file's columns prove one way of writing numbers and none the
    other: "254,908" in a column beside "1,020,400" in another is 254 908, as a person reading the file
    takes it. A few thousand cells of each column are looked at; None when nothing or both are proved."""
    point = comma = False
    for column in frame.columns:
        if column in skip or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        cells = frame[column].dropna().astype(str).head(5000)
        cells = cells[cells.str.fullmatch(r"[\s\d.,'’()+\-−$€£₽%]*\d[\s\d.,'’()+\-−$€£₽%A-Za-zА-Яа-я.]*")]
        if cells.empty:
            continue
        point |= bool(cells.str.contains(_POINT_PROOF).any())
        comma |= bool(cells.str.contains(_COMMA_PROOF).any())
    return "." if point and not comma else "," if comma and not point else None


def _percent_notes(reading: parsing.NumberReading, df, column, rows, file, shown, problems) -> None:
    """One note naming a column whose cells carry "%" and how it was read; each cell that fits neither
    reading beside them (see `parsing.read_numbers`) reported by row, quoted as written."""
    if not reading.percent:
        return
    problems.append(problem("percent_column", "info", file=file, column=shown, count=reading.percent,
                            plain=t(f"load.percent_plain_{reading.percent_plain or 'none'}")))
    if reading.unsure is not None and reading.unsure.any():
        _report_bad(df, column, rows, file, shown, problems, reading.unsure, "percent_unsure", "warning")


def _typed_numbers(df, column, rows, file, shown, problems, *, severity="warning", settings=None, file_mark=None):
    settings = settings or CompanySettings()
    reading = parsing.read_numbers(df[column], decimal=_decimal(settings, file_mark))
    _report_bad(df, column, rows, file, shown, problems, reading.bad, "not_a_number", severity)
    problems.extend(_number_notes(reading, settings, file, shown, file_mark))
    _percent_notes(reading, df, column, rows, file, shown, problems)
    scale = header_scale(shown)
    if scale != 1:  # "Выручка, тыс. руб.": the header says what one written unit stands for
        problems.append(problem("scaled_column", "info", file=file, column=shown, scale=f"{scale:.0f}"))
        return reading.values * scale, reading.bad
    return reading.values, reading.bad


_UTC_HEADER = re.compile(r"(?i)\b(?:utc|gmt)\b")


def _typed_dates(df, column, rows, file, shown, problems, settings=None, evidence=None):
    """`evidence`: other date columns of the same file ("Due Date" beside "Invoice Date"), whose cells
    may prove the order that this column's cells leave open."""
    settings = settings or CompanySettings()
    zone = "UTC" if _UTC_HEADER.search(str(shown)) else None  # "Created (UTC)": the times are UTC's
    reading = parsing.read_dates(df[column], order=settings.day_order, timezone=settings.timezone, written_zone=zone)
    if reading.ambiguous and not settings.date_order:
        # no company.yml date_order: another date column of the same file that proves its order
        # ("1/31/2024" in Due Date) decides; else dollar amounts say it is a US export (month first),
        # rouble amounts a Russian one (day first); the warning below still names the column
        hinted = _order_by_other_dates(evidence) or _order_by_amounts(df)
        if hinted and hinted != reading.order:
            reading = parsing.read_dates(df[column], order=hinted, timezone=settings.timezone, written_zone=zone)
    _report_bad(df, column, rows, file, shown, problems, reading.bad, "not_a_date", "warning")
    if reading.ambiguous:
        problems.append(problem("ambiguous_dates", "info" if settings.date_order else "warning", file=file,
                                column=shown, examples="», «".join(reading.examples), order=reading.order,
                                reading=t(f"load.order_{reading.order}")))
    if reading.month_only:
        # a month column is read as each month's first day: said once, a warning when other cells have days
        every = reading.month_only == int((reading.values.notna()).sum())
        problems.append(problem("month_only_dates", "info" if every else "warning", file=file, column=shown,
                                count=reading.month_only, examples="», «".join(reading.month_examples)))
    return reading.values, reading.bad


def _order_by_other_dates(evidence) -> str | None:
    """"dmy" or "mdy" when the other date columns of a file prove one order (a day above 12 written
    first or second) and none proves the other; None otherwise."""
    orders = set()
    for values in evidence or []:
        reading = parsing.read_dates(values)
        if reading.order in ("dmy", "mdy") and not reading.ambiguous and reading.values.notna().any():
            orders.add(reading.order)
    return orders.pop() if len(orders) == 1 else None


# Other columns of a log that hold dates, read only as evidence of the day-month order (`_typed_dates`)
_DATE_WORDS = re.compile(r"(?i)date|дата|\bdue\b|срок|\bat$|time|время")


# Dollar amounts point to a US export (month first); pounds, though written with a decimal point, do not.
_DOLLAR = re.compile(r"(?i)(?:\$|\busd\b)")


def _order_by_amounts(df: pd.DataFrame) -> str | None:
    """"mdy" when the money columns of a file carry dollar signs only, "dmy" when roubles only, else None."""
    texts = [df[c].astype("string").dropna().head(2000) for c in ("amount", "revenue", "margin")
             if c in df and not pd.api.types.is_numeric_dtype(df[c])]
    cells = pd.concat(texts, ignore_index=True) if texts else pd.Series([], dtype="string")
    if cells.empty:
        return None
    # roubles, hryvnias and tenge (parsing's decimal-comma currencies) come from countries that write day first
    dollar, rouble = cells.str.contains(_DOLLAR).any(), cells.str.contains(parsing.COMMA_CURRENCY).any()
    return "mdy" if dollar and not rouble else "dmy" if rouble and not dollar else None


def type_trait(values: pd.Series, forced: str | None = None, *, decimal: str = ",") -> tuple[str, pd.Series]:
    """Decide what kind of trait a column is (number, yesno, category, text) and convert it.

    >>> type_trait(pd.Series(["да", "нет", "да"]))[0], type_trait(pd.Series(["12", "7,5", ""]))[0]
    ('yesno', 'number')
    """
    text = values.astype("string").str.strip()
    filled = text[~text.fillna("").str.lower().isin(parsing.MISSING)]
    kind = forced
    if kind is None:
        if pd.api.types.is_bool_dtype(values) or (len(filled) and parsing.looks_like_yesno(filled)):
            kind = "yesno"
        elif pd.api.types.is_numeric_dtype(values) or (len(filled) and parsing.share_numeric(filled) >= 0.95):
            kind = "number"
        elif filled.nunique() <= max(12, int(0.5 * len(filled))):
            kind = "category"
        else:
            kind = "text"
    if kind == "yesno":
        return kind, parsing.parse_yesno(values)[0]
    if kind == "number":
        return kind, parsing.parse_numbers(values, decimal=decimal)[0]
    return kind, text.where(~text.fillna("").str.lower().isin(parsing.MISSING)).astype(object)


def _canonical(raw: RawTable, kind: str, settings: CompanySettings, problems: list[Problem],
               found: dict[str, str] | None = None):
    """Rename recognised headers; returns (frame, file row numbers, {canonical: header shown}, columns report).

    `found`: {header: column} the caller recognised by content; company.yml's mapping still wins."""
    file = raw.path.name
    headers = [str(c) for c in raw.frame.columns]
    overrides = {**(found or {}), **(settings.load.columns.get(kind) or {})}
    mapping, mapping_problems = map_columns(headers, kind, overrides, file=file, values=lambda h: raw.frame[h])
    problems.extend(mapping_problems)
    frame = raw.frame.rename(columns=mapping).reset_index(drop=True)
    shown = {v: k for k, v in mapping.items()}
    understood = {h: (mapping.get(h, "trait" if kind in ("clients", "prospects") else "ignored"), "") for h in headers}
    if kind not in ("clients", "prospects"):
        ignored = [h for h in headers if h not in mapping]
        if ignored:
            problems.append(problem("ignored_columns", "info", file=file, columns=", ".join(ignored)))
    return frame, raw.rows.reset_index(drop=True), shown, understood


def _file_state(path: Path) -> tuple[int, int] | None:
    """(size, modification time in ns) of a file, None when it is gone: what tells that it changed."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns


class _Digests:
    """Input files' SHA-256, each hashed on a thread of its own once its file is read, while its rows
    are checked, and settled by `settle` once the tables are loaded (a long log's hash is not waited
    for before its amounts are read): the digest goes into its FileReport, and a file whose size or
    modification time is not what it was before it was read is an error (the hash would not be of
    what was read)."""

    def __init__(self) -> None:
        self._pending: list[tuple[FileReport, object, tuple[int, int] | None]] = []

    def add(self, report: FileReport, wait, before: tuple[int, int] | None) -> None:
        self._pending.append((report, wait, before))

    def settle(self, problems: list[Problem]) -> None:
        for report, wait, before in self._pending:
            report.sha256 = wait()
            if _file_state(report.path) != before:
                problems.append(problem("input_changed", file=report.path.name))
        self._pending.clear()


def _read(folder: Path, kind: str, settings: CompanySettings, problems: list[Problem], files: list[FileReport],
          digests: _Digests):
    """Read one input file; None when there is none or it cannot be read (the problem added). The
    file's hash is left running and settled in `digests` (see `_Digests`)."""
    path = find_input(folder, kind)
    if path is None:
        pickled = [p for p in folder.glob(f"{kind}.*") if p.suffix.lower() in (".pkl", ".pickle")]
        if pickled:  # never unpickle: a pickle can run code
            problems.append(problem("unsafe_format", file=pickled[0].name))
        return None
    before = _file_state(path)
    try:
        guards.check_input_file(path, folder, max_mb=settings.load.max_file_mb)  # hostile files end here
        raw = read_table(path, sheet=settings.load.sheets.get(kind), encoding=settings.load.encodings.get(kind),
                         max_mb=settings.load.max_file_mb, kind=kind, columns=settings.load.columns.get(kind),
                         hidden_rows=settings.hidden_rows)
        # hashed once read, while its rows are checked (hashing streams the file: safe on a hostile one);
        # hashing beside the read itself was slower: pyarrow's parse and the transcoding fill both cores
        digest = _sha256_in_background(path)
        if raw.sheet is not None and kind not in settings.load.sheets:
            raw = _sheet_with_the_columns(raw, kind, settings)
            like = sheets_like(raw)
            if like:  # one sheet per year or month: only the first was read, and the run would not say so
                raw.problems.append(problem("other_sheets_same_table", "warning", file=path.name, sheet=raw.sheet,
                                            sheets=", ".join(like), kind=kind))
        raw = drop_account_rows(raw)
        if kind in ("clients", "placement"):  # a log's documents under their clients are `fill_down_groups`'s
            raw = drop_breakdown_rows(raw, decimal=settings.decimal_mark)
        if kind == "transactions":
            raw = fill_down_groups(raw)
            raw = _amount_from_quantity_and_price(raw, settings)
    except ReadError as exc:
        problems.append(exc.problem)
        files.append(_report(kind, path, None))
        return None
    except OSError as exc:
        problems.append(problem("unreadable", file=path.name, reason=exc.strerror or type(exc).__name__))
        return None
    except Exception as exc:  # noqa: BLE001 - a file no reader rule foresaw is still a data problem, not a crash
        problems.append(problem("unreadable", file=path.name, reason=guards.describe_error(exc)))
        files.append(_report(kind, path, None))
        return None
    problems.extend(raw.problems)
    report = _report(kind, path, raw, "")
    digests.add(report, digest, before)
    files.append(report)
    if raw.frame.empty:
        problems.append(problem("empty_file", file=path.name))
        return None
    return raw, report


# A log of lines with a quantity and a unit price but no amount (the UCI "Online Retail" data: Quantity,
# UnitPrice; shop and 1C line exports): what the client paid for a line is their product.
_QUANTITY_HEADERS = {"quantity", "qty", "количество", "кол-во", "кол во", "units", "lineitem quantity"}
_PRICE_HEADERS = {"unitprice", "unit price", "price", "цена", "цена за единицу", "unit amount", "unitamount",
                  "sales price", "price each"}


def _amount_from_quantity_and_price(raw: RawTable, settings: CompanySettings) -> RawTable:
    """A transactions table with no amount column but a quantity and a unit price gets an "amount" column,
    their product, with one note; any other table is returned unchanged. The file is not changed."""
    from helpers.step1_list_clients.columns import normalise_header

    headers = [str(c) for c in raw.frame.columns]
    mapping, _ = map_columns(headers, "transactions", settings.load.columns.get("transactions"), file=raw.path.name)
    if "amount" in mapping.values() or raw.frame.empty:
        return raw
    by_key = {normalise_header(h): h for h in headers if h not in mapping}
    quantity = next((by_key[k] for k in by_key if k in _QUANTITY_HEADERS), None)
    price = next((by_key[k] for k in by_key if k in _PRICE_HEADERS), None)
    if quantity is None or price is None:
        return raw
    mark = settings.decimal_mark
    amount = (parsing.read_numbers(raw.frame[quantity], decimal=mark).values
              * parsing.read_numbers(raw.frame[price], decimal=mark).values).round(6)
    # the two columns become the amount (named in the note), so no report calls them unused
    frame = raw.frame.drop(columns=[quantity, price]).assign(amount=amount.to_numpy())
    found = problem("amount_from_quantity_and_price", "info", file=raw.path.name, quantity=quantity, price=price)
    return RawTable(raw.path, frame, raw.rows, raw.encoding, raw.delimiter, raw.sheet, raw.header_row,
                    [*raw.problems, found], rows_seen=raw.rows_seen, dropped_totals=raw.dropped_totals)


def _lacks_columns(raw: RawTable, kind: str, settings: CompanySettings) -> bool:
    """Whether the table misses a column a `kind` file needs, judged as `_read` will use it: a grouped
    report's blank-headed column of names counts once its names are filled down (`fill_down_groups`)."""
    if kind == "transactions":
        raw = fill_down_groups(raw)
    _, found = map_columns([str(c) for c in raw.frame.columns], kind, settings.load.columns.get(kind),
                           file=raw.path.name)
    return any(p.code == "missing_column" for p in found)


def _sheet_with_the_columns(raw: RawTable, kind: str, settings: CompanySettings) -> RawTable:
    """The first visible sheet whose header has the columns a `kind` file needs, when the first one has
    not (a workbook opening with "Readme" or a summary sheet), with a note naming both sheets; the
    first sheet's table, with a note listing every sheet, when none has them."""
    if not _lacks_columns(raw, kind, settings):
        return raw
    from openpyxl import load_workbook

    book = load_workbook(raw.path, read_only=True)
    try:
        visible = visible_sheets(book)
    finally:
        book.close()
    for name in visible:
        if name == raw.sheet:
            continue
        try:
            other = read_table(raw.path, sheet=name, max_mb=settings.load.max_file_mb, kind=kind,
                               hidden_rows=settings.hidden_rows)
        except ReadError:
            continue
        if not other.frame.empty and not _lacks_columns(other, kind, settings):
            other.problems.append(problem("sheet_chosen_by_columns", "info", file=raw.path.name, sheet=name,
                                          first=raw.sheet))
            return other
    raw.problems.append(problem("no_sheet_has_columns", "info", file=raw.path.name, sheets=", ".join(visible)))
    return raw


def _load_clients(raw, report, settings, problems):
    file = raw.path.name
    frame, rows, shown, understood = _canonical(raw, "clients", settings, problems)
    if "client_id" not in frame:
        return None, {}
    # the same figure for an earlier period ("Revenue 2023" beside "Revenue 2024") is no trait
    earlier = [h for p in problems if p.code == "period_column_chosen" and p.file == file
               for h in p.details["unused"] if h in frame.columns]
    frame = frame.drop(columns=earlier)
    understood.update({h: ("ignored", "") for h in earlier})
    frame["client_id"] = frame["client_id"].astype("string").str.strip()
    frame, found = validate_table("clients", frame, rows, file=file, shown_column=shown)
    problems.extend(found)
    frame, rows = _kept_rows(frame, rows)
    if "name" not in frame:
        frame["name"] = frame["client_id"]
    frame["name"] = frame["name"].astype("string").fillna("").str.strip()
    frame.loc[frame["name"] == "", "name"] = frame["client_id"]
    trait_kinds: dict[str, str] = {}
    file_mark = _file_mark(frame)
    # the dates first, while the money columns are still text: their currency signs can decide dates that
    # read both ways (`_order_by_amounts`)
    for column in sorted(frame.columns, key=lambda c: c != "client_since"):
        header = shown.get(column, column)
        if column in ("client_id", "name"):
            understood[header] = (column, "text")
        elif column == "client_since":
            frame[column], _ = _typed_dates(frame, column, rows, file, header, problems, settings=settings)
            understood[header] = (column, "date")
        elif column in NUMBER_METRICS:
            frame[column], _ = _typed_numbers(frame, column, rows, file, header, problems, settings=settings,
                                              file_mark=file_mark)
            understood[header] = (column, "number")
        else:
            kind, values = type_trait(frame[column], settings.load.trait_types.get(column),
                                      decimal=_decimal(settings, file_mark))
            if kind == "number" and not pd.api.types.is_numeric_dtype(frame[column]):
                reading = parsing.read_numbers(frame[column], decimal=_decimal(settings, file_mark))
                # a cell that is no number ("about 50") is left blank: named, never dropped in silence
                _report_bad(frame, column, rows, file, header, problems, reading.bad, "not_a_number", "warning")
                problems.extend(_number_notes(reading, settings, file, header, file_mark))
                _percent_notes(reading, frame, column, rows, file, header, problems)
            frame[column] = values
            trait_kinds[column] = kind
            understood[header] = ("trait", kind)
    report.columns = understood
    report.rows_used = len(frame)
    _warn_near_duplicates(frame, file, rows, problems)
    if "revenue" in frame:
        low = frame["revenue"] <= 0
        if low.any():
            problems.append(problem("nonpositive_revenue", "warning", file=file, column=shown.get("revenue", "revenue"),
                                    count=int(low.sum()), examples=", ".join(frame.loc[low, "client_id"].head(5))))
    return frame.reset_index(drop=True), trait_kinds


def _kept_rows(frame: pd.DataFrame, rows: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The rows `validate_table` kept, renumbered, with their file row numbers: a later warning about a
    cell then names the row the cell is in, not the one before it."""
    kept = [int(i) for i in frame.index]
    return frame.reset_index(drop=True), rows.iloc[kept].reset_index(drop=True)


def _warn_near_duplicates(clients: pd.DataFrame, file: str, rows: pd.Series, problems: list[Problem]) -> None:
    keys = clients["name"].map(name_key)
    groups = clients.assign(_key=keys)[keys != ""].groupby("_key")["client_id"].agg(list)
    for ids in groups[groups.map(len) > 1].head(30):
        problems.append(problem("near_duplicate_names", "warning", file=file, ids=", ".join(map(str, ids))))


def _warn_plain_tiers(tiers: pd.Series, file: str, column: str, problems: list[Problem]) -> None:
    """One warning counting clients placed in plain A or B, not yet split into A1-A3 / B1-B3."""
    from helpers.core.vocabulary import PLAIN_TIERS

    plain = tiers.isin(PLAIN_TIERS)
    if plain.any():
        problems.append(problem("tier_not_split", "warning", file=file, column=column, count=int(plain.sum())))


def _load_placement(raw, report, settings, problems):
    file = raw.path.name
    frame, rows, shown, understood = _canonical(raw, "placement", settings, problems)
    if not {"client_id", "tier"} <= set(frame.columns):
        return None
    frame["client_id"] = frame["client_id"].astype("string").str.strip()
    tier_text = frame["tier"].astype("string").fillna("").str.strip()
    frame["tier"] = tier_text.map(lambda v: normalise_tier(v) if v else pd.NA).astype(object)
    frame, found = validate_table("placement", frame, rows, file=file, shown_column=shown)
    problems.extend(found)
    _warn_plain_tiers(frame["tier"], file, shown.get("tier", "tier"), problems)
    report.columns = {h: (c, "tier" if c == "tier" else "text") for h, (c, _) in understood.items()}
    report.rows_used = len(frame)
    # the file row stays with each placement until the cross-check has reported unknown clients
    frame = frame.assign(_row=rows.iloc[[int(i) for i in frame.index]].to_numpy())
    return frame[["client_id", "tier"] + (["note"] if "note" in frame else []) + ["_row"]].reset_index(drop=True)


# At least this share of a client-list column's filled cells must be tiers for the column to be the team's tiers.
TIER_COLUMN_SHARE = 0.9


def _tiers_in_client_list(clients: pd.DataFrame, trait_kinds: dict[str, str], placement: pd.DataFrame | None,
                          files: list[FileReport], problems: list[Problem]):
    """A client list that carries the team's tiers in a column ("tier", "ABC", «Категория»: the
    placement's header spellings, with at least TIER_COLUMN_SHARE of its filled cells a tier A1 … X)
    never has them as a trait: a trait equal to the tier would "predict" it perfectly and step 4 would
    write the tiers back as criteria. Without placement.csv the column is the team's placement (a note);
    beside one it is left out of the traits (a warning). Returns (clients, placement); `trait_kinds`
    and the clients file's report are updated in place.
    """
    from helpers.core.vocabulary import ALL_TIER_LABELS
    from helpers.step1_list_clients.columns import SYNONYMS, normalise_header

    spellings = {normalise_header(s) for s in SYNONYMS["tier"]}
    report = next((f for f in files if f.kind == "clients"), None)
    file = report.path.name if report is not None else "clients"
    for column in [c for c in trait_kinds if normalise_header(str(c)) in spellings]:
        text = clients[column].astype("string").str.strip()
        filled = text[text.notna() & (text != "")]
        tiers = filled.map(normalise_tier)
        valid = tiers.isin(ALL_TIER_LABELS)
        if len(filled) < 2 or tiers[valid].nunique() < 2 or valid.mean() < TIER_COLUMN_SHARE:
            continue  # an industry "category" or a customer "group": a trait like any other
        del trait_kinds[column]
        clients = clients.drop(columns=column)
        if report is not None:
            report.columns = {h: (("tier", "tier") if h == column and kind == "trait" else (kind, typed))
                              for h, (kind, typed) in report.columns.items()}
        if placement is not None:
            problems.append(problem("tier_column_beside_placement", "warning", file=file, column=str(column),
                                    header=str(column)))
            continue
        ids = clients.loc[filled.index, "client_id"]
        placement = pd.DataFrame({"client_id": ids.to_numpy(), "tier": tiers.to_numpy(dtype=object),
                                  "_row": 0}).loc[valid.to_numpy()].reset_index(drop=True)
        problems.append(problem("tiers_from_client_list", "info", file=file, column=str(column), header=str(column),
                                count=len(placement)))
        if not valid.all():
            problems.append(problem("tiers_from_client_list_unknown", "warning", file=file, column=str(column),
                                    count=int((~valid).sum()),
                                    examples="», «".join(filled[~valid].drop_duplicates().head(3).tolist())))
        _warn_plain_tiers(placement["tier"], file, str(column), problems)
    return clients, placement


def _load_transactions(raw, report, settings, problems):
    file = raw.path.name
    frame, rows, shown, understood = _canonical(raw, "transactions", settings, problems)
    if not {"client_id", "date", "amount"} <= set(frame.columns):
        return None
    frame["client_id"] = frame["client_id"].astype("string").str.strip()
    frame, rows = _drop_continuation_rows(frame, rows, file, problems)
    date_header, amount_header = shown.get("date", "date"), shown.get("amount", "amount")
    frame["date"], frame["amount"] = _typed_dates_and_amounts(frame, rows, file, date_header, amount_header,
                                                              problems, settings)
    _check_subtotals(raw, frame, shown, settings, problems, rows=rows)
    frame, rows = _orders_as_paid(frame, rows, file, problems, settings)
    if "margin" in frame:
        frame["margin"], _ = _typed_numbers(frame, "margin", rows, file, shown.get("margin", "margin"), problems,
                                            settings=settings)
    frame, found = validate_table("transactions", frame, rows, file=file, shown_column=shown)
    problems.extend(found)
    if "currency" in frame:
        currencies = frame["currency"].astype("string").str.strip().str.upper().replace("", pd.NA)
        distinct = sorted(currencies.dropna().unique())
        if len(distinct) > 1:
            # only a currency written in company.yml chooses; the default (RUB) must not drop rows silently
            wanted = settings.currency.upper() if "currency" in settings.model_fields_set else None
            if wanted in distinct:
                other = currencies.notna() & (currencies != wanted)
                problems.append(problem("other_currency_rows", "warning", file=file, column=shown["currency"],
                                        count=int(other.sum()), currency=wanted, others=", ".join(distinct)))
                frame = frame[~other.to_numpy()]
            else:
                problems.append(problem("mixed_currencies", file=file, column=shown["currency"],
                                        currencies=", ".join(distinct)))
    negative = frame["amount"] < 0
    if negative.any():
        problems.append(problem("refunds", "info", file=file, column=shown.get("amount", "amount"),
                                count=int(negative.sum()), total=f"{frame.loc[negative, 'amount'].sum():,.2f}"))
    zero = frame["amount"] == 0
    if zero.any():
        problems.append(problem("zero_amounts", "info", file=file, column=shown.get("amount", "amount"),
                                count=int(zero.sum())))
    report.columns = {h: (c, {"date": "date", "amount": "number", "margin": "number"}.get(c, "text"))
                      for h, (c, _) in understood.items()}
    report.rows_used = len(frame)
    # `name` only until the cross-check, which may link the log to the clients by it (see `_load`)
    keep = [c for c in ("client_id", "date", "amount", "margin", "currency", "document", "name") if c in frame]
    return frame[keep].reset_index(drop=True)


def _typed_dates_and_amounts(frame, rows, file, date_header, amount_header, problems, settings):
    """The log's dates and amounts, read at once: the dates on a thread of their own (a long log's
    amounts take two more, see `parsing.read_numbers`), since both spend their time in Arrow kernels
    and numpy, which release the GIL. Problems are added in the order of a one-by-one read (dates
    first); the thread ends before this returns. Returns (datetime64 Series, float64 Series)."""
    from concurrent.futures import ThreadPoolExecutor

    date_problems: list[Problem] = []
    # a frame of its own for the thread, nothing it reads changed meanwhile: the dates, and the amounts as
    # written, whose currency marks decide dates that read both ways (`_order_by_amounts`)
    dates = frame[["date", "amount"]]
    # other date columns of the log ("Due Date"), read only if the dates leave their order open; nothing
    # writes to them while the thread runs
    canonical = set(TABLE_COLUMNS["transactions"]["required"] + TABLE_COLUMNS["transactions"]["optional"])
    evidence = [frame[c] for c in frame.columns if c not in canonical and _DATE_WORDS.search(str(c))]
    with ThreadPoolExecutor(1, thread_name_prefix="tierbook-dates") as pool:
        read = pool.submit(_typed_dates, dates, "date", rows, file, date_header, date_problems, settings=settings,
                           evidence=evidence)
        amount_problems: list[Problem] = []
        amounts, _ = _typed_numbers(frame, "amount", rows, file, amount_header, amount_problems, settings=settings)
        days, _ = read.result()
    problems.extend(date_problems + amount_problems)
    return days, amounts


def _drop_continuation_rows(frame: pd.DataFrame, rows: pd.Series, file: str, problems: list[Problem]):
    """Drop the extra line-item rows of an order export with one note, not a warning per row. An
    order's second and later items repeat its customer and leave its total blank; Shopify leaves the
    date blank too, or repeats it ("Created at" on every line). So a row with no amount is an order's
    extra line when it has no date, or when the row above is of the same client on the same date."""
    no_amount = parsing.blank_cells(frame["amount"])
    if not no_amount.any():  # every amount filled: no continuation rows, and the dates are not looked at
        return frame, rows
    no_date = parsing.blank_cells(frame["date"])
    same_order = np.zeros(len(frame), dtype=bool)
    dated = np.flatnonzero(no_amount & ~no_date)  # only these rows are compared with the row above
    dated = dated[dated > 0]
    if len(dated):
        here, above = frame.iloc[dated], frame.iloc[dated - 1]
        def same(column: str) -> np.ndarray:  # a blank cell above is never the same order
            return (here[column].fillna("").to_numpy(dtype=object) == above[column].to_numpy(dtype=object)) \
                & ~above[column].isna().to_numpy(dtype=bool)

        same_order[dated] = same("client_id") & same("date")
    extra = no_amount & (no_date | same_order) & frame["client_id"].notna().to_numpy(dtype=bool)
    if not extra.any():
        return frame, rows
    problems.append(problem("continuation_rows", "info", file=file, count=int(extra.sum()),
                            rows=list_rows(rows[extra].tolist())))
    keep = ~extra
    return frame[keep].reset_index(drop=True), rows[keep].reset_index(drop=True)


# A shop's order export (Shopify) keeps a refunded or voided order at its full total: "Refunded Amount"
# says how much went back, and a "voided" payment status means no money changed hands. Invoice and
# payment exports (Xero, Zoho, Square, Stripe) keep drafts, voided and failed documents in one "Status".
_REFUNDED_HEADERS = {"refunded amount", "amount refunded", "refund amount", "refunds", "total refunded",
                     "order refund amount", "сумма возврата", "возвращено"}
_STATUS_HEADERS = {"financial status", "payment status", "статус оплаты", "order status", "статус заказа",
                   "status", "invoice status", "transaction status", "document status", "статус",
                   "статус документа", "статус счета"}
# a filled cell here means the order was cancelled (Shopify "Cancelled at")
_CANCELLED_HEADERS = {"cancelled at", "canceled at", "cancelled date", "дата отмены"}
# no sale kept: void, cancelled, failed or never issued (a draft) or never paid for (a shop's pending order)
_VOID_WORDS = {"voided", "void", "аннулирован", "аннулировано", "отменен", "отменён", "cancelled", "canceled",
               "failed", "wc-cancelled", "wc-failed", "draft", "deleted", "declined", "expired", "uncaptured",
               "pending", "pending payment", "wc-pending", "awaiting approval", "abandoned", "trash", "wc-trash",
               "черновик", "удален", "удалён", "отклонен", "отклонён", "отменена", "аннулирована",
               "помечен на удаление", "не проведен", "не проведён"}  # 1C: a document not posted
# a fully refunded order, where the file has no refunded amount to take off (WooCommerce's "Order Status")
_REFUNDED_WORDS = {"refunded", "wc-refunded", "возвращен", "возвращён"}


def _orders_as_paid(frame: pd.DataFrame, rows: pd.Series, file: str, problems: list[Problem],
                    settings: CompanySettings) -> tuple[pd.DataFrame, pd.Series]:
    """The log as the clients paid it: a document's total repeated on each of its lines counted once,
    refunds taken off, voided orders left out (each with one note). The input is not changed."""
    frame, rows = _sales_documents_only(frame, rows, file, problems)
    frame = _jobs_to_customers(frame, file, problems)
    frame, rows = _document_totals_once(frame, rows, file, problems, settings)
    return _net_of_refunds_and_voids(frame, rows, file, problems, settings)


def _jobs_to_customers(frame: pd.DataFrame, file: str, problems: list[Problem]) -> pd.DataFrame:
    """QuickBooks names a customer's job "Acme:Project A": when the part before the colon is itself a
    client of the log, or two jobs share it, the jobs' lines are the customer's (one note)."""
    import pyarrow.compute as pc

    text = parsing.arrow_text(frame["client_id"])
    if not parsing.bytes_present(text)[ord(":")]:
        return frame  # no colon in any id (one pass over the bytes; the distinct ids only when there is one)
    ids = pd.Series(pc.unique(text).drop_null().to_pylist(), dtype=object)
    jobs = ids[ids.str.contains(":", regex=False)]
    if jobs.empty:
        return frame
    prefix = jobs.str.split(":", n=1).str[0].str.strip()
    # two jobs sharing a customer count only when both halves read as names ("Birch:Kitchen"), never
    # codes: "CUST:001" and "CUST:002" are two clients
    worded = jobs.str.fullmatch(r"[^:]*[a-zа-яё][^:]*:\s*[^:]*[a-zа-яё].*")
    shared = (prefix.map(prefix.value_counts()) > 1) & worded
    customer = prefix.where(prefix.isin(set(ids)) | shared)
    mapping = dict(zip(jobs[customer.notna()], customer[customer.notna()]))
    if not mapping:
        return frame
    problems.append(problem("jobs_as_customers", "info", file=file, count=len(mapping),
                            examples=", ".join(f"{j} → {c}" for j, c in list(mapping.items())[:3])))
    return frame.assign(client_id=frame["client_id"].replace(mapping))


# A log of every document of a client (QuickBooks "Transaction List by Customer", a 1C list of documents)
# holds the sale and, beside it, its payment or the quote before it: summed, each sale counts twice.
_TYPE_HEADERS = {"transaction type", "type", "тип", "тип документа", "вид документа", "вид операции", "txn type",
                 "document type"}
_PAYMENT_TYPES = {"payment", "receive payment", "customer payment", "deposit", "оплата", "оплата от покупателя",
                  "receipt", "sales receipt on account", "sr", "sa",  # Sage 50: customer receipt, payment on account
                  "поступление на расчетный счет", "поступление на расчётный счёт", "приходный кассовый ордер",
                  "поступление безналичных денежных средств"}
_NOT_A_SALE_TYPES = {"estimate", "sales order", "quote", "proforma", "pro forma invoice", "delayed charge",
                     "счет на оплату", "счёт на оплату", "счет на оплату покупателю", "счёт на оплату покупателю",
                     "заказ покупателя", "заказ клиента", "коммерческое предложение"}


# Documents that give money back: some exports write them with a positive amount (Xero's "Sales credit
# note", Sage's SC) and a person reading the file takes them off.
_CREDIT_TYPES = {"credit note", "sales credit note", "credit memo", "refund receipt", "refund", "return",
                 "accreccredit", "sc", "credit", "gutschrift", "корректировка реализации", "возврат от покупателя",
                 "возврат товаров от покупателя", "кредит-нота", "кредитовое авизо"}


def _credits_taken_off(frame: pd.DataFrame, rows: pd.Series, kind: pd.Series, column: str, file: str,
                       problems: list[Problem]) -> pd.DataFrame:
    """Credit notes written with a positive amount made negative, with one note; a file that already
    writes them negative (QuickBooks' credit memos, Square's refunds) is left as it is."""
    credit = kind.isin(_CREDIT_TYPES).fillna(False).to_numpy(dtype=bool)
    amounts = frame["amount"].to_numpy(dtype="float64")
    if not credit.any() or (amounts[credit] < 0).any():
        return frame
    positive = credit & (amounts > 0)
    if not positive.any():
        return frame
    _not_ignored(problems, file, [column])
    problems.append(problem("credit_notes_negated", "info", file=file, column=column, count=int(positive.sum()),
                            types=", ".join(sorted(frame.loc[positive, column].astype(str).str.strip().unique())),
                            rows=list_rows(rows[positive].tolist())))
    return frame.assign(amount=np.where(positive, -amounts, amounts))


def _sales_documents_only(frame: pd.DataFrame, rows: pd.Series, file: str,
                          problems: list[Problem]) -> tuple[pd.DataFrame, pd.Series]:
    """Payments, and quotes or orders that are no sale yet, left out of a log that also holds the sales
    themselves (invoices, receipts, «Реализация»), with one note each; a log of payments alone stays."""
    from helpers.step1_list_clients.columns import normalise_header

    column = next((c for c in frame.columns if normalise_header(c) in _TYPE_HEADERS), None)
    if column is None:
        return frame, rows
    kind = frame[column].astype("string").str.strip().str.lower().str.replace("ё", "е")
    frame = _credits_taken_off(frame, rows, kind, str(column), file, problems)
    payment = kind.isin({k.replace("ё", "е") for k in _PAYMENT_TYPES}).fillna(False).to_numpy(dtype=bool)
    no_sale = kind.isin({k.replace("ё", "е") for k in _NOT_A_SALE_TYPES}).fillna(False).to_numpy(dtype=bool)
    sales = ~payment & ~no_sale & kind.notna().to_numpy(dtype=bool)
    if not sales.any() or not (payment | no_sale).any():
        return frame, rows
    for mask, code in ((payment, "payment_rows"), (no_sale, "not_a_sale_rows")):
        if mask.any():
            problems.append(problem(code, "info", file=file, column=str(column), count=int(mask.sum()),
                                    types=", ".join(sorted(frame.loc[mask, column].astype(str).str.strip().unique())),
                                    rows=list_rows(rows[mask].tolist())))
    keep = ~(payment | no_sale)
    _not_ignored(problems, file, [str(column)])
    return frame[keep].reset_index(drop=True), rows[keep].reset_index(drop=True)


# Per-line amounts beside a document total (Xero's invoice export: "Total" on every line, "LineAmount" each)
_LINE_AMOUNT_HEADERS = {"line amount", "lineamount", "line total", "linetotal", "сумма строки", "line net amount"}


def _document_totals_once(frame: pd.DataFrame, rows: pd.Series, file: str, problems: list[Problem],
                          settings: CompanySettings) -> tuple[pd.DataFrame, pd.Series]:
    """Xero, WooCommerce and many invoice exports write one row per line and repeat the invoice's total
    on each: summed as they stand, an invoice of three lines counts three times. When every document
    written on several rows in a row carries one amount on all of them, and either the file's line
    amounts add up to it (or vary where it does not) or at least three such documents say so, the
    total is counted once per document (its first row kept), with one warning. Lines of a document
    stand together in such exports, so a log whose neighbouring rows never share a document is passed
    over in one comparison (a million rows stay fast). Any other file is returned as it is."""
    if "document" not in frame or len(frame) < 2:
        return frame, rows
    if any(p.code == "amount_from_quantity_and_price" and p.file == file for p in problems):
        return frame, rows  # amounts computed line by line are the lines' own
    import pyarrow.compute as pc

    from helpers.step1_list_clients.columns import normalise_header

    def same_as_next(values: pd.Series) -> np.ndarray:
        text = parsing.arrow_text(values)  # as written: an export writes a document's number alike on its lines
        equal = pc.equal(text.slice(1), text.slice(0, len(text) - 1)).fill_null(False)
        return equal.to_numpy(zero_copy_only=False).astype(bool)

    same = same_as_next(frame["document"])  # same[i]: row i + 1 continues the document of row i
    if not same.any():
        return frame, rows
    same &= same_as_next(frame["client_id"])
    dates = frame["date"].to_numpy(dtype="datetime64[ns]")
    same &= dates[1:] == dates[:-1]  # an invoice's lines share its date; a client's monthly fees do not
    amounts = frame["amount"].to_numpy(dtype="float64")
    equal = (amounts[1:] == amounts[:-1]) | (np.isnan(amounts[1:]) & np.isnan(amounts[:-1]))
    if not same.any() or (same & ~equal).any():
        return frame, rows  # no document on several rows, or lines with their own amounts
    continues = np.concatenate([[False], same])
    run = np.cumsum(~continues) - 1
    documents = int((np.bincount(run) > 1).sum())
    line = next((c for c in frame.columns if normalise_header(c) in _LINE_AMOUNT_HEADERS), None)
    if line is not None:
        lines = parsing.read_numbers(frame[line], decimal=settings.decimal_mark).values.fillna(0).to_numpy()
        sums, totals = np.bincount(run, weights=lines), amounts[~continues]
        several = np.bincount(run) > 1
        # the lines add up to the total, or differ where the amount does not
        proven = bool((np.abs(sums - totals) <= 0.01 + 0.005 * np.abs(totals))[several].all()
                      or (same & (lines[1:] != lines[:-1])).any())
    else:
        proven = documents >= 3
    if not proven:
        return frame, rows
    problems.append(problem("document_total_repeated", "warning", file=file, count=documents,
                            rows=list_rows(rows[continues].tolist())))
    return frame[~continues].reset_index(drop=True), rows[~continues].reset_index(drop=True)


def _net_of_refunds_and_voids(frame: pd.DataFrame, rows: pd.Series, file: str, problems: list[Problem],
                              settings: CompanySettings) -> tuple[pd.DataFrame, pd.Series]:
    """Orders net of what was refunded, and orders or documents with no sale kept left out, each with one
    note: a person reading a Shopify export takes Total − Refunded Amount as what the client paid, and
    nobody counts a draft, voided, failed or cancelled document (`_VOID_WORDS` in any status column, a
    filled "Cancelled at"). An order refunded in full is left out too, not kept as a sale of 0. The
    input is not changed."""
    from helpers.step1_list_clients.columns import normalise_header

    canonical = set(TABLE_COLUMNS["transactions"]["required"] + TABLE_COLUMNS["transactions"]["optional"])
    by_key = {normalise_header(c): c for c in frame.columns if c not in canonical}
    statuses = [by_key[k] for k in by_key if k in _STATUS_HEADERS]
    cancelled = [by_key[k] for k in by_key if k in _CANCELLED_HEADERS]
    refunded = next((by_key[k] for k in by_key if k in _REFUNDED_HEADERS), None)
    void = np.zeros(len(frame), dtype=bool)
    words = _VOID_WORDS if refunded is not None else _VOID_WORDS | _REFUNDED_WORDS
    words = {w.replace("ё", "е") for w in words}
    for column in statuses:
        said = frame[column].astype("string").str.strip().str.lower().str.replace("ё", "е").str.replace("_", " ")
        void |= said.isin(words).fillna(False).to_numpy(dtype=bool)
    for column in cancelled:
        void |= ~parsing.blank_cells(frame[column])
    back = None
    if refunded is not None:
        back = parsing.read_numbers(frame[refunded], decimal=settings.decimal_mark).values.fillna(0).abs()
        back = back.to_numpy()
        amounts = frame["amount"].to_numpy(dtype="float64")
        void |= (back > 0) & (np.abs(amounts - back) <= 0.005)  # refunded in full: nothing was kept
    used = statuses + cancelled + ([refunded] if refunded is not None else [])
    if void.any():
        problems.append(problem("voided_orders", "info", file=file, column=", ".join(statuses + cancelled) or refunded,
                                count=int(void.sum()), rows=list_rows(rows[void].tolist())))
        frame, rows = frame[~void].reset_index(drop=True), rows[~void].reset_index(drop=True)
        back = back[~void] if back is not None else None
    if back is not None and (back > 0).any():
        frame = frame.assign(amount=frame["amount"].to_numpy() - back)
        problems.append(problem("refunded_amounts", "info", file=file, column=refunded,
                                count=int((back > 0).sum()), total=f"{back.sum():,.2f}"))
    if used and (void.any() or (back is not None and (back > 0).any())):
        _not_ignored(problems, file, used)
    return frame, rows


def _check_subtotals(raw: RawTable, frame: pd.DataFrame, shown: dict[str, str], settings: CompanySettings,
                     problems: list[Problem], *, rows: pd.Series) -> None:
    """In a grouped report, compare each group's lines with its subtotal row and all lines with the grand total.

    A subtotal whose group opens on a known row (`_from`, see `readers.fill_down_groups`) sums the lines
    between that row and itself, so a sub-customer's total is checked against its own lines and its
    customer's total against all of the customer's; `rows` are the file rows of `frame`'s lines. A
    difference of more than half a cent is a warning naming the subtotal's row: lines missing from
    the export, or hidden, would otherwise go unnoticed once the totals are dropped."""
    if raw.dropped_totals is None or not any(p.code == "grouped_report" for p in raw.problems):
        return
    header = shown.get("amount", "amount")
    if header not in raw.dropped_totals:
        return
    stated = parsing.read_numbers(raw.dropped_totals[header], decimal=settings.decimal_mark).values
    stated = stated * header_scale(header)  # in the unit of the lines (`_typed_numbers`)
    keys = frame["client_id"].astype("string").fillna("").map(name_key)
    sums = frame["amount"].groupby(keys.to_numpy()).sum()
    clients = set(frame["client_id"].dropna())
    at = rows.to_numpy()
    opens = raw.dropped_totals.get("_from", pd.Series(None, index=raw.dropped_totals.index))
    for (_, row), total, start in zip(raw.dropped_totals.iterrows(), stated, opens):
        if pd.isna(total):
            continue
        group = row.get("_group")  # the group a subtotal sums (readers.fill_down_groups); none: the grand total
        group = group if isinstance(group, str) else None
        if group and pd.notna(start):
            inside = (at > int(start)) & (at < int(row["_row"]))
            lines = float(frame["amount"].to_numpy()[inside].sum())
        elif group and job_customer(group, clients) != group:
            continue  # a QuickBooks job's lines went to its customer, whose own total checks them all
        elif group and name_key(group) not in sums.index:
            continue  # a total naming no group of the report: nothing to compare it with
        else:
            lines = sums.get(name_key(group), 0.0) if group else frame["amount"].sum()
        if abs(lines - total) > 0.005:
            code, params = ("subtotal_mismatch", {"group": group}) if group else ("grand_total_mismatch", {})
            problems.append(problem(code, "warning", file=raw.path.name, row=int(row["_row"]), column=header,
                                    lines=f"{lines:,.2f}", total=f"{total:,.2f}", **params))


_DELETED_STAGES = {"deleted", "удалена", "удалено", "удален", "удалена из crm"}


def _load_deals(raw, report, settings, problems):
    file = raw.path.name
    flags = _won_closed_flags(raw.frame)
    chosen, others, readings = _outcome_column(raw.frame, settings, flags)
    frame, rows, shown, understood = _canonical(raw, "deals", settings, problems,
                                                {**flags, **({chosen: "outcome"} if chosen else {})})
    if "outcome" not in frame:
        return None
    _note_outcome_column(chosen, others, readings, rows, file, problems, understood)
    original = frame["outcome"].astype("string").fillna("").str.strip()
    # a deal deleted in the CRM (Pipedrive's status "deleted") was no decision: left out, with one note;
    # the frame keeps each row's position in the file's table as its index (`validate_table`, `kept`)
    deleted = original.str.lower().str.replace("ё", "е").isin(_DELETED_STAGES).to_numpy(dtype=bool)
    if deleted.any():
        problems.append(problem("deleted_deals", "info", file=file, column=shown["outcome"], count=int(deleted.sum()),
                                rows=list_rows(rows[deleted].tolist())))
        frame, original = frame[~deleted], original[~deleted]
    outcome = original.map(lambda v: normalise_outcome(v, settings.deal_stages) or (v if v else pd.NA))
    outcome = _outcome_by_flags(frame, outcome, file, shown, problems)
    # open deals are named by the stage they are at, where another column holds it
    at_stage = frame[others[0]].astype("string").fillna("").str.strip() if others else original
    _note_open_stages(original, outcome, file, shown["outcome"], problems, at_stage.where(at_stage != "", original))
    # a stage no pipeline knows is still a deal in progress: counted as open, and named above
    frame["outcome"] = outcome.where(outcome.isin(DEAL_OUTCOMES) | outcome.isna(), "open").astype(object)
    frame, found = validate_table("deals", frame, rows, file=file, shown_column=shown)
    problems.extend(found)
    kept = [int(i) for i in frame.index]  # positions in the file's table of the rows still used
    rows = rows.iloc[kept].reset_index(drop=True)
    frame = frame.reset_index(drop=True)
    present = [c for c in ("created", "closed") if c in frame]
    texts = {c: frame[c].copy() for c in present}  # as written: each may prove the other's day-month order
    for column in present:
        frame[column], _ = _typed_dates(frame, column, rows, file, shown[column], problems, settings=settings,
                                        evidence=[texts[c] for c in present if c != column])
    _closed_by_outcome(raw, kept, frame, rows, settings, problems, understood)
    for column in ("cycle_days", "amount"):
        if column in frame:
            frame[column], _ = _typed_numbers(frame, column, rows, file, shown[column], problems, settings=settings)
    if "cycle_days" not in frame and {"created", "closed"} <= set(frame.columns):
        frame["cycle_days"] = (frame["closed"] - frame["created"]).dt.days.astype("float64")
    if "cycle_days" in frame:  # an open deal has no cycle yet (its close date is a plan)
        frame.loc[frame["outcome"] == "open", "cycle_days"] = np.nan
        backwards = (frame["cycle_days"] < 0).to_numpy(dtype=bool)
        if backwards.any():  # closed before it was created: records back-filled into the CRM, no cycle
            problems.append(problem("negative_cycle", "warning", file=file, column=shown.get("closed", "cycle_days"),
                                    count=int(backwards.sum()), rows=list_rows(rows[backwards].tolist())))
            frame.loc[backwards, "cycle_days"] = np.nan
    for column in ("client_id", "reason", "name", "deal_id", "title"):
        if column in frame:
            text = frame[column].astype("string").str.strip()
            frame[column] = text.where(text != "").astype(object)
    if "reason" not in frame:
        frame["reason"] = None
    # the deal's own title is recognised only so it is never taken for the client's name; it is not
    # carried on (it often holds a client name that anonymised runs could not replace)
    frame = frame.drop(columns=["title"], errors="ignore")
    kinds = {"created": "date", "closed": "date", "cycle_days": "number", "amount": "number", "outcome": "outcome",
             "is_won": "yesno", "is_closed": "yesno"}
    report.columns = {h: (c, kinds.get(c, "text" if c != "ignored" else "")) for h, (c, _) in understood.items()}
    report.rows_used = len(frame)
    # the file row stays with each deal until the cross-check has linked it to a client
    return frame.assign(_row=rows.to_numpy())


# Salesforce's IsWon / IsClosed (report columns "Won" and "Closed"), HubSpot's "Is Closed Won" and "Is Deal
# Closed?" as yes/no flags: set by the stage's own settings in the CRM, so they decide a deal at a custom
# stage ("Signed", "Dead") no built-in list knows.
_FLAG_HEADERS = {"is_won": ("won", "is won", "iswon", "выиграна", "is closed won", "hs is closed won"),
                 "is_closed": ("closed", "is closed", "isclosed", "закрыта", "сделка закрыта", "is deal closed?",
                               "is deal closed", "hs is closed")}


def _won_closed_flags(frame: pd.DataFrame) -> dict[str, str]:
    """{header: "is_won" | "is_closed"} for the yes/no columns of a deal export that say whether a deal
    was won or is closed. A "Closed" column of dates stays the close date."""
    from helpers.step1_list_clients.columns import normalise_header

    found: dict[str, str] = {}
    for header in frame.columns:
        key = normalise_header(header)
        for flag, names in _FLAG_HEADERS.items():
            if key in names and flag not in found.values() and parsing.looks_like_yesno(frame[header]):
                found[str(header)] = flag
    return found


def _outcome_by_flags(frame: pd.DataFrame, outcome: pd.Series, file: str, shown: dict[str, str],
                      problems: list[Problem]) -> pd.Series:
    """The outcome where Won/Closed flags decide it: closed and won → won, closed and not won → refused,
    not closed → open. A stage that says the same keeps its finer outcome (won_fast, stalled); a stage
    that says otherwise gives way to the flags, with one warning counting such deals."""
    if "is_won" not in frame and "is_closed" not in frame:
        return outcome
    won = parsing.parse_yesno(frame["is_won"])[0] if "is_won" in frame else pd.Series(pd.NA, index=frame.index,
                                                                                       dtype="boolean")
    closed = (parsing.parse_yesno(frame["is_closed"])[0] if "is_closed" in frame
              else pd.Series(pd.NA, index=frame.index, dtype="boolean"))
    by_flags = pd.Series(pd.NA, index=frame.index, dtype=object)
    by_flags[(won == True).fillna(False).to_numpy(dtype=bool)] = "won"  # noqa: E712 - nullable booleans
    by_flags[((closed == True) & (won == False)).fillna(False).to_numpy(dtype=bool)] = "refused"  # noqa: E712
    by_flags[((closed == False) & (won != True)).fillna(False).to_numpy(dtype=bool)] = "open"  # noqa: E712
    stage_family = outcome.map(lambda v: _FAMILY.get(v) if isinstance(v, str) else None)
    decided = by_flags.notna()
    differs = decided & stage_family.notna() & (stage_family != by_flags)
    if differs.any():
        problems.append(problem("stage_against_flags", "warning", file=file, column=shown.get("outcome"),
                                count=int(differs.sum()),
                                flags=", ".join(shown[c] for c in ("is_won", "is_closed") if c in shown)))
    keep = decided & (stage_family == by_flags).fillna(False)
    return outcome.where(~decided | keep, by_flags)


_FAMILY = {"won_fast": "won", "won": "won", "refused": "refused", "open": "open", "stalled": "open"}


def _outcome_readings(values: pd.Series, stages: dict[str, str] | None) -> pd.Series:
    """Each cell's outcome as `normalise_outcome` reads it; None for a blank cell or a stage not known."""
    text = values.astype("string").fillna("").str.strip()
    known = {v: normalise_outcome(v, stages) for v in text.unique() if v}
    return text.map(lambda v: known.get(v)).astype(object)


def _outcome_column(frame: pd.DataFrame, settings: CompanySettings,
                    flags: dict[str, str]) -> tuple[str | None, list[str], dict[str, pd.Series]]:
    """Which column holds the deals' outcome when more than one header could (Pipedrive's "Deal - Stage"
    beside "Deal - Status"; amoCRM's «Этап» beside «Статус»): a won or lost deal often keeps the pipeline
    stage it was at, so the column read won or lost for the most deals decides, then the one with the
    most known stages, then the first. Returns (that header, the other candidates, each one's readings);
    (None, [], {}) when there is at most one candidate or company.yml maps the outcome itself."""
    from helpers.step1_list_clients.columns import headers_for, normalise_header

    overrides = settings.load.columns.get("deals") or {}
    if "outcome" in overrides.values():
        return None, [], {}
    named = {normalise_header(k) for k in overrides}
    candidates = [h for h in headers_for(list(frame.columns), "deals", "outcome")
                  if h not in flags and normalise_header(h) not in named]
    if len(candidates) < 2:
        return None, [], {}
    readings = {h: _outcome_readings(frame[h], settings.deal_stages) for h in candidates}

    def score(header: str) -> tuple[int, int]:
        reading = readings[header]
        return int(reading.map(_FAMILY).isin(("won", "refused")).sum()), int(reading.notna().sum())

    chosen = max(candidates, key=score)  # the first of equals: the order of the file
    return chosen, [h for h in candidates if h != chosen], readings


def _note_outcome_column(chosen: str | None, others: list[str], readings: dict[str, pd.Series], rows: pd.Series,
                         file: str, problems: list[Problem], understood: dict) -> None:
    """Say which of two outcome columns was read and what the other one is taken for; warn of deals
    the other column calls won or lost otherwise. The other column is shown as the pipeline stage."""
    if chosen is None:
        return
    used = readings[chosen].map(_FAMILY)
    decided = int(used.isin(("won", "refused")).sum())
    for other in others:
        theirs = readings[other].map(_FAMILY)
        problems.append(problem("outcome_column_chosen", "info", file=file, column=str(chosen), used=str(chosen),
                                other=str(other), used_count=decided,
                                other_count=int(theirs.isin(("won", "refused")).sum())))
        differs = (theirs.isin(("won", "refused")) & (theirs != used)).to_numpy(dtype=bool)
        if differs.any():
            problems.append(problem("outcome_columns_disagree", "warning", file=file, column=str(chosen),
                                    used=str(chosen), other=str(other), count=int(differs.sum()),
                                    rows=list_rows(rows[differs].tolist())))
        understood[other] = ("stage", "")
    _not_ignored(problems, file, [str(h) for h in others])


def _note_open_stages(original: pd.Series, outcome: pd.Series, file: str, shown: str,
                      problems: list[Problem], at_stage: pd.Series | None = None) -> None:
    """One note for the deals still open, named by `at_stage` (the pipeline stage, where another column
    than the outcome holds it), one warning naming stages no built-in pipeline knows."""
    known_open = outcome == "open"
    unknown = outcome.notna() & ~outcome.isin(DEAL_OUTCOMES)
    if known_open.any():
        counts = (original if at_stage is None else at_stage)[known_open].value_counts()
        problems.append(problem("open_deals", "info", file=file, column=shown, count=int(known_open.sum()),
                                stages=", ".join(f"{k} ×{v}" for k, v in counts.head(12).items())))
    if unknown.any():
        counts = original[unknown].value_counts()
        problems.append(problem("unknown_stages", "warning", file=file, column=shown, count=int(unknown.sum()),
                                stages="», «".join(f"{k}" for k in counts.head(12).index)))


def _closed_by_outcome(raw, kept, frame, rows, settings, problems, understood) -> None:
    """Fill `closed` from "Won time" / "Lost time" columns (Pipedrive) where no general close date is given."""
    from helpers.step1_list_clients.columns import CLOSED_BY_OUTCOME, normalise_header

    spellings = {normalise_header(x) for x in CLOSED_BY_OUTCOME}
    extra = [h for h in raw.frame.columns if understood.get(h, ("",))[0] == "ignored"
             and normalise_header(h) in spellings]
    for header in extra:
        source = pd.DataFrame({header: raw.frame[header].iloc[kept].to_numpy()})
        values, _ = _typed_dates(source, header, rows, raw.path.name, header, problems, settings=settings)
        values.index = frame.index
        frame["closed"] = frame["closed"].fillna(values) if "closed" in frame else values
        understood[header] = ("closed", "date")
    _not_ignored(problems, raw.path.name, extra)


def _not_ignored(problems: list[Problem], file: str, used: list[str]) -> None:
    """Take columns just used from the file's "columns not used" note (in place; the note goes when empty)."""
    if not used:
        return
    for i, p in enumerate(problems):
        if p.code == "ignored_columns" and p.file == file:
            rest = [h for h in p.details["columns"].split(", ") if h not in used]
            problems[i] = problem("ignored_columns", "info", file=p.file, columns=", ".join(rest))
    problems[:] = [p for p in problems if not (p.code == "ignored_columns" and not p.details["columns"])]


def _load_prospects(raw, report, settings, trait_kinds, problems):
    file = raw.path.name
    frame, rows, shown, understood = _canonical(raw, "prospects", settings, problems)
    if "prospect_id" not in frame:
        return None
    frame["prospect_id"] = frame["prospect_id"].astype("string").str.strip()
    frame, found = validate_table("prospects", frame, rows, file=file, shown_column=shown)
    problems.extend(found)
    frame, rows = _kept_rows(frame, rows)
    if "name" not in frame:
        frame["name"] = frame["prospect_id"]
    for column in frame.columns:
        if column in ("prospect_id", "name"):
            continue
        forced = trait_kinds.get(column)
        if forced is None and column not in ("need", "solvency", "authority"):  # the three P: keyclients
            problems.append(problem("unknown_prospect_trait", "info", file=file, column=shown.get(column, column)))
        kind, values = type_trait(frame[column], forced, decimal=settings.decimal_mark)
        if kind == "number" and not pd.api.types.is_numeric_dtype(frame[column]):  # as in the client list
            reading = parsing.read_numbers(frame[column], decimal=settings.decimal_mark)
            header = shown.get(column, column)
            _report_bad(frame, column, rows, file, header, problems, reading.bad, "not_a_number", "warning")
            problems.extend(_number_notes(reading, settings, file, header))
        frame[column] = values
    report.columns = {h: (c, "text" if c != "trait" else trait_kinds.get(h, type_trait(raw.frame[h])[0]))
                      for h, (c, _) in understood.items()}
    report.rows_used = len(frame)
    return frame.reset_index(drop=True)


def _isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """values.isin(known) for ids, as bool[n]: Arrow's hashed `is_in` on the text of both (pandas' isin of
    an Arrow-backed column walks the known values in Python). A null id is never known."""
    import pyarrow.compute as pc

    return pc.is_in(parsing.arrow_text(values), value_set=parsing.arrow_text(known),
                    skip_nulls=True).to_numpy(zero_copy_only=False).astype(bool)


def _zeros_matched(written: pd.Series, known: pd.Series) -> dict[str, str]:
    """{id as written: the known id} for digit ids not in the client list (`written`, distinct) that equal
    exactly one known id once leading zeros are dropped ("00123" and "123"): Excel drops them from a
    number in one file and keeps them in text in another."""
    written = written[written.str.fullmatch(r"\d+")]
    if written.empty:
        return {}
    digits = pd.Series(known.dropna().astype(str).unique(), dtype=object)
    digits = digits[digits.str.fullmatch(r"\d+")]
    stripped = digits.str.lstrip("0")
    unique = stripped.value_counts()
    by_value = dict(zip(stripped[stripped.map(unique) == 1], digits[stripped.map(unique) == 1]))
    return {w: by_value[w.lstrip("0")] for w in written if w.lstrip("0") in by_value}


_SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")


def _salesforce_suffix(id15: str) -> str:
    """The three characters Salesforce adds to a 15-character record id to make the 18-character one:
    one per five characters, spelling which of them are upper-case (Salesforce's documented checksum)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    return "".join(alphabet[sum(1 << i for i, ch in enumerate(id15[k:k + 5]) if ch.isupper())]
                   for k in (0, 5, 10))


def _salesforce_matched(written: pd.Series, known: pd.Series) -> dict[str, str]:
    """{id as written: the known id} for Salesforce record ids not in the client list (`written`,
    distinct) that are a known id in its other length (reports show 15 characters, Data Loader and the
    API 18): the same record when the long one is the short one plus its checksum. Ids of any other
    shape are never matched."""
    written = written[written.str.fullmatch(_SALESFORCE_ID.pattern)]
    if written.empty:
        return {}
    ours = pd.Series(known.dropna().astype(str).unique(), dtype=object)
    ours = ours[ours.str.fullmatch(_SALESFORCE_ID.pattern)]
    # each known id by its first 15 characters (an 18-character one only when its checksum holds)
    by_short = {k[:15]: k for k in ours if len(k) == 15 or _salesforce_suffix(k[:15]) == k[15:]}
    return {w: by_short[w[:15]] for w in written
            if w[:15] in by_short and (len(w) == 15 or _salesforce_suffix(w[:15]) == w[15:])}


def _mended_ids(ids: pd.Series, known: pd.Series, file: str, where: str, problems: list[Problem]) -> dict[str, str]:
    """{id as written: the client list's id} for ids that are a client's written another way — leading
    zeros dropped (a warning: Excel may have dropped them), or a Salesforce id in its 15- or 18-character
    form (a note: its checksum proves it) — one problem for each kind."""
    written = pd.Series(ids[~_isin(ids, known)].dropna().astype(str).unique(), dtype=object)
    if written.empty:
        return {}
    matched = {}
    for found, code, severity in ((_zeros_matched(written, known), "ids_differ_by_zeros", "warning"),
                                  (_salesforce_matched(written, known), "salesforce_ids_15_18", "info")):
        if found:
            problems.append(problem(code, severity, file=file, column="client_id", count=len(found),
                                    examples=", ".join(f"{w} → {k}" for w, k in list(found.items())[:3]),
                                    where=where))
            matched |= found
    return matched


_SCIENTIFIC_ID = re.compile(r"^\d(?:[.,]\d+)?[eE]\+\d{1,3}$")


def _warn_scientific_ids(ids: pd.Series, file: str, problems: list[Problem]) -> None:
    """Ids Excel wrote as "7,70123E+11": the digits it dropped are lost, and two clients may now share an id."""
    cut = ids.dropna().astype(str)
    if not (cut.str.contains("+", regex=False) & cut.str.contains("e", case=False, regex=False)).any():
        return  # "7,70123E+11" holds both; a million plain ids are answered without the pattern
    cut = cut[cut.str.strip().str.fullmatch(_SCIENTIFIC_ID.pattern)]
    if len(cut):
        problems.append(problem("ids_in_scientific_notation", "warning", file=file, column="client_id",
                                count=int(cut.nunique()), examples=", ".join(cut.unique()[:3])))


def _cross_check(clients, placement, transactions, deals, files, problems, *, tx_ids: pd.Series | None = None):
    """Match the placement's and the log's client ids to the client list (mending ids that lost their
    leading zeros, in place); `tx_ids` are the log's distinct ids when the caller has them already."""
    known = clients["client_id"]
    file_of = {f.kind: f.path.name for f in files}
    if "clients" in file_of:
        _warn_scientific_ids(known, file_of["clients"], problems)
    where = file_of.get("clients", "clients")
    # a placement read from the client list's own tier column has no file of its own
    matched = (_mended_ids(placement["client_id"], known, file_of.get("placement", where), where, problems)
               if placement is not None else {})
    if matched:
        placement["client_id"] = placement["client_id"].replace(matched)
    if placement is not None:
        unknown = placement[~_isin(placement["client_id"], known)]
        for cid, row in zip(unknown["client_id"], unknown["_row"]):
            problems.append(problem("unknown_client", "warning", file=file_of["placement"], row=int(row),
                                    column="client_id", value=cid, where=file_of.get("clients", "clients")))
        placement = placement[_isin(placement["client_id"], known)].drop(columns="_row").reset_index(drop=True)
        for report in files:
            if report.kind == "placement":
                report.rows_used = len(placement)
    if transactions is not None:
        # unique first: a log has many rows per client
        ids = tx_ids if tx_ids is not None else pd.Series(transactions["client_id"].unique())
        if "transactions" in file_of:
            _warn_scientific_ids(ids, file_of["transactions"], problems)
        unknown = ids[~_isin(ids, known)]
        none_known = len(unknown) == len(ids)
        matched = (_mended_ids(unknown, known, file_of.get("transactions", "transactions"), where, problems)
                   if len(unknown) else {})
        if matched:
            transactions["client_id"] = transactions["client_id"].replace(matched)
        unknown = sorted(set(unknown.tolist()) - set(matched))
        if unknown and none_known and "name" in transactions:
            # not one id of the log is a client's: they are another system's (accounting beside the CRM),
            # so the client's name links, as for deals
            linked = _linked_by_name(transactions, unknown, clients)
            if linked:
                transactions["client_id"] = transactions["client_id"].replace(linked)
                problems.append(problem("transactions_linked_by_name", "warning", file=file_of["transactions"],
                                        column="client_id", count=len(linked), total=len(unknown)))
                unknown = [cid for cid in unknown if cid not in linked]
        if unknown:
            problems.append(problem("transactions_unknown_clients", "warning", file=file_of["transactions"],
                                    column="client_id", count=len(unknown), examples=", ".join(unknown[:5])))
            extra = pd.DataFrame({"client_id": unknown, "name": unknown})
            clients = pd.concat([clients, extra], ignore_index=True)
    return clients, placement


def _names_in_log(transactions: pd.DataFrame, ids: list[str]) -> list[str]:
    """Each client's name for a data-only audit: the first name the log gives the id ("Контрагент" beside
    «ИНН»), else the id itself."""
    if "name" not in transactions:
        return list(ids)
    text = transactions["name"].astype("string").str.strip()
    named = pd.DataFrame({"id": transactions["client_id"], "name": text})[text.notna() & (text != "")]
    first = named.drop_duplicates("id").set_index("id")["name"]
    return [str(first.get(cid, cid)) for cid in ids]


def _name_keys(names: pd.Series) -> pd.Series:
    """`name_key` of each name; "" for a missing one."""
    return names.map(lambda v: name_key(v) if isinstance(v, str) else "")


def _clients_by_name(clients: pd.DataFrame) -> pd.Series:
    """client_id by `name_key` of the client's name, for names that single out one client (a name two
    clients share links to neither)."""
    keys = _name_keys(clients["name"])
    unique = keys[~keys.duplicated(keep=False) & (keys != "")]
    return pd.Series(clients["client_id"].astype("string")[unique.index].to_numpy(), index=unique.to_numpy())


def _linked_by_name(transactions: pd.DataFrame, ids: list[str], clients: pd.DataFrame) -> dict[str, str]:
    """{log id: client id} for the log ids `ids` whose rows all name one and the same client of the list
    (compared as `name_key` does); an id whose rows name no client, or two, stays unlinked."""
    pairs = transactions.loc[_isin(transactions["client_id"], pd.Series(ids)), ["client_id", "name"]]
    pairs = pairs.dropna().drop_duplicates()
    found = _name_keys(pairs["name"]).map(_clients_by_name(clients))
    clients_of = pd.DataFrame({"id": pairs["client_id"].astype(str), "client": found}).groupby("id")["client"]
    named = clients_of.agg(lambda c: c.iloc[0] if c.notna().all() and c.nunique() == 1 else None).dropna()
    return {str(k): str(v) for k, v in named.items()}


def link_deals(deals: pd.DataFrame, clients: pd.DataFrame, *, file: str, problems: list[Problem]) -> pd.DataFrame:
    """Give each deal its client's id: by the client id column, else by the organisation's name.

    A deal's own id (`deal_id`, "Record ID", "Deal - ID") is never used as a client. In a file with
    no client id column, a deal is linked by its organisation name (`name`), compared spelling-insensitively
    (`name_key`: quotes, legal forms, ё/е, look-alike letters); only a name that singles out one
    client links. Deals left unlinked are reported once each way, with their count and first rows:
    a warning for client ids the client list lacks, a note for organisations not in the list (often
    prospects that never bought). Returns a new frame without the helper `_row` column; the input is
    not changed.
    """
    deals = deals.copy()
    rows = deals.pop("_row") if "_row" in deals else pd.Series(range(2, len(deals) + 2), index=deals.index)
    known = clients["client_id"].astype("string")
    if "client_id" not in deals and "name" not in deals:
        # nothing ties a deal to a client: step 3 counts them without tiers, and `check` says why
        problems.append(problem("deals_no_client_column", "warning", file=file, count=len(deals)))
        return deals
    given = (deals["client_id"].astype("string") if "client_id" in deals
             else pd.Series(pd.NA, index=deals.index, dtype="string"))
    matched = _mended_ids(given.dropna(), known, file, "clients", problems)
    if matched:  # "00123" in the deals, "123" in the client list: one client (see _cross_check)
        given = given.replace(matched)
    unknown_id = given.notna() & ~pd.Series(_isin(given, known), index=deals.index)
    by_name = pd.Series(False, index=deals.index)
    crm_ids = "client_id" in deals and "name" in deals and given.notna().any() and bool(unknown_id[given.notna()].all())
    if crm_ids:
        # not one id is a client's: they are the CRM's own ids of the organisations (Pipedrive's
        # "Organization - ID"), so the organisation's name links, as in a file without ids
        problems.append(problem("deal_client_ids_unknown", "warning", file=file, column="client_id"))
        given = pd.Series(pd.NA, index=deals.index, dtype="string")
        unknown_id = pd.Series(False, index=deals.index)
    if "name" in deals and ("client_id" not in deals or crm_ids):  # a blank id beside others means "not a client"
        found = _name_keys(deals["name"]).map(_clients_by_name(clients))
        by_name = given.isna() & found.notna()
        given = given.where(~by_name, found.astype("string"))
        if by_name.any():
            problems.append(problem("deals_linked_by_name", "info", file=file, column="name",
                                    count=int(by_name.sum()), total=len(deals)))
    deals["client_id"] = given.astype(object).where(given.notna(), None)
    no_client = given.isna()
    for mask, column, severity in ((unknown_id, "client_id", "warning"), (no_client, "name", "info")):
        if mask.any() and column in deals:
            # row numbers only: the names and ids of non-clients must not reach an anonymised run's output
            first = list_rows(rows[mask].astype(int).tolist(), limit=10)
            code = "deals_unknown_client" if column == "client_id" else "deals_unmatched"
            problems.append(problem(code, severity, file=file, column=column, count=int(mask.sum()),
                                    total=len(deals), rows=first))
    return deals


def _guarded(read: tuple, problems: list[Problem], loader, *args):
    """Run one file's loader; an unexpected failure becomes an error naming the file, never a traceback."""
    raw, report = read
    try:
        return loader(raw, report, *args)
    except Exception as exc:  # noqa: BLE001 - whatever the data did, `tierbook check` must answer
        problems.append(problem("load_failed", file=raw.path.name, reason=f"{type(exc).__name__}: {exc}"[:200]))
        return None


def _load(folder: Path, team_criteria: bool = True) -> tuple[Company | None, list[FileReport], list[Problem]]:
    problems: list[Problem] = []
    files: list[FileReport] = []
    if not folder.is_dir():
        return None, files, [problem("company_dir_missing", file=str(folder))]
    try:
        settings = load_settings(folder)
    except DataProblem as exc:
        return None, files, exc.problems
    tables: dict[str, object] = {}
    from helpers.step1_list_clients.dataset import find_transactions_dataset

    # a log read out of core (a Parquet folder, or a very large Parquet file) is never loaded by the file reader
    out_of_core = find_transactions_dataset(folder)
    digests = _Digests()
    read = {kind: None if kind == "transactions" and out_of_core else
            _read(folder, kind, settings, problems, files, digests) for kind in KINDS}
    clients, trait_kinds = None, {}
    if read["clients"]:
        clients, trait_kinds = _guarded(read["clients"], problems, _load_clients, settings, problems) or (None, {})
    for kind, loader in (("placement", _load_placement), ("transactions", _load_transactions),
                         ("deals", _load_deals)):
        tables[kind] = _guarded(read[kind], problems, loader, settings, problems) if read[kind] else None
    if clients is not None:
        clients, tables["placement"] = _tiers_in_client_list(clients, trait_kinds, tables["placement"], files, problems)
    tables["prospects"] = (_guarded(read["prospects"], problems, _load_prospects, settings, trait_kinds, problems)
                           if read["prospects"] else None)
    dataset = _read_transactions_dataset(out_of_core, settings, problems, files) if out_of_core else None
    # a dataset stays on disk, and a log has many rows per client: the checks below need only its distinct
    # client ids, found once here (each check used to find them in a million rows again)
    # (the cross-check gets the log itself: an id that lost its leading zeros is mended in it)
    transactions = pd.DataFrame({"client_id": dataset.client_ids}) if dataset is not None else tables["transactions"]
    tx_ids = None if transactions is None else pd.Series(transactions["client_id"].unique())
    if clients is None:
        if transactions is None:
            if not any(p.severity == "error" for p in problems):
                problems.append(problem("no_client_source", file=str(folder.name)))
            digests.settle(problems)
            return None, files, problems
        ids = sorted(tx_ids.tolist())  # a list: an Arrow array iterates cell by cell
        clients = pd.DataFrame({"client_id": ids, "name": _names_in_log(transactions, ids)})
        problems.append(problem("data_only_audit", "info",
                                file=dataset.path.name if dataset is not None else find_input(folder, "transactions").name))
    clients, placement = _cross_check(clients, tables["placement"], transactions, tables["deals"], files, problems,
                                      tx_ids=tx_ids)
    if tables["transactions"] is not None and "name" in tables["transactions"]:
        tables["transactions"] = tables["transactions"].drop(columns="name")  # the log's client names end here
    if tables["deals"] is not None:
        tables["deals"] = link_deals(tables["deals"], clients, file=find_input(folder, "deals").name,
                                     problems=problems)
    # optional key-client inputs: found and read like the others, understood in helpers.step1_list_clients.key_clients
    from helpers.step1_list_clients.key_clients import KEY_INPUTS, parse_key_input
    for kind in KEY_INPUTS:
        got = _read(folder, kind, settings, problems, files, digests)
        tables[kind] = _guarded(got, problems, parse_key_input, kind, clients, settings, problems) if got else None
    digests.settle(problems)  # every file read above has been hashed while the tables were checked
    _require_usable_rows(files, problems)
    if has_errors(problems):
        return None, files, problems
    unknown_first = [t for t in settings.first_contact_traits if t not in trait_kinds]
    if unknown_first:
        problems.append(problem("unknown_first_contact_traits", "warning", file=CONFIG_FILE,
                                column="first_contact_traits", names=", ".join(unknown_first)))
    company = Company(folder=folder, settings=settings, clients=clients, trait_kinds=trait_kinds,
                      placement=placement, transactions=tables["transactions"], deals=tables["deals"],
                      prospects=tables["prospects"], contacts=tables["contacts"],
                      relationship=tables["relationship"], dossier=tables["dossier"], transactions_dataset=dataset,
                      files=files, problems=problems)
    from helpers.step1_list_clients.coverage import EXAMPLE_TRAITS, criteria_traits
    basis = "margin" if settings.abc.by == "margin" else "revenue"
    if tables["transactions"] is None and basis not in clients.columns:
        # nothing to rank the clients by: every one would come out C, and the run would not say why
        problems.append(problem("no_revenue_source", "warning",
                                file=next((f.path.name for f in files if f.kind == "clients"), "clients.csv"),
                                column=basis, figure=basis, numbers=", ".join(h for h, k in trait_kinds.items() if k == "number")
                                or "—"))
    if not criteria_traits(company):  # the run works, but step 4 can find no criterion: say so before it starts
        clients_file = next((f.path.name for f in files if f.kind == "clients"), None)
        # no client list: the warning is of the log the clients were taken from, not of a clients.csv
        source = clients_file or next((f.path.name for f in files if f.kind == "transactions"), None)
        problems.append(problem("no_traits" if clients_file else "no_client_list_traits", "warning",
                                file=source, columns=", ".join(EXAMPLE_TRAITS)))
    if team_criteria:
        _check_team_criteria(company, problems)
    if has_errors(problems):
        return None, files, problems
    return company, files, problems


def _read_transactions_dataset(path: Path, settings: CompanySettings, problems: list[Problem],
                               files: list[FileReport]):
    """A transaction log read out of core (Parquet folder or very large file): checked with DuckDB, left on disk."""
    from helpers.step1_list_clients.dataset import check_transactions_dataset

    other = find_input(path.parent, "transactions")
    if other is not None and other != path:
        # two logs: the folder wins, and the user hears which one was used
        problems.append(problem("two_transaction_logs", "warning", file=other.name, used=path.name))
    problems.append(problem("dataset_out_of_core", "info", file=path.name + ("/" if path.is_dir() else "")))
    dataset, found = check_transactions_dataset(path, columns=settings.load.columns.get("transactions"),
                                                limit=settings.load.memory_limit)
    problems.extend(found)
    parts = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    digest = hashlib.sha256("".join(f"{p.relative_to(path) if path.is_dir() else p.name}:{file_sha256(p)}\n"
                                    for p in parts).encode())
    report = FileReport(kind="transactions", path=path, sha256=digest.hexdigest(), sheet=None)
    if dataset is not None:
        report.rows_read, report.rows_used = dataset.rows, dataset.rows_used
        kinds = {"date": "date", "amount": "number", "margin": "number"}
        report.columns = {header: (canonical, kinds.get(canonical, "text"))
                          for canonical, header in dataset.mapping.items()}
    files.append(report)
    return dataset


# Tables the run cannot do without: a folder where none of their rows is usable must not start.
REQUIRED_TABLES = ("clients", "transactions")


def _require_usable_rows(files: list[FileReport], problems: list[Problem]) -> None:
    """An error for each required table whose file has data rows but none that can be used."""
    for report in files:
        if report.kind in REQUIRED_TABLES and report.rows_read and not report.rows_used:
            problems.append(problem("no_usable_rows", file=report.path.name, count=report.rows_read))


def _check_team_criteria(company: Company, problems: list[Problem]) -> None:
    """Read criteria.yml as step 4 will (the team-criteria reader of `rules`), against the loaded traits.

    A misspelt trait, an operator that does not fit the trait's type or a bad key is an error here,
    so `check` and the runner's pre-flight stop before any notebook starts."""
    from helpers.core.rules import CRITERIA_FILE, read_team_criteria

    path = company.folder / CRITERIA_FILE
    if not path.is_file():
        return
    kinds = {k: v for k, v in company.trait_kinds.items() if v in ("number", "yesno", "category")}
    categories = {k: company.clients[k].dropna().astype(str).unique().tolist()
                  for k, v in kinds.items() if v == "category" and k in company.clients}
    try:
        _, warnings = read_team_criteria(path, kinds, categories)
    except DataProblem as exc:
        problems.extend(exc.problems)
        return
    except Exception as exc:  # noqa: BLE001 - a criteria file no rule foresaw is still reported, not a crash
        problems.append(problem("criteria_not_checked", file=CRITERIA_FILE, reason=type(exc).__name__))
        return
    problems.extend(warnings)


def check_company(folder: str | Path, *, team_criteria: bool = True) -> CheckResult:
    """Load and check a company folder without raising for data problems (what `tierbook check` shows).

    `team_criteria=False` leaves criteria.yml unchecked (the criteria editor opens a broken one to replace it).
    """
    folder = Path(folder).expanduser().resolve()
    if guards.path_not_utf8(folder):  # `run` could not pass the path to the notebooks: refuse it here too
        return CheckResult(folder, None, [], [problem("folder_not_utf8", file=guards.printable(repr(folder.name)))])
    try:
        company, files, problems = _load(folder, team_criteria)
    except Exception as exc:  # noqa: BLE001 - the last guard: a check reports, it does not crash
        company, files = None, []
        problems = [problem("load_failed", file=folder.name, reason=f"{type(exc).__name__}: {exc}"[:200])]
    return CheckResult(folder, company, files, problems)


def load_company(folder: str | Path, *, team_criteria: bool = True) -> Company:
    """Load a company folder into checked tables; raise DataProblem listing every error found.

    Warnings (dropped totals rows, near-duplicate names, refunds, ...) are kept in `company.problems`.
    `team_criteria=False`: criteria.yml is not checked (see `check_company`).
    """
    result = check_company(folder, team_criteria=team_criteria)
    if not result.ok:
        raise DataProblem(result.problems)
    return result.company


def format_check(result: CheckResult) -> str:
    """How each file was read and understood, row counts, then every problem (file:row:column — what — fix)."""
    lines = [t("load.check_title", folder=result.folder)]
    if not result.files:
        lines.append("  " + t("load.no_files"))
    for report in result.files:
        how = [f"{t('load.encoding')}: {report.encoding}" if report.encoding else "",
               f"{t('load.delimiter')}: {_show_delimiter(report.delimiter)}" if report.delimiter else "",
               f"{t('load.sheet')}: {report.sheet}" if report.sheet else "",
               f"{t('load.header_row')}: {report.header_row}" if report.header_row else ""]
        lines.append(f"\n{report.path.name}  ({report.kind})  " + ", ".join(h for h in how if h))
        lines.append("  " + t("load.rows", read=report.rows_read, used=report.rows_used))
        for header, (canonical, kind) in report.columns.items():
            lines.append(f"    {header!s:<32} → {canonical}{' (' + kind + ')' if kind else ''}")
    if result.problems:
        lines.append("\n" + t("load.problems", count=len(result.problems)))
        lines.append(format_problems(result.problems, limit=200))
    return "\n".join(lines)


def _show_delimiter(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma (,)", ";": "semicolon (;)", "|": "pipe (|)"}.get(delimiter, repr(delimiter))
