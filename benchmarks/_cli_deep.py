"""``segbench train`` and ``segbench predict``, and checkpoint evaluation for
``segbench evaluate semantic --checkpoint``.

Everything deep is imported inside the functions, so ``segbench --help`` and classical
runs never load torch.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import click

__all__ = ["evaluate_checkpoint", "predict", "train"]

_DIR = click.Path(file_okay=False, path_type=Path)


# The defaults shown in --help; checked against TrainConfig by the tests, so they
# cannot drift. (Importing deep.train here would load torch for `segbench --help`.)
_DEFAULTS = {
    "model": "fcn8s_resnet18", "dataset": "synthetic", "train_split": "train",
    "val_split": "val", "epochs": 30, "batch_size": 8, "crop_size": (256, 256),
    "scale_range": (0.5, 2.0), "color_jitter": 0.2, "optimizer": "sgd", "lr": 0.01,
    "momentum": 0.9, "weight_decay": 1e-4, "schedule": "poly", "warmup_epochs": 0.0,
    "class_weights": "none", "lovasz_weight": 0.0, "seed": 0, "num_workers": 0,
    "eval_every": 1,
}


def _d(name: str) -> str:
    return f"[default: {_DEFAULTS[name]}]"


def _parse_options(pairs: tuple[str, ...], name: str) -> dict:
    """``("preset=medium", "dropout=0.1")`` -> ``{"preset": "medium", "dropout": 0.1}``."""
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{name} must be KEY=VALUE; got {pair!r}.")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        options[key.strip()] = value
    return options


def _parse_size(text: str | None, name: str = "crop-size"):
    """``"128"`` -> 128, ``"360x480"`` -> (360, 480); None stays None."""
    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise ValueError(f"{name} must be N or HxW (e.g. 360x480); got {text!r}.")
    return tuple(values) if len(values) == 2 else values[0]


def _parse_scales(text: str | None) -> tuple[float, ...]:
    """``"0.75,1,1.25"`` -> (0.75, 1.0, 1.25); None -> (1.0,)."""
    if text is None:
        return (1.0,)
    try:
        scales = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated scale factors such as "
                                 f"0.75,1,1.25; got {text!r}.", param_hint="--scales") from None
    if any(not (s > 0 and s < float("inf")) for s in scales):
        raise click.BadParameter(f"scale factors must be positive and finite; got {text!r}.",
                                 param_hint="--scales")
    return scales


_SCALES_HELP = ("Comma-separated test-time scale factors, e.g. 0.75,1,1.25: logits of the "
                "resized image, resized back, are averaged (default: 1).")


def _print_models(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from deep.registry import list_models

    for name in list_models():
        click.echo(name)
    ctx.exit()


def _device(ctx: click.Context) -> str:
    obj = ctx.find_root().obj
    return obj.get("device", "cpu") if isinstance(obj, dict) else "cpu"


@click.command()
@click.option("--list-models", is_flag=True, is_eager=True, expose_value=False,
              callback=_print_models, help="Print the model names and exit.")
@click.option("--model", default=None, metavar="NAME",
              help=f"Model name (see --list-models). {_d('model')}")
@click.option("--model-option", "model_options", multiple=True, metavar="KEY=VALUE",
              help="Builder option, repeatable: dropout=0.1, learnable_upsampling=false, "
                   "weights=init.pt.")
@click.option("--dataset", default=None, metavar="NAME",
              help=f"Dataset (synthetic, camvid, voc, folder). {_d('dataset')}")
@click.option("--root", type=_DIR, default=None,
              help="The dataset's folder (default: $SEGBENCH_DATA or ./data).")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Reader option, repeatable: preset=medium (synthetic), year=2012 (voc).")
@click.option("--train-split", default=None,
              help=f"{_d('train_split')}")
@click.option("--val-split", default=None,
              help=f"Validation split; 'none' for no validation. {_d('val_split')}")
@click.option("--epochs", type=int, default=None,
              help=f"Epochs; with --minutes, an upper bound. {_d('epochs')}")
@click.option("--minutes", type=float, default=None,
              help="Wall-time budget; the LR schedule is fitted to the epochs that fit.")
@click.option("--batch-size", type=int, default=None,
              help=f"Images per step (per process under torchrun). {_d('batch_size')}")
@click.option("--crop-size", default=None, metavar="N|HxW",
              help="Training crop. [default: 256x256]")
@click.option("--scale-range", type=float, nargs=2, default=None, metavar="MIN MAX",
              help="Random scale factors. [default: 0.5 2.0]")
@click.option("--no-hflip", is_flag=True, default=None, help="No random horizontal flips.")
@click.option("--color-jitter", type=float, default=None,
              help=f"Brightness/contrast/saturation jitter; 0 = off. {_d('color_jitter')}")
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default=None,
              help=f"{_d('optimizer')}")
@click.option("--lr", type=float, default=None, help=f"Peak learning rate. {_d('lr')}")
@click.option("--momentum", type=float, default=None,
              help=f"SGD momentum / AdamW beta1. {_d('momentum')}")
@click.option("--weight-decay", type=float, default=None,
              help=f"On weights only. {_d('weight_decay')}")
@click.option("--schedule", type=click.Choice(["poly", "onecycle", "cosine"]), default=None,
              help=f"Per-step LR schedule. {_d('schedule')}")
@click.option("--warmup-epochs", type=float, default=None,
              help=f"Linear LR warm-up. {_d('warmup_epochs')}")
@click.option("--grad-clip", type=float, default=None, help="Clip the gradient norm.")
@click.option("--class-weights", type=click.Choice(["none", "median_freq", "enet"]), default=None,
              help=f"Loss weights. {_d('class_weights')}")
@click.option("--lovasz-weight", type=float, default=None,
              help="Weight of a Lovász-softmax (IoU surrogate) term added to the "
                   f"cross-entropy; 0 = off. {_d('lovasz_weight')}")
@click.option("--amp", is_flag=True, default=None,
              help="Mixed precision (bfloat16 on CPU, float16 on CUDA).")
@click.option("--eval-tta", is_flag=True, default=None, help="Flip TTA during validation.")
@click.option("--seed", type=int, default=None, help=f"{_d('seed')}")
@click.option("--workers", "num_workers", type=int, default=None,
              help=f"Data-loading processes. {_d('num_workers')}")
@click.option("--cache", "cache_samples", is_flag=True, default=None,
              help="Keep samples in memory after the first epoch (small datasets, --workers 0).")
@click.option("--eval-every", type=int, default=None,
              help=f"Validate every N epochs (and after the last). {_d('eval_every')}")
@click.option("--deterministic", is_flag=True, default=None,
              help="Deterministic algorithms (bit-exact reruns and resumes; slower).")
@click.option("--out", "out_dir", type=_DIR, default=None,
              help="Run folder: config.json, last.pt, best.pt, metrics.jsonl.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from last.pt (its config, plus the options "
                   "given here, e.g. more --epochs).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def train(ctx: click.Context, resume: bool, quiet: bool, **options) -> None:
    """Train a segmentation model; checkpoints and metrics go to --out.

    Writes last.pt every epoch and best.pt when validation mean IoU improves (both
    atomic), and one JSON line per epoch to metrics.jsonl. Under torchrun the run is
    distributed data parallel (gloo on CPU, NCCL on CUDA).

    \b
    Examples:
      segbench train --model fcn8s_resnet18 --dataset synthetic \\
          --dataset-option preset=medium --minutes 5 --crop-size 128 --out runs/syn
      segbench train --model fcn8s_resnet18 --dataset camvid --root data/CamVid \\
          --epochs 60 --crop-size 352x480 --class-weights median_freq --out runs/camvid
      segbench train --out runs/camvid --resume --epochs 80
      torchrun --nproc_per_node=2 -m benchmarks.cli train --dataset camvid --out runs/ddp
    """
    from deep.train import TrainConfig, fit

    out_dir = options.pop("out_dir")
    if out_dir is None:
        raise ValueError("--out is required: the run folder for checkpoints and metrics "
                         "(e.g. --out runs/camvid).")
    given = {k: v for k, v in options.items() if v is not None and v != ()}
    if "model_options" in given:
        given["model_options"] = _parse_options(given["model_options"], "--model-option")
    if "dataset_options" in given:
        given["dataset_options"] = _parse_options(given["dataset_options"], "--dataset-option")
    if "crop_size" in given:
        given["crop_size"] = _parse_size(given["crop_size"])
    if given.pop("no_hflip", None):
        given["hflip"] = False
    if given.get("val_split", "").lower() == "none":
        given["val_split"] = None
    if "root" in given:
        given["root"] = str(given["root"])
    if "minutes" in given and "epochs" not in given and not resume:
        given["epochs"] = None
    given["out_dir"] = str(out_dir)
    given.setdefault("device", _device(ctx))

    saved = out_dir / "config.json"
    if resume and saved.is_file():
        base = TrainConfig.from_json(saved.read_text(encoding="utf-8"))
        config = dataclasses.replace(base, **given)
    else:
        config = TrainConfig(**given)
    summary = fit(config, resume=resume, progress=not quiet)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports
        return
    best = ("-" if summary.best_metric is None
            else f"{100 * summary.best_metric:.2f}% (epoch {summary.best_epoch})")
    click.echo(f"{config.model} on {config.dataset}: {summary.epochs} epochs, "
               f"{summary.steps} steps in {summary.seconds / 60:.1f} min "
               f"(stopped by {summary.stopped_by}); best val mIoU {best}")
    click.echo(f"checkpoints: {summary.best_checkpoint} (best), {summary.last_checkpoint} "
               f"(last); metrics: {summary.metrics_path}")


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A segbench checkpoint (best.pt / last.pt of `segbench train`).")
@click.option("--out", "out_dir", required=True, type=_DIR,
              help="Folder for <id>.png label maps (value = class; 255 = void).")
@click.option("--tta", is_flag=True, help="Average with the horizontally flipped prediction.")
@click.option("--scales", default=None, metavar="S1,S2,...", help=_SCALES_HELP)
@click.option("--overlay", is_flag=True, help="Also write colour overlays to OUT/overlay/.")
@click.option("--probabilities", is_flag=True,
              help="Also write float16 (C, H, W) probabilities to OUT/probabilities/<id>.npy.")
@click.option("--window", default=None, metavar="N|HxW",
              help="Sliding-window size for large images (default: whole image).")
@click.option("--overlap", type=float, default=0.25, show_default=True,
              help="Sliding-window overlap fraction.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def predict(ctx: click.Context, inputs: tuple[Path, ...], checkpoint: Path, out_dir: Path,
            tta: bool, scales: str | None, overlay: bool, probabilities: bool,
            window: str | None, overlap: float, quiet: bool) -> None:
    """Predict class maps for images or folders of images with a trained checkpoint.

    \b
    Examples:
      segbench predict --checkpoint runs/camvid/best.pt data/CamVid/test --out preds/
      segbench predict --checkpoint runs/syn/best.pt a.png b.png --out preds --tta --overlay
      segbench predict --checkpoint runs/camvid/best.pt frames/ --out preds --tta \\
          --scales 0.75,1,1.25
    """
    from deep.checkpoints import load_checkpoint, load_model
    from deep.infer import predict_folder

    factors = _parse_scales(scales)
    state = load_checkpoint(checkpoint)
    model = load_model(state).to(_device(ctx))
    written = predict_folder(model, inputs, out_dir, class_colors=state.get("class_colors"),
                             tta_flip=tta, scales=factors, window=_parse_size(window, 'window'),
                             overlap=overlap,
                             overlay_images=overlay, save_probabilities=probabilities,
                             progress=not quiet)
    click.echo(f"wrote {len(written)} label maps to {out_dir}")


def evaluate_checkpoint(checkpoint, dataset, split: str = "val", root=None, *,
                        dataset_options: dict | None = None, tta_flip: bool = False,
                        scales=(1.0,), device: str = "cpu", progress: bool = False):
    """Score a checkpoint on a semantic dataset split: one confusion matrix, full resolution.

    Parameters
    ----------
    checkpoint : path-like
        A segbench checkpoint.
    dataset : str or SegmentationDataset
        A dataset name for :func:`benchmarks.datasets.load_dataset`, or an opened
        dataset (then `split`, `root` and `dataset_options` are not used).
    split : str, optional
        Split to score (default ``"val"``).
    root : path-like, optional
        The dataset's folder.
    dataset_options : dict, optional
        Reader options; by default, when `dataset` is the one the checkpoint was
        trained on, the options of its training run (e.g. the synthetic preset).
    tta_flip : bool, optional
        Flip test-time augmentation.
    scales : sequence of float, optional
        Test-time scale factors (default ``(1.0,)``); scores stay at full resolution.
    device : {"cpu", "cuda"}, optional
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    scores : benchmarks.metrics.semantic.SemanticScores
        With the dataset's class names.

    Raises
    ------
    FileNotFoundError
        If the checkpoint or dataset is missing.
    ValueError
        If the file is not a segbench checkpoint, or the dataset's class count differs
        from the checkpoint's.

    Examples
    --------
    >>> scores = evaluate_checkpoint("runs/camvid/best.pt", "camvid", "test",
    ...                              root="data/CamVid")        # doctest: +SKIP
    >>> round(100 * scores.mean_iou, 1)                          # doctest: +SKIP
    52.3
    """
    from benchmarks.datasets import load_dataset
    from deep.checkpoints import load_checkpoint, load_model
    from deep.data import SegmentationTorchDataset, make_loader
    from deep.train import evaluate

    state = load_checkpoint(checkpoint)
    if isinstance(dataset, str):
        config = state.get("config") or {}
        options = dataset_options
        if options is None:
            same = str(config.get("dataset", "")).lower() == dataset.strip().lower()
            options = dict(config.get("dataset_options") or {}) if same else {}
        data = load_dataset(dataset, split=split, root=root, **options)
        name = f"dataset {dataset!r}"
    else:
        data = dataset
        name = f"dataset {getattr(dataset, 'name', type(dataset).__name__)!r}"
    num_classes = getattr(data, "num_classes", None)
    if num_classes is None:
        raise ValueError(f"{name} has no semantic classes; checkpoints are scored on semantic "
                         "datasets (camvid, voc, synthetic, folder with classes).")
    model = load_model(state, num_classes=num_classes, what=f"{name} ({num_classes} classes)")
    model = model.to(device)
    loader = make_loader(SegmentationTorchDataset(data), 1, shuffle=False)
    matrix = evaluate(model, loader, num_classes, device=device, tta_flip=tta_flip,
                      scales=scales, progress=progress)
    return matrix.scores(class_names=[c.name for c in data.classes])
