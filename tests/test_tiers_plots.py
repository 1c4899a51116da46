"""Plots of step 2 (tiers): each draws, is titled and labelled, thins large data, and survives missing inputs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.step2_place_in_tiers import plots
from helpers.step2_place_in_tiers.tiers import build_tiers


def _company(n: int, *, placement: bool = True) -> Company:
    rng = np.random.default_rng(5)
    ids = [f"K{i:05d}" for i in range(n)]
    clients = pd.DataFrame({"client_id": ids, "name": [f"Client {i}" for i in range(n)],
                            "payment_delay_days": rng.integers(0, 60, n).astype(float),
                            "support_hours": rng.gamma(2, 5, n).round(1)})
    rows = 6 * n
    tx = pd.DataFrame({"client_id": rng.choice(ids, rows),
                       "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
                       "amount": rng.pareto(1.5, rows).round(2) * 100 + 1})
    team = pd.DataFrame({"client_id": ids, "tier": rng.choice(["A1", "A2", "B1", "B3", "C", "D", "A"], n)})
    return Company(folder=Path("fixture"), settings=CompanySettings(), clients=clients,
                   placement=team if placement else None, transactions=tx)


@pytest.fixture(scope="module")
def result():
    return build_tiers(_company(60))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", ["plot_pareto", "plot_abc_xyz", "plot_confusion", "plot_score_components",
                                  "plot_tier_counts"])
def test_every_plot_draws_with_a_title_and_axis_labels(result, name, tmp_path):
    ax = getattr(plots, name)(result)
    assert ax.get_title()
    assert ax.get_xlabel() or name == "plot_score_components"
    ax.figure.savefig(tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 5_000


def test_pareto_draws_the_a_and_b_lines(result):
    ax = plots.plot_pareto(result)
    levels = sorted(round(line.get_ydata()[0], 6) for line in ax.get_lines() if len(set(line.get_ydata())) == 1
                    and len(line.get_ydata()) == 2 and line.get_xdata()[0] == 0 and line.get_xdata()[1] == 1)
    assert levels == [80.0, 95.0]


def test_pareto_thins_a_large_curve():
    big = build_tiers(_company(3000, placement=False))
    ax = plots.plot_pareto(big)
    curve = max(ax.get_lines(), key=lambda line: len(line.get_xdata()))
    assert len(curve.get_xdata()) <= plots.MAX_CURVE_POINTS + 1
    assert curve.get_ydata()[-1] == pytest.approx(100.0)


def test_confusion_cells_are_the_counts(result):
    ax = plots.plot_confusion(result)
    shown = sum(int(text.get_text()) for text in ax.texts if text.get_text().isdigit())
    assert shown == int(result.confusion.to_numpy().sum())


def test_components_for_a_list_of_clients(result):
    ids = result.table["client_id"].head(5)
    ax = plots.plot_score_components(result, clients=ids)
    assert len(ax.get_yticklabels()) == 5


def test_missing_placement_gives_a_message_not_an_error():
    ax = plots.plot_confusion(build_tiers(_company(20, placement=False)))
    assert not ax.axison and ax.texts
