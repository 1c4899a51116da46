"""Run history: every published run is kept read-only under history/, --keep bounds it, a failed run never touches it."""

from __future__ import annotations

import json
import os
import stat

import pytest

from helpers.run import history
from helpers.run import runner

from test_runner import WRITE_OUTPUTS, _notebook  # noqa: E402  (the runner tests' fake notebooks)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("c") / "acme"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name,industry\nC1,Alpha,retail\nC2,Beta,it\nC3,Gamma,it\n",
                                        encoding="utf-8")
    (folder / "company.yml").write_text("name: Acme\nabc:\n  cutoffs: [0.7, 0.9]\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    return {"good": _notebook(folder / "01_good.ipynb", WRITE_OUTPUTS),
            "bad": _notebook(folder / "02_bad.ipynb", "raise ValueError('boom')")}


@pytest.fixture(scope="module")
def three_runs(company, notebooks, tmp_path_factory):
    """Two runs kept, then a failed run, then a third run with keep=2: the states after each step."""
    out = tmp_path_factory.mktemp("runs") / "acme"
    states = {}
    runner.run_company(company, out, notebooks=[notebooks["good"]], progress=False)
    states["first"] = [s.label for s in history.list_snapshots(out)]
    runner.run_company(company, out, notebooks=[notebooks["good"]], progress=False)
    states["second"] = [s.label for s in history.list_snapshots(out)]
    before = {p: p.stat().st_mtime_ns for p in (out / "history").rglob("*")}
    with pytest.raises(runner.RunFailed):
        runner.run_company(company, out, notebooks=[notebooks["good"], notebooks["bad"]], progress=False)
    states["after_failure"] = {p: p.stat().st_mtime_ns for p in (out / "history").rglob("*")}
    states["before_failure"] = before
    runner.run_company(company, out, notebooks=[notebooks["good"]], progress=False, keep=2)
    states["third"] = [s.label for s in history.list_snapshots(out)]
    return out, states


def test_two_runs_keep_both_and_the_newest_stays_in_place(three_runs):
    out, states = three_runs
    assert len(states["first"]) == 1
    assert len(states["second"]) == 2 and states["second"][0] == states["first"][0]
    assert (out / "tiers.csv").is_file() and (out / "run.json").is_file()


def test_a_failed_run_never_touches_the_history(three_runs):
    out, states = three_runs
    assert states["after_failure"] == states["before_failure"]
    failed = out.parent / f"{out.name}.failed"
    assert not (failed / "history").exists()


def test_keep_2_on_a_third_run_removes_the_oldest(three_runs):
    _, states = three_runs
    assert len(states["third"]) == 2
    assert states["first"][0] not in states["third"]
    assert states["second"][1] in states["third"]


def test_a_snapshot_is_a_read_only_copy_with_checksums_and_settings(three_runs, company):
    out, _ = three_runs
    newest = history.list_snapshots(out)[-1].path
    meta = json.loads((newest / "run.json").read_text(encoding="utf-8"))
    assert meta == json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert all(len(i["sha256"]) == 64 for i in meta["inputs"])
    assert meta["settings"]["abc"]["cutoffs"] == [0.7, 0.9]
    assert len(meta["company_yml_sha256"]) == 64 and meta["anonymised"] is False
    assert not (newest / "history").exists()  # no history inside history
    for path in newest.rglob("*"):
        if path.is_file():
            assert not stat.S_IMODE(path.stat().st_mode) & 0o222, path
    with pytest.raises(PermissionError):
        if os.geteuid() == 0:  # root ignores permission bits: check the bits instead
            raise PermissionError
        (newest / "tiers.csv").write_text("changed")


def test_an_anonymised_run_records_the_key_id_so_pseudonyms_can_be_matched(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"started": "2026-01-02T03:04:05+00:00",
                                              "parameters": {"anonymise": True}}), encoding="utf-8")
    key = tmp_path / "k.key"
    key.write_text("secret-one-of-sixteen-bytes-or-more")
    first = history.keep_run(run, key_file=str(key))
    key.write_text("secret-two-of-sixteen-bytes-or-more")
    second = history.keep_run(run, key_file=str(key))
    ids = [json.loads((p / "run.json").read_text())["pseudonym_key_id"] for p in (first, second)]
    assert ids[0] and ids[1] and ids[0] != ids[1]
    assert first.name == "2026-01-02_03-04-05" and second.name == "2026-01-02_03-04-05-2"
    assert [s.path for s in history.list_snapshots(run)] == [first, second]


def test_carry_forward_skips_half_made_snapshots(tmp_path):
    out, staging = tmp_path / "out", tmp_path / "staging"
    (out / "history" / "2026-01-01_00-00-00").mkdir(parents=True)
    (out / "history" / "2026-01-01_00-00-00" / "run.json").write_text("{}")
    (out / "history" / ".partial-2026-02-01_00-00-00").mkdir()
    staging.mkdir()
    history.carry_forward(out, staging)
    assert [p.name for p in (staging / "history").iterdir()] == ["2026-01-01_00-00-00"]


def test_the_compare_notebook_is_never_part_of_tierbook_run():
    assert "06_compare.ipynb" not in [p.name for p in runner.workbook_notebooks()]


def test_a_run_made_before_history_existed_is_kept_at_the_next_run(company, notebooks, tmp_path):
    out = tmp_path / "acme"
    out.mkdir()
    (out / "tiers.csv").write_text("client_id\nC1\n")
    # run.json as the kit wrote it before it signed its runs (still recognised as the kit's own)
    (out / "run.json").write_text(json.dumps({"started": "2025-12-01T10:00:00+00:00", "company_dir": str(company),
                                              "versions": {"tierbook": "0.1.0"}}), encoding="utf-8")
    runner.run_company(company, out, notebooks=[notebooks["good"]], progress=False)
    labels = [s.label for s in history.list_snapshots(out)]
    assert len(labels) == 2 and labels[0] == "2025-12-01_10-00-00"
    assert (out / "history" / labels[0] / "tiers.csv").read_text() == "client_id\nC1\n"
