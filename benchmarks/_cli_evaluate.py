"""``segbench evaluate``: score saved results with the official BSDS500 benchmarks or
with confusion-matrix metrics on a semantic dataset."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

__all__ = ["evaluate", "score_semantic_folder"]

_DIR = click.Path(file_okay=False, path_type=Path)


@click.group()
def evaluate() -> None:
    """Score saved results: BSDS500 region/boundary benchmarks, semantic IoU.

    \b
    Examples:
      segbench evaluate bsds --gt-dir BSDS500/data/groundTruth/val --ucm-dir ucm2/ --out res/
      segbench evaluate semantic --dataset camvid --split val --pred-dir preds/
    """


@evaluate.command()
@click.option("--gt-dir", required=True, type=_DIR,
              help="Folder of ground-truth <id>.mat files (variable groundTruth).")
@click.option("--ucm-dir", type=_DIR, default=None,
              help="Folder of <id>.mat files holding ucm2 (double resolution).")
@click.option("--seg-dir", type=_DIR, default=None,
              help="Folder of <id>.mat (segs cell) or <id>.npz (segs (K,H,W)) sweeps.")
@click.option("--png-dir", type=_DIR, default=None,
              help="Folder of 8-bit boundary maps <id>.png (boundary benchmark only).")
@click.option("--nthresh", type=int, default=99, show_default=True,
              help="Thresholds for ucm/png (segs: one per segmentation).")
@click.option("--bench", type=click.Choice(["all", "region", "boundary"]), default="all",
              show_default=True, help="Which benchmarks to run.")
@click.option("--out", "out_dir", type=_DIR, default=None,
              help="Folder for the official eval_*.txt files and the resumable per-image "
                   "cache.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def bsds(gt_dir: Path, ucm_dir: Path | None, seg_dir: Path | None, png_dir: Path | None,
         nthresh: int, bench: str, out_dir: Path | None, jobs: int, quiet: bool) -> None:
    """Run the official BSDS500 benchmarks on a folder of results.

    Give exactly one of --ucm-dir, --seg-dir, --png-dir. Prints the official summary
    (ODS/OIS/Best covering, PRI, VoI; boundary ODS/OIS F and AP); with --out, writes
    the official eval_*.txt files there and resumes an interrupted run.

    \b
    Example (the official benchmark's own test, thresholds 1/6..5/6):
      segbench evaluate bsds --gt-dir BSDS500/bench_sample/groundTruth \\
          --ucm-dir BSDS500/bench_sample/ucm2 --nthresh 5 --out test_1/
    """
    from benchmarks.metrics.bsds import evaluate_bsds

    result = evaluate_bsds(gt_dir, ucm_dir=ucm_dir, seg_dir=seg_dir, png_dir=png_dir,
                           nthresh=nthresh, bench=bench, out_dir=out_dir, jobs=jobs,
                           progress=not quiet)
    click.echo(result.summary())
    if out_dir is not None:
        click.echo(f"\nwrote the official files to {out_dir}")


def score_semantic_folder(dataset, pred_dir, *, progress: bool = False):
    """Confusion matrix of a folder of ``<id>.png`` predictions against a dataset.

    Predictions are 8-bit class indices; 255 marks pixels the method left unlabelled,
    which count as wrong (a miss for the pixel's true class).

    Parameters
    ----------
    dataset : SegmentationDataset
        A semantic dataset (with ``classes``).
    pred_dir : str or os.PathLike
        Folder holding one ``<id>.png`` per sample.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    matrix : ndarray of int64, shape (n, n + 1)
        Rows = truth, columns = predicted class, last column = unlabelled predictions.

    Raises
    ------
    ValueError
        If the dataset has no classes, or a prediction has the wrong size or a value
        outside ``0..n-1`` and 255.
    FileNotFoundError
        If `pred_dir` is not a folder or predictions are missing (the message lists
        them).
    """
    from benchmarks.datasets._base import read_label_png
    from benchmarks.metrics.semantic import ConfusionMatrix
    from classical._validate import IGNORE_INDEX

    if dataset.num_classes is None:
        raise ValueError(f"dataset {dataset.name!r} has no semantic classes; score region "
                         "datasets with `segbench evaluate bsds`.")
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise FileNotFoundError(f"pred-dir {str(pred_dir)!r} is not a folder.")
    missing = [i for i in dataset.ids if not (pred_dir / f"{i}.png").is_file()]
    if missing:
        raise FileNotFoundError(
            f"pred-dir {str(pred_dir)!r} lacks <id>.png for {len(missing)} of "
            f"{len(dataset.ids)} samples (first: {', '.join(missing[:5])}).")
    n = dataset.num_classes
    # one extra predicted class n collects the unlabelled (255) predictions
    cm = ConfusionMatrix(n + 1, ignore_index=IGNORE_INDEX)
    from tqdm.auto import tqdm

    for sample in tqdm(dataset, total=len(dataset), desc="score", disable=not progress):
        path = pred_dir / f"{sample.id}.png"
        pred = read_label_png(path)
        if pred.shape != sample.mask.shape:
            raise ValueError(f"{path}: prediction size {pred.shape} differs from the mask "
                             f"size {sample.mask.shape}.")
        pred = np.where(pred == IGNORE_INDEX, n, pred)
        bad = (pred < 0) | (pred > n)
        if bad.any():
            raise ValueError(f"{path}: prediction has class {int(pred[bad].flat[0])} outside "
                             f"0..{n - 1} (num_classes={n}); use 255 for unlabelled pixels.")
        cm.update(pred, sample.mask)
    return cm.matrix[:n, :].copy()


def _scores_with_misses(table: np.ndarray):
    """Per-class IoU / accuracy and dataset scores of an (n, n+1) table."""
    from benchmarks.metrics import semantic

    n = table.shape[0]
    square = np.zeros((n + 1, n + 1), dtype=np.int64)
    square[:n] = table
    iou = semantic.iou(square)[:n]
    acc = semantic.class_accuracy(square)[:n]
    total = table.sum()
    return {
        "iou": iou, "acc": acc,
        "mean_iou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
        "mean_class_accuracy": float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan"),
        "pixel_accuracy": float(np.trace(table[:, :n]) / total) if total else float("nan"),
        "frequency_weighted_iou": semantic.frequency_weighted_iou(square),
        "unlabelled": int(table[:, n].sum()), "pixels": int(total),
    }


@evaluate.command()
@click.option("--dataset", "name", required=True,
              help="Dataset name (camvid, voc, synthetic, ...).")
@click.option("--split", default="val", show_default=True)
@click.option("--root", type=_DIR, default=None,
              help="The dataset's own folder (default: $SEGBENCH_DATA or ./data).")
@click.option("--pred-dir", default=None, type=_DIR,
              help="Folder of <id>.png 8-bit predicted class maps; 255 = unlabelled.")
@click.option("--checkpoint", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A segbench checkpoint to run on the split instead of --pred-dir.")
@click.option("--tta", is_flag=True, help="With --checkpoint: average with the flipped image.")
@click.option("--scales", default=None, metavar="S1,S2,...",
              help="With --checkpoint: comma-separated test-time scale factors, e.g. "
                   "0.75,1,1.25 (default: 1); scored at full resolution.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def semantic(ctx: click.Context, name: str, split: str, root: Path | None,
             pred_dir: Path | None, checkpoint: Path | None, tta: bool, scales: str | None,
             quiet: bool) -> None:
    """Score saved class maps or a checkpoint: per-class IoU table, mIoU, accuracies.

    Scores come from one confusion matrix over the split (never averaged per image);
    classes absent from both truth and predictions are left out of the means. Void
    ground-truth pixels are ignored; predicted 255 counts as a miss.

    \b
    Examples:
      segbench evaluate semantic --dataset camvid --split val \\
          --root ../shared/datasets/CamVid --pred-dir runs/fcn8s/val_pred
      segbench evaluate semantic --dataset camvid --checkpoint runs/fcn8s/best.pt --tta
      segbench evaluate semantic --dataset camvid --checkpoint runs/fcn8s/best.pt --tta \\
          --scales 0.75,1,1.25
    """
    from benchmarks.datasets import load_dataset

    if (pred_dir is None) == (checkpoint is None):
        raise click.UsageError("give exactly one of --pred-dir and --checkpoint.")
    if pred_dir is not None and (tta or scales is not None):
        raise click.UsageError("--tta and --scales apply to --checkpoint, not --pred-dir.")
    if checkpoint is not None:
        from benchmarks._cli_deep import _parse_scales, evaluate_checkpoint

        scores = evaluate_checkpoint(checkpoint, name, split, root, tta_flip=tta,
                                     scales=_parse_scales(scales),
                                     device=(ctx.obj or {}).get("device", "cpu"),
                                     progress=not quiet)
        width = max(12, max(len(c) for c in scores.class_names))
        click.echo(f"{'class':<{width}}  {'IoU':>6}  {'acc':>6}")
        for cls, i, a in zip(scores.class_names, scores.iou, scores.class_accuracy):
            fi = "   -  " if np.isnan(i) else f"{100 * i:6.2f}"
            fa = "   -  " if np.isnan(a) else f"{100 * a:6.2f}"
            click.echo(f"{cls:<{width}}  {fi}  {fa}")
        click.echo(f"{'mean IoU':<{width}}  {100 * scores.mean_iou:6.2f}")
        click.echo(f"pixel accuracy {100 * scores.pixel_accuracy:.2f}  class-average accuracy "
                   f"{100 * scores.mean_class_accuracy:.2f}  frequency-weighted IoU "
                   f"{100 * scores.frequency_weighted_iou:.2f}")
        click.echo(f"{scores.pixels} scored pixels")
        return
    dataset = load_dataset(name, split=split, root=root)
    table = score_semantic_folder(dataset, pred_dir, progress=not quiet)
    s = _scores_with_misses(table)
    names = [c.name for c in dataset.classes]
    width = max(12, max(len(c) for c in names))
    click.echo(f"{'class':<{width}}  {'IoU':>6}  {'acc':>6}")
    for cls, i, a in zip(names, s["iou"], s["acc"]):
        fi = "   -  " if np.isnan(i) else f"{100 * i:6.2f}"
        fa = "   -  " if np.isnan(a) else f"{100 * a:6.2f}"
        click.echo(f"{cls:<{width}}  {fi}  {fa}")
    click.echo(f"{'mean IoU':<{width}}  {100 * s['mean_iou']:6.2f}")
    click.echo(f"pixel accuracy {100 * s['pixel_accuracy']:.2f}  class-average accuracy "
               f"{100 * s['mean_class_accuracy']:.2f}  frequency-weighted IoU "
               f"{100 * s['frequency_weighted_iou']:.2f}")
    click.echo(f"{len(dataset)} images, {s['pixels']} scored pixels, "
               f"{s['unlabelled']} predicted unlabelled")
