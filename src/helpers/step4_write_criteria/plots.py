"""Plots for step 4 of the method: candidate criteria, the chance line, and stability.

Each takes the criteria table (or result), draws on `ax` (or a new one) and returns the Axes.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from helpers.core.i18n import t
from helpers.core.plot_style import POINTS_TO_COLORS, new_axes

MAX_ROWS = 20
LABEL_WIDTH = 46


def _label(rule: str) -> str:
    return textwrap.shorten(str(rule), LABEL_WIDTH, placeholder="…")


def _top(table: pd.DataFrame, max_rows: int) -> tuple[pd.DataFrame, int]:
    rows = table.head(max_rows)
    return rows, len(table) - len(rows)


def plot_criteria(table: pd.DataFrame, *, ax=None, max_rows: int = MAX_ROWS):
    """Share of the pointed-to tier among the clients each rule covers, with its 95% interval.

    Filled dots are `supported`, hollow ones are not; the grey bar marks the share among all
    compared clients (the rule's base rate) and the dotted one the share a useful rule's lower bound
    must reach (`required_share`, issue 10). Rows keep the table order (supported first).
    """
    rows, rest = _top(table, max_rows)
    ax = new_axes(ax, figsize=(10, 0.42 * max(len(rows), 3) + 1.6))
    y = np.arange(len(rows))[::-1]
    for yi, (_, row) in zip(y, rows.iterrows()):
        colour = POINTS_TO_COLORS.get(row["points_to"], "#555555")
        filled = row["evidence"] == "supported"
        ax.plot([row["ci_low"] * 100, row["ci_high"] * 100], [yi, yi], color=colour, lw=2, alpha=0.8)
        ax.plot(row["share"] * 100, yi, "o", ms=8, color=colour, mfc=colour if filled else "white", mew=2)
        ax.plot([row["base_rate"] * 100] * 2, [yi - 0.3, yi + 0.3], color="#777777", lw=2)
        if pd.notna(row.get("required_share", np.nan)):
            ax.plot([row["required_share"] * 100] * 2, [yi - 0.3, yi + 0.3], color="#777777", lw=1.5, ls=":")
    labels = [f"{'A' if r['points_to'] == 'A' else 'C'} · {_label(r['rule'])} (n={int(r['support'])})"
              for _, r in rows.iterrows()]
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xlabel(t("criteria.plot.xlabel"))
    ax.set_title(t("criteria.plot.title"))
    handles = [
        Line2D([], [], marker="o", ls="", color=POINTS_TO_COLORS["A"], ms=8, label=t("criteria.points_to.A")),
        Line2D([], [], marker="o", ls="", color=POINTS_TO_COLORS["C"], ms=8, label=t("criteria.points_to.C")),
        Line2D([], [], marker="o", ls="", color="#555555", ms=8, label=t("criteria.evidence.supported")),
        Line2D([], [], marker="o", ls="", color="#555555", mfc="white", mew=2, ms=8,
               label=f"{t('criteria.evidence.weak')} / {t('criteria.evidence.insufficient')} / "
                     f"{t('criteria.evidence.none')}"),
        Line2D([], [], color="#777777", lw=2, label=t("criteria.plot.base")),
        Line2D([], [], color="#777777", lw=1.5, ls=":", label=t("criteria.plot_required")),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09 - 0.3 / max(len(rows), 3)),
              ncol=3, frameon=False, fontsize=9)
    if rest > 0:  # said under the axis, where it cannot collide with the title or the ticks
        ax.set_xlabel(ax.get_xlabel() + "\n" + t("criteria.plot.more", count=rest))
    ax.grid(axis="y", visible=False)
    return ax


def plot_chance_line(result, *, ax=None, max_marks: int = 12):
    """How high chance alone reaches: the best score of each label shuffle, against the rules found.

    `result` is a CriteriaResult. Rules right of the dashed chance line are `supported`.
    """
    ax = new_axes(ax, figsize=(9, 4.5))
    null = np.asarray(result.null_max, dtype=float)
    null = null[np.isfinite(null)]
    data = result.table[result.table["source"] == "data"]
    if len(null):
        ax.hist(null, bins=30, color="#bbbbbb", edgecolor="white")
    ax.axvline(result.chance_line, color="#333333", ls="--", lw=1.5)
    ax.annotate(f"z = {result.chance_line:.2f}", xy=(result.chance_line, 1), xycoords=("data", "axes fraction"),
                xytext=(4, -14), textcoords="offset points", fontsize=9)
    top = data.sort_values("statistic", ascending=False).head(max_marks)
    for _, row in top.iterrows():
        ax.axvline(row["statistic"], ymax=0.25, color=POINTS_TO_COLORS.get(row["points_to"], "#555"), lw=2)
    ax.set_title(t("criteria.plot.null_title"))
    ax.set_xlabel(t("criteria.plot.null_xlabel"))
    ax.set_ylabel(t("criteria.plot.null_ylabel"))
    handles = [Line2D([], [], color="#333333", ls="--", label=t("criteria.plot.chance_line")),
               Line2D([], [], color=POINTS_TO_COLORS["A"], lw=2, label=f"{t('criteria.plot.observed')}: A"),
               Line2D([], [], color=POINTS_TO_COLORS["C"], lw=2, label=f"{t('criteria.plot.observed')}: C")]
    ax.legend(handles=handles, loc="upper right", fontsize=9, frameon=False)
    return ax


def plot_stability(table: pd.DataFrame, *, ax=None, max_rows: int = MAX_ROWS):
    """How often bootstrap resamples find each rule again above the chance line (bars, %)."""
    rows = table[table["stability"].notna()]
    rows, rest = _top(rows, max_rows)
    ax = new_axes(ax, figsize=(9, 0.38 * max(len(rows), 3) + 1.4))
    y = np.arange(len(rows))[::-1]
    colours = [POINTS_TO_COLORS.get(p, "#555555") for p in rows["points_to"]]
    ax.barh(y, rows["stability"] * 100, color=colours, alpha=0.85)
    ax.set_yticks(y, [f"{p} · {_label(r)}" for p, r in zip(rows["points_to"], rows["rule"])])
    ax.set_xlim(0, 100)
    ax.set_xlabel(t("criteria.plot.stability_xlabel"))
    ax.set_title(t("criteria.plot.stability_title"))
    if rest > 0:  # said under the axis, where it cannot collide with the title or the ticks
        ax.set_xlabel(ax.get_xlabel() + "\n" + t("criteria.plot.more", count=rest))
    ax.grid(axis="y", visible=False)
    return ax
