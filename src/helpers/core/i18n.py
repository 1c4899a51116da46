"""User-facing text in English and Russian, from one catalogue per module.

Catalogues live in `locales/<lang>/<area>.yml`; a key is `<area>.<name>`
(`check.ok`, `problems.duplicate_client_id.message`). Several files may fill one area:
`problems-load.yml` adds to the `problems` area (the part before `-` names the area). English is the reference:
a key missing in another language falls back to English (a test lists such gaps).
"""

from __future__ import annotations

import functools
import string
from contextlib import contextmanager
from typing import Any, Iterator

import yaml

from helpers.paths import LOCALES_DIR

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
_current = DEFAULT_LANGUAGE


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node)


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """All messages of one language, flattened to dotted keys."""
    out: dict[str, str] = {}
    folder = LOCALES_DIR / lang
    for path in sorted(folder.glob("*.yml")):
        with path.open(encoding="utf-8") as fh:
            _flatten(path.stem.split("-")[0], yaml.safe_load(fh) or {}, out)
    return out


def set_language(lang: str | None) -> str:
    """Choose the language of every message that follows; unknown codes fall back to English."""
    global _current
    _current = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return _current


def get_language() -> str:
    return _current


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Temporarily switch language: ``with language("ru"): ...``."""
    previous = _current
    try:
        yield set_language(lang)
    finally:
        set_language(previous)


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """The message `key` in the current (or given) language, with `{placeholders}` filled.

    >>> t("common.tier_names.C", "en")
    'C'
    >>> t("no.such.key", "en")
    'no.such.key'
    """
    lang = lang or _current
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    if params:
        text = string.Formatter().vformat(text, (), _Default(params))
    return text


def missing_keys(lang: str) -> list[str]:
    """Keys present in English but absent from `lang`."""
    reference = catalogue(DEFAULT_LANGUAGE)
    other = catalogue(lang)
    return sorted(set(reference) - set(other))


def t_column(key: str, index, /, **params: Any):
    """The message `key` for many rows at once: a Series of strings on `index`.

    Each parameter is a scalar (the same for every row) or a Series aligned with `index`. The template
    is parsed once and its pieces joined column-wise, so a million clients cost one pass per piece,
    not one `t()` call each; a row's text equals `t(key, **that row's values)`.

    >>> import pandas as pd
    >>> t_column("tiers.reason.loyalty_periods", pd.RangeIndex(2), active=pd.Series([3, 12]), n=12,
    ...          period="months").tolist()
    ['bought in 3 of 12 months', 'bought in 12 of 12 months']
    """
    import numpy as np
    import pandas as pd

    template = t(key)
    out = np.full(len(index), "", dtype=object)
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if name is None:
            continue
        if name not in params:  # like t(): an unknown placeholder stays visible
            out = out + "{" + name + "}"
            continue
        value = params[name]
        if isinstance(value, pd.Series):
            values = value.to_numpy(dtype=object)
            if spec or conversion:
                text = np.array([string.Formatter().format_field(
                    string.Formatter().convert_field(v, conversion), spec) for v in values], dtype=object)
            else:  # a missing value is written "?", as t() would show an unknown figure
                text = value.astype(object).where(value.notna(), "?").astype(str).to_numpy(dtype=object)
            out = out + text
        else:
            field = string.Formatter().convert_field(value, conversion)
            out = out + string.Formatter().format_field(field, spec or "")
    return pd.Series(out, index=index, dtype=object)


def t_select(choices: list[tuple[Any, str]], default: str, index, /, **params: Any):
    """Per row, the message of the first choice whose condition holds (else `default`), like
    ``np.select`` over `t_column`s but each message filled only for its own rows.

    `choices`: (boolean array on `index`, key) pairs; `params` as for `t_column`. A million clients
    then cost one column of text, not one per message.

    >>> import pandas as pd
    >>> t_select([(pd.Series([True, False]).to_numpy(), "tiers.reason.loyalty_periods")], "tiers.reason.loyalty_periods",
    ...          pd.RangeIndex(2), active=pd.Series([3, 12]), n=12, period="months").tolist()
    ['bought in 3 of 12 months', 'bought in 12 of 12 months']
    """
    import numpy as np
    import pandas as pd

    n = len(index)
    chosen = np.full(n, len(choices))
    for at, (condition, _) in reversed(list(enumerate(choices))):
        chosen[np.asarray(condition, dtype=bool)] = at
    out = np.empty(n, dtype=object)
    for at, key in enumerate([key for _, key in choices] + [default]):
        rows = np.flatnonzero(chosen == at)
        if not len(rows):
            continue
        part = {k: (v.iloc[rows] if isinstance(v, pd.Series) else v) for k, v in params.items()}
        out[rows] = t_column(key, index[rows], **part).to_numpy(dtype=object)
    return pd.Series(out, index=index, dtype=object)


def format_distinct(values, formatter) -> "pd.Series":
    """`formatter` applied to a column, calling it once per distinct value (missing values included).

    Figures in sentences repeat a lot (shares, days, months), so this keeps per-client wording column-wise.
    The result keeps `values`' index when it has one.

    >>> format_distinct([1.0, None, 1.0], lambda v: "?" if v != v else f"{v:.0f}").tolist()
    ['1', '?', '1']
    """
    import numpy as np
    import pandas as pd

    index = values.index if isinstance(values, (pd.Series, pd.DataFrame)) else None
    series = pd.Series(np.asarray(values, dtype=float), index=index)
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    texts = np.array([formatter(v) for v in uniques], dtype=object)
    return pd.Series(texts[codes] if len(codes) else np.array([], dtype=object), index=series.index, dtype=object)


def label(kind: str, text: Any) -> str:
    """A header (`kind` "columns") or value (`kind` "values") of a report table as the reader's language says it.

    Looks `text` up in the `labels` catalogue (locales/<lang>/labels-report.yml): contract names such as
    `client_share` or `won_fast` stay in the CSV files and read "share of clients", "won fast" (RU "доля
    клиентов", "выиграна быстро") where a person reads them. A header missing from `columns` is tried in
    `values` (outcomes as columns); a value "a, b" is translated part by part when every part is known;
    anything else (names, ids, text already in the reader's language) is returned unchanged.

    >>> label("columns", "client_share"), label("values", "won_fast"), label("values", "advice, price")
    ('share of clients', 'won fast', 'advice, price')
    """
    if not isinstance(text, str):
        return text
    known = catalogue(DEFAULT_LANGUAGE)
    for area in ((kind, "values") if kind == "columns" else (kind,)):
        if f"labels.{area}.{text}" in known:
            return t(f"labels.{area}.{text}")
    parts = [p.strip() for p in text.split(",")] if kind == "values" and "," in text else []
    if parts and all(f"labels.values.{p}" in known for p in parts):
        return ", ".join(t(f"labels.values.{p}") for p in parts)
    return text
