"""The benchmark harness: every method, on the same images, scored on the same masks.

A work unit is (dataset, split, image, method, perturbation): the method's whole
parameter sweep on one (possibly perturbed) image, scored against the original ground
truth at the original size with the BSDS region benchmark (covering, PRI, VoI), the
boundary benchmark (P/R/F) and, on semantic datasets, the oracle labelling (each region
takes its majority class: an upper bound on what the segmentation allows, never a real
semantic score). Its key reads ``"bsds500:val/none/felzenszwalb/000012"``.

Deep models (an FCN by checkpoint, or trained at the start of the run on each scored
dataset's train split: see :mod:`benchmarks.config`) are units too, with a one-value
"sweep". Their class map is stored; the region and boundary benchmarks score its
8-connected same-class components (:func:`benchmarks.deep_methods.class_map_regions`),
so a model is scored on the same masks with the same protocol as every other method,
and its confusion matrix against the class mask gives real semantic scores (mIoU, pixel
and class accuracy), where classical methods only have the oracle upper bound. Deep
methods run on datasets with classes only (a run skips them on BSDS500 with a logged
note), are not run on tune splits (they have nothing to tune), and use one torch thread
per worker. A classical-only run never imports torch.

Each classical unit also checks the definition of a segmentation
(:func:`classical.partition.check_partition`) on the method's raw output for every
sweep value: cover and connectedness always; for methods driven by a homogeneity
predicate (region growing, split-and-merge, k-means with a merge predicate) also
whether every region satisfies it and no adjacent pair could merge under it.

The sweep stays inside one unit on purpose: methods reuse work across sweep values
(split-and-merge reads its whole sweep off one merge history), which a unit per value
would throw away.

Units are independent. They run in parallel with joblib (loky processes) or on a dask
cluster (``dask="tcp://host:8786"`` or ``dask_local=N`` workers), and each lands in the
run's SQLite store in one transaction as soon as it finishes, so a run killed at any
point (even by SIGKILL) resumes where it stopped (``resume=True``). Workers rebuild
datasets and methods from the config, so nothing heavy is pickled.

Results are deterministic given the config: datasets are read (or generated) the same
way, the run's ``seed`` goes to every perturbation (per image, through
:func:`benchmarks.robustness.unit_seed`) and to methods that have a ``seed`` parameter
(k-means, quick shift), and no unit depends on another or on the order units finish
in. Only timings and memory peaks change from run to run.

With ``tune_split`` on a dataset, the methods also run (unperturbed) on that split and
:func:`summarize` reports, beside each method's ODS on the scored split (optimistic: the
parameter is chosen on the very images it is scored on), its scores at the parameter
that is ODS on the tune split (honest).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import time
import tracemalloc
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

import numpy as np

from benchmarks.config import DatasetConfig, MethodConfig, RunConfig, load_config
from benchmarks.store import ResultStore, Unit

__all__ = ["DEMO_FCN", "DatasetConfig", "MethodConfig", "RunConfig", "compare_runs",
           "comparison_markdown", "default_config", "load_config", "run", "summarize"]

#: Version of the unit layout in the store (keys, columns); resuming needs the same.
STORE_SCHEMA = 2

_LOG = logging.getLogger(__name__)

#: The FCN of the demo: the recipe of RESULTS.md ("Deep models: quality") on a budget
#: that keeps the whole demo within 5 minutes on 2 cores.
DEMO_FCN = MethodConfig("fcn8s_resnet18", train={
    "minutes": 2.0, "batch_size": 4, "crop_size": (128, 128), "scale_range": (0.8, 1.25),
    "color_jitter": 0.0, "optimizer": "adamw", "lr": 2e-3, "schedule": "onecycle",
    "model_options": {"dropout": 0.1}, "cache_samples": True})


def default_config() -> RunConfig:
    """The demo (``benchmarks/configs/demo.toml``): the synthetic dataset (medium preset,
    val split), every classical method and baseline with its default sweep, and a small
    FCN (:data:`DEMO_FCN`) trained in the run on the synthetic train split, on two
    worker processes."""
    from classical.methods import METHODS

    return RunConfig(datasets=(DatasetConfig("synthetic", "val", options={"preset": "medium"}),),
                     methods=tuple(MethodConfig(name) for name in METHODS) + (DEMO_FCN,),
                     jobs=2)


# --------------------------------------------------------------------------------------
# One unit
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """What a worker needs to run one unit: plain config data, cheap to pickle."""

    dataset: DatasetConfig
    split: str
    index: int
    method: MethodConfig
    perturbation: str
    seed: int
    measure_memory: bool

    @property
    def key(self) -> str:
        return unit_key(self.dataset.label, self.split, self.perturbation, self.method.label,
                        self.index)


def unit_key(dataset: str, split: str, perturbation: str, method: str, index: int) -> str:
    """``"dataset:split/perturbation/method/000index"``, a unit's key in the store."""
    return f"{dataset}:{split}/{perturbation}/{method}/{index:06d}"


_DATASETS: dict[str, object] = {}


def _dataset(config: DatasetConfig, split: str):
    """The reader for (config, split), opened once per worker process."""
    key = json.dumps([config.to_dict(), split], sort_keys=True)
    if key not in _DATASETS:
        _DATASETS[key] = config.load(split)
    return _DATASETS[key]


def _ground_truth_boundaries(dataset, index: int, regions: list[np.ndarray]) -> list[np.ndarray]:
    from benchmarks.metrics.boundary import seg_to_boundary

    if hasattr(dataset, "boundaries"):  # BSDS500 ships the annotators' own boundary maps
        return dataset.boundaries(index)
    return [seg_to_boundary(p) for p in regions]


def _fields(obj) -> dict[str, np.ndarray]:
    return {f.name: np.asarray(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if not f.name.startswith("_")}


def _plain(value):
    """JSON-safe copy of a parameter value (unknown objects become their repr)."""
    return json.loads(json.dumps(value, default=repr))


def _sweep(segmenter, image: np.ndarray) -> list[np.ndarray]:
    if segmenter.sweep_param is None or not segmenter.sweep_values:
        return [segmenter(image)]  # a method without a sweep runs once
    return segmenter.sweep(image)


@contextmanager
def _torch_threads(n: int):
    """torch limited to `n` threads, then restored (units may run in the caller's
    process, with ``jobs=1``)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---- check_partition per unit


def _method_predicate(params):
    """The homogeneity predicate a method's output should satisfy, or None.

    Methods driven by a predicate keep it in a ``predicate`` parameter (region growing,
    k-means' optional merge); split-and-merge's ``threshold`` replaces the predicate's
    first threshold, so its merge predicate is that family member.
    """
    from classical.predicates import Predicate, parse_predicate

    predicate = getattr(params, "predicate", None)
    if isinstance(predicate, str):
        predicate = parse_predicate(predicate)
    if not isinstance(predicate, Predicate):
        return None
    if getattr(params, "threshold", None) is not None and hasattr(params, "split_scale"):
        from classical.split_merge import SplitMergeParams, with_threshold

        if isinstance(params, SplitMergeParams):
            predicate = with_threshold(predicate, params.threshold)
    return predicate


def _predicate_inputs(predicate, params, image: np.ndarray):
    """``RegionStats.from_labels`` inputs for `predicate` on `image`, or None when they
    cannot be known: a ``space="features"`` predicate reads a method's own feature
    stack, which only k-means' parameters describe."""
    from classical.features import gabor_energy, lbp_codes, standardise
    from classical.predicates import predicate_features, required_space

    space = required_space(predicate)
    if space != "features":
        return predicate_features(predicate, image)
    if all(hasattr(params, k) for k in ("features", "weights", "n_orientations",
                                        "wavelengths", "window")):
        from classical.features import feature_stack

        # The stack k-means clustered and merged on (kmeans_segment builds it so).
        stack = feature_stack(image, params.features, weights=params.weights or None,
                              n_orientations=params.n_orientations,
                              wavelengths=params.wavelengths, window=params.window)
        histograms = lbp_codes(image) if predicate.uses_histogram else None
        return {"features": stack,
                "texture": standardise(gabor_energy(image)) if predicate.uses_texture
                else None,
                "histograms": histograms, "n_bins": 10 if histograms is not None else None}
    return None


def _cover_connected(labels: np.ndarray, connectivity: int) -> tuple[bool, int]:
    """Conditions 1 and 3 of a segmentation for one label image, cheaply: whether every
    pixel has a label (>= 0), and how many labels are split into several connected
    components. The same answer as :func:`classical.partition.check_partition`'s
    ``covers`` and ``n_disconnected`` (a test holds them equal), without the region
    statistics and adjacency graph a predicate needs: one connected-component
    labelling, so it can run on every sweep value."""
    from skimage.measure import label

    labels = np.asarray(labels)
    if labels.min() < 0:  # unlabelled pixels: let check_partition count the rest
        from classical.partition import check_partition
        from classical.predicates import MinSize

        report = check_partition(labels, None, MinSize(0), connectivity=connectivity,
                                 features=np.zeros(labels.shape), max_listed=0)
        return False, report.n_disconnected
    # background=-1 never occurs, so every pixel is in a component (numbered from 1).
    components = label(labels, background=-1, connectivity=1 if connectivity == 4 else 2)
    owner = np.zeros(int(components.max()) + 1, dtype=np.int64)
    owner[components.ravel()] = labels.ravel()
    pieces = np.bincount(owner[1:], minlength=int(labels.max()) + 1)
    return True, int(np.count_nonzero(pieces > 1))


def _partition_checks(segmenter, param, values, sweep, image) -> tuple[list[dict], str | None]:
    """Which conditions of a segmentation each sweep value's output meets, in compact
    form, and the predicate checked (its repr; None without one).

    Cover and connectedness are checked on every sweep value (:func:`_cover_connected`).
    For a method driven by a homogeneity predicate, :func:`classical.partition.check_partition`
    also checks, at the middle sweep value only, whether every region satisfies the
    predicate (``holds``) and no adjacent pair could merge under it (``maximal``): that
    needs every region's statistics and the adjacency graph, which on a BSDS image cost
    about as much as split-and-merge's whole one-pass sweep. Those two are None on the
    other values, and for methods without a predicate (or with a ``space="features"``
    predicate whose feature stack the harness cannot rebuild). The adjacency is the
    method's own ``connectivity`` parameter (8 when it has none).
    """
    from classical.partition import check_partition

    connectivity = getattr(segmenter.params, "connectivity", 8)
    connectivity = connectivity if connectivity in (4, 8) else 8
    middle = len(values) // 2
    entries, checked = [], None
    for k, (value, labels) in enumerate(zip(values, sweep)):
        covers, n_disconnected = _cover_connected(labels, connectivity)
        entry = {"covers": covers, "connected": n_disconnected == 0, "holds": None,
                 "maximal": None, "n_disconnected": n_disconnected, "n_failing": None,
                 "n_mergeable": None}
        if k == middle:
            params = (segmenter.with_params(**{param: value}).params if param is not None
                      else segmenter.params)
            predicate = _method_predicate(params)
            inputs = None if predicate is None else _predicate_inputs(predicate, params, image)
            if inputs is not None:
                report = check_partition(labels, None, predicate, connectivity=connectivity,
                                         features=inputs, max_listed=0)
                entry.update(holds=bool(report.holds), maximal=bool(report.maximal),
                             n_failing=report.n_failing, n_mergeable=report.n_mergeable)
                checked = repr(predicate)
        entries.append(entry)
    return entries, checked


# ---- the unit


def _run_unit(task: _Task) -> Unit:
    """Sweep one method over one (perturbed) image and score every sweep value."""
    deep = task.method.kind == "deep"
    with _torch_threads(1) if deep else nullcontext():
        return _score_unit(task, deep)


def _score_unit(task: _Task, deep: bool) -> Unit:
    from benchmarks.metrics.boundary import evaluate_boundaries_image
    from benchmarks.metrics.oracle import oracle_labels
    from benchmarks.metrics.region import evaluate_regions_image
    from benchmarks.metrics.semantic import confusion_matrix

    dataset = _dataset(task.dataset, task.split)
    sample = dataset[task.index]
    segmenter = task.method.build(task.seed)
    image, perturbation = sample.image, None
    if task.perturbation != "none":
        from benchmarks.robustness import parse_perturbation, unit_seed

        perturbation = parse_perturbation(task.perturbation)
        image = perturbation.apply(image, seed=unit_seed(task.seed, sample.id))
    param = segmenter.sweep_param if segmenter.sweep_values else None
    values = tuple(segmenter.sweep_values) if param is not None else (None,)
    first = segmenter.with_params(**{param: values[0]}) if param is not None else segmenter
    # Warm-up on a crop: lazy imports, caches and a model's loading stay out of the timing.
    first(image[:32, :32])
    wall, cpu = time.perf_counter(), time.process_time()
    sweep = _sweep(segmenter, image)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = None
    if task.measure_memory and not deep:
        # Peak of traced (Python + NumPy) allocations for one middle-of-sweep call,
        # measured apart from the timing so tracing does not slow the timed calls.
        # (torch allocates outside tracemalloc's view: no peak for deep methods.)
        middle = (segmenter.with_params(**{param: values[len(values) // 2]})
                  if param is not None else segmenter)
        tracemalloc.start()
        middle(image)
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    partition = predicate = None
    if not deep:  # the method's own output, on the image it saw
        partition, predicate = _partition_checks(segmenter, param, values, sweep, image)
    if perturbation is not None:  # scored at the original size, on the original masks
        sweep = [perturbation.restore_labels(labels, sample.image.shape[:2]) for labels in sweep]

    arrays = {}
    if deep:
        from benchmarks.deep_methods import class_map_regions

        class_maps, sweep = sweep, [class_map_regions(c) for c in sweep]
        arrays["confusion"] = np.stack([confusion_matrix(c, sample.mask, dataset.num_classes)
                                        for c in class_maps])
    regions = sample.regions
    region_image = evaluate_regions_image(sweep, regions, kind="segs")
    boundary_image = evaluate_boundaries_image(
        sweep, _ground_truth_boundaries(dataset, task.index, regions), kind="segs")
    arrays.update({f"region/{k}": v for k, v in _fields(region_image).items()})
    arrays.update({f"boundary/{k}": v for k, v in _fields(boundary_image).items()})
    n_regions = [int(labels.max()) + 1 for labels in sweep]
    if not deep and sample.mask is not None and dataset.num_classes is not None:
        arrays["oracle_confusion"] = np.stack([
            confusion_matrix(oracle_labels(labels, sample.mask), sample.mask, dataset.num_classes)
            for labels in sweep])
    stored = class_maps if deep else sweep  # a deep method's class map, not its components
    dtype = np.uint16 if max(int(x.max()) + 1 for x in stored) <= 65536 else np.int32
    arrays["labels"] = np.stack(stored).astype(dtype)
    meta = {"method": task.method.label, "name": task.method.name, "image_id": sample.id,
            "index": task.index, "dataset": task.dataset.label, "split": task.split,
            "perturbation": task.perturbation, "seed": task.seed,
            "kind": task.method.kind,
            "sweep_param": param, "sweep_values": _plain(list(values)),
            "params": {f.name: _plain(getattr(segmenter.params, f.name))
                       for f in dataclasses.fields(segmenter.params)},
            "wall_s": wall, "cpu_s": cpu, "n_values": len(values),
            "n_regions": n_regions, "peak_mb": peak_mb}
    if not deep:
        meta["partition"], meta["predicate"] = partition, predicate
    return Unit(task.key, task.method.label, sample.id, meta, arrays,
                task.dataset.label, task.split, task.perturbation)


# --------------------------------------------------------------------------------------
# Backends: each yields units as they finish
# --------------------------------------------------------------------------------------


def _joblib_units(tasks: list[_Task], jobs: int) -> Iterator[Unit]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_run_unit)(task) for task in tasks)


# One library thread per dask worker process (the cluster has one task slot per
# process), like loky's default for as many workers as cores.
_WORKER_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}


def _dask_units(tasks: list[_Task], address: str | None, n_workers: int | None
                ) -> Iterator[Unit]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ImportError("the dask backend needs dask.distributed; install it with "
                          "pip install 'segbench[dist]'.") from None
    cluster = None
    if n_workers is not None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, env=_WORKER_ENV)
        client = Client(cluster)
    else:
        try:
            client = Client(address)
        except OSError as exc:
            raise ValueError(f"cannot reach the dask scheduler at {address!r} ({exc}); "
                             "check the address, or use dask_local=N for a local "
                             "cluster.") from None
    try:
        futures = client.map(_run_unit, tasks, pure=False)
        for future in as_completed(futures):
            unit = future.result()  # a failed unit raises here, with its traceback
            future.release()
            yield unit
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("segbench", "numpy", "scipy", "scikit-image", "scikit-learn",
                    "opencv-python-headless", "numba", "torch", "torchvision", "dask",
                    "distributed"):
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


def _perturbation_names(config: RunConfig) -> list[str]:
    """``"none"`` and each perturbation's canonical name (so equal spellings share keys)."""
    names = ["none"]
    if config.perturbations:
        from benchmarks.robustness import parse_perturbation

        for text in config.perturbations:
            name = parse_perturbation(text).name
            if name not in names:
                names.append(name)
    return names


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _plan_deep(config: RunConfig, splits) -> tuple[dict, list[str]]:
    """Which deep method runs on which dataset: ``{(dataset label, method label):
    MethodConfig}``, and notes (also logged) on the pairs skipped (datasets without
    classes) and on models scored on their own training split.

    Raises
    ------
    ValueError
        If a checkpoint's number of classes differs from a dataset's.
    """
    deep = [m for m in config.methods if m.kind == "deep"]
    plan, notes, infos = {}, [], {}
    for d, split, role, n, reader in splits:
        if role != "score":
            continue
        for method in deep:
            if reader.num_classes is None:
                note = (f"deep method {method.label!r} skipped on {d.label!r}: the dataset "
                        "has no classes (region ground truth only), so a class-map model "
                        "can be neither trained nor scored there.")
                if note not in notes:
                    _LOG.warning(note)
                    notes.append(note)
                continue
            if method.train is not None and split == method.train.get("train_split", "train"):
                note = (f"deep method {method.label!r} is trained on {d.label!r} split "
                        f"{split!r} and scored on it too: its scores there are not held out.")
                _LOG.warning(note)
                notes.append(note)
            if method.checkpoint is not None:
                from benchmarks.deep_methods import checkpoint_info

                if method.checkpoint not in infos:
                    infos[method.checkpoint] = checkpoint_info(method.checkpoint)
                info = infos[method.checkpoint]
                if info["num_classes"] != reader.num_classes:
                    raise ValueError(
                        f"method {method.label!r}: checkpoint {method.checkpoint!r} was "
                        f"trained for {info['num_classes']} classes "
                        f"({', '.join(info['class_names'][:12])}); dataset {d.label!r} has "
                        f"{reader.num_classes}. Score it on the dataset it was trained for, "
                        "or train it in the run (train = { ... }).")
            plan[(d.label, method.label)] = method
    return plan, notes


def _train(method: MethodConfig, dataset: DatasetConfig, out_dir: Path, seed: int,
           progress: bool) -> Path:
    """Train (or reuse, or resume) `method` on `dataset`'s train split; its checkpoint."""
    from benchmarks.deep_methods import train_for_run

    return train_for_run(method.train_spec(seed), dataset=dataset.name, root=dataset.root,
                         dataset_options=dict(dataset.options), out_dir=out_dir,
                         progress=progress)


def run(config: RunConfig | None = None, out_dir=None, *, resume: bool = False,
        progress: bool = True, dask: str | None = None, dask_local: int | None = None) -> Path:
    """Run a benchmark and write its store and report; return the run folder.

    Parameters
    ----------
    config : RunConfig, optional
        Default: with `resume`, the config stored in `out_dir`; else
        :func:`default_config` (the demo).
    out_dir : path-like, optional
        Run folder; default ``config.out``, else ``runs/<timestamp>``.
    resume : bool, optional
        Continue a run in `out_dir`: units already stored are skipped. Without it an
        existing non-empty store is an error, so results are never mixed by accident.
    progress : bool, optional
        Show a progress bar.
    dask : str, optional
        Address of a dask scheduler (``"tcp://host:8786"``) to run the units on, instead
        of local joblib workers. Workers must have segbench (and any user method
        module) importable and see the dataset folders at the same paths.
    dask_local : int, optional
        Start a local dask cluster of this many single-threaded worker processes.

    Returns
    -------
    run_dir : Path
        Holds ``results.sqlite``, ``config.json``, ``report.html`` and ``report.md``;
        models trained in the run are in ``train/<dataset>/<method>/`` (a resumed run
        reuses a finished training and continues an interrupted one).

    Raises
    ------
    ValueError
        For an unknown dataset, method or parameter, an empty split, both `dask` and
        `dask_local`, an existing run without `resume` (or with another config), or a
        checkpoint trained for another number of classes than a dataset's.
    FileNotFoundError
        For a missing checkpoint.
    """
    from tqdm import tqdm

    from benchmarks.reporting import write_report
    from classical._validate import check_int

    if dask is not None and dask_local is not None:
        raise ValueError("pass either dask (a scheduler address) or dask_local (a number of "
                         f"local workers), not both; got dask={dask!r}, "
                         f"dask_local={dask_local!r}.")
    if dask_local is not None:
        check_int(dask_local, "dask_local", minimum=1)
    if config is None and resume and out_dir is not None:
        config_file = Path(out_dir) / "config.json"
        if config_file.is_file():
            config = load_config(config_file)
    config = config or default_config()
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig; got {type(config).__name__}.")
    if not config.methods:
        raise ValueError("the run config lists no methods.")
    if not config.datasets:
        raise ValueError("the run config lists no datasets.")
    # Fail fast on unknown names, parameters, checkpoints and training options; note
    # which methods take the seed.
    method_seeds = {}
    for method in config.methods:
        if method.kind == "deep":
            method.check(config.seed)
            if method.train is not None:
                method_seeds[method.label] = method.train_spec(config.seed).options["seed"]
            continue
        params = method.build(config.seed).params
        if any(f.name == "seed" for f in dataclasses.fields(params)):
            method_seeds[method.label] = params.seed
    perturbations = _perturbation_names(config)

    splits = []  # (dataset config, split, role, n_images, reader)
    for dataset_config, split, role in config.scored_splits():
        dataset = dataset_config.load(split)
        n = len(dataset) if dataset_config.max_images is None else min(
            len(dataset), dataset_config.max_images)
        if n == 0:
            raise ValueError(f"dataset {dataset_config.label!r} split {split!r} has no images.")
        splits.append((dataset_config, split, role, n, dataset))
    deep_runs, notes = _plan_deep(config, splits)

    if out_dir is None:
        out_dir = config.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ResultStore(run_dir / "results.sqlite") as store:
        done = store.keys()
        if done and not resume:
            raise ValueError(f"{run_dir} already holds results; pass --resume to continue it "
                             "or choose another --out.")
        if done and store.info("schema", 1) != STORE_SCHEMA:
            raise ValueError(f"{run_dir} was written by an older segbench (store schema "
                             f"{store.info('schema', 1)}, now {STORE_SCHEMA}); start a new run "
                             "with another --out.")
        previous = store.info("config")
        if previous is not None and RunConfig.from_dict(
                previous, check_methods=False).identity() != config.identity():
            raise ValueError(f"{run_dir} was started with a different config; "
                             "resume it with the same config or choose another --out.")
        store.set_info("schema", STORE_SCHEMA)
        store.set_info("config", config.to_dict())
        store.set_info("seed", config.seed)
        store.set_info("seeds", {
            "run": config.seed, "methods": method_seeds,
            "perturbations": "benchmarks.robustness.unit_seed(run, image id)"})
        store.set_info("datasets", [
            {"label": d.label, "name": d.name, "split": split, "role": role, "n_images": n,
             "task": reader.task, "classes": [c.name for c in reader.classes or ()]}
            for d, split, role, n, reader in splits])
        _write_json(run_dir / "config.json", config.to_dict())
        store.set_info("notes", notes)

        # Models trained in the run, in this process, before any unit needs them.
        training = []
        for key, method in deep_runs.items():
            if method.train is None:
                continue
            dataset_config = next(d for d, *_ in splits if d.label == key[0])
            train_dir = Path("train") / dataset_config.label / method.label
            if progress:
                budget = [f"{method.train[k]:g} {unit}" for k, unit in
                          (("minutes", "min"), ("epochs", "epochs")) if k in method.train]
                tqdm.write(f"training {method.label} on {dataset_config.label} "
                           f"({', at most '.join(budget)}) into {run_dir / train_dir}")
            seconds = time.perf_counter()
            checkpoint = _train(method, dataset_config, run_dir / train_dir, config.seed,
                                progress)
            training.append({"method": method.label, "dataset": dataset_config.label,
                             "train_dir": train_dir.as_posix(),
                             "checkpoint": Path(os.path.relpath(checkpoint, run_dir)).as_posix(),
                             "seconds": time.perf_counter() - seconds})
            deep_runs[key] = dataclasses.replace(method, checkpoint=os.fspath(checkpoint),
                                                 train=None)
        if training:
            store.set_info("training", training)

        deep_tasks, tasks = [], []
        for d, split, role, n, _ in splits:
            for p in (perturbations if role == "score" else ["none"]):
                for m in config.methods:
                    if m.kind == "deep":
                        if role != "score" or (d.label, m.label) not in deep_runs:
                            continue  # nothing to tune, or a dataset without classes
                        m = deep_runs[(d.label, m.label)]
                    (deep_tasks if m.kind == "deep" else tasks).extend(
                        _Task(d, split, i, m, p, config.seed, i == 0 and p == "none")
                        for i in range(n))
        # Deep units first: a loky worker takes its memory after its first unit as the
        # reference, and one that grows 300 MB beyond it (torch and a model do) is
        # stopped and replaced as "leaking"; with a model loaded first, it stays.
        tasks = deep_tasks + tasks
        todo = [t for t in tasks if t.key not in done]
        if dask is not None or dask_local is not None:
            units = _dask_units(todo, dask, dask_local)
            backend = {"backend": "dask", "address": dask, "local_workers": dask_local}
        else:
            units = _joblib_units(todo, config.jobs)
            backend = {"backend": "joblib", "jobs": config.jobs}
        with tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="segbench run",
                  unit="unit", disable=not progress) as bar:
            for unit in units:
                store.put(unit)
                bar.update()
        elapsed = time.perf_counter() - start + float(store.info("elapsed_s", 0.0) or 0.0)
        store.set_info("elapsed_s", elapsed)
        store.set_info("environment", {
            "versions": _versions(), "machine": platform.machine(),
            "processor": platform.processor(), "cpus": os.cpu_count(),
            "git_commit": _git_commit(), "finished": datetime.now().isoformat(timespec="seconds"),
            **backend})
    write_report(run_dir)
    return run_dir


# --------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------

#: Keys of a summary row that are measured, not computed from the results: they change
#: from run to run on the same config.
TIMING_KEYS = ("sec_per_image", "cpu_per_image", "peak_mb")


def _summary_row(units: list[Unit]) -> tuple[dict, dict]:
    """The row of one (dataset, split, perturbation, method) group, and the per-step
    curves the tuned scores read."""
    from benchmarks.metrics.boundary import BoundaryImage, collect_boundaries
    from benchmarks.metrics.region import RegionImage, collect_regions
    from benchmarks.metrics.semantic import iou, mean_class_accuracy, mean_iou, pixel_accuracy

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
    n_regions = np.median([u.meta["n_regions"] for u in units], axis=0)
    row = {"dataset": units[0].dataset, "split": units[0].split,
           "perturbation": units[0].perturbation, "method": units[0].method,
           "kind": meta.get("kind", "classical"),
           "images": len(units), "sweep_param": meta["sweep_param"],
           "ods_value": values[ods_index], **regions.as_dict(), **boundaries.as_dict(),
           "sec_per_image": float(np.median([u.meta["wall_s"] / u.meta["n_values"]
                                             for u in units])),
           "cpu_per_image": float(np.median([u.meta["cpu_s"] / u.meta["n_values"]
                                             for u in units])),
           "peak_mb": next((u.meta["peak_mb"] for u in units
                            if u.meta["peak_mb"] is not None), None),
           "regions_at_ods": float(n_regions[ods_index])}
    curves = {"ods_index": ods_index, "covering": regions.covering, "pri": regions.pri,
              "voi": regions.voi, "boundary_f": boundaries.f, "regions": n_regions}
    row.update(dict.fromkeys(("miou", "pixel_accuracy", "mean_class_accuracy",
                              "per_class_iou", "oracle_per_class_iou")))
    if "confusion" in units[0].arrays:  # a deep method's class maps: real semantic scores
        total = sum(u.arrays["confusion"] for u in units)[0]
        row.update(miou=mean_iou(total), pixel_accuracy=pixel_accuracy(total),
                   mean_class_accuracy=mean_class_accuracy(total),
                   per_class_iou=_class_list(iou(total)))
    if "oracle_confusion" in units[0].arrays:
        total = sum(u.arrays["oracle_confusion"] for u in units)
        row["oracle_miou"] = mean_iou(total[ods_index])
        row["oracle_miou_curve"] = [mean_iou(m) for m in total]
        row["oracle_per_class_iou"] = _class_list(iou(total[ods_index]))
        curves["oracle_miou"] = row["oracle_miou_curve"]
    row["partition"] = _partition_summary(units)
    row["covering_curve"] = regions.covering.tolist()
    row["boundary_pr"] = [boundaries.recall.tolist(), boundaries.precision.tolist()]
    row["sweep_values"] = values
    return row, curves


def _class_list(values: np.ndarray) -> list:
    """Per-class values as a JSON-safe list: None for a class absent from both the
    ground truth and the prediction (undefined IoU)."""
    return [None if np.isnan(v) else float(v) for v in values]


def _partition_summary(units: list[Unit]) -> dict | None:
    """Fractions of checked (image, sweep value) outputs meeting each condition of a
    segmentation; None for units without checks (deep methods, older stores)."""
    entries = [e for u in units for e in (u.meta.get("partition") or ())]
    if not entries:
        return None

    def fraction(key):
        values = [e[key] for e in entries if e[key] is not None]
        return float(np.mean(values)) if values else None

    predicate = next((u.meta["predicate"] for u in units if u.meta.get("predicate")), None)
    values = units[0].meta["sweep_values"]
    return {"checked": len(entries), "covers": fraction("covers"),
            "connected": fraction("connected"), "holds": fraction("holds"),
            "maximal": fraction("maximal"), "predicate": predicate,
            "predicate_checked": sum(e["holds"] is not None for e in entries),
            "predicate_value": values[len(values) // 2] if predicate else None}


_TUNED_KEYS = ("tune_split", "tuned_value", "covering_tuned", "pri_tuned", "voi_tuned",
               "boundary_f_tuned", "regions_at_tuned", "oracle_miou_tuned")


def summarize(run_dir) -> list[dict]:
    """Dataset-level scores per (dataset, split, perturbation, method) from a run's store.

    Each row: dataset (its label), split, perturbation (``"none"`` for the original
    images), role (``"score"``, or ``"tune"`` for a split only used to choose
    parameters), method, images; ODS/OIS covering, PRI, VoI and boundary F (every key
    of :meth:`RegionResult.as_dict` and :meth:`BoundaryResult.as_dict`); the parameter
    value at covering ODS (``ods_value``) and the median number of regions there; oracle
    mIoU there (semantic datasets; an upper bound) and along the sweep; median wall and
    CPU seconds per image per parameter value; the traced memory peak of one call; the
    covering curve, boundary PR curve and sweep values.

    ``kind`` is ``"deep"`` or ``"classical"``. Deep rows carry real semantic scores
    of their class maps (``miou``, ``pixel_accuracy``, ``mean_class_accuracy``, from
    the summed confusion matrix, and ``per_class_iou``, aligned with the dataset's class
    names in the store's ``datasets`` info, None for a class absent from both truth and
    prediction) and ``train_dir`` (the run-relative folder of a model trained in the
    run, else None); their region metrics score the class map's connected components.
    Classical rows have those keys None and, on semantic datasets,
    ``oracle_per_class_iou`` at the covering-ODS value beside ``oracle_miou`` (upper
    bounds). ``partition`` says how often a classical row's outputs meet the
    definition of a segmentation: ``checked`` (images x sweep values), the fractions
    ``covers`` and ``connected`` over all of them, and for a method driven by a
    homogeneity predicate ``holds`` (every region satisfies it) and ``maximal`` (no
    adjacent pair could merge), checked at the middle sweep value only
    (``predicate_value``, ``predicate_checked`` outputs, ``predicate`` its repr there;
    these are None for methods without a predicate). None on deep rows.

    Rows of a dataset with a ``tune_split`` also carry the honest scores: ``tuned_value``
    is the parameter that is covering-ODS on the tune split (unperturbed), and
    ``covering_tuned``, ``pri_tuned``, ``voi_tuned``, ``boundary_f_tuned`` (F of the
    segmentation at that value, not interpolated between values), ``regions_at_tuned``
    and ``oracle_miou_tuned`` are this row's scores there. These keys are None on other
    rows, and while the tune split has no results.

    Rows are ordered by dataset, scored splits before tune splits, split, perturbation
    (``"none"`` first), then best covering first.

    Raises
    ------
    FileNotFoundError
        If `run_dir` holds no ``results.sqlite``.
    """
    path = Path(run_dir) / "results.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a segbench run folder (no results.sqlite).")
    rows, curves = [], {}
    with ResultStore(path) as store:
        stored = store.info("config")
        config = (RunConfig.from_dict(stored, check_methods=False)
                  if stored is not None else None)
        legacy = ("", "")
        if config is not None:  # stores of segbench <= 0.1 have no dataset/split columns
            legacy = (config.datasets[0].label, config.datasets[0].split)
        for dataset, split, perturbation, method in store.groups():
            units = list(store.units(method, dataset=dataset, split=split,
                                     perturbation=perturbation))
            row, curve = _summary_row(units)
            if not dataset:
                row["dataset"], row["split"] = legacy
            group = (row["dataset"], row["split"], perturbation, method)
            curves[group] = curve
            rows.append(row)
    trained = {m.label for m in (config.methods if config else ()) if m.train is not None}
    for row in rows:
        train_dir = Path("train") / row["dataset"] / row["method"]
        row["train_dir"] = (train_dir.as_posix() if row["method"] in trained
                            and (Path(run_dir) / train_dir).is_dir() else None)
    scored = {(d.label, d.split) for d in config.datasets} if config else set()
    tune = {(d.label, d.split): d.tune_split for d in (config.datasets if config else ())
            if d.tune_split is not None}
    for row in rows:
        row["role"] = "score" if (row["dataset"], row["split"]) in scored or not scored \
            else "tune"
        row.update(dict.fromkeys(_TUNED_KEYS))
        tune_split = tune.get((row["dataset"], row["split"]))
        source = curves.get((row["dataset"], tune_split, "none", row["method"]))
        if tune_split is None or source is None:
            continue
        k = source["ods_index"]
        here = curves[(row["dataset"], row["split"], row["perturbation"], row["method"])]
        row.update(tune_split=tune_split, tuned_value=row["sweep_values"][k],
                   covering_tuned=float(here["covering"][k]), pri_tuned=float(here["pri"][k]),
                   voi_tuned=float(here["voi"][k]),
                   boundary_f_tuned=float(here["boundary_f"][k]),
                   regions_at_tuned=float(here["regions"][k]))
        if "oracle_miou" in here:
            row["oracle_miou_tuned"] = float(here["oracle_miou"][k])
    rows.sort(key=lambda r: (r["dataset"], r["role"] == "tune", r["split"],
                             r["perturbation"] != "none", r["perturbation"], -r["covering_ods"]))
    return rows


# --------------------------------------------------------------------------------------
# Comparing runs
# --------------------------------------------------------------------------------------

#: Metrics compared between runs, and whether higher is better.
COMPARED_METRICS = (("covering_ods", True), ("covering_ois", True), ("covering_tuned", True),
                    ("pri_ods", True), ("voi_ods", False), ("boundary_ods_f", True),
                    ("boundary_ois_f", True), ("oracle_miou", True), ("miou", True),
                    ("pixel_accuracy", True), ("sec_per_image", False))


def compare_runs(run_a, run_b) -> list[dict]:
    """Metric by metric differences between two runs.

    Parameters
    ----------
    run_a, run_b : path-like
        Run folders (each with a ``results.sqlite``).

    Returns
    -------
    rows : list of dict
        One per (dataset, split, perturbation, method, metric) present in either run,
        ordered by those keys: ``a`` and ``b`` (None where the run lacks it),
        ``difference`` (``b - a``, None unless both are there), ``higher_is_better``,
        ``present`` (``"both"``, ``"a"`` or ``"b"``: where the method's group was run)
        and ``better`` (``"a"``, ``"b"``, ``"same"`` or None).

    Raises
    ------
    FileNotFoundError
        If a folder holds no ``results.sqlite``.
    """
    summaries = []
    for run_dir in (run_a, run_b):
        summaries.append({(r["dataset"], r["split"], r["perturbation"], r["method"]): r
                          for r in summarize(run_dir)})
    a_rows, b_rows = summaries
    out = []
    for group in sorted(set(a_rows) | set(b_rows)):
        ra, rb = a_rows.get(group), b_rows.get(group)
        present = "both" if ra is not None and rb is not None else ("a" if ra else "b")
        for metric, higher in COMPARED_METRICS:
            a = None if ra is None else ra.get(metric)
            b = None if rb is None else rb.get(metric)
            if a is None and b is None:
                continue
            difference = better = None
            if a is not None and b is not None:
                difference = b - a
                better = "same" if difference == 0 else (
                    "b" if (difference > 0) == higher else "a")
            out.append(dict(zip(("dataset", "split", "perturbation", "method"), group),
                            metric=metric, a=a, b=b, difference=difference,
                            higher_is_better=higher, present=present, better=better))
    return out


def comparison_markdown(rows: list[dict], name_a: str = "A", name_b: str = "B") -> str:
    """The rows of :func:`compare_runs` as a Markdown document (a table, then the
    methods present in one run only)."""
    def number(x):
        return "–" if x is None else f"{x:.4g}"

    lines = [f"# segbench comparison: {name_a} (A) vs {name_b} (B)", "",
             "Difference is B − A; the better side is marked (VoI and time: lower is "
             "better).", "",
             "| Dataset | Perturbation | Method | Metric | A | B | B − A | Better |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["present"] != "both":
            continue
        lines.append(f"| {r['dataset']}:{r['split']} | {r['perturbation']} | {r['method']} | "
                     f"{r['metric']} | {number(r['a'])} | {number(r['b'])} | "
                     f"{'–' if r['difference'] is None else format(r['difference'], '+.4g')}"
                     f" | {r['better'] or '–'} |")
    for side, name in (("a", name_a), ("b", name_b)):
        only = sorted({(r["dataset"], r["split"], r["perturbation"], r["method"])
                       for r in rows if r["present"] == side})
        if only:
            lines += ["", f"Only in {name} ({side.upper()}): "
                      + ", ".join(f"{m} ({d}:{s}, {p})" for d, s, p, m in only) + "."]
    return "\n".join(lines) + "\n"
