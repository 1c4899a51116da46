"""Step 4's engine: the rule search and its guards against chance, computed on cells of clients.

`criteria` says what is searched and why (the statistic, the max-T shuffle test, the bootstrap); this
module says how it is computed fast at any number of clients.

Cells
    Two clients with the same value of every searched trait (numbers by candidate-threshold bin,
    categories by code, unknown as its own value) and the same answer to every team criterion are
    interchangeable in every statistic the search computes: each rule covers both or neither. So the
    clients are grouped into cells (`_Prepared.size` clients each) and every count is a sum over cells.
    A draw of tiers is then, per cell, how many of its clients are in the draw (`_Draw.w`) and how many of
    those are A and C (`_Draw.t`):

    - the observed tiers: counted per cell;
    - a shuffle of the tiers among the clients: the number of A clients falling in each cell is
      multivariate hypergeometric (cell sizes as colours, the number of A as the sample) and so is C
      among the rest — exactly the distribution of the counts after shuffling labels, drawn without
      touching the clients (numpy's `Generator.multivariate_hypergeometric`);
    - a bootstrap resample of the clients: multinomial counts over (cell, tier), exactly the counts of n
      clients drawn with replacement.

    The cost of a shuffle or resample is then the number of cells, not of clients: a company of a
    million clients with four traits has a few thousand cells.

Candidate thresholds
    A number is split at every change of value while it has at most `MAX_CUTS` + 1 distinct values
    (every company of workshop size: nothing changes there). Beyond that the candidate thresholds are
    `MAX_CUTS` quantiles of the clients' values (plus the quartile levels the pairs use), as
    histogram-based tree learners do (LightGBM's `max_bin` 255, XGBoost's `hist`): with thousands of
    clients a threshold 1/256 of the clients away from the best one scores almost the same, and the same
    grid is searched in the observed tiers and in every shuffle, so the test stays exact for the search
    actually made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.rules import Condition, Node, all_of

DIRECTIONS = ("A", "C")
PAIR_QUANTILES = (0.25, 0.5, 0.75)
# candidate thresholds per number trait beyond which a quantile grid is used (LightGBM's max_bin 255)
MAX_CUTS = 255
# cells x columns scored at once: bounds the memory of the count matrices (float32: 4 bytes each)
CHUNK_ELEMENTS = 4_000_000
MAX_CHUNK = 128
# shuffles are drawn per cell (multivariate hypergeometric) once cells hold this many clients on average;
# below it shuffling the labels among the clients is cheaper (both are exact)
CLIENTS_PER_CELL_TO_DRAW = 8


# ---------------------------------------------------------------- prepared data
@dataclass
class _Trait:
    name: str
    kind: str  # number | yesno | category
    values: np.ndarray | None = None  # number: float with nan, one per client
    codes: np.ndarray | None = None  # category / yesno: int, -1 unknown, one per client
    labels: list[tuple] = field(default_factory=list)  # code -> category names (pooled codes hold several)
    edges: np.ndarray | None = None  # number: candidate thresholds as values; a client's bin counts the edges <= value
    bin_low: np.ndarray | None = None  # number: smallest value in each bin
    bin_high: np.ndarray | None = None  # number: largest value in each bin
    pair_levels: list[float] = field(default_factory=list)  # number: the quartile thresholds the pairs use
    key: np.ndarray | None = None  # per client: bin (number) or code; -1 unknown
    cell_key: np.ndarray | None = None  # the same per cell
    order: np.ndarray | None = None  # number: known cells sorted by bin
    cuts: np.ndarray | None = None  # number: positions j in `order` where the bin changes


@dataclass
class _Prepared:
    n: int  # clients
    traits: list[_Trait]
    of_client: np.ndarray  # n: the cell of each client
    size: np.ndarray  # cells: clients in each cell
    cond_nodes: list[Condition]
    cond_matrix: np.ndarray  # c x cells float32: the cell is covered by the condition
    cond_trait: np.ndarray  # c
    cond_known: np.ndarray  # c x cells float32: the condition's trait is known (a rule is judged among these)
    pair_i: np.ndarray
    pair_j: np.ndarray
    pair_family: np.ndarray  # family number (0..) of each pair, pairs sorted by it
    pair_traits: list[tuple[int, int]]
    team: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)  # (tier, covered, known) per cell

    @property
    def cells(self) -> int:
        return len(self.size)

    @property
    def n_families(self) -> int:
        return len(self.traits) + len(self.pair_traits)


@dataclass
class _Draw:
    """Clients of one or more labellings, counted per cell: `w` cells x Q (or x 1) clients in the draw,
    `t[d]` cells x Q of them in tier d."""

    w: np.ndarray
    t: dict[str, np.ndarray]

    @property
    def columns(self) -> int:
        return self.t[DIRECTIONS[0]].shape[1]


def nice_threshold(low: float, high: float) -> float:
    """The roundest number t with low < t <= high (so `x >= t` splits exactly between them).

    >>> nice_threshold(47, 52), nice_threshold(2.31, 2.38), nice_threshold(-3, -1)
    (50.0, 2.35, -2.0)
    """
    if not high > low:
        return float(high)
    top = math.floor(math.log10(max(abs(low), abs(high), 1e-9))) + 1
    for power in range(top, -8, -1):
        for mult in (10, 5, 2, 1):
            step = mult * 10.0 ** (power - 1)
            # rounding can land a hair on either side of `low`, so check the rounded value itself
            candidate = round((math.floor(low / step) + 1) * step, 10)
            if candidate <= low:
                candidate = round(candidate + step, 10)
            if low < candidate <= high:
                return float(candidate)
    return float(high)


def _pair_levels(values: np.ndarray) -> list[float]:
    """The thresholds of a number's pair conditions: a round number at each of PAIR_QUANTILES."""
    xs = values[~np.isnan(values)]
    levels: list[float] = []
    for q in PAIR_QUANTILES:
        cut = float(np.quantile(xs, q))
        below = xs[xs < cut]
        level = nice_threshold(below.max(), cut) if len(below) else cut
        if level not in levels:
            levels.append(level)
    return levels


def _number_trait(name: str, values: np.ndarray) -> _Trait:
    """A number with its candidate thresholds (every change of value, or a quantile grid past MAX_CUTS)."""
    known = ~np.isnan(values)
    ranked = np.sort(values[known])
    distinct = np.unique(ranked)
    levels = _pair_levels(values) if len(distinct) else []
    if len(distinct) - 1 <= MAX_CUTS:
        edges = distinct[1:]
    else:
        at = (np.arange(1, MAX_CUTS + 1) * len(ranked)) // (MAX_CUTS + 1)
        # the pairs' levels split exactly at a bin edge: the smallest value at or above each level
        above = distinct[np.minimum(np.searchsorted(distinct, levels), len(distinct) - 1)]
        edges = np.unique(np.r_[ranked[at], above])
        edges = edges[edges > distinct[0]]
    key = np.where(known, np.searchsorted(edges, np.nan_to_num(values), side="right"), -1)
    if len(distinct):
        bin_low = np.r_[distinct[0], edges]
        bin_high = np.r_[distinct[np.searchsorted(distinct, edges) - 1], distinct[-1]]
    else:
        bin_low = bin_high = np.empty(0)
    return _Trait(name, "number", values=values, edges=edges, bin_low=bin_low, bin_high=bin_high,
                  pair_levels=levels, key=key)


def _trait_arrays(clients: pd.DataFrame, kinds: dict[str, str], min_support: int) -> list[_Trait]:
    """Each usable trait as an array: numbers as floats (with candidate cuts), yes/no and categories as codes.

    Categories rarer than `min_support` clients are pooled into one level; a trait with fewer than two
    known levels (or a number without a cut) says nothing and is left out. Returns the traits in `kinds` order.
    """
    from helpers.core.rules import _as_yesno

    traits: list[_Trait] = []
    for name, kind in kinds.items():
        if kind not in ("number", "yesno", "category") or name not in clients.columns:
            continue
        col = clients[name]
        if kind == "number":
            values = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
            tr = _number_trait(name, values)
            if len(tr.edges):
                traits.append(tr)
            continue
        if kind == "yesno":
            flags = _as_yesno(col)
            codes = np.where(flags.isna().to_numpy(), -1, np.where(flags.fillna(False).to_numpy(dtype=bool), 0, 1))
            tr = _Trait(name, "yesno", codes=codes.astype(int), labels=[(True,), (False,)])
        else:
            text = col.astype("string").str.strip()
            text = text.mask(text == "")
            counts = text.value_counts()
            common = [c for c in counts.index if counts[c] >= min_support]
            rare = sorted(c for c in counts.index if counts[c] < min_support)
            labels = [(c,) for c in common] + ([tuple(rare)] if rare else [])
            lookup = {c: i for i, c in enumerate(common)} | {c: len(common) for c in rare}
            codes = text.map(lookup).astype("Float64").fillna(-1).to_numpy(dtype=float).astype(int)
            tr = _Trait(name, "category", codes=codes, labels=labels)
        tr.key = tr.codes
        if len(tr.labels) >= 2 and len(np.unique(tr.codes[tr.codes >= 0])) >= 2:
            traits.append(tr)
    return traits


def _cells(keys: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group clients by their keys (ints, -1 allowed). Returns (cell of each client, clients per cell,
    one client of each cell)."""
    keys = keys or [np.zeros(n, dtype=np.int64)]  # nothing searched: everyone alike
    shifted = [np.asarray(k, dtype=np.int64) + 1 for k in keys]
    radix = [int(k.max()) + 1 if len(k) else 1 for k in shifted]
    if sum(math.log2(r) for r in radix) < 62:  # one int64 per client: unique of a flat array is fast
        combined = np.zeros(n, dtype=np.int64)
        for k, r in zip(shifted, radix):
            combined = combined * r + k
        _, first, of_client = np.unique(combined, return_index=True, return_inverse=True)
    else:
        _, first, of_client = np.unique(np.stack(shifted, axis=1), axis=0, return_index=True, return_inverse=True)
    of_client = of_client.reshape(-1)
    return of_client, np.bincount(of_client).astype(float), first


def _trait_conditions(tr: _Trait) -> tuple[list[tuple[Condition, np.ndarray]], np.ndarray]:
    """The one-condition candidates of a trait with the clients each covers, and where the trait is known.

    Numbers: `>=` and `<` a rounded cut at each of PAIR_QUANTILES; yes/no and categories: one per level.
    """
    candidates: list[tuple[Condition, np.ndarray]] = []
    known = ~np.isnan(tr.values) if tr.kind == "number" else tr.codes >= 0
    if tr.kind == "number":
        for level in tr.pair_levels:
            ge = known & (np.nan_to_num(tr.values, nan=-np.inf) >= level)
            candidates += [(Condition(tr.name, "number", ">=", level), ge),
                           (Condition(tr.name, "number", "<", level), known & ~ge)]
    else:
        for code, label in enumerate(tr.labels):
            mask = tr.codes == code
            node = (Condition(tr.name, "yesno", "==", bool(label[0])) if tr.kind == "yesno"
                    else Condition(tr.name, "category", "in", tuple(label)))
            candidates.append((node, mask))
    return candidates, known


def _condition_matrix(traits: list[_Trait], n: int, min_support: int, first: np.ndarray
                      ) -> tuple[list[Condition], np.ndarray, np.ndarray, np.ndarray]:
    """The single conditions that cover between `min_support` and n - `min_support` clients.

    Returns (conditions, coverage matrix conditions x cells as float32 0/1, the trait index of each
    condition, matrix of where its trait is known). `first` is one client of each cell.
    """
    cond_nodes: list[Condition] = []
    rows: list[np.ndarray] = []
    knowns: list[np.ndarray] = []
    owners: list[int] = []
    for ti, tr in enumerate(traits):
        candidates, known = _trait_conditions(tr)
        for node, mask in candidates:
            if min_support <= mask.sum() <= n - min_support:
                cond_nodes.append(node)
                rows.append(mask[first].astype(np.float32))
                knowns.append(known[first].astype(np.float32))
                owners.append(ti)
    cells = len(first)
    cond_matrix = np.vstack(rows) if rows else np.zeros((0, cells), dtype=np.float32)
    cond_known = np.vstack(knowns) if knowns else np.zeros((0, cells), dtype=np.float32)
    return cond_nodes, cond_matrix, np.array(owners, dtype=int), cond_known


def _condition_pairs(cond_matrix: np.ndarray, cond_trait: np.ndarray, n_traits: int, min_support: int,
                     size: np.ndarray) -> tuple[list[int], list[int], list[int], list[tuple[int, int]]]:
    """Pairs of conditions on two different traits worth scoring: their overlap covers at least
    `min_support` clients and fewer than either alone. Returns (first, second, family of each pair,
    the trait pair of each family)."""
    pair_i, pair_j, pair_family, pair_traits = [], [], [], []
    weighted = cond_matrix * size.astype(np.float32)
    for ta in range(n_traits):
        for tb in range(ta + 1, n_traits):
            ia = np.flatnonzero(cond_trait == ta)
            ib = np.flatnonzero(cond_trait == tb)
            if not len(ia) or not len(ib):
                continue
            # coverage does not depend on the tiers, so pairs that can never be scored are dropped up front
            overlap = weighted[ia] @ cond_matrix[ib].T
            sizes_a = weighted[ia].sum(axis=1)[:, None]
            sizes_b = weighted[ib].sum(axis=1)[None, :]
            keep = (overlap >= min_support) & (overlap < sizes_a) & (overlap < sizes_b)
            if not keep.any():
                continue
            family = len(pair_traits)
            pair_traits.append((ta, tb))
            for a, b in zip(*np.nonzero(keep)):
                pair_i.append(ia[a])
                pair_j.append(ib[b])
                pair_family.append(family)
    return pair_i, pair_j, pair_family, pair_traits


def _prepare(clients: pd.DataFrame, kinds: dict[str, str], settings,
             team_masks: list[tuple[str, np.ndarray, np.ndarray]] | None = None) -> _Prepared:
    """Turn trait columns into arrays; pool rare categories; group clients into cells; build the pair
    conditions (no tiers used).

    Named steps: trait arrays → cells (clients alike in every searched trait and team criterion) → single
    conditions (coverage per cell) → pairs of conditions (only when criteria.max_conditions is 2).
    `team_masks`: per team criterion (tier, clients covered, clients where it can be judged). Returns the
    `_Prepared` search space.
    """
    min_support = settings.min_support
    n = len(clients)
    traits = _trait_arrays(clients, kinds, min_support)
    team_masks = team_masks or []
    keys = [tr.key for tr in traits] + [np.asarray(m, dtype=bool).astype(np.int64) for _, mask, known in team_masks
                                        for m in (mask, known)]
    of_client, size, first = _cells(keys, n)
    for tr in traits:
        tr.cell_key = tr.key[first]
        if tr.kind == "number":
            known = np.flatnonzero(tr.cell_key >= 0)
            tr.order = known[np.argsort(tr.cell_key[known], kind="stable")]
            ranked = tr.cell_key[tr.order]
            tr.cuts = np.flatnonzero(ranked[1:] != ranked[:-1]) + 1
    cond_nodes, cond_matrix, cond_trait, cond_known = _condition_matrix(traits, n, min_support, first)
    pair_i, pair_j, pair_family, pair_traits = (
        _condition_pairs(cond_matrix, cond_trait, len(traits), min_support, size)
        if settings.max_conditions == 2 else ([], [], [], []))
    team = [(d, np.asarray(mask, dtype=np.float32)[first], np.asarray(known, dtype=np.float32)[first])
            for d, mask, known in team_masks]
    return _Prepared(n, traits, of_client, size, cond_nodes, cond_matrix, cond_trait, cond_known,
                     np.array(pair_i, dtype=int), np.array(pair_j, dtype=int), np.array(pair_family, dtype=int),
                     pair_traits, team)


# ---------------------------------------------------------------- draws
def observed_draw(prep: _Prepared, clients: np.ndarray, y: np.ndarray) -> _Draw:
    """The tiers `y` of the clients at positions `clients`, counted per cell (one column)."""
    cell = prep.of_client[clients]
    w = np.bincount(cell, minlength=prep.cells).astype(np.float32)[:, None]
    return _Draw(w, {d: np.bincount(cell[y == d], minlength=prep.cells).astype(np.float32)[:, None]
                     for d in DIRECTIONS})


def labels_draw(prep: _Prepared, labels: np.ndarray) -> _Draw:
    """Every client once, with Q labellings (`labels`: n x Q tier letters), counted per cell."""
    w = prep.size.astype(np.float32)[:, None]
    t = {}
    for d in DIRECTIONS:
        hits = (labels == d).astype(np.float32)
        t[d] = np.zeros((prep.cells, labels.shape[1]), dtype=np.float32)
        np.add.at(t[d], prep.of_client, hits)
    return _Draw(w, t)


def shuffled_draws(w: np.ndarray, tier_counts: dict[str, int], count: int, rng: np.random.Generator) -> _Draw:
    """`count` shuffles of the tiers among the clients of a draw (`w`: clients per cell, one column).

    Two exact ways, the cheaper one used: with few clients per cell, the labels are shuffled among the
    clients (cost ~ clients); with many, A and C are drawn per cell from the multivariate hypergeometric
    distribution (cost ~ cells): A or C first, then which of those are A.
    """
    colours = np.rint(w[:, 0]).astype(np.int64)
    total, cells = int(colours.sum()), len(colours)
    if total <= CLIENTS_PER_CELL_TO_DRAW * cells:
        labels = np.zeros(total, dtype=np.int8)
        labels[:tier_counts["A"]] = 1
        labels[tier_counts["A"]:tier_counts["A"] + tier_counts["C"]] = 2
        shuffled = rng.permuted(np.tile(labels, (count, 1)), axis=1)  # count x clients, grouped by cell
        filled = np.flatnonzero(colours)
        starts = np.r_[0, np.cumsum(colours)[:-1]][filled]
        counts = {}
        for d, code in (("A", 1), ("C", 2)):
            counts[d] = np.zeros((cells, count), dtype=np.float32)
            if total:
                counts[d][filled] = np.add.reduceat((shuffled == code).astype(np.float32), starts, axis=1).T
        return _Draw(w, counts)
    either = rng.multivariate_hypergeometric(colours, tier_counts["A"] + tier_counts["C"], size=count)
    a = np.stack([rng.multivariate_hypergeometric(row, tier_counts["A"]) for row in either])
    return _Draw(w, {"A": a.T.astype(np.float32), "C": (either - a).T.astype(np.float32)})


def resampled_draws(observed: _Draw, count: int, rng: np.random.Generator) -> _Draw:
    """`count` bootstrap resamples of the clients of `observed` (drawn with replacement, as many as there
    are): multinomial counts over (cell, tier: A, C, the rest)."""
    a, c = observed.t["A"][:, 0], observed.t["C"][:, 0]
    per = np.stack([a, c, observed.w[:, 0] - a - c], axis=1).reshape(-1).astype(np.float64)
    total = int(round(per.sum()))
    drawn = rng.multinomial(total, per / per.sum(), size=count).reshape(count, -1, 3).astype(np.float32)
    return _Draw(drawn.sum(axis=2).T, {"A": drawn[:, :, 0].T, "C": drawn[:, :, 1].T})


def chunk_size(prep: _Prepared) -> int:
    """Columns scored at once: as many as keep each cells x columns matrix near CHUNK_ELEMENTS."""
    return int(max(4, min(MAX_CHUNK, CHUNK_ELEMENTS // max(prep.cells, 1))))


# ---------------------------------------------------------------- the search
def hypergeom_z(k, m, big_k, big_n):
    """Continuity-corrected z of `k` tier clients among `m` covered, when `big_k` of `big_n` are in the tier.

    -inf where undefined (nobody or everybody covered). Compared with scipy's exact test in the tests.

    >>> round(float(hypergeom_z(8, 10, 20, 100)), 3)
    4.56
    """
    # float32 is ample for a ranking statistic and halves the work on the big pair matrices
    k = np.asarray(k, dtype=np.float32)
    m = np.asarray(m, dtype=np.float32)
    big_n = np.asarray(big_n, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.asarray(big_k, dtype=np.float32) / big_n
        var = m * p * (1 - p) * (big_n - m) / (big_n - 1)
        z = (k - m * p - 0.5) / np.sqrt(var)
    return np.where(var > 0, z, -np.inf)


@dataclass
class _Best:
    """The best rule of one family in one column of a search."""

    kind: str  # number | category | pair
    ident: Any
    threshold: float = math.nan


def _number_threshold(tr: _Trait, j: int, weights: np.ndarray) -> float:
    """The round threshold of cut `j` of a number trait: between the largest value below it and the
    smallest above it among the clients in the draw (`weights` per cell)."""
    present = weights[tr.order] > 0
    below = np.flatnonzero(present[:j])
    above = np.flatnonzero(present[j:])
    low_bin = tr.cell_key[tr.order[below[-1] if len(below) else j - 1]]
    high_bin = tr.cell_key[tr.order[j + above[0] if len(above) else j]]
    return nice_threshold(float(tr.bin_high[low_bin]), float(tr.bin_low[high_bin]))


def _number_scores(tr: _Trait, draw: _Draw, d: str, min_support: int) -> np.ndarray:
    """z of `>=` then `<` at every cut of a number trait: (2 x cuts) x Q."""
    tmat, w = draw.t[d][tr.order], draw.w[tr.order]
    sums = np.cumsum(tmat, axis=0)
    wsums = np.cumsum(w, axis=0)
    k_lt, m_lt = sums[tr.cuts - 1], wsums[tr.cuts - 1]
    # judged among the clients whose value is known: otherwise "the value is known" passes for
    # "the value is high" whenever values are missing more often in one tier
    k_known, n_known = sums[-1], wsums[-1]
    k_ge, m_ge = k_known - k_lt, n_known - m_lt
    return np.vstack([np.where(m_ge >= min_support, hypergeom_z(k_ge, m_ge, k_known, n_known), -np.inf),
                      np.where(m_lt >= min_support, hypergeom_z(k_lt, m_lt, k_known, n_known), -np.inf)])


def _category_scores(tr: _Trait, draw: _Draw, d: str, min_support: int) -> tuple[np.ndarray, np.ndarray]:
    """z of every leading set of categories (ranked by the tier's share in each column), and the ranking."""
    known = tr.cell_key >= 0
    onehot = np.zeros((len(tr.cell_key), len(tr.labels)), dtype=np.float32)
    onehot[np.flatnonzero(known), tr.cell_key[known]] = 1
    k_c = onehot.T @ draw.t[d]
    m_c = np.broadcast_to(onehot.T @ draw.w, k_c.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(m_c > 0, k_c / m_c, -1.0)
    order = np.argsort(-rate, axis=0, kind="stable")
    ks = np.cumsum(np.take_along_axis(k_c, order, axis=0), axis=0)[:-1]
    ms = np.cumsum(np.take_along_axis(m_c, order, axis=0), axis=0)[:-1]
    z = np.where(ms >= min_support, hypergeom_z(ks, ms, k_c.sum(axis=0), m_c.sum(axis=0)), -np.inf)
    return z, order


def _pair_scores(prep: _Prepared, draw: _Draw, d: str, min_support: int) -> np.ndarray:
    """z of every pair: the smallest of the pair against everyone (known) and within each condition."""
    tmat, w = draw.t[d], draw.w
    cm = prep.cond_matrix
    k_a, m_a = cm @ tmat, cm @ w
    pair = cm[prep.pair_i] * cm[prep.pair_j]
    k_ab, m_ab = pair @ tmat, pair @ w
    # the pair against the clients for whom both traits are known (most pairs: everyone)
    known_pair = prep.cond_known[prep.pair_i] * prep.cond_known[prep.pair_j]
    k_pair, n_pair = known_pair @ tmat, known_pair @ w
    z = np.minimum(hypergeom_z(k_ab, m_ab, k_pair, n_pair),
                   np.minimum(hypergeom_z(k_ab, m_ab, k_a[prep.pair_i], m_a[prep.pair_i]),
                              hypergeom_z(k_ab, m_ab, k_a[prep.pair_j], m_a[prep.pair_j])))
    return np.where(m_ab >= min_support, z, -np.inf)


def _search(prep: _Prepared, draw: _Draw, min_support: int,
            details: bool = False) -> tuple[np.ndarray, list[list[_Best | None]]]:
    """Best score of every family (direction x trait, direction x pair of traits) for each column of a draw.

    Returns an F x Q score matrix, families ordered direction-major, and (when `details`) per family and
    column which rule won (None where no rule could be scored).
    """
    q = draw.columns
    rows: list[np.ndarray] = []
    best: list[list[_Best | None]] = []
    weights = np.broadcast_to(draw.w, (prep.cells, q))
    for d in DIRECTIONS:
        for tr in prep.traits:
            if tr.kind == "number":
                z = _number_scores(tr, draw, d, min_support)
                rows.append(z.max(axis=0))
                if details:
                    ncut = len(tr.cuts)
                    at = np.argmax(z, axis=0)
                    best.append([_Best("number", ">=" if at[c] < ncut else "<",
                                       _number_threshold(tr, int(tr.cuts[at[c] % ncut]), weights[:, c]))
                                 if np.isfinite(z[at[c], c]) else None for c in range(q)])
                continue
            z, order = _category_scores(tr, draw, d, min_support)
            rows.append(z.max(axis=0))
            if details:
                at = np.argmax(z, axis=0)
                best.append([_Best("category", frozenset(int(v) for v in order[: at[c] + 1, c]))
                             if np.isfinite(z[at[c], c]) else None for c in range(q)])
        if len(prep.pair_traits):
            z = _pair_scores(prep, draw, d, min_support)
            starts = np.flatnonzero(np.r_[True, prep.pair_family[1:] != prep.pair_family[:-1]])
            rows.append(np.maximum.reduceat(z, starts, axis=0))
            if details:
                for s, e in zip(starts, list(starts[1:]) + [len(prep.pair_family)]):
                    at = s + np.argmax(z[s:e], axis=0)
                    best.append([_Best("pair", (int(prep.pair_i[at[c]]), int(prep.pair_j[at[c]])))
                                 if np.isfinite(z[at[c], c]) else None for c in range(q)])
    scores = np.vstack([r if r.ndim == 2 else r[None, :] for r in rows]) if rows else np.zeros((0, q))
    return scores, best


def team_scores(prep: _Prepared, draw: _Draw) -> np.ndarray:
    """z of each team criterion in each column of a draw: E x Q."""
    out = [hypergeom_z(mask @ draw.t[d], mask @ draw.w, known @ draw.t[d], known @ draw.w)
           for d, mask, known in prep.team]
    return np.vstack([np.broadcast_to(z, (draw.columns,)) for z in out]) if out else np.zeros((0, draw.columns))


def rules_tried(prep: _Prepared) -> int:
    per_direction = 0
    for tr in prep.traits:
        per_direction += 2 * len(tr.cuts) if tr.kind == "number" else max(len(tr.labels) - 1, 1)
    per_direction += len(prep.pair_i)
    return per_direction * len(DIRECTIONS)


def family_node(prep: _Prepared, family: int, best: _Best) -> Node:
    """The rule object of a family's winner."""
    n_single = len(prep.traits)
    if best.kind == "pair":
        i, j = best.ident
        return all_of([prep.cond_nodes[i], prep.cond_nodes[j]])
    tr = prep.traits[family % (n_single + len(prep.pair_traits))]
    if best.kind == "number":
        return Condition(tr.name, "number", best.ident, best.threshold)
    codes = sorted(best.ident)
    if tr.kind == "yesno":
        return Condition(tr.name, "yesno", "==", bool(tr.labels[codes[0]][0]))
    chosen = [name for c in codes for name in tr.labels[c]]
    rest = [name for c in range(len(tr.labels)) if c not in best.ident for name in tr.labels[c]]
    if len(rest) < len(chosen):  # the shorter list reads better; coverage of known values is the same
        return Condition(tr.name, "category", "not in", tuple(rest))
    return Condition(tr.name, "category", "in", tuple(chosen))


def family_mask(prep: _Prepared, local: int, best: _Best) -> tuple[np.ndarray, np.ndarray]:
    """Which clients (all n) the winning rule of a family covers, and whose traits it can judge."""
    if best.kind == "pair":
        i, j = best.ident
        cells = prep.cond_matrix[i] * prep.cond_matrix[j], prep.cond_known[i] * prep.cond_known[j]
        return cells[0][prep.of_client].astype(bool), cells[1][prep.of_client].astype(bool)
    tr = prep.traits[local]
    if best.kind == "number":
        values = np.nan_to_num(tr.values, nan=-np.inf)
        known = ~np.isnan(tr.values)
        covered = known & (values >= best.threshold) if best.ident == ">=" else known & (values < best.threshold)
        return covered, known
    return np.isin(tr.codes, sorted(best.ident)), tr.codes >= 0
