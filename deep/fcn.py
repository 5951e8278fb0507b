"""Fully convolutional networks: FCN-32s, FCN-16s, FCN-8s and the seed's FCNs.

Every model maps a normalised float batch (N, 3, H, W) to per-class logits
(N, num_classes, H, W) of exactly the input size, for any H and W.

Exact output size
-----------------
The input is zero-padded at the bottom and right up to the next multiple of 32 (the
backbone's output stride), so every tap at stride ``s`` is exactly ``1/s`` of the padded
size and every upsampler (kernel ``2f``, stride ``f``, padding ``f/2``) is exactly ``f``
times larger; the logits are cropped back to (H, W) at the end. No ``padding=100``, no
crop offsets. Zero padding is used rather than reflection because reflection needs the
pad to be smaller than the image (a 7x9 input pads to 32x32); in normalised space zero is
the mean colour of the weights' training set, a neutral filler.

FCN-32s / 16s / 8s (Long, Shelhamer and Darrell)
------------------------------------------------
- ``head``: for VGG backbones, the classifier's fc6/fc7 convolutionalised
  (:class:`VGGHead`: 7x7 conv to 4096 with padding 3 so the size is kept, ReLU, dropout,
  1x1 conv to 4096, ReLU, dropout). For every other backbone the stride-32 tap goes
  straight to the score layer through dropout only (``nn.Dropout``, no parameters).
- ``score_fr``: 1x1 conv from the head to ``num_classes``.
- FCN-16s: ``upscore2`` (x2) of the coarse scores plus ``score_pool4``, a
  zero-initialised 1x1 conv on the stride-16 tap; FCN-8s then adds ``upscore_pool4``
  (x2) plus ``score_pool3`` on the stride-8 tap. The zero initialisation makes every
  variant start out as the coarser one.
- ``upscore``: the final upsampler, x32 / x16 / x8.

All upsamplers are :class:`deep.upsample.Upsample` (bilinear-initialised transposed
convolutions), trained unless ``learnable_upsampling=False``. ``score_fr`` keeps
PyTorch's default initialisation (the paper zero-initialises it on top of pretrained
features; with random backbones, zero scores would leave the backbone without gradient
for the first step, and a non-degenerate output makes the zero-skip property testable).

FCNs (the seed repository's variant)
------------------------------------
Five transposed convolutions (kernel 3, stride 2, padding 1, output padding 1: exactly
x2), each followed by ReLU and BatchNorm; after the first four, the stride-16, 8, 4 and 2
taps are added (through 1x1 projections where their channel count differs from the
decoder's). Then a 1x1 classifier. Decoder widths are 512, 256, 128, 64, 32, which for
VGG16 match its pool4..pool1 taps so no projection is needed (the seed's network).

Normalisation travels with the weights: every model carries ``mean`` and ``std``
buffers (RGB, for inputs in [0, 1]; ImageNet's by default) that are saved in and loaded
from its ``state_dict``; :meth:`SegmentationModel.normalize` applies them.

References
----------
.. [1] J. Long, E. Shelhamer and T. Darrell, "Fully Convolutional Networks for Semantic
       Segmentation", CVPR 2015. https://arxiv.org/abs/1411.4038

Examples
--------
>>> import torch
>>> model = fcn8s("resnet18", num_classes=11).eval()
>>> images = torch.rand(1, 3, 37, 45)             # RGB in [0, 1]
>>> model(model.normalize(images)).shape
torch.Size([1, 11, 37, 45])
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from classical._validate import check_file, check_int, check_real

from .backbones import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    STRIDES,
    Backbone,
    _weights_normalisation,
    torchvision_model,
)
from .upsample import Upsample

__all__ = [
    "FCN",
    "FCNs",
    "SegmentationModel",
    "VGGHead",
    "count_flops",
    "count_parameters",
    "fcn4s",
    "fcn8s",
    "fcn16s",
    "fcn32s",
    "fcns",
]

_VARIANTS = (32, 16, 8, 4)
_VGG = ("vgg16", "vgg16_bn")


class SegmentationModel(nn.Module):
    """Base of segbench's deep models: input checks, normalisation buffers.

    Subclasses map a normalised (N, 3, H, W) float batch to (N, num_classes, H, W)
    logits.

    Parameters
    ----------
    num_classes : int
        Number of output classes (>= 1).
    mean, std : sequence of 3 floats
        RGB normalisation of the weights for inputs in [0, 1]; stored as buffers.

    Attributes
    ----------
    num_classes : int
    mean, std : Tensor, shape (3,)
        Buffers: saved with the ``state_dict`` and restored with it.
    """

    def __init__(self, num_classes: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> None:
        super().__init__()
        self.num_classes = check_int(num_classes, "num_classes", minimum=1)
        self.register_buffer("mean", _rgb(mean, "mean"))
        self.register_buffer("std", _rgb(std, "std"))
        if bool((self.std <= 0).any()):
            raise ValueError(f"std must be positive; got {tuple(self.std.tolist())}.")

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Normalise an RGB batch in [0, 1] with this model's ``mean`` and ``std``.

        Parameters
        ----------
        images : Tensor, shape (N, 3, H, W)
            Floating point RGB in [0, 1].

        Returns
        -------
        x : Tensor, shape (N, 3, H, W)
            ``(images - mean) / std``, the input the model expects.
        """
        _check_batch(images, "images")
        return (images - self.mean[:, None, None]) / self.std[:, None, None]


def _rgb(values, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float32).flatten()
    if tensor.numel() != 3:
        raise ValueError(f"{name} must have 3 values (R, G, B); got {tuple(tensor.tolist())}.")
    return tensor


def _check_batch(x, name: str = "x") -> None:
    """Raise unless `x` is a floating (N, 3, H, W) tensor with H, W >= 1."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}.")
    shape = tuple(x.shape)
    if x.ndim != 4 or shape[1] != 3:
        hint = ""
        if x.ndim == 3 and shape[0] == 3:
            hint = f" For a single image, add a batch dimension: {name}.unsqueeze(0)."
        elif x.ndim == 4 and shape[-1] == 3:
            hint = f" If channels come last, pass {name}.permute(0, 3, 1, 2)."
        elif x.ndim == 4 and shape[1] == 1:
            hint = f" For grey images, repeat the channel: {name}.expand(-1, 3, -1, -1)."
        elif x.ndim == 4 and shape[1] == 4:
            hint = f" For RGBA, drop the alpha channel: {name}[:, :3]."
        raise ValueError(f"{name} must have shape (N, 3, H, W); got {shape}.{hint}")
    if 0 in shape:
        raise ValueError(f"{name} is empty: shape {shape}; it needs N, H, W >= 1.")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating point tensor; got dtype {x.dtype}. Convert 8-bit "
            f"images with {name}.float() / 255 and normalise them."
        )


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad the bottom and right of (N, C, H, W) up to multiples of `multiple`."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


class VGGHead(nn.Sequential):
    """VGG's fc6 and fc7, convolutionalised: the FCN head on VGG's pool5.

    ``fc6`` is a 7x7 convolution (padding 3, so the spatial size is kept) and ``fc7`` a
    1x1 convolution, each followed by ReLU and dropout, as the paper's FCN-VGG16.
    Random initialisation follows torchvision's VGG classifier (normal with std 0.01,
    zero bias); :meth:`load_torchvision_classifier` copies pretrained fc6/fc7 in.

    Parameters
    ----------
    in_channels : int, optional
        Channels of pool5 (512 for VGG16).
    hidden_channels : int, optional
        Width of fc6 and fc7 (4096 in VGG16).
    dropout : float, optional
        Dropout probability after fc6 and after fc7, in [0, 1).
    """

    def __init__(self, in_channels: int = 512, hidden_channels: int = 4096,
                 dropout: float = 0.5) -> None:
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        hidden_channels = check_int(hidden_channels, "hidden_channels", minimum=1)
        # skip_init: the default Kaiming-uniform fill of fc6's 100M weights costs ~2 s
        # and would be overwritten just below.
        fc6 = nn.utils.skip_init(nn.Conv2d, in_channels, hidden_channels, 7, padding=3)
        fc7 = nn.utils.skip_init(nn.Conv2d, hidden_channels, hidden_channels, 1)
        for conv in (fc6, fc7):
            nn.init.normal_(conv.weight, 0.0, 0.01)
            nn.init.zeros_(conv.bias)
        super().__init__()
        self.add_module("fc6", fc6)
        self.add_module("relu6", nn.ReLU(inplace=True))
        self.add_module("drop6", nn.Dropout(dropout))
        self.add_module("fc7", fc7)
        self.add_module("relu7", nn.ReLU(inplace=True))
        self.add_module("drop7", nn.Dropout(dropout))
        self.out_channels = hidden_channels

    def load_torchvision_classifier(self, classifier: nn.Sequential) -> None:
        """Copy fc6/fc7 from torchvision's VGG ``classifier`` (Linear layers 0 and 3).

        Parameters
        ----------
        classifier : nn.Sequential
            ``torchvision.models.vgg16(weights=...).classifier``.
        """
        fc6, fc7 = classifier[0], classifier[3]
        with torch.no_grad():
            self.fc6.weight.copy_(fc6.weight.view_as(self.fc6.weight))
            self.fc6.bias.copy_(fc6.bias)
            self.fc7.weight.copy_(fc7.weight.view_as(self.fc7.weight))
            self.fc7.bias.copy_(fc7.bias)


def _zero_conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def _require_strides(backbone: Backbone, needed: tuple[int, ...], what: str) -> None:
    if not isinstance(backbone, Backbone):
        raise TypeError(
            f"backbone must be a deep.backbones.Backbone; got {type(backbone).__name__}."
        )
    missing = [s for s in needed if s not in backbone.out_channels]
    if missing:
        raise ValueError(
            f"{what} needs backbone taps at strides {needed}; backbone {backbone.name!r} "
            f"exposes {tuple(backbone.out_channels)} (missing {tuple(missing)}). Build it "
            f"with Backbone({backbone.name!r}, strides={needed})."
        )


class FCN(SegmentationModel):
    """FCN-32s, FCN-16s or FCN-8s on a :class:`~deep.backbones.Backbone`.

    Parameters
    ----------
    backbone : Backbone
        Must expose the stride-32 tap, plus 16 for FCN-16s, 16 and 8 for FCN-8s and 16,
        8 and 4 for FCN-4s.
    num_classes : int
        Output classes (>= 1).
    variant : {32, 16, 8, 4}, optional
        The paper's FCN-32s, FCN-16s or FCN-8s (default 8), or FCN-4s, which continues
        the paper's pattern one step further with a skip from the stride-4 tap (pool2)
        for thin structures: the stride of the finest skip, hence the factor of the
        final upsampler.
    head : nn.Module, optional
        Applied to the stride-32 tap before ``score_fr`` (default: ``nn.Identity()``).
    head_channels : int, optional
        Output channels of `head`; required when `head` is given.
    learnable_upsampling : bool, optional
        Whether the bilinear-initialised upsamplers are trained (default) or frozen.
    mean, std : sequence of 3 floats, optional
        Input normalisation; default: the backbone's.

    Attributes
    ----------
    backbone, head : nn.Module
    score_fr : nn.Conv2d
        1x1, head channels -> num_classes.
    score_pool4, score_pool3, score_pool2 : nn.Conv2d or None
        Zero-initialised 1x1 score layers on the stride-16 / 8 / 4 taps.
    upscore2, upscore_pool4, upscore_pool3 : Upsample or None
        x2 upsamplers before adding ``score_pool4`` / ``score_pool3`` / ``score_pool2``.
    upscore : Upsample
        Final upsampler, x`variant`.

    Raises
    ------
    TypeError, ValueError
        On a wrong backbone type, missing taps (the message says how to build a
        backbone with them), or a bad `variant` / `num_classes`.
    """

    def __init__(self, backbone: Backbone, num_classes: int, *, variant: int = 8,
                 head: nn.Module | None = None, head_channels: int | None = None,
                 learnable_upsampling: bool = True, mean=None, std=None) -> None:
        if isinstance(variant, bool) or not isinstance(variant, int) or variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}; got {variant!r}.")
        skips = tuple(s for s in (16, 8, 4) if s >= variant)
        _require_strides(backbone, (*reversed(skips), 32), f"FCN-{variant}s")
        super().__init__(num_classes,
                         backbone.mean if mean is None else mean,
                         backbone.std if std is None else std)
        if head is None:
            if head_channels is not None:
                raise ValueError("head_channels is only meaningful with a head; got head=None.")
            head, head_channels = nn.Identity(), backbone.out_channels[32]
        elif head_channels is None:
            raise ValueError("head_channels must give the output channels of head; got None.")
        head_channels = check_int(head_channels, "head_channels", minimum=1)
        self.variant = variant
        self.backbone = backbone
        self.head = head
        self.score_fr = nn.Conv2d(head_channels, num_classes, kernel_size=1)
        self.score_pool4 = self.upscore2 = self.score_pool3 = self.upscore_pool4 = None
        self.score_pool2 = self.upscore_pool3 = None
        if 16 in skips:
            self.upscore2 = Upsample(num_classes, 2, learnable_upsampling)
            self.score_pool4 = _zero_conv1x1(backbone.out_channels[16], num_classes)
        if 8 in skips:
            self.upscore_pool4 = Upsample(num_classes, 2, learnable_upsampling)
            self.score_pool3 = _zero_conv1x1(backbone.out_channels[8], num_classes)
        if 4 in skips:
            self.upscore_pool3 = Upsample(num_classes, 2, learnable_upsampling)
            self.score_pool2 = _zero_conv1x1(backbone.out_channels[4], num_classes)
        self.upscore = Upsample(num_classes, variant, learnable_upsampling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a normalised batch.

        Parameters
        ----------
        x : Tensor, shape (N, 3, H, W)
            Normalised images (see :meth:`normalize`), any H, W >= 1.

        Returns
        -------
        logits : Tensor, shape (N, num_classes, H, W)

        Raises
        ------
        TypeError
            If `x` is not a floating point tensor.
        ValueError
            If `x` does not have shape (N, 3, H, W).
        """
        _check_batch(x)
        height, width = x.shape[-2:]
        features = self.backbone(_pad_to_multiple(x, self.backbone.output_stride))
        score = self.score_fr(self.head(features[32]))
        if self.score_pool4 is not None:
            score = self.upscore2(score) + self.score_pool4(features[16])
        if self.score_pool3 is not None:
            score = self.upscore_pool4(score) + self.score_pool3(features[8])
        if self.score_pool2 is not None:
            score = self.upscore_pool3(score) + self.score_pool2(features[4])
        return self.upscore(score)[..., :height, :width]


class FCNs(SegmentationModel):
    """The seed's FCNs: a five-step transposed-convolution decoder with skip additions.

    Parameters
    ----------
    backbone : Backbone
        Must expose taps at all of strides 2, 4, 8, 16 and 32.
    num_classes : int
        Output classes (>= 1).
    decoder_channels : sequence of 5 ints, optional
        Output widths of the five x2 transposed convolutions (default 512, 256, 128, 64,
        32, the seed's). A tap whose channel count differs from the decoder width at its
        stride is added through a 1x1 projection (``project["16"]`` etc.; identity
        otherwise).
    mean, std : sequence of 3 floats, optional
        Input normalisation; default: the backbone's.

    Attributes
    ----------
    backbone : Backbone
    decoder : nn.ModuleList of 5 nn.Sequential
        (ConvTranspose2d(kernel 3, stride 2, padding 1, output_padding 1), ReLU,
        BatchNorm2d), each exactly doubling the size.
    project : nn.ModuleDict
        Keyed by stride ("16", "8", "4", "2"): 1x1 conv or identity.
    classifier : nn.Conv2d
        1x1, last decoder width -> num_classes.
    """

    def __init__(self, backbone: Backbone, num_classes: int, *,
                 decoder_channels=(512, 256, 128, 64, 32), mean=None, std=None) -> None:
        _require_strides(backbone, STRIDES, "FCNs")
        super().__init__(num_classes,
                         backbone.mean if mean is None else mean,
                         backbone.std if std is None else std)
        widths = tuple(decoder_channels)
        if len(widths) != 5:
            raise ValueError(f"decoder_channels must have 5 values; got {widths}.")
        widths = tuple(check_int(c, "decoder_channels", minimum=1) for c in widths)
        self.backbone = backbone
        self.decoder = nn.ModuleList()
        self.project = nn.ModuleDict()
        in_channels = backbone.out_channels[32]
        for out_channels, stride in zip(widths, (16, 8, 4, 2, 1)):
            self.decoder.append(nn.Sequential(
                nn.ConvTranspose2d(in_channels, out_channels, kernel_size=3, stride=2,
                                   padding=1, output_padding=1),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(out_channels),
            ))
            if stride > 1:
                tap = backbone.out_channels[stride]
                self.project[str(stride)] = (nn.Identity() if tap == out_channels
                                             else nn.Conv2d(tap, out_channels, kernel_size=1))
            in_channels = out_channels
        self.classifier = nn.Conv2d(in_channels, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a normalised batch: (N, 3, H, W) -> (N, num_classes, H, W).

        See :meth:`FCN.forward` for the parameters and errors.
        """
        _check_batch(x)
        height, width = x.shape[-2:]
        features = self.backbone(_pad_to_multiple(x, self.backbone.output_stride))
        y = features[32]
        for stage, stride in zip(self.decoder, (16, 8, 4, 2, 1)):
            y = stage(y)
            if stride > 1:
                y = y + self.project[str(stride)](features[stride])
        return self.classifier(y)[..., :height, :width]


# ----------------------------------------------------------------------------- builders


def _check_weights(weights):
    """Classify `weights`: None, a checkpoint path (str) or a torchvision weights enum."""
    if weights is None or isinstance(weights, tvm.WeightsEnum):
        return weights
    if isinstance(weights, (str, os.PathLike)):
        return check_file(weights, "weights")
    raise TypeError(
        "weights must be None, a path to a local checkpoint, or a torchvision weights "
        f"enum for the backbone; got {type(weights).__name__}."
    )


def _load_checkpoint(model: nn.Module, path: str) -> None:
    """Load a state_dict (bare, or under "state_dict") from `path` into `model`."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise TypeError(
            f"weights file {path!r} must hold a state_dict or a dict with a 'state_dict' "
            f"entry; got {type(state).__name__}."
        )
    model.load_state_dict(state)


def _make_backbone(name: str, weights, strides: tuple[int, ...]):
    """(Backbone, torchvision network or None): the network when weights are an enum."""
    if isinstance(weights, tvm.WeightsEnum):
        network = torchvision_model(name, weights=weights)
        backbone = Backbone(name, strides=strides, model=network)
        backbone.mean, backbone.std = _weights_normalisation(weights)
        return backbone, network
    return Backbone(name, strides=strides), None


def _build_fcn(variant: int, backbone: str, num_classes: int, weights,
               learnable_upsampling: bool, dropout: float) -> FCN:
    weights = _check_weights(weights)
    dropout = check_real(dropout, "dropout", minimum=0.0, maximum=1.0)
    enum = weights if isinstance(weights, tvm.WeightsEnum) else None
    strides = tuple(s for s in (4, 8, 16, 32) if s >= variant)
    body, network = _make_backbone(backbone, enum, strides)
    if backbone in _VGG:
        head = VGGHead(body.out_channels[32], 4096, dropout)
        if network is not None:
            head.load_torchvision_classifier(network.classifier)
        head_channels = head.out_channels
    else:
        head, head_channels = nn.Dropout(dropout), body.out_channels[32]
    model = FCN(body, num_classes, variant=variant, head=head, head_channels=head_channels,
                learnable_upsampling=learnable_upsampling)
    if isinstance(weights, str):
        _load_checkpoint(model, weights)
    return model


_BUILDER_DOC = """{title} on a torchvision backbone: (N, 3, H, W) -> (N, num_classes, H, W) logits.

    {summary}

    Parameters
    ----------
    backbone : str, optional
        One of :data:`deep.backbones.BACKBONES` (default ``"vgg16"``, the paper's).
    num_classes : int, optional
        Output classes (default 21, PASCAL VOC's).
    weights : None, str, path or torchvision WeightsEnum, optional
        ``None`` (default): random weights, nothing is downloaded. A path: a local
        checkpoint of this model (a ``state_dict`` or a dict with a ``"state_dict"``
        entry), loaded with ``torch.load(weights_only=True)``, normalisation buffers
        included. A torchvision weights enum for the *backbone* (e.g.
        ``torchvision.models.VGG16_Weights.IMAGENET1K_V1``), for users whose torch hub
        cache holds it; for VGG it also fills fc6/fc7 from the pretrained classifier, and
        the model's ``mean``/``std`` come from the enum's transforms.
    learnable_upsampling : bool, optional
        Train the bilinear-initialised upsamplers (default) or keep them fixed.
    dropout : float, optional
        Dropout probability after fc6 and fc7 for VGG backbones, and before
        ``score_fr`` for the others (default 0.5, the paper's).

    Returns
    -------
    model : FCN

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        On an unknown backbone (with the closest name), a bad `num_classes` or
        `dropout`, or a missing or mismatched checkpoint.

    Examples
    --------
    >>> model = {name}("resnet18", num_classes=11)
    >>> model.eval()(torch.zeros(1, 3, 37, 45)).shape
    torch.Size([1, 11, 37, 45])
    """


def fcn32s(backbone: str = "vgg16", num_classes: int = 21, *, weights=None,
           learnable_upsampling: bool = True, dropout: float = 0.5) -> FCN:
    return _build_fcn(32, backbone, num_classes, weights, learnable_upsampling, dropout)


def fcn16s(backbone: str = "vgg16", num_classes: int = 21, *, weights=None,
           learnable_upsampling: bool = True, dropout: float = 0.5) -> FCN:
    return _build_fcn(16, backbone, num_classes, weights, learnable_upsampling, dropout)


def fcn8s(backbone: str = "vgg16", num_classes: int = 21, *, weights=None,
          learnable_upsampling: bool = True, dropout: float = 0.5) -> FCN:
    return _build_fcn(8, backbone, num_classes, weights, learnable_upsampling, dropout)


def fcn4s(backbone: str = "vgg16", num_classes: int = 21, *, weights=None,
          learnable_upsampling: bool = True, dropout: float = 0.5) -> FCN:
    return _build_fcn(4, backbone, num_classes, weights, learnable_upsampling, dropout)


fcn32s.__doc__ = _BUILDER_DOC.format(
    title="FCN-32s", name="fcn32s",
    summary="Scores from the stride-32 features, upsampled x32 in one step.")
fcn16s.__doc__ = _BUILDER_DOC.format(
    title="FCN-16s", name="fcn16s",
    summary="FCN-32s plus zero-initialised ``score_pool4`` scores from the stride-16 "
            "tap, added to the x2-upsampled coarse scores; final x16 upsampling.")
fcn8s.__doc__ = _BUILDER_DOC.format(
    title="FCN-8s", name="fcn8s",
    summary="FCN-16s plus zero-initialised ``score_pool3`` scores from the stride-8 "
            "tap, added after another x2 upsampling; final x8 upsampling.")
fcn4s.__doc__ = _BUILDER_DOC.format(
    title="FCN-4s", name="fcn4s",
    summary="FCN-8s plus zero-initialised ``score_pool2`` scores from the stride-4 "
            "tap, added after a third x2\n    upsampling; final x4 upsampling. The paper "
            "stops at FCN-8s (diminishing returns on PASCAL);\n    the finer skip is for "
            "thin classes such as CamVid's poles and signs.")


def fcns(backbone: str = "vgg16", num_classes: int = 21, *, weights=None) -> FCNs:
    """The seed's FCNs: a transposed-convolution decoder over taps at strides 2 to 32.

    See :class:`FCNs`. Every backbone in :data:`deep.backbones.BACKBONES` exposes the
    five taps; a custom :class:`~deep.backbones.Backbone` without them is refused by
    :class:`FCNs` with a message saying how to build one.

    Parameters
    ----------
    backbone : str, optional
        One of :data:`deep.backbones.BACKBONES` (default ``"vgg16"``, the seed's).
    num_classes : int, optional
        Output classes (default 21).
    weights : None, str, path or torchvision WeightsEnum, optional
        As for :func:`fcn8s` (VGG's fc6/fc7 are not used by FCNs).

    Returns
    -------
    model : FCNs
    """
    weights = _check_weights(weights)
    enum = weights if isinstance(weights, tvm.WeightsEnum) else None
    body, _ = _make_backbone(backbone, enum, STRIDES)
    model = FCNs(body, num_classes)
    if isinstance(weights, str):
        _load_checkpoint(model, weights)
    return model


# ----------------------------------------------------------------------------- costs


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (counting shared tensors once).

    Parameters
    ----------
    model : nn.Module
    trainable_only : bool, optional
        Count only parameters with ``requires_grad`` (frozen upsamplers excluded).

    Returns
    -------
    count : int
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    return sum(p.numel() for p in model.parameters()
               if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, input_size=(1, 3, 360, 480)) -> int:
    """Floating point operations of one forward pass, by ``FlopCounterMode``.

    A multiply-add counts as 2 FLOPs (PyTorch's convention). Only matrix
    multiplications and convolutions (transposed included) are counted; pointwise ops,
    normalisation and pooling are not. The model runs once in eval mode under
    ``torch.no_grad`` on zeros, and its training mode is restored afterwards.

    Parameters
    ----------
    model : nn.Module
    input_size : tuple of 4 ints, optional
        (N, C, H, W) of the dummy input (default (1, 3, 360, 480), CamVid's size).

    Returns
    -------
    flops : int
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    size = tuple(input_size)
    if len(size) != 4:
        raise ValueError(f"input_size must be (N, C, H, W); got {size}.")
    size = tuple(check_int(s, "input_size", minimum=1) for s in size)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else None
    dtype = parameter.dtype if parameter is not None else torch.float32
    x = torch.zeros(size, device=device, dtype=dtype)
    training = model.training
    counter = FlopCounterMode(display=False)
    try:
        model.eval()
        with torch.no_grad(), counter:
            model(x)
    finally:
        model.train(training)
    return int(counter.get_total_flops())
