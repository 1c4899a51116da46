"""Step 4 of the method: criteria as rules — conditions on traits, said in plain words.

One rule object serves the data search, the team's `criteria.yml` (parsed here, never eval'ed),
the sales checklist and the scoring of prospects.

The rule language of `criteria.yml` (see templates/criteria.yml)::

    headcount >= 50                      numbers: >= > <= < == !=
    has_call_centre == yes               yes/no traits: yes no (also true false да нет)
    industry in [retail, horeca]         categories: == != in [..] not in [..]
    `Площадь офиса, м2` >= 100           a trait name with spaces or commas goes in backticks
    region == "Far East"                 a value with spaces goes in quotes
    a and b, a or b, not a, ( ... )      combinations; `and` binds tighter than `or`

Evaluation is three-valued: a client whose trait is unknown gives <NA>, so a prospect with
missing answers is "needs review" rather than silently "no".
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Union

import pandas as pd

from helpers.core.errors import DataProblem, Problem, problem
from helpers.core.i18n import t

Kind = Literal["number", "yesno", "category"]
CRITERIA_FILE = "criteria.yml"
MAX_CRITERIA_BYTES = 1_000_000
YES_WORDS = {"yes", "true", "да", "y", "1"}
NO_WORDS = {"no", "false", "нет", "n", "0"}
STATUSES = ("accepted", "proposed", "rejected")
SOURCES = ("data", "interview", "deal reasons")


class RuleError(ValueError):
    """A rule text that cannot be understood; `detail` says what and where."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


# ---------------------------------------------------------------- the rule objects
def trait_label(trait: str) -> str:
    """A trait name as a person reads it.

    >>> trait_label("has_call_centre")
    'has call centre'
    """
    return str(trait).replace("_", " ").strip()


def format_number(value: float) -> str:
    """A threshold as a person writes it: no trailing zeros, thousands kept plain.

    >>> format_number(50.0), format_number(2.5), format_number(0.12345)
    ('50', '2.5', '0.123')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


@dataclass(frozen=True)
class Condition:
    """One test on one trait: `trait op value`.

    `op` is one of >= > <= < == != (numbers), == (yes/no, `value` a bool), in / not in
    (categories, `value` a tuple of names).
    """

    trait: str
    kind: Kind
    op: str
    value: Any

    @property
    def traits(self) -> tuple[str, ...]:
        return (self.trait,)

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        """Three-valued result per row (pandas "boolean"): <NA> where the trait is unknown.

        >>> df = pd.DataFrame({"headcount": [10, 80, None]})
        >>> Condition("headcount", "number", ">=", 50).evaluate(df).tolist()
        [False, True, <NA>]
        """
        if self.trait not in df.columns:
            return pd.Series(pd.NA, index=df.index, dtype="boolean")
        col = df[self.trait]
        if self.kind == "number":
            x = pd.to_numeric(col, errors="coerce").astype("Float64")
            out = {">=": x >= self.value, ">": x > self.value, "<=": x <= self.value,
                   "<": x < self.value, "==": x == self.value, "!=": x != self.value}[self.op]
            return out.astype("boolean")
        if self.kind == "yesno":
            flags = _as_yesno(col)
            out = flags == bool(self.value)
            return ~out if self.op == "!=" else out
        text = col.astype("string").str.strip().str.casefold()
        wanted = {str(v).strip().casefold() for v in self.value}
        out = text.isin(wanted).astype("boolean").mask(text.isna())
        return ~out if self.op == "not in" else out

    def words(self, lang: str | None = None) -> str:
        """The condition in plain words, category names as they are in the data.

        >>> Condition("industry", "category", "in", ("retail", "horeca")).words("en")
        'industry is retail or horeca'
        >>> Condition("headcount", "number", ">=", 50.0).words("en")
        'headcount is 50 or more'
        """
        name = trait_label(self.trait)
        if self.kind == "yesno":
            positive = bool(self.value) != (self.op == "!=")
            return t("criteria.words.yes" if positive else "criteria.words.no", lang, trait=name)
        if self.kind == "category":
            joined = t("criteria.words.or_values", lang).join(str(v) for v in self.value)
            key = "criteria.words.not_in" if self.op == "not in" else "criteria.words.in"
            return t(key, lang, trait=name, values=joined)
        key = {">=": "ge", ">": "gt", "<=": "le", "<": "lt", "==": "eq", "!=": "ne"}[self.op]
        return t(f"criteria.words.{key}", lang, trait=name, value=format_number(self.value))

    def expression(self) -> str:
        """The condition in the rule language of criteria.yml (parses back to itself).

        >>> Condition("Площадь офиса, м2", "number", ">=", 100.0).expression()
        '`Площадь офиса, м2` >= 100'
        """
        name = _quote_name(self.trait)
        if self.kind == "yesno":
            return f"{name} {self.op} {'yes' if self.value else 'no'}"
        if self.kind == "category":
            values = ", ".join(_quote_value(v) for v in self.value)
            return f"{name} {self.op} [{values}]"
        return f"{name} {self.op} {format_number(self.value)}"


@dataclass(frozen=True)
class Combined:
    """`left and right` or `left or right`."""

    op: Literal["and", "or"]
    left: "Node"
    right: "Node"

    @property
    def traits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.left.traits + self.right.traits))

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        a, b = self.left.evaluate(df), self.right.evaluate(df)
        return (a & b) if self.op == "and" else (a | b)  # Kleene logic: False & <NA> is False

    def words(self, lang: str | None = None) -> str:
        return t(f"criteria.words.{self.op}", lang, left=_words_inner(self.left, lang),
                 right=_words_inner(self.right, lang))

    def expression(self) -> str:
        return f"{_expr_inner(self.left, self.op)} {self.op} {_expr_inner(self.right, self.op)}"


@dataclass(frozen=True)
class Negated:
    """`not inner`."""

    inner: "Node"

    @property
    def traits(self) -> tuple[str, ...]:
        return self.inner.traits

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        return ~self.inner.evaluate(df)

    def words(self, lang: str | None = None) -> str:
        return t("criteria.words.not", lang, inner=self.inner.words(lang))

    def expression(self) -> str:
        inner = self.inner.expression()
        return f"not ({inner})" if not isinstance(self.inner, Condition) else f"not {inner}"


Node = Union[Condition, Combined, Negated]


def _words_inner(node: Node, lang: str | None) -> str:
    text = node.words(lang)
    return f"({text})" if isinstance(node, Combined) else text


def _expr_inner(node: Node, parent_op: str) -> str:
    text = node.expression()
    return f"({text})" if isinstance(node, Combined) and node.op != parent_op else text


def all_of(conditions: Iterable[Node]) -> Node:
    """Join conditions with `and` (left to right).

    >>> all_of([Condition("a", "yesno", "==", True), Condition("b", "number", "<", 3.0)]).expression()
    'a == yes and b < 3'
    """
    items = list(conditions)
    node = items[0]
    for item in items[1:]:
        node = Combined("and", node, item)
    return node


def conditions_of(node: Node) -> list[Condition]:
    """Every Condition inside a rule, left to right."""
    if isinstance(node, Condition):
        return [node]
    if isinstance(node, Negated):
        return conditions_of(node.inner)
    return conditions_of(node.left) + conditions_of(node.right)


def _as_yesno(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.BooleanDtype) or pd.api.types.is_bool_dtype(col):
        return col.astype("boolean")
    text = col.astype("string").str.strip().str.casefold()
    out = pd.Series(pd.NA, index=col.index, dtype="boolean")
    out[text.isin(YES_WORDS).fillna(False).astype(bool)] = True
    out[text.isin(NO_WORDS).fillna(False).astype(bool)] = False
    return out


_PLAIN_NAME = re.compile(r"^[^\W\d][\w.-]*$", re.UNICODE)
_PLAIN_VALUE = re.compile(r"^[\w.+-]+$", re.UNICODE)
_KEYWORDS = {"and", "or", "not", "in"}


def _quote_name(name: str) -> str:
    return name if _PLAIN_NAME.match(name) and name.lower() not in _KEYWORDS else f"`{name}`"


def _quote_value(value: Any) -> str:
    text = str(value)
    if _PLAIN_VALUE.match(text) and text.lower() not in _KEYWORDS | YES_WORDS | NO_WORDS:
        return text
    return '"' + text.replace('"', "'") + '"'


# ---------------------------------------------------------------- the parser (no eval)
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<op>>=|<=|==|!=|>|<|=)
    | (?P<punct>[\[\](),])
    | `(?P<bq>[^`]*)`
    | "(?P<dq>[^"]*)"
    | '(?P<sq>[^']*)'
    | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<word>[\w.+-]+)
    )""", re.VERBOSE | re.UNICODE)


@dataclass(frozen=True)
class _Tok:
    kind: str  # op punct name str number word end
    text: str
    pos: int


def _tokenise(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise RuleError(t("criteria.parse.unexpected_char", char=text[pos:].strip()[:1], pos=pos + 1))
        kind = m.lastgroup or ""
        value = m.group(kind)
        start = m.start(kind) if kind not in ("bq", "dq", "sq") else m.start(kind) - 1
        if kind == "bq":
            kind = "name"
        elif kind in ("dq", "sq"):
            kind = "str"
        out.append(_Tok(kind, value, start + 1))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str, kinds: dict[str, str]):
        self.text = text
        self.kinds = kinds
        self.toks = _tokenise(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() == word

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.take()
        if tok.kind != kind or (text is not None and tok.text != text):
            want = text or kind
            raise RuleError(t("criteria.parse.expected", want=want, got=tok.text or t("criteria.parse.end"), pos=tok.pos))
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise RuleError(t("criteria.parse.empty"))
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise RuleError(t("criteria.parse.trailing", got=tok.text, pos=tok.pos))
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Combined("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.is_word("and"):
            self.take()
            node = Combined("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Negated(self.not_expr())
        if self.peek().kind == "punct" and self.peek().text == "(":
            self.take()
            node = self.or_expr()
            self.expect("punct", ")")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        tok = self.take()
        if tok.kind not in ("word", "name") or (tok.kind == "word" and tok.text.lower() in _KEYWORDS):
            raise RuleError(t("criteria.parse.expected", want=t("criteria.parse.a_trait"),
                              got=tok.text or t("criteria.parse.end"), pos=tok.pos))
        trait = self.resolve_trait(tok.text)
        kind = self.kinds[trait]
        if self.is_word("in") or self.is_word("not"):
            negate = self.take().text.lower() == "not"
            if negate:
                if not self.is_word("in"):
                    nxt = self.peek()
                    raise RuleError(t("criteria.parse.expected", want="in", got=nxt.text or t("criteria.parse.end"), pos=nxt.pos))
                self.take()
            values = self.value_list()
            return self.make(trait, kind, "not in" if negate else "in", values, tok.pos)
        op_tok = self.take()
        if op_tok.kind != "op":
            raise RuleError(t("criteria.parse.expected", want=t("criteria.parse.an_operator"),
                              got=op_tok.text or t("criteria.parse.end"), pos=op_tok.pos))
        op = "==" if op_tok.text == "=" else op_tok.text
        value = self.take()
        if value.kind not in ("word", "str", "number", "name"):
            raise RuleError(t("criteria.parse.expected", want=t("criteria.parse.a_value"),
                              got=value.text or t("criteria.parse.end"), pos=value.pos))
        return self.make(trait, kind, op, [value], tok.pos)

    def value_list(self) -> list[_Tok]:
        self.expect("punct", "[")
        values = []
        while True:
            tok = self.take()
            if tok.kind not in ("word", "str", "number"):
                raise RuleError(t("criteria.parse.expected", want=t("criteria.parse.a_value"),
                                  got=tok.text or t("criteria.parse.end"), pos=tok.pos))
            values.append(tok)
            sep = self.take()
            if sep.kind == "punct" and sep.text == "]":
                return values
            if not (sep.kind == "punct" and sep.text == ","):
                raise RuleError(t("criteria.parse.expected", want=", ]", got=sep.text or t("criteria.parse.end"), pos=sep.pos))

    def resolve_trait(self, name: str) -> str:
        if name in self.kinds:
            return name
        folded = {k.casefold(): k for k in self.kinds}
        if name.casefold() in folded:
            return folded[name.casefold()]
        close = difflib.get_close_matches(name, list(self.kinds), n=3, cutoff=0.5)
        raise UnknownTrait(name, close)

    def make(self, trait: str, kind: str, op: str, values: list[_Tok], pos: int) -> Condition:
        label = trait_label(trait)
        if kind == "number":
            if op in ("in", "not in") or values[0].kind != "number":
                raise RuleError(t("criteria.parse.need_number", trait=label, pos=pos))
            return Condition(trait, "number", op, float(values[0].text))
        if kind == "yesno":
            word = values[0].text.strip().casefold() if op not in ("in", "not in") else ""
            if op not in ("==", "!=") or word not in YES_WORDS | NO_WORDS:
                raise RuleError(t("criteria.parse.need_yesno", trait=label, pos=pos))
            return Condition(trait, "yesno", op, word in YES_WORDS)
        if op in ("==", "!="):
            op = "in" if op == "==" else "not in"
        elif op not in ("in", "not in"):
            raise RuleError(t("criteria.parse.need_category_op", trait=label, pos=pos))
        return Condition(trait, "category", op, tuple(v.text for v in values))


class UnknownTrait(RuleError):
    def __init__(self, name: str, close: list[str]):
        self.name = name
        self.close = close
        hint = t("criteria.parse.did_you_mean", names=", ".join(close)) if close else ""
        super().__init__(t("criteria.parse.unknown_trait", name=name, hint=hint))


def parse_rule(text: str, kinds: dict[str, str]) -> Node:
    """Parse one rule of criteria.yml against the company's traits (no eval, ever).

    Args:
        text: the rule, e.g. ``"headcount >= 50 and industry in [retail, horeca]"``.
        kinds: trait name -> number | yesno | category (text traits cannot be used).

    Raises:
        RuleError: the text is not a rule, or names an unknown trait (with close matches).

    >>> kinds = {"headcount": "number", "industry": "category", "has_call_centre": "yesno"}
    >>> parse_rule("headcount >= 50 and not industry in [retail, horeca]", kinds).expression()
    'headcount >= 50 and not industry in [retail, horeca]'
    >>> parse_rule("has_call_centre = да", kinds).words("en")
    'has call centre: yes'
    >>> parse_rule("headcont > 5", kinds)
    Traceback (most recent call last):
    ...
    helpers.core.rules.UnknownTrait: unknown trait 'headcont' — did you mean: headcount?
    """
    usable = {k: v for k, v in kinds.items() if v in ("number", "yesno", "category")}
    return _Parser(str(text), usable).parse()


# ---------------------------------------------------------------- the team's criteria.yml
@dataclass(frozen=True)
class TeamCriterion:
    """One entry of the team's criteria.yml, parsed."""

    id: str
    rule: Node
    text: str
    points_to: Literal["A", "C"]
    rationale: str = ""
    source: str = "interview"
    status: str = "proposed"


def read_team_criteria(path: str | Path, kinds: dict[str, str],
                       categories: dict[str, Iterable[str]] | None = None) -> tuple[list[TeamCriterion], list[Problem]]:
    """Read the team's criteria.yml; None of it runs as code (helpers.core.safe_yaml and our own parser).

    Args:
        path: the criteria.yml file (absent -> no criteria, no problems).
        kinds: trait name -> kind, from the company.
        categories: trait -> the category names seen in the data, to warn about misspelt values.

    Returns:
        (criteria, warnings). Errors are raised, all at once.

    Raises:
        DataProblem: the file or any criterion cannot be used; each Problem names the file,
            the criterion id and the fix.
    """
    path = Path(path)
    if not path.is_file():
        return [], []
    name = path.name
    from helpers.core.safe_yaml import load_file

    # strict loader: no aliases (billion laughs), tags or symlinks leading out of the folder
    raw = load_file(path, code="criteria_file_invalid", max_bytes=MAX_CRITERIA_BYTES, root=path.parent)
    if raw is None:
        return [], []
    entries = raw.get("criteria") if isinstance(raw, dict) else raw
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        raise DataProblem(problem("criteria_file_invalid", file=name, detail=t("criteria.file.not_a_list")))
    errors: list[Problem] = []
    warnings: list[Problem] = []
    out: list[TeamCriterion] = []
    seen: set[str] = set()
    known_categories = {k: {str(v).casefold() for v in vals} for k, vals in (categories or {}).items()}
    for number, entry in enumerate(entries, start=1):
        cid = str(entry.get("id", "")).strip() if isinstance(entry, dict) else ""
        cid = cid or f"#{number}"
        where = dict(file=name, column=cid)
        if not isinstance(entry, dict):
            errors.append(problem("criterion_invalid", **where, id=cid, detail=t("criteria.file.not_a_mapping")))
            continue
        unknown = sorted(set(entry) - {"id", "rule", "points_to", "rationale", "source", "status"})
        if unknown:
            errors.append(problem("criterion_invalid", **where, id=cid,
                                  detail=t("criteria.file.unknown_keys", keys=", ".join(map(str, unknown)))))
        if cid in seen:
            errors.append(problem("criterion_invalid", **where, id=cid, detail=t("criteria.file.duplicate_id")))
        seen.add(cid)
        points_to = str(entry.get("points_to", "")).strip().upper()
        if points_to not in ("A", "C"):
            errors.append(problem("criterion_invalid", **where, id=cid,
                                  detail=t("criteria.file.bad_points_to", value=entry.get("points_to"))))
        status = str(entry.get("status", "proposed")).strip().lower()
        if status not in STATUSES:
            errors.append(problem("criterion_invalid", **where, id=cid,
                                  detail=t("criteria.file.bad_status", value=status, allowed=", ".join(STATUSES))))
        source = str(entry.get("source", "interview")).strip().lower()
        if source not in SOURCES:
            errors.append(problem("criterion_invalid", **where, id=cid,
                                  detail=t("criteria.file.bad_source", value=source, allowed=", ".join(SOURCES))))
        text = entry.get("rule")
        if not isinstance(text, str) or not text.strip():
            errors.append(problem("criterion_invalid", **where, id=cid, detail=t("criteria.file.no_rule")))
            continue
        try:
            node = parse_rule(text, kinds)
        except UnknownTrait as exc:
            errors.append(problem("criterion_unknown_trait", **where, id=cid, name=exc.name,
                                  close=", ".join(exc.close) or "-", known=", ".join(list(kinds)[:20])))
            continue
        except RuleError as exc:
            errors.append(problem("criterion_bad_rule", **where, id=cid, rule=text.strip(), detail=exc.detail))
            continue
        for cond in conditions_of(node):
            if cond.kind == "category" and cond.trait in known_categories:
                missing = [v for v in cond.value if str(v).casefold() not in known_categories[cond.trait]]
                for value in missing:
                    close = difflib.get_close_matches(str(value), sorted(categories[cond.trait]), n=3, cutoff=0.5)
                    warnings.append(problem("criterion_unknown_value", "warning", **where, id=cid, value=value,
                                            trait=trait_label(cond.trait), close=", ".join(close) or "-"))
        if points_to in ("A", "C") and status in STATUSES and source in SOURCES and not unknown:
            out.append(TeamCriterion(cid, node, text.strip(), points_to, str(entry.get("rationale", "") or ""),
                                     source, status))
    if errors:
        raise DataProblem(errors + warnings)
    return out, warnings
