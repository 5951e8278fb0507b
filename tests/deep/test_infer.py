"""Tests for deep.infer and `segbench predict`: sizes, sliding window, TTA, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image
from torch import nn

from benchmarks._cli_deep import predict as predict_command
from deep.checkpoints import save_checkpoint
from deep.fcn import SegmentationModel
from deep.infer import (
    colorize,
    default_palette,
    list_images,
    overlay,
    predict,
    predict_folder,
    predict_logits,
    window_starts,
)
from deep.registry import build_model

NUM_CLASSES = 4


class Pointwise(SegmentationModel):
    """A 1x1-convolution model: every pixel's logits depend on that pixel only."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__(num_classes)
        self.conv = nn.Conv2d(3, num_classes, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


@pytest.fixture(scope="module")
def fcn():
    torch.manual_seed(0)
    return build_model("fcn8s_mobilenet_v3_small", NUM_CLASSES).eval()


@pytest.fixture
def pointwise():
    torch.manual_seed(0)
    return Pointwise().eval()


@pytest.mark.parametrize("shape", [(37, 45), (7, 9), (64, 33)])
def test_predict_any_size(fcn, rng, shape):
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    labels, probabilities = predict(fcn, image, return_probabilities=True)
    assert labels.shape == shape and labels.dtype == np.int64
    assert probabilities.shape == (NUM_CLASSES, *shape) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(0), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(labels, probabilities.argmax(0))
    assert labels.min() >= 0 and labels.max() < NUM_CLASSES


def test_uint8_and_float_images_agree(pointwise, rng):
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(predict(pointwise, image),
                                  predict(pointwise, image.astype(np.float32) / 255))


@pytest.mark.parametrize("shape, match", [
    ((20, 30, 4), r"image must have shape \(H, W, 3\); got \(20, 30, 4\).*alpha"),
    ((3, 20, 30), r"got \(3, 20, 30\).*np\.moveaxis\(image, 0, -1\)"),
    ((20, 30), r"got \(20, 30\)"),
])
def test_predict_rejects_wrong_channels(pointwise, shape, match):
    with pytest.raises(ValueError, match=match):
        predict(pointwise, np.zeros(shape, np.uint8))


def test_predict_restores_training_mode(pointwise, rng):
    pointwise.train()
    predict(pointwise, rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    assert pointwise.training


def test_window_starts_cover_and_end_flush():
    assert window_starts(100, 40, 0.25) == [0, 30, 60]
    assert window_starts(100, 40, 0.0) == [0, 40, 60]
    assert window_starts(40, 40, 0.5) == [0]
    for size, window, overlap in [(97, 32, 0.25), (33, 32, 0.5), (500, 64, 0.9)]:
        starts = window_starts(size, window, overlap)
        assert starts[0] == 0 and starts[-1] + window == size
        assert all(b - a <= window * (1 - overlap) for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize("window", [16, (12, 20), (64, 8)])
def test_sliding_window_equals_whole_image_for_a_pointwise_model(pointwise, rng, window):
    image = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    whole, p_whole = predict(pointwise, image, return_probabilities=True)
    tiled, p_tiled = predict(pointwise, image, window=window, overlap=0.3,
                             return_probabilities=True)
    np.testing.assert_allclose(p_tiled, p_whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tiled, whole)


def test_sliding_window_with_an_fcn(fcn, rng):
    image = rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)
    tiled = predict(fcn, image, window=32, overlap=0.25)
    assert tiled.shape == (45, 70)
    np.testing.assert_array_equal(tiled, predict(fcn, image, window=32, overlap=0.25))
    # A window covering the image is the whole-image prediction.
    np.testing.assert_array_equal(predict(fcn, image, window=(64, 80)), predict(fcn, image))


def test_predict_logits_batches(fcn):
    images = torch.rand(2, 3, 40, 50)
    whole = predict_logits(fcn, images)
    tiled = predict_logits(fcn, images, window=32, window_batch=3)
    assert whole.shape == tiled.shape == (2, NUM_CLASSES, 40, 50)
    # each image of the batch is predicted as if alone
    torch.testing.assert_close(predict_logits(fcn, images[1:], window=32), tiled[1:])


def test_flip_tta(pointwise, fcn, rng):
    image = rng.integers(0, 256, (21, 34, 3), dtype=np.uint8)
    # a pointwise model is flip-equivariant: TTA changes nothing
    _, p = predict(pointwise, image, return_probabilities=True)
    _, p_tta = predict(pointwise, image, tta_flip=True, return_probabilities=True)
    np.testing.assert_allclose(p_tta, p, rtol=1e-5, atol=1e-6)
    # for an FCN, TTA of the mirrored image is the mirror of TTA of the image
    tta = predict_logits(fcn, torch.rand(1, 3, 21, 34, generator=torch.Generator().manual_seed(1)),
                         tta_flip=True)
    mirrored = predict_logits(fcn, torch.rand(1, 3, 21, 34, generator=torch.Generator()
                                              .manual_seed(1)).flip(-1), tta_flip=True)
    torch.testing.assert_close(mirrored.flip(-1), tta, rtol=1e-4, atol=1e-5)


def test_scale_tta_is_exact_on_a_ramp_for_a_pointwise_model(pointwise):
    # bilinear resampling by an integer ratio (antialiased when shrinking: a triangle
    # kernel, symmetric at such ratios) reproduces a linear ramp away from the border,
    # and a 1x1 convolution commutes with it, so the multi-scale logits equal the
    # single-scale ones there
    rows, cols = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
    images = torch.stack([rows / 47, cols / 63, (rows + cols) / 110])[None]
    single = predict_logits(pointwise, images)
    multi = predict_logits(pointwise, images, scales=(0.5, 1.0, 2.0), tta_flip=True)
    assert multi.shape == single.shape
    torch.testing.assert_close(multi[..., 8:-8, 8:-8], single[..., 8:-8, 8:-8],
                               rtol=1e-5, atol=1e-5)
    # a textured image is not reproduced by resampling: the scales do matter there
    noise = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(predict_logits(pointwise, noise, scales=(0.5, 1.0)),
                              predict_logits(pointwise, noise), atol=1e-3)


def test_scale_tta_averages_the_resized_predictions(fcn):
    images = torch.rand(2, 3, 21, 34, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(predict_logits(fcn, images, scales=(1.0,)),
                               predict_logits(fcn, images))
    expected = 0
    for scale, size in ((0.75, (16, 26)), (1.5, (32, 51))):
        scaled = F.interpolate(images, size=size, mode="bilinear", align_corners=False,
                               antialias=scale < 1)
        logits = predict_logits(fcn, scaled, tta_flip=True)
        expected = expected + F.interpolate(logits, size=(21, 34), mode="bilinear",
                                            align_corners=False, antialias=scale > 1)
    got = predict_logits(fcn, images, scales=(0.75, 1.5), tta_flip=True)
    torch.testing.assert_close(got, expected / 2, rtol=1e-4, atol=1e-5)
    # through predict (one image) and with a sliding window, the output keeps its size
    image = (images[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    assert predict(fcn, image, scales=(0.5, 1.25), window=16).shape == (21, 34)


@pytest.mark.parametrize("scales, error, match", [
    ((), ValueError, "at least one factor"),
    ((1.0, -0.5), ValueError, r"scales\[1\] must be > 0"),
    ((1.0, float("nan")), ValueError, r"scales\[1\]"),
    ("1", TypeError, "sequence of positive numbers"),
    (1.0, TypeError, "sequence of positive numbers"),
])
def test_scale_errors(pointwise, scales, error, match):
    with pytest.raises(error, match=match):
        predict(pointwise, np.zeros((8, 8, 3), np.uint8), scales=scales)


def test_window_and_overlap_errors(pointwise):
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"overlap must be < 1; got 1"):
        predict(pointwise, image, overlap=1.0)
    with pytest.raises(ValueError, match=r"window\[0\] must be >= 1; got 0"):
        predict(pointwise, image, window=0)
    with pytest.raises(ValueError, match="window must be an int or"):
        predict(pointwise, image, window=(1, 2, 3))


def test_palette_and_overlay():
    colors = default_palette(12)
    assert len(set(colors)) == 12 and (0, 0, 0) not in colors
    labels = np.array([[0, 1], [255, 7]])
    rgb = colorize(labels, colors[:2])
    assert rgb.shape == (2, 2, 3) and tuple(rgb[0, 1]) == colors[1]
    assert tuple(rgb[1, 0]) == tuple(rgb[1, 1]) == (0, 0, 0)
    image = np.full((2, 2, 3), 200, np.uint8)
    blended = overlay(image, labels, colors[:2], alpha=0.0)
    np.testing.assert_array_equal(blended, image)


def _write_images(folder, rng, shapes):
    folder.mkdir(parents=True, exist_ok=True)
    for k, shape in enumerate(shapes):
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(
            folder / f"img{k}.png")
    (folder / "notes.txt").write_text("not an image")


def test_predict_folder_writes_label_pngs(fcn, rng, tmp_path):
    shapes = [(33, 47), (20, 20), (48, 64)]
    _write_images(tmp_path / "in", rng, shapes)
    written = predict_folder(fcn, tmp_path / "in", tmp_path / "out", overlay_images=True,
                             save_probabilities=True)
    assert [p.name for p in written] == ["img0.png", "img1.png", "img2.png"]
    for path, shape in zip(written, shapes):
        with Image.open(path) as im:
            assert im.mode == "L" and im.size == (shape[1], shape[0])
            assert np.asarray(im).max() < NUM_CLASSES
        with Image.open(tmp_path / "out" / "overlay" / path.name) as im:
            assert im.mode == "RGB" and im.size == (shape[1], shape[0])
        probabilities = np.load(tmp_path / "out" / "probabilities" / f"{path.stem}.npy")
        assert probabilities.shape == (NUM_CLASSES, *shape)
        assert probabilities.dtype == np.float16
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left


def test_list_images_errors(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="neither an image file nor a folder"):
        list_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images found"):
        list_images(tmp_path / "empty")
    _write_images(tmp_path / "a", rng, [(8, 8)])
    _write_images(tmp_path / "b", rng, [(8, 8)])
    with pytest.raises(ValueError, match="share the name 'img0'"):
        list_images([tmp_path / "a", tmp_path / "b"])


def test_predict_command(fcn, rng, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "best.pt", fcn, model_name="fcn8s_mobilenet_v3_small",
                                 class_names=list("abcd"))
    _write_images(tmp_path / "in", rng, [(30, 41), (16, 24)])
    runner = CliRunner()
    result = runner.invoke(predict_command, ["--checkpoint", str(checkpoint),
                                             str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                                             "--tta", "--overlay", "--window", "16x24",
                                             "--quiet"])
    assert result.exit_code == 0, result.output
    assert "wrote 2 label maps" in result.output
    with Image.open(tmp_path / "out" / "img0.png") as im:
        assert im.size == (41, 30)
    assert (tmp_path / "out" / "overlay" / "img1.png").is_file()
    result = runner.invoke(predict_command, ["--checkpoint", str(checkpoint),
                                             str(tmp_path / "in"), "--out", str(tmp_path / "ms"),
                                             "--scales", "0.75,1", "--quiet"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "ms" / "img1.png") as im:
        assert im.size == (24, 16)
    for bad in ("a,b", "1,0", "1,inf"):
        result = runner.invoke(predict_command, ["--checkpoint", str(checkpoint),
                                                 str(tmp_path / "in"), "--out",
                                                 str(tmp_path / "x"), "--scales", bad])
        assert result.exit_code == 2 and "--scales" in result.output, result.output

    result = runner.invoke(predict_command, ["--checkpoint", str(tmp_path / "nope.pt"),
                                             str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, FileNotFoundError)
    assert "nope.pt" in str(result.exception)
    assert "Example" in runner.invoke(predict_command, ["--help"]).output
