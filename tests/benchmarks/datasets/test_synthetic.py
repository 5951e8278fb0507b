"""Tests of the embedded synthetic dataset (benchmarks/datasets/synthetic.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage
from skimage.measure import label

from benchmarks.datasets._base import ClassInfo, SegmentationDataset, mask_to_partition
from benchmarks.datasets.synthetic import (
    CLASS_TABLE,
    FAMILIES,
    PRESETS,
    SPLITS,
    TEXTURE_PAIRS,
    SyntheticDataset,
    SyntheticParams,
    _colour_regions,
    make_scene,
    render_class,
)

CLASS_INDEX = {c.name: i for i, c in enumerate(CLASS_TABLE)}


# --------------------------------------------------------------------------- helpers

def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True if `a` and `b` are the same partition up to relabelling."""
    a = a.ravel().astype(np.int64)
    b = b.ravel().astype(np.int64)
    n_pairs = len(np.unique(a * (int(b.max()) + 1) + b))
    return len(np.unique(a)) == n_pairs == len(np.unique(b))


def _neighbours(stack: np.ndarray, diagonal: bool = True):
    """(first, second) views of pixel pairs: right, down, and both diagonals.

    `stack` is (..., H, W); the pairs are taken over the last two axes, so a stacked
    (partition, mask) is shifted together.
    """
    views = [(stack[..., :, :-1], stack[..., :, 1:]), (stack[..., :-1, :], stack[..., 1:, :])]
    if diagonal:
        views += [(stack[..., :-1, :-1], stack[..., 1:, 1:]),
                  (stack[..., :-1, 1:], stack[..., 1:, :-1])]
    return views


def check_ground_truth(image, mask, partition, num_classes):
    """Assert every validity property of one scene and its ground truth."""
    h, w = partition.shape
    assert image.shape == (h, w, 3) and image.dtype == np.uint8
    assert mask.shape == (h, w) and mask.dtype == np.int64
    assert partition.dtype == np.int32
    # Mask: every pixel labelled with a valid class, no ignore.
    assert mask.min() >= 0 and mask.max() < num_classes
    # Partition: labels 1..n, all used, covering the image.
    n = int(partition.max())
    assert partition.min() == 1
    assert np.array_equal(np.unique(partition), np.arange(1, n + 1))
    # Every region is one 4-connected component (so also 8-connected).
    assert label(partition, background=0, connectivity=1).max() == n
    # Mask constant within each region.
    index = np.arange(1, n + 1)
    assert np.array_equal(ndimage.minimum(mask, partition, index),
                          ndimage.maximum(mask, partition, index))
    # Regions that touch (horizontally, vertically or diagonally) differ in class.
    stack = np.stack([partition.astype(np.int64), mask])
    for first, second in _neighbours(stack):
        boundary = first[0] != second[0]
        assert not np.any(first[1][boundary] == second[1][boundary])
    # Hence the partition is exactly the mask's connected components.
    assert _same_partition(partition, mask_to_partition(mask))


def _orientation(grey: np.ndarray, where: np.ndarray) -> float:
    """Share of vertical-gradient energy, Ey / (Ex + Ey), over the pixels `where`.

    Horizontal stripes vary along y, so the share is near 1; vertical stripes near 0.
    """
    gy, gx = np.gradient(grey.astype(np.float64))
    ey, ex = (gy[where] ** 2).sum(), (gx[where] ** 2).sum()
    return float(ey / (ex + ey))


def _local_std(grey: np.ndarray, size: int = 5) -> np.ndarray:
    grey = grey.astype(np.float64)
    mean = ndimage.uniform_filter(grey, size)
    var = ndimage.uniform_filter(grey ** 2, size) - mean ** 2
    return np.sqrt(np.maximum(var, 0.0))


def _interior(partition: np.ndarray, region: int, margin: int = 4) -> np.ndarray:
    """Pixels of `region` at least `margin` pixels from its boundary."""
    return ndimage.binary_erosion(partition == region, iterations=margin)


# ----------------------------------------------------------------------- determinism

_SUBPROCESS = """
import hashlib, numpy as np
from benchmarks.datasets.synthetic import SyntheticDataset
for preset, split, index in [("medium", "train", 0), ("medium", "val", 5), ("hard", "test", 3),
                             ("easy", "train", 23)]:
    s = SyntheticDataset(split, preset=preset, seed=11)[index]
    h = hashlib.sha256()
    for a in (s.image, s.mask, *s.partitions):
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    print(h.hexdigest())
"""


def test_same_bytes_in_two_separate_processes():
    """Two fresh interpreters (with different hash seeds) produce identical samples."""
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", _SUBPROCESS], capture_output=True,
                              text=True, env=env, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    assert len(outputs[0]) == 4
    assert outputs[0] == outputs[1]
    # ... and this process agrees with both.
    s = SyntheticDataset("train", preset="medium", seed=11)[0]
    assert _digest(s.image, s.mask, *s.partitions) == outputs[0][0]


def test_same_seed_same_arrays_in_process():
    a = SyntheticDataset("train", preset="medium", seed=3)
    b = SyntheticDataset("train", preset="medium", seed=3)
    for i in (0, 1, 63):
        sa, sb = a[i], b[i]
        assert sa.id == sb.id
        np.testing.assert_array_equal(sa.image, sb.image)
        np.testing.assert_array_equal(sa.mask, sb.mask)
        np.testing.assert_array_equal(sa.partitions[0], sb.partitions[0])
    # Loading out of order does not change a sample (nothing is stateful).
    np.testing.assert_array_equal(a[5].image, b[5].image)


def test_make_scene_same_generator_same_scene():
    params = PRESETS["easy"]
    first = make_scene(params, np.random.default_rng(42))
    second = make_scene(params, np.random.default_rng(42))
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)


def test_global_random_state_untouched():
    state = np.random.get_state()[1].copy()
    SyntheticDataset("val", preset="easy")[0]
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_splits_and_seeds_give_different_images():
    digests = {}
    for split in SPLITS:
        ds = SyntheticDataset(split, preset="easy", seed=0)
        digests[split] = {_digest(ds[i].image) for i in range(4)}
    assert digests["train"].isdisjoint(digests["val"])
    assert digests["train"].isdisjoint(digests["test"])
    assert digests["val"].isdisjoint(digests["test"])
    assert len(digests["train"]) == 4  # images within a split differ too
    other = SyntheticDataset("train", preset="easy", seed=1)
    assert not np.array_equal(other[0].image, SyntheticDataset("train", preset="easy")[0].image)


def test_degradations_keep_the_scene():
    """Changing noise, blur and illumination alone keeps mask and partition."""
    base = PRESETS["medium"]
    clean = dataclasses.replace(base, noise=0.0, blur=0.0, illumination=0.0)
    worse = dataclasses.replace(base, noise=25.0, blur=1.5, illumination=0.8)
    scenes = [make_scene(p, np.random.default_rng(5)) for p in (base, clean, worse)]
    for image, mask, partition in scenes[1:]:
        np.testing.assert_array_equal(mask, scenes[0][1])
        np.testing.assert_array_equal(partition, scenes[0][2])
    assert not np.array_equal(scenes[0][0], scenes[1][0])
    assert not np.array_equal(scenes[0][0], scenes[2][0])


# ---------------------------------------------------------------------- ground truth

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_ground_truth_is_valid(preset):
    ds = SyntheticDataset("test", preset=preset, seed=0)
    for i in range(6):
        s = ds[i]
        assert len(s.partitions) == 1
        check_ground_truth(s.image, s.mask, s.partitions[0], ds.num_classes)
        assert not s.ignore.any()
        # Region ground truth from the sample equals the one derived from its mask.
        assert _same_partition(s.regions[0], mask_to_partition(s.mask))


def test_ground_truth_valid_with_few_classes_and_many_regions():
    """Four classes and dense, strongly warped cells: still a proper colouring."""
    params = SyntheticParams(height=96, width=96, num_classes=4, n_regions=(40, 60),
                             min_size=20, boundary_warp=9.0, warp_wavelength=16.0)
    for seed in range(12):
        check_ground_truth(*make_scene(params, np.random.default_rng(seed)), 4)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(height=st.integers(16, 80), width=st.integers(16, 80),
       num_classes=st.integers(4, len(CLASS_TABLE)),
       lo=st.integers(1, 30), extra=st.integers(0, 20),
       min_size=st.integers(1, 300), warp=st.floats(0.0, 12.0),
       wavelength=st.floats(4.0, 64.0), seed=st.integers(0, 2**32))
def test_ground_truth_valid_for_any_params(height, width, num_classes, lo, extra, min_size,
                                           warp, wavelength, seed):
    params = SyntheticParams(height=height, width=width, num_classes=num_classes,
                             n_regions=(lo, lo + extra), min_size=min_size,
                             boundary_warp=warp, warp_wavelength=wavelength)
    check_ground_truth(*make_scene(params, np.random.default_rng(seed)), num_classes)


def test_regions_respect_min_size():
    params = PRESETS["hard"]
    for seed in range(4):
        _, _, partition = make_scene(params, np.random.default_rng(seed))
        assert np.bincount(partition.ravel())[1:].min() >= params.min_size


def test_colouring_falls_back_to_backtracking():
    """The octahedron needs 3 colours and smallest-last greedy often gets stuck there."""
    # Octahedron: vertex i is adjacent to all but its opposite (i +- 3).
    neighbours = [set()] + [{j for j in range(1, 7) if j != i and abs(i - j) != 3}
                            for i in range(1, 7)]
    for seed in range(20):
        colour = _colour_regions(neighbours, 3, np.random.default_rng(seed))
        assert colour is not None
        for v in range(1, 7):
            assert all(colour[u] != colour[v] for u in neighbours[v])
    # K4 cannot be coloured with three classes.
    k4 = [set()] + [{j for j in range(1, 5) if j != i} for i in range(1, 5)]
    assert _colour_regions(k4, 3, np.random.default_rng(0)) is None


def test_all_classes_appear_in_medium_train():
    ds = SyntheticDataset("train", preset="medium")
    counts = np.zeros(ds.num_classes, np.int64)
    for i in range(16):
        counts += np.bincount(ds[i].mask.ravel(), minlength=ds.num_classes)
    assert (counts > 0).all()
    # No class is starved: each covers at least a third of its fair share.
    assert counts.min() > counts.sum() / ds.num_classes / 3


# ------------------------------------------------------------------ texture-only pairs

@pytest.mark.parametrize("pair", TEXTURE_PAIRS, ids=lambda p: f"{p[0]}-vs-{p[1]}")
def test_texture_pairs_have_the_same_mean_colour(pair):
    a, b = (CLASS_INDEX[name] for name in pair[:2])
    assert CLASS_TABLE[a].mean_color == CLASS_TABLE[b].mean_color
    patch_a = render_class(a, (128, 128)).reshape(-1, 3).mean(axis=0)
    patch_b = render_class(b, (128, 128)).reshape(-1, 3).mean(axis=0)
    assert np.abs(patch_a - patch_b).max() < 3.0
    # Both grey pairs share one mean colour: all four classes look alike to colour.
    assert np.abs(patch_a - 130.0).max() < 3.0


def test_stripes_differ_in_orientation_energy():
    horizontal = render_class(CLASS_INDEX["stripes-h-grey"], (128, 128))[..., 0]
    vertical = render_class(CLASS_INDEX["stripes-v-grey"], (128, 128))[..., 0]
    everywhere = np.ones((128, 128), bool)
    assert _orientation(horizontal, everywhere) > 0.95
    assert _orientation(vertical, everywhere) < 0.05


def test_flat_and_speckle_differ_in_local_variance():
    flat = render_class(CLASS_INDEX["flat-grey"], (128, 128))[..., 0]
    speckle = render_class(CLASS_INDEX["speckle-grey"], (128, 128))[..., 0]
    assert _local_std(flat).max() < 1e-3
    assert np.median(_local_std(speckle)) > 40.0
    # Neither has a preferred orientation.
    assert 0.4 < _orientation(speckle, np.ones(speckle.shape, bool)) < 0.6


def test_texture_pairs_in_scenes():
    """Within scenes, the grey classes share a mean but texture statistics separate them.

    Means are compared without colour jitter and illumination (which shift single
    regions on purpose); the texture statistics are measured on the real medium preset.
    """
    grey = [CLASS_INDEX[n] for n in ("stripes-h-grey", "stripes-v-grey", "flat-grey",
                                     "speckle-grey")]
    plain = dataclasses.replace(PRESETS["medium"], color_jitter=0.0, illumination=0.0)
    sums, counts = np.zeros(len(grey)), np.zeros(len(grey))
    for seed in range(8):
        image, mask, partition = make_scene(plain, np.random.default_rng(seed))
        value = image.astype(np.float64).mean(axis=2)
        for k, c in enumerate(grey):
            for region in np.unique(partition[mask == c]):
                inside = _interior(partition, region)
                sums[k] += value[inside].sum()
                counts[k] += inside.sum()
    assert (counts > 2000).all()
    means = sums / counts
    assert np.ptp(means) < 3.0, means

    ds = SyntheticDataset("train", preset="medium")
    share = {c: [] for c in grey}
    local = {c: [] for c in grey}
    for i in range(8):
        s = ds[i]
        value = s.image.astype(np.float64).mean(axis=2)
        std = _local_std(value)
        part = s.partitions[0]
        for c in grey:
            for region in np.unique(part[s.mask == c]):
                inside = _interior(part, region)
                if inside.sum() >= 200:
                    share[c].append(_orientation(value, inside))
                    local[c].append(np.median(std[inside]))
    h, v, flat, speckle = grey
    assert share[h] and share[v] and local[flat] and local[speckle]
    assert min(share[h]) > 0.75 and max(share[v]) < 0.25
    assert min(local[speckle]) > 2.0 * max(local[flat])


# -------------------------------------------------------------------- presets and API

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_have_declared_sizes_and_counts(preset):
    params = PRESETS[preset]
    for split in SPLITS:
        ds = SyntheticDataset(split, preset=preset)
        assert isinstance(ds, SegmentationDataset)
        assert ds.name == "synthetic" and ds.task == "semantic" and ds.root is None
        assert len(ds) == params.split_size(split) == len(ds.ids)
        assert ds.num_classes == params.num_classes
        assert ds.ids[0] == f"{preset}-{split}-0000"
    sample = SyntheticDataset("val", preset=preset)[-1]
    assert sample.id == f"{preset}-val-{params.n_val - 1:04d}"
    assert sample.image.shape == (params.height, params.width, 3)
    assert sample.mask.max() < params.num_classes
    assert SyntheticDataset("val", preset=preset).verify() == []


def test_preset_values():
    assert (PRESETS["easy"].height, PRESETS["easy"].width) == (128, 128)
    assert (PRESETS["medium"].height, PRESETS["medium"].width) == (160, 160)
    assert (PRESETS["hard"].height, PRESETS["hard"].width) == (256, 256)
    assert [PRESETS[p].num_classes for p in ("easy", "medium", "hard")] == [6, 8, 10]
    for params in PRESETS.values():
        assert (params.n_train, params.n_val, params.n_test) == (64, 24, 24)
    # Difficulty grows with the preset.
    for knob in ("noise", "blur", "illumination", "boundary_warp"):
        values = [getattr(PRESETS[p], knob) for p in ("easy", "medium", "hard")]
        assert values == sorted(values)
    assert SyntheticParams() == PRESETS["medium"]


def test_classes_table():
    names = [c.name for c in CLASS_TABLE]
    assert len(set(names)) == len(names)
    assert len({c.display for c in CLASS_TABLE}) == len(CLASS_TABLE)
    assert all(c.family in FAMILIES for c in CLASS_TABLE)
    assert {c.family for c in CLASS_TABLE} == set(FAMILIES)
    ds = SyntheticDataset(preset="hard")
    assert ds.classes == tuple(ClassInfo(i, c.name, c.display) for i, c in enumerate(CLASS_TABLE))
    # Every preset contains at least one texture-only pair.
    for params in PRESETS.values():
        assert CLASS_INDEX["stripes-h-grey"] < params.num_classes
        assert CLASS_INDEX["stripes-v-grey"] < params.num_classes


def test_custom_params():
    params = SyntheticParams(height=48, width=64, num_classes=5, n_regions=(3, 5), min_size=40,
                             n_train=3, n_val=1, n_test=2)
    ds = SyntheticDataset("test", params=params)
    assert len(ds) == 2 and ds.ids == ["custom-test-0000", "custom-test-0001"]
    s = ds[1]
    assert s.image.shape == (48, 64, 3)
    check_ground_truth(s.image, s.mask, s.partitions[0], 5)
    assert ds.verify() == []
    assert ds[:2][1].id == "custom-test-0001"
    # Passing the preset's own parameters keeps the preset's ids.
    assert SyntheticDataset(preset="easy", params=PRESETS["easy"]).ids[0] == "easy-train-0000"
    assert "preset='medium'" in repr(ds)


def test_single_region():
    params = SyntheticParams(height=32, width=32, n_regions=(1, 1), min_size=1)
    image, mask, partition = make_scene(params, np.random.default_rng(0))
    assert (partition == 1).all() and len(np.unique(mask)) == 1


# ------------------------------------------------------------------------ bad inputs

@pytest.mark.parametrize("kwargs, error, match", [
    ({"preset": "ultra"}, ValueError,
     r"preset must be one of 'easy', 'medium', 'hard'; got 'ultra'"),
    ({"preset": 3}, ValueError, "preset must be one of"),
    ({"split": "training"}, ValueError,
     r"split must be one of 'train', 'val', 'test'; got 'training'"),
    ({"split": ["train"]}, ValueError, "split must be one of"),
    ({"seed": -1}, ValueError, "seed must be >= 0; got -1"),
    ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ({"params": {"noise": 3}}, TypeError, "params must be a SyntheticParams; got dict"),
])
def test_dataset_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SyntheticDataset(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"height": 8}, ValueError, "height must be >= 16; got 8"),
    ({"width": 20.0}, TypeError, "width must be an integer"),
    ({"num_classes": 3}, ValueError, "num_classes must be >= 4; got 3"),
    ({"num_classes": 11}, ValueError, "num_classes must be <= 10; got 11"),
    ({"n_regions": (5, 3)}, ValueError, r"n_regions must satisfy 1 <= min <= max; got \(5, 3\)"),
    ({"n_regions": (0, 3)}, ValueError, "n_regions must satisfy"),
    ({"n_regions": 5}, TypeError, "n_regions must be a pair of integers"),
    ({"n_regions": (2.0, 3)}, TypeError, "n_regions must be a pair of integers"),
    ({"min_size": 0}, ValueError, "min_size must be >= 1"),
    ({"boundary_warp": -1.0}, ValueError, "boundary_warp must be >= 0"),
    ({"warp_wavelength": 0.0}, ValueError, "warp_wavelength must be > 0"),
    ({"texture_contrast": 1.5}, ValueError, "texture_contrast must be <= 1; got 1.5"),
    ({"color_jitter": float("nan")}, ValueError, "color_jitter must be finite"),
    ({"illumination": -0.1}, ValueError, "illumination must be >= 0"),
    ({"blur": "1"}, TypeError, "blur must be a real number"),
    ({"noise": -2}, ValueError, "noise must be >= 0; got -2"),
    ({"n_train": -1}, ValueError, "n_train must be >= 0"),
])
def test_params_reject_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        SyntheticParams(**kwargs)


def test_params_are_frozen_and_normalised():
    params = SyntheticParams(n_regions=[4, 6])
    assert params.n_regions == (4, 6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.noise = 1.0  # type: ignore[misc]


def test_bad_index_and_make_scene_arguments():
    ds = SyntheticDataset("val", preset="easy")
    with pytest.raises(IndexError, match="index 24 out of range"):
        ds[24]
    with pytest.raises(IndexError, match="index 24 out of range"):
        ds.load(24)
    with pytest.raises(TypeError, match="index must be an integer"):
        ds.load(1.0)
    with pytest.raises(TypeError, match="params must be a SyntheticParams"):
        make_scene("medium", np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got int"):
        make_scene(PRESETS["easy"], 0)
    with pytest.raises(ValueError, match="index must be <= 9; got 10"):
        render_class(10)
    with pytest.raises(TypeError, match="shape must be a pair"):
        render_class(0, 64)
    with pytest.raises(ValueError, match=r"split must be one of"):
        PRESETS["easy"].split_size("dev")
