"""Speed of classical.features and RegionStats on a BSDS-sized (321 x 481) image.

Run ``python benchmarks/perf/features_speed.py [--repeats 5] [--height 321 --width 481]``.
It prints one line per measurement (best wall time over the repeats, the least disturbed
by other processes) and, for the
Gabor bank, the ratio against ``skimage.filters.gabor`` applied for the same bank (same
orientations, frequencies, bandwidth and border mode) in the same run. (skimage cuts its
kernels at 3 sigma along the rotated axes, so its diagonal kernels are a little smaller
than ours; that favours skimage.)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from skimage.filters import gabor

from benchmarks.perf._common import best_time as _best_time
from classical.features import FEATURES, feature_stack, gabor_energy, gabor_kernels
from classical.predicates import MeanDistance, RegionStats, SRM, TextureDistance

__all__ = ["main", "best_time", "skimage_gabor_bank", "synthetic_image"]


def best_time(function: Callable[[], object], repeats: int, *, warmup: bool = True) -> float:
    """Best wall time of `repeats` calls (after one warm-up call if `warmup`), in seconds."""
    if warmup:
        function()
    return _best_time(function, repeats)


def synthetic_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A textured RGB test image in [0, 1]: smooth colour blobs plus stripes and noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices((height, width))
    base = np.stack([0.5 + 0.3 * np.sin(cols / 37.0 + k) * np.cos(rows / 23.0 - k)
                     for k in range(3)], axis=-1)
    stripes = 0.1 * np.cos(2 * np.pi * (cols + rows) / 8.0)[..., np.newaxis]
    return np.clip(base + stripes + 0.05 * rng.standard_normal((height, width, 3)), 0, 1)


def skimage_gabor_bank(grey: np.ndarray, n_orientations: int = 4,
                       wavelengths=(4.0, 8.0, 16.0)) -> np.ndarray:
    """The same bank through ``skimage.filters.gabor``: magnitude of (real, imag)."""
    out = []
    for kernel in gabor_kernels(n_orientations=n_orientations, wavelengths=wavelengths):
        real, imag = gabor(grey, 1.0 / kernel.wavelength, theta=kernel.theta, bandwidth=1.0,
                           mode="reflect")
        out.append(np.hypot(real, imag))
    return np.stack(out, axis=-1)


def main(argv=None) -> dict[str, float]:
    """Time the features and statistics; print and return ``{name: seconds}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=321)
    parser.add_argument("--width", type=int, default=481)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    image = synthetic_image(args.height, args.width)
    grey = image @ np.array([0.2125, 0.7154, 0.0721])
    results: dict[str, float] = {}

    def report(name: str, seconds: float, note: str = "") -> None:
        results[name] = seconds
        print(f"{name:<44s} {seconds * 1000:9.1f} ms{note}")

    print(f"image {args.height} x {args.width}, best of {args.repeats} runs")
    ours = best_time(lambda: gabor_energy(image), args.repeats)
    report("gabor_energy (4 orient. x 3 scales, smoothed)", ours)
    ours_raw = best_time(lambda: gabor_energy(image, smoothing=0), args.repeats)
    report("gabor_energy (same bank, no smoothing)", ours_raw)
    theirs = best_time(lambda: skimage_gabor_bank(grey), 1, warmup=False)
    report("skimage.filters.gabor (same bank)", theirs,
           f"   -> ours is {theirs / ours_raw:.0f}x faster (unsmoothed vs unsmoothed)")

    for name in FEATURES:
        report(f"feature_stack(({name!r},))",
               best_time(lambda name=name: feature_stack(image, (name,)), args.repeats))
    report("feature_stack(('lab', 'gabor', 'xy'))",
           best_time(lambda: feature_stack(image, ("lab", "gabor", "xy")), args.repeats))

    # Region statistics for a grid of about 1000 regions, with texture and LBP histograms.
    block = max(1, int(np.sqrt(args.height * args.width / 1000)))
    rows, cols = np.indices((args.height, args.width)) // block
    labels = rows * (cols.max() + 1) + cols
    lab = feature_stack(image, ("lab",), standardise=False)
    texture = feature_stack(image, ("gabor",))
    codes = np.random.default_rng(1).integers(0, 10, size=labels.shape)
    report(f"RegionStats.from_labels ({labels.max() + 1} labels, lab)",
           best_time(lambda: RegionStats.from_labels(lab, labels), args.repeats))
    report("  ... with 12 texture channels and LBP codes",
           best_time(lambda: RegionStats.from_labels(lab, labels, texture=texture,
                                                       histograms=codes, n_bins=10),
                       args.repeats))
    stats = RegionStats.from_labels(lab, labels, texture=texture, histograms=codes, n_bins=10)
    right = np.unique(np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], axis=1),
                      axis=0)
    edges = right[right[:, 0] != right[:, 1]]
    predicate = (MeanDistance(10) & TextureDistance(1.0)) | SRM(32, space="lab")
    report(f"{predicate!r}.mergeable on {len(edges)} edges",
           best_time(lambda: predicate.mergeable(stats[edges[:, 0]], stats[edges[:, 1]]),
                       args.repeats))
    return results


if __name__ == "__main__":
    main()
