"""Running the whole workbook for one company with papermill: `tierbook run`.

Checks the company folder first, executes every notebook into a staging folder, writes
run.json, and only then swaps the staging folder into place, so a failed run leaves the
previous good output untouched.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from . import __version__, paths
from .errors import DataProblem, problem
from .export import write_json
from .i18n import t

PARAMETERS = ("company_dir", "out_dir", "language", "anonymise")
# Files every successful run must leave behind (the contract of `tierbook run`).
REQUIRED_OUTPUTS = ("report.html", "tiers.csv", "criteria.csv", "run.json")
VERSIONED_PACKAGES = ("pandas", "numpy", "scipy", "matplotlib", "seaborn", "papermill", "nbclient", "pandera",
                      "duckdb", "pyarrow", "openpyxl")


class RunFailed(Exception):
    """A notebook failed: one-line reason, and where the partly executed notebook is."""

    def __init__(self, notebook: str, reason: str, partial: Path | None):
        self.notebook, self.reason, self.partial = notebook, reason, partial
        super().__init__(f"{notebook}: {reason}")


class RunBusy(Exception):
    """Another run is writing the same output folder."""


@dataclass
class RunResult:
    company: str
    out_dir: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def report(self) -> Path:
        return self.out_dir / "report.html"


def workbook_notebooks() -> list[Path]:
    """The guided notebooks in method order (`NN_name.ipynb`)."""
    return sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "tierbook": __version__}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Lock:
    """An exclusive lock file beside the output folder; a lock left by a dead process is taken over."""

    def __init__(self, target: Path):
        self.path = target.parent / f".{target.name}.lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self._stale():
                    self.path.unlink(missing_ok=True)
                    continue
                raise RunBusy(t("run.busy", path=self.path.parent)) from None
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise RunBusy(t("run.busy", path=self.path.parent))

    def _stale(self) -> bool:
        try:
            pid = int(self.path.read_text().strip() or 0)
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, FileNotFoundError):
            return True
        except PermissionError:
            return False
        return False

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging` with two renames; the old folder is removed only afterwards."""
    old = out_dir.parent / f".{out_dir.name}.tierbook-old-{os.getpid()}"
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def resolve_out_dir(company_slug: str, out: str | os.PathLike | None) -> Path:
    """The output folder: `--out` as given, else runs/<company-slug>/ (always inside runs/)."""
    if out:
        return Path(out).expanduser().resolve()
    return paths.default_out_dir(company_slug)


def run_company(company_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, language: str = "",
                anonymise: bool = False, key_file: str = "", timeout: int = 900,
                on_notebook: Callable[[str], None] | None = None, progress: bool = True,
                notebooks: list[Path] | None = None) -> RunResult:
    """Check the company, execute every notebook with papermill, and publish the outputs atomically.

    Raises DataProblem when the company folder cannot be used (before any notebook runs),
    RunFailed when a notebook fails, RunBusy when another run holds the output folder.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    from .load import check_company

    company_dir = paths.resolve_in_project(company_dir)
    check = check_company(company_dir)
    if not check.ok:
        raise DataProblem(check.problems)
    company = check.company
    out_dir = resolve_out_dir(company.slug, out)
    if out_dir == company_dir or company_dir.is_relative_to(out_dir):
        # the swap would replace the inputs: never allowed
        raise DataProblem(problem("out_dir_overlaps", file=str(out_dir)))
    notebooks = notebooks or workbook_notebooks()
    parameters = {"company_dir": str(company_dir), "out_dir": "", "language": language or "",
                  "anonymise": bool(anonymise)}
    timings: dict[str, float] = {}
    started = datetime.now(timezone.utc)
    with _Lock(out_dir):
        staging = out_dir.parent / f".{out_dir.name}.tierbook-tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "notebooks").mkdir(parents=True)
        parameters["out_dir"] = str(staging)
        bar = tqdm(notebooks, desc=company.name[:30], unit="notebook", disable=not progress, file=sys.stderr,
                   dynamic_ncols=True)
        for notebook in bar:
            bar.set_postfix_str(notebook.stem)
            if on_notebook:
                on_notebook(notebook.stem)
            target = staging / "notebooks" / notebook.name
            declared = pm.inspect_notebook(str(notebook))
            unknown = set(parameters) - set(declared)
            if unknown:
                raise RunFailed(notebook.name, t("run.missing_parameters", names=", ".join(sorted(unknown))), None)
            tick = time.perf_counter()
            try:
                pm.execute_notebook(str(notebook), str(target), parameters=parameters, kernel_name="python3",
                                    progress_bar=False, log_output=False, cwd=str(notebook.parent),
                                    execution_timeout=timeout, start_timeout=120)
            except Exception as exc:  # papermill, nbclient or a dead kernel: stop with one line
                failed = out_dir.parent / f"{out_dir.name}.failed"
                shutil.rmtree(failed, ignore_errors=True)
                os.replace(staging, failed)
                bar.close()
                raise RunFailed(notebook.name, _one_line(exc), failed / "notebooks" / notebook.name) from None
            timings[notebook.stem] = round(time.perf_counter() - tick, 2)
        bar.close()
        write_json({
            "company": company.name,
            "company_dir": str(company_dir),
            "parameters": {k: v for k, v in parameters.items() if k != "out_dir"},
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "timings_seconds": timings,
            "inputs": [{"kind": f.kind, "file": f.path.name, "sha256": f.sha256 or _sha256(f.path),
                        "rows_read": f.rows_read, "rows_used": f.rows_used} for f in company.files],
            "versions": _versions(),
            "command": " ".join(sys.argv),
        }, staging / "run.json")
        missing = [name for name in REQUIRED_OUTPUTS if not (staging / name).exists()]
        if missing:
            failed = out_dir.parent / f"{out_dir.name}.failed"
            shutil.rmtree(failed, ignore_errors=True)
            os.replace(staging, failed)
            raise RunFailed("-", t("run.missing_outputs", names=", ".join(missing)), failed)
        _swap_into_place(staging, out_dir)
        shutil.rmtree(out_dir.parent / f"{out_dir.name}.failed", ignore_errors=True)
    return RunResult(company.name, out_dir, timings)


def _one_line(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None) or str(exc)
    first = next((line.strip() for line in str(evalue).splitlines() if line.strip()), "")
    return f"{ename}: {first}"[:300]
