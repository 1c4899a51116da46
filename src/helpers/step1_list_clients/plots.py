"""Plots for step 1 of the method (list the clients): client mix, concentration, price mix, client types.

Each takes a result of `helpers.step1_list_clients.audit`, draws on `ax` (or a new one) and returns the Axes. Every plot
shows at most a few dozen bars, whatever the number of clients.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from helpers.step1_list_clients.audit import PRICE_BANDS, ClientMix, PriceMix
from helpers.core.i18n import t
from helpers.core.plot_style import TIER_COLORS, new_axes

# Measures keep one colour in every audit plot: clients in blue, money in green, the target in grey.
CLIENTS_COLOR = TIER_COLORS["B2"]
MONEY_COLOR = TIER_COLORS["A1"]
TARGET_COLOR = "#444444"
PRICE_COLORS = {"cheap": TIER_COLORS["B3"], "mid": TIER_COLORS["B1"], "expensive": TIER_COLORS["A1"]}
# bad-client signals in the tier colour of C, gold in gold, the rest neutral
TYPE_COLORS = {"gold": "#c9a227", "bad": TIER_COLORS["C"], "other": TIER_COLORS["B2"]}
MAX_NAME = 28


def _message(ax, text: str):
    ax.text(0.5, 0.5, textwrap.fill(text, 50), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def _short(name: str, width: int = MAX_NAME) -> str:
    name = " ".join(str(name).split())  # newlines and tabs in a client name would break the axis
    return name if len(name) <= width else name[: width - 1] + "…"


def _label_bars(ax, bars, values, fmt="{:.0f}%", **kwargs):
    for bar, value in zip(bars, values):
        if np.isfinite(value):
            ax.annotate(fmt.format(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=9, **kwargs)


def plot_client_mix(mix: ClientMix, *, ax=None):
    """Per size band, the share of clients beside the share of revenue, with client counts on the bars."""
    ax = new_axes(ax, figsize=(8, 4.5))
    bands = mix.bands
    if bands.empty or bands["revenue_share"].isna().all():
        return _message(ax, t("audit.plot.no_data"))
    x = np.arange(len(bands))
    width = 0.38
    client_pct = bands["client_share"].to_numpy(dtype=float) * 100
    money_pct = bands["revenue_share"].to_numpy(dtype=float) * 100
    left = ax.bar(x - width / 2, client_pct, width, color=CLIENTS_COLOR, label=t("audit.plot.clients"))
    right = ax.bar(x + width / 2, money_pct, width, color=MONEY_COLOR, label=t("audit.plot.revenue"))
    for bar, pct, count in zip(left, client_pct, bands["clients"]):
        ax.annotate(f"{pct:.0f}%\n(n={count:,})".replace(",", "\u202f"),
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=9)
    _label_bars(ax, right, money_pct)
    ax.set_xticks(x, bands["label"])
    ax.set_ylim(0, min(100, max(np.nanmax(client_pct), np.nanmax(money_pct))) * 1.22 + 2)
    ax.set_title(t("audit.plot.mix_title"))
    ax.set_xlabel(t("audit.plot.mix_x"))
    ax.set_ylabel(t("audit.plot.mix_y"))
    ax.legend(loc="upper right", fontsize=9)
    return ax


def plot_concentration(mix: ClientMix, *, top: int = 15, mono_share: float = 0.50, ax=None):
    """The `top` largest clients as horizontal bars of their revenue share, each with the running total.

    The running total (Σ) at the end of each bar reads "these clients together make X%". The
    mono-client line is drawn when the largest client comes within reach of it.
    """
    table = mix.table
    shown = table[table["revenue"] > 0].head(top)
    ax = new_axes(ax, figsize=(9, max(3.0, 0.32 * len(shown) + 1.4)))
    if shown.empty:
        return _message(ax, t("audit.plot.no_data"))
    pct = shown["share"].to_numpy(dtype=float) * 100
    cum = shown["cum_share"].to_numpy(dtype=float) * 100
    y = np.arange(len(shown))[::-1]
    ax.barh(y, pct, color=MONEY_COLOR, height=0.7)
    labels = [f"{i + 1}. {_short(name)}" for i, name in enumerate(shown["name"])]
    ax.set_yticks(y, labels, fontsize=9)
    limit = float(np.nanmax(pct))
    for yi, p, c in zip(y, pct, cum):
        ax.text(p + limit * 0.01, yi, f"{p:.1f}%   Σ {c:.0f}%", va="center", fontsize=8.5, color="#333333")
    right = limit * 1.35
    if limit >= mono_share * 100 / 2:
        ax.axvline(mono_share * 100, color=TIER_COLORS["C"], linestyle="--", linewidth=1.2,
                   label=t("audit.plot.mono_line", pct=f"{mono_share * 100:.0f}"))
        right = max(right, mono_share * 100 * 1.1)
        ax.legend(loc="lower right", fontsize=9)
    ax.set_xlim(0, right)
    rest = int((table["revenue"] > 0).sum()) - len(shown)
    title = t("audit.plot.concentration_title", n=len(shown))
    if rest > 0:
        title += "\n" + t("audit.plot.others", count=f"{rest:,}".replace(",", "\u202f")) + \
                 f": {max(0.0, 100 - cum[-1]):.0f}%"
    ax.set_title(title)
    ax.set_xlabel(t("audit.plot.concentration_x"))
    ax.grid(axis="y", visible=False)
    return ax


def plot_price_mix(price: PriceMix | None, *, ax=None):
    """Share of purchases and of revenue per price band, with the example target as a marker."""
    ax = new_axes(ax, figsize=(8, 4.5))
    if price is None:
        return _message(ax, t("audit.plot.no_transactions"))
    bands = price.bands
    x = np.arange(len(bands))
    width = 0.38
    buy = bands["purchase_share"].to_numpy(dtype=float) * 100
    money = bands["revenue_share"].to_numpy(dtype=float) * 100
    target = bands["target_share"].to_numpy(dtype=float) * 100
    left = ax.bar(x - width / 2, buy, width, color=CLIENTS_COLOR, label=t("audit.plot.purchases"))
    right = ax.bar(x + width / 2, money, width, color=MONEY_COLOR, label=t("audit.plot.revenue"))
    # the target as a dashed outline around the purchases bar, so both read against the same scale
    ax.bar(x - width / 2, target, width, fill=False, edgecolor=TARGET_COLOR, linestyle="--", linewidth=1.4,
           label=t("audit.plot.target"))
    for bar, value, goal in zip(left, buy, target):
        top = max(value, goal if np.isfinite(goal) else 0)
        ax.annotate(f"{value:.0f}%", (bar.get_x() + bar.get_width() / 2, top), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=9)
    _label_bars(ax, right, money)
    ticks = [f"{label}\n{rng}" for label, rng in zip(bands["label"], bands["range"])]
    ax.set_xticks(x, ticks)
    ax.set_ylim(0, min(100, np.nanmax(np.concatenate([buy, money, target]))) * 1.3 + 2)
    ax.set_title(t("audit.plot.price_title"))
    ax.set_xlabel(t("audit.plot.price_x", currency=price.currency))
    ax.set_ylabel(t("audit.plot.mix_y"))
    ax.legend(loc="upper center", ncol=3, fontsize=9)
    return ax


def plot_price_by_size(price: PriceMix | None, *, ax=None):
    """For each size band, how its purchases split between cheap, mid-priced and expensive (stacked to 100%)."""
    ax = new_axes(ax, figsize=(8, 3.8))
    if price is None:
        return _message(ax, t("audit.plot.no_transactions"))
    table = price.by_size
    y = np.arange(len(table))[::-1]
    left = np.zeros(len(table))
    for band in PRICE_BANDS:
        values = table[band].to_numpy(dtype=float) * 100
        ax.barh(y, values, left=left, color=PRICE_COLORS[band], height=0.6, label=t(f"audit.price.{band}"))
        for yi, start, value in zip(y, left, values):
            if value >= 7:  # a label in a thinner slice would overlap its neighbours
                ax.text(start + value / 2, yi, f"{value:.0f}%", ha="center", va="center", fontsize=9,
                        color="white" if band != "cheap" else "#222222")
        left += values
    ax.set_yticks(y, [f"{t('audit.band.' + b)} (n={n:,})".replace(",", "\u202f")
                      for b, n in zip(table["size_band"], table["purchases"])])
    ax.set_xlim(0, 100)
    ax.set_xlabel(t("audit.plot.price_y"))
    ax.set_title(t("audit.plot.price_by_size_title"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=9, frameon=False)
    ax.grid(axis="y", visible=False)
    return ax


def plot_client_types(summary: pd.DataFrame, *, ax=None):
    """Clients per typology tag the data could show (gold in gold, bad-client signals in red)."""
    shown = summary[summary["available"]].copy()
    ax = new_axes(ax, figsize=(8, max(3.0, 0.38 * len(shown) + 1.2)))
    if shown.empty:
        return _message(ax, t("audit.plot.no_data"))
    y = np.arange(len(shown))[::-1]
    colors = [TYPE_COLORS["gold"] if tag == "gold" else TYPE_COLORS["bad"] if tag.startswith("bad_")
              else TYPE_COLORS["other"] for tag in shown["type"]]
    counts = shown["clients"].to_numpy(dtype=float)
    ax.barh(y, counts, color=colors, height=0.65)
    top = float(np.nanmax(counts)) if np.nanmax(counts) > 0 else 1.0
    for yi, count, share in zip(y, counts, shown["revenue_share"].to_numpy(dtype=float)):
        text = f"{count:,.0f}".replace(",", "\u202f")
        if np.isfinite(share) and count > 0:
            text += f"  ({share * 100:.{0 if share >= 0.1 else 1}f}% {t('audit.plot.of_revenue')})"
        ax.text(count + top * 0.01, yi, text, va="center", fontsize=9)
    ax.set_yticks(y, shown["label"])
    ax.set_xlim(0, top * 1.4)
    ax.set_title(t("audit.plot.types_title"))
    ax.set_xlabel(t("audit.plot.types_x"))
    ax.grid(axis="y", visible=False)
    return ax
