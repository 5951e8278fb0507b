"""The report's builders (tables, intervals, significance, figures, comparison page) on
hand-made rows and units, and which sections a real tiny run's report shows."""

import json
import re

import numpy as np
import pytest

import benchmarks.runner as runner
from benchmarks.reporting import _figures, _stats, _tables, leaderboard_markdown, \
    write_comparison, write_report
from benchmarks.reporting import _html_table
from benchmarks.runner import DatasetConfig, MethodConfig, RunConfig, run
from benchmarks.store import Unit


# --------------------------------------------------------------------------------------
# Hand-made rows and units
# --------------------------------------------------------------------------------------


def _units(method, covering, rng, n_values=3):
    """Units whose per-image covering at every sweep value is about `covering` (best at
    the middle value), with matching PRI, VoI and boundary counts."""
    units = []
    for i in range(len(covering)):
        shape = 1.0 - 0.1 * np.abs(np.arange(n_values) - n_values // 2)
        cov = np.clip(covering[i] * shape, 0, 1)
        arrays = {"region/cntR": 1000 * cov, "region/sumR": np.full(n_values, 1000.0),
                  "region/pri": 0.5 + cov / 2, "region/voi": 3 - 2 * cov,
                  "boundary/cntR": np.round(400 * cov), "boundary/sumR": np.full(n_values, 400),
                  "boundary/cntP": np.round(300 * cov), "boundary/sumP": np.full(n_values, 300)}
        units.append(Unit(f"k/{method}/{i}", method, f"img{i:03d}", {"index": i}, arrays))
    rng.shuffle(units)  # the statistics match images by id, not by order
    return units


def _row(method, units=(), **extra):
    """A summary row; with units, its covering numbers are theirs."""
    curve = np.array([0.5, 0.6, 0.55])
    if units:
        cntR = np.stack([u.arrays["region/cntR"] for u in units])
        sumR = np.stack([u.arrays["region/sumR"] for u in units])
        curve = cntR.sum(0) / sumR.sum(0)
    row = {"dataset": "toy", "split": "val", "perturbation": "none", "method": method,
           "images": len(units), "sweep_param": "k", "sweep_values": [1, 2, 3],
           "ods_value": [1, 2, 3][int(np.argmax(curve))], "covering_ods": float(curve.max()),
           "covering_ois": float(curve.max()), "pri_ods": 0.8, "voi_ods": 1.5,
           "boundary_ods_f": 0.6, "boundary_ois_f": 0.62, "regions_at_ods": 10.0,
           "sec_per_image": 0.1, "peak_mb": 3.0, "covering_curve": curve.tolist(),
           "boundary_pr": [[0.5, 0.6, 0.7], [0.8, 0.7, 0.5]], "boundary_ods_recall": 0.6,
           "boundary_ods_precision": 0.7}
    row.update(extra)
    return row


@pytest.fixture
def two_methods(rng):
    good = _units("good", rng.uniform(0.7, 0.9, 30), rng)
    bad = _units("bad", rng.uniform(0.3, 0.5, 30), rng)
    rows = [_row("good", good), _row("bad", bad)]
    return rows, {"good": good, "bad": bad}


# --------------------------------------------------------------------------------------
# Intervals, significance, leaderboard markup
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("point, low, high, text", [
    (0.6341, 0.612, 0.658, "0.634 [0.61, 0.66]"),
    (0.6341, 0.6331, 0.6349, "0.634 [0.633, 0.635]"),  # 2 decimals would print [0.63, 0.63]
    (1.8771, 1.5, 2.26, "1.877 [1.50, 2.26]"),
    (0.5, float("nan"), float("nan"), "0.500"),  # one image: no interval
    (None, None, None, "–"),
    (float("nan"), 0.1, 0.2, "–"),
])
def test_format_ci(point, low, high, text):
    assert _tables.format_ci(point, low, high) == text


def test_intervals_hold_the_pooled_point_and_markers_flag_the_worse_method(two_methods):
    rows, units = two_methods
    stats = _stats.leaderboard_stats(rows, units, n_resamples=300)
    for row in rows:
        ci = stats.cell(row["method"], "covering_ods").ci
        assert ci.point == pytest.approx(row["covering_ods"])
        assert ci.low < ci.point < ci.high and ci.n_resamples == 300
    for key in ("covering_ods", "pri_ods", "voi_ods", "boundary_ods_f"):
        assert stats.cell("good", key).best and stats.cell("good", key).marks == ""
        bad = stats.cell("bad", key)
        assert not bad.best
        assert bad.marks == _stats.BOOTSTRAP_MARK + _stats.WILCOXON_MARK
        assert "vs good" in bad.detail and "Holm" in bad.detail
    assert stats.compared >= {"covering_ods", "pri_ods", "voi_ods", "boundary_ods_f"}


def test_identical_methods_get_no_marker(rng):
    base = rng.uniform(0.4, 0.8, 12)
    a, b = _units("a", base, rng), _units("b", base, rng)
    stats = _stats.leaderboard_stats([_row("a", a), _row("b", b)], {"a": a, "b": b},
                                     n_resamples=200)
    assert all(stats.cell(m, "covering_ods").marks == "" for m in ("a", "b"))


def test_tuned_and_oracle_metrics_read_their_fixed_sweep_column(rng):
    units = _units("m", rng.uniform(0.5, 0.9, 10), rng)
    confusions = []
    for u in units:  # oracle confusion per sweep value: perfect at value 3 only
        c = np.zeros((3, 2, 2))
        c[:, 0, 0], c[:, 1, 1] = 50, 50
        c[:2, 0, 1] = 50
        u.arrays["oracle_confusion"] = c
        confusions.append(c)
    cntR = np.stack([u.arrays["region/cntR"] for u in units])
    sumR = np.stack([u.arrays["region/sumR"] for u in units])
    row = _row("m", units, tuned_value=3, tune_split="train",
               covering_tuned=float(cntR[:, 2].sum() / sumR[:, 2].sum()),
               oracle_miou=0.5, oracle_miou_tuned=1.0)
    row["ods_value"] = 1
    data = _stats.method_data(row, units)
    assert data["covering_tuned"]["cntR"].shape == (10, 1)
    stats = _stats.leaderboard_stats([row], {"m": units}, n_resamples=100)
    assert stats.cell("m", "covering_tuned").ci.point == pytest.approx(row["covering_tuned"])
    assert stats.cell("m", "oracle_miou_tuned").ci.point == pytest.approx(1.0)
    # At ODS value 1 half of class 0 is called class 1: both IoUs are 50 / 100.
    assert stats.cell("m", "oracle_miou").ci.point == pytest.approx(0.5)
    assert stats.compared == set()  # one method: nothing to compare


def test_too_few_images_get_intervals_but_no_tests(rng):
    a = _units("a", rng.uniform(0.7, 0.9, 6), rng)
    b = _units("b", rng.uniform(0.2, 0.3, 6), rng)
    stats = _stats.leaderboard_stats([_row("a", a), _row("b", b)], {"a": a, "b": b},
                                     n_resamples=200)
    assert stats.compared == set() and stats.too_few == 6
    assert stats.cell("b", "covering_ods").ci.low < stats.cell("b", "covering_ods").ci.high
    assert stats.cell("b", "covering_ods").marks == ""
    assert "6 images are too few" in _tables.significance_legend(stats)
    assert _stats.leaderboard_stats([_row("a", a), _row("b", b)], {"a": a, "b": b},
                                    n_resamples=200, min_images=6).compared


def test_leaderboard_table_marks_tuned_and_deep_columns(two_methods):
    rows, units = two_methods
    rows[0].update(tune_split="train", tuned_value=2, covering_tuned=0.7)
    rows[1].update(kind="deep", miou=0.41)
    stats = _stats.leaderboard_stats(rows, units, n_resamples=200)
    table = _tables.leaderboard_table(rows, stats)
    heads = {c["key"]: c for c in table["columns"]}
    assert heads["covering_ods"]["sub"] == "same-split ODS (optimistic)"
    assert heads["covering_tuned"]["sub"] == "tuned on train"
    assert heads["miou"]["sub"] == "deep models, real"
    first, second = table["rows"]
    assert second["cls"] == "deep" and second["cells"][0]["text"] == "bad (deep)"
    assert (second["cells"][0]["main"], second["cells"][0]["sub"]) == ("bad", "deep model")
    param = first["cells"][list(heads).index("ods_value")]
    assert param["text"] == f"k={rows[0]['ods_value']}" and param["cls"] == "param"
    assert (param["main"], param["sub"]) == (str(rows[0]["ods_value"]), "k")
    at = list(heads).index("covering_ods")
    good, bad = first["cells"][at], second["cells"][at]
    assert good["cls"] == "best" and good["sort"] == pytest.approx(rows[0]["covering_ods"])
    assert good["text"].startswith(f"{rows[0]['covering_ods']:.3f} [")
    assert good["sub"].startswith("[") and good["main"] == f"{rows[0]['covering_ods']:.3f}"
    assert bad["text"].endswith("†‡") and "vs good" in bad["title"]
    miou = second["cells"][list(heads).index("miou")]
    assert miou["text"] == "0.410" and first["cells"][list(heads).index("miou")]["text"] == "–"


def test_leaderboard_markdown_mirrors_the_table_with_intervals(two_methods):
    rows, units = two_methods
    text = leaderboard_markdown(rows, n_resamples=200, units=units)
    lines = text.splitlines()
    assert lines[0].startswith("| Method | Param @ODS | Covering, ODS | Covering, OIS |")
    assert lines[2].startswith("| good |") and "**" in lines[2]  # the best cells in bold
    assert "†‡" in lines[3] and "[" in lines[3]
    assert "Holm-adjusted" in lines[-1]
    plain = leaderboard_markdown(rows)  # no units: points only, no legend
    assert "[" not in plain.split("\n")[2] and "Holm" not in plain


def test_sortable_table_markup():
    table = {"id": "t1", "columns": [{"title": "Method", "sub": "", "numeric": False},
                                     {"title": "Covering", "sub": "ODS", "numeric": True}],
             "rows": [{"cls": "deep", "cells": [
                 _tables.cell("a<b"), _tables.cell("0.634 [0.61, 0.66]†", 0.634, "vs x: p",
                                                   "best", main="0.634†", sub="[0.61, 0.66]")]},
                 {"cls": "", "cells": [_tables.cell("c"), _tables.cell("–")]}]}
    html = _html_table(table)
    assert '<table id="t1">' in html
    assert "<th>Covering<small>ODS</small></th>" in html
    assert '<tr class="deep">' in html and "a&lt;b" in html  # escaped
    assert ('<td class="best" data-sort="0.634" title="vs x: p">0.634†'
            "<small>[0.61, 0.66]</small></td>") in html
    assert html.count("data-sort") == 1  # the dash sorts as text, after the numbers
    assert html.count("<tr") == 3


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------


def test_pr_figure_has_iso_f_contours_and_ods_points():
    rows = [_row("slic", boundary_ods_f=0.33), _row("kmeans", boundary_ods_f=0.3)]
    fig = _figures.pr_figure(rows)
    svg = fig["svg"]
    assert svg.startswith("<svg")
    assert all(f"F={f / 10:.1f}" in svg for f in range(1, 10))
    assert "slic [F=0.33]" in svg and "kmeans [F=0.30]" in svg
    assert "recall" in svg and "precision" in svg
    assert _figures.pr_figure([{"method": "x", "boundary_pr": None}]) is None


def test_iso_f_contours_lie_on_their_f():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    _figures._iso_f(ax)
    for line, f in zip(ax.lines, np.arange(0.1, 1.0, 0.1)):
        r, p = line.get_data()
        assert np.allclose(2 * p * r / (p + r), f)
        assert p.max() == pytest.approx(1.0) and r.max() == pytest.approx(1.0)
    plt.close(fig)


def test_class_iou_heatmap_handles_missing_classes_and_marks_upper_bounds():
    classes = ["sky", "road", "car"]
    rows = [{"method": "fcn", "kind": "deep", "per_class_iou": [0.9, None, 0.5]},
            {"method": "slic", "kind": "classical",
             "oracle_per_class_iou": {"sky": 0.8, "road": 0.7}},  # dict, car missing
            {"method": "bsds_only", "kind": "classical"}]  # no per-class scores: left out
    labels, values = _figures.class_iou_matrix(rows, classes)
    assert labels == ["fcn (deep)", "slic (oracle, upper bound)"]
    np.testing.assert_array_equal(np.isnan(values), [[False, True, False], [False, False, True]])
    assert values[0, 0] == 0.9 and values[1, 1] == 0.7
    svg = _figures.class_iou_figure(rows, classes)["svg"]
    assert "upper bound" in svg and svg.count(">–<") == 2 and "0.90" in svg
    assert _figures.class_iou_figure(rows[2:], classes) is None
    assert _figures.class_iou_figure(rows, []) is None
    table = _tables.class_iou_table(rows, classes)
    assert [c["text"] for c in table["rows"][0]["cells"]] == ["fcn (deep)", "0.90", "–", "0.50"]


def test_robustness_points_put_the_clean_row_at_the_identity_severity():
    clean = [{"method": "a", "covering_ods": 0.7}, {"method": "b", "covering_ods": 0.5}]
    perturbed = [{"method": "a", "perturbation": "noise(0.1)", "covering_ods": 0.5},
                 {"method": "a", "perturbation": "noise(0.05)", "covering_ods": 0.6},
                 {"method": "a", "perturbation": "jpeg(20)", "covering_ods": 0.65},
                 {"method": "b", "perturbation": "jpeg(20)", "covering_ods": 0.45}]
    points = _figures.robustness_points(clean, perturbed, "covering_ods")
    assert points["noise"]["a"] == ([0.0, 0.05, 0.1], [0.7, 0.6, 0.5])
    assert points["jpeg"]["b"] == ([20.0, 100.0], [0.45, 0.5])  # quality 100 = clean
    assert "b" not in points["noise"]
    fig = _figures.robustness_figure(clean, perturbed)
    assert ">noise<" in fig["svg"] and ">jpeg<" in fig["svg"]
    assert _figures.robustness_figure(clean, []) is None
    table = _tables.robustness_table(clean, perturbed)
    assert [c["title"] for c in table["columns"]] == ["Method", "none", "jpeg(20)",
                                                       "noise(0.05)", "noise(0.1)"]
    a = table["rows"][0]["cells"]
    assert [c["text"] for c in a] == ["a", "0.700", "0.650 (-0.050)", "0.600 (-0.100)",
                                      "0.500 (-0.200)"]
    assert a[2]["cls"] == "bad" and table["rows"][1]["cells"][3]["text"] == "–"


def test_training_figure_reads_metrics_jsonl(tmp_path):
    log = tmp_path / "metrics.jsonl"
    records = [{"epoch": 1, "elapsed": 60, "train_loss": 2.0, "lr": 1e-3},
               {"epoch": 2, "elapsed": 120, "train_loss": 1.5, "val_miou": 0.3}]
    log.write_text("\n".join(json.dumps(r) for r in records) + '\n{"epoch": 3, "ela')  # torn
    assert _figures.read_training_log(log) == records
    svg = _figures.training_figure({"fcn": records})["svg"]
    assert "validation mIoU" in svg and "elapsed minutes" in svg
    assert _figures.training_figure({"fcn": []}) is None
    table = _tables.training_table({"fcn": records, "empty": []})
    assert [c["text"] for c in table["rows"][0]["cells"]] == ["fcn", "2", "2.0", "1.500",
                                                            "0.300", "0.300"]
    assert len(table["rows"]) == 1 and _tables.training_table({"x": []}) is None
    unvalidated = _figures.training_figure({"fcn": records[:1]})
    assert "validation mIoU" not in unvalidated["svg"]
    assert "no validation was logged" in unvalidated["caption"]


def test_pareto_and_sweep_figures():
    rows = [_row("a", covering_ods=0.7, sec_per_image=0.02, covering_curve=[0.5, 0.7, 0.6]),
            _row("b", covering_ods=0.6, sec_per_image=0.01, covering_curve=[0.6, 0.5]),
            _row("c", covering_ods=0.5, sec_per_image=0.05, covering_curve=[0.5])]
    rows[1]["sweep_values"], rows[1]["ods_value"] = [1, 2], 1
    pareto = _figures.pareto_figure(rows)
    assert "Pareto front" in pareto["svg"] and ">a<" in pareto["svg"]
    sweep = _figures.sweep_figure(rows)
    assert ">c<" not in sweep["svg"]  # a one-value sweep has no curve
    assert _figures.sweep_figure([rows[2]]) is None


# --------------------------------------------------------------------------------------
# Partition summary and comparison
# --------------------------------------------------------------------------------------


def test_partition_table():
    rows = [{"method": "rg", "kind": "classical",
             "partition": {"checked": 24, "covers": 1.0, "connected": 1.0, "holds": 0.75,
                           "maximal": None, "predicate": "MeanDistance(8, space='lab')"}},
            {"method": "fcn", "kind": "deep", "partition": None},
            {"method": "slic", "kind": "classical"}]
    table = _tables.partition_table(rows)
    assert len(table["rows"]) == 1
    cells = table["rows"][0]["cells"]
    assert [c["text"] for c in cells] == ["rg", "24", "100%", "100%", "75%", "–",
                                          "MeanDistance(8, space='lab')"]
    assert cells[4]["cls"] == "bad" and cells[2]["cls"] == "good"
    assert "not checkable" in cells[5]["title"]
    assert _tables.partition_table(rows[1:]) is None


def _compare_rows():
    def r(method, metric, a, b, higher=True, present="both", perturbation="none"):
        diff = better = None
        if a is not None and b is not None:
            diff = b - a
            better = "same" if diff == 0 else ("b" if (diff > 0) == higher else "a")
        return {"dataset": "toy", "split": "val", "perturbation": perturbation,
                "method": method, "metric": metric, "a": a, "b": b, "difference": diff,
                "higher_is_better": higher, "present": present, "better": better}

    return [r("slic", "covering_ods", 0.5, 0.6), r("slic", "voi_ods", 2.0, 2.5, False),
            r("slic", "sec_per_image", 0.2, 0.2, False),
            r("kmeans", "covering_ods", 0.7, None, present="a"),
            r("fcn", "covering_ods", None, 0.4, present="b"),
            r("slic", "covering_ods", 0.4, 0.3, perturbation="noise(0.05)")]


def test_comparison_tables():
    tables = _tables.comparison_tables(_compare_rows(), "A", "B")
    assert [t["perturbation"] for t in tables] == ["noise(0.05)", "none"]
    clean = tables[1]
    assert [c["title"] for c in clean["columns"]] == ["Method", "Covering ODS", "VoI ODS",
                                                      "s / image"]
    assert clean["columns"][2]["sub"] == "lower better"
    cells = clean["rows"][0]["cells"]
    assert cells[1]["text"] == "0.5 → 0.6 (+0.1)" and cells[1]["cls"] == "good"
    assert cells[2]["cls"] == "bad" and cells[3]["cls"] == ""  # VoI rose; time same
    assert clean["only_a"] == ["kmeans"] and clean["only_b"] == ["fcn"]
    assert tables[0]["rows"][0]["cells"][1]["cls"] == "bad"


def test_write_comparison_page(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "compare_runs", lambda a, b: _compare_rows())
    out = write_comparison(tmp_path / "a", tmp_path / "b", tmp_path / "out" / "cmp.html",
                           name_a="before", name_b="after")
    html = out.read_text()
    assert out.parent.name == "out" and html.startswith("<!DOCTYPE html>")
    assert '<table id="compare-1">' in html and 'id="compare-2"' in html
    assert 'class="good text"' not in html and 'class="good"' in html and 'class="bad"' in html
    assert "Only in A (before): kmeans." in html and "Only in B (after): fcn." in html
    assert "http://" not in html and "https://" not in html  # self-contained


def test_write_comparison_needs_run_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results.sqlite"):
        write_comparison(tmp_path, tmp_path, tmp_path / "x.html")


# --------------------------------------------------------------------------------------
# Sections of a real tiny run's report
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = RunConfig(datasets=(DatasetConfig("synthetic", "val", options={"preset": "easy"},
                                               max_images=2),),
                       methods=(MethodConfig("slic", sweep_values=(40, 8)),
                                MethodConfig("felzenszwalb", sweep_values=(50.0, 400.0))),
                       jobs=1)
    return run(config, tmp_path_factory.mktemp("tiny"), progress=False)


def _strip(rows):
    for r in rows:
        for key in ("kind", "miou", "pixel_accuracy", "mean_class_accuracy", "per_class_iou",
                    "train_dir", "oracle_per_class_iou", "partition"):
            r.pop(key, None)
    return rows


def test_report_without_deep_or_partition_keys_leaves_those_sections_out(tiny_run,
                                                                         monkeypatch):
    summarize = runner.summarize
    monkeypatch.setattr(runner, "summarize", lambda d: _strip(summarize(d)))
    html_path, md_path = write_report(tiny_run, n_resamples=100)
    html, md = html_path.read_text(), md_path.read_text()
    for absent in ("Training curves", "check_partition", "Per-class IoU", "(deep)",
                   "Robustness"):
        assert absent not in html and absent not in md
    assert 'id="fig-pr"' in html and 'id="fig-pareto"' in html
    assert 'querySelectorAll("table")' in html and 'addEventListener("click"' in html
    assert "<small>[" in html  # intervals under the points
    assert re.search(r"\| 0\.\d{3} \[0\.\d+, 0\.\d+\]", md)


def test_report_with_deep_and_partition_keys_shows_those_sections(tiny_run, monkeypatch):
    from benchmarks.store import ResultStore

    with ResultStore(tiny_run / "results.sqlite") as store:
        classes_info = store.info("datasets")[0]["classes"]
    train = tiny_run / "train" / "synthetic" / "felzenszwalb"
    train.mkdir(parents=True, exist_ok=True)
    (train / "metrics.jsonl").write_text(
        json.dumps({"epoch": 1, "elapsed": 30.0, "train_loss": 1.2, "val_miou": 0.4}) + "\n")
    summarize = runner.summarize

    def with_keys(run_dir):
        rows = _strip(summarize(run_dir))
        for r in rows:
            if r["method"] == "felzenszwalb":
                r.update(kind="deep", miou=0.55, pixel_accuracy=0.8, mean_class_accuracy=0.6,
                         per_class_iou=[0.5] + [None] * (len(classes_info) - 1),
                         train_dir="train/synthetic/felzenszwalb", partition=None)
            else:
                r.update(kind="classical", oracle_per_class_iou=[0.9] * len(classes_info),
                         partition={"checked": 4, "covers": 1.0, "connected": 0.5,
                                    "holds": None, "maximal": None, "predicate": None})
        return rows

    monkeypatch.setattr(runner, "summarize", with_keys)
    html_path, md_path = write_report(tiny_run, n_resamples=100)
    html, md = html_path.read_text(), md_path.read_text()
    assert 'id="fig-training"' in html and "Training curves" in html
    assert '<table id="training-table">' in html
    assert '<table id="partition">' in html and "50%" in html
    assert 'id="fig-classes"' in html and "oracle, upper bound" in html
    assert "felzenszwalb (deep)" in html and "deep models, real" in html
    assert "check_partition" in md and "Per-class IoU" in md and "felzenszwalb (deep)" in md
    assert "| felzenszwalb | 1 | 0.5 | 1.200 | 0.400 | 0.400 |" in md  # training summary
    assert "0.550" in md  # the deep row's real mIoU


def test_write_report_options(tiny_run):
    html_path, md_path = write_report(tiny_run, n_resamples=0)
    assert "<small>[" not in html_path.read_text() and "Holm" not in md_path.read_text()
    with pytest.raises(ValueError, match="n_resamples"):
        write_report(tiny_run, n_resamples=-1)


def test_report_of_an_unfinished_run_says_so(tiny_run, tmp_path):
    # A killed run has its units but not the environment written at the end.
    import shutil
    import sqlite3

    unfinished = tmp_path / "unfinished"
    shutil.copytree(tiny_run, unfinished)
    with sqlite3.connect(unfinished / "results.sqlite") as con:
        con.execute("DELETE FROM info WHERE name IN ('environment', 'elapsed_s')")
    html_path, _ = write_report(unfinished, n_resamples=0)
    html = html_path.read_text()
    assert "The run has not finished" in html and "--resume" in html
    assert "slic" in html and "felzenszwalb" in html
