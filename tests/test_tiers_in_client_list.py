"""A client list that carries the team's tiers in a column is read as the placement, never as a trait.

A trait equal to the tier "predicts" it perfectly: step 4 would hand the tiers back to sales as criteria,
and without placement.csv the team's own tiers would be ignored. Many teams keep the tier beside the
client in one sheet ("tier", "ABC", «Категория»)."""

from __future__ import annotations

from helpers.step1_list_clients.load import check_company
from tests.folders import write_company

LOG = ("client_id,date,amount\n" + "".join(f"C{i},2024-0{1 + i % 9}-05,{100 * (i + 1)}\n" for i in range(8)))


def _clients(header: str, values: list[str]) -> str:
    rows = "".join(f"C{i},Client {i},{'retail' if i % 2 else 'it'},{v}\n" for i, v in enumerate(values))
    return f"client_id,name,industry,{header}\n" + rows


def _codes(result):
    return {p.code: p for p in result.problems}


def test_a_tier_column_without_placement_is_the_teams_placement(tmp_path):
    folder = write_company(tmp_path / "acme", {
        "clients.csv": _clients("tier", ["A1", "a2", "B1", "B3", "C", "C", "X", ""]), "transactions.csv": LOG})
    result = check_company(folder)
    assert result.ok, [str(p) for p in result.problems]
    company = result.company
    assert dict(zip(company.placement["client_id"], company.placement["tier"])) == {
        "C0": "A1", "C1": "A2", "C2": "B1", "C3": "B3", "C4": "C", "C5": "C", "C6": "X"}
    assert "tier" not in company.trait_kinds and "tier" not in company.clients
    assert "industry" in company.trait_kinds
    note = _codes(result)["tiers_from_client_list"]
    assert note.severity == "info" and note.details["count"] == 7
    clients_report = next(f for f in result.files if f.kind == "clients")
    assert clients_report.columns["tier"] == ("tier", "tier")


def test_a_russian_abc_column_with_cyrillic_letters_is_read_as_tiers(tmp_path):
    folder = write_company(tmp_path / "kedr", {
        "clients.csv": _clients("Категория", ["А1", "А2", "В1", "В2", "С", "С", "А3", "В3"]), "transactions.csv": LOG})
    result = check_company(folder)
    assert result.ok
    assert sorted(result.company.placement["tier"]) == ["A1", "A2", "A3", "B1", "B2", "B3", "C", "C"]
    assert "Категория" not in result.company.trait_kinds


def test_beside_placement_csv_the_tier_column_is_left_out_of_the_traits_with_a_warning(tmp_path):
    folder = write_company(tmp_path / "acme", {
        "clients.csv": _clients("ABC", ["A1", "A2", "B1", "B3", "C", "C", "B2", "A3"]), "transactions.csv": LOG,
        "placement.csv": "client_id,tier\nC0,B1\nC1,C\n"})
    result = check_company(folder)
    assert result.ok
    assert dict(zip(result.company.placement["client_id"], result.company.placement["tier"])) == {"C0": "B1", "C1": "C"}
    assert "ABC" not in result.company.trait_kinds
    assert _codes(result)["tier_column_beside_placement"].severity == "warning"


def test_a_category_column_of_industries_stays_a_trait(tmp_path):
    folder = write_company(tmp_path / "acme", {
        "clients.csv": _clients("category", ["retail", "it", "retail", "logistics", "it", "it", "retail", "it"]),
        "transactions.csv": LOG})
    result = check_company(folder)
    assert result.ok
    assert "category" in result.company.trait_kinds
    assert result.company.placement is None
    assert "tiers_from_client_list" not in _codes(result)


def test_cells_of_a_tier_column_that_are_no_tier_are_named_and_left_unplaced(tmp_path):
    values = ["A1", "A2", "B1", "B3", "C", "C", "B2", "A3", "C", "B1", "A1", "C", "C", "B2", "B1", "C", "C", "A2",
              "B3", "VIP"]
    clients = "client_id,name,tier\n" + "".join(f"C{i},Client {i},{v}\n" for i, v in enumerate(values))
    result = check_company(write_company(tmp_path / "acme", {"clients.csv": clients, "transactions.csv": LOG}))
    assert result.ok
    assert len(result.company.placement) == 19
    unknown = _codes(result)["tiers_from_client_list_unknown"]
    assert unknown.details["count"] == 1 and "VIP" in unknown.details["examples"]
