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
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from classical.segmenter import Segmenter

__all__ = ["DeepParams", "TrainSpec", "checkpoint_segmenter", "is_deep", "class_map_regions",
           "train_for_run"]


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


def _predict(image: np.ndarray, params: DeepParams) -> np.ndarray:
    from deep.infer import predict

    path = os.fspath(params.checkpoint)
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        raise FileNotFoundError(f"checkpoint {path!r} does not exist; train one with "
                                "`segbench train` or fix the path.") from None
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
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {os.fspath(path)!r} does not exist; train one "
                                "with `segbench train` or fix the path.")
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
    from deep.checkpoints import load_checkpoint

    return list(load_checkpoint(segmenter.params.checkpoint)["class_names"])


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
    minutes : float
        Wall-time budget of the training.
    options : dict, optional
        Any other :class:`deep.train.TrainConfig` field (``crop_size``, ``lr``, ...).
    tta_flip : bool, optional
        Flip TTA when the harness runs the trained model.
    """

    model: str
    minutes: float
    options: dict = field(default_factory=dict)
    tta_flip: bool = False


def train_for_run(spec: TrainSpec, *, dataset: str, root: str | None, dataset_options: dict,
                  out_dir, progress: bool = True) -> Path:
    """Train `spec` for a run (or reuse / resume the run's earlier training).

    The training lives in `out_dir` (e.g. ``<run>/train/<model>``). A finished
    training (``done.json`` with the same config) is reused; an interrupted one
    resumes from its ``last.pt``.

    Parameters
    ----------
    spec : TrainSpec
    dataset, root, dataset_options
        The run's dataset; the model trains on its ``train`` split (override with
        ``options={"train_split": ...}``) and validates on ``val``.
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
    from deep.train import TrainConfig, fit

    out_dir = Path(out_dir)
    values = {"model": spec.model, "dataset": dataset, "root": root,
              "dataset_options": dict(dataset_options), "minutes": spec.minutes,
              "epochs": None, "out_dir": os.fspath(out_dir), **spec.options}
    unknown = sorted(set(spec.options) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"training options {unknown} are not TrainConfig fields; valid: "
                         f"{sorted(f.name for f in dataclasses.fields(TrainConfig))}.")
    config = TrainConfig.from_dict(values)
    done = out_dir / "done.json"
    record = json.loads(json.dumps(config.to_dict(), sort_keys=True))  # tuples -> lists
    if done.is_file() and json.loads(done.read_text()) == record:
        best = out_dir / "best.pt"
        return best if best.is_file() else out_dir / "last.pt"
    resume = (out_dir / "last.pt").is_file()
    summary = fit(config, resume=resume, progress=progress)
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, sort_keys=True))
    os.replace(tmp, done)
    best = summary.best_checkpoint
    return Path(best) if best is not None and Path(best).is_file() else Path(summary.last_checkpoint)
