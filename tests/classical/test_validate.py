import numpy as np
import pytest

from classical._validate import (
    as_float_image,
    check_connectivity,
    check_file,
    check_image,
    check_int,
    check_labels,
    check_mask,
    check_real,
)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (1, 1), (1, 9, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_check_image_accepts(shape, dtype):
    image = np.zeros(shape, dtype=dtype)
    assert check_image(image) is image


@pytest.mark.parametrize(
    "image, error, match",
    [
        ([[0, 1]], TypeError, r"image must be a numpy array; got list"),
        (np.zeros((3, 10, 12)), ValueError, r"got \(3, 10, 12\)\. If channels come first"),
        (np.zeros((10, 12, 4)), ValueError, r"RGBA"),
        (np.zeros((10, 12, 1)), ValueError, r"single channel"),
        (np.zeros((2, 3, 4, 5)), ValueError, r"must have shape \(H, W\) or \(H, W, 3\)"),
        (np.zeros((0, 5)), ValueError, r"image is empty"),
        (np.zeros((4, 4), np.int64), TypeError, r"uint8 .* got dtype int64"),
        (np.zeros((4, 4), bool), TypeError, r"got dtype bool"),
        (np.full((4, 4), np.nan), ValueError, r"16 NaN or infinite"),
        (np.full((4, 4), 2.0), ValueError, r"values in \[2, 2\]; expected \[0, 1\]"),
    ],
)
def test_check_image_rejects(image, error, match):
    with pytest.raises(error, match=match):
        check_image(image)


def test_check_image_gray_not_allowed():
    with pytest.raises(ValueError, match=r"photo must have shape \(H, W, 3\)"):
        check_image(np.zeros((4, 4)), "photo", allow_gray=False)


def test_as_float_image_scales_uint8():
    out = as_float_image(np.array([[0, 255]], np.uint8))
    assert out.dtype == np.float64 and out.tolist() == [[0.0, 1.0]]


def test_check_labels_and_shape():
    labels = np.zeros((4, 5), np.int32)
    assert check_labels(labels, shape=(4, 5, 3)) is labels
    with pytest.raises(ValueError, match=r"labels and image must have the same height and width; got \(4, 5\) and \(4, 6\)"):
        check_labels(labels, shape=(4, 6))
    with pytest.raises(TypeError, match=r"integer labels; got dtype float64"):
        check_labels(labels.astype(float))
    with pytest.raises(ValueError, match=r"shape \(H, W\); got \(4, 5, 1\)"):
        check_labels(labels[..., None])


def test_check_mask_range():
    mask = np.array([[0, 1, 255], [10, 12, 12]])
    with pytest.raises(ValueError, match=r"mask has label 12 outside 0..10 \(num_classes=11\) at 2 pixels; mark void pixels with 255"):
        check_mask(mask, num_classes=11)
    check_mask(np.array([[0, 10, 255]]), num_classes=11)
    with pytest.raises(ValueError, match=r"outside 0..10"):
        check_mask(np.array([[-1, 0]]), num_classes=11)


@pytest.mark.parametrize("value", [4, 8])
def test_connectivity_ok(value):
    assert check_connectivity(value) == value


@pytest.mark.parametrize("value", [6, 0, "8", True])
def test_connectivity_bad(value):
    with pytest.raises(ValueError, match="connectivity must be 4 or 8"):
        check_connectivity(value)


def test_check_int_and_real():
    assert check_int(np.int64(3), "n", minimum=1) == 3
    with pytest.raises(TypeError, match=r"n must be an integer; got 2.5"):
        check_int(2.5, "n")
    with pytest.raises(ValueError, match=r"n must be >= 1; got 0"):
        check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match=r"sigma must be > 0; got 0"):
        check_real(0, "sigma", minimum=0, strict_minimum=True)
    with pytest.raises(ValueError, match=r"t must be finite"):
        check_real(float("nan"), "t")


def test_check_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"checkpoint '.*nope.pt' does not exist"):
        check_file(tmp_path / "nope.pt", "checkpoint")
    with pytest.raises(FileNotFoundError, match="is a folder"):
        check_file(tmp_path, "checkpoint")
