"""Running the whole workbook for one company with papermill: `tierbook run`.

Checks the company folder first, executes every notebook into a staging folder, writes
run.json, and only then swaps the staging folder into place, so a failed run leaves the
previous good output untouched.
"""

from __future__ import annotations

import importlib.metadata
import json
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
                notebooks: list[Path] | None = None, jobs: int = 2) -> RunResult:
    """Check the company, execute every notebook with papermill, and publish the outputs atomically.

    Every step of the method is computed once, here, before any notebook starts, and handed to the
    notebooks (`Workbook.hand_over`); the notebooks then only show and save results, `jobs` of them at a
    time (they no longer depend on each other). run.json's `steps` records who computed each step.

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
        with _kernel_output_to(staging / "logs" / "kernels.log") as console, _key_file_for_kernels(key_file):
            tick = time.perf_counter()
            _hand_over_steps(company_dir, staging, parameters, key_file)
            handed = round(time.perf_counter() - tick, 2)
            timings = _execute(notebooks, staging, out_dir, parameters, company.name, timeout, progress, console,
                               on_notebook, jobs=jobs)
            timings = {"steps": handed, **timings}
        steps = _steps_log(staging)
        write_json({
            "company": company.name,
            "company_dir": str(company_dir),
            "parameters": {k: v for k, v in parameters.items() if k != "out_dir"},
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "timings_seconds": timings,
            "steps": steps,
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


def _hand_over_steps(company_dir: Path, staging: Path, parameters: dict, key_file: str) -> None:
    """Compute every step once for this run and leave them in the staging folder for the notebooks."""
    from . import i18n
    from .workbook import Workbook

    with i18n.language(i18n.get_language()):  # loading switches to the report's language; the CLI keeps its own
        Workbook(company_dir, staging, language=parameters["language"] or None,
                 anonymise=parameters["anonymise"], key_file=key_file or None).hand_over()


def _steps_log(staging: Path) -> dict[str, list[str]]:
    """Who computed which step in this run, from the workbook's log; the hand-over file is removed here."""
    from .workbook import STEPS_FILE, STEPS_LOG

    out: dict[str, list[str]] = {}
    log = staging / STEPS_LOG
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            out.setdefault(entry["by"], []).append(entry["step"])
    # derived data: not part of the published run
    shutil.rmtree(staging / STEPS_FILE.parent, ignore_errors=True)
    return {"computed_by_runner": out.pop("runner", []), "recomputed_in_notebooks": out.pop("notebook", [])}


def _execute_one(notebook: str, output: str, parameters: dict, cwd: str, timeout: int) -> float:
    """Run one notebook with papermill (in a worker process); returns its wall time in seconds."""
    import papermill as pm

    tick = time.perf_counter()
    pm.execute_notebook(notebook, output, parameters=parameters, kernel_name="python3", progress_bar=False,
                        log_output=False, cwd=cwd, execution_timeout=timeout, start_timeout=120)
    return round(time.perf_counter() - tick, 2)


def _execute(notebooks: list[Path], staging: Path, out_dir: Path, parameters: dict, label: str, timeout: int,
             progress: bool, console, on_notebook, *, jobs: int = 1) -> dict[str, float]:
    """Execute the notebooks into the staging folder, `jobs` at a time; on failure move it aside and raise.

    The notebooks receive every step from the runner, so their order no longer matters for the results;
    a failure is reported for the first failing notebook in method order.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    def fail(notebook: Path, reason: str, partial: bool) -> RunFailed:
        failed = out_dir.parent / f"{out_dir.name}.failed"
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(staging, failed)
        return RunFailed(notebook.name, reason, failed / "notebooks" / notebook.name if partial else None)

    for notebook in notebooks:
        unknown = set(parameters) - set(pm.inspect_notebook(str(notebook)))
        if unknown:
            raise fail(notebook, t("run.missing_parameters", names=", ".join(sorted(unknown))), False)
    timings: dict[str, float] = {}
    errors: dict[Path, BaseException] = {}
    bar = tqdm(total=len(notebooks), desc=label[:30], unit="notebook", disable=not progress, file=console,
               dynamic_ncols=True)

    def finished(notebook: Path, seconds: float | None, error: BaseException | None) -> None:
        if error is not None:
            errors[notebook] = error
        else:
            timings[notebook.stem] = seconds
        bar.set_postfix_str(notebook.stem)
        bar.update()
        if on_notebook:
            on_notebook(notebook.stem)

    def arguments(notebook: Path) -> tuple:
        return (str(notebook), str(staging / "notebooks" / notebook.name), parameters, str(notebook.parent), timeout)

    try:
        if jobs <= 1 or len(notebooks) <= 1:
            for notebook in notebooks:
                try:
                    finished(notebook, _execute_one(*arguments(notebook)), None)
                except Exception as exc:  # papermill, nbclient or a dead kernel: stop with one line
                    finished(notebook, None, exc)
                    break
        else:
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from multiprocessing import get_context

            with ProcessPoolExecutor(max_workers=min(jobs, len(notebooks)), mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_execute_one_safely, *arguments(nb)): nb for nb in notebooks}
                for future in as_completed(futures):
                    seconds, error = future.result()
                    finished(futures[future], seconds, error)
    finally:
        bar.close()
    if errors:
        first = min(errors, key=notebooks.index)
        raise fail(first, _one_line(errors[first]), True) from None
    return {nb.stem: timings[nb.stem] for nb in notebooks}


class NotebookError(Exception):
    """A notebook's failure carried back from a worker process (the fields `_one_line` reads)."""

    def __init__(self, ename: str, evalue: str, traceback: list[str]):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue, self.traceback = ename, evalue, traceback

    def __reduce__(self):
        return NotebookError, (self.ename, self.evalue, self.traceback)


def _execute_one_safely(*args) -> tuple[float | None, NotebookError | None]:
    """`_execute_one` for a worker process: failures come back as plain, picklable values."""
    try:
        return _execute_one(*args), None
    except Exception as exc:  # papermill, nbclient or a dead kernel
        return None, NotebookError(getattr(exc, "ename", None) or type(exc).__name__,
                                   str(getattr(exc, "evalue", None) if getattr(exc, "evalue", None) is not None
                                       else exc), list(getattr(exc, "traceback", None) or []))


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
