"""Tests for deep.train and `segbench train`: config, steps, evaluation, fit, resume."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import deep.train as train_module
from benchmarks._cli_deep import _DEFAULTS, evaluate_checkpoint
from benchmarks._cli_deep import train as train_command
from benchmarks.datasets.synthetic import SyntheticDataset, SyntheticParams
from deep.checkpoints import load_checkpoint, load_model
from deep.data import SegmentationTorchDataset, make_loader
from deep.fcn import SegmentationModel
from deep.registry import build_model
from deep.train import (
    LRSchedule,
    SegmentationLoss,
    TrainConfig,
    evaluate,
    fit,
    train_one_epoch,
)

MODEL = "fcn8s_mobilenet_v3_small"
TINY = SyntheticParams(height=48, width=48, num_classes=4, n_regions=(3, 5), min_size=50,
                       n_train=4, n_val=2, n_test=0)


@pytest.fixture(scope="module")
def tiny():
    return SyntheticDataset("train", params=TINY), SyntheticDataset("val", params=TINY)


def tiny_config(out_dir, **changes) -> TrainConfig:
    values = dict(model=MODEL, model_options={"dropout": 0.2}, epochs=3, batch_size=2,
                  crop_size=32, scale_range=(0.75, 1.25), lr=0.01, out_dir=str(out_dir),
                  deterministic=True)
    values.update(changes)
    return TrainConfig(**values)


# ----------------------------------------------------------------------------- config


def test_config_round_trips_through_json():
    config = TrainConfig(epochs=3, crop_size=(96, 128), optimizer="adamw", lr=1e-3,
                         dataset_options={"preset": "easy"}, grad_clip=1.0)
    assert TrainConfig.from_json(config.to_json()) == config
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert json.loads(config.to_json())["crop_size"] == [96, 128]
    assert TrainConfig(crop_size=64).crop_size == (64, 64)


def test_cli_help_defaults_match_the_config():
    defaults = TrainConfig()
    for name, value in _DEFAULTS.items():
        assert getattr(defaults, name) == value, name


@pytest.mark.parametrize("changes, error, match", [
    ({"model": "fcn8s_resnet19"}, ValueError, r"model must be a known model; got "
                                              r"'fcn8s_resnet19'\. Did you mean 'fcn8s_resnet18'"),
    ({"optimizer": "adam"}, ValueError, r"optimizer must be one of 'sgd', 'adamw'; got 'adam'"),
    ({"schedule": "step"}, ValueError, r"schedule must be one of 'poly', 'onecycle', 'cosine'"),
    ({"class_weights": "inverse"}, ValueError, r"class_weights must be one of 'none', "
                                               r"'median_freq', 'enet'"),
    ({"epochs": None}, ValueError, "give epochs or minutes"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1; got 0"),
    ({"lr": 0.0}, ValueError, "lr must be > 0; got 0"),
    ({"crop_size": (1, 2, 3)}, ValueError, "crop_size must be one value or a pair"),
    ({"scale_range": (2.0, 1.0)}, ValueError, "scale_range must have min <= max"),
    ({"batch_size": 2.5}, TypeError, r"batch_size must be an integer; got 2\.5"),
    ({"amp": "yes"}, TypeError, "amp must be True or False"),
    ({"dataset_options": {"params": object()}}, TypeError, "dataset_options must hold JSON"),
    ({"device": "gpu"}, ValueError, "device must be 'cpu', 'cuda' or 'cuda:N'; got 'gpu'"),
])
def test_config_errors(changes, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**changes)


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ValueError, match=r"unknown TrainConfig field\(s\) 'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match=r"'epoch' \(did you mean 'epochs'\?\)"):
        TrainConfig.from_dict({"epoch": 3})


def test_lr_schedules():
    poly = LRSchedule("poly", total_steps=100)
    assert poly(0) == 1.0 and poly(100) == 0.0 and poly(50) == pytest.approx(0.5 ** 0.9)
    cosine = LRSchedule("cosine", total_steps=100, warmup_steps=10)
    assert cosine(0) == pytest.approx(0.001) and cosine(5) == pytest.approx(0.5005)
    assert cosine(10) == 1.0 and cosine(55) == pytest.approx(0.5) and cosine(100) == 0.0
    onecycle = LRSchedule("onecycle", total_steps=100)
    assert onecycle(0) == pytest.approx(1 / 25) and onecycle(30) == pytest.approx(1.0)
    assert onecycle(100) == pytest.approx(1 / 250000)
    values = [onecycle(s) for s in range(101)]
    assert max(values) == values[30]


def test_lr_schedule_with_a_time_budget():
    timed = LRSchedule("poly", total_steps=1000, seconds=100.0)
    timed.start_clock(elapsed=50.0)  # half the budget already spent (e.g. a resume)
    assert timed.progress(0) == pytest.approx(0.5, abs=1e-3)
    assert timed(0) == pytest.approx(0.5 ** 0.9, abs=1e-3)
    assert timed.progress(900) == 0.9  # whichever budget binds first
    timed.start_clock(elapsed=150.0)
    assert timed(0) == 0.0


# ----------------------------------------------------------------------------- steps


def test_loss_ignores_void_and_survives_all_void_batches():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    mask = torch.randint(0, 3, (2, 4, 4))
    loss_fn = SegmentationLoss()
    masked = mask.clone()
    masked[0] = 255
    expected = torch.nn.functional.cross_entropy(logits[1:], mask[1:])
    torch.testing.assert_close(loss_fn(logits, masked), expected)
    void = loss_fn(logits, torch.full_like(mask, 255))
    assert void.item() == 0.0
    void.backward()
    weighted = SegmentationLoss(torch.tensor([1.0, 0.0, 0.0]))(logits, mask)
    assert math.isfinite(weighted.item())


def _fixed_batch(dataset, n=2):
    data = SegmentationTorchDataset(dataset)
    images, masks = zip(*(data[i] for i in range(n)))
    return torch.stack(images), torch.stack(masks)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.01), ("adamw", 1e-3)])
def test_one_training_step_lowers_the_loss(tiny, optimizer, lr):
    torch.manual_seed(0)
    model = build_model(MODEL, TINY.num_classes, dropout=0.0)
    config = tiny_config("unused", optimizer=optimizer, lr=lr)
    opt = train_module.build_optimizer(model, config)
    images, masks = _fixed_batch(tiny[0])
    loss_fn = SegmentationLoss()

    def loss_now():
        with torch.no_grad():
            return loss_fn(model(model.normalize(images)), masks).item()

    model.train()
    before = loss_now()
    stats = train_one_epoch(model, [(images, masks)], opt, None, loss_fn)
    assert stats.steps == 1 and stats.images == 2
    assert stats.loss == pytest.approx(before, rel=1e-5)
    assert loss_now() < before


def test_amp_step_on_cpu_is_finite(tiny):
    torch.manual_seed(0)
    model = build_model(MODEL, TINY.num_classes, dropout=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    stats = train_one_epoch(model, [_fixed_batch(tiny[0])], opt, None, SegmentationLoss(),
                            amp=True, grad_clip=1.0)
    assert math.isfinite(stats.loss)


class Constant(SegmentationModel):
    """Predicts class 1 everywhere (with a parameter, so it has a device)."""

    def __init__(self, num_classes):
        super().__init__(num_classes)
        self.bias = torch.nn.Parameter(torch.arange(num_classes, dtype=torch.float32) == 1,
                                       requires_grad=False)

    def forward(self, x):
        return self.bias.float()[None, :, None, None].expand(x.shape[0], -1, *x.shape[2:])


def test_evaluate_is_one_full_resolution_matrix(tiny):
    dataset = tiny[1]
    loader = make_loader(SegmentationTorchDataset(dataset), 2, shuffle=False)
    for tta in (False, True):
        matrix = evaluate(Constant(4), loader, 4, tta_flip=tta).matrix
        counts = sum(np.bincount(s.mask[s.mask != 255], minlength=4) for s in dataset)
        expected = np.zeros((4, 4), np.int64)
        expected[:, 1] = counts
        np.testing.assert_array_equal(matrix, expected)


def test_evaluate_handles_images_of_different_sizes():
    batch = ([torch.rand(3, 10, 12), torch.rand(3, 7, 5)],
             [torch.zeros(10, 12, dtype=torch.int64), torch.full((7, 5), 255)])
    matrix = evaluate(Constant(3), [batch], 3).matrix
    assert matrix.sum() == 120 and matrix[0, 1] == 120


def test_evaluate_checks_class_count():
    with pytest.raises(ValueError, match="the model predicts 3 classes; num_classes is 5"):
        evaluate(Constant(3), [], 5)


# ----------------------------------------------------------------------------- fit


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_fit_writes_checkpoints_and_metrics(tiny, tmp_path):
    config = tiny_config(tmp_path / "run", epochs=2, class_weights="median_freq",
                         schedule="onecycle", optimizer="adamw", lr=1e-3)
    summary = fit(config, progress=False, train_dataset=tiny[0], val_dataset=tiny[1])
    assert summary.epochs == 2 and summary.steps == 4 and summary.stopped_by == "epochs"
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["best.pt", "config.json", "last.pt", "metrics.jsonl"]
    lines = [json.loads(line) for line in summary.metrics_path.read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2]
    assert set(lines[0]) >= {"epoch", "step", "train_loss", "val_miou", "pixel_accuracy",
                             "per_class_iou", "lr", "seconds"}
    assert list(lines[0]["per_class_iou"]) == [c.name for c in tiny[0].classes]
    assert summary.best_metric == max(line["val_miou"] for line in lines)
    assert summary.last_scores.pixels == sum(int((s.mask != 255).sum()) for s in tiny[1])

    last = load_checkpoint(summary.last_checkpoint)
    assert last["epoch"] == 2 and last["step"] == 4 and last["config"]["num_classes"] == 4
    assert len(last["extra"]["class_weights"]) == 4
    best = load_checkpoint(summary.best_checkpoint)
    assert best["epoch"] == summary.best_epoch
    assert best["best_metric"] == pytest.approx(summary.best_metric)
    saved = TrainConfig.from_json((tmp_path / "run" / "config.json").read_text())
    assert saved == config.replace(num_classes=4)
    model = load_model(summary.last_checkpoint, num_classes=4)
    for key, value in summary.model.state_dict().items():
        assert torch.equal(value, model.state_dict()[key])


def test_resume_reproduces_an_uninterrupted_run(tiny, tmp_path, monkeypatch):
    config = tiny_config(tmp_path / "straight")
    straight = fit(config, progress=False, train_dataset=tiny[0], val_dataset=tiny[1])

    # The same run, interrupted (Ctrl-C) during its third epoch ...
    interrupted = config.replace(out_dir=str(tmp_path / "interrupted"))
    real = train_module.train_one_epoch
    calls = []

    def stop_in_third_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_one_epoch", stop_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        fit(interrupted, progress=False, train_dataset=tiny[0], val_dataset=tiny[1])
    monkeypatch.setattr(train_module, "train_one_epoch", real)
    assert load_checkpoint(tmp_path / "interrupted" / "last.pt")["epoch"] == 2
    torch.rand(7)  # the interruption may leave the global generator anywhere

    # ... and resumed: the same weights, counters and log.
    resumed = fit(interrupted, resume=True, progress=False, train_dataset=tiny[0],
                  val_dataset=tiny[1])
    assert (resumed.epochs, resumed.steps) == (straight.epochs, straight.steps) == (3, 6)
    expected = _weights(straight.model)
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, expected[key]), key
    lines = [json.loads(x) for x in resumed.metrics_path.read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2, 3]
    straight_lines = [json.loads(x) for x in straight.metrics_path.read_text().splitlines()]
    assert [x["train_loss"] for x in lines] == [x["train_loss"] for x in straight_lines]


def test_fit_refuses_to_overwrite_or_resume_wrongly(tiny, tmp_path):
    config = tiny_config(tmp_path / "run", epochs=1, model_options={})
    with pytest.raises(FileNotFoundError, match=r"cannot resume: '.*last\.pt' does not exist"):
        fit(config, resume=True, progress=False, train_dataset=tiny[0])
    fit(config, progress=False, train_dataset=tiny[0])
    with pytest.raises(FileExistsError, match="already holds a run"):
        fit(config, progress=False, train_dataset=tiny[0])
    with pytest.raises(ValueError, match=r"different config: lr 0\.01 \(run\) vs 0\.02 "
                                         r"\(given\).*start a new out_dir"):
        fit(config.replace(lr=0.02), resume=True, progress=False, train_dataset=tiny[0])
    # extending the budget is allowed
    summary = fit(config.replace(epochs=2), resume=True, progress=False,
                  train_dataset=tiny[0])
    assert summary.epochs == 2 and summary.best_metric is None


def test_fit_with_a_time_budget_stops_on_time(tiny, tmp_path):
    config = tiny_config(tmp_path / "run", epochs=None, minutes=0.002, deterministic=False)
    summary = fit(config, progress=False, train_dataset=tiny[0], val_dataset=tiny[1])
    assert summary.epochs >= 1 and summary.stopped_by == "minutes"
    assert summary.last_scores is not None  # the last epoch is always validated
    last = json.loads(summary.metrics_path.read_text().splitlines()[-1])
    assert last["epoch"] == summary.epochs and "val_miou" in last
    # resuming a run whose budget is spent trains no further; a larger budget does
    again = fit(config, resume=True, progress=False, train_dataset=tiny[0],
                val_dataset=tiny[1])
    assert again.steps == summary.steps
    more = fit(config.replace(minutes=0.2, epochs=2), resume=True, progress=False,
               train_dataset=tiny[0], val_dataset=tiny[1])
    assert more.epochs == 2 and more.stopped_by == "epochs"


def test_fit_checks_the_class_count(tiny, tmp_path):
    with pytest.raises(ValueError, match="num_classes is 7 but dataset 'synthetic' has 4"):
        fit(tiny_config(tmp_path, num_classes=7), progress=False, train_dataset=tiny[0])


# ----------------------------------------------------------------------------- CLI


def _folder_dataset(root, tiny):
    """Write the tiny synthetic splits as a folder dataset (images/, masks/, classes.json)."""
    for split, dataset in zip(("train", "val"), tiny):
        for sub in ("images", "masks"):
            (root / split / sub).mkdir(parents=True)
        for sample in dataset:
            Image.fromarray(sample.image).save(root / split / "images" / f"{sample.id}.png")
            Image.fromarray(sample.mask.astype(np.uint8)).save(
                root / split / "masks" / f"{sample.id}.png")
    (root / "classes.json").write_text(json.dumps([c.name for c in tiny[0].classes]))
    return root


def test_train_command_and_evaluate_checkpoint(tiny, tmp_path):
    root = _folder_dataset(tmp_path / "data", tiny)
    out = tmp_path / "run"
    runner = CliRunner()
    args = ["--model", MODEL, "--dataset", "folder", "--root", str(root), "--epochs", "1",
            "--batch-size", "2", "--crop-size", "32x40", "--scale-range", "0.8", "1.2",
            "--model-option", "dropout=0.0", "--optimizer", "adamw", "--lr", "1e-3",
            "--no-hflip", "--out", str(out), "--quiet"]
    result = runner.invoke(train_command, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "1 epochs, 2 steps" in result.output and "best val mIoU" in result.output
    saved = TrainConfig.from_json((out / "config.json").read_text())
    assert saved.crop_size == (32, 40) and saved.hflip is False
    assert saved.model_options == {"dropout": 0.0} and saved.scale_range == (0.8, 1.2)

    result = runner.invoke(train_command, ["--out", str(out), "--resume", "--epochs", "2",
                                           "--quiet"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert load_checkpoint(out / "last.pt")["epoch"] == 2

    scores = evaluate_checkpoint(out / "last.pt", "folder", "val", root)
    assert scores.class_names == tuple(c.name for c in tiny[0].classes)
    assert scores.pixels == sum(int((s.mask != 255).sum()) for s in tiny[1])
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert scores.mean_iou == pytest.approx(last["val_miou"])

    other = SyntheticDataset("val", params=dataclasses.replace(TINY, num_classes=5))
    with pytest.raises(ValueError, match=r"trained for 4 classes .* dataset 'synthetic' "
                                         r"\(5 classes\) expects 5"):
        evaluate_checkpoint(out / "last.pt", other)


def test_train_command_errors_and_help():
    runner = CliRunner()
    result = runner.invoke(train_command, ["--epochs", "1"])
    assert isinstance(result.exception, ValueError) and "--out is required" in str(
        result.exception)
    result = runner.invoke(train_command, ["--out", "x", "--model", "fcn9s_vgg16"])
    assert isinstance(result.exception, ValueError)
    assert "model must be a known model; got 'fcn9s_vgg16'" in str(result.exception)
    result = runner.invoke(train_command, ["--out", "x", "--crop-size", "big"])
    assert "crop-size must be N or HxW" in str(result.exception)
    result = runner.invoke(train_command, ["--list-models"])
    assert result.exit_code == 0 and "fcn8s_resnet18\n" in result.output
    assert "Examples:" in runner.invoke(train_command, ["--help"]).output
