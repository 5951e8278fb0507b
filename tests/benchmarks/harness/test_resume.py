"""A run killed with SIGKILL resumes to exactly the results of an uninterrupted run."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from benchmarks.config import load_config
from benchmarks.runner import TIMING_KEYS, run, summarize
from benchmarks.store import ResultStore

CONFIG = '''
seed = 0
jobs = 1

[[datasets]]
name = "synthetic"
split = "val"
max_images = 4
options = { preset = "easy" }

[[methods]]
name = "slic"
sweep = { param = "n_segments", values = [64, 16, 4] }

[[methods]]
name = "felzenszwalb"
sweep = { param = "scale", values = [50.0, 400.0] }
'''
TOTAL = 8


def _count(path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _without_timings(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkilled_run_resumes_to_the_uninterrupted_results(tmp_path):
    config_path = tmp_path / "c.toml"
    config_path.write_text(CONFIG)
    out = tmp_path / "killed"
    store = out / "results.sqlite"
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.cli", "run", str(config_path), "--out", str(out)],
            stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while _count(store) == 0 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL, log.read_text()[-2000:]
    partial = _count(store)
    assert 0 < partial < TOTAL, f"{partial} of {TOTAL} units stored when killed"
    assert not (out / "report.html").exists()

    with pytest.raises(ValueError, match="pass --resume"):
        run(load_config(config_path), out, progress=False)
    run(load_config(config_path), out, resume=True, progress=False)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with ResultStore(store) as results:
        assert len(results.keys()) == TOTAL
    full = run(load_config(config_path), tmp_path / "full", progress=False)
    assert _without_timings(summarize(out)) == _without_timings(summarize(full))
