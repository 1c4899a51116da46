"""Company folders written from text for the import tests (issue 9): one file per name, UTF-8."""

from __future__ import annotations

from pathlib import Path


def write_company(folder: Path, files: dict[str, str], config: str = "") -> Path:
    """Write `files` ({name: text}) and, when given, company.yml into `folder` (created); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    if config:
        (folder / "company.yml").write_text(config, encoding="utf-8")
    return folder


def problem_codes(problems) -> dict[str, list]:
    """The problems of a check by their code: {code: [problem, …]} in the order found."""
    out: dict[str, list] = {}
    for p in problems:
        out.setdefault(p.code, []).append(p)
    return out
