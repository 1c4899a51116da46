"""Problems with user data: one record type, one exception, one way of printing.

Every step reports bad input as a `Problem` naming the file, row and column, what is
wrong and what to do. The CLI and the notebooks print them the same way and never
show a traceback for a data problem.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Literal

from helpers.core.i18n import t

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    `row` is the row number a person sees when opening the file (1 = first line,
    the header is usually row 1, so the first data row is 2).
    """

    severity: Severity
    code: str
    message: str
    fix: str = ""
    file: str | None = None
    row: int | None = None
    column: str | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def where(self) -> str:
        parts = [self.file or "-"]
        if self.row is not None:
            parts.append(str(self.row))
        if self.column:
            parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.where} — {self.message}"
        return f"{text} — {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def problem(code: str, severity: Severity = "error", *, file: str | None = None, row: int | None = None,
            column: str | None = None, **params: Any) -> Problem:
    """Build a Problem whose message and fix come from the `problems.<code>` catalogue entry.

    >>> str(problem("empty_file", file="clients.csv"))  # doctest: +ELLIPSIS
    'clients.csv — the file has no data rows — ...'
    """
    message = t(f"problems.{code}.message", **params)
    fix = t(f"problems.{code}.fix", **params)
    if fix == f"problems.{code}.fix":
        fix = ""
    return Problem(severity, code, message, fix, file, row, column, dict(params))


class DataProblem(Exception):
    """The input cannot be used as it is. Carries every Problem found, errors first."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        items = [problems] if isinstance(problems, Problem) else list(problems)
        self.problems = sorted(items, key=lambda p: {"error": 0, "warning": 1, "info": 2}[p.severity])
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def format_problems(problems: Iterable[Problem], *, limit: int | None = 50) -> str:
    """Problems as lines `severity  file:row:column — what — fix`, capped with a count of the rest."""
    items = list(problems)
    shown = items if limit is None else items[:limit]
    lines = [f"{t('common.severity.' + p.severity):<8} {p}" for p in shown]
    if limit is not None and len(items) > limit:
        lines.append(t("common.more_problems", count=len(items) - limit))
    return "\n".join(lines)


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
