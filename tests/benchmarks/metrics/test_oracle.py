"""Oracle (majority) labelling: exact small cases, upper-bound properties, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.metrics.oracle import oracle_labels, oracle_partition, oracle_scores
from benchmarks.metrics.region import segmentation_covering
from benchmarks.metrics.semantic import ConfusionMatrix

MASK = np.array([[0, 0, 1, 1],
                 [0, 0, 1, 255],
                 [2, 2, 2, 255]])
LABELS = np.array([[7, 7, 7, 9],
                   [7, 7, 9, 9],
                   [3, 3, 3, 9]])


def test_majority_class_per_region():
    oracle = oracle_labels(LABELS, MASK)
    # region 7: classes 0,0,1,0,0 -> 0; region 9: 1,1 (+void) -> 1; region 3: 2
    expected = np.array([[0, 0, 0, 1], [0, 0, 1, 1], [2, 2, 2, 1]])
    np.testing.assert_array_equal(oracle, expected)


def test_void_only_region_and_ties():
    mask = np.array([[255, 255, 1, 0]])
    labels = np.array([[4, 4, 5, 5]])
    # region 4 is all void -> ignore; region 5 ties 1 vs 0 -> smallest class
    np.testing.assert_array_equal(oracle_labels(labels, mask), [[255, 255, 0, 0]])
    np.testing.assert_array_equal(oracle_labels(labels, np.full((1, 4), 255)), [[255] * 4])


def test_oracle_of_the_ground_truth_is_perfect():
    from benchmarks.datasets._base import mask_to_partition

    partition = mask_to_partition(MASK)
    scores = oracle_scores(partition, MASK)
    assert scores.mean_iou == 1.0 and scores.pixel_accuracy == 1.0
    assert scores.covering == 1.0 and scores.asa == 1.0


def test_oracle_scores_values():
    scores = oracle_scores(LABELS, MASK, num_classes=3)
    cm = ConfusionMatrix(3).update(oracle_labels(LABELS, MASK), MASK)
    assert scores.mean_iou == pytest.approx(cm.mean_iou())
    assert scores.pixel_accuracy == pytest.approx(9 / 10)
    assert scores.asa == pytest.approx(9 / 10)
    assert scores.n_regions == 3
    assert set(scores.as_dict()) == {"oracle_mean_iou", "oracle_pixel_accuracy",
                                     "oracle_covering", "oracle_asa", "n_regions"}


def test_partition_only():
    partition = np.array([[1, 1, 2, 2]])
    scores = oracle_scores(np.array([[0, 1, 2, 3]]), partition=partition)
    assert np.isnan(scores.mean_iou) and scores.covering == 1.0 and scores.asa == 1.0
    np.testing.assert_array_equal(oracle_partition(np.array([[0, 0, 0, 1]]), partition),
                                  [[1, 1, 1, 2]])


@settings(max_examples=50, deadline=None)
@given(arrays(np.int64, (5, 6), elements=st.integers(0, 7)),
       arrays(np.int64, (5, 6), elements=st.integers(0, 3)),
       arrays(np.int64, (5, 6), elements=st.integers(0, 3)))
def test_oracle_accuracy_beats_any_region_constant_labelling(labels, mask, other):
    """No labelling that is constant on each region scores a higher pixel accuracy."""
    oracle = oracle_labels(labels, mask)
    _, first = np.unique(labels, return_index=True)
    region_class = other.ravel()[first]  # any class per region
    constant = region_class[np.searchsorted(np.unique(labels), labels)]
    assert (oracle == mask).sum() >= (constant == mask).sum()
    # constant on regions
    for value in np.unique(labels):
        assert np.unique(oracle[labels == value]).size == 1
    partition = mask + 1
    assert 0.0 <= segmentation_covering(oracle_partition(labels, partition), partition) <= 1.0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: oracle_labels(LABELS[:2], MASK), ValueError,
         r"labels and mask must have the same height and width; got \(2, 4\) and \(3, 4\)"),
        (lambda: oracle_labels(LABELS, MASK - 1), ValueError, "mask has negative class -1"),
        (lambda: oracle_labels(LABELS.astype(float) + 0.5, MASK), TypeError, "integer labels"),
        (lambda: oracle_scores(LABELS), ValueError, "give mask .* or partition"),
        (lambda: oracle_scores(LABELS, partition=np.zeros_like(LABELS)), ValueError,
         "no labelled pixels"),
        (lambda: oracle_partition(LABELS, -np.ones_like(LABELS)), ValueError, "negative label"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
