"""Run history for re-audits: every published run is also kept, read-only, under `<run folder>/history/`.

Serves the re-audit after the five steps: `tierbook compare` reads two kept runs and says what changed.
The newest run stays at `runs/<company>/` as before; `history/<date-time>/` holds a copy of each
published run (its run.json carries the inputs' checksums, the settings used and, for anonymised runs,
an id of the pseudonym key, so a later comparison can tell whether the two runs can be compared).

Hooks in the runner (see `helpers.run.runner.run_company`):
    carry_forward(out_dir, staging)   just before the staging folder is swapped into place, so the swap
                                      does not drop the history kept inside the old run folder;
    keep_run(out_dir, company, ...)   right after a successful publish. A failed run reaches neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import stat
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from helpers.core.export import write_json
from helpers.core.i18n import t

HISTORY_DIR = "history"
RUN_FILE = "run.json"
# A snapshot is copied under this name first and renamed when complete: a half copy is never a snapshot.
_PARTIAL_PREFIX = ".partial-"
_LABEL = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(-\d+)?$")
_KEY_ID_MESSAGE = b"tierbook pseudonym key id"


@dataclass(frozen=True)
class Snapshot:
    """One kept run: `label` is its UTC start time as `YYYY-MM-DD_HH-MM-SS` (a `-N` suffix when two share a second)."""

    label: str
    path: Path


def snapshot_label(started_iso: str) -> str:
    """The folder name of a snapshot from run.json's `started` time (UTC, no colons: safe on Windows).

    >>> snapshot_label("2026-11-30T06:21:47+00:00")
    '2026-11-30_06-21-47'
    """
    stamp = datetime.fromisoformat(started_iso)
    return stamp.strftime("%Y-%m-%d_%H-%M-%S")


def pseudonym_key_id(key: bytes) -> str:
    """A short public id of a pseudonym key (an HMAC of a fixed text): equal ids mean equal pseudonyms.

    It reveals nothing usable about the key, and lets `tierbook compare` refuse two anonymised runs
    made with different keys, whose pseudonyms could never match.

    >>> pseudonym_key_id(b"k") == pseudonym_key_id(b"k"), pseudonym_key_id(b"k") == pseudonym_key_id(b"j")
    (True, False)
    """
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


def list_snapshots(run_dir: str | os.PathLike) -> list[Snapshot]:
    """The kept runs of one run folder, oldest first (empty when there is no history)."""
    folder = Path(run_dir) / HISTORY_DIR
    if not folder.is_dir():
        return []
    found = [Snapshot(p.name, p) for p in folder.iterdir()
             if p.is_dir() and _LABEL.match(p.name) and (p / RUN_FILE).is_file()]
    return sorted(found, key=lambda s: _sort_key(s.label))


def _sort_key(label: str) -> tuple[str, int]:
    return label[:19], int(label[20:] or 1)


def carry_forward(out_dir: str | os.PathLike, staging: str | os.PathLike) -> None:
    """Give the staging folder the history kept in the current run folder, before the swap replaces it.

    Files are hard-linked (copied where links are not possible), so this is fast and the old run
    folder keeps its own history intact until the swap: a crash at any moment loses nothing.
    Half-made snapshots (`.partial-*`, left by a crash while copying) are not carried. A current run
    that is not in its history yet (made before run history existed) is copied in too, so the first
    re-audit after an upgrade still has the previous run to compare with.

    Args:
        out_dir: the published run folder (may not exist yet: first run).
        staging: the folder about to be swapped into its place.
    """
    out_dir, target = Path(out_dir), Path(staging) / HISTORY_DIR
    source = out_dir / HISTORY_DIR
    shutil.rmtree(target, ignore_errors=True)  # the notebooks never write one; a stale copy must not mix in
    if source.is_dir():
        shutil.copytree(source, target, copy_function=_link_or_copy,
                        ignore=lambda folder, names: [n for n in names if n.startswith(_PARTIAL_PREFIX)])
    started = _started(out_dir)
    if started and started not in {_started(s.path) for s in list_snapshots(Path(staging))}:
        try:
            _copy_snapshot(out_dir, target, started)
        except (OSError, ValueError) as exc:
            warnings.warn(t("history.not_kept", path=target, reason=str(exc)), stacklevel=2)


def _started(run_dir: Path) -> str:
    try:
        return str(json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8")).get("started") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)
    return dst


def keep_run(out_dir: str | os.PathLike, company=None, *, keep: int | None = None, key_file: str = "",
             anonymise: bool = False) -> Path | None:
    """Record what a later comparison needs in run.json, copy the published run into history, prune it.

    Call only after a successful publish: a failed run must never touch the history.

    Args:
        out_dir: the just-published run folder (holds run.json).
        company: the loaded Company the run used (its settings are recorded), or None.
        keep: keep at most this many snapshots, the newest (None: keep all). Must be >= 1.
        key_file: the pseudonym key file of an anonymised run (else the usual key look-up).
        anonymise: the run was anonymised by `--anonymise` (company.yml's `anonymise` counts too).

    Returns:
        The new snapshot folder, or None when it could not be written (a warning says why; the
        published run itself is fine).
    """
    out_dir = Path(out_dir)
    meta = _enrich_run_json(out_dir, company, key_file=key_file, anonymise=anonymise)
    history = out_dir / HISTORY_DIR
    try:
        snapshot = _copy_snapshot(out_dir, history, meta.get("started") or datetime.now(timezone.utc).isoformat())
    except OSError as exc:
        warnings.warn(t("history.not_kept", path=history, reason=str(exc)), stacklevel=2)
        return None
    prune(out_dir, keep)
    return snapshot


def _copy_snapshot(run_dir: Path, history: Path, started: str) -> Path:
    """Copy a run folder (without its history/) to history/<label>/, read-only; all or nothing."""
    label = _free_label(history, snapshot_label(started))
    partial = history / f"{_PARTIAL_PREFIX}{label}"
    try:
        shutil.copytree(run_dir, partial, ignore=lambda folder, names: [HISTORY_DIR] if Path(folder) == run_dir
                        else [])
        _make_read_only(partial)
        os.replace(partial, history / label)
    except OSError:
        _remove_tree(partial)
        raise
    return history / label


def prune(run_dir: str | os.PathLike, keep: int | None) -> list[Path]:
    """Remove the oldest snapshots beyond the newest `keep`; returns what was removed."""
    if keep is None:
        return []
    if keep < 1:
        raise ValueError("keep must be at least 1")
    snapshots = list_snapshots(run_dir)
    removed = [s.path for s in snapshots[: max(0, len(snapshots) - keep)]]
    for path in removed:
        _remove_tree(path)
    return removed


def _free_label(history: Path, label: str) -> str:
    candidate, n = label, 1
    while (history / candidate).exists():
        n += 1
        candidate = f"{label}-{n}"
    return candidate


def _enrich_run_json(out_dir: Path, company, *, key_file: str, anonymise: bool) -> dict:
    """Add to run.json what makes two runs comparable: settings, company.yml's checksum, the key id."""
    path = out_dir / RUN_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    if company is not None:
        settings = company.settings
        meta["settings"] = settings.model_dump(mode="json", exclude={"name", "load"})
        config = Path(company.folder) / "company.yml"
        if config.is_file():
            from helpers.step1_list_clients.load import file_sha256

            meta["company_yml_sha256"] = file_sha256(config)
        anonymise = anonymise or bool(settings.anonymise)
    meta["anonymised"] = bool(anonymise or (meta.get("parameters") or {}).get("anonymise"))
    if meta["anonymised"]:
        from helpers.step1_list_clients.anonymise import load_key

        try:
            meta["pseudonym_key_id"] = pseudonym_key_id(load_key(key_file or None))
        except OSError:  # the key is gone: comparisons will say the pseudonyms cannot be matched
            meta["pseudonym_key_id"] = None
    write_json(meta, path)
    return meta


def _make_read_only(folder: Path) -> None:
    """Files lose their write bits (owner-only files stay owner-only); folders stay writable so that
    pruning and the runner's clean-up can remove them on every system."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            file = Path(root) / name
            file.chmod(stat.S_IMODE(file.stat().st_mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _remove_tree(path: Path) -> None:
    def writable_then_retry(func, target, _info):
        try:
            os.chmod(target, stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
            func(target)
        except OSError:
            pass

    if path.exists():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=writable_then_retry)
        else:
            shutil.rmtree(path, onerror=writable_then_retry)
