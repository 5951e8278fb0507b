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


def test_quickshift_sweep_cuts_one_tree(rng):
    # Every max_dist of the sweep equals an independent run, and each is scikit-image's
    # quickshift with its disconnected clusters split (a refinement of it).
    from skimage.segmentation import quickshift as skimage_quickshift

    image = rng.integers(0, 256, (18, 22, 3), dtype=np.uint8)
    image[:, 11:] //= 4  # two halves of different brightness
    seg = get_baseline("quickshift")
    values = (2.0, 5.0, 12.0, 40.0)
    sweep = seg.sweep(image, values)
    assert len(sweep) == len(values)
    for max_dist, labels in zip(values, sweep):
        single = seg.with_params(max_dist=max_dist)(image)
        assert np.array_equal(single, labels)
        reference = skimage_quickshift(image / 255.0, kernel_size=seg.params.kernel_size,
                                       max_dist=max_dist, rng=seg.params.seed)
        # Each of our regions lies inside one reference cluster.
        pairs = np.unique(np.stack([labels.ravel(), reference.ravel()]), axis=1)
        assert pairs.shape[1] == labels.max() + 1
    counts = [int(labels.max()) + 1 for labels in sweep]
    assert counts == sorted(counts, reverse=True)


def test_quickshift_bad_max_dists():
    from classical.baselines import quickshift_sweep

    with pytest.raises(ValueError, match="max_dists is empty"):
        quickshift_sweep(np.zeros((4, 4)), [])
    with pytest.raises(ValueError, match="max_dists must be > 0"):
        quickshift_sweep(np.zeros((4, 4)), [3.0, 0.0])


@pytest.mark.parametrize("name", list(BASELINES))
def test_default_sweeps_have_twelve_values_fine_to_coarse(name):
    seg = get_baseline(name)
    values = seg.sweep_values
    assert len(values) == 12 and len(set(values)) == 12
    # Fine to coarse: region counts fall along the sweep, i.e. the parameter rises for
    # scale-like parameters and falls for counts (n_segments, markers).
    decreasing = name in ("slic", "watershed")
    assert list(values) == sorted(values, reverse=decreasing)
