"""What every notebook opens first: one company, its settings, and each step's results.

`open_workbook(company_dir, out_dir)` is the single setup call of the notebooks. Each
step is computed once per kernel, on first use, from the previous step's tables, so any
notebook can also be opened alone.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from . import i18n, paths
from .errors import DataProblem, format_problems


class Workbook:
    """One company's journey through the method.

    Attributes are computed lazily in method order:
    ``company`` (step 1) → ``tiers`` (step 2) → ``traits`` and ``deals`` (step 3) →
    ``criteria`` and ``prospects`` (step 4).
    """

    def __init__(self, company_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                 language: str | None = None, anonymise: bool = False, key_file: str | None = None):
        self.company_dir = paths.resolve_in_project(company_dir)
        self._out_dir = Path(out_dir).resolve() if out_dir else None
        self._language = language or None
        self._anonymise = anonymise
        self._key_file = key_file

    # ---- step 1
    @cached_property
    def company(self):
        from .config import load_settings
        from .load import load_company

        # the language first, so that every problem found while loading is worded in it
        i18n.set_language(self._language or load_settings(self.company_dir).language)
        company = load_company(self.company_dir)
        if self._anonymise or company.settings.anonymise:
            from .anonymise import anonymise_company

            company = anonymise_company(company, key_file=self._key_file)
        return company

    # ---- step 2
    @cached_property
    def tiers(self):
        from .tiers import build_tiers

        return build_tiers(self.company)

    # ---- step 3
    @cached_property
    def traits(self):
        from .traits import compare_traits

        return compare_traits(self.company, self.tiers.table)

    @cached_property
    def deals(self):
        from .deals import summarise_deals

        return summarise_deals(self.company, self.tiers.table)

    # ---- step 4
    @cached_property
    def criteria(self):
        from .criteria import find_criteria

        return find_criteria(self.company, self.tiers.table)

    @cached_property
    def prospects(self):
        from .prospects import score_prospects

        return score_prospects(self.company, self.criteria)

    @cached_property
    def key_clients(self):
        """Key-client work (contacts, relationship, dossier, risk); period of step 2 for falling revenue."""
        from .keyclients import study_key_clients

        return study_key_clients(self.company, period=self.tiers.period)

    # ---- outputs
    @property
    def out_dir(self) -> Path:
        folder = self._out_dir or paths.interactive_out_dir(self.company.slug)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save_table(self, df: pd.DataFrame, filename: str) -> Path:
        """Write a table into the output folder (atomic, safe against formula injection)."""
        from .export import write_csv

        return write_csv(df, self.out_dir / filename)

    def save_figure(self, fig, name: str) -> Path:
        """Save a figure as PNG under `figures/` in the output folder."""
        from .export import write_figure

        return write_figure(fig, self.out_dir / "figures" / f"{name}.png")

    def t(self, key: str, **params: Any) -> str:
        return i18n.t(key, **params)


def _show_problems_without_traceback(shell, etype, value, tb, tb_offset=None):
    print(format_problems(value.problems, limit=None))
    return None


def open_workbook(company_dir: str, out_dir: str = "", *, language: str = "", anonymise: bool = False,
                  key_file: str = "") -> Workbook:
    """The setup call of every notebook: plot style, pandas display, error display, the company.

    Data problems then print as `file:row:column — what — fix` lines instead of tracebacks.
    """
    from .plots.common import setup_style

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
