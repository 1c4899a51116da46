"""Running the whole workbook for one company with papermill: `tierbook run`.

Checks the company folder first, executes every notebook into a staging folder, writes
run.json, and only then swaps the staging folder into place, so a failed run leaves the
previous good output untouched.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from . import __version__, paths
from .aggregate import spill_for_kernels
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
    from .load import check_company, file_sha256

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
        spill = out_dir.parent / f".{out_dir.name}.tierbook-tmp-spill-{os.getpid()}"  # DuckDB past its memory limit
        with _kernel_output_to(staging / "logs" / "kernels.log") as console, _key_file_for_kernels(key_file), \
                spill_for_kernels(spill):
            timings = _execute(notebooks, staging, out_dir, parameters, company.name, timeout, progress, console,
                               on_notebook)
        write_json({
            "company": company.name,
            "company_dir": str(company_dir),
            "parameters": {k: v for k, v in parameters.items() if k != "out_dir"},
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "timings_seconds": timings,
            "inputs": [{"kind": f.kind, "file": f.path.name, "sha256": f.sha256 or file_sha256(f.path),
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


def _execute(notebooks: list[Path], staging: Path, out_dir: Path, parameters: dict, label: str, timeout: int,
             progress: bool, console, on_notebook) -> dict[str, float]:
    """Execute each notebook into the staging folder; on failure move it aside and raise RunFailed."""
    import papermill as pm
    from tqdm.auto import tqdm

    def fail(notebook: Path, reason: str, partial: bool) -> RunFailed:
        failed = out_dir.parent / f"{out_dir.name}.failed"
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(staging, failed)
        return RunFailed(notebook.name, reason, failed / "notebooks" / notebook.name if partial else None)

    timings: dict[str, float] = {}
    bar = tqdm(notebooks, desc=label[:30], unit="notebook", disable=not progress, file=console, dynamic_ncols=True)
    try:
        for notebook in bar:
            bar.set_postfix_str(notebook.stem)
            if on_notebook:
                on_notebook(notebook.stem)
            unknown = set(parameters) - set(pm.inspect_notebook(str(notebook)))
            if unknown:
                raise fail(notebook, t("run.missing_parameters", names=", ".join(sorted(unknown))), False)
            tick = time.perf_counter()
            try:
                pm.execute_notebook(str(notebook), str(staging / "notebooks" / notebook.name), parameters=parameters,
                                    kernel_name="python3", progress_bar=False, log_output=False,
                                    cwd=str(notebook.parent), execution_timeout=timeout, start_timeout=120)
            except Exception as exc:  # papermill, nbclient or a dead kernel: stop with one line
                raise fail(notebook, _one_line(exc), True) from None
            timings[notebook.stem] = round(time.perf_counter() - tick, 2)
    finally:
        bar.close()
    return timings


@contextmanager
def _key_file_for_kernels(key_file: str):
    """Kernels inherit the environment: pass the pseudonym key file without writing it into any notebook."""
    from .anonymise import KEY_FILE_ENV

    previous = os.environ.get(KEY_FILE_ENV)
    if key_file:
        os.environ[KEY_FILE_ENV] = str(Path(key_file).expanduser().resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(KEY_FILE_ENV, None)
        else:
            os.environ[KEY_FILE_ENV] = previous


@contextmanager
def _kernel_output_to(log_path: Path):
    """Send everything kernels and libraries print on stderr to a log file; yield the real console.

    Kernels inherit file descriptor 2, so their start-up chatter would otherwise scroll over the
    progress bar. The log is kept with the outputs (logs/kernels.log) for when something goes wrong.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    console = os.fdopen(os.dup(saved), "w", buffering=1)
    os.dup2(log_fd, 2)
    try:
        yield console
    finally:
        sys.stderr.flush()
        console.flush()
        os.dup2(saved, 2)
        for fd in (saved, log_fd):
            os.close(fd)
        console.close()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _one_line(exc: BaseException) -> str:
    """`Name: message` of a notebook failure; for a bare assert, the failing line of code instead."""
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        evalue = str(exc)
    first = next((line.strip() for line in str(evalue).splitlines() if line.strip()), "")
    if not first:
        traceback = _ANSI.sub("", "\n".join(getattr(exc, "traceback", None) or []))
        failing = [line.split("---->", 1)[1].strip() for line in traceback.splitlines() if "---->" in line]
        first = failing[-1].lstrip("0123456789 ") if failing else ""
    return f"{ename}: {first}"[:300]
