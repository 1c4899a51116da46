"""tierbook compare: migrations, concentration, criteria changes and the old checklist scored against a known truth."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from helpers.step6_compare import compare
from helpers.step6_compare import sample_runs as compare_sample
from helpers.run.cli import main
from helpers.core.errors import DataProblem
from helpers.core.export import write_csv, write_json
from helpers.step4_write_criteria.criteria import COLUMNS as CRITERIA_COLUMNS

SETTINGS = {"abc": {"by": "revenue", "cutoffs": [0.8, 0.95]}, "xyz": {"x": 0.1, "y": 0.25}, "currency": "RUB"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("evolving")
    old, new = compare_sample.write_sample_runs(root)
    return root, old, new, compare.compare_runs(old, new)


def test_migrations_equal_the_known_truth(sample):
    *_, cmp = sample
    m = cmp.migrations.set_index("client_id")
    truth = compare_sample.TRUTH
    moved_down = m[(m["team_move"] == "down")].index.tolist()
    assert moved_down == truth["down"]
    assert (m.loc[truth["down"], "team_tier_then"] == "A1").all() and (m.loc[truth["down"], "team_tier_now"] == "B1").all()
    assert sorted(m[m["status"] == "lost"].index) == truth["lost"]
    assert sorted(m[m["status"] == "gone_to_sleep"].index) == truth["gone_to_sleep"]
    assert sorted(m[m["status"] == "new"].index) == sorted(truth["new_not_leads"] + truth["converted_leads"])
    assert (m["team_move"] == "up").sum() == 0
    # a lost client is listed with its old tier and its revenue leaving entirely
    lost = m.loc["C040"]
    assert lost["team_tier_then"] == "C" and pd.isna(lost["team_tier_now"])
    assert lost["revenue_change"] == -lost["revenue_then"]
    assert cmp.matrix.loc["A", "B"] == 5 and cmp.matrix.loc["C", "lost"] == 2


def test_the_old_checklist_is_scored_as_the_truth_says(sample):
    *_, cmp = sample
    per = cmp.check.criteria.set_index("id")
    for cid, (met_n, met_hits, rest_n, rest_hits, verdict) in compare_sample.TRUTH["criteria"].items():
        row = per.loc[cid]
        assert (row["met_n"], row["met_hits"], row["rest_n"], row["rest_hits"]) == (met_n, met_hits, rest_n, rest_hits)
        assert row["verdict"] == verdict
        assert row["met_ci_low"] < row["met_share"] < row["met_ci_high"]
    summary = cmp.check.summary.set_index("verdict")
    for verdict, (n, hits) in compare_sample.TRUTH["verdicts"].items():
        assert (summary.loc[verdict, "n"], summary.loc[verdict, "hits"]) == (n, hits)
    assert summary.loc["not target", "refused"] == 2  # the two refused deals of non-target leads count
    assert any("Small numbers" in note for note in cmp.check.notes)  # 6 non-target cases: the caveat
    assert not any("predates routing" in note for note in cmp.check.notes)  # criteria.csv as the kit writes it now


def test_an_old_run_without_routing_columns_is_scored_as_sales_applied_it_then(tmp_path):
    """criteria.csv written before issue 10 (no routed / declines / qualifies / mirror_id / only_with): the
    checklist is the supported first-contact criteria, every sign qualifies, every flag declines, and new
    clients are routed by the rule of that time — the same truth as the current-format sample."""
    old, new = compare_sample.write_sample_runs(tmp_path)
    criteria = pd.read_csv(old / "criteria.csv")
    criteria[[c for c in criteria.columns if c in OLD_CRITERIA_COLUMNS + ["trait", "support", "n_a", "n_b", "n_c"]]]\
        .to_csv(old / "criteria.csv", index=False)
    cmp = compare.compare_runs(old, new)
    assert any("predates routing" in note for note in cmp.check.notes)
    per = cmp.check.criteria.set_index("id")
    assert set(per.index) == set(compare_sample.TRUTH["criteria"])  # the weak C:headcount was never handed out
    for cid, (met_n, met_hits, rest_n, rest_hits, verdict) in compare_sample.TRUTH["criteria"].items():
        assert tuple(per.loc[cid, ["met_n", "met_hits", "rest_n", "rest_hits", "verdict"]]) == \
            (met_n, met_hits, rest_n, rest_hits, verdict)
    summary = cmp.check.summary.set_index("verdict")
    for verdict, (n, hits) in compare_sample.TRUTH["verdicts"].items():
        assert (summary.loc[verdict, "n"], summary.loc[verdict, "hits"]) == (n, hits)
    html = compare.write_comparison(cmp, tmp_path / "out")["compare.html"].read_text(encoding="utf-8")
    assert "predates routing" in html


def test_the_old_rule_declines_a_flag_with_an_unknown_sign_and_reviews_a_mixed_lead():
    points_to = {"a": "A", "c": "C"}
    assert compare._verdict_then({"a": pd.NA, "c": True}, points_to) == "not target"
    assert compare._verdict_then({"a": True, "c": True}, points_to) == "needs review"
    assert compare._verdict_then({"a": True, "c": pd.NA}, points_to) == "needs review"
    assert compare._verdict_then({"a": True, "c": False}, points_to) == "target"
    assert compare._verdict_then({"a": pd.NA, "c": False}, points_to) == "needs review"
    assert compare._verdict_then({"a": False, "c": False}, points_to) == "not target"


def test_outputs_are_written_self_contained(sample, tmp_path):
    *_, cmp = sample
    written = compare.write_comparison(cmp, tmp_path / "out")
    html = written["compare.html"].read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    assert "data:image/png;base64," in html
    assert written["figures/tier_migration.png"].read_bytes()[:4] == b"\x89PNG"
    m = pd.read_csv(written["migrations.csv"], dtype={"client_id": str})
    assert list(m.columns) == compare.MIGRATION_COLUMNS and len(m) == len(cmp.migrations)
    ru = compare.write_comparison(cmp, tmp_path / "ru", language="ru")["compare.html"].read_text(encoding="utf-8")
    assert "Сработали ли старые критерии?" in ru and 'lang="ru"' in ru


# ------------------------------------------------------------------ hand-made runs from the output-file contract
OLD_CRITERIA_COLUMNS = ["id", "points_to", "rule", "expression", "evidence", "threshold", "source", "status",
                        "first_contact"]  # criteria.csv before issue 10 added the routing columns


def _criteria_csv(rows, *, old_format=False) -> pd.DataFrame:
    """criteria.csv from (id, points_to, rule, expression, evidence, threshold, source, status, first_contact)
    rows: as step 4 writes it now (all of criteria.COLUMNS, routing filled as mark_for_sales would), or in the
    format before issue 10."""
    frame = pd.DataFrame(rows, columns=OLD_CRITERIA_COLUMNS)
    if old_format:
        return frame
    team = (frame["source"] == "team") & (frame["status"] == "accepted") & frame["first_contact"]
    supported = (frame["source"] == "data") & (frame["evidence"] == "supported") & frame["first_contact"]
    frame = frame.assign(trait=frame["expression"].str.split().str[0], evidence_label=frame["evidence"],
                         only_with="", mirror_id="", stable=True, routed=team if team.any() else supported,
                         declines=frame["points_to"] == "C", qualifies=frame["points_to"] == "A")
    return frame.reindex(columns=CRITERIA_COLUMNS)


def _run(folder, tiers, *, company="Acme", settings=None, audit=None, criteria=None, started="2026-01-01T00:00:00+00:00",
         anonymised=False, key_id=None, old_format=False):
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame(tiers, columns=["client_id", "name", "team_tier", "suggested_tier", "abc", "xyz", "revenue"]),
              folder / "tiers.csv")
    if audit is not None:
        write_csv(pd.DataFrame(audit, columns=["client_id", "sleeping", "key_class"]), folder / "clients_audit.csv")
    if criteria is not None:
        write_csv(_criteria_csv(criteria, old_format=old_format), folder / "criteria.csv")
    meta = {"company": company, "company_dir": f"/nowhere/{company.lower()}", "started": started,
            "inputs": [{"kind": "clients", "file": "clients.csv", "sha256": started}],
            "settings": settings if settings is not None else SETTINGS, "anonymised": anonymised}
    if key_id:
        meta["pseudonym_key_id"] = key_id
    write_json(meta, folder / "run.json")
    return folder


OLD_TIERS = [("K1", "Big", "A1", "A1", "A", "X", 700.0), ("K2", "Mid", "B2", "B1", "B", "Y", 200.0),
             ("K3", "Tiny", "C", "C", "C", "Z", 100.0)]
NEW_TIERS = [("K1", "Big", "A2", "A1", "A", "X", 900.0), ("K3", "Tiny", "B3", "B2", "B", "Y", 50.0),
             ("K4", "Fresh", "C", "C", "C", "Z", 50.0)]


def test_a_client_missing_in_one_run_is_a_listed_difference(tmp_path):
    old = _run(tmp_path / "old", OLD_TIERS, audit=[("K1", False, "gold"), ("K2", False, "silver"), ("K3", True, "bronze")])
    new = _run(tmp_path / "new", NEW_TIERS, started="2026-04-01T00:00:00+00:00",
               audit=[("K1", True, "gold"), ("K3", False, "bronze"), ("K4", False, "bronze")])
    cmp = compare.compare_runs(old, new)
    m = cmp.migrations.set_index("client_id")
    assert m.loc["K2", "status"] == "lost" and m.loc["K4", "status"] == "new"
    assert m.loc["K1", "status"] == "gone_to_sleep" and m.loc["K3", "status"] == "woke_up"
    assert m.loc["K3", "team_move"] == "up" and m.loc["K1", "team_move"] == "same"
    assert m.loc["K3", "revenue_change"] == -50 and m.loc["K3", "revenue_change_pct"] == -0.5
    conc = cmp.concentration.set_index("metric")
    assert conc.loc["top1_share", "then"] == pytest.approx(0.7) and conc.loc["top1_share", "now"] == pytest.approx(0.9)
    assert conc.loc["hhi", "then"] == pytest.approx(0.49 + 0.04 + 0.01)
    assert conc.loc["hhi", "now"] == pytest.approx(0.81 + 0.0025 + 0.0025)
    # no old leads and no company folder: said in the notes, not a crash
    assert cmp.check.notes


@pytest.mark.parametrize("old_format", [False, True], ids=["current", "old_run_predates_routing"])
def test_criteria_that_appeared_vanished_or_moved_their_threshold(tmp_path, old_format):
    then = [("A:headcount", "A", "headcount is 50 or more", "headcount >= 50", "supported", 50, "data", "", True),
            ("C:region", "C", "region is East", "region in [East]", "supported", None, "data", "", True),
            ("A:office", "A", "office is 100 or more", "office >= 100", "weak", 100, "data", "", True)]
    now = [("A:headcount", "A", "headcount is 40 or more", "headcount >= 40", "supported", 40, "data", "", True),
           ("A:office", "A", "office is 100 or more", "office >= 100", "supported", 100, "data", "", True),
           ("own-1", "C", "pays late: yes", "pays_late == yes", "weak", None, "team", "accepted", True)]
    old = _run(tmp_path / "old", OLD_TIERS, criteria=then, old_format=old_format)
    new = _run(tmp_path / "new", NEW_TIERS, criteria=now, started="2026-04-01T00:00:00+00:00")
    cmp = compare.compare_runs(old, new)
    assert any("predates routing" in note for note in cmp.check.notes) == old_format
    changes = cmp.criteria_changes.set_index("id")
    assert changes.loc["A:headcount", "change"] == "threshold"
    assert (changes.loc["A:headcount", "threshold_then"], changes.loc["A:headcount", "threshold_now"]) == (50, 40)
    assert changes.loc["C:region", "change"] == "vanished"
    assert changes.loc["A:office", "change"] == "appeared" and changes.loc["A:office", "evidence_then"] == "weak"
    assert changes.loc["own-1", "change"] == "appeared"


def test_runs_of_two_companies_or_with_other_settings_are_refused_unless_forced(tmp_path):
    old = _run(tmp_path / "old", OLD_TIERS)
    other = _run(tmp_path / "other", NEW_TIERS, company="Globex", started="2026-04-01T00:00:00+00:00")
    with pytest.raises(DataProblem) as err:
        compare.compare_runs(old, other)
    assert [p.code for p in err.value.errors] == ["compare_other_company"]
    lines = dict(SETTINGS, abc={"by": "revenue", "cutoffs": [0.7, 0.9]})
    relined = _run(tmp_path / "relined", NEW_TIERS, settings=lines, started="2026-04-01T00:00:00+00:00")
    with pytest.raises(DataProblem) as err:
        compare.compare_runs(old, relined)
    assert err.value.errors[0].code == "compare_other_settings"
    assert "abc.cutoffs" in err.value.errors[0].message
    forced = compare.compare_runs(old, relined, force=True)
    assert [p.severity for p in forced.problems if p.code == "compare_other_settings"] == ["warning"]
    html = compare.write_comparison(forced, tmp_path / "out")["compare.html"].read_text(encoding="utf-8")
    assert "abc.cutoffs" in html.split("<nav>")[0]  # flagged at the top of the page


def test_anonymised_runs_with_other_keys_or_mixed_with_plain_runs_are_refused(tmp_path):
    a = _run(tmp_path / "a", OLD_TIERS, anonymised=True, key_id="k1")
    b = _run(tmp_path / "b", NEW_TIERS, anonymised=True, key_id="k2", started="2026-04-01T00:00:00+00:00")
    c = _run(tmp_path / "c", NEW_TIERS, started="2026-04-01T00:00:00+00:00")
    d = _run(tmp_path / "d", NEW_TIERS, anonymised=True, key_id="k1", started="2026-04-01T00:00:00+00:00")
    for other, code in ((b, "compare_other_key"), (c, "compare_anonymised_mix")):
        with pytest.raises(DataProblem) as err:
            compare.compare_runs(a, other)
        assert err.value.errors[0].code == code
    assert compare.compare_runs(a, d).problems == []


def test_cli_compares_two_folders_and_a_company_by_dates(sample, tmp_path):
    root, old, new, _ = sample
    runner = CliRunner()
    result = runner.invoke(main, ["compare", str(old), str(new), "--out", str(tmp_path / "two")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "two" / "compare.html").is_file() and (tmp_path / "two" / "migrations.csv").is_file()
    run_dir = root / "runs" / "evolving"
    result = runner.invoke(main, ["compare", str(run_dir), "2026-03", "2026-06-01", "--out", str(tmp_path / "dates")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dates" / "migrations.csv").read_bytes() == (tmp_path / "two" / "migrations.csv").read_bytes()
    result = runner.invoke(main, ["compare", str(run_dir), "2025-01", "latest", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "2026-03-02_09-00-00" in result.output


def test_a_folder_that_is_not_a_run_gives_one_line(tmp_path, sample):
    _, old, _, _ = sample
    (tmp_path / "plain").mkdir()
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "plain"), str(old)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a Tierbook run" in lines[0] and "Traceback" not in result.output


def test_changed_inputs_of_the_new_run_are_not_used_for_scoring(tmp_path):
    root = tmp_path / "s"
    old, new = compare_sample.write_sample_runs(root)
    clients = root / "company" / "clients.csv"
    clients.write_text(clients.read_text(encoding="utf-8") + "Z9,Late Entry,99,North\n", encoding="utf-8")
    cmp = compare.compare_runs(old, new)
    assert any("changed after the run" in note for note in cmp.check.notes)
    assert set(cmp.check.cases["group"]) == {"lead"}  # only what the run itself recorded
    shutil.rmtree(root / "company")
    assert any("not there any more" in note for note in compare.compare_runs(old, new).check.notes)


def test_the_compare_notebook_is_stored_clean_with_literal_parameters_and_no_definitions():
    import ast

    import nbformat

    from helpers import paths

    nb = nbformat.read(paths.NOTEBOOKS_DIR / "06_compare.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert all(isinstance(n, ast.AnnAssign) and isinstance(n.value, ast.Constant)
               for n in ast.parse(tagged[0].source).body)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert not [n for n in ast.walk(ast.parse(cell.source))
                        if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
