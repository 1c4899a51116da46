"""Every path the kit uses is built here, from the project root.

Notebooks, the runner and the tests ask this module instead of writing `../data`:
nbval and papermill execute notebooks from different working folders.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _find_project_root() -> Path:
    """The checkout this package was installed from (editable install), else the current folder."""
    env = os.environ.get("TIERBOOK_ROOT")
    if env:
        return Path(env).resolve()
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    return Path.cwd().resolve()


PROJECT_ROOT = _find_project_root()
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"
RUNS_DIR = PROJECT_ROOT / "runs"
# Where notebooks opened by hand (or by nbval) write, so they never overwrite a `tierbook run`.
INTERACTIVE_DIR = RUNS_DIR / ".interactive"
LOCALES_DIR = PACKAGE_DIR / "locales"

# Names Windows refuses as file or folder names, whatever the extension.
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
MAX_SLUG_LENGTH = 60


def resolve_in_project(path: str | os.PathLike) -> Path:
    """Resolve a user-given path: absolute as is, relative against the project root.

    >>> resolve_in_project("data/sample") == SAMPLE_DIR
    True
    """
    p = Path(path).expanduser()
    return p.resolve() if p.is_absolute() else (PROJECT_ROOT / p).resolve()


def slugify(name: str) -> str:
    """A safe folder name for a company: lowercase ASCII/Cyrillic word characters and dashes.

    Survives `../`, absolute paths, Windows device names, trailing dots and very long names.

    >>> slugify("ООО «Ромашка»")
    'ооо-ромашка'
    >>> slugify("../../etc/passwd")
    'etc-passwd'
    >>> slugify("CON")
    'con-company'
    >>> slugify("...")
    'company'
    """
    text = unicodedata.normalize("NFKC", str(name)).lower()
    text = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_.")
    text = re.sub(r"-{2,}", "-", text)
    if len(text) > MAX_SLUG_LENGTH:
        text = text[:MAX_SLUG_LENGTH].rstrip("-_")
    if not text:
        return "company"
    if text in _WINDOWS_RESERVED:
        text = f"{text}-company"
    return text


def ensure_inside(path: Path, root: Path) -> Path:
    """Return `path` resolved, or raise ValueError when it escapes `root`.

    >>> ensure_inside(Path("/tmp/runs/a"), Path("/tmp/runs")).name
    'a'
    """
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"{path} is outside {root}")
    return resolved


def default_out_dir(company_slug: str) -> Path:
    """Where `tierbook run` writes a company's outputs unless told otherwise."""
    return ensure_inside(RUNS_DIR / slugify(company_slug), RUNS_DIR)


def interactive_out_dir(company_slug: str) -> Path:
    """Where a notebook opened by hand writes its tables and figures."""
    return ensure_inside(INTERACTIVE_DIR / slugify(company_slug), INTERACTIVE_DIR)


def _t(key: str, **params) -> str:
    from helpers.core.i18n import t  # i18n reads its catalogues from a path defined here

    return t(key, **params)


def outside_folder_reason(path: Path, root: Path) -> str | None:
    """Why `path` must not be read as part of the company folder `root` (None when it may).

    A company folder received as a zip or tarball keeps its symlinks; one pointing at another
    company's clients.csv (or /etc/passwd) would print that file's contents in this company's outputs.

    >>> outside_folder_reason(Path("/tmp/x/clients.csv"), Path("/tmp/x")) is None
    True
    """
    try:
        resolved = path.resolve(strict=False)
        base = root.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        return _t("run.link_loop")
    if not resolved.is_relative_to(base):
        return _t("run.link_outside", target=resolved)
    return None
