"""What every notebook opens first: one company, its settings, and each step's results.

`open_workbook(company_dir, out_dir)` is the single setup call of the notebooks. Each
step is computed on first use from the previous steps' results, so any notebook can also
be opened alone. In a `tierbook run` the runner computes every step once, before any
notebook starts, and hands the results over in the staging folder (`STEPS_FILE`): the
notebooks and the report then only show them, so they can never disagree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import __version__
from helpers.core import i18n
from helpers import paths
from helpers.core.errors import DataProblem, format_problems

# The results of every step, in method order (the attributes of Workbook that hold them).
STEPS = ("company", "audit", "tiers", "key_clients", "traits", "deals", "criteria", "prospects")
# Where the runner hands the computed steps to the notebooks, inside the run's staging folder.
STEPS_FILE = Path(".steps") / "steps.pkl"
STEPS_LOG = Path(".steps") / "log.jsonl"
# The run's own secret, in the environment its kernels inherit: the hand-over file is signed with it, so a
# kernel never unpickles a file that this run's runner did not write.
STEPS_KEY_ENV = "TIERBOOK_STEPS_KEY"


SIGNATURE_BYTES = 32  # HMAC-SHA256 of everything after it
TRAILER = 8  # the file ends with the offset of its index (8 bytes, little-endian)


class _Signer:
    """A write-only file that signs what passes through it (HMAC of the stream)."""

    def __init__(self, fh, mac):
        self.fh, self.mac = fh, mac

    def write(self, data) -> int:
        self.mac.update(data)
        return self.fh.write(data)


def _step(compute):
    """A step's result: computed on first use (and logged, inside a run), then kept for the kernel's life."""
    name = compute.__name__

    def getter(self):
        from helpers.step1_list_clients.audit import figures_once

        if name in self._handed:  # the runner computed it: read back, only when a notebook needs it
            return self._read_handed(name)

        with figures_once(self.__dict__.setdefault("_client_figures", {})):
            value = compute(self)
        self._note_computed(name)
        return value

    getter.__name__, getter.__doc__ = name, compute.__doc__
    return cached_property(getter)


class Workbook:
    """One company's journey through the method.

    Attributes are computed lazily in method order, each from the previous ones only (or received
    from the runner, see `hand_over`): ``company`` and ``audit`` (step 1) → ``tiers`` (step 2) →
    ``traits`` and ``deals`` (step 3) → ``criteria`` and ``prospects`` (step 4); step 5 renders them.
    """

    def __init__(self, company_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                 language: str | None = None, anonymise: bool = False, key_file: str | None = None,
                 loaded=None, loaded_language: str | None = None):
        self.company_dir = paths.resolve_in_project(company_dir)
        self._out_dir = Path(out_dir).resolve() if out_dir else None
        self._language = language or None
        self._anonymise = anonymise
        self._key_file = key_file
        self._loaded = (loaded, loaded_language)  # a Company the caller loaded already, and its problems' language
        self.handed_over: tuple[str, ...] = ()
        self._handed: dict[str, int] = {}  # step -> offset of its record in the verified hand-over file
        self._handed_file = None
        self._who = "notebook"
        if self._out_dir is not None:
            self._take_handed_steps()

    # ---- step 1
    @_step
    def company(self):
        from helpers.step1_list_clients.settings import load_settings
        from helpers.step1_list_clients.load import load_company

        # the language first, so that every problem found while loading is worded in it
        language = self._language or load_settings(self.company_dir).language
        i18n.set_language(language)
        loaded, worded_in = self._loaded
        # the runner's pre-flight already loaded the folder: reused when its problems are worded in this language
        company = loaded if loaded is not None and worded_in == i18n.get_language() else load_company(self.company_dir)
        if self._anonymise or company.settings.anonymise:
            from helpers.step1_list_clients.anonymise import anonymise_company

            company = anonymise_company(company, key_file=self._key_file)
        return company

    @_step
    def audit(self):
        from helpers.step1_list_clients.audit import audit_clients

        return audit_clients(self.company)

    # ---- step 2
    @_step
    def tiers(self):
        from helpers.step2_place_in_tiers.tiers import build_tiers

        return build_tiers(self.company)

    # ---- step 3
    @_step
    def traits(self):
        from helpers.step3_compare_traits.traits import compare_traits

        return compare_traits(self.company, self.tiers.table)

    @_step
    def deals(self):
        from helpers.step3_compare_traits.deals import summarise_deals

        return summarise_deals(self.company, self.tiers.table)

    # ---- step 4
    @_step
    def criteria(self):
        from helpers.step4_write_criteria.criteria import find_criteria

        return find_criteria(self.company, self.tiers.table)

    @_step
    def prospects(self):
        from helpers.step4_write_criteria.prospects import score_prospects

        return score_prospects(self.company, self.criteria)

    @_step
    def key_clients(self):
        """Key-client work (contacts, relationship, dossier, risk); period of step 2 for falling revenue."""
        from helpers.step1_list_clients.key_clients import study_key_clients

        return study_key_clients(self.company, period=self.tiers.period)

    # ---- each step once: the runner computes, the notebooks receive
    def fingerprint(self) -> str:
        """What the steps' results depend on: the kit's version, every input file and the run's settings.

        Returns a hex SHA-256 over the kit version, the path and content of every file in the company
        folder (hidden files and the `history/` folder excepted), the language and the anonymise switch.
        """
        from helpers.step1_list_clients.load import file_sha256

        digest = hashlib.sha256(f"{__version__}|{self._language}|{bool(self._anonymise)}".encode())
        for path in sorted(self.company_dir.rglob("*")):
            rel = path.relative_to(self.company_dir)
            if path.is_file() and not any(part.startswith(".") or part == "history" for part in rel.parts):
                digest.update(f"|{rel.as_posix()}={file_sha256(path)}".encode())
        return digest.hexdigest()

    def hand_over(self) -> list[str]:
        """Compute every step once (in method order) and write them for the notebooks of this run.

        Only the runner calls this, into its own staging folder; the file is removed before the run is
        published. Returns the names of the steps computed.

        The file (`STEPS_FILE`): an HMAC-SHA256 of the rest with the run's key (`STEPS_KEY_ENV`), one
        pickle per step written as soon as the step is computed, an index (fingerprint of the inputs,
        offset of each step) and the index's offset. Written and read as a stream, one step at a time:
        at a million clients the steps pickle to about a gigabyte, which no process holds twice, and a
        notebook reads only the steps it uses.
        """
        target = self.out_dir / STEPS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        self._who = "runner"
        computed = [name for name in STEPS if name not in self.__dict__]
        key = os.environ.setdefault(STEPS_KEY_ENV, secrets.token_hex(32))
        offsets: dict[str, int] = {}
        with target.open("wb") as fh:
            fh.write(bytes(SIGNATURE_BYTES))
            signer = _Signer(fh, hmac.new(key.encode(), digestmod=hashlib.sha256))
            for name in STEPS:
                value = getattr(self, name)
                offsets[name] = fh.tell()
                pickle.dump(value, signer, protocol=pickle.HIGHEST_PROTOCOL)
            index_at = fh.tell()
            pickle.dump({"fingerprint": self.fingerprint(), "steps": offsets}, signer, protocol=pickle.HIGHEST_PROTOCOL)
            signer.write(index_at.to_bytes(TRAILER, "little"))
            fh.seek(0)
            fh.write(signer.mac.digest())
        return computed

    def _take_handed_steps(self) -> None:
        """Receive the steps the runner computed for this run, if the file is this run's and the inputs
        are unchanged (the signature is checked over the whole file before anything is unpickled)."""
        source = self._out_dir / STEPS_FILE
        key = os.environ.get(STEPS_KEY_ENV)
        if not key or not source.is_file():
            return
        fh = source.open("rb")
        signature = fh.read(SIGNATURE_BYTES)
        mac = hmac.new(key.encode(), digestmod=hashlib.sha256)
        for block in iter(lambda: fh.read(1 << 24), b""):
            mac.update(block)
        size = fh.tell()
        if size < SIGNATURE_BYTES + TRAILER or not hmac.compare_digest(signature, mac.digest()):
            fh.close()
            return  # not written by this run's runner: never unpickled, the steps are computed here
        # read back from the same open file, which only this run's runner writes
        fh.seek(size - TRAILER)
        fh.seek(int.from_bytes(fh.read(TRAILER), "little"))
        index = pickle.load(fh)
        if index.get("fingerprint") != self.fingerprint():
            fh.close()
            return
        self._handed_file, self._handed = fh, dict(index["steps"])
        self.handed_over = tuple(self._handed)
        i18n.set_language(self.company.settings.language if not self._language else self._language)

    def _read_handed(self, name: str):
        """One step from the hand-over file (verified when the Workbook opened it)."""
        self._handed_file.seek(self._handed.pop(name))
        value = pickle.load(self._handed_file)
        if not self._handed:
            self._handed_file.close()
        return value

    def _note_computed(self, name: str) -> None:
        """Inside a run, record who computed a step (run.json shows that each step ran once)."""
        if self._out_dir is not None and (self._out_dir / STEPS_LOG.parent).is_dir():
            with (self._out_dir / STEPS_LOG).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"by": self._who, "step": name}) + "\n")

    # ---- outputs
    @property
    def out_dir(self) -> Path:
        folder = self._out_dir or paths.interactive_out_dir(self.company.slug)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save_table(self, df: pd.DataFrame, filename: str) -> Path:
        """Write a table into the output folder (atomic, safe against formula injection)."""
        from helpers.core.export import write_csv

        return write_csv(df, self.out_dir / filename)

    def save_figure(self, fig, name: str) -> Path:
        """Save a figure as PNG under `figures/` in the output folder; returns the file's path.

        In a notebook the cell then shows that same PNG and the figure is closed, so it is drawn once
        (drawing, twice with `bbox_inches="tight"`, is most of a plot cell's time) instead of once more
        by the inline backend. Outside a notebook the figure stays open for the caller.
        """
        from helpers.core.export import PNG_DPI, figure_png, write_bytes

        png = figure_png(fig, dpi=PNG_DPI)
        path = write_bytes(png, self.out_dir / "figures" / f"{name}.png")
        _show_instead_of_inline(fig, png, PNG_DPI)
        return path

    def t(self, key: str, **params: Any) -> str:
        return i18n.t(key, **params)


def _show_instead_of_inline(fig, png: bytes, dpi: float) -> None:
    """In a kernel with matplotlib's inline backend: display `png` (the figure, already rendered) and close
    the figure, so that the backend does not render it again at the end of the cell.

    The image keeps the on-screen size the inline backend gives (it draws at `figure.dpi`; the PNG was
    drawn at `dpi`), so the notebook looks the same, only a little sharper.
    """
    import matplotlib

    if "inline" not in str(matplotlib.get_backend()):
        return
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:  # no IPython: nothing displays inline figures
        return
    if get_ipython() is None:
        return
    import struct

    import matplotlib.pyplot as plt

    width = struct.unpack(">I", png[16:20])[0]  # the PNG header's IHDR width, in pixels
    display(Image(data=png, format="png", width=round(width * fig.dpi / dpi)))
    plt.close(fig)


def _show_problems_without_traceback(shell, etype, value, tb, tb_offset=None):
    print(format_problems(value.problems, limit=None))
    return None


def open_workbook(company_dir: str, out_dir: str = "", *, language: str = "", anonymise: bool = False,
                  key_file: str = "") -> Workbook:
    """The setup call of every notebook: plot style, pandas display, error display, the company.

    Data problems then print as `file:row:column — what — fix` lines instead of tracebacks.
    """
    from helpers.core.plot_style import setup_style

    setup_style()
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", "{:,.2f}".format)
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.set_custom_exc((DataProblem,), _show_problems_without_traceback)
    except ImportError:  # plain Python: exceptions stay as they are
        pass
    wb = Workbook(company_dir, out_dir or None, language=language or None, anonymise=anonymise,
                  key_file=key_file or None)
    return wb
