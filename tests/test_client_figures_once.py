"""One per-client figures table and one month convention: the audit (step 1) and the tiers (step 2) read
the same DuckDB aggregation, so they agree on every client's revenue, margin and purchases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import i18n
from helpers.step1_list_clients.audit import summarise_clients
from helpers.step1_list_clients.client_figures import DAYS_PER_MONTH, months_between
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.step2_place_in_tiers.tiers import collect_client_figures, explain_suggestions


def _company(seed: int, with_margin: bool) -> Company:
    rng = np.random.default_rng(seed)
    n = 400
    ids = [f"c{i:03d}" for i in range(40)]
    tx = pd.DataFrame({"client_id": rng.choice(ids + ["stranger"], n),
                       "date": pd.Timestamp("2024-01-03") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
                       # refunds, zero lines and cents: the cases where two engines used to drift apart
                       "amount": rng.choice([-120.0, 0.0, 0.1, 0.2, 19.99, 2500.0], n)})
    if with_margin:
        tx["margin"] = np.where(rng.random(n) < 0.2, np.nan, rng.normal(5, 20, n))
    clients = pd.DataFrame({"client_id": ids + ["idle"], "name": [f"Client {i}" for i in ids] + ["Idle"]})
    return Company(folder=Path("/tmp/acme"), settings=CompanySettings(), clients=clients, transactions=tx)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("with_margin", [True, False])
def test_audit_and_tiers_agree_on_every_clients_figures(seed, with_margin):
    company = _company(seed, with_margin)
    audit = summarise_clients(company)
    tiers, _ = collect_client_figures(company, period="month")
    listed = tiers.index  # the tiers table lists the client list; the audit also keeps unknown buyers
    assert "stranger" in audit.index and "idle" in listed
    # equal up to the last bit: DuckDB sums doubles in parallel, so the order of additions (and the last
    # bit of a sum) may vary from one call to the next; anything larger is a second definition
    for column in ("revenue", "purchases") + (("margin",) if with_margin else ()):
        np.testing.assert_allclose(audit.loc[listed, column].to_numpy(dtype=float),
                                   tiers[column].to_numpy(dtype=float), rtol=1e-12, atol=1e-9, err_msg=column)
    # the audit's purchase months count months with a positive line; step 2's active periods count months
    # whose net is not zero, so a month with only a refund is active for step 2 and not a purchase month
    assert (audit.loc[listed, "months_since_last"].dropna() >= 0).all()


def test_the_month_is_one_convention():
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01")
    assert months_between(start, end) == pytest.approx(365 / DAYS_PER_MONTH)
    series = months_between(pd.Series([start, pd.NaT]), end, digits=1)
    assert series.iloc[0] == 12.0 and np.isnan(series.iloc[1])


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_reasons_built_column_wise_read_as_one_sentence_per_client(lang):
    table = pd.DataFrame({"revenue": [5000.0, -30.0, 0.0, 900.0, 1200.5],
                          "score_value": [1.0, 0.2, 0.5, 0.5, 0.9], "score_payment": [0.9, 0.1, np.nan, 0.5, 0.2],
                          "payment_delay_days": [1.0, 40.0, np.nan, 5.0, 12.5]},
                         index=["big", "loss", "none", "mid", "late"])
    with i18n.language(lang):
        body = explain_suggestions(table, ["value", "payment"], n_periods=12)
        assert body["none"] == i18n.t("tiers.reason.no_revenue", basis=i18n.t("tiers.basis.revenue"))
        assert body["mid"] == i18n.t("tiers.reason.average")
        # the loss comes first among the weaknesses, then the late payment; no value phrase for a loss
        assert body["loss"].startswith(i18n.t("tiers.reason.loss", basis=i18n.t("tiers.basis.revenue"), amount="-30"))
        assert ", " + i18n.t("tiers.reason.but") + " " in body["late"]
        assert body.index.tolist() == table.index.tolist()


def test_the_audit_computes_each_companys_figures_once_and_never_serves_them_stale(monkeypatch):
    """On a million clients each computation of the figures is a pass over the whole log: the audit's
    parts share one (issue 11), while a company changed between two audits gets fresh figures."""
    from helpers.step1_list_clients import audit

    calls = []
    real = audit._summarise_clients
    monkeypatch.setattr(audit, "_summarise_clients", lambda company: calls.append(1) or real(company))
    company = _company(4, with_margin=True)
    first = audit.audit_clients(company)
    assert len(calls) == 1
    company.transactions = company.transactions.assign(amount=company.transactions["amount"] * 2)
    second = audit.audit_clients(company)
    assert len(calls) == 2
    revenue = lambda result: result.types.set_index("client_id")["revenue"]  # noqa: E731
    pd.testing.assert_series_equal(revenue(second), revenue(first) * 2)
    # a caller changing its copy does not change what the next part reads
    with audit.figures_once():
        handed = audit.summarise_clients(company)
        handed["revenue"] = -1.0
        assert (audit.summarise_clients(company)["revenue"] != -1.0).any()


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_the_same_log_in_another_row_order_gives_the_same_figures_to_the_bit(seed):
    """Floating sums depend on the order of additions (DuckDB's threads finish in any order): the figures are
    settled, so equal revenues tie exactly and a refund that cancels a purchase leaves exactly zero."""
    from helpers.step1_list_clients import audit

    company = _company(seed, with_margin=True)
    cancel = pd.DataFrame({"client_id": ["c000"] * 3 + ["zero"] * 3, "amount": [0.1, 0.2, -0.3] * 2,
                           "date": pd.Timestamp("2024-05-05"), "margin": 1.0})
    company.transactions = pd.concat([company.transactions, cancel], ignore_index=True)
    first = audit.audit_clients(company).types
    company.transactions = company.transactions.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    second = audit.audit_clients(company).types
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    assert first.set_index("client_id").loc["zero", "revenue"] == 0.0


def test_a_purchase_gap_pass_that_runs_out_of_memory_is_redone_in_twice_as_many_passes(monkeypatch):
    """The per-client window does not spill to disk: when a pass still runs out of DuckDB's memory the
    clients are split into twice as many passes, and the median comes out the same."""
    import contextlib

    import duckdb

    from helpers.step1_list_clients import client_figures

    tx = _company(8, with_margin=False).transactions
    expected = client_figures.median_purchase_gap(tx)
    real_session = client_figures.duckdb_session
    seen: list[str] = []

    class Tight:
        """A connection on which a gap query over more than a quarter of the clients runs out of memory."""

        def __init__(self, con):
            self.con = con

        def execute(self, query, *args):
            if "typical" in query:
                seen.append(query)
                if "% 4 =" not in query:
                    raise duckdb.OutOfMemoryException("Out of Memory Error: simulated")
            return self.con.execute(query, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    @contextlib.contextmanager
    def tight_session(limit=None):
        with real_session(limit) as con:
            yield Tight(con)

    monkeypatch.setattr(client_figures, "duckdb_session", tight_session)
    assert client_figures.median_purchase_gap(tx) == expected
    parts = [q for q in seen if "% 4 =" in q]
    assert len(parts) == 4 and len(seen) == 1 + 1 + 4  # one pass, the first of two, then four
    monkeypatch.setattr(client_figures, "MAX_GAP_PASSES", 2)
    with pytest.raises(duckdb.OutOfMemoryException):  # past the last split the runner says "out of memory"
        client_figures.median_purchase_gap(tx)
