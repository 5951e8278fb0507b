"""The region benchmark against the official BSDS500 benchmark's own outputs
(bench_sample/test_1, test_4, test_5), the official text format, the driver and the CLI.

The bench_sample tests skip when ../shared/datasets/BSDS500 is absent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.metrics._official import (
    compare_official_txt,
    fmt10g,
    format_official_row,
    last_digit_units,
    read_official_txt,
    round10g,
    write_official_txt,
)

REGION_FILES = ("eval_cover.txt", "eval_cover_img.txt", "eval_cover_th.txt",
                "eval_RI_VOI.txt", "eval_RI_VOI_thr.txt")


# ---- the %10g format ------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, text",
    [
        (1 / 6, "  0.166667"),
        (0.5, "       0.5"),
        (2, "         2"),
        (2.0, "         2"),
        (np.int64(5), "         5"),
        (0.0, "         0"),
        (-0.25, "     -0.25"),
        (1e-05, "     1e-05"),
        (1.5e-05, "   1.5e-05"),
        (0.0001, "    0.0001"),
        (123456.4, "    123456"),
        (1234567.0, "1.23457e+06"),
        (772005.0, "    772005"),
        (1.36877049, "   1.36877"),
        (1e100, "    1e+100"),
        (float("nan"), "       NaN"),
        (float("inf"), "       Inf"),
        (-float("inf"), "      -Inf"),
        (True, "         1"),
    ],
)
def test_fmt10g_matches_matlab(value, text):
    assert fmt10g(value) == text


def test_fmt10g_rejects_non_numbers():
    with pytest.raises(TypeError, match="value must be a real number; got 'a'"):
        fmt10g("a")


def test_round10g_and_rows():
    np.testing.assert_array_equal(round10g([1 / 3, 2.5e-7, np.nan])[:2], [0.333333, 2.5e-7])
    assert math.isnan(round10g([np.nan])[0])
    assert format_official_row([1, 0.5]) == "         1        0.5\n"


def test_write_read_round_trip(tmp_path):
    rows = np.array([[1 / 6, 0.826926, 1e-5], [np.nan, np.inf, 2]])
    path = write_official_txt(tmp_path / "x.txt", rows)
    assert path.read_text().splitlines()[1] == "       NaN        Inf          2"
    back = read_official_txt(path)
    np.testing.assert_array_equal(back[0], round10g(rows[0]))
    assert np.isnan(back[1, 0]) and back[1, 1] == np.inf
    np.testing.assert_array_equal(last_digit_units(path)[0], [1e-6, 1e-6, 1e-5])
    assert compare_official_txt(path, rows) <= 0.5
    assert compare_official_txt(path, path) == 0.0
    assert not list(tmp_path.glob("*.tmp"))


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_official_txt(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("1 2\nx 3\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected numbers"):
        read_official_txt(tmp_path / "bad.txt")
    (tmp_path / "ragged.txt").write_text("1 2\n3\n")
    with pytest.raises(ValueError, match="different numbers of values"):
        read_official_txt(tmp_path / "ragged.txt")
    write_official_txt(tmp_path / "ok.txt", [1, 2])
    with pytest.raises(ValueError, match="shape"):
        compare_official_txt(tmp_path / "ok.txt", [1, 2, 3])


# ---- the official outputs -------------------------------------------------------------
def _ground_truth(bench_sample, image_id):
    from benchmarks.datasets.bsds500 import read_bsds_ground_truth

    return read_bsds_ground_truth(bench_sample / "groundTruth" / f"{image_id}.mat")[0]


def _ids(bench_sample):
    return sorted(p.stem for p in (bench_sample / "groundTruth").glob("*.mat"))


def _check_files(out_dir, reference_dir):
    """Every printed value within half a unit in its last digit, and the text identical."""
    worst = 0.0
    for name in REGION_FILES:
        deviation = compare_official_txt(reference_dir / name, out_dir / name)
        assert deviation <= 0.5, f"{name}: {deviation} units in the last digit"
        worst = max(worst, deviation)
        assert (out_dir / name).read_text() == (reference_dir / name).read_text(), name
    return worst


@pytest.mark.realdata
@pytest.mark.parametrize(
    "reference, kind",
    [("test_1", "ucm"), ("test_4", "segs"), ("test_5", "segs")],
)
def test_reproduces_official_region_files(bench_sample, tmp_path, reference, kind):
    from benchmarks.metrics.bsds import read_machine
    from benchmarks.metrics.region import collect_regions, evaluate_regions_image, write_region_files

    ids = _ids(bench_sample)
    folder = {"ucm": "ucm2", "segs": "segs"}[kind]
    images = [
        evaluate_regions_image(read_machine(bench_sample / folder / f"{i}.mat", kind),
                               _ground_truth(bench_sample, i), kind=kind, nthresh=5)
        for i in ids
    ]
    result = collect_regions(images, ids)
    write_region_files(result, tmp_path)
    _check_files(tmp_path, bench_sample / reference)
    assert result.ods_covering == pytest.approx(0.654023, abs=5e-7)


@pytest.mark.realdata
def test_driver_reproduces_test_1_and_resumes(bench_sample, tmp_path, monkeypatch):
    from benchmarks.metrics import bsds

    kwargs = dict(ucm_dir=bench_sample / "ucm2", nthresh=5, bench="region", progress=False)
    result = bsds.evaluate_bsds(bench_sample / "groundTruth", out_dir=tmp_path, **kwargs)
    _check_files(tmp_path, bench_sample / "test_1")
    assert result.ids == tuple(_ids(bench_sample)) and result.boundary is None
    assert sorted(p.name for p in tmp_path.glob("*_region.npz")) == [
        f"{i}_region.npz" for i in _ids(bench_sample)]
    assert "GT covering: ODS = 0.65 [th = 0.33]. OIS = 0.73. Best = 0.75" in result.summary()

    # a rerun reads the cache and computes nothing
    def fail(*args, **kwargs):
        raise AssertionError("recomputed a cached image")

    monkeypatch.setattr(bsds, "evaluate_regions_image", fail)
    again = bsds.evaluate_bsds(bench_sample / "groundTruth", out_dir=tmp_path, **kwargs)
    assert again.region.ods_covering == result.region.ods_covering
    # a different nthresh does not reuse the cache
    with pytest.raises(AssertionError, match="recomputed"):
        bsds.evaluate_bsds(bench_sample / "groundTruth", out_dir=tmp_path,
                           **{**kwargs, "nthresh": 4})


@pytest.mark.realdata
@pytest.mark.slow
def test_driver_npz_segs_in_parallel_match_test_5(bench_sample, tmp_path):
    from benchmarks.metrics.bsds import evaluate_bsds, read_machine

    seg_dir = tmp_path / "segs"
    seg_dir.mkdir()
    for i in _ids(bench_sample):
        segs = read_machine(bench_sample / "segs" / f"{i}.mat", "segs")
        np.savez(seg_dir / f"{i}.npz", segs=np.stack(segs))
    out = tmp_path / "out"
    evaluate_bsds(bench_sample / "groundTruth", seg_dir=seg_dir, bench="region", out_dir=out,
                  jobs=2, progress=False)
    _check_files(out, bench_sample / "test_5")


@pytest.mark.realdata
def test_cli_bsds(bench_sample, tmp_path, capsys):
    from benchmarks.cli import main

    code = main(["evaluate", "bsds", "--gt-dir", str(bench_sample / "groundTruth"),
                 "--seg-dir", str(bench_sample / "segs"), "--bench", "region",
                 "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Rand Index: ODS = 0.83 [th = 1.00]. OIS = 0.90." in out
    assert "Var. Info.: ODS = 1.37 [th = 2.00]. OIS = 1.12." in out
    _check_files(tmp_path, bench_sample / "test_4")


# ---- driver errors (no real data needed) ----------------------------------------------
def _tiny_ground_truth(folder, image_id="1"):
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    seg = np.array([[1, 1, 2], [1, 2, 2]], dtype=np.uint16)
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"Segmentation": seg, "Boundaries": np.zeros_like(seg)}
    savemat(folder / f"{image_id}.mat", {"groundTruth": cell})
    return seg


def test_driver_on_tiny_folders(tmp_path):
    from scipy.io import savemat

    from benchmarks.metrics.bsds import evaluate_bsds

    seg = _tiny_ground_truth(tmp_path / "gt")
    (tmp_path / "segs").mkdir()
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = seg, np.ones_like(seg)
    savemat(tmp_path / "segs" / "1.mat", {"segs": cell})
    result = evaluate_bsds(tmp_path / "gt", seg_dir=tmp_path / "segs", bench="region",
                           progress=False)
    assert result.region.ods_covering == 1.0 and result.region.ods_voi == 0.0
    assert result.out_dir is None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "give exactly one of ucm_dir, seg_dir, png_dir; got none"),
        ({"ucm_dir": "u", "seg_dir": "s"}, ValueError, "got ucm_dir, seg_dir"),
        ({"png_dir": "p", "bench": "region"}, ValueError, "png boundary maps have no regions"),
        ({"ucm_dir": "u", "bench": "regions"}, ValueError, "bench must be one of"),
        ({"ucm_dir": "u", "jobs": 0}, ValueError, "jobs must be >= 1"),
        ({"ucm_dir": "nowhere"}, FileNotFoundError, "ucm_dir .*nowhere' is not a folder"),
    ],
)
def test_driver_errors(tmp_path, kwargs, error, match):
    from benchmarks.metrics.bsds import evaluate_bsds

    _tiny_ground_truth(tmp_path / "gt")
    for key in ("ucm_dir", "seg_dir", "png_dir"):
        if key in kwargs and kwargs[key] != "nowhere":
            (tmp_path / kwargs[key]).mkdir()
            kwargs[key] = tmp_path / kwargs[key]
    with pytest.raises(error, match=match):
        evaluate_bsds(tmp_path / "gt", progress=False, **kwargs)


def test_driver_missing_and_malformed_inputs(tmp_path):
    from scipy.io import savemat

    from benchmarks.metrics.bsds import evaluate_bsds

    _tiny_ground_truth(tmp_path / "gt", "1")
    _tiny_ground_truth(tmp_path / "gt", "2")
    (tmp_path / "ucm").mkdir()
    savemat(tmp_path / "ucm" / "1.mat", {"ucm2": np.zeros((3, 3))})  # wrong size
    with pytest.raises(FileNotFoundError, match=r"lacks <id>.mat for 1 of 2 .*first: 2"):
        evaluate_bsds(tmp_path / "gt", ucm_dir=tmp_path / "ucm", bench="region", progress=False)
    savemat(tmp_path / "ucm" / "2.mat", {"wrong": np.zeros((5, 7))})
    with pytest.raises(ValueError, match=r"image 1 \(1.mat\): ucm2 must have shape .* = \(5, 7\)"):
        evaluate_bsds(tmp_path / "gt", ucm_dir=tmp_path / "ucm", bench="region", progress=False)
    savemat(tmp_path / "ucm" / "1.mat", {"ucm2": np.zeros((5, 7))})
    with pytest.raises(ValueError, match=r"2.mat: no variable 'ucm2' \(found \['wrong'\]\)"):
        evaluate_bsds(tmp_path / "gt", ucm_dir=tmp_path / "ucm", bench="region", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no <id>.mat ground-truth files"):
        evaluate_bsds(tmp_path / "empty", ucm_dir=tmp_path / "ucm", progress=False)


def test_cli_errors_are_one_line(tmp_path, capsys):
    from benchmarks.cli import main

    _tiny_ground_truth(tmp_path / "gt")
    code = main(["evaluate", "bsds", "--gt-dir", str(tmp_path / "gt"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("segbench: error: give exactly one of")
    assert err.count("\n") == 1


def test_cli_help_has_examples(capsys):
    from benchmarks.cli import main

    for command in (["evaluate", "bsds"], ["evaluate", "semantic"], ["evaluate"]):
        assert main([*command, "--help"]) == 0
        assert "Example" in capsys.readouterr().out


def test_cli_semantic_on_synthetic(tmp_path, capsys):
    from PIL import Image

    from benchmarks.cli import main
    from benchmarks.datasets import load_dataset

    dataset = load_dataset("synthetic", split="val")
    for k, sample in enumerate(dataset):
        pred = sample.mask.astype(np.uint8)
        if k == 0:
            pred[:4] = 255  # unlabelled predictions count as misses
        Image.fromarray(pred).save(tmp_path / f"{sample.id}.png")
    code = main(["evaluate", "semantic", "--dataset", "synthetic", "--split", "val",
                 "--pred-dir", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert dataset.classes[0].name in out and "mean IoU" in out
    assert "predicted unlabelled" in out and " 0 predicted unlabelled" not in out
    (tmp_path / f"{dataset.ids[3]}.png").unlink()
    code = main(["evaluate", "semantic", "--dataset", "synthetic", "--split", "val",
                 "--pred-dir", str(tmp_path), "--quiet"])
    assert code == 2 and "lacks <id>.png for 1 of" in capsys.readouterr().err


def test_score_semantic_folder_counts_misses(tmp_path):
    from PIL import Image

    from benchmarks._cli_evaluate import _scores_with_misses, score_semantic_folder
    from benchmarks.datasets import load_dataset

    dataset = load_dataset("synthetic", split="val")
    for sample in dataset:
        pred = sample.mask.astype(np.uint8)
        pred[0, 0] = 255
        Image.fromarray(pred).save(tmp_path / f"{sample.id}.png")
    table = score_semantic_folder(dataset, tmp_path)
    assert table.shape == (dataset.num_classes, dataset.num_classes + 1)
    assert table[:, -1].sum() == len(dataset)
    scores = _scores_with_misses(table)
    assert 0.99 < scores["mean_iou"] < 1.0 and scores["unlabelled"] == len(dataset)


# ---- the driver's side of the boundary benchmark, with a stand-in module --------------
@pytest.fixture
def fake_boundary(monkeypatch):
    """A minimal module with the boundary benchmark's API (the real one may be absent)."""
    import sys
    import types
    from dataclasses import dataclass

    module = types.ModuleType("benchmarks.metrics.boundary")
    calls = []

    @dataclass(frozen=True)
    class BoundaryImage:
        thresholds: np.ndarray
        cntR: np.ndarray
        sumR: np.ndarray
        cntP: np.ndarray
        sumP: np.ndarray

    def evaluate_boundaries_image(machine, gt_boundaries, *, kind, nthresh=99,
                                  max_dist=0.0075, thin=True):
        calls.append((kind, nthresh, max_dist, thin, len(gt_boundaries)))
        t = np.arange(1, 3, dtype=float)
        return BoundaryImage(t, np.array([3, 2]), np.array([4, 4]), np.array([1, 2]),
                             np.array([2, 2]))

    def collect_boundaries(images, ids):
        return {"images": list(images), "ids": list(ids)}

    def write_boundary_files(result, out_dir):
        write_official_txt(Path(out_dir) / "eval_bdry.txt",
                           [0.5, 0.75, 0.5, 0.6, 0.8, 0.6, 0.7, 0.55])

    from pathlib import Path

    module.BoundaryImage = BoundaryImage
    module.evaluate_boundaries_image = evaluate_boundaries_image
    module.collect_boundaries = collect_boundaries
    module.write_boundary_files = write_boundary_files
    monkeypatch.setitem(sys.modules, "benchmarks.metrics.boundary", module)
    return calls


def test_driver_runs_boundary_with_cache(tmp_path, fake_boundary):
    from PIL import Image

    from benchmarks.metrics.bsds import evaluate_bsds

    _tiny_ground_truth(tmp_path / "gt")
    (tmp_path / "png").mkdir()
    Image.fromarray(np.full((2, 3), 128, np.uint8)).save(tmp_path / "png" / "1.png")
    out = tmp_path / "out"
    result = evaluate_bsds(tmp_path / "gt", png_dir=tmp_path / "png", nthresh=7, out_dir=out,
                           progress=False, max_dist=0.01)
    assert result.region is None and result.boundary["ids"] == ["1"]
    assert fake_boundary == [("pb", 7, 0.01, True, 1)]
    assert (out / "eval_bdry.txt").is_file() and (out / "1_boundary.npz").is_file()
    assert result.summary() == ("Boundary\nODS: F( 0.75, 0.50 ) = 0.60   [th = 0.50]\n"
                                "OIS: F( 0.80, 0.60 ) = 0.70\nArea_PR = 0.55")
    # resumed from the cache: the stand-in is not called again, the image round-trips
    again = evaluate_bsds(tmp_path / "gt", png_dir=tmp_path / "png", nthresh=7, out_dir=out,
                          progress=False, max_dist=0.01)
    assert len(fake_boundary) == 1
    image = again.boundary["images"][0]
    np.testing.assert_array_equal(image.cntR, [3, 2])
    # other matching settings are not taken from the cache
    evaluate_bsds(tmp_path / "gt", png_dir=tmp_path / "png", nthresh=7, out_dir=out,
                  progress=False, max_dist=0.02)
    assert len(fake_boundary) == 2


def test_driver_all_runs_both(tmp_path, fake_boundary):
    from scipy.io import savemat

    from benchmarks.metrics.bsds import evaluate_bsds

    seg = _tiny_ground_truth(tmp_path / "gt")
    (tmp_path / "ucm").mkdir()
    ucm2 = np.zeros((5, 7))
    ucm2[:, 4] = 0.9  # a contour between image columns 1 and 2, gone above t = 0.9
    savemat(tmp_path / "ucm" / "1.mat", {"ucm2": ucm2})
    result = evaluate_bsds(tmp_path / "gt", ucm_dir=tmp_path / "ucm", nthresh=3, progress=False)
    assert fake_boundary[0][:2] == ("ucm", 3)
    assert result.region is not None and result.boundary is not None
    assert result.summary().startswith("Boundary\n") and "GT covering" in result.summary()
    # thresholds 0.25, 0.5, 0.75 all keep the contour: two regions, columns {0, 1} and {2}
    assert seg.shape == (2, 3)
    assert result.region.covering[0] == pytest.approx((3 * 3 / 4 + 3 * 2 / 3) / 6)
