import numpy as np
import pytest
from scipy import stats as sps

from benchmarks import stats
from benchmarks.metrics.boundary import BoundaryImage, collect_boundaries
from benchmarks.metrics.region import RegionImage, collect_regions
from benchmarks.metrics.semantic import mean_iou
from benchmarks.stats import (
    boundary_f_ods, bootstrap_ci, compare_methods, covering_at_ods, covering_ods,
    covering_ois, holm, mean, miou, paired_bootstrap, per_image_scores, pri_ods, voi_ods,
    wilcoxon_paired,
)


def _region_data(rng, n, T=7, shift=0.0):
    """Per-image covering counts around a smooth curve that peaks mid-sweep."""
    sumR = rng.integers(500, 1500, (n, 1)) * np.ones((1, T))
    curve = 0.6 - 0.05 * (np.arange(T) - T // 2) ** 2 / T
    level = np.clip(curve + rng.normal(0, 0.08, (n, 1)) + rng.normal(0, 0.01, (n, T))
                    - shift, 0, 1)
    return {"cntR": np.round(level * sumR), "sumR": sumR}


def _boundary_data(rng, n, T=5):
    sumR = rng.integers(200, 400, (n, T)).astype(float)
    sumP = rng.integers(200, 400, (n, T)).astype(float)
    return {"cntR": np.floor(sumR * rng.uniform(0.3, 0.9, (n, T))), "sumR": sumR,
            "cntP": np.floor(sumP * rng.uniform(0.3, 0.9, (n, T))), "sumP": sumP}


# --------------------------------------------------------------------------------------
# Point estimates: the pooled statistics equal the official collectors
# --------------------------------------------------------------------------------------


def test_covering_hand_computed():
    # t=0: (1 + 3) / 8, t=1: (3 + 1) / 8; each image's own best gives (3 + 3) / 8.
    cntR, sumR = [[1, 3], [3, 1]], [[4, 4], [4, 4]]
    assert covering_ods(cntR, sumR) == 0.5
    assert covering_ois(cntR, sumR) == 0.75
    assert covering_ods([[1, 3], [2, 2]], [[4, 4], [4, 4]]) == 0.625
    # ODS index is t=1 (5/8 > 3/8): images score 3/4 and 2/4 there
    np.testing.assert_array_equal(covering_at_ods([[1, 3], [2, 2]], [[4, 4], [4, 4]]),
                                  [0.75, 0.5])
    assert mean([1.0, 2.0, 6.0]) == 3.0


def test_region_statistics_match_collect_regions(rng):
    n, T = 12, 6
    data = _region_data(rng, n, T)
    pri = rng.uniform(0.6, 0.9, (n, T))
    voi = rng.uniform(1.0, 3.0, (n, T))
    images = [RegionImage(thresholds=np.arange(1.0, T + 1), cntR=data["cntR"][i],
                          sumR=data["sumR"][i], cntP=data["cntR"][i], sumP=data["sumR"][i],
                          cntR_best=0.0, pri=pri[i], voi=voi[i]) for i in range(n)]
    ref = collect_regions(images, [str(i) for i in range(n)], official_rounding=False)
    assert covering_ods(**data) == pytest.approx(ref.ods_covering, rel=1e-12)
    assert covering_ois(data["cntR"], data["sumR"]) == pytest.approx(ref.ois_covering,
                                                                     rel=1e-12)
    assert pri_ods(pri) == pytest.approx(ref.ods_pri, rel=1e-12)
    assert voi_ods(voi) == pytest.approx(ref.ods_voi, rel=1e-12)
    t = int(round(ref.ods_covering_threshold)) - 1
    np.testing.assert_allclose(covering_at_ods(**data), data["cntR"][:, t] / data["sumR"][:, t])
    np.testing.assert_allclose(per_image_scores(pri_ods, pri), pri[:, np.argmax(ref.pri)])
    np.testing.assert_allclose(per_image_scores(voi_ods, voi), voi[:, np.argmin(ref.voi)])


def test_boundary_f_is_the_plain_max_of_the_official_curve(rng):
    data = _boundary_data(rng, 9)
    images = [BoundaryImage(np.arange(1, 6), *(data[k][i].astype(np.int64)
                                               for k in ("cntR", "sumR", "cntP", "sumP")))
              for i in range(9)]
    ref = collect_boundaries(images, [str(i) for i in range(9)], official_rounding=False)
    assert boundary_f_ods(**data) == pytest.approx(ref.f.max(), rel=1e-12)
    assert boundary_f_ods(**data) <= ref.ods_f + 1e-12  # the official one interpolates


def test_miou_is_the_miou_of_the_summed_matrix(rng):
    confusions = rng.integers(0, 40, (15, 4, 4))
    confusions[:, 3, :] = 0
    confusions[:, :, 3] = 0  # class 3 absent everywhere: left out of the mean
    assert miou(confusions) == pytest.approx(mean_iou(confusions.sum(0)), rel=1e-12)
    np.testing.assert_allclose(per_image_scores(miou, confusions),
                               [mean_iou(m) for m in confusions])


# --------------------------------------------------------------------------------------
# Bootstrap intervals
# --------------------------------------------------------------------------------------


def test_bootstrap_point_is_the_full_set_statistic(rng):
    data = _region_data(rng, 30)
    ci = bootstrap_ci(covering_ods, data, n_resamples=500)
    pooled = (data["cntR"].sum(0) / data["sumR"].sum(0)).max()
    assert ci.point == pytest.approx(pooled, rel=1e-12)
    assert ci.low < ci.point < ci.high
    assert ci.n_images == 30 and ci.n_resamples == 500 and ci.method == "percentile"
    assert 0 < ci.standard_error < ci.high - ci.low


def _plain(statistic_name):
    """The statistics written out on resampled arrays, independently of benchmarks.stats."""
    def ratio(a, b):
        return a / np.where(b == 0, 1, b)

    def ois(cntR, sumR):
        r = ratio(cntR, sumR)
        best = r.shape[1] - 1 - np.argmax(r[:, ::-1], axis=1)
        rows = np.arange(len(r))
        return cntR[rows, best].sum() / sumR[rows, best].sum()

    def f_ods(cntR, sumR, cntP, sumP):
        r, p = ratio(cntR.sum(0), sumR.sum(0)), ratio(cntP.sum(0), sumP.sum(0))
        return (2 * p * r / (p + r)).max()

    return {"covering_ods": lambda cntR, sumR: ratio(cntR.sum(0), sumR.sum(0)).max(),
            "covering_ois": ois, "boundary_f_ods": f_ods,
            "pri_ods": lambda pri: pri.mean(0).max(), "voi_ods": lambda voi: voi.mean(0).min(),
            "miou": lambda confusions: mean_iou(confusions.sum(0))}[statistic_name]


@pytest.mark.parametrize("method", ["percentile", "BCa"])
@pytest.mark.parametrize("name", ["covering_ods", "covering_ois", "boundary_f_ods",
                                  "pri_ods", "voi_ods", "miou"])
def test_vectorised_resampling_equals_plain_evaluation(rng, name, method):
    n = 25
    if name.startswith("covering"):
        data = _region_data(rng, n)
    elif name == "boundary_f_ods":
        data = _boundary_data(rng, n)
    elif name == "miou":
        data = {"confusions": rng.integers(0, 30, (n, 3, 3))}
    else:
        data = {name[:3]: rng.uniform(0.5, 2.0, (n, 5))}
    fast = bootstrap_ci(stats.STATISTICS[name], data, n_resamples=300, seed=4, method=method)
    slow = bootstrap_ci(_plain(name), data, n_resamples=300, seed=4, method=method)
    assert fast.method == slow.method
    np.testing.assert_allclose([fast.point, fast.low, fast.high, fast.standard_error],
                               [slow.point, slow.low, slow.high, slow.standard_error],
                               rtol=1e-10)


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_mean_matches_scipy_bootstrap_of_the_values(rng, method):
    values = rng.normal(size=40)
    ours = bootstrap_ci(mean, values, n_resamples=1000, seed=11, method=method)
    ref = sps.bootstrap((values,), np.mean, n_resamples=1000, method=method,
                        rng=np.random.default_rng(11)).confidence_interval
    np.testing.assert_allclose([ours.low, ours.high], [ref.low, ref.high], rtol=1e-10)


def test_ci_narrows_with_more_images():
    small = bootstrap_ci(covering_ods, _region_data(np.random.default_rng(1), 20),
                         n_resamples=500)
    large = bootstrap_ci(covering_ods, _region_data(np.random.default_rng(1), 400),
                         n_resamples=500)
    # the width shrinks like 1/sqrt(n): sqrt(400 / 20) = 4.5
    assert large.high - large.low < 0.5 * (small.high - small.low)
    assert large.low <= large.point <= large.high


def test_bootstrap_is_deterministic_given_the_seed(rng):
    data = _region_data(rng, 30)
    a = bootstrap_ci(covering_ods, data, n_resamples=200, seed=3)
    b = bootstrap_ci(covering_ods, data, n_resamples=200, seed=3)
    c = bootstrap_ci(covering_ods, data, n_resamples=200, seed=4)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high) and a.point == c.point


def test_tuple_and_dict_data_agree(rng):
    data = _region_data(rng, 10)
    by_name = bootstrap_ci(covering_ods, data, n_resamples=100)
    in_order = bootstrap_ci(covering_ods, (data["cntR"], data["sumR"]), n_resamples=100)
    with_extra = bootstrap_ci(covering_ods, {**data, "thresholds": np.arange(7)},
                              n_resamples=100)
    assert by_name == in_order == with_extra


def test_single_image_has_no_interval():
    ci = bootstrap_ci(covering_ods, ([[3.0, 4.0]], [[8.0, 8.0]]))
    assert ci.point == 0.5 and ci.n_images == 1
    assert np.isnan(ci.low) and np.isnan(ci.high) and np.isnan(ci.standard_error)
    paired = paired_bootstrap(mean, [1.0], [0.0])
    assert paired.difference == 1.0 and paired.p_value == 1.0 and np.isnan(paired.low)


def test_bca_on_a_degenerate_distribution_falls_back_without_warnings():
    # every resample gives the same value: BCa is undefined (SciPy warns); we return the
    # percentile interval, which is the point itself
    ci = bootstrap_ci(mean, np.full(10, 0.5), n_resamples=100, method="BCa")
    assert ci.method == "percentile"
    assert ci.point == ci.low == ci.high == 0.5


# --------------------------------------------------------------------------------------
# Paired tests
# --------------------------------------------------------------------------------------


def test_paired_bootstrap_detects_a_shift_on_every_image(rng):
    a = _region_data(rng, 40)
    b = {"cntR": np.maximum(a["cntR"] - 0.05 * a["sumR"], 0), "sumR": a["sumR"]}
    result = paired_bootstrap(covering_ods, a, b, n_resamples=1000)
    assert result.difference == pytest.approx(covering_ods(**a) - covering_ods(**b))
    assert 0.04 < result.difference < 0.06
    assert result.p_value < 0.01
    assert 0 < result.low <= result.high
    w = wilcoxon_paired(covering_at_ods(**a), covering_at_ods(**b))
    assert w.p_value < 0.01 and w.n_nonzero == 40 and w.median_difference > 0


def test_paired_bootstrap_finds_nothing_between_identical_methods(rng):
    a = _region_data(rng, 40)
    for method in ("percentile", "BCa"):
        result = paired_bootstrap(covering_ods, a, dict(a), n_resamples=300, method=method)
        assert result.difference == 0.0 and result.p_value == 1.0
        assert result.low <= 0.0 <= result.high
    w = wilcoxon_paired(covering_at_ods(**a), covering_at_ods(**a))
    assert w.p_value == 1.0 and w.n_nonzero == 0


def test_paired_bootstrap_noise_only_is_not_significant(rng):
    values = rng.normal(0.5, 0.1, 60)
    other = values + rng.normal(0, 0.05, 60)  # no systematic difference
    result = paired_bootstrap(mean, values, other - np.mean(other - values), n_resamples=500)
    assert result.low < 0 < result.high and result.p_value > 0.5


def test_wilcoxon_matches_scipy_with_some_zero_differences():
    a = np.array([0.5, 0.6, 0.7, 0.4, 0.9, 0.3, 0.8, 0.55])
    b = np.array([0.5, 0.5, 0.6, 0.4, 0.7, 0.2, 0.85, 0.5])
    ours = wilcoxon_paired(a, b)
    ref = sps.wilcoxon(a - b)
    assert ours.p_value == pytest.approx(ref.pvalue) and ours.statistic == ref.statistic
    assert ours.n_images == 8 and ours.n_nonzero == 6


def test_holm_hand_computed():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04)
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.02, 0.02]), [0.04, 0.04])
    assert holm([0.3]).tolist() == [0.3] and holm([]).shape == (0,)


def test_compare_methods_table(rng):
    good = _region_data(rng, 30)
    worse = {"cntR": np.maximum(good["cntR"] - 0.08 * good["sumR"], 0), "sumR": good["sumR"]}
    ids = [f"img{i}" for i in range(30)]
    per_method = {"worse": worse, "good": good, "twin": dict(good)}
    rows = compare_methods(per_method, covering_ods, image_ids=ids, n_resamples=500)
    assert [(r.method_a, r.method_b) for r in rows] == [("worse", "good"), ("worse", "twin"),
                                                         ("good", "twin")]
    raw = np.array([r.p_bootstrap for r in rows])
    np.testing.assert_allclose([r.p_holm for r in rows], holm(raw))
    np.testing.assert_allclose([r.p_wilcoxon_holm for r in rows],
                               holm([r.p_wilcoxon for r in rows]))
    assert [r.significant for r in rows] == [True, True, False]
    assert rows[0].difference < 0 and rows[0].high < 0
    assert rows[2].p_bootstrap == 1.0 and rows[2].p_wilcoxon == 1.0
    best = compare_methods(per_method, covering_ods, image_ids={k: ids for k in per_method},
                           pairs="best", n_resamples=200)
    assert best[0].method_a == "good" and {r.method_b for r in best} == {"worse", "twin"}


def test_methods_may_have_different_sweep_lengths(rng):
    long, short = _region_data(rng, 15, T=9), _region_data(rng, 15, T=3)
    rows = compare_methods({"long": long, "short": short}, covering_ods,
                           image_ids=[str(i) for i in range(15)], n_resamples=200)
    assert rows[0].statistic_a == covering_ods(**long)
    assert rows[0].statistic_b == covering_ods(**short)


def test_compare_methods_best_is_lowest_voi(rng):
    voi = rng.uniform(1, 2, (20, 4))
    rows = compare_methods({"a": voi + 0.5, "b": voi}, voi_ods, image_ids=list("abcdefghij" * 2),
                           pairs="best", n_resamples=200)
    assert rows[0].method_a == "b" and rows[0].difference == pytest.approx(-0.5)


def test_compare_methods_with_a_custom_statistic(rng):
    values = rng.uniform(size=(12,))
    rows = compare_methods({"a": (values,), "b": (values + 0.2,)}, np.mean,
                           image_ids=[str(i) for i in range(12)], n_resamples=200)
    assert np.isnan(rows[0].p_wilcoxon) and rows[0].p_bootstrap < 0.01
    rows = compare_methods({"a": (values,), "b": (values + 0.2,)}, np.mean,
                           image_ids=[str(i) for i in range(12)], n_resamples=200,
                           scores={"a": values, "b": values + 0.2})
    assert rows[0].p_wilcoxon < 0.01


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def test_bad_data_is_rejected():
    with pytest.raises(ValueError, match="cntR and sumR must have the same shape"):
        covering_ods(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci(covering_ods, (np.ones((0, 4)), np.ones((0, 4))))
    with pytest.raises(ValueError, match=r"shape \(n_images, T\)"):
        covering_ods(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"missing \['sumR'\]"):
        bootstrap_ci(covering_ods, {"cntR": np.ones((3, 4))})
    with pytest.raises(ValueError, match="must hold 2 arrays"):
        bootstrap_ci(covering_ods, (np.ones((3, 4)),))
    with pytest.raises(ValueError, match="negative counts"):
        covering_ods(-np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        pri_ods(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="square"):
        miou(np.ones((2, 3, 4)))
    with pytest.raises(TypeError, match="dict of arrays"):
        bootstrap_ci(covering_ods, "cntR")
    with pytest.raises(ValueError, match="same first axis"):
        bootstrap_ci(lambda x, y: 0.0, (np.ones(3), np.ones(4)))


def test_bad_options_are_rejected():
    values = np.arange(5.0)
    with pytest.raises(ValueError, match="method must be one of"):
        bootstrap_ci(mean, values, method="studentized")
    with pytest.raises(ValueError, match="confidence must be < 1"):
        bootstrap_ci(mean, values, confidence=1.0)
    with pytest.raises(ValueError, match="confidence must be > 0"):
        bootstrap_ci(mean, values, confidence=0.0)
    with pytest.raises(ValueError, match="n_resamples must be >= 1"):
        bootstrap_ci(mean, values, n_resamples=0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        bootstrap_ci(mean, values, seed=1.5)


def test_bad_comparisons_are_rejected(rng):
    data = _region_data(rng, 4)
    with pytest.raises(ValueError, match="same images; got 4 and 3"):
        paired_bootstrap(covering_ods, data, {k: v[:3] for k, v in data.items()})
    with pytest.raises(ValueError, match="at least two methods"):
        compare_methods({"a": data}, covering_ods, image_ids=list("wxyz"))
    with pytest.raises(ValueError, match="same image ids.*only in 'b'"):
        compare_methods({"a": data, "b": data}, covering_ods,
                        image_ids={"a": list("wxyz"), "b": list("wxyq")})
    with pytest.raises(ValueError, match="different order"):
        compare_methods({"a": data, "b": data}, covering_ods,
                        image_ids={"a": list("wxyz"), "b": list("wxzy")})
    with pytest.raises(ValueError, match="holds 4 images but its image_ids list has 3"):
        compare_methods({"a": data, "b": data}, covering_ods, image_ids=list("wxy"))
    with pytest.raises(ValueError, match="pairs must be"):
        compare_methods({"a": data, "b": data}, covering_ods, image_ids=list("wxyz"),
                        pairs="some")
    with pytest.raises(ValueError, match="one score per image"):
        wilcoxon_paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        wilcoxon_paired([], [])
    with pytest.raises(ValueError, match="p_values must lie in"):
        holm([0.1, 1.5])
    with pytest.raises(ValueError, match="p_values must lie in"):
        holm([np.nan])
    with pytest.raises(TypeError, match="ready statistics"):
        per_image_scores(np.mean, (np.ones(3),))
