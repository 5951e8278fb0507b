"""Every deep model of the suite by name: ``build_model(name, num_classes, **options)``.

Names
-----
- ``<builder>_<backbone>`` for the builders of :mod:`deep.fcn` (``fcn32s``, ``fcn16s``,
  ``fcn8s``, ``fcn4s``, ``fcns``) and every backbone of :data:`deep.backbones.BACKBONES`, e.g.
  ``fcn32s_vgg16``, ``fcn8s_resnet18``, ``fcn8s_mobilenet_v3_large``, ``fcns_vgg16``.
  Options are the builder's keyword arguments (``weights``, ``learnable_upsampling``,
  ``dropout``; ``fcns`` takes ``weights`` only).
- torchvision's reference models, built with ``weights=None, weights_backbone=None`` (so
  nothing is downloaded) and wrapped by :class:`TorchvisionSegmentation` to return the
  plain ``"out"`` logits tensor: ``tv_fcn_resnet50``, ``tv_deeplabv3_resnet50``,
  ``tv_deeplabv3_mobilenet_v3_large``, ``tv_lraspp_mobilenet_v3_large``. Their only
  option is ``weights``: a path to a local checkpoint of the wrapped model.

Examples
--------
>>> model = build_model("fcn8s_resnet18", num_classes=11)
>>> "tv_deeplabv3_resnet50" in list_models()
True
"""

from __future__ import annotations

import difflib
import inspect
from functools import partial
from typing import Callable

import torch
import torchvision.models.segmentation as tvseg
from torch import nn

from classical._validate import check_int

from .backbones import BACKBONES, IMAGENET_MEAN, IMAGENET_STD
from .fcn import SegmentationModel, _check_batch, _check_weights, _load_checkpoint
from .fcn import fcn4s, fcn8s, fcn16s, fcn32s, fcns

__all__ = ["TorchvisionSegmentation", "build_model", "list_models"]


class TorchvisionSegmentation(SegmentationModel):
    """A torchvision segmentation model that returns its ``"out"`` logits as a tensor.

    torchvision's segmentation models return ``{"out": logits[, "aux": ...]}`` and
    already produce the input size (they upsample bilinearly at the end).

    Parameters
    ----------
    model : nn.Module
        E.g. ``torchvision.models.segmentation.fcn_resnet50(weights=None,
        weights_backbone=None, num_classes=11)``.
    num_classes : int
        Its number of classes.
    mean, std : sequence of 3 floats, optional
        Input normalisation (ImageNet's by default, that of torchvision's weights).

    Attributes
    ----------
    model : nn.Module
        The wrapped torchvision model.
    """

    def __init__(self, model: nn.Module, num_classes: int, *, mean=IMAGENET_MEAN,
                 std=IMAGENET_STD) -> None:
        super().__init__(num_classes, mean, std)
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, num_classes, H, W) logits."""
        _check_batch(x)
        return self.model(x)["out"]


def _torchvision(builder: Callable[..., nn.Module], num_classes: int, *,
                 weights=None) -> TorchvisionSegmentation:
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    weights = _check_weights(weights)
    if weights is not None and not isinstance(weights, str):
        raise TypeError(
            "weights of a tv_ model must be None or a path to a local checkpoint of the "
            f"wrapped model; got {type(weights).__name__}."
        )
    network = builder(weights=None, weights_backbone=None, num_classes=num_classes)
    model = TorchvisionSegmentation(network, num_classes)
    if weights is not None:
        _load_checkpoint(model, weights)
    return model


def _registry() -> dict[str, Callable[..., nn.Module]]:
    table: dict[str, Callable[..., nn.Module]] = {}
    for builder in (fcn32s, fcn16s, fcn8s, fcn4s, fcns):
        for backbone in BACKBONES:
            table[f"{builder.__name__}_{backbone}"] = partial(builder, backbone)
    for builder in (tvseg.fcn_resnet50, tvseg.deeplabv3_resnet50,
                    tvseg.deeplabv3_mobilenet_v3_large, tvseg.lraspp_mobilenet_v3_large):
        table[f"tv_{builder.__name__}"] = partial(_torchvision, builder)
    return table


_MODELS = _registry()


def list_models() -> list[str]:
    """Names accepted by :func:`build_model`, sorted.

    Returns
    -------
    names : list of str
    """
    return sorted(_MODELS)


def build_model(name: str, num_classes: int, **options) -> nn.Module:
    """Build a model by name: (N, 3, H, W) normalised images -> (N, num_classes, H, W).

    Parameters
    ----------
    name : str
        One of :func:`list_models`, e.g. ``"fcn8s_resnet18"`` or ``"tv_deeplabv3_resnet50"``.
    num_classes : int
        Output classes (>= 1).
    **options
        Keyword arguments of the underlying builder (see the module docstring), e.g.
        ``weights="runs/camvid/best.pt"`` or ``learnable_upsampling=False``.

    Returns
    -------
    model : SegmentationModel
        Returns a logits tensor of the input size; carries ``mean``/``std`` buffers and
        ``num_classes``.

    Raises
    ------
    TypeError
        If `name` is not a string or an option is not accepted by this model.
    ValueError
        If `name` is unknown (the message lists the valid names and the closest match).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {name!r} ({type(name).__name__}).")
    if name not in _MODELS:
        close = difflib.get_close_matches(name, _MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"name must be a known model; got {name!r}.{hint} Valid names: "
            f"{', '.join(list_models())}."
        )
    builder = _MODELS[name]
    accepted = [p for p in inspect.signature(builder).parameters
                if p not in ("backbone", "num_classes", "builder")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"model {name!r} does not accept option(s) {', '.join(unknown)}; it accepts "
            f"{', '.join(accepted) or 'none'}."
        )
    return builder(num_classes=num_classes, **options)
