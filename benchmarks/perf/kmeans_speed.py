"""Speed of colour + texture k-means against scikit-image's SLIC on BSDS500 images.

Run ``python benchmarks/perf/kmeans_speed.py [--images 8] [--repeats 3] [--covering]``.

Both methods run on one thread (``threadpoolctl.threadpool_limits(1)`` for BLAS and
scikit-learn's OpenMP, ``cv2.setNumThreads(1)`` for OpenCV) on the same 481 x 321 BSDS
val images: :func:`classical.kmeans.kmeans_segment` with ``KMeansParams(n_clusters=8,
features=("lab", "gabor"))`` and ``skimage.segmentation.slic(image, n_segments=100)``.
Per image each method gets its best wall time over the repeats (the least disturbed by
other processes; calls are interleaved), and the script prints the median over images
of both times and of the per-image ratio k-means / SLIC. The target is a ratio <= 1.5.

scikit-learn loads its OpenMP runtime on first import, and ``threadpool_limits`` only
reaches libraries already loaded, so this script imports scikit-learn before limiting.

``--covering`` also prints the segmentation covering of a few settings on BSDS train
images, averaged over each image's annotators (a quality hint, not a benchmark run).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import cv2
import numpy as np
import sklearn.cluster  # noqa: F401 - load scikit-learn's OpenMP before limiting threads
import sklearn.metrics  # noqa: F401
import sklearn.mixture  # noqa: F401
from skimage.io import imread
from skimage.segmentation import slic
from threadpoolctl import threadpool_limits

from benchmarks.perf._common import bsds_speed_main, interleaved_best
from classical.kmeans import KMeansParams, kmeans_segment

__all__ = ["covering_report", "main", "speed_report"]

#: The measured setting: colour + texture, k = 8, other parameters at their defaults.
SPEED_PARAMS = KMeansParams(n_clusters=8, features=("lab", "gabor"))

#: Settings compared by ``--covering``.
COVERING_SETTINGS = {
    "lab k=8": KMeansParams(n_clusters=8),
    "lab+gabor k=8": KMeansParams(n_clusters=8, features=("lab", "gabor")),
    "lab+gabor k=4": KMeansParams(n_clusters=4, features=("lab", "gabor")),
    "lab+gabor k=8 bank 4,8,16": KMeansParams(n_clusters=8, features=("lab", "gabor"),
                                              wavelengths=(4.0, 8.0, 16.0)),
    "lab+gabor+xy(0.5) k=8": KMeansParams(n_clusters=8, features=("lab", "gabor", "xy"),
                                          weights=(1.0, 1.0, 0.5)),
    "lab+gabor k=8 + mean_lab(10)": KMeansParams(n_clusters=8, features=("lab", "gabor"),
                                                 predicate="mean_lab(10)"),
    "lab+gabor auto (silhouette)": KMeansParams(n_clusters="auto",
                                                features=("lab", "gabor")),
    "lab+gabor auto (bic)": KMeansParams(n_clusters="auto", features=("lab", "gabor"),
                                         criterion="bic"),
}


def speed_report(paths: list[Path], repeats: int = 3,
                 params: KMeansParams = SPEED_PARAMS) -> dict[str, float]:
    """Time k-means and SLIC per image; print and return the medians and the ratio."""
    ours, theirs, ratios = [], [], []
    with threadpool_limits(1):
        cv2.setNumThreads(1)
        for path in paths:
            image = imread(path)
            best = interleaved_best({"kmeans": lambda: kmeans_segment(image, params),
                                     "slic": lambda: slic(image, n_segments=100)}, repeats)
            t_ours, t_slic = best["kmeans"], best["slic"]
            ours.append(t_ours)
            theirs.append(t_slic)
            ratios.append(t_ours / t_slic)
            n = int(kmeans_segment(image, params).max()) + 1
            print(f"{path.stem:>10s} {image.shape[1]}x{image.shape[0]}  kmeans "
                  f"{t_ours * 1000:7.1f} ms ({n:4d} regions)  slic {t_slic * 1000:7.1f} ms  "
                  f"ratio {t_ours / t_slic:5.2f}")
    result = {"kmeans": statistics.median(ours), "slic": statistics.median(theirs),
              "ratio": statistics.median(ratios)}
    print(f"median over {len(paths)} images: kmeans {result['kmeans'] * 1000:.1f} ms, "
          f"slic {result['slic'] * 1000:.1f} ms, ratio {result['ratio']:.2f} "
          f"(target <= 1.5)")
    return result


def covering_report(root: Path, ids: list[str],
                    settings: dict[str, KMeansParams] | None = None) -> dict[str, float]:
    """Mean segmentation covering of each setting on BSDS train images; print it.

    `root` is the ``BSDS500/data`` folder; each image's score is the mean covering of
    its annotators' partitions.
    """
    from benchmarks.datasets.bsds500 import read_bsds_ground_truth
    from benchmarks.metrics.region import segmentation_covering

    settings = COVERING_SETTINGS if settings is None else settings
    truth = {i: read_bsds_ground_truth(root / "groundTruth" / "train" / f"{i}.mat")[0]
             for i in ids}
    images = {i: imread(root / "images" / "train" / f"{i}.jpg") for i in ids}
    result = {}
    for name, params in settings.items():
        scores, counts = [], []
        for i in ids:
            labels = kmeans_segment(images[i], params)
            counts.append(int(labels.max()) + 1)
            scores.append(np.mean([segmentation_covering(labels, p) for p in truth[i]]))
        result[name] = float(np.mean(scores))
        print(f"{name:<32s} covering {result[name]:.3f}  per image "
              f"{' '.join(f'{s:.2f}' for s in scores)}  regions {counts}")
    return result


def main(argv=None) -> dict[str, float]:
    """Run the speed comparison (and optionally the covering report)."""
    return bsds_speed_main(__doc__, speed_report, covering_report, argv)


if __name__ == "__main__":
    main()
