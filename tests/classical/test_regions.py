import numpy as np
import pytest
from skimage.measure import label

from classical._regions import adjacent_pairs, merge_small_regions, relabel_connected


def test_adjacent_pairs_closed_form():
    labels = np.array([[0, 0, 1],
                       [2, 2, 1]])
    pairs, contacts = adjacent_pairs(labels, connectivity=4)
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert contacts.tolist() == [1, 2, 1]
    pairs8, contacts8 = adjacent_pairs(labels, connectivity=8)
    # Diagonals add (0,1)-(1,2): 0-1; (0,0)-(1,1) and (0,1)-(1,0): 0-2 twice; (0,2)-(1,1): 1-2.
    assert pairs8.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert contacts8.tolist() == [2, 4, 2]


@pytest.mark.parametrize("connectivity", [4, 8])
def test_relabel_connected_splits_and_matches_skimage(rng, connectivity):
    labels = rng.integers(0, 3, size=(20, 17))
    out = relabel_connected(labels, connectivity)
    expected = label(labels, background=-1, connectivity=connectivity // 4)
    assert out.min() == 0
    assert np.array_equal(out + 1, expected)


def test_relabel_connected_one_pixel():
    assert relabel_connected(np.array([[7]])).tolist() == [[0]]


def test_merge_small_regions_absorbs_by_contact():
    labels = np.zeros((6, 6), int)
    labels[:, 3:] = 1
    labels[2, 2] = 2  # a 1-pixel island inside region 0
    out = merge_small_regions(labels, min_size=2)
    assert out.max() == 1
    assert out[2, 2] == out[0, 0]


def test_merge_small_regions_by_feature_similarity():
    labels = np.array([[0, 0, 0, 2, 1, 1, 1]] * 3)
    features = np.array([[0, 0, 0, 0.9, 1, 1, 1]] * 3, float)
    out = merge_small_regions(labels, min_size=4, features=features)
    assert out[0, 3] == out[0, 4] != out[0, 0]


def test_merge_small_regions_everything_small_ends_in_one_region():
    labels = np.arange(12).reshape(3, 4)
    out = merge_small_regions(labels, min_size=100)
    assert out.max() == 0
