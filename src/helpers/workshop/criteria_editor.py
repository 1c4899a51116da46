"""Step 4 in the room: the team decides its criteria — accept, edit, reject or add — and saves criteria.yml.

The candidates come from step 4's search (`helpers.step4_write_criteria.criteria.find_criteria`) with their evidence; the
file is written in the format of templates/criteria.yml and checked on save by the same reader the
workbook uses (`helpers.core.rules.read_team_criteria`), so a saved file never stops the next run.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from helpers.workshop.board import keep_in_history
from helpers.core.errors import DataProblem, Problem, problem
from helpers.core.export import write_text
from helpers.core.i18n import t
from helpers.paths import slugify
from helpers.core.rules import CRITERIA_FILE, RuleError, UnknownTrait, parse_rule, read_team_criteria

DECISIONS = ("accepted", "rejected", "proposed")
# The search lists every trait twice (A and C); more than this many candidates is a list nobody reads in a session.
MAX_CANDIDATES = 30


@dataclass
class DraftItem:
    """One criterion on the editor: the rule text, where it points, what the team decided (`status`, "" = not yet)."""

    id: str
    rule: str
    points_to: str
    rationale: str = ""
    source: str = "data"
    status: str = ""
    words: str = ""
    evidence_text: str = ""
    in_file: bool = False  # already in criteria.yml: kept on save whatever its status
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def entry(self) -> dict:
        """The criteria.yml entry (keys of templates/criteria.yml)."""
        out = {"id": self.id, "rule": self.rule, "points_to": self.points_to}
        if self.rationale:
            out["rationale"] = self.rationale
        out["source"] = self.source
        out["status"] = self.status or "proposed"
        return out


def evidence_text(row: pd.Series) -> str:
    """One line of evidence: verdict, how many of how many point to the tier, the interval, p adjusted.

    >>> evidence_text(pd.Series({"evidence": "supported", "points_to": "A", "n_a": 20, "n_c": 1, "support": 25,
    ...                          "share": 0.8, "ci_low": 0.6, "ci_high": 0.9, "p_adjusted": 0.002}))
    'supported · 20 of 25 are A (80%, 95% CI 60%–90%) · p adj. 0.002'
    """
    count = row["n_a"] if row["points_to"] == "A" else row["n_c"]
    return t("board.editor.evidence_line", verdict=t(f"criteria.evidence.{row['evidence']}"), count=int(count),
             support=int(row["support"]), tier=row["points_to"], share=f"{row['share']:.0%}",
             low=f"{row['ci_low']:.0%}", high=f"{row['ci_high']:.0%}", p=f"{row['p_adjusted']:.3f}")


@dataclass
class CriteriaDraft:
    """The criteria being decided for one company folder.

    Attributes:
        folder: the company folder (criteria.yml is written there; the previous one goes to history/).
        kinds: trait -> number | yesno | category (only these can be used in a rule).
        categories: trait -> category names in the data (for warnings about misspelt values).
        items: the criteria on the editor, the team's file first, then the data's candidates.
        problems: what was wrong with the existing criteria.yml, if anything (shown, not raised).
    """

    folder: Path
    kinds: dict[str, str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    items: list[DraftItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return Path(self.folder) / CRITERIA_FILE

    @classmethod
    def from_result(cls, company, result) -> "CriteriaDraft":
        """Candidates from a `CriteriaResult` (supported first), after the criteria already in the team's file."""
        kinds = {k: v for k, v in company.trait_kinds.items() if v in ("number", "yesno", "category")}
        categories = {k: company.clients[k].dropna().astype(str).unique().tolist()
                      for k, v in kinds.items() if v == "category" and k in company.clients}
        draft = cls(Path(company.folder), kinds, categories)
        team = result.table[result.table["source"] == "team"]
        for crit, (_, row) in zip(result.team_criteria, team.iterrows()):
            draft.items.append(DraftItem(crit.id, crit.text, crit.points_to, crit.rationale, crit.source,
                                         crit.status, crit.rule.words(), evidence_text(row), in_file=True))
        known = {item.rule for item in draft.items} | {row["expression"] for _, row in team.iterrows()}
        data = result.table[(result.table["source"] == "data") & (result.table["evidence"] != "insufficient")]
        for _, row in data.head(MAX_CANDIDATES).iterrows():
            if row["expression"] in known:
                continue
            draft.items.append(DraftItem(draft._new_id(f"{row['points_to']}-{row['trait']}"), row["expression"],
                                         row["points_to"], source="data", words=row["rule"],
                                         evidence_text=evidence_text(row)))
        return draft

    @classmethod
    def from_workbook(cls, wb) -> "CriteriaDraft":
        """Candidates for a workbook's company. A criteria.yml that cannot be read is shown, not fatal:
        the editor then starts from the data's candidates and saving replaces the file (kept in history/)."""
        from helpers.step4_write_criteria.criteria import find_criteria

        try:
            result = wb.criteria
        except DataProblem as exc:
            # the team's file is broken (step 1 refuses it): load and search without it, so the room can decide
            from helpers.step1_list_clients.load import load_company
            from helpers.step2_place_in_tiers.tiers import build_tiers

            company = load_company(wb.company_dir, team_criteria=False)
            with tempfile.TemporaryDirectory() as tmp:
                shadow = type(company)(**{**company.__dict__, "folder": Path(tmp)})
                result = find_criteria(shadow, build_tiers(company).table, backtest=False)
            draft = cls.from_result(company, result)
            draft.problems = exc.problems
            return draft
        return cls.from_result(wb.company, result)

    def _new_id(self, base: str) -> str:
        base = slugify(base)
        taken = {item.id for item in self.items}
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        return name

    # -- what the room does
    def check_rule(self, text: str, *, cid: str = "new") -> str:
        """Parse a rule at once; return it tidied. Raises DataProblem naming criteria.yml, the criterion and the fix.

        Unknown traits come with the closest names the company has; an operator the rule language does
        not have (`=>`, `~`) is refused with the forms it does have.
        """
        text = " ".join(str(text or "").split())
        where = dict(file=CRITERIA_FILE, column=cid, id=cid)
        try:
            parse_rule(text, self.kinds)
        except UnknownTrait as exc:
            raise DataProblem(problem("criterion_unknown_trait", **where, name=exc.name,
                                      close=", ".join(exc.close) or "-", known=", ".join(list(self.kinds)[:20]))) from None
        except RuleError as exc:
            raise DataProblem(problem("criterion_bad_rule", **where, rule=text, detail=exc.detail)) from None
        return text

    def set_status(self, index: int, status: str) -> DraftItem:
        """Accept, reject (or put back to proposed) one criterion."""
        if status not in DECISIONS:
            raise DataProblem(problem("criterion_invalid", file=CRITERIA_FILE, column=self.items[index].id,
                                      id=self.items[index].id,
                                      detail=t("criteria.file.bad_status", value=status, allowed=", ".join(DECISIONS))))
        item = self.items[index]
        item.status = status
        return item

    def edit(self, index: int, *, rule: str | None = None, rationale: str | None = None) -> DraftItem:
        """Change a criterion's rule (threshold, categories, conditions) or its wording; a bad rule is refused
        at once and the item keeps its previous rule. An edited data rule becomes the team's own."""
        item = self.items[index]
        if rule is not None and " ".join(rule.split()) != item.rule:
            try:
                item.rule = self.check_rule(rule, cid=item.id)
            except DataProblem as exc:
                item.error = str(exc.problems[0])
                raise
            item.error = ""
            item.words = parse_rule(item.rule, self.kinds).words()
            item.evidence_text = t("board.editor.edited")
        if rationale is not None:
            item.rationale = " ".join(rationale.split())
        return item

    def add(self, rule: str, *, points_to: str = "A", rationale: str = "", source: str = "interview") -> DraftItem:
        """The team's own criterion (accepted, from interviews unless said otherwise)."""
        points_to = str(points_to).strip().upper()
        if points_to not in ("A", "C"):
            raise DataProblem(problem("criterion_invalid", file=CRITERIA_FILE, column="new", id="new",
                                      detail=t("criteria.file.bad_points_to", value=points_to)))
        text = self.check_rule(rule)
        item = DraftItem(self._new_id(f"{points_to}-own-{text[:30]}"), text, points_to, " ".join(rationale.split()),
                         source, "accepted", parse_rule(text, self.kinds).words(), t("board.editor.own"))
        self.items.append(item)
        return item

    # -- the file
    def entries(self) -> list[dict]:
        """What criteria.yml will hold: every criterion of the old file, and every candidate the room decided on."""
        return [item.entry() for item in self.items if item.in_file or item.status]

    def to_yaml(self) -> str:
        header = t("board.editor.file_header").strip()
        body = yaml.safe_dump({"criteria": self.entries()}, allow_unicode=True, sort_keys=False, width=110)
        return "\n".join("# " + line for line in header.splitlines()) + "\n\n" + body

    def save(self) -> Path:
        """Check the whole file with the workbook's own reader, then write criteria.yml atomically.

        The previous criteria.yml is copied to history/ first. Raises DataProblem (nothing written)
        when any criterion cannot be used.
        """
        text = self.to_yaml()
        with tempfile.TemporaryDirectory() as tmp:
            trial = Path(tmp) / CRITERIA_FILE
            trial.write_text(text, encoding="utf-8")
            read_team_criteria(trial, self.kinds, self.categories)
        keep_in_history(self.folder, CRITERIA_FILE)
        path = write_text(text, self.path)
        for item in self.items:
            if item.status:
                item.in_file = True
        return path
