"""Image perturbations for robustness runs, applied identically to every method's input.

A :class:`Perturbation` is a kind and a severity, written ``kind(severity)`` (e.g.
``noise(0.05)``, ``jpeg(20)``; ``none`` is the identity) and parsed back by
:func:`parse_perturbation`. The harness applies it to each image before the method sees
it, with a seed derived from the run seed and the image id (:func:`unit_seed`), so every
method gets the very same perturbed pixels and a rerun reproduces them. Because the seed
does not depend on the severity, the noise of ``noise(0.1)`` is exactly twice that of
``noise(0.05)`` on the same image (common random numbers across a sweep).

==============  ==========================================  ==========================
kind            severity                                    identity
==============  ==========================================  ==========================
``noise``       Gaussian noise sigma, in [0, 1] image units  0
``blur``        Gaussian blur sigma in pixels, >= 0          0
``jpeg``        JPEG quality, integer 1..100 (lower = worse)  none (100 is near)
``brightness``  additive offset in [-1, 1] image units       0
``contrast``    factor >= 0 towards the mean grey level      1
``gamma``       exponent > 0 on [0, 1] intensities           1
``downscale``   factor >= 1 (area interpolation)             1
==============  ==========================================  ==========================

Images are (H, W) grey or (H, W, 3) RGB, uint8 in 0..255 or floating point in [0, 1];
the result has the input's dtype, values clipped to the valid range. ``downscale`` is
the one perturbation that changes the shape: the method segments the smaller image and
:meth:`Perturbation.restore_labels` brings its labels back to the original size with
nearest-neighbour sampling, so the ground truth is never resampled.

References
----------
.. [1] D. Hendrycks, T. Dietterich, "Benchmarking Neural Network Robustness to Common
   Corruptions and Perturbations", ICLR 2019.
.. [2] C. Kamann, C. Rother, "Benchmarking the Robustness of Semantic Segmentation
   Models", CVPR 2020.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, NamedTuple

import cv2
import numpy as np

from classical._validate import as_float_image, check_image, check_int, check_real

__all__ = [
    "Perturbation",
    "PerturbationKind",
    "PERTURBATIONS",
    "parse_perturbation",
    "severity_sweep",
    "unit_seed",
    "gaussian_noise",
    "gaussian_blur",
    "jpeg",
    "brightness",
    "contrast",
    "gamma",
    "downscale",
    "restore_labels",
]


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _to_dtype(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Float data in [0, 1] back to `like`'s dtype (uint8 rounds), clipped."""
    values = np.clip(values, 0.0, 1.0)
    if like.dtype == np.uint8:
        return np.rint(values * 255.0).astype(np.uint8)
    return values.astype(like.dtype, copy=False)


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    return np.rint(image * 255.0).astype(np.uint8)


def _check_seed(seed) -> int:
    return check_int(seed, "seed", minimum=0)


def _scaled_shape(shape: tuple[int, ...], factor: float) -> tuple[int, int]:
    """(H, W) divided by `factor`, rounded half up, at least one pixel."""
    return tuple(max(1, int(np.floor(s / factor + 0.5))) for s in shape[:2])


# --------------------------------------------------------------------------------------
# The perturbations
# --------------------------------------------------------------------------------------


def gaussian_noise(image, sigma: float, *, seed: int = 0) -> np.ndarray:
    """Add zero-mean Gaussian noise of standard deviation `sigma` (image units).

    The noise is added in floating point ([0, 1] scale) and the result clipped to [0, 1]
    and returned in the input dtype (uint8 rounds to the nearest level). Each pixel and
    channel gets its own draw.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    sigma : float
        Standard deviation in [0, 1] (0.05 is 12.75 grey levels); 0 returns a copy.
    seed : int, optional
        Seed of the noise; the same seed gives the same noise.

    Returns
    -------
    noisy : ndarray
        Same shape and dtype as `image`.

    Raises
    ------
    ValueError
        If `sigma` is outside [0, 1] or `image` is not a valid image.
    TypeError
        If `image`, `sigma` or `seed` has the wrong kind.
    """
    image = check_image(image)
    sigma = check_real(sigma, "sigma", minimum=0.0, maximum=1.0)
    seed = _check_seed(seed)
    if sigma == 0.0:
        return image.copy()
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(image.shape)
    return _to_dtype(as_float_image(image) + sigma * noise, image)


def gaussian_blur(image, sigma: float, *, seed: int = 0) -> np.ndarray:
    """Blur with a Gaussian of standard deviation `sigma` pixels (``cv2.GaussianBlur``).

    The kernel covers +-3 sigma (OpenCV's choice for ``ksize=(0, 0)``), borders are
    reflected (``BORDER_REFLECT_101``), colour channels are blurred independently.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    sigma : float
        Standard deviation in pixels, >= 0; 0 returns a copy.
    seed : int, optional
        Unused (the blur is deterministic); accepted so every perturbation has one
        signature.

    Returns
    -------
    blurred : ndarray
        Same shape and dtype as `image`.

    Raises
    ------
    ValueError
        If `sigma` is negative or `image` is not a valid image.
    TypeError
        If an argument has the wrong kind.
    """
    image = check_image(image)
    sigma = check_real(sigma, "sigma", minimum=0.0)
    _check_seed(seed)
    if sigma == 0.0:
        return image.copy()
    blurred = cv2.GaussianBlur(as_float_image(image), (0, 0), sigmaX=sigma, sigmaY=sigma,
                               borderType=cv2.BORDER_REFLECT_101)
    return _to_dtype(blurred, image)


def jpeg(image, quality: int, *, seed: int = 0) -> np.ndarray:
    """JPEG-compress and decompress at `quality` (``cv2.imencode`` / ``cv2.imdecode``).

    RGB images are converted to OpenCV's BGR order before encoding and back after
    decoding, so the encoder's luma/chroma split sees the true colours. JPEG is an
    8-bit format: float images are quantised to 256 levels first and returned as float
    of the same dtype.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    quality : int
        JPEG quality 1..100 (libjpeg scale; lower is stronger compression). Even 100
        is not lossless. A whole-number float (e.g. 20.0) is accepted.
    seed : int, optional
        Unused (compression is deterministic).

    Returns
    -------
    compressed : ndarray
        Same shape and dtype as `image`.

    Raises
    ------
    ValueError
        If `quality` is outside 1..100 or `image` is not a valid image.
    TypeError
        If `quality` is not an integer, or another argument has the wrong kind.

    References
    ----------
    .. [1] G. K. Wallace, "The JPEG Still Picture Compression Standard", IEEE
       Transactions on Consumer Electronics 38(1), 1992.
    """
    image = check_image(image)
    if isinstance(quality, (float, np.floating)) and float(quality).is_integer():
        quality = int(quality)  # a whole-number severity from a Perturbation
    quality = check_int(quality, "quality", minimum=1, maximum=100)
    _check_seed(seed)
    data = _as_uint8(image)
    rgb = data.ndim == 3
    if rgb:
        data = cv2.cvtColor(data, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(data),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # OpenCV reports failure by a flag, not an exception
        raise RuntimeError(f"OpenCV could not JPEG-encode an image of shape {image.shape}.")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR if rgb else cv2.IMREAD_GRAYSCALE)
    if rgb:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    if image.dtype == np.uint8:
        return decoded
    return (decoded / 255.0).astype(image.dtype)


def brightness(image, delta: float, *, seed: int = 0) -> np.ndarray:
    """Add `delta` (image units) to every pixel and channel, clipping to [0, 1].

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    delta : float
        Offset in [-1, 1]; positive brightens, negative darkens, 0 returns a copy.
    seed : int, optional
        Unused.

    Returns
    -------
    shifted : ndarray
        Same shape and dtype as `image`.

    Raises
    ------
    ValueError
        If `delta` is outside [-1, 1] or `image` is not a valid image.
    TypeError
        If an argument has the wrong kind.
    """
    image = check_image(image)
    delta = check_real(delta, "delta", minimum=-1.0, maximum=1.0)
    _check_seed(seed)
    if delta == 0.0:
        return image.copy()
    return _to_dtype(as_float_image(image) + delta, image)


def contrast(image, factor: float, *, seed: int = 0) -> np.ndarray:
    """Scale contrast about the image's mean grey level: ``mean + factor (x - mean)``.

    The mean is that of the grey version of the image (ITU-R BT.601 luma for RGB), as
    torchvision's ``adjust_contrast``, so colours keep their hue. Factors below 1 lower
    the contrast (0 gives a flat grey image), above 1 raise it (with clipping).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    factor : float
        Contrast factor >= 0; 1 returns a copy.
    seed : int, optional
        Unused.

    Returns
    -------
    adjusted : ndarray
        Same shape and dtype as `image`.

    Raises
    ------
    ValueError
        If `factor` is negative or `image` is not a valid image.
    TypeError
        If an argument has the wrong kind.
    """
    image = check_image(image)
    factor = check_real(factor, "factor", minimum=0.0)
    _check_seed(seed)
    if factor == 1.0:
        return image.copy()
    x = as_float_image(image)
    grey = x @ np.array([0.299, 0.587, 0.114]) if x.ndim == 3 else x
    level = grey.mean()
    return _to_dtype(level + factor * (x - level), image)


def gamma(image, g: float, *, seed: int = 0) -> np.ndarray:
    """Gamma curve ``x ** g`` on intensities in [0, 1].

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    g : float
        Exponent > 0: above 1 darkens the mid-tones, below 1 brightens them; 1 returns a
        copy.
    seed : int, optional
        Unused.

    Returns
    -------
    adjusted : ndarray
        Same shape and dtype as `image`.

    Raises
    ------
    ValueError
        If `g` is not positive or `image` is not a valid image.
    TypeError
        If an argument has the wrong kind.
    """
    image = check_image(image)
    g = check_real(g, "g", minimum=0.0, strict_minimum=True)
    _check_seed(seed)
    if g == 1.0:
        return image.copy()
    return _to_dtype(np.power(as_float_image(image), g), image)


def downscale(image, factor: float, *, seed: int = 0) -> np.ndarray:
    """Shrink the image by `factor` with area interpolation (``cv2.INTER_AREA``).

    The new size is ``round(H / factor) x round(W / factor)`` (at least one pixel).
    Labels computed on the result go back to the original size with
    :func:`restore_labels`.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        uint8 or float in [0, 1].
    factor : float
        Shrink factor >= 1; 1 returns a copy.
    seed : int, optional
        Unused.

    Returns
    -------
    small : ndarray, shape (h, w) or (h, w, 3)
        Same dtype as `image`.

    Raises
    ------
    ValueError
        If `factor` is below 1 or `image` is not a valid image.
    TypeError
        If an argument has the wrong kind.
    """
    image = check_image(image)
    factor = check_real(factor, "factor", minimum=1.0)
    _check_seed(seed)
    if factor == 1.0:
        return image.copy()
    h, w = _scaled_shape(image.shape, factor)
    small = cv2.resize(as_float_image(image), (w, h), interpolation=cv2.INTER_AREA)
    return _to_dtype(small, image)


def restore_labels(labels, shape) -> np.ndarray:
    """Resize label images to `shape` with nearest-neighbour sampling (no new labels).

    Each output pixel takes the label of the input pixel whose area contains the output
    pixel's centre, so region labels are never mixed.

    Parameters
    ----------
    labels : ndarray of int, shape (h, w) or (K, h, w)
        One label image, or a stack (e.g. a parameter sweep).
    shape : tuple of int
        Target ``(H, W)`` (an image shape (H, W, 3) also works).

    Returns
    -------
    restored : ndarray, shape (H, W) or (K, H, W)
        Same dtype as `labels`.

    Raises
    ------
    ValueError
        If `labels` is not 2-D or 3-D or is empty, or `shape` is not positive.
    TypeError
        If `labels` is not an integer array.
    """
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"labels must be a numpy array; got {type(labels).__name__}.")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise TypeError(f"labels must hold integer labels; got dtype {labels.dtype}.")
    if labels.ndim not in (2, 3) or labels.size == 0:
        raise ValueError(f"labels must have shape (h, w) or (K, h, w) and be non-empty; "
                         f"got {labels.shape}.")
    target = _check_shape(shape)
    h, w = labels.shape[-2:]
    if (h, w) == target:
        return labels
    # Source pixel containing each target pixel centre: floor((i + 0.5) * h / H).
    rows = np.minimum(((np.arange(target[0]) + 0.5) * (h / target[0])).astype(np.intp), h - 1)
    cols = np.minimum(((np.arange(target[1]) + 0.5) * (w / target[1])).astype(np.intp), w - 1)
    return labels[..., rows[:, None], cols[None, :]]


def _check_shape(shape) -> tuple[int, int]:
    try:
        target = tuple(int(s) for s in shape[:2])
    except (TypeError, ValueError):
        raise TypeError(f"shape must be a tuple (H, W) of integers; got {shape!r}.") from None
    if len(target) != 2 or min(target) < 1:
        raise ValueError(f"shape must be (H, W) with positive sizes; got {tuple(shape)!r}.")
    return target


def _identity(image, severity: float = 0.0, *, seed: int = 0) -> np.ndarray:
    """No perturbation: the image itself (validated, not copied)."""
    image = check_image(image)
    _check_seed(seed)
    return image


# --------------------------------------------------------------------------------------
# Registry and the Perturbation object
# --------------------------------------------------------------------------------------


class PerturbationKind(NamedTuple):
    """A registered perturbation: its function, a one-line description, a sweep."""

    function: Callable[..., np.ndarray]
    doc: str
    severities: tuple[float, ...]


#: kind -> (function(image, severity, *, seed), description, default severity sweep,
#: mildest first).
PERTURBATIONS: dict[str, PerturbationKind] = {
    "none": PerturbationKind(_identity, "no perturbation (the clean image)", (0.0,)),
    "noise": PerturbationKind(gaussian_noise, "additive Gaussian noise, sigma in [0, 1] "
                              "image units", (0.02, 0.05, 0.1, 0.2)),
    "blur": PerturbationKind(gaussian_blur, "Gaussian blur, sigma in pixels",
                             (0.5, 1.0, 2.0, 4.0)),
    "jpeg": PerturbationKind(jpeg, "JPEG compression round trip, quality 1..100",
                             (50.0, 20.0, 10.0, 5.0)),
    "brightness": PerturbationKind(brightness, "additive brightness offset in [-1, 1]",
                                   (0.1, 0.2, 0.3, 0.4)),
    "contrast": PerturbationKind(contrast, "contrast factor about the mean grey level",
                                 (0.75, 0.5, 0.35, 0.2)),
    "gamma": PerturbationKind(gamma, "gamma curve x ** g", (1.5, 2.0, 2.5, 3.0)),
    "downscale": PerturbationKind(downscale, "area downscale by a factor >= 1; labels "
                                  "restored by nearest neighbour", (1.5, 2.0, 3.0, 4.0)),
}

# kind -> (argument name, minimum, maximum, strict minimum, integer) for severity checks.
_RANGES = {
    "none": ("severity", 0.0, 0.0, False, False),
    "noise": ("sigma", 0.0, 1.0, False, False),
    "blur": ("sigma", 0.0, None, False, False),
    "jpeg": ("quality", 1.0, 100.0, False, True),
    "brightness": ("delta", -1.0, 1.0, False, False),
    "contrast": ("factor", 0.0, None, False, False),
    "gamma": ("g", 0.0, None, True, False),
    "downscale": ("factor", 1.0, None, False, False),
}


def _check_kind(kind) -> str:
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string; got {type(kind).__name__}.")
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation kind {kind!r}; valid kinds are "
                         f"{', '.join(PERTURBATIONS)}.")
    return kind


def _check_severity(kind: str, severity) -> float:
    arg, lo, hi, strict, integer = _RANGES[kind]
    value = check_real(severity, f"severity ({kind} {arg})", minimum=lo, maximum=hi,
                       strict_minimum=strict)
    if integer and value != int(value):
        raise ValueError(f"severity ({kind} {arg}) must be a whole number; got {value:g}.")
    return value


def _format(value: float) -> str:
    """Shortest text that parses back to the same float, without a trailing '.0'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Perturbation:
    """A named, seeded image perturbation: a kind and a severity.

    Parameters
    ----------
    kind : str
        One of :data:`PERTURBATIONS` ("none", "noise", "blur", "jpeg", "brightness",
        "contrast", "gamma", "downscale").
    severity : float
        The kind's parameter (see the module table); ignored (must be 0) for "none".

    Raises
    ------
    ValueError
        For an unknown kind (the message lists the valid ones) or a severity outside the
        kind's range.
    TypeError
        If `kind` is not a string or `severity` not a real number.

    Examples
    --------
    >>> p = parse_perturbation("noise(0.05)")
    >>> p
    Perturbation(kind='noise', severity=0.05)
    >>> str(p), p.name
    ('noise(0.05)', 'noise(0.05)')
    >>> parse_perturbation("none").apply(np.zeros((2, 2)), seed=0).shape
    (2, 2)
    """

    kind: str
    severity: float = 0.0

    def __post_init__(self) -> None:
        kind = _check_kind(self.kind)
        object.__setattr__(self, "severity", _check_severity(kind, self.severity))

    @property
    def name(self) -> str:
        """``kind(severity)``, or ``"none"``; :func:`parse_perturbation` reads it back."""
        if self.kind == "none":
            return "none"
        return f"{self.kind}({_format(self.severity)})"

    def __str__(self) -> str:
        return self.name

    @property
    def function(self) -> Callable[..., np.ndarray]:
        """The registered function ``f(image, severity, *, seed)``."""
        return PERTURBATIONS[self.kind].function

    def apply(self, image, *, seed: int) -> np.ndarray:
        """Perturb `image`; the same seed always gives the same result.

        Parameters
        ----------
        image : ndarray, shape (H, W) or (H, W, 3)
            uint8 or float in [0, 1].
        seed : int
            Non-negative seed, e.g. ``unit_seed(run_seed, image_id)``; only random
            perturbations (noise) use it.

        Returns
        -------
        perturbed : ndarray
            The input's dtype; the input's shape except for "downscale". "none" returns
            `image` itself.

        Raises
        ------
        ValueError, TypeError
            On an invalid image or seed.
        """
        return self.function(image, self.severity, seed=seed)

    def restore_labels(self, labels, shape) -> np.ndarray:
        """Bring labels computed on the perturbed image back to the original `shape`.

        The identity for every kind but "downscale", which resamples with nearest
        neighbour (:func:`restore_labels`).

        Parameters
        ----------
        labels : ndarray of int, shape (h, w) or (K, h, w)
            The method's output on the perturbed image.
        shape : tuple of int
            The original image's shape, ``(H, W)`` or ``(H, W, 3)``.

        Returns
        -------
        labels : ndarray, shape (H, W) or (K, H, W)

        Raises
        ------
        ValueError
            If `labels` does not have the size the perturbed image had.
        TypeError
            If `labels` is not an integer array.
        """
        target = _check_shape(shape)
        if not isinstance(labels, np.ndarray):
            raise TypeError(f"labels must be a numpy array; got {type(labels).__name__}.")
        expected = (_scaled_shape(target, self.severity)
                    if self.kind == "downscale" and self.severity != 1.0 else target)
        if labels.ndim not in (2, 3) or labels.shape[-2:] != expected:
            raise ValueError(f"labels must have height and width {expected} (the "
                             f"{self.name} image of an original of size {target}); got "
                             f"shape {labels.shape}.")
        return restore_labels(labels, target)


_SYNTAX = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\(\s*([^()]*?)\s*\))?\s*$")


def parse_perturbation(text) -> Perturbation:
    """Read a perturbation written as ``kind(severity)`` or ``"none"``.

    The inverse of ``str(p)`` / ``p.name``. A :class:`Perturbation` is returned as is.

    Parameters
    ----------
    text : str or Perturbation
        E.g. ``"noise(0.05)"``, ``"jpeg(20)"``, ``"downscale(2)"``, ``"none"``
        (``"none()"`` and ``"none(0)"`` too).

    Returns
    -------
    Perturbation

    Raises
    ------
    ValueError
        On a malformed text, an unknown kind (the message lists the valid ones), a
        missing or non-numeric severity, or a severity out of range.
    TypeError
        If `text` is neither a string nor a Perturbation.

    Examples
    --------
    >>> parse_perturbation("jpeg(20)")
    Perturbation(kind='jpeg', severity=20.0)
    >>> parse_perturbation(str(parse_perturbation("blur(1.5)"))).name
    'blur(1.5)'
    """
    if isinstance(text, Perturbation):
        return text
    if not isinstance(text, str):
        raise TypeError(f"perturbation must be a string like 'noise(0.05)' or 'none'; got "
                        f"{type(text).__name__}.")
    match = _SYNTAX.match(text)
    if match is None:
        raise ValueError(f"cannot read perturbation {text!r}; write kind(severity), e.g. "
                         f"'noise(0.05)', or 'none'.")
    kind, arg = match.group(1).lower(), match.group(2)
    _check_kind(kind)
    if kind == "none":
        if arg:
            return Perturbation("none", _parse_number(arg, text))
        return Perturbation("none", 0.0)
    if not arg:
        example = _format(PERTURBATIONS[kind].severities[1])
        raise ValueError(f"perturbation {text!r} needs a severity: write {kind}(value), e.g. "
                         f"'{kind}({example})'.")
    return Perturbation(kind, _parse_number(arg, text))


def _parse_number(arg: str, text: str) -> float:
    try:
        return float(arg)
    except ValueError:
        raise ValueError(f"severity in perturbation {text!r} must be a number; got "
                         f"{arg!r}.") from None


def severity_sweep(kind: str) -> list[Perturbation]:
    """The default severity sweep of a kind, mildest first.

    Parameters
    ----------
    kind : str
        One of :data:`PERTURBATIONS`.

    Returns
    -------
    perturbations : list of Perturbation

    Raises
    ------
    ValueError
        For an unknown kind (the message lists the valid ones).

    Examples
    --------
    >>> [p.name for p in severity_sweep("noise")]
    ['noise(0.02)', 'noise(0.05)', 'noise(0.1)', 'noise(0.2)']
    """
    kind = _check_kind(kind)
    return [Perturbation(kind, s) for s in PERTURBATIONS[kind].severities]


def unit_seed(run_seed: int, image_id: str) -> int:
    """A stable per-image seed from the run seed and the image id.

    BLAKE2b of ``"<run_seed>:<image_id>"``, first 8 bytes, top bit cleared: the same on
    every machine, Python version and process (unlike ``hash()``, which is salted per
    process), and different images get unrelated seeds.

    Parameters
    ----------
    run_seed : int
        The run's seed, >= 0.
    image_id : str
        The dataset sample's id.

    Returns
    -------
    seed : int
        In ``0 .. 2**63 - 1``.

    Raises
    ------
    TypeError
        If `run_seed` is not an integer or `image_id` not a string.
    ValueError
        If `run_seed` is negative.

    Examples
    --------
    >>> unit_seed(0, "12003") == unit_seed(0, "12003") != unit_seed(1, "12003")
    True
    """
    run_seed = check_int(run_seed, "run_seed", minimum=0)
    if not isinstance(image_id, str):
        raise TypeError(f"image_id must be a string; got {type(image_id).__name__}.")
    digest = hashlib.blake2b(f"{run_seed}:{image_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 63) - 1)
