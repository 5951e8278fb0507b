"""Tests for deep.checkpoints: safe round trips, atomic writes, RNG states, clear errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from deep.checkpoints import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    load_model,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from deep.registry import build_model
from deep.train import LRSchedule

MODEL = "fcn8s_mobilenet_v3_small"
NAMES = ["sky", "road", "car"]


@pytest.fixture(scope="module")
def trained():
    """A model, optimizer and scheduler after two steps (so their states are non-trivial)."""
    torch.manual_seed(0)
    model = build_model(MODEL, 3, dropout=0.0)
    with torch.no_grad():
        model.mean.copy_(torch.tensor([0.4, 0.5, 0.6]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LRSchedule("poly", 10))
    images = torch.rand(2, 3, 32, 32)
    for _ in range(2):
        model(model.normalize(images)).mean().backward()
        optimizer.step()
        scheduler.step()
    return model.eval(), optimizer, scheduler


def _save(path, trained, **kwargs):
    model, optimizer, scheduler = trained
    options = dict(model_name=MODEL, model_options={"dropout": 0.0}, class_names=NAMES,
                   class_colors=[(1, 2, 3), (4, 5, 6), (7, 8, 9)], optimizer=optimizer,
                   scheduler=scheduler, epoch=2, step=7, config={"lr": 0.1, "crop": [32, 32]},
                   best_metric=0.5, extra={"elapsed": 1.5})
    options.update(kwargs)
    return save_checkpoint(path, model, **options)


def test_round_trip_with_weights_only(tmp_path, trained):
    path = _save(tmp_path / "run" / "last.pt", trained)
    raw = torch.load(path, weights_only=True)  # no pickled objects inside
    assert raw["format"] == CHECKPOINT_FORMAT
    assert raw["class_names"] == NAMES and raw["num_classes"] == 3
    assert raw["epoch"] == 2 and raw["step"] == 7 and raw["best_metric"] == 0.5
    assert raw["mean"] == pytest.approx([0.4, 0.5, 0.6])
    assert raw["ignore_index"] == 255 and raw["config"]["crop"] == [32, 32]

    model = trained[0]
    loaded = load_model(path, num_classes=3)
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x = torch.rand(1, 3, 37, 41)
    with torch.no_grad():
        torch.testing.assert_close(loaded(loaded.normalize(x)), model(model.normalize(x)))


def test_optimizer_and_scheduler_states_restore(tmp_path, trained):
    model, optimizer, scheduler = trained
    state = load_checkpoint(_save(tmp_path / "c.pt", trained))
    fresh = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fresh.load_state_dict(state["optimizer"])
    schedule = LRSchedule("poly", 99)
    fresh_scheduler = torch.optim.lr_scheduler.LambdaLR(fresh, schedule)
    fresh_scheduler.load_state_dict(state["scheduler"])
    assert schedule.total_steps == 10  # the schedule object's attributes were saved
    assert fresh_scheduler.get_last_lr() == scheduler.get_last_lr()
    momentum = [s["momentum_buffer"] for s in fresh.state.values()]
    assert len(momentum) == len(list(model.parameters()))


def test_atomic_write_leaves_no_temporary_files(tmp_path, trained):
    path = tmp_path / "last.pt"
    _save(path, trained)
    _save(path, trained, epoch=3)  # replaced in place
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert load_checkpoint(path)["epoch"] == 3


def test_failed_write_keeps_the_old_file(tmp_path, trained):
    path = _save(tmp_path / "last.pt", trained)
    with pytest.raises(TypeError, match=r"config\['bad'\] must hold only tensors"):
        _save(path, trained, config={"bad": object()})
    assert load_checkpoint(path)["epoch"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_rng_state_round_trip():
    state = rng_state()
    drawn = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(drawn[0], again[0])
    np.testing.assert_array_equal(drawn[1], again[1])
    assert drawn[2] == again[2]


def test_rng_state_survives_weights_only(tmp_path, trained):
    state = rng_state()
    path = _save(tmp_path / "c.pt", trained, rng=[state])
    expected = torch.rand(2)
    torch.rand(5)
    set_rng_state(torch.load(path, weights_only=True)["rng"][0])
    assert torch.equal(torch.rand(2), expected)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"checkpoint '.*nope\.pt' does not exist"):
        load_model(tmp_path / "nope.pt")


def test_bare_state_dict_is_not_a_segbench_checkpoint(tmp_path, trained):
    path = tmp_path / "bare.pt"
    torch.save(trained[0].state_dict(), path)
    with pytest.raises(ValueError, match=r"not a segbench checkpoint.*build_model\(name, "
                                         r"num_classes, weights=path\)"):
        load_checkpoint(path)


def test_garbage_and_pickles_are_refused(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable torch file"):
        load_checkpoint(garbage)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "thing": LRSchedule("poly", 3)}, pickled)
    with pytest.raises(ValueError, match="cannot be loaded safely with weights_only=True"):
        load_checkpoint(pickled)


def test_wrong_class_count(tmp_path, trained):
    path = _save(tmp_path / "c.pt", trained)
    with pytest.raises(ValueError, match=r"was trained for 3 classes \(sky, road, car\); "
                                         r"dataset 'camvid' expects 11"):
        load_model(path, num_classes=11, what="dataset 'camvid'")


def test_unknown_model_name(tmp_path, trained):
    path = _save(tmp_path / "c.pt", trained, model_name="fcn8s_resnet19")
    with pytest.raises(ValueError, match=r"names model 'fcn8s_resnet19'.*Did you mean "
                                         r"'fcn8s_resnet18'"):
        load_model(path)


def test_class_names_must_match_the_model(tmp_path, trained):
    with pytest.raises(ValueError, match=r"class_names must have 3 entries"):
        _save(tmp_path / "c.pt", trained, class_names=["a"])
