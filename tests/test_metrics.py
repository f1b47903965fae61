"""EF metrics against hand-computed cases (class boundaries and soft tolerance included)."""

import math

import numpy as np
import pytest

from infomotion_rt.selection import scoring as M


def test_mae_rmse_r2_by_hand():
    t, p = [50.0, 60.0, 70.0], [52.0, 57.0, 70.0]
    assert M.mae(t, p) == pytest.approx(5 / 3)
    assert M.rmse(t, p) == pytest.approx(math.sqrt(13 / 3))
    # ss_res = 4 + 9 + 0 = 13; ss_tot = 100 + 0 + 100 = 200
    assert M.r2(t, p) == pytest.approx(1 - 13 / 200)
    assert M.r2([40, 40], [40, 41]) != M.r2([40, 40], [40, 41])  # NaN: no variance in the truth


def test_hard_accuracy_at_class_boundaries():
    # Classes [.,30) [30,40) [40,50) [50,70) [70,.): a boundary value belongs to the upper class.
    t = [30.0, 29.99, 50.0, 70.0, 69.9]
    p = [30.0, 30.0, 49.99, 70.0, 70.0]
    np.testing.assert_array_equal(M.confusion(t, p).diagonal(), [0, 1, 0, 0, 1])
    assert M.hard_accuracy(t, p) == pytest.approx(2 / 5)


def test_soft_accuracy_tolerance_edges():
    # True Normal [50, 70) widened by 2 -> [48, 72): 48 in, 47.99 out, 71.99 in, 72 out.
    t = [55.0] * 4
    p = [48.0, 47.99, 71.99, 72.0]
    assert M.soft_accuracy(t, p, tolerance=2.0) == pytest.approx(0.5)
    assert M.hard_accuracy(t, p) == 0.0
    # Tolerance 0 equals hard accuracy; Severe has no lower bound, Hyperdynamic no upper bound.
    assert M.soft_accuracy([20, 80, 45], [31.99, 68.0, 52.0], tolerance=2.0) == pytest.approx(2 / 3)
    assert M.soft_accuracy([20, 80, 45], [0.0, 100.0, 51.0], tolerance=0.0) == M.hard_accuracy([20, 80, 45], [0.0, 100.0, 51.0])


def test_confusion_rows_are_truth():
    m = M.confusion([20, 20, 35, 80], [35, 20, 35, 60])
    expected = np.zeros((5, 5), int)
    expected[0, 1] = expected[0, 0] = expected[1, 1] = expected[4, 3] = 1
    np.testing.assert_array_equal(m, expected)
    assert m.sum() == 4


def test_balanced_accuracy_is_mean_recall_over_present_classes():
    # 8 Normal + 2 Severe, always predicting Normal: accuracy 0.8, balanced (1 + 0) / 2 (absent classes skipped).
    t, p = [60.0] * 8 + [20.0] * 2, [60.0] * 10
    assert M.hard_accuracy(t, p) == pytest.approx(0.8)
    assert M.balanced_accuracy(t, p) == pytest.approx(0.5)
    # Same definition as scikit-learn's on the class indices, on a mixed case.
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    t, p = rng.uniform(15, 80, 200), rng.uniform(15, 80, 200)
    cls = M.DEFAULT_CLASSES
    assert M.balanced_accuracy(t, p) == pytest.approx(balanced_accuracy_score(cls.index(t), cls.index(p)))


def test_score_and_summary():
    s = M.score([55, 25], [56, 45], tolerance=2.0)
    assert (s["n"], s["acc"], s["soft_acc"], s["bal_acc"]) == (2, 0.5, 0.5, 0.5)
    assert s["classes"][0] == "Severe" and len(s["confusion"]) == 5
    runs = [{"acc": 0.5, "soft_acc": 0.6, "mae": 4.0, "rmse": 5.0, "r2": float("nan")},
            {"acc": 0.7, "soft_acc": 0.8, "mae": 6.0, "rmse": 7.0, "r2": 0.2}]
    summary = M.summarize_runs(runs)
    assert summary["acc"]["mean"] == pytest.approx(0.6)
    assert summary["acc"]["std"] == pytest.approx(math.sqrt(0.02))  # sample std, ddof=1
    assert summary["r2"] == {"mean": 0.2, "std": 0.0, "n": 1}
    assert summary["bal_acc"]["n"] == 0  # runs from before balanced accuracy: no value, not an error


def test_bad_input():
    with pytest.raises(ValueError, match="2 true EF values but 1"):
        M.mae([1, 2], [1])
    with pytest.raises(ValueError, match="no predictions"):
        M.mae([], [])
    with pytest.raises(ValueError, match="finite"):
        M.mae([float("nan")], [1.0])
