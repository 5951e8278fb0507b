"""Pieces shared by the perf scripts: wall-clock timing and the BSDS speed command line."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from threadpoolctl import threadpool_limits

__all__ = ["BSDS_DATA", "best_time", "bsds_speed_main", "interleaved_best"]

#: The BSDS500 ``data`` folder beside the checkout (``../shared/datasets``).
BSDS_DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "BSDS500" / "data"


def best_time(function: Callable[[], object], repeats: int) -> float:
    """Best wall time of `repeats` calls, in seconds.

    Parameters
    ----------
    function : callable
        Called with no arguments.
    repeats : int
        Number of timed calls.

    Returns
    -------
    float
        The shortest call (the least disturbed by other processes).
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_best(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each call over `repeats` rounds, after one warm-up call each.

    Parameters
    ----------
    runs : dict of str to callable
        Named calls with no arguments, warmed up and timed in this order.
    repeats : int
        Rounds; each round times every call once.

    Returns
    -------
    dict of str to float
        ``{name: best seconds}``.
    """
    for run in runs.values():  # warm-up: compilation, imports, caches
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):  # interleaved, so all calls see the same machine load
        for name, run in runs.items():
            best[name] = min(best[name], best_time(run, 1))
    return best


def bsds_speed_main(doc: str, speed_report: Callable[[list[Path], int], dict[str, float]],
                    covering_report: Callable[[Path, list[str]], dict[str, float]],
                    argv=None) -> dict[str, float]:
    """The command line of a BSDS speed script: time val images, optionally covering.

    Parameters
    ----------
    doc : str
        The script's docstring; its first line describes the command.
    speed_report : callable
        ``speed_report(paths, repeats)`` on the first ``--images`` val images.
    covering_report : callable
        ``covering_report(root, ids)`` on the first five train images, with
        ``--covering``.
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict of str to float
        The speed report's results, updated with the covering report's.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="BSDS val images to time")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--covering", action="store_true",
                        help="also report covering on 5 BSDS train images")
    parser.add_argument("--root", type=Path, default=BSDS_DATA, help="BSDS500/data folder")
    args = parser.parse_args(argv)
    paths = sorted((args.root / "images" / "val").glob("*.jpg"))[: args.images]
    if not paths:
        raise SystemExit(f"no BSDS val images under {args.root / 'images' / 'val'}")
    result = speed_report(paths, args.repeats)
    if args.covering:
        ids = [p.stem for p in sorted((args.root / "images" / "train").glob("*.jpg"))[:5]]
        with threadpool_limits(1):  # unlimited OpenMP threads thrash on a shared machine
            result.update(covering_report(args.root, ids))
    return result
