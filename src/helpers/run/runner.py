"""Running the whole workbook for one company with papermill: `tierbook run`.

Checks the company folder first, executes every notebook into a staging folder, writes
run.json, and only then swaps the staging folder into place, so a failed run leaves the
previous good output untouched.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from helpers import __version__
from helpers.run import history
from helpers import paths
from helpers.core.errors import DataProblem, Problem, problem
from helpers.core.export import write_json
from helpers.core.i18n import t
from helpers.step1_list_clients.client_figures import spill_for_kernels

PARAMETERS = ("company_dir", "out_dir", "language", "anonymise")
# Files every successful run must leave behind (the contract of `tierbook run`).
REQUIRED_OUTPUTS = ("report.html", "tiers.csv", "criteria.csv", "run.json")
VERSIONED_PACKAGES = ("pandas", "numpy", "scipy", "matplotlib", "seaborn", "papermill", "nbclient", "pandera",
                      "duckdb", "pyarrow", "openpyxl")


class RunFailed(Exception):
    """A notebook failed: one-line reason, and where the partly executed notebook is."""

    def __init__(self, notebook: str, reason: str, partial: Path | None, details: list[str] | None = None):
        self.notebook, self.reason, self.partial = notebook, reason, partial
        self.details = list(details or [])  # further problem lines printed by the failing cell
        super().__init__(f"{notebook}: {reason}")


class RunBusy(Exception):
    """Another run is writing the same output folder."""


class OutDirRefused(DataProblem):
    """`--out` names something the run must not replace (a file, a folder of other files, the inputs)."""

    def __init__(self, message: str, code: str = "out_dir_refused"):
        self.message = message
        super().__init__(Problem("error", code, message))

    def __str__(self) -> str:
        return self.message


class RunWriteFailed(Exception):
    """The runner itself could not write (disk full, read-only disk, no permission): one line, path and fix."""

    def __init__(self, path: str, error: OSError):
        fixes = {errno.ENOSPC: "fix_enospc", errno.EDQUOT: "fix_enospc", errno.EROFS: "fix_erofs",
                 errno.EACCES: "fix_eacces", errno.EPERM: "fix_eacces"}
        self.path = path
        self.reason = error.strerror or type(error).__name__
        super().__init__(t("run.write_failed", path=path, reason=self.reason,
                           fix=t("run." + fixes.get(error.errno, "fix_other"))))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the staging folder was removed and nothing was published."""

    def __init__(self, signum: int = signal.SIGINT):
        self.signum = signum
        super().__init__(signum)


@dataclass
class RunResult:
    company: str
    out_dir: Path
    timings: dict[str, float] = field(default_factory=dict)

    notes: list[str] = field(default_factory=list)

    @property
    def report(self) -> Path:
        return self.out_dir / "report.html"


# Notebooks opened by hand on finished runs, never executed by `tierbook run` on a company folder.
NOT_IN_RUN = ("06_compare.ipynb",)


def workbook_notebooks(language: str = "en") -> list[Path]:
    """The guided notebooks of `language` in method order (`NN_name.ipynb`), without those in NOT_IN_RUN.

    English ones are in notebooks/, Russian ones in notebooks/ru/ (both rendered from notebooks/source/);
    an unknown language gets the English notebooks.
    """
    folder = paths.notebooks_dir(language)
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.name not in NOT_IN_RUN)


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


# run.json carries this signature: only a folder holding it is ever replaced by a run.
SIGNATURE = "tierbook-run-output"
# Written first into every staging folder, so a kept failed run is recognised as the kit's own.
STAGING_MARKER = ".tierbook"
_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # this file system cannot exchange: two renames, recovered by the next run
    raise OSError(code, os.strerror(code), str(b))


def _aside(out_dir: Path, kind: str, pid: int | None = None) -> Path:
    return out_dir.parent / f".{out_dir.name}.tierbook-{kind}-{pid or os.getpid()}"


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging` so that at every moment one complete run is at `out_dir`.

    Where the system can, the two folders are exchanged in one step; otherwise two renames, and a
    crash between them is repaired by `_recover` at the start of the next run.
    """
    old = _aside(out_dir, "old")
    if out_dir.exists():
        if _exchange(staging, out_dir):
            os.replace(staging, old)  # the previous run, now at the staging name, is put aside to delete
        else:
            os.replace(out_dir, old)
            os.replace(staging, out_dir)
    else:
        os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _failed_dir(out_dir: Path) -> Path:
    return out_dir.parent / f"{out_dir.name}.failed"


def _remove_failed(out_dir: Path) -> None:
    """Remove the kept partial run of an earlier failure, only when the kit wrote it."""
    failed = _failed_dir(out_dir)
    if (failed / STAGING_MARKER).is_file():
        shutil.rmtree(failed, ignore_errors=True)


def _set_aside_failed(staging: Path, out_dir: Path) -> Path:
    """Keep a failed run's staging folder as <out>.failed for inspection; never over a folder of the user's."""
    _remove_failed(out_dir)
    failed = _failed_dir(out_dir)
    if failed.exists():
        failed = out_dir.parent / f"{out_dir.name}.failed-{os.getpid()}"
        shutil.rmtree(failed, ignore_errors=True)  # our own name with our PID: nobody else's
    os.replace(staging, failed)
    return failed


def _recover(out_dir: Path) -> list[str]:
    """Called under the lock: put back a previous run orphaned by a crash, remove stale staging folders.

    Holding the lock means no other run is writing beside `out_dir`, so every staging or old folder
    found is left by a run that died (kill -9, power loss); staging folders hold client data.
    """
    notes: list[str] = []
    if not out_dir.parent.is_dir():
        return notes
    prefix = f".{out_dir.name}.tierbook-"
    leftovers = [p for p in out_dir.parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    olds = sorted((p for p in leftovers if p.name[len(prefix):].startswith("old-") and _is_ours(p)),
                  key=lambda p: p.stat().st_mtime)
    if not out_dir.exists() and olds:
        os.replace(olds[-1], out_dir)
        notes.append(t("run.restored", path=out_dir))
    removed = 0
    for path in leftovers:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    if removed:
        notes.append(t("run.staging_removed", count=removed, path=out_dir.parent))
    return notes


def _run_json(folder: Path, marker: str = "run.json") -> dict | None:
    try:
        data = json.loads((folder / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_ours(folder: Path) -> bool:
    """A previous Tierbook run: run.json with the kit's signature (or an older run.json of the kit)."""
    data = _run_json(folder)
    if data is None:
        return False
    legacy = isinstance(data.get("versions"), dict) and "tierbook" in data["versions"] and "company_dir" in data
    return data.get("signature") == SIGNATURE or legacy


def check_out_dir(out_dir: Path, company_dir: Path) -> None:
    """Raise OutDirRefused unless `out_dir` is new, empty, or a previous Tierbook run (never the inputs)."""
    from helpers.step1_list_clients.guards import path_not_utf8

    shown = str(out_dir)
    if path_not_utf8(out_dir):
        raise OutDirRefused(t("problems.folder_not_utf8.message") + f" (--out {out_dir!r})", "folder_not_utf8")
    if out_dir == company_dir or company_dir.is_relative_to(out_dir):
        # the swap would replace the inputs: never allowed
        raise OutDirRefused(str(problem("out_dir_overlaps", file=shown)), "out_dir_overlaps")
    if out_dir.is_relative_to(company_dir):
        raise OutDirRefused(t("run.out_inside_inputs", path=shown, company=company_dir), "out_dir_overlaps")
    for parent in out_dir.parents:
        if parent.exists() and not parent.is_dir():
            raise OutDirRefused(t("run.path_problem", path=parent, reason=t("run.parent_is_file")))
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir() or out_dir.is_symlink():
            raise OutDirRefused(t("run.out_is_file", path=shown))
        if any(out_dir.iterdir()) and not _is_ours(out_dir):
            raise OutDirRefused(t("run.out_not_ours", path=shown))


def resolve_out_dir(company_slug: str, out: str | os.PathLike | None, company_dir: Path | None = None,
                    notes: list[str] | None = None, *, marker: str = "run.json") -> Path:
    """The output folder: `--out` as given, else runs/<company-slug>/ (always inside runs/).

    Two company folders whose names slugify alike ("ACME" and "acme", or data/a/acme and data/b/acme)
    never share a default folder: a folder holding another company's output (its `marker` file,
    run.json or worksheet.json, records the company folder) or files of the user's is skipped for
    runs/<slug>-2/, -3/, … and the choice is noted.
    """
    if out:
        return Path(out).expanduser().resolve()
    first = paths.default_out_dir(company_slug)
    if company_dir is None:
        return first
    for number in range(1, 1000):
        candidate = first if number == 1 else paths.default_out_dir(f"{company_slug}-{number}")
        if not candidate.exists() or (candidate.is_dir() and not any(candidate.iterdir())):
            break
        data = _run_json(candidate, marker)
        if data is not None and data.get("signature") in (SIGNATURE, None) and data.get("company_dir") == str(company_dir):
            break
    if candidate != first and notes is not None:
        other = (_run_json(first, marker) or {}).get("company_dir", "?")
        notes.append(t("run.disambiguated", default=first, other=other, path=candidate))
    return candidate


def write_worksheet_marker(folder: Path, company_dir: Path) -> Path:
    """worksheet.json beside a worksheet: which company folder it came from (see `resolve_out_dir`)."""
    return write_json({"signature": SIGNATURE, "company_dir": str(company_dir),
                       "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}, folder / "worksheet.json")


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (kill, a closed terminal) unwinds like Ctrl-C, so the staging folder is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_company(company_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, language: str = "",
                anonymise: bool = False, key_file: str = "", timeout: int = 900, keep: int | None = None,
                on_notebook: Callable[[str], None] | None = None, progress: bool = True,
                notebooks: list[Path] | None = None, on_note: Callable[[str], None] | None = None,
                jobs: int = 2) -> RunResult:
    """Check the company, execute every notebook with papermill, and publish the outputs atomically.

    `keep` bounds the run history (`<out>/history/`, see helpers.run.history) to the newest N runs.

    Every step of the method is computed once, here, before any notebook starts, and handed to the
    notebooks (`Workbook.hand_over`); the notebooks then only show and save results, `jobs` of them at a
    time (they no longer depend on each other). run.json's `steps` records who computed each step.

    Raises DataProblem when the company folder cannot be used (before any notebook runs),
    OutDirRefused (a DataProblem) when `out` must not be replaced, RunFailed when a notebook fails,
    RunBusy when another run holds the output folder, RunWriteFailed when the runner cannot write,
    Interrupted on Ctrl-C or SIGTERM (nothing published, staging removed).
    """
    from helpers.step1_list_clients.load import check_company, file_sha256

    company_dir = paths.resolve_in_project(company_dir)
    check = check_company(company_dir)
    if not check.ok:
        raise DataProblem(check.problems)
    company = check.company
    notes: list[str] = []
    out_dir = resolve_out_dir(company.slug, out, company_dir, notes)
    check_out_dir(out_dir, company_dir)
    if anonymise or company.settings.anonymise:
        from helpers.step1_list_clients.anonymise import load_key

        load_key(key_file or None)  # a weak or unreadable key is refused before any notebook runs
    # The team reads the notebooks in the report's language: --report-lang, else company.yml's language.
    notebooks = notebooks or workbook_notebooks(language or company.settings.language)
    parameters = {"company_dir": str(company_dir), "out_dir": "", "language": language or "",
                  "anonymise": bool(anonymise)}
    timings: dict[str, float] = {}
    started = datetime.now(timezone.utc)
    staging = _aside(out_dir, "tmp")
    try:
        with _Lock(out_dir), _terminate_as_interrupt():
            notes.extend(_recover(out_dir))
            check_out_dir(out_dir, company_dir)  # a restored folder is checked again
            for note in notes:
                if on_note:
                    on_note(note)
            try:
                (staging / "notebooks").mkdir(parents=True)
                (staging / STAGING_MARKER).write_text(SIGNATURE + "\n", encoding="utf-8")
                parameters["out_dir"] = str(staging)
                spill = _aside(out_dir, "tmp-spill")  # where DuckDB spills past its memory limit
                with _kernel_output_to(staging / "logs" / "kernels.log") as console, _key_file_for_kernels(key_file), \
                        spill_for_kernels(spill):
                    tick = time.perf_counter()
                    _hand_over_steps(company_dir, staging, parameters, key_file, company)
                    handed = round(time.perf_counter() - tick, 2)
                    timings = _execute(notebooks, staging, out_dir, parameters, company.name, timeout, progress,
                                       console, on_notebook, jobs=jobs)
                    timings = {"steps": handed, **timings}
                steps = _steps_log(staging)
                write_json({
                    "signature": SIGNATURE,
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
                    failed = _set_aside_failed(staging, out_dir)
                    raise RunFailed("-", t("run.missing_outputs", names=", ".join(missing)), failed)
                history.carry_forward(out_dir, staging)  # the swap replaces out_dir, history/ included
                _swap_into_place(staging, out_dir)
                _remove_failed(out_dir)
                history.keep_run(out_dir, company, keep=keep, key_file=key_file, anonymise=anonymise)
            except BaseException:
                # unfinished outputs hold client data: never leave them behind
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except KeyboardInterrupt as exc:
        raise exc if isinstance(exc, Interrupted) else Interrupted() from None
    except OSError as exc:
        raise RunWriteFailed(str(exc.filename or staging), exc) from None
    return RunResult(company.name, out_dir, timings, notes)


def _hand_over_steps(company_dir: Path, staging: Path, parameters: dict, key_file: str, checked=None) -> None:
    """Compute every step once for this run and leave them in the staging folder for the notebooks.

    `checked` is the Company the pre-flight check loaded (in the CLI's language): step 1 reuses it
    rather than reading the folder again when the report is in the same language."""
    from helpers.core import i18n
    from helpers.workbook import Workbook

    from helpers.workbook import STEPS_KEY_ENV

    os.environ[STEPS_KEY_ENV] = secrets.token_hex(32)  # this run's own: the kernels started next inherit it
    checked_in = i18n.get_language()
    try:
        with i18n.language(checked_in):  # loading switches to the report's language; the CLI keeps its own
            Workbook(company_dir, staging, language=parameters["language"] or None, loaded=checked,
                     loaded_language=checked_in,
                     anonymise=parameters["anonymise"], key_file=key_file or None).hand_over()
    except (duckdb.OutOfMemoryException, MemoryError):
        from helpers.step1_list_clients.client_figures import memory_limit

        limit = memory_limit(checked.settings.load.memory_limit if checked is not None else None)
        raise RunFailed("-", t("run.out_of_memory", limit=limit), None) from None


def _steps_log(staging: Path) -> dict[str, list[str]]:
    """Who computed which step in this run, from the workbook's log; the hand-over file is removed here."""
    from helpers.workbook import STEPS_FILE, STEPS_KEY_ENV, STEPS_LOG

    out: dict[str, list[str]] = {}
    log = staging / STEPS_LOG
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            out.setdefault(entry["by"], []).append(entry["step"])
    # derived data: not part of the published run
    shutil.rmtree(staging / STEPS_FILE.parent, ignore_errors=True)
    os.environ.pop(STEPS_KEY_ENV, None)
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
        failed = _set_aside_failed(staging, out_dir)
        executed = failed / "notebooks" / notebook.name
        lines = printed_problems(executed) if partial else []
        if lines:  # a data problem: the kernel printed `file:row:column — what — fix` lines, not a traceback
            reason = lines[0]
        return RunFailed(notebook.name, reason, executed if partial else None, lines[1:])

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

            with ProcessPoolExecutor(max_workers=min(jobs, len(notebooks)), mp_context=get_context("spawn"),
                                     initializer=_die_with_parent) as pool:
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


def _die_with_parent() -> None:
    """In a notebook worker: end when the runner ends, even by kill -9 (Linux `PR_SET_PDEATHSIG`).

    An orphaned worker would go on writing into the staging folder after the next run has removed it as
    stale; its kernel stops by itself once its parent is gone (ipykernel's parent poller).
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except OSError:  # no libc by that name: the next run's recovery still removes what is left
            pass


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
    from helpers.step1_list_clients.anonymise import KEY_FILE_ENV

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
# How helpers.core.errors.format_problems prints one problem: `severity  file:row:column — what — fix`.
_PROBLEM_LINE = re.compile(r"^\S+\s+\S.* — ")
MAX_PROBLEM_LINES = 30


def printed_problems(notebook_path: Path) -> list[str]:
    """The problem lines a failing cell printed (the notebooks show DataProblem that way, not as a traceback).

    Papermill's error for such a cell carries no text, so the runner reads them back from the
    partly executed notebook; terminal control characters are removed.
    """
    import nbformat

    from helpers.step1_list_clients.guards import printable

    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except Exception:  # noqa: BLE001 - a damaged partial notebook: fall back to papermill's one line
        return []
    failed = [c for c in nb.cells if c.get("metadata", {}).get("papermill", {}).get("exception")]
    cells = failed or [c for c in nb.cells if c.get("cell_type") == "code" and c.get("outputs")][-1:]
    lines: list[str] = []
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines.extend(line.rstrip() for line in _ANSI.sub("", output.get("text", "")).splitlines())
    return [printable(line)[:500] for line in lines if _PROBLEM_LINE.match(line)][:MAX_PROBLEM_LINES]


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
