"""Per-client reasons are built column-wise, and word for word what the former per-client loops wrote.

The reference functions below are the loops as they stood before (tiers.explain_suggestions and the
key-client reasons of audit.classify_key_clients), kept here only to pin the wording.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.core import i18n
from helpers.step1_list_clients.audit import (_pct, _settings, _top_by_cumulative_share, classify_key_clients, summarise_clients)
from helpers.core.i18n import t
from helpers.step1_list_clients.load import load_company
from helpers.paths import SAMPLE_DIR
from helpers.step2_place_in_tiers.tiers import _STRONG, _fmt, build_tiers, explain_suggestions

SAMPLES = sorted(p for p in SAMPLE_DIR.iterdir() if p.is_dir())


def _value_phrase(position, n, basis_word):
    top = max(5, int(math.ceil(position / n * 20)) * 5)
    bottom = max(5, int(math.ceil((n - position + 1) / n * 20)) * 5)
    return (t("tiers.reason.value_top", basis=basis_word, pct=top),
            t("tiers.reason.value_bottom", basis=basis_word, pct=bottom))


def old_explain_suggestions(table, components, *, basis="revenue", n_periods=0, period="month"):
    basis_word = t(f"tiers.basis.{basis}")
    period_word = t(f"tiers.period.{period}")
    values = table[basis].astype(float) if basis in table else pd.Series(np.nan, index=table.index)
    position = (-values.fillna(0.0)).rank(method="min")
    n = len(table)
    reasons = []
    for cid, row in table.iterrows():
        value = values.get(cid)
        if pd.isna(value) or value == 0:
            reasons.append(t("tiers.reason.no_revenue", basis=basis_word))
            continue
        good, bad = [], []
        if value < 0:
            bad.append((1.0, t("tiers.reason.loss", basis=basis_word, amount=_fmt(value))))
        for c in components:
            rank = row.get(f"score_{c}")
            if rank is None or pd.isna(rank) or (_STRONG > rank > 1 - _STRONG):
                continue
            strong = rank >= _STRONG
            if c == "value":
                if value < 0:
                    continue
                top, bottom = _value_phrase(position[cid], n, basis_word)
                phrase = top if strong else bottom
            elif c == "loyalty":
                if n_periods and pd.notna(row.get("active_periods")):
                    phrase = t("tiers.reason.loyalty_periods", active=int(row["active_periods"]), n=n_periods,
                               period=period_word)
                elif pd.notna(row.get("tenure_months")):
                    phrase = t("tiers.reason.loyalty_tenure", months=_fmt(row["tenure_months"]))
                else:
                    phrase = t("tiers.reason.loyalty_purchases", purchases=_fmt(row.get("purchases")))
            elif c == "payment":
                phrase = t("tiers.reason.payment_good" if strong else "tiers.reason.payment_bad",
                           days=_fmt(row.get("payment_delay_days")))
            elif c == "cost_to_serve":
                phrase = t("tiers.reason.cost_good" if strong else "tiers.reason.cost_bad",
                           hours=_fmt(row.get("support_hours"), 1 if row.get("support_hours", 0) < 10 else 0))
            else:
                phrase = t("tiers.reason.speed_good" if strong else "tiers.reason.speed_bad",
                           days=_fmt(row.get("deal_cycle_days")))
            (good if strong else bad).append((rank if strong else 1 - rank, phrase))
        good = [p for _, p in sorted(good, key=lambda item: -item[0])[:2]]
        bad = [p for _, p in sorted(bad, key=lambda item: -item[0])[:2]]
        if good and bad:
            body = ", ".join(good) + ", " + t("tiers.reason.but") + " " + ", ".join(bad)
        elif good or bad:
            body = ", ".join(good or bad)
        else:
            body = t("tiers.reason.average")
        reasons.append(body)
    return pd.Series(reasons, index=table.index, dtype=object)


def old_key_reasons(company, out):
    """The former loop, fed the classes the new code chose (the classes themselves are unchanged)."""
    s = _settings(company)
    figures = summarise_clients(company)
    revenue = figures["revenue"].fillna(0.0)
    margin = figures["margin"]
    has_margin = margin.notna().any()
    rev_total = float(revenue.clip(lower=0).sum())
    mar_total = float(margin.clip(lower=0).sum()) if has_margin else 0.0
    rev_share = revenue / rev_total if rev_total > 0 else pd.Series(np.nan, index=revenue.index)
    mar_share = margin / mar_total if mar_total > 0 else pd.Series(np.nan, index=revenue.index)
    key = out.set_index("client_id")["key_class"]
    top = _top_by_cumulative_share(revenue, s.gold_share)
    if has_margin:
        top = top | _top_by_cumulative_share(margin, s.gold_share)
        top &= ~(margin < 0)
    top &= revenue > 0
    reasons = {}
    for cid in figures.index:
        params = dict(share=_pct(rev_share[cid]), margin_share=_pct(mar_share[cid]), gold=_pct(s.gold_share),
                      bronze=_pct(s.bronze_share))
        if key[cid] == "gold":
            reason = t("audit.key.reason_gold_margin" if has_margin else "audit.key.reason_gold", **params)
        elif key[cid] == "bronze":
            reason = t("audit.key.reason_none" if revenue[cid] <= 0 else "audit.key.reason_bronze", **params)
        elif top[cid]:
            reason = t("audit.key.reason_silver_capped", **params)
        else:
            reason = t("audit.key.reason_silver", **params)
        reasons[cid] = reason
    return out["client_id"].map(reasons)


def _inputs(result):
    return dict(components=result.components, basis=result.basis, n_periods=result.n_periods, period=result.period)


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("folder", SAMPLES, ids=[p.name for p in SAMPLES])
def test_reasons_equal_the_former_loop_on_every_sample(folder, lang):
    with i18n.language(lang):
        company = load_company(folder)
        result = build_tiers(company)
        table = result.table
        new = explain_suggestions(table, **_inputs(result))
        old = old_explain_suggestions(table, **_inputs(result))
        pd.testing.assert_series_equal(new, old)
        key = classify_key_clients(company)
        assert key["reason"].tolist() == old_key_reasons(company, key).tolist()


def test_reasons_equal_the_former_loop_on_awkward_figures():
    """Losses, zero and missing values, missing figure columns, ties, support under and over 10 hours."""
    rng = np.random.default_rng(3)
    n = 400
    table = pd.DataFrame({
        "revenue": np.where(rng.random(n) < 0.1, -rng.random(n) * 1000,
                            np.where(rng.random(n) < 0.1, 0.0, rng.integers(1, 50, n) * 100.0)),
        "active_periods": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 12, n)),
        "tenure_months": np.where(rng.random(n) < 0.3, np.nan, rng.random(n) * 40),
        "purchases": rng.integers(0, 30, n).astype(float),
        "support_hours": np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 20),
        "payment_delay_days": rng.integers(0, 90, n).astype(float),
    }, index=pd.Index([f"C{i:04d}" for i in range(n)], name="client_id"))
    table.loc["C0001", "revenue"] = np.nan
    components = ["value", "loyalty", "payment", "cost_to_serve", "speed"]  # speed has no figure column
    for c in components:
        ranks = pd.Series(rng.choice([0.1, 0.25, 0.5, 0.75, 0.9, np.nan], n), index=table.index)
        table[f"score_{c}"] = ranks
    for n_periods in (0, 12):
        for lang in ("en", "ru"):
            with i18n.language(lang):
                pd.testing.assert_series_equal(
                    explain_suggestions(table, components, n_periods=n_periods, period="quarter"),
                    old_explain_suggestions(table, components, n_periods=n_periods, period="quarter"))
    empty = table.iloc[:0]
    assert explain_suggestions(empty, components).tolist() == []
    assert explain_suggestions(table, []).tolist() == old_explain_suggestions(table, []).tolist()


def old_suggest_tiers(score, *, shares=(0.20, 0.50), value=None):
    n = len(score)
    out = pd.Series("C", index=score.index, dtype=object)
    if n == 0:
        return out
    eligible = score.notna()
    if value is not None:
        eligible &= value.reindex(score.index).fillna(0).astype(float) > 0
    ranked = score[eligible]
    order = np.lexsort((ranked.index.astype(str).to_numpy(), -ranked.to_numpy(dtype=float)))
    ranked_ids = ranked.index[order]
    n_a, n_b = int(round(n * shares[0])), int(round(n * shares[1]))
    start = 0
    for letter, size in (("A", n_a), ("B", n_b)):
        chunk = ranked_ids[start:start + size]
        for k, cid in enumerate(chunk):
            out[cid] = f"{letter}{1 + min(2, k * 3 // max(len(chunk), 1))}"
        start += size
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 151])
def test_suggested_tiers_equal_the_former_loop(n):
    from helpers.step2_place_in_tiers.tiers import suggest_tiers

    rng = np.random.default_rng(n)
    score = pd.Series(rng.integers(0, 20, n).astype(float), index=[f"c{i}" for i in range(n)])
    score[score == 3] = np.nan
    value = pd.Series(rng.normal(10, 10, n), index=score.index)
    for shares in ((0.2, 0.5), (0.1, 0.3), (0.5, 0.5)):
        assert suggest_tiers(score, shares=shares, value=value).tolist() == \
            old_suggest_tiers(score, shares=shares, value=value).tolist()


@pytest.mark.parametrize("folder", SAMPLES, ids=[p.name for p in SAMPLES])
def test_disagreement_questions_equal_the_former_loop(folder):
    company = load_company(folder)
    result = build_tiers(company)
    for row in result.disagreements.itertuples(index=False):
        full = result.table.set_index("client_id").loc[row.client_id]
        body = full["reason"].split(": ", 1)[1]
        key = "tiers.question.team_higher" if row.direction == "team_higher" else "tiers.question.team_lower"
        assert row.question == t(key, name=row.name, team=row.team_tier, suggested=row.suggested_tier, reason=body)


def old_allocate(gold_revenue, per_manager):
    managers = math.ceil(len(gold_revenue) / per_manager)
    load, count, assigned = [0.0] * managers, [0] * managers, []
    for revenue in gold_revenue:
        open_ = [m for m in range(managers) if count[m] < per_manager]
        m = min(open_, key=lambda i: (load[i], i))
        load[m] += revenue
        count[m] += 1
        assigned.append(m + 1)
    return assigned, [count[m - 1] for m in assigned], [load[m - 1] for m in assigned]


@pytest.mark.parametrize("per_manager", [1, 2, 3, 7])
def test_key_client_allocation_equals_the_former_scan(per_manager):
    from helpers.step1_list_clients.audit import allocate_key_clients

    rng = np.random.default_rng(per_manager)
    revenue = np.round(rng.pareto(1.2, 200) * 1000, 0)  # ties included
    revenue[:10] = 500.0
    key = pd.DataFrame({"client_id": [f"c{i:03d}" for i in range(200)], "name": "x", "key_class": "gold",
                        "revenue": revenue})
    out = allocate_key_clients(key, per_manager=per_manager)
    ordered = key.sort_values("revenue", ascending=False, kind="stable")
    managers, clients, load = old_allocate(ordered["revenue"].to_numpy(dtype=float), per_manager)
    expected = pd.DataFrame({"manager": managers, "client_id": ordered["client_id"].to_numpy(),
                             "manager_clients": clients, "manager_revenue": load})
    expected = expected.sort_values(["manager"], kind="stable")
    merged = out.merge(expected, on="client_id", suffixes=("", "_old"))
    assert (merged["manager"] == merged["manager_old"]).all()
    assert (merged["manager_clients"] == merged["manager_clients_old"]).all()
    assert np.allclose(merged["manager_revenue"], merged["manager_revenue_old"])


@pytest.mark.parametrize("folder", SAMPLES, ids=[p.name for p in SAMPLES])
def test_type_lists_equal_the_former_loop(folder):
    from helpers.step1_list_clients.audit import DATA_TYPES, tag_client_types

    types = tag_client_types(load_company(folder))
    names = {tag: t(f"audit.type.{tag}.name") for tag in DATA_TYPES}
    expected = [", ".join(names[tag] for tag, on in zip(DATA_TYPES, row) if on)
                for row in types[list(DATA_TYPES)].to_numpy()]
    assert types["types"].tolist() == expected
