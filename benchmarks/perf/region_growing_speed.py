"""Speed of region growing against scikit-image's felzenszwalb on BSDS500 val images.

Run ``python benchmarks/perf/region_growing_speed.py [--images 10] [--repeats 3]``.
Everything runs on one thread (Numba, OpenCV, BLAS). For each image it times
``region_growing_segmenter()`` (default parameters: ``mean_lab(13)``, automatic seeds,
``min_size=20``, merging) and ``skimage.segmentation.felzenszwalb`` with its default
parameters on the same uint8 image, best of `repeats` runs each (the least disturbed by
other processes), in wall and CPU time, and prints the medians over images and their
ratio (target: <= 1.0). The JIT compile is excluded from those timings and measured
separately in fresh processes: once with an empty Numba cache (cold compile) and once
loading the cache that run wrote.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["best_time", "compile_time", "main"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_IMAGES = REPO.parent / "shared" / "datasets" / "BSDS500" / "data" / "images" / "val"

_FIRST_CALL = """
import time
start = time.perf_counter()
import numpy as np
from classical.region_growing import region_growing
imported = time.perf_counter()
image = np.random.default_rng(0).random((6, 7, 3))
region_growing(image, "mean_lab(9)", seeds="auto", min_size=3)
print(imported - start, time.perf_counter() - imported)
"""


def best_time(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall and best CPU time of `repeats` calls, in seconds."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall = min(wall, time.perf_counter() - start_wall)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def compile_time(cache_dir: str) -> tuple[float, float]:
    """(import seconds, first-call seconds) of region growing in a fresh process whose
    Numba cache lives in `cache_dir`."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, NUMBA_NUM_THREADS="1",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                         capture_output=True, text=True, cwd=REPO)
    imported, first_call = (float(v) for v in out.stdout.split())
    return imported, first_call


def main(argv=None) -> dict[str, float]:
    """Time both methods; print and return the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10, help="number of val images")
    parser.add_argument("--repeats", type=int, default=3, help="runs per image and method")
    parser.add_argument("--folder", default=str(DEFAULT_IMAGES), help="folder of .jpg images")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the cold-compile measurement (about half a minute)")
    args = parser.parse_args(argv)

    os.environ["NUMBA_NUM_THREADS"] = "1"
    sys.path.insert(0, str(REPO))
    from benchmarks._runtime import set_threads

    import numba  # noqa: F401  (loaded before set_threads so its pool is limited too)
    from PIL import Image
    from skimage.segmentation import felzenszwalb

    from classical.region_growing import region_growing_segmenter

    set_threads(1)
    files = sorted(glob.glob(os.path.join(args.folder, "*.jpg")))[:args.images]
    if not files:
        print(f"no .jpg images in {args.folder}; pass --folder")
        return {}

    results: dict[str, float] = {}
    if not args.no_compile:
        with tempfile.TemporaryDirectory() as cache:
            _, cold = compile_time(cache)
            _, cached = compile_time(cache)
        results.update(compile_cold=cold, compile_cached=cached)
        print(f"first call (JIT compile, empty cache)  {cold:7.2f} s")
        print(f"first call (loading the Numba cache)    {cached:7.2f} s")

    segmenter = region_growing_segmenter()
    segmenter(np.zeros((8, 8, 3), np.uint8))  # compile or load outside the timings
    print(f"{segmenter.describe()}  vs  skimage felzenszwalb(scale=1, sigma=0.8, "
          f"min_size=20); 1 thread, best of {args.repeats}")
    print(f"{'image':>12s} {'size':>9s} {'ours ms':>8s} {'fh ms':>8s} {'ratio':>6s}"
          f" {'ours n':>7s} {'fh n':>6s}")
    walls, cpus = [], []
    for path in files:
        image = np.asarray(Image.open(path).convert("RGB"))
        ours = best_time(lambda: segmenter(image), args.repeats)
        theirs = best_time(lambda: felzenszwalb(image), args.repeats)
        walls.append((ours[0], theirs[0]))
        cpus.append((ours[1], theirs[1]))
        n_ours = int(segmenter(image).max()) + 1
        n_theirs = int(felzenszwalb(image).max()) + 1
        print(f"{Path(path).stem:>12s} {image.shape[0]:>4d}x{image.shape[1]:<4d}"
              f" {ours[0] * 1e3:8.1f} {theirs[0] * 1e3:8.1f} {ours[0] / theirs[0]:6.2f}"
              f" {n_ours:7d} {n_theirs:6d}")
    for name, pairs in (("wall", walls), ("cpu", cpus)):
        pairs = np.array(pairs)
        ours, theirs = np.median(pairs[:, 0]), np.median(pairs[:, 1])
        ratio = float(np.median(pairs[:, 0] / pairs[:, 1]))
        results.update({f"ours_{name}": ours, f"felzenszwalb_{name}": theirs,
                        f"ratio_{name}": ratio})
        print(f"median {name:4s} time: region growing {ours * 1e3:6.1f} ms, felzenszwalb "
              f"{theirs * 1e3:6.1f} ms, median ratio {ratio:.2f} (target <= 1.0)")
    return results


if __name__ == "__main__":
    main()
