"""Tests for classical.predicates: RegionStats, predicates, combinators, text syntax."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from skimage import color

from classical.predicates import (
    SPACES,
    SRM,
    And,
    BorderStats,
    Boundary,
    MaxSize,
    MaxStd,
    MeanDistance,
    MinSize,
    Not,
    Or,
    Predicate,
    Range,
    RegionStats,
    TextureDistance,
    Weighted,
    border_sigma,
    parse_predicate,
    predicate_features,
    required_space,
)

# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def slow_stats(features, labels, label, texture=None, codes=None, n_bins=None):
    """Reference statistics of one label, pixel by pixel."""
    features = features.reshape(features.shape[0], features.shape[1], -1)
    count, total, total_sq = 0, 0.0, 0.0
    low = np.full(features.shape[2], np.inf)
    high = np.full(features.shape[2], -np.inf)
    rows, cols = [], []
    tex = tex_sq = 0.0
    hist = np.zeros(n_bins) if codes is not None else None
    for r in range(labels.shape[0]):
        for c in range(labels.shape[1]):
            if labels[r, c] != label:
                continue
            x = features[r, c].astype(np.float64)
            count += 1
            total = total + x
            total_sq = total_sq + x * x
            low = np.minimum(low, x)
            high = np.maximum(high, x)
            rows.append(r)
            cols.append(c)
            if texture is not None:
                t = texture[r, c].astype(np.float64)
                tex, tex_sq = tex + t, tex_sq + t * t
            if codes is not None:
                hist[codes[r, c]] += 1
    bbox = (min(rows), min(cols), max(rows) + 1, max(cols) + 1) if count else None
    return dict(count=count, sum=total, sumsq=total_sq, min=low, max=high, bbox=bbox,
                texture_sum=tex, texture_sumsq=tex_sq, histogram=hist)


def assert_stats_close(stats, reference):
    """Compare one region's RegionStats with another's (or with slow_stats output)."""
    if isinstance(reference, RegionStats):
        reference = dict(count=reference.count, sum=reference.sum, sumsq=reference.sumsq,
                         min=reference.min, max=reference.max, bbox=reference.bbox,
                         texture_sum=reference.texture_sum,
                         texture_sumsq=reference.texture_sumsq, histogram=reference.histogram)
    assert int(stats.count) == int(reference["count"])
    for name in ("sum", "sumsq", "min", "max"):
        np.testing.assert_allclose(getattr(stats, name), reference[name], rtol=1e-12,
                                   atol=1e-12, err_msg=name)
    if reference["bbox"] is not None:
        assert tuple(stats.bbox) == tuple(reference["bbox"])
    if stats.texture_sum is not None:
        np.testing.assert_allclose(stats.texture_sum, reference["texture_sum"], atol=1e-12)
        np.testing.assert_allclose(stats.texture_sumsq, reference["texture_sumsq"], atol=1e-12)
    if stats.histogram is not None:
        np.testing.assert_array_equal(stats.histogram, reference["histogram"])


def constant_stats(value, n, *, image_size=None):
    """A region of `n` pixels all equal to `value` (scalar or per-channel)."""
    pixels = np.tile(np.atleast_1d(np.asarray(value, dtype=np.float64)), (n, 1))
    return RegionStats.from_pixels(pixels, image_size=image_size)


@st.composite
def images_and_labels(draw, max_side=6, max_labels=4):
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    channels = draw(st.integers(1, 3))
    values = st.floats(0, 1, allow_nan=False, width=32)
    features = draw(hnp.arrays(np.float64, (height, width, channels), elements=values))
    labels = draw(hnp.arrays(np.int64, (height, width),
                             elements=st.integers(0, max_labels - 1)))
    texture = draw(hnp.arrays(np.float64, (height, width, 2), elements=values))
    codes = draw(hnp.arrays(np.int64, (height, width), elements=st.integers(0, 4)))
    return features, labels, texture, codes


# ----------------------------------------------------------------------------------------
# RegionStats
# ----------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(images_and_labels())
def test_from_labels_matches_slow_reference(data):
    features, labels, texture, codes = data
    stats = RegionStats.from_labels(features, labels, texture=texture, histograms=codes,
                                    n_bins=5)
    assert stats.shape == (labels.max() + 1,)
    assert stats.image_size == labels.size
    for label in range(labels.max() + 1):
        reference = slow_stats(features, labels, label, texture, codes, n_bins=5)
        if reference["count"] == 0:
            assert stats.count[label] == 0
            assert np.all(stats.min[label] == np.inf) and np.all(stats.max[label] == -np.inf)
            assert np.all(stats.mean[label] == 0)
            continue
        assert_stats_close(stats[label], reference)


@settings(max_examples=60, deadline=None)
@given(images_and_labels(), st.data())
def test_merge_equals_stats_recomputed_from_scratch(data, draw):
    features, labels, texture, codes = data
    stats = RegionStats.from_labels(features, labels, texture=texture, histograms=codes,
                                    n_bins=5)
    present = np.unique(labels)
    i = draw.draw(st.sampled_from(present))
    j = draw.draw(st.sampled_from(present))
    if i == j:
        return
    merged = stats[i].merge(stats[j])
    union = (labels == i) | (labels == j)
    rows, cols = np.nonzero(union)
    scratch = RegionStats.from_pixels(features[union], coords=np.stack([rows, cols], axis=1),
                                      texture=texture[union], histograms=codes[union],
                                      n_bins=5, image_size=labels.size)
    assert_stats_close(merged, scratch)
    np.testing.assert_allclose(merged.mean, scratch.mean, atol=1e-12)
    np.testing.assert_allclose(merged.var, features[union].var(axis=0), atol=1e-9)
    # Relabelling j as i and recomputing everything gives the same statistics.
    relabelled = np.where(labels == j, i, labels)
    again = RegionStats.from_labels(features, relabelled, texture=texture, histograms=codes,
                                    n_bins=5, n_labels=len(stats))
    assert_stats_close(merged, again[i])


def test_merge_is_vectorised_over_edges(rng):
    features = rng.random((8, 9, 3))
    labels = rng.integers(0, 6, size=(8, 9))
    stats = RegionStats.from_labels(features, labels)
    edges = np.array([[0, 1], [2, 3], [4, 5], [1, 4]])
    merged = stats[edges[:, 0]].merge(stats[edges[:, 1]])
    assert merged.shape == (4,)
    for k, (i, j) in enumerate(edges):
        assert_stats_close(merged[k], stats[i].merge(stats[j]))


def test_union_and_singletons(rng):
    features = rng.random((4, 5, 3))
    labels = rng.integers(0, 3, size=(4, 5))
    stats = RegionStats.from_labels(features, labels)
    whole = RegionStats.from_labels(features, np.zeros((4, 5), dtype=int))[0]
    assert_stats_close(stats.union(), whole)
    singles = RegionStats.singletons(features)
    assert singles.shape == (4, 5)
    by_label = RegionStats.from_labels(features, np.arange(20).reshape(4, 5))
    assert_stats_close(singles[2, 3], by_label[13])
    assert singles.image_size == 20
    assert np.all(singles.var == 0)


def test_constant_region_has_exactly_zero_variance():
    stats = constant_stats([0.1, 73.7, -3.3], 1000)
    assert np.all(stats.var == 0)
    assert MaxStd(0, space="features")(stats) is True


def test_stats_derived_quantities():
    stats = RegionStats.from_pixels(np.array([[0.0], [2.0]]), texture=np.array([[1.0], [3.0]]),
                                    histograms=np.array([0, 2]), n_bins=3)
    assert stats.mean.tolist() == [1.0]
    assert stats.var.tolist() == [1.0]
    assert stats.std.tolist() == [1.0]
    assert stats.range.tolist() == [2.0]
    assert stats.texture_mean.tolist() == [2.0]
    assert stats.texture_var.tolist() == [1.0]
    assert stats.histogram_density.tolist() == [0.5, 0.0, 0.5]
    assert stats.shape == () and stats.n_channels == 1
    assert "RegionStats(shape=(), channels=1" in repr(stats)


def test_histograms_from_per_pixel_weights(rng):
    features = rng.random((3, 4))
    labels = np.array([[0, 0, 1, 1]] * 3)
    weights = rng.random((3, 4, 5))
    stats = RegionStats.from_labels(features, labels, histograms=weights)
    np.testing.assert_allclose(stats.histogram[1], weights[:, 2:].sum(axis=(0, 1)))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda f, l: RegionStats.from_labels(f, l - 1), ValueError, "non-negative"),
        (lambda f, l: RegionStats.from_labels(f[:2], l), ValueError, "same height and width"),
        (lambda f, l: RegionStats.from_labels(f, l, n_labels=1), ValueError, "n_labels"),
        (lambda f, l: RegionStats.from_labels(f, l.astype(float)), TypeError, "integer labels"),
        (lambda f, l: RegionStats.from_labels(np.full_like(f, np.nan), l), ValueError, "NaN"),
        (lambda f, l: RegionStats.from_labels(f.astype(bool), l), TypeError, "real numbers"),
        (lambda f, l: RegionStats.from_labels(f[..., None, None], l), ValueError, "shape"),
        (lambda f, l: RegionStats.from_labels(f, l, histograms=l + 7, n_bins=3),
         ValueError, "outside 0..2"),
        (lambda f, l: RegionStats.from_labels(f, l, texture=f[:1]), ValueError, "texture"),
        (lambda f, l: RegionStats.from_pixels(f[:0, 0]), ValueError, "empty"),
        (lambda f, l: RegionStats.from_pixels(f[0], coords=np.zeros((1, 2))), ValueError,
         "coords"),
    ],
)
def test_stats_bad_input(rng, call, error, match):
    features = rng.random((3, 4, 2))
    labels = np.arange(12).reshape(3, 4) % 3
    with pytest.raises(error, match=match):
        call(features, labels)


def test_merge_mismatch_errors(rng):
    features = rng.random((3, 4, 2))
    labels = np.arange(12).reshape(3, 4) % 3
    plain = RegionStats.from_labels(features, labels)
    textured = RegionStats.from_labels(features, labels, texture=features)
    with pytest.raises(ValueError, match="with and without texture_sum"):
        plain[0].merge(textured[1])
    with pytest.raises(TypeError, match="other must be RegionStats"):
        plain[0].merge(3)
    with pytest.raises(ValueError, match="images of 12 and 99 pixels"):
        plain[0].merge(RegionStats.from_pixels(features[0], image_size=99))
    with pytest.raises(TypeError, match="single region"):
        plain[0][0]
    with pytest.raises(ValueError, match="texture_mean needs statistics built with texture"):
        plain.texture_mean


# ----------------------------------------------------------------------------------------
# Leaf predicates: truth tables
# ----------------------------------------------------------------------------------------


def test_range_truth_table():
    region = RegionStats.from_pixels(np.array([[0.1, 0.5, 0.5], [0.3, 0.5, 0.6]]))
    assert Range(0.2)(region) is True
    assert Range(0.19)(region) is False  # channel 0 spans 0.2
    assert Range(0)(constant_stats([0.4, 0.4, 0.4], 5)) is True
    a, b = constant_stats([0.0, 0.0, 0.0], 3), constant_stats([0.0, 0.25, 0.0], 2)
    assert Range(0.25).mergeable(a, b) is True
    assert Range(0.24).mergeable(a, b) is False
    assert Range(0.1).distance(a, b) == 0.25


def test_max_std_truth_table():
    region = RegionStats.from_pixels(np.array([[0.0], [1.0]]))  # std 0.5
    assert MaxStd(0.5, space="grey")(region) is True
    assert MaxStd(0.49, space="grey")(region) is False
    a, b = constant_stats(0.0, 1), constant_stats(1.0, 1)
    assert MaxStd(0.5, space="grey").mergeable(a, b) is True
    assert MaxStd(0.49, space="grey").mergeable(a, b) is False
    assert MaxStd(0.1, space="grey").distance(a, b) == 0.5


def test_mean_distance_truth_table():
    a, b = constant_stats([50.0, 3.0, 0.0], 10), constant_stats([50.0, 0.0, 4.0], 1)
    assert MeanDistance(5).distance(a, b) == 5.0
    assert MeanDistance(5).mergeable(a, b) is True
    assert MeanDistance(4.99).mergeable(a, b) is False
    # P(R): RMS distance of the pixels to the mean; here sqrt(1 + 0 + 0) = 1.
    region = RegionStats.from_pixels(np.array([[50.0, 0.0, 0.0], [52.0, 0.0, 0.0]]))
    assert MeanDistance(1)(region) is True
    assert MeanDistance(0.99)(region) is False
    # The classic seeded region growing test: one pixel against a region's mean.
    pixel = RegionStats.from_pixels(np.array([[51.0, 0.0, 2.0]]))
    assert MeanDistance(2)(pixel) is True
    assert MeanDistance(2).mergeable(region, pixel) is True
    assert MeanDistance(1.99).mergeable(region, pixel) is False


def srm_bound(q, g, n_a, n_b, image_size):
    log_term = math.log(2 * 6 * image_size**2)
    return math.sqrt(g * g * log_term / (2 * q) * (1 / n_a + 1 / n_b))


def test_srm_separates_different_means_and_merges_equal_means():
    size = 200 * 200
    dark = constant_stats([0.1, 0.1, 0.1], 20000, image_size=size)
    bright = constant_stats([0.9, 0.9, 0.9], 20000, image_size=size)
    also_dark = constant_stats([0.1, 0.1, 0.1], 20000, image_size=size)
    assert SRM(32).mergeable(dark, bright) is False
    assert SRM(32).mergeable(dark, also_dark) is True
    assert SRM(32)(dark) is True  # SRM tests pairs only
    assert SRM(32).distance(dark, also_dark) == 0.0


@pytest.mark.parametrize("q", [4.0, 32.0, 256.0])
def test_srm_bound_is_exact(q):
    size, n_a, n_b = 100, 3, 7
    bound = srm_bound(q, 1.0, n_a, n_b, size)
    for gap, expected in [(0.999 * bound, True), (1.001 * bound, False)]:
        a = constant_stats(0.0, n_a, image_size=size)
        b = constant_stats(gap, n_b, image_size=size)
        assert SRM(q, space="grey").mergeable(a, b) is expected
        assert SRM(q, space="grey").distance(a, b) == pytest.approx(gap / bound)


def test_srm_small_regions_merge_more_readily():
    size = 200
    one_a, one_b = constant_stats(0.0, 1, image_size=size), constant_stats(0.8, 1, image_size=size)
    big_a = constant_stats(0.0, 50, image_size=size)
    big_b = constant_stats(0.8, 50, image_size=size)
    srm = SRM(4, space="grey")
    assert srm.mergeable(one_a, one_b) is True
    assert srm.mergeable(big_a, big_b) is False


def test_srm_lab_and_g():
    size = 10_000
    a = constant_stats([50.0, 0.0, 0.0], 100, image_size=size)
    b = constant_stats([50.0, 0.0, 1.0], 100, image_size=size)
    srm = SRM(32, space="lab")
    expected = 1.0 / srm_bound(32, 202.335, 100, 100, size)
    assert srm.distance(a, b) == pytest.approx(expected)
    with_g = SRM(32, space="lab", g=1000.0)
    assert with_g.distance(a, b) == pytest.approx(1.0 / srm_bound(32, 1000.0, 100, 100, size))


def test_srm_needs_image_size():
    a, b = constant_stats([0.1] * 3, 4), constant_stats([0.2] * 3, 4)
    with pytest.raises(ValueError, match="needs the image size"):
        SRM(32).mergeable(a, b)


def test_texture_distance_l2_and_chi2():
    a = RegionStats.from_pixels(np.zeros((2, 1)), texture=np.array([[0.0, 0.0], [0.0, 2.0]]),
                                histograms=np.array([0, 0]), n_bins=2)
    b = RegionStats.from_pixels(np.zeros((1, 1)), texture=np.array([[3.0, 1.0]]),
                                histograms=np.array([1]), n_bins=2)
    assert TextureDistance(3).distance(a, b) == 3.0  # means (0, 1) and (3, 1)
    assert TextureDistance(3).mergeable(a, b) is True
    assert TextureDistance(2.9).mergeable(a, b) is False
    assert TextureDistance(1)(a) is True  # RMS spread of descriptors: 1
    assert TextureDistance(0.99)(a) is False
    chi2 = TextureDistance(1, metric="chi2")
    assert chi2.distance(a, b) == 1.0  # disjoint histograms
    assert chi2.distance(a, a) == 0.0
    assert chi2.mergeable(a, b) is True
    assert TextureDistance(0.99, metric="chi2").mergeable(a, b) is False
    assert chi2(a) is True
    plain = constant_stats(0.0, 2)
    with pytest.raises(ValueError, match="built with texture="):
        TextureDistance(1).mergeable(plain, plain)
    with pytest.raises(ValueError, match="built with histograms="):
        chi2.mergeable(plain, plain)


def test_size_predicates():
    a, b = constant_stats(0.0, 12), constant_stats(0.0, 8)
    assert MinSize(12)(a) is True and MinSize(13)(a) is False
    assert MaxSize(12)(a) is True and MaxSize(11)(a) is False
    assert MinSize(20).mergeable(a, b) is True and MinSize(21).mergeable(a, b) is False
    assert MaxSize(20).mergeable(a, b) is True and MaxSize(19).mergeable(a, b) is False
    with pytest.raises(TypeError, match="defines no distance"):
        MinSize(3).distance(a, b)


def test_weighted_mixes_normalised_distances():
    a = RegionStats.from_pixels(np.zeros((1, 3)), texture=np.zeros((1, 1)))
    b = RegionStats.from_pixels(np.array([[5.0, 0.0, 0.0]]), texture=np.array([[3.0]]))
    colour, texture = MeanDistance(10), TextureDistance(2)  # ratios 0.5 and 1.5
    assert Weighted(colour, texture, 0.5).distance(a, b) == pytest.approx(1.0)
    assert Weighted(colour, texture, 0.5).mergeable(a, b) is True
    assert Weighted(colour, texture, 0.6).mergeable(a, b) is False
    assert Weighted(colour, texture, 0.0).mergeable(a, b) is colour.mergeable(a, b)
    assert Weighted(colour, texture, 1.0).mergeable(a, b) is texture.mergeable(a, b)
    assert Weighted(colour, TextureDistance(0), 0.0).mergeable(a, b) is True
    assert Weighted(colour, texture).spaces == {"lab"} and Weighted(colour, texture).uses_texture
    with pytest.raises(TypeError, match="texture must be a range, std, mean, srm, texture, "
                                        "boundary or weighted"):
        Weighted(colour, MinSize(3))
    with pytest.raises(ValueError, match="weight must be <= 1"):
        Weighted(colour, texture, 1.5)


def test_predicates_are_vectorised(rng):
    features = rng.random((10, 10, 3))
    labels = rng.integers(0, 8, size=(10, 10))
    labels[0, :8] = np.arange(8)  # every label occurs
    stats = RegionStats.from_labels(features, labels)
    predicates = [Range(0.9), MaxStd(0.3), MeanDistance(0.4, space="rgb"), SRM(8),
                  MinSize(12) | ~MaxStd(0.28), Weighted(Range(0.9), MaxStd(0.3), 0.3)]
    for predicate in predicates:
        many = predicate(stats)
        assert many.dtype == bool and many.shape == (8,)
        assert many.tolist() == [predicate(stats[k]) for k in range(8)]
        merged = predicate.mergeable(stats[:4], stats[4:])
        assert merged.tolist() == [predicate.mergeable(stats[k], stats[k + 4])
                                   for k in range(4)]


def test_channel_count_is_checked():
    grey = constant_stats(0.5, 3)
    with pytest.raises(ValueError, match="3 channel"):
        MeanDistance(10)(grey)
    assert MeanDistance(10, space="features")(grey) is True


@pytest.mark.parametrize(
    "factory, error, match",
    [
        (lambda: Range(-0.1), ValueError, "threshold must be >= 0"),
        (lambda: Range("0.1"), TypeError, "threshold must be a real number"),
        (lambda: MaxStd(math.inf), ValueError, "threshold must be finite"),
        (lambda: MeanDistance(1, space="xyz"), ValueError, "space must be one of"),
        (lambda: SRM(0), ValueError, "q must be > 0"),
        (lambda: SRM(32, g=-1.0), ValueError, "g must be > 0"),
        (lambda: TextureDistance(1, metric="l1"), ValueError, "metric must be one of"),
        (lambda: MinSize(2.5), TypeError, "size must be an integer"),
        (lambda: MaxSize(0), ValueError, "size must be >= 1"),
        (lambda: And(Range(1)), ValueError, "at least two operands"),
        (lambda: Not(3), TypeError, "operand must be a predicate"),
        (lambda: Range(1) & 3, TypeError, "unsupported operand"),
    ],
)
def test_predicate_bad_parameters(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_predicate_needs_region_stats():
    with pytest.raises(TypeError, match="stats must be RegionStats"):
        Range(1)(np.zeros(3))


# ----------------------------------------------------------------------------------------
# Combinators
# ----------------------------------------------------------------------------------------


def test_combinator_truth_tables():
    small, big = constant_stats(0.0, 5), constant_stats(0.0, 50)
    both = RegionStats.from_labels(np.zeros((1, 55)), np.array([[0] * 5 + [1] * 50]))
    is_big, not_huge = MinSize(10), MaxSize(40)
    assert (is_big & not_huge)(both).tolist() == [False, False]
    assert (is_big | not_huge)(both).tolist() == [True, True]
    assert (~is_big)(both).tolist() == [True, False]
    assert (is_big & ~not_huge)(big) is True
    assert (~is_big | ~not_huge)(small) is True
    assert (is_big & not_huge).mergeable(small, small) is True  # union of 10
    assert (~is_big).mergeable(small, small) is False


def test_combinators_flatten_and_compare():
    a, b, c = Range(0.1), MaxStd(0.2), MinSize(3)
    assert (a & b) & c == a & (b & c) == And(a, b, c)
    assert (a | b) | c == Or(a, b, c)
    assert len({a & b, And(a, b), a | b}) == 2
    assert ~~a == Not(Not(a)) != a
    assert (a & b).spaces == {"rgb"} and not (a & c).uses_texture
    assert (TextureDistance(1, metric="chi2") | c).uses_histogram


def test_required_space():
    assert required_space(MeanDistance(10) & TextureDistance(0.3)) == "lab"
    assert required_space(MinSize(3)) is None
    assert required_space(~Range(0.1)) == "rgb"
    with pytest.raises(ValueError, match="mixes colour spaces lab, rgb"):
        required_space(MeanDistance(10) & Range(0.1))
    with pytest.raises(TypeError, match="predicate must be a Predicate"):
        required_space("mean_lab(10)")


def test_predicate_features_build_what_the_predicate_needs(rng):
    image = rng.random((6, 7, 3))
    labels = np.arange(42).reshape(6, 7) // 10
    inputs = predicate_features(parse_predicate("mean_lab(10) & texture_chi2(0.3)"), image)
    assert inputs["features"].shape == (6, 7, 3) and inputs["texture"] is None
    assert inputs["histograms"].shape == (6, 7) and inputs["n_bins"] == 10
    stats = RegionStats.from_labels(labels=labels, **inputs)
    assert stats.histogram.shape == (5, 10)
    np.testing.assert_allclose(stats[0].mean, color.rgb2lab(image).reshape(-1, 3)[:10].mean(0),
                               atol=1e-3)
    singles = RegionStats.singletons(**predicate_features(TextureDistance(1) | MinSize(3),
                                                          image[..., 0]))
    assert singles.shape == (6, 7) and singles.n_channels == 1  # grey without colour leaves
    assert singles.texture_sum.shape == (6, 7, 12)
    with pytest.raises(ValueError, match="mixes colour spaces"):
        predicate_features(Range(0.1) & MeanDistance(3), image)
    with pytest.raises(ValueError, match="custom feature stack"):
        predicate_features(Range(0.1, space="features"), image)
    with pytest.raises(ValueError, match="channels come first"):
        predicate_features(Range(0.1), np.moveaxis(image, -1, 0))


# ----------------------------------------------------------------------------------------
# Text syntax
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mean_lab(10) & texture(0.3)", MeanDistance(10) & TextureDistance(0.3)),
        ("range(0.1) | ~min_size(20)", Range(0.1) | ~MinSize(20)),
        ("srm(32)", SRM(32)),
        ("srm()", SRM()),
        ("srm_lab(16, g=150)", SRM(16, space="lab", g=150.0)),
        ("mean(2.5, space=rgb)", MeanDistance(2.5, space="rgb")),
        ("std_grey(1e-2)", MaxStd(0.01, space="grey")),
        ("texture(0.2, metric=chi2)", TextureDistance(0.2, metric="chi2")),
        ("max_size(100)", MaxSize(100)),
        ("range(threshold=0.1)", Range(0.1)),
        ("~~range(1)", Not(Not(Range(1)))),
        ("range(1) | std(1) & min_size(2)", Range(1) | (MaxStd(1) & MinSize(2))),
        ("(range(1) | std(1)) & min_size(2)", (Range(1) | MaxStd(1)) & MinSize(2)),
        ("~range(1) & std(1)", Not(Range(1)) & MaxStd(1)),
        ("~(range(1) & std(1))", Not(Range(1) & MaxStd(1))),
        ("weighted(mean_lab(10), texture_l2(0.3), 0.25)",
         Weighted(MeanDistance(10), TextureDistance(0.3), 0.25)),
        ("weighted(mean_lab(10), texture_l2(0.3), weight=0.25)",
         Weighted(MeanDistance(10), TextureDistance(0.3), 0.25)),
        ("  range ( 0.1 )|min_size(2)  ", Range(0.1) | MinSize(2)),
    ],
)
def test_parse_predicate(text, expected):
    parsed = parse_predicate(text)
    assert parsed == expected
    assert parse_predicate(repr(parsed)) == parsed


def test_repr_is_readable():
    predicate = (MeanDistance(10) & TextureDistance(0.3)) | ~(MinSize(20) | MaxStd(0.05))
    assert repr(predicate) == "mean_lab(10) & texture_l2(0.3) | ~(min_size(20) | std_rgb(0.05))"
    assert repr(SRM(32, g=256.0)) == "srm_rgb(32, g=256)"
    nested = And(Range(1) | MinSize(2), MaxSize(3))
    assert repr(nested) == "(range_rgb(1) | min_size(2)) & max_size(3)"


thresholds = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
spaces = st.sampled_from(sorted(SPACES))
thresholded = st.one_of(
    st.builds(Range, thresholds, space=spaces),
    st.builds(MaxStd, thresholds, space=spaces),
    st.builds(MeanDistance, thresholds, space=spaces),
    st.builds(SRM, st.floats(1e-3, 1e4), space=spaces,
              g=st.none() | st.floats(1e-3, 1e4)),
    st.builds(TextureDistance, thresholds, metric=st.sampled_from(["l2", "chi2"])),
)
leaves = st.one_of(
    thresholded,
    st.builds(MinSize, st.integers(0, 10**6)),
    st.builds(MaxSize, st.integers(1, 10**6)),
    st.builds(Weighted, thresholded, thresholded, st.floats(0, 1)),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda ps: And(*ps)),
        st.lists(children, min_size=2, max_size=3).map(lambda ps: Or(*ps)),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(trees)
def test_repr_round_trips_through_parse(predicate):
    assert isinstance(predicate, Predicate)
    text = repr(predicate)
    assert parse_predicate(text) == predicate
    assert repr(parse_predicate(text)) == text


@pytest.mark.parametrize(
    "text, match",
    [
        ("foo(1)", r"unknown predicate 'foo'; valid names are boundary, max_size, mean, .*weighted"),
        ("mean_luv(3)", r"unknown predicate 'mean_luv'; valid names are .*mean_lab"),
        ("range(0.1", r"position 9: expected '\)', found end of text"),
        ("range(0.1))", r"unexpected '\)' after a complete predicate"),
        ("range(0.1) range(2)", r"missing '&' or '\|'"),
        ("range(0.1) &", r"expected a predicate such as mean_lab\(10\)"),
        ("& range(0.1)", r"position 0: expected a predicate"),
        ("range 0.1", r"expected '\(', found '0.1'"),
        ("range(0.1) $ std(1)", r"unexpected character '\$'"),
        ("range()", r"range needs threshold: range\(threshold, space=...\)"),
        ("range(1, 2)", r"range takes at most 1 positional argument"),
        ("range(1, colour=lab)", r"range has no argument 'colour'"),
        ("mean_lab(1, space=rgb)", r"mean_lab already fixes space=lab"),
        ("range(1, threshold=2)", r"both by position and by keyword"),
        ("range(space=lab, 1)", r"positional argument after keyword"),
        ("range(1, space=lab, space=rgb)", r"got space= twice"),
        ("range(-1)", r"in range\(...\): threshold must be >= 0"),
        ("range(lab)", r"threshold must be a real number"),
        ("min_size(2.5)", r"size must be an integer"),
        ("weighted(min_size(2), texture(1))", r"colour must be a range, std, mean, srm"),
        ("mean(1, space=luv)", r"space must be one of"),
        ("", r"the text is empty"),
        ("   ", r"the text is empty"),
    ],
)
def test_parse_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_predicate(text)


def test_parse_needs_text():
    with pytest.raises(TypeError, match="text must be a string"):
        parse_predicate(Range(1))


# --------------------------------------------------------------------------------------
# Border statistics and the boundary predicate
# --------------------------------------------------------------------------------------


def _border_reference(labels, strength, connectivity):
    """Slow reference: loop over every neighbouring pixel pair."""
    offsets = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if connectivity == 8 else [])
    sums, counts = {}, {}
    h, w = labels.shape
    for r in range(h):
        for c in range(w):
            for dr, dc in offsets:
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < h and 0 <= c2 < w and labels[r, c] != labels[r2, c2]:
                    key = tuple(sorted((int(labels[r, c]), int(labels[r2, c2]))))
                    sums[key] = sums.get(key, 0.0) + max(strength[r, c], strength[r2, c2])
                    counts[key] = counts.get(key, 0) + 1
    return sums, counts


@pytest.mark.parametrize("connectivity", [4, 8])
def test_border_stats_match_slow_reference(rng, connectivity):
    labels = rng.integers(0, 5, size=(9, 11))
    strength = rng.random((9, 11))
    pairs, border = BorderStats.from_labels(labels, strength, connectivity=connectivity)
    sums, counts = _border_reference(labels, strength, connectivity)
    assert [tuple(p) for p in pairs.tolist()] == sorted(sums)
    assert border.sum.tolist() == pytest.approx([sums[tuple(p)] for p in pairs.tolist()])
    assert border.count.tolist() == [counts[tuple(p)] for p in pairs.tolist()]
    # Requested pairs, in either order; a pair that does not touch has count 0.
    labels[:, :] = 0
    labels[:, -1] = 2
    _, some = BorderStats.from_labels(labels, strength, pairs=[[2, 0], [0, 1], [0, 2]],
                                      connectivity=connectivity)
    assert some.count.tolist()[1] == 0 and some.count[0] == some.count[2] > 0


def test_border_stats_add_when_regions_merge(rng):
    # Border of A with B u C == border of A with B + border of A with C.
    labels = np.zeros((6, 9), np.int64)
    labels[:, 3:6] = 1
    labels[:, 6:] = 2
    labels[4:, :] = 3  # region 3 (A) touches 0, 1 and 2
    strength = rng.random(labels.shape)
    pairs, border = BorderStats.from_labels(labels, strength)
    index = {tuple(p): k for k, p in enumerate(pairs.tolist())}
    merged = np.where(labels == 2, 1, labels)
    _, together = BorderStats.from_labels(merged, strength, pairs=[[1, 3]])
    expected = border[index[(1, 3)]].merge(border[index[(2, 3)]])
    assert together.sum[0] == pytest.approx(float(expected.sum))
    assert together.count[0] == expected.count
    assert float(expected.mean) == pytest.approx(float(expected.sum / expected.count))


def test_boundary_predicate_reads_the_border():
    a = RegionStats.from_pixels(np.zeros((1, 3)))
    b = RegionStats.from_pixels(np.full((1, 3), 50.0))
    weak, strong = BorderStats(np.array(2.0), np.array(4.0)), BorderStats(np.array(40.0),
                                                                           np.array(4.0))
    p = Boundary(1.0)
    assert p.mergeable(a, b, weak) is True and p.mergeable(a, b, strong) is False
    assert p.distance(a, b, strong) == pytest.approx(10.0)
    assert p(a) is True and p.uses_border and not MeanDistance(3).uses_border
    with pytest.raises(ValueError, match=r"boundary\(1\) compares the border.*pass border="):
        p.mergeable(a, b)
    with pytest.raises(TypeError, match="border must be BorderStats or None; got dict"):
        p.mergeable(a, b, {"sum": 1})
    # Weighted mixes it like any thresholded part, also nested (colour, texture, boundary).
    w = Weighted(MeanDistance(100.0), p, 0.5)  # colour ratio 0.87, boundary 0.5 or 10
    assert w.mergeable(a, b, weak) is True and w.mergeable(a, b, strong) is False
    nested = Weighted(Weighted(MeanDistance(100.0), TextureDistance(1.0), 0.0), p, 0.5)
    a_t = RegionStats.from_pixels(np.zeros((1, 3)), texture=np.zeros((1, 1)))
    b_t = RegionStats.from_pixels(np.full((1, 3), 50.0), texture=np.zeros((1, 1)))
    assert nested.distance(a_t, b_t, weak) == pytest.approx(w.distance(a, b, weak))
    assert (nested & MinSize(1)).uses_border and (~p).uses_border and (p | p).uses_border
    # Other predicates ignore the border.
    assert MeanDistance(100.0).mergeable(a, b, strong) is True


def test_boundary_text_and_sigma():
    p = parse_predicate("weighted(weighted(mean_lab(12), texture_l2(1.5), 0.3), "
                        "boundary(4, sigma=2), 0.25)")
    assert parse_predicate(repr(p)) == p and border_sigma(p) == 2.0
    assert repr(Boundary(4)) == "boundary(4)" and border_sigma(MeanDistance(3)) is None
    with pytest.raises(ValueError, match="mixes boundary smoothings sigma = 1, 2"):
        border_sigma(And(Boundary(1), Boundary(2, sigma=2)))
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        Boundary(1, sigma=-1)


def test_predicate_features_add_the_edge_map(rng):
    from classical.features import edge_strength

    image = rng.random((6, 7, 3))
    inputs = predicate_features(parse_predicate("weighted(mean_lab(9), boundary(3), 0.5)"),
                                image)
    assert np.array_equal(inputs["edges"], edge_strength(image, relative=True))
    assert "edges" not in predicate_features(MeanDistance(3), image)
