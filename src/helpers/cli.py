"""The `tierbook` command: check a company folder, run the workbook, print worksheets.

Every data problem is printed as `file:row:column — what — fix` and ends with exit
status 1; no traceback reaches the user for bad input.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import click

from . import i18n, paths
from .errors import DataProblem, format_problems


def _lang_from_env() -> str | None:
    value = os.environ.get("TIERBOOK_LANG") or os.environ.get("LANG", "")
    return "ru" if value.lower().startswith("ru") else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(i18n.LANGUAGES), default=None,
              help="Language of messages (default: $TIERBOOK_LANG, else English).")
@click.version_option(package_name="tierbook")
@click.pass_context
def main(ctx: click.Context, lang: str | None) -> None:
    """Tierbook: ABC client segmentation, from a company folder to tiers, criteria and a report."""
    ctx.ensure_object(dict)
    ctx.obj["lang"] = lang or _lang_from_env()
    i18n.set_language(ctx.obj["lang"])


def _fail_with_problems(exc: DataProblem, company_dir: Path) -> None:
    click.echo(format_problems(exc.problems, limit=None), err=True)
    click.echo(i18n.t("run.check_failed", path=company_dir), err=True)
    sys.exit(1)


@main.command()
@click.argument("company_dir", type=click.Path(path_type=Path))
def check(company_dir: Path) -> None:
    """Check a company folder: how every file was read, and every problem with file, row and column."""
    from .load import check_company, format_check

    result = check_company(company_dir)
    click.echo(format_check(result))
    warnings = sum(p.severity == "warning" for p in result.problems)
    if result.ok:
        click.echo(i18n.t("run.check_ok_warnings", count=warnings) if warnings else i18n.t("run.check_ok"))
    else:
        click.echo(i18n.t("run.check_failed", path=company_dir), err=True)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("company_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Output folder (one company only). Default: runs/<company>/ (git-ignored).")
@click.option("--report-lang", "language", type=click.Choice(i18n.LANGUAGES), default=None,
              help="Language of the report (default: company.yml's language).")
@click.option("--anonymise", is_flag=True, help="Replace client names and ids with keyed pseudonyms (workshops).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Secret key for pseudonyms, kept outside the repo (default: $TIERBOOK_ANON_KEY or ~/.config/tierbook/).")
@click.option("--timeout", type=int, default=900, show_default=True, help="Seconds one notebook cell may take.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Companies run in parallel in a batch (default: the number of cores).")
@click.pass_context
def run(ctx, company_dirs: tuple[Path, ...], out: Path | None, language: str | None, anonymise: bool,
        key_file: Path | None, timeout: int, quiet: bool, jobs: int | None) -> None:
    """Run the whole workbook for one or more company folders and publish the outputs."""
    from .runner import RunBusy, RunFailed, run_company

    if out and len(company_dirs) > 1:
        raise click.UsageError("--out takes one company folder; several companies go to runs/<company>/ each")
    language = language or ctx.obj.get("lang") or ""
    if len(company_dirs) > 1:
        _run_batch(company_dirs, jobs=jobs, quiet=quiet, language=language, anonymise=anonymise,
                   key_file=str(key_file or ""), timeout=timeout)
    failures = 0
    for company_dir in company_dirs:
        tick = time.perf_counter()
        if not quiet:
            click.echo(i18n.t("run.checking", path=company_dir))
        try:
            result = run_company(company_dir, out, language=language, anonymise=anonymise,
                                 key_file=str(key_file or ""), timeout=timeout, progress=not quiet)
        except DataProblem as exc:
            click.echo(format_problems(exc.problems, limit=None), err=True)
            click.echo(i18n.t("run.check_failed", path=company_dir), err=True)
            failures += 1
            continue
        except RunFailed as exc:
            click.echo(i18n.t("run.failed", notebook=exc.notebook, reason=exc.reason), err=True)
            if exc.partial:
                click.echo(i18n.t("run.partial", path=exc.partial), err=True)
            click.echo(i18n.t("run.previous_kept", path=out or paths.RUNS_DIR), err=True)
            failures += 1
            continue
        except RunBusy as exc:
            click.echo(str(exc), err=True)
            failures += 1
            continue
        except KeyboardInterrupt:
            click.echo(i18n.t("run.interrupted"), err=True)
            sys.exit(130)
        click.echo(i18n.t("run.done", seconds=time.perf_counter() - tick, report=result.report))
        click.echo(i18n.t("run.outputs", path=result.out_dir))
    if len(company_dirs) > 1:
        click.echo(i18n.t("run.batch_summary", ok=len(company_dirs) - failures, total=len(company_dirs),
                          failed=failures))
    sys.exit(1 if failures else 0)


def _run_batch(company_dirs: tuple[Path, ...], *, jobs: int | None, quiet: bool, **options) -> None:
    """Several companies: in parallel, each failure one line, a closing table, exit 1 if any failed."""
    from .batch import FAILED, default_jobs, format_batch_table, run_batch

    jobs = min(jobs or default_jobs(), len(company_dirs))
    if not quiet:
        click.echo(i18n.t("batch.jobs", count=len(company_dirs), jobs=jobs))
    try:
        outcomes = run_batch(list(company_dirs), jobs=jobs, progress=not quiet, **options)
    except KeyboardInterrupt:
        click.echo(i18n.t("run.interrupted"), err=True)
        sys.exit(130)
    failures = sum(o.status == FAILED for o in outcomes)
    click.echo(format_batch_table(outcomes))
    click.echo(i18n.t("run.batch_summary", ok=len(outcomes) - failures, total=len(outcomes), failed=failures))
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("company_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the worksheet (default: runs/<company>-worksheet/).")
@click.pass_context
def worksheet(ctx, company_dir: Path, out: Path | None) -> None:
    """Print-and-fill placement worksheet from a client list, for the paper ABC exercise."""
    from .load import load_company
    from .worksheets import write_placement_worksheet

    try:
        company = load_company(paths.resolve_in_project(company_dir))
    except DataProblem as exc:
        _fail_with_problems(exc, company_dir)
    # beside, not inside, the run folder: a later `tierbook run` replaces runs/<company>/ as a whole
    target = out or paths.default_out_dir(f"{company.slug}-worksheet")
    written = write_placement_worksheet(company, target, language=ctx.obj.get("lang"))
    click.echo(i18n.t("run.worksheet_written"))
    for path in written:
        click.echo(f"  {path}")


@main.command(name="new")
@click.argument("company_dir", type=click.Path(path_type=Path))
def new_company(company_dir: Path) -> None:
    """Create an empty company folder from the templates (clients.csv, company.yml, ...)."""
    target = company_dir.expanduser().resolve()
    if target.exists() and any(target.iterdir()):
        click.echo(i18n.t("run.exists", path=target), err=True)
        sys.exit(1)
    target.mkdir(parents=True, exist_ok=True)
    # Only the files every company needs: an optional file left header-only would fail the check.
    for name in ("clients.csv", "company.yml"):
        source = paths.TEMPLATES_DIR / name
        if source.is_file():
            shutil.copyfile(source, target / name)
    click.echo(i18n.t("run.new_company", path=target, templates=paths.TEMPLATES_DIR))


if __name__ == "__main__":  # pragma: no cover
    main()
