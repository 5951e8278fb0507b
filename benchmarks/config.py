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
_METHOD_KEYS = ("name", "label", "params", "sweep")
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
    """One method of a run.

    Parameters
    ----------
    name : str
        Registry name (``segbench segment --list``), or ``"module:attr"`` naming a
        function ``f(image, **params) -> labels``, a factory ``f(**params) -> Segmenter``
        or a :class:`~classical.segmenter.Segmenter`.
    params : dict, optional
        Parameter overrides.
    sweep_param : str, optional
        Parameter to sweep; default the method's own.
    sweep_values : tuple, optional
        Values, fine to coarse; default the method's own sweep.
    label : str, optional
        The method's name in unit keys and reports; default `name`.
    """

    name: str
    params: dict = field(default_factory=dict)
    sweep_param: str | None = None
    sweep_values: tuple = ()
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "params", _frozen(dict(self.params)))
        object.__setattr__(self, "sweep_values", _frozen(tuple(self.sweep_values)))
        if self.label is None:
            object.__setattr__(self, "label", self.name)

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
            it is then run once per image).

        Raises
        ------
        ValueError
            For an unknown method or parameter, or a sweep over a parameter the method
            does not have.
        TypeError
            If ``"module:attr"`` is neither a function, a factory nor a Segmenter.
        """
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
    method = MethodConfig(name=name, params=params, sweep_param=param, sweep_values=values,
                          label=label)
    if not check:
        return method
    try:  # unknown names, parameters and sweep parameters fail here, not in a worker
        method.build(seed)
    except (ValueError, TypeError) as exc:
        raise (TypeError if isinstance(exc, TypeError) else ValueError)(
            f"{where}: {exc}") from None
    return method


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
