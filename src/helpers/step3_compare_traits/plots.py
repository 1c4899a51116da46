"""Plots for step 3 of the method (compare the traits of the tiers): distributions, effects, deal reasons.

Each takes the result of `helpers.step3_compare_traits.traits.compare_traits` or `helpers.step3_compare_traits.deals.summarise_deals`, draws on
`ax` (or a new one) and returns the Axes. Every plot shows how many clients or deals stand behind it.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import to_rgb

from helpers.core.vocabulary import DEAL_OUTCOMES, WON_OUTCOMES
from helpers.step3_compare_traits.deals import NO_TIER, DealSummary
from helpers.core.i18n import t
from helpers.step3_compare_traits.traits import TraitComparison
from helpers.core.plot_style import POINTS_TO_COLORS, TIER_COLORS, new_axes, tier_palette

# Points drawn per tier in a strip plot; beyond it a random sample keeps the plot readable and fast.
MAX_STRIP_POINTS = 300
OUTCOME_COLORS = {"won_fast": "#1b7837", "won": "#7fbf7b", "stalled": "#f1a340", "refused": "#d6604d"}
CONTRAST_OFFSETS = {"A vs rest": -0.17, "C vs rest": 0.17, "A vs B": 0.0}


def _tier_label(tier: str, n: int) -> str:
    name = t("deals.unplaced") if tier == NO_TIER else tier
    return f"{name}\nn={n}"


def _text_color(color) -> str:
    """White on dark segments, black on light ones, so counts stay readable."""
    r, g, b = to_rgb(color)
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def _sample_per_tier(data: pd.DataFrame) -> pd.DataFrame:
    """At most MAX_STRIP_POINTS random rows per tier (the box still uses every row)."""
    shuffled = data.sample(frac=1.0, random_state=0)
    return shuffled[shuffled.groupby("tier").cumcount() < MAX_STRIP_POINTS]


def _strip(sample: pd.DataFrame, column: str, order: list[str], ax) -> None:
    """The points of a box plot, jittered the same way every run: seaborn jitters with numpy's global
    generator, which is seeded for the call and then put back, so a figure (and the report) is reproducible."""
    state = np.random.get_state()
    np.random.seed(0)
    try:
        sns.stripplot(data=sample, x="tier", y=column, order=order, color="#333333", size=3.5, alpha=0.6,
                      jitter=0.18, ax=ax)
    finally:
        np.random.set_state(state)


def _empty(ax, message: str):
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def plot_trait_distribution(comparison: TraitComparison, trait: str, *, ax=None):
    """One trait per tier: box and points for a number, stacked shares with counts for yes/no and categories."""
    ax = new_axes(ax, figsize=(8, 4.5))
    if trait not in comparison.kinds:
        return _empty(ax, t("traits.plot.not_compared", trait=trait))
    kind = comparison.kinds[trait]
    data = comparison.values[["tier", trait]].dropna()
    order = [tier for tier in comparison.counts.index if (data["tier"] == tier).any()]
    if not order:
        return _empty(ax, t("traits.plot.no_values", trait=trait))
    sizes = data["tier"].value_counts()
    labels = [_tier_label(tier, int(sizes.get(tier, 0))) for tier in order]
    colors = dict(zip(order, tier_palette(order)))
    if kind == "number":
        data = data.assign(**{trait: data[trait].astype(float)})
        sns.boxplot(data=data, x="tier", y=trait, order=order, hue="tier", hue_order=order, palette=colors,
                    showfliers=False, width=0.55, boxprops={"alpha": 0.55}, legend=False, ax=ax)
        sample = _sample_per_tier(data)
        _strip(sample, trait, order, ax)
        ax.set_xticks(range(len(order)), labels)
        ax.set_ylabel(t("traits.plot.value_axis", trait=trait))
        ax.set_xlabel(t("traits.plot.tier_axis"))
    else:
        levels = list(dict.fromkeys(comparison.distributions.query("trait == @trait")["level"].dropna()))
        shares = pd.crosstab(data["tier"], data[trait]).reindex(index=order, columns=levels, fill_value=0)
        palette = dict(zip(levels, sns.color_palette("Set2" if kind == "category" else ["#4d9221", "#bababa"],
                                                     len(levels))))
        left = np.zeros(len(order))
        totals = shares.sum(axis=1).to_numpy(dtype=float)
        for level in levels:
            counts = shares[level].to_numpy(dtype=float)
            widths = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) * 100
            ax.barh(range(len(order)), widths, left=left, color=palette[level], edgecolor="white",
                    label=textwrap.shorten(str(level), 28, placeholder="…"))
            for i, (w, c) in enumerate(zip(widths, counts)):
                if w >= 7:  # narrow segments keep quiet rather than overlap
                    ax.text(left[i] + w / 2, i, f"{int(c)}", ha="center", va="center", fontsize=9,
                            color=_text_color(palette[level]))
            left += widths
        ax.set_yticks(range(len(order)), [label.replace("\n", " ") for label in labels])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(t("traits.plot.share_axis"))
        ax.set_ylabel(t("traits.plot.tier_axis"))
        ax.legend(title=trait, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False, fontsize=9)
    ax.set_title(t("traits.plot.distribution_title", trait=trait, n=len(data)))
    return ax


def plot_effect_forest(comparison: TraitComparison, *, contrasts=("A vs rest", "C vs rest"), top: int = 12,
                       ax=None):
    """The effect of each trait with its 95% interval, for A vs rest and C vs rest, best-separating first.

    Effects share one scale from -1 to 1 (Cliff's delta for numbers, the difference of shares for
    yes/no and categories). First-contact traits are in bold; the others are visible only after the sale.
    """
    table = comparison.contrasts
    rows = table[table["contrast"].isin(contrasts) & table["note"].isna()]
    if rows.empty:
        return _empty(new_axes(ax, figsize=(9, 4)), t("traits.plot.no_effects"))
    best = (rows.groupby("trait").agg(first_contact=("first_contact", "first"), separation=("separation", "max"),
                                      size=("effect", lambda e: e.abs().max()))
            .sort_values(["first_contact", "separation", "size"], ascending=[False, False, False], kind="stable"))
    traits = best.index[:top].tolist()
    ax = new_axes(ax, figsize=(9, 0.45 * len(traits) + 1.8))
    ax.axvline(0, color="#777777", linewidth=1)
    for name in contrasts:
        part = rows[rows["contrast"] == name].set_index("trait").reindex(traits)
        if part["effect"].isna().all():
            continue
        y = np.arange(len(traits)) + CONTRAST_OFFSETS.get(name, 0.0)
        color = POINTS_TO_COLORS[part["points_to"].dropna().iloc[0]]
        err = np.vstack([(part["effect"] - part["effect_low"]).to_numpy(float),
                         (part["effect_high"] - part["effect"]).to_numpy(float)])
        n_group, n_rest = int(part["n_group"].max()), int(part["n_rest"].max())
        # a category's effect belongs to one level, which may differ between contrasts: name it
        for yi, (kind, level, high) in enumerate(zip(part["kind"], part["level"], part["effect_high"])):
            if kind == "category" and isinstance(level, str):
                ax.text(min(high, 0.75) + 0.03, y[yi], textwrap.shorten(level, 18, placeholder="…"),
                        va="center", fontsize=8, color=color)
        label = t("traits.plot.contrast_legend", contrast=t("traits.contrast." + name.replace(" ", "_")),
                  n_group=n_group, n_rest=n_rest)
        ax.errorbar(part["effect"], y, xerr=err, fmt="o", color=color, ecolor=color, elinewidth=2, capsize=3,
                    markersize=6, label=label)
    labels = []
    for trait in traits:
        own = rows[rows["trait"] == trait]
        levels = own["level"].dropna().unique()
        level = f" = {levels[0]}" if len(levels) == 1 and (own["kind"] != "category").all() else ""
        labels.append(textwrap.shorten(f"{trait}{level}", 34, placeholder="…"))
    ax.set_yticks(range(len(traits)), labels)
    for tick, trait in zip(ax.get_yticklabels(), traits):
        if best.loc[trait, "first_contact"]:
            tick.set_fontweight("bold")
        else:
            tick.set_color("#777777")
    ax.invert_yaxis()
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel(t("traits.plot.effect_axis"))
    ax.set_title(t("traits.plot.forest_title"))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=len(contrasts), frameon=False, fontsize=9)
    ax.text(1.0, -0.08 - 0.6 / max(len(traits), 1), t("traits.plot.forest_note"), transform=ax.transAxes,
            ha="right", va="top", fontsize=8.5, color="#555555")
    return ax


def plot_deal_reasons(summary: DealSummary | None, *, top: int = 12, ax=None):
    """Reason groups by deal outcome: how many deals won fast, won, stalled or were refused for each reason."""
    ax = new_axes(ax, figsize=(9, 5))
    if summary is None or summary.reasons_by_outcome.empty:
        return _empty(ax, t("traits.plot.no_deals"))
    table = summary.reasons_by_outcome.head(top)
    outcomes = [o for o in DEAL_OUTCOMES if o in table.columns]
    per_outcome = summary.deals["outcome"].value_counts()
    left = np.zeros(len(table))
    for outcome in outcomes:
        counts = table[outcome].to_numpy(dtype=float)
        ax.barh(range(len(table)), counts, left=left, color=OUTCOME_COLORS[outcome], edgecolor="white",
                label=f"{t('deals.outcomes.' + outcome)} (n={int(per_outcome.get(outcome, 0))})")
        for i, c in enumerate(counts):
            if c >= max(2, table["total"].max() * 0.06):
                ax.text(left[i] + c / 2, i, f"{int(c)}", ha="center", va="center", fontsize=9,
                        color=_text_color(OUTCOME_COLORS[outcome]))
        left += counts
    ax.set_yticks(range(len(table)), [textwrap.shorten(str(g), 32, placeholder="…") for g in table.index])
    ax.invert_yaxis()
    ax.set_xlabel(t("traits.plot.deals_axis"))
    ax.set_title(t("traits.plot.reasons_title", n=len(summary.deals)))
    ax.legend(title=t("traits.plot.outcome_legend"), bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False,
              fontsize=9)
    return ax


def plot_deal_cycle(summary: DealSummary | None, *, ax=None):
    """Days from first contact to a won deal, per tier: does A really buy faster?"""
    ax = new_axes(ax, figsize=(8, 4.5))
    if summary is None:
        return _empty(ax, t("traits.plot.no_deals"))
    won = summary.deals[summary.deals["outcome"].isin(WON_OUTCOMES)].dropna(subset=["cycle_days"])
    if won.empty:
        return _empty(ax, t("traits.plot.no_cycle"))
    order = [tier for tier in ("A", "B", "C", NO_TIER) if (won["tier"] == tier).any()]
    sizes = won["tier"].value_counts()
    colors = {tier: TIER_COLORS.get(tier, TIER_COLORS["unplaced"]) for tier in order}
    sns.boxplot(data=won, x="tier", y="cycle_days", order=order, hue="tier", hue_order=order, palette=colors,
                showfliers=False, width=0.55, boxprops={"alpha": 0.55}, legend=False, ax=ax)
    sample = _sample_per_tier(won)
    _strip(sample, "cycle_days", order, ax)
    ax.set_xticks(range(len(order)), [_tier_label(tier, int(sizes.get(tier, 0))) for tier in order])
    ax.set_xlabel(t("traits.plot.tier_axis"))
    ax.set_ylabel(t("traits.plot.cycle_axis"))
    ax.set_title(t("traits.plot.cycle_title", n=len(won)))
    return ax
