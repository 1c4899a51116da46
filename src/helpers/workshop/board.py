"""Step 2 in the room: the placement board — each person places the clients, the team decides.

Every participant's tiers are kept in `placement/<person>.csv` (the columns of `placement.csv`); the
consensus sets them side by side with the median and flags clients two or more steps apart; the
facilitator's decision becomes `placement.csv`, the previous one kept in `history/`. The widgets in
`helpers.workshop.widgets` only call this model, so everything here works (and is tested) without a browser.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from helpers.step1_list_clients.company import SIDE_TIERS, TIERS
from helpers.core.errors import DataProblem, Problem, problem
from helpers.core.export import write_bytes
from helpers.core.i18n import t
from helpers.paths import slugify

# The tiers a person may give on the board: the ladder A1..C, then D and X kept apart (as on paper).
BOARD_TIERS = TIERS + SIDE_TIERS
LADDER_STEP = {tier: i for i, tier in enumerate(TIERS)}
# One key per tier, so 150 clients take about ten minutes (4 s a client); the digits follow the ladder.
KEYS = {"1": "A1", "2": "A2", "3": "A3", "4": "B1", "5": "B2", "6": "B3", "7": "C", "c": "C", "d": "D", "x": "X"}
SKIP_KEYS = ("s", " ")
UNDO_KEYS = ("u", "Backspace")
PLACEMENT_FILE = "placement.csv"
PEOPLE_DIR = "placement"  # placement/<person>.csv, one file per participant
HISTORY_DIR = "history"
PERSON_SUFFIXES = (".csv", ".xlsx")
# Two people this many steps apart on A1..C make a client a discussion item.
DISCUSS_STEPS = 2
_PERSON_OK = re.compile(r"^[\w .'-]{1,60}$", re.UNICODE)

# Per-client facts the board shows, taken from step 2's tiers table (not recomputed here).
FACT_COLUMNS = ("client_id", "name", "revenue", "share", "tenure_months", "months_since_last", "purchases",
                "suggested_tier", "reason", "team_tier")


# ---------------------------------------------------------------- the clients on the board
def board_clients(tiers_table: pd.DataFrame, *, real_ids: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The clients as the board lists them: step 2's figures, largest revenue first; the input is not modified.

    Args:
        tiers_table: `TierResult.table` (tiers.csv): client_id, name, revenue, share, tenure_months,
            months_since_last, suggested_tier, reason, team_tier; missing columns become empty.
        real_ids: pseudonym -> real client_id when the workbook is anonymised: the room sees the
            pseudonyms (`shown_id`, `name`), the files get the real ids so the next run can use them.

    Returns:
        One row per client with FACT_COLUMNS, `shown_id` (the id the room sees) and `years`
        (tenure in years, 1 decimal), in the order of the tiers table (revenue, largest first).

    >>> board_clients(pd.DataFrame({"client_id": ["a"], "name": ["Acme"], "tenure_months": [30.0]}))["years"].tolist()
    [2.5]
    """
    out = pd.DataFrame({c: tiers_table[c] if c in tiers_table else pd.Series(np.nan, index=tiers_table.index)
                        for c in FACT_COLUMNS}).reset_index(drop=True)
    out["client_id"] = out["client_id"].astype(str)
    out["name"] = out["name"].astype(object).where(out["name"].notna(), out["client_id"])
    out["shown_id"] = out["client_id"]
    if real_ids is not None:
        out["client_id"] = out["shown_id"].map(lambda v: real_ids.get(v, v))
    out["years"] = (pd.to_numeric(out["tenure_months"], errors="coerce") / 12).round(1)
    return out


# ---------------------------------------------------------------- reading and checking placements
def _normalise_tier(value: str) -> str:
    from helpers.step1_list_clients.load import normalise_tier

    return normalise_tier(value)


def check_person(name: str) -> str:
    """A participant's name as typed, checked: letters, digits, spaces, `.`, `'`, `-`; at most 60 characters.

    Raises:
        DataProblem: empty, too long or with characters a file name cannot hold.

    >>> check_person("  Anna K. ")
    'Anna K.'
    """
    text = " ".join(str(name or "").split())
    if not text or not _PERSON_OK.match(text) or slugify(text) == "company" and text.lower() != "company":
        raise DataProblem(problem("board_bad_person", file=PEOPLE_DIR, value=text[:60]))
    return text


def person_file(company_dir: str | os.PathLike, person: str) -> Path:
    """`<company>/placement/<slug>.csv`: one file per participant, named after them."""
    return Path(company_dir) / PEOPLE_DIR / f"{slugify(check_person(person))}.csv"


def check_placement(frame: pd.DataFrame, known: Iterable[str], *, file: str, rows: Iterable[int] | None = None,
                    shown: Mapping[str, str] | None = None) -> pd.Series:
    """Check a placement table (client_id, tier) against the client list and the board's tiers.

    Tiers are normalised as the loader does (`а1` → `A1`, Cyrillic look-alikes); blank tiers mean
    "not placed" and are left out. Row numbers in problems are the rows a person sees (header = 1).

    Args:
        frame: one row per placement with `client_id` and `tier` columns.
        known: every client id on the board.
        file: the file name shown in problems (e.g. `placement/anna.csv`).
        rows: the file row of each frame row (default: header in row 1, then one row each).
        shown: canonical column -> the header the user sees.

    Returns:
        tier by client_id, in the order of the frame.

    Raises:
        DataProblem: an unknown client, a tier not in A1 A2 A3 B1 B2 B3 C D X, or a client
            placed twice — every such row at once, each as `file:row:column — what — fix`.

    >>> check_placement(pd.DataFrame({"client_id": ["a", "b"], "tier": ["а1", ""]}), ["a", "b"], file="x.csv").to_dict()
    {'a': 'A1'}
    """
    shown = dict(shown or {})
    known_ids = set(map(str, known))
    errors: list[Problem] = []
    out: dict[str, str] = {}
    first_row: dict[str, int] = {}
    file_rows = list(rows) if rows is not None else list(range(2, len(frame) + 2))
    for row, cid, tier in zip(file_rows, frame["client_id"], frame["tier"]):
        row = int(row)
        cid = "" if pd.isna(cid) else str(cid).strip()
        text = "" if pd.isna(tier) else str(tier).strip()
        if not cid and not text:
            continue
        if cid not in known_ids:
            errors.append(problem("board_unknown_client", file=file, row=row, column=shown.get("client_id", "client_id"),
                                  value=cid[:60]))
            continue
        if not text:
            continue
        norm = _normalise_tier(text)
        if norm not in BOARD_TIERS:
            errors.append(problem("board_unknown_tier", file=file, row=row, column=shown.get("tier", "tier"),
                                  value=text[:20], allowed=" ".join(BOARD_TIERS)))
            continue
        if cid in out:
            errors.append(problem("duplicate_placement", file=file, row=row, column=shown.get("client_id", "client_id"),
                                  value=cid, rows=f"{first_row[cid]}, {row}"))
            continue
        out[cid] = norm
        first_row[cid] = row
    if errors:
        raise DataProblem(errors)
    return pd.Series(out, dtype=object, name="tier")


def _read_placement_csv(path: Path, known: Iterable[str], *, file: str) -> pd.Series:
    """A placement CSV (or the worksheet's XLSX) written by the board or typed back from paper, checked; absent file -> nothing placed."""
    if not path.is_file():
        return pd.Series(dtype=object, name="tier")
    from helpers.step1_list_clients.readers import ReadError, read_table

    try:
        raw = read_table(path)
    except ReadError as exc:
        if exc.problem.code == "empty_file":
            return pd.Series(dtype=object, name="tier")
        raise DataProblem(replace(exc.problem, file=file)) from None
    # the loader's own header synonyms (Клиент / Уровень / Tier ...), so a sheet typed back in any
    # spelling the kit reads as placement.csv is read here too
    from helpers.step1_list_clients.columns import map_columns

    mapping, missing = map_columns([str(c) for c in raw.frame.columns], "placement", file=file)
    if missing:
        raise DataProblem(missing)
    frame = raw.frame.rename(columns={str(k): v for k, v in mapping.items()})
    shown = {v: k for k, v in mapping.items()}
    table = pd.DataFrame({"client_id": frame["client_id"], "tier": frame["tier"]})
    return check_placement(table, known, file=file, rows=raw.rows, shown=shown)


def _placement_bytes(tiers: Mapping[str, str], order: list[str]) -> bytes:
    rows = [(cid, tiers[cid]) for cid in order if cid in tiers]
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=["client_id", "tier"]).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def keep_in_history(company_dir: str | os.PathLike, name: str = PLACEMENT_FILE, *, now: datetime | None = None) -> Path | None:
    """Copy `<company>/<name>` to `<company>/history/<stem>-<YYYYmmdd-HHMMSS>.csv` before it is replaced.

    Returns the copy's path, or None when there was no file. Two copies in one second get `-2`, `-3`.
    """
    source = Path(company_dir) / name
    if not source.is_file():
        return None
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder = Path(company_dir) / HISTORY_DIR
    stem, suffix = Path(name).stem, Path(name).suffix
    target = folder / f"{stem}-{stamp}{suffix}"
    n = 2
    while target.exists():
        target = folder / f"{stem}-{stamp}-{n}{suffix}"
        n += 1
    return write_bytes(source.read_bytes(), target)


# ---------------------------------------------------------------- one person's board
@dataclass
class Board:
    """One participant placing the clients of one company folder.

    Every change is written at once to `placement/<person>.csv` (atomically: a temporary file,
    then a rename), so closing the browser or the kernel loses nothing already clicked.
    The company's own files are only read.

    Attributes:
        company_dir: the company folder.
        clients: `board_clients(...)` frame (client_id, name, revenue, share, ...).
        person: the participant's name as typed (None until chosen).
        tiers: client_id -> tier of this person.
    """

    company_dir: Path
    clients: pd.DataFrame
    person: str | None = None
    tiers: dict[str, str] = field(default_factory=dict)
    _undo: list[tuple[str, str | None]] = field(default_factory=list, repr=False)

    def __post_init__(self):
        self.company_dir = Path(self.company_dir)
        self._order = self.clients["client_id"].astype(str).tolist()
        self._known = set(self._order)
        revenue = pd.to_numeric(self.clients["revenue"], errors="coerce").fillna(0.0).clip(lower=0)
        self._revenue = dict(zip(self._order, revenue.to_numpy(dtype=float)))
        self._total = float(revenue.sum())

    # -- people
    def people(self) -> list[str]:
        """Participants who have a file in `placement/`, by file name."""
        return list_people(self.company_dir)

    def choose_person(self, name: str) -> dict[str, str]:
        """Switch to `name`, reading their file when there is one (else starting an empty one); returns their tiers.

        Raises:
            DataProblem: a bad name, or their file holds an unknown client or tier.
        """
        name = check_person(name)
        path = person_file(self.company_dir, name)
        self.tiers = _read_placement_csv(path, self._known, file=self._file_label(name)).to_dict()
        self.person = name
        self._undo.clear()
        if not path.is_file():  # an empty file at once, so the facilitator sees who has joined
            self._save()
        return dict(self.tiers)

    def _file_label(self, name: str | None = None) -> str:
        return f"{PEOPLE_DIR}/{slugify(name or self.person or '')}.csv"

    @property
    def path(self) -> Path:
        if not self.person:
            raise DataProblem(problem("board_no_person", file=PEOPLE_DIR))
        return person_file(self.company_dir, self.person)

    # -- placing
    def _check(self, client_id: str, tier: str | None) -> tuple[str, str | None]:
        cid = str(client_id).strip()
        if cid not in self._known:
            raise DataProblem(problem("board_unknown_client", file=self._file_label(), column="client_id",
                                      value=cid[:60]))
        if tier is None or str(tier).strip() == "":
            return cid, None
        norm = _normalise_tier(str(tier))
        if norm not in BOARD_TIERS:
            raise DataProblem(problem("board_unknown_tier", file=self._file_label(), column="tier",
                                      value=str(tier)[:20], allowed=" ".join(BOARD_TIERS)))
        return cid, norm

    def place(self, client_id: str, tier: str | None) -> Path:
        """Give `client_id` the tier (None or "" takes the placement back) and save at once.

        Returns the person's file. Raises DataProblem for an unknown client, a tier outside
        A1 A2 A3 B1 B2 B3 C D X, or no participant chosen; nothing is changed then.
        """
        path = self.path
        cid, norm = self._check(client_id, tier)
        previous = self.tiers.get(cid)
        if previous == norm:
            return path
        self._set(cid, norm)
        self._undo.append((cid, previous))
        return self._save()

    def undo(self) -> str | None:
        """Take back the last placement (saved at once); returns the client concerned, None when nothing to undo."""
        if not self._undo:
            return None
        cid, previous = self._undo.pop()
        self._set(cid, previous)
        self._save()
        return cid

    def _set(self, cid: str, tier: str | None) -> None:
        if tier is None:
            self.tiers.pop(cid, None)
        else:
            self.tiers[cid] = tier

    def _save(self) -> Path:
        return write_bytes(_placement_bytes(self.tiers, self._order), self.path)

    # -- reading the board
    def next_unplaced(self, after: str | None = None) -> str | None:
        """The next client without a tier after `after` (wrapping round), in board order; None when all are placed."""
        start = self._order.index(after) + 1 if after in self._known else 0
        for cid in self._order[start:] + self._order[:start]:
            if cid not in self.tiers:
                return cid
        return None

    def summary(self) -> pd.DataFrame:
        """Clients and share of revenue per tier (A1..C, D, X, then unplaced), as the board shows them live."""
        return summarise_tiers(self.tiers, self._revenue, self._total, self._order)


def summarise_tiers(tiers: Mapping[str, str], revenue: Mapping[str, float], total: float,
                    order: Iterable[str]) -> pd.DataFrame:
    """Per tier: clients and their share of the positive revenue; `unplaced` last.

    >>> summarise_tiers({"a": "A1"}, {"a": 75.0, "b": 25.0}, 100.0, ["a", "b"]).loc[["A1", "unplaced"]].to_dict("list")
    {'clients': [1, 1], 'revenue_share': [0.75, 0.25]}
    """
    labels = list(BOARD_TIERS) + ["unplaced"]
    clients = dict.fromkeys(labels, 0)
    money = dict.fromkeys(labels, 0.0)
    for cid in order:
        label = tiers.get(cid, "unplaced")
        clients[label] += 1
        money[label] += revenue.get(cid, 0.0)
    out = pd.DataFrame({"clients": clients,
                        "revenue_share": {k: (v / total if total > 0 else np.nan) for k, v in money.items()}})
    out.index.name = "tier"
    return out


def person_files(company_dir: str | os.PathLike) -> dict[str, Path]:
    """Everyone's file in `<company>/placement/`: person (file stem) -> path, sorted by name.

    The board writes CSV; a sheet typed back from paper may also be the worksheet's XLSX.

    Raises:
        DataProblem: two files for one person (`anna.csv` and `anna.xlsx`): which one counts is unclear.
    """
    folder = Path(company_dir) / PEOPLE_DIR
    if not folder.is_dir():
        return {}
    out: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in PERSON_SUFFIXES or path.name.startswith((".", "~$")):
            continue
        if path.stem in out:
            raise DataProblem(problem("board_two_files", file=f"{PEOPLE_DIR}/{path.name}",
                                      other=f"{PEOPLE_DIR}/{out[path.stem].name}"))
        out[path.stem] = path
    return out


def list_people(company_dir: str | os.PathLike) -> list[str]:
    """Names (file stems) of everyone who has placed clients in `<company>/placement/`, sorted."""
    return list(person_files(company_dir))


def read_people(company_dir: str | os.PathLike, known: Iterable[str]) -> dict[str, pd.Series]:
    """Every participant's tiers (person -> tier by client_id), each file checked.

    Raises:
        DataProblem: every unknown client, unknown tier and duplicate in every file, at once.
    """
    known = list(map(str, known))
    out: dict[str, pd.Series] = {}
    errors: list[Problem] = []
    for person, path in person_files(company_dir).items():
        try:
            out[person] = _read_placement_csv(path, known, file=f"{PEOPLE_DIR}/{path.name}")
        except DataProblem as exc:
            errors += exc.problems
    if errors:
        raise DataProblem(errors)
    return out


# ---------------------------------------------------------------- the consensus
def _median_tier(tiers: list[str]) -> str | None:
    """The team's middle view: the median step on A1..C, the upper median toward C when the count is even.

    D and X are not steps on the ladder: they win only when most people chose them (the more
    frequent, D on a tie). Toward C on a tie because over-rating a client costs more than under-rating
    (the method: say no to C early).

    >>> _median_tier(["A1", "A3"]), _median_tier(["A1", "B1", "C"]), _median_tier(["D", "X", "D", "A1"])
    ('A3', 'B1', 'D')
    """
    ladder = sorted(LADDER_STEP[x] for x in tiers if x in LADDER_STEP)
    side = [x for x in tiers if x in SIDE_TIERS]
    if not ladder and not side:
        return None
    if len(side) > len(ladder):
        return max(SIDE_TIERS, key=lambda s: (side.count(s), s == "D"))
    return TIERS[ladder[len(ladder) // 2]]


def build_consensus(people: Mapping[str, pd.Series], clients: pd.DataFrame, *,
                    steps: int = DISCUSS_STEPS) -> pd.DataFrame:
    """Everyone's tier per client, the median, the spread, and the discussion items.

    Args:
        people: person -> tier by client_id (from `read_people`).
        clients: `board_clients(...)` frame; its order is kept.
        steps: two people this many steps apart on A1 < A2 < A3 < B1 < B2 < B3 < C make a client a
            discussion item; a client some put on the ladder and others in D or X is one too.

    Returns:
        One row per client: client_id, name, revenue, one column per person, `placed_by` (how many
        gave a tier), `median`, `spread` (steps between the highest and lowest on the ladder),
        `discuss` (bool), `why` (the reason in words), `decision` (the median, to be changed by the room).
        Discussion items come first, the largest revenue first; the rest keep the board order.
    """
    out = clients[["client_id", "name", "revenue"]].copy()
    names = list(people)
    for person in names:
        out[person] = out["client_id"].map(people[person]).astype(object)
    votes = [[v for v in row if isinstance(v, str)] for row in out[names].itertuples(index=False)] if names else \
        [[] for _ in range(len(out))]
    out["placed_by"] = [len(v) for v in votes]
    out["median"] = [_median_tier(v) for v in votes]
    spread, why = [], []
    for v in votes:
        ladder = [LADDER_STEP[x] for x in v if x in LADDER_STEP]
        gap = (max(ladder) - min(ladder)) if ladder else 0
        spread.append(gap)
        mixed = bool(ladder) and any(x in SIDE_TIERS for x in v)
        if gap >= steps:
            why.append(t("board.consensus.why_steps", steps=gap, low=TIERS[min(ladder)], high=TIERS[max(ladder)]))
        elif mixed:
            why.append(t("board.consensus.why_side", side=" ".join(sorted({x for x in v if x in SIDE_TIERS}))))
        elif len(set(v)) > 1 and not ladder:
            why.append(t("board.consensus.why_side", side=" ".join(sorted(set(v)))))
        else:
            why.append("")
    out["spread"] = spread
    out["why"] = why
    out["discuss"] = out["why"] != ""
    out["decision"] = out["median"]
    out["_order"] = np.arange(len(out))
    first = out[out["discuss"]].sort_values(["revenue", "_order"], ascending=[False, True], na_position="last")
    rest = out[~out["discuss"]]
    out = pd.concat([first, rest]).drop(columns="_order").reset_index(drop=True)
    for column in ["median", "decision", *names]:  # None, not NaN, for "nobody placed it"
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def write_decision(company_dir: str | os.PathLike, decisions: Mapping[str, str | None], clients: pd.DataFrame, *,
                   now: datetime | None = None) -> Path:
    """Write the facilitator's decision to `<company>/placement.csv`; the previous file goes to `history/` first.

    Args:
        company_dir: the company folder.
        decisions: client_id -> tier (None or "" = not placed, left out of the file).
        clients: the board's clients (their order is the file's order; only they may be placed).

    Returns:
        The path of placement.csv. Raises DataProblem (nothing written) for an unknown client or tier.
    """
    frame = pd.DataFrame({"client_id": list(decisions), "tier": [decisions[k] or "" for k in decisions]})
    checked = check_placement(frame, clients["client_id"].astype(str), file=PLACEMENT_FILE)
    keep_in_history(company_dir, PLACEMENT_FILE, now=now)
    order = clients["client_id"].astype(str).tolist()
    return write_bytes(_placement_bytes(checked.to_dict(), order), Path(company_dir) / PLACEMENT_FILE)


def merge_people(company_dir: str | os.PathLike, clients: pd.DataFrame, *, write: bool = False) -> pd.DataFrame:
    """The consensus of everyone in `placement/`; with `write=True` the medians become placement.csv.

    Used by `tierbook worksheet --merge` for sheets typed back from paper (one CSV per person in
    `placement/`) and by the board's consensus view. A client nobody placed stays out of placement.csv.
    """
    people = read_people(company_dir, clients["client_id"].astype(str))
    consensus = build_consensus(people, clients)
    if write and people:
        write_decision(company_dir, dict(zip(consensus["client_id"], consensus["decision"])), clients)
    return consensus
