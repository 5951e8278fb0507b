"""Backbones with named feature taps: torchvision classifiers cut at strides 2 to 32.

A :class:`Backbone` wraps a torchvision classification network (built by torchvision's
own builder, ``weights=None`` unless you pass a weights enum) and returns the feature
maps of a few named layers, the *taps*, as an ordered dict ``{stride: features}``.

Encoder contract
----------------
- Input: a normalised float batch of shape (N, 3, H, W); see :attr:`Backbone.mean` and
  :attr:`Backbone.std` for the normalisation that belongs to the weights.
- Output: ``OrderedDict[int, Tensor]`` keyed by stride, in increasing stride order
  (decreasing resolution). For H and W multiples of 32 the tap at stride ``s`` has
  shape ``(N, out_channels[s], H / s, W / s)`` exactly; other sizes follow each
  layer's own rounding, which is why :mod:`deep.fcn` pads inputs to a multiple of 32.
- ``output_stride`` is 32 for every backbone here (no dilation).
- Only the requested strides are returned, and layers after the deepest requested tap
  are dropped (the classifier head is always dropped).

Tap table
---------
Each cell gives the torchvision layer of the tap, then its channel count. Layer names are
children of ``model.features`` for VGG, DenseNet and MobileNet (``16`` is
``features[16]``) and of the model itself for ResNet.

==================  ==========  ===============  ===============  ================  ===============
backbone            stride 2    stride 4         stride 8         stride 16         stride 32
                                                 (pool3)          (pool4)           (pool5)
==================  ==========  ===============  ===============  ================  ===============
vgg16               4  64       9  128           16  256          23  512           30  512
vgg16_bn            6  64       13  128          23  256          33  512           43  512
resnet18, 34        relu  64    layer1  64       layer2  128      layer3  256       layer4  512
resnet50, 101       relu  64    layer1  256      layer2  512      layer3  1024      layer4  2048
densenet121         relu0  64   denseblock1 256  denseblock2 512  denseblock3 1024  relu5  1024
mobilenet_v2        1  16       3  24            6  32            13  96            18  1280
mobilenet_v3_large  1  16       3  24            6  40            12  112           16  960
mobilenet_v3_small  0  16       1  16            3  24            8  48             12  576
==================  ==========  ===============  ===============  ================  ===============

Which layer is the tap:

- VGG: the max-pool layers pool1..pool5, as in the FCN paper (``pool3`` is the output
  of ``features.16``, the pooling that enters stride 8). VGG's fully connected fc6/fc7
  are *not* part of the backbone: convolutionalised, they form the FCN head for VGG
  (:class:`deep.fcn.VGGHead`).
- Every other backbone: the last layer that still runs at that stride, i.e. the
  deepest features at that resolution (ResNet ``layer2`` for stride 8, DenseNet
  ``denseblock2`` before ``transition2`` pools, MobileNet's last inverted-residual
  block before the next stride-2 block, and the final 1x1 expansion convolution of
  MobileNet for stride 32).
- DenseNet: torchvision's ``DenseNet.forward`` applies a ReLU after ``features.norm5``;
  the backbone appends that ReLU to ``features`` as layer ``relu5`` so the stride-32 tap
  is what the classifier saw.

Examples
--------
>>> import torch
>>> backbone = Backbone("resnet18", strides=(8, 16, 32))
>>> features = backbone(torch.zeros(1, 3, 64, 96))
>>> [(stride, tuple(f.shape)) for stride, f in features.items()]
[(8, (1, 128, 8, 12)), (16, (1, 256, 4, 6)), (32, (1, 512, 2, 3))]
>>> backbone.out_channels
{8: 128, 16: 256, 32: 512}
"""

from __future__ import annotations

import difflib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import torch
import torchvision.models as tvm
from torch import nn
from torchvision.models._utils import IntermediateLayerGetter

__all__ = [
    "BACKBONES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "STRIDES",
    "Backbone",
    "torchvision_model",
]

#: Every stride a backbone can tap, finest first.
STRIDES: tuple[int, ...] = (2, 4, 8, 16, 32)

#: ImageNet RGB mean and standard deviation for inputs scaled to [0, 1]: the
#: normalisation of every torchvision classification weight set used here.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class _Spec:
    builder: Callable[..., nn.Module]   # torchvision builder, called as builder(weights=...)
    model_class: type                   # what builder returns (checked for ``model=``)
    container: str | None               # attribute holding the stages; None: the model
    taps: dict[int, tuple[str, int]]    # stride -> (child name in container, channels)


def _taps(names: tuple[str, ...], channels: tuple[int, ...]) -> dict[int, tuple[str, int]]:
    return {s: (n, c) for s, n, c in zip(STRIDES, names, channels)}


_RESNET_NAMES = ("relu", "layer1", "layer2", "layer3", "layer4")
_SPECS: dict[str, _Spec] = {
    "vgg16": _Spec(tvm.vgg16, tvm.VGG, "features",
                   _taps(("4", "9", "16", "23", "30"), (64, 128, 256, 512, 512))),
    "vgg16_bn": _Spec(tvm.vgg16_bn, tvm.VGG, "features",
                      _taps(("6", "13", "23", "33", "43"), (64, 128, 256, 512, 512))),
    "resnet18": _Spec(tvm.resnet18, tvm.ResNet, None,
                      _taps(_RESNET_NAMES, (64, 64, 128, 256, 512))),
    "resnet34": _Spec(tvm.resnet34, tvm.ResNet, None,
                      _taps(_RESNET_NAMES, (64, 64, 128, 256, 512))),
    "resnet50": _Spec(tvm.resnet50, tvm.ResNet, None,
                      _taps(_RESNET_NAMES, (64, 256, 512, 1024, 2048))),
    "resnet101": _Spec(tvm.resnet101, tvm.ResNet, None,
                       _taps(_RESNET_NAMES, (64, 256, 512, 1024, 2048))),
    "densenet121": _Spec(tvm.densenet121, tvm.DenseNet, "features",
                         _taps(("relu0", "denseblock1", "denseblock2", "denseblock3", "relu5"),
                               (64, 256, 512, 1024, 1024))),
    "mobilenet_v2": _Spec(tvm.mobilenet_v2, tvm.MobileNetV2, "features",
                          _taps(("1", "3", "6", "13", "18"), (16, 24, 32, 96, 1280))),
    "mobilenet_v3_large": _Spec(tvm.mobilenet_v3_large, tvm.MobileNetV3, "features",
                                _taps(("1", "3", "6", "12", "16"), (16, 24, 40, 112, 960))),
    "mobilenet_v3_small": _Spec(tvm.mobilenet_v3_small, tvm.MobileNetV3, "features",
                                _taps(("0", "1", "3", "8", "12"), (16, 16, 24, 48, 576))),
}

#: Names accepted by :class:`Backbone` and the FCN builders.
BACKBONES: tuple[str, ...] = tuple(_SPECS)


def _spec(name) -> _Spec:
    if not isinstance(name, str):
        raise TypeError(f"backbone must be a string; got {name!r} ({type(name).__name__}).")
    if name not in _SPECS:
        close = difflib.get_close_matches(name, BACKBONES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"backbone must be one of {', '.join(BACKBONES)}; got {name!r}.{hint}"
        )
    return _SPECS[name]


def torchvision_model(name: str, *, weights=None) -> nn.Module:
    """Build the full torchvision classification network behind backbone `name`.

    Parameters
    ----------
    name : str
        One of :data:`BACKBONES`.
    weights : torchvision WeightsEnum or None, optional
        Passed to torchvision's builder. ``None`` (default) gives random weights and never
        touches the network; an enum loads from the torch hub cache (downloading when the
        cache lacks it).

    Returns
    -------
    model : nn.Module
        E.g. ``torchvision.models.vgg16(weights=weights)``, classifier included.
    """
    return _spec(name).builder(weights=weights)


def _random_vgg(spec: _Spec) -> nn.Module:
    """A random VGG without paying for its 120M-parameter classifier.

    torchvision's builder initialises the fully connected classifier (about 3 s on two
    cores), which the backbone then discards. Build on the meta device instead, keep
    the convolutional ``features`` and give them torchvision's own VGG initialisation
    (``VGG.__init__``: Kaiming-normal fan-out convs with zero bias, BatchNorm 1 and 0).
    """
    with torch.device("meta"):
        model = spec.builder(weights=None)
    model.features.to_empty(device=torch.empty(0).device)  # the default device
    for module in model.features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            module.reset_running_stats()
    return model


def _check_strides(strides) -> tuple[int, ...]:
    try:
        items = list(strides)
    except TypeError:
        raise TypeError(
            f"strides must be a sequence of ints from {STRIDES}; got {strides!r}."
        ) from None
    bad = [s for s in items if isinstance(s, bool) or s not in STRIDES]
    if not items or bad:
        raise ValueError(
            f"strides must be a non-empty subset of {STRIDES}; got {tuple(items)}."
        )
    return tuple(sorted(set(int(s) for s in items)))


def _weights_normalisation(weights) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) that belong to a torchvision weights enum (ImageNet's when absent)."""
    if weights is None:
        return IMAGENET_MEAN, IMAGENET_STD
    transforms = weights.transforms()
    mean = getattr(transforms, "mean", IMAGENET_MEAN)
    std = getattr(transforms, "std", IMAGENET_STD)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


class Backbone(nn.Module):
    """A torchvision classifier returning named feature taps ``{stride: features}``.

    Parameters
    ----------
    name : str
        One of :data:`BACKBONES` (``"vgg16"``, ``"vgg16_bn"``, ``"resnet18"``,
        ``"resnet34"``, ``"resnet50"``, ``"resnet101"``, ``"densenet121"``,
        ``"mobilenet_v2"``, ``"mobilenet_v3_large"``, ``"mobilenet_v3_small"``).
    weights : torchvision WeightsEnum or None, optional
        Classification weights for torchvision's builder, e.g.
        ``torchvision.models.ResNet18_Weights.IMAGENET1K_V1``. ``None`` (default): random
        weights, nothing is downloaded.
    strides : sequence of int, optional
        Which taps to return, a subset of :data:`STRIDES` (default: all five).
    model : nn.Module, optional
        An already built torchvision network of the right kind (for example one whose
        weights you loaded yourself) to cut instead of building one. Exclusive with
        `weights`.

    Attributes
    ----------
    name : str
    strides : tuple of int
        The returned strides, increasing.
    out_channels : dict of int to int
        Channels of each returned tap, by stride (see the module's tap table).
    taps : dict of int to str
        The torchvision layer behind each returned tap, e.g. ``{8: "features.16"}``.
    output_stride : int
        32: the stride of the coarsest tap.
    mean, std : tuple of float
        The input normalisation (RGB, inputs in [0, 1]) of the weights: taken from the
        weights enum's transforms, ImageNet's otherwise.
    body : IntermediateLayerGetter
        The kept layers of the torchvision network.

    Raises
    ------
    TypeError
        If `name` is not a string or `model` is not the torchvision class for `name`.
    ValueError
        If `name` is unknown (the message suggests the closest name), `strides` is not a
        subset of :data:`STRIDES`, both `weights` and `model` are given, or `model`'s
        layers do not have the channel counts of `name`.
    """

    output_stride: int = 32

    def __init__(self, name: str, *, weights=None, strides=STRIDES,
                 model: nn.Module | None = None) -> None:
        super().__init__()
        spec = _spec(name)
        strides = _check_strides(strides)
        user_model = model is not None
        if weights is not None and not isinstance(weights, tvm.WeightsEnum):
            raise TypeError(
                f"weights must be a torchvision weights enum (e.g. "
                f"torchvision.models.ResNet18_Weights.IMAGENET1K_V1) or None; got {weights!r}."
            )
        if model is None:
            model = _random_vgg(spec) if weights is None and spec.model_class is tvm.VGG \
                else spec.builder(weights=weights)
        else:
            if weights is not None:
                raise ValueError(
                    "pass either weights or model, not both; load the weights into model "
                    "before passing it."
                )
            if not isinstance(model, spec.model_class):
                raise TypeError(
                    f"model must be a torchvision {spec.model_class.__name__} for backbone "
                    f"{name!r}; got {type(model).__name__}."
                )
        container = model if spec.container is None else getattr(model, spec.container)
        if name == "densenet121":
            # DenseNet.forward applies F.relu after features.norm5: make it a layer to tap.
            container = nn.Sequential(OrderedDict(
                [*container.named_children(), ("relu5", nn.ReLU(inplace=False))]
            ))
        self.name = name
        self.strides = strides
        self.out_channels = {s: spec.taps[s][1] for s in strides}
        prefix = "" if spec.container is None else f"{spec.container}."
        self.taps = {s: prefix + spec.taps[s][0] for s in strides}
        self.mean, self.std = _weights_normalisation(weights)
        self.body = IntermediateLayerGetter(
            container, return_layers={spec.taps[s][0]: str(s) for s in strides}
        )
        if user_model:
            self._check_channels()

    def _check_channels(self) -> None:
        """Check a user-supplied model against the tap table with one tiny forward pass."""
        parameter = next(self.body.parameters())
        x = torch.zeros(1, 3, 32, 32, device=parameter.device, dtype=parameter.dtype)
        training = self.training
        try:
            self.eval()
            with torch.no_grad():
                got = {s: f.shape[1] for s, f in self(x).items()}
        finally:
            self.train(training)
        for stride, channels in got.items():
            if channels != self.out_channels[stride]:
                raise ValueError(
                    f"model does not match backbone {self.name!r}: the stride-{stride} tap "
                    f"{self.taps[stride]} has {channels} channels, expected "
                    f"{self.out_channels[stride]}."
                )

    def forward(self, x: torch.Tensor) -> OrderedDict[int, torch.Tensor]:
        """Return ``{stride: features}`` for the requested strides, finest first.

        Parameters
        ----------
        x : Tensor, shape (N, 3, H, W)
            Normalised images (see :attr:`mean`, :attr:`std`).

        Returns
        -------
        features : OrderedDict of int to Tensor
            ``features[s]`` has shape (N, out_channels[s], H / s, W / s) when H and W
            are multiples of 32.
        """
        return OrderedDict((int(k), v) for k, v in self.body(x).items())

    def extra_repr(self) -> str:
        return f"name={self.name!r}, out_channels={self.out_channels}"
