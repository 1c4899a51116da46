"""Step 3 of the method: compare the traits of the tiers.

How are clients of one tier alike, how do tiers differ, and by which signs can we tell early?
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from helpers.core import stats
from helpers.step1_list_clients.company import CLIENT_METRICS, Company
from helpers.step1_list_clients.settings import CompanySettings
from helpers.core.errors import DataProblem, problem
from helpers.core.i18n import t

Source = Literal["team", "suggested"]
COMPARED_TIERS = ("A", "B", "C")
# Fewer team placements than this (in A-C, with at least one A and one other) is not a
# placement to compare on: the kit then audits the suggested tiers instead.
MIN_TEAM_PLACED = 10


def _collapse(labels: pd.Series) -> pd.Series:
    """A1/A2/A3/A -> A, B1/B2/B3/B -> B, C -> C; D, X, blanks and anything else -> <NA>."""
    text = labels.astype("string").str.strip().str.upper()
    letter = text.str[0]
    valid = text.str.fullmatch(r"[AB][123]?|C").fillna(False).astype(bool)
    return letter.where(valid).astype("string")


def _team_usable(team: pd.Series) -> bool:
    placed = team.dropna()
    return len(placed) >= MIN_TEAM_PLACED and (placed == "A").any() and (placed != "A").any()


def compared_tiers(tiers_table: pd.DataFrame, settings: CompanySettings | None = None) -> tuple[pd.Series, Source]:
    """The tier each client is compared in (A, B or C) and where it comes from.

    The team's placement is the method's source of truth, so it is used whenever the team
    placed enough clients (at least 10 in A-C, with at least one A and one other); otherwise the
    suggested tiers are compared (a data-only audit). ``settings.criteria.compare`` may force
    either. Sub-tiers are collapsed (A1-A3 -> A, B1-B3 -> B); D, X and unplaced clients are left
    out. The input is not changed.

    Args:
        tiers_table: `tiers.csv` as a frame: client_id, team_tier, suggested_tier, ...
        settings: the company settings (defaults when None).

    Returns:
        (Series of "A"/"B"/"C" indexed by client_id and named "tier", "team" or "suggested").

    Raises:
        DataProblem: the settings force the team's placement but there is none to use.

    >>> table = pd.DataFrame({"client_id": ["c1", "c2", "c3", "c4"],
    ...                       "team_tier": [None, None, None, None],
    ...                       "suggested_tier": ["A2", "B1", "C", "D"]})
    >>> tiers, source = compared_tiers(table)
    >>> source, tiers.to_dict()
    ('suggested', {'c1': 'A', 'c2': 'B', 'c3': 'C'})
    """
    settings = settings or CompanySettings()
    mode = settings.criteria.compare
    ids = tiers_table["client_id"].astype("string")
    team = (_collapse(tiers_table["team_tier"]) if "team_tier" in tiers_table
            else pd.Series(pd.NA, index=tiers_table.index, dtype="string"))
    suggested = (_collapse(tiers_table["suggested_tier"]) if "suggested_tier" in tiers_table
                 else pd.Series(pd.NA, index=tiers_table.index, dtype="string"))
    if mode == "team" and team.notna().sum() == 0:
        raise DataProblem(problem("compare_team_without_placement", file="company.yml", column="criteria.compare"))
    source: Source = "team" if mode == "team" or (mode == "auto" and _team_usable(team)) else "suggested"
    chosen = team if source == "team" else suggested
    out = pd.Series(chosen.to_numpy(), index=pd.Index(ids.to_numpy(), name="client_id"), name="tier", dtype="string")
    return out.dropna().astype(object), source


# --------------------------------------------------------------------------- comparing traits
# Contrast id -> (the group, the rest it is compared with, what a difference points to).
# One group against all others has the most power on small tiers: "signs of A" and "red flags".
CONTRASTS = {
    "A vs rest": (("A",), ("B", "C"), "A"),
    "C vs rest": (("C",), ("A", "B"), "C"),
    "A vs B": (("A",), ("B",), "A"),
}
DEFAULT_CONTRASTS = ("A vs rest", "C vs rest")
# A category trait shows at most this many levels; the rarest are pooled into "other".
MAX_LEVELS = 8
# A free-text trait listed as first-contact is compared as a category when it has this few answers.
MAX_TEXT_LEVELS = 20
SUBTIER_ORDER = ("A1", "A2", "A3", "A", "B1", "B2", "B3", "B", "C")

DISTRIBUTION_COLUMNS = ["trait", "kind", "tier", "level", "n", "count", "share", "share_low", "share_high",
                        "median", "q1", "q3", "missing"]
CONTRAST_COLUMNS = ["contrast", "rank", "trait", "kind", "points_to", "first_contact", "visibility", "level",
                    "n_group", "n_rest", "count_group", "count_rest", "value_group", "value_rest", "effect",
                    "effect_low", "effect_high", "effect_kind", "odds_ratio", "odds_ratio_low", "odds_ratio_high",
                    "p_value", "q_value", "separation", "note", "known_a", "known_b", "known_c"]


@dataclass
class TraitComparison:
    """What step 3 found: how each trait is distributed per tier and how well it separates them.

    source         "team" or "suggested": whose tiers were compared
    counts         clients per compared tier (A, B, C; sub-tiers when asked)
    kinds          trait -> number | yesno | category, for the traits compared
    values         one row per compared client: `tier` and every compared trait (categories pooled,
                   yes/no as readable words), the data behind the plots
    distributions  one row per trait x tier (x level): n, counts and shares with Wilson intervals
                   (yes/no, categories) or median and quartiles (numbers)
    contrasts      one row per trait x contrast, ranked within each contrast: first-contact traits
                   first, then by `separation` (the interval bound of the effect nearest zero)
    skipped        traits not compared and why
    """

    source: Source
    counts: pd.Series
    kinds: dict[str, str]
    values: pd.DataFrame
    distributions: pd.DataFrame
    contrasts: pd.DataFrame
    skipped: pd.DataFrame
    first_contact: list[str] = field(default_factory=list)
    min_group: int = 5

    def explain_source(self) -> str:
        """One sentence: whose tiers are compared, how many clients, and why."""
        counts = ", ".join(f"{tier} {n}" for tier, n in self.counts.items())
        return t(f"traits.source_{self.source}", total=int(self.counts.sum()), counts=counts)

    def ranked(self, contrast: str = "A vs rest", *, first_contact_only: bool = False) -> pd.DataFrame:
        """The rows of one contrast in rank order (optionally only first-contact traits)."""
        rows = self.contrasts[self.contrasts["contrast"] == contrast]
        if first_contact_only:
            rows = rows[rows["first_contact"]]
        return rows.sort_values("rank").reset_index(drop=True)

    def top_traits(self, n: int = 4, *, first_contact_only: bool = True) -> list[str]:
        """The traits that separate the tiers best, over the contrasts computed, best first."""
        rows = self.contrasts[self.contrasts["note"].isna()]
        if first_contact_only:
            rows = rows[rows["first_contact"]]
        best = rows.groupby("trait")["separation"].max().sort_values(ascending=False, kind="stable")
        return best.index[:n].tolist()


# Figures that are outcomes of a sale: a trait that near-copies one of them is known only after the sale.
OUTCOME_METRICS = ("revenue", "margin", "tenure_months", "client_since")


@dataclass
class FirstContact:
    """Which traits a seller is taken to know in the first conversation, and why.

    traits        the traits treated as first-contact (listed in company.yml, or every trait but the
                  outcome-like ones when none is listed)
    assumed       company.yml lists none: the kit assumed every trait is visible (said in a box in the report)
    outcome_like  trait -> (metric, Spearman rho): near-copies of revenue, margin or tenure, kept out
                  unless company.yml lists them
    """

    traits: list[str]
    assumed: bool
    outcome_like: dict[str, tuple[str, float]] = field(default_factory=dict)


def outcome_like_traits(clients: pd.DataFrame, kinds: dict[str, str], *, threshold: float = 0.8,
                        metrics: pd.DataFrame | None = None) -> dict[str, tuple[str, float]]:
    """Traits whose rank correlation with revenue, margin or tenure exceeds `threshold` in absolute value.

    Such a trait (an "annual spend", a "contract value") is an outcome of the sale, not a sign a seller
    sees before it. Spearman's rho over clients with both values known (at least 10); numbers and yes/no
    traits are checked, `client_since` counts as tenure (earlier = longer). The inputs are not changed.

    Args:
        clients: one row per client with the trait columns (and any of the metrics).
        kinds: trait -> number | yesno | category | text.
        threshold: |rho| above which a trait looks like an outcome (CriteriaSettings.outcome_correlation).
        metrics: optional extra metrics by client_id (e.g. revenue aggregated from transactions).

    Returns:
        trait -> (metric, rho) for the outcome-like traits.

    >>> df = pd.DataFrame({"revenue": range(20), "spend": [v * 1.1 for v in range(20)], "x": [1, 5] * 10})
    >>> outcome_like_traits(df, {"spend": "number", "x": "number"})
    {'spend': ('revenue', 1.0)}
    """
    table = clients.copy()
    if metrics is not None and "client_id" in table:
        extra = metrics.set_index(metrics["client_id"].astype(str)).drop(columns=["client_id"], errors="ignore")
        for metric in OUTCOME_METRICS:
            if metric in extra and metric not in table:
                table[metric] = table["client_id"].astype(str).map(extra[metric]).to_numpy()
    columns = {}
    for metric in OUTCOME_METRICS:
        if metric not in table:
            continue
        col = table[metric]
        if metric == "client_since":
            col = -pd.to_datetime(col, errors="coerce").astype("int64", errors="ignore").where(col.notna())
        columns[metric] = pd.to_numeric(col, errors="coerce").astype(float)
    found: dict[str, tuple[str, float]] = {}
    for trait, kind in kinds.items():
        if kind not in ("number", "yesno") or trait not in table or trait in OUTCOME_METRICS:
            continue
        values = pd.to_numeric(table[trait].astype("Float64") if kind == "yesno" else table[trait],
                               errors="coerce").astype(float)
        for metric, other in columns.items():
            both = values.notna() & other.notna()
            if both.sum() < 10 or values[both].nunique() < 2 or other[both].nunique() < 2:
                continue
            rho = float(values[both].rank().corr(other[both].rank()))
            if abs(rho) > threshold and (trait not in found or abs(rho) > abs(found[trait][1])):
                found[trait] = (metric, round(rho, 3))
    return found


def first_contact_view(company: Company, kinds: dict[str, str] | None = None,
                       metrics: pd.DataFrame | None = None) -> FirstContact:
    """The traits a seller can use in the first conversation, shared by steps 3 and 4 (so traits.csv
    and criteria.csv agree).

    Listed in company.yml -> exactly those. None listed -> every trait of the company (not its metrics)
    is assumed visible, except outcome-like ones (`outcome_like_traits`), and `assumed` is True so the
    report says so in a box. Outcome-like traits are reported either way.
    """
    kinds = company.trait_kinds if kinds is None else kinds
    listed = [trait for trait in dict.fromkeys(company.settings.first_contact_traits) if trait in kinds]
    outcome = outcome_like_traits(company.clients, kinds, threshold=company.settings.criteria.outcome_correlation,
                                  metrics=metrics)
    if listed:
        return FirstContact(listed, False, outcome)
    assumed = [trait for trait in kinds if trait in company.trait_kinds and trait not in CLIENT_METRICS
               and trait not in outcome]
    return FirstContact(assumed, True, outcome)


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _traits_to_compare(company: Company) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Trait -> kind to compare, and (trait, reason) for the ones left out."""
    listed = set(company.settings.first_contact_traits)
    kinds: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    for trait, kind in company.trait_kinds.items():
        if trait not in company.clients:
            continue
        if kind == "text":
            distinct = company.clients[trait].dropna().nunique()
            if trait in listed and distinct <= MAX_TEXT_LEVELS:
                kinds[trait] = "category"  # the team says a salesperson asks it: compare its answers
            else:
                skipped.append((trait, t("traits.skipped_text", levels=distinct)))
        else:
            kinds[trait] = kind
    # The figures behind the value score are compared too (visible only after the sale as a rule).
    for metric in CLIENT_METRICS:
        if metric in company.clients and metric not in kinds and _is_numeric(company.clients[metric]):
            kinds[metric] = "number"
    return kinds, skipped


def _as_words(values: pd.Series, kind: str, *, min_count: int) -> pd.Series:
    """Yes/no as readable words; categories with rare levels pooled into "other", names kept."""
    if kind == "yesno":
        flags = values.astype("boolean")
        words = pd.Series(np.where(flags.fillna(False).to_numpy(dtype=bool), t("traits.answer_yes"), t("traits.answer_no")),
                          index=values.index, dtype=object)
        return words.where(flags.notna().to_numpy(), None)
    text = values.astype("string").str.strip()
    text = text.where(text != "")
    counts = text.value_counts()
    rare = set(counts[counts < min_count].index)
    frequent = [level for level in counts.index if level not in rare]
    if len(frequent) > MAX_LEVELS - 1:
        rare |= set(frequent[MAX_LEVELS - 1:])
    if len(rare) <= 1:  # pooling one level into "other" would only hide its name
        rare = set()
    pooled = text.where(~text.isin(rare), t("traits.other"))
    return pooled.astype(object).where(pooled.notna(), None)


def _share_rows(trait: str, kind: str, words: pd.Series, tiers: pd.Series, order: list[str]) -> list[dict]:
    rows = []
    levels = _level_order(words, kind)
    for tier in order:
        in_tier = words[tiers == tier]
        answered = in_tier.dropna()
        for level in levels:
            count = int((answered == level).sum())
            low, high = stats.wilson_interval(count, len(answered))
            rows.append({"trait": trait, "kind": kind, "tier": tier, "level": level, "n": len(answered),
                         "count": count, "share": count / len(answered) if len(answered) else math.nan,
                         "share_low": low, "share_high": high, "missing": int(in_tier.isna().sum())})
    return rows


def _level_order(words: pd.Series, kind: str) -> list[str]:
    if kind == "yesno":
        return [t("traits.answer_yes"), t("traits.answer_no")]
    counts = words.value_counts()
    other = t("traits.other")
    return [level for level in counts.index if level != other] + ([other] if other in counts.index else [])


def _number_rows(trait: str, values: pd.Series, tiers: pd.Series, order: list[str]) -> list[dict]:
    rows = []
    for tier in order:
        in_tier = values[tiers == tier]
        known = in_tier.dropna().astype(float)
        q1, median, q3 = (known.quantile([0.25, 0.5, 0.75]).tolist() if len(known) else [math.nan] * 3)
        rows.append({"trait": trait, "kind": "number", "tier": tier, "level": None, "n": len(known),
                     "median": median, "q1": q1, "q3": q3, "missing": int(in_tier.isna().sum())})
    return rows


def _too_few(n_group: int, n_rest: int, group: str, min_group: int) -> str | None:
    if n_group < min_group or n_rest < min_group:
        return t("traits.note_too_few", n_group=n_group, group=group, n_rest=n_rest, min=min_group)
    return None


def _contrast_number(values: pd.Series, in_group: pd.Series, in_rest: pd.Series) -> dict:
    x = values[in_group].dropna().astype(float).to_numpy()
    y = values[in_rest].dropna().astype(float).to_numpy()
    row = {"n_group": len(x), "n_rest": len(y), "effect_kind": "cliffs_delta",
           "value_group": float(np.median(x)) if len(x) else math.nan,
           "value_rest": float(np.median(y)) if len(y) else math.nan}
    if len(x) and len(y):
        row["effect"], row["effect_low"], row["effect_high"] = stats.cliffs_delta(x, y)
        # Brunner-Munzel: holds its level when the smaller tier is more spread out (Mann-Whitney does not)
        row["p_value"] = stats.rank_test_p(x, y)
        if np.ptp(np.concatenate([x, y])) == 0:
            row["note"] = t("traits.note_constant")
    return row


def _contrast_shares(words: pd.Series, kind: str, in_group: pd.Series, in_rest: pd.Series, *,
                     permutations: int, seed: int) -> dict:
    group = words[in_group].dropna()
    rest = words[in_rest].dropna()
    row = {"n_group": len(group), "n_rest": len(rest), "effect_kind": "share_difference"}
    if not len(group) or not len(rest):
        return row
    levels = [t("traits.answer_yes")] if kind == "yesno" else _level_order(pd.concat([group, rest]), kind)
    if pd.concat([group, rest]).nunique() < 2:
        row.update({"level": levels[0], "note": t("traits.note_constant")})
        return row
    # the level whose share differs most between the group and the rest speaks for the trait
    diffs = {level: (group == level).mean() - (rest == level).mean() for level in levels}
    level = max(levels, key=lambda lv: (abs(diffs[lv]), diffs[lv]))
    a, b = int((group == level).sum()), int((rest == level).sum())
    # the level was picked as the most different of k: a Bonferroni-wide interval keeps that honest
    confidence = 1 - 0.05 / (len(levels) if kind == "category" and len(levels) > 2 else 1)
    diff, low, high = stats.newcombe_difference(a, len(group), b, len(rest), confidence=confidence)
    fisher_p, ratio, ratio_low, ratio_high = stats.fisher_exact_test(a, len(group), b, len(rest),
                                                                     confidence=confidence)
    if kind == "yesno":
        p_value = fisher_p
    else:
        # all levels at once, so picking the most different level does not buy a small p-value
        both = pd.concat([group, rest])
        codes = pd.Categorical(both).codes
        p_value = stats.permutation_association_p(np.r_[np.ones(len(group), bool), np.zeros(len(rest), bool)],
                                                  codes, permutations=permutations, seed=seed)
    row.update({"level": level, "count_group": a, "count_rest": b, "value_group": a / len(group),
                "value_rest": b / len(rest), "effect": diff, "effect_low": low, "effect_high": high,
                "odds_ratio": ratio, "odds_ratio_low": ratio_low, "odds_ratio_high": ratio_high,
                "p_value": p_value})
    return row


def _separation(low: float, high: float) -> float:
    """How far the effect's interval stays from zero: 0 when the data cannot tell the sign."""
    if pd.isna(low) or pd.isna(high):
        return math.nan
    return float(max(low, 0.0, -high))


def _rank_contrasts(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    # q-values over every usable row of the report (all contrasts at once): correcting per contrast
    # would let each added contrast spend the false-discovery budget again
    rows = rows.copy()
    usable_all = rows["note"].isna()
    rows["q_value"] = np.nan
    rows.loc[usable_all, "q_value"] = stats.benjamini_hochberg(rows.loc[usable_all, "p_value"].to_numpy(dtype=float))
    for contrast in dict.fromkeys(rows["contrast"]):
        part = rows[rows["contrast"] == contrast].copy()
        usable = part["note"].isna()
        part["_noted"] = ~usable
        part["_size"] = part["effect"].abs()
        part = part.sort_values(["first_contact", "_noted", "separation", "_size", "p_value"],
                                ascending=[False, True, False, False, True], na_position="last", kind="stable")
        part["rank"] = np.arange(1, len(part) + 1)
        out.append(part.drop(columns=["_noted", "_size"]))
    return pd.concat(out, ignore_index=True) if out else rows


def compare_traits(company: Company, tiers_table: pd.DataFrame, *, contrasts=DEFAULT_CONTRASTS,
                   subtiers: bool = False) -> TraitComparison:
    """Compare every trait across the tiers: distributions per tier and ranked contrasts.

    The tiers are those of `compared_tiers` (the team's placement, or the suggested tiers as a
    data-only audit). For each trait (number, yes/no, category) and each contrast ("A vs rest":
    signs of A; "C vs rest": red flags; "A vs B" on demand) it reports the counts, the shares or
    medians, an effect on one scale from -1 to 1 with a 95% interval (Cliff's delta for numbers,
    the difference of shares for yes/no and categories, which is Cliff's delta of a yes/no
    value; for a category, the level that differs most, its interval widened by Bonferroni over
    the levels it was picked from), an odds ratio, and a p-value (Brunner-Munzel for numbers, which does not
    assume equal spread; Fisher's exact test; or a permutation test across all levels of a category) with
    Benjamini-Hochberg q-values computed over every row of every contrast at once. `known_a/b/c` count
    the clients per tier whose value is known. A contrast with fewer
    than `settings.criteria.min_support` clients on either side gets a `note` instead of a rank
    among the usable rows. Nothing given is changed.

    Args:
        company: the loaded company (clients with trait columns, trait_kinds, settings).
        tiers_table: `tiers.csv` as a frame (client_id, team_tier, suggested_tier, ...).
        contrasts: which contrasts to compute, from `CONTRASTS`.
        subtiers: show distributions per sub-tier (A1, A2, ...) instead of per A, B, C.

    Returns:
        A TraitComparison.
    """
    settings = company.settings
    unknown = [c for c in contrasts if c not in CONTRASTS]
    if unknown:
        raise ValueError(f"unknown contrast(s) {unknown}; choose from {list(CONTRASTS)}")
    tiers, source = compared_tiers(tiers_table, settings)
    min_group = settings.criteria.min_support
    kinds, skipped = _traits_to_compare(company)
    first_contact = first_contact_view(company, kinds, tiers_table).traits

    clients = company.clients.assign(client_id=company.clients["client_id"].astype(str)).set_index("client_id")
    clients = clients[~clients.index.duplicated()]
    ids = [cid for cid in tiers.index if cid in clients.index]
    tier = tiers.loc[ids]
    if subtiers:
        raw = tiers_table.assign(client_id=tiers_table["client_id"].astype(str)).drop_duplicates("client_id")
        labels = raw.set_index("client_id")[f"{source}_tier"].astype("string").str.strip().str.upper()
        shown = labels.reindex(ids).astype(object)
        order = [label for label in SUBTIER_ORDER if (shown == label).any()]
    else:
        shown = tier
        order = [label for label in COMPARED_TIERS if (tier == label).any()]

    values = pd.DataFrame({"tier": shown.to_numpy()}, index=pd.Index(ids, name="client_id"))
    dist_rows: list[dict] = []
    contrast_rows: list[dict] = []
    for trait, kind in kinds.items():
        raw_values = clients.loc[ids, trait]
        if kind == "number":
            column = pd.to_numeric(raw_values, errors="coerce").astype(float)
            dist_rows += _number_rows(trait, column, shown, order)
        else:
            column = _as_words(raw_values, kind, min_count=min_group)
            dist_rows += _share_rows(trait, kind, column, shown, order)
        values[trait] = column.to_numpy()
        # clients whose value is known, per tier: a difference here is its own finding (see criteria.missing)
        known_per_tier = {f"known_{x.lower()}": int((column.notna() & (tier == x).to_numpy()).sum())
                          for x in COMPARED_TIERS}
        for name in contrasts:
            group_tiers, rest_tiers, points_to = CONTRASTS[name]
            in_group, in_rest = tier.isin(group_tiers), tier.isin(rest_tiers)
            if kind == "number":
                row = _contrast_number(column, in_group, in_rest)
            else:
                row = _contrast_shares(column, kind, in_group, in_rest, permutations=settings.criteria.permutations,
                                       seed=settings.criteria.seed)
            note = _too_few(row["n_group"], row["n_rest"], group_tiers[0], min_group) or row.get("note")
            row.update(known_per_tier)
            row.update({"contrast": name, "trait": trait, "kind": kind, "points_to": points_to,
                        "first_contact": trait in first_contact, "note": note,
                        "visibility": t("traits.first_contact") if trait in first_contact else t("traits.after_sale")})
            row["separation"] = math.nan if note else _separation(row.get("effect_low", math.nan),
                                                                   row.get("effect_high", math.nan))
            contrast_rows.append(row)

    distributions = pd.DataFrame(dist_rows).reindex(columns=DISTRIBUTION_COLUMNS)
    distributions[["n", "count", "missing"]] = distributions[["n", "count", "missing"]].astype("Int64")
    table = pd.DataFrame(contrast_rows).reindex(columns=CONTRAST_COLUMNS)
    table["first_contact"] = table["first_contact"].astype(bool)
    table = _rank_contrasts(table)[CONTRAST_COLUMNS] if len(table) else table
    counts = shown.value_counts().reindex(order).fillna(0).astype(int).rename("clients")
    counts.index.name = "tier"
    return TraitComparison(source=source, counts=counts, kinds=kinds, values=values, distributions=distributions,
                           contrasts=table, skipped=pd.DataFrame(skipped, columns=["trait", "reason"]),
                           first_contact=first_contact, min_group=min_group)
