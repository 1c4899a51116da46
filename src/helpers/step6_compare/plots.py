"""Plots of the re-audit (`tierbook compare`): how clients flowed between tier groups from one run to the next."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from helpers.core.i18n import t
from helpers.core.plot_style import TIER_COLORS, new_axes

_EXTRA_COLORS = {"new": "#66c2a5", "lost": "#bdbdbd", "?": "#d9d9d9"}
_GAP = 0.02  # vertical gap between boxes, as a share of all clients


def _color(group: str) -> str:
    return TIER_COLORS.get(group) or _EXTRA_COLORS.get(group, "#d9d9d9")


def _group_name(label: str) -> str:
    return t(f"compare.plot.group_{label}") if label in ("new", "lost") else label


def _stack(sizes: pd.Series, total: float) -> dict[str, float]:
    """Bottom of each box, stacked from the top (first group highest)."""
    bottoms, top = {}, 1.0 + _GAP * (len(sizes) - 1)
    for label, size in sizes.items():
        top -= size / total
        bottoms[label] = top
        top -= _GAP
    return bottoms


def plot_tier_migration(matrix: pd.DataFrame, *, basis: str = "team", ax=None):
    """Flows of clients from tier groups then (left) to tier groups now (right); band width = clients.

    Args:
        matrix: `helpers.step6_compare.compare.migration_matrix` — rows: groups then (plus "new"), columns: groups now
            (plus "lost"), cells: clients.
        basis: "team" or "suggested", named in the title.
        ax: an Axes to draw on, else a new figure.

    Returns:
        The Axes.
    """
    ax = new_axes(ax, figsize=(8, 5.5))
    total = float(matrix.to_numpy().sum())
    ax.set_axis_off()
    ax.set_title(t("compare.plot.title", basis=t(f"compare.basis.{basis}")))
    if total == 0:
        ax.text(0.5, 0.5, t("compare.plot.empty"), ha="center", va="center")
        return ax
    left, right = matrix.sum(axis=1), matrix.sum(axis=0)
    left, right = left[left > 0], right[right > 0]
    left_bottom, right_bottom = _stack(left, total), _stack(right, total)
    width = 0.08
    for x, sizes, bottoms, side in ((0.0, left, left_bottom, "then"), (1.0 - width, right, right_bottom, "now")):
        for label, size in sizes.items():
            ax.add_patch(Rectangle((x, bottoms[label]), width, size / total, color=_color(label), lw=0))
            text_x = x - 0.01 if side == "then" else x + width + 0.01
            ax.text(text_x, bottoms[label] + size / total / 2, f"{_group_name(label)} · {int(size)}",
                    ha="right" if side == "then" else "left", va="center", fontsize=10)
    # bands: each left box is split in the order of the right boxes, and each right box likewise
    out_offset = {k: v + left[k] / total for k, v in left_bottom.items()}
    in_offset = {k: v + right[k] / total for k, v in right_bottom.items()}
    xs = np.linspace(width, 1.0 - width, 60)
    ease = (1 - np.cos(np.linspace(0, np.pi, 60))) / 2
    for source in left.index:
        for target in right.index:
            count = matrix.loc[source, target] if target in matrix.columns else 0
            if count <= 0:
                continue
            h = count / total
            top_l, top_r = out_offset[source], in_offset[target]
            out_offset[source] -= h
            in_offset[target] -= h
            upper = top_l + (top_r - top_l) * ease
            ax.fill_between(xs, upper - h, upper, color=_color(source if source != "new" else target),
                            alpha=0.45 if source != target else 0.25, lw=0)
    ax.text(width / 2, 1.0 + _GAP * len(left) + 0.02, t("compare.plot.then"), ha="center", fontsize=11)
    ax.text(1.0 - width / 2, 1.0 + _GAP * len(right) + 0.02, t("compare.plot.now"), ha="center", fontsize=11)
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.02, 1.0 + _GAP * max(len(left), len(right)) + 0.08)
    return ax
