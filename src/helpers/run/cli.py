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

from helpers.run.kernels import one_blas_thread

one_blas_thread()  # before anything imports numpy (see there why)

import click  # noqa: E402

from helpers.core import i18n
from helpers import paths
from helpers.core.errors import DataProblem, format_problems


def _lang_from_env() -> str | None:
    value = os.environ.get("TIERBOOK_LANG") or os.environ.get("LANG", "")
    return "ru" if value.lower().startswith("ru") else None


class _Tierbook(click.Group):
    """The command group; a file-system error no command foresaw still ends in one line, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OSError as exc:
            where = exc.filename if exc.filename is not None else ""
            click.echo(_safe(i18n.t("run.path_problem", path=where, reason=exc.strerror or type(exc).__name__)),
                       err=True)
            sys.exit(1)


def _safe(text: str) -> str:
    """Text for the terminal: control characters and escape sequences from input files shown escaped."""
    from helpers.step1_list_clients.guards import printable

    return printable(str(text))


def _path_mistake(path: Path, *, want_dir: bool = True) -> str | None:
    """One line for a company path that cannot be a company folder (a file, a missing folder)."""
    target = path.expanduser()
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            return i18n.t("run.path_problem", path=parent, reason=i18n.t("run.parent_is_file"))
    if want_dir and target.exists() and not target.is_dir():
        return i18n.t("run.path_problem", path=target, reason=i18n.t("run.not_a_folder"))
    if want_dir and not target.exists():
        return i18n.t("run.path_problem", path=target, reason=i18n.t("run.no_such_folder"))
    return None


def _refuse_path(path: Path, **kwargs) -> None:
    mistake = _path_mistake(path, **kwargs)
    if mistake:
        click.echo(_safe(mistake), err=True)
        sys.exit(1)


@click.group(cls=_Tierbook, context_settings={"help_option_names": ["-h", "--help"]})
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
    click.echo(_safe(format_problems(exc.problems, limit=None)), err=True)
    click.echo(_safe(i18n.t("run.check_failed", path=company_dir)), err=True)
    sys.exit(1)


@main.command()
@click.argument("company_dir", type=click.Path(path_type=Path))
def check(company_dir: Path) -> None:
    """Check a company folder: how every file was read, and every problem with file, row and column."""
    from helpers.step1_list_clients.load import check_company, format_check

    _refuse_path(company_dir)
    result = check_company(company_dir)
    click.echo(_safe(format_check(result)))
    warnings = sum(p.severity == "warning" for p in result.problems)
    if result.ok:
        click.echo(i18n.t("run.check_ok_warnings", count=warnings) if warnings else i18n.t("run.check_ok"))
    else:
        click.echo(_safe(i18n.t("run.check_failed", path=company_dir)), err=True)
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
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Keep only the newest N runs in <output>/history/ (default: keep all).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="How much runs at once, as make -j counts it: companies of a batch, then notebooks "
                   "(default: the number of cores; 1: one thing at a time).")
@click.pass_context
def run(ctx, company_dirs: tuple[Path, ...], out: Path | None, language: str | None, anonymise: bool,
        key_file: Path | None, timeout: int, quiet: bool, keep: int | None,
        jobs: int | None) -> None:
    """Run the whole workbook for one or more company folders and publish the outputs."""
    from helpers.run.runner import Interrupted, OutDirRefused, RunBusy, RunFailed, RunWriteFailed, run_company

    if out and len(company_dirs) > 1:
        raise click.UsageError("--out takes one company folder; several companies go to runs/<company>/ each")
    language = language or ctx.obj.get("lang") or ""
    if len(company_dirs) > 1:
        _run_batch(company_dirs, jobs=jobs, quiet=quiet, language=language, anonymise=anonymise,
                   key_file=str(key_file or ""), timeout=timeout)
    failures = 0

    def say(text: str) -> None:
        click.echo(_safe(text), err=True)

    for company_dir in company_dirs:
        tick = time.perf_counter()
        mistake = _path_mistake(company_dir)
        if mistake:
            say(mistake)
            failures += 1
            continue
        if not quiet:
            click.echo(_safe(i18n.t("run.checking", path=company_dir)))
        try:
            # a relative folder is relative to where the command is typed, as for `check` and `new`
            result = run_company(company_dir.expanduser().resolve(), out, language=language, anonymise=anonymise,
                                 key_file=str(key_file or ""), timeout=timeout, progress=not quiet, on_note=say,
                                 keep=keep, jobs=jobs)
        except OutDirRefused as exc:
            say(str(exc))
            failures += 1
            continue
        except DataProblem as exc:
            say(format_problems(exc.problems, limit=None))
            say(i18n.t("run.check_failed", path=company_dir))
            failures += 1
            continue
        except RunFailed as exc:
            say(i18n.t("run.failed", notebook=exc.notebook, reason=exc.reason))
            for line in exc.details:
                say(line)
            if exc.partial:
                say(i18n.t("run.partial", path=exc.partial))
            say(i18n.t("run.previous_kept", path=out or paths.RUNS_DIR))
            failures += 1
            continue
        except (RunBusy, RunWriteFailed) as exc:
            say(str(exc))
            failures += 1
            continue
        except KeyboardInterrupt as exc:
            say(i18n.t("run.interrupted"))
            sys.exit(128 + int(getattr(exc, "signum", 2)))
        click.echo(_safe(i18n.t("run.done", seconds=time.perf_counter() - tick, report=result.report)))
        click.echo(_safe(i18n.t("run.outputs", path=result.out_dir)))
    if len(company_dirs) > 1:
        click.echo(i18n.t("run.batch_summary", ok=len(company_dirs) - failures, total=len(company_dirs),
                          failed=failures))
    sys.exit(1 if failures else 0)


def _run_batch(company_dirs: tuple[Path, ...], *, jobs: int | None, quiet: bool, **options) -> None:
    """Several companies: in parallel, each failure one line, a closing table, exit 1 if any failed."""
    from helpers.run.batch import FAILED, default_jobs, format_batch_table, run_batch

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
@click.option("--anonymise", is_flag=True, help="Pseudonyms instead of client names and ids (also company.yml anonymise: true).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Secret key for pseudonyms (as for `tierbook run`).")
@click.option("--merge", is_flag=True,
              help="Merge the sheets typed back into placement/<person>.csv: medians to placement.csv, disagreements listed.")
@click.pass_context
def worksheet(ctx, company_dir: Path, out: Path | None, anonymise: bool, key_file: Path | None, merge: bool) -> None:
    """Print-and-fill placement worksheet from a client list, for the paper ABC exercise."""
    from helpers.step1_list_clients.load import load_company
    from helpers.step2_place_in_tiers.worksheets import write_placement_worksheet

    _refuse_path(company_dir)
    if out is not None:
        _refuse_path(out, want_dir=False)
        if out.exists() and not out.is_dir():
            click.echo(_safe(i18n.t("run.path_problem", path=out, reason=i18n.t("run.exists_as_file"))), err=True)
            sys.exit(1)
        inputs = company_dir.expanduser().resolve()
        if out.expanduser().resolve().is_relative_to(inputs):  # outputs never go among the inputs
            click.echo(_safe(i18n.t("run.out_inside_inputs", path=out, company=inputs)), err=True)
            sys.exit(1)
    try:
        company = load_company(company_dir.expanduser().resolve())  # relative to the current folder
        if merge:  # the team's sheets hold real ids: merged before any pseudonym is applied
            _merge_sheets(company, company_dir)
            return
        if anonymise or company.settings.anonymise:
            from helpers.step1_list_clients.anonymise import anonymise_company

            # the sheet is printed for the workshop room: the same pseudonyms as `tierbook run`
            company = anonymise_company(company, key_file=key_file)
            click.echo(_safe(i18n.t("run.anonymise_worksheet")))
    except DataProblem as exc:
        _fail_with_problems(exc, company_dir)
    from helpers.run.runner import resolve_out_dir, write_worksheet_marker

    # beside, not inside, the run folder: a later `tierbook run` replaces runs/<company>/ as a whole;
    # companies whose names slugify alike get runs/<slug>-worksheet-2/ … rather than each other's sheet
    notes: list[str] = []
    target = out or resolve_out_dir(f"{company.slug}-worksheet", None, company.folder, notes, marker="worksheet.json")
    for note in notes:
        click.echo(_safe(note), err=True)
    written = write_placement_worksheet(company, target, language=ctx.obj.get("lang"))
    if out is None:
        write_worksheet_marker(target, company.folder)
    click.echo(i18n.t("run.worksheet_written"))
    for path in written:
        click.echo(_safe(f"  {path}"))


@main.command()
@click.argument("first", metavar="OLD|COMPANY")
@click.argument("second", metavar="NEW|DATE")
@click.argument("third", metavar="[DATE]", required=False)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write compare.html and migrations.csv (default: runs/<company>-compare/<old>__<new>/).")
@click.option("--report-lang", "language", type=click.Choice(i18n.LANGUAGES), default=None,
              help="Language of compare.html (default: the new run's company.yml language).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Pseudonym key of anonymised runs (to read the new run's company folder).")
@click.option("--force", is_flag=True, help="Compare even runs of other companies or with other settings (flagged).")
@click.pass_context
def compare(ctx, first: str, second: str, third: str | None, out: Path | None, language: str | None,
            key_file: Path | None, force: bool) -> None:
    """Re-audit: compare two runs (OLD NEW folders, or COMPANY DATE DATE from its run history)."""
    from helpers.step6_compare.compare import compare_runs, default_out_dir, resolve_runs, write_comparison

    try:
        old_dir, new_dir, notes = resolve_runs(first, second, third)
        for note in notes:
            click.echo(note)
        comparison = compare_runs(old_dir, new_dir, force=force, key_file=str(key_file or ""))
    except DataProblem as exc:
        click.echo(format_problems(exc.problems, limit=None), err=True)
        if any(p.code in ("compare_other_company", "compare_other_settings", "compare_anonymised_mix",
                          "compare_other_key") for p in exc.problems):
            click.echo(i18n.t("compare.cli.refused"), err=True)
        sys.exit(1)
    for p in comparison.problems:
        click.echo(format_problems([p]), err=True)
    target = out or default_out_dir(comparison)
    written = write_comparison(comparison, target, language=language or ctx.obj.get("lang"))
    click.echo(i18n.t("compare.cli.written"))
    for path in written.values():
        click.echo(f"  {path}")


def _merge_sheets(company, company_dir: Path) -> None:
    """`tierbook worksheet --merge`: the board's consensus over the sheets typed back from paper."""
    from helpers.step2_place_in_tiers.worksheets import merge_placement_sheets

    try:
        consensus, written = merge_placement_sheets(company)
    except DataProblem as exc:
        _fail_with_problems(exc, company_dir)
    if written is None:
        click.echo(i18n.t("board.cli.no_sheets", folder=company.folder / "placement"), err=True)
        sys.exit(1)
    people = [c for c in consensus.columns if c not in
              ("client_id", "name", "revenue", "placed_by", "median", "spread", "why", "discuss", "decision")]
    discuss = consensus[consensus["discuss"]]
    click.echo(i18n.t("board.cli.merged", people=", ".join(people), placed=int((consensus["placed_by"] > 0).sum()),
                      total=len(consensus), path=written))
    click.echo(i18n.t("board.cli.discuss", count=len(discuss)))
    for row in discuss.to_dict("records"):
        votes = " ".join(f"{p}={row[p] or '-'}" for p in people)
        click.echo(f"  {row['client_id']}  {row['name']}: {row['median']}  ({row['why']})  {votes}")


@main.command(name="new")
@click.argument("company_dir", type=click.Path(path_type=Path))
def new_company(company_dir: Path) -> None:
    """Create an empty company folder from the templates (clients.csv, company.yml, ...)."""
    _refuse_path(company_dir, want_dir=False)
    target = company_dir.expanduser().resolve()
    if target.exists() and not target.is_dir():
        click.echo(_safe(i18n.t("run.path_problem", path=target, reason=i18n.t("run.exists_as_file"))), err=True)
        sys.exit(1)
    if target.exists() and any(target.iterdir()):
        click.echo(i18n.t("run.exists", path=target), err=True)
        sys.exit(1)
    target.mkdir(parents=True, exist_ok=True)
    # Only the files every company needs: an optional file left header-only would fail the check.
    for name in ("clients.csv", "company.yml"):
        source = paths.TEMPLATES_DIR / name
        if source.is_file():
            shutil.copyfile(source, target / name)
    # the key-client inputs wait in optional/ until filled: the check reads only the folder itself
    from helpers.step1_list_clients.key_clients import KEY_INPUTS
    (target / "optional").mkdir(exist_ok=True)
    for kind in KEY_INPUTS:
        shutil.copyfile(paths.TEMPLATES_DIR / f"{kind}.csv", target / "optional" / f"{kind}.csv")
    click.echo(i18n.t("run.new_company", path=target, templates=paths.TEMPLATES_DIR))
    click.echo(i18n.t("keyclients.new_optional", files=", ".join(f"{k}.csv" for k in KEY_INPUTS)))


if __name__ == "__main__":  # pragma: no cover
    main()
