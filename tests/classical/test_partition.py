"""Tests for classical.partition: check_partition on tiny hand-made label images."""

from __future__ import annotations

import numpy as np
import pytest

from classical.partition import PartitionReport, check_partition
from classical.predicates import MeanDistance, Range

# Two flat halves: 0.0 on the left three columns, 1.0 on the right three.
IMAGE = np.zeros((4, 6))
IMAGE[:, 3:] = 1.0
HALVES = np.zeros((4, 6), dtype=np.int32)
HALVES[:, 3:] = 1


def test_a_segmentation_passes_every_check():
    report = check_partition(HALVES, IMAGE, "range_grey(0.1)")
    assert isinstance(report, PartitionReport)
    assert report.ok and report.covers and report.disjoint
    assert report.connected and report.holds and report.maximal
    assert report.n_regions == 2 and report.n_unlabelled == 0
    assert report.disconnected == report.failing == report.mergeable == ()
    assert report.predicate == "range_grey(0.1)" and report.connectivity == 8
    assert "a segmentation" in report.summary().splitlines()[0]


def test_accepts_predicate_objects_uint8_and_rgb_images():
    rgb = np.repeat((IMAGE * 255).astype(np.uint8)[..., None], 3, axis=2)
    assert check_partition(HALVES, rgb, Range(0.1)).ok
    assert check_partition(HALVES, rgb, MeanDistance(5.0)).ok


def test_shape_mismatch_does_not_cover_and_skips_the_rest():
    report = check_partition(HALVES[:, :5], IMAGE, "range_grey(0.1)")
    assert not report.ok and not report.covers
    assert report.connected is None and report.holds is None and report.maximal is None
    assert report.shape == (4, 5) and report.expected_shape == (4, 6)
    summary = report.summary()
    assert "labels have shape (4, 5), the image (4, 6)" in summary
    assert "not checked" in summary


def test_negative_labels_are_unlabelled_pixels():
    labels = HALVES.copy()
    labels[0, 0] = -1
    labels[3, 5] = -7
    report = check_partition(labels, IMAGE, "range_grey(0.1)")
    assert not report.ok and not report.covers
    assert report.n_unlabelled == 2
    # The remaining checks ignore the unlabelled pixels.
    assert report.connected and report.holds and report.maximal
    assert "2 pixels have no label" in report.summary()


def test_everything_unlabelled():
    report = check_partition(np.full((2, 2), -1), IMAGE[:2, :2], "range_grey(0.1)")
    assert not report.covers and report.n_regions == 0 and report.n_unlabelled == 4


def test_disjoint_is_always_reported_true():
    labels = np.arange(24).reshape(4, 6)
    assert check_partition(labels, IMAGE, "range_grey(0.1)").disjoint


def test_non_connected_label_is_listed():
    labels = HALVES.copy()
    labels[:, 0] = 1  # label 1 now has a piece on each side of label 0
    report = check_partition(labels, IMAGE, "range_grey(2)")
    assert not report.ok and not report.connected
    assert report.disconnected == (1,) and report.n_disconnected == 1
    assert "1 label has several components: 1" in report.summary()


def test_diagonal_contact_is_connected_only_under_8_connectivity():
    labels = np.array([[0, 1],
                       [1, 0]])
    image = np.array([[0.0, 1.0],
                      [1.0, 0.0]])
    assert check_partition(labels, image, "range_grey(0.1)", connectivity=8).ok
    report = check_partition(labels, image, "range_grey(0.1)", connectivity=4)
    assert not report.connected and report.disconnected == (0, 1)


def test_region_failing_the_predicate_is_listed():
    labels = np.zeros((4, 6), dtype=np.int32)
    labels[:, 5] = 4  # label 0 spans 0.0 and 1.0
    report = check_partition(labels, IMAGE, "range_grey(0.1)")
    assert not report.ok and not report.holds
    assert report.failing == (0,) and report.n_failing == 1
    assert report.connected and report.maximal
    assert "1 region fails P: 0" in report.summary()


def test_adjacent_pair_with_mergeable_union_is_listed_with_original_ids():
    labels = HALVES * 7 + 3  # labels 3 and 10
    labels[:, 1:3] = 5       # 3 and 5 are both 0.0: their union is homogeneous
    report = check_partition(labels, IMAGE, "range_grey(0.1)")
    assert not report.ok and not report.maximal
    assert report.mergeable == ((3, 5),) and report.n_mergeable == 1
    assert report.connected and report.holds
    assert "1 adjacent pair satisfies P(Ri u Rj): (3, 5)" in report.summary()


def test_pairwise_predicates_use_their_merge_rule():
    # MeanDistance compares the two parts' means: 0.0 vs 0.06 passes at 0.1.
    image = np.array([[0.0, 0.0, 0.06, 0.06]])
    labels = np.array([[0, 0, 1, 1]])
    assert check_partition(labels, image, "mean_grey(0.1)").mergeable == ((0, 1),)
    assert check_partition(labels, image, "mean_grey(0.05)").ok


def test_huge_lists_are_truncated_with_full_counts():
    image = np.zeros((10, 10))
    labels = np.arange(100).reshape(10, 10)  # every pixel a region, all mergeable
    report = check_partition(labels, image, "range_grey(0.1)", connectivity=4, max_listed=5)
    assert report.n_mergeable == 180  # 2 * 10 * 9 four-neighbour contacts
    assert len(report.mergeable) == 5
    assert report.mergeable[0] == (0, 1)
    assert "180 adjacent pairs satisfy" in report.summary()
    assert "more)" in report.summary()


def test_features_replace_the_image():
    features = np.zeros((4, 6, 2))
    features[:, 3:, 1] = 5.0
    report = check_partition(HALVES, None, "mean_features(1)", features=features)
    assert report.ok
    report = check_partition(HALVES, IMAGE, "mean_features(10)", features=features)
    assert report.mergeable == ((0, 1),)


def test_features_as_a_predicate_features_dict():
    from classical.predicates import parse_predicate, predicate_features

    predicate = parse_predicate("mean_lab(5)")
    inputs = predicate_features(predicate, IMAGE)
    assert check_partition(HALVES, None, predicate, features=inputs).ok


def test_border_predicates_read_the_edges_between_regions():
    # A step at column 10; regions 0 | 1 meet on flat ground, 1 | 2 across the step.
    image = np.zeros((6, 20))
    image[:, 10:] = 0.6
    labels = np.zeros((6, 20), dtype=np.int32)
    labels[:, 3:] = 1
    labels[:, 10:] = 2
    report = check_partition(labels, image, "boundary(2)")
    assert report.mergeable == ((0, 1),) and report.holds and report.connected
    from classical.predicates import parse_predicate, predicate_features

    predicate = parse_predicate("boundary(2) & mean_lab(5)")
    inputs = predicate_features(predicate, image)
    assert check_partition(labels, None, predicate, features=inputs).mergeable == ((0, 1),)
    merged = np.where(labels == 1, 0, labels)
    assert check_partition(merged, image, "boundary(2)").ok
    with pytest.raises(ValueError, match="pass the image, or features as a dict"):
        check_partition(labels, None, "boundary(2)", features=image)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(labels=HALVES.astype(float)), TypeError, "integer labels"),
    (dict(labels=HALVES[None]), ValueError, r"labels must have shape \(H, W\)"),
    (dict(connectivity=6), ValueError, "connectivity must be 4 or 8; got 6"),
    (dict(predicate=3), TypeError, "predicate must be a Predicate"),
    (dict(predicate="mean_lab(("), ValueError, "cannot parse predicate"),
    (dict(image=None), ValueError, "pass an image"),
    (dict(image=IMAGE * 2), ValueError, r"expected \[0, 1\]"),
    (dict(features=np.zeros((4, 5, 3))), ValueError, "same height and width"),
    (dict(features={"colour": np.zeros((4, 6, 3))}), ValueError, "'features' entry"),
    (dict(features=np.zeros(5)), ValueError, r"features must be an \(H, W\)"),
    (dict(predicate="mean_features(1)"), ValueError, "custom feature stack"),
    (dict(max_listed=-1), ValueError, "max_listed must be >= 0"),
])
def test_bad_input(kwargs, error, match):
    args = dict(labels=HALVES, image=IMAGE, predicate="mean_lab(5)")
    args.update(kwargs)
    extra = {k: args.pop(k) for k in ("connectivity", "features", "max_listed") if k in args}
    with pytest.raises(error, match=match):
        check_partition(args["labels"], args["image"], args["predicate"], **extra)


def test_report_is_frozen():
    report = check_partition(HALVES, IMAGE, "range_grey(0.1)")
    with pytest.raises(AttributeError):
        report.ok = False
