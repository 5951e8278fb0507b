"""Tests for deep.data: the dataset adapter, joint augmentation, loaders, class weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from benchmarks.datasets import ClassInfo, Sample
from deep.data import (
    SegmentationTorchDataset,
    ShardSampler,
    collate_segmentation,
    eval_transform,
    image_to_tensor,
    make_loader,
    enet_weights,
    median_frequency_weights,
    train_transform,
)

PALETTE = np.array([[230, 20, 20], [20, 230, 20], [20, 20, 230], [230, 230, 20]], np.uint8)


class ListDataset:
    """The smallest semantic dataset: a list of samples with classes."""

    name = "list"

    def __init__(self, samples, num_classes=4):
        self.samples = list(samples)
        self.classes = tuple(ClassInfo(i, f"c{i}", tuple(int(v) for v in PALETTE[i % 4]))
                             for i in range(num_classes))
        self.num_classes = num_classes

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        return self.samples[index]

    def __iter__(self):
        return iter(self.samples)


def block_sample(rng, index=0, shape=(40, 56), block=8):
    """A mask of constant blocks, and an image painting each class in its own colour."""
    h, w = shape
    coarse = rng.integers(0, 4, size=(-(-h // block), -(-w // block)))
    mask = np.kron(coarse, np.ones((block, block), np.int64))[:h, :w]
    return Sample(f"s{index}", PALETTE[mask], mask)


def _nearest_class(image: torch.Tensor) -> torch.Tensor:
    """Class of each pixel from its colour: nearest palette entry."""
    colours = torch.as_tensor(PALETTE, dtype=torch.float32) / 255
    pixels = image.permute(1, 2, 0)[..., None, :]
    return ((pixels - colours) ** 2).sum(-1).argmin(-1)


def test_image_to_tensor_is_chw_float_in_unit_range(rng):
    image = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    tensor = image_to_tensor(image)
    assert tensor.shape == (3, 5, 7) and tensor.dtype == torch.float32
    torch.testing.assert_close(tensor, torch.from_numpy(image).permute(2, 0, 1).float() / 255)


@pytest.mark.parametrize("shape, match", [
    ((5, 7, 4), r"\(H, W, 3\); got \(5, 7, 4\).*alpha"),
    ((3, 5, 7), r"\(H, W, 3\); got \(3, 5, 7\).*moveaxis"),
    ((5, 7), r"\(H, W, 3\); got \(5, 7\)"),
])
def test_image_to_tensor_rejects_wrong_channels(shape, match):
    with pytest.raises(ValueError, match=match):
        image_to_tensor(np.zeros(shape, np.uint8))


def test_eval_transform_only_converts(rng):
    sample = block_sample(rng)
    image, mask = SegmentationTorchDataset(ListDataset([sample]))[0]
    assert torch.equal(image, image_to_tensor(sample.image))  # training and prediction agree
    assert torch.equal(mask, torch.from_numpy(sample.mask))
    assert mask.dtype == torch.int64 and type(image) is torch.Tensor


@pytest.mark.parametrize("seed", range(4))
def test_augmentation_keeps_image_and_mask_aligned(rng, seed):
    sample = block_sample(rng, shape=(40, 56), block=12)
    transform = train_transform((48, 48), scale_range=(0.6, 1.6), color_jitter=0.0)
    image, mask = SegmentationTorchDataset(ListDataset([sample]), transform, seed=seed)[0]
    assert image.shape == (3, 48, 48) and mask.shape == (48, 48)
    valid = mask != 255
    assert valid.sum() > 0
    # Away from class edges (where the bilinear image blends colours) the image colour
    # names the mask's class: geometry was applied identically to both.
    window = torch.nn.functional.pad(mask[None, None].float(), (1, 1, 1, 1), value=-1)
    patches = torch.nn.functional.unfold(window, 3)[0]
    interior = (patches == patches[4]).all(0).reshape(48, 48) & valid
    assert interior.sum() > 300
    agree = (_nearest_class(image) == mask)[interior].float().mean()
    assert agree > 0.99
    # Pixels outside the scaled image: mask padded with ignore, image with black.
    assert torch.all(image[:, ~valid] == 0)


def test_crop_pads_masks_with_ignore(rng):
    sample = block_sample(rng, shape=(20, 30))
    transform = train_transform((32, 40), scale_range=(1.0, 1.0), hflip=False,
                                color_jitter=0.0)
    image, mask = SegmentationTorchDataset(ListDataset([sample]), transform)[0]
    assert mask.shape == (32, 40)
    assert int((mask == 255).sum()) == 32 * 40 - 20 * 30
    inside = mask != 255
    assert torch.equal(mask[inside].reshape(20, 30), torch.from_numpy(sample.mask))


def test_augmentation_is_a_function_of_seed_epoch_index(rng):
    data = SegmentationTorchDataset(ListDataset([block_sample(rng)]),
                                    train_transform(24), seed=3)
    first = data[0]
    torch.rand(10)  # the global generator does not matter
    assert all(torch.equal(a, b) for a, b in zip(first, data[0]))
    data.set_epoch(1)
    assert not torch.equal(first[1], data[0][1])


def test_colour_jitter_leaves_masks_alone(rng):
    sample = block_sample(rng)
    transform = train_transform((40, 56), scale_range=(1.0, 1.0), hflip=False,
                                color_jitter=0.5)
    _, mask = SegmentationTorchDataset(ListDataset([sample]), transform, seed=0)[0]
    assert torch.equal(mask, torch.from_numpy(sample.mask))


def test_cache_reads_each_sample_once(rng):
    class Counting(ListDataset):
        reads = 0

        def __getitem__(self, index):
            Counting.reads += 1
            return super().__getitem__(index)

    samples = [block_sample(rng, i) for i in range(3)]
    cached = SegmentationTorchDataset(Counting(samples), train_transform(24), seed=0,
                                      cache=True)
    plain = SegmentationTorchDataset(ListDataset(samples), train_transform(24), seed=0)
    for epoch in range(2):
        cached.set_epoch(epoch)
        plain.set_epoch(epoch)
        for i in range(3):
            assert all(torch.equal(a, b) for a, b in zip(cached[i], plain[i]))
    assert Counting.reads == 3


def test_adapter_rejects_out_of_range_labels(rng):
    sample = block_sample(rng)
    sample.mask[0, :3] = 12
    data = SegmentationTorchDataset(ListDataset([sample], num_classes=4))
    with pytest.raises(ValueError, match=r"mask of sample 's0' has label 12 outside 0\.\.3 "
                                         r"\(num_classes=4\) at 3 pixels.*255"):
        data[0]


def test_adapter_rejects_mismatched_and_non_rgb_samples(rng):
    sample = block_sample(rng)
    short = Sample("short", sample.image, sample.mask[:-1])
    with pytest.raises(ValueError, match="mask of sample 'short' and its image must have"):
        SegmentationTorchDataset(ListDataset([short]))[0]
    grey = Sample("grey", sample.image[..., 0], sample.mask)
    with pytest.raises(ValueError, match=r"image of sample 'grey' must have shape \(H, W, 3\)"):
        SegmentationTorchDataset(ListDataset([grey]))[0]


def test_adapter_needs_a_semantic_dataset():
    regions = ListDataset([])
    regions.num_classes = None
    with pytest.raises(ValueError, match="semantic dataset with classes"):
        SegmentationTorchDataset(regions)


def test_train_transform_checks_arguments():
    with pytest.raises(ValueError, match="crop_size must be an int or"):
        train_transform((1, 2, 3))
    with pytest.raises(ValueError, match="scale_range must have min <= max"):
        train_transform(8, scale_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="color_jitter must be >= 0"):
        train_transform(8, color_jitter=-1)


def test_loader_is_seeded_per_epoch(rng):
    samples = [block_sample(rng, i, shape=(16, 16)) for i in range(6)]
    data = SegmentationTorchDataset(ListDataset(samples), train_transform(16), seed=0)

    def order(seed, epoch):
        loader = make_loader(data, 2, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return torch.cat([masks for _, masks in loader])

    assert torch.equal(order(0, 0), order(0, 0))
    assert not torch.equal(order(0, 0), order(0, 1))
    assert not torch.equal(order(0, 0), order(1, 0))


def test_shard_sampler_covers_each_index_once():
    shards = [list(ShardSampler(7, rank, 3)) for rank in range(3)]
    assert sorted(i for shard in shards for i in shard) == list(range(7))
    assert [len(ShardSampler(7, r, 3)) for r in range(3)] == [3, 2, 2]


def test_collate_stacks_equal_sizes_and_lists_others():
    a = (torch.zeros(3, 4, 5), torch.zeros(4, 5, dtype=torch.int64))
    b = (torch.zeros(3, 6, 5), torch.zeros(6, 5, dtype=torch.int64))
    images, masks = collate_segmentation([a, a])
    assert images.shape == (2, 3, 4, 5) and masks.shape == (2, 4, 5)
    images, masks = collate_segmentation([a, b])
    assert isinstance(images, list) and [m.shape for m in masks] == [(4, 5), (6, 5)]


def test_median_frequency_weights_by_hand():
    masks = [np.array([[0, 0], [0, 1]]), np.array([[1, 1], [1, 255]]),
             np.array([[2, 2], [2, 2]])]
    samples = [Sample(str(i), np.zeros((2, 2, 3), np.uint8), m) for i, m in enumerate(masks)]
    weights = median_frequency_weights(samples, 4)
    # freq: class 0: 3/4; class 1: (1 + 3) / (4 + 3); class 2: 4/4; class 3 absent.
    freq = np.array([3 / 4, 4 / 7, 1.0])
    np.testing.assert_allclose(weights[:3], np.median(freq) / freq)
    assert weights[3] == 0


def test_median_frequency_weights_errors():
    void = [Sample("v", np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 255))]
    with pytest.raises(ValueError, match="every mask in the dataset is void"):
        median_frequency_weights(void, 2)
    bad = [Sample("b", np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 5))]
    with pytest.raises(ValueError, match="label 5 outside 0..1"):
        median_frequency_weights(bad, 2)


def test_enet_weights_by_hand():
    masks = [np.array([[0, 0], [0, 1]]), np.array([[1, 1], [1, 255]]),
             np.array([[2, 2], [2, 2]])]
    samples = [Sample(str(i), np.zeros((2, 2, 3), np.uint8), m) for i, m in enumerate(masks)]
    # 11 labelled pixels: class 0 has 3, class 1 has 4, class 2 has 4, class 3 none.
    weights = enet_weights(samples, 4)
    np.testing.assert_allclose(weights[:3], 1 / np.log(1.02 + np.array([3, 4, 4]) / 11))
    assert weights[3] == 0
    np.testing.assert_allclose(enet_weights(samples, 4, c=1.5)[0], 1 / np.log(1.5 + 3 / 11))
    with pytest.raises(ValueError, match="c must be > 1; got 1"):
        enet_weights(samples, 4, c=1.0)
    with pytest.raises(ValueError, match="every mask in the dataset is void"):
        enet_weights([Sample("v", np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 255))], 2)


def test_transform_accepts_tv_tensors_directly():
    image = tv_tensors.Image(torch.zeros(3, 10, 10, dtype=torch.uint8))
    mask = tv_tensors.Mask(torch.zeros(10, 10, dtype=torch.int64))
    out_image, out_mask = eval_transform()(image, mask)
    assert out_image.dtype == torch.float32 and out_mask.dtype == torch.int64
