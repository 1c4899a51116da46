"""Step 1 audit: inputs, client mix, concentration, price mix, key clients and typology, on hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import i18n
from helpers import paths
from helpers.step1_list_clients.audit import (DATA_TYPES, TEAM_TYPES, allocate_key_clients, audit_client_mix, audit_price_mix)
from helpers.step1_list_clients.audit import (auto_price_limits, classify_key_clients, describe_inputs, hint_manager_load)
from helpers.step1_list_clients.audit import (place_in_price_bands, place_in_size_bands, summarise_client_types, summarise_clients)
from helpers.step1_list_clients.audit import summarise_key_clients, tag_client_types
from helpers.step1_list_clients.company import Company, FileReport
from helpers.step1_list_clients.settings import AuditSettings, CompanySettings
from helpers.core.errors import problem
from helpers.step1_list_clients import plots as audit_plots


def _company(clients: pd.DataFrame, transactions: pd.DataFrame | None = None, **audit) -> Company:
    settings = CompanySettings(audit=AuditSettings(**audit)) if audit else CompanySettings()
    return Company(folder=Path("/tmp/acme"), settings=settings, clients=clients, transactions=transactions)


def _clients(ids, **columns) -> pd.DataFrame:
    return pd.DataFrame({"client_id": list(ids), "name": [f"Client {i}" for i in ids], **columns})


def _revenue_company(revenues, **kw) -> Company:
    ids = [f"c{i}" for i in range(len(revenues))]
    return _company(_clients(ids, revenue=[float(r) for r in revenues]), **kw)


def _tx(rows) -> pd.DataFrame:
    """rows: (client_id, 'YYYY-MM-DD', amount[, margin])"""
    frame = pd.DataFrame(rows, columns=["client_id", "date", "amount", "margin"][: len(rows[0])])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


# --------------------------------------------------------------------------- figures per client
def test_revenue_comes_from_transactions_net_of_refunds_and_keeps_unknown_buyers():
    clients = _clients(["a", "b", "idle"], revenue=[999.0, 999.0, 999.0])
    tx = _tx([("a", "2025-01-05", 100.0), ("a", "2025-02-05", 50.0), ("a", "2025-02-09", -30.0),
              ("b", "2025-03-01", 10.0), ("ghost", "2025-03-02", 7.0)])
    f = summarise_clients(_company(clients, tx))
    assert f.loc["a", "revenue"] == pytest.approx(120.0)  # refunds reduce revenue
    assert f.loc["a", "purchases"] == 2  # the refund line is not a purchase
    assert f.loc["a", "avg_cheque"] == pytest.approx(75.0)
    assert f.loc["idle", "revenue"] == 0.0 and f.loc["idle", "purchases"] == 0
    assert f.loc["ghost", "revenue"] == 7.0 and f.loc["ghost", "name"] == "ghost"
    assert f.loc["a", "active_months"] == 2 and f.loc["a", "months_since_last"] == 1
    assert np.isnan(f.loc["a", "margin"])  # no margin anywhere: unknown, not zero


def test_without_transactions_revenue_comes_from_the_client_list():
    f = summarise_clients(_company(_clients(["a", "b"], revenue=[10.0, 30.0], purchases=[2, 3])))
    assert f["revenue"].tolist() == [10.0, 30.0]
    assert f["avg_cheque"].tolist() == [5.0, 10.0]
    assert f["active_months"].isna().all()


def test_the_inputs_are_not_modified():
    clients = _clients(["a", "b"], revenue=[1.0, 2.0])
    tx = _tx([("a", "2025-01-05", 100.0), ("b", "2025-02-05", 5.0)])
    before_c, before_t = clients.copy(), tx.copy()
    company = _company(clients, tx)
    audit_client_mix(company), audit_price_mix(company), classify_key_clients(company), tag_client_types(company)
    pd.testing.assert_frame_equal(clients, before_c)
    pd.testing.assert_frame_equal(tx, before_t)


# --------------------------------------------------------------------------- client mix
def test_size_bands_follow_cumulative_revenue_with_the_crossing_client_in_the_bigger_band():
    bands = place_in_size_bands(pd.Series([40.0, 30.0, 20.0, 10.0, 0.0, -5.0], index=list("abcdef")))
    # held before each: 0, .40, .70, .90 -> a, b large (b starts below 50%), c medium, d small
    assert bands.to_dict() == {"a": "large", "b": "large", "c": "medium", "d": "small", "e": "none", "f": "none"}
    custom = place_in_size_bands(pd.Series([40.0, 30.0, 20.0, 10.0], index=list("abcd")), shares=(0.3, 0.6))
    assert custom.tolist() == ["large", "medium", "small", "small"]


def test_client_mix_counts_shares_and_concentration():
    revenues = [500, 200, 100, 50, 50] + [10] * 10  # total 1000
    mix = audit_client_mix(_revenue_company(revenues))
    bands = mix.bands.set_index("band")
    assert bands.loc["large", "clients"] == 1 and bands.loc["large", "revenue_share"] == pytest.approx(0.5)
    assert bands.loc["medium", "clients"] == 2  # 200 (held .50 before) and 100 (held .70 before)
    assert bands.loc["small", "clients"] == 12
    assert bands["client_share"].sum() == pytest.approx(1.0)
    conc = mix.concentration["share"].tolist()
    assert conc == pytest.approx([0.5, 0.9, 0.7])  # top 1, top 5, top 10% = ceil(1.5) = 2 clients
    shares = np.array(revenues) / 1000
    assert mix.hhi == pytest.approx((shares ** 2).sum())
    assert mix.equivalent_clients == pytest.approx(1 / (shares ** 2).sum())
    assert mix.table["revenue"].is_monotonic_decreasing
    assert mix.warnings == []  # exactly 50% is not above the mono-client line
    assert any("1 client" in v for v in mix.verdicts)  # half the revenue from one client


def test_mono_client_warning_on_revenue_and_on_margin_separately():
    mix = audit_client_mix(_revenue_company([60, 20, 20]))
    assert len(mix.warnings) == 1 and "60%" in mix.warnings[0] and "revenue" in mix.warnings[0]
    tx = _tx([("a", "2025-01-01", 40.0, 30.0), ("b", "2025-01-01", 30.0, 5.0), ("c", "2025-01-01", 30.0, 5.0)])
    mix = audit_client_mix(_company(_clients("abc"), tx))
    assert len(mix.warnings) == 1 and "margin" in mix.warnings[0] and "75%" in mix.warnings[0]
    assert len(audit_client_mix(_company(_clients("abc"), tx, mono_client_share=0.8)).warnings) == 0


def test_balance_verdicts_name_flat_small_heavy_and_balanced_mixes():
    flat = audit_client_mix(_revenue_company([100] * 20))
    assert any("No client stands out" in v for v in flat.verdicts)
    heavy = audit_client_mix(_revenue_company([3000, 2000, 1000] + [10] * 100))
    assert any("Small clients are" in v for v in heavy.verdicts)
    balanced = audit_client_mix(_revenue_company([int(1000 * 0.93 ** i) for i in range(40)]))
    assert balanced.bands.set_index("band")["clients"].to_dict() == {"large": 9, "medium": 11, "small": 20}
    assert balanced.verdicts[0].startswith("The mix looks balanced")
    none = audit_client_mix(_revenue_company([0, 0]))
    assert none.verdicts == [i18n.t("audit.verdict.no_revenue")]
    assert np.isnan(none.hhi)


def test_clients_without_purchases_get_their_own_band_and_a_verdict():
    mix = audit_client_mix(_revenue_company([50, 30, 20, 0, 0]))
    assert mix.bands.set_index("band").loc["none", "clients"] == 2
    assert any("no purchases" in v for v in mix.verdicts)


# --------------------------------------------------------------------------- price mix
def test_price_bands_and_target_gap_with_fixed_limits():
    tx = _tx([("a", "2025-01-01", 5.0), ("a", "2025-01-02", 5.0), ("b", "2025-01-03", 50.0),
              ("c", "2025-01-04", 500.0), ("c", "2025-01-05", 500.0), ("c", "2025-01-06", -500.0)])
    price = audit_price_mix(_company(_clients("abc"), tx, price_limits=(10, 100)))
    bands = price.bands.set_index("band")
    assert bands["purchases"].tolist() == [2, 1, 2]  # the refund is not a purchase
    assert bands.loc["cheap", "purchase_share"] == pytest.approx(0.4)
    assert bands.loc["expensive", "revenue_share"] == pytest.approx(1000 / 1060)
    assert bands.loc["cheap", "gap"] == pytest.approx(0.4 - 0.5)
    assert price.limits == (10.0, 100.0) and price.limits_source == "fixed"
    rows = price.by_size.set_index("size_band")[["cheap", "mid", "expensive"]]
    assert rows.sum(axis=1).to_numpy() == pytest.approx(1.0)


def test_small_clients_buying_cheap_is_reported():
    rows = [("big", "2025-01-01", 1000.0)] * 10 + [(f"s{i}", "2025-01-02", 5.0) for i in range(20)]
    ids = ["big"] + [f"s{i}" for i in range(20)]
    price = audit_price_mix(_company(_clients(ids), _tx(rows), price_limits=(10, 100)))
    assert any("Small clients buy cheap" in v for v in price.verdicts)
    assert price.by_size.set_index("size_band").loc["small", "cheap"] == 1.0


def test_price_mix_needs_transactions_with_purchases():
    assert audit_price_mix(_revenue_company([1, 2])) is None
    refunds_only = _tx([("a", "2025-01-01", -5.0)])
    assert audit_price_mix(_company(_clients("a"), refunds_only)) is None


def test_auto_price_lines_split_the_price_range_not_the_purchases():
    amounts = pd.Series([100.0] * 90 + [10_000.0] * 10)
    low, high = auto_price_limits(amounts)
    assert low == pytest.approx(100 * 100 ** (1 / 3)) and high == pytest.approx(100 * 100 ** (2 / 3))
    bands = place_in_price_bands(amounts, limits=(low, high))
    assert bands.value_counts().to_dict() == {"cheap": 90, "expensive": 10}  # not thirds by construction


def test_one_price_for_everything_gives_no_verdict_but_a_note():
    tx = _tx([(c, "2025-01-01", 1990.0) for c in "abcde"])
    price = audit_price_mix(_company(_clients("abcde"), tx))
    assert price.verdicts == []
    assert any("same price" in n for n in price.notes)


# --------------------------------------------------------------------------- key clients
def test_gold_silver_bronze_by_the_documented_rule():
    revenues = [400, 300, 100, 80, 60, 30, 15, 10, 5, 0]  # total 1000
    key = classify_key_clients(_revenue_company(revenues)).set_index("client_id")["key_class"]
    # gold: first 50% -> c0 (0 before) and c1 (.40 before); bronze: the smallest together holding <= 5%:
    # 0 + 5 + 10 + 15 = 3%, adding 30 would make 6% -> c6 c7 c8 c9
    assert key.to_dict() == {"c0": "gold", "c1": "gold", "c2": "silver", "c3": "silver", "c4": "silver",
                             "c5": "silver", "c6": "bronze", "c7": "bronze", "c8": "bronze", "c9": "bronze"}


def test_gold_is_capped_to_the_few_and_never_a_loss_maker():
    key = classify_key_clients(_revenue_company([10] * 10)).set_index("client_id")["key_class"]
    assert (key == "gold").sum() == 2  # all equal: 20% of 10 clients at most
    tx = _tx([("a", "2025-01-01", 600.0, -50.0), ("b", "2025-01-01", 300.0, 200.0), ("c", "2025-01-01", 100.0, 40.0)])
    table = classify_key_clients(_company(_clients("abc"), tx)).set_index("client_id")
    assert table.loc["a", "key_class"] != "gold"  # the largest by revenue, but it loses money
    assert table.loc["b", "key_class"] == "gold"  # first by margin


def test_key_summary_and_manager_allocation_balance_revenue_within_the_limit():
    key = classify_key_clients(_revenue_company([300, 250, 200, 150, 100, 50] + [1] * 24))
    summary = summarise_key_clients(key).set_index("key_class")
    assert summary["clients"].sum() == 30
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    gold = key[key["key_class"] == "gold"]
    plan = allocate_key_clients(key, per_manager=2)
    assert sorted(plan["client_id"]) == sorted(gold["client_id"])
    assert plan.groupby("manager").size().max() <= 2
    assert plan["manager"].nunique() == -(-len(gold) // 2)
    assert str(len(gold)) in hint_manager_load(key, per_manager=2)
    with pytest.raises(ValueError):
        allocate_key_clients(key, per_manager=0)
    empty = allocate_key_clients(key.assign(key_class="silver"))
    assert empty.empty and "manager" in empty.columns


# --------------------------------------------------------------------------- typology
def _typology_company(**audit) -> Company:
    months = pd.date_range("2025-01-01", "2025-12-01", freq="MS")
    rows = []
    for m in months:  # a loyal regular and a superconsumer, every month
        rows.append(("regular", m, 100.0, 20.0))
        rows += [("whale", m, 5000.0, 1000.0)] * 3
    rows += [("sleeper", m, 300.0, 60.0) for m in months[:6]]  # six months, then silence
    rows += [("newbie", months[-2], 200.0, 40.0)]
    rows += [(f"tiny{i}", m, 5.0, 1.0) for i in range(4) for m in months[::3]]  # Jan Apr Jul Oct: not asleep
    rows += [("loser", months[3], 400.0, -80.0)]
    tx = pd.DataFrame(rows, columns=["client_id", "date", "amount", "margin"])
    ids = ["regular", "whale", "sleeper", "newbie", "loser", "late", "needy"] + [f"tiny{i}" for i in range(4)]
    delay = [5, 5, 5, 5, 5, 45, 5] + [5] * 4
    hours = [1, 2, 1, 1, 1, 1, 50] + [0] * 4
    tx = pd.concat([tx, pd.DataFrame({"client_id": ["late", "needy"], "date": [months[5]] * 2,
                                      "amount": [150.0, 150.0], "margin": [30.0, 30.0]})])
    return _company(_clients(ids, payment_delay_days=delay, support_hours=hours), tx, **audit)


def test_typology_tags_follow_their_rules():
    types = tag_client_types(_typology_company()).set_index("client_id")
    assert types.loc["regular", "loyal"] and not types.loc["regular", "sleeping"]
    assert types.loc["sleeper", "sleeping"] and not types.loc["sleeper", "loyal"]
    assert types.loc["newbie", "new"] and not types.loc["regular", "new"]
    assert types.loc["whale", "superconsumer"] and types.loc["whale", "gold"]
    assert not types.loc["regular", "superconsumer"]
    assert all(types.loc[f"tiny{i}", "small_fry"] for i in range(4))
    assert not types.loc["whale", "small_fry"]
    assert types.loc["late", "bad_late_payment"] and types["bad_late_payment"].sum() == 1
    assert types.loc["needy", "bad_heavy_support"]
    assert types.loc["loser", "bad_loss_making"] and types["bad_loss_making"].sum() == 1
    assert "sleeping" in types.loc["sleeper", "types"]


def test_typology_thresholds_come_from_settings():
    default = tag_client_types(_typology_company()).set_index("client_id")
    assert not default.loc["sleeper", "new"]
    longer = tag_client_types(_typology_company(sleeping_quiet_months=7, late_payment_days=50)).set_index("client_id")
    assert not longer.loc["sleeper", "sleeping"]  # six quiet months are not seven
    assert not longer["bad_late_payment"].any()


def test_type_summary_lists_team_only_types_and_missing_figures():
    company = _revenue_company([50, 30, 20])  # no transactions, no metrics
    summary = summarise_client_types(tag_client_types(company)).set_index("type")
    assert set(summary.index) == set(DATA_TYPES) | set(TEAM_TYPES)
    assert not summary.loc[list(TEAM_TYPES), "available"].any()
    assert summary.loc[list(TEAM_TYPES), "clients"].isna().all()
    assert not summary.loc["sleeping", "available"]  # needs purchase months
    assert summary.loc["gold", "available"] and summary.loc["gold", "clients"] == 1
    assert summary["marketing_task"].str.len().gt(10).all()
    full = summarise_client_types(tag_client_types(_typology_company())).set_index("type")
    assert full.loc["sleeping", "available"] and full.loc["sleeping", "clients"] == 1


# --------------------------------------------------------------------------- inputs
def test_describe_inputs_counts_problems_per_file_and_keeps_the_rest():
    company = _revenue_company([1, 2])
    company.files = [FileReport(kind="clients", path=Path("/x/clients.csv"), encoding="cp1251", delimiter=";",
                                header_row=3, rows_read=12, rows_used=10),
                     FileReport(kind="transactions", path=Path("/x/tx.parquet"), encoding="parquet",
                                rows_read=5, rows_used=5)]
    company.problems = [problem("empty_file", "warning", file="clients.csv"),
                        problem("empty_file", "info", file="clients.csv"),
                        problem("empty_file", "warning", file="clients.csv"),
                        problem("bad_config", file="company.yml", detail="oops")]
    table = describe_inputs(company, first=2).set_index("file")
    assert table.loc["clients.csv", ["rows_dropped", "warnings", "notes", "errors"]].tolist() == [2, 2, 1, 0]
    assert table.loc["clients.csv", "first_problems"].count("\n") == 2  # two lines and "1 more"
    assert table.loc["tx.parquet", "warnings"] == 0 and pd.isna(table.loc["tx.parquet", "header_row"])
    assert table.loc["company.yml", "errors"] == 1 and table.loc["company.yml", "kind"] == ""


# --------------------------------------------------------------------------- text and plots
def test_every_audit_text_exists_in_russian():
    missing = [k for k in i18n.missing_keys("ru") if k.startswith("audit.")]
    assert missing == []
    with i18n.language("ru"):
        mix = audit_client_mix(_revenue_company([60, 20, 20]))
    assert "монозаказчика" in mix.warnings[0]


def test_plots_draw_titles_labels_and_a_bounded_number_of_bars():
    company = _typology_company()
    mix = audit_client_mix(company)
    price = audit_price_mix(company)
    ax = audit_plots.plot_client_mix(mix)
    assert ax.get_title() and ax.get_ylabel() and len(ax.patches) == 2 * len(mix.bands)
    ax = audit_plots.plot_concentration(mix, top=5)
    assert len(ax.patches) == 5 and "%" in ax.get_xlabel()
    ax = audit_plots.plot_price_mix(price)
    assert len(ax.patches) == 9 and "RUB" in ax.get_xlabel()  # purchases, revenue, target outline
    ax = audit_plots.plot_price_by_size(price)
    assert len(ax.patches) == 3 * len(price.by_size)
    summary = summarise_client_types(tag_client_types(company))
    ax = audit_plots.plot_client_types(summary)
    assert len(ax.patches) == int(summary["available"].sum())
    empty = audit_plots.plot_price_mix(None)
    assert not empty.axison and empty.texts


@pytest.mark.skipif(not (paths.SAMPLE_DIR / "b2b_services").is_dir(), reason="sample not generated")
def test_the_default_sample_company_is_audited_end_to_end():
    from helpers.step1_list_clients.load import load_company

    company = load_company(paths.SAMPLE_DIR / "b2b_services")
    inputs = describe_inputs(company)
    assert set(inputs["kind"]) >= {"clients", "transactions"}
    mix = audit_client_mix(company)
    assert mix.bands["clients"].sum() == len(summarise_clients(company))
    key = classify_key_clients(company)
    assert set(key["key_class"]) == {"gold", "silver", "bronze"}
    types = tag_client_types(company)
    assert types["client_id"].is_unique and types[list(DATA_TYPES)].any().any()
