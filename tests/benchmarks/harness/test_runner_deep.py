"""Deep models in the harness (trained in the run or by checkpoint), and the
segmentation-definition checks of classical outputs."""

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.config import DatasetConfig, MethodConfig, RunConfig
from benchmarks.runner import _cover_connected, _plan_deep, run, summarize
from benchmarks.store import ResultStore
from classical.split_merge import SplitMergeParams, with_threshold

REPO = Path(__file__).resolve().parents[3]

TRAIN = {"epochs": 1, "batch_size": 4, "crop_size": (48, 48), "optimizer": "adamw",
         "lr": 1e-3}
CLASSICAL = (MethodConfig("slic", sweep_values=(64, 16)),
             MethodConfig("region_growing", sweep_values=("mean_lab(8)", "mean_lab(16)")),
             MethodConfig("split_merge", sweep_values=(8.0, 16.0)),
             MethodConfig("kmeans", params={"sample_size": 300}, sweep_values=(6, 3)))
FCN = MethodConfig("fcn32s_resnet18", train=TRAIN, label="fcn")


def _easy(max_images=2, **options):
    return DatasetConfig("synthetic", "val", options={"preset": "easy", **options},
                         max_images=max_images)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def deep_run(tmp_path_factory, torch):
    config = RunConfig(datasets=(_easy(),), methods=CLASSICAL + (FCN,), jobs=1)
    return run(config, tmp_path_factory.mktemp("deep") / "run", progress=False)


@pytest.fixture(scope="module")
def rows(deep_run):
    return {r["method"]: r for r in summarize(deep_run)}


@pytest.fixture(scope="module")
def random_checkpoint(tmp_path_factory, torch):
    """An untrained fcn32s_resnet18 checkpoint for the 6 classes of the easy preset."""
    from deep.checkpoints import save_checkpoint
    from deep.registry import build_model

    path = tmp_path_factory.mktemp("ckpt") / "random.pt"
    torch.manual_seed(0)
    save_checkpoint(path, build_model("fcn32s_resnet18", 6), model_name="fcn32s_resnet18",
                    class_names=[f"c{i}" for i in range(6)])
    return path


def test_deep_row_scores_the_stored_confusions(deep_run, rows):
    from benchmarks.metrics.semantic import iou, mean_class_accuracy, mean_iou, pixel_accuracy

    row = rows["fcn"]
    assert row["kind"] == "deep" and row["images"] == 2
    with ResultStore(deep_run / "results.sqlite") as store:
        units = list(store.units("fcn"))
        classes = store.info("datasets")[0]["classes"]
    assert [u.arrays["confusion"].shape for u in units] == [(1, 6, 6)] * 2
    total = sum(u.arrays["confusion"][0] for u in units)
    assert 0 <= row["miou"] <= 1 and row["miou"] == mean_iou(total)
    assert row["pixel_accuracy"] == pixel_accuracy(total)
    assert row["mean_class_accuracy"] == mean_class_accuracy(total)
    expected = [None if np.isnan(v) else v for v in iou(total)]
    assert row["per_class_iou"] == expected and len(classes) == 6
    # Region metrics are there, read off a one-value "sweep".
    assert 0 < row["covering_ods"] == row["covering_ois"] <= 1
    assert 0 <= row["pri_ods"] <= 1 and row["voi_ods"] >= 0 and 0 <= row["boundary_ods_f"] <= 1
    assert row["partition"] is None and row["oracle_per_class_iou"] is None
    assert "oracle_miou" not in row and row["peak_mb"] is None


def test_deep_units_store_class_maps_scored_as_their_components(deep_run):
    from benchmarks.deep_methods import class_map_regions
    from benchmarks.metrics.region import evaluate_regions_image
    from benchmarks.runner import _fields

    dataset = _easy().load()
    with ResultStore(deep_run / "results.sqlite") as store:
        unit = next(store.units("fcn"))
    class_map = unit.arrays["labels"][0].astype(np.int64)
    assert class_map.max() < 6  # class ids, not component ids
    regions = class_map_regions(class_map)
    assert unit.meta["n_regions"] == [int(regions.max()) + 1] and unit.meta["kind"] == "deep"
    expected = _fields(evaluate_regions_image([regions], dataset[unit.meta["index"]].regions,
                                              kind="segs"))
    for name, value in expected.items():
        np.testing.assert_array_equal(unit.arrays[f"region/{name}"], value, err_msg=name)


def test_training_lives_in_the_run_folder(deep_run, rows):
    assert rows["fcn"]["train_dir"] == "train/synthetic/fcn"
    folder = deep_run / "train" / "synthetic" / "fcn"
    done = json.loads((folder / "done.json").read_text())
    assert done["model"] == "fcn32s_resnet18" and done["epochs"] == 1
    assert done["val_split"] is None and done["seed"] == 0   # no selection on val; run seed
    with ResultStore(deep_run / "results.sqlite") as store:
        (training,) = store.info("training")
        assert training["train_dir"] == "train/synthetic/fcn"
        assert (deep_run / training["checkpoint"]).is_file()
        assert store.info("seeds")["methods"]["fcn"] == 0
    assert all(rows[m.label]["train_dir"] is None for m in CLASSICAL)


def test_classical_rows_carry_oracle_per_class_iou(rows):
    for method in CLASSICAL:
        row = rows[method.label]
        assert row["kind"] == "classical" and row["miou"] is None
        assert row["per_class_iou"] is None and row["pixel_accuracy"] is None
        per_class = np.array([np.nan if v is None else v for v in row["oracle_per_class_iou"]])
        assert per_class.shape == (6,)
        assert row["oracle_miou"] == pytest.approx(np.nanmean(per_class))


@pytest.mark.parametrize("label", ["region_growing", "split_merge", "kmeans", "slic"])
def test_partition_summary(rows, label):
    partition = rows[label]["partition"]
    assert partition["checked"] == 2 * 2  # images x sweep values
    assert partition["covers"] == 1.0
    # These methods guarantee connected regions (slic enforces connectivity).
    assert partition["connected"] == 1.0
    if label in ("region_growing", "split_merge"):  # predicate-driven: checked at the middle
        assert partition["predicate_checked"] == 2
        assert "mean_lab(16)" in partition["predicate"]
        assert partition["predicate_value"] in (16, 16.0, "mean_lab(16)")
        assert 0 <= partition["holds"] <= 1 and 0 <= partition["maximal"] <= 1
    else:  # no predicate (k-means merges by one only when given)
        assert partition["predicate"] is None and partition["predicate_checked"] == 0
        assert partition["holds"] is None and partition["maximal"] is None


def test_partition_meta_per_sweep_value(deep_run):
    with ResultStore(deep_run / "results.sqlite") as store:
        unit = next(store.units("split_merge"))
    first, middle = unit.meta["partition"]
    assert first["holds"] is None and first["n_failing"] is None
    assert isinstance(middle["holds"], bool) and middle["n_mergeable"] >= 0
    assert (middle["n_mergeable"] == 0) == middle["maximal"]
    # The default predicate's member at the middle sweep value, 16.
    assert unit.meta["predicate"] == repr(with_threshold(SplitMergeParams().predicate, 16.0))


def test_kmeans_merge_predicate_is_checked(tmp_path):
    kmeans = MethodConfig("kmeans", params={"sample_size": 300, "predicate": "mean_lab(8)"},
                          sweep_values=(6,))
    run_dir = run(RunConfig(datasets=(_easy(1),), methods=(kmeans,)), tmp_path / "k",
                  progress=False)
    (row,) = summarize(run_dir)
    # The merge leaves no adjacent pair its predicate would join.
    assert row["partition"]["predicate"] == "mean_lab(8)" and row["partition"]["maximal"] == 1.0


@pytest.mark.parametrize("connectivity", [4, 8])
def test_cover_connected_matches_check_partition(rng, connectivity):
    from classical.partition import check_partition
    from classical.predicates import MinSize

    for _ in range(20):
        labels = rng.integers(0, 4, (9, 11))
        if rng.random() < 0.3:
            labels[rng.integers(0, 9), rng.integers(0, 11)] = -1
        report = check_partition(labels, None, MinSize(0), connectivity=connectivity,
                                 features=np.zeros(labels.shape))
        assert _cover_connected(labels, connectivity) == (report.covers, report.n_disconnected)


def test_resume_reuses_the_finished_training(deep_run, tmp_path):
    moved = tmp_path / "moved"  # a run folder may move; its training is still reused
    shutil.copytree(deep_run, moved)
    folder = moved / "train" / "synthetic" / "fcn"
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    with ResultStore(moved / "results.sqlite") as store:
        before = next(store.units("fcn"))
        key, confusion = before.key, before.arrays["confusion"].copy()
    with sqlite3.connect(moved / "results.sqlite") as db:
        db.execute("DELETE FROM units WHERE key = ?", (key,))
    run(None, moved, resume=True, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    with ResultStore(moved / "results.sqlite") as store:
        (again,) = [u for u in store.units("fcn") if u.key == key]
        np.testing.assert_array_equal(again.arrays["confusion"], confusion)
        # The resumed unit ran the checkpoint of the moved folder.
        assert again.meta["params"]["checkpoint"].startswith(str(folder))


def test_checkpoint_method(random_checkpoint, tmp_path):
    method = MethodConfig("fcn32s_resnet18", checkpoint=str(random_checkpoint), label="ckpt",
                          tta_flip=True)
    config = RunConfig(datasets=(_easy(1),), methods=(method, CLASSICAL[0]))
    assert RunConfig.from_dict(config.to_dict()) == config
    run_dir = run(config, tmp_path / "ckpt", progress=False)
    row = next(r for r in summarize(run_dir) if r["method"] == "ckpt")
    assert row["kind"] == "deep" and row["train_dir"] is None and 0 <= row["miou"] <= 1
    assert row["sweep_param"] == "tta_flip" and row["sweep_values"] == [True]
    assert not (run_dir / "train").exists()
    # The model's class map, as the segmenter gives it.
    from benchmarks.deep_methods import checkpoint_segmenter

    with ResultStore(run_dir / "results.sqlite") as store:
        unit = next(store.units("ckpt"))
    expected = checkpoint_segmenter(random_checkpoint, tta_flip=True)(_easy().load()[0].image)
    np.testing.assert_array_equal(unit.arrays["labels"][0], expected)


def test_checkpoint_of_another_class_count_is_refused(random_checkpoint, tmp_path):
    method = MethodConfig("fcn32s_resnet18", checkpoint=str(random_checkpoint))
    config = RunConfig(datasets=(DatasetConfig("synthetic", "val", options={"preset": "medium"},
                                               max_images=1),), methods=(method,))
    with pytest.raises(ValueError, match=r"trained for 6 classes \(c0, c1.*dataset "
                                         r"'synthetic' has 8"):
        run(config, tmp_path / "x", progress=False)
    assert not (tmp_path / "x" / "results.sqlite").exists()


def test_checkpoint_must_hold_the_named_model(random_checkpoint, tmp_path):
    method = MethodConfig("fcn8s_resnet18", checkpoint=str(random_checkpoint))
    with pytest.raises(ValueError, match=r"holds a 'fcn32s_resnet18' model, but the entry "
                                         r"names 'fcn8s_resnet18'"):
        run(RunConfig(datasets=(_easy(1),), methods=(method,)), tmp_path / "x", progress=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MethodConfig("fcn8s_resnet18", checkpoint=str(tmp_path / "no.pt")).check()


class _RegionsOnly:
    num_classes = None


def test_deep_methods_are_skipped_on_datasets_without_classes(caplog):
    bsds = DatasetConfig("bsds500", "val", tune_split="train")
    config = RunConfig(datasets=(bsds, _easy()), methods=(CLASSICAL[0], FCN))

    class _Semantic:
        num_classes = 6

    splits = [(bsds, "val", "score", 1, _RegionsOnly()),
              (bsds, "train", "tune", 1, _RegionsOnly()),
              (config.datasets[1], "val", "score", 1, _Semantic()),
              (config.datasets[1], "train", "score", 1, _Semantic())]
    with caplog.at_level("WARNING", logger="benchmarks.runner"):
        plan, notes = _plan_deep(config, splits)
    assert list(plan) == [("synthetic", "fcn")]
    assert len(notes) == 2 and "'fcn' skipped on 'bsds500'" in notes[0]
    assert "trained on 'synthetic' split 'train' and scored on it too" in notes[1]
    assert "has no classes" in caplog.text and "not held out" in caplog.text


@pytest.mark.realdata
def test_real_bsds_run_skips_deep_methods(bsds_root, random_checkpoint, tmp_path):
    method = MethodConfig("fcn32s_resnet18", checkpoint=str(random_checkpoint))
    config = RunConfig(datasets=(DatasetConfig("bsds500", "val", root=str(bsds_root),
                                               max_images=1),),
                       methods=(MethodConfig("slic", sweep_values=(64, 16)), method))
    run_dir = run(config, tmp_path / "bsds", progress=False)
    assert [r["method"] for r in summarize(run_dir)] == ["slic"]
    with ResultStore(run_dir / "results.sqlite") as store:
        assert "skipped on 'bsds500'" in store.info("notes")[0]


def test_classical_only_run_does_not_import_torch(tmp_path):
    code = (
        "import sys\n"
        "from benchmarks.config import DatasetConfig, MethodConfig, RunConfig\n"
        "from benchmarks.runner import run, summarize\n"
        "config = RunConfig(datasets=(DatasetConfig('synthetic', 'val', "
        "options={'preset': 'easy'}, max_images=1),), "
        "methods=(MethodConfig('split_merge', sweep_values=(8.0, 16.0)),), jobs=1)\n"
        f"summarize(run(config, {str(tmp_path / 'c')!r}, progress=False))\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
