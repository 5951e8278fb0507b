"""How fast is the synthetic generator? Milliseconds per image, next to a named peer.

For each preset, generates images with :class:`~benchmarks.datasets.synthetic.SyntheticDataset`
and runs :func:`skimage.segmentation.slic` (100 segments) on the same images in the same
run, so the ratio says how the generator compares with one cheap segmentation of its
own output on this machine. Timings are the best of a few repeats of the mean per image,
both wall-clock and CPU time of this process (CPU time is the steadier number on a busy
machine; the ratio uses it).

Run with ``python benchmarks/perf/synthetic_speed.py``.
"""

from __future__ import annotations

import time

__all__ = ["main", "measure"]


def _best_mean_ms(function, items, repeat: int) -> tuple[float, float]:
    """Best (wall, CPU) milliseconds per item over `repeat` passes."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for item in items:
            function(item)
        wall = min(wall, (time.perf_counter() - start) / len(items))
        cpu = min(cpu, (time.process_time() - start_cpu) / len(items))
    return wall * 1000.0, cpu * 1000.0


def measure(preset: str, n_images: int = 16, repeat: int = 3) -> dict:
    """Time generation and SLIC for one preset.

    Parameters
    ----------
    preset : str
        A key of :data:`~benchmarks.datasets.synthetic.PRESETS`.
    n_images : int, optional
        Images per repeat (the first `n_images` of the train split).
    repeat : int, optional
        Repeats; the fastest is kept.

    Returns
    -------
    row : dict
        ``preset``, ``size`` (H, W); ``generate_ms``, ``generate_cpu_ms``, ``slic_ms``
        and ``slic_cpu_ms`` per image; ``ratio`` = generate_cpu_ms / slic_cpu_ms.
    """
    from skimage.segmentation import slic

    from benchmarks.datasets.synthetic import SyntheticDataset

    ds = SyntheticDataset("train", preset=preset, seed=0)
    indices = list(range(min(n_images, len(ds))))
    ds.load(0)  # warm up imports and caches
    generate_ms, generate_cpu_ms = _best_mean_ms(ds.load, indices, repeat)
    images = [ds.load(i).image for i in indices]
    slic(images[0], n_segments=100, start_label=1)
    slic_ms, slic_cpu_ms = _best_mean_ms(lambda im: slic(im, n_segments=100, start_label=1),
                                         images, repeat)
    return {"preset": preset, "size": images[0].shape[:2], "generate_ms": generate_ms,
            "generate_cpu_ms": generate_cpu_ms, "slic_ms": slic_ms, "slic_cpu_ms": slic_cpu_ms,
            "ratio": generate_cpu_ms / slic_cpu_ms}


def main(n_images: int = 16, repeat: int = 3) -> list[dict]:
    """Measure every preset and print one line each; return the rows."""
    from benchmarks.datasets.synthetic import PRESETS

    rows = [measure(preset, n_images, repeat) for preset in PRESETS]
    print("ms per image (wall / CPU); ratio = generate CPU / slic CPU")
    print(f"{'preset':<8} {'size':>9} {'generate':>15} {'slic':>15} {'ratio':>7}")
    for row in rows:
        h, w = row["size"]
        generate = f"{row['generate_ms']:.1f} / {row['generate_cpu_ms']:.1f}"
        peer = f"{row['slic_ms']:.1f} / {row['slic_cpu_ms']:.1f}"
        print(f"{row['preset']:<8} {f'{h}x{w}':>9} {generate:>15} {peer:>15} "
              f"{row['ratio']:>7.2f}")
    return rows


if __name__ == "__main__":
    main()
