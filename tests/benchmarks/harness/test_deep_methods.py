import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.deep_methods import (TrainSpec, checkpoint_info, checkpoint_segmenter,
                                     class_map_regions, is_deep, train_for_run)
from classical.methods import get_segmenter

_OPTIONS = {"epochs": 1, "batch_size": 4, "crop_size": [48, 48], "optimizer": "adamw",
            "lr": 1e-3, "val_split": "val"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("train") / "fcn"
    spec = TrainSpec("fcn32s_resnet18", minutes=1.0, options=_OPTIONS)
    path = train_for_run(spec, dataset="synthetic", root=None,
                         dataset_options={"preset": "easy"},
                         out_dir=out, progress=False)
    return spec, out, path


def test_training_writes_a_checkpoint_and_is_reused(trained):
    spec, out, path = trained
    assert path.is_file() and path.parent == out
    before = path.stat().st_mtime_ns
    again = train_for_run(spec, dataset="synthetic", root=None,
                          dataset_options={"preset": "easy"},
                          out_dir=out, progress=False)
    assert again == path and path.stat().st_mtime_ns == before
    assert json.loads((out / "done.json").read_text())["model"] == "fcn32s_resnet18"


def test_checkpoint_segmenter_returns_class_maps(trained, rng):
    _, _, path = trained
    segmenter = checkpoint_segmenter(path)
    assert segmenter.name == "fcn32s_resnet18" and is_deep(segmenter)
    assert not is_deep(get_segmenter("slic"))
    image = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    labels = segmenter(image)
    assert labels.shape == (37, 45) and labels.dtype == np.int32
    assert labels.min() >= 0 and labels.max() < 6
    sweep = segmenter.sweep(image)
    assert len(sweep) == 1 and np.array_equal(sweep[0], labels)
    grey = segmenter(image[..., 0])
    assert grey.shape == (37, 45)


def test_class_map_regions_are_connected_components():
    class_map = np.array([[0, 0, 1, 0],
                          [0, 0, 1, 0],
                          [2, 2, 1, 0]])
    regions = class_map_regions(class_map)
    # left 0 block, the 1 column, the right 0 column and the 2 row: four regions
    assert regions.max() == 3 and regions.min() == 0
    assert regions[0, 0] != regions[0, 3]
    assert len(np.unique(regions[:, 2])) == 1


def test_missing_checkpoint_and_bad_options(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt' does not exist; train one with"):
        checkpoint_segmenter(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match="nope.pt' does not exist; train one with"):
        checkpoint_info(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="not TrainConfig fields"):
        train_for_run(TrainSpec("fcn32s_resnet18", 1.0, {"learning_rate": 1}),
                      dataset="synthetic", root=None, dataset_options={},
                      out_dir=tmp_path / "x", progress=False)
