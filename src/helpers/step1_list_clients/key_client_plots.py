"""Plots for step 4 of the method (work with the tiers): key clients' contact cadence, relationship, managers.

Each takes the `helpers.step1_list_clients.key_clients.KeyClientWork` of a company, draws on `ax` (or a new one) and returns the
Axes; a part whose input is missing draws a short message instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LinearSegmentedColormap

from helpers.core.i18n import label, t
from helpers.step1_list_clients.key_clients import SCORE_MAX, KeyClientWork
from helpers.core.plot_style import TIER_COLORS, new_axes

MAX_BARS = 20
GOOD, BAD = TIER_COLORS["A1"], "#c0392b"


def _message(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return ax


def _short(name, width: int = 28) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def _bars(ax, labels, values, bad, *, line: float, xlabel: str, title: str):
    """Horizontal bars (first row on top), red where `bad`, with a dashed reference line."""
    ax.barh([_short(v) for v in labels][::-1], list(values)[::-1], color=[BAD if b else GOOD for b in bad][::-1])
    ax.axvline(line, color="#333333", linestyle="--", linewidth=1.2)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return ax


def plot_contact_cadence(work: KeyClientWork, *, ax=None):
    """Days since the last positive contact per key client, with the cadence line (longest first)."""
    ax = new_axes(ax, figsize=(8, 5))
    cadence = work.cadence
    if cadence is None or cadence.empty:
        return _message(ax, t("report.keyclients.no_contacts"))
    every = work.settings.positive_every_days
    data = cadence.head(MAX_BARS)
    # a key client never contacted positively is drawn at the longest silence, in red
    longest = float(np.nanmax(cadence["days_since_positive"].to_numpy(dtype=float), initial=every * 2))
    days = data["days_since_positive"].astype(float).fillna(longest)
    _bars(ax, data["name"], days, days > every, line=every, xlabel=t("report.keyclients.cadence_x"),
          title=t("report.keyclients.cadence_title"))
    ax.text(every, len(data) - 0.4, " " + t("report.keyclients.cadence_line", days=every), fontsize=9, va="bottom")
    return ax


def plot_relationship_gaps(work: KeyClientWork, *, ax=None):
    """Mean score per aspect across key clients (bars, weakest on top), against the four-point maximum."""
    ax = new_axes(ax, figsize=(8, 4.5))
    weakest = work.weakest
    if weakest is None or weakest.empty:
        return _message(ax, t("report.keyclients.no_relationship"))
    data = weakest.head(MAX_BARS)
    _bars(ax, data["aspect"].map(lambda a: label("values", a)), data["mean_score"], data["mean_score"] < 3, line=SCORE_MAX,
          xlabel=t("report.keyclients.relationship_x", max=SCORE_MAX), title=t("report.keyclients.relationship_title"))
    ax.set_xlim(0, SCORE_MAX + 0.3)
    return ax


def plot_relationship_by_client(work: KeyClientWork, *, ax=None):
    """Score per key client (rows, largest gap first) and aspect (columns): where each relationship is weak."""
    per = work.per_aspect
    if per is None or per.empty:
        return _message(new_axes(ax), t("report.keyclients.no_relationship"))
    order = list(work.relationships["client_id"].head(MAX_BARS))
    aspects = list(work.weakest["aspect"])
    grid = per.pivot(index="client_id", columns="aspect", values="score").reindex(index=order, columns=aspects)
    names = work.relationships.set_index("client_id")["name"].reindex(order).fillna(pd.Series(order, index=order))
    ax = new_axes(ax, figsize=(min(14, 3 + 0.8 * len(aspects)), 1.5 + 0.4 * len(order)))
    cmap = LinearSegmentedColormap.from_list("relationship", [BAD, "#f7f7f7", GOOD])
    grid = grid.set_axis([label("values", a) for a in grid.columns], axis=1)  # aspects in the reader's language
    sns.heatmap(grid.set_axis([_short(n) for n in names], axis=0), vmin=1, vmax=SCORE_MAX, cmap=cmap, annot=True,
                fmt=".1f", cbar=False, linewidths=1, linecolor="white", ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("report.keyclients.by_client_title", max=SCORE_MAX))
    return ax


def plot_manager_load(work: KeyClientWork, *, ax=None):
    """Key clients per manager weighted by revenue, with the advised maximum (heaviest on top)."""
    ax = new_axes(ax, figsize=(7, 4))
    managers = work.managers
    if managers is None or managers.empty:
        return _message(ax, t("report.keyclients.no_managers"))
    data = managers.head(MAX_BARS)
    return _bars(ax, data["manager"], data["weighted_load"].fillna(0), data["over"], line=work.per_manager,
                 xlabel=t("report.keyclients.managers_x", limit=work.per_manager),
                 title=t("report.keyclients.managers_title"))
