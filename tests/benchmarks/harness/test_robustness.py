import numpy as np
import pytest

from benchmarks.robustness import (
    PERTURBATIONS, Perturbation, brightness, contrast, gamma, gaussian_blur, gaussian_noise,
    jpeg, parse_perturbation, restore_labels, severity_sweep, unit_seed,
)

KINDS = [k for k in PERTURBATIONS if k != "none"]
IDENTITY = {"noise": 0.0, "blur": 0.0, "brightness": 0.0, "contrast": 1.0, "gamma": 1.0,
            "downscale": 1.0}


def _scene(dtype=np.uint8, rgb=True, shape=(48, 64)):
    """A smooth colour gradient with a few flat shapes: an image JPEG and blur act on."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    image = np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.3 * x * y], axis=-1)
    image[h // 4: h // 2, w // 4: w // 2] = (0.9, 0.1, 0.1)
    image[h // 2:, w // 2:] = (0.1, 0.2, 0.8)
    if not rgb:
        image = image.mean(axis=-1)
    if dtype == np.uint8:
        return np.rint(image * 255).astype(np.uint8)
    return image.astype(dtype)


IMAGES = {
    "uint8-rgb": lambda: _scene(np.uint8, True),
    "uint8-grey": lambda: _scene(np.uint8, False),
    "float32-rgb": lambda: _scene(np.float32, True),
    "float64-grey": lambda: _scene(np.float64, False),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("image_kind", list(IMAGES))
def test_dtype_and_shape_are_kept(kind, image_kind):
    image = IMAGES[image_kind]()
    for p in severity_sweep(kind):
        out = p.apply(image, seed=1)
        assert out.dtype == image.dtype and out.ndim == image.ndim
        if kind == "downscale":
            assert out.shape[:2] == tuple(round(s / p.severity) for s in image.shape[:2])
        else:
            assert out.shape == image.shape
        if out.dtype != np.uint8:
            assert 0.0 <= out.min() and out.max() <= 1.0
        assert not np.array_equal(out, image)  # every sweep value really perturbs


@pytest.mark.parametrize("kind", list(IDENTITY))
@pytest.mark.parametrize("image_kind", ["uint8-rgb", "float64-grey"])
def test_identity_severity_returns_the_image(kind, image_kind):
    image = IMAGES[image_kind]()
    out = Perturbation(kind, IDENTITY[kind]).apply(image, seed=3)
    np.testing.assert_array_equal(out, image)
    assert out is not image  # a copy: the caller may modify it
    none = parse_perturbation("none")
    assert none.apply(image, seed=0) is image and none.name == "none"


def test_noise_is_deterministic_per_seed_and_has_the_requested_sigma():
    image = np.full((200, 200), 0.5)
    a = gaussian_noise(image, 0.05, seed=7)
    b = Perturbation("noise", 0.05).apply(image, seed=7)
    c = gaussian_noise(image, 0.05, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.std(a - image) == pytest.approx(0.05, rel=0.05)
    assert abs(np.mean(a - image)) < 0.002
    # common random numbers across severities: twice the sigma, twice the noise
    np.testing.assert_allclose(gaussian_noise(image, 0.1, seed=7) - image, 2 * (a - image),
                               atol=1e-12)


def test_noise_clips_and_rounds_uint8():
    image = np.array([[0, 255, 128]], dtype=np.uint8)
    out = gaussian_noise(image, 1.0, seed=0)
    assert out.dtype == np.uint8  # no wrap-around: clipped before the cast
    ref = np.clip(image / 255 + np.random.default_rng(0).standard_normal(image.shape), 0, 1)
    np.testing.assert_array_equal(out, np.rint(ref * 255).astype(np.uint8))


def test_jpeg_quality_orders_the_error():
    image = _scene()
    err = {q: np.abs(jpeg(image, q).astype(float) - image).mean() for q in (100, 50, 5)}
    assert err[100] < 2.5  # near-lossless (chroma subsampling blurs the colour edges)
    grey = _scene(rgb=False)
    assert np.abs(jpeg(grey, 100).astype(float) - grey).mean() < 0.5
    assert err[100] < err[50] < err[5]
    assert err[5] > 3 * err[100]


def test_jpeg_keeps_rgb_channel_order():
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    out = jpeg(red, 90)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 20
    grey = jpeg(_scene(rgb=False), 90)
    assert grey.shape == (48, 64)
    as_float = jpeg(_scene(np.float32), 50.0)  # whole-number float quality, float image
    assert as_float.dtype == np.float32
    np.testing.assert_allclose(as_float * 255, np.rint(as_float * 255), atol=1e-3)


def test_photometric_known_values():
    image = np.array([[0.0, 0.25, 0.5, 1.0]])
    np.testing.assert_allclose(brightness(image, 0.1), [[0.1, 0.35, 0.6, 1.0]])
    np.testing.assert_allclose(brightness(image, -0.3), [[0.0, 0.0, 0.2, 0.7]])
    np.testing.assert_allclose(gamma(image, 2.0), [[0.0, 0.0625, 0.25, 1.0]])
    level = image.mean()
    np.testing.assert_allclose(contrast(image, 0.0), np.full_like(image, level))
    np.testing.assert_allclose(contrast(image, 0.5), level + 0.5 * (image - level))
    rgb = np.zeros((2, 2, 3))
    rgb[..., 0] = 1.0  # pure red: grey level 0.299
    np.testing.assert_allclose(contrast(rgb, 0.0), np.full_like(rgb, 0.299))


def test_blur_spreads_an_impulse_symmetrically():
    image = np.zeros((21, 21))
    image[10, 10] = 1.0
    out = gaussian_blur(image, 2.0)
    assert out.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(out, out.T, atol=1e-12)
    np.testing.assert_allclose(out, out[::-1, ::-1], atol=1e-12)
    assert out[10, 10] == out.max() < 0.1
    flat = np.full((9, 9, 3), 77, np.uint8)
    np.testing.assert_array_equal(gaussian_blur(flat, 3.0), flat)


def test_downscale_and_restore_labels_round_trip():
    image = _scene(shape=(40, 60))
    p = parse_perturbation("downscale(2)")
    small = p.apply(image, seed=0)
    assert small.shape == (20, 30, 3)
    labels = np.arange(20 * 30, dtype=np.int32).reshape(20, 30)
    restored = p.restore_labels(labels, image.shape)
    assert restored.shape == (40, 60) and restored.dtype == np.int32
    np.testing.assert_array_equal(restored, np.kron(labels, np.ones((2, 2), np.int32)))
    stack = p.restore_labels(np.stack([labels, labels + 1]), image.shape[:2])
    assert stack.shape == (2, 40, 60)
    # a non-integer factor: the original shape comes back, with no new label values
    q = Perturbation("downscale", 3.0)
    small = q.apply(image, seed=0)
    labels = np.arange(small.shape[0] * small.shape[1]).reshape(small.shape[:2])
    restored = q.restore_labels(labels, image.shape)
    assert restored.shape == (40, 60)
    assert set(np.unique(restored)) <= set(labels.ravel())
    assert np.unique(restored).size == labels.size  # every small pixel is used


def test_area_downscale_averages_blocks():
    image = np.kron(np.array([[0.0, 1.0], [0.5, 0.25]]), np.ones((2, 2)))
    np.testing.assert_allclose(Perturbation("downscale", 2).apply(image, seed=0),
                               [[0.0, 1.0], [0.5, 0.25]])


def test_restore_labels_is_identity_for_other_kinds():
    labels = np.zeros((48, 64), np.int64)
    assert Perturbation("noise", 0.1).restore_labels(labels, (48, 64, 3)) is labels
    assert restore_labels(labels, (48, 64)) is labels


def test_names_parse_back():
    for kind in PERTURBATIONS:
        for p in severity_sweep(kind):
            assert parse_perturbation(str(p)) == p
            assert parse_perturbation(p.name) == p
            assert eval(repr(p)) == p
    assert str(Perturbation("noise", 0.05)) == "noise(0.05)"
    assert Perturbation("jpeg", 20).name == "jpeg(20)"
    assert Perturbation("blur", 1e-5).name == "blur(1e-05)"
    assert parse_perturbation(" Noise( 0.1 ) ") == Perturbation("noise", 0.1)
    assert parse_perturbation("none()") == parse_perturbation("none") == Perturbation("none")
    p = Perturbation("gamma", 2)
    assert parse_perturbation(p) is p
    assert len({Perturbation("noise", 0.05), parse_perturbation("noise(0.05)")}) == 1


def test_registry_and_sweeps():
    assert set(PERTURBATIONS) == {"none", "noise", "blur", "jpeg", "brightness", "contrast",
                                  "gamma", "downscale"}
    function, doc, severities = PERTURBATIONS["noise"]
    assert function is gaussian_noise and doc and severities == (0.02, 0.05, 0.1, 0.2)
    assert [p.name for p in severity_sweep("jpeg")] == ["jpeg(50)", "jpeg(20)", "jpeg(10)",
                                                        "jpeg(5)"]
    assert severity_sweep("none") == [Perturbation("none")]


def test_unit_seed_is_stable():
    # Pinned: stored runs depend on these seeds; a change here changes every noisy image.
    assert unit_seed(0, "12003") == 2683693555218738437
    assert unit_seed(7, "0001TP_006690") == 3390448135544268049
    assert unit_seed(0, "12003") != unit_seed(1, "12003") != unit_seed(1, "12004")
    assert 0 <= unit_seed(123, "x") < 2**63


def test_bad_input():
    with pytest.raises(ValueError, match="unknown perturbation kind 'fog'.*noise, blur, jpeg"):
        parse_perturbation("fog(1)")
    with pytest.raises(ValueError, match="unknown perturbation kind"):
        Perturbation("fog", 1.0)
    with pytest.raises(ValueError, match=r"needs a severity.*noise\(0.05\)"):
        parse_perturbation("noise")
    with pytest.raises(ValueError, match="must be a number"):
        parse_perturbation("noise(a lot)")
    with pytest.raises(ValueError, match="cannot read perturbation"):
        parse_perturbation("noise(0.1")
    with pytest.raises(TypeError, match="must be a string"):
        parse_perturbation(0.1)
    with pytest.raises(ValueError, match=r"noise sigma\) must be <= 1"):
        parse_perturbation("noise(2)")
    with pytest.raises(ValueError, match=r"jpeg quality\) must be a whole number"):
        Perturbation("jpeg", 20.5)
    with pytest.raises(ValueError, match=r"jpeg quality\) must be >= 1"):
        Perturbation("jpeg", 0)
    with pytest.raises(ValueError, match=r"gamma g\) must be > 0"):
        Perturbation("gamma", 0)
    with pytest.raises(ValueError, match=r"downscale factor\) must be >= 1"):
        Perturbation("downscale", 0.5)
    with pytest.raises(ValueError, match=r"none severity\) must be <= 0"):
        parse_perturbation("none(1)")
    with pytest.raises(ValueError, match=r"severity \(noise sigma\) must be finite"):
        Perturbation("noise", float("nan"))
    with pytest.raises(ValueError, match="must have shape"):
        Perturbation("noise", 0.1).apply(np.zeros((3, 8, 8)), seed=0)
    with pytest.raises(ValueError, match="values in"):
        Perturbation("blur", 1.0).apply(np.full((8, 8), 2.0), seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        Perturbation("noise", 0.1).apply(np.zeros((8, 8)), seed=-1)
    with pytest.raises(TypeError, match="run_seed must be an integer"):
        unit_seed("0", "a")
    with pytest.raises(TypeError, match="image_id must be a string"):
        unit_seed(0, 12003)
    with pytest.raises(ValueError, match=r"height and width \(20, 30\)"):
        Perturbation("downscale", 2).restore_labels(np.zeros((40, 60), int), (40, 60))
    with pytest.raises(ValueError, match=r"height and width \(40, 60\)"):
        Perturbation("noise", 0.1).restore_labels(np.zeros((20, 30), int), (40, 60, 3))
    with pytest.raises(TypeError, match="integer labels"):
        restore_labels(np.zeros((4, 4)), (8, 8))
    with pytest.raises(ValueError, match="positive sizes"):
        restore_labels(np.zeros((4, 4), int), (0, 8))
