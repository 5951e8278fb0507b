"""The BSDS500 benchmark driver: folders of results in, the official files out.

:func:`evaluate_bsds` reads the ground truth ``<id>.mat`` of every image in a folder
and a method's output for each, runs the region benchmark
(:mod:`benchmarks.metrics.region`) and/or the boundary benchmark
(:mod:`benchmarks.metrics.boundary`) per image, aggregates as the official
``collect_eval_*.m`` do, and writes the official text files. It mirrors the official
``allBench.m`` / ``boundaryBench.m`` / ``regionBench.m``:

============  ===========================================  =====================
machine       files                                        benchmarks
============  ===========================================  =====================
``ucm_dir``   ``<id>.mat`` with ``ucm2`` (2H+1, 2W+1)       region and boundary
``seg_dir``   ``<id>.mat`` with a ``segs`` cell, or          region and boundary
              ``<id>.npz`` with ``segs`` (K, H, W)
``png_dir``   ``<id>.png`` 8-bit boundary probability        boundary only
============  ===========================================  =====================

With ``out_dir`` each image's result is cached there (``<id>_region.npz``,
``<id>_boundary.npz``, written atomically), so an interrupted run resumes where it
stopped; a cached result is reused only if it was computed from the same input file
(size and modification time) with the same settings.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classical._validate import check_int
from benchmarks.metrics.region import (RegionImage, RegionResult, collect_regions,
                                       evaluate_regions_image, write_region_files)

__all__ = ["BSDSResult", "evaluate_bsds", "read_machine", "boundary_summary"]

_BENCHES = ("all", "region", "boundary")


@dataclass(frozen=True, eq=False)
class BSDSResult:
    """Dataset results of :func:`evaluate_bsds`.

    Attributes
    ----------
    ids : tuple of str
        Image ids in the official (file name) order.
    region : RegionResult or None
        None when the region benchmark was not run.
    boundary : BoundaryResult or None
        From :func:`benchmarks.metrics.boundary.collect_boundaries`; None when not run.
    out_dir : Path or None
        Where the official files were written.
    """

    ids: tuple[str, ...]
    region: RegionResult | None
    boundary: Any | None
    out_dir: Path | None

    def summary(self) -> str:
        """The official summary lines (boundary first, then region)."""
        parts = []
        if self.boundary is not None:
            parts.append(boundary_summary(self.boundary))
        if self.region is not None:
            parts.append(self.region.summary())
        return "\n\n".join(parts)


def boundary_summary(result) -> str:
    """The official boundary summary (``plot_eval.m`` wording) of a BoundaryResult.

    Uses ``result.summary()`` when the boundary module provides it; otherwise formats
    the ``eval_bdry.txt`` row (thr, ODS R/P/F, OIS R/P/F, AP).
    """
    method = getattr(result, "summary", None)
    if callable(method):
        return str(method())
    from benchmarks.metrics._official import read_official_txt
    from benchmarks.metrics.boundary import write_boundary_files

    with tempfile.TemporaryDirectory() as tmp:
        write_boundary_files(result, tmp)
        row = read_official_txt(Path(tmp) / "eval_bdry.txt")[0]
    thr, odsR, odsP, odsF, oisR, oisP, oisF, ap = row[:8]
    return (f"Boundary\nODS: F( {odsR:.2f}, {odsP:.2f} ) = {odsF:.2f}   [th = {thr:.2f}]\n"
            f"OIS: F( {oisR:.2f}, {oisP:.2f} ) = {oisF:.2f}\nArea_PR = {ap:.2f}")


# --------------------------------------------------------------------------------------
# Reading inputs
# --------------------------------------------------------------------------------------


def _loadmat(path: Path, variable: str) -> Any:
    from scipy.io import loadmat

    try:
        contents = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - loadmat raises many types on bad files
        raise ValueError(f"{path}: cannot read MATLAB file ({type(exc).__name__}: {exc}).") from exc
    if variable not in contents:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise ValueError(f"{path}: no variable {variable!r} (found {found}).")
    return contents[variable]


def read_machine(path, kind: str):
    """Read one machine result file as the benchmarks take it.

    Parameters
    ----------
    path : str or os.PathLike
        ``.mat`` (``ucm2`` or ``segs``), ``.npz`` (``segs`` (K, H, W)) or ``.png``.
    kind : {"ucm", "segs", "pb"}
        What the file holds.

    Returns
    -------
    machine : ndarray or list of ndarray
        ucm2 float64 (2H+1, 2W+1); segs list of (H, W) integer arrays; pb float64
        (H, W) in [0, 1] (8-bit value / 255).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file lacks the expected variable or has the wrong layout.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"machine result {str(path)!r} does not exist.")
    if kind == "ucm":
        ucm2 = np.asarray(_loadmat(path, "ucm2"))
        if ucm2.ndim != 2 or not np.issubdtype(ucm2.dtype, np.number):
            raise ValueError(f"{path}: 'ucm2' must be a 2-D numeric matrix; got "
                             f"{ucm2.dtype} with shape {ucm2.shape}.")
        return ucm2.astype(np.float64, copy=False)
    if kind == "segs":
        if path.suffix == ".npz":
            with np.load(path) as data:
                if "segs" not in data:
                    raise ValueError(f"{path}: no array 'segs' (found {sorted(data.files)}).")
                segs = np.asarray(data["segs"])
            if segs.ndim == 2:
                segs = segs[None]
            if segs.ndim != 3:
                raise ValueError(f"{path}: 'segs' must have shape (K, H, W); got {segs.shape}.")
            return list(segs)
        cells = np.asarray(_loadmat(path, "segs"))
        if cells.dtype != object:  # a single segmentation stored as a matrix
            return [cells]
        return [np.asarray(c) for c in cells.ravel()]
    if kind == "pb":
        from PIL import Image

        with Image.open(path) as im:
            pb = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
        return pb
    raise ValueError(f"kind must be 'ucm', 'segs' or 'pb'; got {kind!r}.")


def _machine_file(folder: Path, image_id: str, kind: str) -> Path | None:
    suffixes = {"ucm": (".mat",), "segs": (".mat", ".npz"), "pb": (".png",)}[kind]
    for suffix in suffixes:
        candidate = folder / f"{image_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------------------
# Per-image work and its cache
# --------------------------------------------------------------------------------------


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _save_npz(path: Path, arrays: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load_cached(path: Path, meta: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["_meta"]) != meta:
                return None
            return {k: data[k] for k in data.files if k != "_meta"}
    except Exception:  # noqa: BLE001 - a damaged cache file is recomputed
        return None


def _boundary_to_arrays(image) -> dict:
    return {f.name: np.asarray(getattr(image, f.name)) for f in dataclasses.fields(image)}


def _boundary_from_arrays(arrays: dict):
    from benchmarks.metrics.boundary import BoundaryImage

    values = {k: (v.item() if v.ndim == 0 else v) for k, v in arrays.items()}
    return BoundaryImage(**values)


def _evaluate_one(image_id: str, gt_path: Path, machine_path: Path, kind: str, nthresh: int,
                  run_region: bool, run_boundary: bool, cache_dir: Path | None,
                  boundary_options: dict):
    """Region and/or boundary result of one image (from the cache when valid)."""
    from benchmarks.datasets.bsds500 import read_bsds_ground_truth

    stamp = f"{_stamp(machine_path)}|{_stamp(gt_path)}|{kind}|{nthresh}"
    region = boundary = None
    region_file = boundary_file = None
    if cache_dir is not None:
        region_file = cache_dir / f"{image_id}_region.npz"
        boundary_file = cache_dir / f"{image_id}_boundary.npz"
        if run_region:
            cached = _load_cached(region_file, stamp)
            region = RegionImage.from_dict(cached) if cached is not None else None
        if run_boundary:
            bmeta = f"{stamp}|{sorted(boundary_options.items())}"
            cached = _load_cached(boundary_file, bmeta)
            boundary = _boundary_from_arrays(cached) if cached is not None else None
    need_region = run_region and region is None
    need_boundary = run_boundary and boundary is None
    if not (need_region or need_boundary):
        return region, boundary
    partitions, gt_boundaries = read_bsds_ground_truth(gt_path)
    machine = read_machine(machine_path, kind)
    try:
        if need_region:
            region = evaluate_regions_image(machine, partitions, kind=kind, nthresh=nthresh)
            if region_file is not None:
                _save_npz(region_file, {**region.to_dict(), "_meta": np.asarray(stamp)})
        if need_boundary:
            from benchmarks.metrics.boundary import evaluate_boundaries_image

            boundary = evaluate_boundaries_image(machine, gt_boundaries, kind=kind,
                                                 nthresh=nthresh, **boundary_options)
            if boundary_file is not None:
                bmeta = f"{stamp}|{sorted(boundary_options.items())}"
                _save_npz(boundary_file, {**_boundary_to_arrays(boundary),
                                          "_meta": np.asarray(bmeta)})
    except (ValueError, TypeError) as exc:
        kind_of_error = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind_of_error(f"image {image_id} ({machine_path.name}): {exc}") from exc
    return region, boundary


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def _official_order(ids) -> list[str]:
    # The official collectors list "<id>_ev1.txt" files with dir(), i.e. sort by file
    # name; sorting "<id>_ev" reproduces that order (also where one id prefixes another).
    return sorted(ids, key=lambda i: i + "_ev")


def evaluate_bsds(gt_dir, *, ucm_dir=None, seg_dir=None, png_dir=None, nthresh: int = 99,
                  bench: str = "all", out_dir=None, jobs: int = 1, progress: bool = True,
                  max_dist: float = 0.0075, thin: bool = True) -> BSDSResult:
    """Run the BSDS500 benchmarks on a folder of results, as the official code does.

    Parameters
    ----------
    gt_dir : str or os.PathLike
        Folder of ground-truth ``<id>.mat`` files (variable ``groundTruth``); every
        image there is evaluated.
    ucm_dir, seg_dir, png_dir : str or os.PathLike, optional
        Exactly one: the method's ucm2 ``<id>.mat``, segmentation sweep ``<id>.mat``
        (``segs`` cell) or ``<id>.npz`` (``segs`` (K, H, W)), or 8-bit boundary maps
        ``<id>.png`` (boundary benchmark only).
    nthresh : int, optional
        Number of thresholds for ucm2 and png (99 as the official default). For segs
        the number of thresholds is the number of segmentations K.
    bench : {"all", "region", "boundary"}, optional
        Which benchmarks. "all" runs every benchmark the input allows.
    out_dir : str or os.PathLike, optional
        Folder for the official files (``eval_cover*.txt``, ``eval_RI_VOI*.txt``,
        ``eval_bdry*.txt``) and the per-image cache. Created if needed.
    jobs : int, optional
        Worker processes (joblib); 1 runs in this process.
    progress : bool, optional
        Show a tqdm progress bar on stderr.
    max_dist, thin : optional
        Boundary matching tolerance (fraction of the image diagonal) and whether to
        thin machine boundaries, passed to the boundary benchmark.

    Returns
    -------
    BSDSResult

    Raises
    ------
    ValueError
        If not exactly one machine folder is given, `bench` is unknown, png maps are
        asked for the region benchmark, or an input file is malformed (the message
        names the image).
    FileNotFoundError
        If a folder is missing, holds no ``.mat`` ground truth, or a machine result is
        missing for some image (the message lists them).

    References
    ----------
    .. [1] P. Arbeláez, M. Maire, C. Fowlkes, J. Malik, "Contour Detection and
       Hierarchical Image Segmentation", IEEE TPAMI 33(5), 2011.

    Examples
    --------
    >>> r = evaluate_bsds("BSDS500/bench_sample/groundTruth",
    ...                   ucm_dir="BSDS500/bench_sample/ucm2", nthresh=5)  # doctest: +SKIP
    >>> print(r.summary())                                               # doctest: +SKIP
    """
    given = {k: v for k, v in (("ucm_dir", ucm_dir), ("seg_dir", seg_dir),
                               ("png_dir", png_dir)) if v is not None}
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise ValueError(f"give exactly one of ucm_dir, seg_dir, png_dir; got {got}.")
    if bench not in _BENCHES:
        raise ValueError(f"bench must be one of {', '.join(map(repr, _BENCHES))}; got {bench!r}.")
    nthresh = check_int(nthresh, "nthresh", minimum=1)
    jobs = check_int(jobs, "jobs", minimum=1)
    (arg, machine_dir), = given.items()
    kind = {"ucm_dir": "ucm", "seg_dir": "segs", "png_dir": "pb"}[arg]
    if kind == "pb" and bench == "region":
        raise ValueError("png boundary maps have no regions, so the region benchmark cannot "
                         "score them; pass ucm_dir or seg_dir, or bench='boundary'.")
    run_region = bench in ("all", "region") and kind != "pb"
    run_boundary = bench in ("all", "boundary")

    gt_dir, machine_dir = Path(gt_dir), Path(machine_dir)
    for name, folder in (("gt_dir", gt_dir), (arg, machine_dir)):
        if not folder.is_dir():
            raise FileNotFoundError(f"{name} {str(folder)!r} is not a folder.")
    ids = _official_order(p.stem for p in gt_dir.glob("*.mat"))
    if not ids:
        raise FileNotFoundError(f"gt_dir {str(gt_dir)!r} holds no <id>.mat ground-truth files.")
    machine_files = {i: _machine_file(machine_dir, i, kind) for i in ids}
    missing = [i for i, p in machine_files.items() if p is None]
    if missing:
        want = {"ucm": "<id>.mat", "segs": "<id>.mat or <id>.npz", "pb": "<id>.png"}[kind]
        raise FileNotFoundError(
            f"{arg} {str(machine_dir)!r} lacks {want} for {len(missing)} of {len(ids)} "
            f"ground-truth images (first: {', '.join(missing[:5])}).")
    cache_dir = None
    if out_dir is not None:
        cache_dir = Path(out_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)

    options = {"max_dist": float(max_dist), "thin": bool(thin)}
    tasks = [(i, gt_dir / f"{i}.mat", machine_files[i], kind, nthresh, run_region,
              run_boundary, cache_dir, options) for i in ids]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc="bsds", unit="img", disable=not progress)
    results = []
    try:
        if jobs == 1:
            for task in tasks:
                results.append(_evaluate_one(*task))
                bar.update()
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=jobs, return_as="generator")
            for out in parallel(delayed(_evaluate_one)(*task) for task in tasks):
                results.append(out)
                bar.update()
    finally:
        bar.close()

    region = boundary = None
    if run_region:
        region = collect_regions([r for r, _ in results], ids)
    if run_boundary:
        from benchmarks.metrics.boundary import collect_boundaries

        boundary = collect_boundaries([b for _, b in results], ids)
    if cache_dir is not None:
        if region is not None:
            write_region_files(region, cache_dir)
        if boundary is not None:
            from benchmarks.metrics.boundary import write_boundary_files

            write_boundary_files(boundary, cache_dir)
    return BSDSResult(ids=tuple(ids), region=region, boundary=boundary, out_dir=cache_dir)
