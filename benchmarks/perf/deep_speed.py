"""Cost of segbench's FCNs on the CPU, against torchvision's FCN-ResNet50 in the same run.

Per model (11 classes, CamVid's): parameters; GFLOPs of one 360x480 forward pass
(:func:`deep.fcn.count_flops`: convolutions and matrix products, a multiply-add = 2);
inference milliseconds per 360x480 image (batch 1, eval mode, ``torch.inference_mode``,
normalisation included); training-step milliseconds per image at the training
resolution (forward, cross-entropy, backward, SGD step; batch 2 at 360x480 by default).
Ratios are against ``tv_fcn_resnet50`` (torchvision's reference FCN, dilated ResNet-50,
output stride 8) measured in the same process.

Usage::

    python -m benchmarks.perf.deep_speed                    # resnet18, mobilenet, peer
    python -m benchmarks.perf.deep_speed --vgg              # also FCN-32s/16s/8s VGG16
    python -m benchmarks.perf.deep_speed --threads 2 --repeats 3 --train-size 360x480

Torch runs on ``--threads`` threads (2 by default). Every timing is the best of
``--repeats`` (the least disturbed by other processes on a shared machine), after one
warm-up; the models are timed in interleaved rounds so that all see the same load.
Random weights: speed does not depend on them, and nothing is downloaded.

On a machine shared with other processes, multi-threaded timings can be several times
slower than single-threaded ones (OpenMP threads spin at barriers while another process
holds their core); compare figures taken at the same ``--threads`` under similar load,
and prefer ``--threads 1`` there.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch
import torch.nn.functional as F

from deep.fcn import count_flops, count_parameters
from deep.registry import build_model

__all__ = ["DEFAULT_MODELS", "PEER", "VGG_MODELS", "main", "measure"]

PEER = "tv_fcn_resnet50"
DEFAULT_MODELS = ("fcn8s_resnet18", "fcn8s_mobilenet_v3_large")
VGG_MODELS = ("fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16")
NUM_CLASSES = 11
INFER_SIZE = (360, 480)


def _seconds(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _inference(model, image: torch.Tensor) -> Callable[[], object]:
    def run():
        with torch.inference_mode():
            model(model.normalize(image))
    return run


def _train_step(model, images: torch.Tensor, masks: torch.Tensor) -> Callable[[], object]:
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def run():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(model.normalize(images)), masks, ignore_index=255)
        loss.backward()
        optimizer.step()
    return run


def measure(names, *, repeats: int = 3, train_size=(360, 480), batch: int = 2,
            threads: int = 2) -> dict[str, dict[str, float]]:
    """Measure every model of `names` (interleaved rounds) and return the figures.

    Returns
    -------
    results : dict
        ``name -> {"params", "gflops", "infer_ms", "train_ms"}``; the times are per
        image.
    """
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    image = torch.rand(1, 3, *INFER_SIZE)
    images = torch.rand(batch, 3, *train_size)
    masks = torch.randint(0, NUM_CLASSES, (batch, *train_size))
    models, results = {}, {}
    for name in names:
        model = build_model(name, NUM_CLASSES)
        models[name] = model
        results[name] = {"params": count_parameters(model),
                         "gflops": count_flops(model, (1, 3, *INFER_SIZE)) / 1e9,
                         "infer_ms": float("inf"), "train_ms": float("inf")}
    infer = {name: _inference(model.eval(), image) for name, model in models.items()}
    train = {name: _train_step(model, images, masks) for name, model in models.items()}
    for name in names:  # warm-up: allocator, oneDNN primitive caches
        models[name].eval()
        infer[name]()
        models[name].train()
        train[name]()
    for _ in range(repeats):
        for name in names:
            models[name].eval()
            seconds = _seconds(infer[name])
            results[name]["infer_ms"] = min(results[name]["infer_ms"], 1000 * seconds)
            models[name].train()
            seconds = _seconds(train[name]) / batch
            results[name]["train_ms"] = min(results[name]["train_ms"], 1000 * seconds)
    return results


def _table(results: dict[str, dict[str, float]], peer: str | None) -> str:
    header = (f"{'model':<28s} {'params':>8s} {'GFLOPs':>8s} {'infer ms':>9s} {'x peer':>7s} "
              f"{'train ms':>9s} {'x peer':>7s}")
    lines = [header, "-" * len(header)]
    ref = results.get(peer) if peer else None
    for name, r in results.items():
        infer_ratio = f"{r['infer_ms'] / ref['infer_ms']:7.2f}" if ref else f"{'-':>7s}"
        train_ratio = f"{r['train_ms'] / ref['train_ms']:7.2f}" if ref else f"{'-':>7s}"
        lines.append(f"{name:<28s} {r['params'] / 1e6:7.1f}M {r['gflops']:8.1f} "
                     f"{r['infer_ms']:9.0f} {infer_ratio} {r['train_ms']:9.0f} {train_ratio}")
    return "\n".join(lines)


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width or height)


def main(argv=None) -> dict[str, dict[str, float]]:
    """Parse the options, measure, print the table; return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="models to time (the peer is always added)")
    parser.add_argument("--vgg", action="store_true", help="also FCN-32s/16s/8s on VGG16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-size", type=_size, default=(360, 480), metavar="HxW")
    parser.add_argument("--batch", type=int, default=2, help="training batch size")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys([*args.models, *(VGG_MODELS if args.vgg else ()), PEER]))
    results = measure(names, repeats=args.repeats, train_size=args.train_size,
                      batch=args.batch, threads=args.threads)
    print(f"CPU, {args.threads} thread(s), {NUM_CLASSES} classes; inference per "
          f"{INFER_SIZE[0]}x{INFER_SIZE[1]} image (batch 1), training step per image "
          f"(batch {args.batch} at {args.train_size[0]}x{args.train_size[1]}); best of "
          f"{args.repeats}; ratios against {PEER}")
    print(_table(results, PEER))
    return results


if __name__ == "__main__":
    main()
