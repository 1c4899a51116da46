"""The sample companies: committed files match the generator, stay small, and carry the planted patterns."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from helpers.kit import samples
from helpers.paths import SAMPLE_DIR

COMPANIES = list(samples.GENERATORS)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Every company generated afresh into a temporary folder (about three seconds)."""
    root = tmp_path_factory.mktemp("samples")
    samples.make_all_samples(root)
    return root


@pytest.fixture(scope="module")
def b2b():
    return samples.make_b2b_services()


@pytest.fixture(scope="module")
def b2b_placed(b2b):
    """Clients of b2b_services with the team's tier, its letter, and revenue from the transactions."""
    revenue = b2b.tables["transactions"].groupby("client_id")["amount"].sum()
    out = b2b.tables["clients"].merge(b2b.tables["placement"], on="client_id")
    out["letter"] = out["tier"].str[0]
    out["revenue"] = out["client_id"].map(revenue).fillna(0.0)
    return out


@pytest.fixture(scope="module")
def wholesale_tx():
    return pd.read_parquet(SAMPLE_DIR / "wholesale" / "transactions.parquet")


# ------------------------------------------------------------------ committed files
@pytest.mark.parametrize("company", COMPANIES)
def test_committed_files_equal_a_fresh_generation(fresh, company):
    made = sorted(p.name for p in (fresh / company).iterdir())
    committed = sorted(p.name for p in (SAMPLE_DIR / company).iterdir() if p.name != "README.md")
    assert made == committed
    for name in made:
        new, old = fresh / company / name, SAMPLE_DIR / company / name
        if name.endswith(".parquet"):  # bytes depend on the pyarrow version; the table must not
            pd.testing.assert_frame_equal(pd.read_parquet(new), pd.read_parquet(old))
        else:
            assert new.read_bytes() == old.read_bytes(), f"{old} is stale: run `make samples`"


def test_find_stale_samples_reports_edited_and_missing_files(fresh, tmp_path, monkeypatch):
    monkeypatch.setattr(samples, "GENERATORS", {"b2b_services": samples.make_b2b_services})
    copy = tmp_path / "b2b_services"
    copy.mkdir()
    for file in (fresh / "b2b_services").iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    assert samples.find_stale_samples(tmp_path) == []
    placement = copy / "placement.csv"
    placement.write_text(placement.read_text().replace(",A1\n", ",B1\n", 1))
    (copy / "deals.csv").unlink()
    assert samples.find_stale_samples(tmp_path) == [copy / "deals.csv", placement]


def test_parquet_files_compare_by_table_not_bytes(tmp_path):
    table = pd.DataFrame({"client_id": ["W1", "W2"], "amount": [10.5, -2.0]})
    table.to_parquet(tmp_path / "a.parquet", compression="zstd")
    table.to_parquet(tmp_path / "b.parquet", compression="snappy")
    table.assign(amount=[10.5, -2.01]).to_parquet(tmp_path / "c.parquet", compression="zstd")
    assert (tmp_path / "a.parquet").read_bytes() != (tmp_path / "b.parquet").read_bytes()
    assert samples._same_file(tmp_path / "a.parquet", tmp_path / "b.parquet")
    assert not samples._same_file(tmp_path / "a.parquet", tmp_path / "c.parquet")
    assert not samples._same_file(tmp_path / "a.parquet", tmp_path / "missing.parquet")


@pytest.mark.parametrize("company", COMPANIES)
def test_each_company_folder_stays_under_2_mb(company):
    size = sum(p.stat().st_size for p in (SAMPLE_DIR / company).iterdir())
    assert 0 < size < 2_000_000


def test_the_generator_is_deterministic_by_seed():
    one, two, other = samples.make_b2b_services(5), samples.make_b2b_services(5), samples.make_b2b_services(6)
    for kind in one.tables:
        pd.testing.assert_frame_equal(one.tables[kind], two.tables[kind])
    assert not one.tables["transactions"].equals(other.tables["transactions"])


def test_criteria_file_is_left_to_the_team():
    assert not list(SAMPLE_DIR.glob("*/criteria.yml"))


# ------------------------------------------------------------------ b2b_services: planted patterns
def test_b2b_has_the_described_size_and_files(b2b):
    t = b2b.tables
    assert len(t["clients"]) == 150 and t["clients"]["client_id"].is_unique
    assert set(t["placement"]["tier"]) == {"A1", "A2", "A3", "B1", "B2", "B3", "C", "D", "X"}
    assert 3_000 <= len(t["transactions"]) <= 6_000
    dates = pd.to_datetime(t["transactions"]["date"])
    assert dates.min() >= samples.WINDOW_START and dates.max() <= samples.WINDOW_END
    assert 100 <= len(t["deals"]) <= 140 and (t["deals"]["client_id"] == "").sum() >= 20
    assert set(t["deals"]["outcome"]) == {"won_fast", "won", "stalled", "refused"}
    assert len(t["prospects"]) == 30 and (t["prospects"] == "").any().any()  # some traits unknown
    assert set(b2b.settings["first_contact_traits"]) <= set(t["clients"].columns)
    assert set(b2b.settings["first_contact_traits"]) <= set(t["prospects"].columns)


def test_b2b_a_clients_have_their_own_call_centre_far_more_often(b2b_placed):
    share = b2b_placed.assign(cc=b2b_placed["has_call_centre"] == "yes").groupby("letter")["cc"].mean()
    assert share["A"] >= 0.7 and share["C"] <= 0.2


def test_b2b_headcount_of_50_or_more_points_to_a(b2b_placed):
    placed = b2b_placed[b2b_placed["letter"].isin(["A", "B", "C"])]
    a_share = placed.assign(a=placed["letter"] == "A").groupby(placed["headcount"] >= 50)["a"].mean()
    assert a_share[True] >= 0.45 and a_share[False] <= 0.15


def test_b2b_retail_is_a_red_flag(b2b_placed):
    retail = b2b_placed.assign(r=b2b_placed["industry"] == "retail").groupby("letter")["r"].mean()
    assert retail["C"] >= 0.35 and retail["A"] <= 0.15


def test_b2b_committee_decisions_slow_and_stall_deals(b2b, b2b_placed):
    cycle = b2b_placed.groupby("decision_maker")["deal_cycle_days"].mean()
    assert cycle["committee"] > 1.4 * cycle["owner"]
    deals = b2b.tables["deals"].merge(b2b_placed[["client_id", "decision_maker"]], on="client_id")
    stalled = deals.assign(s=deals["outcome"] == "stalled").groupby("decision_maker")["s"].mean()
    assert stalled["committee"] >= 0.25 and stalled["owner"] <= 0.1


def test_b2b_noise_traits_do_not_separate_a_from_c(b2b_placed):
    placed = b2b_placed[b2b_placed["letter"].isin(["A", "C"])]
    messenger = placed.assign(m=placed["uses_messenger"] == "yes").groupby("letter")["m"].mean()
    assert abs(messenger["A"] - messenger["C"]) < 0.25
    founded = placed.groupby("letter")["founded"].median()
    assert abs(founded["A"] - founded["C"]) <= 5


def test_b2b_deal_reasons_match_the_planted_signs(b2b, b2b_placed):
    deals = b2b.tables["deals"].merge(b2b_placed, on="client_id", how="left")
    call_centre_reason = deals["reason"] == samples.REASONS["won_fast"][0]
    assert call_centre_reason.sum() >= 10
    assert (deals.loc[call_centre_reason, "has_call_centre"] == "yes").all()
    assert (deals.loc[call_centre_reason, "outcome"] == "won_fast").all()
    committee_reason = deals["reason"] == "committee could not agree"
    known = deals["decision_maker"].notna()
    assert committee_reason.sum() >= 5
    assert (deals.loc[committee_reason & known, "decision_maker"] == "committee").all()
    assert set(deals.loc[deals["outcome"] == "refused", "reason"]) <= set(samples.REASONS["refused"])
    assert (deals.loc[deals["outcome"] == "stalled", "closed"] == "").all()


def test_b2b_favourite_in_a1_pays_late_and_bought_once(b2b, b2b_placed):
    tx = b2b.tables["transactions"]
    once = tx.groupby("client_id").size().loc[lambda s: s == 1].index
    favourites = b2b_placed[(b2b_placed["tier"] == "A1") & b2b_placed["client_id"].isin(once)]
    assert len(favourites) == 1 and favourites["payment_delay_days"].iloc[0] >= 60


def test_b2b_quiet_b3_client_brings_a_sixth_of_revenue(b2b_placed):
    share = b2b_placed["revenue"] / b2b_placed["revenue"].sum()
    top = b2b_placed.loc[share.idxmax()]
    assert top["tier"] == "B3" and 0.15 <= share.max() <= 0.20


def test_b2b_some_c_clients_have_healthy_revenue_but_huge_support(b2b_placed):
    heavy = b2b_placed[(b2b_placed["tier"] == "C") & (b2b_placed["support_hours"] >= 150)]
    assert len(heavy) == 2
    assert (heavy["revenue"] > b2b_placed["revenue"].median()).all()


def test_b2b_revenue_is_pareto_like(b2b_placed):
    revenue = b2b_placed["revenue"].sort_values(ascending=False)
    top_fifth = revenue.iloc[: len(revenue) // 5].sum() / revenue.sum()
    assert 0.6 <= top_fifth <= 0.9


# ------------------------------------------------------------------ wholesale
def _monthly_cv(tx: pd.DataFrame) -> pd.Series:
    months = tx["date"].dt.to_period("M")
    table = tx.groupby(["client_id", months])["amount"].sum().unstack(fill_value=0.0)
    table = table.reindex(columns=pd.period_range(samples.WINDOW_START, samples.WINDOW_END, freq="M"),
                          fill_value=0.0)
    return table.std(axis=1, ddof=0) / table.mean(axis=1)


def test_wholesale_scale_and_pareto_revenue(wholesale_tx):
    clients = pd.read_csv(SAMPLE_DIR / "wholesale" / "clients.csv")
    assert len(clients) == 2000 and not (SAMPLE_DIR / "wholesale" / "placement.csv").exists()
    assert 90_000 <= len(wholesale_tx) <= 110_000
    assert {"segment", "region", "payment_terms", "has_warehouse"} <= set(clients.columns)
    revenue = wholesale_tx.groupby("client_id")["amount"].sum().sort_values(ascending=False)
    share = revenue / revenue.sum()
    assert 0.20 <= share.iloc[0] <= 0.30 and share.iloc[1] < 0.05
    assert share.iloc[: len(share) // 5].sum() >= 0.75


def test_wholesale_has_x_y_and_z_buyers(wholesale_tx):
    cv = _monthly_cv(wholesale_tx)
    counts = pd.cut(cv, [0, 0.10, 0.25, np.inf], labels=["X", "Y", "Z"]).value_counts()
    assert counts["X"] >= 50 and counts["Y"] >= 200 and counts["Z"] >= 500


def test_wholesale_has_sleeping_clients_and_refunds(wholesale_tx):
    last = wholesale_tx.groupby("client_id")["date"].max()
    first = wholesale_tx.groupby("client_id")["date"].min()
    asleep = (last < pd.Timestamp("2026-03-01")) & (first < pd.Timestamp("2025-01-01"))
    assert asleep.sum() >= 50
    refunds = wholesale_tx[wholesale_tx["amount"] < 0]
    assert 30 <= len(refunds) <= 80


# ------------------------------------------------------------------ online_school
def test_online_school_price_mix_and_partial_placement():
    folder = SAMPLE_DIR / "online_school"
    tx = pd.read_csv(folder / "transactions.csv")
    clients = pd.read_csv(folder / "clients.csv", keep_default_na=False)
    placement = pd.read_csv(folder / "placement.csv")
    assert len(clients) == 3000 and (folder / "transactions.csv").stat().st_size < 2_000_000
    single_seat = tx["amount"].isin([1990.0, 14900.0, 59000.0])
    mix = tx.loc[single_seat, "amount"].value_counts(normalize=True)
    assert mix[1990.0] >= 0.6 and mix[59000.0] <= 0.1  # heavy on cheap courses
    companies = set(clients.loc[clients["is_company"] == "yes", "client_id"])
    assert companies <= set(placement["client_id"]) and len(placement) < 0.1 * len(clients)
    corporate_share = tx.loc[tx["client_id"].isin(companies), "amount"].sum() / tx["amount"].sum()
    assert corporate_share >= 0.5
    cheap_learners = tx.groupby("client_id")["amount"].sum().loc[lambda s: s <= 1990.0].index
    demanding = clients[clients["client_id"].isin(cheap_learners) & (clients["support_hours"] >= 8)]
    assert len(demanding) >= 10
    assert clients["name"].is_unique


# ------------------------------------------------------------------ ru_crm_export
def _ru_number(text: str) -> float:
    return float(text.replace("руб.", "").replace("\u00a0", "").replace(" ", "").replace(",", "."))


@pytest.fixture(scope="module")
def ru_transactions():
    raw = (SAMPLE_DIR / "ru_crm_export" / "transactions.csv").read_bytes().decode("cp1251")
    return raw, pd.read_csv(io.StringIO(raw), sep=";", skiprows=2, dtype=str, keep_default_na=False)


def test_ru_twin_is_a_russian_excel_export(ru_transactions):
    raw, table = ru_transactions
    assert raw.startswith("Продажи по клиентам") and "\r\n" in raw
    assert list(table.columns) == ["ID клиента", "Дата", "Сумма", "Маржа"]
    assert table["ID клиента"].iloc[-1] == "Итого"
    assert table["Дата"].iloc[:-1].str.fullmatch(r"\d\d\.\d\d\.\d{4}").all()
    assert table["Сумма"].str.contains("\u00a0").any() and table["Сумма"].str.contains(",").all()
    clients = (SAMPLE_DIR / "ru_crm_export" / "clients.csv").read_bytes().decode("cp1251")
    header = clients.splitlines()[0].split(";")
    assert {"ID клиента", "Контрагент", "Отрасль", "Численность"} <= set(header)
    rows = [line.split(";") for line in clients.splitlines()[1:]]
    assert {row[header.index("Свой колл-центр")] for row in rows} == {"да", "нет"}
    assert {row[header.index("Отрасль")] for row in rows} == set(samples.RU_VALUES["industry"].values())
    settings = samples.make_ru_crm_export().settings
    assert set(settings["first_contact_traits"]) <= set(header) and settings["language"] == "ru"


def test_ru_twin_money_equals_the_clean_company_to_the_cent(ru_transactions):
    _, table = ru_transactions
    clean = pd.read_csv(SAMPLE_DIR / "b2b_services" / "transactions.csv", dtype={"client_id": str})
    body, total = table.iloc[:-1], table.iloc[-1]
    cents = (body["Сумма"].map(_ru_number) * 100).round().astype("int64")
    assert cents.tolist() == (clean["amount"] * 100).round().astype("int64").tolist()
    margin = (body["Маржа"].map(_ru_number) * 100).round().astype("int64")
    assert margin.tolist() == (clean["margin"] * 100).round().astype("int64").tolist()
    assert round(_ru_number(total["Сумма"]) * 100) == round(clean["amount"].sum() * 100)
    assert body["ID клиента"].tolist() == clean["client_id"].tolist()


def test_ru_twin_deals_use_russian_stages_and_reasons():
    deals = pd.read_csv(SAMPLE_DIR / "ru_crm_export" / "deals.csv", sep=";", encoding="cp1251", dtype=str,
                        keep_default_na=False)
    assert set(deals["Этап сделки"]) == set(samples.RU_OUTCOMES.values())
    assert set(deals["Причина"]) <= set(samples.REASONS_RU.values())
    assert (deals.loc[deals["Этап сделки"] == "Зависла", "Дата закрытия"] == "не закрыта").all()
    groups = samples.make_ru_crm_export().settings["deals"]["reason_groups"]
    grouped = deals["Причина"].map(lambda r: any(k in r.lower() for words in groups.values() for k in words))
    assert grouped.mean() >= 0.6  # most reasons fall into a group
