import json
import re
import sqlite3

import numpy as np
import pytest

from benchmarks.runner import (DatasetConfig, MethodConfig, RunConfig, compare_runs,
                               comparison_markdown, run, summarize, unit_key)
from benchmarks.store import ResultStore, Unit

SLIC = MethodConfig("slic", sweep_values=(64, 16, 4))
FH = MethodConfig("felzenszwalb", sweep_values=(50.0, 400.0))


def _config(methods=(SLIC, FH), **dataset):
    spec = dict(name="synthetic", split="val", options={"preset": "easy"}, max_images=3)
    spec.update(dataset)
    return RunConfig(datasets=(DatasetConfig(**spec),), methods=methods, jobs=1)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run(_config(), out, progress=False)


def test_run_writes_store_config_and_reports(small_run):
    assert (small_run / "report.html").stat().st_size > 10_000
    assert "| Method |" in (small_run / "report.md").read_text()
    stored = json.loads((small_run / "config.json").read_text())
    assert stored["datasets"][0]["name"] == "synthetic"
    assert RunConfig.from_dict(stored) == _config()
    with ResultStore(small_run / "results.sqlite") as store:
        assert store.keys() == {f"synthetic:val/none/{m}/{i:06d}"
                                for m in ("slic", "felzenszwalb") for i in range(3)}
        assert store.groups() == [("synthetic", "val", "none", "felzenszwalb"),
                                  ("synthetic", "val", "none", "slic")]
        assert store.info("seed") == 0 and store.info("schema") == 2
        assert store.info("environment")["backend"] == "joblib"
        unit = next(store.units("slic"))
        assert unit.meta["dataset"] == "synthetic" and unit.meta["perturbation"] == "none"
        assert unit.arrays["labels"].shape == (3, 128, 128)


def test_summary_scores_are_valid(small_run):
    rows = summarize(small_run)
    assert [r["covering_ods"] for r in rows] == sorted((r["covering_ods"] for r in rows),
                                                       reverse=True)
    for r in rows:
        assert (r["dataset"], r["split"], r["perturbation"], r["role"]) == (
            "synthetic", "val", "none", "score")
        assert 0 <= r["covering_ois"] <= 1 and r["covering_ods"] <= r["covering_ois"] + 1e-12
        assert 0 <= r["pri_ods"] <= 1 and r["voi_ods"] >= 0
        assert 0 <= r["oracle_miou"] <= 1
        assert r["ods_value"] in r["sweep_values"]
        assert r["covering_ods"] == max(r["covering_curve"])
        assert r["sec_per_image"] > 0 and r["peak_mb"] > 0
        assert r["covering_tuned"] is None and r["tuned_value"] is None


def test_same_masks_give_same_numbers_when_rerun(small_run, tmp_path):
    again = run(_config(), tmp_path / "again", progress=False)
    keys = ("covering_ods", "pri_ods", "voi_ods", "boundary_ods_f", "oracle_miou")
    first = {r["method"]: [r[k] for k in keys] for r in summarize(small_run)}
    second = {r["method"]: [r[k] for k in keys] for r in summarize(again)}
    assert first == second


def test_resume_skips_finished_units(small_run, tmp_path):
    out = tmp_path / "partial"
    only_slic = _config(methods=(SLIC,))
    run(only_slic, out, progress=False)
    with pytest.raises(ValueError, match="different config"):
        run(_config(), out, resume=True, progress=False)
    # Drop one unit, as if the run had been killed before writing it, and resume.
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("DELETE FROM units WHERE key = 'synthetic:val/none/slic/000002'")
    with pytest.raises(ValueError, match="pass --resume"):
        run(only_slic, out, progress=False)
    # Workers and folder do not change the results: a run resumes with other ones.
    moved = RunConfig(datasets=only_slic.datasets, methods=only_slic.methods, jobs=3, out="x")
    assert moved.identity() == only_slic.identity() and moved.to_dict() != only_slic.to_dict()
    run(only_slic, out, resume=True, progress=False)
    resumed = {r["method"]: r["covering_ods"] for r in summarize(out)}
    full = {r["method"]: r["covering_ods"] for r in summarize(small_run)}
    assert resumed["slic"] == full["slic"]
    # Without a config, a resumed run continues with its stored one.
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("DELETE FROM units WHERE key = 'synthetic:val/none/slic/000001'")
    run(None, out, resume=True, progress=False)
    with ResultStore(out / "results.sqlite") as store:
        assert len(store.keys()) == 3


def test_bad_config():
    with pytest.raises(ValueError, match=r"unknown key 'methodz'; valid keys: seed, jobs"):
        RunConfig.from_dict({"methodz": []})
    with pytest.raises(ValueError, match="unknown method 'nope'; valid: region_growing"):
        run(_config(methods=(MethodConfig("nope"),)), progress=False)
    with pytest.raises(ValueError, match="either dask .* or dask_local"):
        run(_config(), dask="tcp://x:1", dask_local=2, progress=False)


def test_store_round_trip(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put(Unit("a/1", "a", "img1", {"x": 1}, {"arr": np.arange(5)}, "ds", "val", "blur(1)"))
        store.put(Unit("b/1", "b", "img1", {"x": 2}, {"arr": np.arange(2)}, "ds", "val"))
        store.set_info("config", {"k": [1, 2]})
    with ResultStore(tmp_path / "r.sqlite") as store:
        (unit,) = store.units(perturbation="blur(1)")
        assert unit.meta == {"x": 1} and unit.arrays["arr"].tolist() == [0, 1, 2, 3, 4]
        assert unit.group == ("ds", "val", "blur(1)", "a")
        assert [u.key for u in store.units(dataset="ds", split="val")] == ["a/1", "b/1"]
        assert list(store.units(dataset="other")) == []
        assert store.groups() == [("ds", "val", "blur(1)", "a"), ("ds", "val", "none", "b")]
        assert store.info("config") == {"k": [1, 2]} and store.info("missing", 3) == 3


def test_store_opens_a_first_release_store(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the layout of segbench 0.1, without group columns
        db.executescript("CREATE TABLE units (key TEXT PRIMARY KEY, method TEXT NOT NULL, "
                         "image_id TEXT NOT NULL, meta TEXT NOT NULL, arrays BLOB NOT NULL);"
                         "CREATE TABLE info (name TEXT PRIMARY KEY, value TEXT NOT NULL);")
        db.execute("INSERT INTO units VALUES ('slic/000000', 'slic', 'im', '{}', x'')")
    with ResultStore(path) as store:
        (unit,) = store.units(with_arrays=False)
        assert unit.group == ("", "", "none", "slic")


def test_unit_key():
    assert unit_key("bsds500", "val", "none", "felzenszwalb", 12) == \
        "bsds500:val/none/felzenszwalb/000012"


# ---------------------------------------------------------------- tuned parameter choice


def _fake_unit(dataset, split, method, index, covering, boundary_f=None):
    """A stored unit whose per-value covering (one annotator, 100 labelled pixels) and
    boundary F are exactly the given values."""
    covering = np.asarray(covering, float)
    steps = np.arange(1.0, covering.size + 1)
    hits = np.round(100 * covering)
    boundary_f = covering if boundary_f is None else np.asarray(boundary_f, float)
    arrays = {"region/thresholds": steps, "region/cntR": hits, "region/sumR": np.full_like(steps, 100),
              "region/cntP": hits, "region/sumP": np.full_like(steps, 100),
              "region/cntR_best": np.asarray(hits.max()), "region/pri": covering,
              "region/voi": 1 - covering,
              "boundary/thresholds": steps, "boundary/cntR": np.round(100 * boundary_f),
              "boundary/sumR": np.full_like(steps, 100),
              "boundary/cntP": np.round(100 * boundary_f),
              "boundary/sumP": np.full_like(steps, 100)}
    meta = {"sweep_param": "k", "sweep_values": [10, 20, 30][:covering.size], "wall_s": 1.0,
            "cpu_s": 1.0, "n_values": covering.size, "n_regions": [9, 5, 2][:covering.size],
            "peak_mb": None, "index": index}
    key = unit_key(dataset, split, "none", method, index)
    return Unit(key, method, f"im{index}", meta, arrays, dataset, split, "none")


def _fake_run(path, units, datasets):
    config = RunConfig(datasets=datasets, methods=(SLIC,))
    with ResultStore(path / "results.sqlite") as store:
        for unit in units:
            store.put(unit)
        store.set_info("config", config.to_dict())
    return path


def test_tuned_scores_use_the_tune_splits_ods_parameter(tmp_path):
    # train prefers the coarse value (index 2), val the fine one (index 0).
    units = [_fake_unit("d", "train", "m", i, [0.2, 0.5, 0.8]) for i in range(2)]
    units += [_fake_unit("d", "val", "m", i, [0.9, 0.6, 0.5], boundary_f=[0.3, 0.2, 0.1])
              for i in range(2)]
    run_dir = _fake_run(tmp_path, units,
                        (DatasetConfig("synthetic", "val", tune_split="train", label="d"),))
    val, train = summarize(run_dir)
    assert (val["split"], val["role"], train["split"], train["role"]) == (
        "val", "score", "train", "tune")
    assert train["ods_value"] == 30 and val["ods_value"] == 10
    assert val["covering_ods"] == pytest.approx(0.9)          # optimistic: chosen on val
    assert val["tuned_value"] == 30 and val["tune_split"] == "train"
    assert val["covering_tuned"] == pytest.approx(0.5)        # honest: chosen on train
    assert val["pri_tuned"] == pytest.approx(0.5) and val["voi_tuned"] == pytest.approx(0.5)
    assert val["boundary_f_tuned"] == pytest.approx(0.1) and val["regions_at_tuned"] == 2
    assert train["covering_tuned"] is None                    # nothing to tune a tune split on


def test_tuned_run_scores_both_splits(tmp_path):
    config = _config(methods=(SLIC,), max_images=2, tune_split="train")
    run_dir = run(config, tmp_path / "tuned", progress=False)
    with ResultStore(run_dir / "results.sqlite") as store:
        assert store.keys() == {f"synthetic:{s}/none/slic/{i:06d}"
                                for s in ("val", "train") for i in range(2)}
    val, train = summarize(run_dir)
    k = train["sweep_values"].index(train["ods_value"])
    assert val["tuned_value"] == train["ods_value"]
    assert val["covering_tuned"] == val["covering_curve"][k] <= val["covering_ods"]
    assert "tuned" in (run_dir / "report.md").read_text()  # its wording: the report's tests


# ---------------------------------------------------------------- datasets, seeds, methods


def test_two_datasets_get_a_leaderboard_each(tmp_path):
    config = RunConfig(datasets=(
        DatasetConfig("synthetic", "val", options={"preset": "easy"}, max_images=2),
        DatasetConfig("synthetic", "val", options={"preset": "hard"}, max_images=2,
                      label="synthetic-hard")), methods=(SLIC,))
    run_dir = run(config, tmp_path / "two", progress=False)
    assert [(r["dataset"], r["images"]) for r in summarize(run_dir)] == [
        ("synthetic", 2), ("synthetic-hard", 2)]
    html = (run_dir / "report.html").read_text()
    assert '<table id="leaderboard">' in html and '<table id="leaderboard-2">' in html
    assert "## synthetic-hard / val" in (run_dir / "report.md").read_text()


def test_run_seed_reaches_methods_with_a_seed_parameter():
    assert MethodConfig("kmeans").build(seed=7).params.seed == 7
    assert MethodConfig("kmeans", params={"seed": 3}).build(seed=7).params.seed == 3
    assert MethodConfig("quickshift").build(seed=7).params.seed == 7
    assert MethodConfig("kmeans").build().params.seed == 0  # defaults otherwise untouched
    felzenszwalb = MethodConfig("felzenszwalb").build(seed=7)
    assert felzenszwalb.params == MethodConfig("felzenszwalb").build().params


def test_run_seed_is_recorded_and_changes_seeded_methods(tmp_path):
    kmeans = MethodConfig("kmeans", sweep_values=(6,), params={"sample_size": 200})
    runs = {}
    for seed in (0, 1):
        config = RunConfig(datasets=(DatasetConfig("synthetic", "val",
                                                   options={"preset": "easy"}, max_images=1),),
                           methods=(kmeans,), seed=seed)
        run_dir = run(config, tmp_path / str(seed), progress=False)
        with ResultStore(run_dir / "results.sqlite") as store:
            assert store.info("seed") == seed
            assert store.info("seeds")["methods"] == {"kmeans": seed}
            (unit,) = store.units()
            assert unit.meta["seed"] == seed and unit.meta["params"]["seed"] == seed
            runs[seed] = unit.arrays["labels"].copy()
    assert not np.array_equal(runs[0], runs[1])


USER_MODULE = '''
import numpy as np
from classical.methods import get_segmenter

def stripes(image, *, width=8, offset=0):
    """Vertical stripes `width` pixels wide, ids shifted by `offset` (not 0-based)."""
    columns = np.arange(image.shape[1]) // width + offset
    return np.broadcast_to(columns, image.shape[:2]).copy()

def needs_knob(image, knob):
    return np.zeros(image.shape[:2], int)

def wrong_shape(image):
    return np.zeros((3, 3), int)

def fh_factory(scale=100.0):
    return get_segmenter("felzenszwalb", scale=scale)

NOT_CALLABLE = 3
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "segbench_user_methods.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "segbench_user_methods"


def test_user_function_and_factory_run_like_registry_methods(tmp_path, user_module):
    stripes = MethodConfig(f"{user_module}:stripes", params={"offset": 5},
                           sweep_param="width", sweep_values=(8, 32, 128), label="stripes")
    factory = MethodConfig(f"{user_module}:fh_factory", sweep_values=(50.0, 400.0), label="fh")
    run_dir = run(_config(methods=(stripes, factory), max_images=1), tmp_path / "user",
                  progress=False)
    with ResultStore(run_dir / "results.sqlite") as store:
        (unit,) = store.units("stripes")
        labels = unit.arrays["labels"]
        assert unit.meta["params"] == {"width": 8, "offset": 5}
        # 128 columns in 16, 4 and 1 stripes, renumbered from 0.
        assert [int(x.max()) + 1 for x in labels] == [16, 4, 1]
        assert labels[0, 0].tolist() == (np.arange(128) // 8).tolist()
    rows = {r["method"]: r for r in summarize(run_dir)}
    assert rows["stripes"]["sweep_values"] == [8, 32, 128] and rows["fh"]["sweep_param"] == "scale"
    assert rows["stripes"]["regions_at_ods"] in (16, 4, 1)


@pytest.mark.parametrize("attr, error, message", [
    ("needs_knob", ValueError, r"parameters \['knob'\] have no default"),
    ("NOT_CALLABLE", TypeError, "must name a function, a Segmenter factory or a Segmenter"),
    ("missing", ValueError, "has no attribute 'missing'"),
])
def test_user_method_errors(user_module, attr, error, message):
    with pytest.raises(error, match=message):
        MethodConfig(f"{user_module}:{attr}").build()


def test_user_method_output_is_checked(user_module):
    segmenter = MethodConfig(f"{user_module}:wrong_shape").build()
    with pytest.raises(ValueError, match=r"returned labels of shape \(3, 3\); expected .* \(20, 30\)"):
        segmenter(np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_xyz'"):
        MethodConfig("no_such_module_xyz:f").build()


def test_sweep_parameter_must_exist():
    with pytest.raises(ValueError, match=r"cannot sweep 'scale'.*valid parameters: compactness"):
        MethodConfig("slic", sweep_param="scale", sweep_values=(1, 2)).build()


# ---------------------------------------------------------------- perturbations


def test_perturbed_units_are_scored_at_the_original_size(tmp_path):
    config = RunConfig(datasets=(DatasetConfig("synthetic", "val", options={"preset": "easy"},
                                               max_images=2),),
                       methods=(SLIC,), perturbations=("noise(0.05)", "downscale(2.0)"))
    run_dir = run(config, tmp_path / "robust", progress=False)
    rows = summarize(run_dir)
    assert [r["perturbation"] for r in rows] == ["none", "downscale(2)", "noise(0.05)"]
    with ResultStore(run_dir / "results.sqlite") as store:
        assert "synthetic:val/downscale(2)/slic/000001" in store.keys()
        small = next(store.units(perturbation="downscale(2)"))
        clean = next(store.units(perturbation="none"))
        assert small.arrays["labels"].shape == clean.arrays["labels"].shape == (3, 128, 128)
        # Nearest-neighbour upscaling: every label is a 2x2 block.
        labels = small.arrays["labels"][0]
        assert np.array_equal(labels, np.repeat(np.repeat(labels[::2, ::2], 2, 0), 2, 1))
        noisy = next(store.units(perturbation="noise(0.05)"))
        assert not np.array_equal(noisy.arrays["labels"], clean.arrays["labels"])
    # How the report shows perturbed rows is tested with the report.
    assert (run_dir / "report.md").is_file()


# ---------------------------------------------------------------- comparing runs


def test_compare_runs(tmp_path):
    dataset = (DatasetConfig("synthetic", "val", label="d"),)
    a = _fake_run(tmp_path / "a", [_fake_unit("d", "val", "m", 0, [0.5, 0.7]),
                                   _fake_unit("d", "val", "only_a", 0, [0.1, 0.2])], dataset)
    b = _fake_run(tmp_path / "b", [_fake_unit("d", "val", "m", 0, [0.5, 0.9]),
                                   _fake_unit("d", "val", "only_b", 0, [0.3, 0.2])], dataset)
    rows = compare_runs(a, b)
    by = {(r["method"], r["metric"]): r for r in rows}
    cov = by[("m", "covering_ods")]
    assert (cov["a"], cov["b"], cov["present"], cov["better"]) == (0.7, 0.9, "both", "b")
    assert cov["difference"] == pytest.approx(0.2)
    voi = by[("m", "voi_ods")]   # lower is better
    assert voi["difference"] == pytest.approx(-0.2) and voi["better"] == "b"
    assert by[("m", "sec_per_image")]["better"] == "same"
    only_a = by[("only_a", "covering_ods")]
    assert (only_a["a"], only_a["b"], only_a["difference"], only_a["present"]) == (
        0.2, None, None, "a")
    assert by[("only_b", "covering_ods")]["present"] == "b"
    assert ("m", "covering_tuned") not in by   # no tune split in either run
    text = comparison_markdown(rows, "before", "after")
    assert re.search(r"\| d:val \| none \| m \| covering_ods \| 0\.7 \| 0\.9 \| \+0\.2 \| b \|", text)
    assert "Only in before (A): only_a (d:val, none)." in text
    assert "Only in after (B): only_b (d:val, none)." in text
