"""Tests for classical.region_growing: exact recovery, partition properties, seeds,
the compiled predicate translation, the segmenter, bad inputs and speed."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import importlib

rg = importlib.import_module("classical.region_growing")  # the package exports a function of the same name
from classical._program import StatsLayout, compile_predicate, evaluate
from classical.partition import check_partition
from classical.predicates import RegionStats, parse_predicate, predicate_features
from classical.region_growing import (
    RegionGrowingParams,
    region_growing,
    region_growing_segmenter,
    supports_predicate,
)

# ----------------------------------------------------------------------------------------
# helpers and synthetic images
# ----------------------------------------------------------------------------------------


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to relabelling: the label pairs define a bijection."""
    if a.shape != b.shape:
        return False
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return pairs.shape[1] == np.unique(a).size == np.unique(b).size


def flat_regions(kind: str) -> np.ndarray:
    """Ground-truth labels (H, W) of 2-4 flat regions on a 9 x 11 grid."""
    truth = np.zeros((9, 11), dtype=np.int32)
    if kind == "halves":
        truth[:, 6:] = 1
    elif kind == "three":
        truth[:, 4:] = 1
        truth[5:, 4:] = 2
    else:  # four, one L-shaped
        truth[:4, :5] = 1
        truth[4:, 7:] = 2
        truth[6:, :3] = 3
    return truth


GREYS = np.array([0.1, 0.5, 0.9, 0.3])
COLOURS = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.2, 0.9], [0.9, 0.9, 0.2]])


def paint(truth: np.ndarray, rgb: bool, dtype) -> np.ndarray:
    image = COLOURS[truth] if rgb else GREYS[truth]
    if dtype == np.uint8:
        return np.round(image * 255).astype(np.uint8)
    return image.astype(dtype)


def seeds_for(truth: np.ndarray, mode: str):
    """One seed per true region, as markers or as points (first pixel of each)."""
    if mode in ("none", "auto"):
        return None if mode == "none" else "auto"
    firsts = [np.argwhere(truth == k)[0] for k in range(truth.max() + 1)]
    if mode == "points":
        return [tuple(int(v) for v in p) for p in firsts]
    markers = np.zeros(truth.shape, dtype=np.int32)
    for k, (r, c) in enumerate(firsts):
        markers[r, c] = 10 * (k + 1)  # any positive ids
    return markers


# ----------------------------------------------------------------------------------------
# exact recovery of piecewise-constant images
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["halves", "three", "four"])
@pytest.mark.parametrize("rgb, dtype", [(False, np.uint8), (False, np.float64),
                                        (True, np.uint8), (True, np.float32)])
@pytest.mark.parametrize("mode", ["none", "auto", "markers", "points"])
def test_piecewise_constant_images_are_recovered_exactly(kind, rgb, dtype, mode):
    truth = flat_regions(kind)
    image = paint(truth, rgb, dtype)
    labels = region_growing(image, "mean_lab(5)", seeds=seeds_for(truth, mode))
    assert labels.dtype == np.int32 and labels.shape == truth.shape
    assert same_partition(labels, truth)
    assert labels.min() == 0 and labels.max() == truth.max()


@pytest.mark.parametrize("predicate", ["range_rgb(0.05)", "std_rgb(0.01)", "srm_rgb(32)",
                                       "mean_rgb(0.1) & std_rgb(0.05)",
                                       "range_rgb(0.05) | ~min_size(4)",
                                       "weighted(mean_lab(5), std_lab(2), 0.5)"])
def test_other_predicates_recover_flat_regions(predicate):
    truth = flat_regions("four")
    labels = region_growing(paint(truth, True, np.float64), predicate, seeds="auto")
    assert same_partition(labels, truth)


def test_auto_seeds_without_merge_oversegment_but_merge_repairs():
    truth = flat_regions("halves")
    image = np.kron(paint(truth, False, np.float64), np.ones((4, 4)))  # 36 x 44: 16 seeds
    truth = np.kron(truth, np.ones((4, 4), dtype=np.int32))
    unmerged = region_growing(image, "mean_grey(0.05)", seeds="auto", merge=False)
    assert unmerged.max() + 1 > 2
    assert not check_partition(unmerged, image, "mean_grey(0.05)").maximal
    assert same_partition(region_growing(image, "mean_grey(0.05)", seeds="auto"), truth)


def test_seeded_growing_stops_at_the_threshold_and_new_regions_fill_the_rest():
    image = np.tile(np.array([0.0, 0.0, 0.3, 0.3, 0.6, 0.6]), (3, 1))
    labels = region_growing(image, "mean_grey(0.1)", seeds=[(0, 0)], merge=False)
    assert same_partition(labels, np.tile(np.array([0, 0, 1, 1, 2, 2]), (3, 1)))
    # A loose threshold lets the seed region take everything.
    assert region_growing(image, "range_grey(0.7)", seeds=[(0, 0)]).max() == 0


def test_pixels_join_the_best_fitting_region():
    # The middle column (0.45) is accepted by both seeds (0.4 and 0.6, t=0.2) but is
    # closer to the left one, so the left region takes it.
    image = np.tile(np.array([0.4, 0.4, 0.45, 0.6, 0.6]), (3, 1))
    labels = region_growing(image, "mean_grey(0.2)", seeds=[(1, 0), (1, 4)], merge=False)
    assert (labels[:, 2] == labels[1, 0]).all()
    assert (labels[:, 3] == labels[1, 4]).all()


# ----------------------------------------------------------------------------------------
# partition properties
# ----------------------------------------------------------------------------------------


def noisy_image(rng, shape=(24, 30)) -> np.ndarray:
    truth = np.kron(rng.integers(0, 4, size=(shape[0] // 6, shape[1] // 6)),
                    np.ones((6, 6), dtype=np.int64))
    image = COLOURS[truth] + 0.03 * rng.standard_normal(truth.shape + (3,))
    return np.clip(image, 0, 1)


@pytest.mark.parametrize("predicate, union_type", [
    ("range_rgb(0.2)", True), ("std_rgb(0.05)", True), ("range_rgb(0.15) | ~min_size(5)", True),
    ("mean_lab(12)", False), ("srm_rgb(32)", False), ("mean_lab(10) & std_lab(6)", False),
    ("texture_l2(3) & mean_lab(15)", False), ("max_size(40) & range_rgb(0.3)", True),
])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_result_is_a_segmentation(rng, predicate, union_type, connectivity):
    image = noisy_image(rng)
    labels = region_growing(image, predicate, seeds="auto", connectivity=connectivity)
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    assert report.covers and report.disjoint and report.connected, report.summary()
    assert report.maximal, report.summary()
    if union_type:  # P(R u {x}) checked at every step: every region satisfies P
        assert report.holds, report.summary()


@pytest.mark.parametrize("connectivity", [4, 8])
def test_min_size_removes_small_regions_and_keeps_maximality(rng, connectivity):
    image = noisy_image(rng)
    plain = region_growing(image, "mean_lab(6)", connectivity=connectivity)
    assert np.bincount(plain.ravel()).min() < 10
    labels = region_growing(image, "mean_lab(6)", connectivity=connectivity, min_size=10)
    assert np.bincount(labels.ravel()).min() >= 10
    report = check_partition(labels, image, "mean_lab(6)", connectivity=connectivity)
    assert report.covers and report.connected and report.maximal


def test_min_size_without_merge_and_larger_than_the_image():
    image = np.random.default_rng(1).random((5, 6))
    labels = region_growing(image, "mean_grey(0.01)", merge=False, min_size=4)
    assert np.bincount(labels.ravel()).min() >= 4
    assert region_growing(image, "mean_grey(0.01)", min_size=100).max() == 0


def test_min_size_as_a_fraction_of_the_image(rng):
    image = noisy_image(rng)
    pixels = int(np.ceil(0.01 * image.shape[0] * image.shape[1]))
    labels = region_growing(image, "mean_lab(6)", min_size=0.01)
    assert np.array_equal(labels, region_growing(image, "mean_lab(6)", min_size=pixels))
    assert np.bincount(labels.ravel()).min() >= pixels


def test_connectivity_4_vs_8_on_diagonal_blocks():
    checker = np.kron(np.array([[0, 1], [1, 0]]), np.ones((3, 3), dtype=np.int32))
    image = GREYS[checker]
    eight = region_growing(image, "mean_grey(0.05)", connectivity=8)
    four = region_growing(image, "mean_grey(0.05)", connectivity=4)
    assert same_partition(eight, checker)  # each colour's blocks touch at a corner
    assert four.max() + 1 == 4
    assert check_partition(four, image, "mean_grey(0.05)", connectivity=4).ok
    assert not check_partition(four, image, "mean_grey(0.05)", connectivity=8).maximal


def test_disconnected_marker_set_is_split():
    image = np.tile(np.array([0.1, 0.1, 0.9, 0.9, 0.1, 0.1]), (2, 1))
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[0, 0] = markers[0, 5] = 1  # one seed set on both dark sides
    markers[0, 2] = 2
    labels = region_growing(image, "mean_grey(0.1)", seeds=markers)
    assert same_partition(labels, np.tile(np.array([0, 0, 1, 1, 2, 2]), (2, 1)))


def test_python_merge_pass_reaches_maximality():
    image = np.zeros((6, 8))
    image[:, 4:] = 0.5
    labels = np.arange(48).reshape(6, 8) // 2  # 24 two-pixel regions
    predicate = parse_predicate("mean_grey(0.1)")
    inputs = {"features": image}
    merged, changed = rg._merge_adjacent(labels, predicate, inputs, 8)
    assert changed and same_partition(merged, (image > 0).astype(int))
    unchanged, changed = rg._merge_adjacent(merged, predicate, inputs, 8)
    assert not changed and unchanged is merged


def test_rounding_fallback_merges_what_the_kernel_left(rng, monkeypatch):
    # Force the Python pass to do all the merging: the compiled merge is switched off.
    original = rg._post_merge

    def without_merge(values, labels, n, stride, connectivity, merge, *rest):
        return original(values, labels, n, stride, connectivity, False, *rest)

    monkeypatch.setattr(rg, "_post_merge", without_merge)
    image = noisy_image(rng)
    labels = region_growing(image, "mean_lab(12)", seeds="auto")
    assert check_partition(labels, image, "mean_lab(12)").maximal
    truth = flat_regions("four")
    assert same_partition(region_growing(paint(truth, True, np.uint8), "mean_lab(5)",
                                         seeds="auto"), truth)


def test_features_dict_with_texture(rng):
    image = noisy_image(rng)
    predicate = parse_predicate("texture_l2(2) & mean_lab(15)")
    inputs = predicate_features(predicate, image)
    assert np.array_equal(region_growing(image, predicate, features=inputs),
                          region_growing(image, predicate))


def test_deterministic_and_seed_forms_agree(rng):
    image = noisy_image(rng)
    first = region_growing(image, "mean_lab(8)", seeds="auto")
    assert np.array_equal(first, region_growing(image, "mean_lab(8)", seeds="auto"))
    points = [(2, 3), (20, 25), (10, 4)]
    markers = np.zeros(image.shape[:2], dtype=np.int64)
    for k, (r, c) in enumerate(points):
        markers[r, c] = k + 1
    from_points = region_growing(image, "mean_lab(8)", seeds=points, merge=False)
    assert np.array_equal(from_points, region_growing(image, "mean_lab(8)",
                                                      seeds=np.array(points), merge=False))
    assert np.array_equal(from_points, region_growing(image, "mean_lab(8)", seeds=markers,
                                                      merge=False))
    assert np.array_equal(from_points, region_growing(image, "mean_lab(8)",
                                                      seeds=points + points[:1], merge=False))


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 5), (2, 3), (13, 1)])
@pytest.mark.parametrize("seeds", [None, "auto", "point"])
def test_arbitrary_sizes(rng, shape, seeds):
    image = rng.random(shape)
    if seeds == "point":
        seeds = [(shape[0] - 1, shape[1] - 1)]
    for connectivity in (4, 8):
        labels = region_growing(image, "mean_grey(0.2)", seeds=seeds,
                                connectivity=connectivity, min_size=2)
        assert labels.shape == shape and labels.dtype == np.int32
        report = check_partition(labels, image, "mean_grey(0.2)", connectivity=connectivity)
        assert report.covers and report.connected and report.maximal
        assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))


@settings(max_examples=40, deadline=None)
@given(image=hnp.arrays(np.uint8, st.tuples(st.integers(1, 7), st.integers(1, 7),
                                             st.just(3))),
       threshold=st.floats(0, 60),
       connectivity=st.sampled_from([4, 8]),
       seeds=st.sampled_from([None, "auto"]),
       merge=st.booleans())
def test_property_labels_cover_the_image_with_connected_regions(image, threshold,
                                                                connectivity, seeds, merge):
    predicate = f"mean_lab({threshold!r})"
    labels = region_growing(image, predicate, seeds=seeds, connectivity=connectivity,
                            merge=merge)
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    assert report.covers and report.connected
    assert report.maximal or not merge
    assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))


# ----------------------------------------------------------------------------------------
# the compiled translation of predicates
# ----------------------------------------------------------------------------------------

TRANSLATED = [
    "mean_lab(12)", "range_rgb(0.3)", "std_rgb(0.1)", "srm_rgb(32)", "srm_lab(8)",
    "srm_rgb(16, g=2)", "min_size(9)", "max_size(12)", "texture_l2(0.8)",
    "mean_rgb(0.2) & std_rgb(0.1)", "range_rgb(0.3) | ~min_size(6)", "~mean_lab(10)",
    "weighted(mean_rgb(0.2), texture_l2(0.5), 0.3)", "weighted(std_rgb(0.1), range_rgb(0.4), 1)",
    "weighted(std_rgb(0.1), range_rgb(0.4), 0)", "(mean_rgb(0.2) | std_rgb(0)) & max_size(30)",
]


def table_of(stats: RegionStats, n_bins: int = 0):
    """The kernels' statistics table (classical._program.StatsLayout) and its layout."""
    n_colour = stats.sum.shape[1]
    n_texture = 0 if stats.texture_sum is None else stats.texture_sum.shape[1]
    layout = StatsLayout(n_colour, n_texture, n_bins)
    table = np.empty((len(stats), layout.width))
    table[:, 0] = stats.count
    table[:, layout.sum:layout.sum + n_colour] = stats.sum
    table[:, layout.sq:layout.sq + n_colour] = stats.sumsq
    if n_texture:
        table[:, layout.sum + n_colour:layout.sq] = stats.texture_sum
        table[:, layout.sq + n_colour:layout.hist] = stats.texture_sumsq
    if n_bins:
        table[:, layout.hist:layout.lo] = stats.histogram
    table[:, layout.lo:layout.hi] = stats.min
    table[:, layout.hi:] = stats.max
    return table, layout


@pytest.mark.parametrize("text", TRANSLATED)
def test_kernel_matches_the_python_predicate(rng, text):
    predicate = parse_predicate(text)
    assert supports_predicate(predicate)
    image = rng.random((12, 14, 3))
    labels = rng.integers(0, 12, size=(12, 14))
    inputs = predicate_features(predicate, image)
    stats = RegionStats.from_labels(labels=labels, **inputs)
    table, layout = table_of(stats)
    n_colour = inputs["features"].shape[-1]
    n_texture = 0 if inputs["texture"] is None else inputs["texture"].shape[-1]
    program, numbers = compile_predicate(predicate, n_colour, n_texture, labels.size)
    stack = np.zeros((program.shape[0] + 1, 4))
    a, b = np.triu_indices(len(stats), k=1)
    expected = predicate.mergeable(stats[a], stats[b])
    priority = rg._priority(predicate, stats[a], stats[b])
    for i, j, ok_expected, k in zip(a, b, expected, range(a.size)):
        ok, _, prio = evaluate(program, numbers, stack, table, i, table, j, False,
                               layout.offsets)
        assert ok == ok_expected, (i, j)
        if priority is not None:
            assert prio == pytest.approx(priority[k], rel=1e-12, abs=1e-12)
    # A pixel as the second part: the same answer as its singleton statistics.
    values = inputs["features"].reshape(labels.size, n_colour)
    if n_texture:
        values = np.concatenate([values, inputs["texture"].reshape(labels.size, -1)], axis=1)
    values = np.ascontiguousarray(values, dtype=np.float64)
    rows, cols = np.divmod(np.arange(labels.size), labels.shape[1])
    singles = RegionStats.singletons(inputs["features"], texture=inputs["texture"])[rows, cols]
    expected = predicate.mergeable(stats[np.full(labels.size, 3)], singles)
    for q in range(labels.size):
        ok, _, _ = evaluate(program, numbers, stack, table, 3, values, q, True,
                            layout.offsets)
        assert ok == expected[q]


@pytest.mark.parametrize("text", ["mean_lab(9)", "weighted(mean_lab(14), texture_l2(1.2), 0.3)",
                                  "weighted(mean_rgb(0.2), texture_l2(1), 1)",
                                  "weighted(mean_rgb(0.2), texture_l2(1), 0)"])
def test_cached_means_path_equals_the_interpreter(rng, text):
    # Means-only programs grow from cached region means; "& min_size(1)" changes neither
    # the answer nor the priority but sends every test through the interpreter.
    image = rng.random((26, 31, 3)) * 0.3
    image[:, 12:] += 0.5
    fast = parse_predicate(text)
    slow = parse_predicate(f"{text} & min_size(1)")
    for seeds in (None, "auto"):
        for connectivity in (4, 8):
            np.testing.assert_array_equal(
                region_growing(image, fast, seeds=seeds, connectivity=connectivity, merge=False),
                region_growing(image, slow, seeds=seeds, connectivity=connectivity, merge=False))


def test_supports_predicate():
    assert supports_predicate("mean_lab(10) & std_lab(8) | ~min_size(20)")
    assert supports_predicate(parse_predicate("weighted(mean_lab(10), texture_l2(1), 0.5)"))
    assert not supports_predicate("texture_chi2(0.2)")
    assert not supports_predicate("mean_lab(5) & texture_chi2(0.2)")


def test_space_features_predicates_take_a_feature_image():
    features = np.zeros((6, 8, 2))
    features[:, 4:, 0] = 3.0
    image = np.zeros((6, 8))
    labels = region_growing(image, "mean_features(1)", features=features)
    assert same_partition(labels, (features[..., 0] > 0).astype(int))
    with pytest.raises(ValueError, match="custom feature stack"):
        region_growing(image, "mean_features(1)")


# ----------------------------------------------------------------------------------------
# segmenter
# ----------------------------------------------------------------------------------------


def test_segmenter_defaults_and_sweep(rng):
    segmenter = region_growing_segmenter()
    assert segmenter.name == "region_growing"
    assert segmenter.params == RegionGrowingParams()
    assert segmenter.sweep_param == "predicate"
    # The colour threshold of the colour-texture mix grows: fine -> coarse.
    thresholds = [parse_predicate(v).colour.threshold for v in segmenter.sweep_values]
    assert len(thresholds) == 12 and thresholds == sorted(thresholds)
    image = noisy_image(rng, (36, 48))
    labels = segmenter(image)
    assert labels.dtype == np.int32 and labels.shape == image.shape[:2]
    counts = [int(labels.max()) + 1 for labels in segmenter.sweep(image)]
    assert counts == sorted(counts, reverse=True)


def test_segmenter_params():
    segmenter = region_growing_segmenter(predicate="range_rgb(0.2)", seeds=None,
                                         connectivity=4, min_size=0, merge=False)
    assert segmenter.params.predicate == "range_rgb(0.2)"
    image = paint(flat_regions("three"), True, np.uint8)
    assert same_partition(segmenter(image), flat_regions("three"))
    with pytest.raises(ValueError, match="has no parameter 'threshold'"):
        region_growing_segmenter(threshold=3)
    with pytest.raises(ValueError, match="seeds must be None or one of 'auto'"):
        region_growing_segmenter(seeds="grid")(image)
    assert "predicate='range_rgb(0.2)'" in segmenter.describe()


# ----------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------

IMAGE = np.zeros((4, 6))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(seeds=np.zeros((3, 3), np.int32)), ValueError, r"seeds must be None .*shape \(3, 3\)"),
    (dict(seeds=[(1, 2, 3)]), ValueError, r"seeds must be None .*shape \(1, 3\)"),
    (dict(seeds=[]), ValueError, "empty list of points"),
    (dict(seeds=[(0, 6)]), ValueError, r"seed point \(row, col\) = \(0, 6\) is outside"),
    (dict(seeds=[(-1, 0)]), ValueError, "is outside the image"),
    (dict(seeds=[(0.5, 1.0)]), TypeError, "integer"),
    (dict(seeds="grid"), ValueError, "unknown seeds mode 'grid'"),
    (dict(seeds=np.full((4, 6), -1)), ValueError, "negative values"),
    (dict(seeds=np.zeros((4, 6), np.int32)), ValueError, "no seed"),
    (dict(seeds=np.zeros((4, 6))), TypeError, "marker image must hold integers"),
    (dict(seeds=object()), ValueError, "seeds must be None"),
    (dict(predicate="texture_chi2(0.2)"), ValueError, "cannot compile"),
    (dict(predicate="mean_lab(5) & texture_chi2(0.2)"), ValueError, "texture_chi2"),
    (dict(predicate=5), TypeError, "predicate must be a Predicate"),
    (dict(connectivity=6), ValueError, "connectivity must be 4 or 8; got 6"),
    (dict(min_size=-1), ValueError, "min_size must be >= 0"),
    (dict(merge="yes"), TypeError, "merge must be True or False"),
    (dict(image=np.zeros((3, 4, 6))), ValueError, "If channels come first"),
    (dict(image=np.full((4, 6), 2.0)), ValueError, r"expected \[0, 1\]"),
    (dict(features=np.zeros((4, 5, 3))), ValueError, "same height and width"),
    (dict(predicate="mean_lab(5)", features=np.zeros((4, 6, 2))), ValueError,
     "3 channel"),
])
def test_bad_input(kwargs, error, match):
    args = dict(image=IMAGE, predicate="mean_grey(0.1)")
    args.update(kwargs)
    image, predicate = args.pop("image"), args.pop("predicate")
    with pytest.raises(error, match=match):
        region_growing(image, predicate, **args)


@pytest.mark.parametrize("edge", [150, 161])
def test_defaults_keep_two_flat_regions_whole(edge):
    # The default predicate's texture term reads Gabor energy with the structure removed:
    # a step between two flat colours is no texture, so no strip is cut along it (with
    # the plain energy this image gave 4 regions).
    image = np.zeros((240, 320, 3), np.uint8)
    image[:] = (40, 90, 160)
    image[:, edge:] = (200, 170, 60)
    expected = np.zeros((240, 320), np.int32)
    expected[:, edge:] = 1
    np.testing.assert_array_equal(region_growing_segmenter()(image), expected)
