import numpy as np
import pytest
from PIL import Image

from benchmarks._version import __version__
from benchmarks.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and __version__ in out


def test_help_lists_command_groups(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for group in ("run", "segment", "evaluate", "report", "datasets"):
        assert f"  {group}" in out


def test_segment_list(capsys):
    code, out, _ = run(capsys, "segment", "--list")
    assert code == 0 and "felzenszwalb(scale=1.0" in out and "sweep n_segments" in out


def test_segment_writes_labels_and_overlay(tmp_path, capsys):
    image = np.zeros((20, 24, 3), np.uint8)
    image[:, 12:] = 255
    Image.fromarray(image).save(tmp_path / "in.png")
    code, out, err = run(capsys, "segment", "slic", str(tmp_path / "in.png"),
                         "--param", "n_segments=4", "--out", str(tmp_path / "labels.png"),
                         "--overlay", str(tmp_path / "overlay.png"))
    assert code == 0, err
    labels = np.asarray(Image.open(tmp_path / "labels.png"))
    assert labels.shape == (20, 24) and labels.max() >= 1
    assert np.asarray(Image.open(tmp_path / "overlay.png")).shape == (20, 24, 3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["segment", "slik", "x.png"], "unknown method 'slik'"),
        (["segment", "slic", "missing.png"], "missing.png: file not found"),
        (["--threads", "0", "segment", "--list"], "threads must be >= 1"),
    ],
)
def test_errors_are_one_line(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("segbench: error: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_bad_param(tmp_path, capsys):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "in.png")
    code, _, err = run(capsys, "segment", "slic", str(tmp_path / "in.png"), "--param", "n_segments=lots")
    assert code == 2 and "n_segments must be an integer; got 'lots'" in err


def test_debug_shows_traceback(capsys):
    with pytest.raises(ValueError, match="unknown method"):
        main(["--debug", "segment", "slik", "x.png"])


def test_parse_param_types():
    from benchmarks._cli_segment import parse_param
    from classical.kmeans import KMeansParams

    params = KMeansParams()
    assert parse_param("features=lab,gabor", params) == ("features", ("lab", "gabor"))
    assert parse_param("n_clusters=auto", params) == ("n_clusters", "auto")
    assert parse_param("n_clusters=5", params) == ("n_clusters", 5)
    assert parse_param("predicate=mean_lab(10)", params) == ("predicate", "mean_lab(10)")
    assert parse_param("predicate=none", params) == ("predicate", None)
    with pytest.raises(ValueError, match="unknown parameter 'k'; valid: n_clusters"):
        parse_param("k=3", params)


@pytest.mark.parametrize("method, params", [("region_growing", []), ("split_merge", []),
                                            ("split_merge", ["--param", "min_size=0.07",
                                                             "--param", "threshold=15.9"]),
                                            ("kmeans", [])])
def test_segment_own_methods(tmp_path, capsys, method, params):
    image = np.zeros((24, 30, 3), np.uint8)
    image[:, 15:] = (200, 40, 40)
    Image.fromarray(image).save(tmp_path / "in.png")
    code, out, err = run(capsys, "segment", method, str(tmp_path / "in.png"), *params,
                         "--out", str(tmp_path / "labels.png"))
    assert code == 0, err
    labels = np.asarray(Image.open(tmp_path / "labels.png"))
    assert len(np.unique(labels[:, :15])) == 1 and len(np.unique(labels[:, 15:])) == 1
    assert labels[0, 0] != labels[0, 29]


def test_evaluate_semantic_needs_exactly_one_source(tmp_path, capsys):
    code, _, err = run(capsys, "evaluate", "semantic", "--dataset", "synthetic")
    assert code == 2 and "exactly one of --pred-dir and --checkpoint" in err
    code, _, err = run(capsys, "evaluate", "semantic", "--dataset", "synthetic",
                       "--checkpoint", str(tmp_path / "missing.pt"))
    assert code == 2 and "missing.pt" in err
    code, _, err = run(capsys, "evaluate", "semantic", "--dataset", "synthetic",
                       "--pred-dir", str(tmp_path), "--scales", "0.75,1")
    assert code == 2 and "apply to --checkpoint" in err


def test_help_lists_deep_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert "  train" in out and "  predict" in out
