"""BSDS region metrics: exact small cases, a literal port of the official per-image code,
properties, and every bad-input path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.metrics.region import (
    RegionImage,
    collect_regions,
    evaluate_regions_image,
    probabilistic_rand_index,
    region_thresholds,
    segmentation_covering,
    ucm_to_labels,
    variation_of_information,
)


# ---- a literal, loop-by-loop port of the official MATLAB code for one label image ----
def _official_one(seg, partitions):
    """evaluation_reg_image.m for one segmentation; seg label 0 = unlabelled (dropped)."""
    with np.errstate(invalid="ignore", divide="ignore"):  # MATLAB's 0/0 = NaN
        return _official_one_nan(seg, partitions)


def _official_one_nan(seg, partitions):
    seg = np.asarray(seg, dtype=np.int64)
    # match_segmentations2.m: RI and VoI averaged over annotators
    sum_ri = sum_voi = 0.0
    for gt in partitions:
        conf = np.zeros((seg.max(), gt.max()))
        for u, v in zip(seg.ravel(), gt.ravel()):
            if u > 0 and v > 0:
                conf[u - 1, v - 1] += 1
        N = conf.sum()
        nu, nv = conf.sum(1), conf.sum(0)
        sum_ri += 1 - ((nu * nu).sum() / 2 + (nv * nv).sum() / 2 - (conf * conf).sum()) / (N * (N - 1) / 2)
        joint = conf / N
        m1, m2 = joint.sum(1), joint.sum(0)
        h1 = -(m1[m1 > 0] * np.log2(m1[m1 > 0])).sum()
        h2 = -(m2[m2 > 0] * np.log2(m2[m2 > 0])).sum()
        outer = np.outer(m1, m2)
        nz = joint > 0
        mi = (joint[nz] * np.log2(joint[nz] / outer[nz])).sum()
        sum_voi += h1 + h2 - 2 * mi
    # match_segmentations.m: overlaps with label-0 row/column kept in the areas
    rows = []
    for gt in partitions:
        num1, num2 = gt.max() + 1, seg.max() + 1
        conf = np.zeros((num1, num2))
        np.add.at(conf, (gt.ravel(), seg.ravel()), 1)
        acc = np.zeros((num1 - 1, num2 - 1))
        for j in range(1, num1):
            for i in range(1, num2):
                gtj, resj, both = conf[j, :].sum(), conf[:, i].sum(), conf[j, i]
                denom = gtj + resj - both
                acc[j - 1, i - 1] = both / denom if denom else np.nan
        rows.append(acc)
    matches = np.vstack(rows).T  # (seg regions, all gt regions)
    match_seg = np.nanmax(matches, axis=1)
    match_gt = np.nanmax(matches, axis=0)
    area_seg = np.bincount(seg.ravel(), minlength=seg.max() + 1)[1:]
    area_gt = np.concatenate([np.bincount(g.ravel(), minlength=g.max() + 1)[1:] for g in partitions])
    return dict(cntR=(area_gt * match_gt).sum(), sumR=area_gt.sum(),
                cntP=(area_seg * match_seg).sum(), sumP=area_seg.sum(),
                pri=sum_ri / len(partitions), voi=sum_voi / len(partitions), match_gt=match_gt)


def _random_partition(rng, shape, n):
    """Blocky random partition labelled 1..n (some labels may be missing)."""
    coarse = rng.integers(1, n + 1, size=(shape[0] // 3 + 1, shape[1] // 3 + 1))
    return np.kron(coarse, np.ones((3, 3), int))[: shape[0], : shape[1]]


def _random_ucm2(rng, shape):
    """A random (not ultrametric) map at double resolution, pixels mostly 0."""
    h, w = shape
    ucm2 = rng.random((2 * h + 1, 2 * w + 1)) ** 2
    ucm2[1::2, 1::2] = np.where(rng.random((h, w)) < 0.1, rng.random((h, w)), 0.0)
    return ucm2


# ---- exact small cases ---------------------------------------------------------------
GT = np.array([[1, 1, 2, 2],
               [1, 1, 2, 2]])


def test_exact_values_small():
    seg = np.array([[0, 0, 0, 1],
                    [0, 0, 0, 1]])
    # GT region 1 (4 px) vs seg 0 (6 px): J = 4/6; GT region 2 best is seg 1: J = 2/4
    assert segmentation_covering(seg, GT) == pytest.approx((4 * 4 / 6 + 4 * 2 / 4) / 8)
    # 28 pairs; joined in seg but split in GT: 4 * 2; split in seg but joined in GT: 2 * 2
    assert probabilistic_rand_index(seg, [GT]) == pytest.approx(1 - 12 / 28)
    # H(seg|GT) = 1/2 * H(1/2,1/2) = 0.5 bit, H(GT|seg) = 6/8 * H(4/6, 2/6)
    h = -(4 / 6 * np.log2(4 / 6) + 2 / 6 * np.log2(2 / 6))
    assert variation_of_information(seg, GT) == pytest.approx(0.5 + 0.75 * h)


def test_ground_truth_zero_is_left_out():
    gt = np.array([[1, 1, 0, 0]])
    seg = np.array([[5, 5, 7, 8]])
    assert segmentation_covering(seg, gt) == 1.0
    assert probabilistic_rand_index(seg, gt) == 1.0
    assert variation_of_information(seg, gt) == 0.0
    # but the machine region's area includes unlabelled pixels (official behaviour)
    assert segmentation_covering(np.array([[5, 5, 5, 8]]), gt) == pytest.approx(2 / 3)


def test_machine_label_zero_is_an_ordinary_region():
    seg = np.array([[0, 0, 3, 3], [0, 0, 3, 3]])
    assert segmentation_covering(seg, GT) == 1.0
    assert variation_of_information(seg, GT) == 0.0


def test_pri_averages_annotators():
    seg = np.array([[1, 1, 1, 2]])
    a, b = np.array([[1, 1, 1, 2]]), np.array([[1, 2, 2, 2]])
    assert probabilistic_rand_index(seg, [a, b]) == pytest.approx(
        (probabilistic_rand_index(seg, a) + probabilistic_rand_index(seg, b)) / 2)
    assert probabilistic_rand_index(seg, [a, b]) == pytest.approx((1 + 2 / 6) / 2)


def test_voi_relation_to_skimage(rng):
    """skimage returns [H(labels|gt), H(gt|labels)] in bits; their sum is our VoI."""
    from skimage.metrics import variation_of_information as sk_voi

    gt = _random_partition(rng, (30, 41), 6)
    gt[:4] = 0  # unlabelled rows
    seg = rng.integers(0, 5, size=gt.shape)
    ours = variation_of_information(seg, gt)
    theirs = sk_voi(gt, seg, ignore_labels=[0])
    assert ours == pytest.approx(theirs.sum(), abs=1e-12)


def test_matches_literal_official_port_for_segs(rng):
    shape = (17, 23)
    partitions = [_random_partition(rng, shape, k) for k in (3, 5, 9)]
    segs = [_random_partition(rng, shape, k) for k in (2, 4, 7, 12)]
    image = evaluate_regions_image(segs, partitions, kind="segs")
    refs = [_official_one(s, partitions) for s in segs]
    for key in ("cntR", "sumR", "cntP", "sumP", "pri", "voi"):
        np.testing.assert_allclose(getattr(image, key), [r[key] for r in refs], rtol=1e-12)
    best = np.max([r["match_gt"] for r in refs], axis=0)
    area_gt = np.concatenate([np.bincount(g.ravel(), minlength=g.max() + 1)[1:] for g in partitions])
    assert image.cntR_best == pytest.approx((area_gt * best).sum(), rel=1e-12)
    np.testing.assert_array_equal(image.thresholds, [1, 2, 3, 4])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ucm_sweep_matches_literal_port_per_threshold(seed):
    """The one-pass hierarchy equals labelling ucm2 <= t anew at every threshold,
    including image pixels that lie above a threshold (left out, as officially)."""
    rng = np.random.default_rng(seed)
    shape = (13, 19)
    partitions = [_random_partition(rng, shape, 4), _random_partition(rng, shape, 7)]
    ucm2 = _random_ucm2(rng, shape)
    nthresh = 9
    image = evaluate_regions_image(ucm2, partitions, kind="ucm", nthresh=nthresh)
    refs = [_official_one(ucm_to_labels(ucm2, t), partitions) for t in region_thresholds(nthresh)]
    for key in ("cntR", "sumR", "cntP", "sumP", "pri", "voi"):
        np.testing.assert_allclose(getattr(image, key), [r[key] for r in refs], rtol=1e-12,
                                   err_msg=key)
    best = np.max([r["match_gt"] for r in refs], axis=0)
    area_gt = np.concatenate([np.bincount(g.ravel(), minlength=g.max() + 1)[1:] for g in partitions])
    assert image.cntR_best == pytest.approx((area_gt * best).sum(), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_ucm_sweep_property(h, w, nthresh, seed):
    rng = np.random.default_rng(seed)
    partitions = [rng.integers(0, 3, size=(h, w))]
    partitions[0].flat[0] = 1
    ucm2 = np.round(_random_ucm2(rng, (h, w)), 1)  # ties with the thresholds happen
    image = evaluate_regions_image(ucm2, partitions, kind="ucm", nthresh=nthresh)
    for k, t in enumerate(region_thresholds(nthresh)):
        ref = _official_one(ucm_to_labels(ucm2, t), partitions) if ucm_to_labels(ucm2, t).any() \
            else None
        if ref is None:  # nothing labelled at this threshold
            assert image.sumP[k] == 0 and image.cntR[k] == 0
            continue
        for key in ("cntR", "sumR", "cntP", "sumP", "pri", "voi"):
            if key in ("pri", "voi") and ref[key] != ref[key]:
                continue  # the official code gives NaN with < 2 labelled pixels
            assert getattr(image, key)[k] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key


def test_ucm_to_labels_is_8_connected_on_the_double_grid():
    # two pixels touching only through a diagonal gap in the contour grid
    ucm2 = np.ones((5, 5))
    ucm2[1, 1] = ucm2[3, 3] = 0.0
    ucm2[2, 2] = 0.0  # the contour junction between them is open
    labels = ucm_to_labels(ucm2, 0.5)
    assert labels[0, 0] == labels[1, 1] != 0
    assert labels[0, 1] == labels[1, 0] == 0  # image pixels above the threshold


def test_region_thresholds_follow_matlab_linspace():
    t = region_thresholds(99)
    assert t.size == 99 and t[0] == 1 / 100 and t[-1] == 1 - 1 / 100
    k = np.arange(99)
    np.testing.assert_array_equal(t[:-1], (1 / 100 + (k * (1 - 2 / 100)) / 98)[:-1])
    np.testing.assert_allclose(region_thresholds(5), np.arange(1, 6) / 6)
    assert region_thresholds(1).tolist() == [0.5]


def test_region_image_round_trip():
    image = evaluate_regions_image([GT], [GT], kind="segs")
    again = RegionImage.from_dict(image.to_dict())
    for key, value in image.to_dict().items():
        np.testing.assert_array_equal(np.asarray(getattr(again, key)), value)


def test_collect_regions_small():
    a = evaluate_regions_image([GT, np.ones_like(GT)], [GT], kind="segs")
    b = evaluate_regions_image([np.ones_like(GT), GT], [GT], kind="segs")
    r = collect_regions([a, b], ["a", "b"], official_rounding=False)
    assert r.ods_covering == pytest.approx(0.75) and r.ois_covering == 1.0
    assert r.best_covering == 1.0 and r.ois_pri == 1.0 and r.ois_voi == 0.0
    np.testing.assert_array_equal(r.image_table[:, :2], [[1, 1], [2, 2]])
    assert "GT covering: ODS = 0.75" in r.summary()
    assert r.as_dict()["covering_ois"] == 1.0


# ---- properties ----------------------------------------------------------------------
small = st.integers(1, 6).flatmap(lambda h: st.integers(1, 6).map(lambda w: (h, w)))


@st.composite
def pairs(draw):
    shape = draw(small)
    seg = draw(arrays(np.int64, shape, elements=st.integers(-3, 4)))
    gt = draw(arrays(np.int64, shape, elements=st.integers(0, 3)))
    if gt.max() == 0:
        gt.flat[0] = 1
    return seg, gt


@settings(max_examples=60, deadline=None)
@given(pairs())
def test_ranges(pair):
    seg, gt = pair
    assert 0.0 <= segmentation_covering(seg, gt) <= 1.0
    assert 0.0 <= probabilistic_rand_index(seg, gt) <= 1.0
    assert variation_of_information(seg, gt) >= 0.0


@settings(max_examples=60, deadline=None)
@given(pairs())
def test_identical_is_perfect(pair):
    _, gt = pair
    # unlabelled ground-truth pixels form their own machine region
    seg = np.where(gt == 0, gt.max() + 1, gt)
    assert segmentation_covering(seg, gt) == 1.0
    assert probabilistic_rand_index(gt, gt) == 1.0
    assert variation_of_information(gt, gt) == pytest.approx(0.0, abs=1e-12)
    image = evaluate_regions_image([seg], [gt, gt], kind="segs")
    assert image.covering[0] == 1.0 and image.pri[0] == 1.0 and image.voi[0] < 1e-12


@settings(max_examples=60, deadline=None)
@given(pairs(), st.randoms(use_true_random=False))
def test_label_permutation_invariance(pair, random):
    seg, gt = pair
    values = np.unique(seg)
    shuffled = values.copy()
    random.shuffle(shuffled)
    relabelled = (shuffled * 7 + 100)[np.searchsorted(values, seg)]
    assert segmentation_covering(relabelled, gt) == pytest.approx(segmentation_covering(seg, gt))
    assert probabilistic_rand_index(relabelled, gt) == pytest.approx(probabilistic_rand_index(seg, gt))
    assert variation_of_information(relabelled, gt) == pytest.approx(
        variation_of_information(seg, gt), abs=1e-12)


# ---- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: segmentation_covering(np.zeros((2, 3), int), GT), ValueError,
         r"labels and partition must have the same height and width; got \(2, 3\) and \(2, 4\)"),
        (lambda: probabilistic_rand_index(GT, []), ValueError, "partitions is empty"),
        (lambda: evaluate_regions_image([GT], [], kind="segs"), ValueError, "partitions is empty"),
        (lambda: evaluate_regions_image([], [GT], kind="segs"), ValueError, "empty list of segmentations"),
        (lambda: evaluate_regions_image(GT, [GT], kind="segs"), ValueError, r"Wrap it in a list"),
        (lambda: evaluate_regions_image(np.zeros((2, 4)), [GT], kind="ucm"), ValueError,
         r"ucm2 must have shape \(2H\+1, 2W\+1\) = \(5, 9\) for ground truth of shape \(2, 4\); "
         r"got \(2, 4\)\. It has the image's own size"),
        (lambda: evaluate_regions_image(np.full((5, 9), np.nan), [GT], kind="ucm"), ValueError,
         "ucm2 contains 45 NaN or infinite values"),
        (lambda: evaluate_regions_image(np.zeros((5, 9)), [GT], kind="pb"), ValueError,
         "kind must be 'ucm' or 'segs'; got 'pb'. The region benchmark needs regions"),
        (lambda: evaluate_regions_image(np.zeros((5, 9)), [GT], kind="ucm", nthresh=0), ValueError,
         "nthresh must be >= 1; got 0"),
        (lambda: segmentation_covering(GT, -GT), ValueError, "negative label -2"),
        (lambda: segmentation_covering(GT, np.zeros_like(GT)), ValueError, "no labelled pixels"),
        (lambda: segmentation_covering(GT + 0.5, GT), TypeError, "labels must hold integer labels"),
        (lambda: segmentation_covering(np.full(GT.shape, np.nan), GT), ValueError, "NaN"),
        (lambda: segmentation_covering(GT.tolist(), GT), TypeError, "labels must be a numpy array"),
        (lambda: segmentation_covering(GT[None], GT), ValueError, r"labels must have shape \(H, W\)"),
        (lambda: probabilistic_rand_index(GT, [GT, GT[:, :2]]), ValueError,
         r"partitions\[1\] and partitions\[0\] must have the same height and width"),
        (lambda: collect_regions([], []), ValueError, "images is empty"),
        (lambda: ucm_to_labels(np.zeros((4, 5)), 0.5), ValueError, "odd shape"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_collect_rejects_mixed_thresholds():
    a = evaluate_regions_image([GT], [GT], kind="segs")
    b = evaluate_regions_image([GT, GT], [GT], kind="segs")
    with pytest.raises(ValueError, match="same nthresh"):
        collect_regions([a, b], ["a", "b"])
    with pytest.raises(ValueError, match="same length"):
        collect_regions([a], ["a", "b"])


def test_whole_number_float_labels_are_accepted():
    assert segmentation_covering(GT.astype(float), GT) == 1.0
