"""The public Python API: ``benchmarks.run`` and ``benchmarks.report``."""

from __future__ import annotations

import pytest

import benchmarks
from benchmarks.runner import summarize

CONFIG = """
seed = 0
jobs = 1
[[datasets]]
name = "synthetic"
split = "val"
max_images = 2
options = { preset = "easy" }
[[methods]]
name = "slic"
sweep = { param = "n_segments", values = [40, 8] }
"""


def test_run_takes_a_config_file_and_report_rerenders_it(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(CONFIG)
    run_dir = benchmarks.run(path, tmp_path / "run", progress=False)
    rows = summarize(run_dir)
    assert [(r["method"], r["images"]) for r in rows] == [("slic", 2)]
    assert 0.0 < rows[0]["covering_ods"] <= 1.0
    html = run_dir / "report.html"
    html.unlink()
    out_html, out_md = benchmarks.report(run_dir, n_resamples=50)
    assert out_html == html and html.is_file() and out_md.is_file()
    assert "slic" in html.read_text()
    with pytest.raises(ValueError, match="resume"):   # an existing run is never mixed
        benchmarks.run(str(path), run_dir, progress=False)
    assert benchmarks.run(None, run_dir, resume=True, progress=False) == run_dir


def test_run_rejects_a_config_of_the_wrong_kind(tmp_path):
    with pytest.raises(TypeError, match="RunConfig or the path"):
        benchmarks.run({"methods": []}, tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        benchmarks.run(tmp_path / "missing.toml", tmp_path / "run")


def test_report_names_a_folder_without_a_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="results.sqlite"):
        benchmarks.report(tmp_path)
