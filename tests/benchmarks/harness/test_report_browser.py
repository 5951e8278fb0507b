"""Open a generated report in headless Chromium (Debian's package; `make test` installs it)."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from benchmarks.runner import DatasetConfig, MethodConfig, RunConfig, run

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# Flags for a closed network: no background connections, no first-run or sync traffic.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium found; `make test` installs Debian's chromium as root")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    config = RunConfig(datasets=(DatasetConfig("synthetic", "val", options={"preset": "easy"},
                                              max_images=3),),
                       methods=(MethodConfig("slic", sweep_values=(50, 10)),
                                MethodConfig("watershed", sweep_values=(50, 10))),
                       jobs=1)
    return run(config, tmp_path_factory.mktemp("run"), progress=False) / "report.html"


def _chromium(tmp_path, *args):
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_renders_in_chromium(report, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<table id="leaderboard">' in html and html.count("<tr") >= 3
    decoded = re.search(r'data-images-decoded="([^"]+)"', html)
    assert decoded is not None and decoded.group(1) not in ("failed", "0")
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "rror" in line or "Uncaught" in line], console


def test_report_screenshot_is_not_blank(report, tmp_path):
    shot = tmp_path / "shot.png"
    out = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", report.as_uri())
    assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10  # text, tables and plots, not an empty page
