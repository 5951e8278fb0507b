"""Tests for classical.split_merge: exact answers on piecewise-constant images, the
definition of a segmentation via check_partition, the compiled predicates against the
Python ones, the quadtree, the merge history and the one-pass threshold sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classical._regions import relabel_connected
from classical.features import colour_features
from classical.partition import check_partition
from classical.predicates import (
    And,
    BorderStats,
    MaxSize,
    MinSize,
    Not,
    Or,
    Predicate,
    RegionStats,
    Weighted,
    _Thresholded,
    parse_predicate,
    predicate_features,
)
from classical.region_growing import region_growing
from classical.segmenter import Segmenter
from classical.split_merge import (
    HISTORY_DTYPE,
    SplitMergeParams,
    SplitMergeResult,
    SplitMergeSegmenter,
    split_and_merge,
    split_merge_segmenter,
    split_merge_sweep,
    with_threshold,
)

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

GREYS = np.array([0.0, 0.3, 0.55, 0.8, 1.0])
COLOURS = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.1, 0.2, 0.9], [0.9, 0.9, 0.1],
                    [0.5, 0.5, 0.5]])


def rectangles(height: int, width: int, rng, n: int = 6) -> np.ndarray:
    """A label image of `n` random axis-aligned rectangles painted over each other,
    relabelled so that no two adjacent labels share a value class."""
    truth = np.zeros((height, width), np.int64)
    for k in range(1, n):
        r0, c0 = rng.integers(0, height), rng.integers(0, width)
        r1 = min(height, r0 + rng.integers(1, max(2, height // 2)))
        c1 = min(width, c0 + rng.integers(1, max(2, width // 2)))
        truth[r0:r1, c0:c1] = k
    return truth


def piecewise(truth: np.ndarray, colour: bool, dtype) -> np.ndarray:
    """Paint label k with grey level / colour k (5 distinct values, cycled)."""
    values = COLOURS if colour else GREYS
    image = values[truth % len(values)]
    if dtype == np.uint8:
        return np.round(image * 255).astype(np.uint8)
    return image.astype(dtype)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to relabelling (both numbered in raster order of first pixels)."""
    return a.shape == b.shape and np.array_equal(relabel_connected(a), relabel_connected(b))


def noisy(shape, rng, levels=3) -> np.ndarray:
    """Blocky image with noise: homogeneous-ish areas, ragged borders, borderline pairs."""
    height, width = shape[:2]
    coarse = rng.random((levels, levels) + tuple(shape[2:]))
    rows = np.minimum(np.arange(height) * levels // height, levels - 1)
    cols = np.minimum(np.arange(width) * levels // width, levels - 1)
    image = coarse[rows][:, cols] + 0.04 * rng.standard_normal(shape)
    return np.clip(image, 0.0, 1.0)


def height_reference(p: Predicate, a: RegionStats, b: RegionStats) -> float:
    """The documented merge height, from the Python predicates."""
    if isinstance(p, _Thresholded):
        return float(p._distance_ratio(a, b))
    if isinstance(p, (And, Or)):
        parts = [height_reference(q, a, b) for q in p.operands]
        return max(parts) if isinstance(p, And) else min(parts)
    return 0.0 if p.mergeable(a, b) else np.inf  # size predicates and ~


def node_members(result: SplitMergeResult, n_nodes: int) -> list[np.ndarray]:
    """Leaf indices under every dendrogram node."""
    n_leaves = result.leaves.shape[0]
    members = [np.array([i]) for i in range(n_leaves)]
    for a, b, _, new in result.history:
        assert new == len(members)
        members.append(np.concatenate([members[a], members[b]]))
    return members[:n_nodes]


def leaf_map(result: SplitMergeResult, shape) -> np.ndarray:
    leaf = np.full(shape, -1, np.int64)
    for k, (r0, c0, r1, c1) in enumerate(result.leaves):
        leaf[r0:r1, c0:c1] = k
    return leaf


# --------------------------------------------------------------------------------------
# Exact answers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.float32])
@pytest.mark.parametrize("predicate", ["range_{space}(0.05)", "std_{space}(0.002)",
                                       "mean_{space}(0.002)"])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_piecewise_constant_recovered_exactly(rng, colour, dtype, predicate, connectivity):
    truth = rectangles(37, 53, rng)
    image = piecewise(truth, colour, dtype)
    predicate = predicate.format(space="rgb" if colour else "grey")
    labels = split_and_merge(image, predicate, min_block=1, connectivity=connectivity)
    assert labels.dtype == np.int32 and labels.shape == (37, 53)
    # Touching rectangles of one colour are one region, as connected components say.
    colour_class = truth % len(GREYS)
    assert np.array_equal(labels, relabel_connected(colour_class, connectivity))
    assert check_partition(labels, image, predicate, connectivity=connectivity).ok


@pytest.mark.parametrize("shape", [(1, 1), (1, 17), (17, 1), (2, 3), (5, 5), (31, 33)])
def test_small_and_odd_sizes(rng, shape):
    truth = rectangles(*shape, rng, n=4)
    image = piecewise(truth, False, np.float64)
    result = split_and_merge(image, "range_grey(0.01)", min_block=1, return_tree=True,
                             return_history=True)
    assert result.labels.shape == shape
    assert np.array_equal(result.labels, relabel_connected(truth % len(GREYS)))
    assert result.labels.min() == 0


def test_one_pixel_image_is_one_region():
    result = split_and_merge(np.zeros((1, 1, 3), np.uint8), "mean_lab(5)",
                             return_tree=True, return_history=True)
    assert result.labels.tolist() == [[0]]
    assert result.leaves.tolist() == [[0, 0, 1, 1]]
    assert result.history.shape == (0,) and result.history.dtype == HISTORY_DTYPE


def test_uint8_and_float_give_the_same_labels(rng):
    image = (noisy((24, 30, 3), rng) * 255).round().astype(np.uint8)
    a = split_and_merge(image, "mean_lab(8)")
    b = split_and_merge(image / 255.0, "mean_lab(8)")
    assert np.array_equal(a, b)


def test_grey_and_rgb_of_the_same_greys_agree(rng):
    grey = noisy((20, 26), rng)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    a = split_and_merge(grey, "range_grey(0.1)", min_block=2)
    b = split_and_merge(rgb, "range_rgb(0.1)", min_block=2)
    assert np.array_equal(a, b)


def test_deterministic(rng):
    image = noisy((33, 41, 3), rng)
    runs = [split_and_merge(image, "mean_lab(6) & std_lab(9)", min_size=8,
                            return_history=True) for _ in range(2)]
    assert np.array_equal(runs[0].labels, runs[1].labels)
    assert np.array_equal(runs[0].history, runs[1].history)


def test_labels_are_connected_and_numbered_in_raster_order(rng):
    image = noisy((40, 35, 3), rng, levels=5)
    for connectivity in (4, 8):
        labels = split_and_merge(image, "mean_lab(10)", connectivity=connectivity)
        assert np.array_equal(labels, relabel_connected(labels, connectivity))


# --------------------------------------------------------------------------------------
# The definition: P holds per region, no adjacent pair is mergeable
# --------------------------------------------------------------------------------------

DEFINITION = [
    "range_rgb(0.15)",
    "std_lab(4)",
    "std_rgb(0.05) & max_size(60)",
    "range_hsv(0.2) | max_size(3)",
]
PAIRWISE = [  # mergeable compares the parts, so a merged region's own P may fail
    "mean_lab(12)",
    "mean_rgb(0.1) & std_rgb(0.08)",
    "mean_lab(8) | ~min_size(6)",
    "srm_rgb(64) & std_rgb(0.1)",
    "weighted(mean_lab(10), texture_l2(1.5), 0.3)",
    "mean_lab(15) & texture_chi2(0.3)",
    "~std_rgb(0.01) & range_rgb(0.3)",
]


@pytest.mark.parametrize("predicate", DEFINITION)
@pytest.mark.parametrize("connectivity", [4, 8])
def test_output_is_a_segmentation(rng, predicate, connectivity):
    image = noisy((29, 38, 3), rng)
    labels = split_and_merge(image, predicate, min_block=1, connectivity=connectivity)
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    assert report.ok, report.summary()


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 12), width=st.integers(1, 12), levels=st.integers(1, 4),
       seed=st.integers(0, 2**16), min_block=st.integers(1, 3),
       connectivity=st.sampled_from([4, 8]),
       predicate=st.sampled_from(["range_grey(0.3)", "std_grey(0.1)", "max_size(5)"]))
def test_any_small_image_gives_a_segmentation(height, width, levels, seed, min_block,
                                              connectivity, predicate):
    image = np.random.default_rng(seed).integers(0, levels, (height, width)) / 4.0
    result = split_and_merge(image, predicate, min_block=min_block,
                             connectivity=connectivity, return_tree=True)
    cover = np.zeros((height, width), int)
    for r0, c0, r1, c1 in result.leaves:
        cover[r0:r1, c0:c1] += 1
    assert (cover == 1).all()
    report = check_partition(result.labels, image, predicate, connectivity=connectivity)
    assert report.covers and report.connected and report.maximal, report.summary()
    if min_block == 1:
        assert report.ok, report.summary()


@pytest.mark.parametrize("predicate", PAIRWISE)
def test_pairwise_predicates_leave_no_mergeable_pair(rng, predicate):
    image = noisy((29, 38, 3), rng)
    labels = split_and_merge(image, predicate, min_block=1)
    report = check_partition(labels, image, predicate)
    assert report.covers and report.connected and report.maximal, report.summary()


@pytest.mark.parametrize("predicate", DEFINITION + PAIRWISE)
def test_every_merge_is_mergeable_at_its_recorded_height(rng, predicate):
    """The compiled kernel against the Python predicates, merge by merge."""
    image = noisy((18, 23, 3), rng, levels=4)
    predicate = parse_predicate(predicate)
    result = split_and_merge(image, predicate, min_block=2, return_tree=True,
                             return_history=True)
    leaf = leaf_map(result, image.shape[:2])
    inputs = predicate_features(predicate, image)
    leaf_stats = RegionStats.from_labels(labels=leaf, **inputs)
    members = node_members(result, result.leaves.shape[0] + result.history.size)
    assert result.history.size > 0
    for a, b, height, _ in result.history:
        ind_a = np.zeros(leaf_stats.shape[0], bool)
        ind_a[members[a]] = True
        ind_b = np.zeros(leaf_stats.shape[0], bool)
        ind_b[members[b]] = True
        stats_a, stats_b = leaf_stats[ind_a].union(), leaf_stats[ind_b].union()
        assert predicate.mergeable(stats_a, stats_b)
        assert height <= 1.0
        assert height == pytest.approx(height_reference(predicate, stats_a, stats_b),
                                       rel=1e-6, abs=1e-9)


def test_leaves_satisfy_p_unless_at_min_block(rng):
    image = noisy((45, 37, 3), rng, levels=6)
    predicate = parse_predicate("std_lab(3)")
    result = split_and_merge(image, predicate, min_block=4, return_tree=True)
    leaf = leaf_map(result, image.shape[:2])
    holds = np.asarray(predicate(RegionStats.from_labels(
        labels=leaf, **predicate_features(predicate, image))))
    extent = np.maximum(result.leaves[:, 2] - result.leaves[:, 0],
                        result.leaves[:, 3] - result.leaves[:, 1])
    assert (holds | (extent <= 4)).all()
    assert (~holds).any()  # the test image has edges inside small blocks


# --------------------------------------------------------------------------------------
# The quadtree and the merge history
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (13, 1), (37, 53), (64, 64), (50, 7)])
@pytest.mark.parametrize("min_block", [1, 3, 4])
def test_leaves_tile_the_image(rng, shape, min_block):
    image = noisy(shape, rng, levels=3)
    result = split_and_merge(image, "range_grey(0.05)", min_block=min_block,
                             return_tree=True)
    leaves = result.leaves
    assert leaves.dtype == np.int64 and leaves.shape[1] == 4
    assert (leaves[:, 2] > leaves[:, 0]).all() and (leaves[:, 3] > leaves[:, 1]).all()
    cover = np.zeros(shape, np.int64)
    for r0, c0, r1, c1 in leaves:
        cover[r0:r1, c0:c1] += 1
    assert (cover == 1).all()  # no overlap, full cover
    assert np.array_equal(np.lexsort((leaves[:, 1], leaves[:, 0])), np.arange(len(leaves)))
    # Blocks are halved at their midpoints: every side is at most min_block or a leaf
    # side of a block that satisfied P; at min_block=1 sides are whole quadtree cells.
    sides = np.concatenate([leaves[:, 2] - leaves[:, 0], leaves[:, 3] - leaves[:, 1]])
    assert sides.max() <= max(shape)
    assert result.history is None


def test_quadtree_splits_at_midpoints():
    image = np.zeros((5, 7))
    image[4, 6] = 1.0  # one odd pixel in the corner
    result = split_and_merge(image, "range_grey(0.5)", min_block=1, return_tree=True)
    # Rows 5 -> 2 + 3 -> (1 + 2) ..., columns 7 -> 3 + 4; only blocks holding the
    # odd pixel are split again.
    assert result.leaves.tolist() == [
        [0, 0, 2, 3], [0, 3, 2, 7], [2, 0, 5, 3], [2, 3, 3, 5], [2, 5, 3, 7],
        [3, 3, 5, 5], [3, 5, 4, 6], [3, 6, 4, 7], [4, 5, 5, 6], [4, 6, 5, 7]]


def test_history_replays_to_the_labels(rng):
    image = noisy((30, 27, 3), rng, levels=4)
    result = split_and_merge(image, "mean_lab(9)", min_size=12, return_tree=True,
                             return_history=True)
    history = result.history
    n_leaves = len(result.leaves)
    assert np.array_equal(history["new_id"], n_leaves + np.arange(history.size))
    assert (history["a"] < history["b"]).all() and (history["b"] < history["new_id"]).all()
    parent = np.arange(n_leaves + history.size)
    for a, b, _, new in history:
        parent[a] = parent[b] = new
    root = np.arange(n_leaves)
    for _ in range(history.size + 1):
        root = parent[root]
    replay = root[leaf_map(result, image.shape[:2])]
    assert same_partition(replay, result.labels)
    assert np.bincount(result.labels.ravel()).min() >= 12


def test_return_flags_fill_only_what_was_asked(rng):
    image = noisy((12, 12), rng)
    tree_only = split_and_merge(image, "range_grey(0.2)", return_tree=True)
    history_only = split_and_merge(image, "range_grey(0.2)", return_history=True)
    assert tree_only.history is None and tree_only.leaves is not None
    assert history_only.leaves is None and history_only.history is not None
    assert np.array_equal(tree_only.labels, split_and_merge(image, "range_grey(0.2)"))


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("min_size", [5, 30])
def test_min_size_absorbs_small_regions(rng, min_size):
    image = noisy((32, 40, 3), rng, levels=6)
    labels = split_and_merge(image, "range_rgb(0.1)", min_block=1, min_size=min_size)
    sizes = np.bincount(labels.ravel())
    assert sizes.size == 1 or sizes.min() >= min_size
    assert np.array_equal(labels, relabel_connected(labels))


def test_min_size_as_a_fraction_of_the_image(rng):
    image = noisy((32, 40, 3), rng, levels=6)
    pixels = math.ceil(0.02 * 32 * 40)            # 26
    labels = split_and_merge(image, "range_rgb(0.1)", min_block=1, min_size=0.02)
    assert np.array_equal(labels, split_and_merge(image, "range_rgb(0.1)", min_block=1,
                                                  min_size=pixels))
    assert np.bincount(labels.ravel()).min() >= pixels
    sweep = split_merge_sweep(image, "range_rgb(0.1)", [0.05, 0.1], min_block=1,
                              min_size=0.02)
    assert np.array_equal(sweep[1], labels)
    assert np.array_equal(split_and_merge(image, "range_rgb(0.1)", min_block=1,
                                          min_size=float(pixels)), labels)  # whole float
    # The same fraction of a twice larger image is a larger pixel count.
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    sizes = np.bincount(split_and_merge(big, "range_rgb(0.1)", min_block=1,
                                        min_size=0.02).ravel())
    assert sizes.min() >= math.ceil(0.02 * 64 * 80)


@pytest.mark.parametrize("bad", [1.5, 0.0, -0.2, float("nan"), float("inf")])
def test_min_size_fraction_out_of_range(bad):
    with pytest.raises(ValueError, match=r"min_size must be a pixel count .* in \(0, 1\)"):
        split_and_merge(np.zeros((4, 4)), "range_grey(0.1)", min_size=bad)
    with pytest.raises(ValueError, match=r"min_size must be a pixel count .* in \(0, 1\)"):
        region_growing(np.zeros((4, 4)), "mean_grey(0.1)", min_size=bad)


def test_split_option_changes_only_the_split(rng):
    image = noisy((32, 32, 3), rng, levels=4)
    coarse = split_and_merge(image, "mean_lab(10)", return_tree=True)
    fine = split_and_merge(image, "mean_lab(10)", split="mean_lab(2)", return_tree=True)
    assert len(fine.leaves) > len(coarse.leaves)
    report = check_partition(fine.labels, image, "mean_lab(10)")
    assert report.connected and report.maximal


def test_features_argument(rng):
    image = noisy((20, 20, 3), rng)
    features = colour_features(image, "lab")
    a = split_and_merge(image, "mean_lab(7)")
    b = split_and_merge(None, "mean_lab(7)", features=features)
    c = split_and_merge(image, "mean_lab(7)", features={"features": features})
    assert np.array_equal(a, b) and np.array_equal(a, c)
    stack = rng.random((20, 20, 5))
    labels = split_and_merge(None, "std_features(0.2)", features=stack, min_block=1)
    assert check_partition(labels, None, "std_features(0.2)", features=stack).ok


def test_predicate_objects_and_text_agree(rng):
    image = noisy((16, 21, 3), rng)
    text = "mean_lab(8) & std_lab(6) | ~min_size(4)"
    assert np.array_equal(split_and_merge(image, text),
                          split_and_merge(image, parse_predicate(text)))


def test_srm_alone_never_splits(rng):
    image = noisy((16, 16, 3), rng)
    result = split_and_merge(image, "srm_rgb(32)", return_tree=True)
    assert result.leaves.tolist() == [[0, 0, 16, 16]]
    assert (result.labels == 0).all()


# --------------------------------------------------------------------------------------
# The one-pass threshold sweep
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("predicate, thresholds", [
    ("mean_lab(10)", [2, 4, 6, 9, 13, 20, 30, 60]),
    ("range_rgb(0.1)", [0.05, 0.1, 0.2, 0.4, 0.8]),
    ("mean_lab(10) & std_lab(15)", [3, 6, 12, 24]),
    ("srm_rgb(32) & std_rgb(0.2)", [512, 128, 32, 8, 2]),
])
def test_sweep_counts_do_not_increase(rng, predicate, thresholds):
    image = noisy((40, 48, 3), rng, levels=5)
    labels = split_merge_sweep(image, predicate, thresholds, min_block=2)
    counts = [int(x.max()) + 1 for x in labels]
    assert all(a >= b for a, b in zip(counts, counts[1:])), counts
    assert counts[0] > counts[-1]


def test_sweep_finest_equals_an_independent_run(rng):
    image = noisy((40, 48, 3), rng, levels=5)
    thresholds = [30, 5, 12]  # any order; results come back in the same order
    sweep = split_merge_sweep(image, "mean_lab(10)", thresholds, min_size=6)
    alone = split_and_merge(image, "mean_lab(5)", min_size=6)
    assert np.array_equal(sweep[1], alone)


def test_sweep_with_fixed_split_equals_independent_runs(rng):
    image = noisy((36, 44, 3), rng, levels=5)
    thresholds = [4, 8, 16, 32]
    split = "mean_lab(3) & std_lab(4.5)"
    sweep = split_merge_sweep(image, "mean_lab(10) & std_lab(15)", thresholds, split=split)
    for t, labels in zip(thresholds, sweep):
        alone = split_and_merge(image, f"mean_lab({t}) & std_lab({1.5 * t})", split=split)
        assert np.array_equal(labels, alone), t


def test_sweep_extremes(rng):
    truth = rectangles(37, 53, rng)
    image = piecewise(truth, True, np.float64)
    finest, coarsest = split_merge_sweep(image, "range_rgb(0.1)", [0.01, 2.0], min_block=1)
    assert np.array_equal(finest, relabel_connected(truth % len(COLOURS)))
    assert (coarsest == 0).all()  # every colour difference is within a range of 2


def test_sweep_of_a_single_threshold_is_a_run(rng):
    image = noisy((25, 31, 3), rng)
    (labels,) = split_merge_sweep(image, "std_lab(4)", [6.0])
    assert np.array_equal(labels, split_and_merge(image, "std_lab(6)"))


# --------------------------------------------------------------------------------------
# Segmenter
# --------------------------------------------------------------------------------------


def test_segmenter_interface(rng):
    segmenter = split_merge_segmenter()
    assert isinstance(segmenter, Segmenter) and isinstance(segmenter, SplitMergeSegmenter)
    assert segmenter.name == "split_merge"
    assert segmenter.params == SplitMergeParams()
    assert segmenter.sweep_param == "threshold" and len(segmenter.sweep_values) == 12
    assert list(segmenter.sweep_values) == sorted(segmenter.sweep_values)  # fine -> coarse
    assert segmenter.describe().startswith("split_merge(predicate=")
    image = noisy((30, 30, 3), rng)
    labels = segmenter(image)
    assert labels.dtype == np.int32 and labels.shape == (30, 30)


def test_segmenter_sweep_reads_one_history(rng):
    image = noisy((36, 40, 3), rng, levels=5)
    segmenter = split_merge_segmenter(min_size=10)
    sweep = segmenter.sweep(image, values=[6, 12, 24])
    for value, labels in zip([6, 12, 24], sweep):
        # The default split does not follow the threshold, so each cut is a run.
        assert np.array_equal(labels, segmenter.with_params(threshold=value)(image))
    counts = [int(x.max()) + 1 for x in segmenter.sweep(image)]
    assert len(counts) == 12 and all(a >= b for a, b in zip(counts, counts[1:]))


def test_segmenter_sweep_over_another_parameter(rng):
    image = noisy((20, 20, 3), rng)
    segmenter = split_merge_segmenter()
    out = segmenter.sweep(image, values=[0, 50], param="min_size")
    assert len(out) == 2 and int(out[0].max()) >= int(out[1].max())


def test_segmenter_with_params(rng):
    segmenter = split_merge_segmenter(predicate="range_rgb(0.2)", split_scale=None)
    assert segmenter.sweep_values[-1] == pytest.approx(0.8)
    assert isinstance(segmenter.with_params(min_size=3), SplitMergeSegmenter)
    custom = segmenter.with_params(threshold=0.1)
    assert custom.sweep_values == segmenter.sweep_values
    image = noisy((20, 24, 3), rng)
    assert np.array_equal(custom(image), split_and_merge(image, "range_rgb(0.1)",
                                                         min_size=0.0162, connectivity=4))
    assert split_merge_segmenter(predicate="srm_rgb(32)").sweep_values[0] == 256.0
    assert split_merge_segmenter(predicate="max_size(9)").sweep_values == ()
    with pytest.raises(ValueError, match="has no parameter 'thresh'"):
        segmenter.with_params(thresh=0.1)


def test_threshold_scales_every_leaf(rng):
    image = noisy((24, 24, 3), rng)
    segmenter = split_merge_segmenter(predicate="mean_lab(10) & std_lab(20)",
                                      threshold=5, split_scale=None, min_size=0)
    assert np.array_equal(segmenter(image),
                          split_and_merge(image, "mean_lab(5) & std_lab(10)", connectivity=4))


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


class _Custom(Predicate):
    def _holds(self, stats):
        return np.ones(stats.shape, bool)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"min_block": 0}, ValueError, "min_block must be >= 1"),
    ({"min_block": 2.5}, TypeError, "min_block must be an integer"),
    ({"connectivity": 6}, ValueError, "connectivity must be 4 or 8; got 6"),
    ({"min_size": -1}, ValueError, "min_size must be >= 0"),
])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        split_and_merge(np.zeros((4, 4)), "range_grey(0.1)", **kwargs)


def test_bad_images_and_predicates():
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\) or \(H, W, 3\)"):
        split_and_merge(np.zeros((3, 8, 8)), "mean_lab(5)")
    with pytest.raises(TypeError, match="image must be uint8"):
        split_and_merge(np.zeros((4, 4), np.int16), "mean_lab(5)")
    with pytest.raises(ValueError, match="values in"):
        split_and_merge(np.full((4, 4), 3.0), "mean_lab(5)")
    with pytest.raises(TypeError, match="predicate must be a Predicate"):
        split_and_merge(np.zeros((4, 4)), 5)
    with pytest.raises(ValueError, match="cannot parse predicate"):
        split_and_merge(np.zeros((4, 4)), "mean_lab(")
    with pytest.raises(ValueError, match="has no compiled form"):
        split_and_merge(np.zeros((4, 4)), _Custom() & MinSize(3))
    with pytest.raises(ValueError, match="mixes colour spaces"):
        split_and_merge(np.zeros((4, 4, 3)), "mean_lab(5)", split="range_rgb(0.1)")
    with pytest.raises(ValueError, match="pass an image"):
        split_and_merge(None, "mean_lab(5)")


def test_bad_sweeps():
    image = np.zeros((6, 6))
    with pytest.raises(ValueError, match="thresholds is empty"):
        split_merge_sweep(image, "range_grey(0.1)", [])
    with pytest.raises(TypeError, match="thresholds must be a sequence"):
        split_merge_sweep(image, "range_grey(0.1)", 0.1)
    with pytest.raises(TypeError, match="thresholds must hold real numbers"):
        split_merge_sweep(image, "range_grey(0.1)", [0.1, "0.2"])
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        split_merge_sweep(image, "range_grey(0.1)", [0.1, -0.2])
    with pytest.raises(ValueError, match="threshold must be > 0"):
        split_merge_sweep(image, "srm_grey(32)", [0.0, 8.0])
    with pytest.raises(ValueError, match="negates a thresholded part"):
        split_merge_sweep(image, "~range_grey(0.1) & max_size(9)", [0.1, 0.2])
    with pytest.raises(ValueError, match="has no threshold to vary"):
        split_merge_sweep(image, Or(MaxSize(4), Not(MinSize(2))), [1, 2])
    with pytest.raises(ValueError, match="its first threshold is 0"):
        split_merge_sweep(image, "range_grey(0)", [0.1, 0.2])


def test_weighted_predicates_are_supported(rng):
    image = noisy((20, 20, 3), rng)
    predicate = Weighted(parse_predicate("mean_lab(10)"), parse_predicate("std_lab(5)"), 0.5)
    labels = split_and_merge(image, predicate, min_block=1)
    assert check_partition(labels, image, predicate).maximal


# --------------------------------------------------------------------------------------
# Boundary predicates: border statistics tracked through the merges
# --------------------------------------------------------------------------------------


def _greedy_reference(labels, predicate, inputs, edges):
    """Slow reference merge: recompute every statistic from the labels, merge the
    lowest-distance mergeable pair, repeat."""
    labels = labels.copy()
    while True:
        n = int(labels.max()) + 1
        stats = RegionStats.from_labels(labels=labels, n_labels=n, **inputs)
        pairs, border = BorderStats.from_labels(labels, edges)
        if not pairs.size:
            return labels
        ok = np.atleast_1d(predicate.mergeable(stats[pairs[:, 0]], stats[pairs[:, 1]],
                                               border))
        if not ok.any():
            return labels
        distance = np.atleast_1d(predicate.distance(stats[pairs[:, 0]], stats[pairs[:, 1]],
                                                    border))
        a, b = pairs[np.flatnonzero(ok)[np.argmin(distance[ok])]]
        labels[labels == b] = a
        labels = relabel_connected(labels)


@pytest.mark.parametrize("text", ["weighted(mean_grey(0.3), boundary(1.5), 0.5)",
                                  "boundary(1.2)"])
def test_boundary_merge_equals_slow_reference(rng, text):
    # Random grey levels on single-pixel leaves: distances do not tie, so the greedy
    # order is unique and the compiled merge (borders added up as regions merge) must
    # give exactly the reference's partition.
    image = rng.random((7, 8))
    predicate = parse_predicate(text)
    inputs = predicate_features(predicate, image)
    edges = inputs.pop("edges")
    ours = split_and_merge(image, predicate, min_block=1, split="range_grey(0)")
    expected = _greedy_reference(np.arange(56).reshape(7, 8), predicate, inputs, edges)
    assert np.array_equal(relabel_connected(ours), relabel_connected(expected))
    assert check_partition(ours, image, predicate).maximal


def test_boundary_follows_the_step_not_the_shading():
    # Two horizontal ramps with a step between them. The mean colour alone cuts the
    # left ramp where its values drift past the threshold; mixed with a boundary term
    # the shading merges (no edge stands out there) and the step stays a border.
    cols = np.arange(30)
    row = np.where(cols < 15, 0.1 + 0.02 * cols, 0.7 + 0.015 * (cols - 15))
    image = np.tile(row, (10, 1))
    options = dict(min_block=1, min_size=11, split="range_grey(0.001)")
    colour = split_and_merge(image, "mean_grey(0.15)", **options)
    assert colour.max() + 1 == 3 and colour[0, 8] != colour[0, 0]
    both = split_and_merge(image, "weighted(mean_grey(0.15), boundary(2), 0.5)", **options)
    expected = np.repeat((cols >= 15)[None].astype(np.int32), 10, axis=0)
    assert np.array_equal(both, expected)


def test_boundary_sweep_equals_independent_runs(rng):
    image = rng.random((16, 20, 3))
    predicate = "weighted(mean_lab(10), boundary(2), 0.4)"
    split = "mean_lab(3)"
    values = [5.0, 10.0, 20.0]
    sweep = split_merge_sweep(image, predicate, values, min_block=2, split=split)
    for value, labels in zip(values, sweep):
        single = split_and_merge(image, with_threshold(parse_predicate(predicate), value),
                                 min_block=2, split=split)
        assert np.array_equal(labels, single)


def test_boundary_needs_the_edge_map():
    with pytest.raises(ValueError, match="compares region borders.*'edges' entry"):
        split_and_merge(None, "boundary(2) & mean_grey(0.1)",
                        features={"features": np.zeros((4, 4))})


def test_with_threshold_is_the_predicate_split_and_merge_applies(rng):
    # Scaled thresholds print readably (18 * 1.325 = 23.849999999999998 in floats).
    assert repr(with_threshold("mean_lab(12) & std_lab(18)", 15.9)) == \
        "mean_lab(15.9) & std_lab(23.85)"
    assert with_threshold("mean_lab(12)", None) == parse_predicate("mean_lab(12)")
    assert with_threshold("weighted(mean_lab(12), boundary(2), 0.3)", 6) == \
        parse_predicate("weighted(mean_lab(6), boundary(1), 0.3)")
    with pytest.raises(ValueError, match="no threshold to vary"):
        with_threshold("min_size(4)", 3.0)


@pytest.mark.parametrize("edge", [150, 161])
def test_defaults_keep_two_flat_regions_whole(edge):
    # The default predicate's texture term reads Gabor energy with the structure removed:
    # a step between two flat colours is no texture, so no strip is cut along it (with
    # the plain energy this image gave 4 regions).
    image = np.zeros((240, 320, 3), np.uint8)
    image[:] = (40, 90, 160)
    image[:, edge:] = (200, 170, 60)
    labels = split_merge_segmenter()(image)
    # Blocks stop at min_block (4) pixels, so an edge off the block grid is followed to
    # within a block: every row switches from region 0 to 1 once, near the edge.
    assert labels.max() == 1
    switch = np.argmax(labels == 1, axis=1)
    assert (switch == switch[0]).all() and abs(int(switch[0]) - edge) < 4
    assert (labels == (np.arange(320) >= switch[0])).all()
