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
    slic = next(r for r in summarize(a) if r["method"] == "slic")
    assert slic["sweep_values"] == [64, 8]       # --method keeps the config's sweep
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
    page = markdown.with_suffix(".html")
    assert f"page: {page}" in out and "<table" in page.read_text()


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
    (["run", "--method", "slic", "--checkpoint", "missing.pt"],
     "checkpoint 'missing.pt' does not exist"),
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


def test_run_with_checkpoints(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from deep.checkpoints import save_checkpoint
    from deep.registry import build_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        checkpoint = save_checkpoint(tmp_path / "m.pt", build_model("fcn32s_resnet18", 6),
                                     model_name="fcn32s_resnet18",
                                     class_names=[f"c{i}" for i in range(6)])
        config = tmp_path / "c.toml"
        config.write_text(CONFIG)
        out = tmp_path / "run"
        code, text, err = run(capsys, "run", config, "--out", out, "--max-images", "1",
                              "--method", "slic", "--checkpoint", checkpoint,
                              "--checkpoint", checkpoint)
    finally:
        torch.set_num_threads(threads)
    assert code == 0, err
    rows = {r["method"]: r for r in summarize(out)}
    assert set(rows) == {"slic", "fcn32s_resnet18", "fcn32s_resnet18-2"}
    assert rows["fcn32s_resnet18"]["kind"] == "deep"
    assert rows["fcn32s_resnet18"]["miou"] == rows["fcn32s_resnet18-2"]["miou"]
    assert "mIoU" in text and "fcn32s_resnet18-2" in text
    slic = rows["slic"]
    assert f"{slic['oracle_miou']:.3f}*" in text and "* oracle labelling" in text
    with ResultStore(out / "results.sqlite") as store:
        methods = store.info("config")["methods"]
    assert [m.get("checkpoint") for m in methods] == [None, str(checkpoint), str(checkpoint)]
