"""Batch runs of the whole workbook: `tierbook run A B C … --jobs N`.

Each company runs in its own worker process (the runner redirects file descriptors and kernels per
run, which threads could not share); one failing company never stops the others, and the batch ends
with one table row per company: status, time, and the report path or a one-line reason.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.core import i18n
from helpers import paths

OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one company of a batch.

    company   the company folder as the user typed it
    status    "ok" or "failed"
    seconds   wall time of its run (0 when refused before starting)
    report    report.html of a successful run, else None
    reason    one line saying why it failed ("" when it succeeded)
    """

    company: str
    status: str
    seconds: float
    report: Path | None = None
    reason: str = ""


def default_jobs() -> int:
    """Parallel runs by default: one per core the process may use (at least one)."""
    from helpers.run.kernels import cores

    return cores()


def share_jobs(jobs: int | None, companies: int) -> tuple[int, int]:
    """(companies run at once, notebook kernels per company) for `--jobs` over a batch of `companies`.

    `jobs` is how much work runs at once, as `make -j` counts it (default: one per core): that many
    companies in parallel, and the jobs left over shared out as notebook kernels within each. So
    `--jobs 1` is a truly sequential batch: one company, one notebook at a time.

    >>> share_jobs(2, 8), share_jobs(1, 8), share_jobs(4, 2), share_jobs(2, 1)
    ((2, 1), (1, 1), (2, 2), (1, 2))
    """
    jobs = max(1, jobs or default_jobs())
    workers = max(1, min(jobs, companies))
    return workers, max(1, jobs // workers)


def planned_out_dir(company_dir: str | os.PathLike) -> Path:
    """The output folder a batch run of this company writes, decided before anything runs.

    The same rule as `runner.resolve_out_dir` without `--out` (runs/<slug of the folder name>/), so
    two companies of one batch that would write into one folder are found before either starts.
    """
    return paths.default_out_dir(paths.slugify(paths.resolve_in_project(company_dir).name))


def _one_line_problems(exc) -> str:
    """A DataProblem as one line: the first error, and how many more `tierbook check` shows."""
    errors = exc.errors or exc.problems
    first = str(errors[0]) if errors else type(exc).__name__
    more = len(errors) - 1
    return first if more <= 0 else i18n.t("batch.more_errors", first=first, count=more)


def _say(company: str, text: str) -> None:
    # one whole line per write, so that lines of parallel companies interleave but never mix
    sys.stdout.write(f"[{company}] {text}\n")
    sys.stdout.flush()


def run_one(company_dir: str, out_dir: str, options: dict, lang: str, progress: bool) -> BatchOutcome:
    """Run one company in a worker process; every failure becomes an outcome, never an exception.

    `options` are passed to `runner.run_company` (language, anonymise, key_file, timeout, notebooks).
    """
    from helpers.core.errors import DataProblem
    from helpers.run.runner import RunBusy, RunFailed, run_company

    i18n.set_language(lang)
    tick = time.perf_counter()

    def elapsed() -> float:
        return round(time.perf_counter() - tick, 1)

    on_notebook = (lambda stem: _say(company_dir, stem)) if progress else None
    if progress:
        _say(company_dir, i18n.t("batch.started"))
    try:
        result = run_company(company_dir, out_dir, progress=False, on_notebook=on_notebook, **options)
    except DataProblem as exc:
        outcome = BatchOutcome(company_dir, FAILED, elapsed(), reason=_one_line_problems(exc))
    except RunFailed as exc:
        outcome = BatchOutcome(company_dir, FAILED, elapsed(),
                               reason=i18n.t("run.failed", notebook=exc.notebook, reason=exc.reason))
    except RunBusy as exc:
        outcome = BatchOutcome(company_dir, FAILED, elapsed(), reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - one company's surprise must not stop the batch
        text = next((line for line in str(exc).splitlines() if line.strip()), "")
        outcome = BatchOutcome(company_dir, FAILED, elapsed(),
                               reason=i18n.t("batch.unexpected", error=f"{type(exc).__name__}: {text}"[:300]))
    else:
        outcome = BatchOutcome(company_dir, OK, elapsed(), report=result.report)
    if progress:
        _say(company_dir, i18n.t("batch.finished", status=i18n.t(f"batch.status.{outcome.status}"),
                                 seconds=outcome.seconds))
    return outcome


def run_batch(company_dirs: list[str | os.PathLike], *, jobs: int | None = None, progress: bool = True,
              **options) -> list[BatchOutcome]:
    """Run several companies, `jobs` at a time (default: the number of cores); outcomes in input order.

    Companies whose output folders coincide (two folders with the same name in different places) are
    never run into the same folder: the first one runs, the others are refused with a reason naming it.
    A worker that dies (out of memory, killed) fails only its company. `options` go to
    `runner.run_company`; `notebooks` defaults to the workbook's notebooks, decided here once, and
    their `jobs` (notebook kernels per company) to the jobs left per company (`share_jobs`).

    Raises KeyboardInterrupt after cancelling the runs not yet started.
    """
    from helpers.run.runner import workbook_notebooks

    options.setdefault("notebooks", workbook_notebooks())
    lang = i18n.get_language()
    outcomes: dict[int, BatchOutcome] = {}
    planned: dict[Path, str] = {}
    to_run: list[tuple[int, str, Path]] = []
    for i, company_dir in enumerate(map(str, company_dirs)):
        out_dir = planned_out_dir(company_dir)
        if out_dir in planned:
            outcomes[i] = BatchOutcome(company_dir, FAILED, 0.0, reason=i18n.t(
                "batch.same_out_dir", path=out_dir, other=planned[out_dir]))
            continue
        planned[out_dir] = company_dir
        to_run.append((i, company_dir, out_dir))
    workers, kernels = share_jobs(jobs, len(to_run) or 1)
    options.setdefault("jobs", kernels)
    # spawn: a fresh interpreter per worker, never a fork of a parent holding DuckDB or kernel threads.
    # A worker runs one company after another: its kernels stay warm between them, and end with it.
    from helpers.run.kernels import keep_kernels_between_runs

    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                initializer=keep_kernels_between_runs) as pool:
        futures = {pool.submit(run_one, company_dir, str(out_dir), options, lang, progress): (i, company_dir)
                   for i, company_dir, out_dir in to_run}
        try:
            for future in cf.as_completed(futures):
                i, company_dir = futures[future]
                try:
                    outcomes[i] = future.result()
                except Exception as exc:  # noqa: BLE001 - the worker itself died (killed, out of memory)
                    outcomes[i] = BatchOutcome(company_dir, FAILED, 0.0, reason=i18n.t(
                        "batch.worker_died", error=f"{type(exc).__name__}: {exc}"[:300]))
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
    return [outcomes[i] for i in sorted(outcomes)]


def format_batch_table(outcomes: list[BatchOutcome]) -> str:
    """The closing table of a batch: company, status, time, and the report path or the reason.

    >>> print(format_batch_table([BatchOutcome("data/a", "ok", 12.3, Path("runs/a/report.html")),
    ...                           BatchOutcome("data/b", "failed", 0.4, reason="clients.csv — no rows")]))
    company  status  time  report or reason
    data/a   ok      12 s  runs/a/report.html
    data/b   failed  0 s   clients.csv — no rows
    """
    header = [i18n.t("batch.column.company"), i18n.t("batch.column.status"), i18n.t("batch.column.time"),
              i18n.t("batch.column.result")]
    rows = [[o.company, i18n.t(f"batch.status.{o.status}"), i18n.t("batch.seconds", seconds=o.seconds),
             str(o.report) if o.report else o.reason] for o in outcomes]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths)) + "  " + r[3]
                     for r in [header, *rows])
