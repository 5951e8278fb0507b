"""Tests for deep.backbones: the tap table, strides and input errors."""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm

from deep.backbones import (
    BACKBONES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    STRIDES,
    Backbone,
    _weights_normalisation,
)

# The module docstring's tap table: channels at strides 2, 4, 8, 16, 32.
TAP_CHANNELS = {
    "vgg16": (64, 128, 256, 512, 512),
    "vgg16_bn": (64, 128, 256, 512, 512),
    "resnet18": (64, 64, 128, 256, 512),
    "resnet34": (64, 64, 128, 256, 512),
    "resnet50": (64, 256, 512, 1024, 2048),
    "resnet101": (64, 256, 512, 1024, 2048),
    "densenet121": (64, 256, 512, 1024, 1024),
    "mobilenet_v2": (16, 24, 32, 96, 1280),
    "mobilenet_v3_large": (16, 24, 40, 112, 960),
    "mobilenet_v3_small": (16, 16, 24, 48, 576),
}

def test_every_backbone_is_documented():
    assert set(BACKBONES) == set(TAP_CHANNELS)


@pytest.mark.parametrize("name", BACKBONES)
def test_taps_have_documented_strides_and_channels(name):
    backbone = Backbone(name).eval()
    assert backbone.output_stride == 32
    assert backbone.strides == STRIDES
    assert backbone.out_channels == dict(zip(STRIDES, TAP_CHANNELS[name]))
    x = torch.randn(1, 3, 64, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = backbone(x)
    assert list(features) == list(STRIDES)      # ordered by decreasing resolution
    for stride, tensor in features.items():
        assert tensor.shape == (1, backbone.out_channels[stride], 64 // stride, 32 // stride)
    assert (backbone.mean, backbone.std) == (IMAGENET_MEAN, IMAGENET_STD)
    if name == "densenet121":   # rectified, as torchvision's DenseNet.forward does
        assert features[32].min() >= 0


def test_tap_names_follow_the_paper_for_vgg_and_torchvision_layers_elsewhere():
    assert Backbone("vgg16").taps == {2: "features.4", 4: "features.9", 8: "features.16",
                                      16: "features.23", 32: "features.30"}
    assert Backbone("resnet50", strides=(8, 16, 32)).taps == {
        8: "layer2", 16: "layer3", 32: "layer4"}
    assert Backbone("densenet121", strides=(32,)).taps == {32: "features.relu5"}


def test_vgg_features_use_torchvision_initialisation():
    conv = Backbone("vgg16", strides=(2,)).body["0"]
    assert not conv.bias.any()
    # Kaiming normal, fan-out, ReLU gain: std = sqrt(2 / (64 * 3 * 3)).
    std = conv.weight.std().item()
    assert 0.7 * (2 / 576) ** 0.5 < std < 1.3 * (2 / 576) ** 0.5


def test_subset_of_strides_returns_only_those_and_drops_later_layers():
    backbone = Backbone("resnet18", strides=[16, 8])
    assert backbone.strides == (8, 16)
    assert "layer4" not in backbone.body and "fc" not in backbone.body
    features = backbone(torch.zeros(2, 3, 32, 64))
    assert list(features) == [8, 16]
    assert features[16].shape == (2, 256, 2, 4)


def test_normalisation_comes_from_the_weights_enum():
    # transforms() only describes the preprocessing; nothing is downloaded.
    weights = tvm.MobileNet_V3_Small_Weights.IMAGENET1K_V1
    assert _weights_normalisation(weights) == (IMAGENET_MEAN, IMAGENET_STD)
    assert _weights_normalisation(None) == (IMAGENET_MEAN, IMAGENET_STD)


def test_user_model_is_cut_and_checked():
    network = tvm.resnet18(weights=None)
    backbone = Backbone("resnet18", model=network, strides=(32,))
    assert backbone.body["layer4"] is network.layer4
    with pytest.raises(ValueError, match=r"tap layer4 has 512 channels, expected 2048"):
        Backbone("resnet50", model=network, strides=(32,))
    with pytest.raises(TypeError, match=r"model must be a torchvision VGG"):
        Backbone("vgg16", model=network)
    with pytest.raises(ValueError, match=r"either weights or model"):
        Backbone("resnet18", model=network, weights=tvm.ResNet18_Weights.IMAGENET1K_V1)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"name": "resnet81"}, ValueError, r"backbone must be one of .*; got 'resnet81'\. "
                                       r"Did you mean 'resnet18'\?"),
    ({"name": 18}, TypeError, r"backbone must be a string; got 18"),
    ({"name": "resnet18", "strides": (8, 12)}, ValueError,
     r"strides must be a non-empty subset of \(2, 4, 8, 16, 32\); got \(8, 12\)"),
    ({"name": "resnet18", "strides": ()}, ValueError, r"strides must be a non-empty subset"),
    ({"name": "resnet18", "strides": 8}, TypeError, r"strides must be a sequence"),
    ({"name": "resnet18", "weights": "IMAGENET1K_V1"}, TypeError,
     r"weights must be a torchvision weights enum .* or None; got 'IMAGENET1K_V1'"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Backbone(**kwargs)
