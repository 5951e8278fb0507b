"""Prediction with a trained model: whole image or sliding window, optional flip and scale TTA.

The models of :mod:`deep.fcn` already accept any input size (they pad to their output
stride and crop back), so :func:`predict` runs the whole image in one pass by default.
For images too large for memory, ``window=(h, w)`` tiles the image with overlapping
windows (stride ``window * (1 - overlap)``, the last window flush with the border) and
averages the logits where windows overlap. ``tta_flip=True`` averages the logits of the
image and of its horizontal mirror (mirrored back). ``scales=(0.75, 1.0, 1.25)``
averages the logits of the image resized by each factor (bilinear, antialiased when
shrinking), each resized back to the input size: multi-scale inference as in
DeepLab (Chen et al., 2018) and MMSegmentation's ``img_ratios``.

Inputs are RGB in [0, 1] (uint8 NumPy images are divided by 255); normalisation is
the model's own (``model.normalize``), applied here right before the forward pass, as
in training (see :mod:`deep.data`).

Examples
--------
>>> import numpy as np
>>> from deep.registry import build_model
>>> model = build_model("fcn8s_resnet18", num_classes=4)
>>> image = np.zeros((45, 61, 3), np.uint8)
>>> predict(model, image).shape
(45, 61)
>>> labels, probabilities = predict(model, image, window=32, return_probabilities=True)
>>> probabilities.shape
(4, 45, 61)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from classical._validate import IGNORE_INDEX, check_int, check_real

from .checkpoints import unwrap_model
from .data import image_to_tensor

__all__ = [
    "colorize",
    "default_palette",
    "list_images",
    "overlay",
    "predict",
    "predict_folder",
    "predict_logits",
    "window_starts",
]


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _check_window(window) -> tuple[int, int] | None:
    if window is None:
        return None
    if isinstance(window, Sequence) and not isinstance(window, str):
        values = tuple(window)
    else:
        values = (window, window)
    if len(values) != 2:
        raise ValueError(f"window must be an int or (height, width); got {window!r}.")
    return (check_int(values[0], "window[0]", minimum=1),
            check_int(values[1], "window[1]", minimum=1))


def window_starts(size: int, window: int, overlap: float) -> list[int]:
    """Start offsets of windows of length `window` covering ``0..size-1``.

    Consecutive windows overlap by at least ``overlap * window`` pixels; the last window
    ends exactly at `size`. A window at least as long as `size` gives ``[0]``.

    Examples
    --------
    >>> window_starts(100, 40, 0.25)
    [0, 30, 60]
    >>> window_starts(30, 40, 0.25)
    [0]
    """
    if window >= size:
        return [0]
    stride = max(1, int(window * (1.0 - overlap)))
    starts = list(range(0, size - window, stride))
    starts.append(size - window)
    return starts


def _check_scales(scales) -> tuple[float, ...]:
    """`scales` as a non-empty tuple of positive finite floats (test-time scale factors).

    Raises
    ------
    TypeError, ValueError
        Naming `scales`, if it is not a non-empty sequence of positive numbers.
    """
    if isinstance(scales, (str, bytes)) or not isinstance(scales, Sequence):
        raise TypeError(f"scales must be a sequence of positive numbers such as (0.75, 1.0, "
                        f"1.25); got {scales!r}.")
    if not scales:
        raise ValueError("scales must hold at least one factor; got an empty sequence "
                         "(use (1.0,) for single-scale prediction).")
    return tuple(check_real(value, f"scales[{k}]", minimum=0.0, strict_minimum=True)
                 for k, value in enumerate(scales))


def _resize(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(tensor.shape[-2:]) == size:
        return tensor
    shrink = size[0] < tensor.shape[-2] or size[1] < tensor.shape[-1]
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False,
                         antialias=shrink)


def _forward(model: nn.Module, images: torch.Tensor, tta_flip: bool,
             scales: tuple[float, ...] = (1.0,)) -> torch.Tensor:
    bare = unwrap_model(model)
    size = tuple(images.shape[-2:])
    total = None
    for scale in scales:
        scaled = _resize(images, (max(1, round(size[0] * scale)),
                                  max(1, round(size[1] * scale))))
        logits = model(bare.normalize(scaled)).float()
        if tta_flip:
            logits = logits + model(bare.normalize(scaled.flip(-1))).float().flip(-1)
        logits = _resize(logits, size)
        total = logits if total is None else total + logits
    count = len(scales) * (2 if tta_flip else 1)
    return total if count == 1 else total / count


def predict_logits(model: nn.Module, images: torch.Tensor, *, tta_flip: bool = False,
                   scales=(1.0,), window=None, overlap: float = 0.25,
                   window_batch: int = 4) -> torch.Tensor:
    """Logits of a batch, whole or by sliding window; no gradient, model mode untouched.

    Parameters
    ----------
    model : SegmentationModel
        Put it in eval mode first (:func:`predict` does).
    images : Tensor, shape (N, 3, H, W)
        RGB in [0, 1] on the model's device (not normalised).
    tta_flip : bool, optional
        Average with the horizontally mirrored prediction.
    scales : sequence of float, optional
        Test-time scale factors (default ``(1.0,)``): the logits of the input resized
        by each factor, resized back, are averaged (per window when tiling).
    window : int or (int, int), optional
        Sliding-window size; None (default) runs the whole image at once.
    overlap : float, optional
        Fraction of the window shared by neighbouring windows, in [0, 1).
    window_batch : int, optional
        Windows per forward pass.

    Returns
    -------
    logits : Tensor of float32, shape (N, num_classes, H, W)

    Raises
    ------
    TypeError, ValueError
        On a bad batch (the model's check), scales, window or overlap.
    """
    scales = _check_scales(scales)
    window = _check_window(window)
    overlap = check_real(overlap, "overlap", minimum=0.0, maximum=1.0)
    if overlap >= 1.0:
        raise ValueError(f"overlap must be < 1; got {overlap:g}.")
    window_batch = check_int(window_batch, "window_batch", minimum=1)
    with torch.inference_mode():
        height, width = images.shape[-2:]
        if window is None or (window[0] >= height and window[1] >= width):
            return _forward(model, images, tta_flip, scales)
        boxes = [(top, left, min(window[0], height), min(window[1], width))
                 for top in window_starts(height, window[0], overlap)
                 for left in window_starts(width, window[1], overlap)]
        total = None
        count = torch.zeros((1, 1, height, width), device=images.device)
        for start in range(0, len(boxes), window_batch):
            chunk = boxes[start:start + window_batch]
            tiles = torch.cat([images[..., t:t + h, l:l + w] for t, l, h, w in chunk])
            logits = _forward(model, tiles, tta_flip, scales)
            if total is None:
                total = torch.zeros((images.shape[0], logits.shape[1], height, width),
                                    device=images.device)
            for k, (t, l, h, w) in enumerate(chunk):
                n = images.shape[0]
                total[..., t:t + h, l:l + w] += logits[k * n:(k + 1) * n]
                count[..., t:t + h, l:l + w] += 1
        return total / count


def predict(model: nn.Module, image: np.ndarray, *, tta_flip: bool = False, scales=(1.0,),
            window=None, overlap: float = 0.25, return_probabilities: bool = False):
    """Class labels (and optionally probabilities) of one RGB image.

    Parameters
    ----------
    model : SegmentationModel
        On CPU or CUDA; the image goes to the model's device. Its training mode is
        restored afterwards.
    image : ndarray, shape (H, W, 3)
        uint8 RGB, or floating point RGB in [0, 1]; any size.
    tta_flip : bool, optional
        Average the logits with those of the mirrored image.
    scales : sequence of float, optional
        Test-time scale factors (default ``(1.0,)``; e.g. ``(0.75, 1.0, 1.25)``).
    window : int or (int, int), optional
        Sliding-window size for large images (default: whole image in one pass).
    overlap : float, optional
        Window overlap fraction in [0, 1) (default 0.25).
    return_probabilities : bool, optional
        Also return the per-class softmax probabilities.

    Returns
    -------
    labels : ndarray of int64, shape (H, W)
        Argmax class per pixel.
    probabilities : ndarray of float32, shape (num_classes, H, W)
        Only with `return_probabilities`.

    Raises
    ------
    TypeError, ValueError
        If `image` is not an (H, W, 3) RGB image (the message says how to fix it), or
        on bad `scales` / `window` / `overlap`.
    """
    tensor = image_to_tensor(image, "image")[None].to(_model_device(model))
    training = model.training
    model.eval()
    try:
        logits = predict_logits(model, tensor, tta_flip=tta_flip, scales=scales,
                                window=window, overlap=overlap)[0]
    finally:
        model.train(training)
    labels = logits.argmax(0).cpu().numpy().astype(np.int64)
    if return_probabilities:
        return labels, logits.softmax(0).cpu().numpy().astype(np.float32)
    return labels


# ----------------------------------------------------------------------------- colours


def default_palette(num_classes: int) -> list[tuple[int, int, int]]:
    """Distinct display colours for `num_classes` classes (VOC's bit-interleaved map).

    Class 0 gets VOC's colour of index 1 (dark red), so no class is drawn black.
    """
    num_classes = check_int(num_classes, "num_classes", minimum=0)
    colors = []
    for index in range(1, num_classes + 1):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        colors.append((r, g, b))
    return colors


def colorize(labels: np.ndarray, colors: Sequence[Sequence[int]]) -> np.ndarray:
    """Paint labels with `colors` (class k in ``colors[k]``; 255 and unknown in black).

    Returns
    -------
    rgb : ndarray of uint8, shape (H, W, 3)
    """
    lut = np.zeros((max(len(colors), IGNORE_INDEX + 1), 3), np.uint8)
    lut[:len(colors)] = np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
    labels = np.asarray(labels)
    safe = np.where((labels >= 0) & (labels < len(colors)), labels, IGNORE_INDEX)
    return lut[safe]


def overlay(image: np.ndarray, labels: np.ndarray, colors: Sequence[Sequence[int]], *,
            alpha: float = 0.5) -> np.ndarray:
    """Blend class colours over a uint8 RGB image (weight `alpha` on the colours)."""
    alpha = check_real(alpha, "alpha", minimum=0.0, maximum=1.0)
    paint = colorize(labels, colors).astype(np.float32)
    out = (1 - alpha) * np.asarray(image, np.float32) + alpha * paint
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- files


def _write_png(path: Path, array: np.ndarray) -> None:
    """Write a uint8 (H, W) or (H, W, 3) array as PNG atomically."""
    import tempfile

    from PIL import Image

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        Image.fromarray(np.ascontiguousarray(array)).save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_npy(path: Path, array: np.ndarray) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npy", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def list_images(inputs) -> list[Path]:
    """Image files named by `inputs`: files as given, folders listed (sorted, not recursive).

    Parameters
    ----------
    inputs : path-like or iterable of path-like
        Image files and/or folders; a folder contributes its files whose suffix is in
        :data:`benchmarks.datasets.folder.IMAGE_SUFFIXES`.

    Returns
    -------
    paths : list of Path

    Raises
    ------
    FileNotFoundError
        If an input does not exist, or no image is found.
    ValueError
        If two images share a file stem (their outputs would collide).
    """
    from benchmarks.datasets.folder import IMAGE_SUFFIXES

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    paths: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            paths.extend(sorted(p for p in item.iterdir()
                                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif item.is_file():
            paths.append(item)
        else:
            raise FileNotFoundError(f"input {str(item)!r} is neither an image file nor a folder.")
    if not paths:
        raise FileNotFoundError(
            f"no images found in {', '.join(map(str, inputs))}; expected files ending in "
            f"{', '.join(IMAGE_SUFFIXES)}.")
    seen: dict[str, Path] = {}
    for path in paths:
        if path.stem in seen:
            raise ValueError(f"images {str(seen[path.stem])!r} and {str(path)!r} share the name "
                             f"{path.stem!r}; their outputs would overwrite each other.")
        seen[path.stem] = path
    return paths


def predict_folder(model: nn.Module, inputs, out_dir, *,
                   class_colors: Sequence[Sequence[int]] | None = None,
                   tta_flip: bool = False, scales=(1.0,), window=None,
                   overlap: float = 0.25, overlay_images: bool = False,
                   save_probabilities: bool = False, progress: bool = False) -> list[Path]:
    """Predict every image of `inputs` and write the results under `out_dir`.

    Writes, per input image ``<id>.<ext>``:

    - ``<out_dir>/<id>.png``: 8-bit label PNG, value = class index (255 would be void;
      predictions never are), the format read by ``segbench evaluate semantic``;
    - with `overlay_images`, ``<out_dir>/overlay/<id>.png``: class colours blended over
      the image;
    - with `save_probabilities`, ``<out_dir>/probabilities/<id>.npy``: float16
      ``(num_classes, H, W)`` softmax probabilities.

    Every file is written atomically.

    Parameters
    ----------
    model : SegmentationModel
    inputs : path-like or iterable of path-like
        Image files and/or folders (see :func:`list_images`).
    out_dir : path-like
        Created if needed.
    class_colors : sequence of (r, g, b), optional
        Overlay colours (default :func:`default_palette`).
    tta_flip, scales, window, overlap
        As for :func:`predict`.
    overlay_images, save_probabilities : bool, optional
        Also write overlays / probabilities.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    paths : list of Path
        The label PNGs written, in input order.

    Raises
    ------
    FileNotFoundError, ValueError
        From :func:`list_images`; if the model has more than 255 classes (labels do
        not fit 8-bit PNGs); if an image cannot be read.
    """
    from tqdm.auto import tqdm

    from benchmarks.datasets import read_image

    num_classes = int(unwrap_model(model).num_classes)
    if num_classes > IGNORE_INDEX:
        raise ValueError(f"label PNGs hold classes 0..254 (255 is void); the model has "
                         f"{num_classes} classes. Save probabilities instead.")
    colors = list(class_colors) if class_colors is not None else default_palette(num_classes)
    if len(colors) < num_classes:
        raise ValueError(f"class_colors must give {num_classes} colours; got {len(colors)}.")
    paths = list_images(inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if overlay_images:
        (out / "overlay").mkdir(exist_ok=True)
    if save_probabilities:
        (out / "probabilities").mkdir(exist_ok=True)
    written = []
    for path in tqdm(paths, desc="predict", disable=not progress):
        image = read_image(path)
        result = predict(model, image, tta_flip=tta_flip, scales=scales, window=window,
                         overlap=overlap, return_probabilities=save_probabilities)
        labels, probabilities = result if save_probabilities else (result, None)
        target = out / f"{path.stem}.png"
        _write_png(target, labels.astype(np.uint8))
        if overlay_images:
            _write_png(out / "overlay" / f"{path.stem}.png", overlay(image, labels, colors))
        if probabilities is not None:
            _write_npy(out / "probabilities" / f"{path.stem}.npy",
                       probabilities.astype(np.float16))
        written.append(target)
    return written
