"""Speed of the metrics, each against a plain reference measured in the same run.

Region (BSDS500 covering + PRI + VoI, a 99-threshold sweep from a ucm2, per image):
on the official sample's ucm2 maps and on a few val images with a ucm2 built cheaply
from the image gradient (many small regions at low thresholds: a hard case). The
reference is ``skimage.metrics.variation_of_information`` computing only the VoI for
the same (threshold, annotator) pairs, with the label images made beforehand.

Semantic (confusion-matrix update on 360x480 maps, 11 classes, 255 = void): ours on
NumPy arrays and on torch tensors against a plain ``torch.bincount`` implementation.

Usage::

    python -m benchmarks.perf.metrics_speed                 # everything
    python -m benchmarks.perf.metrics_speed --part region   # one part (repeatable)
    python -m benchmarks.perf.metrics_speed --images 5 --repeat 3

Timings are single-threaded wall-clock medians; compile time of the Numba kernels is
reported separately and excluded. Other parts (e.g. boundary) plug into ``PARTS``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["PARTS", "main", "region_speed", "semantic_speed"]

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SEGBENCH_SHARED", REPO.parent / "shared" / "datasets"))


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gradient_ucm2(image: np.ndarray) -> np.ndarray:
    """A cheap double-resolution contour map from an image's colour gradient.

    Not ultrametric (the benchmark does not need it to be); contour positions get the
    larger gradient of their two (or four) neighbouring pixels, pixels get 0.
    """
    from skimage.color import rgb2gray
    from skimage.filters import sobel

    grad = sobel(rgb2gray(image))
    grad = grad / max(float(grad.max()), 1e-12)
    h, w = grad.shape
    ucm2 = np.zeros((2 * h + 1, 2 * w + 1))
    ucm2[1::2, 2:-1:2] = np.maximum(grad[:, :-1], grad[:, 1:])        # vertical edges
    ucm2[2:-1:2, 1::2] = np.maximum(grad[:-1, :], grad[1:, :])        # horizontal edges
    ucm2[2:-1:2, 2:-1:2] = np.maximum.reduce([grad[:-1, :-1], grad[:-1, 1:],
                                              grad[1:, :-1], grad[1:, 1:]])
    ucm2[0, :] = ucm2[-1, :] = ucm2[:, 0] = ucm2[:, -1] = 1.0  # image frame
    return ucm2


def _region_inputs(n_images: int):
    from scipy.io import loadmat

    from benchmarks.datasets._base import read_image
    from benchmarks.datasets.bsds500 import read_bsds_ground_truth

    root = SHARED / "BSDS500"
    items = []
    sample = root / "bench_sample"
    for path in sorted((sample / "ucm2").glob("*.mat"))[:n_images]:
        partitions = read_bsds_ground_truth(sample / "groundTruth" / path.name)[0]
        items.append((f"sample/{path.stem} (ucm2)", loadmat(path)["ucm2"], partitions))
    val = sorted((root / "data" / "groundTruth" / "val").glob("*.mat"))[:n_images]
    for path in val:
        image = read_image(root / "data" / "images" / "val" / f"{path.stem}.jpg")
        partitions = read_bsds_ground_truth(path)[0]
        items.append((f"val/{path.stem} (gradient)", gradient_ucm2(image), partitions))
    return items


def region_speed(n_images: int = 3, repeat: int = 3, nthresh: int = 99) -> None:
    """Print seconds per image for the region sweep and the skimage-VoI reference."""
    from skimage.metrics import variation_of_information as sk_voi

    from benchmarks.metrics.region import evaluate_regions_image, region_thresholds, ucm_to_labels

    items = _region_inputs(n_images)
    if not items:
        print(f"region: no BSDS500 data under {SHARED}; skipped")
        return
    name, ucm2, parts = items[0]
    start = time.perf_counter()
    evaluate_regions_image(ucm2, parts, kind="ucm", nthresh=nthresh)
    print(f"region: first call (Numba compile or cache load) {time.perf_counter() - start:.2f} s")
    print(f"region: covering + PRI + VoI, {nthresh} thresholds from a ucm2, per image "
          f"(median of {repeat})")
    print(f"  {'image':<28} {'size':>9} {'annot':>5} {'ours s':>8} "
          f"{'skimage VoI-only s':>19} {'speed-up':>9}")
    ours_all, ref_all = [], []
    for name, ucm2, parts in items:
        ours = _median_time(lambda: evaluate_regions_image(ucm2, parts, kind="ucm",
                                                           nthresh=nthresh), repeat)
        labels = [ucm_to_labels(ucm2, t) for t in region_thresholds(nthresh)]

        def reference():
            for lab in labels:
                for gt in parts:
                    sk_voi(gt, lab, ignore_labels=[0])

        ref = _median_time(reference, 1)
        ours_all.append(ours)
        ref_all.append(ref)
        h, w = parts[0].shape
        print(f"  {name:<28} {h:>4}x{w:<4} {len(parts):>5} {ours:>8.3f} {ref:>19.2f} "
              f"{ref / ours:>8.0f}x")
    print(f"  mean: ours {np.mean(ours_all):.3f} s/image (target <= 0.3), skimage VoI only "
          f"{np.mean(ref_all):.2f} s/image, ratio {np.mean(ref_all) / np.mean(ours_all):.0f}x")


def semantic_speed(repeat: int = 20, num_classes: int = 11) -> None:
    """Print confusion-matrix update times against a plain torch.bincount version."""
    from benchmarks.metrics.semantic import ConfusionMatrix

    rng = np.random.default_rng(0)
    shape = (360, 480)
    target = rng.integers(0, num_classes, size=shape).astype(np.uint8)
    target[rng.random(shape) < 0.1] = 255
    pred = rng.integers(0, num_classes, size=shape).astype(np.int64)
    ConfusionMatrix(num_classes).update(pred, target)  # warm up
    ours_np = _median_time(lambda: ConfusionMatrix(num_classes).update(pred, target), repeat)
    print(f"semantic: confusion update, one {shape[0]}x{shape[1]} map, {num_classes} classes "
          f"(median of {repeat})")
    print(f"  ours, numpy input   {1e3 * ours_np:7.2f} ms")
    try:
        import torch
    except ImportError:
        print("  torch not installed; torch comparison skipped")
        return
    torch.set_num_threads(1)
    tp, tt = torch.from_numpy(pred), torch.from_numpy(target)

    def plain():
        k = (tt >= 0) & (tt < num_classes)
        counts = torch.bincount(num_classes * tt[k].long() + tp[k], minlength=num_classes ** 2)
        return counts.reshape(num_classes, num_classes)

    def ours_torch():
        return ConfusionMatrix(num_classes).update(tp, tt)

    for fn in (plain, ours_torch):  # warm up
        fn()
    ref = _median_time(plain, repeat)
    ours_t = _median_time(ours_torch, repeat)
    np.testing.assert_array_equal(plain().numpy(), ours_torch().matrix)
    print(f"  ours, torch input   {1e3 * ours_t:7.2f} ms")
    print(f"  plain torch.bincount {1e3 * ref:6.2f} ms (no prediction check)")
    print(f"  ratio ours/plain: torch input {ours_t / ref:.2f}, numpy input {ours_np / ref:.2f}")


PARTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "region": lambda a: region_speed(a.images, a.repeat),
    "semantic": lambda a: semantic_speed(max(a.repeat, 10)),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", action="append", choices=sorted(PARTS),
                        help="Part to run (repeatable); default: all.")
    parser.add_argument("--images", type=int, default=3, help="Images per source (region).")
    parser.add_argument("--repeat", type=int, default=3, help="Timing repeats.")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    for name in args.part or list(PARTS):
        PARTS[name](args)
        print()


if __name__ == "__main__":
    main()
