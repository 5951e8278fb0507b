"""The dask backend gives exactly the joblib backend's results."""

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.config import load_config
from benchmarks.runner import TIMING_KEYS, run, summarize
from benchmarks.store import ResultStore

pytest.importorskip("distributed")

CONFIG = '''
seed = 5
jobs = 1

[[datasets]]
name = "synthetic"
split = "val"
max_images = 2
options = { preset = "easy" }

[[methods]]
name = "slic"
sweep = { param = "n_segments", values = [64, 8] }

[[methods]]
name = "kmeans"
params = { sample_size = 300 }
sweep = { param = "n_clusters", values = [6, 3] }

[robustness]
perturbations = ["noise(0.05)"]
'''

# Measured, not computed: they differ between any two runs.
TIMING_META = ("wall_s", "cpu_s", "peak_mb")


def _stored(run_dir):
    with ResultStore(run_dir / "results.sqlite") as store:
        return {u.key: (u.group, {k: v for k, v in u.meta.items() if k not in TIMING_META},
                        {name: u.arrays[name].copy() for name in u.arrays})
                for u in store.units()}


@pytest.mark.slow  # a local cluster starts two worker processes: 10-25 s on 2 busy cores
def test_local_dask_cluster_matches_joblib(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    local = run(load_config(path), tmp_path / "joblib", progress=False)
    code = main(["run", str(path), "--out", str(tmp_path / "dask"), "--dask-local", "2"])
    assert code == 0, capsys.readouterr().err
    assert "synthetic / val / noise(0.05)" in capsys.readouterr().out
    distributed, joblib = _stored(tmp_path / "dask"), _stored(local)
    assert len(joblib) == 2 * 2 * 2 and distributed.keys() == joblib.keys()
    for key, (group, meta, arrays) in joblib.items():
        other_group, other_meta, other_arrays = distributed[key]
        assert (other_group, other_meta) == (group, meta), key
        assert other_arrays.keys() == arrays.keys()
        for name, array in arrays.items():
            np.testing.assert_array_equal(other_arrays[name], array, err_msg=f"{key} {name}")
    strip = [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in summarize(local)]
    assert [{k: v for k, v in r.items() if k not in TIMING_KEYS}
            for r in summarize(tmp_path / "dask")] == strip
    with ResultStore(tmp_path / "dask" / "results.sqlite") as store:
        assert store.info("environment")["backend"] == "dask"
        assert store.info("environment")["local_workers"] == 2
