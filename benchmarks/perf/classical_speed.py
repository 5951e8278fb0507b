"""Speed of segbench's classical methods against scikit-image, the classical issue's targets.

Run ``python benchmarks/perf/classical_speed.py [--root DIR] [--images 5] [--repeats 3]
[--clock cpu|wall] [--no-compile]``.

Everything runs on one thread (:func:`benchmarks._runtime.set_threads`: the
``OMP_NUM_THREADS`` family of variables, threadpoolctl for BLAS and scikit-learn's
OpenMP, ``cv2.setNumThreads(1)``, Numba's pool) on the first `--images` BSDS500 val
images (481 x 321 or 321 x 481, read as uint8 RGB). Each target compares one of our
methods with a named peer timed in the same run, on the same images, with the calls
interleaved so that both see the same machine load:

- region growing, ``region_growing_segmenter()`` (its defaults), against scikit-image's
  ``felzenszwalb(image)`` (its defaults): target <= 1.0x;
- split-and-merge, ``split_merge_segmenter()`` (split and merge at its one default
  threshold), against ``felzenszwalb``: <= 1.0x;
- colour + texture k-means, ``kmeans_segment(image, KMeansParams(n_clusters=8,
  features=("lab", "gabor")))``, against ``slic(image, n_segments=100)``: <= 1.5x;
- the 12-value split-and-merge sweep read off one merge history
  (``split_merge_segmenter().sweep(image)``) against one split-and-merge run: <= 2x.

Per image each method gets its best time of `--repeats` calls (the least disturbed by
other processes), in process CPU seconds by default (``--clock wall`` for wall time; on
one thread they agree on an idle machine, and CPU time is the steadier of the two on a
busy one). The table shows the medians over images of both times and the median of the
per-image ratios ours / peer. JIT compilation is kept out of the timings: every method
runs once on a tiny image first, and that first call is reported apart, both as it
happens in this process (usually loading Numba's on-disk cache) and, unless
``--no-compile``, in a fresh process with an empty Numba cache (a cold compile).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO.parent / "shared" / "datasets" / "BSDS500"

__all__ = ["TARGETS", "Target", "compile_times", "main", "markdown_table", "time_methods"]


@dataclass(frozen=True)
class Target:
    """One speed target: ``time(ours) / time(peer) <= limit``."""

    name: str
    ours: str
    peer: str
    limit: float


TARGETS = (
    Target("region growing vs felzenszwalb", "region_growing", "felzenszwalb", 1.0),
    Target("split-and-merge vs felzenszwalb", "split_merge", "felzenszwalb", 1.0),
    Target("colour + texture k-means vs slic", "kmeans", "slic", 1.5),
    Target("12-value split-and-merge sweep vs one run", "split_merge_sweep", "split_merge",
           2.0),
)

# The first call of every method on a tiny image, in a fresh process: prints JSON
# {method: seconds}, and the import time of the classical package.
_FIRST_CALLS = """
import json, time
start = time.perf_counter()
import numpy as np
from classical.kmeans import KMeansParams, kmeans_segment
from classical.region_growing import region_growing_segmenter
from classical.split_merge import split_merge_segmenter
out = {"import classical": time.perf_counter() - start}
image = (np.random.default_rng(0).random((9, 11, 3)) * 255).astype(np.uint8)
calls = {
    "region_growing": lambda: region_growing_segmenter()(image),
    "split_merge": lambda: split_merge_segmenter()(image),
    "split_merge_sweep": lambda: split_merge_segmenter().sweep(image),
    "kmeans": lambda: kmeans_segment(image, KMeansParams(n_clusters=8,
                                                         features=("lab", "gabor"))),
}
for name, call in calls.items():
    start = time.perf_counter()
    call()
    out[name] = time.perf_counter() - start
print(json.dumps(out))
"""


def _methods() -> dict[str, Callable[[np.ndarray], object]]:
    """Every timed call, by the names TARGETS use."""
    from skimage.segmentation import felzenszwalb, slic

    from classical.kmeans import KMeansParams, kmeans_segment
    from classical.region_growing import region_growing_segmenter
    from classical.split_merge import split_merge_segmenter

    growing = region_growing_segmenter()
    split_merge = split_merge_segmenter()
    kmeans = KMeansParams(n_clusters=8, features=("lab", "gabor"))
    return {
        "region_growing": growing,
        "split_merge": split_merge,
        "split_merge_sweep": split_merge.sweep,
        "kmeans": lambda image: kmeans_segment(image, kmeans),
        "felzenszwalb": felzenszwalb,
        "slic": lambda image: slic(image, n_segments=100),
    }


def compile_times() -> dict[str, float]:
    """Seconds of each method's first call on a tiny image in a fresh process whose
    Numba cache starts empty (the JIT compile), and of importing the package."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        out = subprocess.run([sys.executable, "-c", _FIRST_CALLS], env=env, check=True,
                             capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_methods(images: list[np.ndarray], methods: dict[str, Callable], repeats: int,
                 clock: Callable[[], float]) -> dict[str, list[float]]:
    """Best of `repeats` times of every method on every image, calls interleaved."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for image in images:
        best = dict.fromkeys(methods, float("inf"))
        for _ in range(repeats):
            for name, method in methods.items():
                start = clock()
                method(image)
                best[name] = min(best[name], clock() - start)
        for name, value in best.items():
            times[name].append(value)
    return times


def markdown_table(times: dict[str, list[float]], targets=TARGETS) -> tuple[str, dict]:
    """The targets as a Markdown table, and ``{target name: median ratio}``."""
    lines = ["| method | ours s | peer s | ratio | target | met? |",
             "|---|---:|---:|---:|---:|:---:|"]
    ratios = {}
    for target in targets:
        ours, peer = np.asarray(times[target.ours]), np.asarray(times[target.peer])
        ratio = float(np.median(ours / peer))
        ratios[target.name] = ratio
        lines.append(f"| {target.name} | {np.median(ours):.3f} | {np.median(peer):.3f} | "
                     f"{ratio:.2f}x | <= {target.limit:g}x | "
                     f"{'yes' if ratio <= target.limit else 'no'} |")
    return "\n".join(lines), ratios


def main(argv=None) -> dict[str, float]:
    """Time every target; print the compile times and the Markdown table; return ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help="the BSDS500 folder (holding data/images/val)")
    parser.add_argument("--images", type=int, default=5, help="val images to time")
    parser.add_argument("--repeats", type=int, default=3, help="calls per image and method")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="process CPU time (default) or wall time")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the cold-compile measurement in a fresh process")
    args = parser.parse_args(argv)
    if args.images < 1 or args.repeats < 1:
        parser.error(f"--images and --repeats must be >= 1; got {args.images} and "
                     f"{args.repeats}.")
    folder = args.root / "data" / "images" / "val"
    paths = sorted(folder.glob("*.jpg"))[: args.images]
    if not paths:
        parser.error(f"no .jpg images in {folder}; pass --root pointing at BSDS500.")

    sys.path.insert(0, str(REPO))
    import cv2  # noqa: F401  (loaded before set_threads so that its pool is limited too)
    import numba  # noqa: F401
    import sklearn.cluster  # noqa: F401  (scikit-learn's OpenMP runtime, likewise)
    from PIL import Image

    from benchmarks._runtime import set_threads

    set_threads(1)
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB")))
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    methods = _methods()
    tiny = (np.random.default_rng(0).random((9, 11, 3)) * 255).astype(np.uint8)
    print("first call on a 9 x 11 image (JIT compile or Numba cache load), seconds:")
    if not args.no_compile:
        cold = compile_times()
        print(f"  fresh process, empty Numba cache: import classical "
              f"{cold.pop('import classical'):.2f}; "
              + ", ".join(f"{name} {value:.2f}" for name, value in cold.items()))
    warm = {}
    for name, method in methods.items():
        start = time.perf_counter()
        method(tiny)
        warm[name] = time.perf_counter() - start
    print("  this process: " + ", ".join(f"{name} {value:.2f}" for name, value in warm.items()))

    sizes = sorted({f"{im.shape[1]}x{im.shape[0]}" for im in images})
    print(f"\n{len(images)} BSDS500 val images ({', '.join(sizes)}), 1 thread, best of "
          f"{args.repeats} {args.clock} times per image, medians over images:\n")
    times = time_methods(images, methods, args.repeats, clock)
    table, ratios = markdown_table(times)
    print(table)
    counts = {name: statistics.median(int(np.max(methods[name](im))) + 1 for im in images)
              for name in ("region_growing", "split_merge", "kmeans", "felzenszwalb", "slic")}
    print("\nmedian regions per image: " + ", ".join(f"{k} {v:g}" for k, v in counts.items()))
    return ratios


if __name__ == "__main__":
    main()
