"""Trained FCNs as harness methods: a checkpoint behind the :class:`classical.Segmenter`
interface, and training a model inside a run.

A deep model's output is a class map. The harness scores it twice: as a partition
(its 8-connected components, like every other method's regions) with the region and
boundary benchmarks, and directly with the semantic metrics against the class mask —
no oracle, so these are real semantic scores, unlike the classical methods' oracle
upper bound.

torch is imported only when a deep method actually runs, so a classical-only run never
loads it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from classical.segmenter import Segmenter

__all__ = ["DeepParams", "RUN_OWNED_TRAIN_FIELDS", "TrainSpec", "checkpoint_classes",
           "checkpoint_info", "checkpoint_segmenter", "class_map_regions", "is_deep",
           "train_config", "train_for_run"]

#: :class:`deep.train.TrainConfig` fields a run sets itself (the model from the method's
#: name, the dataset from the run's, the folder from the run folder): a method's
#: training options may not set them.
RUN_OWNED_TRAIN_FIELDS = ("model", "dataset", "root", "dataset_options", "out_dir")


@dataclass(frozen=True)
class DeepParams:
    """Parameters of a checkpoint segmenter.

    Parameters
    ----------
    checkpoint : str
        Path of a checkpoint written by ``segbench train`` (``best.pt`` / ``last.pt``).
    tta_flip : bool, optional
        Average the logits with those of the mirrored image.
    window : int, optional
        Sliding-window size for images larger than the model should see at once.
    """

    checkpoint: str
    tta_flip: bool = False
    window: int | None = None


@lru_cache(maxsize=4)
def _model(checkpoint: str, mtime_ns: int):
    """One model per worker process and checkpoint version (the mtime keys a rewrite)."""
    from deep.checkpoints import load_model

    return load_model(checkpoint, what="the harness")


def _missing(path) -> FileNotFoundError:
    return FileNotFoundError(f"checkpoint {os.fspath(path)!r} does not exist; train one with "
                             "`segbench train` or fix the path.")


def _existing(checkpoint) -> Path:
    """`checkpoint` as a Path, or the harness's error for a missing checkpoint."""
    path = Path(checkpoint)
    if not path.is_file():
        raise _missing(path)
    return path


def _predict(image: np.ndarray, params: DeepParams) -> np.ndarray:
    from deep.infer import predict

    path = os.fspath(params.checkpoint)
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        raise _missing(path) from None
    if image.ndim == 2:  # the FCNs take RGB; grey images are replicated, as at training
        image = np.repeat(image[..., None], 3, axis=-1)
    labels = predict(_model(path, mtime), image, tta_flip=params.tta_flip, window=params.window)
    return labels.astype(np.int32)


def checkpoint_segmenter(checkpoint, *, name: str | None = None, tta_flip: bool = False,
                         window: int | None = None) -> Segmenter:
    """A trained model as a harness method.

    Parameters
    ----------
    checkpoint : path-like
        A checkpoint written by ``segbench train``.
    name : str, optional
        Name in reports (default: the checkpoint's model name, e.g. ``"fcn8s_resnet18"``).
    tta_flip : bool, optional
        Flip test-time augmentation.
    window : int, optional
        Sliding-window size.

    Returns
    -------
    Segmenter
        ``__call__(image)`` returns the (H, W) int32 class map. Its "sweep" has one
        value (a trained model has no quality knob to sweep), so its ODS equals its OIS.

    Raises
    ------
    FileNotFoundError
        If the checkpoint does not exist.
    ValueError
        If it is not a segbench checkpoint.
    """
    path = _existing(checkpoint)
    if name is None:
        from deep.checkpoints import load_checkpoint

        name = str(load_checkpoint(path)["model_name"])
    return Segmenter(name, _predict, DeepParams(os.fspath(path), tta_flip, window),
                     sweep_param="tta_flip", sweep_values=(tta_flip,))


def is_deep(segmenter) -> bool:
    """Whether `segmenter` returns class maps (score them with semantic metrics too)."""
    return isinstance(getattr(segmenter, "params", None), DeepParams)


def checkpoint_classes(segmenter) -> list[str]:
    """Class names the segmenter's checkpoint was trained for."""
    return checkpoint_info(segmenter.params.checkpoint)["class_names"]


def checkpoint_info(checkpoint) -> dict:
    """What a harness needs to know of a checkpoint before running it.

    Parameters
    ----------
    checkpoint : path-like
        A checkpoint written by ``segbench train``.

    Returns
    -------
    dict
        ``model_name`` (str), ``num_classes`` (int) and ``class_names`` (list of str).

    Raises
    ------
    FileNotFoundError
        If the checkpoint does not exist.
    ValueError
        If it is not a segbench checkpoint.
    """
    from deep.checkpoints import load_checkpoint

    path = _existing(checkpoint)
    state = load_checkpoint(path)
    return {"model_name": str(state["model_name"]), "num_classes": int(state["num_classes"]),
            "class_names": [str(c) for c in state["class_names"]]}


def class_map_regions(class_map: np.ndarray) -> np.ndarray:
    """The partition a class map makes: its 8-connected same-class components.

    Parameters
    ----------
    class_map : ndarray of int, shape (H, W)

    Returns
    -------
    ndarray of int32, shape (H, W)
        Labels 0..n-1, one per connected component.
    """
    from skimage.measure import label

    return (label(np.asarray(class_map), background=-1, connectivity=2) - 1).astype(np.int32)


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainSpec:
    """A model trained inside a run, on the run's dataset (train split by default).

    Parameters
    ----------
    model : str
        Model name (``segbench train --list-models``).
    minutes : float or None
        Wall-time budget of the training; None trains for ``options["epochs"]``.
    options : dict, optional
        Any other :class:`deep.train.TrainConfig` field (``crop_size``, ``lr``,
        ``epochs`` as a cap on the budget, ...) except :data:`RUN_OWNED_TRAIN_FIELDS`.
    tta_flip : bool, optional
        Flip TTA when the harness runs the trained model.
    """

    model: str
    minutes: float | None
    options: dict = field(default_factory=dict)
    tta_flip: bool = False


def train_config(spec: TrainSpec, *, dataset: str, root: str | None, dataset_options: dict,
                 out_dir):
    """The :class:`deep.train.TrainConfig` that trains `spec` on a run's dataset.

    Parameters
    ----------
    spec : TrainSpec
    dataset, root, dataset_options
        The run's dataset (name, folder, reader options).
    out_dir : path-like
        The training folder.

    Returns
    -------
    deep.train.TrainConfig

    Raises
    ------
    ValueError
        For an option that is not a TrainConfig field, or one the run sets itself
        (:data:`RUN_OWNED_TRAIN_FIELDS`); for a bad value (named by TrainConfig).
    TypeError
        For a value of the wrong kind (named by TrainConfig).
    """
    from deep.train import TrainConfig

    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = sorted(set(spec.options) - set(fields))
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), fields, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"training options {unknown} are not TrainConfig fields; valid: "
                         f"{', '.join(f for f in fields if f not in RUN_OWNED_TRAIN_FIELDS)}."
                         f"{hint}")
    owned = sorted(set(spec.options) & set(RUN_OWNED_TRAIN_FIELDS))
    if owned:
        raise ValueError(f"training options {owned} are set by the run (the model is the "
                         "method's name, the dataset the run's, the folder inside the run "
                         "folder); remove them.")
    values = {"model": spec.model, "dataset": dataset, "root": root,
              "dataset_options": dict(dataset_options), "minutes": spec.minutes,
              "epochs": None, "out_dir": os.fspath(out_dir), **spec.options}
    return TrainConfig.from_dict(values)


#: TrainConfig fields that say where or how a training ran, not what it trained: a
#: finished training is reused whatever they are (a run folder may be moved).
_PLACE_FIELDS = ("out_dir", "root", "num_workers", "device")


def _same_training(done: dict, record: dict) -> bool:
    return ({k: v for k, v in done.items() if k not in _PLACE_FIELDS}
            == {k: v for k, v in record.items() if k not in _PLACE_FIELDS})


def train_for_run(spec: TrainSpec, *, dataset: str, root: str | None, dataset_options: dict,
                  out_dir, progress: bool = True) -> Path:
    """Train `spec` for a run (or reuse / resume the run's earlier training).

    The training lives in `out_dir` (e.g. ``<run>/train/<dataset>/<method>``). A
    finished training (``done.json`` with the same config, wherever the folder has
    moved since) is reused; an interrupted one resumes from its ``last.pt``.

    Parameters
    ----------
    spec : TrainSpec
    dataset, root, dataset_options
        The run's dataset; the model trains on its ``train`` split (override with
        ``options={"train_split": ...}``) and validates on ``val`` (override with
        ``options={"val_split": None}`` for no validation).
    out_dir : path-like
    progress : bool, optional

    Returns
    -------
    Path
        The best checkpoint (``best.pt``; ``last.pt`` when training had no validation).

    Raises
    ------
    ValueError
        For an invalid training option (named by :class:`deep.train.TrainConfig`).
    """
    from deep.train import fit

    out_dir = Path(out_dir)
    config = train_config(spec, dataset=dataset, root=root, dataset_options=dataset_options,
                          out_dir=out_dir)
    done = out_dir / "done.json"
    record = json.loads(json.dumps(config.to_dict(), sort_keys=True))  # tuples -> lists
    if done.is_file() and _same_training(json.loads(done.read_text()), record):
        best = out_dir / "best.pt"
        return best if best.is_file() else out_dir / "last.pt"
    resume = (out_dir / "last.pt").is_file()
    summary = fit(config, resume=resume, progress=progress)
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, sort_keys=True))
    os.replace(tmp, done)
    best = summary.best_checkpoint
    if best is not None and Path(best).is_file():
        return Path(best)
    return Path(summary.last_checkpoint)
