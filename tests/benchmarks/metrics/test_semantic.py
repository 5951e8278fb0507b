"""Confusion-matrix metrics: exact small cases, sklearn, torch, merging, policies, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.metrics import semantic as S
from benchmarks.metrics.semantic import ConfusionMatrix


# ---- a hand-computed 3-class example -------------------------------------------------
#   truth  pred      matrix (rows = truth, cols = pred)
#   0 0 0  0 0 1     [[2, 1, 0],
#   1 1 2  1 2 2      [0, 1, 1],
#   2 2 V  2 0 x      [1, 0, 2]]   (V = 255 ignored, whatever is predicted there)
#   2 . .  2
TRUTH = np.array([[0, 0, 0], [1, 1, 2], [2, 2, 255], [2, 255, 255]])
PRED = np.array([[0, 0, 1], [1, 2, 2], [2, 0, 7], [2, 0, 0]])
MATRIX = np.array([[2, 1, 0], [0, 1, 1], [1, 0, 3]])


def test_hand_computed_matrix_and_scores():
    cm = ConfusionMatrix(3).update(PRED, TRUTH)
    assert cm.matrix.dtype == np.int64
    np.testing.assert_array_equal(cm.matrix, MATRIX)
    # rows 3, 2, 4 ; cols 3, 2, 4 ; diag 2, 1, 3 ; total 9
    assert cm.pixel_accuracy() == pytest.approx(6 / 9)
    np.testing.assert_allclose(cm.class_accuracy(), [2 / 3, 1 / 2, 3 / 4])
    assert cm.mean_class_accuracy() == pytest.approx((2 / 3 + 1 / 2 + 3 / 4) / 3)
    iou = [2 / (3 + 3 - 2), 1 / (2 + 2 - 1), 3 / (4 + 4 - 3)]
    np.testing.assert_allclose(cm.iou(), iou)
    assert cm.mean_iou() == pytest.approx(np.mean(iou))
    assert cm.frequency_weighted_iou() == pytest.approx((3 * iou[0] + 2 * iou[1] + 4 * iou[2]) / 9)
    dice = [2 * 2 / 6, 2 * 1 / 4, 2 * 3 / 8]
    np.testing.assert_allclose(cm.dice(), dice)
    assert cm.mean_dice() == pytest.approx(np.mean(dice))
    # Dice = 2 IoU / (1 + IoU) per class
    np.testing.assert_allclose(cm.dice(), 2 * np.array(iou) / (1 + np.array(iou)))


def test_scores_dataclass_and_dict():
    scores = ConfusionMatrix(3).update(PRED, TRUTH).scores(class_names=["a", "b", "c"])
    assert scores.mean_iou == pytest.approx(S.mean_iou(MATRIX))
    assert scores.pixels == 9 and scores.absent == "nan"
    d = scores.as_dict()
    assert d["mean_iou"] == scores.mean_iou and d["iou/b"] == pytest.approx(1 / 3)
    with pytest.raises(AttributeError):
        scores.mean_iou = 0.0  # frozen


def test_functions_accept_matrix_or_accumulator():
    cm = ConfusionMatrix(3).update(PRED, TRUTH)
    assert S.mean_iou(cm) == S.mean_iou(MATRIX) == cm.mean_iou()
    assert S.confusion_matrix(PRED, TRUTH, 3).tolist() == MATRIX.tolist()


def test_matches_sklearn_with_ignore(rng):
    from sklearn.metrics import confusion_matrix as sk_confusion

    n = 5
    truth = rng.integers(0, n, size=(3, 40, 50))
    truth[rng.random(truth.shape) < 0.2] = 255
    pred = rng.integers(0, n, size=truth.shape)
    cm = ConfusionMatrix(n).update(pred, truth)
    keep = truth != 255
    expected = sk_confusion(truth[keep], pred[keep], labels=list(range(n)))
    np.testing.assert_array_equal(cm.matrix, expected)


def test_out_of_range_truth_is_dropped_like_ignore():
    truth = np.array([[0, 1, 9, -1]])
    pred = np.array([[0, 1, 1, 1]])
    np.testing.assert_array_equal(ConfusionMatrix(2).update(pred, truth).matrix, [[1, 0], [0, 1]])


def test_torch_input_equals_numpy(rng):
    torch = pytest.importorskip("torch")
    truth = rng.integers(0, 4, size=(2, 30, 20))
    truth[:, :3] = 255
    pred = rng.integers(0, 4, size=truth.shape)
    a = ConfusionMatrix(4, keep_per_image=True).update(pred, truth)
    b = ConfusionMatrix(4, keep_per_image=True).update(torch.from_numpy(pred), torch.from_numpy(truth))
    c = ConfusionMatrix(4).update(torch.from_numpy(pred).to(torch.uint8), truth)  # mixed kinds
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.matrix, c.matrix)
    np.testing.assert_array_equal(np.stack(a.per_image), np.stack(b.per_image))


def test_torch_logits_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"argmax\(1\)"):
        ConfusionMatrix(3).update(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))


def test_batch_and_per_image(rng):
    truth = rng.integers(0, 3, size=(4, 8, 8))
    pred = rng.integers(0, 3, size=(4, 8, 8))
    batch = ConfusionMatrix(3, keep_per_image=True).update(pred, truth)
    single = ConfusionMatrix(3, keep_per_image=True)
    for p, t in zip(pred, truth):
        single.update(p, t)
    np.testing.assert_array_equal(batch.matrix, single.matrix)
    assert len(batch.per_image) == 4
    np.testing.assert_allclose(batch.per_image_miou(), single.per_image_miou())
    np.testing.assert_allclose(
        S.per_image_miou(batch), [S.mean_iou(S.confusion_matrix(p, t, 3)) for p, t in zip(pred, truth)])
    with pytest.raises(ValueError, match="keep_per_image=True"):
        ConfusionMatrix(3).update(pred, truth).per_image_miou()


labels = arrays(np.int64, (6, 7), elements=st.integers(0, 3))


@settings(max_examples=40, deadline=None)
@given(labels, labels, labels, labels, labels, labels)
def test_merge_is_associative_and_equals_sequential(p1, t1, p2, t2, p3, t3):
    a = ConfusionMatrix(4).update(p1, t1)
    b = ConfusionMatrix(4).update(p2, t2)
    c = ConfusionMatrix(4).update(p3, t3)
    left = (a + b) + c
    right = a.merge(b.merge(c))
    seq = ConfusionMatrix(4).update(p1, t1).update(p2, t2).update(p3, t3)
    np.testing.assert_array_equal(left.matrix, right.matrix)
    np.testing.assert_array_equal(left.matrix, seq.matrix)
    np.testing.assert_array_equal(a.matrix, ConfusionMatrix(4).update(p1, t1).matrix)  # unchanged


@settings(max_examples=40, deadline=None)
@given(labels, labels, arrays(np.bool_, (6, 7)), labels)
def test_ignored_pixels_change_nothing(pred, truth, void, other_pred):
    truth = truth.copy()
    truth[void] = 255
    changed = np.where(void, other_pred, pred)
    np.testing.assert_array_equal(ConfusionMatrix(4).update(pred, truth).matrix,
                                  ConfusionMatrix(4).update(changed, truth).matrix)


def test_absent_class_policy():
    # class 2 never appears in truth or prediction; class 1 only in prediction
    m = np.array([[3, 1, 0], [0, 0, 0], [0, 0, 0]])
    iou_nan = S.iou(m, "nan")
    assert iou_nan[0] == pytest.approx(3 / 4) and iou_nan[1] == 0 and np.isnan(iou_nan[2])
    assert S.mean_iou(m, "nan") == pytest.approx((3 / 4 + 0) / 2)
    assert S.mean_iou(m, "zero") == pytest.approx((3 / 4 + 0 + 0) / 3)
    # recall is undefined for classes without truth pixels (1 and 2)
    assert S.mean_class_accuracy(m, "nan") == pytest.approx(3 / 4)
    assert S.mean_class_accuracy(m, "zero") == pytest.approx(3 / 4 / 3)
    assert S.mean_dice(m, "nan") == pytest.approx((6 / 7 + 0) / 2)
    assert S.frequency_weighted_iou(m) == pytest.approx(3 / 4)
    assert np.isnan(S.pixel_accuracy(np.zeros((2, 2), int)))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ConfusionMatrix(3).update(np.zeros((2, 2), int), np.zeros((2, 3), int)),
         ValueError, r"same shape; got \(2, 2\) and \(2, 3\)"),
        (lambda: ConfusionMatrix(3).update(np.array([[0, 3]]), np.array([[0, 1]])),
         ValueError, r"pred has label 3 outside 0..2 \(num_classes=3\) at 1 pixels"),
        (lambda: ConfusionMatrix(3).update(np.array([[0, -1]]), np.array([[0, 1]])),
         ValueError, "pred has label -1"),
        (lambda: ConfusionMatrix(3).update(np.zeros((2, 2)), np.zeros((2, 2), int)),
         TypeError, "pred must hold integer class indices; got dtype float64"),
        (lambda: ConfusionMatrix(3).update([[0]], np.zeros((1, 1), int)),
         TypeError, "pred must be a numpy array or a torch tensor; got list"),
        (lambda: ConfusionMatrix(3).update(np.zeros((2, 2, 3), int), np.zeros((2, 2), int)),
         ValueError, "argmax"),
        (lambda: ConfusionMatrix(0), ValueError, "num_classes must be >= 1; got 0"),
        (lambda: ConfusionMatrix(2.5), TypeError, "num_classes must be an integer"),
        (lambda: S.mean_iou(MATRIX, absent="skip"), ValueError, "absent must be 'nan' or 'zero'; got 'skip'"),
        (lambda: S.iou(np.zeros((2, 3))), ValueError, r"square .* got shape \(2, 3\)"),
        (lambda: S.iou(-np.eye(2)), ValueError, "negative counts"),
        (lambda: ConfusionMatrix(2).merge(ConfusionMatrix(3)), ValueError, "num_classes 2 vs 3"),
        (lambda: ConfusionMatrix(2).merge(np.eye(2)), TypeError, "other must be a ConfusionMatrix"),
        (lambda: S.semantic_scores(MATRIX, class_names=["a"]), ValueError, "class_names must have 3"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_prediction_in_void_is_not_checked():
    # a nonsense prediction where the truth is void is dropped, not an error
    cm = ConfusionMatrix(2).update(np.array([[0, 99]]), np.array([[0, 255]]))
    assert cm.matrix.sum() == 1


def test_matrix_is_read_only_and_reset():
    cm = ConfusionMatrix(2).update(np.array([[0, 1]]), np.array([[0, 1]]))
    with pytest.raises(ValueError):
        cm.matrix[0, 0] = 5
    cm.reset()
    assert cm.matrix.sum() == 0


def test_from_matrix_round_trip_and_errors():
    cm = ConfusionMatrix(3)
    cm.update(np.array([[0, 1, 2, 2]]), np.array([[0, 1, 1, 2]]))
    again = ConfusionMatrix.from_matrix(cm.matrix)
    np.testing.assert_array_equal(again.matrix, cm.matrix)
    assert again.mean_iou() == cm.mean_iou()
    with pytest.raises(ValueError, match="negative counts"):
        ConfusionMatrix.from_matrix(-np.eye(2, dtype=int))
    with pytest.raises(ValueError, match="whole-number"):
        ConfusionMatrix.from_matrix(np.full((2, 2), 0.5))
