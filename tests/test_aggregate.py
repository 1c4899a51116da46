"""Per-client aggregation behind ABC-XYZ (step 2), checked against hand-computed figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.step1_list_clients.client_figures import aggregate_transactions, sum_by_period


def _tx(rows):
    return pd.DataFrame(rows, columns=["client_id", "date", "amount"]).assign(date=lambda d: pd.to_datetime(d["date"]))


def _row(agg, cid):
    return agg.table.set_index("client_id").loc[cid]


def test_hand_computed_cv_over_the_whole_window():
    # a: Jan 10, Mar 30 -> months 10, 0, 30; b: only Feb -> 0, 5, 0
    tx = _tx([("a", "2025-01-05", 10.0), ("a", "2025-03-02", 30.0), ("b", "2025-02-10", 5.0)])
    agg = aggregate_transactions(tx)
    assert agg.n_periods == 3
    assert agg.window_start == pd.Timestamp("2025-01-01") and agg.window_end == pd.Timestamp("2025-03-01")
    a = _row(agg, "a")
    mean = 40 / 3
    std = math.sqrt((10 ** 2 + 0 + 30 ** 2) / 3 - mean ** 2)  # population deviation, zero month included
    assert a["period_mean"] == pytest.approx(mean)
    assert a["cv"] == pytest.approx(std / mean)
    assert a["cv"] == pytest.approx(np.std([10, 0, 30]) / np.mean([10, 0, 30]))
    assert a["cv"] != pytest.approx(np.std([10, 0, 30], ddof=1) / np.mean([10, 0, 30]))  # not Excel's STDEV
    assert _row(agg, "b")["cv"] == pytest.approx(math.sqrt(2))


def test_one_purchase_in_a_twelve_month_window():
    tx = _tx([("one", "2025-06-15", 500.0), ("other", "2025-01-01", 1.0), ("other", "2025-12-31", 1.0)])
    agg = aggregate_transactions(tx)
    assert agg.n_periods == 12
    one = _row(agg, "one")
    assert one["purchases"] == 1 and one["active_periods"] == 1
    # one value s and eleven zeros: std = s*sqrt(11)/12, mean = s/12
    assert one["cv"] == pytest.approx(math.sqrt(11))


def test_steady_client_has_zero_cv():
    tx = _tx([("s", f"2025-{m:02d}-10", 100.0) for m in range(1, 7)])
    assert _row(aggregate_transactions(tx), "s")["cv"] == pytest.approx(0.0, abs=1e-9)


def test_refunds_reduce_revenue_and_are_not_purchases():
    tx = _tx([("r", "2025-01-10", 100.0), ("r", "2025-01-20", -40.0), ("n", "2025-02-01", 10.0),
              ("n", "2025-02-02", -25.0)])
    agg = aggregate_transactions(tx)
    r, n = _row(agg, "r"), _row(agg, "n")
    assert r["revenue"] == pytest.approx(60.0) and r["purchases"] == 1
    assert n["revenue"] == pytest.approx(-15.0)  # net negative stays negative
    assert pd.isna(n["cv"])  # no positive mean: CV undefined


def test_margin_is_summed_when_present_and_absent_otherwise():
    tx = _tx([("a", "2025-01-01", 10.0), ("a", "2025-02-01", 20.0)]).assign(margin=[3.0, -8.0])
    assert _row(aggregate_transactions(tx), "a")["margin"] == pytest.approx(-5.0)
    assert "margin" not in aggregate_transactions(tx.drop(columns="margin")).table.columns


def test_quarters_count_calendar_quarters():
    tx = _tx([("a", "2025-01-15", 10.0), ("a", "2025-02-15", 10.0), ("a", "2025-07-01", 20.0)])
    agg = aggregate_transactions(tx, period="quarter")
    assert agg.n_periods == 3  # Q1, Q2 (empty), Q3
    assert _row(agg, "a")["cv"] == pytest.approx(np.std([20, 0, 20]) / np.mean([20, 0, 20]))


def test_files_give_the_same_figures_as_the_frame(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    tx = pd.DataFrame({
        "client_id": rng.choice([f"K{i:03d}" for i in range(40)], n),
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "amount": np.round(rng.normal(200, 150, n), 2),
        "margin": np.round(rng.normal(40, 30, n), 2),
    })
    expected = aggregate_transactions(tx).table.set_index("client_id").sort_index()
    tx.to_parquet(tmp_path / "t.parquet")
    tx.to_csv(tmp_path / "t.csv", index=False)
    for name in ("t.parquet", "t.csv"):
        got = aggregate_transactions(tmp_path / name).table.set_index("client_id").sort_index()
        pd.testing.assert_series_equal(got["revenue"], expected["revenue"], check_dtype=False)
        pd.testing.assert_series_equal(got["cv"], expected["cv"], check_dtype=False)
        assert got["purchases"].tolist() == expected["purchases"].tolist()


def test_matches_a_plain_pandas_computation():
    rng = np.random.default_rng(11)
    n = 600
    tx = pd.DataFrame({
        "client_id": rng.choice(list("abcdefghij"), n),
        "date": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "amount": np.round(rng.gamma(2, 100, n), 2),
    })
    agg = aggregate_transactions(tx).table.set_index("client_id")
    months = tx["date"].dt.to_period("M")
    grid = tx.groupby(["client_id", months])["amount"].sum().unstack(fill_value=0.0)
    full = pd.period_range(months.min(), months.max(), freq="M")
    grid = grid.reindex(columns=full, fill_value=0.0)
    expected = grid.std(axis=1, ddof=0) / grid.mean(axis=1)
    pd.testing.assert_series_equal(agg["cv"].sort_index(), expected.sort_index(), check_names=False, rtol=1e-9)


def test_input_frame_is_not_modified_and_missing_columns_are_named():
    tx = _tx([("a", "2025-01-01", 1.0)])
    before = tx.copy()
    aggregate_transactions(tx)
    pd.testing.assert_frame_equal(tx, before)
    with pytest.raises(KeyError, match="amount"):
        aggregate_transactions(tx.drop(columns="amount"))
    with pytest.raises(ValueError):
        aggregate_transactions(tx, period="week")


def test_sum_by_period_zero_fills_gaps():
    tx = _tx([("a", "2025-01-05", 10.0), ("b", "2025-04-02", 5.0)])
    out = sum_by_period(tx)
    assert out["amount"].tolist() == [10.0, 0.0, 0.0, 5.0]
    assert sum_by_period(tx, period="quarter")["amount"].tolist() == [10.0, 5.0]


def test_purchase_gap_in_passes_equals_one_pass(monkeypatch):
    """A log past GAP_ROWS_PER_PASS is measured in passes over hash-split clients (the per-client window
    does not spill: a 40M-line log ran out of DuckDB memory); the median is the same as in one pass."""
    import numpy as np
    import pandas as pd

    from helpers.step1_list_clients import client_figures

    rng = np.random.default_rng(11)
    n = 3000
    tx = pd.DataFrame({"client_id": rng.integers(0, 300, n).astype(str),
                       "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
                       "amount": rng.choice([-5.0, 10.0, 20.0], n)})
    whole = client_figures.median_purchase_gap(tx)
    monkeypatch.setattr(client_figures, "GAP_ROWS_PER_PASS", 500)  # several passes
    assert client_figures.median_purchase_gap(tx) == whole and whole[1] > 250
