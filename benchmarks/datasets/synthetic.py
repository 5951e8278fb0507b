"""Seeded synthetic scenes with exact ground truth: the suite's default dataset.

Each scene is a partition of the image into connected regions (Voronoi cells of
well-spread random sites, seen through a smooth random warp so that boundaries are
curved), and each region is painted with the appearance of one semantic class. The
generator is fast (a 256x256 image in well under 50 ms, vectorised numpy/OpenCV) and
deterministic: the same ``(seed, split, index)`` gives the same bytes in any process on
the same platform and library versions, because every random draw comes from a
:class:`numpy.random.Generator` seeded by a :class:`numpy.random.SeedSequence`;
nothing touches global random state.

Ground truth
------------
* ``Sample.mask``: int64 class index per pixel, every pixel labelled (no ignore).
* ``Sample.partitions``: one int32 region partition, regions numbered 1..n, each region
  one 4-connected component, together covering the image.
* Regions that touch, even only diagonally, always have different classes (greedy
  colouring of the 8-neighbour region adjacency graph). Hence the partition equals
  :func:`~benchmarks.datasets._base.mask_to_partition` of the mask up to relabelling.

Classes and the texture-only pairs
----------------------------------
A class is an appearance family plus fixed colours (:data:`CLASS_TABLE`); regions
vary only by small jitter (colour offset, texture period and angle, phase), so an FCN
can learn every class. Four classes share the **same mean colour**, grey 130:

* ``stripes-h-grey`` and ``stripes-v-grey`` are stripes of the same two greys (75 and
  185) with the same period; they differ only in orientation. Gradient orientation
  energy separates them: ``mean((dI/dy)**2)`` dominates ``mean((dI/dx)**2)`` in
  horizontal stripes and the reverse in vertical ones (equivalently, a Gabor filter
  at 0 vs 90 degrees).
* ``flat-grey`` and ``speckle-grey`` (random 3x3-pixel cells of the same two greys)
  differ only in local variance: speckle-grey pixels deviate by 55 * texture_contrast
  grey levels from the mean (a 5x5-window standard deviation of about 40 at full
  contrast), flat-grey pixels only by the noise. Neither has a preferred orientation.

Colour-only predicates therefore cannot separate any two of these four classes, while
texture predicates can. Presets ``easy`` use the first pair; ``medium`` and ``hard``
use all four classes.

Difficulty knobs (:class:`SyntheticParams`) are Gaussian noise, blur, a linear
illumination gradient, texture contrast, colour jitter, boundary warp, the number of
regions and the image size. Scene layout, textures and degradations come from three
independent random streams, so changing only `noise`, `blur` or `illumination` keeps
the scene (mask and partition) and its textures exactly the same: a difficulty sweep
at a fixed scene.

References
----------
.. [1] D. W. Matula and L. L. Beck, "Smallest-last ordering and clustering and graph
   coloring algorithms", Journal of the ACM 30(3), 417-427, 1983.
.. [2] D. P. Mitchell, "Spectrally optimal sampling for distribution ray tracing",
   SIGGRAPH 1991 (best-candidate sampling of the Voronoi sites).

Examples
--------
>>> ds = SyntheticDataset("train", preset="easy", seed=0)
>>> sample = ds[0]
>>> sample.id, sample.image.shape, sample.mask.dtype, int(sample.partitions[0].min())
('easy-train-0000', (128, 128, 3), dtype('int64'), 1)
>>> image, mask, partition = make_scene(PRESETS["hard"], np.random.default_rng(1))
>>> image.shape
(256, 256, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from benchmarks.datasets._base import ClassInfo, Sample, SegmentationDataset
from classical._validate import check_int, check_real

__all__ = [
    "CLASS_TABLE",
    "FAMILIES",
    "PRESETS",
    "SPLITS",
    "SyntheticClass",
    "SyntheticDataset",
    "SyntheticParams",
    "TEXTURE_PAIRS",
    "make_scene",
    "render_class",
]

#: Dataset splits; the split name goes into the seed, so the splits are disjoint draws.
SPLITS = ("train", "val", "test")
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}

#: Appearance families. ``t`` below is the per-pixel texture value in [-1, 1]; a pixel
#: is ``mid + t * half`` with ``mid = (color + color2) / 2``, ``half = (color2 - color) / 2``.
FAMILIES = ("flat", "gradient", "stripes", "checker", "speckle", "grain", "brick")


@dataclass(frozen=True)
class SyntheticClass:
    """Appearance of one synthetic class.

    Attributes
    ----------
    name : str
        Readable class name, ``"<family>-<colour>"``.
    family : str
        One of :data:`FAMILIES`:

        * ``"flat"``: constant `color` (`color2` equals it).
        * ``"gradient"``: linear ramp from `color` to `color2` across the region along
          `angle` (not scaled by texture contrast: it is shading, not texture).
        * ``"stripes"``: soft square-wave stripes of `color` and `color2`, period
          `scale` pixels, running along `angle` (0 = horizontal stripes).
        * ``"checker"``: axis-aligned checkerboard of `color` and `color2`, cells of
          `scale` pixels.
        * ``"speckle"``: independent random cells of `scale` x `scale` pixels, each
          `color` or `color2` with probability 1/2.
        * ``"grain"``: white noise smeared along `angle` (length `scale` pixels), a
          Gabor-like oriented noise between `color` and `color2`.
        * ``"brick"``: running-bond bricks of `color2` (rows `scale` pixels high,
          bricks twice as long) with 2-pixel mortar joints of `color`.
    color, color2 : tuple of int
        The two RGB colours (0..255) described above.
    scale : float
        Texture period or cell size in pixels (unused by flat and gradient).
    angle : float
        Orientation in degrees (stripes, grain and gradient).
    display : tuple of int
        RGB colour used to draw the class in masks; distinct across classes.
    """

    name: str
    family: str
    color: tuple[int, int, int]
    color2: tuple[int, int, int]
    scale: float
    angle: float
    display: tuple[int, int, int]

    @property
    def mean_color(self) -> tuple[float, float, float]:
        """Mean RGB colour of a large patch at zero jitter (brick: approximately)."""
        if self.family == "brick":
            # Mortar (2 px) covers 1 - (1 - 2/h)(1 - 2/(2h)) of the area.
            h = self.scale
            mortar = 1.0 - (1.0 - 2.0 / h) * (1.0 - 1.0 / h)
            return tuple(float(mortar * a + (1 - mortar) * b)
                         for a, b in zip(self.color, self.color2))
        return tuple((a + b) / 2.0 for a, b in zip(self.color, self.color2))


_GREY_LO, _GREY_HI = (75, 75, 75), (185, 185, 185)

#: Every synthetic class, in index order. A preset with ``num_classes = k`` uses the
#: first k entries; the texture-only pairs come early so that every preset has one.
CLASS_TABLE: tuple[SyntheticClass, ...] = (
    SyntheticClass("flat-red", "flat", (200, 60, 50), (200, 60, 50), 0.0, 0.0, (220, 40, 40)),
    SyntheticClass("stripes-h-grey", "stripes", _GREY_LO, _GREY_HI, 8.0, 0.0, (60, 60, 200)),
    SyntheticClass("stripes-v-grey", "stripes", _GREY_LO, _GREY_HI, 8.0, 90.0, (80, 200, 220)),
    SyntheticClass("gradient-blue", "gradient", (40, 70, 150), (120, 160, 235), 0.0, 30.0,
                   (30, 120, 255)),
    SyntheticClass("checker-green", "checker", (40, 110, 45), (130, 200, 110), 6.0, 0.0,
                   (40, 180, 60)),
    SyntheticClass("flat-yellow", "flat", (225, 200, 70), (225, 200, 70), 0.0, 0.0,
                   (250, 230, 40)),
    SyntheticClass("flat-grey", "flat", (130, 130, 130), (130, 130, 130), 0.0, 0.0,
                   (150, 150, 150)),
    SyntheticClass("speckle-grey", "speckle", _GREY_LO, _GREY_HI, 3.0, 0.0, (200, 80, 220)),
    SyntheticClass("grain-brown", "grain", (105, 65, 35), (185, 135, 85), 6.0, 45.0,
                   (140, 90, 40)),
    SyntheticClass("brick-orange", "brick", (230, 215, 195), (190, 100, 50), 8.0, 0.0,
                   (255, 140, 0)),
)

#: Class pairs (by name) with the same mean colour, and the statistic that separates them.
TEXTURE_PAIRS = (
    ("stripes-h-grey", "stripes-v-grey", "gradient orientation energy"),
    ("flat-grey", "speckle-grey", "local variance"),
)

_MIN_CLASSES = 4


@dataclass(frozen=True)
class SyntheticParams:
    """Every knob of the synthetic generator, with the ``medium`` preset's defaults.

    Attributes
    ----------
    height, width : int
        Image size in pixels (>= 16).
    num_classes : int
        Number of classes used: the first `num_classes` entries of
        :data:`CLASS_TABLE` (4..len(CLASS_TABLE)).
    n_regions : tuple of (int, int)
        Inclusive range of the number of Voronoi sites per image. Cells smaller than
        `min_size` are absorbed by their neighbours, so a scene may have fewer regions.
    min_size : int
        Smallest region, in pixels.
    boundary_warp : float
        Standard deviation of the smooth displacement that curves the cell boundaries,
        in pixels (0 = straight-edged convex polygons).
    warp_wavelength : float
        Spatial scale of that displacement, in pixels (> 0).
    texture_contrast : float
        Amplitude of the textures relative to the class's two colours, in [0, 1]
        (0 makes every textured class flat at its mean colour).
    color_jitter : float
        Standard deviation of the per-region RGB offset, in grey levels.
    illumination : float
        Peak-to-peak strength of a linear illumination gradient in a random direction
        (gain from ``1 - illumination/2`` to ``1 + illumination/2``), in [0, 1].
    blur : float
        Gaussian blur sigma in pixels (0 = none); applied after illumination.
    noise : float
        Standard deviation of additive Gaussian noise, in grey levels; applied last.
    n_train, n_val, n_test : int
        Number of images in each split of a :class:`SyntheticDataset`.

    Raises
    ------
    TypeError, ValueError
        From ``__post_init__``, naming the field, when a value has the wrong kind or
        is out of range.
    """

    height: int = 160
    width: int = 160
    num_classes: int = 8
    n_regions: tuple[int, int] = (10, 16)
    min_size: int = 150
    boundary_warp: float = 4.0
    warp_wavelength: float = 32.0
    texture_contrast: float = 0.8
    color_jitter: float = 5.0
    illumination: float = 0.25
    blur: float = 0.6
    noise: float = 8.0
    n_train: int = 64
    n_val: int = 24
    n_test: int = 24

    def __post_init__(self) -> None:
        check_int(self.height, "height", minimum=16)
        check_int(self.width, "width", minimum=16)
        check_int(self.num_classes, "num_classes", minimum=_MIN_CLASSES,
                  maximum=len(CLASS_TABLE))
        n_regions = self.n_regions
        if (not isinstance(n_regions, (tuple, list)) or len(n_regions) != 2
                or not all(isinstance(v, Integral) and not isinstance(v, (bool, np.bool_))
                           for v in n_regions)):
            raise TypeError(
                f"n_regions must be a pair of integers (min, max); got {n_regions!r}."
            )
        lo, hi = int(n_regions[0]), int(n_regions[1])
        if not 1 <= lo <= hi:
            raise ValueError(
                f"n_regions must satisfy 1 <= min <= max; got {tuple(n_regions)}. "
                "Pass e.g. n_regions=(10, 16)."
            )
        object.__setattr__(self, "n_regions", (lo, hi))
        check_int(self.min_size, "min_size", minimum=1)
        check_real(self.boundary_warp, "boundary_warp", minimum=0.0)
        check_real(self.warp_wavelength, "warp_wavelength", minimum=0.0, strict_minimum=True)
        check_real(self.texture_contrast, "texture_contrast", minimum=0.0, maximum=1.0)
        check_real(self.color_jitter, "color_jitter", minimum=0.0)
        check_real(self.illumination, "illumination", minimum=0.0, maximum=1.0)
        check_real(self.blur, "blur", minimum=0.0)
        check_real(self.noise, "noise", minimum=0.0)
        check_int(self.n_train, "n_train", minimum=0)
        check_int(self.n_val, "n_val", minimum=0)
        check_int(self.n_test, "n_test", minimum=0)

    def split_size(self, split: str) -> int:
        """Number of images in `split` ("train", "val" or "test")."""
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}[
            _check_split(split)]


#: Named difficulty presets. Medium is the default: small enough for quick CPU FCN
#: training, hard enough that colour-only methods fail on the grey classes.
PRESETS: dict[str, SyntheticParams] = {
    "easy": SyntheticParams(
        height=128, width=128, num_classes=6, n_regions=(6, 10), min_size=200,
        boundary_warp=2.0, texture_contrast=1.0, color_jitter=3.0, illumination=0.0,
        blur=0.0, noise=3.0),
    "medium": SyntheticParams(),
    "hard": SyntheticParams(
        height=256, width=256, num_classes=10, n_regions=(24, 36), min_size=120,
        boundary_warp=7.0, texture_contrast=0.55, color_jitter=8.0, illumination=0.5,
        blur=1.0, noise=16.0),
}


def _check_split(split) -> str:
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}.")
    return split


def _check_params(params) -> SyntheticParams:
    if not isinstance(params, SyntheticParams):
        raise TypeError(
            f"params must be a SyntheticParams; got {type(params).__name__}. "
            "Build one with SyntheticParams(...) or take PRESETS['medium']."
        )
    return params


# ----------------------------------------------------------------------------- layout

def _best_candidate_sites(n: int, height: int, width: int, rng: np.random.Generator,
                          candidates: int = 3) -> np.ndarray:
    """(n, 2) well-spread (y, x) sites by Mitchell's best-candidate sampling."""
    sites = np.empty((n, 2))
    high = np.array([height, width], dtype=float)
    sites[0] = rng.uniform(0.0, 1.0, 2) * high
    for i in range(1, n):
        cand = rng.uniform(0.0, 1.0, (candidates, 2)) * high
        d2 = ((cand[:, None, :] - sites[None, :i, :]) ** 2).sum(-1).min(axis=1)
        sites[i] = cand[np.argmax(d2)]
    return sites


def _smooth_field(height: int, width: int, wavelength: float,
                  rng: np.random.Generator) -> np.ndarray:
    """(2, H, W) float32: two smooth random fields, each with unit standard deviation.

    Bicubic interpolation of random values on a grid of spacing `wavelength`, plus
    half as much of the same at half the spacing.
    """
    import cv2

    total = np.zeros((height, width, 2), np.float32)
    for octave, weight in ((wavelength, 1.0), (wavelength / 2.0, 0.5)):
        cell = max(int(round(octave)), 2)
        gh, gw = -(-height // cell) + 3, -(-width // cell) + 3
        coarse = rng.standard_normal((gh, gw, 2), dtype=np.float32)
        fine = cv2.resize(coarse, (gw * cell, gh * cell), interpolation=cv2.INTER_CUBIC)
        total += np.float32(weight) * fine[cell:cell + height, cell:cell + width]
    std = total[::4, ::4].reshape(-1, 2).std(axis=0)  # a subsample is plenty
    total /= np.where(std > 0, std, 1.0).astype(np.float32)
    return np.moveaxis(total, -1, 0)


def _voronoi_labels(params: SyntheticParams, rng: np.random.Generator) -> np.ndarray:
    """(H, W) int32 nearest-site labels 0..n-1 in warped coordinates."""
    h, w = params.height, params.width
    lo, hi = params.n_regions
    n = int(rng.integers(lo, hi + 1))
    sites = _best_candidate_sites(n, h, w, rng).astype(np.float32)
    field = _smooth_field(h, w, params.warp_wavelength, rng)
    yy = np.arange(h, dtype=np.float32)[:, None] + np.float32(params.boundary_warp) * field[0]
    xx = np.arange(w, dtype=np.float32)[None, :] + np.float32(params.boundary_warp) * field[1]
    best = np.full((h, w), np.inf, np.float32)
    labels = np.zeros((h, w), np.int32)
    # argmin_i |p - s_i|^2 = argmin_i (|s_i|^2 - 2 p.s_i): three passes per site.
    d2 = np.empty((h, w), np.float32)
    tmp = np.empty((h, w), np.float32)
    closer = np.empty((h, w), bool)
    for i, (sy, sx) in enumerate(sites):
        np.multiply(yy, -2.0 * sy, out=d2)
        np.multiply(xx, -2.0 * sx, out=tmp)
        d2 += tmp
        d2 += sy * sy + sx * sx
        np.less(d2, best, out=closer)
        np.copyto(best, d2, where=closer)
        np.copyto(labels, i, where=closer)
    return labels


def _connected_partition(labels: np.ndarray, min_size: int, max_rounds: int = 8) -> np.ndarray:
    """Turn `labels` into a partition of 4-connected regions numbered 1..n.

    Each label keeps only its largest 4-connected component, and only if it has at
    least `min_size` pixels; every other pixel takes the label of its nearest kept
    pixel. This repeats until stable; whatever remains is split into components, so
    the result is always a partition into connected regions.
    """
    import cv2
    from skimage.measure import label

    for _ in range(max_rounds):
        comp = label(labels + 1, background=0, connectivity=1)
        m = int(comp.max())
        sizes = np.bincount(comp.ravel(), minlength=m + 1)
        owner = np.zeros(m + 1, np.int64)
        owner[comp.ravel()] = labels.ravel()
        # Largest component of each owner: sort by (owner, -size), take each first.
        order = np.lexsort((-sizes[1:], owner[1:]))
        first = order[np.unique(owner[1:][order], return_index=True)[1]] + 1
        keep = np.zeros(m + 1, bool)
        keep[first] = True
        keep &= sizes >= min_size
        keep[0] = False
        if not keep.any():
            keep[1 + int(np.argmax(sizes[1:]))] = True
        if keep[1:].all():
            return comp.astype(np.int32)
        drop = ~keep[comp]
        # Nearest kept pixel of every pixel: OpenCV numbers the zero (kept) pixels
        # 1..k in raster order; kept pixels are their own nearest.
        _, nearest = cv2.distanceTransformWithLabels(
            drop.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
        kept = np.flatnonzero(~drop.ravel())
        labels = labels.ravel()[kept[nearest.ravel() - 1]].reshape(labels.shape)
    return label(labels + 1, background=0, connectivity=1).astype(np.int32)


def _adjacency(partition: np.ndarray) -> list[set[int]]:
    """Neighbour sets (8-neighbourhood) of regions 1..n; index 0 unused."""
    n = int(partition.max())
    p = partition
    pairs = []
    for a, b in ((p[:, :-1], p[:, 1:]), (p[:-1, :], p[1:, :]),
                 (p[:-1, :-1], p[1:, 1:]), (p[:-1, 1:], p[1:, :-1])):
        differ = a != b
        pairs.append(np.stack([a[differ], b[differ]], axis=1))
    pairs = np.concatenate(pairs).astype(np.int64)
    codes = np.unique(np.minimum(pairs[:, 0], pairs[:, 1]) * (n + 1)
                      + np.maximum(pairs[:, 0], pairs[:, 1]))
    neighbours: list[set[int]] = [set() for _ in range(n + 1)]
    for u, v in zip((codes // (n + 1)).tolist(), (codes % (n + 1)).tolist()):
        neighbours[u].add(v)
        neighbours[v].add(u)
    return neighbours


def _smallest_last_order(neighbours: list[set[int]], rng: np.random.Generator) -> list[int]:
    """Vertices 1..n in smallest-last order (Matula & Beck); ties broken at random."""
    n = len(neighbours) - 1
    degree = np.array([len(nb) for nb in neighbours], np.float64)
    tiebreak = np.zeros(n + 1)
    tiebreak[1:] = rng.permutation(n) / max(n, 1)  # in [0, 1): below one degree step
    degree[0] = np.inf
    removed: list[int] = []
    for _ in range(n):
        v = int(np.argmin(degree + tiebreak))
        removed.append(v)
        degree[v] = np.inf
        for u in neighbours[v]:
            degree[u] -= 1  # inf stays inf for removed vertices
    return removed[::-1]


def _colour_regions(neighbours: list[set[int]], num_classes: int,
                    rng: np.random.Generator, budget: int = 20000) -> np.ndarray | None:
    """Class per region (index 0 unused) with no two neighbours alike, or None.

    Greedy in smallest-last order; each region takes, among the classes its coloured
    neighbours leave free, one used least so far in the scene (ties in a random class
    order). If greedy gets stuck, a DSatur backtracking search with a step budget
    takes over.
    """
    n = len(neighbours) - 1
    colour = np.full(n + 1, -1, np.int64)
    used = np.zeros(num_classes, np.int64)
    priority = rng.permutation(num_classes)
    stuck = False
    for v in _smallest_last_order(neighbours, rng):
        taken = {int(colour[u]) for u in neighbours[v]}
        free = [c for c in priority.tolist() if c not in taken]
        if not free:
            stuck = True
            break
        c = min(free, key=lambda k: used[k])  # min keeps the random order among ties
        colour[v] = c
        used[c] += 1
    if not stuck:
        return colour

    # DSatur backtracking: colour the most constrained region first.
    colour[:] = -1
    steps = [0]

    def solve(remaining: set[int]) -> bool:
        if not remaining:
            return True
        steps[0] += 1
        if steps[0] > budget:
            return False
        v = max(remaining, key=lambda u: (len({int(colour[w]) for w in neighbours[u]} - {-1}),
                                          len(neighbours[u]), -u))
        taken = {int(colour[w]) for w in neighbours[v]}
        remaining.remove(v)
        for c in priority.tolist():
            if c not in taken:
                colour[v] = c
                if solve(remaining):
                    return True
        colour[v] = -1
        remaining.add(v)
        return False

    return colour if solve(set(range(1, n + 1))) else None


def _layout(params: SyntheticParams, rng: np.random.Generator,
            attempts: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Partition (int32, 1..n) and class per region (int64, index 0 unused)."""
    for _ in range(attempts):
        labels = _voronoi_labels(params, rng)
        partition = _connected_partition(labels, params.min_size)
        region_class = _colour_regions(_adjacency(partition), params.num_classes, rng)
        if region_class is not None:
            return partition, region_class
    raise RuntimeError(  # pragma: no cover - needs a non-colourable graph 20 times over
        f"could not colour the region adjacency graph with num_classes="
        f"{params.num_classes} in {attempts} attempts; raise num_classes."
    )


# ---------------------------------------------------------------------------- texture

def _class_arrays(num_classes: int):
    table = CLASS_TABLE[:num_classes]
    lo = np.array([c.color for c in table], np.float32)
    hi = np.array([c.color2 for c in table], np.float32)
    family = np.array([FAMILIES.index(c.family) for c in table], np.int64)
    scale = np.array([c.scale for c in table], np.float32)
    angle = np.array([c.angle for c in table], np.float32)
    return table, lo, hi, family, scale, angle


def _grain_field(height: int, width: int, length: float, angle_deg: float,
                 rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 oriented noise in (-1, 1): white noise smeared along `angle`.

    The noise is smeared along x with a separable Gaussian (sigma `length` by 1
    pixel) on a square canvas covering the image at any rotation, then rotated by
    `angle` (counter-clockwise on screen) and cropped.
    """
    import cv2

    side = int(np.ceil(np.hypot(height, width))) + 4
    radius_long = int(np.ceil(3 * length))
    k_long = cv2.getGaussianKernel(2 * radius_long + 1, float(length), cv2.CV_32F)
    k_short = cv2.getGaussianKernel(7, 1.0, cv2.CV_32F)
    std = float(np.sqrt((k_long ** 2).sum() * (k_short ** 2).sum()))
    noise = rng.standard_normal((side, side), dtype=np.float32)
    smeared = cv2.sepFilter2D(noise, -1, k_long, k_short, borderType=cv2.BORDER_REFLECT_101)
    centre = ((side - 1) / 2.0, (side - 1) / 2.0)
    rotation = cv2.getRotationMatrix2D(centre, float(angle_deg), 1.0)
    # Shift so that the image's centre lands on the canvas centre.
    rotation[:, 2] -= [(side - width) / 2.0, (side - height) / 2.0]
    field = cv2.warpAffine(smeared, rotation, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT_101)
    return np.tanh(field / np.float32(std))


def _speckle_field(height: int, width: int, cell: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 of +-1 on random `cell` x `cell` blocks."""
    gh, gw = -(-height // cell) + 1, -(-width // cell) + 1
    grid = (rng.integers(0, 2, (gh, gw)) * 2 - 1).astype(np.float32)
    oy, ox = (int(v) for v in rng.integers(0, cell, 2))
    full = np.repeat(np.repeat(grid, cell, axis=0), cell, axis=1)
    return full[oy:oy + height, ox:ox + width]


def _texture_values(family: str, y: np.ndarray, x: np.ndarray, region: np.ndarray,
                    scale: np.ndarray, angle: np.ndarray, phase: np.ndarray,
                    offset: np.ndarray, n_regions: int) -> np.ndarray:
    """Texture value t in [-1, 1] at pixels (y, x) of the given regions (not fields)."""
    if family == "stripes":
        theta = np.deg2rad(angle[region])
        s = y * np.cos(theta) - x * np.sin(theta)
        wave = np.sin(np.float32(2 * np.pi) * s / scale[region] + phase[region])
        return np.tanh(2.0 * wave) / np.float32(np.tanh(2.0))
    if family == "checker":
        c = scale[region]
        u = np.floor((x + offset[region, 1]) / c) + np.floor((y + offset[region, 0]) / c)
        return 1.0 - 2.0 * np.mod(u, 2.0)
    if family == "brick":
        h = scale[region]
        u, v = x + offset[region, 1], y + offset[region, 0]
        row = np.floor(v / h)
        along = u + np.mod(row, 2.0) * h  # bricks are 2h long; odd rows shift by h
        mortar = (np.mod(v, h) < 2.0) | (np.mod(along, 2.0 * h) < 2.0)
        return np.where(mortar, np.float32(-1.0), np.float32(1.0))
    if family == "gradient":
        theta = np.deg2rad(angle[region])
        s = x * np.cos(theta) - y * np.sin(theta)
        smin = np.full(n_regions + 1, np.inf, np.float32)
        smax = np.full(n_regions + 1, -np.inf, np.float32)
        np.minimum.at(smin, region, s)
        np.maximum.at(smax, region, s)
        span = np.maximum(smax - smin, 1.0)
        return 2.0 * (s - smin[region]) / span[region] - 1.0
    raise ValueError(f"unknown texture family {family!r}")  # pragma: no cover


def _paint(partition: np.ndarray, region_class: np.ndarray, params: SyntheticParams,
           rng: np.random.Generator, shape_jitter: bool = True) -> np.ndarray:
    """Clean float32 (H, W, 3) rendering of the classes, before degradations.

    With ``shape_jitter=False`` every region has its class's exact period and angle (the
    colour jitter is ``params.color_jitter``).
    """
    h, w = partition.shape
    n = int(partition.max())
    table, lo, hi, family, scale, angle = _class_arrays(params.num_classes)
    # Every draw happens in a fixed order whatever classes are present.
    field_seeds = rng.integers(0, 2**63 - 1, size=len(CLASS_TABLE))
    jitter = rng.normal(0.0, 1.0, (n + 1, 3)).astype(np.float32) * np.float32(params.color_jitter)
    scale_jitter = rng.uniform(0.9, 1.1, n + 1).astype(np.float32)
    angle_jitter = rng.normal(0.0, 3.0, n + 1).astype(np.float32)
    phase = rng.uniform(0.0, 2 * np.pi, n + 1).astype(np.float32)
    offset = rng.uniform(0.0, 64.0, (n + 1, 2)).astype(np.float32)

    if not shape_jitter:
        scale_jitter[:] = 1.0
        angle_jitter[:] = 0.0
    rc = np.where(np.arange(n + 1) > 0, region_class, 0)
    r_family = family[rc]
    r_scale = scale[rc] * scale_jitter
    r_angle = angle[rc] + angle_jitter
    gradient = FAMILIES.index("gradient")
    contrast = np.where(r_family == gradient, 1.0, params.texture_contrast).astype(np.float32)
    r_mid = (lo[rc] + hi[rc]) / 2 + jitter
    r_half = (hi[rc] - lo[rc]) / 2 * contrast[:, None]

    flat_part = partition.ravel()
    px_family = r_family[flat_part]
    t = np.zeros(h * w, np.float32)
    for f, fname in enumerate(FAMILIES):
        if fname == "flat":
            continue
        idx = np.flatnonzero(px_family == f)
        if idx.size == 0:
            continue
        if fname in ("speckle", "grain"):
            # One field per class over the whole image, read where that class is.
            classes = np.unique(rc[flat_part[idx]])
            for k in classes.tolist():
                sub = idx[rc[flat_part[idx]] == k]
                field_rng = np.random.default_rng(int(field_seeds[k]))
                if fname == "speckle":
                    field = _speckle_field(h, w, max(int(round(table[k].scale)), 1), field_rng)
                else:
                    field = _grain_field(h, w, table[k].scale, table[k].angle, field_rng)
                t[sub] = field.ravel()[sub]
            continue
        region = flat_part[idx]
        y = (idx // w).astype(np.float32)
        x = (idx % w).astype(np.float32)
        t[idx] = _texture_values(fname, y, x, region, r_scale, r_angle, phase, offset, n)
    image = np.empty((h * w, 3), np.float32)
    for c in range(3):  # 1-D gathers per channel are several times faster than 2-D ones
        channel = image[:, c]
        np.multiply(np.take(r_half[:, c], flat_part), t, out=channel)
        channel += np.take(r_mid[:, c], flat_part)
    return image.reshape(h, w, 3)


def _degrade(image: np.ndarray, params: SyntheticParams, rng: np.random.Generator) -> np.ndarray:
    """Illumination gradient, then blur, then noise; rounded to uint8.

    `image` (float32, from :func:`_paint`) may be overwritten.
    """
    import cv2

    h, w = image.shape[:2]
    phi = rng.uniform(0.0, 2 * np.pi)
    if params.illumination > 0:
        yy = (np.arange(h, dtype=np.float32) - (h - 1) / 2)[:, None]
        xx = (np.arange(w, dtype=np.float32) - (w - 1) / 2)[None, :]
        ramp = (xx * np.float32(np.cos(phi)) + yy * np.float32(np.sin(phi))) / np.float32(
            np.hypot(h, w))
        image *= (1.0 + np.float32(params.illumination) * ramp)[:, :, None]
    if params.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), sigmaX=params.blur, sigmaY=params.blur,
                                 borderType=cv2.BORDER_REFLECT_101)
    if params.noise > 0:
        noise = rng.standard_normal(image.shape, dtype=np.float32)
        noise *= np.float32(params.noise)
        image += noise
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return image.astype(np.uint8)


# ------------------------------------------------------------------------- public API

def make_scene(params: SyntheticParams, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate one synthetic scene with its exact ground truth.

    Parameters
    ----------
    params : SyntheticParams
        Generator knobs (e.g. ``PRESETS["medium"]``).
    rng : numpy.random.Generator
        Source of randomness. Three independent streams are drawn from it (layout,
        texture, degradation), so scenes from equal generators are identical, and
        changing only `noise`, `blur` or `illumination` keeps mask and partition.

    Returns
    -------
    image : ndarray of uint8, shape (H, W, 3)
        RGB image.
    mask : ndarray of int64, shape (H, W)
        Class index per pixel, in ``0..params.num_classes-1``; no ignore pixels.
    partition : ndarray of int32, shape (H, W)
        Regions numbered 1..n, each one 4-connected component; regions that touch
        (also diagonally) have different classes.

    Raises
    ------
    TypeError
        If `params` is not a :class:`SyntheticParams` or `rng` not a Generator.

    Examples
    --------
    >>> image, mask, partition = make_scene(PRESETS["easy"], np.random.default_rng(0))
    >>> image.dtype, mask.dtype, partition.dtype
    (dtype('uint8'), dtype('int64'), dtype('int32'))
    """
    params = _check_params(params)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator; got {type(rng).__name__}. "
            "Pass np.random.default_rng(seed)."
        )
    layout_seed, texture_seed, degrade_seed = (int(s) for s in rng.integers(0, 2**63 - 1, 3))
    partition, region_class = _layout(params, np.random.default_rng(layout_seed))
    clean = _paint(partition, region_class, params, np.random.default_rng(texture_seed))
    image = _degrade(clean, params, np.random.default_rng(degrade_seed))
    mask = region_class[partition].astype(np.int64)
    return image, mask, partition


def render_class(index: int, shape: tuple[int, int] = (128, 128), *,
                 texture_contrast: float = 1.0, seed: int = 0) -> np.ndarray:
    """Paint a whole patch with one class: no jitter, illumination, blur or noise.

    Useful to inspect a class and to test texture statistics on a large patch.

    Parameters
    ----------
    index : int
        Class index into :data:`CLASS_TABLE`.
    shape : tuple of (int, int), optional
        Patch (height, width), each >= 16.
    texture_contrast : float, optional
        As in :class:`SyntheticParams`, in [0, 1].
    seed : int, optional
        Seed for the texture phase and random textures (>= 0).

    Returns
    -------
    patch : ndarray of float32, shape (H, W, 3)
        Unrounded RGB values in grey levels (0..255).

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong kind or is out of range.
    """
    index = check_int(index, "index", minimum=0, maximum=len(CLASS_TABLE) - 1)
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a pair (height, width); got {shape!r}.")
    h = check_int(shape[0], "shape[0]", minimum=16)
    w = check_int(shape[1], "shape[1]", minimum=16)
    seed = check_int(seed, "seed", minimum=0)
    params = SyntheticParams(height=h, width=w, num_classes=len(CLASS_TABLE),
                             texture_contrast=texture_contrast, color_jitter=0.0)
    partition = np.ones((h, w), np.int32)
    region_class = np.array([0, index], np.int64)
    return _paint(partition, region_class, params, np.random.default_rng(seed),
                  shape_jitter=False)


class SyntheticDataset(SegmentationDataset):
    """The embedded synthetic dataset: generated on demand, deterministic, exact.

    Sample ``i`` of a split is :func:`make_scene` with a generator seeded by
    ``SeedSequence([seed, split_code, i])`` (train 0, val 1, test 2), so the splits
    are fixed and disjoint for a given seed. Nothing is cached or read from disk.

    Parameters
    ----------
    split : {"train", "val", "test"}, optional
        Which split.
    preset : {"easy", "medium", "hard"}, optional
        Named parameters from :data:`PRESETS`; ignored when `params` is given.
    seed : int, optional
        Dataset seed (>= 0).
    root : path-like, optional
        Accepted so that every dataset has the same signature; unused (nothing is
        read), and :attr:`root` stays None.
    params : SyntheticParams, optional
        Custom generator parameters instead of the preset's. Sample ids then start
        with ``"custom"`` unless `params` equals the preset's.

    Attributes
    ----------
    name : str
        ``"synthetic"``.
    task : str
        ``"semantic"``.
    ids : list of str
        ``"<preset>-<split>-<index:04d>"``, e.g. ``"medium-train-0007"``.
    classes : tuple of ClassInfo
        The first ``params.num_classes`` entries of :data:`CLASS_TABLE`, with their
        display colours.
    params : SyntheticParams
        The parameters in use.

    Raises
    ------
    ValueError
        On an unknown split or preset (the message lists the valid ones) or a
        negative seed.
    TypeError
        If `seed` is not an integer or `params` not a :class:`SyntheticParams`.

    Examples
    --------
    >>> ds = SyntheticDataset("val", preset="easy")
    >>> len(ds), ds.num_classes, ds.ids[7]
    (24, 6, 'easy-val-0007')
    """

    name = "synthetic"
    task = "semantic"

    def __init__(self, split: str = "train", preset: str = "medium", seed: int = 0,
                 root=None, params: SyntheticParams | None = None):
        self.split = _check_split(split)
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ValueError(
                f"preset must be one of {', '.join(map(repr, PRESETS))}; got {preset!r}. "
                "For other settings pass params=SyntheticParams(...)."
            )
        self.seed = check_int(seed, "seed", minimum=0)
        self.preset = preset
        if params is None:
            params = PRESETS[preset]
        self.params = _check_params(params)
        prefix = preset if params == PRESETS[preset] else "custom"
        self.root = None
        self.ids = [f"{prefix}-{split}-{i:04d}" for i in range(params.split_size(split))]
        self.classes = tuple(ClassInfo(i, c.name, c.display)
                             for i, c in enumerate(CLASS_TABLE[:params.num_classes]))

    def __repr__(self) -> str:
        return (f"SyntheticDataset(split={self.split!r}, preset={self.preset!r}, "
                f"seed={self.seed}, n={len(self)})")

    def rng(self, index: int) -> np.random.Generator:
        """The generator that sample `index` of this split is drawn from."""
        index = self._check_index(index)
        return np.random.default_rng(
            np.random.SeedSequence([self.seed, _SPLIT_CODE[self.split], index]))

    def _check_index(self, index) -> int:
        index = check_int(index, "index")
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {self!r} with {len(self)} samples.")
        return index

    def load(self, index: int) -> Sample:
        """Generate sample `index` (0 <= index < len(self)).

        Raises
        ------
        IndexError
            If `index` is out of range.
        """
        index = self._check_index(index)
        image, mask, partition = make_scene(self.params, self.rng(index))
        return Sample(id=self.ids[index], image=image, mask=mask, partitions=[partition])
