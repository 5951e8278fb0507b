"""Input checks shared by every segbench package: one place, one phrasing.

Every check names the argument, says what was expected and what came in, and, where
there is an obvious fix, says how to fix it. ``ValueError`` is raised for bad values
and shapes, ``TypeError`` for bad kinds; nothing here uses ``assert``.

This module lives in :mod:`classical` because that package has no heavy
dependencies; :mod:`deep` and :mod:`benchmarks` import it from here.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

import numpy as np

__all__ = [
    "IGNORE_INDEX",
    "as_float_image",
    "check_connectivity",
    "check_file",
    "check_image",
    "check_labels",
    "check_mask",
    "check_same_shape",
    "check_int",
    "check_real",
]

#: The suite's one ignore value in semantic masks: readers map each dataset's void
#: label (CamVid 11, VOC 255) to it, and every metric drops these pixels.
IGNORE_INDEX = 255


def _describe(array: np.ndarray) -> str:
    return f"shape {array.shape} and dtype {array.dtype}"


def check_image(image, name: str = "image", *, allow_gray: bool = True) -> np.ndarray:
    """Check that `image` is a usable image and return it as an ndarray.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 in 0..255, or floating point in [0, 1].
    name : str, optional
        Argument name used in error messages.
    allow_gray : bool, optional
        Whether (H, W) single-channel images are accepted.

    Returns
    -------
    image : ndarray
        The same data (no copy).

    Raises
    ------
    TypeError
        If `image` is not an ndarray, or its dtype is neither uint8 nor floating point.
    ValueError
        If the shape is not (H, W) / (H, W, 3), the image is empty, or a float image
        holds NaN, infinity or values outside [0, 1].
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array; got {type(image).__name__}. "
            f"Convert it with np.asarray({name})."
        )
    expected = "(H, W) or (H, W, 3)" if allow_gray else "(H, W, 3)"
    ok_shape = (image.ndim == 3 and image.shape[2] == 3) or (allow_gray and image.ndim == 2)
    if not ok_shape:
        hint = ""
        if image.ndim == 3 and image.shape[0] == 3:
            hint = f" If channels come first, pass np.moveaxis({name}, 0, -1)."
        elif image.ndim == 3 and image.shape[2] == 4:
            hint = f" For RGBA, drop the alpha channel: {name}[..., :3]."
        elif image.ndim == 3 and image.shape[2] == 1:
            hint = f" For a single channel, pass {name}[..., 0]."
        raise ValueError(f"{name} must have shape {expected}; got {image.shape}.{hint}")
    if image.size == 0:
        raise ValueError(f"{name} is empty: shape {image.shape}; it needs at least one pixel.")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_ or not np.issubdtype(image.dtype, np.floating):
        raise TypeError(
            f"{name} must be uint8 (0..255) or floating point in [0, 1]; got dtype "
            f"{image.dtype}. Convert with skimage.util.img_as_float({name}) or "
            f"skimage.util.img_as_ubyte({name})."
        )
    finite = np.isfinite(image)
    if not finite.all():
        raise ValueError(
            f"{name} contains {int(image.size - finite.sum())} NaN or infinite values; "
            "replace them (e.g. np.nan_to_num) before segmenting."
        )
    lo, hi = float(image.min()), float(image.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} is floating point with values in [{lo:g}, {hi:g}]; expected [0, 1]. "
            f"Rescale it, e.g. {name} / 255 for 8-bit data."
        )
    return image


def as_float_image(image, name: str = "image", *, allow_gray: bool = True) -> np.ndarray:
    """Validate `image` with :func:`check_image` and return float64 data in [0, 1]."""
    image = check_image(image, name, allow_gray=allow_gray)
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    return image.astype(np.float64, copy=False)


def check_labels(labels, name: str = "labels", *, shape: tuple[int, ...] | None = None,
                 shape_name: str = "image") -> np.ndarray:
    """Check a 2-D integer label image (a partition), optionally against a shape.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Any integer labels; they need not be contiguous.
    name : str, optional
        Argument name used in error messages.
    shape : tuple of int, optional
        Required (H, W); usually the image's ``shape[:2]``.
    shape_name : str, optional
        What `shape` belongs to, for the error message.

    Returns
    -------
    labels : ndarray

    Raises
    ------
    TypeError
        If `labels` is not an integer ndarray.
    ValueError
        If `labels` is not 2-D, is empty, or does not match `shape`.
    """
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(labels).__name__}.")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise TypeError(
            f"{name} must hold integer labels; got dtype {labels.dtype}. "
            f"Convert with {name}.astype(np.int32) if the values are whole numbers."
        )
    if labels.ndim != 2:
        raise ValueError(f"{name} must have shape (H, W); got {labels.shape}.")
    if labels.size == 0:
        raise ValueError(f"{name} is empty: shape {labels.shape}.")
    if shape is not None:
        check_same_shape(labels.shape, tuple(shape[:2]), name, shape_name)
    return labels


def check_mask(mask, name: str = "mask", *, shape: tuple[int, ...] | None = None,
               num_classes: int | None = None, ignore_index: int = IGNORE_INDEX,
               shape_name: str = "image") -> np.ndarray:
    """Check a semantic mask: 2-D integers in ``0..num_classes-1`` or `ignore_index`.

    Parameters
    ----------
    mask : ndarray of int, shape (H, W)
        Class index per pixel; `ignore_index` marks void pixels.
    name : str, optional
        Argument name used in error messages.
    shape : tuple of int, optional
        Required (H, W).
    num_classes : int, optional
        When given, every value must lie in ``0..num_classes-1`` or equal `ignore_index`.
    ignore_index : int, optional
        The void value (the suite's default is 255).
    shape_name : str, optional
        What `shape` belongs to, for the error message.

    Returns
    -------
    mask : ndarray

    Raises
    ------
    TypeError
        If `mask` is not an integer ndarray.
    ValueError
        On a wrong shape or out-of-range labels (the message gives the first bad value
        and how many pixels carry out-of-range values).
    """
    mask = check_labels(mask, name, shape=shape, shape_name=shape_name)
    if num_classes is not None:
        num_classes = check_int(num_classes, "num_classes", minimum=1)
        bad = ((mask < 0) | (mask >= num_classes)) & (mask != ignore_index)
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            value = int(mask[bad].flat[0])
            raise ValueError(
                f"{name} has label {value} outside 0..{num_classes - 1} "
                f"(num_classes={num_classes}) at {n_bad} pixels; mark void pixels with "
                f"{ignore_index} (ignore) instead."
            )
    return mask


def check_same_shape(shape_a, shape_b, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless two (H, W) shapes agree, naming both arguments."""
    if tuple(shape_a) != tuple(shape_b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same height and width; got "
            f"{tuple(shape_a)} and {tuple(shape_b)}."
        )


def check_connectivity(connectivity) -> int:
    """Return `connectivity` if it is 4 or 8; raise ``ValueError`` otherwise."""
    if isinstance(connectivity, (bool, np.bool_)) or connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8; got {connectivity!r}.")
    return int(connectivity)


def check_int(value, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Check an integer parameter and its range; return it as ``int``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__}).")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}.")
    return value


def check_min_size(value, name: str = "min_size") -> int | float:
    """Check a minimum region size: a pixel count (an integer >= 0; a whole float such
    as ``50.0`` counts too) or a fraction of the image's pixels (a float in (0, 1));
    return it as ``int`` or ``float``."""
    if isinstance(value, Real) and not isinstance(value, (Integral, bool, np.bool_)):
        if float(value) >= 1.0 and float(value).is_integer():
            return int(value)
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"{name} must be a pixel count (an integer >= 0) or a fraction "
                             f"of the image's pixels in (0, 1); got {value!r}.")
        return float(value)
    return check_int(value, name, minimum=0)


def size_in_pixels(min_size: int | float, n_pixels: int) -> int:
    """A checked :func:`check_min_size` value in pixels (a fraction rounded up)."""
    if isinstance(min_size, float):
        return math.ceil(min_size * n_pixels)
    return min_size


def check_real(value, name: str, *, minimum: float | None = None,
               maximum: float | None = None, strict_minimum: bool = False) -> float:
    """Check a finite real parameter and its range; return it as ``float``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}.")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"{name} must be > {minimum:g}; got {value:g}.")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum:g}; got {value:g}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}; got {value:g}.")
    return value


def check_file(path, name: str = "file") -> str:
    """Return `path` as ``str`` if it is an existing file; else ``FileNotFoundError``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        what = "is a folder, not a file" if os.path.isdir(path) else "does not exist"
        raise FileNotFoundError(f"{name} {path!r} {what}.")
    return path
