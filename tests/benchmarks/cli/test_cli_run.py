"""``segbench run`` and ``segbench report``: configs, overrides, resume, comparison."""

import pytest

from benchmarks.cli import main
from benchmarks.runner import summarize
from benchmarks.store import ResultStore

CONFIG = '''
jobs = 1

[[datasets]]
name = "synthetic"
split = "val"
max_images = 3
options = { preset = "easy" }

[[methods]]
name = "slic"
sweep = { param = "n_segments", values = [64, 8] }

[[methods]]
name = "felzenszwalb"
sweep = { param = "scale", values = [50.0, 400.0] }
'''


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "small.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, config_file):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    assert main(["run", str(config_file), "--out", str(a), "--max-images", "1",
                 "--method", "slic"]) == 0
    assert main(["run", str(config_file), "--out", str(b), "--max-images", "1",
                 "--seed", "4"]) == 0
    return a, b


def test_run_config_with_overrides(two_runs):
    a, b = two_runs
    with ResultStore(a / "results.sqlite") as store:
        assert store.keys() == {"synthetic:val/none/slic/000000"}   # --max-images, --method
    with ResultStore(b / "results.sqlite") as store:
        assert store.info("seed") == 4 and len(store.keys()) == 2
    assert (a / "report.html").is_file()


def test_resume_without_config_uses_the_stored_one(two_runs, capsys):
    _, b = two_runs
    (b / "report.html").unlink()
    code, out, err = run(capsys, "run", "--out", b, "--resume")
    assert code == 0, err
    assert (b / "report.html").is_file() and f"report: {b}" in out
    assert "synthetic / val / none" in out and "felzenszwalb" in out
    code, _, err = run(capsys, "run", "--out", b)
    assert code == 2 and "already holds results; pass --resume" in err


def test_report_and_compare(two_runs, tmp_path, capsys):
    a, b = two_runs
    (a / "report.md").unlink()
    code, out, err = run(capsys, "report", a)
    assert code == 0, err
    assert (a / "report.md").is_file() and "summary:" in out
    markdown = tmp_path / "diff.md"
    code, out, err = run(capsys, "report", "--compare", a, b, "--out", markdown)
    assert code == 0, err
    slic = next(r for r in summarize(a) if r["method"] == "slic")
    # slic ran with the same images and parameters in both: zero differences.
    assert "slic" in out and f"{slic['covering_ods']:.4g}" in out and "+0" in out
    text = markdown.read_text()
    assert "| synthetic:val | none | slic | covering_ods |" in text
    assert "Only in" in text and "felzenszwalb" in text


@pytest.mark.parametrize("argv, message", [
    (["report"], "give exactly one of RUN_DIR"),
    (["report", "x", "--compare", "a", "b"], "give exactly one of RUN_DIR"),
    (["report", "nowhere"], "nowhere is not a segbench run folder"),
    (["run", "missing.toml"], "config file 'missing.toml' does not exist"),
    (["run", "--dask", "tcp://127.0.0.1:1", "--dask-local", "2", "--method", "slic"],
     "pass either dask"),
    (["run", "--dataset", "nope"],
     "command line: [[datasets]] #1: unknown dataset 'nope'"),
    (["run", "--method", "slik"], "unknown method 'slik'"),
])
def test_errors_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("segbench: error: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_bad_config_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace("max_images", "max_imagez"))
    code, _, err = run(capsys, "run", path, "--out", tmp_path / "x")
    assert code == 2 and "bad.toml: [[datasets]] #1: unknown key 'max_imagez'" in err
