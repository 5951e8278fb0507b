import numpy as np
import pytest
from skimage.measure import label

from classical.baselines import BASELINES, get_baseline


def _two_halves(dtype=np.uint8):
    image = np.zeros((24, 30, 3), np.uint8)
    image[:, 15:] = (200, 40, 40)
    image[:, :15] = (30, 160, 30)
    return image if dtype == np.uint8 else image.astype(np.float64) / 255


@pytest.mark.parametrize("name", list(BASELINES))
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_baseline_labels_are_connected_partition(name, dtype):
    image = _two_halves(dtype)
    labels = get_baseline(name)(image)
    assert labels.shape == image.shape[:2] and labels.dtype == np.int32
    n = labels.max() + 1
    assert set(np.unique(labels)) == set(range(n))
    # Every label is one 8-connected component.
    assert label(labels, background=-1, connectivity=2).max() == n
    # No region straddles the colour edge.
    assert not np.intersect1d(np.unique(labels[:, :15]), np.unique(labels[:, 15:])).size


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_gray_and_odd_sizes(name):
    image = np.linspace(0, 1, 7 * 5).reshape(7, 5)
    labels = get_baseline(name)(image)
    assert labels.shape == (7, 5)


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_deterministic(name, rng):
    image = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    seg = get_baseline(name)
    assert np.array_equal(seg(image), seg(image))


def test_sweep_orders_fine_to_coarse():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    seg = get_baseline("slic")
    counts = [int(labels.max()) + 1 for labels in seg.sweep(image)]
    assert counts == sorted(counts, reverse=True)
    assert len(counts) == len(seg.sweep_values)


def test_unknown_baseline_and_parameter():
    with pytest.raises(ValueError, match=r"unknown baseline 'slik'.*Did you mean 'slic'"):
        get_baseline("slik")
    with pytest.raises(ValueError, match=r"slic has no parameter 'segments'; valid parameters"):
        get_baseline("slic", segments=3)


def test_bad_parameter_value():
    with pytest.raises(ValueError, match=r"n_segments must be >= 1; got 0"):
        get_baseline("slic", n_segments=0)(np.zeros((4, 4)))


def test_bad_image():
    with pytest.raises(ValueError, match=r"If channels come first"):
        get_baseline("felzenszwalb")(np.zeros((3, 10, 10)))
