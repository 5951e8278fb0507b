"""Speed of the BSDS500 boundary benchmark (99 thresholds per image), single core.

Inputs: the official sample's 8-bit boundary PNGs and ucm2 maps (about 30 distinct
thresholded maps out of 99, since those maps hold few distinct values), and the same
PNGs blurred slightly so that nearly every one of the 99 thresholds gives a different
map (the hard case: a real soft boundary detector). Every image has 5-6 annotators.

For each image: CPU seconds of this process (the fair figure on a shared machine; wall
clock is printed too) for :func:`benchmarks.metrics.boundary.evaluate_boundaries_image`
with ``nthresh=99``, the number of distinct maps, and where the CPU time goes
(thinning, the maximum flows that complete matchings, the minimum-cost solves, the
rest). The named peer, timed in the same run on the same maps, is the independent
path: the same matcher with ``reuse=False``, which solves every threshold from
scratch (no results kept per component or per minimum-cost problem, no warm starts);
its counts must be identical, and the script stops if they are not. ``--plain`` adds
the plain way of counting as well: the full per-component assignment
(:func:`benchmarks.metrics._correspond.correspond_pixels`) for every annotator at
every threshold, timed on every tenth threshold and reported per threshold.

Usage::

    python -m benchmarks.perf.boundary_speed                 # all inputs, 5 images
    python -m benchmarks.perf.boundary_speed --images 2 --input png
    python -m benchmarks.perf.boundary_speed --plain

Target: <= 1 s per image per core.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["INPUTS", "boundary_speed", "main"]

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SEGBENCH_SHARED", REPO.parent / "shared" / "datasets"))
SAMPLE = SHARED / "BSDS500" / "bench_sample"
NTHRESH = 99


def _median_time(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall-clock and CPU (this process) seconds of `fn`, and its last result."""
    wall, cpu = [], []
    result = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), result


def _boundaries(image_id: str) -> list[np.ndarray]:
    from scipy.io import loadmat

    cells = np.asarray(loadmat(SAMPLE / "groundTruth" / f"{image_id}.mat")["groundTruth"]).ravel()
    return [np.asarray(c["Boundaries"][0, 0]) != 0 for c in cells]


def _png(image_id: str) -> np.ndarray:
    from PIL import Image

    with Image.open(SAMPLE / "png" / f"{image_id}.png") as im:
        return np.asarray(im.convert("L"), dtype=np.float64) / 255.0


def _blurred_png(image_id: str) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    pb = gaussian_filter(_png(image_id), 0.7)
    return pb / max(float(pb.max()), 1e-12)


def _ucm(image_id: str) -> np.ndarray:
    from scipy.io import loadmat

    return np.asarray(loadmat(SAMPLE / "ucm2" / f"{image_id}.mat")["ucm2"], dtype=np.float64)


#: name -> (kind, loader)
INPUTS: dict[str, tuple[str, Callable[[str], np.ndarray]]] = {
    "png": ("pb", _png),
    "ucm2": ("ucm", _ucm),
    "png-blurred": ("pb", _blurred_png),
}


class _Clock:
    """Accumulate the time spent in a few functions (wrapped for the run, then restored)."""

    def __init__(self, targets: dict[str, tuple[object, str]]) -> None:
        self.targets = targets
        self.totals = dict.fromkeys(targets, 0.0)
        self._saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> "_Clock":
        for label, (owner, attr) in self.targets.items():
            original = getattr(owner, attr)
            self._saved.append((owner, attr, original))

            def timed(*args, _f=original, _label=label, **kwargs):
                start = time.process_time()
                try:
                    return _f(*args, **kwargs)
                finally:
                    self.totals[_label] += time.process_time() - start

            setattr(owner, attr, functools.wraps(original)(timed))
        return self

    def __exit__(self, *exc) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)


def _pb(machine: np.ndarray, kind: str) -> np.ndarray:
    return machine[2::2, 2::2] if kind == "ucm" else machine


def _breakdown(machine, boundaries, kind: str) -> dict[str, float]:
    from benchmarks.metrics import _correspond as corr
    from benchmarks.metrics import boundary as bdry

    targets = {
        "thin": (bdry, "thin_boundary"),
        "max flow": (corr, "_complete_matching"),
        "min-cost": (corr, "_solve_saturating"),
    }
    with _Clock(targets) as clock:
        start = time.process_time()
        bdry.evaluate_boundaries_image(machine, boundaries, kind=kind, nthresh=NTHRESH)
        total = time.process_time() - start
    out = dict(clock.totals)
    out["rest"] = total - sum(out.values())
    return out


def _independent(machine, boundaries, kind: str) -> np.ndarray:
    """Counts at every threshold, every threshold solved from scratch (the peer).

    The same steps as :func:`~benchmarks.metrics.boundary.evaluate_boundaries_image`
    (thresholds, identical maps counted once, thinning), with ``reuse=False``.
    """
    from benchmarks.metrics._correspond import BoundaryMatcher
    from benchmarks.metrics.boundary import boundary_thresholds, thin_boundary

    pb = _pb(machine, kind)
    matcher = BoundaryMatcher(boundaries, reuse=False)
    thresholds = boundary_thresholds(NTHRESH)
    counts = np.zeros((thresholds.size, 4), dtype=np.int64)
    seen: dict[bytes, int] = {}
    for t, threshold in enumerate(thresholds):
        bmap = pb >= threshold
        key = np.packbits(bmap).tobytes()
        if key in seen:
            counts[t] = counts[seen[key]]
            continue
        seen[key] = t
        counts[t] = matcher.counts(thin_boundary(bmap))
    return counts


def _plain_per_threshold(machine, boundaries, kind: str, every: int = 10) -> float:
    """CPU seconds per threshold of the plain count: full assignment per annotator."""
    from benchmarks.metrics._correspond import correspond_pixels
    from benchmarks.metrics.boundary import boundary_thresholds, thin_boundary

    pb = _pb(machine, kind)
    thresholds = boundary_thresholds(NTHRESH)[::every]
    start = time.process_time()
    for t in thresholds:
        bmap = thin_boundary(pb >= t)
        accumulated = np.zeros(bmap.shape, bool)
        for gt in boundaries:
            match1, _ = correspond_pixels(bmap, gt)
            accumulated |= match1 >= 0
    return (time.process_time() - start) / len(thresholds)


def _warm_up(image_id: str) -> float:
    """Load (or compile) the Numba kernels: one image of the sample, 9 thresholds."""
    from benchmarks.metrics.boundary import evaluate_boundaries_image

    start = time.perf_counter()
    boundaries = _boundaries(image_id)
    for kind, load in INPUTS.values():
        evaluate_boundaries_image(load(image_id), boundaries, kind=kind, nthresh=9)
    return time.perf_counter() - start


def boundary_speed(n_images: int = 5, repeat: int = 1, inputs=None,
                   plain: bool = False) -> dict[str, dict[str, list[float]]]:
    """Print per-image timings for 99 thresholds; return CPU s/image by input and path.

    Returns ``{input: {"reuse": [...], "independent": [...]}}``.
    """
    from benchmarks.metrics.boundary import boundary_thresholds, evaluate_boundaries_image

    if not SAMPLE.is_dir():
        print(f"boundary: no BSDS500 bench_sample under {SHARED}; skipped")
        return {}
    ids = sorted(p.stem for p in (SAMPLE / "groundTruth").glob("*.mat"))[:n_images]
    print(f"boundary: warm-up (Numba compile or cache load) {_warm_up(ids[0]):.2f} s")
    thresholds = boundary_thresholds(NTHRESH)
    results: dict[str, dict[str, list[float]]] = {}
    for name in inputs or list(INPUTS):
        kind, load = INPUTS[name]
        print(f"boundary: {name} ({kind}), {NTHRESH} thresholds, seconds per image "
              f"(median of {repeat}); breakdown from one extra run; peer: independent "
              "(reuse=False)")
        print(f"  {'image':<8} {'annot':>5} {'maps':>5} {'wall s':>7} {'cpu s':>6}   "
              f"{'thin':>5} {'maxflow':>7} {'mincost':>7} {'rest':>5}   "
              f"{'indep cpu s':>11} {'speed-up':>8}"
              + (f" {'plain cpu s/thr':>15}" if plain else ""))
        reuse_s, independent_s = [], []
        for image_id in ids:
            machine = load(image_id)
            boundaries = _boundaries(image_id)
            pb = _pb(machine, kind)
            n_maps = len({np.packbits(pb >= t).tobytes() for t in thresholds})
            wall, cpu, image = _median_time(lambda: evaluate_boundaries_image(
                machine, boundaries, kind=kind, nthresh=NTHRESH), repeat)
            _, cpu_ind, counts = _median_time(
                lambda: _independent(machine, boundaries, kind), repeat)
            ours = np.column_stack([image.cntR, image.sumR, image.cntP, image.sumP])
            if not np.array_equal(ours, counts):
                raise RuntimeError(f"{name} {image_id}: the counts with reuse differ from the "
                                   "independent ones; this is a bug.")
            parts = _breakdown(machine, boundaries, kind)
            line = (f"  {image_id:<8} {len(boundaries):>5} {n_maps:>5} {wall:>7.2f} {cpu:>6.2f}   "
                    f"{parts['thin']:>5.2f} {parts['max flow']:>7.2f} "
                    f"{parts['min-cost']:>7.2f} {parts['rest']:>5.2f}   "
                    f"{cpu_ind:>11.2f} {cpu_ind / cpu:>7.2f}x")
            if plain:
                line += f" {_plain_per_threshold(machine, boundaries, kind):>15.3f}"
            print(line, flush=True)
            reuse_s.append(cpu)
            independent_s.append(cpu_ind)
        results[name] = {"reuse": reuse_s, "independent": independent_s}
        print(f"  mean {np.mean(reuse_s):.2f} CPU s/image (target <= 1 s per image per core); "
              f"independent {np.mean(independent_s):.2f} s/image; speed-up "
              f"{np.sum(independent_s) / np.sum(reuse_s):.2f}x")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5, help="Sample images (max 5).")
    parser.add_argument("--repeat", type=int, default=1, help="Timing repeats.")
    parser.add_argument("--input", action="append", choices=sorted(INPUTS),
                        help="Input kind (repeatable); default: all.")
    parser.add_argument("--plain", action="store_true",
                        help="Also time the plain full-assignment count (slow).")
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    boundary_speed(args.images, args.repeat, args.input, args.plain)


if __name__ == "__main__":
    main()
