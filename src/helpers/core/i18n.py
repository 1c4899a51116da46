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


def t_each(key: str, index, /, **params: Any):
    """The message `key` once per row, filled column-wise: a pandas Series of str on `index`.

    Each parameter is a scalar (the same in every row) or a Series aligned on `index` (values already
    formatted as text; missing values are written "?"). The result equals ``t(key, **row)`` for each
    row, without a Python loop over the rows (per-client explanations at 100k+ clients).

    >>> import pandas as pd
    >>> t_each("tiers.reason.because", pd.RangeIndex(2), tier=pd.Series(["A1", "C"]), body="x").tolist()
    ['A1 because: x', 'C because: x']
    """
    import pandas as pd

    text = catalogue(_current).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    out = pd.Series("", index=index, dtype=object)
    for literal, field, spec, conversion in string.Formatter().parse(text):
        out = out + literal
        if field is None:
            continue
        if field not in params:
            out = out + "{" + field + "}"
            continue
        value = params[field]
        if isinstance(value, pd.Series):
            if spec or conversion:
                raise ValueError(f"{key}: a per-row parameter cannot carry a format spec ({field})")
            out = out + value.reindex(index).astype(object).where(value.reindex(index).notna(), "?").astype(str)
        else:
            out = out + format(value if conversion is None else repr(value) if conversion == "r" else str(value),
                                spec)
    return out
