import dataclasses

import numpy as np
import pytest
from skimage.measure import label
from sklearn.metrics import adjusted_rand_score

from benchmarks.datasets.synthetic import render_class
from classical._regions import adjacent_pairs, relabel_connected
from classical.features import FEATURES
from classical.kmeans import KMeansParams, choose_n_clusters, kmeans_segment, kmeans_segmenter
from classical.predicates import BorderStats, RegionStats, parse_predicate, predicate_features

COLOURS = np.array([(230, 30, 30), (30, 200, 40), (40, 40, 220), (240, 240, 60)], np.uint8)


def _assert_partition(labels, shape):
    """int32 labels 0..n-1 over `shape`, every label one 8-connected region."""
    assert labels.shape == shape and labels.dtype == np.int32
    n = int(labels.max()) + 1
    assert labels.min() == 0 and np.unique(labels).size == n
    assert label(labels, background=-1, connectivity=2).max() == n


def _blocks():
    """(image, truth): 5 rectangles in 4 colours; the two red ones do not touch."""
    truth = np.zeros((30, 40), np.int32)
    truth[:, 20:] = 1
    truth[15:, :20] = 2
    truth[20:, 30:] = 3
    truth[4:11, 25:32] = 4
    colour_of = np.array([0, 1, 2, 3, 0])  # regions 0 and 4 share red
    return COLOURS[colour_of[truth]], truth


def _halves(left: int, right: int, width: int):
    """Class `left` on the left half and `right` on the right, as floats in [0, 1]."""
    image = np.concatenate([render_class(left, shape=(64, width)),
                            render_class(right, shape=(64, width))], axis=1)
    truth = np.zeros(image.shape[:2], np.int32)
    truth[:, width:] = 1
    return np.clip(image / 255.0, 0.0, 1.0), truth


def _colour(**changes):
    """Colour-only k-means: the exact-answer tests cluster colours (the defaults add
    texture and position features, tuned for natural images)."""
    return KMeansParams(**{"features": ("lab",), "min_size": 20, **changes})


# --------------------------------------------------------------------------------------
# Exact answers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.float32])
def test_piecewise_constant_regions_recovered_exactly(dtype):
    image, truth = _blocks()
    if dtype != np.uint8:
        image = image.astype(dtype) / dtype(255)
    labels = kmeans_segment(image, _colour(n_clusters=4))
    _assert_partition(labels, truth.shape)
    # Both are numbered in raster order of their first pixel: equal up to relabelling
    # means equal after relabel_connected.
    assert np.array_equal(labels, relabel_connected(truth))


@pytest.mark.parametrize("n_clusters", [3, 8])
def test_piecewise_constant_grey(n_clusters):
    # Lab a and b are constant here; k is capped at the 3 distinct feature vectors.
    truth = np.repeat(np.arange(3), 7)[None, :].repeat(9, axis=0)  # three vertical bands
    image = np.array([0.1, 0.5, 0.9])[truth]
    labels = kmeans_segment(image, _colour(n_clusters=n_clusters, min_size=0))
    assert np.array_equal(labels, truth)


def test_more_clusters_than_colours_is_capped():
    image, truth = _blocks()
    labels = kmeans_segment(image, _colour(n_clusters=12))
    assert np.array_equal(labels, relabel_connected(truth))


def test_uint8_and_float_give_the_same_labels(rng):
    image = rng.integers(0, 256, (24, 31, 3), dtype=np.uint8)
    params = KMeansParams(n_clusters=5, features=("lab", "gabor"))
    assert np.array_equal(kmeans_segment(image, params), kmeans_segment(image / 255.0, params))


# --------------------------------------------------------------------------------------
# Texture: same mean colour, different texture
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("left, right, width", [
    (1, 2, 128),  # stripes-h-grey | stripes-v-grey: orientation only
    (6, 7, 64),   # flat-grey | speckle-grey: local variance only
])
def test_texture_pair_needs_a_texture_feature(left, right, width):
    # The stripes halves are 128 wide: the Gabor energies blur the seam by ~4 pixels
    # (filter support and energy smoothing), which on 64-wide halves alone costs 6 % of
    # the pixels and an adjusted Rand index just under 0.9.
    image, truth = _halves(left, right, width)
    colour = kmeans_segment(image, KMeansParams(n_clusters=2, features=("lab",)))
    straddling = np.intersect1d(np.unique(colour[:, :width]), np.unique(colour[:, width:]))
    assert straddling.size > 0
    assert adjusted_rand_score(truth.ravel(), colour.ravel()) < 0.5

    texture = kmeans_segment(image, KMeansParams(n_clusters=2, features=("lab", "gabor"),
                                                 weights=(1.0, 1.0)))
    _assert_partition(texture, truth.shape)
    assert adjusted_rand_score(truth.ravel(), texture.ravel()) > 0.9


# --------------------------------------------------------------------------------------
# Partition properties, determinism
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("features", [("lab",), ("rgb", "gabor"), ("hsv", "variance", "xy")])
def test_regions_are_connected_and_numbered(rng, connectivity, features):
    image = rng.integers(0, 256, (33, 27, 3), dtype=np.uint8)
    labels = kmeans_segment(image, KMeansParams(n_clusters=6, features=features, min_size=4,
                                                connectivity=connectivity))
    assert labels.dtype == np.int32
    n = int(labels.max()) + 1
    assert np.unique(labels).size == n
    components = label(labels, background=-1, connectivity=1 if connectivity == 4 else 2)
    assert components.max() == n
    assert np.bincount(labels.ravel()).min() >= 4


def test_min_size_absorbs_outliers():
    image, truth = _blocks()
    noisy = image.copy()
    noisy[1, 36] = noisy[25, 8] = (0, 0, 0)  # single black pixels inside one region
    params = _colour(n_clusters=5, min_size=0)
    assert kmeans_segment(noisy, params).max() + 1 == 7
    labels = kmeans_segment(noisy, _colour(n_clusters=5, min_size=3))
    assert np.array_equal(labels, relabel_connected(truth))


def test_deterministic_with_seed_and_seeds_may_differ(rng):
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    params = KMeansParams(n_clusters=8, sample_size=200, n_init=1, min_size=0)
    first = kmeans_segment(image, params)
    assert np.array_equal(first, kmeans_segment(image, params))
    others = [kmeans_segment(image, KMeansParams(n_clusters=8, sample_size=200, n_init=1,
                                                 min_size=0, seed=seed)) for seed in (1, 2, 3)]
    assert any(not np.array_equal(first, other) for other in others)


# --------------------------------------------------------------------------------------
# Choosing k
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("criterion", ["silhouette", "bic"])
def test_auto_finds_three_colours(criterion):
    truth = np.zeros((24, 36), np.int32)
    truth[:, 12:24] = 1
    truth[:, 24:] = 2
    image = COLOURS[truth]
    labels = kmeans_segment(image, _colour(n_clusters="auto", criterion=criterion))
    assert labels.max() + 1 == 3
    assert np.array_equal(labels, truth)


@pytest.mark.parametrize("criterion", ["silhouette", "bic"])
def test_choose_n_clusters_on_blobs(criterion):
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    sample = centres[rng.integers(0, 4, 800)] + 0.3 * rng.standard_normal((800, 2))
    k, scores = choose_n_clusters(sample, (2, 7), criterion=criterion)
    assert k == 4 and set(scores) == set(range(2, 8))


def test_choose_n_clusters_degenerate_samples():
    assert choose_n_clusters(np.ones((10, 3)))[0] == 1
    k, _ = choose_n_clusters(np.array([[0.0], [1.0], [0.0], [1.0]]), (2, 9))
    assert k == 2


# --------------------------------------------------------------------------------------
# Predicate merge
# --------------------------------------------------------------------------------------


def _two_tones():
    """Left: two similar reds (Delta E ~ 6); right: blue. Three regions with k=3."""
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, :10] = (200, 30, 30)
    image[:, 10:20] = (212, 34, 30)
    image[:, 20:] = (30, 30, 200)
    return image


@pytest.mark.parametrize("predicate", ["mean_lab(10)", parse_predicate("mean_lab(10)"),
                                       "mean_lab(10) & std_lab(20)", "mean_features(1.0)"])
def test_predicate_merges_similar_neighbours(predicate):
    image = _two_tones()
    assert kmeans_segment(image, _colour(n_clusters=3)).max() + 1 == 3
    labels = kmeans_segment(image, _colour(n_clusters=3, predicate=predicate))
    _assert_partition(labels, image.shape[:2])
    assert labels.max() + 1 == 2
    assert (labels[:, :20] == 0).all() and (labels[:, 20:] == 1).all()


def test_predicate_merge_is_maximal(rng):
    image = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    predicate = parse_predicate("mean_lab(25)")
    labels = kmeans_segment(image, KMeansParams(n_clusters=10, min_size=0, predicate=predicate))
    _assert_partition(labels, image.shape[:2])
    stats = RegionStats.from_labels(labels=labels, **predicate_features(predicate, image))
    pairs, _ = adjacent_pairs(labels)
    assert not np.any(predicate.mergeable(stats[pairs[:, 0]], stats[pairs[:, 1]]))


def test_boundary_predicate_merges_across_weak_borders_only():
    # Three vertical bands: two equal greys split by a one-pixel dark line, and a band
    # of the same grey that meets the others with no line. k-means with k = 3 makes the
    # line its own cluster, so the grey bands are separate regions; a boundary predicate
    # merges the band that touches without a line and keeps the line's neighbours apart.
    image = np.full((12, 31), 0.6)
    image[:, 10] = 0.0
    image[:, 21:] = 0.62
    params = _colour(n_clusters=3, min_size=0)
    plain = kmeans_segment(image, params)
    assert plain.max() + 1 == 4
    labels = kmeans_segment(image, dataclasses.replace(params, predicate="boundary(1)"))
    _assert_partition(labels, image.shape)
    assert labels.max() + 1 == 3
    assert labels[0, 0] != labels[0, 12] and labels[0, 12] == labels[0, 30]
    # The merge is maximal under the boundary predicate: no adjacent pair passes it.
    predicate = parse_predicate("boundary(1)")
    inputs = predicate_features(predicate, image)
    edges = inputs.pop("edges")
    stats = RegionStats.from_labels(labels=labels, **inputs)
    pairs, border = BorderStats.from_labels(labels, edges)
    assert not np.any(predicate.mergeable(stats[pairs[:, 0]], stats[pairs[:, 1]], border))


# --------------------------------------------------------------------------------------
# Sizes and kinds of images
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 5), (1, 1, 3), (2, 13, 3),
                                   (11, 6, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_sizes_grey_rgb(rng, shape, dtype):
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    if dtype == np.float64:
        image = image / 255.0
    for params in (KMeansParams(n_clusters=3, features=("lab", "gabor", "xy")),
                   KMeansParams(n_clusters="auto", k_range=(2, 4), n_init=1, min_size=2,
                                predicate="mean_lab(5)")):
        _assert_partition(kmeans_segment(image, params), shape[:2])


def test_constant_image_is_one_region():
    labels = kmeans_segment(np.full((8, 9, 3), 77, np.uint8), KMeansParams(n_clusters=4))
    assert np.array_equal(labels, np.zeros((8, 9), np.int32))


# --------------------------------------------------------------------------------------
# Segmenter
# --------------------------------------------------------------------------------------


def test_segmenter():
    segmenter = kmeans_segmenter(features=("lab",), min_size=10)
    assert segmenter.name == "kmeans" and segmenter.sweep_param == "n_clusters"
    values = segmenter.sweep_values
    assert list(values) == sorted(values, reverse=True) and values[-1] == 2
    image, truth = _blocks()
    results = segmenter.sweep(image, values=(6, 2))
    assert len(results) == 2
    assert np.array_equal(results[0], relabel_connected(truth))
    assert results[1].max() + 1 < results[0].max() + 1
    assert np.array_equal(segmenter.with_params(n_clusters=4)(image), results[0])


def test_default_features_and_weights():
    # The defaults cluster colour, Gabor texture and position; () weights mean each
    # feature's default weight (texture 0.5, xy 0.3), the same as writing them out.
    params = KMeansParams()
    assert params.features == ("lab", "gabor", "xy") and params.weights == ()
    image, _ = _blocks()
    explicit = dataclasses.replace(params, n_clusters=4, weights=(1.0, 0.5, 0.3))
    assert np.array_equal(kmeans_segment(image, dataclasses.replace(params, n_clusters=4)),
                          kmeans_segment(image, explicit))
    assert len(kmeans_segmenter().sweep_values) == 12


def test_segmenter_rejects_unknown_parameter():
    with pytest.raises(ValueError, match=r"kmeans has no parameter 'k'; valid parameters"):
        kmeans_segmenter(k=3)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, error, match", [
    ({"features": ("lab", "colour")}, ValueError,
     r"unknown feature 'colour'; valid names are " + ", ".join(FEATURES)),
    ({"features": "lab"}, TypeError, r"features must be a tuple of names such as \('lab',\)"),
    ({"features": ()}, ValueError, r"features is empty; choose from rgb"),
    ({"features": ("lab", "lab")}, ValueError, r"features names a feature twice"),
    ({"n_clusters": 0}, ValueError, r"n_clusters must be >= 1; got 0"),
    ({"n_clusters": "many"}, ValueError, r"n_clusters must be an integer >= 1 or 'auto'"),
    ({"n_clusters": 2.5}, TypeError, r"n_clusters must be an integer"),
    ({"criterion": "aic"}, ValueError,
     r"criterion must be one of 'silhouette', 'bic'; got 'aic'"),
    ({"k_range": (5, 2)}, ValueError, r"k_range must have lo <= hi; got \(5, 2\)"),
    ({"k_range": (1, 4)}, ValueError, r"k_range\[0\] must be >= 2; got 1"),
    ({"k_range": 4}, TypeError, r"k_range must be a pair"),
    ({"weights": (1.0,), "features": ("lab", "xy")}, ValueError,
     r"weights must have one entry per feature \(2 for"),
    ({"weights": (1.0, -1.0), "features": ("lab", "xy")}, ValueError,
     r"weights\[1\] must be >= 0"),
    ({"wavelengths": (1.0,)}, ValueError, r"wavelengths must be >= 2"),
    ({"window": 8}, ValueError, r"window must be odd.*Use 9"),
    ({"sample_size": 0}, ValueError, r"sample_size must be >= 1"),
    ({"n_init": 0}, ValueError, r"n_init must be >= 1"),
    ({"min_size": -1}, ValueError, r"min_size must be >= 0"),
    ({"connectivity": 6}, ValueError, r"connectivity must be 4 or 8; got 6"),
    ({"seed": -1}, ValueError, r"seed must be >= 0"),
    ({"predicate": "mean_lab(10) &"}, ValueError, r"cannot parse predicate|expected"),
    ({"predicate": "mean_lab(10) & range_rgb(0.2)"}, ValueError, r"mixes colour spaces"),
    ({"predicate": 3}, TypeError, r"predicate must be None, a Predicate or its text"),
])
def test_bad_params(changes, error, match):
    with pytest.raises(error, match=match):
        KMeansParams(**changes)


def test_bad_image_and_params_kind():
    with pytest.raises(ValueError, match=r"If channels come first, pass np.moveaxis"):
        kmeans_segment(np.zeros((3, 10, 12)))
    with pytest.raises(ValueError, match=r"expected \[0, 1\]"):
        kmeans_segment(np.full((4, 4), 2.0))
    with pytest.raises(TypeError, match=r"params must be KMeansParams; got dict"):
        kmeans_segment(np.zeros((4, 4)), {"n_clusters": 2})
