"""Plots for step 4 of the method (work with the tiers): key clients' contact cadence, relationship, managers.

Each takes the `helpers.keyclients.KeyClientWork` of a company, draws on `ax` (or a new one) and returns the
Axes; a part whose input is missing draws a short message instead.
"""

from __future__ import annotations

import numpy as np

from ..i18n import t
from ..keyclients import SCORE_MAX, KeyClientWork
from .common import TIER_COLORS, new_axes

MAX_BARS = 20
GOOD, BAD = TIER_COLORS["A1"], "#c0392b"


def _message(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return ax


def _short(name, width: int = 28) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def plot_contact_cadence(work: KeyClientWork, *, ax=None):
    """Days since the last positive contact per key client, with the cadence line (longest first)."""
    ax = new_axes(ax, figsize=(8, 5))
    cadence = work.cadence
    if cadence is None or cadence.empty:
        return _message(ax, t("report.keyclients.no_contacts"))
    every = work.settings.positive_every_days
    data = cadence.head(MAX_BARS).iloc[::-1]
    # a key client never contacted positively is drawn at the length of the log, in red
    longest = float(np.nanmax(cadence["days_since_positive"].to_numpy(dtype=float), initial=every * 2))
    days = data["days_since_positive"].astype(float).fillna(longest)
    colors = [BAD if d > every else GOOD for d in days]
    ax.barh([_short(n) for n in data["name"]], days, color=colors)
    ax.axvline(every, color="#333333", linestyle="--", linewidth=1.2)
    ax.text(every, len(data) - 0.4, " " + t("report.keyclients.cadence_line", days=every), fontsize=9, va="bottom")
    ax.set_xlabel(t("report.keyclients.cadence_x"))
    ax.set_title(t("report.keyclients.cadence_title"))
    return ax


def plot_relationship_gaps(work: KeyClientWork, *, ax=None):
    """Mean score per aspect across key clients (bars), against the maximum of the four-point scale."""
    ax = new_axes(ax, figsize=(8, 4.5))
    weakest = work.weakest
    if weakest is None or weakest.empty:
        return _message(ax, t("report.keyclients.no_relationship"))
    data = weakest.head(MAX_BARS).iloc[::-1]
    colors = [BAD if s < 3 else GOOD for s in data["mean_score"]]
    ax.barh([_short(a) for a in data["aspect"]], data["mean_score"], color=colors)
    ax.axvline(SCORE_MAX, color="#333333", linestyle="--", linewidth=1.2)
    ax.set_xlim(0, SCORE_MAX + 0.3)
    ax.set_xlabel(t("report.keyclients.relationship_x", max=SCORE_MAX))
    ax.set_title(t("report.keyclients.relationship_title"))
    return ax


def plot_manager_load(work: KeyClientWork, *, ax=None):
    """Key clients per manager weighted by revenue, with the advised maximum."""
    ax = new_axes(ax, figsize=(7, 4))
    managers = work.managers
    if managers is None or managers.empty:
        return _message(ax, t("report.keyclients.no_managers"))
    data = managers.head(MAX_BARS).iloc[::-1]
    colors = [BAD if over else GOOD for over in data["over"]]
    ax.barh([_short(m) for m in data["manager"]], data["weighted_load"].fillna(0), color=colors)
    limit = work.per_manager
    ax.axvline(limit, color="#333333", linestyle="--", linewidth=1.2)
    ax.set_xlabel(t("report.keyclients.managers_x", limit=limit))
    ax.set_title(t("report.keyclients.managers_title"))
    return ax
