"""Step 4 of the method: from the traits of the tiers to target / non-target criteria.

Finds candidate rules (signs of A, red flags of C) and says honestly how sure it is.

How a rule is found
    The clients compared are A, B and C (`helpers.step3_compare_traits.traits.compared_tiers`). Two contrasts are
    searched: A against all others (signs of A, "target") and C against all others (red flags,
    "non-target"). For every trait and contrast the search picks the best single-trait rule:
    a yes/no value, a set of categories (categories ranked by their share of the tier, every
    leading set tried; categories with fewer than `min_support` clients pooled first), or a
    numeric threshold (every cut between two observed values, both `>=` and `<`). With
    `max_conditions: 2` it also tries every pair of conditions on two different traits
    (yes/no values, categories, and quartile thresholds) joined with "and".

The statistic
    A rule covering m clients, k of them in the tier, is scored by the continuity-corrected
    hypergeometric z: (k - m·K/N - 0.5) / sd, where K of N compared clients are in the tier.
    Rules covering fewer than `min_support` clients are not scored. A pair must earn its second
    condition: its score is the smallest of three z's — the pair against everyone, and each
    condition within the clients the other one covers — so "a strong sign and any noise" is not
    a new rule.

Guard against chance (Westfall–Young max-T permutation test)
    The tier labels are shuffled among the clients `permutations` times (seeded), and the WHOLE
    search is redone on each shuffle: every threshold, every category set, every pair, both
    contrasts. Under "no real difference" the shuffled labels are as likely as the real ones, so
    the largest score found anywhere in a shuffle shows how high chance alone reaches when this
    many rules are tried. A rule's `p_adjusted` is the share of shuffles whose largest score
    (over all rules) reaches the rule's own score; this bounds the chance of reporting ANY
    rule when none is real (family-wise error, hence also the false discovery rate) at
    `alpha`, selection of thresholds, category sets and pairs included. `p_value` is the
    same comparison within the rule's own trait (or pair of traits) only: it accounts for
    choosing the threshold, not for trying the other traits.

How it is computed (`search`)
    On cells of clients alike in every searched trait: a shuffle draws how many A and C clients fall in
    each cell (the exact distribution of shuffled labels), a resample draws multinomial counts, so the
    cost follows the number of cells, not of clients. A number with more than 255 distinct values is
    split at 255 quantiles of the clients instead of at every value (as histogram tree learners do).

Evidence (issue 10: significant is not enough)
    A rule is judged among the clients whose traits it reads are known: its base rate is the tier's
    share among them (otherwise "the value is known" passes for "the value is high" when values are
    missing more often in one tier; such missingness is reported by `missing_by_tier` instead).
    `supported`: covers at least `min_support` clients, `p_adjusted <= alpha` (not chance) AND a useful
    effect: the Wilson lower bound of the tier's share among covered clients reaches `required_share`
    (`min_lift_lower_bound` x the base rate, at most halfway to 100%). `weak`: suggestive, not
    established (`p_adjusted <= weak_p` and the share itself reaches the required share): hypotheses for
    the next interviews. `insufficient`: fewer than `min_support` clients covered, or in the tier it points
    to. `none`: chance explains it. On pure noise this gives about 5% companies with any `supported` rule
    and on average well under three `weak` rows (tests/test_criteria_noise_simulation.py).

What reaches sales (`mark_for_sales`, `CriteriaResult.chosen`)
    Supported, stable (`stability_floor`), first-contact, not outcome-like rules; half of a supported
    pair that works only through it is replaced by the pair; mirror rules on one trait are one
    criterion. A red flag declines only when its C share's lower bound exceeds `decline_precision`; a
    sign sends to the full sales process only when its A share reaches `target_precision`.

Stability
    `bootstrap` resamples of the clients (seeded); on each the search is redone (no shuffles)
    and `stability` is the share of resamples in which the same rule (same trait(s), same
    operator or category set) is chosen again AND scores above the chance line (the (1 - alpha)
    quantile of the shuffled maxima). `threshold_spread` is how far a numeric threshold moves
    across the resamples (5th to 95th percentile).

Backtest
    `folds`-fold cross-validation: the whole search, shuffles included, is redone without the
    held-out clients; the criteria that would reach sales then route the held-out clients exactly as
    leads are routed ("target" = full sales process). Accuracy, balanced accuracy, sensitivity (A called
    target), specificity (C not called target) with Wilson intervals, beside the baseline of always
    saying "not target"; "no criteria found in any fold" instead of an accuracy when nothing was found;
    not run when A or C is smaller than `backtest_min_tier`. Pooled categories and the quartile
    thresholds of the pairs come from all clients' trait values (never their tiers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.settings import CriteriaSettings
from helpers.core.errors import Problem, problem
from helpers.core.i18n import t
from helpers.core.rules import (CRITERIA_FILE, Condition, Node, TeamCriterion, read_team_criteria, trait_label)
from helpers.core.stats import wilson_interval
from helpers.core.vocabulary import EVIDENCE_ORDER
from helpers.step4_write_criteria.search import (DIRECTIONS, _Draw, _Prepared, _prepare, _search, chunk_size,
                                                 family_mask, family_node, observed_draw,
                                                 resampled_draws, rules_tried, shuffled_draws, team_scores)

# Shown per contrast beyond the supported pairs, so the team sees the nearest misses.
PAIRS_SHOWN = 3
BACKTEST_FOLDS = 5
# Shuffles per backtest fold: each fold repeats the whole search, so fewer are used there;
# 199 still resolves p = 0.05 well.
BACKTEST_PERMUTATIONS = 199


# ---------------------------------------------------------------- results
@dataclass
class Backtest:
    """How well the supported criteria, applied together, told A from C on held-out clients."""

    table: pd.DataFrame  # metric, value, count, n, ci_low, ci_high
    folds: int
    found_per_fold: list[int]  # supported criteria found in each fold
    rules_found: pd.Series  # rule (plain words) -> in how many folds it was supported
    caveat: str
    ran: bool = True  # False: a tier is too small for the folds (the caveat says why)


@dataclass
class CriteriaResult:
    """Everything step 4 found: `table` is criteria.csv (see the module docstring)."""

    table: pd.DataFrame
    compared: pd.Series  # "A"/"B"/"C" by client_id
    compared_source: str  # "team" or "suggested"
    settings: CriteriaSettings
    rules: dict[str, Node] = field(default_factory=dict)  # criterion id -> rule object
    team_criteria: list[TeamCriterion] = field(default_factory=list)
    backtest: Backtest | None = None
    rules_tried: int = 0
    families: int = 0
    permutations: int = 0
    chance_line: float = math.nan  # the (1 - alpha) quantile of the shuffled maxima
    null_max: np.ndarray = field(default_factory=lambda: np.empty(0))
    first_contact_traits: list[str] = field(default_factory=list)
    first_contact_assumed: bool = False  # company.yml listed none: every trait treated as first-contact
    problems: list[Problem] = field(default_factory=list)
    outcome_like: dict[str, tuple[str, float]] = field(default_factory=dict)  # trait -> (metric, rho)
    missing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MISSING_COLUMNS))
    seen_categories: dict[str, set[str]] = field(default_factory=dict)  # category trait -> values among clients
    no_traits: bool = False  # the client list has no trait a criterion could use (the report explains; no backtest)

    @property
    def team(self) -> pd.DataFrame:
        """The team's criteria from criteria.yml, evaluated on the data."""
        return self.table[self.table["source"] == "team"].reset_index(drop=True)

    @property
    def supported(self) -> pd.DataFrame:
        """Data-found criteria with evidence `supported`."""
        t_ = self.table
        return t_[(t_["source"] == "data") & (t_["evidence"] == "supported")].reset_index(drop=True)

    def chosen(self) -> pd.DataFrame:
        """The criteria handed to sales (column `routed`): the team's accepted ones when there are any, else
        the supported ones that are stable, first-contact, not outcome-like and not only half of a pair.
        """
        return self.table[self.table["routed"].astype(bool)].reset_index(drop=True)

    @property
    def chosen_from(self) -> str:
        team = self.team
        return "team" if len(team) and (team["status"] == "accepted").any() else "data"


# ---------------------------------------------------------------- one full analysis
@dataclass
class _Analysis:
    rows: list[dict]
    nodes: dict[str, Node]
    null_max: np.ndarray
    chance_line: float
    rules_tried: int
    families: int
    team_rows: list[dict]


def _count_row(mask: np.ndarray, y: np.ndarray, d: str, known: np.ndarray | None = None) -> dict:
    """Counts behind a rule; the base rate is the tier's share among clients whose traits are known."""
    covered = mask.astype(bool)
    known = np.ones(len(y), dtype=bool) if known is None else known.astype(bool)
    m = int(covered.sum())
    n_tier = int((y[covered] == d).sum())
    base = float((y[known] == d).mean()) if known.any() else math.nan
    share = n_tier / m if m else math.nan
    low, high = wilson_interval(n_tier, m)
    return {"support": m, "n_a": int((y[covered] == "A").sum()), "n_b": int((y[covered] == "B").sum()),
            "n_c": int((y[covered] == "C").sum()), "share": share, "ci_low": low, "ci_high": high,
            "base_rate": base, "lift": share / base if base and m else math.nan, "known": int(known.sum())}


def required_share(base_rate: float, settings: CriteriaSettings) -> float:
    """The share of the tier that a useful rule's lower 95% bound must reach (issue 10).

    `min_lift_lower_bound` times the base rate, capped halfway between the base rate and 100% so a
    common tier (base 60%) can still be cleared.

    >>> required_share(0.2, CriteriaSettings()), required_share(0.6, CriteriaSettings())
    (0.30000000000000004, 0.8)
    """
    if base_rate != base_rate:  # NaN: nobody known
        return math.nan
    return float(min(settings.min_lift_lower_bound * base_rate, (base_rate + 1) / 2))


def _evidence(row: dict, p_adjusted: float, tier_count: int, settings: CriteriaSettings) -> str:
    """supported / weak / insufficient / none, and the effect columns behind it (written into `row`).

    supported: not chance (p_adjusted <= alpha) AND useful (lower bound of the share >= required share);
    weak: suggestive (p_adjusted <= weak_p) with a useful share at the point estimate;
    insufficient: too few clients covered or in the tier to say anything; none: chance explains it.
    """
    required = required_share(row["base_rate"], settings)
    row["required_share"] = required
    row["useful_effect"] = bool(row["support"] and row["ci_low"] >= required)
    if row["support"] < settings.min_support or tier_count < settings.min_support:
        return "insufficient"
    if p_adjusted <= settings.alpha and row["useful_effect"]:
        return "supported"
    if p_adjusted <= settings.weak_p and row["share"] >= required:
        return "weak"
    return "none"


@dataclass
class _ShuffleTest:
    """What the max-T shuffle test gives: per-family and family-wise p-values, the null maxima, the
    chance line, and for the team's criteria their observed z, the shuffles at or above it and the null z."""

    p_family: np.ndarray
    p_adjusted: np.ndarray
    null_max: np.ndarray
    chance_line: float
    team_obs: np.ndarray
    team_exceed: np.ndarray
    team_null: list[np.ndarray]


def _shuffle_test(prep: _Prepared, draw: _Draw, observed: np.ndarray, settings: CriteriaSettings,
                  permutations: int, rng: np.random.Generator) -> _ShuffleTest:
    """Redo the search on `permutations` shuffles of the tiers (in chunks) and compare.

    Takes the observed draw and its best statistic per family; returns a `_ShuffleTest`. The family-wise
    p-value is the max-T correction of Westfall & Young (1993): the share of shuffles whose best family
    beats it. Shuffles are drawn per cell (`search.shuffled_draws`), exactly as shuffling the clients' labels.
    """
    n_fam = len(observed)
    exceed_family = np.zeros(n_fam)
    exceed_max = np.zeros(n_fam)
    null_max = np.empty(permutations)
    team_obs = team_scores(prep, draw)[:, 0].astype(float)
    team_exceed = np.zeros(len(prep.team))
    team_null: list[list[np.ndarray]] = [[] for _ in prep.team]
    tier_counts = {d: int(round(float(draw.t[d].sum()))) for d in DIRECTIONS}
    done, chunk = 0, chunk_size(prep)
    while done < permutations:
        size = min(chunk, permutations - done)
        shuffled = shuffled_draws(draw.w, tier_counts, size, rng)
        scores, _ = _search(prep, shuffled, settings.min_support)
        exceed_family += (scores >= observed[:, None] - 1e-9).sum(axis=1)
        col_max = scores.max(axis=0) if n_fam else np.full(size, -np.inf)
        null_max[done:done + size] = col_max
        exceed_max += (col_max[None, :] >= observed[:, None] - 1e-9).sum(axis=1)
        for e, z in enumerate(team_scores(prep, shuffled)):
            team_exceed[e] += (z >= team_obs[e] - 1e-9).sum()
            team_null[e].append(z)
        done += size
    finite_null = np.where(np.isfinite(null_max), null_max, -10.0)
    chance_line = float(np.quantile(finite_null, 1 - settings.alpha)) if permutations else math.inf
    return _ShuffleTest((1 + exceed_family) / (permutations + 1), (1 + exceed_max) / (permutations + 1), null_max,
                        chance_line, team_obs, team_exceed,
                        [np.concatenate(z) if z else np.empty(0) for z in team_null])


def _bootstrap_stability(prep: _Prepared, draw: _Draw, best: list, settings: CriteriaSettings, bootstrap: int,
                         rng: np.random.Generator, shuffles: _ShuffleTest
                         ) -> tuple[np.ndarray, list[list[float]], np.ndarray]:
    """Redo the search on `bootstrap` resamples of the clients (in chunks, `search.resampled_draws`).

    Returns (per family: resamples where the same rule wins above the chance line; per family: the
    thresholds it took; per team criterion: resamples where it stays above its own chance line).
    """
    n_fam = len(best)
    same = np.zeros(n_fam)
    thresholds: list[list[float]] = [[] for _ in range(n_fam)]
    team_stable = np.zeros(len(prep.team))
    team_lines = [float(np.quantile(np.nan_to_num(z, neginf=-10.0), 1 - settings.alpha)) if len(z) else math.inf
                  for z in shuffles.team_null]
    done, chunk = 0, chunk_size(prep)
    while done < bootstrap:
        size = min(chunk, bootstrap - done)
        resampled = resampled_draws(draw, size, rng)
        scores_b, best_b = _search(prep, resampled, settings.min_support, details=True)
        for f in range(n_fam):
            if best[f] is None:
                continue
            for c in range(size):
                won = best_b[f][c]
                if won is None or won.ident != best[f].ident:
                    continue
                if best[f].kind == "number":
                    thresholds[f].append(won.threshold)
                if scores_b[f, c] >= shuffles.chance_line:
                    same[f] += 1
        for e, z in enumerate(team_scores(prep, resampled)):
            team_stable[e] += (z >= team_lines[e]).sum()
        done += size
    return same, thresholds, team_stable


def _family_rows(prep: _Prepared, clients: np.ndarray, y: np.ndarray, settings: CriteriaSettings,
                 observed: np.ndarray, best: list, shuffles: _ShuffleTest, same: np.ndarray,
                 thresholds: list[list[float]], bootstrap: int) -> tuple[list[dict], dict[str, Node]]:
    """One row per family whose best rule lifts its tier (counts, statistic, p-values, stability,
    threshold spread, evidence label); returns (rows, rule of each row id). `clients`: the positions of
    the analysed clients, `y` their tiers."""
    rows, nodes = [], {}
    n_single = len(prep.traits)
    per_dir = n_single + len(prep.pair_traits)
    for f in range(len(observed)):
        if best[f] is None or not np.isfinite(observed[f]):
            continue
        d = DIRECTIONS[f // per_dir]
        node = family_node(prep, f, best[f])
        mask, known = family_mask(prep, f % per_dir, best[f])
        row = _count_row(mask[clients], y, d, known[clients])
        if not row["lift"] > 1:
            continue
        local = f % per_dir
        traits = ([prep.traits[local].name] if local < n_single
                  else [prep.traits[k].name for k in prep.pair_traits[local - n_single]])
        spread = (float(np.percentile(thresholds[f], 95) - np.percentile(thresholds[f], 5))
                  if len(thresholds[f]) >= 2 else math.nan)
        rid = f"{d}:{' + '.join(traits)}"
        nodes[rid] = node
        p_adjusted = float(shuffles.p_adjusted[f])
        row.update({
            "id": rid, "trait": " + ".join(traits), "conditions": len(traits), "node": node, "points_to": d,
            "statistic": float(observed[f]), "p_value": float(shuffles.p_family[f]), "p_adjusted": p_adjusted,
            "stability": float(same[f] / bootstrap) if bootstrap else math.nan,
            "threshold": best[f].threshold if best[f].kind == "number" else math.nan,
            "threshold_low": float(np.percentile(thresholds[f], 5)) if thresholds[f] else math.nan,
            "threshold_high": float(np.percentile(thresholds[f], 95)) if thresholds[f] else math.nan,
            "threshold_spread": spread,
            "evidence": _evidence(row, p_adjusted, int((y == d).sum()), settings),
        })
        rows.append(row)
    return rows, nodes


def _analyse(prep: _Prepared, clients: np.ndarray, y: np.ndarray, settings: CriteriaSettings, *,
             permutations: int, bootstrap: int, rng: np.random.Generator) -> _Analysis:
    """Search, shuffle, resample: the rows of criteria.csv for one set of clients.

    Takes the prepared search space (with the team's criteria), the positions of the clients analysed and
    their tier labels y; returns `_Analysis`. Named steps: the search → the shuffle test → bootstrap
    stability → the rows of the families and of the team's criteria. The random draws happen in that order.
    """
    draw = observed_draw(prep, clients, y)
    observed, best = _search(prep, draw, settings.min_support, details=True)
    observed, best = observed[:, 0], [b[0] for b in best]
    shuffles = _shuffle_test(prep, draw, observed, settings, permutations, rng)
    same, thresholds, team_stable = _bootstrap_stability(prep, draw, best, settings, bootstrap, rng, shuffles)
    rows, nodes = _family_rows(prep, clients, y, settings, observed, best, shuffles, same, thresholds, bootstrap)
    team_rows = []
    for e, (d, mask, known) in enumerate(prep.team):
        row = _count_row(mask[prep.of_client[clients]], y, d, known[prep.of_client[clients]])
        row.update({"statistic": float(shuffles.team_obs[e]),
                    "p_value": float((1 + shuffles.team_exceed[e]) / (permutations + 1)),
                    "stability": float(team_stable[e] / bootstrap) if bootstrap else math.nan})
        team_rows.append(row)
    return _Analysis(rows, nodes, shuffles.null_max, shuffles.chance_line, rules_tried(prep), len(observed),
                     team_rows)


def _select_pairs(rows: list[dict]) -> list[dict]:
    singles = [r for r in rows if r["conditions"] == 1]
    out = list(singles)
    for d in DIRECTIONS:
        pairs = sorted((r for r in rows if r["conditions"] == 2 and r["points_to"] == d),
                       key=lambda r: -r["statistic"])
        out += [r for r in pairs if r["evidence"] == "supported"]
        out += [r for r in pairs if r["evidence"] != "supported"][:PAIRS_SHOWN]
    return out


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error over the team's criteria).

    >>> [round(p, 3) for p in _holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


# ---------------------------------------------------------------- the public entry
COLUMNS = ["id", "points_to", "trait", "rule", "expression", "evidence", "support", "n_a", "n_b", "n_c", "share",
           "ci_low", "ci_high", "base_rate", "lift", "statistic", "p_value", "p_adjusted", "stability",
           "threshold", "threshold_low", "threshold_high", "threshold_spread", "first_contact", "source",
           "status", "rationale", "team_source",
           # issue 10 (appended, never renamed): the effect, stability, pairs, mirrors and routing behind sales
           "known", "required_share", "useful_effect", "evidence_label", "stable", "only_with", "mirror_id",
           "declines", "routed", "qualifies"]
MISSING_COLUMNS = ["trait", "unknown_a", "known_a", "unknown_b", "known_b", "unknown_c", "known_c", "p_value",
                   "q_value", "differs", "finding"]


def _stable(row: pd.Series, settings: CriteriaSettings) -> bool:
    return not (row["stability"] == row["stability"]) or row["stability"] >= settings.stability_floor


def mark_for_sales(table: pd.DataFrame, rules: dict[str, Node], clients: pd.DataFrame, y: np.ndarray,
                   settings: CriteriaSettings) -> pd.DataFrame:
    """Decide which criteria reach sales and how; returns a new table with the issue-10 columns filled.

    - `stable` / `evidence_label`: a supported rule found again in fewer than `stability_floor` of the
      bootstrap resamples is "supported, unstable" and not routed (NaN stability: no bootstrap, not judged).
    - `only_with`: a supported single condition that is also half of a supported pair, but whose share of
      the tier among the clients it covers OUTSIDE the pair does not reach the required share, works only
      through the pair: sales gets the pair ("x >= 51 and y = yes"), not the half.
    - `mirror_id`: the same trait pointing to A on one side and to C on the other is one criterion with two
      directions; a lead meeting both (overlapping thresholds) counts as meeting neither.
    - `declines`: a red flag whose C share among flagged clients has its lower 95% bound above
      `decline_precision`; weaker flags give the standard offer.
    - `qualifies`: for signs of A: the A share among clients with the sign reaches `target_precision`;
      only such a sign sends a lead to the full sales process.
    - `routed`: what sales gets (see `CriteriaResult.chosen`). Team rules: accepted and first-contact.
    """
    out = table.copy()
    if out.empty:
        for column in COLUMNS:
            if column not in out:
                out[column] = pd.Series(dtype=object)
        return out
    if "useful_effect" not in out:
        out["useful_effect"] = out["ci_low"] >= out["required_share"]
    out["stable"] = out.apply(lambda r: _stable(r, settings), axis=1)
    out["evidence_label"] = np.where((out["evidence"] == "supported") & ~out["stable"], "supported, unstable",
                                     out["evidence"])
    out["only_with"] = ""
    out["mirror_id"] = ""
    data_supported = (out["source"] == "data") & (out["evidence"] == "supported")
    masks = {rid: rules[rid].evaluate(clients).fillna(False).to_numpy(dtype=bool) for rid in out.loc[data_supported, "id"]}
    is_pair = out["trait"].str.contains(" + ", regex=False)
    # only a pair sales can actually get replaces its halves (a pair with an after-sale trait, or one found
    # again in too few resamples, cannot)
    pairs = out[data_supported & is_pair & out["first_contact"].astype(bool) & out["stable"]]
    for i in out.index[data_supported & ~is_pair]:
        row = out.loc[i]
        for _, pair in pairs[pairs["points_to"] == row["points_to"]].iterrows():
            if row["trait"] not in pair["trait"].split(" + "):
                continue
            alone = masks[row["id"]] & ~masks[pair["id"]]
            share = float((y[alone] == row["points_to"]).mean()) if alone.any() else 0.0
            if alone.sum() < settings.min_support or share < row["required_share"]:
                out.loc[i, "only_with"] = pair["id"]
                break
    singles = out[data_supported & ~is_pair]
    for trait, group in singles.groupby("trait"):
        if set(group["points_to"]) == {"A", "C"}:
            a_id = group.loc[group["points_to"] == "A", "id"].iloc[0]
            c_id = group.loc[group["points_to"] == "C", "id"].iloc[0]
            out.loc[out["id"] == a_id, "mirror_id"] = c_id
            out.loc[out["id"] == c_id, "mirror_id"] = a_id
    out["declines"] = (out["points_to"] == "C") & (out["ci_low"] > settings.decline_precision)
    out["qualifies"] = (out["points_to"] == "A") & (out["share"] >= settings.target_precision)
    team_routed = (out["source"] == "team") & (out["status"] == "accepted") & out["first_contact"]
    if team_routed.any():
        out["routed"] = team_routed
    else:
        out["routed"] = data_supported & out["stable"] & out["first_contact"] & (out["only_with"] == "")
    for column in ("stable", "declines", "qualifies", "routed", "useful_effect"):
        out[column] = out[column].fillna(False).astype(bool)
    return out


def missing_by_tier(clients: pd.DataFrame, y: np.ndarray, kinds: dict[str, str],
                    settings: CriteriaSettings) -> pd.DataFrame:
    """Is a trait unknown more often in some tier? One row per trait with any unknown value.

    Missingness that depends on the tier is a finding of its own ("employees unknown for 38 of 45 C
    clients"), known only after the sale, and never a first-contact criterion about the trait's values.
    The test is a permutation chi-square of unknown x tier (`stats.permutation_association_p`, seeded),
    with Benjamini-Hochberg q-values over the traits; `differs` when q <= alpha.
    """
    from helpers.core.stats import benjamini_hochberg, permutation_association_p

    rows = []
    tiers = np.asarray(y)
    codes = np.searchsorted(np.array(["A", "B", "C"]), tiers)
    for trait in kinds:
        if trait not in clients:
            continue
        col = clients[trait]
        unknown = col.isna().to_numpy(dtype=bool).copy()
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            unknown |= (col.astype("string").str.strip() == "").fillna(False).to_numpy(dtype=bool)
        if not unknown.any():
            continue
        row: dict[str, Any] = {"trait": trait}
        for tier in "ABC":
            row[f"unknown_{tier.lower()}"] = int((unknown & (tiers == tier)).sum())
            row[f"known_{tier.lower()}"] = int((~unknown & (tiers == tier)).sum())
        row["p_value"] = (permutation_association_p(unknown, codes, permutations=min(settings.permutations, 999),
                                                    seed=settings.seed) if 0 < unknown.sum() < len(unknown) else 1.0)
        rows.append(row)
    table = pd.DataFrame(rows, columns=MISSING_COLUMNS[:-3])
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float)) if len(table) else []
    table["differs"] = table["q_value"] <= settings.alpha
    findings = []
    for _, row in table.iterrows():
        # the tier with the highest unknown share, against all others
        shares = {x: row[f"unknown_{x.lower()}"] / max(row[f"unknown_{x.lower()}"] + row[f"known_{x.lower()}"], 1)
                  for x in "ABC"}
        worst = max(shares, key=shares.get)
        others = [x for x in "ABC" if x != worst]
        findings.append(t("criteria.missing.finding", trait=trait_label(row["trait"]), tier=worst,
                          unknown=int(row[f"unknown_{worst.lower()}"]),
                          total=int(row[f"unknown_{worst.lower()}"] + row[f"known_{worst.lower()}"]),
                          unknown_rest=int(sum(row[f"unknown_{x.lower()}"] for x in others)),
                          total_rest=int(sum(row[f"unknown_{x.lower()}"] + row[f"known_{x.lower()}"] for x in others))))
    table["finding"] = findings
    return table


def _compared_clients(company: Company, tiers_table: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.Series, str]:
    """The clients in the comparison (team's tiers, or the data's when the team has none) and their tier.

    Returns (clients rows in that order with client_id as text, tier labels y as str, the compared
    tier per client_id, which source the tiers come from).
    """
    from helpers.step3_compare_traits.traits import compared_tiers

    compared, source = compared_tiers(tiers_table, company.settings)
    clients = company.clients.copy()
    clients["client_id"] = clients["client_id"].astype("string")
    clients = clients[clients["client_id"].isin(compared.index)].reset_index(drop=True)
    y = compared.reindex(clients["client_id"].to_numpy()).to_numpy(dtype=object).astype(str)
    return clients, y, compared, source


def _team_criteria(company: Company, kinds: dict[str, str], y: np.ndarray, settings: CriteriaSettings,
                   problems: list[Problem]) -> tuple[list[TeamCriterion], dict[str, list[str]]]:
    """criteria.yml read against the traits (its warnings and too-small tiers added to `problems`).

    Returns (the team's criteria, the category levels seen per category trait).
    """
    categories = {k: company.clients[k].dropna().astype(str).unique().tolist()
                  for k, v in kinds.items() if v == "category" and k in company.clients}
    team, warnings = read_team_criteria(company.folder / CRITERIA_FILE, kinds, categories)
    problems += warnings
    for d in DIRECTIONS:
        if (y == d).sum() < settings.min_support:
            problems.append(problem("criteria_tier_too_small", "warning", tier=d, count=int((y == d).sum()),
                                    min_support=settings.min_support))
    return team, categories


def _team_masks(team: list[TeamCriterion], clients: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Each team criterion as (the tier it points to, clients it covers, clients where it can be judged)."""
    masks = []
    for c in team:
        judged = c.rule.evaluate(clients)
        masks.append((c.points_to, judged.fillna(False).to_numpy(dtype=bool).astype(np.float32),
                      judged.notna().to_numpy(dtype=bool).astype(np.float32)))
    return masks


def _criteria_rows(analysis: _Analysis, team: list[TeamCriterion], y: np.ndarray, settings: CriteriaSettings,
                   first_contact) -> tuple[list[dict], dict[str, Node]]:
    """The rows of criteria.csv before ordering: the data's selected rules, then the team's (Holm-adjusted
    among themselves). Returns (rows, the rule of each id)."""
    rows = _select_pairs(analysis.rows)
    for row in rows:
        node = row.pop("node")
        row.update({"rule": node.words(), "expression": node.expression(), "source": "data", "status": "",
                    "rationale": "", "team_source": "",
                    "first_contact": all(tr in first_contact for tr in node.traits)})
    rules = dict(analysis.nodes)
    holm = _holm([r["p_value"] for r in analysis.team_rows])
    for crit, row, p_adj in zip(team, analysis.team_rows, holm):
        row.update({"id": crit.id, "trait": " + ".join(crit.rule.traits), "conditions": len(crit.rule.traits),
                    "points_to": crit.points_to, "rule": crit.rule.words(), "expression": crit.rule.expression(),
                    "p_adjusted": p_adj, "evidence": _evidence(row, p_adj, int((y == crit.points_to).sum()), settings),
                    "source": "team", "status": crit.status, "rationale": crit.rationale,
                    "team_source": crit.source, "first_contact": all(tr in first_contact for tr in crit.rule.traits)})
        rules[crit.id] = crit.rule
        rows.append(row)
    return rows, rules


def _criteria_table(rows: list[dict]) -> pd.DataFrame:
    """criteria.csv in reading order: the data's rows by evidence, first-contact first, then p-value and
    statistic; the team's rows after them in the same order. Counts as int, first_contact as bool."""
    table = pd.DataFrame(rows, columns=COLUMNS) if rows else pd.DataFrame(columns=COLUMNS)
    if len(table):
        table = (table.assign(_e=table["evidence"].map(EVIDENCE_ORDER), _s=table["source"].eq("data"),
                              _f=~table["first_contact"].astype(bool))
                 .sort_values(["_s", "_e", "_f", "p_adjusted", "statistic"], ascending=[True, True, True, True, False])
                 .drop(columns=["_e", "_s", "_f"]).reset_index(drop=True))
        # the team's criteria go last so the data search reads first
        table = pd.concat([table[table["source"] == "data"], table[table["source"] == "team"]], ignore_index=True)
    for col in ("support", "n_a", "n_b", "n_c"):
        table[col] = table[col].astype(int)
    table["first_contact"] = table["first_contact"].astype(bool)
    return table


def find_criteria(company: Company, tiers_table: pd.DataFrame, *, backtest: bool = True) -> CriteriaResult:
    """Find candidate criteria (signs of A, red flags of C) with honest evidence; evaluate the team's criteria.yml.

    Args:
        company: the loaded company (traits, settings, folder with the optional criteria.yml).
        tiers_table: `tiers.csv` as a frame (client_id, team_tier, suggested_tier, ...).
        backtest: redo the whole search in cross-validation folds (the slowest part; off in quick checks).

    Named steps: the clients compared and their tiers → the team's criteria.yml read and checked →
    the search space → search, shuffle and resample → the rows of criteria.csv (data, then team) →
    marked for sales → the optional backtest.

    Returns:
        CriteriaResult; `.table` is criteria.csv, supported rows first. The inputs are not changed.

    Raises:
        DataProblem: criteria.yml cannot be used (each problem names the criterion and the fix).
    """
    from helpers.step3_compare_traits.traits import first_contact_view

    settings = company.settings.criteria
    clients, y, compared, source = _compared_clients(company, tiers_table)
    kinds = {k: v for k, v in company.trait_kinds.items() if v in ("number", "yesno", "category")}
    problems: list[Problem] = []
    view = first_contact_view(company, kinds, tiers_table)
    first_contact, assumed = view.traits, view.assumed
    if assumed:
        problems.append(problem("criteria_first_contact_unknown", "info", file="company.yml",
                                column="first_contact_traits"))
    team, categories = _team_criteria(company, kinds, y, settings, problems)

    prep = _prepare(clients, kinds, settings, _team_masks(team, clients))
    rng = np.random.default_rng(settings.seed)
    analysis = _analyse(prep, np.arange(len(y)), y, settings, permutations=settings.permutations,
                        bootstrap=settings.bootstrap, rng=rng)
    rows, rules = _criteria_rows(analysis, team, y, settings, first_contact)
    table = mark_for_sales(_criteria_table(rows), rules, clients, y, settings)

    result = CriteriaResult(table=table, compared=compared, compared_source=source, settings=settings, rules=rules,
                            team_criteria=team, rules_tried=analysis.rules_tried, families=analysis.families,
                            permutations=settings.permutations, chance_line=analysis.chance_line,
                            null_max=analysis.null_max, first_contact_traits=first_contact,
                            first_contact_assumed=assumed, problems=problems, outcome_like=view.outcome_like,
                            missing=missing_by_tier(clients, y, kinds, settings),
                            seen_categories={k: set(v) for k, v in categories.items()})
    result.no_traits = not kinds
    if backtest and kinds:  # without traits there is nothing to cross-validate: the report says why instead
        result.backtest = backtest_criteria(prep, clients, y, settings, first_contact=first_contact,
                                            seen=result.seen_categories)
    return result


# ---------------------------------------------------------------- backtest
def qualify(df: pd.DataFrame, signs: list[Node], flags: list[Node]) -> pd.Series:
    """Target (True) when a client meets at least one sign of A and no red flag; unknown traits count as not met.

    >>> df = pd.DataFrame({"x": [1, 5, 9]})
    >>> qualify(df, [Condition("x", "number", ">=", 4)], [Condition("x", "number", ">=", 8)]).tolist()
    [False, True, False]
    """
    target = pd.Series(False, index=df.index)
    for node in signs:
        target |= node.evaluate(df).fillna(False).astype(bool)
    for node in flags:
        target &= ~node.evaluate(df).fillna(False).astype(bool)
    return target


def _stratified_folds(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    fold_of = np.empty(len(y), dtype=int)
    for tier in np.unique(y):
        idx = np.flatnonzero(y == tier)
        rng.shuffle(idx)
        fold_of[idx] = (np.arange(len(idx)) + rng.integers(folds)) % folds
    return fold_of


def backtest_min_tier(settings: CriteriaSettings, folds: int = BACKTEST_FOLDS) -> int:
    """Fewest A (and C) clients a backtest needs: one per fold, and `min_support` in each training set.

    >>> backtest_min_tier(CriteriaSettings())
    7
    """
    return max(folds, math.ceil(settings.min_support * folds / (folds - 1)))


def backtest_criteria(prep: _Prepared, clients: pd.DataFrame, y: np.ndarray, settings: CriteriaSettings, *,
                      folds: int = BACKTEST_FOLDS, first_contact: list[str] | None = None,
                      seen: dict[str, set[str]] | None = None) -> Backtest:
    """Cross-validate what sales gets: in each fold the whole search (shuffles included) is redone without
    the fold's clients, the criteria that would be routed are kept (supported with a useful effect,
    first-contact, not half of a pair), and the fold's clients are routed exactly as leads are
    (`prospects.route_with`); "target" = routed to the full sales process.

    The table holds accuracy, balanced accuracy, sensitivity (A called target), specificity (C not
    called target), B called target, and the baseline: the accuracy of always saying "not target"
    (share of C among A and C). When no fold found a criterion the accuracy rows are left out and the
    caveat says so; when A or C has fewer than `backtest_min_tier` clients, the backtest is not run
    (empty table, `ran` False, the caveat says why).
    """
    from helpers.core.vocabulary import ROUTES
    from helpers.step4_write_criteria.prospects import route_with

    columns = ["metric", "value", "count", "n", "ci_low", "ci_high"]
    smallest = min(int((y == "A").sum()), int((y == "C").sum()))
    need = backtest_min_tier(settings, folds)
    if smallest < need:
        return Backtest(pd.DataFrame(columns=columns), folds, [], pd.Series(dtype=int),
                        t("criteria.backtest.skipped", count=smallest, need=need, folds=folds), ran=False)
    first_contact = list(first_contact) if first_contact is not None else [tr.name for tr in prep.traits]
    rng = np.random.default_rng(settings.seed + 1)
    fold_of = _stratified_folds(y, folds, rng)
    predicted = np.zeros(len(y), dtype=bool)
    found, names = [], []
    for k in range(folds):
        train = np.flatnonzero(fold_of != k)
        test = np.flatnonzero(fold_of == k)
        analysis = _analyse(prep, train, y[train], settings,
                            permutations=min(settings.permutations, BACKTEST_PERMUTATIONS), bootstrap=0, rng=rng)
        rows = [dict(r, rule=r["node"].words(), source="data", status="",
                     first_contact=all(tr in first_contact for tr in r["node"].traits)) for r in analysis.rows]
        table = pd.DataFrame(rows)
        if len(table):
            table = mark_for_sales(table.drop(columns=["node"]), analysis.nodes,
                                   clients.iloc[train].reset_index(drop=True), y[train], settings)
            chosen = table[table["routed"]].reset_index(drop=True)
        else:
            chosen = table
        found.append(len(chosen))
        names += list(chosen["rule"]) if len(chosen) else []
        if len(chosen):
            routed = route_with(clients.iloc[test], chosen, analysis.nodes, seen or {})
            predicted[test] = (routed["route"] == ROUTES["target"]).to_numpy(dtype=bool)
    is_a, is_c, is_b = y == "A", y == "C", y == "B"
    judged = is_a | is_c
    correct = (predicted & is_a) | (~predicted & is_c)
    metrics = [("baseline_not_target", int(is_c.sum()), int(judged.sum()))]
    if any(found):
        metrics = [("accuracy", int(correct[judged].sum()), int(judged.sum()))] + metrics + [
            ("sensitivity", int((predicted & is_a).sum()), int(is_a.sum())),
            ("specificity", int((~predicted & is_c).sum()), int(is_c.sum())),
            ("b_called_target", int((predicted & is_b).sum()), int(is_b.sum()))]
    table = pd.DataFrame([{"metric": name, "value": c / n if n else math.nan, "count": c, "n": n,
                           "ci_low": wilson_interval(c, n)[0], "ci_high": wilson_interval(c, n)[1]}
                          for name, c, n in metrics], columns=columns)
    if any(found):
        sens, spec = (predicted & is_a).sum() / is_a.sum(), (~predicted & is_c).sum() / is_c.sum()
        # balanced accuracy: 0.5 is what any rule reaches by chance, whatever the share of C
        table.loc[len(table)] = {"metric": "balanced_accuracy", "value": float((sens + spec) / 2), "count": np.nan,
                                 "n": int(judged.sum()), "ci_low": np.nan, "ci_high": np.nan}
        caveat = t("criteria.backtest.caveat", folds=folds, n=int(judged.sum()),
                   found=", ".join(str(f) for f in found))
    else:
        caveat = t("criteria.backtest.none_found", folds=folds, n=int(judged.sum()))
    rules_found = pd.Series(names, dtype=object).value_counts() if names else pd.Series(dtype=int)
    return Backtest(table, folds, found, rules_found, caveat)


def describe_rule(row: pd.Series, lang: str | None = None) -> str:
    """One criterion as an if-then sentence with its observed effect.

    >>> row = pd.Series({"rule": "has call centre: yes", "points_to": "A", "n_a": 20, "support": 25,
    ...                  "base_rate": 0.2, "share": 0.8})
    >>> describe_rule(row, "en")
    'If has call centre: yes → 20 of 25 such clients are A (80%; 20% of all compared clients).'
    """
    tier = row["points_to"]
    count = row["n_a"] if tier == "A" else row["n_c"]
    return t("criteria.if_then", lang, rule=row["rule"], count=int(count), support=int(row["support"]), tier=tier,
             share=f"{row['share']:.0%}", base=f"{row['base_rate']:.0%}")


def describe_search(result: CriteriaResult) -> str:
    """A few lines saying what was compared, how much was tried, and how high chance reaches."""
    if result.no_traits:
        from helpers.step1_list_clients.coverage import no_traits_text

        return no_traits_text()
    supported = result.supported
    lines = [t(f"criteria.compared.{result.compared_source}"),
             t("criteria.summary", tried=result.rules_tried, families=result.families // len(DIRECTIONS),
               permutations=result.permutations, line=f"{result.chance_line:.2f}", supported=len(supported),
               signs=int((supported["points_to"] == "A").sum()), flags=int((supported["points_to"] == "C").sum()))]
    if result.first_contact_assumed:
        lines.append(t("criteria.first_contact_assumed"))
    return "\n".join(lines)


def format_evidence(table: pd.DataFrame, *, max_rows: int | None = None) -> pd.DataFrame:
    """The criteria table as a person reads it: localised headers, shares as %, the interval as one text.

    >>> row = {"points_to": "A", "rule": "x is 5 or more", "evidence": "supported", "support": 20, "n_a": 15,
    ...        "n_c": 1, "share": 0.75, "ci_low": 0.53, "ci_high": 0.89, "base_rate": 0.2, "lift": 3.75,
    ...        "p_adjusted": 0.001, "stability": 0.9, "first_contact": True, "source": "data"}
    >>> format_evidence(pd.DataFrame([row])).iloc[0, [1, 2, 6, 7]].tolist()
    ['x is 5 or more', 'supported', '75%', '53%–89%']
    """
    rows = table if max_rows is None else table.head(max_rows)
    out = pd.DataFrame({
        t("criteria.columns.points_to"): rows["points_to"],
        t("criteria.columns.rule"): rows["rule"],
        t("criteria.columns.evidence"): rows["evidence"].map(lambda e: t(f"criteria.evidence.{e}")),
        t("criteria.columns.support"): rows["support"].astype(int),
        "A": rows["n_a"].astype(int),
        "C": rows["n_c"].astype(int),
        t("criteria.columns.share"): rows["share"].map("{:.0%}".format),
        t("criteria.columns.ci"): [f"{lo:.0%}–{hi:.0%}" for lo, hi in zip(rows["ci_low"], rows["ci_high"])],
        t("criteria.columns.base_rate"): rows["base_rate"].map("{:.0%}".format),
        t("criteria.columns.p_adjusted"): rows["p_adjusted"].map("{:.3f}".format),
        t("criteria.columns.stability"): rows["stability"].map(lambda s: "" if pd.isna(s) else f"{s:.0%}"),
        t("criteria.columns.first_contact"): rows["first_contact"].map(
            lambda f: t("criteria.bool.yes") if f else t("criteria.bool.no")),
    })
    return out.reset_index(drop=True)
