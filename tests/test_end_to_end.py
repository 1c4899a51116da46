"""`tierbook run` and `tierbook check` as a user runs them, on every bundled sample company."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import paths
from helpers.run.runner import workbook_notebooks
from helpers.workbook import STEPS

TIERBOOK = str(Path(sys.executable).parent / "tierbook")
SAMPLES = sorted(p for p in paths.SAMPLE_DIR.iterdir() if p.is_dir())
TIERS_COLUMNS = {"client_id", "team_tier", "suggested_tier", "abc", "xyz", "abc_xyz", "score", "disagreement"}
CRITERIA_COLUMNS = {"trait", "rule", "points_to", "evidence", "support", "n_a", "n_c"}


def tierbook(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([TIERBOOK, *args], capture_output=True, text=True, timeout=timeout, cwd=paths.PROJECT_ROOT)


@pytest.fixture(scope="module", params=SAMPLES, ids=lambda p: p.name)
def finished_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / request.param.name
    result = tierbook("run", str(request.param), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return request.param, out, result


def test_run_writes_every_contracted_output(finished_run):
    company, out, result = finished_run
    for name in ("report.html", "tiers.csv", "criteria.csv", "run.json", "criteria.xlsx"):
        assert (out / name).is_file(), f"{name} missing for {company.name}"
    executed = sorted(p.name for p in (out / "notebooks").glob("*.ipynb"))
    assert [n[:2] for n in executed] == ["01", "02", "03", "04", "05"]
    assert "report.html" in result.stdout


def test_tiers_csv_has_one_row_per_client_with_the_contract_columns(finished_run):
    company, out, _ = finished_run
    tiers = pd.read_csv(out / "tiers.csv", dtype={"client_id": str})
    assert TIERS_COLUMNS <= set(tiers.columns)
    assert tiers["client_id"].is_unique
    assert set(tiers["suggested_tier"].dropna()) <= {"A1", "A2", "A3", "B1", "B2", "B3", "C"}
    assert set(tiers["abc"].dropna()) <= {"A", "B", "C"}


def test_criteria_csv_states_evidence_for_every_rule(finished_run):
    _, out, _ = finished_run
    criteria = pd.read_csv(out / "criteria.csv")
    assert CRITERIA_COLUMNS <= set(criteria.columns)
    assert set(criteria["evidence"]) <= {"supported", "weak", "insufficient", "none"}
    assert set(criteria["points_to"]) <= {"A", "C"}
    supported = criteria[criteria["evidence"] == "supported"]
    assert (supported["support"] >= 5).all(), "a rule resting on fewer than 5 clients is never supported"


def test_report_is_self_contained_and_readable_without_code(finished_run):
    _, out, _ = finished_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "nothing may be fetched from the internet"
    assert "<img" in html and "data:image/png;base64," in html
    assert "In [" not in html and "def " not in html


def test_run_json_records_inputs_versions_and_timings(finished_run):
    company, out, _ = finished_run
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    inputs = {i["file"] for i in meta["inputs"]}
    assert inputs == {p.name for p in company.iterdir() if p.stem in
                      {"clients", "placement", "transactions", "deals", "prospects", "contacts", "relationship",
                       "dossier"}}
    assert set(meta["timings_seconds"]) - {"steps"} == {p.stem for p in workbook_notebooks()}
    assert meta["versions"]["pandas"]


def test_each_step_is_computed_once_per_run(finished_run):
    """The runner computes every step once; the notebooks (and the report) only receive them."""
    _, out, _ = finished_run
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["steps"]["computed_by_runner"] == list(STEPS)
    assert meta["steps"]["recomputed_in_notebooks"] == []
    assert not (out / ".steps").exists(), "the hand-over file is not part of the published run"


def test_check_passes_on_every_sample():
    for company in SAMPLES:
        result = tierbook("check", str(company))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr


def test_a_broken_company_is_refused_before_any_notebook_runs(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,name\nC1,Alpha\nC1,Beta\n", encoding="utf-8")
    (folder / "placement.csv").write_text("client_id,tier\nC1,Z9\n", encoding="utf-8")
    check = tierbook("check", str(folder))
    assert check.returncode == 1
    assert re.search(r"clients\.csv:[23]:client_id", check.stdout), check.stdout
    assert "placement.csv:2:tier" in check.stdout, check.stdout
    run = tierbook("run", str(folder), "--out", str(tmp_path / "out"), "--quiet")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "out").exists()


def test_anonymised_run_leaks_no_client_name_into_any_output(tmp_path):
    key = tmp_path / "workshop.key"
    key.write_text("a key kept outside the repository")
    company = paths.SAMPLE_DIR / "b2b_services"
    out = tmp_path / "anon"
    result = tierbook("run", str(company), "--out", str(out), "--anonymise", "--key-file", str(key), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    clients = pd.read_csv(company / "clients.csv", dtype=str)
    prospects = pd.read_csv(company / "prospects.csv", dtype=str)
    secrets = set(clients["name"]) | set(prospects["name"])
    ids = set(clients["client_id"])
    for path in out.rglob("*"):
        if path.suffix in {".csv", ".html", ".ipynb", ".json"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{path.name} shows {leaked[:3]}"
            if path.suffix != ".json":
                assert not [i for i in ids if f'"{i}"' in text or f",{i}," in text], path.name
    assert "Anonymised mode" in (out / "report.html").read_text(encoding="utf-8")
    from helpers.step1_list_clients.anonymise import pseudonym

    expected = {pseudonym(cid, key.read_bytes().strip()) for cid in ids}
    assert set(pd.read_csv(out / "tiers.csv")["client_id"]) == expected, "--key-file must set the pseudonyms"


def test_figures_folder_holds_a_png_per_plot_drawn(finished_run):
    """Each figure shown in the executed notebooks is also a PNG in figures/."""
    import nbformat

    company, out, _ = finished_run
    drawn = 0
    for notebook in sorted((out / "notebooks").glob("0[1-4]_*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            drawn += sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
    pngs = list((out / "figures").glob("*.png"))
    assert drawn >= 10, f"{company.name}: expected the workbook's plots in the executed notebooks"
    assert len(pngs) >= drawn, f"{company.name}: {drawn} plots drawn, {len(pngs)} PNGs in figures/"
    assert all(p.stat().st_size > 1000 for p in pngs)
