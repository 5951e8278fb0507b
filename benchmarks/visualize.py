"""Overlays of labels and masks on images, shared by the CLI and the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from classical._validate import IGNORE_INDEX, check_image, check_labels

__all__ = ["boundary_overlay", "class_overlay", "colorize_mask", "side_by_side", "write_png"]

_VOID_COLOR = (0, 0, 0)


def _as_uint8_rgb(image: np.ndarray) -> np.ndarray:
    image = check_image(image)
    if image.dtype != np.uint8:
        image = np.round(image * 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image


def colorize_mask(mask: np.ndarray, colors: Sequence[tuple[int, int, int]] | None = None,
                  *, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Paint a class mask with one colour per class (void in black).

    Parameters
    ----------
    mask : ndarray of int, shape (H, W)
    colors : sequence of (r, g, b), optional
        Colour of class k at position k; a fixed qualitative palette when None.
    ignore_index : int, optional

    Returns
    -------
    rgb : ndarray of uint8, shape (H, W, 3)
    """
    mask = check_labels(mask, "mask")
    if colors is None:
        import matplotlib

        cmap = matplotlib.colormaps["tab20"]
        n = int(mask[mask != ignore_index].max(initial=0)) + 1
        colors = [tuple(int(255 * c) for c in cmap(k % 20)[:3]) for k in range(n)]
    lut = np.zeros((max(len(colors), ignore_index + 1), 3), dtype=np.uint8)
    lut[: len(colors)] = np.asarray(colors, dtype=np.uint8)
    lut[ignore_index] = _VOID_COLOR
    safe = np.where((mask >= 0) & (mask < len(lut)), mask, ignore_index)
    return lut[safe]


def class_overlay(image: np.ndarray, mask: np.ndarray,
                  colors: Sequence[tuple[int, int, int]] | None = None, *,
                  alpha: float = 0.5, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Blend class colours over `image`; void pixels keep the image as is."""
    image = _as_uint8_rgb(image)
    check_labels(mask, "mask", shape=image.shape)
    paint = colorize_mask(mask, colors, ignore_index=ignore_index).astype(np.float32)
    out = (1 - alpha) * image.astype(np.float32) + alpha * paint
    void = mask == ignore_index
    out[void] = image[void]
    return np.round(out).astype(np.uint8)


def boundary_overlay(image: np.ndarray, labels: np.ndarray,
                     color: tuple[int, int, int] = (255, 0, 0)) -> np.ndarray:
    """Draw the boundaries between regions of `labels` on `image`."""
    from skimage.segmentation import find_boundaries

    image = _as_uint8_rgb(image)
    check_labels(labels, "labels", shape=image.shape)
    out = image.copy()
    out[find_boundaries(labels, mode="inner")] = color
    return out


def side_by_side(*panels: np.ndarray, gap: int = 4) -> np.ndarray:
    """Stack RGB panels of equal height horizontally with a white gap."""
    height = panels[0].shape[0]
    parts = []
    for k, panel in enumerate(panels):
        if panel.shape[0] != height:
            raise ValueError(f"panel {k} has height {panel.shape[0]}; expected {height}.")
        if k:
            parts.append(np.full((height, gap, 3), 255, dtype=np.uint8))
        parts.append(_as_uint8_rgb(panel))
    return np.concatenate(parts, axis=1)


def write_png(path, rgb: np.ndarray) -> Path:
    """Write an RGB or single-channel uint8 array as PNG atomically; return the path."""
    import os
    import tempfile

    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        Image.fromarray(np.ascontiguousarray(rgb)).save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
