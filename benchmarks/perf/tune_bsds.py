"""Tune classical methods on BSDS500 train, report them on val, with an on-disk cache.

Run from the repository root (inside ``.venv``)::

    # explore: the default configuration of two methods on a fixed 50-image train subset
    python benchmarks/perf/tune_bsds.py split_merge kmeans --split train --images 50

    # one candidate with overrides and its own 12-value sweep
    python benchmarks/perf/tune_bsds.py split_merge --set predicate='"srm_lab(32)"' \\
        --param threshold --values 256,128,64,32,16,8,4,2,1,0.5,0.25,0.12

    # many candidates from a JSON file: [{"method": ..., "label": ..., "params": {...},
    #                                     "param": ..., "values": [...]}, ...]
    python benchmarks/perf/tune_bsds.py --candidates runs/tune_cache/cands.json

    # final: val scores, plus the covering at the parameter that is ODS on all of train
    python benchmarks/perf/tune_bsds.py all --split val --tune-split train --tune-images 200

For every (configuration, image) the sweep's labels are scored with the official region
benchmark (:func:`benchmarks.metrics.region.evaluate_regions_image`, ``kind="segs"``)
and the :class:`~benchmarks.metrics.region.RegionImage` is cached in
``runs/tune_cache/<split>/<method>/<key>/<image id>.npz`` (written atomically), where
the key hashes the method, its parameters, the sweep and the source of the ``classical``
modules the method uses; reruns only compute what is missing, and editing a method's
code invalidates its entries. Images are a seeded random subset of the split (``--images
N --subset-seed S``, sorted by id) or all of it; they run in parallel with joblib
(``--jobs``, loky processes).

Columns: covering ODS / OIS / Best, PRI ODS / OIS, VoI ODS / OIS, the sweep value at
covering ODS, the median number of regions there, and the median wall seconds per
image for the whole sweep (segmentation only, after a warm-up call on a crop). With
``--tune-split``, ``tuned`` is the value that is covering-ODS on the tune split (its
``--tune-images`` subset) and ``Cov tuned`` this split's covering at that value: the
honest number, next to the optimistic same-split ODS.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import hashlib
import inspect
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

__all__ = ["Candidate", "candidate_key", "evaluate_candidate", "main", "select_images"]

_REPO = Path(__file__).resolve().parents[2]
_DEFAULT_ROOT = _REPO.parent / "shared" / "datasets" / "BSDS500"
_DEFAULT_CACHE = _REPO / "runs" / "tune_cache"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One configuration to score: a method, parameter overrides and a sweep.

    ``param``/``values`` default to the segmenter's own sweep.
    """

    method: str
    params: tuple[tuple[str, object], ...] = ()
    param: str | None = None
    values: tuple | None = None
    label: str | None = None

    def segmenter(self):
        from classical.methods import get_segmenter

        segmenter = get_segmenter(self.method, **dict(self.params))
        param = self.param or segmenter.sweep_param
        values = segmenter.sweep_values if self.values is None else tuple(self.values)
        if param is None or not values:
            raise ValueError(f"{self.method} has no default sweep; give param and values.")
        return dataclasses.replace(segmenter, sweep_param=param, sweep_values=tuple(values))

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if not self.params:
            return self.method
        return f"{self.method}(" + ", ".join(f"{k}={v!r}" for k, v in self.params) + ")"


def _frozen(value):
    """JSON lists become tuples (parameter dataclasses hold tuples)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _classical_modules(segmenter) -> list[types.ModuleType]:
    """The ``classical`` modules a segmenter's code can reach (module globals, transitively)."""
    roots = {segmenter.function.__module__, type(segmenter).__module__,
             type(segmenter.params).__module__}
    todo = [sys.modules[name] for name in roots if name in sys.modules]
    found: dict[str, types.ModuleType] = {}
    while todo:
        module = todo.pop()
        if module.__name__ in found or not module.__name__.startswith("classical"):
            continue
        found[module.__name__] = module
        for value in vars(module).values():
            owner = value if isinstance(value, types.ModuleType) \
                else sys.modules.get(getattr(value, "__module__", None) or "")
            if owner is not None and owner.__name__.startswith("classical."):
                todo.append(owner)
    return sorted(found.values(), key=lambda m: m.__name__)


def candidate_key(candidate: Candidate) -> tuple[str, dict]:
    """Cache key (16 hex digits) of a candidate and the description it hashes."""
    segmenter = candidate.segmenter()
    sources = {}
    for module in _classical_modules(segmenter):
        sources[module.__name__] = hashlib.sha256(
            Path(inspect.getfile(module)).read_bytes()).hexdigest()[:16]
    description = {"method": candidate.method, "segmenter": segmenter.describe(),
                   "param": segmenter.sweep_param,
                   "values": [repr(v) for v in segmenter.sweep_values], "code": sources}
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()
    return digest[:16], description


def select_images(split: str, n_images: int | None, seed: int, root) -> list[int]:
    """Indices of a seeded random subset of `n_images` images of the split (sorted)."""
    from benchmarks.datasets import load_dataset

    total = len(load_dataset("bsds500", split=split, root=root))
    if n_images is None or n_images >= total:
        return list(range(total))
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(total, n_images, replace=False))


def _save_atomic(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(handle)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _run_image(candidate: Candidate, split: str, index: int, root, path: Path) -> dict:
    """Segment one image with the candidate's sweep, score it, cache and return it."""
    from benchmarks.datasets import load_dataset
    from benchmarks.metrics.region import evaluate_regions_image

    sample = load_dataset("bsds500", split=split, root=root)[index]
    segmenter = candidate.segmenter()
    segmenter.with_params(**{segmenter.sweep_param: segmenter.sweep_values[0]})(
        sample.image[:32, :32])  # warm-up: imports and JIT caches stay out of the timing
    start = time.perf_counter()
    sweep = segmenter.sweep(sample.image)
    seconds = time.perf_counter() - start
    region = evaluate_regions_image(sweep, sample.regions, kind="segs")
    arrays = {**region.to_dict(), "regions": np.array([int(s.max()) + 1 for s in sweep]),
              "seconds": np.asarray(seconds)}
    _save_atomic(path, arrays)
    return arrays


def evaluate_candidate(candidate: Candidate, split: str, indices: list[int], *, root,
                       cache: Path, jobs: int = 2, verbose: bool = True) -> dict:
    """Score a candidate on images of a split, reusing and filling the cache.

    Returns
    -------
    dict
        ``result`` (:class:`~benchmarks.metrics.region.RegionResult`), ``regions``
        (median regions per sweep value), ``seconds`` (median sweep seconds per image),
        ``values`` (the sweep), ``param``.
    """
    from joblib import Parallel, delayed

    from benchmarks.datasets import load_dataset
    from benchmarks.metrics.region import RegionImage, collect_regions

    key, description = candidate_key(candidate)
    folder = cache / split / candidate.method / key
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(description, indent=1) + "\n")
    ids = load_dataset("bsds500", split=split, root=root).ids
    paths = {i: folder / f"{ids[i]}.npz" for i in indices}
    todo = [i for i in indices if not paths[i].exists()]
    if todo and verbose:
        print(f"  {candidate.name} [{split}]: {len(todo)} of {len(indices)} images to run "
              f"(cache {folder.relative_to(cache)})", file=sys.stderr, flush=True)
    if todo:
        Parallel(n_jobs=min(jobs, len(todo)), backend="loky")(
            delayed(_run_image)(candidate, split, i, root, paths[i]) for i in todo)
    arrays = []
    for i in indices:
        with np.load(paths[i]) as data:
            arrays.append({k: data[k] for k in data.files})
    images = [RegionImage.from_dict(a) for a in arrays]
    segmenter = candidate.segmenter()
    return {"result": collect_regions(images, [ids[i] for i in indices]),
            "regions": np.median([a["regions"] for a in arrays], axis=0),
            "seconds": float(np.median([a["seconds"] for a in arrays])),
            "values": segmenter.sweep_values, "param": segmenter.sweep_param}


def _value(value) -> str:
    return value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) \
        else str(value)


def _row(name: str, scored: dict, tuned: dict | None) -> str:
    r = scored["result"]
    k = int(round(r.ods_covering_threshold)) - 1
    cells = [name, f"{scored['param']}={_value(scored['values'][k])}",
             f"{r.ods_covering:.3f}", f"{r.ois_covering:.3f}", f"{r.best_covering:.3f}",
             f"{r.ods_pri:.3f}", f"{r.ois_pri:.3f}", f"{r.ods_voi:.3f}", f"{r.ois_voi:.3f}",
             f"{scored['regions'][k]:.0f}", f"{scored['seconds']:.2f}",
             f"{k + 1}/{len(scored['values'])}"]
    if tuned is not None:
        t = int(round(tuned["result"].ods_covering_threshold)) - 1
        cells += [_value(scored["values"][t]), f"{tuned['result'].ods_covering:.3f}",
                  f"{r.covering[t]:.3f}"]
    return "| " + " | ".join(cells) + " |"


def _header(tuned: bool) -> str:
    names = ["candidate", "param @ODS", "Cov ODS", "Cov OIS", "Cov Best", "PRI ODS",
             "PRI OIS", "VoI ODS", "VoI OIS", "regions @ODS", "s / image", "ODS index"]
    if tuned:
        names += ["tuned value", "tune-split Cov ODS", "Cov tuned"]
    return "| " + " | ".join(names) + " |\n|" + "---|" * len(names)


def _parse_value(text: str):
    try:
        return _frozen(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text  # a bare word, e.g. a predicate text


def _candidates(args) -> list[Candidate]:
    from classical.methods import METHODS

    out = []
    if args.candidates:
        for entry in json.loads(Path(args.candidates).read_text()):
            params = _frozen(entry.get("params", {}))
            values = entry.get("values")
            out.append(Candidate(entry["method"], tuple(sorted(params.items())),
                                 entry.get("param"),
                                 None if values is None else _frozen(values),
                                 entry.get("label")))
    methods = list(METHODS) if args.methods == ["all"] else args.methods
    params = {}
    for item in args.set or ():
        name, _, text = item.partition("=")
        params[name] = _parse_value(text)
    values = None
    if args.values:
        values = tuple(_parse_value(v) for v in args.values.split(";" if ";" in args.values
                                                                 else ","))
    for method in methods:
        out.append(Candidate(method, tuple(sorted(params.items())), args.param, values,
                             args.label))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("methods", nargs="*", default=[],
                        help="method names, or 'all' (default config each)")
    parser.add_argument("--candidates", help="JSON list of candidate configurations")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE",
                        help="parameter override (Python literal or bare text)")
    parser.add_argument("--param", help="sweep parameter (default: the method's)")
    parser.add_argument("--values", help="sweep values, comma- (or ;-) separated")
    parser.add_argument("--label", help="row label for the command-line candidate")
    parser.add_argument("--split", default="train", choices=("train", "val"))
    parser.add_argument("--images", type=int, default=50,
                        help="seeded subset size (0: the whole split)")
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--tune-split", choices=("train", "val"),
                        help="also report the covering at this split's ODS value")
    parser.add_argument("--tune-images", type=int, default=0,
                        help="subset size on the tune split (0: all of it)")
    parser.add_argument("--root", default=str(_DEFAULT_ROOT))
    parser.add_argument("--cache", default=str(_DEFAULT_CACHE))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    candidates = _candidates(args)
    if not candidates:
        parser.error("give method names, 'all', or --candidates")
    cache = Path(args.cache)
    indices = select_images(args.split, args.images or None, args.subset_seed, args.root)
    tune_indices = None
    if args.tune_split:
        tune_indices = select_images(args.tune_split, args.tune_images or None,
                                     args.subset_seed, args.root)
    print(f"BSDS500 {args.split}: {len(indices)} images"
          + (f"; tuned on {args.tune_split}: {len(tune_indices)} images"
             if tune_indices else ""))
    print(_header(tune_indices is not None), flush=True)
    for candidate in candidates:
        tuned = None
        if tune_indices is not None:
            tuned = evaluate_candidate(candidate, args.tune_split, tune_indices,
                                       root=args.root, cache=cache, jobs=args.jobs)
        scored = evaluate_candidate(candidate, args.split, indices, root=args.root,
                                    cache=cache, jobs=args.jobs)
        print(_row(candidate.name, scored, tuned), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
