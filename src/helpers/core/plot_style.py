"""Shared look of every plot: theme, tier colours, and a new-axes helper.

DejaVu Sans (matplotlib's default) covers Cyrillic, ₽, «» and №, so no font is forced.
"""

from __future__ import annotations

import matplotlib

import matplotlib.pyplot as plt
import seaborn as sns

# One colour per tier, kept the same in every plot: greens for A, blues for B, red for C.
TIER_COLORS = {
    "A1": "#1b7837", "A2": "#5aae61", "A3": "#a6dba0", "A": "#3f9a4c",
    "B1": "#2166ac", "B2": "#4393c3", "B3": "#92c5de", "B": "#3a7fc0",
    "C": "#d6604d", "D": "#8c8c8c", "X": "#9970ab", "unplaced": "#d9d9d9",
}
TIER_ORDER = ["A1", "A2", "A3", "A", "B1", "B2", "B3", "B", "C", "D", "X"]
# Colours for the two kinds of criteria.
POINTS_TO_COLORS = {"A": TIER_COLORS["A1"], "C": TIER_COLORS["C"]}


def setup_style() -> None:
    """One call at the top of every notebook: theme, readable font sizes, figure size."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.05)
    plt.rcParams.update({
        "figure.figsize": (9, 5),
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "savefig.bbox": "tight",
        "axes.titleweight": "bold",
        "axes.titlesize": 13,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def use_batch_backend() -> None:
    """Agg backend for runs without a screen (papermill, tests)."""
    matplotlib.use("Agg", force=True)


def new_axes(ax=None, *, figsize: tuple[float, float] | None = None):
    """Return `ax`, or a fresh Axes on a new figure."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def tier_palette(labels) -> list[str]:
    """Colours for a sequence of tier labels, grey for anything unknown."""
    return [TIER_COLORS.get(str(label), TIER_COLORS["unplaced"]) for label in labels]
