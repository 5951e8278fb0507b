"""Speed of split-and-merge against scikit-image's Felzenszwalb on BSDS500 images.

Run ``python benchmarks/perf/split_merge_speed.py [--images 8] [--repeats 3] [--covering]``.

Everything runs on one thread (``threadpoolctl.threadpool_limits(1)``,
``cv2.setNumThreads(1)``; the split-and-merge kernel is single-threaded Numba) on the
same 481 x 321 BSDS val images, read with PIL:

- ``split_merge``: the default :func:`classical.split_merge.split_merge_segmenter`
  (split and merge at one threshold, Lab conversion included);
- ``felzenszwalb``: ``skimage.segmentation.felzenszwalb(image)`` with its defaults;
- ``sweep``: the segmenter's default 12-value threshold sweep, read off one merge
  history.

Per image each measurement is the best wall time over the repeats (calls interleaved,
so all see the same machine load); the script prints the medians over images of the
times and of the per-image ratios. Targets: split_merge / felzenszwalb <= 1.0 and
sweep / split_merge <= 2.0. Numba compiles (or loads from its cache) before timing.

``--covering`` also prints the segmentation covering of a few settings on the first
five BSDS train images (mean over each image's annotators, and annotator 0 alone),
with the plain quadtree (the split's leaves, no merging) for comparison. It is a
quality hint, not a benchmark run.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.segmentation import felzenszwalb
from threadpoolctl import threadpool_limits

from benchmarks.perf._common import bsds_speed_main, interleaved_best
from classical.split_merge import SplitMergeParams, split_merge_segmenter

__all__ = ["COVERING_SETTINGS", "covering_report", "main", "read_rgb", "speed_report"]

#: Settings compared by ``--covering`` (SplitMergeParams overrides).
COVERING_SETTINGS: dict[str, dict] = {
    "default": {},
    "classic split (split_scale=None)": {"split_scale": None},
    "no min_size": {"min_size": 0},
    "min_block=2": {"min_block": 2},
    "mean_lab(12) alone": {"predicate": "mean_lab(12)"},
    "std_lab(8), split 0.5": {"predicate": "std_lab(8)", "split_scale": 0.5},
    "range_rgb(0.5), split 0.25": {"predicate": "range_rgb(0.5)", "split_scale": 0.25},
}


def read_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def speed_report(paths: list[Path], repeats: int = 3) -> dict[str, float]:
    """Time split-and-merge, Felzenszwalb and the one-pass sweep per image; print medians."""
    segmenter = split_merge_segmenter()
    times = {"split_merge": [], "felzenszwalb": [], "sweep": []}
    ratios = {"split_merge / felzenszwalb": [], "sweep / split_merge": []}
    with threadpool_limits(1):
        cv2.setNumThreads(1)
        for path in paths:
            image = read_rgb(path)
            runs = {"split_merge": lambda: segmenter(image),
                    "felzenszwalb": lambda: felzenszwalb(image),
                    "sweep": lambda: segmenter.sweep(image)}
            best = interleaved_best(runs, repeats)
            for name, value in best.items():
                times[name].append(value)
            ratios["split_merge / felzenszwalb"].append(best["split_merge"]
                                                        / best["felzenszwalb"])
            ratios["sweep / split_merge"].append(best["sweep"] / best["split_merge"])
            n = int(segmenter(image).max()) + 1
            print(f"{path.stem:>10s} {image.shape[1]}x{image.shape[0]}  split_merge "
                  f"{best['split_merge'] * 1000:6.1f} ms ({n:4d} regions)  felzenszwalb "
                  f"{best['felzenszwalb'] * 1000:6.1f} ms  sweep x12 "
                  f"{best['sweep'] * 1000:6.1f} ms")
    result = {name: statistics.median(values) for name, values in times.items()}
    result.update({name: statistics.median(values) for name, values in ratios.items()})
    print(f"median over {len(paths)} images: split_merge {result['split_merge'] * 1000:.1f} "
          f"ms, felzenszwalb {result['felzenszwalb'] * 1000:.1f} ms, sweep "
          f"{result['sweep'] * 1000:.1f} ms")
    print(f"  split_merge / felzenszwalb = {result['split_merge / felzenszwalb']:.2f} "
          f"(target <= 1.0); sweep / split_merge = {result['sweep / split_merge']:.2f} "
          f"(target <= 2.0)")
    return result


def covering_report(root: Path, ids: list[str],
                    settings: dict[str, dict] | None = None) -> dict[str, float]:
    """Mean segmentation covering of each setting on BSDS train images; print it.

    `root` is the ``BSDS500/data`` folder. Returns the covering averaged over images of
    the mean over each image's annotators.
    """
    from benchmarks.datasets.bsds500 import read_bsds_ground_truth
    from benchmarks.metrics.region import segmentation_covering
    from classical.predicates import parse_predicate
    from classical.split_merge import _split_predicate, split_and_merge

    settings = COVERING_SETTINGS if settings is None else settings
    truth = {i: read_bsds_ground_truth(root / "groundTruth" / "train" / f"{i}.mat")[0]
             for i in ids}
    images = {i: read_rgb(root / "images" / "train" / f"{i}.jpg") for i in ids}

    def score(labels, i):
        per_annotator = [segmentation_covering(labels, p) for p in truth[i]]
        return float(np.mean(per_annotator)), per_annotator[0]

    result = {}
    for name, changes in settings.items():
        segmenter = split_merge_segmenter(**changes)
        scores = [score(segmenter(images[i]), i) for i in ids]
        counts = [int(segmenter(images[i]).max()) + 1 for i in ids]
        result[name] = float(np.mean([s[0] for s in scores]))
        print(f"{name:<44s} covering {result[name]:.3f} (annotator 0: "
              f"{np.mean([s[1] for s in scores]):.3f})  regions {counts}")
    # The plain quadtree (max_size(1) never merges): the default split's leaves, and
    # the leaves of a split on the merge predicate itself.
    params = SplitMergeParams()
    predicate = parse_predicate(params.predicate)
    for name, split in (("default split", _split_predicate(predicate, params.split_scale)),
                        ("split on the merge predicate", predicate)):
        scores = [score(split_and_merge(images[i], "max_size(1)", min_block=params.min_block,
                                        split=split), i) for i in ids]
        key = f"plain quadtree, {name}"
        result[key] = float(np.mean([s[0] for s in scores]))
        print(f"{key:<44s} covering {result[key]:.3f} "
              f"(annotator 0: {np.mean([s[1] for s in scores]):.3f})")
    return result


def main(argv=None) -> dict[str, float]:
    """Run the speed comparison (and optionally the covering report)."""
    return bsds_speed_main(__doc__, speed_report, covering_report, argv)


if __name__ == "__main__":
    main()
