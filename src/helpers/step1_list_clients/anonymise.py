"""Anonymised mode for workshops: client ids and names replaced by keyed pseudonyms.

Serves every step: applied right after loading, so no later table, plot or export sees
a real name. Pseudonyms are HMAC-SHA256 of the client id under a secret key kept outside
the repository, so they are stable between runs but cannot be reversed by hashing guesses.
Columns that identify a client or a person in another way (a second id such as ИНН, e-mail,
phone, contact person, address) are left out; free text is scrubbed of every known name and id.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import itertools
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from helpers.step1_list_clients.company import Company
from helpers.core.errors import DataProblem, Problem, problem
from helpers.core.i18n import t
from helpers.step1_list_clients.key_clients import anonymise_key_inputs

KEY_ENV = "TIERBOOK_ANON_KEY"
# `tierbook run --key-file` hands the file to the notebook kernels through this variable.
KEY_FILE_ENV = "TIERBOOK_ANON_KEY_FILE"
DEFAULT_KEY_FILE = Path.home() / ".config" / "tierbook" / "anonymise.key"
# HMAC keys shorter than this can be guessed; 16 bytes = 128 bits (NIST SP 800-107 asks for at least
# the security strength wanted; 128 bits is the usual floor).
MIN_KEY_BYTES = 16
# 16 base32 characters = 80 bits: for 10 million clients the chance of any collision is about
# n²/2^81 ≈ 4e-11 (birthday bound); a collision is still checked and refused.
PSEUDONYM_CHARS = 16
PSEUDONYM_SCHEME = "tierbook-pseudonym-v2"

# Headers that name a way to identify a client or a person other than client_id and name.
_IDENTIFYING_HEADER = re.compile(
    r"(?i)(?<![a-zа-яё])(инн|кпп|огрн|окпо|снилс|паспорт|inn|kpp|ogrn|okpo|tax[ _-]?id|vat([ _-]?(id|no|number))?|ein"
    r"|ssn|passport|e-?mail|почта|phone|tel|telephone|телефон|тел|mobile|моб\w*|fax|факс|whatsapp|telegram|skype"
    r"|contact\w*|контакт\w*|фио|full[ _-]?name|person|лицо|address|адрес\w*|street|улица|postcode|zip([ _-]?code)?"
    r"|website|сайт|url|iban|bic|бик|swift|р/с|расч[её]тный[ _-]?сч[её]т|account[ _-]?(no|number)|director|директор"
    r"|owner|владелец|birth\w*|рождени\w*)(?![a-zа-яё])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"^\s*\+?[\d\s\-().]{7,24}\s*$")
_ADDRESS = re.compile(r"(?i)(?:\bул\.|\bулица\b|\bпр-т\b|\bпроспект\b|\bд\.\s*\d|\bstreet\b|\bst\.\s|\bave\b|\broad\b"
                      r"|\bsuite\b|\bоф\.\s*\d|\bкв\.\s*\d|\b\d{6}\b,)")
_WORD = re.compile(r"\w+")
# Shorter names and ids ("A", "12") are too common in free text to be found reliably.
MIN_TERM_CHARS = 3
_MAX_TERM_WORDS = 8


def _key_problem(code: str, **params) -> DataProblem:
    return DataProblem(problem(code, file=str(params.get("source", "")) or None, **params))


def check_key(key: bytes, source: str) -> bytes:
    """Return the key when it is long enough; raise DataProblem saying how to make a good one.

    >>> check_key(b"0123456789abcdef0123", "x") == b"0123456789abcdef0123"
    True
    """
    if len(key.strip()) < MIN_KEY_BYTES:
        raise _key_problem("anon_key_weak", source=source, length=len(key.strip()), minimum=MIN_KEY_BYTES)
    return key


def load_key(key_file: str | os.PathLike | None = None) -> bytes:
    """The secret key: `key_file`, else $TIERBOOK_ANON_KEY_FILE, else $TIERBOOK_ANON_KEY, else a key created
    once in ~/.config/tierbook/ (outside any repository).

    Raises DataProblem when the key file cannot be read or the key is shorter than MIN_KEY_BYTES
    (an empty or short key lets anyone recompute the pseudonyms of guessable ids).
    """
    key_file = key_file or os.environ.get(KEY_FILE_ENV)
    if key_file:
        try:
            return check_key(Path(key_file).expanduser().read_bytes().strip(), str(key_file))
        except OSError as exc:
            raise _key_problem("anon_key_unreadable", source=str(key_file),
                               reason=exc.strerror or type(exc).__name__) from None
    if os.environ.get(KEY_ENV) is not None:
        return check_key(os.environ[KEY_ENV].strip().encode("utf-8"), f"${KEY_ENV}")
    if not DEFAULT_KEY_FILE.is_file():
        DEFAULT_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(DEFAULT_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return check_key(DEFAULT_KEY_FILE.read_bytes().strip(), str(DEFAULT_KEY_FILE))


def pseudonym(client_id: str, key: bytes, *, prefix: str = "Client", length: int = PSEUDONYM_CHARS) -> str:
    """A stable, keyed pseudonym for one client id: `prefix-` and `length` base32 characters of HMAC-SHA256
    (RFC 2104) over the scheme name, the prefix and the id.

    >>> pseudonym("C-001", b"k")
    'Client-IEQVXXLPJ4U4DGWJ'
    >>> pseudonym("C-001", b"k") == pseudonym("C-001", b"other key")
    False
    """
    # domain-separated: a pseudonym of this scheme shares nothing with the 30-bit ones of earlier versions
    message = f"{PSEUDONYM_SCHEME}\x00{prefix}\x00{client_id}".encode("utf-8", "surrogateescape")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return f"{prefix}-{base64.b32encode(digest).decode('ascii')[:length]}"


def pseudonym_map(ids, key: bytes, *, prefix: str = "Client", length: int = PSEUDONYM_CHARS) -> dict[str, str]:
    """{real id: pseudonym} for every distinct id; raise DataProblem when two ids share a pseudonym.

    A collision would silently merge two clients (their sales summed, one placement lost).
    """
    mapping = {str(i): pseudonym(str(i), key, prefix=prefix, length=length) for i in dict.fromkeys(ids)
               if i is not None and not pd.isna(i)}
    if len(set(mapping.values())) != len(mapping):
        pairs = len(mapping) - len(set(mapping.values()))
        raise DataProblem(problem("pseudonym_collision", count=pairs))
    return mapping


class Scrubber:
    """Replaces every known real name and id inside free text by its pseudonym.

    Matching is by whole words, case-insensitive, over runs of up to eight words, so
    "Sable Logistics Inc asked us…" and "ZZ-SECRET-4711" are both found; e-mail addresses and
    numbers of ten digits or more (phones, tax ids) are replaced whoever they belong to. A Russian
    name is also found inflected («с Ромашкой», «у ООО Вектора», «Ивановой»): see `_stems`.

    >>> Scrubber({"Sable Logistics Inc": "Client-X", "C001": "Client-Y"}).scrub("Sable Logistics Inc (c001) called")
    'Client-X (Client-Y) called'
    >>> Scrubber({"ООО Ромашка": "Client-X"}).scrub("договор с ООО Ромашкой продлён")
    'договор с Client-X продлён'
    """

    def __init__(self, replacements: dict[str, str]):
        self.terms: dict[str, str] = {}
        self.inflected: dict[tuple[str, ...], str] = {}  # the words' stems, for names with Cyrillic words
        for real, fake in replacements.items():
            words = _WORD.findall(str(real))
            if words and len("".join(words)) >= MIN_TERM_CHARS:
                self.terms[self._key(str(real))] = fake
                if len(words) <= _MAX_INFLECTED_WORDS and any(_inflects(w.casefold()) for w in words):
                    self.inflected.setdefault(tuple(_stem(w.casefold()) for w in words), fake)
        self.first_stems = {key[0] for key in self.inflected}
        self.longest = min(_MAX_TERM_WORDS, max((len(_WORD.findall(k)) for k in self.terms), default=0))

    @staticmethod
    def _key(text: str) -> str:
        words = list(_WORD.finditer(text))
        return text[words[0].start():words[-1].end()].casefold() if words else ""

    def scrub(self, text):
        if not isinstance(text, str) or not text:
            return text
        words = list(_WORD.finditer(text))
        out, i, last = [], 0, 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                start, end = words[i].start(), words[i + n - 1].end()
                fake = self.terms.get(text[start:end].casefold())
                if fake is not None:
                    out.append(text[last:start] + fake)
                    last, i = end, i + n
                    break
            else:
                n, fake = self._inflected_at(words, i)
                if fake is None:
                    i += 1
                    continue
                out.append(text[last:words[i].start()] + fake)
                last, i = words[i + n - 1].end(), i + n
        return _scrub_contacts("".join(out) + text[last:])

    def _inflected_at(self, words: list, i: int) -> tuple[int, str | None]:
        """(words, pseudonym) of the longest inflected name starting at word i, else (0, None)."""
        first = _stems(words[i].group().casefold())
        if not self.inflected or not first & self.first_stems:
            return 0, None
        for n in range(min(_MAX_INFLECTED_WORDS, len(words) - i), 0, -1):
            choices = [first] + [_stems(w.group().casefold()) for w in words[i + 1:i + n]]
            for key in itertools.product(*choices):
                fake = self.inflected.get(key)
                if fake is not None:
                    return n, fake
        return 0, None


def core_name(name: str) -> str:
    """A company's name without its legal form and quotes, as people write it in a note: «ООО «Ромашка»»
    → «Ромашка», "Sable Logistics Inc" → "Sable Logistics" ("" when nothing is left).

    >>> core_name('ООО «Ромашка»'), core_name('Sable Logistics Inc.'), core_name('ИП')
    ('Ромашка', 'Sable Logistics', '')
    """
    from helpers.step1_list_clients.load import _LEGAL_FORMS  # the loader's list of legal forms

    return " ".join(_WORD.findall(_LEGAL_FORMS.sub(" ", str(name))))


# Russian declines names: «Ромашка» is «Ромашкой», «Ромашки», «Ромашке» in a sentence, «Иванов» is
# «Ивановым». A name's word and a word of the text match when both lose at most a few ending letters
# to the same stem. Written here because a stemmer does not do it: Snowball's Russian stemmer gives
# «газпр» for «Газпром» but «газпром» for «Газпрома», and «иван» for «Иванов» but «иванов» for «Ивановым».
_MAX_INFLECTED_WORDS = 3
_ENDING_LETTERS = set("аяоеёиыуюйьмхвш")
_MIN_STEM = 4  # «мир» from «Мира» would scrub the word «мир» too


def _inflects(word: str) -> bool:
    """Whether a (casefolded) word of a name is Russian and long enough to be matched inflected."""
    return len(word) >= _MIN_STEM + 1 and bool(re.fullmatch(r"[а-яё]+", word))


def _stem(word: str) -> str:
    """A name's word as it is matched inflected: without its last letter when that is a vowel, й or ь
    («ромашка» → «ромашк», «иванов» stays); any other word as it is."""
    return word[:-1] if _inflects(word) and word[-1] in "аяоеёиыуюйь" else word


@functools.lru_cache(maxsize=65536)
def _stems(word: str) -> frozenset[str]:
    """Every stem a (casefolded) word of the text may have: the word, and for a Russian word the word
    without up to three ending letters (never shorter than _MIN_STEM)."""
    found = {word}
    if _inflects(word):
        for cut in range(1, 4):
            if len(word) - cut < _MIN_STEM or word[-cut] not in _ENDING_LETTERS:
                break
            found.add(word[:-cut])
    return frozenset(found)


# Inside free text: e-mails, and runs of 10+ digits (phones, ИНН, accounts) — whoever they belong to.
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER_IN_TEXT = re.compile(r"\+?\d(?:[\s\-().]{0,2}\d){9,}")


def _scrub_contacts(text: str) -> str:
    """Free text with e-mail addresses and long numbers (phones, tax ids) replaced by placeholders.

    >>> _scrub_contacts("call ivan@acme.ru or +7 (495) 123-45-67, INN 7701234567; budget 150 000")
    'call [e-mail] or [number], INN [number]; budget 150 000'
    """
    return _LONG_NUMBER_IN_TEXT.sub("[number]", _EMAIL_IN_TEXT.sub("[e-mail]", text))


def identifying_columns(df: pd.DataFrame, skip: set[str]) -> list[str]:
    """Columns (other than `skip`) that identify a client or a person: by header, else by content.

    By content: e-mails or phone numbers in at least half the filled cells, addresses in a third,
    or a text/integer column unique to each row like a second id (ИНН, contract number).

    >>> identifying_columns(pd.DataFrame({"ИНН": ["7701"], "segment": ["IT"], "x": ["a@b.ru"]}), set())
    ['ИНН', 'x']
    """
    found = []
    for column in df.columns:
        if column in skip:
            continue
        if _IDENTIFYING_HEADER.search(str(column).replace("_", " ")):
            found.append(column)
            continue
        values = df[column].dropna()
        if pd.api.types.is_bool_dtype(values) or values.empty:
            continue
        if pd.api.types.is_numeric_dtype(values):
            whole = values[(values == values.round()) & (values.abs() >= 1e8)]
            # all integers of 9+ digits, each a different one: a tax number or phone, not a quantity
            if len(whole) >= 0.9 * len(values) and len(values) >= 10 and values.nunique() >= 0.9 * len(values):
                found.append(column)
            continue
        text = values.astype(str).str.strip()
        text = text[text != ""]
        if text.empty:
            continue
        if (text.str.contains(_EMAIL).mean() >= 0.5 or text.str.match(_PHONE).mean() >= 0.5
                or text.str.contains(_ADDRESS).mean() >= 0.3
                or (len(text) >= 10 and text.nunique() >= 0.9 * len(text) and not text.str.contains(r"\s\w+\s").all())):
            found.append(column)
    return found


# Problem parameters that quote a cell of the input; shown hidden (or as a pseudonym) when anonymised.
_QUOTED = ("value", "text", "header_text")
# Parameters listing ids: each known id is shown as its pseudonym.
_ID_LISTS = ("ids", "examples")
# Problems whose `value` is a client id that may be in no table (an unknown id of placement.csv).
_ID_VALUE_CODES = ("unknown_client",)
# Problems whose `examples` pair an id as another file wrote it ("00123", an 18-character Salesforce id)
# with the client's: the written form is in no table, so no pseudonym covers it; the examples are hidden.
# So are a QuickBooks job's or sub-customer's own names beside its customer's (often a person's name).
_ALIAS_CODES = ("ids_differ_by_zeros", "salesforce_ids_15_18", "jobs_as_customers", "sub_groups_as_customers")


def _scrub_problems(problems: list[Problem], scrubber: Scrubber, key: bytes) -> list[Problem]:
    """Problems with every real client id and name in their texts replaced, quoted cells hidden."""
    out = []
    for p in problems:
        params = dict(p.details)
        if params:
            for name in _QUOTED:
                if name in params:
                    params[name] = (pseudonym(str(params[name]), key) if p.code in _ID_VALUE_CODES
                                    else t("problems.quoted_text_hidden.message"))
            for name in _ID_LISTS:
                if isinstance(params.get(name), str):
                    params[name] = (t("problems.quoted_text_hidden.message") if p.code in _ALIAS_CODES
                                    else scrubber.scrub(params[name]))
            try:
                p = problem(p.code, p.severity, file=p.file, row=p.row, column=p.column, **params)
            except Exception:  # noqa: BLE001 - a problem built by hand keeps its own wording, scrubbed below
                pass
        out.append(dataclasses.replace(p, message=scrubber.scrub(p.message), fix=scrubber.scrub(p.fix),
                                       column=scrubber.scrub(p.column), details={}))
    return out


def _replace(df: pd.DataFrame | None, mapping: dict[str, str], id_column: str, name_column: str | None,
             key: bytes, prefix: str) -> pd.DataFrame | None:
    if df is None:
        return None
    out = df.copy()
    if id_column in out:
        ids = out[id_column].astype("string")
        out[id_column] = ids.map(lambda v: mapping.get(v) or pseudonym(v, key, prefix=prefix), na_action="ignore")
    if name_column and name_column in out:
        out[name_column] = out[id_column].fillna("—") if id_column in out else "—"
    return out


def _scrub_text_columns(df: pd.DataFrame | None, scrubber: Scrubber, keep: set[str]) -> pd.DataFrame | None:
    """Free text (deal reasons, notes, text traits) with known names and ids replaced."""
    if df is None:
        return None
    for column in df.columns:
        if column in keep:
            continue
        series = df[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            # each distinct value once: a category trait repeats a few values over a million clients
            cleaned = {value: scrubber.scrub(value) for value in series.dropna().unique()}
            df[column] = series.map(cleaned, na_action="ignore")
    return df


def anonymise_company(company: Company, *, key_file: str | os.PathLike | None = None) -> Company:
    """A copy of `company` with every client and prospect id and name pseudonymised; the input is not changed.

    Also drops columns that identify a client or a person (see `identifying_columns`), scrubs
    free text of every known name and id (of any input file), and hides quoted cells in problems.

    Raises DataProblem for a weak or unreadable key, or when two ids would share a pseudonym.
    """
    if company.transactions_dataset is not None:
        # its ids live in files on disk that are never rewritten: the aggregates would carry the real ids
        raise DataProblem(problem("anonymise_dataset", file=company.transactions_dataset.path.name + "/"))
    key = load_key(key_file)
    id_sources = [company.clients["client_id"]]
    for table in (company.placement, company.transactions, company.deals):
        if table is not None and "client_id" in table:
            id_sources.append(table["client_id"])
    for p in company.problems:  # ids only in a problem (unknown placement ids) must be scrubbed too
        if p.code in _ID_VALUE_CODES and "value" in p.details:
            id_sources.append(pd.Series([str(p.details["value"])]))
    mapping = pseudonym_map((str(v) for s in id_sources for v in s.dropna().astype(str)), key)
    leads = (pseudonym_map(company.prospects["prospect_id"].dropna().astype(str), key, prefix="Lead")
             if company.prospects is not None and "prospect_id" in company.prospects else {})
    terms: dict[str, str] = {}
    for table, id_column, table_map in ((company.clients, "client_id", mapping), (company.deals, "client_id", mapping),
                                        (company.prospects, "prospect_id", leads)):
        if table is not None and "name" in table and id_column in table:
            for real_id, real_name in zip(table[id_column].astype(str), table["name"].astype(str)):
                if real_id in table_map:
                    terms[real_name] = table_map[real_id]
    if company.deals is not None and "name" in company.deals:  # a deal name with no client id is still a name
        for real_name in company.deals["name"].dropna().astype(str):
            terms.setdefault(real_name, pseudonym(real_name, key))
    for real_name, fake in list(terms.items()):  # «Ромашка» in a note about «ООО «Ромашка»»
        terms.setdefault(core_name(real_name), fake)
    terms.update(leads)
    terms.update(mapping)  # ids win over a name spelt like another client's id
    scrubber = Scrubber(terms)

    dropped: list[str] = []

    def without_identifiers(df: pd.DataFrame | None, keep: set[str]) -> pd.DataFrame | None:
        if df is None:
            return None
        columns = identifying_columns(df, keep)
        dropped.extend(c for c in columns if c not in dropped)
        return df.drop(columns=columns)

    clients = without_identifiers(_replace(company.clients, mapping, "client_id", "name", key, "Client"),
                                  {"client_id", "name", "revenue", "margin", "purchases", "client_since"})
    deals = without_identifiers(_replace(company.deals, mapping, "client_id", "name", key, "Client"),
                                {"deal_id", "client_id", "name", "outcome", "reason", "created", "closed",
                                 "cycle_days", "amount"})
    prospects = without_identifiers(_replace(company.prospects, leads, "prospect_id", "name", key, "Lead"),
                                    {"prospect_id", "name"})
    placement = _replace(company.placement, mapping, "client_id", None, key, "Client")
    transactions = _replace(company.transactions, mapping, "client_id", None, key, "Client")
    ids = {"client_id", "name", "prospect_id"}
    clients = _scrub_text_columns(clients, scrubber, ids)
    deals = _scrub_text_columns(deals, scrubber, ids)
    prospects = _scrub_text_columns(prospects, scrubber, ids)
    placement = _scrub_text_columns(placement, scrubber, ids | {"tier"})
    problems = _scrub_problems(company.problems, scrubber, key)
    if dropped:
        problems.append(problem("identifying_columns_dropped", "info", columns=", ".join(map(str, dropped))))
    problems.append(Problem("info", "anonymised", t("run.anonymised_note")))
    trait_kinds = {k: v for k, v in company.trait_kinds.items() if k not in dropped}
    return dataclasses.replace(company, clients=clients, placement=placement, transactions=transactions, deals=deals,
                               prospects=prospects, trait_kinds=trait_kinds, problems=problems,
                               # contacts, relationship scores and dossier flags: clients, managers and raters
                               **anonymise_key_inputs(company, mapping,
                                                      lambda value, prefix: pseudonym(value, key, prefix=prefix)))
