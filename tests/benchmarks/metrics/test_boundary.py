"""Boundary benchmark: hand-made cases with exact answers, properties, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.metrics._correspond import (BoundaryMatcher, correspond_pixels,
                                            match_radius)
from benchmarks.metrics._official import read_official_txt
from benchmarks.metrics.boundary import (BoundaryImage, BoundaryResult, boundary_thresholds,
                                         collect_boundaries, evaluate_boundaries_image,
                                         seg_to_boundary, thin_boundary,
                                         write_boundary_files)

# --------------------------------------------------------------------------------------
# seg_to_boundary (seg2bdry 'imageSize')
# --------------------------------------------------------------------------------------


def test_seg_to_boundary_vertical_split():
    labels = np.array([[1, 1, 2, 2]] * 3)
    expected = np.array([[0, 1, 0, 0]] * 3, bool)
    np.testing.assert_array_equal(seg_to_boundary(labels), expected)


def test_seg_to_boundary_horizontal_split():
    labels = np.array([[1, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(seg_to_boundary(labels), [[1, 1, 1], [0, 0, 0]])


def test_seg_to_boundary_single_pixel_region():
    labels = np.zeros((5, 5), int)
    labels[2, 2] = 1
    expected = np.zeros((5, 5), bool)
    expected[1:3, 1:3] = True          # the four grid corners around the pixel
    np.testing.assert_array_equal(seg_to_boundary(labels), expected)


def test_seg_to_boundary_four_quadrants_last_row_and_column():
    # The official last row / column copy their neighbours on the double-size grid.
    labels = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(seg_to_boundary(labels), [[1, 1], [1, 0]])


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.int64, bool])
def test_seg_to_boundary_constant_and_dtypes(dtype):
    labels = np.ones((4, 6), dtype)
    out = seg_to_boundary(labels)
    assert out.shape == (4, 6) and out.dtype == bool and not out.any()


def test_seg_to_boundary_invariant_to_relabelling(rng):
    labels = rng.integers(0, 4, (12, 9))
    perm = np.array([7, 3, 11, 5])
    np.testing.assert_array_equal(seg_to_boundary(labels), seg_to_boundary(perm[labels]))


def test_seg_to_boundary_bad_input():
    with pytest.raises(TypeError, match="integer labels"):
        seg_to_boundary(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"shape \(H, W\)"):
        seg_to_boundary(np.zeros((3, 3, 2), int))
    with pytest.raises(ValueError, match="empty"):
        seg_to_boundary(np.zeros((0, 3), int))
    with pytest.raises(TypeError, match="numpy array"):
        seg_to_boundary([[1, 2]])


# --------------------------------------------------------------------------------------
# Thinning
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 24))))
def test_thin_boundary_equals_skimage(bmap):
    from skimage.morphology import thin

    np.testing.assert_array_equal(thin_boundary(bmap), thin(bmap))


def test_thin_boundary_keeps_thin_lines_and_is_idempotent(rng):
    line = np.zeros((9, 9), bool)
    line[2, 1:8] = True
    np.testing.assert_array_equal(thin_boundary(line), line)
    diagonal = np.eye(9, dtype=bool)
    np.testing.assert_array_equal(thin_boundary(diagonal), diagonal)
    blobs = rng.random((30, 30)) < 0.5
    once = thin_boundary(blobs)
    np.testing.assert_array_equal(thin_boundary(once), once)
    with pytest.raises(ValueError, match=r"shape \(H, W\)"):
        thin_boundary(np.zeros((2, 2, 2), bool))


# --------------------------------------------------------------------------------------
# The matcher
# --------------------------------------------------------------------------------------


def _line(shape, row, cols):
    out = np.zeros(shape, bool)
    out[row, cols] = True
    return out


def test_match_radius_is_fraction_of_diagonal():
    assert match_radius((3, 4), 0.5) == pytest.approx(2.5)


def test_identical_boundaries_match_fully():
    gt = _line((20, 20), 10, slice(2, 18))
    m1, m2 = correspond_pixels(gt, gt)
    np.testing.assert_array_equal(m1[gt], np.flatnonzero(gt))   # each pixel with itself
    assert (m1[~gt] == -1).all() and (m2[~gt] == -1).all()


def test_shift_within_tolerance_is_matched_beyond_is_not():
    gt = _line((30, 30), 10, slice(5, 25))
    near = _line((30, 30), 11, slice(5, 25))
    far = _line((30, 30), 14, slice(5, 25))
    radius = match_radius((30, 30), 0.05)          # 2.1 px
    assert 1 < radius < 4
    m1, m2 = correspond_pixels(near, gt, max_dist=0.05)
    assert (m1[near] >= 0).all() and (m2[gt] >= 0).all()
    # each pixel pairs with the one straight above it (distance 1, the cheapest)
    np.testing.assert_array_equal(m1[near], np.flatnonzero(near) - 30)
    m1, m2 = correspond_pixels(far, gt, max_dist=0.05)
    assert (m1 == -1).all() and (m2 == -1).all()


def test_one_to_one_two_machine_pixels_cannot_share_a_human_pixel():
    gt = np.zeros((15, 15), bool)
    gt[7, 7] = True
    machine = np.zeros((15, 15), bool)
    machine[7, 6] = machine[7, 9] = True           # distances 1 and 2, both in range
    m1, m2 = correspond_pixels(machine, gt, max_dist=0.15)
    assert (m1 >= 0).sum() == 1 and m1[7, 6] == 7 * 15 + 7   # the closer one
    assert m2[7, 7] == 7 * 15 + 6
    counts = BoundaryMatcher([gt], max_dist=0.15).counts(machine)
    assert counts == (1, 1, 1, 2)                   # cntR, sumR, cntP, sumP


def test_matcher_maximises_the_number_of_pairs():
    # A-a coincide, but pairing A-b and B-a pairs everything: cardinality comes first.
    machine = np.zeros((9, 15), bool)
    gt = np.zeros((9, 15), bool)
    machine[4, 7] = gt[4, 7] = True                 # A and a
    gt[4, 5] = True                                 # b: only A is in range
    machine[4, 9] = True                            # B: only a is in range
    max_dist = 2.2 / np.hypot(9, 15)                # radius 2.2 px
    m1, m2 = correspond_pixels(machine, gt, max_dist=max_dist)
    assert (m1 >= 0).sum() == 2 and m1[4, 7] == 4 * 15 + 5 and m1[4, 9] == 4 * 15 + 7
    assert BoundaryMatcher([gt], max_dist=max_dist).counts(machine) == (2, 2, 2, 2)


def test_empty_maps_match_nothing():
    empty = np.zeros((6, 7), bool)
    gt = _line((6, 7), 3, slice(0, 7))
    m1, m2 = correspond_pixels(empty, gt)
    assert (m1 == -1).all() and (m2 == -1).all()
    assert BoundaryMatcher([gt, empty]).counts(empty) == (0, 7, 0, 0)
    assert BoundaryMatcher([empty]).counts(gt) == (0, 0, 0, 7)


def _pair_cost(m1, shape):
    ys, xs = np.nonzero(m1 >= 0)
    ty, tx = np.divmod(m1[ys, xs], shape[1])
    return int(np.rint(np.hypot(ys - ty, xs - tx) * 100).sum()), ys.size


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 0.6), st.floats(0.05, 0.6))
def test_counting_matcher_agrees_with_the_full_solver(seed, d1, d2):
    """Same number of pairs; its paired machine pixels admit an optimal pairing."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(4, 26)), int(rng.integers(4, 26)))
    machine = rng.random(shape) < d1 * 0.5
    annotators = [rng.random(shape) < d2 * 0.5 for _ in range(2)]
    matcher = BoundaryMatcher(annotators, max_dist=0.12)
    cnt_r, matched = matcher.matched_machine(machine)
    total_pairs = 0
    accumulated = np.zeros(shape, bool)
    for gt in annotators:
        m1, _ = correspond_pixels(machine, gt, max_dist=0.12)
        cost, pairs = _pair_cost(m1, shape)
        total_pairs += pairs
        accumulated |= m1 >= 0
        # Restricting the machine side to what the counting matcher paired (for this
        # annotator: the pixels it can reach) loses neither pairs nor optimality.
        r1, _ = correspond_pixels(machine & matched, gt, max_dist=0.12)
        assert _pair_cost(r1, shape) == (cost, pairs)
    assert cnt_r == total_pairs
    assert matched.sum() <= machine.sum() and not (matched & ~machine).any()
    counts = matcher.counts(machine)
    assert counts == (cnt_r, int(sum(a.sum() for a in annotators)), int(matched.sum()),
                      int(machine.sum()))


def test_counting_matcher_pairs_cheapest_and_is_deterministic(rng):
    gt = _line((40, 40), 20, slice(3, 37))
    machine = _line((40, 40), 21, slice(3, 37)) | _line((40, 40), 23, slice(3, 37))
    matcher = BoundaryMatcher([gt], max_dist=0.06)
    cnt_r, matched = matcher.matched_machine(machine)
    assert cnt_r == gt.sum()
    np.testing.assert_array_equal(matched, _line((40, 40), 21, slice(3, 37)))
    assert matcher.counts(machine) == matcher.counts(machine.copy())


def _bipartite(rng, n_m, n_h, density):
    """A random bipartite graph as the matcher's kernels take it (edges per machine)."""
    adjacency = rng.random((n_m, n_h)) < density
    adjacency[np.arange(n_m), rng.integers(0, n_h, n_m)] = True   # every machine node has one
    indptr = np.concatenate([[0], np.cumsum(adjacency.sum(1))]).astype(np.int64)
    human = np.nonzero(adjacency)[1].astype(np.int64)
    return adjacency, indptr, human


@pytest.mark.parametrize("seed", range(4))
def test_warm_started_matching_completed_by_maximum_flow_is_maximum(seed):
    """Greedy warm start, then SciPy's maximum flow on the part where augmenting paths
    run: the result is a maximum matching (size from SciPy's own matcher), and the
    surplus part is exactly the machine nodes some maximum matching leaves unpaired."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    import benchmarks.metrics._correspond as corr

    rng = np.random.default_rng(seed)
    completed = 0
    for _ in range(40):
        n_m, n_h = (int(v) for v in rng.integers(2, 14, 2))
        adjacency, indptr, human = _bipartite(rng, n_m, n_h, rng.uniform(0.1, 0.4))
        start = np.where(rng.random(n_m) < 0.5, rng.integers(0, n_h, n_m), -1)
        mate_m, mate_h = corr._greedy_matching(indptr, human, n_h, start)
        even, part_m, part_h, augmentable = corr._alternating_reach(indptr, human, mate_m,
                                                                   mate_h)
        if augmentable:
            completed += 1
            corr._complete_matching(indptr, human, mate_m, mate_h, part_m, part_h)
            even, _, _, augmentable = corr._alternating_reach(indptr, human, mate_m, mate_h)
        assert not augmentable
        paired = np.flatnonzero(mate_m >= 0)
        assert adjacency[paired, mate_m[paired]].all()               # real edges
        np.testing.assert_array_equal(mate_h[mate_m[paired]], paired)  # one-to-one
        assert (mate_h >= 0).sum() == paired.size

        def size(rows):
            graph = csr_matrix(adjacency[rows].astype(np.int8))
            return int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())

        best = size(np.arange(n_m))
        assert paired.size == best
        for m in range(n_m):                     # unpaired in some maximum matching?
            assert even[m] == (size(np.delete(np.arange(n_m), m)) == best)
    assert completed > 0


def _soft_map(rng, shape):
    """A boundary-strength map in [0, 1]: smoothed noise plus a few strong strokes, so
    that the thresholded maps range from dense meshes to a few lines."""
    from scipy.ndimage import gaussian_filter

    pb = gaussian_filter(rng.random(shape), 1.0)
    pb = (pb - pb.min()) / (pb.max() - pb.min())
    for _ in range(3):
        row = int(rng.integers(2, shape[0] - 2))
        pb[row, 2:-2] = np.maximum(pb[row, 2:-2], rng.uniform(0.5, 1.0))
    return pb


def _annotators(rng, shape, n):
    labels = np.zeros(shape, np.int64)
    labels[int(rng.integers(3, shape[0] // 2)):, :] += 1
    labels[:, int(rng.integers(3, shape[1] // 2)):] += 2
    base = seg_to_boundary(labels)
    # Each annotator: the same outline shifted by up to a pixel, plus its own strokes.
    out = []
    for _ in range(n):
        b = np.roll(base, tuple(rng.integers(-1, 2, 2)), axis=(0, 1))
        b |= rng.random(shape) < 0.03
        out.append(b)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_reused_results_equal_independent_solves_at_every_threshold(seed, monkeypatch):
    """The correctness guard of the speed-ups: results kept between thresholds (per
    component, per minimum-cost problem, matchings used as warm starts) give exactly
    the counts of solving every threshold from scratch, whatever the call order."""
    import benchmarks.metrics._correspond as corr

    calls = {"complete": 0, "solve": 0, "parts": 0, "solved_parts": 0}

    def counting(name, function):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(corr, "_complete_matching",
                        counting("complete", corr._complete_matching))
    monkeypatch.setattr(corr._Problem, "solve", counting("solve", corr._Problem.solve))
    split, solve_parts = corr._split_components, corr._solve_parts

    def counting_split(*args):
        grouped, bounds = split(*args)
        calls["parts"] += bounds.size - 1
        return grouped, bounds

    def counting_solve_parts(table, grouped, bounds, missing, *rest):
        calls["solved_parts"] += len(missing)
        return solve_parts(table, grouped, bounds, missing, *rest)

    monkeypatch.setattr(corr, "_split_components", counting_split)
    monkeypatch.setattr(corr, "_solve_parts", counting_solve_parts)

    rng = np.random.default_rng(seed)
    shape = (30, 34)
    pb = _soft_map(rng, shape)
    gts = _annotators(rng, shape, 3)
    max_dist = 0.09                                   # 4.1 px
    image = evaluate_boundaries_image(pb, gts, kind="pb", nthresh=25, max_dist=max_dist)
    # The guard is not vacuous: in that run matchings were completed by the maximum
    # flow, minimum-cost problems were solved, and components were reused.
    assert calls["complete"] > 0 and calls["solve"] > 0
    assert 0 < calls["solved_parts"] < calls["parts"]
    maps = [thin_boundary(pb >= t) for t in image.thresholds]
    reusing = BoundaryMatcher(gts, max_dist=max_dist)
    for t in rng.permutation(len(maps)):              # any order, warm starts included
        fresh = BoundaryMatcher(gts, max_dist=max_dist, reuse=False).counts(maps[t])
        expected = (image.cntR[t], image.sumR[t], image.cntP[t], image.sumP[t])
        assert fresh == expected
        assert reusing.counts(maps[t]) == expected
        # Recall needs no tie-breaking: it is the full solver's number of pairs.
        pairs = sum(int((correspond_pixels(maps[t], gt, max_dist=max_dist)[0] >= 0).sum())
                    for gt in gts)
        assert image.cntR[t] == pairs


def test_correspond_pixels_bad_input():
    a = np.zeros((4, 4), bool)
    with pytest.raises(ValueError, match="same shape"):
        correspond_pixels(a, np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="max_dist must be > 0"):
        correspond_pixels(a, a, max_dist=0)
    with pytest.raises(ValueError, match="outlier_cost must be > 1"):
        correspond_pixels(a, a, outlier_cost=1)


# --------------------------------------------------------------------------------------
# evaluate_boundaries_image
# --------------------------------------------------------------------------------------


def _ring(shape=(40, 50)):
    labels = np.ones(shape, np.int32)
    labels[10:30, 12:35] = 2
    return labels


def test_thresholds_are_the_official_linspace():
    np.testing.assert_allclose(boundary_thresholds(5), np.arange(1, 6) / 6, rtol=0, atol=1e-15)
    assert boundary_thresholds(99)[0] == 1 / 100 and boundary_thresholds(99)[-1] == 1 - 1 / 100


@pytest.mark.parametrize("thin", [True, False])
def test_identical_boundaries_give_perfect_scores(thin):
    gt = thin_boundary(seg_to_boundary(_ring()))   # thinning would cut the corners
    image = evaluate_boundaries_image(gt.astype(float), [gt, gt], kind="pb", nthresh=4,
                                      thin=thin)
    np.testing.assert_array_equal(image.recall, 1.0)
    np.testing.assert_array_equal(image.precision, 1.0)
    np.testing.assert_array_equal(image.f, 1.0)
    assert (image.sumR == 2 * gt.sum()).all() and (image.sumP == gt.sum()).all()


def test_segs_ucm_and_pb_agree():
    labels = _ring()
    gt = seg_to_boundary(labels)
    other = labels.copy()
    other[:, 25:] += 2
    segs = [labels, other]                          # other refines labels
    by_segs = evaluate_boundaries_image(segs, [gt], kind="segs", thin=False)
    np.testing.assert_array_equal(by_segs.thresholds, [1, 2])
    assert by_segs.f[0] == 1.0 and by_segs.precision[1] < 1.0 and by_segs.recall[1] == 1.0
    # A ucm2 whose image-size samples are the segmentation boundary gives the same counts.
    ucm2 = np.zeros((2 * 40 + 1, 2 * 50 + 1))
    ucm2[2::2, 2::2] = gt * 0.8
    by_ucm = evaluate_boundaries_image(ucm2, [gt], kind="ucm", nthresh=3, thin=False)
    np.testing.assert_array_equal(by_ucm.f, 1.0)
    for thin in (True, False):
        by_pb = evaluate_boundaries_image(gt * 0.8, [gt], kind="pb", nthresh=3, thin=thin)
        by_ucm = evaluate_boundaries_image(ucm2, [gt], kind="ucm", nthresh=3, thin=thin)
        by_seg = evaluate_boundaries_image([labels] * 3, [gt], kind="segs", thin=thin)
        for name in ("cntR", "sumR", "cntP", "sumP"):
            np.testing.assert_array_equal(getattr(by_pb, name), getattr(by_ucm, name))
            np.testing.assert_array_equal(getattr(by_pb, name), getattr(by_seg, name))


def test_threshold_is_inclusive_and_above_max_is_empty():
    gt = thin_boundary(seg_to_boundary(_ring()))
    pb = gt * 0.5                                   # exactly the middle threshold of 3
    image = evaluate_boundaries_image(pb, [gt], kind="pb", nthresh=3)
    np.testing.assert_array_equal(image.thresholds, [0.25, 0.5, 0.75])
    assert image.recall[1] == 1.0 and image.sumP[2] == 0 and image.precision[2] == 0.0


def test_shifted_boundary_within_and_beyond_tolerance():
    gt = thin_boundary(seg_to_boundary(_ring()))
    shifted = np.roll(gt, 1, axis=0).astype(float)
    near = evaluate_boundaries_image(shifted, [gt], kind="pb", nthresh=1, max_dist=0.03)
    assert near.recall[0] == 1.0 and near.precision[0] == 1.0
    far = np.roll(gt, (6, 6), axis=(0, 1)).astype(float)
    away = evaluate_boundaries_image(far, [gt], kind="pb", nthresh=1, max_dist=0.03)
    assert away.cntR[0] < 0.1 * gt.sum()            # only where the two outlines cross


def test_precision_counts_machine_pixels_matched_by_any_annotator():
    shape = (30, 40)
    left = _line(shape, 10, slice(2, 20))
    right = _line(shape, 10, slice(20, 38))
    machine = (left | right).astype(float)
    image = evaluate_boundaries_image(machine, [left, right], kind="pb", nthresh=1)
    assert image.cntP[0] == image.sumP[0] == 36          # every pixel by one annotator
    assert image.cntR[0] == image.sumR[0] == 36          # 18 + 18


def test_boundary_image_roundtrips_through_plain_arrays():
    gt = seg_to_boundary(_ring())
    image = evaluate_boundaries_image(gt * 0.7, [gt], kind="pb", nthresh=3)
    arrays = {f.name: np.asarray(getattr(image, f.name)) for f in dataclasses.fields(image)}
    again = BoundaryImage(**arrays)
    for name in arrays:
        np.testing.assert_array_equal(getattr(again, name), getattr(image, name))
    assert again.cntR.dtype == np.int64


def test_evaluate_bad_input():
    gt = seg_to_boundary(_ring())
    pb = gt.astype(float)
    with pytest.raises(ValueError, match="same height and width"):
        evaluate_boundaries_image(pb[:, :-1], [gt], kind="pb")
    nan = pb.copy()
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate_boundaries_image(nan, [gt], kind="pb")
    with pytest.raises(ValueError, match=r"\[0, 1\].*png / 255"):
        evaluate_boundaries_image(pb * 255, [gt], kind="pb")
    with pytest.raises(TypeError, match="png / 255"):
        evaluate_boundaries_image(gt.astype(np.uint8), [gt], kind="pb")
    with pytest.raises(ValueError, match=r"\(2H\+1, 2W\+1\) = \(81, 101\).*own size"):
        evaluate_boundaries_image(pb, [gt], kind="ucm")
    with pytest.raises(ValueError, match=r"\(2H\+1, 2W\+1\)"):
        evaluate_boundaries_image(np.zeros((80, 101)), [gt], kind="ucm")
    with pytest.raises(ValueError, match="gt_boundaries is empty"):
        evaluate_boundaries_image(pb, [], kind="pb")
    with pytest.raises(ValueError, match="Wrap it in a list"):
        evaluate_boundaries_image(pb, gt, kind="pb")
    with pytest.raises(ValueError, match="same shape"):
        evaluate_boundaries_image(pb, [gt, gt[:-1]], kind="pb")
    with pytest.raises(ValueError, match="binary"):
        evaluate_boundaries_image(pb, [gt * 2], kind="pb")
    with pytest.raises(ValueError, match="kind must be one of"):
        evaluate_boundaries_image(pb, [gt], kind="edges")
    with pytest.raises(ValueError, match="empty list of segmentations"):
        evaluate_boundaries_image([], [gt], kind="segs")
    with pytest.raises(ValueError, match="Wrap it in a list"):
        evaluate_boundaries_image(_ring(), [gt], kind="segs")
    with pytest.raises(TypeError, match=r"machine\[0\] must hold integer labels"):
        evaluate_boundaries_image([_ring().astype(float)], [gt], kind="segs")
    with pytest.raises(ValueError, match=r"machine\[1\] must have the ground truth's shape"):
        evaluate_boundaries_image([_ring(), _ring()[:-1]], [gt], kind="segs")
    with pytest.raises(ValueError, match="max_dist must be > 0"):
        evaluate_boundaries_image(pb, [gt], kind="pb", max_dist=0.0)
    with pytest.raises(ValueError, match="nthresh must be >= 1"):
        evaluate_boundaries_image(pb, [gt], kind="pb", nthresh=0)


# --------------------------------------------------------------------------------------
# collect_boundaries and the official files
# --------------------------------------------------------------------------------------


def _fm(r, p):
    return 2 * p * r / (p + r) if p + r else 0.0


def _official_max_f(thresh, R, P):
    """collect_eval_bdry.m's maxF, as a plain loop."""
    best = (thresh[0], R[0], P[0], _fm(R[0], P[0]))
    for i in range(1, len(thresh)):
        for k in range(100):
            d = k / 99
            t = thresh[i] * d + thresh[i - 1] * (1 - d)
            r = R[i] * d + R[i - 1] * (1 - d)
            p = P[i] * d + P[i - 1] * (1 - d)
            if _fm(r, p) > best[3]:
                best = (t, r, p, _fm(r, p))
    return best


def _images():
    a = BoundaryImage([1, 2, 3], cntR=[80, 50, 10], sumR=[100, 100, 100],
                      cntP=[40, 45, 10], sumP=[100, 50, 10])
    b = BoundaryImage([1, 2, 3], cntR=[30, 25, 5], sumR=[40, 40, 40],
                      cntP=[30, 24, 5], sumP=[60, 30, 5])
    return [a, b]


def test_collect_matches_the_official_formulas():
    images = _images()
    result = collect_boundaries(images, ["a", "b"])
    cntR = np.array([110, 75, 15])
    sumR = np.array([140, 140, 140])
    cntP = np.array([70, 69, 15])
    sumP = np.array([160, 80, 15])
    R, P = cntR / sumR, cntP / sumP
    np.testing.assert_allclose(result.recall, R)
    np.testing.assert_allclose(result.precision, P)
    np.testing.assert_allclose(result.f, [_fm(r, p) for r, p in zip(R, P)])
    t, r, p, f = _official_max_f([1.0, 2.0, 3.0], R, P)
    assert (result.ods_threshold, result.ods_recall, result.ods_precision) == pytest.approx(
        (t, r, p), abs=1e-15)
    assert result.ods_f == pytest.approx(f, abs=1e-15)
    assert 1 < result.ods_threshold < 2                # interpolated between thresholds
    # OIS: every image's counts at its best (not interpolated) threshold, summed.
    fa = [_fm(c / s, q / n) for c, s, q, n in zip([80, 50, 10], [100] * 3, [40, 45, 10],
                                                        [100, 50, 10])]
    fb = [_fm(c / s, q / n) for c, s, q, n in zip([30, 25, 5], [40] * 3, [30, 24, 5],
                                                        [60, 30, 5])]
    ia, ib = int(np.argmax(fa)), int(np.argmax(fb))
    ra = ([80, 50, 10][ia] + [30, 25, 5][ib]) / 140
    pa = ([40, 45, 10][ia] + [30, 24, 5][ib]) / ([100, 50, 10][ia] + [60, 30, 5][ib])
    assert (result.ois_recall, result.ois_precision) == pytest.approx((ra, pa), abs=1e-15)
    assert result.ois_f == pytest.approx(_fm(ra, pa), abs=1e-15)
    # Per-image table: each image's own interpolated best.
    for i, im in enumerate(images):
        row = result.image_table[i]
        expect = _official_max_f([1.0, 2.0, 3.0], im.recall, im.precision)
        assert row[0] == i + 1
        np.testing.assert_allclose(row[1:], expect, rtol=0, atol=1e-15)
    # AP: P interpolated over recall at 0, 0.01, ..., 1 (0 outside), times 0.01.
    order = np.argsort(R)
    grid = np.arange(101) * 0.01
    p_int = [np.interp(x, R[order], P[order]) if R.min() <= x <= R.max() else 0.0 for x in grid]
    assert result.ap == pytest.approx(sum(p_int) * 0.01, abs=1e-12)
    assert result.pr_curve[0] is result.recall
    assert "ODS" in result.summary() and set(result.as_dict()) >= {"boundary_ods_f", "boundary_ap"}


def test_collect_ois_takes_the_first_best_threshold():
    # F equal at thresholds 1 and 2: the official code sums the counts of the first.
    a = BoundaryImage([1, 2], cntR=[5, 10], sumR=[10, 20], cntP=[5, 10], sumP=[10, 20])
    result = collect_boundaries([a], ["x"])
    assert result.ois_f == pytest.approx(0.5)
    assert result.ois_recall == pytest.approx(0.5)


def test_collect_single_threshold_and_ap_zero():
    a = BoundaryImage([1.0], cntR=[5], sumR=[10], cntP=[5], sumP=[5])
    result = collect_boundaries([a], ["x"])
    assert result.ods_threshold == 1.0 and result.ods_f == pytest.approx(2 / 3)
    assert result.ap == 0.0                          # one recall value: no curve


def test_collect_rounds_thresholds_like_the_official_files():
    a = BoundaryImage(boundary_thresholds(5), cntR=[5] * 5, sumR=[10] * 5, cntP=[5] * 5,
                      sumP=[10] * 5)
    assert collect_boundaries([a], ["x"]).thresholds[0] == 0.166667
    exact = collect_boundaries([a], ["x"], official_rounding=False)
    assert exact.thresholds[0] == 1 / 6


def test_collect_bad_input():
    a, b = _images()
    with pytest.raises(ValueError, match="images is empty"):
        collect_boundaries([], [])
    with pytest.raises(ValueError, match="same length"):
        collect_boundaries([a, b], ["a"])
    c = BoundaryImage([1, 2], cntR=[1, 1], sumR=[2, 2], cntP=[1, 1], sumP=[2, 2])
    with pytest.raises(ValueError, match="same nthresh"):
        collect_boundaries([a, c], ["a", "c"])
    with pytest.raises(TypeError, match="BoundaryImage"):
        collect_boundaries([{"cntR": 1}], ["a"])
    with pytest.raises(ValueError, match="like thresholds"):
        BoundaryImage([1, 2], cntR=[1], sumR=[2, 2], cntP=[1, 1], sumP=[2, 2])


def test_write_boundary_files_official_layout(tmp_path):
    result = collect_boundaries(_images(), ["a", "b"])
    paths = write_boundary_files(result, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["eval_bdry.txt", "eval_bdry_img.txt",
                                             "eval_bdry_thr.txt"]
    summary = (tmp_path / "out" / "eval_bdry.txt").read_text()
    lines = summary.splitlines()
    assert len(lines) == 1 and len(lines[0]) == 8 * 11 - 1      # 8 x '%10g' + spaces
    row = read_official_txt(tmp_path / "out" / "eval_bdry.txt")[0]
    np.testing.assert_allclose(row, [result.ods_threshold, result.ods_recall,
                                     result.ods_precision, result.ods_f, result.ois_recall,
                                     result.ois_precision, result.ois_f, result.ap],
                               rtol=1e-5)
    img = (tmp_path / "out" / "eval_bdry_img.txt").read_text().splitlines()
    assert [line[:10] for line in img] == ["         1", "         2"]
    thr = read_official_txt(tmp_path / "out" / "eval_bdry_thr.txt")
    assert thr.shape == (3, 4)
    np.testing.assert_allclose(thr[:, 1], result.recall, rtol=1e-5)
    with pytest.raises(TypeError, match="BoundaryResult"):
        write_boundary_files({"ods": 1}, tmp_path)


def test_result_is_a_boundary_result():
    assert isinstance(collect_boundaries(_images(), ["a", "b"]), BoundaryResult)


def test_matcher_bad_input():
    with pytest.raises(ValueError, match="non-empty list"):
        BoundaryMatcher([])
    with pytest.raises(ValueError, match="one shape"):
        BoundaryMatcher([np.zeros((3, 3), bool), np.zeros((3, 4), bool)])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(4, 20), st.integers(4, 20))
def test_identical_segmentations_give_boundary_f_one(seed, n, h, w):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n, (h, w))
    gt = seg_to_boundary(labels)
    image = evaluate_boundaries_image([labels], [gt], kind="segs", thin=False)
    if gt.any():
        assert image.recall[0] == 1.0 and image.precision[0] == 1.0 and image.f[0] == 1.0
    else:
        assert image.sumR[0] == 0 and image.sumP[0] == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_boundary_counts_invariant_to_label_permutation(seed):
    rng = np.random.default_rng(seed)
    machine = rng.integers(0, 5, (16, 18))
    truth = seg_to_boundary(rng.integers(0, 3, (16, 18)))
    permuted = rng.permutation(5)[machine] + 7
    a = evaluate_boundaries_image([machine], [truth], kind="segs")
    b = evaluate_boundaries_image([permuted], [truth], kind="segs")
    for name in ("cntR", "sumR", "cntP", "sumP"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
