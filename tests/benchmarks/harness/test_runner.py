import json
import sqlite3

import numpy as np
import pytest

from benchmarks.runner import MethodConfig, RunConfig, run, summarize
from benchmarks.store import ResultStore, Unit


def _config(**changes):
    base = dict(dataset="synthetic", split="val", dataset_options={"preset": "easy"},
                methods=(MethodConfig("slic", sweep_values=(64, 16, 4)),
                         MethodConfig("felzenszwalb", sweep_values=(50.0, 400.0))),
                max_images=3, jobs=1)
    base.update(changes)
    return RunConfig(**base)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run(_config(), out, progress=False)


def test_run_writes_store_config_and_reports(small_run):
    assert (small_run / "report.html").stat().st_size > 10_000
    assert "| Method |" in (small_run / "report.md").read_text()
    assert json.loads((small_run / "config.json").read_text())["dataset"] == "synthetic"
    with ResultStore(small_run / "results.sqlite") as store:
        assert len(store.keys()) == 6


def test_summary_scores_are_valid(small_run):
    rows = summarize(small_run)
    assert [r["method"] for r in rows] == sorted([r["method"] for r in rows],
                                                 key=lambda m: -next(r["covering_ods"] for r in rows if r["method"] == m))
    for r in rows:
        assert 0 <= r["covering_ois"] <= 1 and r["covering_ods"] <= r["covering_ois"] + 1e-12
        assert 0 <= r["pri_ods"] <= 1 and r["voi_ods"] >= 0
        # Oracle labelling of an over-segmentation can only do better with finer regions.
        assert 0 <= r["oracle_miou"] <= 1
        assert r["ods_value"] in r["sweep_values"]
        assert r["sec_per_image"] > 0 and r["peak_mb"] > 0


def test_same_masks_give_same_numbers_when_rerun(small_run, tmp_path):
    again = run(_config(), tmp_path / "again", progress=False)
    keys = ("covering_ods", "pri_ods", "voi_ods", "boundary_ods_f", "oracle_miou")
    first = {r["method"]: [r[k] for k in keys] for r in summarize(small_run)}
    second = {r["method"]: [r[k] for k in keys] for r in summarize(again)}
    assert first == second


def test_resume_skips_finished_units(small_run, tmp_path):
    out = tmp_path / "partial"
    run(_config(methods=(MethodConfig("slic", sweep_values=(64, 16, 4)),)), out, progress=False)
    with pytest.raises(ValueError, match="different config"):
        run(_config(), out, resume=True, progress=False)
    # Drop one unit, as if the run had been killed before writing it, and resume.
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("DELETE FROM units WHERE key = 'slic/000002'")
    with pytest.raises(ValueError, match="pass --resume"):
        run(_config(methods=(MethodConfig("slic", sweep_values=(64, 16, 4)),)), out, progress=False)
    run(_config(methods=(MethodConfig("slic", sweep_values=(64, 16, 4)),)), out, resume=True,
        progress=False)
    resumed = {r["method"]: r["covering_ods"] for r in summarize(out)}
    full = {r["method"]: r["covering_ods"] for r in summarize(small_run)}
    assert resumed["slic"] == full["slic"]


def test_bad_config():
    with pytest.raises(ValueError, match=r"unknown run config keys \['methodz'\]"):
        RunConfig.from_dict({"methodz": []})
    with pytest.raises(ValueError, match="unknown method 'nope'; valid: region_growing"):
        run(_config(methods=(MethodConfig("nope"),)), progress=False)


def test_store_round_trip(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put(Unit("a/1", "a", "img1", {"x": 1}, {"arr": np.arange(5)}))
        store.set_info("config", {"k": [1, 2]})
    with ResultStore(tmp_path / "r.sqlite") as store:
        (unit,) = store.units()
        assert unit.meta == {"x": 1} and unit.arrays["arr"].tolist() == [0, 1, 2, 3, 4]
        assert store.info("config") == {"k": [1, 2]} and store.info("missing", 3) == 3
