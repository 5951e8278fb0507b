"""From segbench datasets to training batches: adapter, joint augmentation, loaders.

A segbench semantic dataset yields :class:`~benchmarks.datasets.Sample` objects (uint8
RGB ``(H, W, 3)`` image, int64 ``(H, W)`` mask with 255 = ignore).
:class:`SegmentationTorchDataset` turns them into ``(image, mask)`` tensor pairs:

- ``image``: float32 ``(3, H, W)`` RGB in [0, 1], **not normalised**;
- ``mask``: int64 ``(H, W)``, class indices and 255 (ignore).

Normalisation
-------------
Normalisation belongs to the weights, so it is done by the model and nowhere else: every
segbench model carries ``mean``/``std`` buffers (saved in its checkpoint) and the training,
evaluation and prediction code call ``model.normalize(images)`` right before
``model(...)``. The data pipeline never normalises, so a model trained with other
statistics (e.g. a checkpoint fine-tuned from different weights) is fed correctly
without touching the loaders.

Augmentation
------------
:func:`train_transform` applies torchvision ``transforms.v2`` jointly to a
``tv_tensors.Image`` and a ``tv_tensors.Mask``, so geometry stays aligned: random scale
(bilinear for the image, nearest for the mask), random crop padded where the scaled image
is smaller than the crop (image with 0, mask with 255, so padding is never trained on),
horizontal flip, colour jitter (image only), then conversion to float in [0, 1].
:func:`eval_transform` only converts (full resolution, no augmentation).

Randomness
----------
Given a ``seed``, :class:`SegmentationTorchDataset` draws the augmentation of sample
``i`` in epoch ``e`` from its own generator seeded by ``(seed, e, i)``, so augmentation
does not depend on the number of workers, on the rank, or on what ran before: an
interrupted run that resumes at epoch ``e`` sees the same crops as an uninterrupted one.
:class:`EpochLoader` reseeds its shuffling generator per epoch in the same way.

Examples
--------
>>> from benchmarks.datasets import SyntheticDataset
>>> data = SegmentationTorchDataset(SyntheticDataset("train", preset="easy"),
...                                 train_transform(96), seed=0)
>>> image, mask = data[0]
>>> image.shape, image.dtype, mask.shape, mask.dtype
(torch.Size([3, 96, 96]), torch.float32, torch.Size([96, 96]), torch.int64)
>>> loader = make_loader(data, batch_size=4, shuffle=True, seed=0)
>>> loader.set_epoch(0)
>>> images, masks = next(iter(loader))
>>> images.shape
torch.Size([4, 3, 96, 96])
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data.distributed import DistributedSampler
from torchvision import tv_tensors
from torchvision.transforms import v2

from classical._validate import IGNORE_INDEX, check_image, check_int, check_mask, check_real

__all__ = [
    "EpochLoader",
    "RandomScale",
    "SegmentationTorchDataset",
    "ShardSampler",
    "collate_segmentation",
    "enet_weights",
    "eval_transform",
    "image_to_tensor",
    "make_loader",
    "median_frequency_weights",
    "mix_seed",
    "train_transform",
]

Transform = Callable[[tv_tensors.Image, tv_tensors.Mask], tuple[torch.Tensor, torch.Tensor]]


def mix_seed(*values: int) -> int:
    """One 63-bit seed from several integers (e.g. ``seed, epoch, index``).

    Uses :class:`numpy.random.SeedSequence`, so nearby tuples give unrelated seeds.
    """
    state = np.random.SeedSequence([int(v) for v in values]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def _tensor(array: np.ndarray) -> torch.Tensor:
    """torch.from_numpy, copying read-only arrays (PIL decodes to read-only memory)."""
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(array)


def image_to_tensor(image: np.ndarray, name: str = "image") -> torch.Tensor:
    """The one conversion from a NumPy RGB image to a model input tensor.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        uint8 in 0..255 or floating point in [0, 1].
    name : str, optional
        Argument name used in error messages.

    Returns
    -------
    tensor : Tensor of float32, shape (3, H, W)
        RGB in [0, 1] (not normalised; see the module docstring).

    Raises
    ------
    TypeError, ValueError
        From :func:`classical._validate.check_image`: wrong kind, dtype, channel count
        (the message suggests the fix) or range.
    """
    image = check_image(image, name, allow_gray=False)
    tensor = _tensor(image).permute(2, 0, 1)
    # the same arithmetic as the loaders' ToDtype(scale=True), bit for bit
    return v2.functional.to_dtype(tensor, torch.float32, scale=tensor.dtype == torch.uint8)


class RandomScale(v2.Transform):
    """Resize every input by one random factor drawn uniformly from `scale_range`.

    Images are resized bilinearly (with antialiasing), masks by nearest neighbour
    (torchvision's rule for ``tv_tensors.Mask``), so labels are never blended.

    Parameters
    ----------
    scale_range : tuple of 2 floats
        ``(min, max)`` factors, ``0 < min <= max``.
    """

    def __init__(self, scale_range: tuple[float, float] = (0.5, 2.0)) -> None:
        super().__init__()
        self.scale_range = _check_scale_range(scale_range)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        lo, hi = self.scale_range
        factor = lo + (hi - lo) * float(torch.rand(()))
        return {"size": [max(1, round(height * factor)), max(1, round(width * factor))]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return v2.functional.resize(inpt, params["size"], antialias=True)


def _check_scale_range(scale_range) -> tuple[float, float]:
    values = tuple(scale_range) if isinstance(scale_range, Sequence) else (scale_range,)
    if len(values) != 2:
        raise ValueError(f"scale_range must be (min, max); got {scale_range!r}.")
    lo = check_real(values[0], "scale_range[0]", minimum=0.0, strict_minimum=True)
    hi = check_real(values[1], "scale_range[1]", minimum=0.0, strict_minimum=True)
    if lo > hi:
        raise ValueError(f"scale_range must have min <= max; got {scale_range!r}.")
    return lo, hi


def _check_size(size, name: str) -> tuple[int, int]:
    if isinstance(size, Sequence) and not isinstance(size, str):
        values = tuple(size)
    else:
        values = (size, size)
    if len(values) != 2:
        raise ValueError(f"{name} must be an int or (height, width); got {size!r}.")
    return (check_int(values[0], f"{name}[0]", minimum=1),
            check_int(values[1], f"{name}[1]", minimum=1))


_TO_FLOAT = v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True)


def train_transform(crop_size, *, scale_range=(0.5, 2.0), hflip: bool = True,
                    color_jitter: float = 0.2) -> v2.Compose:
    """Joint training augmentation of an (image, mask) pair.

    Parameters
    ----------
    crop_size : int or (int, int)
        Output (height, width). Scaled inputs smaller than this are padded (image 0,
        mask 255 = ignore) before cropping.
    scale_range : (float, float), optional
        Range of the random scale factor (default (0.5, 2.0), torchvision's recipe).
    hflip : bool, optional
        Random horizontal flip with probability 1/2.
    color_jitter : float, optional
        Strength of brightness, contrast and saturation jitter (0 disables it; hue is
        left alone, since colour identifies classes in many datasets).

    Returns
    -------
    transform : torchvision.transforms.v2.Compose
        ``transform(tv_tensors.Image uint8 (3, H, W), tv_tensors.Mask int64 (H, W))``
        -> float32 image in [0, 1] of `crop_size`, int64 mask of `crop_size`.

    Raises
    ------
    TypeError, ValueError
        On a bad `crop_size`, `scale_range` or `color_jitter`.
    """
    size = _check_size(crop_size, "crop_size")
    steps: list[v2.Transform] = []
    if _check_scale_range(scale_range) != (1.0, 1.0):
        steps.append(RandomScale(scale_range))
    steps.append(v2.RandomCrop(size, pad_if_needed=True,
                               fill={tv_tensors.Image: 0, tv_tensors.Mask: IGNORE_INDEX}))
    if hflip:
        steps.append(v2.RandomHorizontalFlip())
    jitter = check_real(color_jitter, "color_jitter", minimum=0.0)
    if jitter > 0:
        steps.append(v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter))
    steps.append(_TO_FLOAT)
    return v2.Compose(steps)


def eval_transform() -> v2.Compose:
    """Evaluation "transform": conversion to float in [0, 1] only, full resolution."""
    return v2.Compose([_TO_FLOAT])


class SegmentationTorchDataset(Dataset):
    """A torch ``Dataset`` of ``(image, mask)`` tensors over a segbench semantic dataset.

    Parameters
    ----------
    dataset : SegmentationDataset
        A semantic dataset (its ``classes`` set): any of
        :func:`benchmarks.datasets.load_dataset`'s, or anything indexable yielding
        :class:`~benchmarks.datasets.Sample` with a ``num_classes`` attribute.
    transform : callable, optional
        ``transform(tv_tensors.Image, tv_tensors.Mask) -> (image, mask)``; default
        :func:`eval_transform`.
    seed : int, optional
        When given, sample ``i`` of epoch ``e`` is transformed under a private torch
        generator state seeded by ``(seed, e, i)`` (see :meth:`set_epoch`); when None
        the transform draws from torch's global generator.
    check : bool, optional
        Check every sample: RGB uint8 image, mask of the same size with labels in
        ``0..num_classes-1`` or 255 (default True; the cost is small next to a forward
        pass, and a bad label would otherwise surface as a cryptic CUDA assert).
    cache : bool, optional
        Keep every sample in memory after its first read (checked once; masks stored
        as uint8 when labels fit): for small datasets that are slow to read or
        generate (the synthetic generator takes ~50 ms per 160x160 scene). Only useful
        with ``num_workers=0``: worker processes are restarted every epoch, and each
        would fill its own copy.

    Attributes
    ----------
    dataset, transform, seed
    num_classes : int
    epoch : int
        Set by :meth:`set_epoch` (0 initially).

    Raises
    ------
    ValueError
        At construction if `dataset` has no classes; when indexed, if a sample is
        malformed (the message names the sample and the fix).
    """

    def __init__(self, dataset, transform: Transform | None = None, *,
                 seed: int | None = None, check: bool = True, cache: bool = False) -> None:
        num_classes = getattr(dataset, "num_classes", None)
        if num_classes is None:
            raise ValueError(
                f"dataset must be a semantic dataset with classes; got {dataset!r} without "
                "num_classes. Region-only datasets (bsds500) cannot train an FCN."
            )
        self.dataset = dataset
        self.num_classes = check_int(num_classes, "dataset.num_classes", minimum=1)
        self.transform = eval_transform() if transform is None else transform
        self.seed = None if seed is None else check_int(seed, "seed", minimum=0)
        self.check = bool(check)
        self.cache = bool(cache)
        self._cached: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draw of `epoch` (with a `seed`)."""
        self.epoch = check_int(epoch, "epoch", minimum=0)

    def _arrays(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The (image, mask) arrays of sample `index`, checked (and cached)."""
        if index in self._cached:
            return self._cached[index]
        sample = self.dataset[index]
        image, mask = sample.image, sample.mask
        if self.check:
            where = f"sample {sample.id!r}"
            image = check_image(image, f"image of {where}", allow_gray=False)
            if image.dtype != np.uint8:
                raise TypeError(f"image of {where} must be uint8 RGB (a dataset Sample); got "
                                f"dtype {image.dtype}.")
            if mask is None:
                raise ValueError(f"{where} has no mask; training needs a semantic dataset.")
            check_mask(mask, f"mask of {where}", shape=image.shape,
                       num_classes=self.num_classes, shape_name="its image")
        if self.cache:
            small = self.num_classes < IGNORE_INDEX and mask.min() >= 0 and mask.max() <= 255
            mask = np.asarray(mask, dtype=np.uint8 if small else np.int64)
            self._cached[index] = (image, mask)
        return image, mask

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = int(index) % len(self) if index < 0 else int(index)
        image, mask = self._arrays(index)
        pair = (tv_tensors.Image(_tensor(image).permute(2, 0, 1)),
                tv_tensors.Mask(_tensor(np.asarray(mask, dtype=np.int64))))
        if self.seed is None:
            out_image, out_mask = self.transform(*pair)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(mix_seed(self.seed, self.epoch, index))
                out_image, out_mask = self.transform(*pair)
        return out_image.as_subclass(torch.Tensor), out_mask.as_subclass(torch.Tensor)


def collate_segmentation(batch: list[tuple[torch.Tensor, torch.Tensor]]):
    """Stack ``(image, mask)`` pairs into ``(N, 3, H, W)``, ``(N, H, W)`` tensors.

    When the images differ in size (e.g. full-resolution VOC evaluation) nothing is
    padded: the result is a pair of lists, and consumers handle each image on its own
    (:func:`deep.train.evaluate` does), so scores stay exactly full-resolution.
    """
    images = [image for image, _ in batch]
    masks = [mask for _, mask in batch]
    if len({tuple(image.shape) for image in images}) == 1:
        return torch.stack(images), torch.stack(masks)
    return images, masks


def _seed_worker(worker_id: int) -> None:
    """Seed NumPy and ``random`` in a loader worker from torch's per-worker seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class ShardSampler(Sampler[int]):
    """Every `world_size`-th index from `rank`, in order, without padding.

    For distributed *evaluation*: unlike :class:`DistributedSampler` no sample is
    repeated to even out the shards, so summing the ranks' confusion matrices counts
    each pixel exactly once.
    """

    def __init__(self, length: int, rank: int, world_size: int) -> None:
        self.length = check_int(length, "length", minimum=0)
        self.world_size = check_int(world_size, "world_size", minimum=1)
        self.rank = check_int(rank, "rank", minimum=0, maximum=self.world_size - 1)

    def __iter__(self):
        return iter(range(self.rank, self.length, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.length, self.world_size))


class EpochLoader(DataLoader):
    """A ``DataLoader`` whose randomness is a function of ``(seed, epoch, rank)``.

    Call :meth:`set_epoch` before iterating each epoch: it reseeds the shuffling and
    worker-seed generator, forwards the epoch to a :class:`DistributedSampler`, and to
    the dataset's own ``set_epoch`` (augmentation draws).
    """

    def __init__(self, *args, seed: int = 0, rank: int = 0, **kwargs) -> None:
        self.seed = seed
        self.rank = rank
        super().__init__(*args, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration the deterministic draw of `epoch`."""
        epoch = check_int(epoch, "epoch", minimum=0)
        if self.generator is not None:
            self.generator.manual_seed(mix_seed(self.seed, epoch, self.rank))
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


def make_loader(dataset, batch_size: int, *, shuffle: bool, num_workers: int = 0,
                seed: int = 0, drop_last: bool = False, distributed: bool = False,
                rank: int = 0, world_size: int = 1, pin_memory: bool = False) -> EpochLoader:
    """A seeded :class:`EpochLoader` over `dataset`, optionally sharded across ranks.

    Parameters
    ----------
    dataset : torch Dataset
        Usually a :class:`SegmentationTorchDataset`.
    batch_size : int
        Samples per batch (per process under DDP).
    shuffle : bool
        Shuffle each epoch (training) or keep the dataset order (evaluation).
    num_workers : int, optional
        Loader worker processes (0 = load in the main process).
    seed : int, optional
        Seed of shuffling and worker seeds (mixed with the epoch and `rank`).
    drop_last : bool, optional
        Drop the last incomplete batch (training: BatchNorm dislikes batches of 1).
    distributed : bool, optional
        Shard across `world_size` processes: :class:`DistributedSampler` when
        shuffling (training; it pads to equal shards so all ranks take the same number
        of steps), :class:`ShardSampler` otherwise (evaluation; exact, no padding).
    rank, world_size : int, optional
        This process's rank and the number of processes (under DDP).
    pin_memory : bool, optional
        Pin host memory (for CUDA).

    Returns
    -------
    loader : EpochLoader
        Batches ``(images (N, 3, H, W) float, masks (N, H, W) int64)`` (lists when
        sizes differ; see :func:`collate_segmentation`).

    Raises
    ------
    TypeError, ValueError
        On bad sizes or counts.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    num_workers = check_int(num_workers, "num_workers", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    world_size = check_int(world_size, "world_size", minimum=1)
    rank = check_int(rank, "rank", minimum=0, maximum=world_size - 1)
    generator = torch.Generator()
    generator.manual_seed(mix_seed(seed, 0, rank))
    sampler = None
    if distributed:
        if shuffle:
            sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank,
                                         shuffle=True, seed=seed, drop_last=drop_last)
        else:
            sampler = ShardSampler(len(dataset), rank, world_size)
        shuffle = False
    # drop_last only when at least one full batch remains, so tiny sets still train.
    per_rank = len(dataset) if not distributed else math.ceil(len(dataset) / world_size)
    drop_last = bool(drop_last) and per_rank >= batch_size
    return EpochLoader(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                       num_workers=num_workers, collate_fn=collate_segmentation,
                       drop_last=drop_last, generator=generator,
                       worker_init_fn=_seed_worker if num_workers else None,
                       pin_memory=pin_memory, seed=seed, rank=rank)


def median_frequency_weights(dataset, num_classes: int | None = None, *,
                             progress: bool = False) -> np.ndarray:
    """Class weights by median frequency balancing (Eigen and Fergus; SegNet's recipe).

    ``freq(c)`` is the number of pixels of class ``c`` divided by the number of pixels
    of the images in which ``c`` appears; ``weight(c) = median(freq) / freq(c)``, the
    median over the classes that appear. Ignored (255) pixels count in neither.

    Parameters
    ----------
    dataset : sequence of Sample
        The *training* set; every mask is read once.
    num_classes : int, optional
        Default: ``dataset.num_classes``.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    weights : ndarray of float64, shape (num_classes,)
        0 for classes that never appear (they receive no gradient anyway).

    Raises
    ------
    ValueError
        If no class appears at all, or a mask has out-of-range labels.

    References
    ----------
    .. [1] D. Eigen and R. Fergus, "Predicting Depth, Surface Normals and Semantic
           Labels with a Common Multi-Scale Convolutional Architecture", ICCV 2015.
    .. [2] V. Badrinarayanan, A. Kendall and R. Cipolla, "SegNet", TPAMI 2017.

    Examples
    --------
    Two images: class 0 covers 3 of 4 pixels of the first, class 1 the rest and all of
    the second; freq = (3/4, 5/8), median 11/16, weights (11/12, 11/10).

    >>> from benchmarks.datasets import Sample
    >>> masks = [np.array([[0, 0], [0, 1]]), np.array([[1, 1], [1, 1]])]
    >>> samples = [Sample(str(i), np.zeros((2, 2, 3), np.uint8), m) for i, m in enumerate(masks)]
    >>> median_frequency_weights(samples, 2).round(4).tolist()
    [0.9167, 1.1]
    """
    class_pixels, image_pixels = _class_pixels(dataset, num_classes, progress)
    present = class_pixels > 0
    freq = np.zeros(class_pixels.size)
    freq[present] = class_pixels[present] / image_pixels[present]
    weights = np.zeros(class_pixels.size)
    weights[present] = np.median(freq[present]) / freq[present]
    return weights


def enet_weights(dataset, num_classes: int | None = None, *, c: float = 1.02,
                 progress: bool = False) -> np.ndarray:
    """Class weights ``1 / ln(c + p(class))`` (ENet's scheme), ``p`` the class's share
    of all labelled pixels.

    With ``c = 1.02`` the weights lie in [1.42, 50.5]: rare classes gain weight as with
    median-frequency balancing, but far less steeply (about 10x between a 1 % and a
    30 % class, against 30x), so fewer pixels of common classes are traded for them.

    Parameters
    ----------
    dataset : sequence of Sample
        The *training* set; every mask is read once.
    num_classes : int, optional
        Default: ``dataset.num_classes``.
    c : float, optional
        The offset (> 1; ENet's 1.02).
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    weights : ndarray of float64, shape (num_classes,)
        0 for classes that never appear.

    Raises
    ------
    ValueError
        If no class appears at all, a mask has out-of-range labels, or ``c <= 1``.

    References
    ----------
    .. [1] A. Paszke, A. Chaurasia, S. Kim and E. Culurciello, "ENet: A Deep Neural
           Network Architecture for Real-Time Semantic Segmentation", arXiv:1606.02147,
           2016.

    Examples
    --------
    Class 0 covers 3 of 8 labelled pixels, class 1 the other 5.

    >>> from benchmarks.datasets import Sample
    >>> masks = [np.array([[0, 0], [0, 1]]), np.array([[1, 1], [1, 1]])]
    >>> samples = [Sample(str(i), np.zeros((2, 2, 3), np.uint8), m) for i, m in enumerate(masks)]
    >>> enet_weights(samples, 2).round(4).tolist()  # 1 / ln(1.02 + 3/8), 1 / ln(1.02 + 5/8)
    [3.004, 2.0091]
    """
    c = check_real(c, "c", minimum=1.0, strict_minimum=True)
    class_pixels, _ = _class_pixels(dataset, num_classes, progress)
    present = class_pixels > 0
    weights = np.zeros(class_pixels.size)
    weights[present] = 1.0 / np.log(c + class_pixels[present] / class_pixels.sum())
    return weights


def _class_pixels(dataset, num_classes, progress) -> tuple[np.ndarray, np.ndarray]:
    """Labelled pixels of each class, and pixels of the images where it appears."""
    if num_classes is None:
        num_classes = getattr(dataset, "num_classes", None)
        if num_classes is None:
            raise ValueError("num_classes must be given for a dataset without num_classes; "
                             "got None.")
    n = check_int(num_classes, "num_classes", minimum=1)
    class_pixels = np.zeros(n, np.int64)
    image_pixels = np.zeros(n, np.int64)  # pixels of the images where the class appears
    from tqdm.auto import tqdm

    for sample in tqdm(dataset, total=len(dataset), desc="class frequencies",
                       disable=not progress):
        mask = check_mask(sample.mask, f"mask of sample {sample.id!r}", num_classes=n)
        valid = mask[mask != IGNORE_INDEX]
        counts = np.bincount(valid.ravel(), minlength=n)
        class_pixels += counts
        image_pixels[counts > 0] += valid.size
    if not (class_pixels > 0).any():
        raise ValueError("class weights need labelled pixels; every mask in the dataset is "
                         "void (255).")
    return class_pixels, image_pixels
