"""Step 4 of the method (work with the tiers): key clients in the data, not only on paper.

Reads the optional key-client inputs (`contacts.csv`, `relationship.csv`, `dossier.csv`) and measures what
the seed on key clients asks for: the contact cadence, the relationship score, dossier reviews, the three
"P" of a prospective key client, managers' load, key clients at risk and "false" clients who never sign.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from helpers.step1_list_clients import parsing
from helpers.step1_list_clients.columns import map_columns, normalise_header
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings, KeyClientSettings
from helpers.core.errors import Problem, problem
from helpers.core.i18n import t

KEY_INPUTS = ("contacts", "relationship", "dossier")
OUTCOMES = ("positive", "neutral", "negative")
SCORE_MAX = 4  # the relationship sheet's four-point scale
DOSSIER_PARTS = ("decision_makers", "business", "needs", "competitors", "history")
THREE_P = ("need", "solvency", "authority")
# Headers of CRM activity exports (amoCRM «События»/«Задачи», Bitrix24 «Дела», HubSpot activities) and of the
# kit's templates, mapped onto the kit's columns. "ID" in an activity export is the activity, never the client.
HEADER_SYNONYMS: dict[str, dict[str, str]] = {
    "contacts": {
        "id": "activity_id", "record id": "activity_id", "activity id": "activity_id", "id дела": "activity_id",
        "activity date": "date", "дата": "date", "дата создания": "date", "дата начала": "date",
        "дата выполнения": "date", "дата контакта": "date", "created at": "date", "start time": "date",
        "компания": "name", "клиент": "name", "контрагент": "name", "associated company": "name",
        "company name": "name", "сделка/контакт/компания": "name", "привязано к": "name",
        "результат": "outcome", "итог": "outcome", "итог контакта": "outcome", "call outcome": "outcome",
        "meeting outcome": "outcome", "activity outcome": "outcome", "оценка контакта": "outcome",
        "тип": "channel", "тип дела": "channel", "тип события": "channel", "канал": "channel",
        "activity type": "channel", "type": "channel",
        "ответственный": "manager", "менеджер": "manager", "activity assigned to": "manager",
        "assigned to": "manager", "owner": "manager", "hubspot owner": "manager", "activity owner": "manager",
    },
    "relationship": {
        "id": "row_id", "компания": "name", "клиент": "name", "аспект": "aspect", "критерий": "aspect",
        "оценка": "score", "балл": "score", "баллы": "score", "points": "score", "кто оценивает": "rater",
        "оценщик": "rater", "rated by": "rater", "дата": "date",
    },
    "dossier": {
        "id": "row_id", "компания": "name", "клиент": "name", "менеджер": "manager", "ответственный": "manager",
        "лпр": "decision_makers", "лица принимающие решения": "decision_makers", "decision makers": "decision_makers",
        "специфика бизнеса": "business", "бизнес клиента": "business", "business specifics": "business",
        "потребности и проблемы": "needs", "потребности": "needs", "needs and problems": "needs",
        "конкуренты": "competitors", "competitors courting": "competitors",
        "история": "history", "история отношений": "history",
        "дата пересмотра": "last_review", "последний пересмотр": "last_review", "last reviewed": "last_review",
        "reviewed": "last_review",
    },
}
# Outcome words of the kit's template and the CRMs (matched after lower-casing); anything else is read as
# neutral and reported, so a team can say how its CRM's words count (`key_clients.contact_outcomes`).
OUTCOME_WORDS = {
    "positive": ["positive", "good", "+", "позитивный", "позитивно", "положительный", "хорошо", "успешно",
                 "договорились", "completed", "connected", "won"],
    "neutral": ["neutral", "0", "нейтральный", "нейтрально", "обычный", "left voicemail", "left live message",
                "scheduled", "rescheduled"],
    "negative": ["negative", "bad", "-", "негативный", "негативно", "отрицательный", "плохо", "конфликт",
                 "жалоба", "претензия", "complaint", "no show", "canceled", "cancelled"],
}
_YES = {"yes", "y", "true", "1", "да", "есть", "+", "ok", "x", "✓"}
_NO = {"no", "n", "false", "0", "нет", "-", "—"}


def _settings(company_or_settings: Company | CompanySettings | None) -> KeyClientSettings:
    settings = getattr(company_or_settings, "settings", company_or_settings)
    return getattr(settings, "key_clients", None) or KeyClientSettings()


# --------------------------------------------------------------------------- reading
def normalise_contact_outcome(value: Any, extra: dict[str, str] | None = None) -> str | None:
    """positive / neutral / negative for one outcome cell, or None when the word is not known.

    >>> [normalise_contact_outcome(v) for v in ["Позитивный", "No show", "neutral", "maybe"]]
    ['positive', 'negative', 'neutral', None]
    >>> normalise_contact_outcome("Встреча проведена", {"встреча проведена": "positive"})
    'positive'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(str(value).strip().lower().split())
    for word, outcome in (extra or {}).items():
        if " ".join(str(word).strip().lower().split()) == text:
            return outcome
    for outcome, words in OUTCOME_WORDS.items():
        if text in words:
            return outcome
    return None


def parse_yes_no(values: pd.Series) -> pd.Series:
    """True / False / NA from yes-no cells in English or Russian (blank and unknown words are NA).

    >>> parse_yes_no(pd.Series(["да", "No", "", None, "maybe"])).tolist()
    [True, False, <NA>, <NA>, <NA>]
    """
    text = values.astype("string").str.strip().str.lower()
    return pd.Series(pd.array([True if v in _YES else False if v in _NO else pd.NA
                               for v in text.fillna("")], dtype="boolean"), index=values.index)


def _match_clients(frame: pd.DataFrame, clients: pd.DataFrame, rows: pd.Series, file: str,
                   shown: dict[str, str], problems: list[Problem]) -> pd.Series:
    """The client_id of each row: by client_id when given, else by name (spelling-insensitive); NA if unknown."""
    from helpers.step1_list_clients.load import name_key  # the loader's one definition of "the same name"

    known = set(clients["client_id"].astype(str))
    by_name: dict[str, str] = {}
    for cid, name in zip(clients["client_id"].astype(str), clients["name"].astype(str)):
        by_name.setdefault(name_key(name), cid)
    ids = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "client_id" in frame:
        given = frame["client_id"].astype("string").str.strip()
        ids = given.where(given.isin(known))
    if "name" in frame:
        names = frame["name"].astype("string").fillna("")
        ids = ids.fillna(pd.Series([by_name.get(name_key(n)) if n else None for n in names],
                                   index=frame.index, dtype="string"))
    unknown = np.flatnonzero(ids.isna().to_numpy())
    column = shown.get("client_id", shown.get("name", "client_id"))
    for i in unknown[:20]:
        value = frame["client_id"].iloc[i] if "client_id" in frame else frame["name"].iloc[i] if "name" in frame else ""
        problems.append(problem("key_unknown_client", "warning", file=file, row=int(rows.iloc[i]), column=column,
                                value=str(value)[:60]))
    if len(unknown) > 20:
        problems.append(problem("more_bad_values", "warning", file=file, column=column, count=len(unknown) - 20))
    return ids


def _coalesce(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per name: a CRM export may hold several for one meaning (HubSpot's "Call outcome" and
    "Meeting outcome"); each row takes the first non-blank of them, left to right.

    >>> _coalesce(pd.DataFrame([["", "Completed"], ["Connected", ""]], columns=["outcome", "outcome"]))["outcome"].tolist()
    ['Completed', 'Connected']
    """
    if not frame.columns.duplicated().any():
        return frame
    out = {}
    for name in dict.fromkeys(frame.columns):
        part = frame.loc[:, frame.columns == name].astype("string")
        part = part.where(part.apply(lambda c: c.str.strip() != ""))
        out[name] = part.bfill(axis=1).iloc[:, 0]
    return pd.DataFrame(out, index=frame.index)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    text = frame[column].astype("string").str.strip()
    return text.where(text != "")


def _dates(frame, column, rows, file, shown, problems, *, severity="warning"):
    values, bad = parsing.parse_dates(frame[column])
    for i in np.flatnonzero(bad.to_numpy())[:20]:
        problems.append(problem("not_a_date", severity, file=file, row=int(rows.iloc[i]),
                                column=shown.get(column, column), value=str(frame[column].iloc[i])[:40]))
    return values


def parse_key_input(raw, report, kind: str, clients: pd.DataFrame | None, settings: CompanySettings,
                    problems: list[Problem]) -> pd.DataFrame | None:
    """One key-client input (a `readers.RawTable`) as a checked table; problems are appended, never raised.

    contacts      client_id, date (datetime64), outcome (positive/neutral/negative), channel, manager
    relationship  client_id, aspect, score (1-4, float), rater
    dossier       client_id, manager, one boolean per DOSSIER_PARTS (filled or not), last_review (datetime64).
                  The dossier's text never leaves this function: only whether each part is filled.
    Rows naming no known client (by client_id, else by name) are dropped with a warning.
    """
    file = raw.path.name
    headers = [str(c) for c in raw.frame.columns]
    overrides = {**HEADER_SYNONYMS[kind], **{normalise_header(k): v
                                             for k, v in settings.load.columns.get(kind, {}).items()}}
    mapping, found = map_columns(headers, kind, overrides, file=file)
    problems.extend(found)
    if any(p.severity == "error" for p in found):
        return None
    frame = _coalesce(raw.frame.rename(columns=mapping).reset_index(drop=True))
    rows = raw.rows.reset_index(drop=True)
    shown = {v: k for k, v in mapping.items()}
    if "client_id" not in frame and "name" not in frame:
        problems.append(problem("missing_column", file=file, wanted="client_id / name", kind=kind,
                                present=", ".join(headers), closest="—"))
        return None
    if clients is None:
        return None
    ids = _match_clients(frame, clients, rows, file, shown, problems)
    out = pd.DataFrame({"client_id": ids.astype(object)})
    kinds: dict[str, str] = {}
    if kind == "contacts":
        # the cadence is counted in days: the time of day a CRM adds is dropped
        out["date"] = _dates(frame, "date", rows, file, shown, problems).dt.normalize()
        blank = _text(frame, "date").isna().to_numpy()
        for i in np.flatnonzero(blank)[:20]:
            problems.append(problem("key_blank_date", "warning", file=file, row=int(rows.iloc[i]),
                                    column=shown.get("date", "date")))
        extra = _settings(settings).contact_outcomes
        if "outcome" in frame:
            words = frame["outcome"].astype("string").fillna("")
            outcome = [normalise_contact_outcome(w, extra) for w in words]
            unread = sorted({w for w, o in zip(words, outcome) if o is None and w.strip()})
            if unread:
                problems.append(problem("contact_outcome_unknown", "warning", file=file,
                                        column=shown["outcome"], values=", ".join(unread[:8])))
            out["outcome"] = [o or "neutral" for o in outcome]
        else:
            problems.append(problem("contact_outcome_missing", "warning", file=file))
            out["outcome"] = "neutral"
        out["channel"] = _text(frame, "channel").astype(object)
        out["manager"] = _text(frame, "manager").astype(object)
        kinds = {"date": "date", "outcome": "outcome"}
    elif kind == "relationship":
        scores, bad = parsing.parse_numbers(frame["score"])
        outside = ~bad & scores.notna() & ((scores < 1) | (scores > SCORE_MAX))
        for i in np.flatnonzero((bad | outside).to_numpy())[:20]:
            problems.append(problem("relationship_bad_score", "warning", file=file, row=int(rows.iloc[i]),
                                    column=shown["score"], value=str(frame["score"].iloc[i])[:40]))
        out["aspect"] = _text(frame, "aspect").astype(object)
        out["score"] = scores.where(~outside)
        out["rater"] = _text(frame, "rater").astype(object)
        kinds = {"score": "number"}
    else:
        out["manager"] = _text(frame, "manager").astype(object)
        for part in DOSSIER_PARTS:
            out[part] = _text(frame, part).notna().to_numpy()
        out["last_review"] = (_dates(frame, "last_review", rows, file, shown, problems) if "last_review" in frame
                              else pd.Series(pd.NaT, index=frame.index))
        kinds = {"last_review": "date"}
    keep = out["client_id"].notna()
    if kind == "contacts":
        keep &= out["date"].notna()
    if kind == "relationship":
        keep &= out["score"].notna() & out["aspect"].notna()
    out = out[keep.to_numpy()].reset_index(drop=True)
    report.columns = {h: (mapping.get(h, "ignored"), kinds.get(mapping.get(h, ""), "")) for h in headers}
    report.rows_used = len(out)
    return out


def anonymise_key_inputs(company: Company, mapping: dict[str, str], pseudonym) -> dict[str, pd.DataFrame | None]:
    """Key-client tables with client ids, managers and raters replaced by keyed pseudonyms.

    `pseudonym(value, prefix)` is the anonymiser's keyed function. The dossier holds only flags and a date
    (see `parse_key_input`), so nothing of its text can leak.
    """
    out = {}
    for kind, people in (("contacts", "manager"), ("relationship", "rater"), ("dossier", "manager")):
        df = getattr(company, kind, None)
        if df is None:
            out[kind] = None
            continue
        df = df.copy()
        df["client_id"] = df["client_id"].map(lambda v: mapping.get(str(v)) or pseudonym(str(v), "Client"))
        if people in df:
            df[people] = df[people].map(lambda v: pseudonym(str(v), "Person") if isinstance(v, str) else v)
        out[kind] = df
    return out


# --------------------------------------------------------------------------- who is key
def key_client_ids(company: Company) -> list[str]:
    """The key clients: gold in the client audit (`audit.classify_key_clients`), plus any client with a dossier.

    A dossier means the team already treats the client as key, so it is measured whatever its revenue.
    """
    from helpers.step1_list_clients.audit import classify_key_clients

    key = classify_key_clients(company)
    ids = list(key.loc[key["key_class"] == "gold", "client_id"].astype(str))
    if company.dossier is not None:
        ids += [c for c in company.dossier["client_id"].astype(str) if c not in ids]
    return ids


def _names(company: Company) -> pd.Series:
    clients = company.clients.drop_duplicates("client_id")
    return pd.Series(clients["name"].astype(str).to_numpy(), index=clients["client_id"].astype(str).to_numpy())


# --------------------------------------------------------------------------- contact cadence
def check_contact_cadence(contacts: pd.DataFrame, key_ids: list[str], *, as_of: pd.Timestamp | None = None,
                          every_days: int = 10, pause_days: int = 14) -> pd.DataFrame:
    """Per key client: days since the last positive contact, cadence breaches and the next due date.

    Rules from the seed on key clients: a positive contact at least every `every_days` (10) days, and after
    a negative contact a pause of `pause_days` (14) days. `cadence_breaches` counts the gaps longer than
    `every_days` between the first logged contact, each positive contact and `as_of`; `pause_breaches`
    counts contacts made less than `pause_days` days after a negative one (same client, the negative one
    itself excluded). `next_due` = last positive contact + `every_days`, or `as_of` when overdue or none.

    Args:
        contacts: the checked contacts table (client_id, date, outcome); not modified.
        key_ids: the key clients to measure; clients without contacts get a row with no dates.
        as_of: the day of the check; default the last date in the log.

    Returns:
        DataFrame: client_id, contacts, positive, negative, last_positive, days_since_positive,
        cadence_breaches, pause_breaches, next_due, overdue.

    >>> log = pd.DataFrame({"client_id": ["a"] * 4, "outcome": ["positive", "negative", "neutral", "positive"],
    ...                     "date": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-10", "2025-01-25"])})
    >>> row = check_contact_cadence(log, ["a"], as_of=pd.Timestamp("2025-01-30")).iloc[0]
    >>> int(row["cadence_breaches"]), int(row["pause_breaches"]), int(row["days_since_positive"])
    (1, 1, 5)
    """
    log = contacts[contacts["client_id"].astype(str).isin(key_ids)]
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(contacts["date"].max())
    rows = []
    for cid in key_ids:
        mine = log[log["client_id"].astype(str) == cid].sort_values("date", kind="stable")
        dates = mine["date"]
        positive = dates[mine["outcome"] == "positive"]
        negative = dates[mine["outcome"] == "negative"]
        breaches = 0
        if len(mine):
            marks = [dates.iloc[0], *positive.tolist(), as_of]
            breaches = sum(1 for a, b in zip(marks, marks[1:]) if (b - a).days > every_days)
        pause = 0
        for neg_index, neg_date in negative.items():
            after = (dates > neg_date) | ((dates == neg_date) & (dates.index != neg_index))
            pause += int((after & ((dates - neg_date).dt.days < pause_days)).sum())
        last = positive.max() if len(positive) else pd.NaT
        since = (as_of - last).days if pd.notna(last) else np.nan
        due = last + pd.Timedelta(days=every_days) if pd.notna(last) else as_of
        overdue = bool(pd.isna(last) or since > every_days)
        rows.append({"client_id": cid, "contacts": len(mine), "positive": len(positive), "negative": len(negative),
                     "last_positive": last, "days_since_positive": since, "cadence_breaches": breaches,
                     "pause_breaches": pause, "next_due": as_of if overdue else due, "overdue": overdue})
    return pd.DataFrame(rows, columns=["client_id", "contacts", "positive", "negative", "last_positive",
                                       "days_since_positive", "cadence_breaches", "pause_breaches", "next_due",
                                       "overdue"])


# --------------------------------------------------------------------------- relationship score
def score_relationships(relationship: pd.DataFrame, key_ids: list[str] | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The relationship score per client and aspect (mean over raters), its gap to 4, and the weakest aspects.

    The seed: look at the relationship through the client's eyes on a four-point scale; the distance to
    the maximum shows where to develop it.

    Returns:
        (per_aspect, weakest): per_aspect has client_id, aspect, score (mean), raters, gap (4 - score);
        weakest has aspect, clients, mean_score, mean_gap, clients_below_3, sorted by mean_gap, largest first.

    >>> rel = pd.DataFrame({"client_id": ["a", "a", "a", "b"], "aspect": ["speed", "speed", "price", "speed"],
    ...                     "score": [2.0, 3.0, 4.0, 1.0], "rater": ["x", "y", "x", "x"]})
    >>> per, weakest = score_relationships(rel)
    >>> per.set_index(["client_id", "aspect"])["gap"].to_dict()[("a", "speed")]
    1.5
    >>> weakest["aspect"].tolist(), weakest["mean_gap"].tolist()
    (['speed', 'price'], [2.25, 0.0])
    """
    rel = relationship
    if key_ids is not None:
        rel = rel[rel["client_id"].astype(str).isin(key_ids)]
    per = (rel.groupby(["client_id", "aspect"], sort=True)
           .agg(score=("score", "mean"), raters=("score", "size")).reset_index())
    per["gap"] = SCORE_MAX - per["score"]
    weakest = (per.groupby("aspect").agg(clients=("client_id", "nunique"), mean_score=("score", "mean"),
                                         mean_gap=("gap", "mean"),
                                         clients_below_3=("score", lambda s: int((s < 3).sum())))
               .reset_index().sort_values(["mean_gap", "aspect"], ascending=[False, True], kind="stable")
               .reset_index(drop=True))
    return per, weakest


def summarise_relationships(per_aspect: pd.DataFrame) -> pd.DataFrame:
    """Per client: total score, the maximum it could reach, the gap, and its two weakest aspects.

    >>> per = pd.DataFrame({"client_id": ["a", "a"], "aspect": ["speed", "price"], "score": [2.0, 4.0]})
    >>> row = summarise_relationships(per.assign(gap=4 - per["score"])).to_dict("records")[0]
    >>> row["total"], row["maximum"], row["weakest"]
    (6.0, 8, 'speed')
    """
    rows = []
    for cid, group in per_aspect.groupby("client_id", sort=True):
        order = group.sort_values(["gap", "aspect"], ascending=[False, True], kind="stable")
        weak = order[order["gap"] > 0]["aspect"].head(2)
        rows.append({"client_id": cid, "total": float(group["score"].sum()), "maximum": SCORE_MAX * len(group),
                     "gap": float(group["gap"].sum()), "weakest": ", ".join(weak)})
    return pd.DataFrame(rows, columns=["client_id", "total", "maximum", "gap", "weakest"])


# --------------------------------------------------------------------------- dossier
def review_dossiers(dossier: pd.DataFrame | None, key_ids: list[str], *, as_of: pd.Timestamp,
                    review_months: int = 3) -> pd.DataFrame:
    """Per key client: which dossier parts are missing and whether the review is older than `review_months`.

    Only flags: the dossier is confidential (seed: access for the manager and the manager's supervisor),
    so no text of it is ever returned. A key client without a dossier row misses every part.

    >>> d = pd.DataFrame({"client_id": ["a"], "decision_makers": [True], "business": [False], "needs": [True],
    ...                   "competitors": [True], "history": [True], "last_review": [pd.Timestamp("2025-01-01")]})
    >>> r = review_dossiers(d, ["a", "b"], as_of=pd.Timestamp("2025-06-01"))
    >>> r[["client_id", "missing", "review_overdue"]].values.tolist()
    [['a', 'business', True], ['b', 'decision_makers, business, needs, competitors, history', True]]
    """
    rows = []
    by_client = dossier.drop_duplicates("client_id", keep="last").set_index("client_id") \
        if dossier is not None and len(dossier) else pd.DataFrame()
    limit = pd.Timestamp(as_of) - pd.DateOffset(months=review_months)
    for cid in key_ids:
        has = cid in by_client.index
        missing = [p for p in DOSSIER_PARTS if not (has and bool(by_client.at[cid, p]))]
        last = by_client.at[cid, "last_review"] if has and "last_review" in by_client else pd.NaT
        rows.append({"client_id": cid, "has_dossier": has, "missing": ", ".join(missing),
                     "parts_filled": len(DOSSIER_PARTS) - len(missing), "last_review": last,
                     "review_overdue": bool(pd.isna(last) or last < limit)})
    return pd.DataFrame(rows, columns=["client_id", "has_dossier", "missing", "parts_filled", "last_review",
                                       "review_overdue"])


# --------------------------------------------------------------------------- three P of prospects
def check_three_p(prospects: pd.DataFrame | None) -> pd.DataFrame | None:
    """The three "P" of a prospective key client: need, solvency, authority to decide (seed on key clients).

    Returns None when the prospects carry none of the three columns. Else one row per prospect:
    prospect_id, need, solvency, authority (True / False / NA), missing_p (the ones not confirmed, as
    words for the checklist) and key_prospect (all three confirmed). The input is not modified.

    >>> p = pd.DataFrame({"prospect_id": ["1", "2"], "need": ["yes", "yes"], "solvency": ["да", ""],
    ...                   "authority": [True, False]})
    >>> check_three_p(p)[["key_prospect", "missing_p"]].values.tolist()
    [[True, ''], [False, 'solvency, authority']]
    """
    if prospects is None or not any(p in prospects for p in THREE_P):
        return None
    out = pd.DataFrame({"prospect_id": prospects["prospect_id"].astype("string").to_numpy()})
    for p in THREE_P:
        values = prospects[p] if p in prospects else pd.Series(pd.NA, index=prospects.index)
        out[p] = (values.astype("boolean") if pd.api.types.is_bool_dtype(values)
                  else parse_yes_no(values.astype("string"))).to_numpy()
    confirmed = out[list(THREE_P)].fillna(False).astype(bool)
    out["missing_p"] = [", ".join(p for p in THREE_P if not row[p]) for _, row in confirmed.iterrows()]
    out["key_prospect"] = confirmed.all(axis=1).to_numpy()
    return out


def mark_key_prospects(scored: pd.DataFrame, prospects: pd.DataFrame | None) -> pd.DataFrame:
    """`score_prospects`' table with key_prospect and missing_p; the checklist (`to_ask`) asks the missing P.

    A lead missing any P is not routed as a prospective key client (key_prospect False), whatever its
    verdict. Without three-P columns the table is returned unchanged. Inputs are not modified.
    """
    three = check_three_p(prospects)
    if three is None or scored is None:
        return scored
    out = scored.copy()
    three = three.set_index("prospect_id")
    ids = out["prospect_id"].astype("string")
    out["key_prospect"] = ids.map(three["key_prospect"]).fillna(False).astype(bool).to_numpy()
    out["missing_p"] = ids.map(three["missing_p"]).fillna("").to_numpy()
    questions = [", ".join(t(f"keyclients.three_p.ask_{p}") for p in missing.split(", ") if p)
                 for missing in out["missing_p"]]
    out["to_ask"] = ["; ".join(x for x in (ask, q) if x) for ask, q in zip(out["to_ask"].fillna(""), questions)]
    return out


# --------------------------------------------------------------------------- managers, risk, false clients
def assign_managers(company: Company, key_ids: list[str]) -> pd.Series:
    """The manager of each key client: the dossier's, else the one who logged most contacts with it."""
    managers = pd.Series(pd.NA, index=pd.Index(key_ids, dtype=object), dtype=object)
    if company.contacts is not None and "manager" in company.contacts:
        log = company.contacts.dropna(subset=["manager"])
        log = log[log["client_id"].astype(str).isin(key_ids)]
        if len(log):
            counts = log.groupby(["client_id", "manager"]).size().reset_index(name="n")
            top = counts.sort_values(["client_id", "n", "manager"], ascending=[True, False, True]) \
                .drop_duplicates("client_id").set_index("client_id")["manager"]
            managers.update(top)
    if company.dossier is not None and "manager" in company.dossier:
        named = company.dossier.dropna(subset=["manager"]).drop_duplicates("client_id", keep="last")
        managers.update(named.set_index("client_id")["manager"].reindex(key_ids).dropna())
    return managers


def weigh_manager_load(managers: pd.Series, revenue: pd.Series, *, per_manager: int = 3) -> pd.DataFrame:
    """Key clients per manager, counted and weighted by revenue; managers above `per_manager` are flagged.

    The seed: one manager looks after 1-3 key clients, counted by the revenue they bring rather than by
    heads. The weighted load = the manager's key revenue / the average key client's revenue, so a manager
    with one client twice the average carries a load of 2.

    >>> m = pd.Series({"a": "Ann", "b": "Ann", "c": "Bob", "d": "Bob"})
    >>> r = pd.Series({"a": 500.0, "b": 300.0, "c": 100.0, "d": 100.0})
    >>> weigh_manager_load(m, r, per_manager=3)[["manager", "key_clients", "weighted_load", "over"]].values.tolist()
    [['Ann', 2, 3.2, True], ['Bob', 2, 0.8, False]]
    """
    frame = pd.DataFrame({"manager": managers, "revenue": revenue.reindex(managers.index).fillna(0.0)})
    frame["manager"] = frame["manager"].fillna(t("keyclients.managers.unassigned"))
    average = frame["revenue"].clip(lower=0).mean() if len(frame) else 0.0
    out = frame.groupby("manager").agg(key_clients=("revenue", "size"), revenue=("revenue", "sum")).reset_index()
    out["weighted_load"] = (out["revenue"].clip(lower=0) / average).round(2) if average > 0 else np.nan
    out["over"] = (out["weighted_load"] > per_manager) | (out["key_clients"] > per_manager)
    return out.sort_values(["weighted_load", "manager"], ascending=[False, True], kind="stable").reset_index(drop=True)


def falling_revenue(transactions: pd.DataFrame, key_ids: list[str], *, period: str = "month",
                    periods: int = 3, drop: float = 0.20) -> pd.Series:
    """Share by which each key client's revenue fell: last `periods` periods against the `periods` before.

    Returns the fall (0.25 = a quarter less), indexed by client_id, for the clients whose revenue fell by
    at least `drop`; complete calendar periods of the whole log are used, empty ones as zero.

    >>> tx = pd.DataFrame({"client_id": ["a"] * 4, "amount": [100.0, 100.0, 50.0, 50.0],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-02-05", "2025-03-05", "2025-04-05"])})
    >>> falling_revenue(tx, ["a"], periods=2).round(2).to_dict()
    {'a': 0.5}
    """
    from helpers.step1_list_clients.client_figures import period_starts

    tx = transactions[transactions["client_id"].astype(str).isin(key_ids)]
    if tx.empty:
        return pd.Series(dtype=float)
    starts = period_starts(transactions["date"], period)
    grid = sorted(starts.unique())
    if len(grid) < 2 * periods:
        return pd.Series(dtype=float)
    last, before = grid[-periods:], grid[-2 * periods:-periods]
    sums = tx["amount"].groupby([tx["client_id"].astype(str), starts.loc[tx.index]]).sum().unstack(fill_value=0.0)
    recent = sums.reindex(columns=last, fill_value=0.0).sum(axis=1)
    earlier = sums.reindex(columns=before, fill_value=0.0).sum(axis=1)
    fall = (1 - recent / earlier.where(earlier > 0)).dropna()
    return fall[fall >= drop - 1e-12]


def find_clients_at_risk(company: Company, key_ids: list[str], cadence: pd.DataFrame | None, *,
                         period: str = "month") -> pd.DataFrame:
    """Key clients showing the signs of loss the data can show, with the signs in words.

    Signs (KeyClientSettings): revenue over the last `risk_periods` periods at least `risk_drop` below
    the periods before; an average payment delay of at least `audit.late_payment_days` in the client
    list (a level: a trend needs invoice payment dates, which the kit does not read); a negative contact
    within the last `risk_negative_days` days; no positive contact for more than `positive_every_days`.

    Returns:
        DataFrame: client_id, name, signs (count), why — clients with at least one sign, most signs first.
    """
    s = _settings(company)
    names = _names(company)
    signs: dict[str, list[str]] = {cid: [] for cid in key_ids}
    if company.transactions is not None and len(company.transactions):
        for cid, fall in falling_revenue(company.transactions, key_ids, period=period, periods=s.risk_periods,
                                         drop=s.risk_drop).items():
            signs[cid].append(t("keyclients.risk.falling", pct=f"{fall * 100:.0f}", periods=s.risk_periods,
                                period=t(f"tiers.period.{period}")))
    if "payment_delay_days" in company.clients:
        delay = pd.to_numeric(company.clients.set_index(company.clients["client_id"].astype(str))
                              ["payment_delay_days"], errors="coerce")
        line = company.settings.audit.late_payment_days
        for cid in key_ids:
            if cid in delay.index and delay[cid] >= line:
                signs[cid].append(t("keyclients.risk.late", days=f"{delay[cid]:.0f}"))
    if company.contacts is not None and len(company.contacts):
        log = company.contacts
        as_of = log["date"].max()
        recent = log[(log["outcome"] == "negative") & (log["date"] > as_of - pd.Timedelta(days=s.risk_negative_days))]
        for cid, n in recent["client_id"].astype(str).value_counts().items():
            if cid in signs:
                signs[cid].append(t("keyclients.risk.negative", count=int(n), days=s.risk_negative_days))
    if cadence is not None:
        for row in cadence.itertuples(index=False):
            if row.overdue:
                signs[row.client_id].append(
                    t("keyclients.risk.no_positive", days=s.positive_every_days) if pd.isna(row.days_since_positive)
                    else t("keyclients.risk.silent", days=int(row.days_since_positive)))
    rows = [{"client_id": cid, "name": names.get(cid, cid), "signs": len(why), "why": "; ".join(why)}
            for cid, why in signs.items() if why]
    out = pd.DataFrame(rows, columns=["client_id", "name", "signs", "why"])
    return out.sort_values(["signs", "client_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def find_false_clients(deals: pd.DataFrame | None, *, min_open: int = 2, months: int = 6,
                       as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """"False" clients: several stalled or open deals, no won deal, over at least `months` months.

    The seed: some partners keep promising to sign and keep postponing; the team should stop spending
    time on them. Deals are grouped by client_id, else by name. With creation dates, the first stalled
    deal must be at least `months` months older than `as_of` (default: the last date in the deals);
    without dates the time condition cannot be checked and is skipped (the report says so).

    Returns:
        DataFrame: client (id or name), stalled, won, first_stalled, months_chasing.

    >>> d = pd.DataFrame({"client_id": ["x", "x", "y", "y", "z"], "outcome": ["stalled", "stalled", "stalled",
    ...                   "won", "stalled"], "created": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-01-01",
    ...                   "2025-02-01", "2025-01-01"])})
    >>> find_false_clients(d, as_of=pd.Timestamp("2025-09-01"))[["client", "stalled"]].values.tolist()
    [['x', 2]]
    """
    columns = ["client", "stalled", "won", "first_stalled", "months_chasing"]
    if deals is None or deals.empty:
        return pd.DataFrame(columns=columns)
    key = deals["client_id"] if "client_id" in deals else pd.Series(pd.NA, index=deals.index)
    if "name" in deals:
        key = key.fillna(deals["name"])
    frame = pd.DataFrame({"client": key.astype("string"), "outcome": deals["outcome"].to_numpy()}, index=deals.index)
    dated = "created" in deals and deals["created"].notna().any()
    frame["created"] = deals["created"] if dated else pd.NaT
    frame = frame.dropna(subset=["client"])
    if as_of is None and dated:
        as_of = max(deals["created"].max(), deals["closed"].max() if "closed" in deals else pd.NaT) \
            if "closed" in deals and deals["closed"].notna().any() else deals["created"].max()
    rows = []
    for client, group in frame.groupby("client", sort=True):
        stalled = group[group["outcome"] == "stalled"]
        won = int(group["outcome"].isin(["won", "won_fast"]).sum())
        if len(stalled) < min_open or won:
            continue
        first = stalled["created"].min() if dated else pd.NaT
        chasing = (pd.Timestamp(as_of) - first).days / 30.44 if dated and pd.notna(first) else np.nan
        if dated and not (chasing >= months):
            continue
        rows.append({"client": client, "stalled": len(stalled), "won": won, "first_stalled": first,
                     "months_chasing": round(chasing, 1) if pd.notna(chasing) else np.nan})
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- the whole picture
class KeyClientWork:
    """Everything the key-client inputs show, each part None when its input is absent.

    key_ids        the key clients measured (gold in the audit, plus any with a dossier)
    cadence        `check_contact_cadence` with name and manager (contacts.csv)
    per_aspect     `score_relationships` per client and aspect (relationship.csv)
    relationships  `summarise_relationships`, one row per client
    weakest        aspects by mean gap to the maximum across key clients
    dossiers       `review_dossiers` flags (dossier.csv)
    managers       `weigh_manager_load` (needs a manager from contacts or the dossier)
    at_risk        `find_clients_at_risk`
    false_clients  `find_false_clients` (deals.csv)
    notes          how each figure was computed, in plain words (cadence_note, dossier_note, false_note: their parts)
    per_manager    the advised maximum of key clients per manager
    """

    def __init__(self, company: Company, *, period: str = "month"):
        s = _settings(company)
        self.settings = s
        names = _names(company)
        self.key_ids = key_client_ids(company)
        self.as_of = self._as_of(company)
        self.notes: list[str] = [t("keyclients.note.key", count=len(self.key_ids))]
        self.cadence = self.per_aspect = self.relationships = self.weakest = self.dossiers = None
        self.managers = self.false_clients = None
        self.cadence_note = self.dossier_note = self.false_note = ""
        if company.contacts is not None and len(company.contacts):
            cadence = check_contact_cadence(company.contacts, self.key_ids, every_days=s.positive_every_days,
                                            pause_days=s.pause_after_negative_days)
            cadence.insert(1, "name", cadence["client_id"].map(names))
            self.cadence = cadence.sort_values(["overdue", "days_since_positive"], ascending=[False, False],
                                               kind="stable", na_position="first").reset_index(drop=True)
            self.cadence_note = t("keyclients.note.cadence", every=s.positive_every_days,
                                  pause=s.pause_after_negative_days,
                                  as_of=pd.Timestamp(company.contacts["date"].max()).strftime("%Y-%m-%d"))
            self.notes.append(self.cadence_note)
        if company.relationship is not None and len(company.relationship):
            per, weakest = score_relationships(company.relationship, self.key_ids)
            if per.empty:  # nobody scored is key: show the scores of everyone scored
                per, weakest = score_relationships(company.relationship)
            self.per_aspect, self.weakest = per, weakest
            summary = summarise_relationships(per)
            summary.insert(1, "name", summary["client_id"].map(names))
            self.relationships = summary.sort_values(["gap", "client_id"], ascending=[False, True],
                                                     kind="stable").reset_index(drop=True)
        if company.dossier is not None:
            dossiers = review_dossiers(company.dossier, self.key_ids, as_of=self.as_of,
                                       review_months=s.review_every_months)
            dossiers.insert(1, "name", dossiers["client_id"].map(names))
            self.dossiers = dossiers
            self.dossier_note = t("keyclients.note.dossier", months=s.review_every_months,
                                  as_of=self.as_of.strftime("%Y-%m-%d"))
            self.notes.append(self.dossier_note)
        self.per_manager = company.settings.audit.key_clients_per_manager
        managers = assign_managers(company, self.key_ids)
        if managers.notna().any():
            self.managers = weigh_manager_load(managers, self._revenue(company), per_manager=self.per_manager)
            self.notes.append(t("keyclients.note.managers", limit=self.per_manager))
        has_signals = company.contacts is not None or company.transactions is not None
        self.at_risk = find_clients_at_risk(company, self.key_ids, self.cadence, period=period) \
            if has_signals else None
        if company.deals is not None:
            self.false_clients = find_false_clients(company.deals, min_open=s.false_min_stalled,
                                                    months=s.false_months)
            if "created" not in company.deals or not company.deals["created"].notna().any():
                self.false_note = t("keyclients.note.false_undated")
                self.notes.append(self.false_note)

    @staticmethod
    def _as_of(company: Company) -> pd.Timestamp:
        """The day of the check: the last date in the contacts, else the transactions, else today."""
        for table, column in ((company.contacts, "date"), (company.transactions, "date")):
            if table is not None and len(table):
                return pd.Timestamp(table[column].max()).normalize()
        return pd.Timestamp.today().normalize()

    @staticmethod
    def _revenue(company: Company) -> pd.Series:
        from helpers.step1_list_clients.audit import summarise_clients

        return summarise_clients(company)["revenue"].fillna(0.0)


def study_key_clients(company: Company, *, period: str = "month") -> KeyClientWork:
    """The key-client work of one company; each part is None when its input is absent.

    Args:
        company: the loaded company (not modified).
        period: the regularity period of step 2, for the falling-revenue sign.
    """
    return KeyClientWork(company, period=period)
