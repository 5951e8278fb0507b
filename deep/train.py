"""Training and evaluation of segbench's deep models, as importable functions.

The pieces, each usable on its own:

- :class:`TrainConfig`: every knob of a run, serialisable to and from a dict / JSON;
- :func:`train_one_epoch`: one pass over a loader (AMP, gradient clipping, LR steps);
- :func:`evaluate`: one confusion matrix over a split at full resolution (optionally
  with flip TTA), summed over ranks under DDP;
- :func:`fit`: a whole run from a config: datasets, loaders, model, optimizer, LR
  schedule, checkpoints (``last.pt`` every epoch, ``best.pt`` by validation mean IoU),
  ``metrics.jsonl``, exact resumption, distributed data parallel under ``torchrun``.

No argument parsing lives here; ``segbench train`` (:mod:`benchmarks._cli_deep`) maps
its options to a :class:`TrainConfig`.

Recipe
------
Cross-entropy with ``ignore_index=255`` (optionally weighted by median-frequency
balancing, SegNet's recipe), SGD with momentum or AdamW (no weight decay on biases and
normalisation parameters), a per-step LR schedule (``poly`` as in DeepLab and
torchvision's reference scripts, ``cosine``, or ``onecycle``) after an optional linear
warm-up, and random scale / crop / flip / colour-jitter augmentation
(:mod:`deep.data`). Images reach the model unnormalised and are normalised by the
model's own ``normalize`` (its ``mean``/``std`` buffers travel with the weights).

Exact resumption
----------------
``last.pt`` holds the model, optimizer, scheduler and scaler states, the epoch and
step counters, and every rank's RNG states. Shuffling and augmentation draws are
functions of ``(seed, epoch, index)`` (:mod:`deep.data`), so a run stopped at any point
and resumed from ``last.pt`` reproduces the weights of an uninterrupted run bit for bit
on the same machine with ``deterministic=True`` (a budget in minutes is, by nature, not
reproducible).

Distributed
-----------
Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set, world size > 1) :func:`fit` joins the
process group (gloo on CPU, NCCL on CUDA), wraps the model in
``DistributedDataParallel`` and shards the training set with ``DistributedSampler``
(``batch_size`` is per process). Validation shards the split without padding and sums
the confusion matrices of all ranks (``all_reduce``), so scores equal single-process
ones. BatchNorm running statistics are averaged over ranks after every epoch, so all
ranks hold identical weights. Rank 0 writes the files.

Examples
--------
>>> config = TrainConfig(model="fcn8s_resnet18", dataset="synthetic",
...                      dataset_options={"preset": "easy"}, epochs=2, crop_size=96,
...                      out_dir="runs/demo")
>>> summary = fit(config)                           # doctest: +SKIP
>>> summary.best_metric                             # doctest: +SKIP
0.62
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from classical._validate import IGNORE_INDEX, check_int, check_real

from .checkpoints import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    unwrap_model,
)
from .data import (
    SegmentationTorchDataset,
    eval_transform,
    make_loader,
    enet_weights,
    median_frequency_weights,
    mix_seed,
    train_transform,
)
from .infer import predict_logits
from .losses import lovasz_softmax

__all__ = [
    "CLASS_WEIGHTS",
    "OPTIMIZERS",
    "SCHEDULES",
    "DistributedContext",
    "EpochStats",
    "LRSchedule",
    "RunSummary",
    "SegmentationLoss",
    "TrainConfig",
    "build_optimizer",
    "evaluate",
    "fit",
    "init_distributed",
    "train_one_epoch",
]

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("poly", "onecycle", "cosine")
CLASS_WEIGHTS = ("none", "median_freq", "enet")

#: Fields that may differ between a run's saved config and the config it is resumed
#: with: the budget (extend a run), and settings that do not change the numbers.
RESUMABLE_CHANGES = ("epochs", "minutes", "num_workers", "cache_samples", "eval_every",
                     "out_dir", "root", "device")

LAST, BEST, METRICS, CONFIG = "last.pt", "best.pt", "metrics.jsonl", "config.json"

#: Epochs assumed by the step count of a schedule with a time budget and no epoch cap:
#: large enough that only the clock matters.
_UNCAPPED_EPOCHS = 10**6


def _choice(value, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got "
                         f"{value!r}.{hint}")
    return value


def _pair(value, name: str, kind: Callable) -> tuple:
    if isinstance(value, (list, tuple)):
        values = tuple(value)
    else:
        values = (value, value)
    if len(values) != 2:
        raise ValueError(f"{name} must be one value or a pair; got {value!r}.")
    return tuple(kind(v, f"{name}[{i}]") for i, v in enumerate(values))


def _check_plain_dict(value, name: str) -> dict:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict; got {type(value).__name__}.")
    try:
        json.dumps(dict(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must hold JSON values (str, numbers, bools, lists, dicts) so "
                        f"the run can be saved and resumed; got {dict(value)!r} ({exc}).") from None
    return dict(value)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (plain values; round-trips through JSON).

    Attributes
    ----------
    model : str
        Registry name (:func:`deep.registry.list_models`), e.g. ``"fcn8s_resnet18"``.
    model_options : dict
        Builder options, e.g. ``{"dropout": 0.1}`` or ``{"weights": "init.pt"}``.
    dataset : str
        Dataset name for :func:`benchmarks.datasets.load_dataset`.
    root : str or None
        The dataset's folder (None: the default search).
    dataset_options : dict
        Reader options, e.g. ``{"preset": "medium"}`` for ``synthetic``.
    train_split, val_split : str, str or None
        Splits to train on and to validate on (None: no validation; ``best.pt`` then
        mirrors ``last.pt``).
    num_classes : int or None
        None: the dataset's; a given value must equal it.
    epochs : int or None
        Number of epochs (with `minutes`, an upper bound).
    minutes : float or None
        Wall-time budget: training stops after the last epoch that is expected to
        fit (estimated after every epoch from the mean epoch time, validation
        included), and the LR schedule follows the clock, so it decays to the end of
        the budget however the machine's speed varies (:class:`LRSchedule`).
    batch_size : int
        Images per optimizer step (per process under DDP).
    crop_size : (int, int)
        Training crop (height, width); an int means a square.
    scale_range : (float, float)
        Random scale factors before cropping.
    hflip : bool
        Random horizontal flips.
    color_jitter : float
        Brightness / contrast / saturation jitter strength (0 = off).
    optimizer : {"sgd", "adamw"}
    lr : float
        Peak learning rate.
    momentum : float
        SGD momentum (AdamW's beta1 stays 0.9).
    weight_decay : float
        Applied to weights only, not to biases or normalisation parameters.
    schedule : {"poly", "onecycle", "cosine"}
        Per-step LR shape (:class:`LRSchedule`).
    warmup_epochs : float
        Linear warm-up length (for ``onecycle``: the rising phase; default 30 %).
    grad_clip : float or None
        Clip the gradient norm to this value.
    class_weights : {"none", "median_freq", "enet"}
        Loss weights, computed once from the training split: median-frequency
        balancing (:func:`deep.data.median_frequency_weights`) or ENet's flatter
        ``1 / ln(1.02 + p)`` (:func:`deep.data.enet_weights`).
    lovasz_weight : float
        Weight of a Lovász-softmax term added to the cross-entropy (0 = off;
        :class:`SegmentationLoss`).
    amp : bool
        Mixed precision: bfloat16 autocast on CPU, float16 with a gradient scaler on
        CUDA. Off by default.
    eval_tta : bool
        Flip test-time augmentation during validation.
    seed : int
        Seed of initialisation, shuffling, augmentation and dropout.
    num_workers : int
        Data-loading worker processes.
    cache_samples : bool
        Keep decoded / generated samples in memory after the first epoch (small
        datasets, ``num_workers=0``; see :class:`deep.data.SegmentationTorchDataset`).
    out_dir : str
        Run folder: ``config.json``, ``last.pt``, ``best.pt``, ``metrics.jsonl``.
    eval_every : int
        Validate every this many epochs (and always after the last).
    deterministic : bool
        ``torch.use_deterministic_algorithms(True)`` during the run (slower; needed for
        bit-exact reproduction).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    TypeError, ValueError
        From ``__post_init__``, naming the field, on a wrong kind or value.

    Examples
    --------
    >>> config = TrainConfig(epochs=3, crop_size=128, optimizer="adamw", lr=1e-3)
    >>> TrainConfig.from_json(config.to_json()) == config
    True
    """

    model: str = "fcn8s_resnet18"
    model_options: dict = field(default_factory=dict)
    dataset: str = "synthetic"
    root: str | None = None
    dataset_options: dict = field(default_factory=dict)
    train_split: str = "train"
    val_split: str | None = "val"
    num_classes: int | None = None
    epochs: int | None = 30
    minutes: float | None = None
    batch_size: int = 8
    crop_size: tuple[int, int] = (256, 256)
    scale_range: tuple[float, float] = (0.5, 2.0)
    hflip: bool = True
    color_jitter: float = 0.2
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "poly"
    warmup_epochs: float = 0.0
    grad_clip: float | None = None
    class_weights: str = "none"
    lovasz_weight: float = 0.0
    amp: bool = False
    eval_tta: bool = False
    seed: int = 0
    num_workers: int = 0
    cache_samples: bool = False
    out_dir: str = "runs/train"
    eval_every: int = 1
    deterministic: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        from .registry import list_models

        def put(name, value):
            object.__setattr__(self, name, value)

        if not isinstance(self.model, str) or self.model not in list_models():
            close = difflib.get_close_matches(str(self.model), list_models(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"model must be a known model; got {self.model!r}.{hint} See "
                             "deep.list_models() or `segbench train --list-models`.")
        put("model_options", _check_plain_dict(self.model_options, "model_options"))
        if not isinstance(self.dataset, str) or not self.dataset:
            raise TypeError(f"dataset must be a dataset name; got {self.dataset!r}.")
        if self.root is not None:
            if not isinstance(self.root, (str, os.PathLike)):
                raise TypeError(f"root must be a path or None; got {type(self.root).__name__}.")
            put("root", os.fspath(self.root))
        put("dataset_options", _check_plain_dict(self.dataset_options, "dataset_options"))
        if not isinstance(self.train_split, str):
            raise TypeError(f"train_split must be a split name; got {self.train_split!r}.")
        if self.val_split is not None and not isinstance(self.val_split, str):
            raise TypeError(f"val_split must be a split name or None; got {self.val_split!r}.")
        if self.num_classes is not None:
            check_int(self.num_classes, "num_classes", minimum=1)
        if self.epochs is None and self.minutes is None:
            raise ValueError("give epochs or minutes (or both: minutes with an epoch cap); "
                             "got neither.")
        if self.epochs is not None:
            check_int(self.epochs, "epochs", minimum=1)
        if self.minutes is not None:
            put("minutes", check_real(self.minutes, "minutes", minimum=0.0, strict_minimum=True))
        check_int(self.batch_size, "batch_size", minimum=1)
        put("crop_size", _pair(self.crop_size, "crop_size",
                               lambda v, n: check_int(v, n, minimum=1)))
        scale = _pair(self.scale_range, "scale_range",
                      lambda v, n: check_real(v, n, minimum=0.0, strict_minimum=True))
        if scale[0] > scale[1]:
            raise ValueError(f"scale_range must have min <= max; got {scale}.")
        put("scale_range", scale)
        for name in ("hflip", "amp", "eval_tta", "deterministic", "cache_samples"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False; got {getattr(self, name)!r}.")
        put("color_jitter", check_real(self.color_jitter, "color_jitter", minimum=0.0))
        _choice(self.optimizer, "optimizer", OPTIMIZERS)
        put("lr", check_real(self.lr, "lr", minimum=0.0, strict_minimum=True))
        put("momentum", check_real(self.momentum, "momentum", minimum=0.0, maximum=1.0))
        put("weight_decay", check_real(self.weight_decay, "weight_decay", minimum=0.0))
        _choice(self.schedule, "schedule", SCHEDULES)
        put("warmup_epochs", check_real(self.warmup_epochs, "warmup_epochs", minimum=0.0))
        if self.grad_clip is not None:
            put("grad_clip", check_real(self.grad_clip, "grad_clip", minimum=0.0,
                                        strict_minimum=True))
        _choice(self.class_weights, "class_weights", CLASS_WEIGHTS)
        put("lovasz_weight", check_real(self.lovasz_weight, "lovasz_weight", minimum=0.0))
        check_int(self.seed, "seed", minimum=0)
        check_int(self.num_workers, "num_workers", minimum=0)
        if not isinstance(self.out_dir, (str, os.PathLike)):
            raise TypeError(f"out_dir must be a path; got {type(self.out_dir).__name__}.")
        put("out_dir", os.fspath(self.out_dir))
        check_int(self.eval_every, "eval_every", minimum=1)
        if not isinstance(self.device, str) or not (
                self.device == "cpu" or self.device.split(":")[0] == "cuda"):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {self.device!r}.")

    # ---- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), ready for JSON."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        """Build from :meth:`to_dict` output (unknown keys are refused).

        Raises
        ------
        TypeError
            If `values` is not a mapping.
        ValueError
            On an unknown key (the message suggests the closest field) or a bad value.
        """
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a dict; got {type(values).__name__}.")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in values if k not in names]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), names, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(f"unknown TrainConfig field(s) {', '.join(hints)}; valid fields: "
                             f"{', '.join(names)}.")
        return cls(**dict(values))

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (indented, keys in field order)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        """Inverse of :meth:`to_json`.

        Raises
        ------
        ValueError
            If `text` is not JSON or holds a bad config.
        """
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"config is not valid JSON: {exc}.") from None
        return cls.from_dict(values)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------- pieces


class LRSchedule:
    """Learning-rate factor per optimizer step, for ``torch.optim.lr_scheduler.LambdaLR``.

    The run's progress is ``p = step / total_steps`` or, with a time budget of
    ``seconds``, the larger of that and ``elapsed / seconds``. With a warm-up of
    ``W = warmup_steps`` steps (linear from 0.001 to 1), the main phase starts at
    ``b = W / total_steps`` and ``t = (p - b) / (1 - b)`` runs from 0 to 1:

    - ``poly``: ``(1 - t) ** 0.9`` (DeepLab; torchvision's reference recipe);
    - ``cosine``: ``(1 + cos(pi t)) / 2``;
    - ``onecycle``: Smith's one cycle: a cosine rise from 1/25 to 1 until ``p = b``
      (``b = 0.3`` without warm-up or with a time budget), then a cosine fall to
      1/250000 (PyTorch's ``OneCycleLR`` defaults; momentum is not cycled).

    With steps only, ``t = (step - W) / (total_steps - W)``: the schedule is a pure
    function of the step, so a resumed run continues the same curve. A time budget
    makes the curve follow the clock instead, so it decays smoothly to the end of the
    budget however fast the epochs turn out to be (:func:`fit` then sets
    ``total_steps`` from the epoch cap, or so large that only the clock counts).

    It is a plain object with plain attributes, so ``LambdaLR.state_dict`` stores it.
    Call :meth:`start_clock` when a session starts (resumed runs pass the time already
    spent).

    Examples
    --------
    >>> schedule = LRSchedule("poly", total_steps=10)
    >>> [round(schedule(s), 3) for s in (0, 5, 10)]
    [1.0, 0.536, 0.0]
    """

    def __init__(self, kind: str, total_steps: int, warmup_steps: int = 0, *,
                 seconds: float | None = None) -> None:
        self.kind = _choice(kind, "schedule", SCHEDULES)
        self.total_steps = check_int(total_steps, "total_steps", minimum=1)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0)
        self.seconds = (None if seconds is None else
                        check_real(seconds, "seconds", minimum=0.0, strict_minimum=True))
        self.start_clock()

    def start_clock(self, elapsed: float = 0.0) -> None:
        """Start timing now, `elapsed` seconds into the budget."""
        self.elapsed_before = float(elapsed)
        self.started = time.perf_counter()

    def progress(self, step: int) -> float:
        """Fraction of the run done at `step` (0..1)."""
        p = step / max(self.total_steps, 1)
        if self.seconds is not None:
            elapsed = self.elapsed_before + time.perf_counter() - self.started
            p = max(p, elapsed / self.seconds)
        return min(max(p, 0.0), 1.0)

    def __call__(self, step: int) -> float:
        p = self.progress(step)
        boundary = min(self.warmup_steps / max(self.total_steps, 1), 1.0)
        if self.kind == "onecycle":
            boundary = 0.3 if self.seconds is not None else (boundary or 0.3)
            if p < boundary:
                return _cosine(1 / 25, 1.0, p / boundary)
            return _cosine(1.0, 1 / 250000, (p - boundary) / max(1.0 - boundary, 1e-12))
        if step < self.warmup_steps:
            return 0.001 + (1 - 0.001) * step / self.warmup_steps
        t = (p - boundary) / (1.0 - boundary) if boundary < 1.0 else 1.0
        t = min(max(t, 0.0), 1.0)
        if self.kind == "poly":
            return (1.0 - t) ** 0.9
        return 0.5 * (1.0 + math.cos(math.pi * t))


def _cosine(start: float, end: float, t: float) -> float:
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))


class SegmentationLoss(nn.Module):
    """Pixel-wise cross-entropy ignoring void pixels, optionally class-weighted, plus an
    optional Lovász-softmax term.

    Unlike a bare ``F.cross_entropy``, a batch whose pixels are all void gives a zero
    loss (with a gradient graph) instead of NaN. Logits are upcast to float32 (AMP).

    Parameters
    ----------
    weight : Tensor of float, shape (num_classes,), optional
        Per-class weights (e.g. median-frequency balancing) of the cross-entropy.
    ignore_index : int, optional
        Void label (255).
    lovasz_weight : float, optional
        Adds ``lovasz_weight * lovasz_softmax(...)`` (:func:`deep.losses.lovasz_softmax`,
        a surrogate of ``1 - IoU`` over the batch, unweighted); 0 (default) = off.
    lovasz_stride : int, optional
        The Lovász term is computed on every `lovasz_stride`-th pixel along each axis
        (default 2: a quarter of the pixels). Its per-class sort dominates its cost:
        on all pixels of a batch of eight 224x320 crops it takes about half a
        training step of a ResNet18 FCN on 2 CPU cores.

    References
    ----------
    .. [1] M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss",
       CVPR 2018.
    """

    def __init__(self, weight: torch.Tensor | None = None,
                 ignore_index: int = IGNORE_INDEX, lovasz_weight: float = 0.0,
                 lovasz_stride: int = 2) -> None:
        super().__init__()
        self.ignore_index = check_int(ignore_index, "ignore_index")
        self.lovasz_weight = check_real(lovasz_weight, "lovasz_weight", minimum=0.0)
        self.lovasz_stride = check_int(lovasz_stride, "lovasz_stride", minimum=1)
        self.register_buffer("weight", None if weight is None
                             else torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean loss over the non-void pixels of ``(N, C, H, W)`` logits and ``(N, H, W)``."""
        if not bool((mask != self.ignore_index).any()):
            return logits.sum() * 0.0
        logits = logits.float()
        loss = F.cross_entropy(logits, mask, weight=self.weight,
                               ignore_index=self.ignore_index)
        if self.lovasz_weight > 0:
            step = self.lovasz_stride
            loss = loss + self.lovasz_weight * lovasz_softmax(
                logits[..., ::step, ::step].softmax(1), mask[..., ::step, ::step],
                ignore_index=self.ignore_index)
        return loss


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum) or AdamW; weight decay on weights only (not biases or norms).

    Parameters
    ----------
    model : nn.Module
    config : TrainConfig
        Uses ``optimizer``, ``lr``, ``momentum``, ``weight_decay``.

    Returns
    -------
    optimizer : torch.optim.Optimizer
        Two parameter groups: decayed (``ndim > 1``) and not decayed.
    """
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim > 1 else no_decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.momentum, 0.999))


def _autocast(device: torch.device, enabled: bool):
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


@dataclass(frozen=True)
class EpochStats:
    """What :func:`train_one_epoch` measured.

    Attributes
    ----------
    loss : float
        Mean training loss over the steps.
    steps, images : int
        Optimizer steps taken and images seen.
    seconds : float
        Wall time.
    lr : float
        Learning rate of the last step (first parameter group).
    """

    loss: float
    steps: int
    images: int
    seconds: float
    lr: float


def train_one_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer,
                    scheduler, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                    *, device="cpu", scaler=None, amp: bool = False,
                    grad_clip: float | None = None, progress: bool = False,
                    description: str = "train",
                    should_stop: Callable[[], bool] | None = None) -> EpochStats:
    """One pass over `loader`: forward, loss, backward, optimizer and scheduler steps.

    Parameters
    ----------
    model : nn.Module
        A segbench model or its DDP wrapper; put in train mode here. Its inputs are
        normalised with its own ``normalize``.
    loader : iterable
        Batches ``(images (N, 3, H, W) float in [0, 1], masks (N, H, W) int64)``.
    optimizer : torch.optim.Optimizer
    scheduler : LR scheduler or None
        Stepped after every optimizer step.
    loss_fn : callable
        ``loss_fn(logits, masks) -> scalar``, e.g. :class:`SegmentationLoss`.
    device : str or torch.device, optional
    scaler : torch.amp.GradScaler, optional
        For float16 AMP on CUDA.
    amp : bool, optional
        Autocast (bfloat16 on CPU, float16 on CUDA).
    grad_clip : float, optional
        Maximum gradient norm.
    progress : bool, optional
        Show a tqdm progress bar.
    description : str, optional
        Progress-bar label.
    should_stop : callable, optional
        Asked before every step after the first; when it returns True the epoch ends
        early (a time budget running out). Under DDP it must answer the same on every
        rank.

    Returns
    -------
    EpochStats

    Raises
    ------
    TypeError
        If a batch holds images of different sizes (training crops must be equal).
    FloatingPointError
        If the loss becomes NaN or infinite (the message suggests remedies).
    """
    from tqdm.auto import tqdm

    device = torch.device(device)
    bare = unwrap_model(model)
    model.train()
    start = time.perf_counter()
    total_loss, steps, images_seen = 0.0, 0, 0
    lr = optimizer.param_groups[0]["lr"]
    bar = tqdm(loader, desc=description, leave=False, disable=not progress)
    for images, masks in bar:
        if steps and should_stop is not None and should_stop():
            break
        if isinstance(images, list):
            raise TypeError("training batches must hold images of one size; got a list of "
                            "differently sized images. Use a crop (train_transform).")
        images = images.to(device, non_blocking=True)
        masks = masks.to(device, non_blocking=True)
        lr = optimizer.param_groups[0]["lr"]
        with _autocast(device, amp):
            logits = model(bare.normalize(images))
        loss = loss_fn(logits, masks)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"training loss is {value} at step {steps} (lr {lr:g}); lower lr, set a "
                "grad_clip, or check the data.")
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None and scaler.is_enabled():
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += value
        steps += 1
        images_seen += images.shape[0]
        bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}")
    return EpochStats(loss=total_loss / max(steps, 1), steps=steps, images=images_seen,
                      seconds=time.perf_counter() - start, lr=lr)


def _from_table(table: np.ndarray, num_classes: int, ignore_index: int):
    """A ConfusionMatrix holding `table` (e.g. the sum over ranks)."""
    from benchmarks.metrics.semantic import ConfusionMatrix

    table = np.asarray(table, dtype=np.int64).reshape(num_classes, num_classes)
    return ConfusionMatrix.from_matrix(table, ignore_index)


def evaluate(model: nn.Module, loader, num_classes: int, *, device="cpu",
             tta_flip: bool = False, scales=(1.0,), amp: bool = False,
             ignore_index: int = IGNORE_INDEX, reduce: bool = False, progress: bool = False):
    """One confusion matrix over every image of `loader`, at full resolution.

    Parameters
    ----------
    model : nn.Module
        A segbench model (a DDP wrapper is unwrapped: evaluation needs no gradient
        synchronisation, and shards may differ in length). Its training mode is
        restored afterwards.
    loader : iterable
        Batches ``(images, masks)`` as stacked tensors, or lists of differently sized
        images (each predicted on its own; nothing is padded or resized).
    num_classes : int
    device : str or torch.device, optional
    tta_flip : bool, optional
        Average the logits with those of the mirrored images.
    scales : sequence of float, optional
        Test-time scale factors (default ``(1.0,)``; see :func:`deep.infer.predict_logits`).
        Scores are always taken at the masks' full resolution.
    amp : bool, optional
        Autocast the forward pass.
    ignore_index : int, optional
        Void label of the masks.
    reduce : bool, optional
        Sum the matrices of all ranks (``all_reduce``); the loader must give each rank
        a disjoint shard (``make_loader(..., distributed=True, shuffle=False)``).
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    matrix : benchmarks.metrics.semantic.ConfusionMatrix
        Rows = truth, columns = prediction; reduce with ``.mean_iou()``,
        ``.scores(class_names=...)`` etc.
    """
    from tqdm.auto import tqdm

    from benchmarks.metrics.semantic import ConfusionMatrix

    device = torch.device(device)
    bare = unwrap_model(model)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if int(bare.num_classes) != num_classes:
        raise ValueError(f"the model predicts {bare.num_classes} classes; num_classes is "
                         f"{num_classes}. Evaluate it on a dataset with its classes.")
    local = ConfusionMatrix(num_classes, ignore_index)
    training = bare.training
    bare.eval()
    try:
        for images, masks in tqdm(loader, desc="evaluate", leave=False, disable=not progress):
            pairs = (zip(images, masks) if isinstance(images, list)
                     else [(images, masks)])
            for image, mask in pairs:
                if image.ndim == 3:
                    image, mask = image[None], mask[None]
                with _autocast(device, amp):
                    logits = predict_logits(bare, image.to(device), tta_flip=tta_flip,
                                            scales=scales)
                local.update(logits.argmax(1), mask.to(device))
    finally:
        bare.train(training)
    if reduce and dist.is_available() and dist.is_initialized():
        table = torch.from_numpy(local.matrix.copy())
        if dist.get_backend() == "nccl":
            table = table.to(device)
        dist.all_reduce(table, op=dist.ReduceOp.SUM)
        return _from_table(table.cpu().numpy(), num_classes, ignore_index)
    return local


# ----------------------------------------------------------------------------- DDP


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) run.

    Attributes
    ----------
    rank, world_size, local_rank : int
    device : torch.device
    initialized_here : bool
        Whether :func:`init_distributed` created the process group (and should
        destroy it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        """Destroy the process group if this context created it."""
        if self.initialized_here and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str = "cpu") -> DistributedContext:
    """Join the process group when launched by ``torchrun`` (``RANK``/``WORLD_SIZE``).

    Uses gloo on CPU and NCCL on CUDA (each rank on ``cuda:LOCAL_RANK``). Without those
    variables, or with a world size of 1, returns a single-process context.

    Raises
    ------
    ValueError
        If CUDA is requested but unavailable.
    """
    env_world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no GPU; use 'cpu'.")
    if "RANK" not in os.environ or env_world <= 1:
        return DistributedContext(device=torch.device(device))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if cuda:
        torch.cuda.set_device(local_rank)
        where = torch.device("cuda", local_rank)
    else:
        where = torch.device("cpu")
    created = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        created = True
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size(),
                              local_rank=local_rank, device=where, initialized_here=created)


def _average_buffers(model: nn.Module, ctx: DistributedContext) -> None:
    """Average floating buffers (BatchNorm statistics) over ranks; broadcast the rest."""
    if not ctx.distributed:
        return
    for buffer in unwrap_model(model).buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer.div_(ctx.world_size)
        else:
            dist.broadcast(buffer, src=0)


def _broadcast_int(value: int, ctx: DistributedContext) -> int:
    if not ctx.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.int64, device=ctx.device)
    dist.broadcast(tensor, src=0)
    return int(tensor.item())


def _mean_over_ranks(total: float, count: int, ctx: DistributedContext) -> float:
    if not ctx.distributed:
        return total / max(count, 1)
    tensor = torch.tensor([total, float(count)], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return float(tensor[0] / max(float(tensor[1]), 1.0))


def _gather_rng(ctx: DistributedContext) -> list[dict]:
    state = rng_state()
    if not ctx.distributed:
        return [state]
    gathered: list = [None] * ctx.world_size
    dist.all_gather_object(gathered, state)
    return gathered


# ----------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class RunSummary:
    """What :func:`fit` did.

    Attributes
    ----------
    out_dir : Path
    epochs, steps : int
        Completed epochs and optimizer steps (including those before a resume).
    best_metric : float or None
        Best validation mean IoU (None without validation).
    best_epoch : int or None
        The epoch (1-based) that reached it.
    last_scores : SemanticScores or None
        Scores of the last validation.
    seconds : float
        Wall time of the run, including time before a resume.
    stopped_by : {"epochs", "minutes"}
    last_checkpoint, best_checkpoint, metrics_path : Path
    model : nn.Module
        The trained model (unwrapped), in eval mode.
    """

    out_dir: Path
    epochs: int
    steps: int
    best_metric: float | None
    best_epoch: int | None
    last_scores: Any
    seconds: float
    stopped_by: str
    last_checkpoint: Path
    best_checkpoint: Path
    metrics_path: Path
    model: nn.Module = field(repr=False, compare=False)


def _load_split(config: TrainConfig, split: str):
    from benchmarks.datasets import load_dataset

    return load_dataset(config.dataset, split=split, root=config.root,
                        **config.dataset_options)


def _config_differences(saved: TrainConfig, given: TrainConfig) -> list[str]:
    diffs = []
    for f in dataclasses.fields(TrainConfig):
        if f.name in RESUMABLE_CHANGES or (f.name == "num_classes" and given.num_classes is None):
            continue
        a, b = getattr(saved, f.name), getattr(given, f.name)
        if a != b:
            diffs.append(f"{f.name} {a!r} (run) vs {b!r} (given)")
    return diffs


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _append_metrics(path: Path, record: dict) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, allow_nan=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _truncate_metrics(path: Path, epochs: int) -> None:
    """Keep the metrics lines of epochs <= `epochs` (a crash may have left later ones)."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("epoch", 0) <= epochs]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


class _Deterministic:
    """Context manager: deterministic algorithms on, previous settings restored."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self):
        self.previous = (torch.are_deterministic_algorithms_enabled(),
                         torch.is_deterministic_algorithms_warn_only_enabled(),
                         torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
        if self.enabled:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        return self

    def __exit__(self, *exc) -> None:
        algorithms, warn_only, benchmark, deterministic = self.previous
        torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
        torch.backends.cudnn.deterministic = deterministic


def fit(config: TrainConfig, *, resume: bool = False, progress: bool = True,
        train_dataset=None, val_dataset=None) -> RunSummary:
    """Train a model as `config` says; checkpoint, validate, log; resumable.

    Writes to ``config.out_dir``: ``config.json``; ``last.pt`` after every epoch and
    ``best.pt`` whenever validation mean IoU improves (both atomically; see
    :mod:`deep.checkpoints`); ``metrics.jsonl``, one JSON object per epoch with
    ``epoch``, ``step``, ``train_loss``, ``lr``, ``seconds`` (the epoch's),
    ``elapsed`` (the run's), and after validation ``val_miou``, ``pixel_accuracy``,
    ``mean_class_accuracy`` and ``per_class_iou`` (class name -> IoU, null when
    undefined).

    Parameters
    ----------
    config : TrainConfig
    resume : bool, optional
        Continue the run in ``config.out_dir`` from its ``last.pt``: weights,
        optimizer, schedule, counters and RNG states. The config may change only in
        :data:`RESUMABLE_CHANGES` (e.g. more epochs; the LR schedule is then
        stretched to the new length).
    progress : bool, optional
        Progress bars and one summary line per epoch (rank 0 only).
    train_dataset, val_dataset : SegmentationDataset, optional
        Use these instead of loading ``config.dataset`` (e.g. custom synthetic
        parameters); ``config.dataset`` is then only recorded. With `train_dataset`
        given, validation uses `val_dataset` only (none when it is None).

    Returns
    -------
    RunSummary

    Notes
    -----
    The run seeds torch's, NumPy's and ``random``'s global generators (from
    ``config.seed``, the epoch and the rank), and switches deterministic algorithms on
    for its duration when ``config.deterministic`` (restoring the previous setting).

    Raises
    ------
    FileExistsError
        If ``out_dir`` already holds a run and `resume` is False.
    FileNotFoundError
        If `resume` is True but there is no ``last.pt``, or the dataset is missing.
    ValueError
        If the resumed config differs in a field that cannot change, the dataset's
        class count differs from ``config.num_classes``, or from the checkpoint's.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}.")
    ctx = init_distributed(config.device)
    try:
        with _Deterministic(config.deterministic):
            return _fit(config, ctx, resume, progress, train_dataset, val_dataset)
    finally:
        ctx.close()


@dataclass
class _Run:
    """The mutable state of a run in progress (what ``last.pt`` restores)."""

    out: Path
    epoch: int = 0
    step: int = 0
    planned: int = 1
    elapsed_before: float = 0.0
    best_metric: float | None = None
    best_epoch: int | None = None
    stopped_by: str = "epochs"

    @property
    def last(self) -> Path:
        return self.out / LAST

    @property
    def best(self) -> Path:
        return self.out / BEST

    @property
    def metrics(self) -> Path:
        return self.out / METRICS


def _open_checkpoint(config: TrainConfig, resume: bool) -> dict | None:
    """The run's last.pt when resuming (checked against `config`); refuse clobbering."""
    out = Path(config.out_dir)
    last = out / LAST
    if not resume:
        if last.exists():
            raise FileExistsError(f"out_dir {str(out)!r} already holds a run ({LAST}); resume "
                                  "it (resume=True, --resume) or choose another out_dir.")
        return None
    if not last.is_file():
        raise FileNotFoundError(f"cannot resume: {str(last)!r} does not exist. Start the run "
                                "without resume, or point out_dir at a run.")
    checkpoint = load_checkpoint(last)
    diffs = _config_differences(TrainConfig.from_dict(checkpoint["config"]), config)
    if diffs:
        raise ValueError(
            f"cannot resume {str(out)!r} with a different config: {'; '.join(diffs)}. Only "
            f"{', '.join(RESUMABLE_CHANGES)} may change; start a new out_dir instead.")
    return checkpoint


def _datasets(config: TrainConfig, train_dataset, val_dataset, checkpoint):
    """(train set, val set or None, num_classes), with the class counts checked."""
    train_set = (train_dataset if train_dataset is not None
                 else _load_split(config, config.train_split))
    val_set = val_dataset
    if val_set is None and train_dataset is None and config.val_split is not None:
        val_set = _load_split(config, config.val_split)
    num_classes = getattr(train_set, "num_classes", None)
    if num_classes is None:
        raise ValueError(f"dataset {config.dataset!r} has no semantic classes; train on a "
                         "semantic dataset (synthetic, camvid, voc, folder with classes).")
    if config.num_classes is not None and config.num_classes != num_classes:
        raise ValueError(f"num_classes is {config.num_classes} but dataset {config.dataset!r} "
                         f"has {num_classes} classes; leave num_classes unset.")
    if val_set is not None and getattr(val_set, "num_classes", None) != num_classes:
        raise ValueError(f"the validation split has {getattr(val_set, 'num_classes', None)} "
                         f"classes, the training split {num_classes}.")
    if checkpoint is not None and int(checkpoint["num_classes"]) != num_classes:
        raise ValueError(f"the run in {config.out_dir!r} was trained for "
                         f"{checkpoint['num_classes']} classes; the dataset has {num_classes}.")
    return train_set, (val_set if val_set is not None and len(val_set) else None), num_classes


def _loaders(config: TrainConfig, train_set, val_set, ctx: DistributedContext):
    """Training loader (augmented, shuffled, sharded) and validation loader (or None)."""
    pin = ctx.device.type == "cuda"
    shard = dict(distributed=ctx.distributed, rank=ctx.rank, world_size=ctx.world_size,
                 num_workers=config.num_workers, seed=config.seed, pin_memory=pin)
    transform = train_transform(config.crop_size, scale_range=config.scale_range,
                                hflip=config.hflip, color_jitter=config.color_jitter)
    cache = config.cache_samples
    train_loader = make_loader(
        SegmentationTorchDataset(train_set, transform, seed=config.seed, cache=cache),
        config.batch_size, shuffle=True, drop_last=True, **shard)
    if len(train_loader) == 0:
        raise ValueError(f"the training split of {config.dataset!r} is empty.")
    val_loader = None
    if val_set is not None:
        val_loader = make_loader(SegmentationTorchDataset(val_set, eval_transform(), cache=cache),
                                 1, shuffle=False, **shard)
    return train_loader, val_loader


def _restore(checkpoint: dict, run: _Run, config: TrainConfig, ctx: DistributedContext,
             model: nn.Module, optimizer, scheduler, scaler) -> None:
    """Load last.pt into the model, optimizer, schedule, counters and RNGs."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint.get("scaler"):
        scaler.load_state_dict(checkpoint["scaler"])
    extra = checkpoint["extra"]
    run.epoch, run.step = int(checkpoint["epoch"]), int(checkpoint["step"])
    run.best_metric, run.best_epoch = checkpoint.get("best_metric"), extra.get("best_epoch")
    run.elapsed_before = float(extra.get("elapsed", 0.0))
    # this session's budget: the epochs given now (a time budget is checked by the clock)
    run.planned = max(config.epochs if config.epochs is not None else _UNCAPPED_EPOCHS,
                      run.epoch)
    states = checkpoint.get("rng") or []
    if len(states) == ctx.world_size:
        set_rng_state(states[ctx.rank])
    else:  # another world size: a fresh but reproducible draw per rank
        _seed_everything(mix_seed(config.seed, run.epoch, ctx.rank))


class _Clock:
    """A run's wall time, and its budget (``config.minutes``) agreed on by all ranks."""

    def __init__(self, config: TrainConfig, ctx: DistributedContext, elapsed_before: float):
        self.seconds = None if config.minutes is None else 60.0 * config.minutes
        self.ctx = ctx
        self.elapsed_before = elapsed_before
        self.started = time.perf_counter()
        self.reserve = 0.0  # kept for the last validation and checkpoint (measured)

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def out_of_time(self) -> bool:
        """Whether the budget (less the reserve) is spent; the same answer on all ranks."""
        if self.seconds is None:
            return False
        late = self.elapsed() + self.reserve >= self.seconds
        if self.ctx.distributed:
            flag = torch.tensor([int(late)], device=self.ctx.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            late = bool(flag.item())
        return late

    def estimate_epochs(self, run: _Run, epochs_here: int, cap: int | None) -> int:
        """Epochs expected in all, from the mean duration of this session's epochs."""
        per_epoch = (time.perf_counter() - self.started) / max(epochs_here, 1)
        remaining = self.seconds - self.elapsed() - self.reserve
        total = run.epoch + max(0, math.ceil(remaining / per_epoch))
        return total if cap is None else min(total, cap)


def _validation_record(scores, class_names: list[str]) -> dict[str, Any]:
    return {
        "val_miou": _json_value(scores.mean_iou),
        "pixel_accuracy": _json_value(scores.pixel_accuracy),
        "mean_class_accuracy": _json_value(scores.mean_class_accuracy),
        "per_class_iou": {n: _json_value(v) for n, v in zip(class_names, scores.iou)},
    }


def _progress_line(run: _Run, record: dict[str, Any]) -> str:
    line = (f"epoch {run.epoch}/{run.planned}  loss {record['train_loss']:.4f}  "
            f"lr {record['lr']:.2e}  {record['seconds']:.1f}s")
    if record.get("val_miou") is not None:
        line += (f"  val mIoU {100 * record['val_miou']:.2f}%  pixel acc "
                 f"{100 * record['pixel_accuracy']:.2f}%")
    return line


def _fit(config: TrainConfig, ctx: DistributedContext, resume: bool, progress: bool,
         train_dataset, val_dataset) -> RunSummary:
    from .registry import build_model

    show = progress and ctx.is_main
    checkpoint = _open_checkpoint(config, resume)
    train_set, val_set, num_classes = _datasets(config, train_dataset, val_dataset, checkpoint)
    config = config.replace(num_classes=num_classes)
    classes = getattr(train_set, "classes", None) or ()
    class_names = [c.name for c in classes] or [str(i) for i in range(num_classes)]
    class_colors = [list(c.color) for c in classes] or None

    # The model is initialised identically on every rank (DDP also broadcasts rank 0's).
    torch.manual_seed(mix_seed(config.seed, 0))
    model = build_model(config.model, num_classes, **config.model_options).to(ctx.device)
    weights = None
    if config.class_weights != "none":
        saved = checkpoint["extra"].get("class_weights") if checkpoint is not None else None
        compute = (median_frequency_weights if config.class_weights == "median_freq"
                   else enet_weights)
        weights = (np.asarray(saved, dtype=np.float64) if saved is not None
                   else compute(train_set, num_classes, progress=show))
    loss_fn = SegmentationLoss(None if weights is None else torch.tensor(weights),
                               lovasz_weight=config.lovasz_weight)
    loss_fn = loss_fn.to(ctx.device)
    train_loader, val_loader = _loaders(config, train_set, val_set, ctx)

    steps_per_epoch = len(train_loader)
    # With a time budget the schedule follows the clock; steps count only up to a cap.
    cap = config.epochs if config.epochs is not None else _UNCAPPED_EPOCHS
    run = _Run(out=Path(config.out_dir), planned=cap)
    optimizer = build_optimizer(model, config)
    seconds = None if config.minutes is None else 60.0 * config.minutes
    schedule = LRSchedule(config.schedule, cap * steps_per_epoch,
                          round(config.warmup_epochs * steps_per_epoch), seconds=seconds)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and ctx.device.type == "cuda")
    if checkpoint is not None:
        _restore(checkpoint, run, config, ctx, model, optimizer, scheduler, scaler)
        # the saved schedule attributes are replaced by this session's budget
        schedule.total_steps = (run.planned if seconds is None else cap) * steps_per_epoch
        schedule.seconds = seconds
    else:
        _seed_everything(mix_seed(config.seed, 1, ctx.rank))
    wrapped = model
    if ctx.distributed:
        wrapped = nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)

    if ctx.is_main:
        run.out.mkdir(parents=True, exist_ok=True)
        _write_text_atomic(run.out / CONFIG, config.to_json() + "\n")
        if checkpoint is not None:
            _truncate_metrics(run.metrics, run.epoch)
        else:
            run.metrics.unlink(missing_ok=True)
    ctx.barrier()

    clock, first_epoch, last_scores = _Clock(config, ctx, run.elapsed_before), run.epoch, None
    started = clock.started
    schedule.start_clock(run.elapsed_before)
    if clock.out_of_time():  # a resumed run whose time budget is already spent
        run.planned, run.stopped_by = run.epoch, "minutes"
    while run.epoch < run.planned:
        epoch_start = time.perf_counter()
        train_loader.set_epoch(run.epoch)
        stats = train_one_epoch(wrapped, train_loader, optimizer, scheduler, loss_fn,
                                device=ctx.device, scaler=scaler, amp=config.amp,
                                grad_clip=config.grad_clip, progress=show,
                                description=f"epoch {run.epoch + 1}",
                                should_stop=clock.out_of_time if seconds else None)
        _average_buffers(model, ctx)
        run.epoch += 1
        run.step += stats.steps
        if seconds is None:
            is_last = run.epoch >= run.planned
        else:  # the clock decides, within the epoch cap
            capped = config.epochs is not None and run.epoch >= config.epochs
            is_last = capped or clock.out_of_time()
            if is_last and not capped:
                run.stopped_by = "minutes"
            run.planned = (run.epoch if is_last else
                           clock.estimate_epochs(run, run.epoch - first_epoch, config.epochs))
        tail_start = time.perf_counter()
        record: dict[str, Any] = {
            "epoch": run.epoch, "step": run.step, "lr": stats.lr,
            "train_loss": _mean_over_ranks(stats.loss * stats.steps, stats.steps, ctx)}
        improved = val_loader is None  # without validation, best.pt mirrors last.pt
        if val_loader is not None and (run.epoch % config.eval_every == 0 or is_last):
            matrix = evaluate(model, val_loader, num_classes, device=ctx.device,
                              tta_flip=config.eval_tta, amp=config.amp,
                              reduce=ctx.distributed, progress=show)
            last_scores = matrix.scores(class_names=class_names)
            record.update(_validation_record(last_scores, class_names))
            miou = last_scores.mean_iou
            improved = math.isfinite(miou) and (run.best_metric is None
                                                or miou > run.best_metric)
            if improved:
                run.best_metric, run.best_epoch = float(miou), run.epoch
        record["seconds"] = time.perf_counter() - epoch_start
        record["elapsed"] = run.elapsed_before + time.perf_counter() - started
        rng = _gather_rng(ctx)  # collective: every rank takes part
        if ctx.is_main:
            _append_metrics(run.metrics, record)
            extra = {"elapsed": record["elapsed"], "planned_epochs": run.planned,
                     "best_epoch": run.best_epoch, "world_size": ctx.world_size}
            if weights is not None:
                extra["class_weights"] = [float(w) for w in weights]
            save_checkpoint(
                run.last, model, model_name=config.model, model_options=config.model_options,
                class_names=class_names, class_colors=class_colors, optimizer=optimizer,
                scheduler=scheduler, scaler=scaler if scaler.is_enabled() else None,
                epoch=run.epoch, step=run.step, config=config.to_dict(), rng=rng,
                best_metric=run.best_metric, extra=extra)
            if improved:
                _copy_atomic(run.last, run.best)
            if show:
                print(_progress_line(run, record), flush=True)
        ctx.barrier()
        if "val_miou" in record:  # keep time for a final validation and checkpoint
            clock.reserve = time.perf_counter() - tail_start
        if is_last:
            break

    model.eval()
    return RunSummary(
        out_dir=run.out, epochs=run.epoch, steps=run.step, best_metric=run.best_metric,
        best_epoch=run.best_epoch, last_scores=last_scores,
        seconds=run.elapsed_before + time.perf_counter() - started,
        stopped_by=run.stopped_by, last_checkpoint=run.last, best_checkpoint=run.best,
        metrics_path=run.metrics, model=model)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
