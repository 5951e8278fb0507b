"""Open a generated report in headless Chromium (Debian's package; `make test` installs it)."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from benchmarks.reporting import write_comparison
from benchmarks.runner import DatasetConfig, MethodConfig, RunConfig, run

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# Flags for a closed network: no background connections, no first-run or sync traffic.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium found; `make test` installs Debian's chromium as root")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """3 easy synthetic images, 2 methods, the clean images and one perturbation."""
    config = RunConfig(datasets=(DatasetConfig("synthetic", "val", options={"preset": "easy"},
                                               max_images=3),),
                       methods=(MethodConfig("slic", sweep_values=(50, 10)),
                                MethodConfig("watershed", sweep_values=(50, 10))),
                       perturbations=("noise(0.05)",), jobs=1)
    return run(config, tmp_path_factory.mktemp("run"), progress=False)


def _chromium(tmp_path, *args):
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def _dom(tmp_path, page):
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "rror" in line or "Uncaught" in line], console
    return dom.stdout


def test_report_renders_in_chromium(run_dir, tmp_path):
    html = _dom(tmp_path, run_dir / "report.html")
    leaderboard = re.search(r'<table id="leaderboard">.*?</table>', html,
                            re.S)
    assert leaderboard is not None and leaderboard.group(0).count("<tr") == 3
    assert re.search(r"<small>\[0\.\d+, 0\.\d+\]</small>", leaderboard.group(0))  # CIs
    assert "too few for the paired tests" in html  # 3 images: intervals, no markers
    decoded = re.search(r'data-images-decoded="([^"]+)"', html)
    assert decoded is not None and decoded.group(1) not in ("failed", "0")
    # Every example strip: image, ground truth and the two methods, for up to 3 images.
    assert int(decoded.group(1)) == 4 * len(re.findall(r'<div class="example">', html)) > 0
    for figure in ("pareto", "sweep", "pr", "oracle", "robustness"):
        assert f'id="fig-{figure}"' in html, figure
    assert html.count("F=0.5") == 1  # the iso-F contours of the PR plot
    robustness = re.search(r'<table id="robustness">.*?</table>', html, re.S)
    assert robustness is not None and "noise(0.05)" in robustness.group(0)


def test_report_screenshot_is_not_blank(run_dir, tmp_path):
    shot = tmp_path / "shot.png"
    out = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600",
                    (run_dir / "report.html").as_uri())
    assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10  # text, tables and plots, not an empty page


def test_comparison_page_renders_in_chromium(run_dir, tmp_path):
    page = write_comparison(run_dir, run_dir, tmp_path / "compare.html", name_a="first",
                            name_b="again")
    html = _dom(tmp_path, page)
    assert '<table id="compare-1">' in html and 'id="compare-2"' in html
    # The same run twice: every difference is zero, so no cell is coloured.
    assert 'class="good"' not in html and 'class="bad"' not in html
    assert "(+0)" in html
