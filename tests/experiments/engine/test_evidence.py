"""Intervals and verdicts: known cases, agreement with scipy's bootstrap, and the claims built on them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from softnodule.experiments.engine.claims import Claim, claim_rows, step_claims
from softnodule.experiments.engine.evidence import bootstrap_mean_ci, paired_difference, row_stats, verdict


def test_bootstrap_ci_of_a_constant_is_the_constant():
    assert bootstrap_mean_ci(np.full(50, 0.8)) == pytest.approx((0.8, 0.8))
    assert np.isnan(bootstrap_mean_ci(np.array([np.nan, np.nan]))[0])


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap_and_the_normal_interval():
    rng = np.random.default_rng(0)
    x = rng.normal(0.85, 0.1, 400)
    low, high = bootstrap_mean_ci(x, n_boot=8000)
    ref = stats.bootstrap((x,), np.mean, n_resamples=8000, method="percentile", random_state=1).confidence_interval
    assert low == pytest.approx(ref.low, abs=2e-3) and high == pytest.approx(ref.high, abs=2e-3)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)  # CLT interval of a mean of 400 draws
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)


def test_row_stats_known_values_and_undefined_images():
    seed_a = np.array([0.8, 0.6, np.nan, 1.0])
    seed_b = np.array([0.6, 0.6, np.nan, 0.8])
    s = row_stats([seed_a, seed_b])
    assert s["mean"] == pytest.approx(100 * np.mean([0.8, 2.0 / 3.0]))
    assert s["sd"] == pytest.approx(100 * np.std([0.8, 2.0 / 3.0], ddof=1))
    assert (s["n"], s["n_seeds"], s["n_undefined"]) == (3, 2, 1)
    assert s["ci_low"] <= 100 * np.mean([0.7, 0.6, 0.9]) <= s["ci_high"]
    assert row_stats([seed_a])["sd"] is None
    with pytest.raises(ValueError, match="same test images"):
        row_stats([seed_a, seed_a[:3]])


def test_paired_difference_sees_a_small_consistent_gain_that_unpaired_noise_hides():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.3, 1.0, 300)  # large spread between images
    better = base + 0.01  # +1 point on every image
    d = paired_difference([better], [base])
    assert d["diff"] == pytest.approx(1.0) and d["ci_low"] == pytest.approx(1.0) and d["n"] == 300
    assert verdict(d["ci_low"], d["ci_high"], +1) == "supported"
    assert verdict(d["ci_low"], d["ci_high"], -1) == "contradicted"
    unpaired = row_stats([better]), row_stats([base])
    assert unpaired[0]["ci_low"] < unpaired[1]["ci_high"]  # the row intervals overlap


def test_verdict_rules():
    assert verdict(0.2, 1.5) == "supported"
    assert verdict(-1.5, -0.2) == "contradicted"
    assert verdict(-0.5, 0.5) == "inconclusive"
    assert verdict(0.0, 1.0) == "inconclusive"  # touching 0 is not above it
    assert verdict(-1.5, -0.2, paper_sign=-1) == "supported"
    assert verdict(0.2, 1.5, paper_sign=0) == "inconclusive"
    assert verdict(float("nan"), 1.0) == "inconclusive"
    with pytest.raises(ValueError):
        verdict(1.0, 0.0)


def _ev(values, all_fg=None):
    v = np.asarray(values, float)
    flags = {"all_fg": np.zeros(v.size, bool) if all_fg is None else all_fg, "all_bg": np.zeros(v.size, bool),
             "constant": np.zeros(v.size, bool)}
    return {"per_image": {"dice": v}, "degenerate": flags}


def test_claim_rows_judge_against_the_papers_sign_and_withhold_degenerate_sides():
    rng = np.random.default_rng(2)
    base = rng.uniform(0.5, 0.9, 200)
    evals = {"b": [_ev(base), _ev(base)], "a": [_ev(base + 0.02), _ev(base + 0.03)],
             "worse": [_ev(base - 0.05)], "fg": [_ev(base + 0.1, all_fg=np.ones(200, bool))]}
    claims = [Claim("c1", "T", "a beats b", "a", "b", 91.0, 90.0),
              Claim("c2", "T", "worse beats b", "worse", "b", 91.0, 90.0),
              Claim("c3", "T", "paper says a below b", "a", "b", 89.0, 90.0),
              Claim("c4", "T", "fg beats b", "fg", "b", 91.0, 90.0),
              Claim("missing", "T", "not run", "zzz", "b", 1.0, 0.0)]
    rows = {r["claim_id"]: r for r in claim_rows(claims, evals)}
    assert set(rows) == {"c1", "c2", "c3", "c4"}
    assert rows["c1"]["verdict"] == "supported" and rows["c1"]["diff"] == pytest.approx(2.5)
    assert (rows["c1"]["n_seeds_a"], rows["c1"]["n_seeds_b"], rows["c1"]["paper_diff"]) == (2, 2, 1.0)
    assert rows["c2"]["verdict"] == "contradicted"
    assert rows["c3"]["verdict"] == "contradicted"
    assert rows["c4"]["verdict"] == "inconclusive" and "all foreground" in rows["c4"]["note"]
    assert "interval alone: supported" in rows["c4"]["note"]


def test_step_claims_pair_each_row_with_the_row_above():
    claims = step_claims("t3", "Table III", ("u", "b", "s"), {"u": 87.0, "b": 89.0, "s": 88.0}, {})
    assert [(c.a, c.b, c.paper_diff, c.paper_sign) for c in claims] == [("b", "u", 2.0, 1.0), ("s", "b", -1.0, -1.0)]
