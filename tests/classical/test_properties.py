"""Property tests of the segmentation definition for every classical method.

Over random small images (grey and RGB, uint8 and float, 1 x 1 to 24 x 24, piecewise
constant, noisy or uniformly random) and random parameters, every method in
:data:`classical.methods.METHODS` returns a partition: the image's shape, int32 labels
0..n-1, every label one connected region, the same labels on a second call. On top of
that each method's documented guarantees are checked with
:func:`classical.partition.check_partition`:

- region growing: maximal after merging; regions of at least ``min_size`` pixels;
  ``P(R)`` for every region when ``mergeable`` is ``P`` of the union and single pixels
  satisfy ``P`` (range, std and size tests);
- split-and-merge: maximal when nothing is absorbed (``min_size=0``); with
  ``min_block=1`` also ``P(R)`` for such predicates; regions of at least ``min_size``
  pixels; the one-pass threshold sweep gives nested partitions;
- k-means: regions of at least ``min_size`` pixels, maximal under its merge predicate.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from classical._regions import relabel_connected
from classical.kmeans import KMeansParams, kmeans_segment
from classical.methods import METHODS
from classical.partition import check_partition
from classical.predicates import parse_predicate, required_space
from classical.region_growing import region_growing
from classical.split_merge import split_and_merge, split_merge_sweep

SETTINGS = settings(max_examples=30, deadline=None)


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------

_SIDE = st.one_of(st.just(1), st.integers(1, 24))


@st.composite
def images(draw, max_side: int = 24):
    """A small image: piecewise constant (random rectangles), noisy, or random."""
    height = draw(_SIDE.filter(lambda n: n <= max_side))
    width = draw(_SIDE.filter(lambda n: n <= max_side))
    rgb = draw(st.booleans())
    dtype = draw(st.sampled_from(["uint8", "float64", "float32"]))
    kind = draw(st.sampled_from(["rectangles", "noisy", "random"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels = (3,) if rgb else ()
    if kind == "random":
        image = rng.random((height, width) + channels)
    else:
        palette = rng.random((int(rng.integers(1, 6)),) + channels)
        truth = np.zeros((height, width), np.int64)
        for k in range(1, int(rng.integers(1, 7))):
            r0, c0 = rng.integers(0, height), rng.integers(0, width)
            r1 = r0 + int(rng.integers(1, height + 1))
            c1 = c0 + int(rng.integers(1, width + 1))
            truth[r0:r1, c0:c1] = k
        image = palette[truth % len(palette)]
        if kind == "noisy":
            sigma = rng.uniform(0.005, 0.08)
            image = np.clip(image + sigma * rng.standard_normal(image.shape), 0.0, 1.0)
    if dtype == "uint8":
        return np.round(image * 255).astype(np.uint8)
    return image.astype(dtype)


def _rgb_threshold():
    return st.floats(0.0, 0.6, allow_nan=False)


def _lab_threshold():
    return st.floats(0.0, 40.0, allow_nan=False)


# Predicates whose ``mergeable`` is P of the union and which every single pixel satisfies:
# growing and merging can only make regions that satisfy P.
UNION_PREDICATES = st.one_of(
    st.builds("range_rgb({!r})".format, _rgb_threshold()),
    st.builds("std_rgb({!r})".format, _rgb_threshold()),
    st.builds("std_lab({!r})".format, _lab_threshold()),
    st.builds("range_lab({!r}) & max_size({})".format, _lab_threshold(), st.integers(1, 60)),
    st.builds("range_rgb({!r}) | ~min_size({})".format, _rgb_threshold(), st.integers(0, 8)),
    st.builds("std_rgb({!r}) | max_size({})".format, _rgb_threshold(), st.integers(1, 4)),
)
# Pairwise predicates compare the two parts; a merged region's own P may fail.
PAIRWISE_PREDICATES = st.one_of(
    st.builds("mean_lab({!r})".format, _lab_threshold()),
    st.builds("mean_rgb({!r}) & std_rgb({!r})".format, _rgb_threshold(), _rgb_threshold()),
    st.builds("srm_rgb({!r})".format, st.floats(1.0, 256.0)),
    st.builds("mean_lab({!r}) | ~min_size({})".format, _lab_threshold(), st.integers(0, 8)),
    st.builds("weighted(mean_lab({!r}), std_lab({!r}), {!r})".format,
              st.floats(0.5, 30.0), st.floats(0.5, 30.0), st.floats(0.0, 1.0)),
    st.builds("texture_l2({!r}) & mean_lab({!r})".format, st.floats(0.1, 4.0),
              _lab_threshold()),
)
PREDICATES = st.one_of(UNION_PREDICATES, PAIRWISE_PREDICATES)
CONNECTIVITY = st.sampled_from([4, 8])

#: Random parameters per registered method (keyword overrides of its params dataclass).
PARAMS = {
    "region_growing": st.fixed_dictionaries({
        "predicate": PREDICATES, "seeds": st.sampled_from([None, "auto"]),
        "connectivity": CONNECTIVITY, "min_size": st.integers(0, 12),
        "merge": st.booleans()}),
    "split_merge": st.fixed_dictionaries({
        "predicate": st.sampled_from(["mean_lab(12) & std_lab(18)", "range_rgb(0.2)",
                                      "std_lab(6)", "srm_rgb(32)"]),
        "threshold": st.one_of(st.none(), st.floats(0.1, 40.0)),
        "split_scale": st.one_of(st.none(), st.floats(0.1, 1.0)),
        "min_block": st.integers(1, 6), "connectivity": CONNECTIVITY,
        "min_size": st.integers(0, 40)}),
    "kmeans": st.fixed_dictionaries({
        "n_clusters": st.integers(1, 6),
        "features": st.sampled_from([("lab",), ("rgb",), ("lab", "xy"), ("lab", "gabor")]),
        "n_init": st.integers(1, 2), "sample_size": st.one_of(st.none(), st.integers(1, 300)),
        "min_size": st.integers(0, 20),
        "predicate": st.one_of(st.none(), st.builds("mean_lab({!r})".format,
                                                     _lab_threshold())),
        "connectivity": CONNECTIVITY, "seed": st.integers(0, 3)}),
    "felzenszwalb": st.fixed_dictionaries({
        "scale": st.floats(1.0, 500.0), "sigma": st.floats(0.0, 2.0),
        "min_size": st.integers(0, 30)}),
    "slic": st.fixed_dictionaries({
        "n_segments": st.integers(1, 60), "compactness": st.floats(0.5, 30.0)}),
    "quickshift": st.fixed_dictionaries({
        "kernel_size": st.floats(1.0, 4.0), "max_dist": st.floats(1.0, 30.0),
        "ratio": st.floats(0.0, 1.0)}),
    "watershed": st.fixed_dictionaries({
        "markers": st.integers(1, 80), "compactness": st.floats(0.0, 0.01)}),
    "mean_shift": st.fixed_dictionaries({
        "spatial_radius": st.integers(1, 8), "color_radius": st.floats(4.0, 40.0),
        "min_size": st.integers(0, 20)}),
}


def assert_partition(labels: np.ndarray, image: np.ndarray, connectivity: int) -> None:
    """int32 labels 0..n-1 of the image's shape, every label one connected region."""
    assert labels.shape == image.shape[:2]
    assert labels.dtype == np.int32
    report = check_partition(labels, image, "min_size(0)", connectivity=connectivity)
    assert report.covers and report.connected, report.summary()
    assert np.array_equal(np.unique(labels), np.arange(int(labels.max()) + 1))


def same_space(first: str, second: str) -> bool:
    """Whether two predicates read the same statistics (split_and_merge's `split`)."""
    try:
        required_space(parse_predicate(f"({first}) & ({second})"))
    except ValueError:
        return False
    return True


def assert_sizes_at_least(labels: np.ndarray, min_size: int) -> None:
    """No region under `min_size` pixels (an image smaller than that is one region)."""
    sizes = np.bincount(labels.ravel())
    assert sizes.min() >= min(min_size, labels.size), sorted(sizes)[:5]


# --------------------------------------------------------------------------------------
# Every registered method
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(METHODS))
@SETTINGS
@given(data=st.data())
def test_every_method_returns_a_deterministic_partition(name, data):
    image = data.draw(images(), label="image")
    params = data.draw(PARAMS.get(name, st.just({})), label="params")
    segmenter = METHODS[name](**params)
    labels = segmenter(image)
    # The baselines promise 8-connected regions; segbench's methods their own setting.
    assert_partition(labels, image, params.get("connectivity", 8))
    assert np.array_equal(labels, segmenter(image))


def test_every_method_has_random_parameters():
    # A method added to the registry without a strategy is still tested with its
    # defaults above; this names it so that it gets random parameters too.
    assert set(METHODS) <= set(PARAMS), sorted(set(METHODS) - set(PARAMS))


# --------------------------------------------------------------------------------------
# Region growing
# --------------------------------------------------------------------------------------


@SETTINGS
@given(image=images(), predicate=PREDICATES, seeds=st.sampled_from([None, "auto"]),
       connectivity=CONNECTIVITY, min_size=st.integers(0, 12), merge=st.booleans())
def test_region_growing_guarantees(image, predicate, seeds, connectivity, min_size, merge):
    labels = region_growing(image, predicate, seeds=seeds, connectivity=connectivity,
                            min_size=min_size, merge=merge)
    assert_partition(labels, image, connectivity)
    # Regions are numbered in raster order of their first pixel.
    assert np.array_equal(labels, relabel_connected(labels, connectivity))
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    if merge:
        assert report.maximal, report.summary()
    if min_size > 1:
        assert_sizes_at_least(labels, min_size)


@SETTINGS
@given(image=images(), predicate=UNION_PREDICATES, seeds=st.sampled_from([None, "auto"]),
       connectivity=CONNECTIVITY, merge=st.booleans())
def test_region_growing_regions_satisfy_union_predicates(image, predicate, seeds,
                                                         connectivity, merge):
    labels = region_growing(image, predicate, seeds=seeds, connectivity=connectivity,
                            merge=merge)
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    assert report.holds, report.summary()
    assert report.ok or not merge, report.summary()


# --------------------------------------------------------------------------------------
# Split-and-merge
# --------------------------------------------------------------------------------------


@SETTINGS
@given(image=images(), predicate=PREDICATES, split=st.one_of(st.none(), PREDICATES),
       min_block=st.integers(1, 6), connectivity=CONNECTIVITY, min_size=st.integers(0, 30))
def test_split_and_merge_guarantees(image, predicate, split, min_block, connectivity,
                                    min_size):
    assume(split is None or same_space(predicate, split))
    labels = split_and_merge(image, predicate, min_block=min_block,
                             connectivity=connectivity, min_size=min_size, split=split)
    assert_partition(labels, image, connectivity)
    assert np.array_equal(labels, relabel_connected(labels, connectivity))
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    if min_size == 0:
        assert report.maximal, report.summary()
    else:
        assert_sizes_at_least(labels, min_size)


@SETTINGS
@given(image=images(), predicate=UNION_PREDICATES, connectivity=CONNECTIVITY)
def test_split_and_merge_to_single_pixels_is_a_segmentation(image, predicate, connectivity):
    labels = split_and_merge(image, predicate, min_block=1, connectivity=connectivity)
    report = check_partition(labels, image, predicate, connectivity=connectivity)
    assert report.ok, report.summary()


@SETTINGS
@given(image=images(), factors=st.lists(st.floats(0.05, 8.0), min_size=2, max_size=5),
       predicate=st.sampled_from(["mean_lab(10)", "range_rgb(0.2)", "std_lab(6)",
                                  "mean_lab(10) & std_lab(15)", "srm_rgb(32)"]),
       min_block=st.integers(1, 4), connectivity=CONNECTIVITY)
def test_split_merge_sweep_gives_nested_partitions(image, factors, predicate, min_block,
                                                   connectivity):
    # Cuts of one merge history: each finer result refines every coarser one.
    if predicate.startswith("srm"):  # larger q is finer
        thresholds = sorted((32.0 / f for f in factors), reverse=True)
    else:
        base = float(predicate.split("(")[1].split(")")[0])
        thresholds = sorted(base * f for f in factors)
    results = split_merge_sweep(image, predicate, thresholds, min_block=min_block,
                                connectivity=connectivity)
    for fine, coarse in zip(results, results[1:]):
        assert_partition(coarse, image, connectivity)
        pairs = np.unique(np.stack([fine.ravel(), coarse.ravel()]), axis=1)
        assert pairs.shape[1] == int(fine.max()) + 1  # each fine region in one coarse one
        assert coarse.max() <= fine.max()


# --------------------------------------------------------------------------------------
# k-means
# --------------------------------------------------------------------------------------


@SETTINGS
@given(image=images(), n_clusters=st.integers(1, 6),
       features=st.sampled_from([("lab",), ("rgb", "xy"), ("lab", "gabor")]),
       min_size=st.integers(0, 20), connectivity=CONNECTIVITY,
       threshold=st.one_of(st.none(), _lab_threshold()))
def test_kmeans_guarantees(image, n_clusters, features, min_size, connectivity, threshold):
    predicate = None if threshold is None else f"mean_lab({threshold!r})"
    params = KMeansParams(n_clusters=n_clusters, features=features, min_size=min_size,
                          predicate=predicate, connectivity=connectivity, n_init=1)
    labels = kmeans_segment(image, params)
    assert_partition(labels, image, connectivity)
    assert np.array_equal(labels, relabel_connected(labels, connectivity))
    if min_size > 1:
        assert_sizes_at_least(labels, min_size)
    if predicate is not None:
        report = check_partition(labels, image, predicate, connectivity=connectivity)
        assert report.maximal, report.summary()
