"""Run configurations: which methods, on which data, under which perturbations.

A run is described by a :class:`RunConfig`, built in Python or read from a TOML file
(stdlib :mod:`tomllib`) or a YAML file (needs PyYAML) by :func:`load_config`. The run
folder's ``config.json`` (written by :func:`benchmarks.runner.run`) uses the same schema,
so it loads back with :func:`load_config` too. Commented examples live in
``benchmarks/configs/*.toml``.

Schema
------
Top level (every key optional except ``datasets`` and ``methods``)::

    seed = 0                  # run seed: perturbations and methods with a `seed` parameter
    jobs = 2                  # worker processes (joblib); ignored with a dask cluster
    out = "runs/bsds_val"     # run folder; `segbench run --out` wins

``[[datasets]]``, one table per dataset (at least one)::

    name = "bsds500"          # a name of benchmarks.datasets.DATASETS (required)
    split = "val"             # the split scored (default "val")
    root = "../shared/datasets/BSDS500"   # the dataset folder (default: the usual lookup)
    max_images = 100          # score only the first images of each split
    tune_split = "train"      # choose each method's ODS parameter here, apply it on `split`
    options = { preset = "medium" }       # extra reader options
    label = "bsds"            # name in keys and reports (default: `name`); needed when
                              # one dataset appears twice with different options

``[[methods]]``, one table per method (at least one)::

    name = "felzenszwalb"     # registry name (`segbench segment --list`) or "module:attr"
    params = { sigma = 0.8 }  # parameter overrides
    sweep = { param = "scale", values = [50, 100, 200] }   # fine to coarse; default:
                              # the method's own sweep
    label = "fh-smooth"       # name in keys and reports (default: `name`); must be unique

A ``[[methods]]`` table may instead name a deep model (an FCN), by checkpoint or
trained inside the run::

    name = "fcn8s_resnet18"   # a model of `segbench train --list-models`
    checkpoint = "runs/camvid/best.pt"   # trained earlier (`segbench train`); the path
                              # is read from the working directory
    tta_flip = true           # average with the mirrored image's logits (default false)

    name = "fcn8s_resnet18"
    train = { minutes = 2.0, batch_size = 4, crop_size = [128, 128] }
                              # trained in the run, on each scored dataset's train split,
                              # into <run>/train/<dataset>/<label>/; the keys are
                              # deep.train.TrainConfig fields (minutes = the budget),
                              # except model, dataset, root, dataset_options and out_dir,
                              # which the run sets. `seed` defaults to the run seed, and
                              # `val_split` to none: the model is not selected on the
                              # scored split (best.pt is then the last epoch).

Deep entries take ``label`` like the others but no ``params`` or ``sweep``: a model
gives one class map per image. They run only on datasets with classes (not BSDS500;
the run skips them there with a logged note).

``"module:attr"`` names a user's method, importable in every worker: a *function*
``f(image, **params) -> labels`` (its first parameter has no default; each other
parameter needs one and can be overridden or swept), a *factory*
``f(**params) -> Segmenter`` (no parameter without default), or a
:class:`~classical.segmenter.Segmenter` object.

``[robustness]``::

    perturbations = ["noise(0.02)", "blur(1)", "jpeg(20)", "downscale(2)"]

Each perturbation (see :mod:`benchmarks.robustness`) is applied to every image of every
scored split; the unperturbed case ``"none"`` is always run.

Every error names the file, the table and the key, and lists the valid keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import json
import os
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DatasetConfig", "MethodConfig", "RunConfig", "load_config", "CONFIG_DIR"]

#: The example configs shipped with segbench.
CONFIG_DIR = Path(__file__).parent / "configs"

_TOP_KEYS = ("seed", "jobs", "out", "datasets", "methods", "robustness")
_DATASET_KEYS = ("name", "split", "root", "max_images", "tune_split", "options", "label")
_METHOD_KEYS = ("name", "label", "params", "sweep", "checkpoint", "train", "tta_flip")
_DEEP_KEYS = ("name", "label", "checkpoint", "train", "tta_flip")
_SWEEP_KEYS = ("param", "values")
_ROBUSTNESS_KEYS = ("perturbations",)


# --------------------------------------------------------------------------------------
# The dataclasses
# --------------------------------------------------------------------------------------


def _frozen(value):
    """Lists (from TOML/JSON) become tuples, so configs compare equal after a round trip."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset of a run.

    Parameters
    ----------
    name : str
        Dataset name (``segbench datasets list``).
    split : str, optional
        The split scored.
    root : str, optional
        The dataset's folder (default: the usual lookup, see the README).
    options : dict, optional
        Extra reader options (e.g. ``{"preset": "medium"}`` for the synthetic set).
    max_images : int, optional
        Use only the first images of each split.
    tune_split : str, optional
        Choose each method's ODS parameter on this split and report it applied to
        `split` (the honest score), beside the same-split ODS (optimistic).
    label : str, optional
        The dataset's name in unit keys and reports; default `name`.
    """

    name: str = "synthetic"
    split: str = "val"
    root: str | None = None
    options: dict = field(default_factory=dict)
    max_images: int | None = None
    tune_split: str | None = None
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "options", _frozen(dict(self.options)))
        if self.label is None:
            object.__setattr__(self, "label", self.name)

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits this entry runs: the scored split, then the tune split if any."""
        return (self.split,) if self.tune_split is None else (self.split, self.tune_split)

    def load(self, split: str | None = None):
        """The dataset reader for `split` (default the scored split)."""
        from benchmarks.datasets import load_dataset

        return load_dataset(self.name, split=split or self.split, root=self.root,
                            **self.options)

    def to_dict(self) -> dict:
        return {"name": self.name, "split": self.split, "root": self.root,
                "max_images": self.max_images, "tune_split": self.tune_split,
                "options": self.options, "label": self.label}


@dataclass(frozen=True)
class MethodConfig:
    """One method of a run: a classical segmenter, or a deep model (by checkpoint, or
    trained in the run).

    Parameters
    ----------
    name : str
        Registry name (``segbench segment --list``), or ``"module:attr"`` naming a
        function ``f(image, **params) -> labels``, a factory ``f(**params) -> Segmenter``
        or a :class:`~classical.segmenter.Segmenter`. For a deep method: a model name
        of :func:`deep.registry.list_models`.
    params : dict, optional
        Parameter overrides (classical methods).
    sweep_param : str, optional
        Parameter to sweep; default the method's own (classical methods).
    sweep_values : tuple, optional
        Values, fine to coarse; default the method's own sweep (classical methods).
    label : str, optional
        The method's name in unit keys and reports; default `name`.
    checkpoint : str, optional
        A deep model's checkpoint (``segbench train`` output).
    train : dict, optional
        Train the deep model in the run: ``minutes`` (the budget) and any other
        :class:`deep.train.TrainConfig` field but the run's own
        (:data:`benchmarks.deep_methods.RUN_OWNED_TRAIN_FIELDS`).
    tta_flip : bool, optional
        Flip test-time augmentation for a deep model.
    """

    name: str
    params: dict = field(default_factory=dict)
    sweep_param: str | None = None
    sweep_values: tuple = ()
    label: str | None = None
    checkpoint: str | None = None
    train: dict | None = None
    tta_flip: bool = False

    def __post_init__(self):
        object.__setattr__(self, "params", _frozen(dict(self.params)))
        object.__setattr__(self, "sweep_values", _frozen(tuple(self.sweep_values)))
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", os.fspath(self.checkpoint))
        if self.train is not None:
            object.__setattr__(self, "train", _frozen(dict(self.train)))
        if self.label is None:
            object.__setattr__(self, "label", self.name)
        # The same rules as a config file's (see _parse_deep), for configs built in Python.
        if self.checkpoint is not None and self.train is not None:
            raise ValueError(f"method {self.label!r}: give either checkpoint (a trained "
                             "model) or train (train it in the run), not both.")
        if self.kind == "deep" and (self.params or self.sweep_param is not None
                                    or self.sweep_values):
            raise ValueError(f"method {self.label!r}: a deep method takes no params or sweep "
                             "(a trained model gives one class map per image).")
        if not isinstance(self.tta_flip, bool):
            raise TypeError(f"method {self.label!r}: tta_flip must be True or False; got "
                            f"{self.tta_flip!r}.")
        if self.tta_flip and self.kind == "classical":
            raise ValueError(f"method {self.label!r}: tta_flip is for deep methods (with a "
                             "checkpoint or train).")

    @property
    def kind(self) -> str:
        """``"deep"`` for a model (checkpoint or trained in the run), else
        ``"classical"``."""
        return "deep" if self.checkpoint is not None or self.train is not None else "classical"

    def train_spec(self, seed: int | None = None):
        """The :class:`~benchmarks.deep_methods.TrainSpec` of a method trained in the run.

        Parameters
        ----------
        seed : int, optional
            The run seed; the training's seed unless `train` sets one.

        Returns
        -------
        TrainSpec
            ``val_split`` is None unless `train` sets it (no model selection on the
            scored split).

        Raises
        ------
        ValueError
            If the method is not trained in the run.
        """
        from benchmarks.deep_methods import TrainSpec

        if self.train is None:
            raise ValueError(f"method {self.label!r} is not trained in the run (no train "
                             "table).")
        options = {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in self.train.items() if k != "minutes"}
        options.setdefault("val_split", None)
        if seed is not None:
            options.setdefault("seed", seed)
        return TrainSpec(self.name, self.train.get("minutes"), options, self.tta_flip)

    def check(self, seed: int | None = None) -> None:
        """Fail now, not in a worker, on anything :meth:`build` or the training would
        refuse: unknown names or parameters, a bad sweep, a missing checkpoint or one
        of another model, invalid training options.

        Raises
        ------
        ValueError, TypeError, FileNotFoundError
            As :meth:`build` (classical methods and checkpoints) or
            :func:`benchmarks.deep_methods.train_config` (training options).
        """
        if self.kind == "classical":
            self.build(seed)
            return
        from deep.registry import list_models

        if self.name not in list_models():
            close = difflib.get_close_matches(self.name, list_models(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"a deep method's name must be a model of `segbench train "
                             f"--list-models`; got {self.name!r}.{hint}")
        if self.checkpoint is not None:
            from benchmarks.deep_methods import checkpoint_info

            model = checkpoint_info(self.checkpoint)["model_name"]
            if model != self.name:
                raise ValueError(f"checkpoint {self.checkpoint!r} holds a {model!r} model, "
                                 f"but the entry names {self.name!r}; set name = "
                                 f"\"{model}\".")
        if self.train is not None:
            from benchmarks.deep_methods import train_config

            try:
                train_config(self.train_spec(seed), dataset="synthetic", root=None,
                             dataset_options={}, out_dir="unused")
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"train: {exc}") from None

    def build(self, seed: int | None = None):
        """The segmenter this config describes.

        Parameters
        ----------
        seed : int, optional
            The run seed; given to methods that have a ``seed`` parameter unless
            `params` sets it. Other defaults are left alone.

        Returns
        -------
        Segmenter
            With the configured sweep (``sweep_param`` None for a method without one:
            it is then run once per image). A deep method gives the checkpoint's
            segmenter (:func:`benchmarks.deep_methods.checkpoint_segmenter`), named
            by `label`.

        Raises
        ------
        ValueError
            For an unknown method or parameter, a sweep over a parameter the method
            does not have, or a method trained in the run whose checkpoint is not
            known yet (the runner trains it and sets `checkpoint`).
        TypeError
            If ``"module:attr"`` is neither a function, a factory nor a Segmenter.
        FileNotFoundError
            For a missing checkpoint.
        """
        if self.checkpoint is not None:
            from benchmarks.deep_methods import checkpoint_segmenter

            return checkpoint_segmenter(self.checkpoint, name=self.label,
                                        tta_flip=self.tta_flip)
        if self.train is not None:
            raise ValueError(f"method {self.label!r} is trained in the run: it has no "
                             "checkpoint until benchmarks.runner.run has trained it; use "
                             "check() to validate it.")
        if ":" in self.name:
            segmenter = _user_segmenter(self.name, self.label, self.params)
        else:
            from classical.methods import get_segmenter

            segmenter = get_segmenter(self.name, **self.params)
        fields = {f.name for f in dataclasses.fields(segmenter.params)}
        if seed is not None and "seed" in fields and "seed" not in self.params:
            segmenter = segmenter.with_params(seed=seed)
        if self.sweep_param is not None or self.sweep_values:
            param = self.sweep_param or segmenter.sweep_param
            if param is None:
                raise ValueError(f"method {self.label!r} has no default sweep parameter; "
                                 f"name one: sweep = {{ param = ..., values = [...] }}.")
            if param not in fields:
                raise ValueError(f"method {self.label!r} cannot sweep {param!r}: it has no "
                                 f"such parameter; valid parameters: "
                                 f"{', '.join(sorted(fields))}.")
            values = tuple(self.sweep_values) or (
                segmenter.sweep_values if param == segmenter.sweep_param else ())
            if not values:
                raise ValueError(f"method {self.label!r}: sweep over {param!r} needs values "
                                 f"(fine to coarse); got none.")
            segmenter = dataclasses.replace(segmenter, sweep_param=param, sweep_values=values)
        return segmenter

    def to_dict(self) -> dict:
        if self.kind == "deep":
            out = {"name": self.name, "label": self.label, "tta_flip": self.tta_flip}
            if self.checkpoint is not None:
                out["checkpoint"] = self.checkpoint
            if self.train is not None:
                out["train"] = self.train
            return out
        sweep = None
        if self.sweep_param is not None or self.sweep_values:
            sweep = {"param": self.sweep_param, "values": list(self.sweep_values)}
        return {"name": self.name, "label": self.label, "params": self.params, "sweep": sweep}


@dataclass(frozen=True)
class RunConfig:
    """What a run compares, on what data.

    Parameters
    ----------
    datasets : tuple of DatasetConfig
        The datasets (each with its scored split and optional tune split).
    methods : tuple of MethodConfig
    perturbations : tuple of str, optional
        Perturbations (:func:`benchmarks.robustness.parse_perturbation` syntax) applied
        to the images of every scored split, beside the unperturbed ``"none"``.
    seed : int, optional
        Run seed, given to perturbations and to methods with a ``seed`` parameter;
        results are deterministic given the config.
    jobs : int, optional
        Parallel worker processes (joblib/loky).
    out : str, optional
        Default run folder.
    """

    datasets: tuple[DatasetConfig, ...] = (DatasetConfig(),)
    methods: tuple[MethodConfig, ...] = ()
    perturbations: tuple[str, ...] = ()
    seed: int = 0
    jobs: int = 1
    out: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "datasets", tuple(self.datasets))
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "perturbations", tuple(
            p for p in self.perturbations if p.strip().lower() != "none"))

    def to_dict(self) -> dict:
        """Plain JSON types in the file schema; :meth:`from_dict` reads it back."""
        return json.loads(json.dumps({
            "seed": self.seed, "jobs": self.jobs, "out": self.out,
            "datasets": [d.to_dict() for d in self.datasets],
            "methods": [m.to_dict() for m in self.methods],
            "robustness": {"perturbations": list(self.perturbations)}}))

    def identity(self) -> dict:
        """The part of :meth:`to_dict` that decides the results (not `jobs` or `out`):
        a run may be resumed with other workers or moved, never with another identity."""
        data = self.to_dict()
        del data["jobs"], data["out"]
        return data

    @classmethod
    def from_dict(cls, data: dict, source: str = "config", *,
                  check_methods: bool = True) -> "RunConfig":
        """Validate a mapping in the file schema (see the module docstring).

        Also reads the single-dataset layout of segbench <= 0.1 run folders (top-level
        ``dataset``, ``split``, ``root``, ``dataset_options``, ``max_images``).

        Parameters
        ----------
        data : dict
        source : str, optional
            Where `data` comes from (a file name), for error messages.
        check_methods : bool, optional
            Build every method to check its name, parameters and sweep. Summaries of a
            finished run skip it, so they need no user method module on the path.

        Raises
        ------
        ValueError
            For unknown keys (the message lists the valid ones), unknown datasets or
            methods, bad values or duplicate labels.
        TypeError
            For values of the wrong kind.
        """
        return _parse(data, source, check_methods)

    def scored_splits(self) -> list[tuple[DatasetConfig, str, str]]:
        """Every (dataset, split, role) the run covers, role ``"score"`` or ``"tune"``;
        a split that is both scored and used for tuning is listed once, as scored."""
        out: dict[tuple[str, str], tuple[DatasetConfig, str, str]] = {}
        for d in self.datasets:
            out[(d.label, d.split)] = (d, d.split, "score")
        for d in self.datasets:
            if d.tune_split is not None:
                out.setdefault((d.label, d.tune_split), (d, d.tune_split, "tune"))
        return list(out.values())


def load_config(path) -> RunConfig:
    """Read and validate a run config file (TOML, YAML or a run folder's JSON).

    Parameters
    ----------
    path : path-like
        A ``.toml``, ``.yaml``/``.yml`` or ``.json`` file.

    Returns
    -------
    RunConfig

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        For a file that does not parse, an unknown suffix, or any schema error (the
        message names the file, the table and the key).
    TypeError
        For values of the wrong kind.
    ImportError
        For a YAML file when PyYAML is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {os.fspath(path)!r} does not exist.")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path.name}: not valid TOML: {exc}.") from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(f"{path.name}: reading YAML configs needs PyYAML; install it "
                              "(pip install pyyaml) or write the config as TOML.") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: not valid YAML: {exc}") from None
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not valid JSON: {exc}.") from None
    else:
        raise ValueError(f"config file {path.name!r} must end in .toml, .yaml, .yml or .json; "
                         f"got {suffix or 'no suffix'!r}.")
    if not isinstance(data, dict):
        raise TypeError(f"{path.name}: a config must be a table of keys; got "
                        f"{type(data).__name__}.")
    return _parse(data, path.name)


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _check_keys(table: dict, valid, where: str) -> None:
    if not isinstance(table, dict):
        raise TypeError(f"{where} must be a table; got {table!r} ({type(table).__name__}).")
    unknown = [k for k in table if k not in valid]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; valid keys: "
                         f"{', '.join(valid)}.{hint}")


def _str(table: dict, key: str, where: str, *, required: bool = False,
         default: str | None = None) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise ValueError(f"{where}: key {key!r} is required.")
        return default
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{where}: {key} must be a non-empty string; got {value!r} "
                        f"({type(value).__name__}).")
    return value


def _label(value: str | None, where: str, key: str) -> None:
    if value is not None and ("/" in value or value != value.strip()):
        raise ValueError(f"{where}: {key} {value!r} must not contain '/' or surrounding "
                         "spaces (it is part of the unit keys).")


def _table(table: dict, key: str, where: str) -> dict:
    value = table.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{where}: {key} must be a table (e.g. {key} = {{ a = 1 }}); got "
                        f"{value!r} ({type(value).__name__}).")
    return dict(value)


def _list(value, key: str, where: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{where}: {key} must be a list; got {value!r} "
                        f"({type(value).__name__}).")
    return list(value)


def _int(table: dict, key: str, where: str, *, minimum: int, default):
    from classical._validate import check_int

    value = table.get(key)
    if value is None:
        return default
    return check_int(value, f"{where}: {key}", minimum=minimum)


def _legacy(data: dict) -> dict:
    """The segbench <= 0.1 single-dataset layout, in the current schema."""
    data = dict(data)
    legacy = {k: data.pop(k) for k in ("dataset", "split", "root", "dataset_options",
                                       "max_images") if k in data}
    if legacy and "datasets" not in data:
        data["datasets"] = [{"name": legacy.get("dataset", "synthetic"),
                             "split": legacy.get("split", "val"), "root": legacy.get("root"),
                             "options": legacy.get("dataset_options") or {},
                             "max_images": legacy.get("max_images")}]
    elif legacy:
        data.update(legacy)  # both layouts at once: let the key check report it
    methods = data.get("methods")
    if isinstance(methods, (list, tuple)):
        converted = []
        for m in methods:
            if isinstance(m, dict) and ("sweep_param" in m or "sweep_values" in m):
                m = dict(m)
                param, values = m.pop("sweep_param", None), m.pop("sweep_values", None) or []
                if param is not None or values:
                    m["sweep"] = {"param": param, "values": list(values)}
            converted.append(m)
        data["methods"] = converted
    return data


def _parse_dataset(entry, where: str) -> DatasetConfig:
    from benchmarks.datasets import DATASETS

    _check_keys(entry, _DATASET_KEYS, where)
    name = _str(entry, "name", where, required=True)
    if name.strip().lower() not in DATASETS:
        raise ValueError(f"{where}: unknown dataset {name!r}; valid names: "
                         f"{', '.join(sorted(DATASETS))}.")
    split = _str(entry, "split", where, default="val")
    tune_split = _str(entry, "tune_split", where)
    if tune_split == split:
        raise ValueError(f"{where}: tune_split must differ from split ({split!r}); tuning "
                         "on the scored split is what the plain ODS already does.")
    label = _str(entry, "label", where)
    _label(label, where, "label")
    return DatasetConfig(name=name.strip().lower(), split=split, root=_str(entry, "root", where),
                         options=_table(entry, "options", where),
                         max_images=_int(entry, "max_images", where, minimum=1, default=None),
                         tune_split=tune_split, label=label)


def _parse_method(entry, where: str, seed: int, check: bool) -> MethodConfig:
    _check_keys(entry, _METHOD_KEYS, where)
    name = _str(entry, "name", where, required=True)
    where = f"{where} ({name!r})"
    label = _str(entry, "label", where)
    _label(label, where, "label")
    if any(entry.get(k) is not None for k in ("checkpoint", "train")):
        method = _parse_deep(entry, name, label, where)
    else:
        if entry.get("tta_flip") is not None:
            raise ValueError(f"{where}: tta_flip is for deep methods (with checkpoint = "
                             "\"...\" or train = { ... }); remove it.")
        params = _table(entry, "params", where)
        sweep = entry.get("sweep")
        param, values = None, ()
        if sweep is not None:
            sweep_where = f"{where}: sweep"
            _check_keys(sweep, _SWEEP_KEYS, sweep_where)
            param = _str(sweep, "param", sweep_where)
            values = tuple(_list(sweep.get("values", []), "values", sweep_where))
            for v in values:
                if isinstance(v, bool) or not isinstance(v, (Real, str)):
                    raise TypeError(f"{sweep_where}: values must be numbers or strings; got "
                                    f"{v!r} ({type(v).__name__}).")
            if param is not None and not values:
                raise ValueError(f"{sweep_where}: values is empty; give the values of "
                                 f"{param!r}, fine to coarse.")
        method = MethodConfig(name=name, params=params, sweep_param=param,
                              sweep_values=values, label=label)
    if not check:
        return method
    try:  # unknown names, parameters, sweeps and checkpoints fail here, not in a worker
        method.check(seed)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise (TypeError if isinstance(exc, TypeError) else ValueError)(
            f"{where}: {exc}") from None
    return method


def _parse_deep(entry: dict, name: str, label: str | None, where: str) -> MethodConfig:
    """A deep ``[[methods]]`` entry: a checkpoint or a training table, no sweep."""
    for key in ("params", "sweep"):
        if entry.get(key) is not None:
            raise ValueError(f"{where}: a deep method takes no {key} (a trained model gives "
                             f"one class map per image, nothing to sweep); remove {key}, or "
                             "set training options in train = { ... }. Valid keys: "
                             f"{', '.join(_DEEP_KEYS)}.")
    if entry.get("checkpoint") is not None and entry.get("train") is not None:
        raise ValueError(f"{where}: give either checkpoint (a trained model) or train "
                         "(train it in the run), not both.")
    tta_flip = entry.get("tta_flip", False)
    if not isinstance(tta_flip, bool):
        raise TypeError(f"{where}: tta_flip must be true or false; got {tta_flip!r} "
                        f"({type(tta_flip).__name__}).")
    checkpoint = _str(entry, "checkpoint", where)
    train = None
    if entry.get("train") is not None:
        train = _table(entry, "train", where)
        minutes = train.get("minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, Real)
                                    or not minutes > 0):
            raise (ValueError if isinstance(minutes, Real) and not isinstance(minutes, bool)
                   else TypeError)(f"{where}: train: minutes must be a number > 0; got "
                                   f"{minutes!r}.")
        if minutes is None and train.get("epochs") is None:
            raise ValueError(f"{where}: train needs a budget: minutes = ... (wall time) "
                             "and/or epochs = ...; got neither.")
    return MethodConfig(name=name, label=label, checkpoint=checkpoint, train=train,
                        tta_flip=tta_flip)


def _parse(data, source: str, check_methods: bool = True) -> RunConfig:
    if not isinstance(data, dict):
        raise TypeError(f"{source}: a config must be a table of keys; got "
                        f"{type(data).__name__}.")
    data = _legacy(data)
    _check_keys(data, _TOP_KEYS, f"{source}: top level")
    top = f"{source}: top level"
    seed = _int(data, "seed", top, minimum=0, default=0)
    jobs = _int(data, "jobs", top, minimum=1, default=1)
    out = _str(data, "out", top)

    entries = _list(data.get("datasets", []), "datasets", top)
    if not entries:
        raise ValueError(f"{source}: no [[datasets]] table; add at least one, e.g. "
                         "[[datasets]] name = \"synthetic\".")
    datasets = tuple(_parse_dataset(e, f"{source}: [[datasets]] #{i + 1}")
                     for i, e in enumerate(entries))
    specs: dict[str, DatasetConfig] = {}
    for i, d in enumerate(datasets):
        where = f"{source}: [[datasets]] #{i + 1}"
        same = specs.setdefault(d.label, d)
        if (same.name, same.root, same.options, same.max_images) != (
                d.name, d.root, d.options, d.max_images):
            raise ValueError(f"{where}: label {d.label!r} is already used by a dataset with "
                             "other name, root, options or max_images; give each a distinct "
                             "label.")
    pairs = [(d.label, d.split) for d in datasets]
    duplicate = next((p for p in pairs if pairs.count(p) > 1), None)
    if duplicate:
        raise ValueError(f"{source}: [[datasets]] lists {duplicate[0]!r} split "
                         f"{duplicate[1]!r} twice; merge the entries.")

    entries = _list(data.get("methods", []), "methods", top)
    if not entries:
        raise ValueError(f"{source}: no [[methods]] table; add at least one, e.g. "
                         "[[methods]] name = \"slic\".")
    methods = tuple(_parse_method(e, f"{source}: [[methods]] #{i + 1}", seed, check_methods)
                    for i, e in enumerate(entries))
    labels = [m.label for m in methods]
    duplicate = next((x for x in labels if labels.count(x) > 1), None)
    if duplicate:
        raise ValueError(f"{source}: [[methods]] uses the label {duplicate!r} twice; give "
                         "each entry a distinct label = \"...\".")

    robustness = _table(data, "robustness", top)
    _check_keys(robustness, _ROBUSTNESS_KEYS, f"{source}: [robustness]")
    perturbations = tuple(_list(robustness.get("perturbations", []), "perturbations",
                                f"{source}: [robustness]"))
    for p in perturbations:
        if not isinstance(p, str):
            raise TypeError(f"{source}: [robustness]: perturbations must be strings like "
                            f"\"noise(0.05)\"; got {p!r} ({type(p).__name__}).")
    if len(set(perturbations)) != len(perturbations):
        raise ValueError(f"{source}: [robustness]: perturbations lists one twice: "
                         f"{list(perturbations)}.")
    if perturbations:
        from benchmarks.robustness import parse_perturbation

        for p in perturbations:
            try:
                parse_perturbation(p)
            except (ValueError, TypeError) as exc:
                raise (TypeError if isinstance(exc, TypeError) else ValueError)(
                    f"{source}: [robustness]: perturbations: {exc}") from None
        # "none" always runs; listing it changes nothing.
        perturbations = tuple(p for p in perturbations
                              if parse_perturbation(p).kind != "none")
    return RunConfig(datasets=datasets, methods=methods, perturbations=perturbations, seed=seed,
                     jobs=jobs, out=out)


# --------------------------------------------------------------------------------------
# User methods ("module:attr")
# --------------------------------------------------------------------------------------


class _KeywordCall:
    """``function(image, params)`` for a user function ``f(image, **params)``: the
    :class:`~classical.segmenter.Segmenter` calling convention."""

    def __init__(self, function, label: str):
        self.function, self.label = function, label

    def __call__(self, image: np.ndarray, params) -> np.ndarray:
        kwargs = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
        return _check_output(self.function(image, **kwargs), image, self.label)


def _check_output(labels, image: np.ndarray, label: str) -> np.ndarray:
    """A user method's labels as int32 0..n-1; wrong shapes or kinds raise."""
    labels = np.asarray(labels)
    if labels.shape != image.shape[:2]:
        raise ValueError(f"method {label!r} returned labels of shape {labels.shape}; "
                         f"expected the image's (H, W) = {image.shape[:2]}.")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise TypeError(f"method {label!r} returned labels of dtype {labels.dtype}; "
                        "expected integers.")
    # Any integer ids are fine; the harness counts regions as max + 1.
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int32)


def _user_segmenter(name: str, label: str, params: dict):
    from classical.segmenter import Segmenter

    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise ValueError(f"method {name!r} must be 'module:attr' (e.g. 'mypkg.seg:segment').")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"method {name!r}: cannot import module {module_name!r} ({exc}); "
                         "it must be importable in every worker (installed or on "
                         "PYTHONPATH).") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"method {name!r}: module {module_name!r} has no attribute "
                             f"{attr!r}.")
        obj = getattr(obj, part)
    if isinstance(obj, Segmenter):
        return obj.with_params(**params) if params else obj
    if not callable(obj):
        raise TypeError(f"method {name!r} must name a function, a Segmenter factory or a "
                        f"Segmenter; got {type(obj).__name__}.")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        raise TypeError(f"method {name!r}: cannot read the signature of {attr!r}.") from None
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if positional and positional[0].default is inspect.Parameter.empty:
        # A function image -> labels: its other parameters become the params dataclass.
        knobs = [p for p in signature.parameters.values()
                 if p is not positional[0] and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                          p.KEYWORD_ONLY)]
        missing = [p.name for p in knobs if p.default is inspect.Parameter.empty]
        if missing:
            raise ValueError(f"method {name!r}: parameters {missing} have no default; give "
                             "every parameter after the image a default.")
        params_cls = dataclasses.make_dataclass(
            f"{attr.rsplit('.', 1)[-1]}_params",
            [(p.name, Any, field(default=p.default)) for p in knobs], frozen=True)
        segmenter = Segmenter(label, _KeywordCall(obj, label), params_cls())
        return segmenter.with_params(**params) if params else segmenter
    segmenter = obj(**params)
    needed = ("name", "params", "sweep_param", "sweep_values", "with_params", "sweep")
    if not callable(segmenter) or not all(hasattr(segmenter, a) for a in needed):
        raise TypeError(f"method {name!r}: the factory returned {type(segmenter).__name__}, "
                        "not a Segmenter (classical.segmenter.Segmenter).")
    return segmenter
