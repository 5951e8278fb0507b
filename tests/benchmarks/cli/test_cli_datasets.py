import json
import os

import numpy as np
import pytest
from PIL import Image

from benchmarks.cli import main


def _folder(root, rng, n=4, shape=(12, 14)):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(1, n + 1):
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(root / "images" / f"im{k}.png")
        Image.fromarray(rng.integers(0, 3, shape).astype(np.uint8)).save(root / "masks" / f"im{k}.png")
    (root / "classes.json").write_text(json.dumps(["bg", "a", "b"]))
    return root


def test_verify_clean_folder(tmp_path, rng, capsys):
    root = _folder(tmp_path / "mine", rng)
    assert main(["datasets", "verify", "folder", "--root", str(root)]) == 0
    assert "checked 4 samples" in capsys.readouterr().out


def test_verify_corrupted_copy_reports_each_problem(tmp_path, rng, capsys):
    root = _folder(tmp_path / "mine", rng)
    png = root / "images" / "im1.png"
    png.write_bytes(png.read_bytes()[:40])                                     # truncated PNG
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(root / "masks" / "im2.png")  # size mismatch
    Image.fromarray(np.full((12, 14), 9, np.uint8)).save(root / "masks" / "im3.png")  # label 9
    code = main(["datasets", "verify", "folder", "--root", str(root)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"im1: {png}: cannot decode image" in out
    assert "im2: " in out and "mask size (5, 5) differs from image size (12, 14)" in out
    assert "im3: " in out and "labels [9] outside 0..2" in out
    assert "3 problems in 3 files" in out


@pytest.mark.realdata
def test_verify_real_camvid_val(camvid_root, capsys):
    assert main(["datasets", "verify", "camvid", "--root", str(camvid_root), "--split", "val"]) == 0
    assert "checked 101 samples in val: OK" in capsys.readouterr().out


def test_show_synthetic_writes_overlay(tmp_path, capsys):
    out = tmp_path / "show.png"
    assert main(["datasets", "show", "synthetic", "--split", "train", "--index", "2", "--out", str(out)]) == 0
    pixels = np.asarray(Image.open(out))
    assert pixels.ndim == 3 and pixels.shape[1] > 2 * pixels.shape[0]  # two panels side by side


def test_show_bad_index(capsys):
    assert main(["datasets", "show", "synthetic", "--index", "100000"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_link_creates_symlink(tmp_path, rng, capsys):
    target = tmp_path / "copy" / "CamVid"
    for split in ("val",):
        (target / split).mkdir(parents=True)
        (target / f"{split}annot").mkdir()
    data = tmp_path / "data"
    code = main(["datasets", "link", "camvid", str(target), "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert code == 0, err
    link = next(data.iterdir())
    assert link.is_symlink() and os.path.samefile(link, target)


def test_unknown_dataset(capsys):
    assert main(["datasets", "show", "imagenet"]) == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err
