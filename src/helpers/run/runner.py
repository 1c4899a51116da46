"""Running the whole workbook for one company with papermill: `tierbook run`.

Checks the company folder first, executes every notebook into a staging folder, writes
run.json, and only then swaps the staging folder into place, so a failed run leaves the
previous good output untouched.
"""

from __future__ import annotations

import ctypes
import errno
import functools
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
                jobs: int | None = None) -> RunResult:
    """Check the company, execute every notebook with papermill, and publish the outputs atomically.

    `keep` bounds the run history (`<out>/history/`, see helpers.run.history) to the newest N runs.

    Every step of the method is computed once, here, before any notebook cell runs, and handed to the
    notebooks (`Workbook.hand_over`) while their kernels start and import the kit; the notebooks then only
    show and save results, in `jobs` kernels (default: one per core; see `_execute`). run.json's `steps`
    records who computed each step.

    Raises DataProblem when the company folder cannot be used (before any notebook runs),
    OutDirRefused (a DataProblem) when `out` must not be replaced, RunFailed when a notebook fails,
    RunBusy when another run holds the output folder, RunWriteFailed when the runner cannot write,
    Interrupted on Ctrl-C or SIGTERM (nothing published, staging removed).
    """
    from helpers.run.kernels import one_blas_thread
    from helpers.step1_list_clients.load import check_company, file_sha256

    one_blas_thread()  # for the kernels, whatever this process has loaded already
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
                        spill_for_kernels(spill), _steps_key_for_kernels():
                    handed: dict[str, float] = {}
                    kernels_used: list[str] = []

                    def hand_over() -> None:  # while the kernels start and import the kit
                        tick = time.perf_counter()
                        _hand_over_steps(company_dir, staging, parameters, key_file, company)
                        handed["steps"] = round(time.perf_counter() - tick, 2)

                    timings = _execute(notebooks, staging, out_dir, parameters, company.name, timeout, progress,
                                       console, on_notebook, jobs=jobs, prepare=hand_over,
                                       log=staging / "logs" / "kernels.log", kernels_used=kernels_used)
                    timings = {"steps": handed.get("steps", 0.0), **timings}
                steps = _steps_log(staging)
                write_json({
                    "signature": SIGNATURE,
                    "company": company.name,
                    "company_dir": str(company_dir),
                    "parameters": {k: v for k, v in parameters.items() if k != "out_dir"},
                    "started": started.isoformat(timespec="seconds"),
                    "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "timings_seconds": timings,
                    # kernels started for this run, and kernels a batch worker kept warm from its last run
                    "kernels": {"started": kernels_used.count("started"), "kept": kernels_used.count("kept")},
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

    checked_in = i18n.get_language()
    try:
        with i18n.language(checked_in):  # loading switches to the report's language; the CLI keeps its own
            Workbook(company_dir, staging, language=parameters["language"] or None, loaded=checked,
                     loaded_language=checked_in,
                     anonymise=parameters["anonymise"], key_file=key_file or None).hand_over()
    except (duckdb.OutOfMemoryException, MemoryError):
        if os.environ.get("TIERBOOK_DEBUG"):  # for the kit's developers: a file to say where the memory ran out
            import traceback

            Path(os.environ["TIERBOOK_DEBUG"]).write_text(traceback.format_exc(), encoding="utf-8")
        from helpers.step1_list_clients.client_figures import memory_limit

        limit = memory_limit(checked.settings.load.memory_limit if checked is not None else None)
        raise RunFailed("-", t("run.out_of_memory", limit=limit), None) from None


def _steps_log(staging: Path) -> dict[str, list[str]]:
    """Who computed which step in this run, from the workbook's log; the hand-over file is removed here."""
    from helpers.workbook import STEPS_FILE, STEPS_LOG

    out: dict[str, list[str]] = {}
    log = staging / STEPS_LOG
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            out.setdefault(entry["by"], []).append(entry["step"])
    # derived data: not part of the published run
    shutil.rmtree(staging / STEPS_FILE.parent, ignore_errors=True)
    return {"computed_by_runner": out.pop("runner", []), "recomputed_in_notebooks": out.pop("notebook", [])}


def _execute_one(notebook: str, output: str, parameters: dict, cwd: str, timeout: int, kernel=None) -> float:
    """Run one notebook with papermill; returns its wall time in seconds.

    `kernel` is a started `kernels.WarmKernel` (papermill then uses it and leaves it running), else
    papermill starts a kernel of its own in `cwd`.
    """
    from helpers.run.kernels import import_papermill

    pm = import_papermill()
    tick = time.perf_counter()
    warm = kernel is not None and kernel.km is not None
    # saved once at the end, failing or not (papermill writes the executed notebook before it raises): saving
    # after every cell validated and rewrote the whole notebook each time, about 1 s of CPU a run on the sample
    execute = functools.partial(pm.execute_notebook, notebook, output, parameters=parameters, kernel_name="python3",
                                progress_bar=False, log_output=False, execution_timeout=timeout, start_timeout=120,
                                request_save_on_cell_execute=False, **({"km": kernel.km} if warm else {"cwd": cwd}))
    if warm:
        kernel.run(execute)  # a warm kernel is driven from its own thread
    else:
        execute()
    return round(time.perf_counter() - tick, 2)


# A hand-over file up to this size lets every kernel run a notebook at once (each unpickles its own copy
# of the steps); past it, two at a time, so that a large company cannot run the machine out of memory.
ALL_AT_ONCE_BYTES = 64 * 2 ** 20


def notebooks_at_a_time(staging: Path, kernels: int) -> int:
    """How many of the run's `kernels` may execute a notebook at once: all for a small hand-over, else 2."""
    from helpers.workbook import STEPS_FILE

    handed = staging / STEPS_FILE
    small = not handed.is_file() or handed.stat().st_size <= ALL_AT_ONCE_BYTES
    return max(1, kernels if small else min(2, kernels))


def execution_order(notebooks: list[Path]) -> list[Path]:
    """The order the kernels take the notebooks in: the last one (the report) first, then method order.

    The report renders every figure again and is the longest notebook; started first, it does not run
    alone at the end with the other cores idle (longest-first scheduling). The results do not depend
    on the order: every notebook receives the same steps.
    """
    return notebooks[-1:] + notebooks[:-1]


def _execute(notebooks: list[Path], staging: Path, out_dir: Path, parameters: dict, label: str, timeout: int,
             progress: bool, console, on_notebook, *, jobs: int | None = None,
             prepare: Callable[[], None] | None = None, log: Path | None = None,
             kernels_used: list[str] | None = None) -> dict[str, float]:
    """Execute the notebooks into the staging folder; on failure move it aside and raise RunFailed.

    `jobs` kernels (default: one per core, at most one per notebook) start and import the kit
    (helpers.run.kernels) while `prepare` (the runner's hand-over of steps 1-4) runs here; meanwhile only
    as many warm up at once as there are cores `prepare` leaves, since every notebook waits for it. No
    cell runs before `prepare` has returned, so each notebook receives the steps. Then each kernel takes
    notebooks in `execution_order`, reset to a fresh kernel's state between two; a notebook that fails
    gets its kernel replaced. The notebooks do not depend on each other, and a failure is reported for
    the first failing notebook in method order. When `prepare` raises, or on Ctrl-C / SIGTERM, every
    kernel is killed and the exception goes on.

    In a process that keeps kernels between runs (a batch worker, `kernels.keep_kernels_between_runs`),
    a kernel the last run kept is taken instead of starting one, given this run's environment and
    kernel `log` (the runner's logs/kernels.log); when every notebook succeeded, this run's kernels
    are kept in turn, reset, rather than ended. `kernels_used` gets "started" or "kept" for each kernel.
    """
    from concurrent.futures import ThreadPoolExecutor
    from queue import Empty, Queue, SimpleQueue
    from tqdm.auto import tqdm

    from helpers.run.kernels import WarmKernel, cores, import_papermill, keep, take_kept, warm_up_code

    def fail(notebook: Path, reason: str, partial: bool) -> RunFailed:
        failed = _set_aside_failed(staging, out_dir)
        executed = failed / "notebooks" / notebook.name
        lines = printed_problems(executed) if partial else []
        if lines:  # a data problem: the kernel printed `file:row:column — what — fix` lines, not a traceback
            reason = lines[0]
        return RunFailed(notebook.name, reason, executed if partial else None, lines[1:])

    slots = max(1, min(jobs or cores(), len(notebooks)))
    warm_up = warm_up_code(notebooks)
    timings: dict[str, float] = {}
    errors: dict[Path, BaseException] = {}
    todo: SimpleQueue = SimpleQueue()
    for notebook in execution_order(notebooks):
        todo.put(notebook)
    done: Queue = Queue()
    live: list[WarmKernel] = []  # every kernel started, for `kill`
    warming = threading.Semaphore(max(1, cores() - 1))
    ready, stop = threading.Event(), threading.Event()
    turns: list[threading.Semaphore] = []  # filled before `ready` is set

    used = kernels_used if kernels_used is not None else []

    def new_kernel(cwd: Path) -> WarmKernel | None:
        kernel = WarmKernel(cwd, warm_up)
        live.append(kernel)
        try:
            kernel.start()
            used.append("started")
            return kernel
        except Exception:  # noqa: BLE001 - papermill then starts a kernel of its own and reports what fails
            kernel.shutdown()
            return None

    def kept_kernel(cwd: Path) -> WarmKernel | None:
        kernel = take_kept(cwd, warm_up)
        if kernel is None:
            return None
        live.append(kernel)
        if kernel.rehome(kernel_environment(), str(log or os.devnull)):
            used.append("kept")
            return kernel
        kernel.shutdown()
        return None

    def slot() -> None:
        kernel = None
        try:
            kernel = kept_kernel(notebooks[0].parent)
            if kernel is None:
                with warming:
                    if not stop.is_set():
                        kernel = new_kernel(notebooks[0].parent)
            ready.wait()
            while not stop.is_set():
                try:
                    notebook = todo.get_nowait()
                except Empty:
                    return
                if kernel is not None and kernel.notebooks_run and (kernel.cwd != str(notebook.parent)
                                                                     or not kernel.reset()):
                    kernel.shutdown()
                    kernel = None
                if kernel is None and not stop.is_set():
                    kernel = new_kernel(notebook.parent)
                try:
                    with turns[0]:
                        if stop.is_set():
                            return
                        timings[notebook.stem] = _execute_one(
                            str(notebook), str(staging / "notebooks" / notebook.name), parameters,
                            str(notebook.parent), timeout, kernel)
                    if kernel is not None:
                        kernel.notebooks_run += 1
                        kernel.close_clients()
                except Exception as exc:  # papermill, nbclient or a dead kernel: reported with one line
                    errors[notebook] = exc
                    if kernel is not None:
                        kernel.shutdown()  # busy, dead or in an unknown state: never reused
                        kernel = None
                done.put(notebook)
        finally:
            # a run that failed or stopped keeps nothing: its kernels may be in any state
            if kernel is not None and (stop.is_set() or errors or not keep(kernel)):
                kernel.shutdown()

    bar = tqdm(total=len(notebooks), desc=label[:30], unit="notebook", disable=not progress, file=console,
               dynamic_ncols=True)
    pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="kernel")
    try:
        running = [pool.submit(slot) for _ in range(slots)]
        if prepare is not None:
            prepare()
        warming.release(slots)  # the steps are done: every kernel still cold starts now
        pm = import_papermill()

        for notebook in notebooks:
            unknown = set(parameters) - set(pm.inspect_notebook(str(notebook)))
            if unknown:
                raise fail(notebook, t("run.missing_parameters", names=", ".join(sorted(unknown))), False)
        turns.append(threading.Semaphore(notebooks_at_a_time(staging, slots)))
        ready.set()
        finished = 0
        while finished < len(notebooks):
            try:
                notebook = done.get(timeout=0.5)
            except Empty:
                if all(future.done() for future in running) and done.empty():
                    break  # every kernel has ended (a fault raised just below)
                continue
            finished += 1
            bar.set_postfix_str(notebook.stem)
            bar.update()
            if on_notebook:
                on_notebook(notebook.stem)
        for future in running:
            future.result()  # a fault of the runner's own code is raised, never swallowed
    except BaseException:
        stop.set()
        ready.set()
        warming.release(slots)  # no thread may stay waiting for its turn to warm up
        for kernel in live:
            kernel.kill()
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    if errors:
        first = min(errors, key=notebooks.index)
        raise fail(first, _one_line(errors[first]), True) from None
    return {nb.stem: timings[nb.stem] for nb in notebooks}


@contextmanager
def _env_for_kernels(name: str, value: str | None):
    """Set one environment variable for the kernels started inside (they inherit the environment), then put
    back what was there; `value` None leaves it as it is."""
    previous = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def kernel_environment() -> dict[str, str | None]:
    """The variables a run sets for its kernels (`_env_for_kernels` and the like), as they are now: what a
    kept kernel is given by the next run (`kernels.rehome`; None: unset)."""
    from helpers.run.kernels import BLAS_THREADS_ENV
    from helpers.step1_list_clients.anonymise import KEY_FILE_ENV
    from helpers.step1_list_clients.client_figures import SPILL_DIR_ENV
    from helpers.workbook import STEPS_KEY_ENV

    return {name: os.environ.get(name) for name in (STEPS_KEY_ENV, KEY_FILE_ENV, SPILL_DIR_ENV, *BLAS_THREADS_ENV)}


def _steps_key_for_kernels():
    """This run's own key for the hand-over file, set before any kernel starts so that each inherits it."""
    from helpers.workbook import STEPS_KEY_ENV

    return _env_for_kernels(STEPS_KEY_ENV, secrets.token_hex(32))


def _key_file_for_kernels(key_file: str):
    """Kernels inherit the environment: pass the pseudonym key file without writing it into any notebook."""
    from helpers.step1_list_clients.anonymise import KEY_FILE_ENV

    return _env_for_kernels(KEY_FILE_ENV, str(Path(key_file).expanduser().resolve()) if key_file else None)


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
