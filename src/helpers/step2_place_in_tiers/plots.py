"""Plots for step 2 of the method (tiers): Pareto curve, ABC-XYZ and demand-pattern matrices, team × data, scores.

Each takes the TierResult of `helpers.step2_place_in_tiers.tiers.build_tiers`, draws on `ax` (or a new one) and returns the
Axes. Large companies are thinned or aggregated, so every plot draws in well under a second.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import Rectangle

from helpers.core.i18n import t
from helpers.step2_place_in_tiers.tiers import DEMAND_PATTERNS, LADDER, TEAM_ORDER, TierResult
from helpers.core.plot_style import TIER_COLORS, new_axes, tier_palette

ABC_COLORS = {"A": TIER_COLORS["A1"], "B": TIER_COLORS["B1"], "C": TIER_COLORS["C"]}
# a curve of 2,000,000 points looks exactly like one of 600
MAX_CURVE_POINTS = 600


def plot_pareto(result: TierResult, *, ax=None):
    """Cumulative share of the basis against the share of clients, largest first, with the A and B lines."""
    ax = new_axes(ax, figsize=(9, 5))
    table = result.table
    basis_word = t(f"tiers.basis.{result.basis}")
    n = len(table)
    cum = table["cum_share"].to_numpy(dtype=float)
    if n == 0 or np.isnan(cum).all():
        ax.text(0.5, 0.5, t("tiers.flag.no_positive", basis=basis_word), ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return ax
    x = np.arange(1, n + 1) / n * 100
    y = np.nan_to_num(cum, nan=1.0) * 100
    keep = np.unique(np.linspace(0, n - 1, min(n, MAX_CURVE_POINTS)).round().astype(int))
    abc = table["abc"].to_numpy()
    # shade each class under the curve, in the tier colours
    for letter, color in ABC_COLORS.items():
        idx = np.flatnonzero(abc == letter)
        if len(idx) == 0:
            continue
        lo, hi = idx.min(), idx.max()
        seg = keep[(keep >= lo) & (keep <= hi)]
        seg = np.unique(np.concatenate([[lo], seg, [hi]]))
        left = x[lo - 1] if lo > 0 else 0.0
        xs = np.concatenate([[left], x[seg]])
        ys = np.concatenate([[y[lo - 1] if lo > 0 else 0.0], y[seg]])
        share = len(idx) / n * 100
        ax.fill_between(xs, 0, ys, color=color, alpha=0.35, linewidth=0,
                        label=f"{letter}: {len(idx):,} ({share:.0f}% {t('tiers.plot.count_y')})".replace(",", "\u202f"))
    ax.plot(np.concatenate([[0], x[keep]]), np.concatenate([[0], y[keep]]), color="#333333", linewidth=1.8)
    ax.plot([0, 100], [0, 100], color="#999999", linestyle=":", linewidth=1, label=t("tiers.plot.equal"))
    a_line, b_line = result.cutoffs
    for line, key, color in ((a_line, "line_a", ABC_COLORS["A"]), (b_line, "line_b", ABC_COLORS["B"])):
        ax.axhline(line * 100, color=color, linestyle="--", linewidth=1.2)
        ax.text(1, line * 100 + 1, t(f"tiers.plot.{key}", pct=f"{line * 100:.0f}"), color=color, fontsize=9,
                va="bottom")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, max(105, float(np.nanmax(y)) + 3))
    ax.set_title(t("tiers.plot.pareto_title", basis=basis_word))
    ax.set_xlabel(t("tiers.plot.pareto_x"))
    ax.set_ylabel(t("tiers.plot.pareto_y", basis=basis_word))
    ax.legend(loc="lower right", fontsize=9, frameon=True)
    return ax


def _matrix_heatmap(ax, matrix: pd.DataFrame, column: str, classes: list[str], labels: list[str]):
    """ABC rows × `classes` columns: clients per cell with the cell's share of revenue."""
    counts = matrix.pivot(index="abc", columns=column, values="clients").reindex(index=list("ABC"), columns=classes)
    shares = matrix.pivot(index="abc", columns=column, values="revenue_share").reindex(index=list("ABC"),
                                                                                    columns=classes)
    text = np.vectorize(lambda c, s: f"{int(c):,}\n({0 if pd.isna(s) else s * 100:.0f}%)".replace(",", "\u202f"))(
        counts.to_numpy(), shares.to_numpy())
    cmap = LinearSegmentedColormap.from_list("tiers", ["#f7f7f7", TIER_COLORS["B1"]])
    sns.heatmap(counts.astype(float).set_axis(labels, axis=1), annot=text, fmt="", cmap=cmap, cbar=False,
                linewidths=1, linecolor="white", annot_kws={"fontsize": 11}, ax=ax)
    ax.tick_params(axis="y", rotation=0)
    return ax


def _matrix_plot(result: TierResult, matrix: pd.DataFrame | None, column: str, classes: list[str],
                 labels: list[str], *, title: str, xlabel: str, ax, figsize):
    ax = new_axes(ax, figsize=figsize)
    if matrix is None:
        ax.text(0.5, 0.5, t("tiers.note.no_transactions"), ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return ax
    _matrix_heatmap(ax, matrix, column, classes, labels)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(t("tiers.plot.matrix_y", basis=t(f"tiers.basis.{result.basis}")))
    return ax


def plot_abc_xyz(result: TierResult, *, ax=None):
    """The 3×3 ABC-XYZ matrix: clients per cell, with the cell's share of revenue."""
    return _matrix_plot(result, result.matrix, "xyz", list("XYZ"), list("XYZ"), title=t("tiers.plot.matrix_title"),
                        xlabel=t("tiers.plot.matrix_x"), ax=ax, figsize=(6.5, 5))


def plot_abc_pattern(result: TierResult, *, ax=None):
    """ABC × Syntetos–Boylan demand pattern: clients per cell, with the cell's share of revenue."""
    return _matrix_plot(result, result.pattern_matrix, "demand_pattern", list(DEMAND_PATTERNS),
                        [t(f"tiers.class.{p}") for p in DEMAND_PATTERNS], title=t("tiers.regularity.matrix_title"),
                        xlabel=t("tiers.regularity.matrix_x"), ax=ax, figsize=(7.5, 5))


def plot_confusion(result: TierResult, *, ax=None):
    """Team tier (rows) × suggested tier (columns): the diagonal is agreement, far corners are questions."""
    ax = new_axes(ax, figsize=(8, 6))
    confusion = result.confusion
    if confusion is None or confusion.empty:
        ax.text(0.5, 0.5, t("tiers.flag.no_placement"), ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return ax
    cmap = LinearSegmentedColormap.from_list("agree", ["#ffffff", "#4d4d4d"])
    sns.heatmap(confusion, annot=True, fmt="d", cmap=cmap, cbar=False, linewidths=0.5, linecolor="#e0e0e0",
                annot_kws={"fontsize": 10}, ax=ax)
    # outline the cells where team and data agree (plain A and B match their whole tier)
    for i, team in enumerate(confusion.index):
        for j, suggested in enumerate(confusion.columns):
            if team == suggested or (team in ("A", "B") and suggested.startswith(team)):
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor=TIER_COLORS["A1"], linewidth=2))
    ax.set_title(t("tiers.plot.confusion_title"))
    ax.set_xlabel(t("tiers.plot.confusion_x"))
    ax.set_ylabel(t("tiers.plot.confusion_y"))
    ax.tick_params(axis="y", rotation=0)
    ax.tick_params(axis="x", rotation=0)
    for label in ax.get_yticklabels():
        label.set_color(TIER_COLORS.get(label.get_text(), "#333333"))
    return ax


def plot_score_components(result: TierResult, *, by: str = "suggested_tier", clients=None, ax=None):
    """Mean percentile (0-100) of each score component per tier, or per client for a short list of ids.

    Args:
        result: the step's result.
        by: "suggested_tier" or "team_tier" (rows of the heatmap).
        clients: optional client ids (e.g. the disagreement list, at most ~20) shown one per row instead.
    """
    columns = [f"score_{c}" for c in result.components]
    names = [textwrap.fill(t(f"tiers.component.{c}"), 10, break_long_words=False) for c in result.components]
    table = result.table
    if clients is not None:
        rows = table.set_index("client_id").loc[list(clients)[:20]]
        data = rows[columns] * 100
        data.index = [f"{n} ({team or '—'} → {sug})" for n, team, sug in
                      zip(rows["name"], rows["team_tier"].fillna(""), rows["suggested_tier"])]
        height = max(3.0, 0.45 * len(data) + 1.5)
        title = t("tiers.plot.components_title_clients")
    else:
        order = LADDER if by == "suggested_tier" else TEAM_ORDER
        grouped = table.groupby(by)[columns].mean() * 100
        data = grouped.reindex([x for x in order if x in grouped.index])
        sizes = table[by].value_counts()
        data.index = [f"{tier} (n={int(sizes.get(tier, 0))})" for tier in data.index]
        height = max(3.0, 0.5 * len(data) + 1.5)
        title = t("tiers.plot.components_title" if by == "suggested_tier" else "tiers.plot.components_title_team")
    ax = new_axes(ax, figsize=(9, height))
    data.columns = names
    cmap = LinearSegmentedColormap.from_list("score", [TIER_COLORS["C"], "#f7f7f7", TIER_COLORS["A1"]])
    sns.heatmap(data.astype(float), annot=True, fmt=".0f", vmin=0, vmax=100, cmap=cmap, linewidths=0.5,
                linecolor="white", cbar_kws={"label": t("tiers.plot.components_x")}, ax=ax)
    ax.set_title(title)
    ax.set_ylabel("" if clients is not None else t("tiers.plot.components_y"))
    ax.set_xlabel("")
    ax.tick_params(axis="y", rotation=0)
    ax.tick_params(axis="x", rotation=0, labelsize=10)
    if clients is None:
        for label in ax.get_yticklabels():
            label.set_color(TIER_COLORS.get(label.get_text().split(" ")[0], "#333333"))
    return ax


def plot_tier_counts(result: TierResult, *, ax=None):
    """Share of clients per tier: the team's placement (of the placed clients) beside the data's suggestion."""
    ax = new_axes(ax, figsize=(9, 4.5))
    counts = result.tier_counts.drop(index="unplaced", errors="ignore")
    # shares, not counts: a team often places a few dozen clients while the data ranks thousands
    shares = counts / counts.sum().replace(0, np.nan) * 100
    long = shares.reset_index().melt(id_vars="tier", var_name="source", value_name="clients")
    sizes = counts.sum()
    long["source"] = long["source"].map({
        "team": f"{t('tiers.plot.team')} (n={int(sizes['team']):,})".replace(",", "\u202f"),
        "suggested": f"{t('tiers.plot.suggested')} (n={int(sizes['suggested']):,})".replace(",", "\u202f")})
    sns.barplot(data=long, x="tier", y="clients", hue="source", palette=["#4d4d4d", "#bdbdbd"], ax=ax)
    for label, color in zip(ax.get_xticklabels(), tier_palette(counts.index)):
        label.set_color(color)
        label.set_fontweight("bold")
    ax.set_title(t("tiers.plot.count_title"))
    ax.set_xlabel(t("tiers.plot.count_x"))
    ax.set_ylabel(t("tiers.plot.count_share_y"))
    ax.legend(title="", fontsize=9)
    return ax
