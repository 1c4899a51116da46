"""Anonymised mode for workshops: client ids and names replaced by keyed pseudonyms.

Serves every step: applied right after loading, so no later table, plot or export sees
a real name. Pseudonyms are HMAC-SHA256 of the client id under a secret key kept outside
the repository, so they are stable between runs but cannot be reversed by hashing guesses.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from .company import Company
from .errors import Problem
from .i18n import t

KEY_ENV = "TIERBOOK_ANON_KEY"
# `tierbook run --key-file` hands the file to the notebook kernels through this variable.
KEY_FILE_ENV = "TIERBOOK_ANON_KEY_FILE"
DEFAULT_KEY_FILE = Path.home() / ".config" / "tierbook" / "anonymise.key"


def load_key(key_file: str | os.PathLike | None = None) -> bytes:
    """The secret key: `key_file`, else $TIERBOOK_ANON_KEY_FILE, else $TIERBOOK_ANON_KEY, else a key created
    once in ~/.config/tierbook/ (outside any repository)."""
    key_file = key_file or os.environ.get(KEY_FILE_ENV)
    if key_file:
        return Path(key_file).read_bytes().strip()
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode("utf-8")
    if not DEFAULT_KEY_FILE.is_file():
        DEFAULT_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(DEFAULT_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return DEFAULT_KEY_FILE.read_bytes().strip()


def pseudonym(client_id: str, key: bytes, *, prefix: str = "Client") -> str:
    """A stable, keyed pseudonym for one client id.

    >>> pseudonym("C-001", b"k")
    'Client-3T6YPQ'
    >>> pseudonym("C-001", b"k") == pseudonym("C-001", b"other key")
    False
    """
    digest = hmac.new(key, str(client_id).encode("utf-8"), hashlib.sha256).digest()
    return f"{prefix}-{base64.b32encode(digest).decode('ascii')[:6]}"


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


def _scrub_problems(problems: list[Problem], replacements: dict[str, str]) -> list[Problem]:
    """Problems with every real client id and name in their texts replaced by its pseudonym."""
    real = sorted((r for r in replacements if r), key=len, reverse=True)
    if not real or not problems:
        return list(problems)
    pattern = re.compile("|".join(re.escape(r) for r in real))

    def scrub(text: str | None) -> str | None:
        return pattern.sub(lambda m: replacements[m.group(0)], text) if text else text

    return [dataclasses.replace(p, message=scrub(p.message), fix=scrub(p.fix), column=scrub(p.column),
                                details={}) for p in problems]


def anonymise_company(company: Company, *, key_file: str | os.PathLike | None = None) -> Company:
    """A copy of `company` with every client and prospect id and name pseudonymised; the input is not changed."""
    if company.transactions_dataset is not None:
        # its ids live in files on disk that are never rewritten: the aggregates would carry the real ids
        from .errors import DataProblem, problem

        raise DataProblem(problem("anonymise_dataset", file=company.transactions_dataset.path.name + "/"))
    key = load_key(key_file)
    ids = company.clients["client_id"].astype("string")
    mapping = {cid: pseudonym(cid, key) for cid in ids}
    clients = _replace(company.clients, mapping, "client_id", "name", key, "Client")
    names = dict(zip(company.clients["name"].astype(str), clients["name"].astype(str)))
    note = Problem("info", "anonymised", t("run.anonymised_note"))
    problems = _scrub_problems(company.problems, {**names, **mapping})
    return dataclasses.replace(
        company,
        clients=clients,
        placement=_replace(company.placement, mapping, "client_id", None, key, "Client"),
        transactions=_replace(company.transactions, mapping, "client_id", None, key, "Client"),
        deals=_replace(company.deals, mapping, "client_id", "name", key, "Client"),
        prospects=_replace(company.prospects, {}, "prospect_id", "name", key, "Lead"),
        problems=[*problems, note],
    )
