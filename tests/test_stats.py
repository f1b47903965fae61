"""Paired differences against Random and the reference rows, on hand-computed cases."""

import math

import pytest

from infomotion_rt.evaluate import stats as S


def _runs(values, seeds=None):
    return [{"seed": s, "acc": v} for s, v in zip(seeds or range(len(values)), values)]


def test_paired_t_interval_by_hand():
    # d = method - random per seed = 1, 2, 3, 4, 5: mean 3, sample std sqrt(2.5),
    # t(0.975, 4) = 2.7764451, half width = 2.7764451 * sqrt(2.5) / sqrt(5) = 1.9632432.
    method, random = _runs([3, 5, 6, 9, 10]), _runs([2, 3, 3, 5, 5])
    d = S.paired_difference(method, random, "acc")
    assert d["n"] == 5 and d["mean"] == pytest.approx(3.0) and d["std"] == pytest.approx(math.sqrt(2.5))
    assert S.t_quantile(0.975, 4) == pytest.approx(2.7764451, abs=1e-6)
    assert (d["ci_low"], d["ci_high"]) == (pytest.approx(3 - 1.9632432, abs=1e-6), pytest.approx(3 + 1.9632432, abs=1e-6))


def test_pairs_are_matched_by_seed_not_order():
    method = _runs([10, 20, 30], seeds=[2, 0, 1])
    random = _runs([1, 2, 3], seeds=[0, 1, 2])   # seed 0: 20-1, seed 1: 30-2, seed 2: 10-3
    d = S.paired_difference(method, random, "acc")
    assert d["mean"] == pytest.approx((19 + 28 + 7) / 3)
    one = S.paired_difference(_runs([5], seeds=[7]), _runs([1, 2], seeds=[7, 8]), "acc")
    assert one["n"] == 1 and one["mean"] == 4 and math.isnan(one["ci_low"])  # one pair: no interval
    nan = S.paired_difference([{"seed": 0, "r2": float("nan")}, {"seed": 1, "r2": 0.5}],
                              [{"seed": 0, "r2": 0.1}, {"seed": 1, "r2": 0.2}], "r2")
    assert nan["n"] == 1 and nan["mean"] == pytest.approx(0.3)  # an undefined R² drops its pair



def test_equal_differences_get_no_interval_and_no_bold():
    """Quantised accuracy can make every run differ by the same amount: a zero-width t interval would
    read as certain evidence from no variance."""
    from infomotion_rt.evaluate.tables import _diff

    d = S.paired_difference(_runs([0.50, 0.60, 0.70]), _runs([0.45, 0.55, 0.65]), "acc")
    assert d["equal"] and d["mean"] == pytest.approx(0.05) and math.isnan(d["ci_low"])
    assert _diff(d, 100, 1) == "+5.0 [equal in every run: no interval]"
    spread = S.paired_difference(_runs([0.50, 0.62, 0.70]), _runs([0.45, 0.55, 0.65]), "acc")
    assert "equal" not in spread and _diff(spread, 100, 1).startswith("**+5.7 [")


def test_reference_rows_by_hand():
    pool = [20.0, 55.0, 60.0, 65.0, 80.0]   # mean 56; majority Normal (55, 60, 65) -> predicts 60
    test = [55.0, 25.0, 62.0]
    r = S.reference_rows(pool, test, tolerance=2.0)
    assert r["mean_ef"]["value"] == pytest.approx(56.0) and r["majority_class"]["value"] == pytest.approx(60.0)
    assert r["mean_ef"]["acc"] == pytest.approx(2 / 3)          # 55 and 62 are Normal like 56; 25 is not
    assert r["mean_ef"]["mae"] == pytest.approx((1 + 31 + 6) / 3)
    assert r["majority_class"]["mae"] == pytest.approx((5 + 35 + 2) / 3)
    assert "Normal" in r["majority_class"]["what"]


def test_class_counts_lists_every_class():
    assert S.class_counts([20, 35, 55, 56, 75]) == {"Severe": 1, "Moderate": 1, "Mild": 0, "Normal": 2,
                                                    "Hyperdynamic": 1}
