"""Tests for deep.fcn and deep.registry: shapes, FCN-32/16/8s semantics, weights, costs."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
import torchvision.models as tvm

from deep.backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone
from deep.fcn import (
    FCN,
    FCNs,
    VGGHead,
    count_flops,
    count_parameters,
    fcn4s,
    fcn8s,
    fcn16s,
    fcn32s,
    fcns,
)
from deep.registry import build_model, list_models
from deep.upsample import Upsample

FCN_BUILDERS = {"fcn32s": fcn32s, "fcn16s": fcn16s, "fcn8s": fcn8s, "fcn4s": fcn4s}
FCN_BACKBONES = ["vgg16", "resnet18", "densenet121", "mobilenet_v2", "mobilenet_v3_large",
                 "mobilenet_v3_small"]
# Odd sizes: one needing padding on both axes, one smaller than the output stride.
SIZES = [(1, 37, 45), (2, 7, 9)]
NUM_CLASSES = 5


def _inputs(n, height, width, seed=0):
    return torch.randn(n, 3, height, width, generator=torch.Generator().manual_seed(seed))


@functools.lru_cache(maxsize=None)
def _cached_model(name):
    return build_model(name, NUM_CLASSES)


def _check_logits(model, num_classes=NUM_CLASSES):
    model.eval()
    for n, height, width in SIZES:
        with torch.no_grad():
            logits = model(_inputs(n, height, width))
        assert isinstance(logits, torch.Tensor)
        assert logits.shape == (n, num_classes, height, width)
        assert torch.isfinite(logits).all()


@pytest.mark.parametrize("backbone", FCN_BACKBONES)
@pytest.mark.parametrize("variant", [32, 16, 8, 4])
def test_fcn_returns_logits_of_the_input_size(variant, backbone):
    model = FCN_BUILDERS[f"fcn{variant}s"](backbone, NUM_CLASSES)
    assert isinstance(model, FCN) and model.variant == variant
    assert model.upscore.factor == variant
    assert (model.score_pool4 is not None) == (variant <= 16)
    assert (model.score_pool3 is not None) == (variant <= 8)
    assert (model.score_pool2 is not None) == (variant == 4)
    if backbone == "vgg16":     # fc6/fc7 convolutionalised, size-preserving
        head = model.head
        assert (head.fc6.in_channels, head.fc6.out_channels) == (512, 4096)
        assert (head.fc6.kernel_size, head.fc6.padding) == ((7, 7), (3, 3))
        assert (head.fc7.kernel_size, head.fc7.out_channels) == ((1, 1), 4096)
        assert head.drop6.p == head.drop7.p == 0.5
    else:                       # the stride-32 tap goes straight to score_fr
        assert isinstance(model.head, torch.nn.Dropout)
    _check_logits(model)


@pytest.mark.parametrize("backbone", ["vgg16", "resnet18"])
def test_fcns_returns_logits_of_the_input_size(backbone):
    model = fcns(backbone, NUM_CLASSES)
    assert isinstance(model, FCNs)
    # VGG16's pool4..pool1 widths equal the decoder's: the seed's network, no projections.
    projections = [m for m in model.project.values() if isinstance(m, torch.nn.Conv2d)]
    assert len(projections) == (0 if backbone == "vgg16" else 3)
    _check_logits(model)


def test_vgg_head_loads_torchvision_classifier_as_convolutions():
    # A miniature VGG classifier (2 channels x 7 x 7 -> 3 -> 3): fc6 applied at the centre
    # of a 7x7 map must equal the Linear layer on the flattened map, and fc7 likewise.
    generator = torch.Generator().manual_seed(0)
    classifier = torch.nn.Sequential(torch.nn.Linear(2 * 7 * 7, 3), torch.nn.ReLU(),
                                     torch.nn.Dropout(), torch.nn.Linear(3, 3))
    head = VGGHead(in_channels=2, hidden_channels=3).eval()
    head.load_torchvision_classifier(classifier)
    x = torch.randn(1, 2, 7, 7, generator=generator)
    with torch.no_grad():
        expected = classifier.eval()(x.flatten(1)).relu()
        torch.testing.assert_close(head(x)[:, :, 3, 3], expected)


def _without_skips(model, x):
    """The same network with the skip score layers removed (upsamplers kept)."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (0, -width % 32, 0, -height % 32))
    features = model.backbone(padded)
    score = model.score_fr(model.head(features[32]))
    if model.upscore2 is not None:
        score = model.upscore2(score)
    if model.upscore_pool4 is not None:
        score = model.upscore_pool4(score)
    if model.upscore_pool3 is not None:
        score = model.upscore_pool3(score)
    return model.upscore(score)[..., :height, :width]


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_small"])
@pytest.mark.parametrize("builder", [fcn16s, fcn8s, fcn4s])
def test_zero_initialised_skips_contribute_nothing_at_first(builder, backbone):
    model = builder(backbone, NUM_CLASSES).eval()
    x = _inputs(1, 70, 50)
    with torch.no_grad():
        torch.testing.assert_close(model(x), _without_skips(model, x), rtol=0, atol=0)
        features = model.backbone(F.pad(x, (0, 14, 0, 26)))
        assert not model.score_pool4(features[16]).any()
        if model.score_pool3 is not None:
            assert not model.score_pool3(features[8]).any()
        if model.score_pool2 is not None:
            assert not model.score_pool2(features[4]).any()


@pytest.mark.parametrize("builder", [fcn16s, fcn8s, fcn4s])
def test_skip_score_layers_receive_gradients(builder):
    model = builder("mobilenet_v3_small", NUM_CLASSES).train()
    x = _inputs(2, 64, 64)
    target = torch.randint(NUM_CLASSES, (2, 64, 64), generator=torch.Generator().manual_seed(1))
    F.cross_entropy(model(x), target).backward()
    skips = [layer for layer in (model.score_pool4, model.score_pool3, model.score_pool2)
             if layer is not None]
    assert len(skips) == {fcn16s: 1, fcn8s: 2, fcn4s: 3}[builder]
    for layer in skips:
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
        assert layer.bias.grad.abs().sum() > 0
    assert model.upscore.weight.grad.abs().sum() > 0


def test_frozen_upsampling_is_not_trained():
    model = fcn8s("mobilenet_v3_small", NUM_CLASSES, learnable_upsampling=False)
    upsamplers = [m for m in model.modules() if isinstance(m, Upsample)]
    assert len(upsamplers) == 3
    assert not any(m.weight.requires_grad for m in upsamplers)
    frozen = sum(m.weight.numel() for m in upsamplers)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - frozen


def test_normalisation_travels_with_the_model():
    model = fcn32s("mobilenet_v3_small", NUM_CLASSES)
    torch.testing.assert_close(model.mean, torch.tensor(IMAGENET_MEAN))
    torch.testing.assert_close(model.std, torch.tensor(IMAGENET_STD))
    assert {"mean", "std"} <= set(model.state_dict())
    images = torch.full((1, 3, 2, 2), 0.5)
    expected = (0.5 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(model.normalize(images)[0, :, 0, 0], expected)


@pytest.mark.parametrize("wrap", [False, True])
def test_weights_path_loads_a_local_checkpoint(tmp_path, wrap):
    source = fcn8s("mobilenet_v3_small", NUM_CLASSES).eval()
    with torch.no_grad():
        source.mean.fill_(0.5)       # the checkpoint's normalisation comes along
    state = source.state_dict()
    path = tmp_path / "model.pt"
    torch.save({"state_dict": state, "classes": ["a"] * NUM_CLASSES} if wrap else state, path)
    loaded = fcn8s("mobilenet_v3_small", NUM_CLASSES, weights=path).eval()
    x = _inputs(1, 33, 31)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), source(x))
    torch.testing.assert_close(loaded.mean, torch.full((3,), 0.5))


def test_weights_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"weights '.*missing\.pt' does not exist"):
        fcn8s("resnet18", NUM_CLASSES, weights=tmp_path / "missing.pt")
    with pytest.raises(TypeError, match=r"weights must be None, a path .*; got int"):
        fcn8s("resnet18", NUM_CLASSES, weights=3)
    path = tmp_path / "list.pt"
    torch.save([1, 2], path)
    with pytest.raises(TypeError, match=r"must hold a state_dict .*; got list"):
        fcns("mobilenet_v3_small", NUM_CLASSES, weights=path)
    path = tmp_path / "other.pt"
    torch.save(fcn32s("mobilenet_v3_small", 3).state_dict(), path)
    with pytest.raises(RuntimeError, match=r"size mismatch"):
        fcn32s("mobilenet_v3_small", NUM_CLASSES, weights=path)


@pytest.mark.parametrize(("shape", "match"), [
    ((1, 4, 8, 8), r"x must have shape \(N, 3, H, W\); got \(1, 4, 8, 8\)\. For RGBA"),
    ((1, 1, 8, 8), r"got \(1, 1, 8, 8\)\. For grey images"),
    ((3, 8, 8), r"got \(3, 8, 8\)\. For a single image, add a batch dimension"),
    ((1, 8, 8, 3), r"got \(1, 8, 8, 3\)\. If channels come last"),
    ((0, 3, 8, 8), r"x is empty"),
])
@pytest.mark.parametrize("name", ["fcn8s_mobilenet_v3_small", "fcns_mobilenet_v3_small",
                                  "tv_lraspp_mobilenet_v3_large"])
def test_wrong_input_shape_is_refused(name, shape, match):
    model = _cached_model(name)
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(shape))


def test_integer_input_is_refused():
    model = fcn32s("mobilenet_v3_small", NUM_CLASSES)
    with pytest.raises(TypeError, match=r"must be a floating point tensor; got dtype torch\.uint8"):
        model(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor; got ndarray"):
        model(torch.zeros(1, 3, 8, 8).numpy())


def test_model_argument_errors():
    with pytest.raises(ValueError, match=r"backbone must be one of .* Did you mean 'resnet18'"):
        fcn8s("resnet-18", NUM_CLASSES)
    with pytest.raises(ValueError, match=r"num_classes must be >= 1; got 0"):
        fcn8s("mobilenet_v3_small", 0)
    with pytest.raises(ValueError, match=r"dropout must be <= 1; got 2"):
        fcn8s("mobilenet_v3_small", NUM_CLASSES, dropout=2.0)
    backbone = Backbone("mobilenet_v3_small", strides=(16, 32))
    with pytest.raises(ValueError, match=r"variant must be one of \(32, 16, 8, 4\); got 2"):
        FCN(backbone, NUM_CLASSES, variant=2)
    with pytest.raises(ValueError, match=r"FCN-8s needs backbone taps at strides \(8, 16, 32\); "
                                         r".* exposes \(16, 32\) \(missing \(8,\)\)"):
        FCN(backbone, NUM_CLASSES, variant=8)
    assert FCN(backbone, NUM_CLASSES, variant=16).score_pool3 is None
    with pytest.raises(ValueError, match=r"FCNs needs backbone taps at strides "
                                         r"\(2, 4, 8, 16, 32\).*Backbone\('mobilenet_v3_small', "
                                         r"strides=\(2, 4, 8, 16, 32\)\)"):
        FCNs(backbone, NUM_CLASSES)
    with pytest.raises(TypeError, match=r"backbone must be a deep.backbones.Backbone"):
        FCN(torch.nn.Identity(), NUM_CLASSES)


# ----------------------------------------------------------------------------- registry


def test_registry_names():
    names = list_models()
    assert names == sorted(names)
    for expected in ["fcn32s_vgg16", "fcn16s_vgg16_bn", "fcn8s_resnet18", "fcn8s_resnet101",
                     "fcn8s_mobilenet_v3_large", "fcn4s_resnet18", "fcns_vgg16", "fcns_resnet50",
                     "tv_fcn_resnet50", "tv_deeplabv3_resnet50",
                     "tv_deeplabv3_mobilenet_v3_large", "tv_lraspp_mobilenet_v3_large"]:
        assert expected in names


def test_build_model_passes_options():
    model = build_model("fcn16s_mobilenet_v3_small", 3, learnable_upsampling=False)
    assert isinstance(model, FCN) and model.variant == 16 and model.num_classes == 3
    assert not model.upscore.weight.requires_grad


@pytest.mark.parametrize("name", ["tv_fcn_resnet50", "tv_deeplabv3_resnet50",
                                  "tv_deeplabv3_mobilenet_v3_large",
                                  "tv_lraspp_mobilenet_v3_large"])
def test_torchvision_models_return_plain_logits(name):
    model = build_model(name, NUM_CLASSES).eval()
    with torch.no_grad():
        logits = model(_inputs(1, 37, 45))
    assert isinstance(logits, torch.Tensor)
    assert logits.shape == (1, NUM_CLASSES, 37, 45)
    torch.testing.assert_close(model.mean, torch.tensor(IMAGENET_MEAN))


def test_unknown_model_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"got 'fcn8s_resnet19'\. Did you mean 'fcn8s_resnet18'\?"
                                         r" Valid names: .*tv_fcn_resnet50"):
        build_model("fcn8s_resnet19", NUM_CLASSES)
    with pytest.raises(TypeError, match=r"does not accept option\(s\) dropout; it accepts weights"):
        build_model("tv_fcn_resnet50", NUM_CLASSES, dropout=0.1)
    with pytest.raises(TypeError, match=r"weights of a tv_ model must be None or a path"):
        build_model("tv_fcn_resnet50", NUM_CLASSES, weights=tvm.ResNet50_Weights.IMAGENET1K_V1)


# ----------------------------------------------------------------------------- costs


def test_parameter_count_is_backbone_plus_small_head():
    model = fcn8s("resnet18", 21)
    resnet = tvm.resnet18(weights=None)
    without_fc = count_parameters(resnet) - count_parameters(resnet.fc)
    scores = (512 + 256 + 128) * 21 + 3 * 21                # score_fr, pool4, pool3
    upsamplers = 21 * 21 * (4 * 4 + 4 * 4 + 16 * 16)         # x2, x2, x8 transposed convs
    assert count_parameters(model) == without_fc + scores + upsamplers


def test_flop_count_grows_with_area_and_restores_mode():
    # mobilenet_v2: no squeeze-and-excitation, whose pooled 1x1 convs do not scale with area
    model = fcn8s("mobilenet_v2", NUM_CLASSES).train()
    small = count_flops(model, (1, 3, 64, 64))
    large = count_flops(model, (1, 3, 128, 128))
    assert model.training
    assert small > 0
    # Padded sizes are multiples of 32, so every conv scales exactly with the area.
    assert large == 4 * small
    backbone = Backbone("mobilenet_v2", strides=(8, 16, 32))
    assert small > count_flops(backbone, (1, 3, 64, 64))
    with pytest.raises(ValueError, match=r"input_size must be \(N, C, H, W\); got \(3, 64, 64\)"):
        count_flops(model, (3, 64, 64))
