"""The benchmark harness: every method, on the same images, scored on the same masks.

A work unit is (image, method): the method's whole parameter sweep on one image, scored
with the BSDS region benchmark (covering, PRI, VoI), the boundary benchmark (P/R/F) and,
on semantic datasets, the oracle labelling (each region takes its majority class: an
upper bound on what the segmentation allows, never a real semantic score). Units are
independent, run in parallel with joblib, and land in the run's SQLite store as they
finish, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmarks.store import ResultStore, Unit

__all__ = ["MethodConfig", "RunConfig", "default_config", "run", "summarize"]


@dataclass(frozen=True)
class MethodConfig:
    """One method of a run.

    Parameters
    ----------
    name : str
        Registry name (``segbench segment --list``).
    params : dict, optional
        Parameter overrides.
    sweep_param : str, optional
        Parameter to sweep; default the method's own.
    sweep_values : tuple, optional
        Values, fine to coarse; default the method's own sweep.
    """

    name: str
    params: dict = field(default_factory=dict)
    sweep_param: str | None = None
    sweep_values: tuple = ()

    def build(self):
        """The :class:`classical.Segmenter` this config describes."""
        from classical.methods import get_segmenter

        segmenter = get_segmenter(self.name, **self.params)
        if self.sweep_param is not None or self.sweep_values:
            segmenter = dataclasses.replace(
                segmenter,
                sweep_param=self.sweep_param or segmenter.sweep_param,
                sweep_values=tuple(self.sweep_values) or segmenter.sweep_values)
        return segmenter


@dataclass(frozen=True)
class RunConfig:
    """What a run compares, on what data.

    Parameters
    ----------
    dataset : str
        Dataset name (``segbench datasets list``).
    split : str
        Split to score.
    root : str, optional
        The dataset's folder (default: the usual lookup, see the README).
    dataset_options : dict, optional
        Extra reader options (e.g. ``{"preset": "medium"}`` for the synthetic set).
    methods : tuple of MethodConfig
    max_images : int, optional
        Score only the first images of the split.
    jobs : int
        Parallel worker processes (joblib/loky).
    """

    dataset: str = "synthetic"
    split: str = "val"
    root: str | None = None
    dataset_options: dict = field(default_factory=dict)
    methods: tuple[MethodConfig, ...] = ()
    max_images: int | None = None
    jobs: int = 1

    def to_dict(self) -> dict:
        """Plain JSON types (tuples become lists), so stored configs compare equal."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ValueError(f"unknown run config keys {unknown}; valid: {sorted(valid)}.")
        data = dict(data)
        data["methods"] = tuple(
            MethodConfig(**{**m, "sweep_values": tuple(m.get("sweep_values", ()))})
            for m in data.get("methods", ()))
        return cls(**data)


def default_config() -> RunConfig:
    """The demo: the synthetic dataset (medium preset, val split) and every classical
    method and baseline with its default sweep."""
    from classical.methods import METHODS

    return RunConfig(dataset="synthetic", split="val", dataset_options={"preset": "medium"},
                     methods=tuple(MethodConfig(name) for name in METHODS),
                     jobs=min(2, os.cpu_count() or 1))


def _load(config: RunConfig):
    from benchmarks.datasets import load_dataset

    return load_dataset(config.dataset, split=config.split, root=config.root,
                        **config.dataset_options)


def _ground_truth_boundaries(dataset, index: int, regions: list[np.ndarray]) -> list[np.ndarray]:
    from benchmarks.metrics.boundary import seg_to_boundary

    if hasattr(dataset, "boundaries"):  # BSDS500 ships the annotators' own boundary maps
        return dataset.boundaries(index)
    return [seg_to_boundary(p) for p in regions]


def _fields(obj) -> dict[str, np.ndarray]:
    return {f.name: np.asarray(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if not f.name.startswith("_")}


def _run_unit(dataset, index: int, method: MethodConfig, measure_memory: bool) -> Unit:
    """Sweep one method over one image and score every sweep value."""
    from benchmarks.metrics.boundary import evaluate_boundaries_image
    from benchmarks.metrics.oracle import oracle_labels
    from benchmarks.metrics.region import evaluate_regions_image
    from benchmarks.metrics.semantic import confusion_matrix

    sample = dataset[index]
    segmenter = method.build()
    values = segmenter.sweep_values
    # Warm-up on a crop: lazy imports and caches stay out of the timing.
    segmenter.with_params(**{segmenter.sweep_param: values[0]})(sample.image[:32, :32])
    wall, cpu = time.perf_counter(), time.process_time()
    sweep = segmenter.sweep(sample.image)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = None
    if measure_memory:
        # Peak of traced (Python + NumPy) allocations for one middle-of-sweep call,
        # measured apart from the timing so tracing does not slow the timed calls.
        tracemalloc.start()
        segmenter.with_params(**{segmenter.sweep_param: values[len(values) // 2]})(sample.image)
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    regions = sample.regions
    region_image = evaluate_regions_image(sweep, regions, kind="segs")
    boundary_image = evaluate_boundaries_image(
        sweep, _ground_truth_boundaries(dataset, index, regions), kind="segs")
    arrays = {f"region/{k}": v for k, v in _fields(region_image).items()}
    arrays.update({f"boundary/{k}": v for k, v in _fields(boundary_image).items()})
    n_regions = [int(labels.max()) + 1 for labels in sweep]
    if sample.mask is not None and dataset.num_classes is not None:
        arrays["oracle_confusion"] = np.stack([
            confusion_matrix(oracle_labels(labels, sample.mask), sample.mask, dataset.num_classes)
            for labels in sweep])
    dtype = np.uint16 if max(n_regions) <= 65536 else np.int32
    arrays["labels"] = np.stack(sweep).astype(dtype)
    meta = {"method": method.name, "image_id": sample.id, "index": index,
            "sweep_param": segmenter.sweep_param, "sweep_values": list(values),
            "params": {f.name: getattr(segmenter.params, f.name)
                       for f in dataclasses.fields(segmenter.params)},
            "wall_s": wall, "cpu_s": cpu, "n_values": len(values),
            "n_regions": n_regions, "peak_mb": peak_mb}
    return Unit(f"{method.name}/{index:06d}", method.name, sample.id, meta, arrays)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("segbench", "numpy", "scipy", "scikit-image", "scikit-learn",
                    "opencv-python-headless", "numba", "torch", "torchvision"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _git_commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def run(config: RunConfig | None = None, out_dir=None, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Run a benchmark and write its store and report; return the run folder.

    Parameters
    ----------
    config : RunConfig, optional
        Default :func:`default_config` (the demo).
    out_dir : path-like, optional
        Run folder; default ``runs/<timestamp>`` under the current directory.
    resume : bool, optional
        Continue a run in `out_dir`: units already stored are skipped. Without it an
        existing non-empty store is an error, so results are never mixed by accident.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    run_dir : Path
        Holds ``results.sqlite``, ``config.json``, ``report.html`` and ``report.md``.

    Raises
    ------
    ValueError
        For an unknown dataset, method or parameter, or an existing run without `resume`.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    from benchmarks.report import write_report

    config = config or default_config()
    if not config.methods:
        raise ValueError("the run config lists no methods.")
    for method in config.methods:  # fail fast on unknown names and parameters
        method.build()
    dataset = _load(config)
    n_images = len(dataset) if config.max_images is None else min(len(dataset), config.max_images)
    if n_images == 0:
        raise ValueError(f"dataset {config.dataset!r} split {config.split!r} has no images.")

    run_dir = Path(out_dir) if out_dir is not None else (
        Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S"))
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ResultStore(run_dir / "results.sqlite") as store:
        done = store.keys()
        if done and not resume:
            raise ValueError(f"{run_dir} already holds results; pass --resume to continue it "
                             "or choose another --out.")
        previous = store.info("config")
        if previous is not None and previous != config.to_dict():
            raise ValueError(f"{run_dir} was started with a different config; "
                             "resume it with the same config or choose another --out.")
        store.set_info("config", config.to_dict())
        _write_json(run_dir / "config.json", config.to_dict())
        todo = [(i, m) for m in config.methods for i in range(n_images)
                if f"{m.name}/{i:06d}" not in done]
        first = {m.name: 0 for m in config.methods}
        jobs = Parallel(n_jobs=config.jobs, backend="loky", return_as="generator_unordered")
        units = jobs(delayed(_run_unit)(dataset, i, m, i == first[m.name]) for i, m in todo)
        with tqdm(total=len(todo), desc="segbench run", unit="unit", disable=not progress) as bar:
            for unit in units:
                store.put(unit)
                bar.update()
        elapsed = time.perf_counter() - start + float(store.info("elapsed_s", 0.0) or 0.0)
        store.set_info("elapsed_s", elapsed)
        store.set_info("environment", {
            "versions": _versions(), "machine": platform.machine(),
            "processor": platform.processor(), "cpus": os.cpu_count(),
            "git_commit": _git_commit(), "finished": datetime.now().isoformat(timespec="seconds")})
        store.set_info("dataset", {"name": config.dataset, "split": config.split,
                                   "n_images": n_images, "task": dataset.task,
                                   "classes": [c.name for c in dataset.classes or ()]})
    write_report(run_dir)
    return run_dir


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def summarize(run_dir) -> list[dict]:
    """Dataset-level scores per method from a run's store, best covering first.

    Each row: method, ODS/OIS covering, PRI, VoI, boundary F (ODS/OIS), the parameter
    value at covering ODS, oracle mIoU there (semantic datasets; an upper bound), median
    seconds per image per parameter value, and the traced memory peak.
    """
    from benchmarks.metrics.boundary import BoundaryImage, collect_boundaries
    from benchmarks.metrics.region import RegionImage, collect_regions
    from benchmarks.metrics.semantic import mean_iou

    rows = []
    with ResultStore(Path(run_dir) / "results.sqlite") as store:
        methods = sorted({u.method for u in store.units(with_arrays=False)})
        for method in methods:
            units = list(store.units(method))
            ids = [u.image_id for u in units]
            regions = collect_regions(
                [RegionImage.from_dict({k[7:]: u.arrays[k] for k in u.arrays
                                        if k.startswith("region/")}) for u in units], ids)
            boundaries = collect_boundaries(
                [BoundaryImage(**{k[9:]: u.arrays[k] for k in u.arrays
                                  if k.startswith("boundary/")}) for u in units], ids)
            meta = units[0].meta
            values = meta["sweep_values"]
            ods_index = int(round(regions.ods_covering_threshold)) - 1
            row = {"method": method, "images": len(units), "sweep_param": meta["sweep_param"],
                   "ods_value": values[ods_index], **regions.as_dict(),
                   **boundaries.as_dict(),
                   "sec_per_image": float(np.median([u.meta["wall_s"] / u.meta["n_values"]
                                                     for u in units])),
                   "cpu_per_image": float(np.median([u.meta["cpu_s"] / u.meta["n_values"]
                                                     for u in units])),
                   "peak_mb": next((u.meta["peak_mb"] for u in units
                                    if u.meta["peak_mb"] is not None), None),
                   "regions_at_ods": float(np.median([u.meta["n_regions"][ods_index]
                                                      for u in units]))}
            if "oracle_confusion" in units[0].arrays:
                total = sum(u.arrays["oracle_confusion"] for u in units)
                row["oracle_miou"] = mean_iou(total[ods_index])
                row["oracle_miou_curve"] = [mean_iou(m) for m in total]
            row["covering_curve"] = regions.covering.tolist()
            row["boundary_pr"] = [boundaries.recall.tolist(), boundaries.precision.tolist()]
            row["sweep_values"] = values
            rows.append(row)
    rows.sort(key=lambda r: -r["covering_ods"])
    return rows
