"""Tests for classical.features: colour spaces, Gabor, LBP, variance, Laws, xy, the stack."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import color
from skimage.feature import local_binary_pattern
from skimage.filters import gabor

from classical.features import (
    FEATURES,
    LAWS_VECTORS,
    colour_features,
    edge_strength,
    feature_stack,
    gabor_energy,
    gabor_kernels,
    laws_energy,
    laws_masks,
    laws_names,
    lbp_codes,
    lbp_histograms,
    local_variance,
    standardise,
    xy_coordinates,
)

CHANNELS = {"rgb": 3, "lab": 3, "hsv": 3, "grey": 1, "gabor": 12, "texture": 12, "lbp": 10,
            "variance": 1, "laws": 9, "edges": 1, "xy": 2}


def stripes(shape, theta, wavelength, amplitude=0.5):
    """0.5 + amplitude * cos of a plane wave whose wave vector points along theta."""
    rows, cols = np.indices(shape)
    phase = 2 * np.pi * (cols * np.cos(theta) + rows * np.sin(theta)) / wavelength
    return 0.5 + amplitude * np.cos(phase)


# ----------------------------------------------------------------------------------------
# Colour
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.float32])
def test_colour_features_match_skimage(rng, dtype):
    image = rng.random((7, 9, 3))
    if dtype == np.uint8:
        image = (image * 255).astype(np.uint8)
    else:
        image = image.astype(dtype)
    reference = image.astype(np.float64) / 255 if dtype == np.uint8 else image.astype(np.float64)
    np.testing.assert_allclose(colour_features(image, "rgb"), reference, atol=1e-6)
    np.testing.assert_allclose(colour_features(image, "lab"), color.rgb2lab(reference),
                               atol=2e-3)
    np.testing.assert_allclose(colour_features(image, "hsv"), color.rgb2hsv(reference),
                               atol=1e-5)
    np.testing.assert_allclose(colour_features(image, "grey")[..., 0],
                               color.rgb2gray(reference), atol=1e-6)
    for space in ("rgb", "lab", "hsv", "grey"):
        assert colour_features(image, space).dtype == np.float32


def test_colour_features_of_grey_image(rng):
    grey = rng.random((5, 6))
    np.testing.assert_allclose(colour_features(grey, "grey")[..., 0], grey, atol=1e-6)
    np.testing.assert_allclose(colour_features(grey, "rgb"), np.dstack([grey] * 3), atol=1e-6)
    lab = colour_features(grey, "lab")
    np.testing.assert_allclose(lab[..., 1:], 0, atol=1e-2)  # neutral grey: a = b = 0
    np.testing.assert_allclose(colour_features(grey, "hsv")[..., 2], grey, atol=1e-6)


def test_colour_features_do_not_modify_input(rng):
    image = rng.random((4, 4, 3)).astype(np.float32)
    before = image.copy()
    colour_features(image, "rgb")[:] = 0
    np.testing.assert_array_equal(image, before)


def test_edge_strength_is_the_lab_gradient_magnitude(rng):
    # Unsmoothed, the map is the Sobel gradient per pixel of the Lab image, normed over
    # channels; on a linear ramp in L it is the ramp's slope away from the border.
    image = rng.random((8, 9, 3))
    lab = color.rgb2lab(image)
    expected = np.sqrt(sum(ndi.sobel(lab[..., c], axis=a, mode="reflect") ** 2
                           for c in range(3) for a in (0, 1))) / 8
    np.testing.assert_allclose(edge_strength(image, sigma=0), expected, rtol=1e-4, atol=1e-3)
    ramp = np.tile(np.linspace(0.2, 0.8, 12), (10, 1))
    slope = np.diff(color.rgb2lab(np.repeat(ramp[..., None], 3, axis=2))[5, :, 0])
    strength = edge_strength(ramp, sigma=0)
    np.testing.assert_allclose(strength[5, 3:9], (slope[2:8] + slope[3:9]) / 2, rtol=1e-3)


@pytest.mark.parametrize("theta", [0.0, math.pi / 4, math.pi / 2])
def test_gabor_pyramid_keeps_the_energy_of_sinusoids(theta):
    # Each scale runs on the coarsest pyramid level where its wavelength spans >= 4
    # pixels; with the pyramid's damping divided out, a matched sinusoid keeps its
    # energy, and the 4-pixel scale (level 0) is computed as without.
    for wavelength in (4.0, 8.0, 16.0):
        image = stripes((96, 112), theta, wavelength, amplitude=0.4)
        full = gabor_energy(image)
        fast = gabor_energy(image, pyramid=True)
        assert fast.shape == full.shape and fast.dtype == np.float32
        j = int(round(theta / (math.pi / 4)))
        k = [4.0, 8.0, 16.0].index(wavelength) * 4 + j
        assert fast[48, 56, k] == pytest.approx(full[48, 56, k], rel=0.07)
        np.testing.assert_allclose(fast[..., :4], full[..., :4], rtol=1e-5, atol=1e-7)
    assert gabor_energy(np.zeros((1, 1)), pyramid=True).shape == (1, 1, 12)
    with pytest.raises(TypeError, match="pyramid must be True or False"):
        gabor_energy(np.zeros((4, 4)), pyramid=1)


def test_relative_edge_strength_is_the_map_over_its_mean(rng):
    # The relative map is the raw map over its mean, so a flat image stays 0.
    image = rng.random((10, 12))
    raw = edge_strength(image)
    np.testing.assert_allclose(edge_strength(image, relative=True), raw / raw.mean(),
                               rtol=1e-5)
    assert edge_strength(image, relative=True).mean() == pytest.approx(1.0, rel=1e-5)
    assert not edge_strength(np.full((4, 4), 0.5), relative=True).any()
    with pytest.raises(TypeError, match="relative must be True or False; got 1"):
        edge_strength(image, relative=1)


def test_edge_strength_peaks_on_a_step_and_is_zero_on_flat_images():
    image = np.zeros((15, 16, 3))
    image[:, 8:] = 1.0
    strength = edge_strength(image, sigma=1.5)
    assert set(np.argmax(strength, axis=1)) <= {7, 8}
    assert strength.shape == (15, 16) and strength.dtype == np.float32
    assert edge_strength(np.full((5, 4), 0.3)).max() < 1e-6  # rounding only
    assert edge_strength(np.zeros((1, 1))).shape == (1, 1)


# ----------------------------------------------------------------------------------------
# Gabor
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("j", range(4))
def test_gabor_responds_most_at_the_stripe_orientation(j):
    theta = j * np.pi / 4
    image = stripes((64, 64), theta, wavelength=8)
    energy = gabor_energy(image, n_orientations=4, wavelengths=(4, 8, 16))
    at_8 = energy[..., 4:8]  # scale-major: wavelength 8 holds channels 4..7
    centre = at_8[16:48, 16:48].mean(axis=(0, 1))
    assert int(np.argmax(centre)) == j
    # The bank is normalised so a matched sinusoid's energy is about its amplitude.
    assert centre[j] == pytest.approx(0.5, rel=0.05)
    # And the matched scale beats the others at that orientation.
    scales = energy[16:48, 16:48, j::4].mean(axis=(0, 1))
    assert int(np.argmax(scales)) == 1


def test_gabor_ignores_constant_images():
    energy = gabor_energy(np.full((30, 40), 0.7))
    assert np.abs(energy).max() < 1e-5


def test_gabor_bank_layout_and_kernels():
    bank = gabor_kernels(n_orientations=6, wavelengths=(4, 10))
    assert [k.wavelength for k in bank] == [4.0] * 6 + [10.0] * 6
    assert [k.theta for k in bank[:6]] == pytest.approx([j * np.pi / 6 for j in range(6)])
    for kernel in bank:
        assert kernel.even.shape == kernel.odd.shape
        assert kernel.even.shape[0] == 2 * math.ceil(3 * kernel.sigma) + 1
        assert kernel.sigma == pytest.approx(0.5622 * kernel.wavelength, rel=1e-3)
        assert abs(float(kernel.even.sum())) < 1e-5  # zero DC
        assert abs(float(kernel.odd.sum())) < 1e-5


@pytest.mark.parametrize("pyramid", [False, True])
def test_removing_structure_leaves_no_energy_along_straight_edges(pyramid):
    # A straight step between two flat regions is structure: the median of a window
    # centred on either side is that side's value, so the residual and its energy are
    # exactly zero, where the plain luminance gives a band of energy along the edge.
    rows, cols = np.mgrid[:120, :150]
    for edge in (cols >= 71, rows >= 53):
        image = np.where(edge, 0.8, 0.2)
        assert gabor_energy(image, pyramid=pyramid).max() > 0.05
        np.testing.assert_array_equal(
            gabor_energy(image, pyramid=pyramid, remove_structure=True), 0.0)
    # At other angles the same holds away from the image border (where the median's
    # replicated border breaks the window's symmetry): beyond the filters' reach of it
    # only the DFTs' rounding is left.
    image = np.where(rows + 0.6 * cols >= 100, 0.8, 0.2)
    inner = (slice(40, -40), slice(40, -40))
    assert gabor_energy(image, wavelengths=(4, 8), pyramid=pyramid)[inner].max() > 0.05
    assert gabor_energy(image, wavelengths=(4, 8), pyramid=pyramid,
                        remove_structure=True)[inner].max() < 1e-6


def test_removing_structure_keeps_texture():
    # Stripes of period 8 across a ramp (smooth shading): the residual keeps the
    # stripes, so the energy stays orientation-selective and of the same size.
    cols = np.arange(96)
    image = np.tile(0.35 + 0.2 * np.cos(2 * np.pi * cols / 8) + 0.002 * cols, (64, 1))
    plain = gabor_energy(image, wavelengths=(8,))[32, 48]
    residual = gabor_energy(image, wavelengths=(8,), remove_structure=True)[32, 48]
    assert int(residual.argmax()) == 0 == int(plain.argmax())
    assert 0.6 * plain[0] < residual[0] < 1.4 * plain[0]
    with pytest.raises(TypeError, match="remove_structure must be True or False"):
        gabor_energy(image, remove_structure=1)


def test_gabor_kernels_are_the_callers_own(rng):
    # The bank is built once and shared; what gabor_kernels hands out is a copy, so
    # editing it cannot change later energies.
    image = rng.random((24, 28))
    before = gabor_energy(image)
    bank = gabor_kernels()
    for kernel in bank:
        kernel.even[...] = 0.0
        kernel.odd[...] = 0.0
    np.testing.assert_array_equal(gabor_energy(image), before)
    assert all(kernel.even.any() for kernel in gabor_kernels())


@pytest.mark.parametrize("index", [0, 2, 4, 6, 8, 10])  # theta = 0 and pi / 2
def test_gabor_bank_matches_skimage_gabor(rng, index):
    image = rng.random((40, 50))
    kernel = gabor_kernels()[index]
    real, imag = gabor(image, 1 / kernel.wavelength, theta=kernel.theta, bandwidth=1,
                       mode="reflect")
    # The odd (sine) responses agree up to one scale factor.
    odd = cv2.filter2D(image.astype(np.float32), -1, kernel.odd, borderType=cv2.BORDER_REFLECT)
    scale = (odd * imag).sum() / (imag * imag).sum()
    np.testing.assert_allclose(odd, scale * imag, atol=1e-5 * np.abs(odd).max())
    # Energies agree up to the same scale, apart from the DC we remove from the even part.
    energy = gabor_energy(image, smoothing=0)[..., index]
    magnitude = np.hypot(real, imag)
    assert np.corrcoef(energy.ravel(), magnitude.ravel())[0, 1] > 0.99
    np.testing.assert_allclose(energy, abs(scale) * magnitude, atol=0.05 * energy.max())


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 40), (30, 7), (41, 64)])
def test_gabor_energy_matches_filter2d_pairs(rng, shape):
    # The bank is filtered by DFTs, one complex inverse per kernel; it must agree with
    # the plain definition, |filter2D(even) + i filter2D(odd)|, reflected border.
    image = rng.random(shape).astype(np.float32)
    bank = gabor_kernels()
    expected = np.stack([cv2.magnitude(
        cv2.filter2D(image, cv2.CV_32F, k.even, borderType=cv2.BORDER_REFLECT),
        cv2.filter2D(image, cv2.CV_32F, k.odd, borderType=cv2.BORDER_REFLECT),
    ).reshape(shape) for k in bank], axis=-1)
    np.testing.assert_allclose(gabor_energy(image, smoothing=0), expected, rtol=0, atol=1e-6)


def test_gabor_smoothing_averages_energy(rng):
    image = rng.random((32, 32))
    raw = gabor_energy(image, wavelengths=(4,), smoothing=0)
    smooth = gabor_energy(image, wavelengths=(4,), smoothing=1.0)
    assert smooth.std() < raw.std()
    np.testing.assert_allclose(smooth.mean(axis=(0, 1)), raw.mean(axis=(0, 1)), rtol=0.05)


# ----------------------------------------------------------------------------------------
# LBP and local variance
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (12, 9)])
def test_lbp_of_constant_image_is_one_code(shape):
    image = np.full(shape, 0.4)
    codes = lbp_codes(image)
    assert codes.dtype == np.int32 and codes.shape == shape
    assert np.all(codes == 8)  # all neighbours >= centre: the uniform pattern of P ones
    histograms = lbp_histograms(image)
    assert histograms.shape == shape + (10,)
    expected = np.zeros(10)
    expected[8] = 1
    np.testing.assert_allclose(histograms, np.broadcast_to(expected, histograms.shape),
                               atol=1e-6)


def test_lbp_matches_skimage_inside(rng):
    image = rng.integers(0, 256, size=(20, 24), dtype=np.uint8)
    codes = lbp_codes(image, points=8, radius=2)
    reference = local_binary_pattern(image, 8, 2, method="uniform")
    np.testing.assert_array_equal(codes[3:-3, 3:-3], reference[3:-3, 3:-3])
    assert codes.min() >= 0 and codes.max() <= 9


def test_lbp_histograms_sum_to_one_and_count_codes(rng):
    image = rng.random((15, 17))
    histograms = lbp_histograms(image, window=3)
    np.testing.assert_allclose(histograms.sum(axis=-1), 1, atol=1e-5)
    codes = lbp_codes(image)
    window = codes[6:9, 7:10]
    expected = np.bincount(window.ravel(), minlength=10) / 9
    np.testing.assert_allclose(histograms[7, 8], expected, atol=1e-6)


def test_local_variance_matches_direct_computation(rng):
    image = rng.random((11, 13))
    variance = local_variance(image, window=5)
    assert variance.shape == (11, 13, 1) and variance.dtype == np.float32
    reference = ndi.generic_filter(image, np.var, size=5, mode="reflect")
    np.testing.assert_allclose(variance[..., 0], reference, atol=1e-5)
    assert np.all(local_variance(np.full((4, 4), 0.3))[..., 0] == 0)


# ----------------------------------------------------------------------------------------
# Laws
# ----------------------------------------------------------------------------------------


def test_laws_masks_are_outer_products():
    masks = laws_masks(("L5", "E5", "S5", "W5", "R5"))
    assert len(masks) == 25
    np.testing.assert_array_equal(masks["E5L5"][:, 2], [-6, -12, 0, 12, 6])  # E5 * L5[2]
    np.testing.assert_array_equal(masks["E5L5"], masks["L5E5"].T)
    for name, mask in masks.items():
        np.testing.assert_array_equal(mask, np.outer(LAWS_VECTORS[name[:2]],
                                                     LAWS_VECTORS[name[2:]]))
    assert laws_names() == ("L5E5/E5L5", "L5S5/S5L5", "L5R5/R5L5", "E5E5", "E5S5/S5E5",
                            "E5R5/R5E5", "S5S5", "S5R5/R5S5", "R5R5")


def test_laws_separable_filtering_equals_full_2d_correlation(rng):
    image = rng.random((13, 17))
    vectors = ("L5", "E5", "S5", "W5", "R5")
    energy = laws_energy(image, vectors=vectors, window=1, mean_window=None, combine=False)
    names = laws_names(vectors, combine=False)
    assert energy.shape == (13, 17, 25)
    for k, (name, mask) in enumerate(laws_masks(vectors).items()):
        assert names[k] == name
        full = ndi.correlate(image, mask, mode="reflect")
        np.testing.assert_allclose(energy[..., k], np.abs(full), atol=2e-4, err_msg=name)


def test_laws_closed_form_on_a_ramp():
    # I = a * row: E5L5 sees sum_i E5[i] * a * (i - 2) * sum(L5) = a * 8 * 16 everywhere
    # inside; L5E5 sees a ramp along its smoothing direction only and gives 0.
    a = 0.01
    image = a * np.indices((20, 20))[0]
    energy = laws_energy(image, vectors=("L5", "E5"), window=1, mean_window=None,
                         combine=False)
    names = laws_names(("L5", "E5"), combine=False)
    inside = (slice(2, -2), slice(2, -2))
    np.testing.assert_allclose(energy[inside][..., names.index("E5L5")], 128 * a, rtol=1e-5)
    np.testing.assert_allclose(energy[inside][..., names.index("L5E5")], 0, atol=1e-5)
    np.testing.assert_allclose(energy[inside][..., names.index("L5L5")], 256 * image[inside],
                               rtol=1e-5)


def test_laws_e5l5_responds_to_horizontal_edges():
    image = np.zeros((30, 30))
    image[15:] = 1.0  # a horizontal edge
    energy = laws_energy(image, vectors=("L5", "E5"), window=5, combine=False)
    names = laws_names(("L5", "E5"), combine=False)
    e5l5, l5e5 = energy[..., names.index("E5L5")], energy[..., names.index("L5E5")]
    assert e5l5[15, 15] > 10 * max(l5e5[15, 15], 1e-6)
    transposed = laws_energy(image.T, vectors=("L5", "E5"), window=5, combine=False)
    np.testing.assert_allclose(transposed[..., names.index("L5E5")], e5l5.T, atol=1e-5)


def test_laws_combine_averages_symmetric_pairs(rng):
    image = rng.random((16, 18))
    separate = laws_energy(image, combine=False)
    combined = laws_energy(image)
    names = laws_names(combine=False)
    assert combined.shape == (16, 18, 9)
    expected = 0.5 * (separate[..., names.index("L5E5")] + separate[..., names.index("E5L5")])
    np.testing.assert_allclose(combined[..., 0], expected, atol=1e-6)
    np.testing.assert_allclose(combined[..., 3], separate[..., names.index("E5E5")], atol=1e-6)


def test_laws_mean_removal_ignores_brightness(rng):
    image = rng.random((20, 20)) * 0.5
    np.testing.assert_allclose(laws_energy(image), laws_energy(image + 0.4), atol=1e-5)


# ----------------------------------------------------------------------------------------
# xy, standardisation, the stack
# ----------------------------------------------------------------------------------------


def test_xy_coordinates():
    xy = xy_coordinates(np.zeros((3, 4)))
    assert xy.shape == (3, 4, 2)
    assert xy[2, 1].tolist() == [1.0, 2.0]  # x = column, y = row
    raw = feature_stack(np.zeros((3, 4)), ("xy",), standardise=False)
    np.testing.assert_array_equal(raw, xy)


def test_standardise(rng):
    values = rng.random((9, 11, 4)) * [1, 10, 100, 0] + [0, -5, 3, 7]
    out = standardise(values)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[..., :3].mean(axis=(0, 1)), 0, atol=1e-6)
    np.testing.assert_allclose(out[..., :3].std(axis=(0, 1)), 1, atol=1e-5)
    np.testing.assert_array_equal(out[..., 3], 0)  # a constant channel becomes zero


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_standardise_equals_the_numpy_formulation(rng, dtype):
    # The compiled passes sum in NumPy's order: bit-identical to centring a float64
    # copy with mean(axis=0) and scaling by the einsum standard deviation.
    values = (rng.random((37, 23, 12)) * 200).astype(dtype)
    flat = values.reshape(-1, 12).astype(np.float64)
    flat -= flat.mean(axis=0)
    expected = flat * (1.0 / np.sqrt(np.einsum("ij,ij->j", flat, flat) / flat.shape[0]))
    np.testing.assert_array_equal(standardise(values),
                                  expected.astype(np.float32).reshape(values.shape))


def test_feature_stack_is_standardised(rng):
    image = rng.random((20, 25, 3))
    stack = feature_stack(image, ("lab", "gabor", "lbp", "variance", "laws", "xy"))
    assert stack.shape == (20, 25, 3 + 12 + 10 + 1 + 9 + 2) and stack.dtype == np.float32
    np.testing.assert_allclose(stack.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(stack.std(axis=(0, 1)), 1, atol=1e-4)


def test_feature_stack_weights_scale_channels(rng):
    image = rng.random((10, 12, 3))
    plain = feature_stack(image, ("lab", "xy"))
    weighted = feature_stack(image, ("lab", "xy"), weights={"xy": 0.25})
    np.testing.assert_allclose(weighted[..., :3], plain[..., :3])
    np.testing.assert_allclose(weighted[..., 3:], 0.25 * plain[..., 3:], atol=1e-7)
    by_position = feature_stack(image, ("lab", "xy"), weights=[2.0, 0.25])
    np.testing.assert_allclose(by_position[..., :3], 2 * plain[..., :3], atol=1e-6)
    np.testing.assert_allclose(by_position[..., 3:], weighted[..., 3:])
    unstandardised = feature_stack(image, ("rgb",), weights={"rgb": 3.0}, standardise=False)
    np.testing.assert_allclose(unstandardised, 3 * image, atol=1e-6)


def test_feature_stack_parameters_reach_the_features(rng):
    image = rng.random((16, 16))
    stack = feature_stack(image, ("gabor", "lbp"), n_orientations=2, wavelengths=(4,),
                          lbp_points=4, lbp_radius=1, window=3, standardise=False)
    assert stack.shape == (16, 16, 2 + 6)
    # float32 energies: the stack and a direct call may round differently (DFT sizes).
    np.testing.assert_allclose(stack[..., :2], gabor_energy(image, n_orientations=2,
                                                            wavelengths=(4,)), rtol=1e-6)
    np.testing.assert_allclose(stack[..., 2:], lbp_histograms(image, points=4, window=3))


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (5, 7), (1, 1, 3), (1, 6, 3),
                                   (6, 1, 3), (7, 5, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_feature_stack_any_size_and_kind(rng, shape, dtype):
    image = rng.random(shape)
    image = (image * 255).astype(np.uint8) if dtype == np.uint8 else image.astype(dtype)
    stack = feature_stack(image, FEATURES)
    assert stack.shape == shape[:2] + (sum(CHANNELS[name] for name in FEATURES),)
    assert stack.dtype == np.float32 and np.isfinite(stack).all()
    if shape[:2] == (1, 1):
        assert np.all(stack == 0)  # nothing varies over one pixel


def test_uint8_and_float_inputs_agree(rng):
    image = rng.integers(0, 256, size=(12, 14, 3), dtype=np.uint8)
    as_float = image / 255.0
    for name in FEATURES:
        np.testing.assert_allclose(feature_stack(image, (name,)),
                                   feature_stack(as_float, (name,)), atol=1e-4, err_msg=name)


# ----------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda im: feature_stack(im, ("lab", "colour")), ValueError,
         r"unknown feature 'colour'; valid names are rgb, lab, hsv, grey, gabor"),
        (lambda im: feature_stack(im, "lab"), TypeError, r"such as \('lab',\)"),
        (lambda im: feature_stack(im, ()), ValueError, "features is empty"),
        (lambda im: feature_stack(im, ("lab", "lab")), ValueError, "twice"),
        (lambda im: feature_stack(im, 3), TypeError, "sequence of names"),
        (lambda im: feature_stack(im, ("lab",), weights={"xy": 1.0}), ValueError,
         "'xy', which is not among the features"),
        (lambda im: feature_stack(im, ("lab", "xy"), weights=[1.0]), ValueError,
         "one entry per feature"),
        (lambda im: feature_stack(im, ("lab",), weights={"lab": -1.0}), ValueError,
         r"weights\['lab'\] must be >= 0"),
        (lambda im: feature_stack(im, ("lab",), weights=2.0), TypeError, "mapping"),
        (lambda im: feature_stack(np.moveaxis(im, -1, 0), ("lab",)), ValueError,
         "channels come first"),
        (lambda im: feature_stack(im * 255, ("lab",)), ValueError, r"expected \[0, 1\]"),
        (lambda im: feature_stack(im.astype(np.int32), ("lab",)), TypeError, "uint8"),
        (lambda im: feature_stack(im.tolist(), ("lab",)), TypeError, "numpy array"),
        (lambda im: colour_features(im, "luv"), ValueError, "space must be one of"),
        (lambda im: lbp_histograms(im, window=4), ValueError, "window must be odd"),
        (lambda im: local_variance(im, window=0), ValueError, "window must be >= 1"),
        (lambda im: lbp_codes(im, radius=0), ValueError, "radius must be > 0"),
        (lambda im: gabor_energy(im, wavelengths=(1,)), ValueError, "wavelengths must be >= 2"),
        (lambda im: gabor_energy(im, wavelengths=()), ValueError, "non-empty sequence"),
        (lambda im: gabor_energy(im, n_orientations=0), ValueError, "n_orientations"),
        (lambda im: gabor_energy(im, smoothing=-1), ValueError, "smoothing must be >= 0"),
        (lambda im: edge_strength(im, sigma=-0.5), ValueError, "sigma must be >= 0"),
        (lambda im: laws_energy(im, vectors=("L5", "X5")), ValueError, "distinct names from"),
        (lambda im: laws_energy(im, vectors="L5E5"), TypeError, "sequence of names"),
        (lambda im: laws_energy(im, mean_window=2), ValueError, "mean_window must be odd"),
        (lambda im: standardise(im[..., 0]), ValueError, r"shape \(H, W, C\)"),
        (lambda im: standardise(im.astype(bool)), TypeError, "real numpy array"),
    ],
)
def test_bad_input(rng, call, error, match):
    image = rng.random((6, 7, 3))
    with pytest.raises(error, match=match):
        call(image)


def test_gabor_energy_is_bitwise_repeatable():
    # Repeated calls allocate their buffers at different addresses; the result must not
    # depend on that (cv2.magnitude's did, by an ulp).
    image = np.random.default_rng(3).random((161, 241, 3)).astype(np.float32)
    first = gabor_energy(image, pyramid=True)
    for _ in range(5):
        assert np.array_equal(gabor_energy(image.copy(), pyramid=True), first)
