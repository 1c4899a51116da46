"""A transaction log given as a Parquet dataset folder: read out of core, same figures as one CSV file."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from helpers.step1_list_clients import client_figures as aggregate
from helpers.step1_list_clients.audit import audit_price_mix, classify_key_clients, summarise_clients
from helpers.core.errors import DataProblem
from helpers.step1_list_clients.load import load_company
from helpers.step2_place_in_tiers.tiers import build_tiers


def _log(seed: int = 5, rows: int = 3000, clients: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.char.add("K", np.char.zfill((rng.pareto(1.3, rows) * 7 % clients).astype(int).astype(str), 3))
    amount = np.round(rng.lognormal(7, 1.1, rows), 2)
    amount[rng.random(rows) < 0.03] *= -1
    return pd.DataFrame({"client_id": ids,
                         "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 730, rows), unit="D"),
                         "amount": amount, "margin": np.round(amount * rng.uniform(0.05, 0.4, rows), 2)})


def _company(folder, log: pd.DataFrame, how: str, *, yml: str = "name: Dataset Co\n"):
    folder.mkdir(parents=True)
    ids = sorted(set(log["client_id"]))[:-3]  # a few buyers missing from the list: added from the log
    pd.DataFrame({"client_id": ids, "name": [f"Client {i}" for i in ids],
                  "industry": ["retail" if i[-1] in "0123" else "it" for i in ids]}).to_csv(
        folder / "clients.csv", index=False)
    (folder / "company.yml").write_text(yml, encoding="utf-8")
    if how == "csv":
        log.assign(date=log["date"].dt.strftime("%Y-%m-%d")).to_csv(folder / "transactions.csv", index=False)
    else:
        root = folder / ("transactions" if how == "hive" else "transactions.parquet")
        years = log["date"].dt.year
        for year in sorted(years.unique()):
            part = log[years == year]
            for k, rows in enumerate(np.array_split(np.arange(len(part)), 3)):  # many files per partition
                chunk = part.iloc[rows]
                target = root / f"year={year}" if how == "hive" else root
                target.mkdir(parents=True, exist_ok=True)
                chunk.to_parquet(target / f"part-{year}-{k}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    log = _log()
    root = tmp_path_factory.mktemp("dataset")
    return load_company(_company(root / "csv", log, "csv")), load_company(_company(root / "hive", log, "hive"))


def test_the_dataset_is_recognised_and_never_loaded_into_pandas(pair):
    _, on_disk = pair
    assert on_disk.transactions is None and on_disk.transactions_dataset is not None
    report = next(f for f in on_disk.files if f.kind == "transactions")
    assert report.path.name == "transactions" and report.rows_read == 3000 and len(report.sha256) == 64


def test_a_dataset_folder_gives_the_same_per_client_figures_as_one_csv(pair):
    from_csv, from_dataset = pair
    assert from_csv.clients["client_id"].tolist() == from_dataset.clients["client_id"].tolist()
    a, b = build_tiers(from_csv), build_tiers(from_dataset)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=False, rtol=1e-9)
    assert (a.n_periods, a.notes, a.flag_messages) == (b.n_periods, b.notes, b.flag_messages)
    pd.testing.assert_frame_equal(summarise_clients(from_csv), summarise_clients(from_dataset),
                                  check_exact=False, rtol=1e-9, check_dtype=False)
    pd.testing.assert_frame_equal(classify_key_clients(from_csv), classify_key_clients(from_dataset),
                                  check_exact=False, rtol=1e-9)
    price_csv, price_dataset = audit_price_mix(from_csv), audit_price_mix(from_dataset)
    assert price_csv.limits == pytest.approx(price_dataset.limits)
    pd.testing.assert_frame_equal(price_csv.bands, price_dataset.bands, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(price_csv.by_size, price_dataset.by_size, check_exact=False, rtol=1e-9,
                                  check_dtype=False)


def test_a_flat_transactions_parquet_folder_is_read_too(tmp_path):
    log = _log(seed=9, rows=500, clients=30)
    company = load_company(_company(tmp_path / "flat", log, "flat"))
    assert company.transactions_dataset.path.name == "transactions.parquet"
    table = build_tiers(company).table.set_index("client_id")
    expected = log.groupby("client_id")["amount"].sum()
    assert np.allclose(table.loc[expected.index, "revenue"], expected)


def test_a_dataset_without_an_amount_column_is_refused_with_file_and_column(tmp_path):
    log = _log(rows=200).drop(columns=["amount", "margin"])
    folder = _company(tmp_path / "bad", log.assign(amount=1.0), "hive")
    for part in (folder / "transactions").rglob("*.parquet"):
        pd.read_parquet(part).drop(columns=["amount"]).to_parquet(part, index=False)
    with pytest.raises(DataProblem) as failure:
        load_company(folder)
    [error] = failure.value.errors
    assert error.code == "missing_column" and error.file == "transactions/"


def test_the_memory_limit_setting_reaches_duckdb(tmp_path, monkeypatch):
    seen = []
    real_connect = duckdb.connect

    def spy(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return con

    monkeypatch.setattr(aggregate.duckdb, "connect", spy)
    log = _log(rows=300)
    company = load_company(_company(tmp_path / "yml", log, "hive", yml="name: X\nload:\n  memory_limit: 300MB\n"))
    build_tiers(company)
    assert seen and all(value.startswith("143") for value in seen), seen  # half of 300 MB = 143.0 MiB

    seen.clear()
    monkeypatch.setenv(aggregate.MEMORY_LIMIT_ENV, "200MB")
    build_tiers(load_company(_company(tmp_path / "env", log, "hive")))
    assert seen and all(value.startswith("95") for value in seen), seen  # half of 200 MB = 95.4 MiB


def test_a_misspelt_memory_limit_is_a_settings_problem(tmp_path):
    with pytest.raises(DataProblem) as failure:
        load_company(_company(tmp_path / "typo", _log(rows=50), "csv", yml="name: X\nload:\n  memory_limit: lots\n"))
    assert any("memory_limit" in str(p) for p in failure.value.problems)
    with pytest.raises(ValueError):
        aggregate.memory_limit("lots")


def test_duckdb_spills_into_the_given_folder_and_leaves_nothing_behind(tmp_path, monkeypatch):
    spill = tmp_path / "spill"
    monkeypatch.setenv(aggregate.SPILL_DIR_ENV, str(spill))
    made = []
    real = aggregate._connect

    def spy(**kwargs):
        made.append(kwargs["spill_dir"])
        return real(**kwargs)

    monkeypatch.setattr(aggregate, "_connect", spy)
    aggregate.aggregate_transactions(_log(rows=100))
    assert made and all(str(p).startswith(str(spill)) for p in made)
    assert list(spill.iterdir()) == []


def test_anonymised_mode_refuses_a_dataset_rather_than_leak_its_ids(pair):
    from helpers.step1_list_clients.anonymise import anonymise_company

    with pytest.raises(DataProblem) as failure:
        anonymise_company(pair[1], key_file=None)
    assert failure.value.errors[0].code == "anonymise_dataset"


def test_a_very_large_parquet_file_is_also_left_on_disk(tmp_path, monkeypatch):
    from helpers.step1_list_clients import dataset

    log = _log(seed=2, rows=400, clients=25)
    folder = _company(tmp_path / "big", log, "csv")
    (folder / "transactions.csv").unlink()
    log.to_parquet(folder / "transactions.parquet", index=False)
    assert load_company(folder).transactions is not None  # small: read as usual
    monkeypatch.setattr(dataset, "OUT_OF_CORE_ROWS", 300)
    company = load_company(folder)
    assert company.transactions is None and company.transactions_dataset.path.name == "transactions.parquet"
    assert any(p.code == "dataset_out_of_core" for p in company.problems)
    revenue = build_tiers(company).table.set_index("client_id")["revenue"]
    expected = log.groupby("client_id")["amount"].sum()
    assert np.allclose(revenue.loc[expected.index], expected)


def test_a_folder_beside_a_file_is_used_and_the_file_named_in_a_warning(tmp_path):
    log = _log(seed=4, rows=300, clients=20)
    folder = _company(tmp_path / "both", log, "hive")
    log.iloc[:10].to_csv(folder / "transactions.csv", index=False)
    company = load_company(folder)
    [warning] = [p for p in company.problems if p.code == "two_transaction_logs"]
    assert warning.file == "transactions.csv" and "transactions" in warning.message
    assert company.transactions_dataset.rows_used == 300
