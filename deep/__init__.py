"""Fully convolutional networks (FCN-32s/16s/8s and a stride-4 FCN-4s) on backbones.

Needs the ``deep`` extra: ``pip install 'segbench[deep]'`` (torch, torchvision).
"""

try:
    import torch  # noqa: F401
    import torchvision  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "segbench's deep package needs torch and torchvision: pip install 'segbench[deep]'."
    ) from exc

from deep.backbones import BACKBONES, Backbone
from deep.checkpoints import load_checkpoint, load_model, save_checkpoint
from deep.fcn import FCN, FCNs, count_flops, count_parameters, fcn4s, fcn8s, fcn16s, fcn32s, fcns
from deep.infer import predict, predict_folder
from deep.losses import lovasz_softmax
from deep.registry import build_model, list_models
from deep.train import TrainConfig, evaluate, fit, train_one_epoch
from deep.upsample import Upsample, bilinear_kernel

__all__ = [
    "BACKBONES",
    "TrainConfig",
    "evaluate",
    "fit",
    "load_checkpoint",
    "load_model",
    "lovasz_softmax",
    "predict",
    "predict_folder",
    "save_checkpoint",
    "train_one_epoch",
    "FCN",
    "FCNs",
    "Backbone",
    "Upsample",
    "bilinear_kernel",
    "build_model",
    "count_flops",
    "count_parameters",
    "fcn4s",
    "fcn8s",
    "fcn16s",
    "fcn32s",
    "fcns",
    "list_models",
]
