"""Checkpoints: one self-describing file per model state, written atomically.

A segbench checkpoint is a plain dict saved with :func:`torch.save` and readable with
``torch.load(path, weights_only=True)`` (so it holds only tensors, numbers, strings,
``None`` and lists/tuples/dicts of them: no pickled objects, nothing executes on
load):

==================  ==============================================================
key                 value
==================  ==============================================================
format, version     ``"segbench-checkpoint"``, :data:`CHECKPOINT_VERSION`
model_name          registry name, e.g. ``"fcn8s_resnet18"`` (:func:`deep.build_model`)
model_options       builder options used (JSON-like), without ``weights``
num_classes         int
class_names         list of str (length num_classes)
class_colors        list of [r, g, b] (display colours) or None
ignore_index        the void label of the training masks (255)
mean, std           list of 3 floats: the model's input normalisation (also buffers
                    in the state dict; repeated here for readers without torch)
model               the model's ``state_dict`` (unwrapped from DDP)
optimizer           optimizer ``state_dict`` or None
scheduler           LR scheduler ``state_dict`` or None
scaler              AMP ``GradScaler`` ``state_dict`` or None
epoch, step         completed epochs and optimizer steps
config              the training configuration as a dict (``TrainConfig.to_dict``)
rng                 list of RNG states, one per rank (see :func:`rng_state`), or None
best_metric         best validation mean IoU so far, or None
extra               dict of further plain values (e.g. class weights, elapsed seconds)
torch_version       str
==================  ==============================================================

Examples
--------
>>> from deep.registry import build_model
>>> model = build_model("fcn8s_resnet18", num_classes=3)
>>> path = save_checkpoint(tmp_path / "m.pt", model, model_name="fcn8s_resnet18",
...                        class_names=["a", "b", "c"])         # doctest: +SKIP
>>> load_model(path, num_classes=3).num_classes                  # doctest: +SKIP
3
"""

from __future__ import annotations

import os
import pickle
import random
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from classical._validate import IGNORE_INDEX, check_file, check_int

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "load_checkpoint",
    "load_model",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
    "unwrap_model",
]

CHECKPOINT_FORMAT = "segbench-checkpoint"
CHECKPOINT_VERSION = 1

_REQUIRED = ("model_name", "num_classes", "class_names", "model")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare model inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper."""
    if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        return model.module
    return model


# ----------------------------------------------------------------------------- RNG


def rng_state() -> dict[str, Any]:
    """This process's random generator states, as tensors and plain containers.

    Returns
    -------
    state : dict
        ``torch`` (ByteTensor), ``cuda`` (list of ByteTensor, empty without a GPU),
        ``numpy`` (dict of the legacy global ``np.random`` MT19937 state) and
        ``python`` (``random.getstate()`` as lists).
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": [int(version), [int(v) for v in internal], gauss_next],
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`.

    CUDA states are restored only when as many GPUs are visible as were saved.

    Raises
    ------
    ValueError
        If `state` lacks one of the entries.
    """
    missing = [k for k in ("torch", "numpy", "python") if k not in state]
    if missing:
        raise ValueError(f"RNG state must have entries torch, numpy, python; missing "
                         f"{', '.join(missing)}.")
    torch.set_rng_state(state["torch"])
    cuda = list(state.get("cuda") or [])
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


# ----------------------------------------------------------------------------- save


def _atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file beside `path`, fsync, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; checkpoints are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any, where: str) -> Any:
    """Check that `value` is loadable with weights_only=True (tensors, primitives)."""
    if value is None or isinstance(value, torch.Tensor):
        return value
    for kind in (bool, int, float, str):  # subclasses (TorchVersion, np.float64) -> base
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise TypeError(
        f"{where} must hold only tensors, numbers, strings, None and lists/dicts of them "
        f"(so that torch.load(weights_only=True) can read it); got {type(value).__name__}."
    )


def save_checkpoint(path, model: nn.Module, *, model_name: str,
                    model_options: Mapping[str, Any] | None = None,
                    class_names: Sequence[str] | None = None,
                    class_colors: Sequence[Sequence[int]] | None = None,
                    ignore_index: int = IGNORE_INDEX, optimizer=None, scheduler=None,
                    scaler=None, epoch: int = 0, step: int = 0,
                    config: Mapping[str, Any] | None = None,
                    rng: Sequence[Mapping[str, Any]] | None = None,
                    best_metric: float | None = None,
                    extra: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temporary file + ``os.replace``).

    Parameters
    ----------
    path : path-like
        Destination; its folder is created. An existing file is replaced only once the
        new one is completely written, so a crash never leaves a truncated checkpoint.
    model : nn.Module
        A segbench model (``num_classes``, ``mean``, ``std``), possibly DDP-wrapped.
    model_name : str
        Its registry name (:func:`deep.registry.list_models`), used to rebuild it.
    model_options : dict, optional
        Builder options it was built with (``weights`` is dropped: the state is here).
    class_names : sequence of str, optional
        Default ``"0".."n-1"``.
    class_colors : sequence of (r, g, b), optional
        Display colours of the classes.
    ignore_index : int, optional
        Void label of the training masks.
    optimizer, scheduler, scaler : optional
        Objects with ``state_dict()``; stored when given.
    epoch, step : int, optional
        Completed epochs and optimizer steps.
    config : dict, optional
        Training configuration (plain values).
    rng : sequence of dict, optional
        RNG states per rank (:func:`rng_state`); default: this process's only.
    best_metric : float, optional
        Best validation score so far.
    extra : dict, optional
        Further plain values.

    Returns
    -------
    path : Path

    Raises
    ------
    TypeError
        If `model` is not a segbench model, or a value cannot be stored safely.
    ValueError
        If `class_names` has the wrong length.
    """
    bare = unwrap_model(model)
    if not isinstance(bare, nn.Module) or not hasattr(bare, "num_classes"):
        raise TypeError(f"model must be a segbench model (with num_classes, mean, std); got "
                        f"{type(bare).__name__}.")
    if not isinstance(model_name, str):
        raise TypeError(f"model_name must be a string; got {type(model_name).__name__}.")
    n = int(bare.num_classes)
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    if len(names) != n:
        raise ValueError(f"class_names must have {n} entries (the model's num_classes); "
                         f"got {len(names)}.")
    colors = None
    if class_colors is not None:
        colors = [[int(v) for v in c] for c in class_colors]
        if len(colors) != n or any(len(c) != 3 for c in colors):
            raise ValueError(f"class_colors must be {n} (r, g, b) triples; got {colors!r}.")
    options = {k: v for k, v in dict(model_options or {}).items() if k != "weights"}
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_name": model_name,
        "model_options": _plain(options, "model_options"),
        "num_classes": n,
        "class_names": names,
        "class_colors": colors,
        "ignore_index": check_int(ignore_index, "ignore_index"),
        "mean": [float(v) for v in bare.mean.detach().cpu()],
        "std": [float(v) for v in bare.std.detach().cpu()],
        "model": {k: v.detach().cpu() for k, v in bare.state_dict().items()},
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else _plain(scheduler.state_dict(), "scheduler"),
        "scaler": None if scaler is None else scaler.state_dict(),
        "epoch": check_int(epoch, "epoch", minimum=0),
        "step": check_int(step, "step", minimum=0),
        "config": _plain(dict(config) if config is not None else None, "config"),
        "rng": _plain(list(rng) if rng is not None else [rng_state()], "rng"),
        "best_metric": None if best_metric is None else float(best_metric),
        "extra": _plain(dict(extra or {}), "extra"),
        "torch_version": str(torch.__version__),
    }
    path = Path(path)
    _atomic_save(state, path)
    return path


# ----------------------------------------------------------------------------- load


def load_checkpoint(path, *, map_location="cpu") -> dict[str, Any]:
    """Read and check a segbench checkpoint with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    path : path-like
    map_location : optional
        Passed to :func:`torch.load` (default ``"cpu"``).

    Returns
    -------
    checkpoint : dict
        The entries described in the module docstring.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file is not a readable torch file, holds pickled objects (refused by
        ``weights_only=True``), or is not a segbench checkpoint (e.g. a bare
        ``state_dict``: the message says how to load that instead).
    """
    path = check_file(path, "checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found is None:
            raise ValueError(f"checkpoint {path!r} is not a readable torch file; it may be "
                             "truncated or not a checkpoint at all.") from None
        what = f"it pickles {found.group(1)}"
        raise ValueError(
            f"checkpoint {path!r} cannot be loaded safely with weights_only=True ({what}); "
            "segbench checkpoints hold only tensors and plain values."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"checkpoint {path!r} is not a readable torch file ({exc}); it may "
                         "be truncated or not a checkpoint at all.") from None
    if not isinstance(state, Mapping) or state.get("format") != CHECKPOINT_FORMAT:
        what = (f"a dict with keys {', '.join(map(str, list(state)[:6]))}"
                if isinstance(state, Mapping) else f"a {type(state).__name__}")
        raise ValueError(
            f"checkpoint {path!r} is not a segbench checkpoint (no format "
            f"{CHECKPOINT_FORMAT!r}); it holds {what}. A bare state_dict loads with "
            "deep.build_model(name, num_classes, weights=path)."
        )
    version = state.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {path!r} has format version {version!r}; this segbench "
                         f"reads versions up to {CHECKPOINT_VERSION}. Upgrade segbench.")
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise ValueError(f"checkpoint {path!r} lacks entries {', '.join(missing)}; it is "
                         "damaged or was not written by deep.checkpoints.save_checkpoint.")
    return dict(state)


def load_model(checkpoint, *, num_classes: int | None = None, map_location="cpu",
               what: str = "the caller") -> nn.Module:
    """Rebuild a model from a checkpoint via the registry and load its weights.

    Parameters
    ----------
    checkpoint : path-like or dict
        A checkpoint file, or a dict returned by :func:`load_checkpoint`.
    num_classes : int, optional
        The number of classes the caller expects (e.g. its dataset's); a checkpoint
        trained for another number is refused.
    map_location : optional
        Device for the weights when `checkpoint` is a path (default ``"cpu"``).
    what : str, optional
        Who expects `num_classes`, for the error message (e.g. ``"dataset 'camvid'"``).

    Returns
    -------
    model : SegmentationModel
        In eval mode, on the CPU (move it with ``.to(device)``), normalisation buffers
        restored.

    Raises
    ------
    FileNotFoundError, ValueError
        From :func:`load_checkpoint`; if the class count differs from `num_classes`;
        if the model name is unknown to this segbench; or if the weights do not fit
        the rebuilt model.
    """
    from deep.registry import build_model

    if isinstance(checkpoint, Mapping):
        state, where = checkpoint, "checkpoint"
    else:
        state, where = load_checkpoint(checkpoint, map_location=map_location), \
            f"checkpoint {os.fspath(checkpoint)!r}"
    n = int(state["num_classes"])
    if num_classes is not None and check_int(num_classes, "num_classes", minimum=1) != n:
        names = ", ".join(state["class_names"][:12])
        raise ValueError(
            f"{where} was trained for {n} classes ({names}); {what} expects {num_classes}. "
            "Evaluate it on the dataset it was trained for, or train a model for this one."
        )
    options = dict(state.get("model_options") or {})
    try:
        model = build_model(state["model_name"], n, **options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} names model {state['model_name']!r} with options "
                         f"{options}, which this segbench cannot build: {exc}") from None
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"{where}: the weights do not fit model {state['model_name']!r} "
                         f"with {n} classes ({first}).") from None
    return model.eval()
